#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! A newer decision lands while an older one is being carried out: the
//! button, the promoter and the rewriter read the record again right before
//! each call that cannot be undone, and stop.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use stop_core::decision::{Decision, Mode, Step, StepState};
use stop_core::memory::{
    CallLog, ManualClock, MemoryDatabase, MemoryDecisionStore, MemoryRoutingControls,
    MemorySecrets, MemoryStopSwitch,
};
use stop_core::operator::{DecideError, Direction, Operator, OperatorRequest};
use stop_core::ports::{ControlState, DecisionStore, PortResult, StopSwitch};
use stop_core::switches::{RetryPolicy, SwitchError};
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL, standby_config};
use time::macros::datetime;

const T0: time::OffsetDateTime = datetime!(2026-11-22 03:00 UTC);

/// A decision store where `newer` is written by someone else just before
/// the `at`-th read of the history answers.
struct Interloper {
    inner: MemoryDecisionStore,
    reads: AtomicUsize,
    at: usize,
    newer: Mutex<Option<Decision>>,
}

impl Interloper {
    fn new(log: &CallLog, at: usize, newer: Decision) -> Self {
        Interloper {
            inner: MemoryDecisionStore::new(log.clone()),
            reads: AtomicUsize::new(0),
            at,
            newer: Mutex::new(Some(newer)),
        }
    }
}

impl DecisionStore for Interloper {
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            let newer = self.newer.lock().unwrap().take();
            if let Some(newer) = newer {
                self.inner.store(&newer).await?;
            }
        }
        self.inner.history(service).await
    }
    async fn store(&self, decision: &Decision) -> PortResult<()> {
        self.inner.store(decision).await
    }
}

fn failover() -> Decision {
    Decision::initial("orders", &"us-east-1".parse().unwrap(), T0).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Graceful,
        T0,
    )
}

fn failback_after(decision: &Decision) -> Decision {
    decision.next(
        "us-east-1".parse().unwrap(),
        "cognito:bob",
        "back",
        Mode::Graceful,
        T0,
    )
}

#[tokio::test]
async fn a_press_never_drives_a_switch_for_a_superseded_epoch() {
    let config = standby_config(&[]);
    let log = CallLog::default();
    // decide reads the record (1) and the winner (2); the interloper's epoch
    // 2 lands before the read right before the first switch write (3).
    let mut newer = failback_after(&failover());
    newer.epoch = 5;
    let decisions = Interloper::new(&log, 3, newer);
    let stop = MemoryStopSwitch::new(log.clone());
    let controls = MemoryRoutingControls::new(
        log.clone(),
        &[
            (PRIMARY_CTL, ControlState::On),
            (STANDBY_CTL, ControlState::Off),
        ],
    );
    let clock = ManualClock::new(T0);
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
        reason: "drill".into(),
        mode: Mode::Graceful,
        override_safety: false,
        accept_data_loss: false,
        dry_run: false,
    };
    let result = operator
        .press(Direction::Failover, &request, "cognito:alice")
        .await;
    assert!(
        matches!(
            result,
            Err(DecideError::Switch {
                error: SwitchError::Superseded {
                    epoch: 1,
                    current: 5
                },
                ..
            })
        ),
        "{result:?}"
    );
    let switch = config.services[0].stop_metric.clone().unwrap();
    assert_eq!(stop.read(&switch, "orders").await.unwrap().last_value, None);
    assert_eq!(log.count("arc."), 0, "{:?}", log.calls());
}

#[tokio::test]
async fn the_rewriter_leaves_the_secret_alone_for_a_superseded_epoch() {
    let config = standby_config(&[]);
    let log = CallLog::default();
    let mut decision = failover();
    decision.record_step(Step::Database, StepState::Done, T0, "promoted");
    decision.data.writer = Some(stop_core::DbRef {
        region: "us-west-2".parse().unwrap(),
        id: "orders-replica".into(),
    });
    // The rewriter reads the record once (1); the newer epoch lands before
    // its re-read right before the secret write (2).
    let decisions = Interloper::new(&log, 2, failback_after(&decision));
    decisions.store(&decision).await.unwrap();
    let database = MemoryDatabase::new(log.clone());
    let mut replica = stop_testkit::orders_replica(0);
    replica.source = None;
    database.add_instance(replica);
    let secrets = MemorySecrets::new(log.clone());
    secrets.add(
        "orders/db",
        r#"{"host":"orders.c0ffee.us-east-1.rds.amazonaws.com","port":5432,"password":"x"}"#,
        None,
    );
    let peer_database = MemoryDatabase::new(log.clone());
    let peer_secrets = MemorySecrets::new(log.clone());
    let clock = ManualClock::new(T0);
    let rewriter = stop_core::rewriter::Rewriter {
        config: &config,
        decisions: &decisions,
        database: &database,
        secrets: &secrets,
        peer_database: &peer_database,
        peer_secrets: &peer_secrets,
        clock: &clock,
    };
    let outcome = rewriter.run().await.unwrap();
    assert!(
        matches!(&outcome, stop_core::rewriter::Rewrite::Waiting { reason } if reason.contains("superseded")),
        "{outcome:?}"
    );
    assert_eq!(log.count("secrets.put_value"), 0, "{:?}", log.calls());
}

/// The standby's data and compute tier for the promoter: the replica, an
/// empty primary, the group, the STOP metric.
struct Standby {
    database: MemoryDatabase,
    peer: MemoryDatabase,
    capacity: stop_core::memory::MemoryCapacity,
    stop: MemoryStopSwitch,
    replication: stop_core::memory::MemoryReplication,
}

