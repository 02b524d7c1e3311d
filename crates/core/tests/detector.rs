#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The detector decides through the one decision path and publishes the STOP
//! metric; a refusal of that path is reported, never overridden.

use stop_core::decision::Decision;
use stop_core::detector::{Detector, Probe, Seen, Settings, State, Target};
use stop_core::memory::{CallLog, ManualClock, MemoryDecisionStore, MemoryStopSwitch};
use stop_core::ports::{DecisionStore, StopSwitch};
use time::macros::datetime;

fn outage() -> Vec<Probe> {
    ["us-west-2", "eu-west-1"]
        .into_iter()
        .map(|v| Probe::new(v, Target::Primary, Seen::Down))
        .chain([Probe::new("us-west-2", Target::Standby, Seen::Up)])
        .collect()
}

struct Ports {
    config: stop_core::Config,
    decisions: MemoryDecisionStore,
    stop: MemoryStopSwitch,
    clock: ManualClock,
}

impl Ports {
    fn new() -> Self {
        Ports {
            config: stop_testkit::standby_config(&[]),
            decisions: MemoryDecisionStore::new(CallLog::default()),
            stop: MemoryStopSwitch::new(CallLog::default()),
            clock: ManualClock::new(datetime!(2026-11-22 03:00 UTC)),
        }
    }

    fn detector(&self) -> Detector<'_, MemoryDecisionStore, MemoryStopSwitch, ManualClock> {
        Detector {
            config: &self.config,
            decisions: &self.decisions,
            stop: &self.stop,
            clock: &self.clock,
            settings: Settings::default(),
        }
    }
}

/// Both vantage points have seen the primary healthy.
fn armed() -> State {
    let mut state = State::default();
    state
        .armed
        .extend(["us-west-2".to_owned(), "eu-west-1".to_owned()]);
    state
}

const ROUND: time::Duration = time::Duration::seconds(30);

#[tokio::test]
async fn a_confirmed_outage_is_decided_as_the_detector_and_moves_the_stop_metric() {
    let ports = Ports::new();
    let (config, decisions, stop) = (&ports.config, &ports.decisions, &ports.stop);
    let detector = ports.detector();
    let mut state = armed();
    for round in 0..3 {
        ports.clock.advance(ROUND);
        let outcome = detector.run(&mut state, &outage()).await.unwrap();
        assert_eq!(outcome.decided, round == 2, "round {round}: {outcome:?}");
    }
    let history = decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.actor, "detector");
    assert!(current.reason.contains("eu-west-1"), "{}", current.reason);
    let switch = config.services[0].stop_metric.clone().unwrap();
    assert_eq!(
        stop.read(&switch, "orders").await.unwrap().last_value,
        Some(1.0)
    );
    // Another round: the same decision, no new epoch.
    let again = detector.run(&mut state, &outage()).await.unwrap();
    assert_eq!((again.decided, again.epoch), (false, Some(1)));
}

#[tokio::test]
async fn inside_the_cooldown_the_detector_reports_and_decides_nothing() {
    let ports = Ports::new();
    let (config, decisions, stop) = (&ports.config, &ports.decisions, &ports.stop);
    // An operator failed back a minute ago.
    let back = Decision::initial(
        "orders",
        &"us-east-1".parse().unwrap(),
        datetime!(2026-11-22 02:59 UTC),
    )
    .next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        stop_core::Mode::Graceful,
        datetime!(2026-11-22 02:59 UTC),
    )
    .next(
        "us-east-1".parse().unwrap(),
        "cognito:alice",
        "back",
        stop_core::Mode::Graceful,
        datetime!(2026-11-22 02:59 UTC),
    );
    decisions.store(&back).await.unwrap();
    let detector = ports.detector();
    let mut state = armed();
    let mut last = None;
    for _ in 0..3 {
        ports.clock.advance(ROUND);
        last = Some(detector.run(&mut state, &outage()).await.unwrap());
    }
    let outcome = last.unwrap();
    assert!(!outcome.decided);
    assert!(
        format!("{:?}", outcome.assessment).contains("cooldown"),
        "{outcome:?}"
    );
    let switch = config.services[0].stop_metric.clone().unwrap();
    assert_eq!(stop.read(&switch, "orders").await.unwrap().last_value, None);
}
