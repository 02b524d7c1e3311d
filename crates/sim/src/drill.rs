//! Runs one scenario: the real handlers of the four functions against the
//! simulated world, driven by an event queue on the virtual clock, then checks
//! the invariants of docs/design.md and measures read and write RTO and RPO.

use std::collections::{BTreeMap, HashMap};

use failover_trigger::App as TriggerApp;
use lambda_http::http::{Method, Request as HttpRequest};
use lambda_http::{Body, Request};
use replica_promoter::App as PromoterApp;
use secret_rewriter::App as RewriterApp;
use serde::Serialize;
use serde_json::{Value, json};
use stop_core::Config;
use stop_core::config::Region;
use stop_core::decision::{Decision, Mode, StepState};
use stop_core::operator::Direction;
use stop_core::ports::{
    AlarmState, ControlState, GlobalClusterStatus, GroupCapacity, ReplicaStatus, Sensitive,
};
use stop_core::promoter::Verdict;
use stop_core::switches::RetryPolicy;
use time::{Duration, OffsetDateTime};

use crate::events::{self, ACCOUNT};
use crate::model;
use crate::ports::*;
use crate::scenario::{Action, Db, Path, Scenario, Side};
use crate::topology::{Guard, Topology};
use crate::world::{EndpointHealth, Entry, Sim, SimClock, SimInstance, SimSecret, World};

pub const PRIMARY: &str = "us-east-1";
pub const STANDBY: &str = "us-west-2";
const SERVICE: &str = "orders";
const ALARM: &str = "orders-stop-failover";
const PRIMARY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/sim/routingcontrol/primary";
const STANDBY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/sim/routingcontrol/standby";
/// The primary Region's first: a dark primary takes its endpoint with it.
const ARC_REGIONS: [&str; model::ARC_ENDPOINTS] = [
    PRIMARY,
    STANDBY,
    "eu-west-1",
    "ap-southeast-2",
    "ap-northeast-1",
];
const SECRET_ID: &str = "orders/db";
/// In the secret, never to be seen in a log, a timeline or an answer.
pub const DB_PASSWORD: &str = "sim-password-must-never-be-printed";
const CLIENTS: usize = 6;
const CLIENT_EVERY_MS: i64 = 2_000;

/// One invariant or expectation, checked after the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    pub step: String,
    pub state: StepState,
    pub duration_ms: Option<i128>,
}

/// What a scenario did, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: u8,
    pub scenario: &'static str,
    pub summary: &'static str,
    pub seed: u64,
    pub passed: bool,
    /// From the decision that set the final state to the moment the last
    /// client got its first answer from the target Region (and kept getting them).
    pub rto_ms: Option<i64>,
    /// From the fault (the primary going dark) to the same moment.
    pub outage_ms: Option<i64>,
    /// Writes a writer acknowledged that no later writer ever got.
    pub rpo_writes: Option<u32>,
    /// The span of those writes: from the last safe moment (the replication
    /// cut less the lag) to the last write lost.
    pub rpo_ms: Option<i64>,
    /// From the decision to the first write the new writer acknowledged.
    pub write_rto_ms: Option<i64>,
    /// Writes the fence refused during the move (503, retried by clients).
    pub writes_fenced: u32,
    pub client_errors: u32,
    pub writes_refused: u32,
    pub api_calls: u32,
    pub calls_to_primary: u32,
    pub final_region: String,
    pub epoch: u64,
    pub steps: Vec<StepSummary>,
    pub checks: Vec<Check>,
    pub timeline: Vec<Entry>,
}

type Trigger = TriggerApp<SimDecisionStore, SimStopSwitch, SimRoutingControls, SimClock>;
type Promoter = PromoterApp<SimDecisionStore, SimDatabase, SimCapacity, SimStopSwitch, SimClock>;
type Rewriter = RewriterApp<SimDecisionStore, SimDatabase, SimSecrets, SimClock>;
type Info = region_info::App<SimSecrets, SimDecisionStore, SimClock>;

#[derive(Debug)]
enum Ev {
    Action(usize),
    Client(usize),
    AlarmEvaluation,
    HealthCheck,
    StandbyHealthCheck,
    Canary,
    Promoter {
        message: String,
        sent: OffsetDateTime,
        attempt: usize,
    },
    Rewriter(Value),
    RewriterSchedule,
    PromoterSchedule,
}

#[derive(Debug, Default, Clone)]
struct Client {
    resolved: Option<(Side, OffsetDateTime)>,
    /// The start of the current unbroken run of answers from the target.
    on_target_since: Option<OffsetDateTime>,
}

/// The standby stack's configuration for a scenario, as the template sets it.
pub fn standby_config(scenario: &Scenario) -> Result<Config, String> {
    let mut vars: HashMap<&str, String> = [
        ("SERVICE_NAME", SERVICE),
        ("AWS_REGION", STANDBY),
        ("ROLE", "SECONDARY"),
        ("PEER_REGION", PRIMARY),
        ("STOP_METRIC_NAMESPACE", "StopPattern"),
        ("STOP_METRIC_NAME", "FailoverToSecondary"),
        ("STOP_ALARM_NAME", ALARM),
        ("ASG_NAME", "orders-web"),
        ("ASG_MIN", "2"),
        ("ASG_DESIRED", "4"),
        ("ASG_MAX", "8"),
        ("DB_SECRET_ID", SECRET_ID),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    vars.insert("COOLDOWN_SECONDS", scenario.cooldown_s.to_string());
    vars.insert("AUTO_FAILOVER", scenario.auto_failover.to_string());
    if scenario.path == Path::ArcOnly {
        for var in [
            "STOP_METRIC_NAMESPACE",
            "STOP_METRIC_NAME",
            "STOP_ALARM_NAME",
        ] {
            vars.remove(var);
        }
        // The promoter still has an alarm name to answer to; none will come.
        vars.insert("PROMOTER_ALARM_NAME", ALARM.to_owned());
    }
    if scenario.path.has_arc() {
        let endpoints: Vec<String> = ARC_REGIONS
            .iter()
            .map(|r| format!("{r}=https://arc.{r}.sim/v1"))
            .collect();
        vars.insert("ARC_CLUSTER_ENDPOINTS", endpoints.join(","));
        vars.insert("ARC_PRIMARY_CONTROL_ARN", PRIMARY_CTL.to_owned());
        vars.insert("ARC_STANDBY_CONTROL_ARN", STANDBY_CTL.to_owned());
    }
    match scenario.db {
        Db::None => {
            vars.remove("DB_SECRET_ID");
        }
        Db::RdsReplica => {
            vars.insert("DB_KIND", "rds-replica".into());
            vars.insert("DB_REPLICA_ID", "orders-replica".into());
        }
        Db::AuroraGlobal => {
            vars.insert("DB_KIND", "aurora-global".into());
            vars.insert("DB_GLOBAL_CLUSTER_ID", "orders-global".into());
            vars.insert("DB_CLUSTER_ID", "orders-west".into());
        }
    }
    Config::from_lookup(|k| vars.get(k).cloned()).map_err(|e| e.to_string())
}

fn region_info_config(region: &str, role: &str, peer: &str) -> Result<Config, String> {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("SERVICE_NAME", SERVICE),
        ("AWS_REGION", region),
        ("ROLE", role),
        ("PEER_REGION", peer),
    ]);
    Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned())).map_err(|e| e.to_string())
}

fn cluster_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:cluster:{id}")
}

