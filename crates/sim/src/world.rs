//! The shared state of both Regions, one virtual clock and one seeded RNG.
//! Ports and the drill lock it briefly and never across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use stop_core::config::Region;
use stop_core::decision::Decision;
use stop_core::ports::{
    AlarmState, Clock, ControlState, Datum, GlobalClusterStatus, GroupCapacity, PortError,
    PortResult, ReplicaStatus, Sensitive,
};
use time::{Duration, OffsetDateTime};

use crate::model;

/// One line of a scenario's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Milliseconds since the scenario started.
    pub at_ms: i64,
    /// The Region it happened in, or `global` (Route 53, clients).
    pub region: String,
    pub event: String,
}

/// How an ARC cluster endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointHealth {
    Up,
    /// Connection refused after the connect timeout.
    Down,
    /// Accepts the connection and never answers: the attempt timeout.
    Hanging,
}

/// An RDS instance in one Region.
#[derive(Debug, Clone)]
pub struct SimInstance {
    pub region: Region,
    pub status: ReplicaStatus,
    /// When a promotion under way completes.
    pub promoted_at: Option<OffsetDateTime>,
    /// When a replica being created becomes available.
    pub created_at: Option<OffsetDateTime>,
    /// The database-level fence: `default_transaction_read_only` on and the
    /// sessions ended, so the instance refuses writes.
    pub read_only: bool,
}

impl SimInstance {
    /// Takes writes: a standalone instance that is up and not fenced.
    pub fn writable(&self) -> bool {
        self.status.source.is_none() && self.promoted_at.is_none() && !self.read_only
    }
}

#[derive(Debug, Clone)]
pub struct SimSecret {
    /// (ClientRequestToken, value), oldest first; the last is `AWSCURRENT`,
    /// the one before it `AWSPREVIOUS`.
    pub versions: Vec<(String, Sensitive)>,
    pub replica_of: Option<String>,
}

/// An Aurora global database's writer move under way.
#[derive(Debug, Clone)]
pub struct WriterMove {
    pub target_arn: String,
    pub done_at: OffsetDateTime,
    pub data_loss: bool,
}

/// A fault that hits one caller's calls of one API for a while.
#[derive(Debug, Clone)]
pub struct CallerFault {
    pub caller: Region,
    pub api: &'static str,
    pub until: OffsetDateTime,
    pub error: PortError,
}

/// Everything both Regions hold.
#[derive(Debug)]
pub struct World {
    pub start: OffsetDateTime,
    pub now: OffsetDateTime,
    rng: ChaCha8Rng,
    pub primary: Region,
    pub standby: Region,
    pub dark: HashSet<Region>,
    /// The standby Region's network cannot reach the primary's endpoints
    /// (everything else still works): its detector probes fail.
    pub standby_cut_off: bool,
    /// Someone floods the primary's `/health`: API Gateway answers every probe
    /// with 429 (no evidence either way).
    pub primary_health_flooded: bool,
    /// Route 53's view of the standby's health check (its checkers' status),
    /// as CloudWatch holds it in us-east-1: the newest minute, if any.
    pub standby_route53: Option<(OffsetDateTime, bool)>,
    /// The third Region: the detector's second vantage point and the fence
    /// record's third copy.
    pub witness: Region,
    /// Regions cut off from every other Region, their own clients and
    /// in-Region callers still reaching them: a call between an isolated
    /// Region and another fails, a call inside one works.
    pub isolated: HashSet<Region>,
    /// Faults keyed by caller: calls of `api` made from `caller` fail with
    /// `error` until `until` (a fence's reads throttled, a recovering
    /// Region's first calls failing while its network settles).
    pub caller_faults: Vec<CallerFault>,
    /// The running invocation is killed at this time (its Lambda timeout).
    pub deadline: Option<OffsetDateTime>,
    pub timed_out: bool,
    /// Errors the next calls of an API get, e.g. `"rds.PromoteReadReplica"`.
    pub faults: HashMap<&'static str, VecDeque<PortError>>,
    /// Per call, `"<region> <api>"` → count.
    pub calls: BTreeMap<String, u32>,
    pub timeline: Vec<Entry>,

