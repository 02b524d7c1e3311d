#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The Failover / Failback button against in-memory ports.

use stop_core::Config;
use stop_core::decide::Refusal;
use stop_core::decision::{Decision, Mode, Step, StepState};
use stop_core::memory::{
    CallLog, ManualClock, MemoryDecisionStore, MemoryRoutingControls, MemoryStopSwitch,
};
use stop_core::operator::{
    DecideError, Direction, Operator, OperatorRequest, RequestError, parse_request,
};
use stop_core::ports::{
    Clock, ControlState, DecisionStore, PortError, PortResult, RoutingControls,
};
use stop_core::switches::RetryPolicy;
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL};
use time::macros::datetime;

fn config(extra: &[(&str, &str)]) -> Config {
    stop_testkit::standby_config(extra)
}

struct World {
    config: Config,
    log: CallLog,
    decisions: MemoryDecisionStore,
    stop: MemoryStopSwitch,
    controls: MemoryRoutingControls,
    clock: ManualClock,
}

impl World {
    fn new(config: Config) -> Self {
        let log = CallLog::default();
        World {
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
            log,
        }
    }

    fn operator(
        &self,
    ) -> Operator<'_, MemoryDecisionStore, MemoryStopSwitch, MemoryRoutingControls, ManualClock>
    {
        Operator {
            config: &self.config,
            decisions: &self.decisions,
            stop: &self.stop,
            controls: &self.controls,
            clock: &self.clock,
            retry: RetryPolicy::default(),
        }
    }

    async fn controls(&self) -> (ControlState, ControlState) {
        let ep = &self.config.services[0].arc.as_ref().unwrap().endpoints[1];
        (
            self.controls.get_state(ep, PRIMARY_CTL).await.unwrap(),
            self.controls.get_state(ep, STANDBY_CTL).await.unwrap(),
        )
    }
}

fn request(reason: &str) -> OperatorRequest {
    OperatorRequest {
        service: None,
        reason: reason.into(),
        mode: Mode::Ungraceful,
        dry_run: false,
        override_safety: false,
        accept_data_loss: false,
    }
}

#[tokio::test]
async fn failover_decides_records_and_flips_both_switches() {
    let world = World::new(config(&[]));
    let outcome = world
        .operator()
        .press(Direction::Failover, &request("us-east-1 is down"), "alice")
        .await
        .unwrap();
    assert!(outcome.decided && !outcome.superseded);
    assert_eq!(outcome.decision.epoch, 1);
    assert_eq!(outcome.decision.active_region.as_str(), "us-west-2");
    assert_eq!(outcome.decision.actor, "alice");
    assert_eq!(outcome.previous.active_region.as_str(), "us-east-1");
    assert_eq!(world.log.count("stop.publish(orders, 1)"), 1);
    assert_eq!(
        world.controls().await,
        (ControlState::Off, ControlState::On)
    );

    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.epoch, 1);
    let steps: Vec<_> = current
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.state))
        .collect();
    assert_eq!(
        steps,
        [
            ("stop-metric", StepState::Done),
            ("arc-routing-controls", StepState::Done)
        ]
    );
    assert!(current.steps.iter().all(|s| s.duration_ms().is_some()));
}

#[tokio::test]
async fn pressing_again_converges_and_never_toggles_back() {
    let world = World::new(config(&[]));
    let op = world.operator();
    op.press(Direction::Failover, &request("drill"), "alice")
        .await
        .unwrap();
    let writes = world.log.count("decisions.store");
    let publishes = world.log.count("stop.publish");
    let updates = world.log.count("arc.update_states");
    for _ in 0..3 {
        let again = op
            .press(Direction::Failover, &request("double click"), "alice")
            .await
            .unwrap();
        assert!(!again.decided);
        assert_eq!(again.decision.epoch, 1);
        assert!(again.switches.iter().all(|s| s.already && !s.changed));
    }
    assert_eq!(world.log.count("decisions.store"), writes);
    assert_eq!(world.log.count("stop.publish"), publishes);
    assert_eq!(world.log.count("arc.update_states"), updates);
    assert_eq!(
        world.controls().await,
        (ControlState::Off, ControlState::On)
    );
}

#[tokio::test]
async fn a_switch_that_drifted_is_put_back_without_a_new_epoch() {
    let world = World::new(config(&[]));
    let op = world.operator();
    op.press(Direction::Failover, &request("drill"), "alice")
        .await
        .unwrap();
    // Someone flipped the controls back by hand.
    let ep = world.config.services[0].arc.as_ref().unwrap().endpoints[0].clone();
    world
        .controls
        .update_states(
            &ep,
            &[
                (PRIMARY_CTL.into(), ControlState::On),
                (STANDBY_CTL.into(), ControlState::Off),
            ],
            &[],
        )
        .await
        .unwrap();
    let again = op
        .press(Direction::Failover, &request("converge"), "bob")
        .await
        .unwrap();
    assert!(!again.decided);
    assert_eq!(again.decision.epoch, 1);
    assert_eq!(
        world.controls().await,
        (ControlState::Off, ControlState::On)
    );
}

