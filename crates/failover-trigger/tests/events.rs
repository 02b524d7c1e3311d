#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Every sample event in events/failover-trigger/ through the real handler, with
//! in-memory ports behind it.

use failover_trigger::{App, console_page, handle};
use stop_core::memory::{
    CallLog, ManualClock, MemoryDecisionStore, MemoryRoutingControls, MemoryStateStore,
    MemoryStopSwitch,
};
use stop_core::ports::ControlState;
use stop_core::switches::RetryPolicy;
use stop_testkit::{
    ARC_ENDPOINTS as ENDPOINTS, Expected, PRIMARY_CTL, STANDBY_CTL, body_json, body_text, sample,
    samples,
};
use time::macros::datetime;

type TestApp = App<
    MemoryDecisionStore,
    MemoryStopSwitch,
    MemoryRoutingControls,
    ManualClock,
    MemoryStateStore,
>;

fn app() -> (TestApp, CallLog) {
    let config = stop_testkit::standby_config(&[(
        "OPERATOR_ROLE_ARNS",
        "arn:aws:iam::111122223333:role/dr-operator",
    )]);
    let log = CallLog::default();
    let app = App {
        config,
        decisions: MemoryDecisionStore::new(log.clone()),
        stop: MemoryStopSwitch::new(log.clone()),
        controls: MemoryRoutingControls::new(
            log.clone(),
            &[
                (PRIMARY_CTL, ControlState::On),
                (STANDBY_CTL, ControlState::Off),
            ],
        ),
        clock: ManualClock::new(datetime!(2026-11-22 03:00 UTC)),
        retry: RetryPolicy::default(),
        state: MemoryStateStore::new(log.clone()),
    };
    (app, log)
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_status_and_refusals_touch_nothing() {
    for sample in samples("failover-trigger") {
        let file = &sample.file;
        let Expected::Status { status, .. } = sample.expected else {
            panic!("{file}: every trigger sample is an API Gateway event");
        };
        let (app, log) = app();
        let request = lambda_http::request::from_str(&sample.raw).unwrap();
        let response = handle(&app, request).await;
        let text = body_text(&response);
        assert_eq!(response.status().as_u16(), status, "{file}: {text}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{file}");
        if status >= 400 {
            assert_eq!(
                body_json(&response)["error"]["code"]
                    .as_str()
                    .map(str::is_empty),
                Some(false),
                "{file}"
            );
            let writes: Vec<String> = log
                .calls()
                .into_iter()
                .filter(|c| c.contains("store") || c.contains("publish") || c.contains("update"))
                .collect();
            assert!(
                writes.is_empty(),
                "{file}: a refused request wrote {writes:?}"
            );
            if status != 502 && status != 503 {
                assert!(
                    log.calls().is_empty(),
                    "{file}: a refused request called {:?}",
                    log.calls()
                );
            }
        }
    }
}

#[tokio::test]
async fn failover_flips_both_switches_and_records_the_caller() {
    let (app, log) = app();
    let response = handle(&app, sample("failover-trigger", "post-failover.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["decided"], true);
    assert_eq!(body["decision"]["epoch"], 1);
    assert_eq!(body["decision"]["active_region"], "us-west-2");
    assert_eq!(body["decision"]["actor"], "alice@example.com");
    assert_eq!(body["decision"]["mode"], "ungraceful");
    assert_eq!(log.count("stop.publish(orders, 1)"), 1);
    assert_eq!(log.count("arc.update_states"), 1);
    let steps: Vec<&str> = body["decision"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["done", "done"]);

    // The double click: the same state, nothing written again.
    let again = body_json(&handle(&app, sample("failover-trigger", "post-failover.json")).await);
    assert_eq!(again["decided"], false);
    assert_eq!(again["decision"]["epoch"], 1);
    assert_eq!(log.count("stop.publish"), 1);
    assert_eq!(log.count("arc.update_states"), 1);

    let status = body_json(&handle(&app, sample("failover-trigger", "get-status.json")).await);
    let orders = &status["services"][0];
    assert_eq!(orders["decision"]["active_region"], "us-west-2");
    assert_eq!(orders["stop_metric"]["Ok"]["alarm_state"], "ALARM");
    assert_eq!(orders["routing_controls"][1][1]["Ok"], "On");
    assert_eq!(status["standby_region"], "us-west-2");
}

#[tokio::test]
async fn an_iam_caller_is_recorded_by_its_arn() {
    let (app, _) = app();
    let body = body_json(
        &handle(
            &app,
            sample("failover-trigger", "post-failover-iam-caller.json"),
        )
        .await,
    );
    assert_eq!(
        body["decision"]["actor"],
        "iam:arn:aws:sts::111122223333:assumed-role/dr-operator/ops"
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let (app, log) = app();
    let body = body_json(
        &handle(
            &app,
            sample("failover-trigger", "post-failover-dry-run.json"),
        )
        .await,
    );
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["decided"], false);
    assert!(
        log.calls()
            .iter()
            .all(|c| !c.contains("store") && !c.contains("publish") && !c.contains("update"))
    );
}

#[tokio::test]
async fn failover_succeeds_with_every_primary_region_endpoint_failing() {
    let (app, _) = app();
    app.controls.set_endpoint_down(ENDPOINTS[0], true);
    let response = handle(&app, sample("failover-trigger", "post-failover.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    let arc = body["switches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["switch"] == "arc-routing-controls")
        .unwrap();
    // The standby's endpoint is tried first, the primary's last: a dark
    // primary costs the press nothing.
    assert!(
        arc["failed_attempts"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{arc}"
    );
}

#[tokio::test]
async fn every_endpoint_down_is_a_502_that_names_them_and_keeps_the_decision() {
    let (app, _) = app();
    for url in ENDPOINTS {
        app.controls.set_endpoint_down(url, true);
    }
    let response = handle(&app, sample("failover-trigger", "post-failover.json")).await;
    assert_eq!(response.status(), 502);
    let message = body_json(&response)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    for url in ENDPOINTS {
        assert!(message.contains(url), "{message}");
    }
    assert!(message.contains("epoch 1"), "{message}");
    let status = body_json(&handle(&app, sample("failover-trigger", "get-status.json")).await);
    let steps = &status["services"][0]["decision"]["steps"];
    assert_eq!(steps[1]["name"], "arc-routing-controls");
    assert_eq!(steps[1]["state"], "failed");
}

#[tokio::test]
async fn hostile_reasons_are_kept_verbatim_as_json_and_never_as_markup() {
    let (app, _) = app();
    let response = handle(
        &app,
        sample("failover-trigger", "post-failover-script-in-reason.json"),
    )
    .await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        body_json(&response)["decision"]["reason"],
        "</script><script>alert(1)</script>"
    );
}

#[tokio::test]
async fn the_console_is_locked_down_and_signs_in_through_the_stages_cognito() {
    let (app, _) = app();
    let response = handle(&app, sample("failover-trigger", "get-console.json")).await;
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let page = body_text(&response);
    assert!(page.contains("const SIGN_IN = null;"));
    assert!(page.contains("id=\"confirm-button\"") && page.contains("id=\"reason\""));

    let response = handle(&app, sample("failover-trigger", "get-root-console.json")).await;
    let page = body_text(&response);
    assert!(page.contains(
        r#"const SIGN_IN = {"authorize":"https://orders-stop-111122223333.auth.us-west-2.amazoncognito.com/oauth2/authorize","token":"https://orders-stop-111122223333.auth.us-west-2.amazoncognito.com/oauth2/token","client_id":"3n4b5urk1ft4fl3mg5e62d9ado"};"#
    ), "the stage variables name the user pool's endpoints");
    // The code flow, never the implicit one: no token ever rides in the URL.
    assert!(
        page.contains("code_challenge_method: \"S256\"") && !page.contains("response_type=token")
    );
    // The page's script may talk to this API and to the token endpoint only.
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains(
            "connect-src 'self' https://orders-stop-111122223333.auth.us-west-2.amazoncognito.com;"
        ),
        "{csp}"
    );
}

#[test]
fn sign_in_endpoints_cannot_break_out_of_the_script() {
    let hostile = failover_trigger::SignIn {
        authorize: "https://x.example/login?a=1</script><script>alert(1)".into(),
        token: "https://x.example/token".into(),
        client_id: "c".into(),
    };
    let page = console_page(Some(&hostile));
    assert!(!page.contains("a=1</script>"));
    assert!(page.contains(r"a=1\u003c/script>"));
}

// ------------------------------------------------------------- POST /reprotect

fn reprotect_request(body: &str, user: Option<&str>) -> lambda_http::Request {
    stop_http::proxy_request(
        "POST",
        "/reprotect",
        None,
        Some("application/json"),
        body.as_bytes(),
        user,
    )
    .unwrap()
}

#[tokio::test]
async fn reprotect_refuses_bad_input_and_a_move_that_has_no_writer_yet() {
    let (app, log) = app();
    // No identity, a malformed body, no reason: refused before any port.
    for (body, user, status) in [
        (r#"{"reason":"x"}"#, None, 401),
        ("{not json", Some("alice@example.com"), 400),
        (r#"{"reason":"  "}"#, Some("alice@example.com"), 400),
        (
            r#"{"reason":"x","mode":"graceful"}"#,
            Some("alice@example.com"),
            400,
        ),
    ] {
        let response = handle(&app, reprotect_request(body, user)).await;
        assert_eq!(
            response.status(),
            status,
            "{body}: {}",
            body_text(&response)
        );
    }
    assert!(log.calls().is_empty(), "{:?}", log.calls());
    // Nothing moved yet: the deployed pair is protected, nothing to do.
    let response = handle(
        &app,
        reprotect_request(r#"{"reason":"drill"}"#, Some("alice@example.com")),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["requested"], false);

    // A failover whose writer is not promoted yet (memory keeps it protected,
    // so mark it unprotected as a promotion would): not ready, 409.
    use stop_core::ports::DecisionStore;
    let t = datetime!(2026-11-22 03:00 UTC);
    let mut moving = stop_core::Decision::initial("orders", &"us-east-1".parse().unwrap(), t).next(
        "us-west-2".parse().unwrap(),
        "alice@example.com",
        "drill",
        stop_core::Mode::Graceful,
        t,
    );
    moving.data.protected = false;
    app.decisions.store(&moving).await.unwrap();
    let response = handle(
        &app,
        reprotect_request(r#"{"reason":"drill"}"#, Some("alice@example.com")),
    )
    .await;
    assert_eq!(response.status(), 409, "{}", body_text(&response));
    assert_eq!(body_json(&response)["error"]["code"], "not_ready");
}

#[tokio::test]
async fn reprotect_after_a_promotion_is_recorded_once() {
    use stop_core::decision::{Step, StepState};
    use stop_core::ports::DecisionStore;
    let (app, _) = app();
    let t = datetime!(2026-11-22 03:00 UTC);
    let mut promoted = stop_core::Decision::initial("orders", &"us-east-1".parse().unwrap(), t)
        .next(
            "us-west-2".parse().unwrap(),
            "alice@example.com",
            "drill",
            stop_core::Mode::Graceful,
            t,
        );
    promoted.record_step(
        Step::Database,
        StepState::Done,
        t,
        "orders-replica is the writer",
    );
    promoted.data.protected = false;
    app.decisions.store(&promoted).await.unwrap();
    let first = handle(
        &app,
        reprotect_request(r#"{"reason":"recovered"}"#, Some("alice@example.com")),
    )
    .await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    assert_eq!(body_json(&first)["requested"], true);
    let again = handle(
        &app,
        reprotect_request(r#"{"reason":"again"}"#, Some("alice@example.com")),
    )
    .await;
    assert_eq!(
        body_json(&again)["requested"],
        false,
        "a double click records nothing"
    );
    let history = app.decisions.history("orders").await.unwrap();
    let current = stop_core::Decision::current(&history).unwrap();
    assert_eq!(
        current.step(Step::Reprotect).map(|s| s.state),
        Some(StepState::Pending)
    );
    // A failback is refused until the promoter has made the copy.
    let failback = stop_http::proxy_request(
        "POST",
        "/failback",
        None,
        Some("application/json"),
        br#"{"reason":"back","mode":"graceful","override_safety":true}"#,
        Some("alice@example.com"),
    )
    .unwrap();
    let refused = handle(&app, failback).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(body_json(&refused)["error"]["code"], "unprotected");
    assert!(body_text(&refused).contains("stopctl reprotect"));
}

#[tokio::test]
async fn status_shows_the_last_readiness_report_and_answers_without_one() {
    use stop_core::ports::StateStore;
    let (app, _) = app();
    let status = body_json(&handle(&app, sample("failover-trigger", "get-status.json")).await);
    assert!(status["readiness"].is_null(), "{status}");
    assert!(status.get("readiness_error").is_none());

    let report = stop_core::readiness::Report {
        checked_at: datetime!(2026-11-22 03:00 UTC),
        ready: false,
        findings: vec![stop_core::readiness::Finding {
            check: "replica lag".into(),
            ok: false,
            detail: "2 min behind".into(),
            fix: Some("find what holds orders-replica back".into()),
            unreachable: false,
        }],
    };
    app.state
        .save("/stop/orders/readiness", &report.to_stored())
        .await
        .unwrap();
    let status = body_json(&handle(&app, sample("failover-trigger", "get-status.json")).await);
    assert_eq!(status["readiness"]["ready"], false);
    assert_eq!(
        status["readiness"]["findings"][0]["fix"],
        "find what holds orders-replica back"
    );

    // The report out of reach: the status page still answers, and says so.
    app.state
        .faults
        .push(stop_core::ports::PortError::Unavailable("ssm".into()));
    let response = handle(&app, sample("failover-trigger", "get-status.json")).await;
    assert_eq!(response.status(), 200);
    let status = body_json(&response);
    assert!(status["readiness"].is_null());
    assert!(status["readiness_error"].as_str().unwrap().contains("ssm"));
}

#[tokio::test]
async fn a_hostile_corpus_gets_no_panic_no_5xx_and_changes_nothing_it_refuses() {
    let mut refused = 0;
    for seed in 1..=4 {
        for (name, event) in stop_testkit::hostile("failover-trigger", seed, 500) {
            let (app, log) = app();
            // As the deployed function: the envelope check, then the handler.
            let Ok(request) = stop_http::envelope::request(event) else {
                refused += 1;
                continue;
            };
            let response = handle(&app, request).await;
            let status = response.status().as_u16();
            assert!(status < 500, "{name}: {status} {}", body_text(&response));
            if status >= 400 {
                refused += 1;
                let writes: Vec<String> = log
                    .calls()
                    .into_iter()
                    .filter(|c| {
                        c.contains("store") || c.contains("publish") || c.contains("update")
                    })
                    .collect();
                assert!(
                    writes.is_empty(),
                    "{name}: refused with {status} but wrote {writes:?}"
                );
            }
        }
    }
    assert!(
        refused > 1000,
        "the corpus should be mostly refused: {refused}"
    );
}
