#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The promoter's runbook on a real PostgreSQL primary and streaming replica
//! (Debian's server binaries, started and removed by the test): the drain
//! waits for the fenced writer's position, the old writer refuses writes,
//! `pg_promote()` moves the writer, `pg_basebackup` re-protects it, and the
//! rows on the final writer are every write that was acknowledged.
//!
//! It needs the binaries (`apt-get install postgresql`; `./scripts/test`
//! installs them). Without them it fails, unless `STOP_PG_OPTIONAL=1` says
//! this machine may go without.

use std::sync::Arc;

use stop_core::Config;
use stop_core::config::Region;
use stop_core::decision::{Decision, Mode, Step, StepState};
use stop_core::memory::{CallLog, MemoryCapacity, MemoryStopSwitch};
use stop_core::ports::{Clock, DecisionStore, GroupCapacity};
use stop_core::promoter::{Promoter, StepReport, Verdict};
use stop_pg::{LocalPg, LocalRegion, WallClock};

const WRITER: &str = "orders";
const REPLICA: &str = "orders-replica";

fn regions() -> (Region, Region) {
    ("us-east-1".parse().unwrap(), "us-west-2".parse().unwrap())
}

/// The standby's configuration with the shortest lease (5 s), so that a
/// leg's fence wait is about 6 s of real time.
fn config() -> Config {
    stop_testkit::standby_config(&[
        ("FENCE_LEASE_SECONDS", "5"),
        ("DB_DRAIN_TIMEOUT_SECONDS", "120"),
    ])
}

async fn local_pair() -> Option<LocalPg> {
    let (primary, standby) = regions();
    match LocalPg::start(&primary, &standby, WRITER, REPLICA).await {
        Ok(pg) => Some(pg),
        Err(e) if std::env::var_os("STOP_PG_OPTIONAL").is_some() => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

type Decisions = stop_core::fence::Fenced<
    stop_core::memory::MemoryDecisionStore,
    stop_core::memory::MemoryStateStore,
    Arc<WallClock>,
>;

struct Standby<'a> {
    config: Config,
    decisions: Decisions,
    standby: LocalRegion<'a>,
    primary: LocalRegion<'a>,
    pg: &'a LocalPg,
    capacity: MemoryCapacity,
    stop: MemoryStopSwitch,
    clock: Arc<WallClock>,
}

impl<'a> Standby<'a> {
    fn new(pg: &'a LocalPg) -> Self {
        let (primary, standby) = regions();
        let config = config();
        let log = CallLog::default();
        let clock = Arc::new(WallClock);
        Standby {
            decisions: stop_testkit::fenced_memory(&config, &log, clock.clone()),
            standby: pg.region(&standby),
            primary: pg.region(&primary),
            pg,
            capacity: MemoryCapacity::new(
                log.clone(),
                &[(
                    "orders-web",
                    GroupCapacity {
                        min: 2,
                        desired: 4,
                        max: 8,
                    },
                )],
            ),
            stop: MemoryStopSwitch::new(log),
            clock,
            config,
        }
    }

    fn promoter(
        &self,
    ) -> Promoter<
        '_,
        Decisions,
        LocalRegion<'a>,
        MemoryCapacity,
        MemoryStopSwitch,
        Arc<WallClock>,
        LocalPg,
    > {
        Promoter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.standby,
            peer_database: &self.primary,
            capacity: &self.capacity,
            stop: &self.stop,
            clock: &self.clock,
            replication: self.pg,
        }
    }

    async fn current(&self) -> Decision {
        let history = self.decisions.history("orders").await.unwrap();
        Decision::current(&history).unwrap().clone()
    }

    /// An operator's graceful decision whose traffic switch took effect.
    async fn decide(&self, to: Region) {
        let now = self.clock.now();
        let mut decision =
            self.current_or_initial()
                .await
                .next(to, "cognito:alice", "drill", Mode::Graceful, now);
        for step in [Step::StopMetric, Step::ArcRoutingControls] {
            decision.record_step(step, StepState::Done, now, "switched");
        }
        self.decisions.store(&decision).await.unwrap();
    }

    async fn current_or_initial(&self) -> Decision {
        let history = self.decisions.history("orders").await.unwrap();
        Decision::current(&history).cloned().unwrap_or_else(|| {
            Decision::initial("orders", self.config.primary_region(), self.clock.now())
        })
    }

    async fn run(&self) -> Vec<StepReport> {
        match self.promoter().on_schedule().await.unwrap() {
            Verdict::Reconciled { steps, .. } => steps,
            other => panic!("{other:?}"),
        }
    }

    /// Runs until the database step is done (a promotion is seconds here).
    async fn until_promoted(&self) {
        for _ in 0..10 {
            self.run().await;
            if self.current().await.is_done(Step::Database) {
                return;
            }
        }
        panic!("not promoted: {:?}", self.current().await.steps);
    }

    async fn ask_reprotect(&self) {
        let mut decision = self.current().await;
        decision.record_step(
            Step::Reprotect,
            StepState::Pending,
            self.clock.now(),
            "asked",
        );
        self.decisions.store(&decision).await.unwrap();
        for _ in 0..10 {
            self.run().await;
            if self.current().await.data.protected {
                return;
            }
        }
        panic!("not protected: {:?}", self.current().await.steps);
    }
}

fn state(steps: &[StepReport], step: Step) -> Option<StepState> {
    steps.iter().find(|r| r.step == step).map(|r| r.state)
}