    pub parameters: HashMap<String, Vec<Decision>>,
    /// Writes of the decision record so far: each is a `Parameter Store
    /// Change` event for the template's `RecordChanged` rules.
    pub record_writes: u64,
    /// Other SSM parameters (the detector's state, readiness's report), by Region and name.
    pub texts: HashMap<(Region, String), String>,
    /// Every datapoint the detector and readiness published: when, where, what.
    pub metric_data: Vec<(OffsetDateTime, Region, Datum)>,
    /// The STOP metric in the standby Region: (time, value).
    pub stop_metric: Vec<(OffsetDateTime, f64)>,
    /// The STOP alarm's state, as `DescribeAlarms` shows it (SetAlarmState
    /// changes it until the next evaluation).
    pub alarm: AlarmState,
    /// The state the metric's own data gives: what a `CLOUDWATCH_METRIC`
    /// health check follows, never changed by SetAlarmState.
    /// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html#health-checks-creating-values-cloudwatch>
    pub metric_state: AlarmState,
    pub controls: BTreeMap<String, ControlState>,
    pub arc_endpoints: BTreeMap<String, (Region, EndpointHealth)>,
    pub instances: HashMap<String, SimInstance>,
    pub global: Option<GlobalClusterStatus>,
    pub writer_move: Option<WriterMove>,
    pub cluster_endpoints: HashMap<String, (String, u16)>,
    pub groups: HashMap<String, GroupCapacity>,
    /// Instances of the standby group: when each is InService.
    pub instances_ready_at: Vec<OffsetDateTime>,
    pub secrets: HashMap<(Region, String), SimSecret>,
    /// How far a copy of the data trails its writer.
    pub replication_lag: Duration,
    /// Every write a database acknowledged: when, and in which Region.
    pub writes: Vec<(OffsetDateTime, Region)>,
    /// Every replication cut: a promotion or a failover with data loss
    /// started, leaving the writer in that Region behind. Its writes acked
    /// after the cut minus the lag never reach the new writer.
    pub cuts: Vec<(OffsetDateTime, Region)>,
    /// An Aurora cluster left behind by a failover with data loss, and when
    /// it is back in the global database as a secondary.
    pub rejoining: Option<(String, Option<OffsetDateTime>)>,
    /// Writer moves started: promotions and Aurora global switchovers / failovers.
    pub writer_moves: u32,
    /// Every promotion or global writer move as RDS runs it: from the call
    /// to the writer taking writes (what a planned write RTO is set beside).
    pub promotions: Vec<(OffsetDateTime, OffsetDateTime)>,
    /// SQL sent to the primary Region's instances while the current decision
    /// was ungraceful: never allowed (the primary may be gone).
    pub ungraceful_sql_to_primary: u32,
    /// How many of the standby group's instances the timeline last said were InService.
    pub in_service_reported: usize,
}

impl World {
    pub fn new(seed: u64, primary: Region, standby: Region) -> Self {
        let start = time::macros::datetime!(2026-11-22 03:00:00 UTC);
        let witness = model::WITNESS_REGION
            .parse()
            .unwrap_or_else(|_| standby.clone());
        World {
            start,
            now: start,
            rng: ChaCha8Rng::seed_from_u64(seed),
            primary,
            standby,
            dark: HashSet::new(),
            standby_cut_off: false,
            primary_health_flooded: false,
            standby_route53: None,
            witness,
            isolated: HashSet::new(),
            caller_faults: Vec::new(),
            deadline: None,
            timed_out: false,
            faults: HashMap::new(),
            calls: BTreeMap::new(),
            timeline: Vec::new(),
            parameters: HashMap::new(),
            record_writes: 0,
            texts: HashMap::new(),
            metric_data: Vec::new(),
            stop_metric: Vec::new(),
            alarm: AlarmState::Ok,
            metric_state: AlarmState::Ok,
            controls: BTreeMap::new(),
            arc_endpoints: BTreeMap::new(),
            instances: HashMap::new(),
            global: None,
            writer_move: None,
            cluster_endpoints: HashMap::new(),
            groups: HashMap::new(),
            instances_ready_at: Vec::new(),
            secrets: HashMap::new(),
            replication_lag: Duration::ZERO,
            writes: Vec::new(),
            cuts: Vec::new(),
            rejoining: None,
            writer_moves: 0,
            promotions: Vec::new(),
            ungraceful_sql_to_primary: 0,
            in_service_reported: 1,
        }
    }

