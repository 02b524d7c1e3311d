//! The scenario library: what the world looks like, what happens when, and
//! where it must end up.

use stop_core::decision::Mode;
use stop_core::operator::Direction;
use stop_core::ports::PortError;

use crate::world::EndpointHealth;

/// Which switch the primary failover record's health check follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The STOP metric's alarm (`CLOUDWATCH_METRIC` health check).
    Stop,
    /// ARC routing controls (`RECOVERY_CONTROL` health check); the STOP metric
    /// is still published, for the promoter that listens to its alarm.
    Arc,
    /// ARC routing controls alone: no STOP metric at all, so only the
    /// template's routing-control wiring can move traffic.
    ArcOnly,
}

impl Path {
    pub fn has_arc(self) -> bool {
        self != Path::Stop
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    None,
    RdsReplica,
    AuroraGlobal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Primary,
    Standby,
}

/// What happens at a scripted time.
#[derive(Debug, Clone)]
pub enum Action {
    /// An operator presses the button in the console.
    Press {
        actor: &'static str,
        direction: Direction,
        mode: Mode,
    },
    /// Two operators press within the same instant.
    PressTogether((&'static str, Direction), (&'static str, Direction)),
    /// A Region goes dark (every call fails) or comes back.
    Dark(Side, bool),
    /// The first `count` ARC endpoints (the primary Region's first) go into
    /// `health`; the rest are up.
    ArcEndpoints {
        count: usize,
        health: EndpointHealth,
    },
    /// The next calls of an API fail with these errors.
    Fail(&'static str, Vec<PortError>),
    /// An operator asks for the data tier to be re-protected (`POST /reprotect`).
    Reprotect { actor: &'static str },
    /// Someone runs `aws cloudwatch set-alarm-state` on the STOP alarm: ALARM
    /// and its notification, with no datapoint behind it.
    SetAlarmState,
    /// The standby Region's network loses (or regains) the primary; the
    /// witness still reaches it.
    StandbyCutOff(bool),
    /// An anonymous flood of the primary's `/health`: every probe of it, from
    /// every vantage point, gets 429 (or stops getting it).
    FloodPrimaryHealth(bool),
    /// The standby's detector function stops (or starts again) running: a
    /// bad deploy, a throttled schedule.
    DetectorDown(bool),
    /// The read replica falls this many seconds behind its source.
    ReplicaLag(i64),
    /// The clients stop writing (reads go on), or start again.
    WritesPaused(bool),
    /// A Region is cut off from every other Region (or joins them again):
    /// its own clients and in-Region writers still reach it, it reaches
    /// nothing outside, and nothing outside reaches it (the detector's
    /// probes, replication, the fence's reads of the other copies).
    Isolate(Side, bool),
    /// Every `ssm.GetParameter` call made from a Region (its fences' reads
    /// of the fence record) is throttled for this many seconds.
    ThrottleFenceReads { from: Side, for_s: i64 },
    /// Every `region-info` sandbox in a Region starts again, cold: no lease.
    ColdStart(Side),
    /// The witness Region goes dark (every call to it fails) or comes back.
    WitnessDark(bool),
}

/// How SNS misbehaves, within its at-least-once promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnsQuirks {
    /// Extra deliveries of every message, each this many seconds after the first.
    pub duplicates_after_s: &'static [i64],
    /// One more delivery of the first ALARM notification, this late.
    pub late_by_s: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: u8,
    pub name: &'static str,
    pub summary: &'static str,
    pub path: Path,
    pub db: Db,
    pub auto_failover: bool,
    /// The detector (`stop_core::detector`) probing the primary from the
    /// standby and a witness Region every 30 s; it decides on a quorum.
    pub detector: bool,
    pub secret_replicated: bool,
    pub cooldown_s: u32,
    pub sns: SnsQuirks,
    pub script: Vec<(i64, Action)>,
    pub horizon_s: i64,
    /// Where traffic and the decision must end.
    pub expect_region: Side,
    pub expect_epoch: u64,
    /// The HTTP status of each press, in order (504: the function timed out).
    pub expect_answers: &'static [u16],
    /// Promotions and global writer moves the data tier must have made.
    pub expect_writer_moves: u32,
    /// Whether the data tier must end protected (a cross-Region copy).
    pub expect_protected: Option<bool>,
    /// Readiness checks that must have failed, each before any press.
    pub expect_findings: &'static [&'static str],
    /// The detector's heartbeat alarm must have fired.
    pub expect_heartbeat_alarm: bool,
    /// The failover's group sizes (`ASG_MIN`/`DESIRED`/`MAX`), when not the template's example.
    pub failover_capacity: Option<(u32, u32, u32)>,
    /// A witness Region (`WITNESS_REGION`): the fence record's third copy,
    /// and the detector's second vantage point when there is a detector.
    pub witness: bool,
    /// `FENCE_POLICY` when there is no witness: `standby` or `available`.
    pub fence_policy: Option<&'static str>,
    /// Clients that ignore the TTL and keep their connection: they resolve
    /// the name once and stay on that Region while it answers at all.
    pub sticky_clients: usize,
    /// In-Region workers of the primary (queue consumers, cron jobs): they
    /// call the primary's regional endpoint, whatever DNS says.
    pub in_region_writers: usize,
    /// From `.0` to `.1` seconds the primary must keep acknowledging writes
    /// (no gap longer than the lease): a standby outage must not stop it.
    pub expect_primary_writing: Option<(i64, i64)>,
}

const OPERATOR: &str = "alice@example.com";

fn press(direction: Direction, mode: Mode) -> Action {
    Action::Press {
        actor: OPERATOR,
        direction,
        mode,
    }
}

fn base(id: u8, name: &'static str, summary: &'static str) -> Scenario {
    Scenario {
        id,
        name,
        summary,
        path: Path::Stop,
        db: Db::RdsReplica,
        auto_failover: false,
        detector: false,
        secret_replicated: false,
        cooldown_s: 300,
        sns: SnsQuirks::default(),
        // A planned move: the primary is up, so graceful.
        script: vec![(60, press(Direction::Failover, Mode::Graceful))],
        horizon_s: 900,
        expect_region: Side::Standby,
        expect_epoch: 1,
        expect_answers: &[200],
        expect_writer_moves: 1,
        expect_protected: None,
        expect_findings: &[],
        expect_heartbeat_alarm: false,
        failover_capacity: None,
        witness: true,
        fence_policy: None,
        sticky_clients: 0,
        in_region_writers: 0,
        expect_primary_writing: None,
    }
}

/// The whole library, in order.
pub fn library() -> Vec<Scenario> {
    use Direction::{Failback, Failover};
    let unavailable = || PortError::Unavailable("InternalFailure (HTTP 500)".into());
    let mut all: Vec<Scenario> = vec![
        Scenario {
            db: Db::AuroraGlobal,
            script: vec![(60, press(Failover, Mode::Graceful))],
            ..base(
                1,
                "planned-stop",
                "planned failover by the button, STOP path, Aurora global switchover",
            )
        },
        Scenario {
            path: Path::Arc,
            ..base(
                2,
                "planned-arc",
                "planned failover by the button, ARC path, RDS replica promoted",
            )
        },
        Scenario {
            auto_failover: true,
            detector: true,
            secret_replicated: true,
            script: vec![(60, Action::Dark(Side::Primary, true))],
            expect_answers: &[],
            ..base(
                3,
                "outage-auto",
                "the primary Region goes dark; the detector (standby and witness agree, three probes) decides and the promoter fails over on its own",
            )
        },
        Scenario {
            db: Db::None,
            script: vec![
                (60, press(Failover, Mode::Graceful)),
                (240, press(Failback, Mode::Graceful)),
                (420, press(Failback, Mode::Graceful)),
            ],
            horizon_s: 1200,
            expect_region: Side::Primary,
            expect_epoch: 2,
            expect_answers: &[200, 409, 200],
            ..base(
                4,
                "failback",
                "fail over, try to fail back inside the cooldown (refused), fail back after it",
            )
        },
        Scenario {
            sns: SnsQuirks {
                duplicates_after_s: &[20, 95],
                late_by_s: Some(960),
            },
            horizon_s: 1500,
            ..base(
                5,
                "duplicate-late-sns",
                "every alarm notification delivered three times, and once more 16 minutes late",
            )
        },
        Scenario {
            path: Path::Arc,
            script: vec![
                (
                    30,
                    Action::ArcEndpoints {
                        count: 4,
                        health: EndpointHealth::Down,
                    },
                ),
                (60, press(Failover, Mode::Graceful)),
            ],
            ..base(
                6,
                "arc-endpoints-down",
                "four of the ARC cluster's five endpoints refuse connections",
            )
        },
        Scenario {
            script: vec![
                (
                    59,
                    Action::Fail(
                        "arc.UpdateRoutingControlStates",
                        vec![PortError::Conflict("ConflictException".into()); 6],
                    ),
                ),
                (60, press(Failover, Mode::Graceful)),
            ],
            path: Path::ArcOnly,
            ..base(
                7,
                "conflict-storm",
                "ARC alone, no STOP metric: six ConflictExceptions before an update goes through",
            )
        },
        Scenario {
            path: Path::Arc,
            script: vec![
                (
                    59,
                    Action::Fail(
                        "arc.UpdateRoutingControlStates",
                        vec![PortError::Throttled("ThrottlingException".into()); 3],
                    ),
                ),
                // At the press's instant: the write fences read SSM too.
                (
                    60,
                    Action::Fail(
                        "ssm.GetParameterHistory",
                        vec![PortError::Throttled("ThrottlingException".into())],
                    ),
                ),
                (60, press(Failover, Mode::Graceful)),
                (75, press(Failover, Mode::Graceful)),
            ],
            expect_answers: &[503, 200],
            ..base(
                8,
                "throttling",
                "SSM throttles the first press (503, pressed again); ARC throttles three updates",
            )
        },
        Scenario {
            script: vec![
                (
                    59,
                    Action::Fail("rds.PromoteReadReplica", vec![unavailable()]),
                ),
                (60, press(Failover, Mode::Graceful)),
            ],
            ..base(
                9,
                "promotion-fails-once",
                "PromoteReadReplica fails once with a 500; Lambda's retry promotes",
            )
        },
        Scenario {
            path: Path::Arc,
            script: vec![
                (
                    50,
                    Action::ArcEndpoints {
                        count: 5,
                        health: EndpointHealth::Hanging,
                    },
                ),
                (60, press(Failover, Mode::Graceful)),
                (
                    150,
                    Action::ArcEndpoints {
                        count: 0,
                        health: EndpointHealth::Up,
                    },
                ),
                (180, press(Failover, Mode::Graceful)),
            ],
            expect_answers: &[502, 200],
            ..base(
                10,
                "arc-hangs-resume",
                "every ARC endpoint hangs: the press answers 502 before Lambda's timeout, nothing is promoted; pressed again, it resumes",
            )
        },
        Scenario {
            script: vec![(
                60,
                Action::PressTogether(("alice@example.com", Failover), ("bob@example.com", Failover)),
            )],
            expect_answers: &[200, 200],
            ..base(
                11,
                "two-operators",
                "two operators press Failover in the same instant",
            )
        },
        Scenario {
            db: Db::AuroraGlobal,
            secret_replicated: true,
            script: vec![
                (0, Action::Dark(Side::Primary, true)),
                (60, press(Failover, Mode::Ungraceful)),
            ],
            ..base(
                12,
                "primary-dark",
                "the primary is dark for the whole failover: Aurora failover with AllowDataLoss, replica secret made standalone",
            )
        },
    ]
    .into_iter()
    .chain(data_tier_scenarios())
    .chain(detector_scenarios())
    .chain(fence_scenarios())
    .collect();
    // In the order of their numbers, whichever group added them.
    all.sort_by_key(|s| s.id);
    all
}

/// The write fence's scenarios: faults that used to open the old writer
/// (a partition, throttled reads, cold starts, clients that ignore DNS),
/// and the Region outages a majority must ride out.
fn fence_scenarios() -> Vec<Scenario> {
    use Direction::Failover;
    vec![
        Scenario {
            sticky_clients: 1,
            script: vec![
                (
                    30,
                    Action::ThrottleFenceReads {
                        from: Side::Primary,
                        for_s: 600,
                    },
                ),
                (60, press(Failover, Mode::Graceful)),
            ],
            horizon_s: 1200,
            ..base(
                23,
                "fence-reads-throttled",
                "the primary's fence reads are throttled for 10 minutes through a planned RDS move, one client holding the old DNS answer: the primary's fence closes within L, nothing it took is lost",
            )
        },
        Scenario {
            auto_failover: true,
            detector: true,
            secret_replicated: true,
            sticky_clients: 2,
            in_region_writers: 2,
            script: vec![
                (60, Action::Isolate(Side::Primary, true)),
                (1200, Action::Isolate(Side::Primary, false)),
            ],
            horizon_s: 1500,
            expect_answers: &[],
            ..base(
                24,
                "primary-isolated",
                "the primary is cut off from the standby and the witness while its own clients and in-Region writers still reach it: its fence closes within L, the detector fails over, no write is acknowledged by the old writer after the cut",
            )
        },
        Scenario {
            sticky_clients: 3,
            in_region_writers: 1,
            script: vec![(60, press(Failover, Mode::Graceful))],
            ..base(
                25,
                "sticky-clients",
                "a planned move while three clients ignore the TTL and keep their connection, and an in-Region job writes to the primary: they get 503, never a lost write",
            )
        },
        Scenario {
            auto_failover: true,
            detector: true,
            secret_replicated: true,
            in_region_writers: 2,
            script: vec![
                (60, Action::Dark(Side::Primary, true)),
                (900, Action::Dark(Side::Primary, false)),
            ],
            horizon_s: 1500,
            expect_answers: &[],
            ..base(
                26,
                "primary-back-cold",
                "after an automatic failover the primary comes back with every sandbox cold and its first reads failing: its fence stays closed, its in-Region writers are refused",
            )
        },
        Scenario {
            script: vec![
                (30, Action::WitnessDark(true)),
                (60, Action::Dark(Side::Primary, true)),
                (120, press(Failover, Mode::Ungraceful)),
                (600, Action::WitnessDark(false)),
            ],
            horizon_s: 1500,
            ..base(
                27,
                "witness-down-outage",
                "the witness is dark when the primary goes dark: the standby alone is no majority, so the move waits (reads move, writes wait) and completes once the witness is back",
            )
        },
        Scenario {
            script: vec![
                (60, Action::Dark(Side::Standby, true)),
                (660, Action::Dark(Side::Standby, false)),
            ],
            horizon_s: 900,
            expect_region: Side::Primary,
            expect_epoch: 0,
            expect_answers: &[],
            expect_writer_moves: 0,
            expect_primary_writing: Some((60, 660)),
            ..base(
                28,
                "standby-dark",
                "the standby Region is dark for ten minutes and nothing fails over: the primary and the witness are a majority, and the primary keeps writing",
            )
        },
        Scenario {
            witness: false,
            fence_policy: Some("standby"),
            script: vec![
                (60, Action::Dark(Side::Standby, true)),
                (360, Action::Dark(Side::Standby, false)),
            ],
            horizon_s: 600,
            expect_region: Side::Primary,
            expect_epoch: 0,
            expect_answers: &[],
            expect_writer_moves: 0,
            ..base(
                29,
                "standby-dark-no-witness",
                "no witness, FencePolicy=standby: the standby dark for five minutes stops the primary's writes within L (the price of never two writers without a third Region), and they resume when it is back",
            )
        },
    ]
}

/// The data tier's own scenarios: whole cycles, the guard on failback, and
/// the alarm set by hand.
fn data_tier_scenarios() -> Vec<Scenario> {
    use Direction::{Failback, Failover};
    let reprotect = || Action::Reprotect { actor: OPERATOR };
    vec![
        Scenario {
            script: vec![
                (60, press(Failover, Mode::Graceful)),
                (720, reprotect()),
                (2700, press(Failback, Mode::Graceful)),
                (3600, reprotect()),
            ],
            horizon_s: 6000,
            expect_region: Side::Primary,
            expect_epoch: 2,
            expect_answers: &[200, 200, 200, 200],
            expect_writer_moves: 2,
            expect_protected: Some(true),
            ..base(
                13,
                "full-cycle-rds",
                "RDS replica: graceful failover, re-protect, graceful failback, re-protect; nothing lost on either leg",
            )
        },
        Scenario {
            db: Db::AuroraGlobal,
            script: vec![
                (60, press(Failover, Mode::Graceful)),
                (600, reprotect()),
                (900, press(Failback, Mode::Graceful)),
                (1500, reprotect()),
            ],
            horizon_s: 2100,
            expect_region: Side::Primary,
            expect_epoch: 2,
            expect_answers: &[200, 200, 200, 200],
            expect_writer_moves: 2,
            expect_protected: Some(true),
            ..base(
                14,
                "full-cycle-aurora",
                "Aurora global: switchover and back; the old writer stays a secondary, so each leg is protected",
            )
        },
        Scenario {
            script: vec![
                (60, press(Failover, Mode::Graceful)),
                (600, press(Failback, Mode::Graceful)),
            ],
            horizon_s: 900,
            expect_answers: &[200, 409],
            expect_protected: Some(false),
            ..base(
                15,
                "failback-unprotected",
                "failing back before the promoted writer has a copy is refused: it would orphan the writes made since",
            )
        },
        Scenario {
            auto_failover: true,
            script: vec![(60, Action::SetAlarmState)],
            expect_region: Side::Primary,
            expect_epoch: 0,
            expect_answers: &[],
            expect_writer_moves: 0,
            ..base(
                16,
                "set-alarm-state",
                "someone sets the STOP alarm to ALARM by hand with AutoFailover on: no decision, no promotion, no second writer",
            )
        },
    ]
}

/// The detector's scenarios: what must not fail over, and what must.
fn detector_scenarios() -> Vec<Scenario> {
    let quiet = |id, name, summary, script| Scenario {
        auto_failover: true,
        detector: true,
        script,
        horizon_s: 900,
        expect_region: Side::Primary,
        expect_epoch: 0,
        expect_answers: &[],
        expect_writer_moves: 0,
        ..base(id, name, summary)
    };
    let mut flapping = Vec::new();
    for cycle in 0..5 {
        flapping.push((60 + cycle * 80, Action::Dark(Side::Primary, true)));
        flapping.push((100 + cycle * 80, Action::Dark(Side::Primary, false)));
    }
    vec![
        quiet(
            17,
            "one-failed-probe",
            "the primary misses one probe (dark for 20 s): no failover",
            vec![
                (50, Action::Dark(Side::Primary, true)),
                (70, Action::Dark(Side::Primary, false)),
            ],
        ),
        quiet(
            18,
            "flapping-primary",
            "the primary is down 40 s, up 40 s, five times: never three failed probes in a row, no failover",
            flapping,
        ),
        Scenario {
            expect_findings: &["standby's path to the primary"],
            ..quiet(
                19,
                "standby-cut-off",
                "the standby cannot reach the primary but the witness can: no quorum, no failover, and readiness says why",
                vec![(60, Action::StandbyCutOff(true))],
            )
        },
        quiet(
            30,
            "health-flood",
            "anyone floods the primary's /health for ten minutes: every probe gets 429, which is no evidence; no failover",
            vec![
                (60, Action::FloodPrimaryHealth(true)),
                (660, Action::FloodPrimaryHealth(false)),
            ],
        ),
        Scenario {
            expect_findings: &["detector heartbeat"],
            expect_heartbeat_alarm: true,
            expect_region: Side::Standby,
            expect_epoch: 1,
            expect_answers: &[200],
            expect_writer_moves: 1,
            horizon_s: 1500,
            ..quiet(
                20,
                "detector-down",
                "the detector stops running, then the primary goes dark: nothing fails over on its own; the heartbeat alarm and readiness say why, and the operator presses",
                vec![
                    (45, Action::DetectorDown(true)),
                    (400, Action::Dark(Side::Primary, true)),
                    (600, press(Direction::Failover, Mode::Ungraceful)),
                ],
            )
        },
        Scenario {
            expect_findings: &["replica lag"],
            ..quiet(
                21,
                "lagging-replica",
                "the replica falls 2 min behind; readiness reports the data a failover would lose before anyone presses",
                vec![(90, Action::ReplicaLag(120))],
            )
        },
        Scenario {
            script: vec![
                (30, Action::ReplicaLag(90)),
                (60, press(Direction::Failover, Mode::Graceful)),
            ],
            ..base(
                31,
                "planned-behind",
                "the replica is 90 s behind when the operator presses a planned failover: the drain waits until the copy has replayed the fenced writer's position, then promotes; nothing lost",
            )
        },
        Scenario {
            // ReplicaLag climbs on the idle PostgreSQL source (readiness says
            // so: a false alarm of the metric's); the position says drained.
            expect_findings: &["replica lag"],
            script: vec![
                (0, Action::WritesPaused(true)),
                (660, press(Direction::Failover, Mode::Graceful)),
                (680, Action::WritesPaused(false)),
            ],
            horizon_s: 1500,
            ..base(
                32,
                "planned-idle-source",
                "no client writes for 11 minutes before a planned failover (PostgreSQL's idle ReplicaLag climbs for 5 minutes): the positions are equal, the drain ends at once",
            )
        },
        Scenario {
            expect_findings: &["standby Auto Scaling group"],
            failover_capacity: Some((2, 4, 3)),
            ..quiet(
                22,
                "group-max-too-low",
                "the failover's group size asks for 4 instances with a maximum of 3: readiness says Auto Scaling would refuse it, and how to fix it",
                vec![],
            )
        },
    ]
}

/// Scenarios by number or name; all of them for an empty selection.
pub fn select(wanted: &[String]) -> Result<Vec<Scenario>, String> {
    let all = library();
    if wanted.is_empty() {
        return Ok(all);
    }
    wanted
        .iter()
        .map(|w| {
            all.iter()
                .find(|s| s.name == w.as_str() || s.id.to_string() == *w)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<String> =
                        all.iter().map(|s| format!("{} {}", s.id, s.name)).collect();
                    format!("unknown scenario {w:?}; known: {}", names.join(", "))
                })
        })
        .collect()
}

