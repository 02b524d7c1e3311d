#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The minute's republish of the STOP metric (`switches::republish_stop`):
//! the value the record holds, nothing when the record cannot be read, and a
//! decision that lands mid-run published as well.

use std::collections::VecDeque;
use std::sync::Mutex;

use stop_core::decision::Decision;
use stop_core::memory::{CallLog, ManualClock, MemoryDecisionStore, MemoryStopSwitch};
use stop_core::ports::{DecisionStore, PortError, PortResult};
use stop_core::switches::republish_stop;
use time::macros::datetime;

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-12-03 03:10:59.900 UTC))
}

fn decided(epoch: u64, region: &str) -> Decision {
    let mut d = Decision::initial(
        "orders",
        &region.parse().unwrap(),
        datetime!(2026-12-03 03:00 UTC),
    );
    d.epoch = epoch;
    d
}

#[tokio::test]
async fn the_value_of_the_record_is_published_every_run() {
    let config = stop_testkit::standby_config(&[]);
    let log = CallLog::default();
    let decisions = MemoryDecisionStore::new(log.clone());
    let stop = MemoryStopSwitch::new(log.clone());
    // Never decided: the primary serves, 0.
    let done = republish_stop(&config, &decisions, &stop, &clock()).await;
    assert_eq!(done[0].outcome, Ok(0.0));
    decisions.store(&decided(1, "us-west-2")).await.unwrap();
    for _ in 0..3 {
        let done = republish_stop(&config, &decisions, &stop, &clock()).await;
        assert_eq!(done[0].outcome, Ok(1.0));
    }
    assert_eq!(
        log.count("stop.publish(orders, 1) at"),
        3,
        "{:?}",
        log.calls()
    );
}

#[tokio::test]
async fn an_unreadable_record_publishes_nothing() {
    let config = stop_testkit::standby_config(&[]);
    let log = CallLog::default();
    let decisions = MemoryDecisionStore::new(log.clone());
    decisions
        .faults
        .push(PortError::Unavailable("ssm: throttled".into()));
    let stop = MemoryStopSwitch::new(log.clone());
    let done = republish_stop(&config, &decisions, &stop, &clock()).await;
    assert!(
        done[0]
            .outcome
            .as_ref()
            .is_err_and(|e| e.contains("nothing published"))
    );
    assert_eq!(log.count("stop.publish"), 0);
}

/// Answers each `history` from a queue, the last answer for ever after: a
/// decision lands between two reads, or a read fails.
struct Changing(Mutex<VecDeque<PortResult<Vec<Decision>>>>);

impl Changing {
    fn new(answers: impl IntoIterator<Item = PortResult<Vec<Decision>>>) -> Self {
        Changing(Mutex::new(answers.into_iter().collect()))
    }
}

impl DecisionStore for Changing {
    async fn history(&self, _: &str) -> PortResult<Vec<Decision>> {
        let mut answers = self.0.lock().unwrap();
        let answer = answers.front().cloned().unwrap_or(Ok(Vec::new()));
        if answers.len() > 1 {
            answers.pop_front();
        }
        answer
    }
    async fn store(&self, _: &Decision) -> PortResult<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failback_decided_mid_run_is_published_after_the_stale_value() {
    let config = stop_testkit::standby_config(&[]);
    let log = CallLog::default();
    let failed_over = vec![decided(1, "us-west-2")];
    let mut failed_back = failed_over.clone();
    failed_back.push(decided(2, "us-east-1"));
    let decisions = Changing::new([Ok(failed_over), Ok(failed_back)]);
    let stop = MemoryStopSwitch::new(log.clone());
    let done = republish_stop(&config, &decisions, &stop, &clock()).await;
    assert_eq!(done[0].outcome, Ok(0.0));
    // The stale 1, stamped with the time before the first read (its minute,
    // not a later one), then the failback's 0: the last word is the record's.
    assert_eq!(
        log.calls()
            .into_iter()
            .filter(|c| c.starts_with("stop.publish"))
            .collect::<Vec<_>>(),
        [
            "stop.publish(orders, 1) at 2026-12-03 3:10:59.9 +00:00:00",
            "stop.publish(orders, 0) at 2026-12-03 3:10:59.9 +00:00:00"
        ]
    );
}

#[tokio::test]
async fn a_service_on_the_arc_path_alone_is_left_alone() {
    let config = stop_testkit::standby_config(&[
        ("STOP_METRIC_NAMESPACE", ""),
        ("STOP_METRIC_NAME", ""),
        ("STOP_ALARM_NAME", ""),
    ]);
    let log = CallLog::default();
    let done = republish_stop(
        &config,
        &MemoryDecisionStore::new(log.clone()),
        &MemoryStopSwitch::new(log.clone()),
        &clock(),
    )
    .await;
    assert!(done.is_empty());
    assert_eq!(log.count("stop.publish"), 0);
}

#[tokio::test]
async fn a_record_that_cannot_be_read_again_fails_the_run_and_an_older_one_is_not_published() {
    let config = stop_testkit::standby_config(&[]);
    let log = CallLog::default();
    let stop = MemoryStopSwitch::new(log.clone());
    // The first read answers, then every re-read fails.
    let decisions = Changing::new([
        Ok(vec![decided(1, "us-west-2")]),
        Err(PortError::Unavailable("ssm: throttled".into())),
    ]);
    let done = republish_stop(&config, &decisions, &stop, &clock()).await;
    assert!(
        done[0]
            .outcome
            .as_ref()
            .is_err_and(|e| e.contains("could not read the record again")),
        "{done:?}"
    );

    // A re-read that goes back an epoch (a copy behind) publishes nothing more.
    let log = CallLog::default();
    let stop = MemoryStopSwitch::new(log.clone());
    let newer = vec![decided(1, "us-west-2"), decided(2, "us-east-1")];
    let older = vec![decided(1, "us-west-2")];
    let decisions = Changing::new([Ok(newer), Ok(older)]);
    let done = republish_stop(&config, &decisions, &stop, &clock()).await;
    assert_eq!(done[0].outcome, Ok(0.0));
    assert_eq!(log.count("stop.publish"), 1, "{:?}", log.calls());
}