    /// A draw from `range`, the same for the same seed and history.
    pub fn draw(&mut self, range: RangeInclusive<i64>) -> i64 {
        let (lo, hi) = (*range.start(), *range.end());
        let span = u64::try_from(hi - lo + 1).unwrap_or(1);
        lo + i64::try_from(self.rng.next_u64() % span).unwrap_or(0)
    }

    pub fn draw_s(&mut self, range: RangeInclusive<i64>) -> Duration {
        Duration::seconds(self.draw(range))
    }

    pub fn elapsed_ms(&self) -> i64 {
        i64::try_from((self.now - self.start).whole_milliseconds()).unwrap_or(i64::MAX)
    }

    pub fn log(&mut self, region: &str, event: impl Into<String>) {
        let at_ms = self.elapsed_ms();
        self.timeline.push(Entry {
            at_ms,
            region: region.to_owned(),
            event: event.into(),
        });
    }

    pub fn fail_next(&mut self, api: &'static str, errors: impl IntoIterator<Item = PortError>) {
        self.faults.entry(api).or_default().extend(errors);
    }

    /// Lets one API call in, or says why it fails: the invocation's deadline,
    /// a dark Region, a scripted fault. Moves the clock by the call's latency.
    /// The caller is the control plane in the standby Region.
    pub fn admit(&mut self, region: &Region, api: &'static str) -> PortResult<()> {
        let standby = self.standby.clone();
        self.enter(&standby, region, api, format!("{region} {api}"))
    }

    /// [`World::admit`] for the data plane: a call made by `region-info` in
    /// `caller`'s Region (its fence reading a copy of the fence record).
    /// Counted apart from the control plane's calls.
    pub fn admit_from(
        &mut self,
        caller: &Region,
        region: &Region,
        api: &'static str,
    ) -> PortResult<()> {
        let key = format!("{region} from {caller} {api}");
        self.enter(caller, region, api, key)
    }

    /// Admits one call: fails across an isolated Region's edge, to a dark
    /// Region, and on a fault keyed by the caller or by the API.
    fn enter(
        &mut self,
        caller: &Region,
        region: &Region,
        api: &'static str,
        key: String,
    ) -> PortResult<()> {
        if self.timed_out || self.deadline.is_some_and(|d| self.now >= d) {
            self.timed_out = true;
            return Err(PortError::Unavailable("Task timed out".into()));
        }
        *self.calls.entry(key).or_default() += 1;
        let across_isolation =
            caller != region && (self.isolated.contains(caller) || self.isolated.contains(region));
        if self.dark.contains(region) || across_isolation {
            self.now += Duration::milliseconds(model::CONNECT_TIMEOUT_MS);
            return Err(PortError::Unavailable(format!(
                "{api}: connect timeout to {region}"
            )));
        }
        let now = self.now;
        self.caller_faults.retain(|f| f.until > now);
        if let Some(fault) = self
            .caller_faults
            .iter()
            .find(|f| &f.caller == caller && f.api == api)
        {
            let error = fault.error.clone();
            let latency = self.draw(model::API_LATENCY_MS);
            self.now += Duration::milliseconds(latency);
            return Err(error);
        }
        let latency = self.draw(model::API_LATENCY_MS);
        self.now += Duration::milliseconds(latency);
        if let Some(error) = self.faults.get_mut(api).and_then(VecDeque::pop_front) {
            return Err(error);
        }
        Ok(())
    }

