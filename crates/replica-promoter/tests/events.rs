#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Every sample in events/replica-promoter/ through the real handler, with
//! in-memory ports; the clock stands a minute after the alarm fired.

use aws_lambda_events::event::sns::SnsEvent;
use replica_promoter::{App, Invocation, account_of};
use std::sync::Arc;
use stop_core::decision::Step;

use stop_core::fence::Fenced;
use stop_core::memory::{
    CallLog, ManualClock, MemoryCapacity, MemoryDatabase, MemoryDecisionStore, MemoryReplication,
    MemoryStateStore, MemoryStopSwitch,
};
use stop_core::ports::GroupCapacity;
use stop_core::promoter::Verdict;
use stop_testkit::{Expected, samples};
use time::macros::datetime;

type Decisions = Fenced<MemoryDecisionStore, MemoryStateStore, Arc<ManualClock>>;
type TestApp = App<
    Decisions,
    MemoryDatabase,
    MemoryCapacity,
    MemoryStopSwitch,
    Arc<ManualClock>,
    MemoryReplication,
>;

fn app(extra: &[(&str, &str)]) -> (TestApp, CallLog) {
    app_with_stop(extra, Some(1.0))
}

/// The app, with the STOP metric's newest datapoint (published before the
/// test, so its call is not in the log).
fn app_with_stop(extra: &[(&str, &str)], stop_value: Option<f64>) -> (TestApp, CallLog) {
    let log = CallLog::default();
    let database = MemoryDatabase::new(log.clone());
    database.add_instance(stop_testkit::orders_replica(2));
    let config = stop_testkit::standby_config(extra);
    let mut stop = MemoryStopSwitch::new(log.clone());
    if let Some(value) = stop_value {
        stop = stop.with_datapoint("orders", value);
    }
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 03:03:11 UTC)));
    let app = App {
        peer_database: MemoryDatabase::new(log.clone()),
        stop,
        decisions: stop_testkit::fenced_memory(&config, &log, clock.clone()),
        config,
        database,
        capacity: MemoryCapacity::new(
            log.clone(),
            &[(
                "orders-web",
                GroupCapacity {
                    min: 0,
                    desired: 0,
                    max: 1,
                },
            )],
        ),
        clock,
        replication: {
            let replication = MemoryReplication::new(log.clone());
            replication.set_positions("orders", &["0/1"]);
            replication.set_positions("orders-replica", &["0/1"]);
            replication
        },
    };
    (app, log)
}

const ACCOUNT: &str = "111122223333";

/// RDS still shows the replica while it promotes.
fn still_promoting(app: &TestApp) {
    let mut instances = app.database.instances.lock().unwrap();
    let replica = instances.get_mut("orders-replica").unwrap();
    replica.source = Some("arn:aws:rds:us-east-1:111122223333:db:orders".into());
    replica.status = "modifying".into();
}

#[tokio::test]
async fn every_sample_gets_its_expected_outcome_and_ignored_ones_touch_nothing() {
    for sample in samples("replica-promoter") {
        let file = &sample.file;
        let parsed = serde_json::from_str(&sample.raw)
            .map_err(|e| e.to_string())
            .and_then(Invocation::parse);
        let expected = match (&sample.expected, parsed) {
            (Expected::Rejected, parsed) => {
                assert!(parsed.is_err(), "{file}: the runtime must refuse it");
                continue;
            }
            (Expected::Outcome { outcome, .. }, Ok(event)) => (outcome.clone(), event),
            (other, parsed) => panic!("{file}: {other:?} / {parsed:?}"),
        };
        let (outcome, event) = expected;
        let (app, log) = app(&[("AUTO_FAILOVER", "true")]);
        let report = app.invoke(event, ACCOUNT).await.unwrap();
        let any_reconciled = report
            .verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Reconciled { .. }));
        let got = if any_reconciled {
            "reconciled"
        } else {
            "ignored"
        };
        assert_eq!(got, outcome, "{file}: {:?}", report.verdicts);
        if outcome == "ignored" {
            // A schedule reads the record to find nothing to do; a refused
            // notification touches nothing at all.
            let reads_the_record = file.contains("scheduled") || file == "record-changed.json";
            let allowed = if reads_the_record { 1 } else { 0 };
            assert!(
                log.calls().len() == allowed
                    && log
                        .calls()
                        .iter()
                        .all(|c| c.starts_with("decisions.history")),
                "{file}: an ignored notification called {:?}",
                log.calls()
            );
        }
    }
}

fn event(file: &str) -> SnsEvent {
    let raw = std::fs::read_to_string(
        stop_testkit::events_dir()
            .join("replica-promoter")
            .join(file),
    )
    .unwrap();
    serde_json::from_str(&raw).unwrap()
}

#[tokio::test]
async fn the_alarm_promotes_once_even_when_sns_delivers_it_twice() {
    let (app, log) = app(&[("AUTO_FAILOVER", "true")]);
    app.handle(event("alarm-alarm.json"), ACCOUNT)
        .await
        .unwrap();
    still_promoting(&app);
    app.handle(event("alarm-null-description.json"), ACCOUNT)
        .await
        .unwrap();
    app.handle(event("alarm-batch-of-two.json"), ACCOUNT)
        .await
        .unwrap();
    assert_eq!(
        log.count("rds.promote_replica(orders-replica, retention=7)"),
        1
    );
    assert_eq!(
        log.count("asg.set_group(orders-web, GroupCapacity { min: 2, desired: 4, max: 8 })"),
        1
    );
}

