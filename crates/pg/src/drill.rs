//! The planned moves on a real engine (`stopctl drill --engine postgres`): a
//! PostgreSQL primary and its streaming replica on this machine, the core's
//! promoter driving them through the same ports as in AWS (wall clock, a 5 s
//! lease), and two clients, one per Region, that write only while their
//! Region's write fence (a lease on the fence record's quorum) lets them and
//! count a write acknowledged only once its `INSERT` committed. RPO is the
//! acknowledged writes missing from the final writer's rows.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use stop_core::config::{Config, Region};
use stop_core::decision::{DbRef, Decision, Mode, Step, StepState};
use stop_core::fence::{Copies, Fence, FenceRecord, Fenced, Quorum};
use stop_core::memory::{
    CallLog, MemoryCapacity, MemoryDecisionStore, MemoryStateStore, MemoryStopSwitch,
};
use stop_core::ports::{Clock, DecisionStore, GroupCapacity, PortResult, Replication};
use stop_core::promoter::{Promoter, Verdict, follow_up};
use stop_core::runbook::PLANNED_WRITE_SLACK_MS;
use time::OffsetDateTime;

use crate::{LocalPg, LocalRegion, WallClock};

const PRIMARY: &str = "us-east-1";
const STANDBY: &str = "us-west-2";
const WRITER: &str = "orders";
const REPLICA: &str = "orders-replica";
/// How often each client writes.
const WRITE_EVERY: Duration = Duration::from_millis(100);

/// What a scenario does to the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Writes flowing, a graceful failover.
    Planned,
    /// The copy's WAL receiver is stopped before the press and restored 12 s
    /// after it (the drain starts after the 6 s lease): the drain must wait
    /// for the position, then promote.
    Behind,
    /// No write for 10 s before the press: the replica's lag (what RDS calls
    /// `ReplicaLag`) grows, yet the positions say drained at once.
    IdleSource,
    /// Failover, re-protect (`pg_basebackup` of the new writer), failback.
    FullCycle,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    pub kind: Kind,
}

pub fn library() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "pg-planned",
            summary: "graceful failover with both Regions' clients writing: the old writer made read-only, drained by LSN, pg_promote(); every acknowledged row on the new writer",
            kind: Kind::Planned,
        },
        Scenario {
            name: "pg-planned-behind",
            summary: "the copy's WAL receiver stopped before the press and restored 12 s after it, 6 s into the drain: the drain waits for the fenced writer's LSN, then promotes; nothing lost",
            kind: Kind::Behind,
        },
        Scenario {
            name: "pg-planned-idle-source",
            summary: "no write for 10 s before the press: the replay-timestamp lag grows, the positions are equal, the drain passes at once",
            kind: Kind::IdleSource,
        },
        Scenario {
            name: "pg-full-cycle",
            summary: "graceful failover, re-protect (pg_basebackup of the new writer), graceful failback: every acknowledged write on the final writer",
            kind: Kind::FullCycle,
        },
    ]
}

/// The scenarios named (all when none), or the names not found.
pub fn select(names: &[String]) -> Result<Vec<Scenario>, String> {
    let all = library();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|s| s.name == name || s.name.trim_start_matches("pg-") == name)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|s| s.name).collect();
                    format!(
                        "no real-engine scenario {name:?} (known: {})",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// A safety mechanism taken out, to prove the checks catch its absence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sabotage {
    /// The copy answers the writer's position as replayed at once.
    pub drain_bypassed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Milliseconds since the scenario started.
    pub at_ms: i64,
    pub region: String,
    pub event: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub summary: &'static str,
    pub engine: &'static str,
    pub passed: bool,
    pub acknowledged: usize,
    /// Acknowledged writes missing from the final writer: the RPO, counted.
    pub lost: usize,
    pub rows_on_final_writer: usize,
    pub final_writer: String,
    /// The final decision to the first write its new writer acknowledged.
    pub write_rto_ms: Option<i64>,
    pub promotion_ms: Option<i64>,
    pub drain_ms: Option<i64>,
    pub checks: Vec<Check>,
    pub timeline: Vec<Line>,
}

