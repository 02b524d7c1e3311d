#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Every sample event in events/region-info/ through the real handler, as Lambda
//! would deliver it: parsed by lambda_http, answered by `handle`.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use region_info::{App, RegionInfo};
use stop_core::decision::{Decision, Mode};
use stop_core::fence::{Copies, Fence, FenceRecord, Timing};
use stop_core::memory::{CallLog, ManualClock, MemoryStateStore};
use stop_core::ports::PortError;
use stop_testkit::{Expected, body_json, body_text, sample, samples};
use time::macros::datetime;

type Copy = Arc<MemoryStateStore>;
type TestApp = App<Copy, Arc<ManualClock>>;

const T0: time::OffsetDateTime = datetime!(2026-11-22 03:00 UTC);
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn config(region: &str, role: &str) -> stop_core::Config {
    let peer = if region == "us-east-1" {
        "us-west-2"
    } else {
        "us-east-1"
    };
    stop_testkit::standby_config(&[
        ("AWS_REGION", region),
        ("ROLE", role),
        ("PEER_REGION", peer),
        ("WITNESS_REGION", "eu-west-1"),
    ])
}

/// The fence record's three copies (primary, standby, witness), each holding `record`.
fn copies_holding(record: &FenceRecord, log: &CallLog) -> Vec<Copy> {
    REGIONS
        .iter()
        .map(|_| {
            Arc::new(
                MemoryStateStore::new(log.clone()).with("/stop/orders/fence", &record.to_text()),
            )
        })
        .collect()
}

fn deployed(log: &CallLog) -> Vec<Copy> {
    copies_holding(
        &FenceRecord::initial("orders", &"us-east-1".parse().unwrap()),
        log,
    )
}

/// A region-info whose fence reads `copies`, on `clock`.
fn info_on(region: &str, role: &str, copies: &[Copy], clock: Arc<ManualClock>) -> TestApp {
    let config = config(region, role);
    let stores = REGIONS
        .iter()
        .zip(copies)
        .map(|(r, c)| (r.parse().unwrap(), c.clone()))
        .collect();
    App {
        info: RegionInfo {
            service: "orders".into(),
            region: region.into(),
            role: role.into(),
            version: "0.1.0".into(),
        },
        fence: Fence::new(&config, Copies::new(&config, stores), clock),
    }
}

fn info_with(region: &str, role: &str, copies: &[Copy]) -> TestApp {
    info_on(region, role, copies, Arc::new(ManualClock::new(T0)))
}

fn info() -> TestApp {
    info_with("us-west-2", "SECONDARY", &deployed(&CallLog::default()))
}

async fn handle(
    app: &TestApp,
    request: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    region_info::handle(app, request).await
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_status() {
    for sample in samples("region-info") {
        let file = &sample.file;
        let parsed = lambda_http::request::from_str(&sample.raw);
        match (parsed, &sample.expected) {
            (Ok(request), Expected::Status { status, .. }) => {
                let response = handle(&info(), request).await;
                assert_eq!(
                    response.status().as_u16(),
                    *status,
                    "{file}: {}",
                    body_text(&response)
                );
                if !body_text(&response).is_empty() {
                    assert!(body_json(&response).is_object(), "{file}");
                }
                assert_eq!(response.headers()["cache-control"], "no-store", "{file}");
            }
            (Err(error), Expected::Rejected) => assert!(!error.to_string().is_empty(), "{file}"),
            (Ok(_), other) => panic!("{file}: expected {other:?}"),
            (Err(error), _) => panic!("{file}: could not be parsed: {error}"),
        }
    }
}

#[tokio::test]
async fn root_says_which_region_and_role_answered() {
    let response = handle(&info(), sample("region-info", "get-root.json")).await;
    assert_eq!(
        body_json(&response),
        serde_json::json!({"service": "orders", "region": "us-west-2", "role": "SECONDARY", "version": "0.1.0"})
    );
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn health_is_ok_and_head_has_no_body() {
    let response = handle(&info(), sample("region-info", "get-health.json")).await;
    let body = body_json(&response);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["region"], "us-west-2");
    let head = handle(&info(), sample("region-info", "head-health.json")).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(body_text(&head).is_empty());
}

#[tokio::test]
async fn wrong_method_names_the_allowed_ones() {
    let response = handle(
        &info(),
        sample("region-info", "post-root-wrong-method.json"),
    )
    .await;
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(body_json(&response)["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn query_strings_are_ignored_not_echoed() {
    let response = handle(&info(), sample("region-info", "get-root-with-query.json")).await;
    assert!(!body_text(&response).contains("script"));
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_that_names_the_path() {
    let response = handle(&info(), sample("region-info", "get-unknown-path.json")).await;
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(
        body["error"]["message"],
        "no route for /admin/../etc/passwd"
    );
}

#[tokio::test]
async fn root_names_the_region_and_no_database() {
    // The internet-facing function holds no database credential and names no
    // host: it says which Region answered, and nothing more.
    let log = CallLog::default();
    let app = info_with("us-west-2", "SECONDARY", &deployed(&log));
    let response = handle(&app, sample("region-info", "get-root.json")).await;
    let body = body_json(&response);
    assert_eq!(body["region"], "us-west-2");
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["region", "role", "service", "version"], "{body}");
    assert!(log.calls().is_empty(), "{:?}", log.calls());
}

// ------------------------------------------------------------ the write fence

async fn post_write(app: &TestApp) -> (u16, serde_json::Value) {
    let request = sample("region-info", "post-write.json");
    let response = handle(app, request).await;
    let status = response.status().as_u16();
    if status == 503 {
        assert_eq!(
            response.headers().get("retry-after").unwrap(),
            "5",
            "a refused write says when to retry"
        );
    }
    (status, body_json(&response))
}

fn failover(writes_open: bool) -> Decision {
    let mut next = Decision::initial("orders", &"us-east-1".parse().unwrap(), T0).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Graceful,
        T0,
    );
    next.data.writes_open = writes_open;
    next
}

#[tokio::test]
async fn before_any_decision_the_primary_takes_writes_and_the_standby_refuses_them() {
    let primary = info_with("us-east-1", "PRIMARY", &deployed(&CallLog::default()));
    assert_eq!(post_write(&primary).await.0, 200);
    let (status, body) = post_write(&info()).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "writes_fenced");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("us-east-1 active"),
        "{body}"
    );
}

