#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Every sample in events/secret-rewriter/ through the real handler, with
//! in-memory ports: a promoted replica and a decision that makes us-west-2 active.

use secret_rewriter::{App, Report};
use stop_core::decision::{Decision, Mode};
use stop_core::memory::{CallLog, ManualClock, MemoryDatabase, MemoryDecisionStore, MemorySecrets};
use stop_core::ports::{DecisionStore, ReplicaStatus, Secrets};
use stop_testkit::{Expected, samples};
use time::macros::datetime;

type TestApp = App<MemoryDecisionStore, MemoryDatabase, MemorySecrets, ManualClock>;

const SECRET: &str = r#"{"username":"app","password":"pw-must-not-leak","host":"orders.abc.us-east-1.rds.amazonaws.com","port":5432,"engine":"postgres","dbInstanceIdentifier":"orders","proxy":{"enabled":false}}"#;

async fn app() -> (TestApp, CallLog) {
    let log = CallLog::default();
    let database = MemoryDatabase::new(log.clone());
    database.add_instance(ReplicaStatus {
        instance_id: "orders-replica".into(),
        replication: None,
        arn: "arn:aws:rds:us-west-2:111122223333:db:orders-replica".into(),
        source: None,
        status: "available".into(),
        replica_lag_seconds: None,
        endpoint: Some((
            "orders-replica.abc.us-west-2.rds.amazonaws.com".into(),
            5432,
        )),
        ..Default::default()
    });
    let secrets = MemorySecrets::new(log.clone());
    secrets.add("orders/db", SECRET, None);
    let decisions = MemoryDecisionStore::new(log.clone());
    let now = datetime!(2026-11-22 03:14 UTC);
    let decision = Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
        "us-west-2".parse().unwrap(),
        "alarm:orders-stop-failover",
        "primary down",
        Mode::Ungraceful,
        now,
    );
    decisions.store(&decision).await.unwrap();
    // The primary's ports: a failover must not touch them (the log says).
    let peer_secrets = MemorySecrets::new(log.clone());
    peer_secrets.add("orders/db", SECRET, None);
    let app = App {
        config: stop_testkit::standby_config(&[]),
        decisions,
        database,
        secrets,
        peer_database: MemoryDatabase::new(log.clone()),
        peer_secrets,
        clock: ManualClock::new(now),
    };
    (app, log)
}

#[tokio::test]
async fn every_sample_gets_its_expected_outcome_and_ignored_ones_touch_nothing() {
    for sample in samples("secret-rewriter") {
        let file = &sample.file;
        let Expected::Outcome { outcome, .. } = &sample.expected else {
            panic!("{file}: the rewriter takes any JSON");
        };
        let payload: serde_json::Value = serde_json::from_str(&sample.raw).unwrap();
        let (app, log) = app().await;
        let before = log.calls().len();
        let report = app.handle(&payload).await.unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("pw-must-not-leak"), "{file}: {text}");
        match (outcome.as_str(), &report) {
            ("ignored", Report::Ignored { .. }) => {
                assert_eq!(
                    log.calls().len(),
                    before,
                    "{file}: ignored but called {:?}",
                    log.calls()
                )
            }
            ("ran", Report::Ran { .. }) => {}
            _ => panic!("{file}: expected {outcome}, got {text}"),
        }
    }
}

#[tokio::test]
async fn the_promotion_event_rewrites_host_port_and_identifier_only() {
    let (app, log) = app().await;
    let raw = std::fs::read_to_string(
        stop_testkit::events_dir().join("secret-rewriter/rds-event-promotion-finished.json"),
    )
    .unwrap();
    let report = app
        .handle(&serde_json::from_str(&raw).unwrap())
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&report)
            .unwrap()
            .contains("rewritten")
    );
    let secret: serde_json::Value = serde_json::from_str(
        app.secrets
            .get_current("orders/db")
            .await
            .unwrap()
            .value
            .expose(),
    )
    .unwrap();
    assert_eq!(
        secret["host"],
        "orders-replica.abc.us-west-2.rds.amazonaws.com"
    );
    assert_eq!(secret["dbInstanceIdentifier"], "orders-replica");
    assert_eq!(secret["password"], "pw-must-not-leak");
    assert_eq!(secret["proxy"]["enabled"], false);
    assert_eq!(secret["engine"], "postgres");
    assert!(log.calls().iter().all(|c| !c.contains("pw-must-not-leak")));

    // The schedule's next pass finds nothing to do.
    let scheduled = std::fs::read_to_string(
        stop_testkit::events_dir().join("secret-rewriter/scheduled-event.json"),
    )
    .unwrap();
    let report = app
        .handle(&serde_json::from_str(&scheduled).unwrap())
        .await
        .unwrap();
    assert!(serde_json::to_string(&report).unwrap().contains("already"));
    assert_eq!(log.count("secrets.put_value"), 1);
}

#[test]
fn a_global_cluster_event_has_no_region_in_its_arn_and_is_still_ours() {
    use secret_rewriter::{Trigger, trigger};
    let config = stop_testkit::standby_config(&[
        ("DB_KIND", "aurora-global"),
        ("DB_GLOBAL_CLUSTER_ID", "orders-global"),
        ("DB_CLUSTER_ID", "orders-west"),
    ]);
    let delivery = |arn: &str| {
        let message = serde_json::json!({
            "Event Source": "global-cluster",
            "Source ID": "orders-global",
            "Source ARN": arn,
            "Event Message": "Global switchover to DB cluster orders-west in Region us-west-2 finished.",
        })
        .to_string();
        serde_json::json!({"Records": [{
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-west-2:111122223333:t:1",
            "Sns": {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-west-2:111122223333:t",
                    "Subject": null, "Message": message, "Timestamp": "2026-11-22T03:02:12.345Z",
                    "SignatureVersion": "1", "Signature": "s", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x",
                    "MessageAttributes": {}}
        }]})
    };
    let global = delivery("arn:aws:rds::111122223333:global-cluster:orders-global");
    assert!(matches!(trigger(&global, &config), Trigger::Run(_)));
    // Another Region's regional resource is still not ours.
    let other = delivery("arn:aws:rds:eu-west-1:111122223333:cluster:orders-global");
    assert!(matches!(trigger(&other, &config), Trigger::Ignore(_)));
}
