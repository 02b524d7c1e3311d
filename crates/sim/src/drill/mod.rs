//! Runs one scenario: the real handlers of the four functions against the
//! simulated world, driven by an event queue on the virtual clock, then checks
//! the invariants of docs/design.md and measures read and write RTO and RPO.
//!
//! This file holds the run itself (the event loop and the scripted actions);
//! [`setup`] the world and the configuration a scenario starts from,
//! [`clients`] the clients' reads and writes, [`aws`] AWS's behaviour around
//! the functions and their invocations, [`checks`] the measures and the
//! invariants, [`live`] the open-ended world of `stopctl local`.

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
use stop_core::fence::Fenced;

mod aws;
mod checks;
mod clients;
mod live;
mod setup;

use checks::WorldFacts;
pub use live::Live;
pub use setup::standby_config;
use setup::{initial_world, region_info_config};

pub const PRIMARY: &str = "us-east-1";
pub const STANDBY: &str = "us-west-2";
const SERVICE: &str = "orders";
/// Where Route 53's metrics are, whatever the pair's Regions.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html>
const ROUTE53_METRICS_REGION: &str = "us-east-1";
/// The standby stack's `StandbyHealthCheck`, as `!Ref` gives it.
const STANDBY_HEALTH_CHECK_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
/// Where readiness probes the standby's own API (the template's STANDBY_PROBE_URL).
const STANDBY_PROBE_URL: &str = "https://standby.execute-api.example/prod/health";
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
    /// The final decision's promotion (or Aurora global writer move), from
    /// its start to the record saying it is done: what a planned write RTO
    /// is measured against.
    pub promotion_ms: Option<i64>,
    /// The fence's lease L, in seconds.
    pub lease_s: u32,
    /// The longest stretch in which no write was acknowledged anywhere
    /// (write unavailability, whatever caused it).
    pub longest_write_gap_ms: Option<i64>,
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

/// The decision record in the standby, kept in step with the fence record's
/// copies, as every decider writes it.
type Decisions = Fenced<SimDecisionStore, SimStateStore, SimClock>;
type Trigger = TriggerApp<Decisions, SimStopSwitch, SimRoutingControls, SimClock, SimStateStore>;
type Promoter =
    PromoterApp<Decisions, SimDatabase, SimCapacity, SimStopSwitch, SimClock, SimReplication>;
type Rewriter = RewriterApp<Decisions, SimDatabase, SimSecrets, SimClock>;
type Info = region_info::App<SimFenceCopy, SimClock>;

/// `region-info` sandboxes per Region: each client is served by one of them,
/// so a cold start or a lease is per sandbox, as in Lambda.
const SANDBOXES: usize = 3;

/// How a scenario's run may be broken on purpose, to prove that the checks
/// catch what the fence's lease prevents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sabotage {
    /// The old fence: a read that fails answers with the deployed record.
    pub fence_fails_open: bool,
    /// No drain: the copy answers the writer's position as replayed at once,
    /// whatever it has applied.
    pub drain_bypassed: bool,
    /// No follow-up runs: an invocation runs once, and the end of a
    /// promotion waits for a schedule.
    pub no_follow_up: bool,
}

#[derive(Debug)]
enum Ev {
    Action(usize),
    Client(usize),
    AlarmEvaluation,
    HealthCheck,
    StandbyHealthCheck,
    Detector,
    HeartbeatAlarm,
    Readiness,
    Promoter {
        message: String,
        sent: OffsetDateTime,
        attempt: usize,
    },
    Rewriter(Value),
    RewriterSchedule,
    PromoterSchedule,
    /// EventBridge delivers SSM's `Parameter Store Change` for the record.
    RecordChanged,
    /// A promoter invocation runs again while its promotion is under way,
    /// until its Lambda deadline.
    PromoterFollowUp {
        deadline: OffsetDateTime,
        epoch: Option<u64>,
    },
    /// The trigger's minute: it republishes the STOP metric.
    TriggerSchedule,
}

/// How a client finds its Region.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    /// Resolves the failover name again once the TTL has passed.
    #[default]
    Dns,
    /// Ignores the TTL and keeps its connection: resolves again only after
    /// a connection fails.
    Sticky,
    /// Runs in the primary Region and calls its regional endpoint.
    InRegion,
}

