#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The promoter against in-memory ports: guards, one promotion per decision,
//! capacity raised and never lowered, Aurora switchover versus failover.

use std::sync::Arc;
use stop_core::Config;
use stop_core::alarm::AlarmGuard;
use stop_core::decision::{Decision, Mode, Step, StepState};

use stop_core::fence::Fenced;
use stop_core::memory::{
    CallLog, ManualClock, MemoryCapacity, MemoryDatabase, MemoryDecisionStore, MemoryReplication,
    MemoryStateStore, MemoryStopSwitch,
};
use stop_core::ports::{
    Capacity, Clock, Database, DecisionStore, GlobalClusterStatus, GroupCapacity, LagSample,
    PortError, ReplicaStatus,
};
use stop_core::promoter::{Promoter, PromoterSettings, StepReport, Verdict};
use time::macros::datetime;

use stop_testkit::REPLICA_SOURCE;

fn config(extra: &[(&str, &str)]) -> Config {
    stop_testkit::standby_config(extra)
}

/// The decision record, and the fence record's one copy (no witness: the
/// standby's), kept in step as the deployed functions keep them.
type Decisions = Fenced<MemoryDecisionStore, Arc<MemoryStateStore>, Arc<ManualClock>>;

struct World {
    config: Config,
    log: CallLog,
    decisions: Decisions,
    /// The fence record's copy the decisions keep in step, as a fence reads it.
    fence_copy: Arc<MemoryStateStore>,
    database: MemoryDatabase,
    capacity: MemoryCapacity,
    /// The STOP metric: 1 published, as a real alarm's data says.
    stop: MemoryStopSwitch,
    /// The primary Region's database: only a failback, a re-protect or a
    /// graceful move (a switchover goes to the primary cluster's Region) may call it.
    peer_log: CallLog,
    peer_database: MemoryDatabase,
    /// SQL on the instances (both Regions): positions and the database-level
    /// fence. By default the copy has replayed the writer's position.
    sql_log: CallLog,
    replication: MemoryReplication,
    clock: Arc<ManualClock>,
}

impl World {
    fn new(config: Config) -> Self {
        let log = CallLog::default();
        let peer_log = CallLog::default();
        let sql_log = CallLog::default();
        let database = MemoryDatabase::new(log.clone());
        database.add_instance(stop_testkit::orders_replica(3));
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 03:03 UTC)));
        let fence = stop_core::fence::FenceRecord::initial("orders", config.primary_region());
        let fence_copy = Arc::new(
            MemoryStateStore::new(CallLog::default())
                .with(&config.fence_parameter("orders"), &fence.to_text()),
        );
        let decisions = Fenced {
            decisions: MemoryDecisionStore::new(log.clone()),
            copies: stop_core::fence::Copies::new(
                &config,
                vec![(config.standby_region().clone(), fence_copy.clone())],
            ),
            clock: clock.clone(),
        };
        World {
            config,
            decisions,
            fence_copy,
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
            stop: MemoryStopSwitch::new(log.clone()).with_datapoint("orders", 1.0),
            peer_database: MemoryDatabase::new(peer_log.clone()),
            peer_log,
            replication: {
                let replication = MemoryReplication::new(sql_log.clone());
                replication.set_positions("orders", &["0/3023408"]);
                replication.set_positions("orders-replica", &["0/3023408"]);
                replication
            },
            sql_log,
            clock,
            log,
        }
    }

    fn promoter(
        &self,
    ) -> Promoter<
        '_,
        Decisions,
        MemoryDatabase,
        MemoryCapacity,
        MemoryStopSwitch,
        Arc<ManualClock>,
        MemoryReplication,
    > {
        Promoter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.database,
            peer_database: &self.peer_database,
            capacity: &self.capacity,
            stop: &self.stop,
            clock: &self.clock,
            replication: &self.replication,
        }
    }

    /// Changes the standby's replica as RDS would.
    fn replica(&self, change: impl FnOnce(&mut stop_core::ports::ReplicaStatus)) {
        change(
            self.database
                .instances
                .lock()
                .unwrap()
                .get_mut("orders-replica")
                .unwrap(),
        );
    }

    fn settings(&self, auto_failover: bool) -> PromoterSettings {
        PromoterSettings {
            guard: AlarmGuard {
                alarm_name: "orders-stop-failover".into(),
                account_id: "111122223333".into(),
                region: "us-west-2".parse().unwrap(),
                max_age: time::Duration::minutes(15),
            },
            auto_failover,
        }
    }

    /// An ALARM of the STOP alarm with AutoFailover on, through a promoter
    /// of this world.
    async fn alarm_fires(&self) -> Verdict {
        self.promoter()
            .on_alarm(&self.settings(true), &alarm("ALARM"))
            .await
            .unwrap()
    }
}

/// The steps of a run that reconciled.
fn steps_of(verdict: Verdict) -> Vec<StepReport> {
    let Verdict::Reconciled { steps, .. } = verdict else {
        panic!("{verdict:?}")
    };
    steps
}

fn alarm(state: &str) -> String {
    format!(
        r#"{{"AlarmName":"orders-stop-failover","AlarmDescription":null,"AWSAccountId":"111122223333",
        "NewStateValue":"{state}","NewStateReason":"Threshold Crossed: 1 datapoint [1.0] >= 1.0",
        "StateChangeTime":"2026-11-22T03:02:11.123+0000","Region":"US West (Oregon)",
        "AlarmArn":"arn:aws:cloudwatch:us-west-2:111122223333:alarm:orders-stop-failover","OldStateValue":"OK"}}"#
    )
}

/// The report of one step among a run's.
fn report(steps: &[StepReport], step: Step) -> &StepReport {
    steps
        .iter()
        .find(|r| r.step == step)
        .unwrap_or_else(|| panic!("no {step} in {steps:?}"))
}