#[tokio::test]
async fn without_auto_failover_an_alarm_alone_does_nothing() {
    let (app, log) = app(&[]);
    let report = app
        .handle(event("alarm-alarm.json"), ACCOUNT)
        .await
        .unwrap();
    assert!(
        matches!(&report.verdicts[0], Verdict::Ignored { reason } if reason.contains("automatic failover is off"))
    );
    assert_eq!(log.count("rds."), 0);
    assert_eq!(log.count("asg."), 0);
}

#[tokio::test]
async fn the_decision_record_out_of_reach_fails_the_invocation_for_a_retry() {
    let (app, _) = app(&[("AUTO_FAILOVER", "true")]);
    app.decisions
        .decisions
        .faults
        .push(stop_core::ports::PortError::Unavailable(
            "SSM timed out".into(),
        ));
    assert!(
        app.handle(event("alarm-alarm.json"), ACCOUNT)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_throttled_rds_call_fails_the_invocation_and_the_retry_promotes_once() {
    use stop_core::ports::PortError;
    use stop_core::promoter::PromoteError;
    let (app, log) = app(&[("AUTO_FAILOVER", "true")]);
    app.database
        .faults
        .push(PortError::Throttled("Rate exceeded".into()));
    let err = app
        .handle(event("alarm-alarm.json"), ACCOUNT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PromoteError::Retry {
                step: Step::Database,
                ..
            }
        ),
        "{err}"
    );
    // Lambda's retry: the same notification again.
    let report = app
        .handle(event("alarm-alarm.json"), ACCOUNT)
        .await
        .unwrap();
    assert!(matches!(
        &report.verdicts[0],
        Verdict::Reconciled { decided: false, .. }
    ));
    assert_eq!(log.count("rds.promote_replica("), 1);

    // A refusal that no retry can fix is reported, not retried.
    let (fresh, _) = self::app(&[("AUTO_FAILOVER", "true")]);
    fresh.database.instances.lock().unwrap().clear();
    let report = fresh
        .handle(event("alarm-alarm.json"), ACCOUNT)
        .await
        .unwrap();
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("Failed") || text.contains("failed"), "{text}");
}

#[test]
fn the_account_comes_from_the_function_arn() {
    assert_eq!(
        account_of("arn:aws:lambda:us-west-2:111122223333:function:promoter"),
        Some("111122223333")
    );
    assert_eq!(account_of("garbage"), None);
}

/// The record's database step after the runs so far.
async fn database_step(app: &TestApp) -> stop_core::StepState {
    use stop_core::ports::DecisionStore;
    let history = app.decisions.history("orders").await.unwrap();
    let current = stop_core::Decision::current(&history).unwrap();
    current.step(Step::Database).unwrap().state
}

#[tokio::test]
async fn an_invocation_follows_its_promotion_to_the_end_within_its_deadline() {
    use stop_core::StepState;
    use stop_core::ports::Clock;
    // Followed: the run that started the promotion sees it done 3 s later,
    // with one PromoteReadReplica.
    let (app, log) = app(&[("AUTO_FAILOVER", "true")]);
    let start = app.clock.now();
    let alarm = Invocation::Alarm(event("alarm-alarm.json"));
    app.invoke_and_follow(alarm, ACCOUNT, start + time::Duration::seconds(900))
        .await
        .unwrap();
    assert_eq!(database_step(&app).await, StepState::Done);
    assert_eq!(log.count("rds.promote_replica("), 1);
    let followed = app.clock.now() - start;
    assert!(
        followed >= stop_core::promoter::FOLLOW_UP_EVERY,
        "followed for {followed}"
    );

    // Not followed (the mechanism removed: one run, as before): the record
    // still says under way, and only a schedule a minute on would see it.
    let (app, _) = self::app(&[("AUTO_FAILOVER", "true")]);
    app.invoke(Invocation::Alarm(event("alarm-alarm.json")), ACCOUNT)
        .await
        .unwrap();
    assert_eq!(database_step(&app).await, StepState::InProgress);

    // A deadline too near for another run's calls: no follow-up.
    let (app, _) = self::app(&[("AUTO_FAILOVER", "true")]);
    let start = app.clock.now();
    let alarm = Invocation::Alarm(event("alarm-alarm.json"));
    app.invoke_and_follow(alarm, ACCOUNT, start + time::Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!(database_step(&app).await, StepState::InProgress);
}

#[tokio::test]
async fn an_invocation_that_only_finds_a_promotion_under_way_does_not_follow_it() {
    use stop_core::StepState;
    let (app, _) = app(&[("AUTO_FAILOVER", "true")]);
    app.invoke(Invocation::Alarm(event("alarm-alarm.json")), ACCOUNT)
        .await
        .unwrap();
    still_promoting(&app);
    let start = stop_core::ports::Clock::now(&app.clock);
    app.invoke_and_follow(
        Invocation::Schedule,
        ACCOUNT,
        start + time::Duration::seconds(900),
    )
    .await
    .unwrap();
    assert_eq!(stop_core::ports::Clock::now(&app.clock), start);
    assert_eq!(database_step(&app).await, StepState::InProgress);
}