    /// The number of API calls the control plane made to `region`'s
    /// services. ARC's cluster endpoints are not counted: the cluster spans
    /// five Regions, and the caller moves on from any endpoint that fails.
    /// Nor are the data plane's (the fences' reads of the fence record).
    pub fn calls_to(&self, region: &Region) -> u32 {
        let prefix = format!("{region} ");
        self.calls
            .iter()
            // A switchover is sent to the primary cluster's Region (AWS's
            // procedure); it is the graceful move's, which needs both Regions up.
            // Readiness reads Route 53's metrics where they are (us-east-1):
            // a read off the failover path, which fails harmlessly when dark.
            .filter(|(k, _)| {
                k.starts_with(&prefix)
                    && !k.contains(" arc.")
                    && !k.contains(" from ")
                    && !k.contains(" rds.SwitchoverGlobalCluster")
                    // A graceful move's drain and database-level fence on the
                    // old writer; an ungraceful one is counted apart
                    // (`ungraceful_sql_to_primary`).
                    && !k.contains(" sql.")
                    && !k.contains(" cloudwatch.GetMetricData(AWS/Route53)")
            })
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total_calls(&self) -> u32 {
        self.calls.values().sum()
    }

    /// Completes what finished by now: promotions, writer moves.
    pub fn settle(&mut self) -> Vec<String> {
        let now = self.now;
        let mut finished = Vec::new();
        let mut created = Vec::new();
        for (id, instance) in &mut self.instances {
            if instance.promoted_at.is_some_and(|t| t <= now) {
                instance.promoted_at = None;
                instance.status.status = "available".into();
                instance.status.source = None;
                instance.status.replica_lag_seconds = None;
                finished.push(id.clone());
            }
            if instance.created_at.is_some_and(|t| t <= now) {
                instance.created_at = None;
                instance.status.status = "available".into();
                created.push((instance.region.to_string(), id.clone()));
            }
        }
        created.sort();
        for (region, id) in created {
            self.log(&region, format!("RDS: read replica {id} is available"));
        }
        // After a failover with data loss, Aurora adds the old primary Region
        // back as a secondary once it is reachable again.
        // <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html>
        if let Some((arn, at)) = self.rejoining.clone() {
            let region_back = self
                .global
                .as_ref()
                .and_then(|_| arn.split(':').nth(3))
                .and_then(|r| r.parse::<Region>().ok())
                .is_some_and(|r| !self.dark.contains(&r));
            match at {
                None if region_back => {
                    let took = self.draw_s(model::GLOBAL_REJOIN_S);
                    self.rejoining = Some((arn, Some(now + took)));
                }
                Some(at) if at <= now => {
                    self.rejoining = None;
                    if let Some(global) = &mut self.global {
                        if !global.member_cluster_arns.contains(&arn) {
                            global.member_cluster_arns.push(arn.clone());
                        }
                        global.synchronized.push(arn.clone());
                    }
                    let standby = self.standby.to_string();
                    self.log(
                        &standby,
                        format!("Aurora: {arn} rejoined the global database as a secondary"),
                    );
                }
                _ => {}
            }
        }
        let failing_over = self.rejoining.is_some();
        if let Some(moving) = self.writer_move.take_if(|m| m.done_at <= now)
            && let Some(global) = &mut self.global
        {
            // After a switchover the old writer is a connected secondary at
            // once; after a failover it waits for its rejoin (pending-resync).
            if !failing_over {
                global.synchronized = global
                    .member_cluster_arns
                    .iter()
                    .filter(|m| **m != moving.target_arn)
                    .cloned()
                    .collect();
            }
            global.writer_cluster_arn = Some(moving.target_arn);
            global.status = "available".into();
            finished.push(global.global_cluster_id.clone());
        }
        finished.sort();
        let in_service = self
            .instances_ready_at
            .iter()
            .filter(|t| **t <= now)
            .count();
        if in_service != self.in_service_reported {
            self.in_service_reported = in_service;
            let of = self.instances_ready_at.len();
            let standby = self.standby.to_string();
            self.log(
                &standby,
                format!("Auto Scaling: {in_service} of {of} instances InService"),
            );
        }
        finished
    }
}

fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle on the world, cheap to clone into every port.
#[derive(Debug, Clone)]
pub struct Sim(Arc<Mutex<World>>);

impl Sim {
    pub fn new(world: World) -> Self {
        Sim(Arc::new(Mutex::new(world)))
    }
    pub fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut lock(&self.0))
    }
    pub fn now(&self) -> OffsetDateTime {
        self.with(|w| w.now)
    }
    pub fn log(&self, region: &str, event: impl Into<String>) {
        self.with(|w| w.log(region, event));
    }
}

/// The virtual clock: `sleep` moves time on at once.
#[derive(Debug, Clone)]
pub struct SimClock(pub Sim);

impl Clock for SimClock {
    fn now(&self) -> OffsetDateTime {
        self.0.now()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        let by = Duration::try_from(duration).unwrap_or(Duration::MAX);
        self.0.with(|w| w.now += by);
        tokio::task::yield_now().await;
    }
}