#[derive(Debug, Default, Clone)]
struct Client {
    kind: ClientKind,
    resolved: Option<(Side, OffsetDateTime)>,
    /// The start of the current unbroken run of answers from the target.
    on_target_since: Option<OffsetDateTime>,
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
    info_primary: Vec<Info>,
    info_standby: Vec<Info>,
    sabotage: Sabotage,
    /// Whether each Region's fence (primary, standby) last let a write
    /// through, for the timeline.
    fence_open: [[Option<bool>; SANDBOXES]; 2],
    clients: Vec<Client>,
    /// How the template wires the primary record's health check.
    topology: Topology,
    primary_record_healthy: bool,
    standby_failures: u32,
    /// The standby's detector function does not run.
    detector_down: bool,
    /// When the detector's heartbeat alarm went to ALARM, if it is there.
    heartbeat_alarm_at: Option<OffsetDateTime>,
    heartbeat_alarm_fired: bool,
    /// The kind of the detector's last assessment, so the timeline says changes only.
    last_detector_kind: String,
    /// The checks readiness last found failing, and when each first failed.
    readiness_failing: Vec<String>,
    findings_first_failed: BTreeMap<String, OffsetDateTime>,
    /// The first press, for "readiness told before anyone pressed".
    first_press_at: Option<OffsetDateTime>,
    dark_at: Option<OffsetDateTime>,
    /// When the primary was first cut off from the other Regions.
    isolated_at: Option<OffsetDateTime>,
    /// Writes the fence refused (503, retried: unavailability, not loss).
    writes_fenced: u32,
    /// The clients write nothing while this is set (`Action::WritesPaused`).
    writes_paused: bool,
    /// Writes the fence let through that the database refused.
    writes_refused: u32,
    /// Calls to the primary Region before anything but a failover (a
    /// re-protect or a failback) may touch it.
    calls_to_primary_on_failover: Option<u32>,
    last_schedule_text: String,
    /// Writes of the decision record already turned into events, and whether
    /// one is on its way (EventBridge's deliveries of one burst, coalesced).
    record_writes_seen: u64,
    record_event_pending: bool,
    /// The last republish's outcome, logged when it changes.
    last_republish: String,
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
    fn new(
        scenario: &'s Scenario,
        seed: u64,
        template: &str,
        sabotage: Sabotage,
    ) -> Result<Self, String> {
        let topology = Topology::read(template, scenario.path.has_arc())?;
        let primary: Region = PRIMARY.parse::<Region>().map_err(|e| e.to_string())?;
        let standby: Region = STANDBY.parse::<Region>().map_err(|e| e.to_string())?;
        let sim = Sim::new(initial_world(scenario, seed, &primary, &standby));
        let config = standby_config(scenario)?;
        let at = |region: &Region| Bound::new(&sim, region);
        let clock = SimClock(sim.clone());
        let decisions = || {
            let stores = stop_core::fence::Quorum::of(&config)
                .copies()
                .into_iter()
                .map(|region| (region.clone(), SimStateStore(at(&region))))
                .collect();
            let copies = stop_core::fence::Copies::new(&config, stores);
            Fenced {
                decisions: SimDecisionStore(at(&standby)),
                copies,
                clock: clock.clone(),
            }
        };
        let start = sim.now();
        let mut drill = Drill {
            scenario,
            seed,
            trigger: TriggerApp {
                config: config.clone(),
                decisions: decisions(),
                stop: SimStopSwitch(at(&standby)),
                controls: SimRoutingControls(sim.clone()),
                clock: clock.clone(),
                retry: RetryPolicy::default(),
                state: SimStateStore(at(&standby)),
            },
            promoter: PromoterApp {
                config: config.clone(),
                decisions: decisions(),
                database: SimDatabase(at(&standby)),
                peer_database: SimDatabase(at(&primary)),
                capacity: SimCapacity(at(&standby)),
                stop: SimStopSwitch(at(&standby)),
                clock: clock.clone(),
                replication: SimReplication {
                    sim: sim.clone(),
                    claims_caught_up: sabotage.drain_bypassed,
                },
            },
            rewriter: RewriterApp {
                config: config.clone(),
                decisions: decisions(),
                database: SimDatabase(at(&standby)),
                secrets: SimSecrets(at(&standby)),
                peer_database: SimDatabase(at(&primary)),
                peer_secrets: SimSecrets(at(&primary)),
                clock: clock.clone(),
            },
            info_primary: sandboxes(&sim, scenario, Side::Primary, sabotage)?,
            info_standby: sandboxes(&sim, scenario, Side::Standby, sabotage)?,
            sabotage,
            fence_open: [[None; SANDBOXES]; 2],
            sim,
            primary,
            standby,
            queue: BTreeMap::new(),
            seq: 0,
            end: start + Duration::seconds(scenario.horizon_s),
            clients: client_kinds(scenario)
                .into_iter()
                .map(|kind| Client {
                    kind,
                    ..Client::default()
                })
                .collect(),
            topology,
            primary_record_healthy: true,
            standby_failures: 0,
            detector_down: false,
            heartbeat_alarm_at: None,
            heartbeat_alarm_fired: false,
            last_detector_kind: String::new(),
            readiness_failing: Vec::new(),
            findings_first_failed: BTreeMap::new(),
            first_press_at: None,
            dark_at: None,
            isolated_at: None,
            writes_fenced: 0,
            writes_paused: false,
            writes_refused: 0,
            calls_to_primary_on_failover: None,
            last_schedule_text: String::new(),
            record_writes_seen: 0,
            record_event_pending: false,
            last_republish: String::new(),
            client_errors: 0,
            answers: Vec::new(),
            decided_presses: 0,
            late_sent: false,
            outputs: Vec::new(),
        };
        for (index, (at_s, _)) in scenario.script.iter().enumerate() {
            drill.schedule(start + Duration::seconds(*at_s), Ev::Action(index));
        }
        let ttl_s = drill.topology.dns_ttl_s;
        let clients = drill.clients.len();
        for client in 0..clients {
            let offset = CLIENT_EVERY_MS * i64::try_from(client).unwrap_or(0)
                / i64::try_from(clients).unwrap_or(1);
            drill.schedule(start + Duration::milliseconds(offset), Ev::Client(client));
            // Each client looked the name up at some point in the last TTL.
            let expires = start + drill.sim.with(|w| w.draw_s(1..=ttl_s));
            drill.clients[client].resolved = Some((Side::Primary, expires));
        }
        let first_evaluation = Duration::seconds(drill.topology.alarm_period_s)
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
        drill.schedule(
            start + Duration::seconds(model::TRIGGER_SCHEDULE_S) + Duration::milliseconds(250),
            Ev::TriggerSchedule,
        );
        if scenario.detector {
            drill.schedule(
                start + Duration::seconds(drill.topology.probe_interval_s),
                Ev::Detector,
            );
            drill.schedule(
                start + Duration::seconds(drill.topology.heartbeat_period_s) + Duration::seconds(2),
                Ev::HeartbeatAlarm,
            );
        }
        // Readiness runs in every SECONDARY stack; its first run comes before
        // any scenario's first press.
        drill.schedule(start + Duration::seconds(30), Ev::Readiness);
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
                let next = Duration::seconds(self.topology.alarm_period_s);
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
                let healthy = self.standby_failures < self.topology.standby_failure_threshold;
                self.sim
                    .with(|w| w.standby_route53 = Some((w.now, healthy)));
                let next = Duration::seconds(self.topology.standby_check_interval_s);
                self.schedule(self.now() + next, Ev::StandbyHealthCheck);
            }
            Ev::Detector => {
                self.run_detector().await;
                let next = Duration::seconds(self.topology.probe_interval_s);
                self.schedule(self.now() + next, Ev::Detector);
            }
            Ev::HeartbeatAlarm => {
                self.evaluate_heartbeat_alarm();
                let next = Duration::seconds(self.topology.heartbeat_period_s);
                self.schedule(self.now() + next, Ev::HeartbeatAlarm);
            }
            Ev::Readiness => {
                self.run_readiness().await;
                let next = Duration::seconds(self.topology.readiness_interval_s);
                self.schedule(self.now() + next, Ev::Readiness);
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
            Ev::RecordChanged => self.on_record_changed().await,
            Ev::PromoterFollowUp { deadline, epoch } => {
                self.invoke_promoter_follow_up(deadline, epoch).await;
            }
            Ev::PromoterSchedule => {
                self.invoke_promoter_schedule().await;
                let next = Duration::seconds(model::PROMOTER_SCHEDULE_S);
                self.schedule(self.now() + next, Ev::PromoterSchedule);
            }
            Ev::TriggerSchedule => {
                self.invoke_trigger_schedule().await;
                let next = Duration::seconds(model::TRIGGER_SCHEDULE_S);
                self.schedule(self.now() + next, Ev::TriggerSchedule);
            }
        }
    }

    pub(super) async fn act(&mut self, action: Action) {
        match action {
            Action::Press {
                actor,
                direction,
                mode,
            } => {
                if direction == Direction::Failback {
                    self.failover_leg_over();
                }
                self.first_press_at.get_or_insert(self.now());
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
                self.sim.with(|w| member(&mut w.dark, &region, dark));
                if dark && side == Side::Primary {
                    self.dark_at.get_or_insert(self.now());
                }
                let what = if dark {
                    "goes dark: every call to it fails"
                } else {
                    "is back"
                };
                self.log(region.as_str(), format!("the Region {what}"));
                if !dark {
                    self.recover(side);
                }
            }
            Action::Isolate(side, isolated) => {
                let region = self.region(side);
                self.sim
                    .with(|w| member(&mut w.isolated, &region, isolated));
                if isolated && side == Side::Primary {
                    self.isolated_at.get_or_insert(self.now());
                }
                let what = if isolated {
                    "is cut off from the other Regions; its own clients and in-Region writers still reach it"
                } else {
                    "reaches the other Regions again"
                };
                self.log(region.as_str(), format!("the Region {what}"));
            }
            Action::ThrottleFenceReads { from, for_s } => {
                let region = self.region(from);
                let until = self.now() + Duration::seconds(for_s);
                self.sim.with(|w| {
                    w.caller_faults.push(crate::world::CallerFault {
                        caller: region.clone(),
                        api: "ssm.GetParameter",
                        until,
                        error: stop_core::ports::PortError::Throttled(
                            "ThrottlingException: Rate exceeded".into(),
                        ),
                    });
                });
                self.log(
                    region.as_str(),
                    format!("every ssm.GetParameter call from {region} is throttled for {for_s} s"),
                );
            }
            Action::ColdStart(side) => self.cold_start(side),
            Action::WitnessDark(dark) => {
                self.sim.with(|w| {
                    let witness = w.witness.clone();
                    member(&mut w.dark, &witness, dark);
                });
                let what = if dark {
                    "goes dark: every call to it fails"
                } else {
                    "is back"
                };
                self.log(model::WITNESS_REGION, format!("the witness Region {what}"));
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
            Action::DetectorDown(down) => {
                self.detector_down = down;
                self.log(
                    STANDBY,
                    if down {
                        "the detector function stops running (its schedule no longer invokes it)"
                    } else {
                        "the detector function runs again"
                    },
                );
            }
            Action::WritesPaused(paused) => {
                self.writes_paused = paused;
                self.log(
                    PRIMARY,
                    if paused {
                        "the clients stop writing (reads go on)"
                    } else {
                        "the clients write again"
                    }
                    .to_owned(),
                );
            }
            Action::ReplicaLag(seconds) => {
                self.sim
                    .with(|w| w.replication_lag = Duration::seconds(seconds));
                self.log(
                    PRIMARY,
                    format!("the replica falls {seconds} s behind its source"),
                );
            }
            Action::FloodPrimaryHealth(on) => {
                self.sim.with(|w| w.primary_health_flooded = on);
                let what = if on {
                    "someone floods the primary's /health: every probe gets 429"
                } else {
                    "the flood of the primary's /health stops"
                };
                self.log(PRIMARY, what.to_owned());
            }
            Action::StandbyCutOff(cut) => {
                self.sim.with(|w| w.standby_cut_off = cut);
                let what = if cut {
                    "loses its route to the primary (the witness still reaches it)"
                } else {
                    "reaches the primary again"
                };
                self.log(STANDBY, format!("the standby's network {what}"));
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

    /// Every `region-info` sandbox of a Region starts again, with no lease.
    fn cold_start(&mut self, side: Side) {
        let fresh = sandboxes(&self.sim, self.scenario, side, self.sabotage).unwrap_or_default();
        if fresh.is_empty() {
            return;
        }
        match side {
            Side::Primary => self.info_primary = fresh,
            Side::Standby => self.info_standby = fresh,
        }
        self.fence_open[usize::from(side == Side::Standby)] = [None; SANDBOXES];
        let region = self.region(side);
        self.log(
            region.as_str(),
            format!(
                "every region-info sandbox in {region} starts cold: no lease until a quorum read"
            ),
        );
    }

    /// A Region back from dark: every sandbox is new, and its first calls
    /// out fail while its network settles.
    fn recover(&mut self, side: Side) {
        self.cold_start(side);
        let region = self.region(side);
        let until = self.now() + Duration::seconds(model::RECOVERY_SETTLE_S);
        self.sim.with(|w| {
            w.caller_faults.push(crate::world::CallerFault {
                caller: region.clone(),
                api: "ssm.GetParameter",
                until,
                error: stop_core::ports::PortError::Unavailable(
                    "connect timeout: the Region's network is still settling".into(),
                ),
            });
        });
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

    /// Arms the operator API's Lambda timeout: past it, every call fails.
    fn start_invocation(&self) {
        self.start_invocation_for(model::TRIGGER_TIMEOUT_S);
    }

    /// Arms a function's Lambda timeout of `timeout_s`.
    fn start_invocation_for(&self, timeout_s: i64) {
        let deadline = self.now() + Duration::seconds(timeout_s);
        self.start_invocation_until(deadline);
    }

    /// Arms an invocation's deadline (a follow-up run keeps its first's).
    fn start_invocation_until(&self, deadline: OffsetDateTime) {
        self.sim.with(|w| {
            w.deadline = Some(deadline);
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

    /// From now on a call to the primary Region is allowed: a failback or a
    /// re-protect, both made with it healthy. The failover legs before made
    /// none; remember how many they made.
    fn failover_leg_over(&mut self) {
        if self.calls_to_primary_on_failover.is_none() {
            let calls = self.sim.with(|w| w.calls_to(&w.primary));
            self.calls_to_primary_on_failover = Some(calls);
        }
    }
}

/// Puts `region` in `set` or takes it out.
fn member(set: &mut std::collections::HashSet<Region>, region: &Region, on: bool) {
    if on {
        set.insert(region.clone());
    } else {
        set.remove(region);
    }
}

/// The `region-info` sandboxes of one Region, each with a fence of its own
/// and no lease yet (cold).
fn sandboxes(
    sim: &Sim,
    scenario: &Scenario,
    side: Side,
    sabotage: Sabotage,
) -> Result<Vec<Info>, String> {
    let (region, role, peer) = match side {
        Side::Primary => (PRIMARY, "PRIMARY", STANDBY),
        Side::Standby => (STANDBY, "SECONDARY", PRIMARY),
    };
    let config = region_info_config(scenario, region, role, peer)?;
    let deployed = sabotage.fence_fails_open.then(|| {
        stop_core::fence::FenceRecord::initial(SERVICE, config.primary_region()).to_text()
    });
    let sandbox = || {
        let stores = stop_core::fence::Quorum::of(&config)
            .copies()
            .into_iter()
            .map(|copy| {
                let store = SimStateStore(Bound::from(sim, &config.region, &copy));
                let fail_open_with = deployed.clone();
                (
                    copy,
                    SimFenceCopy {
                        store,
                        fail_open_with,
                    },
                )
            })
            .collect();
        let copies = stop_core::fence::Copies::new(&config, stores);
        region_info::App {
            info: region_info::RegionInfo::from_config(&config),
            fence: stop_core::fence::Fence::new(&config, copies, SimClock(sim.clone())),
        }
    };
    Ok((0..SANDBOXES).map(|_| sandbox()).collect())
}

/// The clients of a scenario: six that follow DNS, then its sticky ones,
/// then its in-Region writers.
fn client_kinds(scenario: &Scenario) -> Vec<ClientKind> {
    std::iter::repeat_n(ClientKind::Dns, CLIENTS)
        .chain(std::iter::repeat_n(
            ClientKind::Sticky,
            scenario.sticky_clients,
        ))
        .chain(std::iter::repeat_n(
            ClientKind::InRegion,
            scenario.in_region_writers,
        ))
        .collect()
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
    Ok(Drill::new(scenario, seed, template, Sabotage::default())?
        .run()
        .await)
}

/// Runs one scenario with a safety mechanism taken out: its checks must fail.
pub async fn run_sabotaged(
    scenario: &Scenario,
    seed: u64,
    sabotage: Sabotage,
) -> Result<Report, String> {
    Ok(
        Drill::new(scenario, seed, crate::topology::TEMPLATE, sabotage)?
            .run()
            .await,
    )
}

/// Every failed check of `reports`, one line each: seed, scenario, check, detail.
pub fn failures(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .flat_map(|r| {
            r.checks.iter().filter(|c| !c.ok).map(move |c| {
                format!(
                    "seed {} #{} {}: {}: {}",
                    r.seed, r.id, r.scenario, c.name, c.detail
                )
            })
        })
        .collect()
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
