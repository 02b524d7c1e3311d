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
    /// The standby's detector function stops (or starts again) running: a
    /// bad deploy, a throttled schedule.
    DetectorDown(bool),
    /// The read replica falls this many seconds behind its source.
    ReplicaLag(i64),
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
}

const OPERATOR: &str = "alice";

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
    }
}

/// The whole library, in order.
pub fn library() -> Vec<Scenario> {
    use Direction::{Failback, Failover};
    let unavailable = || PortError::Unavailable("InternalFailure (HTTP 500)".into());
    vec![
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
                Action::PressTogether(("alice", Failover), ("bob", Failover)),
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
    .collect()
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