#[tokio::test]
async fn failback_inside_the_cooldown_is_refused_and_changes_nothing() {
    let world = World::new(config(&[]));
    let op = world.operator();
    op.press(Direction::Failover, &request("drill"), "alice")
        .await
        .unwrap();
    world.clock.advance(time::Duration::seconds(60));
    let writes = world.log.count("decisions.store");
    let err = op
        .press(Direction::Failback, &request("oops"), "bob")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DecideError::Refused(Refusal::Cooldown {
                epoch: 1,
                seconds_ago: 60,
                wait_seconds: 240
            })
        ),
        "{err}"
    );
    assert_eq!(world.log.count("decisions.store"), writes);
    assert_eq!(world.log.count("stop.publish"), 1);

    let mut forced = request("primary is back, verified");
    forced.override_safety = true;
    let outcome = op.press(Direction::Failback, &forced, "bob").await.unwrap();
    assert_eq!(outcome.decision.epoch, 2);
    assert_eq!(outcome.decision.active_region.as_str(), "us-east-1");
    assert_eq!(
        world.controls().await,
        (ControlState::On, ControlState::Off)
    );
    assert_eq!(world.log.count("stop.publish(orders, 0)"), 1);
}

#[tokio::test]
async fn a_dry_run_reports_the_plan_and_writes_nothing() {
    let world = World::new(config(&[]));
    let mut dry = request("what would happen");
    dry.dry_run = true;
    let outcome = world
        .operator()
        .press(Direction::Failover, &dry, "alice")
        .await
        .unwrap();
    assert!(outcome.dry_run && !outcome.decided);
    assert_eq!(
        outcome.decision.epoch, 1,
        "shows the decision it would make"
    );
    assert!(
        outcome
            .switches
            .iter()
            .all(|s| !s.changed && s.detail.starts_with("would"))
    );
    assert!(!outcome.preconditions.is_empty());
    let writes: Vec<_> = world
        .log
        .calls()
        .into_iter()
        .filter(|c| c.contains("store") || c.contains("publish") || c.contains("update"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn failover_works_with_every_primary_region_endpoint_down() {
    let world = World::new(config(&[]));
    world
        .controls
        .set_endpoint_down("https://use1.example/v1", true);
    let outcome = world
        .operator()
        .press(Direction::Failover, &request("us-east-1 is gone"), "alice")
        .await
        .unwrap();
    assert_eq!(
        world.controls().await,
        (ControlState::Off, ControlState::On)
    );
    let arc = outcome
        .switches
        .iter()
        .find(|s| s.switch == "arc-routing-controls")
        .unwrap();
    // The primary Region's endpoint is tried last: never reached here.
    assert!(arc.failed_attempts.is_empty(), "{:?}", arc.failed_attempts);
}

#[tokio::test]
async fn a_failed_switch_is_recorded_and_the_next_press_carries_on() {
    let world = World::new(config(&[]));
    for ep in &world.config.services[0].arc.as_ref().unwrap().endpoints {
        world.controls.set_endpoint_down(&ep.url, true);
    }
    let err = world
        .operator()
        .press(Direction::Failover, &request("drill"), "alice")
        .await
        .unwrap_err();
    assert!(matches!(err, DecideError::Switch { epoch: 1, .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("https://euw1.example/v1"), "{message}");
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(
        current.step(Step::ArcRoutingControls).unwrap().state,
        StepState::Failed
    );

    for ep in &world.config.services[0].arc.as_ref().unwrap().endpoints {
        world.controls.set_endpoint_down(&ep.url, false);
    }
    let outcome = world
        .operator()
        .press(Direction::Failover, &request("retry"), "alice")
        .await
        .unwrap();
    assert!(!outcome.decided, "the same decision, carried on");
    assert_eq!(outcome.decision.epoch, 1);
    assert_eq!(
        outcome
            .decision
            .step(Step::ArcRoutingControls)
            .unwrap()
            .state,
        StepState::Done
    );
}

/// A decision store where another operator's press lands between this press's
/// write and its read-back: both wrote the next epoch.
struct RacingStore {
    inner: MemoryDecisionStore,
    rival: std::sync::Mutex<Option<Decision>>,
}

impl DecisionStore for RacingStore {
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        self.inner.history(service).await
    }
    async fn store(&self, decision: &Decision) -> PortResult<()> {
        self.inner.store(decision).await?;
        let rival = self.rival.lock().unwrap().take();
        if let Some(rival) = rival {
            self.inner.store(&rival).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn concurrent_failover_and_failback_converge_on_one_winner() {
    let world = World::new(config(&[]));
    let base = Decision::initial("orders", &"us-east-1".parse().unwrap(), world.clock.now());
    // Bob pressed Failback a second later, also as epoch 1.
    let bob = base.next(
        "us-east-1".parse().unwrap(),
        "bob",
        "stay",
        Mode::Graceful,
        world.clock.now() + time::Duration::seconds(1),
    );
    let racing = RacingStore {
        inner: MemoryDecisionStore::new(world.log.clone()),
        rival: std::sync::Mutex::new(Some(bob.clone())),
    };
    let op = Operator {
        config: &world.config,
        decisions: &racing,
        stop: &world.stop,
        controls: &world.controls,
        clock: &world.clock,
        retry: RetryPolicy::default(),
    };
    let outcome = op
        .press(Direction::Failover, &request("fail over"), "alice")
        .await
        .unwrap();
    assert!(outcome.superseded && !outcome.decided);
    assert_eq!(outcome.decision.actor, "bob");
    assert_eq!(outcome.decision.active_region.as_str(), "us-east-1");
    // The switches follow the winner, not alice's press.
    assert_eq!(
        world.controls().await,
        (ControlState::On, ControlState::Off)
    );
    let history = racing.history("orders").await.unwrap();
    assert_eq!(Decision::current(&history).unwrap().actor, "bob");
}

#[tokio::test]
async fn services_fail_over_independently() {
    let world = World::new(config(&[(
        "EXTRA_SERVICES",
        r#"[{"name": "payments", "stop_metric": {"namespace": "StopPattern",
             "metric_name": "FailoverToSecondary", "alarm_name": "payments-stop-failover"}}]"#,
    )]));
    let mut payments = request("payments only");
    payments.service = Some("payments".into());
    let outcome = world
        .operator()
        .press(Direction::Failover, &payments, "alice")
        .await
        .unwrap();
    assert_eq!(outcome.service, "payments");
    assert_eq!(world.log.count("stop.publish(payments, 1)"), 1);
    assert_eq!(world.log.count("stop.publish(orders"), 0);
    assert_eq!(
        world.controls().await,
        (ControlState::On, ControlState::Off)
    );
    let orders = world.operator().status("orders").await.unwrap();
    assert_eq!(orders.decision.epoch, 0);
    assert_eq!(orders.decision.active_region.as_str(), "us-east-1");
}

#[tokio::test]
async fn status_reports_switch_failures_in_place() {
    let world = World::new(config(&[]));
    world
        .stop
        .faults
        .push(PortError::Unavailable("CloudWatch timed out".into()));
    let status = world.operator().status("orders").await.unwrap();
    assert_eq!(
        status.stop_metric,
        Some(Err("unavailable: CloudWatch timed out".into()))
    );
    assert_eq!(status.routing_controls.len(), 2);
    assert_eq!(status.routing_controls[0].1, Ok(ControlState::On));
}

type Expect = fn(&RequestError) -> bool;

#[test]
fn bad_requests_are_refused_before_any_port() {
    let cfg = config(&[]);
    let cases: &[(&[u8], Expect)] = &[
        (b"{not json", |e| matches!(e, RequestError::Malformed(_))),
        (b"[]", |e| matches!(e, RequestError::Malformed(_))),
        (br#"{"mode": "graceful"}"#, |e| {
            matches!(e, RequestError::Malformed(_))
        }),
        (br#"{"reason": "  ", "mode": "graceful"}"#, |e| {
            *e == RequestError::MissingReason
        }),
        (br#"{"reason": "x", "mode": "sideways"}"#, |e| {
            matches!(e, RequestError::Malformed(_))
        }),
        (
            br#"{"reason": "x", "mode": "graceful", "region": "eu-west-1"}"#,
            |e| matches!(e, RequestError::Malformed(_)),
        ),
        (
            br#"{"reason": "x", "mode": "graceful", "service": "nope"}"#,
            |e| *e == RequestError::UnknownService("nope".into()),
        ),
        (
            b"{\"reason\": \"a\\u0000b\", \"mode\": \"graceful\"}",
            |e| *e == RequestError::BadReason,
        ),
    ];
    for (body, expected) in cases {
        let err = parse_request(body, &cfg).unwrap_err();
        assert!(expected(&err), "{}: {err:?}", String::from_utf8_lossy(body));
    }
    let huge = vec![b' '; 5000];
    assert_eq!(
        parse_request(&huge, &cfg).unwrap_err(),
        RequestError::TooLarge(5000)
    );
    let ok = parse_request(
        br#"{"reason": "drill", "mode": "graceful", "dry_run": true}"#,
        &cfg,
    )
    .unwrap();
    assert!(ok.dry_run && ok.service.is_none());
}