/// The world a scenario starts from: primary active, replica replicating,
/// standby group small, secret pointing at the primary's writer.
fn initial_world(scenario: &Scenario, seed: u64, primary: &Region, standby: &Region) -> World {
    let mut w = World::new(seed, primary.clone(), standby.clone());
    w.controls.insert(PRIMARY_CTL.into(), ControlState::On);
    w.controls.insert(STANDBY_CTL.into(), ControlState::Off);
    for region in ARC_REGIONS {
        let url = format!("https://arc.{region}.sim/v1");
        let parsed = region.parse().unwrap_or_else(|_| standby.clone());
        w.arc_endpoints.insert(url, (parsed, EndpointHealth::Up));
    }
    w.groups.insert(
        "orders-web".into(),
        GroupCapacity {
            min: 1,
            desired: 1,
            max: 2,
        },
    );
    let start = w.now;
    w.instances_ready_at.push(start);
    let lag_range = if scenario.db == Db::AuroraGlobal {
        model::GLOBAL_LAG_S
    } else {
        model::REPLICA_LAG_S
    };
    w.replication_lag = w.draw_s(lag_range);
    let lag_s = u32::try_from(w.replication_lag.whole_seconds()).unwrap_or(0);
    w.instances.insert(
        "orders-primary".into(),
        SimInstance {
            region: primary.clone(),
            status: ReplicaStatus {
                instance_id: "orders-primary".into(),
                arn: format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:orders-primary"),
                source: None,
                status: "available".into(),
                replica_lag_seconds: None,
                endpoint: Some((
                    format!("orders-primary.c0ffee.{PRIMARY}.rds.amazonaws.com"),
                    5432,
                )),
            },
            promoted_at: None,
            created_at: None,
        },
    );
    w.instances.insert(
        "orders-replica".into(),
        SimInstance {
            region: standby.clone(),
            status: ReplicaStatus {
                instance_id: "orders-replica".into(),
                arn: format!("arn:aws:rds:{STANDBY}:{ACCOUNT}:db:orders-replica"),
                source: Some(format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:orders-primary")),
                status: "available".into(),
                replica_lag_seconds: Some(lag_s),
                endpoint: Some((
                    format!("orders-replica.c0ffee.{STANDBY}.rds.amazonaws.com"),
                    5432,
                )),
            },
            promoted_at: None,
            created_at: None,
        },
    );
    w.global = Some(GlobalClusterStatus {
        global_cluster_id: "orders-global".into(),
        writer_cluster_arn: Some(cluster_arn(PRIMARY, "orders-east")),
        member_cluster_arns: vec![
            cluster_arn(PRIMARY, "orders-east"),
            cluster_arn(STANDBY, "orders-west"),
        ],
        status: "available".into(),
    });
    for (id, region) in [("orders-west", STANDBY), ("orders-east", PRIMARY)] {
        w.cluster_endpoints.insert(
            id.into(),
            (
                format!("{id}.cluster-c0ffee.{region}.rds.amazonaws.com"),
                5432,
            ),
        );
    }
    let secret = json!({
        "engine": "postgres",
        "host": format!("orders-primary.c0ffee.{PRIMARY}.rds.amazonaws.com"),
        "port": 5432,
        "username": "app",
        "password": DB_PASSWORD,
        "dbname": "orders",
    });
    w.secrets.insert(
        (standby.clone(), SECRET_ID.into()),
        SimSecret {
            versions: vec![("initial".into(), Sensitive::new(secret.to_string()))],
            replica_of: scenario.secret_replicated.then(|| PRIMARY.to_owned()),
        },
    );
    w.secrets.insert(
        (primary.clone(), SECRET_ID.into()),
        SimSecret {
            versions: vec![("initial".into(), Sensitive::new(secret.to_string()))],
            replica_of: None,
        },
    );
    w
}

/// The run of one scenario.
struct Drill<'s> {
    scenario: &'s Scenario,
    seed: u64,
    sim: Sim,
    primary: Region,
    standby: Region,
    queue: BTreeMap<(OffsetDateTime, u64), Ev>,
    seq: u64,
    end: OffsetDateTime,
    trigger: Trigger,
    promoter: Promoter,
    rewriter: Rewriter,
    info_primary: Info,
    info_standby: Info,
    clients: Vec<Client>,
    /// How the template wires the primary record's health check.
    topology: Topology,
    primary_record_healthy: bool,
    standby_failures: u32,
    canary_failures: u32,
    canary_tripped: bool,
    dark_at: Option<OffsetDateTime>,
    /// Writes the fence refused (503, retried: unavailability, not loss).
    writes_fenced: u32,
    /// Writes the fence let through that the database refused.
    writes_refused: u32,
    /// Calls to the primary Region before anything but a failover (a
    /// re-protect or a failback) may touch it.
    calls_to_primary_on_failover: Option<u32>,
    last_schedule_text: String,
    client_errors: u32,
    answers: Vec<u16>,
    decided_presses: u32,
    late_sent: bool,
    /// Everything the functions answered, to prove no secret is in it.
    outputs: Vec<String>,
}