impl Standby {
    fn new(log: &CallLog) -> Self {
        let database = MemoryDatabase::new(log.clone());
        database.add_instance(stop_testkit::orders_replica(1));
        let group = stop_core::ports::GroupCapacity {
            min: 0,
            desired: 0,
            max: 1,
        };
        Standby {
            database,
            peer: MemoryDatabase::new(log.clone()),
            capacity: stop_core::memory::MemoryCapacity::new(log.clone(), &[("orders-web", group)]),
            stop: MemoryStopSwitch::new(log.clone()),
            replication: {
                let replication = stop_core::memory::MemoryReplication::new(log.clone());
                replication.set_positions("orders", &["0/1"]);
                replication.set_positions("orders-replica", &["0/1"]);
                replication
            },
        }
    }

    fn promoter<'a, D>(
        &'a self,
        config: &'a stop_core::Config,
        decisions: &'a D,
        clock: &'a ManualClock,
    ) -> stop_core::promoter::Promoter<
        'a,
        D,
        MemoryDatabase,
        stop_core::memory::MemoryCapacity,
        MemoryStopSwitch,
        ManualClock,
        stop_core::memory::MemoryReplication,
    > {
        stop_core::promoter::Promoter {
            config,
            decisions,
            database: &self.database,
            peer_database: &self.peer,
            capacity: &self.capacity,
            stop: &self.stop,
            clock,
            replication: &self.replication,
        }
    }
}

#[tokio::test]
async fn the_promoter_never_promotes_for_a_superseded_epoch() {
    let config = standby_config(&[]);
    let log = CallLog::default();
    let mut decision = failover();
    decision.mode = Mode::Ungraceful;
    for step in [Step::StopMetric, Step::ArcRoutingControls] {
        decision.record_step(step, StepState::Done, T0, "switched");
    }
    // The store below reads the record back (1), the schedule reads it (2);
    // the newer epoch lands before the re-read right before
    // PromoteReadReplica (3).
    let clock = ManualClock::new(T0);
    let decisions = stop_core::fence::Fenced {
        decisions: Interloper::new(&log, 3, failback_after(&decision)),
        copies: stop_core::fence::Copies::new(
            &config,
            vec![(
                config.standby_region().clone(),
                stop_core::memory::MemoryStateStore::new(CallLog::default()),
            )],
        ),
        clock: &clock,
    };
    decisions.store(&decision).await.unwrap();
    let standby = Standby::new(&log);
    let promoter = standby.promoter(&config, &decisions, &clock);
    let verdict = promoter.on_schedule().await.unwrap();
    let stop_core::promoter::Verdict::Reconciled { steps, .. } = verdict else {
        panic!("{verdict:?}")
    };
    let database_step = steps.iter().find(|s| s.step == Step::Database).unwrap();
    assert_eq!(database_step.state, StepState::Failed, "{steps:?}");
    assert!(
        database_step.detail.contains("superseded"),
        "{database_step:?}"
    );
    assert_eq!(log.count("rds.promote_replica"), 0, "{:?}", log.calls());
}

/// The fence record's one copy, moved back to the deployed record on its
/// `at`-th read (a delayed write of an older run landing late).
struct MovedBack {
    inner: stop_core::memory::MemoryStateStore,
    reads: AtomicUsize,
    at: usize,
}

impl stop_core::ports::StateStore for MovedBack {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            let old =
                stop_core::fence::FenceRecord::initial("orders", &"us-east-1".parse().unwrap());
            self.inner.save(name, &old.to_text()).await?;
        }
        self.inner.load(name).await
    }
    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        self.inner.save(name, text).await
    }
}

#[tokio::test]
async fn a_copy_moved_back_during_the_wait_makes_the_promoter_wait_again() {
    let config = standby_config(&[]);
    let log = CallLog::default();
    let mut decision = failover();
    decision.mode = Mode::Ungraceful;
    for step in [Step::StopMetric, Step::ArcRoutingControls] {
        decision.record_step(step, StepState::Done, T0, "switched");
    }
    let clock = ManualClock::new(T0);
    // Reads of the copy: the store's publish (1), the fence step's commit
    // (2), its check after the wait (3): moved back there.
    let copy = MovedBack {
        inner: stop_core::memory::MemoryStateStore::new(CallLog::default()),
        reads: AtomicUsize::new(0),
        at: 3,
    };
    let decisions = stop_core::fence::Fenced {
        decisions: MemoryDecisionStore::new(log.clone()),
        copies: stop_core::fence::Copies::new(
            &config,
            vec![(config.standby_region().clone(), copy)],
        ),
        clock: &clock,
    };
    decisions.store(&decision).await.unwrap();
    let standby = Standby::new(&log);
    let promoter = standby.promoter(&config, &decisions, &clock);
    let steps = promoter.reconcile(&mut decision).await.unwrap();
    let fence = steps.iter().find(|s| s.step == Step::Fence).unwrap();
    assert_eq!(fence.state, StepState::Pending, "{steps:?}");
    assert!(fence.detail.contains("written again"), "{fence:?}");
    assert_eq!(log.count("rds.promote_replica"), 0, "nothing cut");
    // The next run waits the lease out from the rewrite, then promotes.
    let steps = promoter.reconcile(&mut decision).await.unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.step == Step::Fence && s.state == StepState::Done),
        "{steps:?}"
    );
    assert_eq!(log.count("rds.promote_replica"), 1);
}