/// A scenario no one wrote: a move (planned, or ungraceful after the primary
/// goes dark or is cut off) with fault kinds drawn from `case`: throttled
/// fence reads, cold starts, the witness dark for a while, sticky clients,
/// in-Region writers, either database. Its checks are the library's.
pub fn generated(case: u64) -> Scenario {
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};
    let mut rng = ChaCha8Rng::seed_from_u64(0x5709 ^ case);
    let mut draw = |lo: i64, hi: i64| -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1);
        lo + i64::try_from(rng.next_u64() % span).unwrap_or(0)
    };
    let db = if draw(0, 2) == 0 {
        Db::AuroraGlobal
    } else {
        Db::RdsReplica
    };
    let kind = draw(0, 2);
    let press_at = draw(60, 240);
    let mut script = Vec::new();
    let mut words = Vec::new();
    let mode = match kind {
        0 => {
            words.push("planned move".to_owned());
            Mode::Graceful
        }
        1 => {
            script.push((press_at - 60, Action::Dark(Side::Primary, true)));
            words.push("primary dark".to_owned());
            Mode::Ungraceful
        }
        _ => {
            script.push((press_at - 60, Action::Isolate(Side::Primary, true)));
            let heal = press_at + draw(300, 1200);
            script.push((heal, Action::Isolate(Side::Primary, false)));
            words.push(format!("primary isolated until {heal} s"));
            Mode::Ungraceful
        }
    };
    script.push((press_at, press(Direction::Failover, mode)));
    if draw(0, 1) == 1 {
        let at = draw(0, press_at + 120);
        let for_s = draw(30, 900);
        script.push((
            at,
            Action::ThrottleFenceReads {
                from: Side::Primary,
                for_s,
            },
        ));
        words.push(format!(
            "primary's fence reads throttled {for_s} s from {at} s"
        ));
    }
    for _ in 0..draw(0, 2) {
        let at = draw(0, 900);
        script.push((at, Action::ColdStart(Side::Primary)));
        script.push((at, Action::ColdStart(Side::Standby)));
        words.push(format!("cold starts at {at} s"));
    }
    if draw(0, 2) == 0 {
        let from = draw(0, press_at + 60);
        let to = from + draw(60, 420);
        script.push((from, Action::WitnessDark(true)));
        script.push((to, Action::WitnessDark(false)));
        words.push(format!("witness dark {from}-{to} s"));
    }
    script.sort_by_key(|(at, _)| *at);
    let sticky_clients = usize::try_from(draw(0, 3)).unwrap_or(0);
    let in_region_writers = usize::try_from(draw(0, 2)).unwrap_or(0);
    words.push(format!(
        "{sticky_clients} sticky client(s), {in_region_writers} in-Region writer(s), {db:?}"
    ));
    let summary: &'static str = Box::leak(words.join("; ").into_boxed_str());
    Scenario {
        db,
        secret_replicated: mode == Mode::Ungraceful,
        sticky_clients,
        in_region_writers,
        script,
        horizon_s: 3000,
        ..base(100, "generated", summary)
    }
}