/// An operator's decision to fail over to us-west-2, made at `now`.
fn operator_failover(now: time::OffsetDateTime, mode: Mode) -> Decision {
    Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        mode,
        now,
    )
}

/// An operator's decision whose traffic switches have taken effect.
fn switched(mut decision: Decision) -> Decision {
    let now = decision.decided_at;
    for step in [Step::StopMetric, Step::ArcRoutingControls] {
        decision.record_step(step, StepState::Done, now, "switched");
    }
    decision
}

fn ignored(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Ignored { .. })
}

#[tokio::test]
async fn auto_failover_decides_promotes_once_and_raises_capacity() {
    let world = World::new(config(&[]));
    let promoter = world.promoter();
    let verdict = promoter
        .on_alarm(&world.settings(true), &alarm("ALARM"))
        .await
        .unwrap();
    let Verdict::Reconciled {
        epoch,
        decided,
        steps,
    } = verdict
    else {
        panic!("{verdict:?}")
    };
    assert_eq!((epoch, decided), (1, true));
    assert_eq!(
        report(&steps, Step::Database).state,
        StepState::InProgress,
        "{steps:?}"
    );
    assert!(
        report(&steps, Step::Database)
            .detail
            .contains("lag was 3 s"),
        "{steps:?}"
    );
    assert_eq!(report(&steps, Step::Capacity).state, StepState::Done);
    assert!(
        report(&steps, Step::Capacity)
            .detail
            .ends_with("to min 2 / desired 4 / max 8"),
        "{steps:?}"
    );
    assert_eq!(
        world
            .log
            .count("rds.promote_replica(orders-replica, retention=7)"),
        1
    );
    assert_eq!(
        world.capacity.describe_group("orders-web").await.unwrap(),
        GroupCapacity {
            min: 2,
            desired: 4,
            max: 8
        }
    );

    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.actor, "alarm:orders-stop-failover");
    assert_eq!(current.mode, Mode::Ungraceful);
    assert_eq!(current.active_region.as_str(), "us-west-2");
    assert_eq!(
        current.step(Step::Database).unwrap().state,
        StepState::InProgress
    );
}

#[tokio::test]
async fn a_duplicate_delivery_promotes_once_and_writes_nothing() {
    let world = World::new(config(&[]));
    let promoter = world.promoter();
    promoter
        .on_alarm(&world.settings(true), &alarm("ALARM"))
        .await
        .unwrap();
    let writes = world.log.count("decisions.store");
    // Promotion takes minutes: RDS still shows the replica, now modifying.
    world.replica(|r| {
        r.source = Some(REPLICA_SOURCE.into());
        r.status = "modifying".into();
    });
    for _ in 0..3 {
        let again = promoter
            .on_alarm(&world.settings(true), &alarm("ALARM"))
            .await
            .unwrap();
        let Verdict::Reconciled { epoch, decided, .. } = again else {
            panic!("{again:?}")
        };
        assert_eq!((epoch, decided), (1, false));
    }
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    assert_eq!(world.log.count("asg.set_group"), 1);
    assert_eq!(world.log.count("decisions.store"), writes);
}

#[tokio::test]
async fn an_already_promoted_replica_gets_no_promote_call() {
    let world = World::new(config(&[]));
    world.replica(|r| r.source = None);
    let verdict = world.alarm_fires().await;
    let steps = steps_of(verdict);
    assert_eq!(report(&steps, Step::Database).state, StepState::Done);
    assert_eq!(world.log.count("rds.promote_replica"), 0);
}

#[tokio::test]
async fn a_replica_of_the_wrong_source_is_refused() {
    let world = World::new(config(&[]));
    world.replica(|r| r.source = Some("arn:aws:rds:eu-west-1:111122223333:db:billing".into()));
    let verdict = world.alarm_fires().await;
    let steps = steps_of(verdict);
    assert_eq!(report(&steps, Step::Database).state, StepState::Failed);
    assert!(
        report(&steps, Step::Database).detail.starts_with("refused"),
        "{}",
        report(&steps, Step::Database).detail
    );
    assert_eq!(world.log.count("rds.promote_replica"), 0);
}

#[tokio::test]
async fn ignored_notifications_touch_nothing() {
    let world = World::new(config(&[]));
    let promoter = world.promoter();
    for message in [
        alarm("OK"),
        alarm("INSUFFICIENT_DATA"),
        "{not json".to_owned(),
        "{}".to_owned(),
    ] {
        let verdict = promoter
            .on_alarm(&world.settings(true), &message)
            .await
            .unwrap();
        assert!(ignored(&verdict), "{message}: {verdict:?}");
    }
    let other = alarm("ALARM").replace("orders-stop-failover", "payments-stop-failover");
    assert!(ignored(
        &promoter
            .on_alarm(&world.settings(true), &other)
            .await
            .unwrap()
    ));
    let other_region = alarm("ALARM").replace("cloudwatch:us-west-2", "cloudwatch:us-east-1");
    assert!(ignored(
        &promoter
            .on_alarm(&world.settings(true), &other_region)
            .await
            .unwrap()
    ));
    world.clock.advance(time::Duration::hours(2));
    assert!(ignored(
        &promoter
            .on_alarm(&world.settings(true), &alarm("ALARM"))
            .await
            .unwrap()
    ));
    assert!(world.log.calls().is_empty(), "{:?}", world.log.calls());
}

