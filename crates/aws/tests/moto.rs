#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The SSM decision store over the wire, against moto server (an AWS protocol
//! emulator). `scripts/test` starts moto on a loopback port, sets
//! STOP_MOTO_ENDPOINT and runs these with `--include-ignored`.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use stop_aws::decisions::SsmDecisionStore;
use stop_core::decision::{Decision, Mode, StepState};
use stop_core::memory::{CallLog, ManualClock, MemoryRoutingControls, MemoryStopSwitch};
use stop_core::operator::{Direction, Operator, OperatorRequest};
use stop_core::ports::{ControlState, DecisionStore};
use stop_core::switches::RetryPolicy;
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL};
use time::macros::datetime;

fn endpoint() -> String {
    std::env::var("STOP_MOTO_ENDPOINT")
        .expect("STOP_MOTO_ENDPOINT: run through ./scripts/test, which starts moto server")
}

/// A parameter prefix no other test or run uses: tests share one moto server
/// and run in parallel.
fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/stop-test-{test}-{nanos}")
}

async fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

fn decision(epoch: u64, region: &str) -> Decision {
    let mut d = Decision::initial(
        "orders",
        &"us-east-1".parse().unwrap(),
        datetime!(2026-11-22 03:00 UTC),
    );
    d.epoch = epoch;
    d.active_region = region.parse().unwrap();
    d.mode = Mode::Ungraceful;
    d
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn decision_records_round_trip_through_ssm_with_their_history() {
    let client = ssm_client(&endpoint()).await;
    let prefix = fresh_prefix("history");
    let store = SsmDecisionStore::new(client.clone(), &prefix);

    assert!(store.history("orders").await.unwrap().is_empty());
    store.store(&decision(1, "us-west-2")).await.unwrap();
    let mut progressed = decision(1, "us-west-2");
    progressed.record_step(
        "stop-metric",
        StepState::Done,
        datetime!(2026-11-22 03:00:01 UTC),
        "published 1",
    );
    store.store(&progressed).await.unwrap();
    store.store(&decision(2, "us-east-1")).await.unwrap();
    // A stale writer's late epoch-1 record does not win.
    store.store(&decision(1, "us-west-2")).await.unwrap();

    let history = store.history("orders").await.unwrap();
    assert_eq!(history.len(), 4);
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.epoch, 2);
    assert_eq!(current.active_region.as_str(), "us-east-1");
    assert!(store.history("payments").await.unwrap().is_empty());

    // What SSM holds is the plain JSON record, readable by any tool.
    let raw = client
        .get_parameter()
        .name(format!("{prefix}/orders/decision"))
        .send()
        .await
        .unwrap();
    let parameter = raw.parameter().unwrap();
    assert_eq!(parameter.version(), 4);
    let stored: Decision = serde_json::from_str(parameter.value().unwrap()).unwrap();
    assert_eq!(stored.epoch, 1);
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn a_press_records_its_decision_and_steps_in_ssm() {
    let client = ssm_client(&endpoint()).await;
    let prefix = fresh_prefix("press");
    let config = stop_testkit::standby_config(&[("DECISION_PARAMETER_PREFIX", prefix.as_str())]);
    let log = CallLog::default();
    let decisions = SsmDecisionStore::new(client, &config.decision_prefix);
    let stop = MemoryStopSwitch::new(log.clone());
    let controls = MemoryRoutingControls::new(
        log.clone(),
        &[
            (PRIMARY_CTL, ControlState::On),
            (STANDBY_CTL, ControlState::Off),
        ],
    );
    let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
    let operator = Operator {
        config: &config,
        decisions: &decisions,
        stop: &stop,
        controls: &controls,
        clock: &clock,
        retry: RetryPolicy::default(),
    };
    let request = OperatorRequest {
        service: None,
        reason: "drill against moto".into(),
        mode: Mode::Graceful,
        dry_run: false,
        override_safety: false,
    };
    let first = operator
        .press(Direction::Failover, &request, "alice")
        .await
        .unwrap();
    assert!(first.decided);
    let again = operator
        .press(Direction::Failover, &request, "alice")
        .await
        .unwrap();
    assert!(!again.decided);

    let history = decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.epoch, 1);
    assert_eq!(current.actor, "alice");
    assert_eq!(
        current.step("stop-metric").map(|s| s.state),
        Some(StepState::Done)
    );
    // The decision, then its steps: two versions; the double click wrote none.
    assert_eq!(history.len(), 2);
}