#[tokio::test]
async fn a_move_closes_every_fence_until_the_new_writer_is_ready() {
    let log = CallLog::default();
    let moving = copies_holding(&FenceRecord::of(&failover(false)), &log);
    let primary = info_with("us-east-1", "PRIMARY", &moving);
    let (status, _) = post_write(&primary).await;
    assert_eq!(status, 503, "the old writer refuses from the decision on");

    let standby = info_with("us-west-2", "SECONDARY", &moving);
    let (status, body) = post_write(&standby).await;
    assert_eq!(status, 503, "the new writer is not ready yet");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not ready"),
        "{body}"
    );

    let open = copies_holding(&FenceRecord::of(&failover(true)), &log);
    let standby = info_with("us-west-2", "SECONDARY", &open);
    let (status, body) = post_write(&standby).await;
    assert_eq!(status, 200);
    assert_eq!(body["epoch"], 1);
    assert_eq!(body["region"], "us-west-2");
}

#[tokio::test]
async fn the_fence_reads_its_three_copies_once_per_half_lease() {
    let log = CallLog::default();
    let copies = deployed(&log);
    let clock = Arc::new(ManualClock::new(T0));
    let primary = info_on("us-east-1", "PRIMARY", &copies, clock.clone());
    let reads = || log.count("state.load");
    assert_eq!(post_write(&primary).await.0, 200);
    assert_eq!(post_write(&primary).await.0, 200);
    assert_eq!(reads(), 3, "one read of each copy");
    clock.advance(Timing::of(&config("us-east-1", "PRIMARY")).refresh_after());
    assert_eq!(post_write(&primary).await.0, 200);
    assert_eq!(reads(), 6);
}

#[tokio::test]
async fn a_cold_fence_that_cannot_read_a_majority_refuses() {
    let copies = deployed(&CallLog::default());
    copies[1].down(PortError::Unavailable("connect timeout".into()));
    copies[2].down(PortError::Throttled("ThrottlingException".into()));
    // Never read: no lease, whatever the deployed record says.
    let primary = info_with("us-east-1", "PRIMARY", &copies);
    let (status, body) = post_write(&primary).await;
    assert_eq!(status, 503);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("no lease"), "{message}");
}

#[tokio::test]
async fn a_stale_lease_refuses_and_never_keeps_its_last_answer() {
    let copies = deployed(&CallLog::default());
    let clock = Arc::new(ManualClock::new(T0));
    let primary = info_on("us-east-1", "PRIMARY", &copies, clock.clone());
    assert_eq!(post_write(&primary).await.0, 200);
    for copy in &copies[1..] {
        copy.down(PortError::Unavailable("connect timeout".into()));
    }
    clock.advance(Timing::of(&config("us-east-1", "PRIMARY")).accept_until());
    let (status, body) = post_write(&primary).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lease ran out"),
        "{body}"
    );
}

#[tokio::test]
async fn a_big_body_is_refused_before_the_fence_is_read() {
    let log = CallLog::default();
    let primary = info_with("us-east-1", "PRIMARY", &deployed(&log));
    let mut request = sample("region-info", "post-write.json");
    *request.body_mut() = lambda_http::Body::Text("x".repeat(region_info::MAX_WRITE_BYTES + 1));
    let response = handle(&primary, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(log.count("state.load"), 0);
}

#[tokio::test]
async fn a_hostile_corpus_gets_no_panic_no_5xx_but_the_fence_and_writes_nothing_it_refuses() {
    for seed in 1..=4 {
        for (name, event) in stop_testkit::hostile("region-info", seed, 500) {
            let log = CallLog::default();
            let app = info_with("us-east-1", "PRIMARY", &deployed(&log));
            let Ok(request) = stop_http::envelope::request(event) else {
                continue;
            };
            let response = handle(&app, request).await;
            let status = response.status().as_u16();
            // 503 is the fence's own answer (a write it cannot let through).
            assert!(
                status < 500 || (status == 503 && body_text(&response).contains("writes_fenced")),
                "{name}: {status} {}",
                body_text(&response)
            );
            let writes: Vec<String> = log
                .calls()
                .into_iter()
                .filter(|c| c.contains("save"))
                .collect();
            assert!(writes.is_empty(), "{name}: region-info wrote {writes:?}");
        }
    }
}