#[tokio::test]
async fn without_auto_failover_it_acts_only_on_an_operators_decision() {
    let world = World::new(config(&[]));
    let promoter = world.promoter();
    let verdict = promoter
        .on_alarm(&world.settings(false), &alarm("ALARM"))
        .await
        .unwrap();
    assert!(ignored(&verdict));
    assert_eq!(world.log.count("rds."), 0);

    let operator = operator_failover(world.clock.now(), Mode::Ungraceful);
    world.decisions.store(&switched(operator)).await.unwrap();
    let verdict = promoter
        .on_alarm(&world.settings(false), &alarm("ALARM"))
        .await
        .unwrap();
    let Verdict::Reconciled { epoch, decided, .. } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(
        (epoch, decided),
        (1, false),
        "converges to the operator's decision"
    );
    assert_eq!(world.log.count("rds.promote_replica"), 1);
}

#[tokio::test]
async fn it_never_fails_back_and_respects_the_cooldown() {
    let world = World::new(config(&[]));
    // An operator failed back a minute ago.
    let t = world.clock.now() - time::Duration::minutes(1);
    let base = Decision::initial("orders", &"us-east-1".parse().unwrap(), t);
    let over = base.next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Graceful,
        t,
    );
    let back = over.next(
        "us-east-1".parse().unwrap(),
        "cognito:alice",
        "done",
        Mode::Graceful,
        t,
    );
    world.decisions.store(&back).await.unwrap();
    let verdict = world.alarm_fires().await;
    assert!(
        matches!(&verdict, Verdict::Ignored { reason } if reason.contains("cooldown")),
        "{verdict:?}"
    );
    assert_eq!(world.log.count("rds."), 0);
}

#[tokio::test]
async fn capacity_is_raised_but_never_lowered() {
    let world = World::new(config(&[]));
    world
        .capacity
        .set_group(
            "orders-web",
            GroupCapacity {
                min: 3,
                desired: 10,
                max: 20,
            },
        )
        .await
        .unwrap();
    world.alarm_fires().await;
    assert_eq!(
        world.capacity.describe_group("orders-web").await.unwrap(),
        GroupCapacity {
            min: 3,
            desired: 10,
            max: 20
        }
    );
    assert_eq!(
        world.log.count("asg.set_group"),
        1,
        "only the set made by the test"
    );
}

#[tokio::test]
async fn a_throttled_promotion_is_recorded_failed_and_retried_on_the_next_delivery() {
    let world = World::new(config(&[]));
    world
        .database
        .faults
        .push(PortError::Throttled("Rate exceeded".into()));
    let first = world.alarm_fires().await;
    let steps = steps_of(first);
    assert_eq!(report(&steps, Step::Database).state, StepState::Failed);
    let second = world.alarm_fires().await;
    let steps = steps_of(second);
    assert_eq!(report(&steps, Step::Database).state, StepState::InProgress);
    assert_eq!(world.log.count("rds.promote_replica"), 1);
}

fn aurora_world(mode_extra: &[(&str, &str)]) -> World {
    let mut vars = vec![
        ("DB_KIND", "aurora-global"),
        ("DB_GLOBAL_CLUSTER_ID", "orders-global"),
        ("DB_CLUSTER_ID", "orders-usw2"),
    ];
    vars.extend_from_slice(mode_extra);
    let world = World::new(config(&vars));
    // A global database answers DescribeGlobalClusters in both Regions.
    let global = GlobalClusterStatus {
        global_cluster_id: "orders-global".into(),
        writer_cluster_arn: Some("arn:aws:rds:us-east-1:111122223333:cluster:orders-use1".into()),
        member_cluster_arns: vec![
            "arn:aws:rds:us-east-1:111122223333:cluster:orders-use1".into(),
            "arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2".into(),
        ],
        synchronized: vec!["arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2".into()],
        status: "available".into(),
    };
    world.database.add_global(global.clone());
    world.peer_database.add_global(global);
    world
}

#[tokio::test]
async fn aurora_ungraceful_fails_over_allowing_data_loss_never_a_bare_failover() {
    let world = aurora_world(&[]);
    world.alarm_fires().await;
    assert_eq!(
        world.log.count("rds.failover_global_cluster(orders-global, arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2, allow_data_loss)"),
        1
    );
    assert_eq!(world.log.count("rds.switchover"), 0);
    // Now the writer: nothing more to do.
    world.alarm_fires().await;
    assert_eq!(world.log.count("rds.failover_global_cluster"), 1);
}

#[tokio::test]
async fn a_listed_old_primary_protects_only_once_it_replicates() {
    // After FailoverGlobalCluster AWS lists the old primary as a secondary
    // while Aurora rebuilds it (pending-resync): not protected until connected.
    let world = aurora_world(&[]);
    world.alarm_fires().await;
    world.alarm_fires().await;
    for _ in 0..3 {
        world.promoter().on_schedule().await.unwrap();
    }
    let protected = || async {
        let history = world.decisions.history("orders").await.unwrap();
        Decision::current(&history).unwrap().data.protected
    };
    assert!(!protected().await, "listed, pending-resync: no copy yet");
    world
        .database
        .globals
        .lock()
        .unwrap()
        .get_mut("orders-global")
        .unwrap()
        .synchronized
        .push("arn:aws:rds:us-east-1:111122223333:cluster:orders-use1".into());
    world.promoter().on_schedule().await.unwrap();
    assert!(
        protected().await,
        "connected: a replicating secondary again"
    );
}