/// The runbook's configuration for one Region's functions, with the
/// shortest lease so that a move's fence wait is about 6 s of real time.
fn region_config(region: &str, peer: &str, role: &str) -> Result<Config, String> {
    let vars = [
        ("SERVICE_NAME", "orders"),
        ("AWS_REGION", region),
        ("ROLE", role),
        ("PEER_REGION", peer),
        ("STOP_METRIC_NAMESPACE", "StopPattern"),
        ("STOP_METRIC_NAME", "FailoverToSecondary"),
        ("STOP_ALARM_NAME", "orders-stop-failover"),
        ("DB_KIND", "rds-replica"),
        ("DB_REPLICA_ID", REPLICA),
        ("FENCE_LEASE_SECONDS", "5"),
        ("DB_DRAIN_TIMEOUT_SECONDS", "120"),
        ("DB_PRIMARY_COPY_SUBNET_GROUP", "local"),
        ("DB_PRIMARY_COPY_SECURITY_GROUP_IDS", "sg-0a1b2c3d4e5f60718"),
        ("DB_PRIMARY_COPY_PARAMETER_GROUP", "local-postgres15"),
        (
            "DB_PRIMARY_COPY_KMS_KEY_ARN",
            "arn:aws:kms:us-east-1:000000000000:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
        ),
        ("DB_STANDBY_COPY_SUBNET_GROUP", "local"),
        ("DB_STANDBY_COPY_SECURITY_GROUP_IDS", "sg-0fedcba9876543210"),
        ("DB_STANDBY_COPY_PARAMETER_GROUP", "local-postgres15"),
        (
            "DB_STANDBY_COPY_KMS_KEY_ARN",
            "arn:aws:kms:us-west-2:000000000000:key/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        ),
    ];
    Config::from_lookup(|key| {
        vars.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    })
    .map_err(|e| e.to_string())
}

/// The drain's SQL, or (sabotaged) a copy that claims to have replayed
/// whatever the writer's position was.
struct DrainUnderTest<'a> {
    pg: &'a LocalPg,
    bypassed: bool,
    last_writer_position: std::sync::Mutex<Option<String>>,
}

impl Replication for DrainUnderTest<'_> {
    async fn writer_position(&self, writer: &DbRef) -> PortResult<String> {
        let position = self.pg.writer_position(writer).await?;
        if let Ok(mut last) = self.last_writer_position.lock() {
            *last = Some(position.clone());
        }
        Ok(position)
    }
    async fn replayed_position(&self, copy: &DbRef) -> PortResult<String> {
        let claimed = self
            .last_writer_position
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .filter(|_| self.bypassed);
        match claimed {
            Some(position) => Ok(position),
            None => self.pg.replayed_position(copy).await,
        }
    }
    async fn set_read_only(&self, instance: &DbRef, read_only: bool) -> PortResult<()> {
        self.pg.set_read_only(instance, read_only).await
    }
}

type Decisions = Fenced<MemoryDecisionStore, Arc<MemoryStateStore>, WallClock>;

/// One run's world: the pair, the record and its fence copies, a fence per
/// Region, the timeline.
struct World<'a> {
    pg: &'a LocalPg,
    config: Config,
    primary: Region,
    standby: Region,
    decisions: Decisions,
    fences: Vec<(Region, Fence<Arc<MemoryStateStore>, WallClock>)>,
    standby_db: LocalRegion<'a>,
    primary_db: LocalRegion<'a>,
    replication: DrainUnderTest<'a>,
    capacity: MemoryCapacity,
    stop: MemoryStopSwitch,
    clock: WallClock,
    started: OffsetDateTime,
    timeline: RefCell<Vec<Line>>,
    /// Acknowledged writes: order, Region, when.
    acked: RefCell<Vec<(i64, Region, OffsetDateTime)>>,
    next_order: Cell<i64>,
    writing: Cell<bool>,
    done: Cell<bool>,
    /// Each Region's fence last open or not, and the last database refusal,
    /// so the timeline says changes only.
    fence_open: RefCell<Vec<(Region, bool)>>,
    last_refusal: RefCell<String>,
    last_promoter: RefCell<String>,
}