async fn write(pg: &LocalPg, at: &str, orders: std::ops::Range<i64>, acked: &mut Vec<i64>) {
    for order in orders {
        pg.insert(at, order).await.unwrap();
        acked.push(order);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_whole_cycle_on_real_postgres_keeps_every_acknowledged_write() {
    let Some(pg) = local_pair().await else { return };
    let world = Standby::new(&pg);
    let (primary, standby) = regions();
    let mut acked = Vec::new();
    write(&pg, WRITER, 0..100, &mut acked).await;

    // The replica falls behind: its WAL receiver stops.
    pg.cut_replication(REPLICA).await.unwrap();
    write(&pg, WRITER, 100..150, &mut acked).await;

    world.decide(standby.clone()).await;
    let steps = world.run().await;
    assert_eq!(
        state(&steps, Step::Fence),
        Some(StepState::Done),
        "{steps:?}"
    );
    assert_eq!(
        state(&steps, Step::Drain),
        Some(StepState::InProgress),
        "{steps:?}"
    );
    assert_eq!(
        state(&steps, Step::Database),
        None,
        "promoted while behind: {steps:?}"
    );
    // The database-level fence: the old writer refuses a write now.
    let refused = pg.insert(WRITER, 9_999).await.unwrap_err();
    assert!(refused.contains("read-only"), "{refused}");
    let evidence = world.current().await.data.drain.unwrap();
    assert_ne!(
        evidence.replayed_position,
        Some(evidence.source_position.clone())
    );

    // Replication resumes: the next run sees the position replayed and promotes.
    pg.restore_replication(REPLICA).await.unwrap();
    world.until_promoted().await;
    let after = world.current().await;
    let evidence = after.data.drain.clone().unwrap();
    assert_eq!(evidence.source.id, WRITER);
    assert_eq!(
        stop_core::replication::Engine::Postgres.covers(
            evidence.replayed_position.as_deref().unwrap(),
            &evidence.source_position
        ),
        Ok(true)
    );
    assert_eq!(
        pg.orders(REPLICA).await.unwrap(),
        acked,
        "RPO 0 on the failover"
    );

    // The new writer takes writes (its read-only setting was undone).
    write(&pg, REPLICA, 150..200, &mut acked).await;

    // Re-protect: a streaming copy of the new writer in the primary Region.
    world.ask_reprotect().await;
    let copy = world.current().await.data.copy.unwrap();
    assert_eq!(copy.region, primary);
    write(&pg, REPLICA, 200..220, &mut acked).await;

    // Fail back, gracefully: drain the copy, promote it.
    world.decide(primary.clone()).await;
    world.until_promoted().await;
    let back = world.current().await;
    assert_eq!(
        back.data.writer.as_ref().map(|w| w.id.as_str()),
        Some(copy.id.as_str())
    );
    assert!(
        pg.insert(REPLICA, 8_888)
            .await
            .unwrap_err()
            .contains("read-only")
    );
    write(&pg, &copy.id, 220..240, &mut acked).await;

    // `psql` on the final writer would show the same: every acknowledged write.
    assert_eq!(pg.orders(&copy.id).await.unwrap(), acked);
}

/// The same fall-behind with the drain left out: promoting the replica at
/// once cuts off the writes it had not replayed. This is what the drain
/// prevents, and what the row count catches.
#[tokio::test(flavor = "current_thread")]
async fn promoting_without_the_drain_loses_acknowledged_writes() {
    let Some(pg) = local_pair().await else { return };
    let (_, standby) = regions();
    let mut acked = Vec::new();
    write(&pg, WRITER, 0..20, &mut acked).await;
    pg.cut_replication(REPLICA).await.unwrap();
    write(&pg, WRITER, 20..40, &mut acked).await;
    stop_core::ports::Database::promote_replica(&pg.region(&standby), REPLICA, 7)
        .await
        .unwrap();
    let kept = pg.orders(REPLICA).await.unwrap();
    assert!(
        kept.len() < acked.len(),
        "kept {} of {}",
        kept.len(),
        acked.len()
    );
}

/// PostgreSQL's idle replica: `now() - pg_last_xact_replay_timestamp()`
/// (what RDS reports as `ReplicaLag`) grows while the source takes nothing,
/// yet the positions say drained at once.
#[tokio::test(flavor = "current_thread")]
async fn an_idle_source_is_drained_by_position_while_its_lag_grows() {
    let Some(pg) = local_pair().await else { return };
    let (primary, standby) = regions();
    let mut acked = Vec::new();
    write(&pg, WRITER, 0..5, &mut acked).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let lag = stop_core::ports::Database::replica_lag(&pg.region(&standby), REPLICA)
        .await
        .unwrap()
        .unwrap();
    assert!(lag.seconds >= 3, "idle lag {} s", lag.seconds);
    let writer = stop_core::decision::DbRef {
        region: primary,
        id: WRITER.to_owned(),
    };
    let copy = stop_core::decision::DbRef {
        region: standby,
        id: REPLICA.to_owned(),
    };
    use stop_core::ports::Replication;
    let source = pg.writer_position(&writer).await.unwrap();
    let replayed = pg.replayed_position(&copy).await.unwrap();
    assert_eq!(
        stop_core::replication::Engine::Postgres.covers(&replayed, &source),
        Ok(true),
        "{replayed} vs {source}"
    );
}