#[tokio::test]
async fn aurora_graceful_decision_switches_over() {
    let world = aurora_world(&[]);
    let now = world.clock.now();
    let decision = switched(operator_failover(now, Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    let mut current = decision.clone();
    world.promoter().reconcile(&mut current).await.unwrap();
    assert_eq!(
        world
            .peer_log
            .count("rds.switchover_global_cluster(orders-global"),
        1
    );
    assert_eq!(world.log.count("rds.switchover_global_cluster"), 0);
    assert_eq!(world.log.count("rds.failover_global_cluster"), 0);
    // Sent where the primary cluster runs, as AWS's procedure says: the
    // primary Region's endpoint moved the writer, the standby's did not.
    let writer = |db: &stop_core::memory::MemoryDatabase| {
        db.globals.lock().unwrap()["orders-global"]
            .writer_cluster_arn
            .clone()
    };
    assert_eq!(
        writer(&world.peer_database).as_deref(),
        Some("arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2")
    );
    assert_eq!(
        writer(&world.database).as_deref(),
        Some("arn:aws:rds:us-east-1:111122223333:cluster:orders-use1")
    );
}

// ------------------------------------------- never two writers, no lost write

#[tokio::test]
async fn an_alarm_set_by_hand_promotes_nothing() {
    // `aws cloudwatch set-alarm-state`: ALARM and its notification, but the
    // STOP metric's data still says 0, so Route 53 moved no traffic.
    let mut world = World::new(config(&[]));
    world.stop = MemoryStopSwitch::new(world.log.clone()).with_datapoint("orders", 0.0);
    let verdict = world.alarm_fires().await;
    let Verdict::Ignored { reason } = verdict else {
        panic!("{verdict:?}")
    };
    assert!(reason.contains("SetAlarmState"), "{reason}");
    assert_eq!(world.log.count("rds."), 0);
    assert_eq!(world.log.count("decisions.store"), 0, "nothing decided");
}

#[tokio::test]
async fn no_promotion_while_the_traffic_switch_has_not_taken_effect() {
    let world = World::new(config(&[]));
    let now = world.clock.now();
    // The trigger recorded the decision, then Lambda ended it before a switch.
    let decision = operator_failover(now, Mode::Ungraceful);
    world.decisions.store(&decision).await.unwrap();
    let verdict = world.promoter().on_schedule().await.unwrap();
    let steps = steps_of(verdict);
    let fence = report(&steps, Step::Fence);
    assert_eq!(fence.state, StepState::Pending);
    assert!(fence.detail.contains("traffic switch"), "{}", fence.detail);
    assert_eq!(world.log.count("rds.promote_replica"), 0);

    // Pressed again: the switches took effect; the next run promotes.
    world.decisions.store(&switched(decision)).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 1);
}

#[tokio::test]
async fn a_graceful_move_promotes_only_once_the_copy_has_replayed_the_fenced_writers_position() {
    let world = World::new(config(&[]));
    let now = world.clock.now();
    let decision = switched(operator_failover(now, Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    // The copy is behind for longer than one run polls (15 s, a read a second).
    let mut behind = vec!["0/3000000"; 30];
    behind.push("0/3023408");
    world.replication.set_positions("orders-replica", &behind);
    // CloudWatch's lag says 0 all along: it is not read.
    world.database.set_lag(
        "orders-replica",
        LagSample {
            replicating: true,
            seconds: 0,
            at: now,
        },
    );
    let verdict = world.promoter().on_schedule().await.unwrap();
    let steps = steps_of(verdict);
    assert_eq!(report(&steps, Step::Fence).state, StepState::Done);
    let drain = report(&steps, Step::Drain);
    assert_eq!(drain.state, StepState::InProgress, "{}", drain.detail);
    assert!(drain.detail.contains("0/3023408"), "{}", drain.detail);
    assert_eq!(world.log.count("rds.promote_replica"), 0);
    // The old writer was made read-only before its position was read.
    let sql = world.sql_log.calls();
    assert_eq!(
        sql[..2],
        [
            "sql.set_read_only(orders, true)".to_owned(),
            "sql.writer_position(orders)".to_owned()
        ],
        "{sql:?}"
    );
    assert!(world.replication.is_read_only("orders"));

    // The next run sees it replayed: promote, and the record keeps the proof.
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    assert_eq!(world.sql_log.count("sql.writer_position"), 1, "read once");
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    let evidence = current.data.drain.as_ref().expect("drain evidence");
    assert_eq!(evidence.source.id, "orders");
    assert_eq!(evidence.source_position, "0/3023408");
    assert_eq!(evidence.replayed_position.as_deref(), Some("0/3023408"));
    assert!(
        world.peer_log.calls().is_empty(),
        "{:?}",
        world.peer_log.calls()
    );
}

#[tokio::test]
async fn an_idle_source_drains_at_once_whatever_replica_lag_says() {
    // RDS for PostgreSQL: an idle source's replica reports a lag that grows
    // for up to 5 minutes. The position says drained.
    let world = World::new(config(&[]));
    let now = world.clock.now();
    world.clock.advance(time::Duration::minutes(10));
    world.database.set_lag(
        "orders-replica",
        LagSample {
            replicating: true,
            seconds: 299,
            at: now + time::Duration::minutes(9),
        },
    );
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    assert_eq!(report(&steps, Step::Drain).state, StepState::Done);
    assert_eq!(world.log.count("rds.promote_replica"), 1);
}

#[tokio::test]
async fn a_drain_that_runs_out_of_time_stops_the_move_and_says_how_to_go_on() {
    let world = World::new(config(&[("DB_DRAIN_TIMEOUT_SECONDS", "60")]));
    let now = world.clock.now();
    world
        .replication
        .set_positions("orders-replica", &["0/3000000"]);
    let decision = switched(operator_failover(now, Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    for _ in 0..4 {
        world.promoter().on_schedule().await.unwrap();
        world.clock.advance(time::Duration::seconds(30));
    }
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    let drain = report(&steps, Step::Drain);
    assert_eq!(drain.state, StepState::Failed);
    assert!(
        drain.detail.contains("stopctl failover --mode ungraceful"),
        "{}",
        drain.detail
    );
    assert_eq!(world.log.count("rds.promote_replica"), 0);
    // It stays stopped even if the copy catches up later: the operator was told.
    world
        .replication
        .set_positions("orders-replica", &["0/3023408"]);
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 0);
    let history = world.decisions.history("orders").await.unwrap();
    let stopped = Decision::current(&history).unwrap().clone();
    assert!(stopped.data.drain.as_ref().unwrap().timed_out_at.is_some());
    assert!(!stopped.data.writes_open);

    // The operator moves back instead: the primary writes again.
    assert!(world.replication.is_read_only("orders"));
    let back = switched(stopped.next(
        world.config.primary_region().clone(),
        "operator:alice",
        "stay",
        Mode::Graceful,
        world.clock.now(),
    ));
    world.decisions.store(&back).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert!(
        !world.replication.is_read_only("orders"),
        "the fence was not undone"
    );
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert!(current.is_done(Step::Database));
    assert_eq!(current.data.read_only, None);
}

#[tokio::test]
async fn an_ungraceful_move_never_fences_or_reads_the_old_writer() {
    let world = World::new(config(&[]));
    world
        .replication
        .set_positions("orders-replica", &["0/3000000"]);
    let decision = switched(operator_failover(world.clock.now(), Mode::Ungraceful));
    world.decisions.store(&decision).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    assert!(
        world.sql_log.calls().is_empty(),
        "{:?}",
        world.sql_log.calls()
    );
}

#[tokio::test]
async fn a_promoted_copy_is_made_writable_when_the_fence_may_have_replicated_into_it() {
    let world = World::new(config(&[]));
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    world.replica(|r| r.source = None);
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(
        world
            .sql_log
            .count("sql.set_read_only(orders-replica, false)"),
        1
    );
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert!(current.is_done(Step::Database));
    // The old writer stays read-only (it is never a writer again); the
    // record forgets it, so no later move needs SQL for it.
    assert!(world.replication.is_read_only("orders"));
    assert_eq!(current.data.read_only, None);
}

#[tokio::test]
async fn the_fence_opens_only_on_a_writable_writer_whoever_marks_the_promotion() {
    let config = config(&[]);
    let now = datetime!(2026-11-22 03:10 UTC);
    let mut decision = switched(operator_failover(now, Mode::Graceful));
    decision.data.read_only = Some(stop_core::decision::DbRef {
        region: "us-east-1".parse().unwrap(),
        id: "orders".into(),
    });
    // The rewriter found the writer first and repointed the secret.
    let writer = stop_core::decision::DbRef {
        region: "us-west-2".parse().unwrap(),
        id: "orders-replica".into(),
    };
    stop_core::promoter::promoted(&config, &mut decision, writer, now);
    decision.record_step(Step::Secret, StepState::Done, now, "repointed");
    stop_core::promoter::open_writes_if_ready(&config, &mut decision, now);
    assert!(!decision.data.writes_open, "opened with a fence set");
    decision.data.read_only = None;
    stop_core::promoter::open_writes_if_ready(&config, &mut decision, now);
    assert!(decision.data.writes_open);
}

#[tokio::test]
async fn a_copy_of_another_instance_is_not_drained_or_promoted() {
    let world = World::new(config(&[]));
    let now = world.clock.now();
    let mut decision = switched(operator_failover(now, Mode::Graceful));
    // The record says the writer is another instance than the copy's source.
    decision.data.writer = Some(stop_core::decision::DbRef {
        region: "us-east-1".parse().unwrap(),
        id: "orders-new".into(),
    });
    decision.data.copy = Some(stop_core::decision::DbRef {
        region: "us-west-2".parse().unwrap(),
        id: "orders-replica".into(),
    });
    world.decisions.store(&decision).await.unwrap();
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    let drain = report(&steps, Step::Drain);
    assert_eq!(drain.state, StepState::Failed);
    assert!(drain.detail.contains("not the writer"), "{}", drain.detail);
    assert_eq!(world.sql_log.count("sql.set_read_only"), 0);
    assert_eq!(world.log.count("rds.promote_replica"), 0);
}

#[tokio::test]
async fn a_stopped_drain_is_carried_on_by_deciding_again_ungracefully() {
    let world = World::new(config(&[("DB_DRAIN_TIMEOUT_SECONDS", "10")]));
    world
        .replication
        .set_positions("orders-replica", &["0/3000000"]);
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    world.clock.advance(time::Duration::seconds(30));
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 0);
    world.clock.advance(time::Duration::minutes(1));
    let proposal = stop_core::decide::Proposal {
        service: "orders",
        target: world.config.standby_region(),
        actor: "cognito:alice",
        reason: "the copy will not catch up",
        mode: Mode::Ungraceful,
        override_cooldown: false,
        accept_data_loss: false,
        dry_run: false,
    };
    let decided =
        stop_core::decide::decide(&world.decisions, &world.clock, &world.config, &proposal)
            .await
            .unwrap();
    assert!(decided.decided, "{:?}", decided.preconditions);
    assert_eq!(decided.decision.epoch, 2);
    world
        .decisions
        .store(&switched(decided.decision))
        .await
        .unwrap();
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    assert_eq!(report(&steps, Step::Drain).state, StepState::Skipped);
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    // The old writer stays fenced.
    assert!(world.replication.is_read_only("orders"));
}

#[tokio::test]
async fn a_reprotect_creates_a_copy_in_the_old_region_and_is_protected_once_it_replicates() {
    let world = World::new(config(&[]));
    world.alarm_fires().await;
    // RDS finishes the promotion.
    world.replica(|r| r.source = None);
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let mut current = Decision::current(&history).unwrap().clone();
    assert!(current.is_done(Step::Database));
    assert!(!current.data.protected);
    assert!(
        world.peer_log.calls().is_empty(),
        "the failover touched the primary"
    );

    // Nothing is created until the operator asks.
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.peer_log.count("rds.create_replica"), 0);
    current.record_step(
        Step::Reprotect,
        StepState::Pending,
        world.clock.now(),
        "asked",
    );
    world.decisions.store(&current).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(
        world.peer_log.count(
            "rds.create_replica(arn:aws:rds:us-west-2:111122223333:db:orders-replica, orders-us-east-1-e1, subnets=orders-db, groups=sg-0a1b2c3d4e5f60718, parameters=-, key=arn:aws:kms:us-east-1:111122223333:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c, multi_az=false)"
        ),
        1,
        "{:?}",
        world.peer_log.calls()
    );
    // The memory model makes the copy available at once. PostgreSQL takes no
    // parameter group at creation of a cross-Region copy: it is applied
    // before the copy counts as protection.
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(
        world
            .peer_log
            .count("rds.set_parameter_group(orders-us-east-1-e1, orders-postgres16)"),
        1
    );
    let history = world.decisions.history("orders").await.unwrap();
    assert!(!Decision::current(&history).unwrap().data.protected);
    // Its static parameters apply after a reboot: not protection before.
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.peer_log.count("rds.reboot(orders-us-east-1-e1)"), 1);
    let history = world.decisions.history("orders").await.unwrap();
    assert!(!Decision::current(&history).unwrap().data.protected);
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert!(current.data.protected);
    assert_eq!(
        current.step(Step::Reprotect).unwrap().state,
        StepState::Done
    );
    assert_eq!(
        current.data.copy.as_ref().unwrap().id,
        "orders-us-east-1-e1"
    );
}

/// The promoter after a failover, asked to re-protect: its reprotect step.
async fn reprotect_asked(world: &World) -> stop_core::decision::StepRecord {
    world.alarm_fires().await;
    world.replica(|r| r.source = None);
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let mut current = Decision::current(&history).unwrap().clone();
    current.record_step(
        Step::Reprotect,
        StepState::Pending,
        world.clock.now(),
        "asked",
    );
    world.decisions.store(&current).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    Decision::current(&history)
        .unwrap()
        .step(Step::Reprotect)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_reprotect_without_the_copy_placement_is_refused_before_any_call() {
    // No subnet group, security groups or parameter group for the primary
    // Region: RDS would build the copy outside the VPC, with defaults.
    let world = World::new(config(&[
        ("DB_PRIMARY_COPY_SUBNET_GROUP", ""),
        ("DB_PRIMARY_COPY_SECURITY_GROUP_IDS", ""),
    ]));
    let step = reprotect_asked(&world).await;
    assert_eq!(step.state, StepState::Failed, "{step:?}");
    assert!(step.detail.contains("DbPrimaryCopy"), "{step:?}");
    assert!(step.detail.contains("a DB subnet group"), "{step:?}");
    assert_eq!(world.peer_log.count("rds.create_replica"), 0);
}

#[tokio::test]
async fn a_reprotect_of_an_encrypted_writer_without_a_key_is_refused_before_any_call() {
    let world = World::new(config(&[("DB_PRIMARY_COPY_KMS_KEY_ARN", "")]));
    let step = reprotect_asked(&world).await;
    assert_eq!(step.state, StepState::Failed, "{step:?}");
    assert!(
        step.detail.contains("a KMS key (the writer is encrypted)"),
        "{step:?}"
    );
    assert_eq!(world.peer_log.count("rds.create_replica"), 0);
}

#[tokio::test]
async fn the_copy_of_an_encrypted_writer_is_sent_with_the_key_of_its_region() {
    // RDS, as the fake models it, refuses an encrypted source without a key
    // of the destination Region; with the promoter's request it accepts.
    let world = World::new(config(&[]));
    world
        .peer_database
        .knows_source("us-east-1", stop_testkit::orders_replica(0));
    let step = reprotect_asked(&world).await;
    assert_eq!(step.state, StepState::InProgress, "{step:?}");
    assert_eq!(
        world
            .peer_log
            .count("rds.create_replica(arn:aws:rds:us-west-2:111122223333:db:orders-replica, orders-us-east-1-e1, subnets=orders-db"),
        1
    );
    let copy = world
        .peer_database
        .describe_instance("orders-us-east-1-e1")
        .await
        .unwrap();
    assert!(copy.storage_encrypted);
    assert_eq!(copy.subnet_group.as_deref(), Some("orders-db"));
}

#[tokio::test]
async fn a_copy_created_but_not_recorded_is_adopted_not_retried_for_ever() {
    // A lost answer or a duplicate run: the copy exists, the record does not
    // name it, and CreateDBInstanceReadReplica now answers DBInstanceAlreadyExists.
    let world = World::new(config(&[]));
    world.alarm_fires().await;
    world.replica(|r| {
        r.source = None;
        // Promoted, taking writes through its first automated backup.
        r.status = "backing-up".into();
    });
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let mut current = Decision::current(&history).unwrap().clone();
    assert!(current.is_done(Step::Database), "backing-up takes writes");
    world.peer_database.add_instance(ReplicaStatus {
        instance_id: "orders-us-east-1-e1".into(),
        replication: Some("replicating".into()),
        arn: "arn:aws:rds:us-east-1:111122223333:db:orders-us-east-1-e1".into(),
        source: Some("arn:aws:rds:us-west-2:111122223333:db:orders-replica".into()),
        status: "creating".into(),
        replica_lag_seconds: None,
        endpoint: None,
        ..Default::default()
    });
    current.record_step(
        Step::Reprotect,
        StepState::Pending,
        world.clock.now(),
        "asked",
    );
    world.decisions.store(&current).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    let step = current.step(Step::Reprotect).unwrap();
    assert_eq!(step.state, StepState::InProgress, "{step:?}");
    assert!(step.detail.contains("adopted"), "{step:?}");
    assert_eq!(
        current.data.copy.as_ref().unwrap().id,
        "orders-us-east-1-e1"
    );

    // One with the same name that copies something else is refused, not adopted.
    let world = World::new(config(&[]));
    world.alarm_fires().await;
    world.replica(|r| r.source = None);
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let mut current = Decision::current(&history).unwrap().clone();
    world.peer_database.add_instance(ReplicaStatus {
        instance_id: "orders-us-east-1-e1".into(),
        replication: None,
        arn: "arn:aws:rds:us-east-1:111122223333:db:orders-us-east-1-e1".into(),
        source: None,
        status: "available".into(),
        replica_lag_seconds: None,
        endpoint: None,
        ..Default::default()
    });
    current.record_step(
        Step::Reprotect,
        StepState::Pending,
        world.clock.now(),
        "asked",
    );
    world.decisions.store(&current).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    let step = current.step(Step::Reprotect).unwrap();
    assert_eq!(step.state, StepState::Failed, "{step:?}");
    assert!(current.data.copy.is_none());
}

#[test]
fn copy_names_follow_rds_identifier_rules() {
    use stop_core::promoter::copy_name;
    let east: stop_core::Region = "us-east-1".parse().unwrap();
    assert_eq!(copy_name("orders", &east, 1), "orders-us-east-1-e1");
    assert_eq!(copy_name("9lives", &east, 2), "db-9lives-us-east-1-e2");
    let long = copy_name(&"x".repeat(80), &east, 12);
    assert!(long.len() <= 63, "{long}");
    assert!(!copy_name("a--b_", &east, 3).contains("--"));
}

#[tokio::test]
async fn a_replica_that_is_not_available_yet_is_promoted_on_a_later_run() {
    // RDS refuses PromoteReadReplica while the replica is backing-up; the
    // first run must not record a promotion it never started.
    let world = World::new(config(&[]));
    world.replica(|r| r.status = "backing-up".into());
    let verdict = world.alarm_fires().await;
    let steps = steps_of(verdict);
    assert_eq!(report(&steps, Step::Database).state, StepState::Pending);
    assert_eq!(world.log.count("rds.promote_replica"), 0);
    world.replica(|r| r.status = "available".into());
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(
        world.log.count("rds.promote_replica"),
        1,
        "the schedule carried it on"
    );
}

/// A copy of the fence record as the old writer's fence reads it, cut off
/// at will (a partition between the primary and the standby).
struct CutOff {
    copy: Arc<MemoryStateStore>,
    cut: Arc<std::sync::atomic::AtomicBool>,
}

impl stop_core::ports::StateStore for CutOff {
    async fn load(&self, name: &str) -> stop_core::ports::PortResult<Option<String>> {
        if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::Unavailable("connect timeout".into()));
        }
        self.copy.load(name).await
    }
    async fn save(&self, name: &str, text: &str) -> stop_core::ports::PortResult<()> {
        self.copy.save(name, text).await
    }
}