impl<'a> World<'a> {
    fn new(pg: &'a LocalPg, sabotage: Sabotage) -> Result<Self, String> {
        let primary: Region = PRIMARY.parse::<Region>().map_err(|e| e.to_string())?;
        let standby: Region = STANDBY.parse::<Region>().map_err(|e| e.to_string())?;
        let config = region_config(STANDBY, PRIMARY, "SECONDARY")?;
        let name = config.fence_parameter(&config.service);
        let initial = FenceRecord::initial(&config.service, &primary).to_text();
        let stores: Vec<(Region, Arc<MemoryStateStore>)> = Quorum::of(&config)
            .copies()
            .into_iter()
            .map(|region| {
                let store = MemoryStateStore::new(CallLog::default()).with(&name, &initial);
                (region, Arc::new(store))
            })
            .collect();
        let mut fences = Vec::new();
        for (region, peer, role) in [
            (PRIMARY, STANDBY, "PRIMARY"),
            (STANDBY, PRIMARY, "SECONDARY"),
        ] {
            let here = region_config(region, peer, role)?;
            let copies = Copies::new(&here, stores.clone());
            fences.push((here.region.clone(), Fence::new(&here, copies, WallClock)));
        }
        let log = CallLog::default();
        Ok(World {
            decisions: Fenced {
                decisions: MemoryDecisionStore::new(log.clone()),
                copies: Copies::new(&config, stores),
                clock: WallClock,
            },
            fences,
            standby_db: pg.region(&standby),
            primary_db: pg.region(&primary),
            replication: DrainUnderTest {
                pg,
                bypassed: sabotage.drain_bypassed,
                last_writer_position: std::sync::Mutex::new(None),
            },
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
            clock: WallClock,
            started: OffsetDateTime::now_utc(),
            timeline: RefCell::new(Vec::new()),
            acked: RefCell::new(Vec::new()),
            next_order: Cell::new(1),
            writing: Cell::new(true),
            done: Cell::new(false),
            fence_open: RefCell::new(Vec::new()),
            last_refusal: RefCell::new(String::new()),
            last_promoter: RefCell::new(String::new()),
            pg,
            config,
            primary,
            standby,
        })
    }

    fn log(&self, region: &str, event: impl Into<String>) {
        let at_ms = i64::try_from((OffsetDateTime::now_utc() - self.started).whole_milliseconds())
            .unwrap_or(i64::MAX);
        self.timeline.borrow_mut().push(Line {
            at_ms,
            region: region.to_owned(),
            event: event.into(),
        });
    }