fn text_of(body: &Body) -> String {
    match body {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

impl<'s> Drill<'s> {
    fn new(scenario: &'s Scenario, seed: u64, template: &str) -> Result<Self, String> {
        let topology = Topology::read(template, scenario.path.has_arc())?;
        let primary: Region = PRIMARY.parse::<Region>().map_err(|e| e.to_string())?;
        let standby: Region = STANDBY.parse::<Region>().map_err(|e| e.to_string())?;
        let sim = Sim::new(initial_world(scenario, seed, &primary, &standby));
        let config = standby_config(scenario)?;
        let at = |region: &Region| Bound::new(&sim, region);
        let clock = SimClock(sim.clone());
        let info = |region: &str, role: &str, peer: &str| -> Result<Info, String> {
            let config = region_info_config(region, role, peer)?;
            // The fence reads the record where it lives, in the standby.
            let fence = stop_core::fence::Fence::new(
                SimDecisionStore(at(config.standby_region())),
                clock.clone(),
                SERVICE,
                config.region.clone(),
                config.primary_region().clone(),
            );
            Ok(region_info::App {
                info: region_info::RegionInfo::from_config(&config),
                writer: None,
                fence,
            })
        };
        let start = sim.now();
        let mut drill = Drill {
            scenario,
            seed,
            trigger: TriggerApp {
                config: config.clone(),
                decisions: SimDecisionStore(at(&standby)),
                stop: SimStopSwitch(at(&standby)),
                controls: SimRoutingControls(sim.clone()),
                clock: clock.clone(),
                retry: RetryPolicy::default(),
            },
            promoter: PromoterApp {
                config: config.clone(),
                decisions: SimDecisionStore(at(&standby)),
                database: SimDatabase(at(&standby)),
                peer_database: SimDatabase(at(&primary)),
                capacity: SimCapacity(at(&standby)),
                stop: SimStopSwitch(at(&standby)),
                clock: clock.clone(),
            },
            rewriter: RewriterApp {
                config,
                decisions: SimDecisionStore(at(&standby)),
                database: SimDatabase(at(&standby)),
                secrets: SimSecrets(at(&standby)),
                peer_database: SimDatabase(at(&primary)),
                peer_secrets: SimSecrets(at(&primary)),
                clock: clock.clone(),
            },
            info_primary: info(PRIMARY, "PRIMARY", STANDBY)?,
            info_standby: info(STANDBY, "SECONDARY", PRIMARY)?,
            sim,
            primary,
            standby,
            queue: BTreeMap::new(),
            seq: 0,
            end: start + Duration::seconds(scenario.horizon_s),
            clients: vec![Client::default(); CLIENTS],
            topology,
            primary_record_healthy: true,
            standby_failures: 0,
            canary_failures: 0,
            canary_tripped: false,
            dark_at: None,
            writes_fenced: 0,
            writes_refused: 0,
            calls_to_primary_on_failover: None,
            last_schedule_text: String::new(),
            client_errors: 0,
            answers: Vec::new(),
            decided_presses: 0,
            late_sent: false,
            outputs: Vec::new(),
        };
        for (index, (at_s, _)) in scenario.script.iter().enumerate() {
            drill.schedule(start + Duration::seconds(*at_s), Ev::Action(index));
        }
        for client in 0..CLIENTS {
            let offset = CLIENT_EVERY_MS * i64::try_from(client).unwrap_or(0)
                / i64::try_from(CLIENTS).unwrap_or(1);
            drill.schedule(start + Duration::milliseconds(offset), Ev::Client(client));
            // Each client looked the name up at some point in the last TTL.
            let expires = start + drill.sim.with(|w| w.draw_s(1..=model::DNS_TTL_S));
            drill.clients[client].resolved = Some((Side::Primary, expires));
        }
        let first_evaluation = Duration::seconds(model::ALARM_PERIOD_S)
            + drill
                .sim
                .with(|w| w.draw_s(model::ALARM_EVALUATION_DELAY_S));
        drill.schedule(start + first_evaluation, Ev::AlarmEvaluation);
        drill.schedule(start + Duration::seconds(5), Ev::HealthCheck);
        drill.schedule(start + Duration::seconds(7), Ev::StandbyHealthCheck);
        drill.schedule(
            start + Duration::seconds(model::REWRITER_SCHEDULE_S),
            Ev::RewriterSchedule,
        );
        drill.schedule(
            start + Duration::seconds(model::PROMOTER_SCHEDULE_S) + Duration::milliseconds(500),
            Ev::PromoterSchedule,
        );
        if scenario.canary {
            drill.schedule(start + Duration::seconds(30), Ev::Canary);
        }
        Ok(drill)
    }

    fn schedule(&mut self, at: OffsetDateTime, event: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn now(&self) -> OffsetDateTime {
        self.sim.now()
    }

    fn log(&self, region: &str, event: impl Into<String>) {
        self.sim.log(region, event);
    }

    fn target(&self) -> Side {
        self.scenario.expect_region
    }

    async fn run(mut self) -> Report {
        self.run_until(self.end).await;
        self.report()
    }

    /// Handles every event due by `until`, then moves the clock there.
    async fn run_until(&mut self, until: OffsetDateTime) {
        while let Some(entry) = self.queue.first_entry() {
            let (at, _) = *entry.key();
            if at > until {
                break;
            }
            let event = entry.remove();
            // An event due while a handler was busy runs when it is done.
            self.sim.with(|w| w.now = w.now.max(at));
            self.settle();
            self.on(event).await;
        }
        self.sim.with(|w| w.now = w.now.max(until));
        self.settle();
    }

    /// Promotions and writer moves that finished: RDS says so through its
    /// event subscription, which SNS hands to the secret rewriter.
    fn settle(&mut self) {
        let finished = self.sim.with(World::settle);
        for id in finished {
            // RDS sends no event when a read replica's promotion completes;
            // the schedules find it. Aurora does for a global writer move.
            if id != "orders-global" {
                self.log(STANDBY, format!("RDS: {id} is a standalone DB instance"));
                continue;
            }
            let (kind, message) = ("global-cluster", "the global writer moved");
            self.log(STANDBY, format!("RDS event: {id}: {message}"));
            let body = events::rds_event(STANDBY, &id, kind, message);
            let delivery = events::sns_delivery(STANDBY, "RdsEventsTopic", &body, self.now());
            let payload = serde_json::to_value(delivery).unwrap_or(Value::Null);
            let delay = self.sim.with(|w| w.draw(model::SNS_DELAY_MS));
            self.schedule(
                self.now() + Duration::milliseconds(delay),
                Ev::Rewriter(payload),
            );
        }
    }

    async fn on(&mut self, event: Ev) {
        match event {
            Ev::Action(index) => {
                let action = self.scenario.script[index].1.clone();
                self.act(action).await;
            }
            Ev::Client(index) => {
                self.client_request(index).await;
                self.schedule(
                    self.now() + Duration::milliseconds(CLIENT_EVERY_MS),
                    Ev::Client(index),
                );
            }
            Ev::AlarmEvaluation => {
                self.evaluate_alarm();
                let next = Duration::seconds(model::ALARM_PERIOD_S);
                self.schedule(self.now() + next, Ev::AlarmEvaluation);
            }
            Ev::HealthCheck => {
                self.check_primary_record();
                let range = match self.scenario.path {
                    Path::Stop => model::METRIC_CHECK_LAG_S,
                    Path::Arc | Path::ArcOnly => model::CONTROL_CHECK_LAG_S,
                };
                let next = self.sim.with(|w| w.draw_s(range));
                self.schedule(self.now() + next, Ev::HealthCheck);
            }
            Ev::StandbyHealthCheck => {
                let dark = self.sim.with(|w| w.dark.contains(&w.standby));
                self.standby_failures = if dark { self.standby_failures + 1 } else { 0 };
                let next = Duration::seconds(model::HEALTH_CHECK_INTERVAL_S);
                self.schedule(self.now() + next, Ev::StandbyHealthCheck);
            }
            Ev::Canary => {
                self.canary().await;
                self.schedule(self.now() + Duration::seconds(60), Ev::Canary);
            }
            Ev::Promoter {
                message,
                sent,
                attempt,
            } => self.invoke_promoter(message, sent, attempt).await,
            Ev::Rewriter(payload) => self.invoke_rewriter(payload, true).await,
            Ev::RewriterSchedule => {
                let payload = json!({"detail-type": "Scheduled Event", "source": "aws.events"});
                self.invoke_rewriter(payload, false).await;
                let next = Duration::seconds(model::REWRITER_SCHEDULE_S);
                self.schedule(self.now() + next, Ev::RewriterSchedule);
            }
            Ev::PromoterSchedule => {
                self.invoke_promoter_schedule().await;
                let next = Duration::seconds(model::PROMOTER_SCHEDULE_S);
                self.schedule(self.now() + next, Ev::PromoterSchedule);
            }
        }
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Press {
                actor,
                direction,
                mode,
            } => {
                if direction == Direction::Failback {
                    self.failover_leg_over();
                }
                let request = self.press_request(actor, direction, mode);
                self.start_invocation();
                let response = failover_trigger::handle(&self.trigger, request).await;
                self.finish_press(actor, direction, response);
            }
            Action::PressTogether((a, a_dir), (b, b_dir)) => {
                let first = self.press_request(a, a_dir, Mode::Graceful);
                let second = self.press_request(b, b_dir, Mode::Graceful);
                self.start_invocation();
                let (ra, rb) = tokio::join!(
                    failover_trigger::handle(&self.trigger, first),
                    failover_trigger::handle(&self.trigger, second)
                );
                self.finish_press(a, a_dir, ra);
                self.finish_press(b, b_dir, rb);
            }
            Action::Dark(side, dark) => {
                let region = self.region(side);
                self.sim.with(|w| {
                    if dark {
                        w.dark.insert(region.clone());
                    } else {
                        w.dark.remove(&region);
                    }
                });
                if dark && side == Side::Primary {
                    self.dark_at.get_or_insert(self.now());
                }
                let what = if dark {
                    "goes dark: every call to it fails"
                } else {
                    "is back"
                };
                self.log(region.as_str(), format!("the Region {what}"));
            }
            Action::ArcEndpoints { count, health } => {
                self.sim.with(|w| {
                    for (index, (_, state)) in w.arc_endpoints.values_mut().enumerate() {
                        *state = if index < count {
                            health
                        } else {
                            EndpointHealth::Up
                        };
                    }
                });
                let text = match health {
                    EndpointHealth::Up => "every ARC endpoint answers again".to_owned(),
                    other => format!(
                        "{count} of {} ARC endpoints {other:?}",
                        model::ARC_ENDPOINTS
                    ),
                };
                self.log("global", text);
            }
            Action::Reprotect { actor } => {
                self.failover_leg_over();
                let body = json!({"reason": format!("drill: {}", self.scenario.name)});
                let request = stop_http::proxy_request(
                    "POST",
                    "/reprotect",
                    None,
                    Some("application/json"),
                    body.to_string().as_bytes(),
                    Some(actor),
                )
                .unwrap_or_default();
                self.start_invocation();
                let response = failover_trigger::handle(&self.trigger, request).await;
                let _ = self.end_invocation();
                let status = response.status().as_u16();
                self.answers.push(status);
                let body = events::body_json(response.body());
                self.outputs.push(text_of(response.body()));
                let detail = if status == 200 {
                    if body["requested"] == true {
                        "re-protect requested".to_owned()
                    } else {
                        "already protected or already requested".to_owned()
                    }
                } else {
                    body["error"]["message"].as_str().unwrap_or("").to_owned()
                };
                self.log(
                    STANDBY,
                    format!("failover-trigger ({actor} pressed re-protect): {status} {detail}"),
                );
            }
            Action::SetAlarmState => {
                // `aws cloudwatch set-alarm-state`: the state and its SNS
                // notification change; the metric's data does not, and
                // neither does Route 53, which reads the data.
                let old = self
                    .sim
                    .with(|w| std::mem::replace(&mut w.alarm, AlarmState::Alarm));
                self.log(
                    STANDBY,
                    format!("someone ran set-alarm-state on {ALARM}: ALARM by hand, no datapoint"),
                );
                self.notify_alarm(old, AlarmState::Alarm, "set by hand (SetAlarmState)");
            }
            Action::Fail(api, errors) => {
                let count = errors.len();
                let first = errors.first().map(ToString::to_string).unwrap_or_default();
                self.sim.with(|w| w.fail_next(api, errors));
                self.log(
                    "global",
                    format!("the next {count} {api} call(s) fail: {first}"),
                );
            }
        }
    }

    fn region(&self, side: Side) -> Region {
        match side {
            Side::Primary => self.primary.clone(),
            Side::Standby => self.standby.clone(),
        }
    }

    fn press_request(&self, actor: &str, direction: Direction, mode: Mode) -> Request {
        let path = match direction {
            Direction::Failover => "/failover",
            Direction::Failback => "/failback",
        };
        let mode = match mode {
            Mode::Graceful => "graceful",
            Mode::Ungraceful => "ungraceful",
        };
        let body = json!({"reason": format!("drill: {}", self.scenario.name), "mode": mode});
        stop_http::proxy_request(
            "POST",
            path,
            None,
            Some("application/json"),
            body.to_string().as_bytes(),
            Some(actor),
        )
        .unwrap_or_default()
    }

    /// Arms the invocation's Lambda timeout: past it, every call fails.
    fn start_invocation(&self) {
        self.sim.with(|w| {
            w.deadline = Some(w.now + Duration::seconds(model::TRIGGER_TIMEOUT_S));
            w.timed_out = false;
        });
    }

    /// Ends the invocation; `true` when Lambda killed it at its timeout.
    fn end_invocation(&self) -> bool {
        self.sim.with(|w| {
            let deadline = w.deadline.take();
            let timed_out = std::mem::take(&mut w.timed_out);
            // Lambda ends the function at its timeout, not when the call it
            // was stuck in would have given up.
            if let Some(deadline) = deadline.filter(|_| timed_out) {
                w.now = w.now.min(deadline);
            }
            timed_out
        })
    }

    fn finish_press(
        &mut self,
        actor: &str,
        direction: Direction,
        response: lambda_http::Response<Body>,
    ) {
        let timed_out = self.end_invocation();
        let what = format!("{direction:?}").to_lowercase();
        if timed_out {
            self.answers.push(504);
            self.log(
                STANDBY,
                format!(
                    "failover-trigger ({actor} pressed {what}): timed out after {} s; Lambda ended it mid-runbook",
                    model::TRIGGER_TIMEOUT_S
                ),
            );
            return;
        }
        let status = response.status().as_u16();
        self.answers.push(status);
        let body = events::body_json(response.body());
        self.outputs.push(text_of(response.body()));
        let detail = if status == 200 {
            if body["decided"] == true {
                self.decided_presses += 1;
            }
            format!(
                "epoch {} → {}{}{}",
                body["decision"]["epoch"],
                body["decision"]["active_region"].as_str().unwrap_or("?"),
                if body["decided"] == true {
                    ", decided"
                } else {
                    ""
                },
                if body["superseded"] == true {
                    ", superseded by a concurrent press"
                } else {
                    ""
                }
            )
        } else {
            body["error"]["message"].as_str().unwrap_or("").to_owned()
        };
        self.log(
            STANDBY,
            format!("failover-trigger ({actor} pressed {what}): {status} {detail}"),
        );
    }

    async fn client_request(&mut self, index: usize) {
        let now = self.now();
        let ttl = Duration::seconds(model::DNS_TTL_S);
        let side = match self.clients[index].resolved {
            Some((side, expires)) if expires > now => side,
            _ => {
                let side = self.dns_answer();
                self.clients[index].resolved = Some((side, now + ttl));
                side
            }
        };
        let region = self.region(side);
        let target = self.target();
        let dark = self.sim.with(|w| w.dark.contains(&region));
        let answered = if dark {
            None
        } else {
            let app = match side {
                Side::Primary => &self.info_primary,
                Side::Standby => &self.info_standby,
            };
            let request: Request = HttpRequest::builder()
                .method(Method::GET)
                .uri("/")
                .body(Body::Empty)
                .unwrap_or_default();
            let response = region_info::handle(app, request).await;
            let body = events::body_json(response.body());
            (response.status() == 200 && body["region"] == region.as_str()).then_some(side)
        };
        let client = &mut self.clients[index];
        match answered {
            Some(side) if side == target => {
                client.on_target_since.get_or_insert(now);
            }
            Some(_) => client.on_target_since = None,
            None => {
                client.on_target_since = None;
                self.client_errors += 1;
            }
        }
        if answered.is_some() {
            self.write(side, now).await;
        }
    }

    /// One write by a client to the Region that answered: through that
    /// Region's `POST /write` (the fence), then its database.
    async fn write(&mut self, side: Side, at: OffsetDateTime) {
        if self.scenario.db == Db::None {
            return;
        }
        let request = stop_http::proxy_request(
            "POST",
            "/write",
            None,
            Some("application/json"),
            br#"{"order":1}"#,
            None,
        )
        .unwrap_or_default();
        self.write_through(side, request, at).await;
    }

    /// A write request to `side`'s region-info; if the fence lets it through,
    /// that Region's database takes it (and the world records the ack) or
    /// refuses it. The answer is what the client gets.
    async fn write_through(
        &mut self,
        side: Side,
        request: Request,
        at: OffsetDateTime,
    ) -> lambda_http::Response<Body> {
        let app = match side {
            Side::Primary => &self.info_primary,
            Side::Standby => &self.info_standby,
        };
        let response = region_info::handle(app, request).await;
        if response.status() != 200 {
            self.writes_fenced += 1;
            return response;
        }
        let region = self.region(side);
        let accepted = self.sim.with(|w| match self.scenario.db {
            Db::RdsReplica => w
                .instances
                .values()
                .any(|i| i.region == region && i.writable()),
            Db::AuroraGlobal => w.global.as_ref().is_some_and(|g| {
                g.status == "available"
                    && g.writer_cluster_arn
                        .as_deref()
                        .is_some_and(|arn| arn.contains(&format!(":{region}:")))
            }),
            Db::None => false,
        });
        if accepted {
            self.sim.with(|w| w.writes.push((at, region)));
            response
        } else {
            self.writes_refused += 1;
            stop_http::error(
                lambda_http::http::StatusCode::SERVICE_UNAVAILABLE,
                "database_refused",
                format!("the database in {region} does not take writes"),
            )
        }
    }

    /// From now on a call to the primary Region is allowed: a failback or a
    /// re-protect, both made with it healthy. The failover legs before made
    /// none; remember how many they made.
    fn failover_leg_over(&mut self) {
        if self.calls_to_primary_on_failover.is_none() {
            let calls = self.sim.with(|w| w.calls_to(&w.primary));
            self.calls_to_primary_on_failover = Some(calls);
        }
    }

    /// Route 53's failover answer: the primary while its record is healthy,
    /// else the standby while its own check passes, else the primary anyway.
    fn dns_answer(&self) -> Side {
        let standby_healthy = self.standby_failures < model::HEALTH_CHECK_FAILURE_THRESHOLD;
        if self.primary_record_healthy || !standby_healthy {
            Side::Primary
        } else {
            Side::Standby
        }
    }

    fn check_primary_record(&mut self) {
        // The template's health checks: the STOP metric's (its data, not the
        // alarm's state); with ARC, a CALCULATED check over it and the primary
        // routing control's RECOVERY_CONTROL check, healthy only if both are.
        let healthy = self.sim.with(|w| {
            let metric_healthy = match w.metric_state {
                AlarmState::Alarm => false,
                AlarmState::Ok => true,
                // InsufficientDataHealthStatus: LastKnownStatus.
                AlarmState::InsufficientData => self.primary_record_healthy,
            };
            let control_healthy = w.controls.get(PRIMARY_CTL) == Some(&ControlState::On);
            self.topology
                .primary_guards
                .iter()
                .all(|guard| match guard {
                    Guard::StopMetric => metric_healthy,
                    Guard::RoutingControl => control_healthy,
                })
        });
        if healthy != self.primary_record_healthy {
            self.primary_record_healthy = healthy;
            let (status, answer) = if healthy {
                ("healthy", PRIMARY)
            } else {
                ("unhealthy", STANDBY)
            };
            let kind = match self.topology.primary_guards.as_slice() {
                [Guard::StopMetric] => "CLOUDWATCH_METRIC",
                [Guard::RoutingControl] => "RECOVERY_CONTROL",
                _ => "CALCULATED (STOP metric and routing control)",
            };
            self.log(
                "global",
                format!(
                    "Route 53: the primary record's {kind} health check is {status}; new answers point to {answer} (TTL {} s)",
                    model::DNS_TTL_S
                ),
            );
        }
    }

    /// The STOP alarm: Maximum over the last period ≥ 1 is ALARM, < 1 OK, no
    /// data keeps the state (`TreatMissingData: ignore`).
    fn evaluate_alarm(&mut self) {
        let now = self.now();
        let window = Duration::seconds(model::ALARM_PERIOD_S * model::ALARM_EVALUATION_PERIODS);
        let (old, new) = self.sim.with(|w| {
            let max = w
                .stop_metric
                .iter()
                .filter(|(t, _)| *t > now - window - Duration::seconds(20) && *t <= now)
                .map(|(_, v)| *v)
                .reduce(f64::max);
            // The data decides; a state set by hand lasts until now.
            let old = w.alarm;
            let new = match max {
                Some(v) if v >= 1.0 => AlarmState::Alarm,
                Some(_) => AlarmState::Ok,
                None => w.metric_state,
            };
            w.metric_state = new;
            w.alarm = new;
            (old, new)
        });
        if old == new {
            return;
        }
        let reason = format!(
            "Threshold Crossed: 1 out of the last 1 datapoints was {} the threshold (1.0)",
            if new == AlarmState::Alarm {
                "greater than or equal to"
            } else {
                "less than"
            }
        );
        self.notify_alarm(old, new, &reason);
    }

    /// CloudWatch's alarm action: the state change, published to SNS, which
    /// delivers it to the promoter (at least once, per the scenario's quirks).
    fn notify_alarm(&mut self, old: AlarmState, new: AlarmState, reason: &str) {
        let now = self.now();
        let name = |s: AlarmState| match s {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        };
        self.log(
            STANDBY,
            format!("CloudWatch: alarm {ALARM} {} → {}", name(old), name(new)),
        );
        let message = events::alarm_message(STANDBY, ALARM, name(old), name(new), reason, now);
        let delay = self.sim.with(|w| w.draw(model::SNS_DELAY_MS));
        let first = now + Duration::milliseconds(delay);
        self.schedule(
            first,
            Ev::Promoter {
                message: message.clone(),
                sent: now,
                attempt: 0,
            },
        );
        for after in self.scenario.sns.duplicates_after_s {
            self.schedule(
                first + Duration::seconds(*after),
                Ev::Promoter {
                    message: message.clone(),
                    sent: now,
                    attempt: 0,
                },
            );
        }
        if let Some(late) = self.scenario.sns.late_by_s
            && new == AlarmState::Alarm
            && !self.late_sent
        {
            self.late_sent = true;
            self.schedule(
                now + Duration::seconds(late),
                Ev::Promoter {
                    message,
                    sent: now,
                    attempt: 0,
                },
            );
        }
    }

    /// The detector: probes the primary's `/health` from the standby Region and
    /// publishes STOP = 1 after three failures in a row.
    async fn canary(&mut self) {
        let dark = self.sim.with(|w| w.dark.contains(&w.primary));
        self.canary_failures = if dark { self.canary_failures + 1 } else { 0 };
        if self.canary_failures < model::HEALTH_CHECK_FAILURE_THRESHOLD || self.canary_tripped {
            return;
        }
        self.canary_tripped = true;
        self.log(
            STANDBY,
            format!(
                "canary: {} failed probes of {PRIMARY}/health in a row; publishing STOP = 1",
                self.canary_failures
            ),
        );
        if let Some(switch) = self
            .trigger
            .config
            .service(SERVICE)
            .and_then(|s| s.stop_metric.clone())
        {
            use stop_core::ports::StopSwitch;
            if let Err(error) = self.trigger.stop.publish(&switch, SERVICE, 1.0).await {
                self.log(STANDBY, format!("canary: publishing failed: {error}"));
            }
        }
    }

    async fn invoke_promoter(&mut self, message: String, sent: OffsetDateTime, attempt: usize) {
        let event = events::sns_delivery(STANDBY, "StopAlarmTopic", &message, sent);
        self.start_invocation();
        let result = self.promoter.handle(event, ACCOUNT).await;
        let timed_out = self.end_invocation();
        let text = if timed_out {
            "timed out".to_owned()
        } else {
            self.promoter_text(&result)
        };
        let retry = timed_out || result.is_err();
        let text = match model::LAMBDA_ASYNC_RETRY_S.get(attempt) {
            Some(after) if retry => {
                let at = self.now() + Duration::seconds(*after);
                self.schedule(
                    at,
                    Ev::Promoter {
                        message,
                        sent,
                        attempt: attempt + 1,
                    },
                );
                format!("{text}; Lambda retries in {after} s")
            }
            _ => text,
        };
        let attempt_note = if attempt > 0 {
            format!(" (retry {attempt})")
        } else {
            String::new()
        };
        self.log(STANDBY, format!("replica-promoter{attempt_note}: {text}"));
    }

    /// A promoter invocation's outcome as a timeline line; its answer is kept
    /// for the secrets check.
    fn promoter_text(
        &mut self,
        result: &Result<replica_promoter::Report, stop_core::promoter::PromoteError>,
    ) -> String {
        match result {
            Ok(report) => {
                self.outputs
                    .push(serde_json::to_string(report).unwrap_or_default());
                report
                    .verdicts
                    .iter()
                    .map(verdict_text)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            Err(error) => format!("error: {error}"),
        }
    }

    /// The promoter's one-minute schedule; logged when it says something new.
    async fn invoke_promoter_schedule(&mut self) {
        self.start_invocation();
        let result = self
            .promoter
            .invoke(replica_promoter::Invocation::Schedule, ACCOUNT)
            .await;
        let _ = self.end_invocation();
        let text = self.promoter_text(&result);
        let quiet = matches!(&result, Ok(r) if r.verdicts.iter().all(|v| match v {
            Verdict::Ignored { .. } => true,
            Verdict::Reconciled { steps, .. } => steps.is_empty(),
        }));
        if !quiet && text != self.last_schedule_text {
            self.log(STANDBY, format!("replica-promoter (schedule): {text}"));
            self.last_schedule_text = text;
        }
    }

    async fn invoke_rewriter(&mut self, payload: Value, always_log: bool) {
        if self.scenario.db == Db::None {
            return;
        }
        let result = self.rewriter.handle(&payload).await;
        let (quiet, text) = match &result {
            Ok(report) => {
                let value = serde_json::to_value(report).unwrap_or(Value::Null);
                self.outputs.push(value.to_string());
                let outcome = value["rewrite"]["outcome"].as_str().unwrap_or("ignored");
                let text = match outcome {
                    "rewritten" => format!(
                        "secret now points at {}{}",
                        value["rewrite"]["host"].as_str().unwrap_or("?"),
                        if value["rewrite"]["stopped_replication"] == true {
                            " (replication to the replica secret stopped first)"
                        } else {
                            ""
                        }
                    ),
                    "already" => "secret already points at the writer".to_owned(),
                    "waiting" => format!(
                        "waiting: {}",
                        value["rewrite"]["reason"].as_str().unwrap_or("")
                    ),
                    _ => format!("ignored: {}", value["reason"].as_str().unwrap_or("")),
                };
                (outcome != "rewritten", text)
            }
            Err(error) => (false, format!("error: {error}")),
        };
        if always_log || !quiet {
            self.log(STANDBY, format!("secret-rewriter: {text}"));
        }
    }

    fn report(self) -> Report {
        let target = self.region(self.target());
        let (world_timeline, facts) = self.sim.with(|w| {
            let mut timeline = w.timeline.clone();
            timeline.sort_by_key(|e| e.at_ms);
            (timeline, WorldFacts::read(w, &self))
        });
        let decision = facts.decision.clone();
        let decided_at = decision.as_ref().map(|d| d.decided_at);
        let on_target: Option<OffsetDateTime> = self
            .clients
            .iter()
            .map(|c| c.on_target_since)
            .collect::<Option<Vec<_>>>()
            .and_then(|times| times.into_iter().max());
        let ms = |from: OffsetDateTime, to: OffsetDateTime| {
            i64::try_from((to - from).whole_milliseconds().max(0)).unwrap_or(i64::MAX)
        };
        let rto_ms = match (decided_at, on_target) {
            (Some(from), Some(to)) => Some(ms(from, to)),
            _ => None,
        };
        let outage_ms = match (self.dark_at, on_target) {
            (Some(from), Some(to)) => Some(ms(from, to)),
            _ => None,
        };
        let (rpo_writes, rpo_ms) = self.rpo(&facts);
        let write_rto_ms = self.write_rto(&facts);
        let mut checks = self.checks(&facts, &world_timeline);
        let all_on_target = on_target.is_some();
        if rto_ms.is_none() && !(self.scenario.expect_epoch == 0 && all_on_target) {
            checks.push(Check {
                name: "clients moved",
                ok: false,
                detail: format!("not every client ended on {target}"),
            });
        }
        let steps = decision
            .as_ref()
            .map(|d| {
                d.steps
                    .iter()
                    .map(|s| StepSummary {
                        step: s.name.to_string(),
                        state: s.state,
                        duration_ms: s.duration_ms(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Report {
            id: self.scenario.id,
            scenario: self.scenario.name,
            summary: self.scenario.summary,
            seed: self.seed,
            passed: checks.iter().all(|c| c.ok),
            rto_ms,
            outage_ms,
            rpo_writes,
            rpo_ms,
            write_rto_ms,
            writes_fenced: self.writes_fenced,
            client_errors: self.client_errors,
            writes_refused: self.writes_refused,
            api_calls: facts.api_calls,
            calls_to_primary: facts.calls_to_primary,
            final_region: decision
                .as_ref()
                .map(|d| d.active_region.to_string())
                .unwrap_or_else(|| PRIMARY.to_owned()),
            epoch: decision.as_ref().map_or(0, |d| d.epoch),
            steps,
            checks,
            timeline: world_timeline,
        }
    }

    /// Writes a writer acknowledged after its replication cut, less the lag,
    /// and before it became the writer again: no later writer ever got them.
    /// The count, and the span from the last safe moment to the last one lost.
    fn rpo(&self, facts: &WorldFacts) -> (Option<u32>, Option<i64>) {
        if self.scenario.db == Db::None {
            return (None, None);
        }
        let mut lost = 0_u32;
        let mut window_ms = 0_i64;
        for (index, (cut, region)) in facts.cuts.iter().enumerate() {
            let until = facts.cuts.get(index + 1).map(|(t, _)| *t);
            // A dark writer stopped replicating when it went dark.
            let cut = match self.dark_at {
                Some(dark) if region == &self.primary && dark < *cut => dark,
                _ => *cut,
            };
            let last_safe = cut - facts.lag;
            let gone: Vec<OffsetDateTime> = facts
                .writes
                .iter()
                .filter(|(t, r)| r == region && *t > last_safe && until.is_none_or(|u| *t < u))
                .map(|(t, _)| *t)
                .collect();
            lost += u32::try_from(gone.len()).unwrap_or(u32::MAX);
            if let Some(last) = gone.iter().max() {
                window_ms = window_ms
                    .max(i64::try_from((*last - last_safe).whole_milliseconds()).unwrap_or(0));
            }
        }
        (Some(lost), Some(window_ms))
    }

    /// From the decision that set the final state to the first write its
    /// writer acknowledged.
    fn write_rto(&self, facts: &WorldFacts) -> Option<i64> {
        let decision = facts.decision.as_ref()?;
        if self.scenario.db == Db::None || decision.epoch == 0 {
            return None;
        }
        let first = facts
            .writes
            .iter()
            .filter(|(t, r)| *t >= decision.decided_at && r == &decision.active_region)
            .map(|(t, _)| *t)
            .min()?;
        i64::try_from((first - decision.decided_at).whole_milliseconds()).ok()
    }

    fn checks(&self, facts: &WorldFacts, timeline: &[Entry]) -> Vec<Check> {
        let target = self.region(self.target());
        let to_standby = self.target() == Side::Standby;
        let mut checks = Vec::new();
        let mut check = |name: &'static str, ok: bool, detail: String| {
            checks.push(Check { name, ok, detail });
        };
        let decision = facts.decision.as_ref();
        check(
            "one decision, converged",
            decision.map_or(
                // Nothing decided: right only if nothing was to be.
                self.scenario.expect_epoch == 0 && target == self.primary,
                |d| d.active_region == target && d.epoch == self.scenario.expect_epoch,
            ),
            format!(
                "expected epoch {} on {target}, record says {}",
                self.scenario.expect_epoch,
                decision.map_or("nothing".to_owned(), |d| format!(
                    "epoch {} on {}",
                    d.epoch, d.active_region
                ))
            ),
        );
        check(
            "epochs only grow",
            facts.epochs_grow,
            "the current decision's epoch never went down".into(),
        );
        check(
            "no automatic failback",
            facts.failbacks_by_operators,
            "every decision for the primary was an operator's".into(),
        );
        let on_failover = self
            .calls_to_primary_on_failover
            .unwrap_or(facts.calls_to_primary);
        check(
            "nothing on the failover path calls the primary Region",
            on_failover == 0,
            format!(
                "{on_failover} calls to {PRIMARY} services before any failback or re-protect \
                 (ARC's cluster endpoints aside)"
            ),
        );
        let dns = self.dns_answer();
        check(
            "traffic on the target",
            dns == self.target(),
            format!("Route 53 answers {}", self.region(dns)),
        );
        if let Some(value) = facts.stop_value {
            let want = if to_standby { 1.0 } else { 0.0 };
            check(
                "STOP metric",
                (value - want).abs() < f64::EPSILON,
                format!("last value {value}, want {want}"),
            );
        }
        if self.scenario.path.has_arc() {
            let want = if to_standby {
                (ControlState::Off, ControlState::On)
            } else {
                (ControlState::On, ControlState::Off)
            };
            check(
                "routing controls",
                facts.controls == Some(want),
                format!("primary/standby {:?}, want {want:?}", facts.controls),
            );
        }
        if self.scenario.db != Db::None {
            self.data_checks(facts, &mut check);
        }
        if to_standby {
            check(
                "standby capacity raised and InService",
                facts.group.is_some_and(|g| g.desired >= 4 && g.max >= 8) && facts.in_service >= 4,
                format!(
                    "group {:?}, {} instances InService",
                    facts.group, facts.in_service
                ),
            );
        }
        let expected = self.scenario.expect_answers;
        check(
            "operator answers",
            self.answers == expected,
            format!("got {:?}, expected {expected:?}", self.answers),
        );
        if matches!(
            self.scenario.script.first(),
            Some((_, Action::PressTogether(..)))
        ) {
            check(
                "one press decides",
                self.decided_presses == 1,
                format!("{} presses made a new decision", self.decided_presses),
            );
        }
        let leaked = timeline.iter().any(|e| e.event.contains(DB_PASSWORD))
            || self.outputs.iter().any(|o| o.contains(DB_PASSWORD));
        check(
            "secrets stay secret",
            !leaked,
            "the database password is in no timeline line and no answer".into(),
        );
        checks
    }
}

impl Drill<'_> {
    /// The data tier's invariants (docs/design.md, "Invariants").
    fn data_checks(&self, facts: &WorldFacts, check: &mut impl FnMut(&'static str, bool, String)) {
        let target = self.region(self.target());
        let expected_moves = self.scenario.expect_writer_moves;
        check(
            "writer moves",
            facts.writer_moves == expected_moves,
            format!(
                "{} promotion(s) or global writer move(s), expected {expected_moves}",
                facts.writer_moves
            ),
        );
        if expected_moves > 0 {
            check(
                "database writer in the target Region",
                facts.writer_region.as_ref() == Some(&target),
                format!(
                    "the writer is in {:?}",
                    facts.writer_region.as_ref().map(Region::as_str)
                ),
            );
            check(
                "secret points at the new writer",
                facts
                    .secret_hosts
                    .iter()
                    .all(|h| h.contains(target.as_str())),
                format!("hosts {:?}", facts.secret_hosts),
            );
        }
        // "Never two writers": every change of the Region whose database
        // acknowledged writes is one writer move; none goes back and forth.
        let mut switches = 0;
        for pair in facts.writes.windows(2) {
            if pair[0].1 != pair[1].1 {
                switches += 1;
            }
        }
        check(
            "never two writers",
            switches <= facts.writer_moves,
            format!(
                "acknowledged writes changed Region {switches} time(s) over {} writer move(s)",
                facts.writer_moves
            ),
        );
        let (lost, _) = self.rpo(facts);
        let planned = !self
            .scenario
            .script
            .iter()
            .any(|(_, a)| matches!(a, Action::Dark(_, true)));
        if planned {
            check(
                "no acknowledged write lost (planned)",
                lost == Some(0),
                format!("{lost:?} acknowledged write(s) lost"),
            );
        }
        if expected_moves > 0 {
            check(
                "write RTO measured",
                self.write_rto(facts).is_some(),
                "the new writer acknowledged a write after the decision".into(),
            );
        }
        if let Some(protected) = self.scenario.expect_protected {
            check(
                "data tier protection",
                facts.protected == protected,
                format!("protected: {}, expected {protected}", facts.protected),
            );
        }
    }
}

fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Ignored { reason } => format!("ignored: {reason}"),
        Verdict::Reconciled {
            epoch,
            decided,
            steps,
        } => {
            let steps: Vec<String> = steps
                .iter()
                .map(|s| format!("{} {:?}: {}", s.step, s.state, s.detail))
                .collect();
            if steps.is_empty() {
                return format!("epoch {epoch}: nothing to do");
            }
            format!(
                "epoch {epoch}{}: {}",
                if *decided { " decided" } else { "" },
                steps.join("; ")
            )
        }
    }
}

/// What the checks need from the world, read once under its lock.
struct WorldFacts {
    decision: Option<Decision>,
    epochs_grow: bool,
    failbacks_by_operators: bool,
    calls_to_primary: u32,
    api_calls: u32,
    stop_value: Option<f64>,
    controls: Option<(ControlState, ControlState)>,
    writer_moves: u32,
    writer_region: Option<Region>,
    /// The host each Region's secret names, the target's last.
    secret_hosts: Vec<String>,
    group: Option<GroupCapacity>,
    in_service: usize,
    writes: Vec<(OffsetDateTime, Region)>,
    cuts: Vec<(OffsetDateTime, Region)>,
    lag: Duration,
    protected: bool,
}

impl WorldFacts {
    fn read(w: &World, drill: &Drill<'_>) -> Self {
        let history = w.parameters.get(SERVICE).cloned().unwrap_or_default();
        let mut epochs_grow = true;
        let mut last = 0;
        for end in 1..=history.len() {
            let epoch = Decision::current(&history[..end]).map_or(0, |d| d.epoch);
            epochs_grow &= epoch >= last;
            last = epoch;
        }
        let failbacks_by_operators = history
            .iter()
            .filter(|d| d.epoch > 0 && d.active_region == w.primary)
            .all(|d| d.actor.starts_with("cognito:"));
        let calls_to_primary = w.calls_to(&w.primary);
        let writer_region = match drill.scenario.db {
            // The writer the record names, if RDS agrees it takes writes.
            Db::RdsReplica => match Decision::current(&history).and_then(|d| d.data.writer.clone())
            {
                Some(writer) => w
                    .instances
                    .get(&writer.id)
                    .filter(|i| i.region == writer.region && i.writable())
                    .map(|i| i.region.clone()),
                None => Some(w.primary.clone()),
            },
            Db::AuroraGlobal => w
                .global
                .as_ref()
                .and_then(|g| g.writer_cluster_arn.as_deref())
                .and_then(|arn| arn.split(':').nth(3))
                .and_then(|r| r.parse().ok()),
            Db::None => None,
        };
        let to_standby = Decision::current(&history).is_some_and(|d| d.active_region == w.standby);
        let regions: Vec<&Region> = if to_standby {
            vec![&w.standby]
        } else {
            vec![&w.primary, &w.standby]
        };
        let secret_hosts = regions
            .into_iter()
            .map(|region| {
                w.secrets
                    .get(&(region.clone(), SECRET_ID.to_owned()))
                    .and_then(|s| s.versions.last())
                    .and_then(|(_, v)| serde_json::from_str::<Value>(v.expose()).ok())
                    .and_then(|v| v["host"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        WorldFacts {
            decision: Decision::current(&history).cloned(),
            epochs_grow,
            failbacks_by_operators,
            calls_to_primary,
            api_calls: w.total_calls(),
            stop_value: w.stop_metric.last().map(|(_, v)| *v),
            controls: match (w.controls.get(PRIMARY_CTL), w.controls.get(STANDBY_CTL)) {
                (Some(p), Some(s)) => Some((*p, *s)),
                _ => None,
            },
            writer_moves: w.writer_moves,
            writer_region,
            secret_hosts,
            group: w.groups.get("orders-web").copied(),
            in_service: w.instances_ready_at.iter().filter(|t| **t <= w.now).count(),
            writes: w.writes.clone(),
            cuts: w.cuts.clone(),
            lag: w.replication_lag,
            protected: Decision::current(&history).is_none_or(|d| d.data.protected),
        }
    }
}

/// The world running open-ended, for `stopctl local`: time moves when told,
/// the operator API and the demo endpoint answer HTTP requests.
pub struct Live {
    drill: Drill<'static>,
}

impl Live {
    /// Both switches, an RDS replica, an Auto Scaling group; no script.
    pub fn new(seed: u64, cooldown_s: u32) -> Result<Self, String> {
        let scenario = Scenario {
            id: 0,
            name: "local",
            summary: "the world, live",
            path: Path::Arc,
            db: Db::RdsReplica,
            auto_failover: false,
            canary: false,
            secret_replicated: false,
            cooldown_s,
            sns: Default::default(),
            script: Vec::new(),
            horizon_s: i64::from(u32::MAX),
            expect_region: Side::Standby,
            expect_epoch: 1,
            expect_answers: &[],
            expect_writer_moves: 0,
            expect_protected: None,
        };
        let scenario: &'static Scenario = Box::leak(Box::new(scenario));
        Ok(Live {
            drill: Drill::new(scenario, seed, crate::topology::TEMPLATE)?,
        })
    }

    pub fn now(&self) -> OffsetDateTime {
        self.drill.now()
    }

    /// Moves the virtual clock on by `by`, running everything due.
    pub async fn advance(&mut self, by: Duration) {
        let until = self.drill.now() + by;
        self.drill.run_until(until).await;
    }

    /// Timeline lines from the `from`-th on.
    pub fn timeline_from(&self, from: usize) -> Vec<Entry> {
        self.drill.sim.with(|w| {
            w.timeline
                .get(from..)
                .map(<[Entry]>::to_vec)
                .unwrap_or_default()
        })
    }

    /// One request to the operator API, as a Lambda invocation with its timeout.
    pub async fn operator_api(&mut self, request: Request) -> lambda_http::Response<Body> {
        self.drill.start_invocation();
        let response = failover_trigger::handle(&self.drill.trigger, request).await;
        if self.drill.end_invocation() {
            return stop_http::error(
                lambda_http::http::StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the function timed out",
            );
        }
        response
    }

    /// One request to the failover name: Route 53's answer decides which
    /// Region's `region-info` serves it.
    pub async fn demo_api(&mut self, request: Request) -> lambda_http::Response<Body> {
        let side = self.drill.dns_answer();
        let region = self.drill.region(side);
        if self.drill.sim.with(|w| w.dark.contains(&region)) {
            return stop_http::error(
                lambda_http::http::StatusCode::SERVICE_UNAVAILABLE,
                "region_dark",
                format!("{region} does not answer"),
            );
        }
        if request.method() == Method::POST && stop_http::route_path(&request) == "/write" {
            let now = self.drill.now();
            return self.drill.write_through(side, request, now).await;
        }
        let app = match side {
            Side::Primary => &self.drill.info_primary,
            Side::Standby => &self.drill.info_standby,
        };
        region_info::handle(app, request).await
    }

    /// Acknowledged writes by Region so far, and how many of them no later
    /// writer has (the RPO, as the drill counts it).
    pub fn writes(&self) -> (Vec<(String, usize)>, Option<u32>) {
        let facts = self.drill.sim.with(|w| WorldFacts::read(w, &self.drill));
        let mut by_region: BTreeMap<String, usize> = BTreeMap::new();
        for (_, region) in &facts.writes {
            *by_region.entry(region.to_string()).or_default() += 1;
        }
        (by_region.into_iter().collect(), self.drill.rpo(&facts).0)
    }

    /// Turns a Region dark or back.
    pub async fn set_dark(&mut self, primary: bool, dark: bool) {
        let side = if primary {
            Side::Primary
        } else {
            Side::Standby
        };
        self.drill.act(Action::Dark(side, dark)).await;
    }
}

/// Runs one scenario with `seed`. The same seed gives the same report.
pub async fn run(scenario: &Scenario, seed: u64) -> Result<Report, String> {
    run_with_template(scenario, seed, crate::topology::TEMPLATE).await
}

/// Runs one scenario in a world wired by `template` instead of the deployed one.
pub async fn run_with_template(
    scenario: &Scenario,
    seed: u64,
    template: &str,
) -> Result<Report, String> {
    Ok(Drill::new(scenario, seed, template)?.run().await)
}

/// Runs scenarios one after another on a current-thread runtime.
pub fn run_all(scenarios: &[Scenario], seed: u64) -> Result<Vec<Report>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    scenarios
        .iter()
        .map(|s| runtime.block_on(run(s, seed)))
        .collect()
}