/// Whether the old writer's fence still lets a write through at the moment
/// the promoter cut replication, its last read sent just before the
/// decision and every read after it cut off.
async fn old_writer_open_at_the_cut(lease_wait: bool) -> bool {
    let mut world = World::new(config(&[]));
    if !lease_wait {
        // The safety mechanism taken out: cut without waiting out the lease.
        world.decisions.copies.timing.lease = time::Duration::ZERO;
    }
    let primary = stop_testkit::standby_config(&[
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
    ]);
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let read = CutOff {
        copy: world.fence_copy.clone(),
        cut: cut.clone(),
    };
    let copies =
        stop_core::fence::Copies::new(&primary, vec![(primary.standby_region().clone(), read)]);
    let fence = stop_core::fence::Fence::new(&primary, copies, world.clock.clone());
    assert!(
        fence.check().await.open,
        "the primary writes before the move"
    );
    world.clock.advance(time::Duration::seconds(1));
    cut.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut decision = switched(operator_failover(world.clock.now(), Mode::Ungraceful));
    world.decisions.store(&decision).await.unwrap();
    let steps = world.promoter().reconcile(&mut decision).await.unwrap();
    assert_eq!(report(&steps, Step::Database).state, StepState::InProgress);
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    // The promotion was the reconcile's last call: the clock stands at the cut.
    fence.check().await.open
}