    fn promoter(
        &self,
    ) -> Promoter<
        '_,
        Decisions,
        LocalRegion<'a>,
        MemoryCapacity,
        MemoryStopSwitch,
        WallClock,
        DrainUnderTest<'a>,
    > {
        Promoter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.standby_db,
            peer_database: &self.primary_db,
            capacity: &self.capacity,
            stop: &self.stop,
            clock: &self.clock,
            replication: &self.replication,
        }
    }

    async fn current(&self) -> Result<Decision, String> {
        let history = self
            .decisions
            .history(&self.config.service)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Decision::current(&history).cloned().unwrap_or_else(|| {
            Decision::initial(&self.config.service, &self.primary, self.clock.now())
        }))
    }

    /// An operator's graceful press whose traffic switch took effect.
    async fn press(&self, to: &Region) -> Result<(), String> {
        let now = self.clock.now();
        let mut decision = self.current().await?.next(
            to.clone(),
            "cognito:operator",
            "real-engine drill",
            Mode::Graceful,
            now,
        );
        for step in [Step::StopMetric, Step::ArcRoutingControls] {
            decision.record_step(step, StepState::Done, now, "switched");
        }
        self.decisions
            .store(&decision)
            .await
            .map_err(|e| e.to_string())?;
        self.log(
            STANDBY,
            format!(
                "failover-trigger: decided epoch {} for {to} (graceful)",
                decision.epoch
            ),
        );
        Ok(())
    }

    /// The record's write starts the promoter; its invocation follows the
    /// drain and the promotion (`follow_up`) until nothing is under way.
    async fn promoter_invocation(&self) -> Result<(), String> {
        let deadline = self.clock.now() + time::Duration::seconds(900);
        loop {
            let verdict = self
                .promoter()
                .on_schedule()
                .await
                .map_err(|e| e.to_string())?;
            if let Verdict::Reconciled { epoch, steps, .. } = &verdict {
                let text: Vec<String> = steps
                    .iter()
                    .map(|s| format!("{} {:?}: {}", s.step, s.state, s.detail))
                    .collect();
                let text = format!("epoch {epoch}: {}", text.join("; "));
                if !steps.is_empty() && *self.last_promoter.borrow() != text {
                    self.log(STANDBY, format!("replica-promoter: {text}"));
                    *self.last_promoter.borrow_mut() = text;
                }
            }
            match follow_up(std::slice::from_ref(&verdict), deadline - self.clock.now()) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Ok(()),
            }
        }
    }

    async fn ask_reprotect(&self) -> Result<(), String> {
        let mut decision = self.current().await?;
        decision.record_step(
            Step::Reprotect,
            StepState::Pending,
            self.clock.now(),
            "asked",
        );
        self.decisions
            .store(&decision)
            .await
            .map_err(|e| e.to_string())?;
        self.log(STANDBY, "failover-trigger: re-protect asked");
        for _ in 0..60 {
            self.promoter_invocation().await?;
            if self.current().await?.data.protected {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err("re-protect did not finish within a minute".to_owned())
    }

    /// Both Regions' clients, every [`WRITE_EVERY`], until the run is done.
    async fn clients(&self) {
        while !self.done.get() {
            if self.writing.get() {
                for (region, fence) in &self.fences {
                    self.write_in(region, fence).await;
                }
            }
            tokio::time::sleep(WRITE_EVERY).await;
        }
    }

    async fn write_in(&self, region: &Region, fence: &Fence<Arc<MemoryStateStore>, WallClock>) {
        let verdict = fence.check().await;
        let changed = {
            let mut open = self.fence_open.borrow_mut();
            match open.iter_mut().find(|(r, _)| r == region) {
                Some((_, was)) if *was == verdict.open => false,
                Some((_, was)) => {
                    *was = verdict.open;
                    true
                }
                None => {
                    open.push((region.clone(), verdict.open));
                    true
                }
            }
        };
        if changed {
            let state = if verdict.open {
                "lets writes through".to_owned()
            } else {
                format!("refuses writes: {}", verdict.reason)
            };
            self.log(region.as_str(), format!("region-info: the fence {state}"));
        }
        if !verdict.open {
            return;
        }
        let Some(writer) = self.pg.writer_in(region).await else {
            return;
        };
        let order = self.next_order.get();
        self.next_order.set(order + 1);
        match self.pg.insert(&writer, order).await {
            Ok(()) => {
                self.acked
                    .borrow_mut()
                    .push((order, region.clone(), OffsetDateTime::now_utc()))
            }
            Err(why) => {
                if *self.last_refusal.borrow() != why {
                    self.log(
                        region.as_str(),
                        format!("database refused an INSERT: {why}"),
                    );
                    *self.last_refusal.borrow_mut() = why;
                }
            }
        }
    }

    async fn writes_for(&self, seconds: u64) {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }

    /// One graceful move to `to`, with a copy behind for `behind_s` seconds
    /// of its drain when set.
    async fn planned_move(&self, to: &Region, behind_s: Option<u64>) -> Result<(), String> {
        self.press(to).await?;
        match behind_s {
            None => self.promoter_invocation().await,
            Some(seconds) => {
                let restore = async {
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                    let restored = self.pg.restore_replication(REPLICA).await;
                    self.log(
                        STANDBY,
                        format!("{REPLICA}: WAL receiver restored ({restored:?})"),
                    );
                };
                let (moved, ()) = tokio::join!(self.promoter_invocation(), restore);
                moved
            }
        }
    }

    async fn script(&self, kind: Kind) -> Result<(), String> {
        let (primary, standby) = (self.primary.clone(), self.standby.clone());
        self.writes_for(2).await;
        match kind {
            Kind::Planned => self.planned_move(&standby, None).await?,
            Kind::Behind => {
                self.pg
                    .cut_replication(REPLICA)
                    .await
                    .map_err(|e| e.to_string())?;
                self.log(
                    STANDBY,
                    format!("{REPLICA}: WAL receiver stopped: the copy falls behind"),
                );
                self.writes_for(2).await;
                self.planned_move(&standby, Some(12)).await?;
            }
            Kind::IdleSource => {
                self.writing.set(false);
                self.log(PRIMARY, "the clients stop writing: the source is idle");
                tokio::time::sleep(Duration::from_secs(10)).await;
                let lag = stop_core::ports::Database::replica_lag(&self.standby_db, REPLICA).await;
                self.log(
                    STANDBY,
                    format!(
                        "{REPLICA}: now() - pg_last_xact_replay_timestamp() reads {} s after 10 s idle",
                        lag.ok().flatten().map_or("?".to_owned(), |l| l.seconds.to_string())
                    ),
                );
                self.writing.set(true);
                self.planned_move(&standby, None).await?;
            }
            Kind::FullCycle => {
                self.planned_move(&standby, None).await?;
                self.writes_for(2).await;
                self.ask_reprotect().await?;
                self.writes_for(2).await;
                self.planned_move(&primary, None).await?;
            }
        }
        self.writes_for(3).await;
        Ok(())
    }
}

fn ms(span: time::Duration) -> i64 {
    i64::try_from(span.whole_milliseconds()).unwrap_or(i64::MAX)
}

/// Runs `scenario` on a fresh local pair, which is removed afterwards.
pub async fn run(scenario: &Scenario, sabotage: Sabotage) -> Result<Report, String> {
    let primary: Region = PRIMARY.parse::<Region>().map_err(|e| e.to_string())?;
    let standby: Region = STANDBY.parse::<Region>().map_err(|e| e.to_string())?;
    let pg = LocalPg::start(&primary, &standby, WRITER, REPLICA).await?;
    let world = World::new(&pg, sabotage)?;
    world.log(
        PRIMARY,
        format!("PostgreSQL: {WRITER} streams to {REPLICA} in {STANDBY}"),
    );
    let script = async {
        let outcome = world.script(scenario.kind).await;
        world.done.set(true);
        outcome
    };
    let ((), outcome) = tokio::join!(world.clients(), script);
    if let Err(why) = outcome {
        world.log(STANDBY, format!("the scenario stopped: {why}"));
    }
    let decision = world.current().await?;
    let final_writer = decision
        .data
        .writer
        .as_ref()
        .map_or(WRITER.to_owned(), |w| w.id.clone());
    let rows = pg.orders(&final_writer).await.unwrap_or_default();
    let acked = world.acked.borrow().clone();
    let lost: Vec<i64> = acked
        .iter()
        .map(|(order, _, _)| *order)
        .filter(|order| rows.binary_search(order).is_err())
        .collect();
    let write_rto_ms = acked
        .iter()
        .filter(|(_, region, at)| *region == decision.active_region && *at >= decision.decided_at)
        .map(|(_, _, at)| ms(*at - decision.decided_at))
        .min();
    let promotion_ms = decision.promotion_ms();
    let drain_ms = decision
        .step(Step::Drain)
        .and_then(|s| s.duration_ms())
        .and_then(|d| i64::try_from(d).ok());
    let moves = match scenario.kind {
        Kind::FullCycle => 2,
        _ => 1,
    };
    let mut checks = Vec::new();
    let mut check = |name: &'static str, ok: bool, detail: String| {
        checks.push(Check { name, ok, detail });
    };
    check(
        "every acknowledged write is on the final writer",
        lost.is_empty(),
        format!(
            "{} acknowledged, {} rows on {final_writer}, {} missing{}",
            acked.len(),
            rows.len(),
            lost.len(),
            lost.first()
                .map_or(String::new(), |o| format!(" (first: order {o})"))
        ),
    );
    let expected_region = match scenario.kind {
        Kind::FullCycle => &primary,
        _ => &standby,
    };
    check(
        "the move converged",
        decision.epoch == moves
            && &decision.active_region == expected_region
            && decision.is_done(Step::Database),
        format!("epoch {} on {}", decision.epoch, decision.active_region),
    );
    let switches = acked
        .windows(2)
        .filter(|pair| pair[0].1 != pair[1].1)
        .count();
    check(
        "one writer at a time",
        switches <= usize::try_from(moves).unwrap_or(1),
        format!("the acknowledged writes changed Region {switches} times over {moves} move(s)"),
    );
    // The lease's promise, per move: once a decision is committed and the
    // cut wait has passed, the Region it moved away from acknowledges
    // nothing (its fence closed within L, whatever its database did).
    let history = world
        .decisions
        .history(&world.config.service)
        .await
        .map_err(|e| e.to_string())?;
    let cut_wait = world.decisions.copies.timing.cut_wait();
    let mut late = Vec::new();
    for epoch in 1..=decision.epoch {
        let Some(d) = history.iter().rfind(|d| d.epoch == epoch) else {
            continue;
        };
        let Some(committed) = d.data.fence_committed_at else {
            continue;
        };
        let old = if d.active_region == primary {
            &standby
        } else {
            &primary
        };
        // Until the next decision, which may make that Region active again.
        let until = history
            .iter()
            .find(|n| n.epoch == epoch + 1)
            .map(|n| n.decided_at);
        late.extend(
            acked
                .iter()
                .filter(|(_, region, at)| {
                    region == old && *at > committed + cut_wait && until.is_none_or(|u| *at < u)
                })
                .map(|(order, _, _)| *order),
        );
    }
    check(
        "the old Region acknowledges nothing after the cut",
        late.is_empty(),
        format!(
            "{} writes acknowledged by the Region moved away from, after commit + L × 1.01 + 1 s",
            late.len()
        ),
    );
    let evidence = decision.data.drain.clone();
    check(
        "the drain recorded both positions",
        evidence
            .as_ref()
            .is_some_and(|e| e.replayed_position.is_some() && !e.source_position.is_empty()),
        evidence
            .as_ref()
            .map_or("no drain evidence".to_owned(), |e| {
                format!(
                    "{} at {}, the copy replayed {}",
                    e.source.id,
                    e.source_position,
                    e.replayed_position.as_deref().unwrap_or("nothing")
                )
            }),
    );
    if let Some(old) = evidence.as_ref().map(|e| e.source.id.clone()) {
        let refused = pg.insert(&old, -1).await;
        check(
            "the old writer refuses writes (the database-level fence)",
            refused.as_ref().is_err_and(|e| e.contains("read-only")),
            format!("an INSERT on {old}: {refused:?}"),
        );
    }
    if scenario.kind == Kind::Behind {
        check(
            "the drain waited for the copy's position",
            drain_ms.is_some_and(|d| d >= 3_000),
            format!(
                "drain {} ms (the copy was cut off until 12 s after the press)",
                drain_ms.unwrap_or(0)
            ),
        );
    }
    if let (Some(write), Some(promotion)) = (write_rto_ms, promotion_ms) {
        let drain_wait = if scenario.kind == Kind::Behind {
            drain_ms.unwrap_or(0)
        } else {
            0
        };
        check(
            "planned write RTO within the promotion + 30 s",
            write <= promotion + drain_wait + PLANNED_WRITE_SLACK_MS,
            format!(
                "write RTO {write} ms, promotion {promotion} ms, drain {} ms",
                drain_ms.unwrap_or(0)
            ),
        );
    } else {
        check(
            "write RTO measured",
            false,
            "the new writer acknowledged no write after the decision".to_owned(),
        );
    }
    let passed = checks.iter().all(|c| c.ok);
    let timeline = world.timeline.borrow().clone();
    Ok(Report {
        scenario: scenario.name,
        summary: scenario.summary,
        engine: "postgres",
        passed,
        acknowledged: acked.len(),
        lost: lost.len(),
        rows_on_final_writer: rows.len(),
        final_writer,
        write_rto_ms,
        promotion_ms,
        drain_ms,
        checks,
        timeline,
    })
}

