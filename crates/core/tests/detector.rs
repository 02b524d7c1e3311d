#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The detector decides through the one decision path and publishes the STOP
//! metric; a refusal of that path is reported, never overridden.

use stop_core::decision::Decision;
use stop_core::detector::{Detector, Probe, Settings, State, Target};
use stop_core::memory::{CallLog, ManualClock, MemoryDecisionStore, MemoryStopSwitch};
use stop_core::ports::{DecisionStore, StopSwitch};
use time::macros::datetime;

fn outage() -> Vec<Probe> {
    ["us-west-2", "eu-west-1"]
        .into_iter()
        .map(|v| Probe {
            vantage: v.into(),
            target: Target::Primary,
            ok: false,
        })
        .chain([Probe {
            vantage: "us-west-2".into(),
            target: Target::Standby,
            ok: true,
        }])
        .collect()
}

#[tokio::test]
async fn a_confirmed_outage_is_decided_as_the_detector_and_moves_the_stop_metric() {
    let config = stop_testkit::standby_config(&[]);
    let log = CallLog::default();
    let decisions = MemoryDecisionStore::new(log.clone());
    let stop = MemoryStopSwitch::new(log.clone());
    let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
    let detector = Detector {
        config: &config,
        decisions: &decisions,
        stop: &stop,
        clock: &clock,
        settings: Settings::default(),
    };
    let mut state = State::default();
    for round in 0..3 {
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
    let config = stop_testkit::standby_config(&[]);
    let decisions = MemoryDecisionStore::new(CallLog::default());
    let stop = MemoryStopSwitch::new(CallLog::default());
    let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
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
    let detector = Detector {
        config: &config,
        decisions: &decisions,
        stop: &stop,
        clock: &clock,
        settings: Settings::default(),
    };
    let mut state = State::default();
    let mut last = None;
    for _ in 0..3 {
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