#[tokio::test]
async fn the_cut_waits_out_every_lease_that_could_still_open_the_old_writer() {
    assert!(
        !old_writer_open_at_the_cut(true).await,
        "the old writer's lease ran out before replication was cut"
    );
    // Without the wait, the old writer still holds its lease at the cut:
    // what it acknowledges from then on is lost.
    assert!(old_writer_open_at_the_cut(false).await);
}

/// An ungraceful press for the standby by `actor`, as the trigger decides it.
async fn escalate(world: &World, actor: &str) -> stop_core::decide::Decided {
    let proposal = stop_core::decide::Proposal {
        service: "orders",
        target: world.config.standby_region(),
        actor,
        reason: "carry it on",
        mode: Mode::Ungraceful,
        override_cooldown: false,
        accept_data_loss: false,
        dry_run: false,
    };
    stop_core::decide::decide(&world.decisions, &world.clock, &world.config, &proposal)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fence_the_database_refuses_stops_the_drain_once_and_for_all() {
    // In AWS today nothing reaches the database: the port refuses.
    let world = World::new(config(&[]));
    world
        .replication
        .faults
        .push(PortError::Rejected("no function reaches orders".into()));
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    assert_eq!(report(&steps, Step::Drain).state, StepState::Failed);
    let versions = world.decisions.history("orders").await.unwrap().len();
    for _ in 0..3 {
        world.clock.advance(time::Duration::minutes(1));
        world.promoter().on_schedule().await.unwrap();
    }
    // Not tried again, and the record not rewritten every minute.
    assert_eq!(world.sql_log.count("sql.set_read_only"), 1);
    assert_eq!(
        world.decisions.history("orders").await.unwrap().len(),
        versions
    );
    let stopped = Decision::current(&world.decisions.history("orders").await.unwrap())
        .unwrap()
        .clone();
    assert_eq!(stopped.data.read_only, None, "nothing was fenced");
    assert!(stopped.data.drain.unwrap().refused.is_some());

    // The operator carries it on ungracefully: promoted, and writes can open.
    let decided = escalate(&world, "cognito:alice").await;
    assert!(decided.decided, "{:?}", decided.preconditions);
    world
        .decisions
        .store(&switched(decided.decision))
        .await
        .unwrap();
    world.promoter().on_schedule().await.unwrap();
    world.replica(|r| r.source = None);
    world.promoter().on_schedule().await.unwrap();
    let current = Decision::current(&world.decisions.history("orders").await.unwrap())
        .unwrap()
        .clone();
    assert!(current.is_done(Step::Database));
    assert_eq!(current.data.read_only, None);
    assert_eq!(
        world.sql_log.count("sql.set_read_only"),
        1,
        "no SQL after the refusal"
    );
}

#[tokio::test]
async fn only_an_operator_escalates_and_only_a_stopped_drain() {
    let world = World::new(config(&[]));
    // The copy is behind: the drain is under way, not stopped.
    world
        .replication
        .set_positions("orders-replica", &["0/3000000"]);
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    for actor in ["cognito:alice", "detector"] {
        let decided = escalate(&world, actor).await;
        assert!(!decided.decided, "{actor} skipped a drain under way");
        assert_eq!(decided.decision.epoch, 1);
    }
    // Stopped (timed out): the detector still cannot, an operator can.
    world.clock.advance(time::Duration::minutes(10));
    world.promoter().on_schedule().await.unwrap();
    let detector = escalate(&world, "detector").await;
    assert!(!detector.decided);
    let operator = escalate(&world, "cognito:alice").await;
    assert!(operator.decided);
    assert_eq!(operator.decision.epoch, 2);
}

#[tokio::test]
async fn a_fence_that_keeps_failing_does_not_write_the_record_on_every_run() {
    // Every write of the record starts a run (its EventBridge rule): a run
    // that fails the same way must not write the same intent again, or the
    // runs would chain for ever.
    let world = World::new(config(&[]));
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    for _ in 0..4 {
        world
            .replication
            .faults
            .push(PortError::Unavailable("connection timed out".into()));
    }
    let _ = world.promoter().on_schedule().await;
    let versions = world.decisions.history("orders").await.unwrap().len();
    for _ in 0..3 {
        let _ = world.promoter().on_schedule().await;
    }
    assert_eq!(
        world.decisions.history("orders").await.unwrap().len(),
        versions,
        "the same failure wrote the record again"
    );
}

#[tokio::test]
async fn a_promotion_another_run_started_is_not_sent_again() {
    // Two runs drained the copy side by side (one started by the other's
    // record write); the one that reads the record right before
    // PromoteReadReplica finds the other's promotion and sends nothing.
    let world = World::new(config(&[]));
    let now = world.clock.now();
    let decision = switched(operator_failover(now, Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    world.promoter().on_schedule().await.unwrap();
    assert_eq!(world.log.count("rds.promote_replica"), 1);
    let mut current = Decision::current(&world.decisions.history("orders").await.unwrap())
        .unwrap()
        .clone();
    assert_eq!(
        current.step(Step::Database).unwrap().state,
        StepState::InProgress
    );
    // RDS still lists the copy as an available replica for a moment, and
    // the slower run's view is drained, its database step not yet started.
    world.replica(|r| {
        r.source = Some("arn:aws:rds:us-east-1:111122223333:db:orders".into());
        r.status = "available".into();
    });
    current.steps.retain(|s| s.name != Step::Database);
    let mut slower = current.clone();
    let promoter = world.promoter();
    let steps = promoter.reconcile(&mut slower).await.unwrap();
    let database = report(&steps, Step::Database);
    assert_eq!(database.state, StepState::InProgress, "{}", database.detail);
    assert!(
        database.detail.contains("started by another run"),
        "{}",
        database.detail
    );
    assert_eq!(world.log.count("rds.promote_replica"), 1);
}

#[tokio::test]
async fn a_drain_under_way_writes_the_record_when_it_starts_not_at_every_step_of_progress() {
    // Every write of the record starts runs (its EventBridge rule): a copy
    // catching up must not make each run write its new replayed position.
    let world = World::new(config(&[]));
    let decision = switched(operator_failover(world.clock.now(), Mode::Graceful));
    world.decisions.store(&decision).await.unwrap();
    // Behind for two whole runs, moving on all the while.
    let behind: Vec<String> = (0..40).map(|i| format!("0/30{i:05X}")).collect();
    let mut positions: Vec<&str> = behind.iter().map(String::as_str).collect();
    positions.push("0/3023408");
    world
        .replication
        .set_positions("orders-replica", &positions);
    let before = world.decisions.history("orders").await.unwrap().len();
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    assert_eq!(report(&steps, Step::Drain).state, StepState::InProgress);
    // The fence's commit, the intent and the drain's start; nothing more.
    let first_run = world.decisions.history("orders").await.unwrap().len() - before;
    world.clock.advance(time::Duration::seconds(3));
    let steps = steps_of(world.promoter().on_schedule().await.unwrap());
    assert_eq!(report(&steps, Step::Drain).state, StepState::InProgress);
    let second_run = world.decisions.history("orders").await.unwrap().len() - before - first_run;
    assert_eq!(
        second_run, 0,
        "a run that saw only progress wrote the record"
    );
    assert!(
        first_run <= 3,
        "the first run wrote the record {first_run} times"
    );
}