/// `stopctl local --engine postgres`: the same pair, record, fences and
/// promoter, driven by hand (a write, a press, a re-protect at a time).
pub struct Hand<'a> {
    world: World<'a>,
}

impl<'a> Hand<'a> {
    pub fn new(pg: &'a LocalPg) -> Result<Self, String> {
        let world = World::new(pg, Sabotage::default())?;
        world.log(
            PRIMARY,
            format!("PostgreSQL: {WRITER} streams to {REPLICA} in {STANDBY}"),
        );
        Ok(Hand { world })
    }

    /// One write as a client of the failover name: to the Region the record
    /// makes active, through that Region's write fence, an `INSERT` on its
    /// writer. `Err` is a refusal (the fence closed, the database refused):
    /// nothing was acknowledged.
    pub async fn write(&self) -> Result<(i64, Region), String> {
        let region = self.world.current().await?.active_region;
        let fence = self
            .world
            .fences
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, f)| f)
            .ok_or_else(|| format!("no fence in {region}"))?;
        let verdict = fence.check().await;
        if !verdict.open {
            return Err(format!(
                "the fence in {region} refuses writes: {}",
                verdict.reason
            ));
        }
        let writer = self
            .world
            .pg
            .writer_in(&region)
            .await
            .ok_or_else(|| format!("no writable instance in {region}"))?;
        let order = self.world.next_order.get();
        self.world.next_order.set(order + 1);
        self.world.pg.insert(&writer, order).await?;
        self.world
            .acked
            .borrow_mut()
            .push((order, region.clone(), OffsetDateTime::now_utc()));
        Ok((order, region))
    }

    /// A graceful press for the other Region, carried to its end (the lease,
    /// the drain, the promotion): returns when writes can open there.
    pub async fn switch(&self) -> Result<Region, String> {
        let to = if self.world.current().await?.active_region == self.world.primary {
            self.world.standby.clone()
        } else {
            self.world.primary.clone()
        };
        self.world.planned_move(&to, None).await?;
        Ok(to)
    }

    /// A new streaming copy of the writer in the other Region.
    pub async fn reprotect(&self) -> Result<(), String> {
        self.world.ask_reprotect().await
    }

    /// The decision, the writes acknowledged and what the writer holds, and
    /// the `psql` command for each instance.
    pub async fn status(&self) -> Result<serde_json::Value, String> {
        let decision = self.world.current().await?;
        let writer = decision
            .data
            .writer
            .as_ref()
            .map_or(WRITER.to_owned(), |w| w.id.clone());
        let rows = self.world.pg.orders(&writer).await.unwrap_or_default();
        let acked: Vec<i64> = self
            .world
            .acked
            .borrow()
            .iter()
            .map(|(o, _, _)| *o)
            .collect();
        let missing = acked
            .iter()
            .filter(|o| rows.binary_search(o).is_err())
            .count();
        let instances: Vec<serde_json::Value> = self
            .world
            .pg
            .instances()
            .into_iter()
            .map(|(id, region, port)| {
                serde_json::json!({
                    "id": id,
                    "region": region.as_str(),
                    "psql": format!("psql -h 127.0.0.1 -p {port} -U postgres -d postgres -c 'SELECT count(*), max(id) FROM orders'"),
                    "port": port,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "epoch": decision.epoch,
            "active_region": decision.active_region.as_str(),
            "writer": writer,
            "writes_open": decision.epoch == 0 || decision.data.writes_open,
            "protected": decision.data.protected,
            "acknowledged": acked.len(),
            "rows_on_writer": rows.len(),
            "missing": missing,
            "instances": instances,
        }))
    }

    /// The timeline from entry `from` on.
    pub fn timeline_from(&self, from: usize) -> Vec<Line> {
        self.world
            .timeline
            .borrow()
            .iter()
            .skip(from)
            .cloned()
            .collect()
    }
}
