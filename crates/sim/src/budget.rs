//! The modeled RTO budget: each stage of a failover with its best and worst
//! case, from the template's parameters and the figures in [`crate::model`].
//! `stopctl plan` prints it; the drill's measured RTOs must fall inside it.

use serde::Serialize;

use crate::model;

/// The parameters that shape the budget; defaults are the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Parameters {
    pub alarm_period_s: i64,
    pub evaluation_periods: i64,
    pub dns_ttl_s: i64,
    pub health_check_interval_s: i64,
    pub failure_threshold: i64,
    /// The detector's `ProbeIntervalSeconds` and `ProbeFailures`.
    pub probe_interval_s: i64,
    pub probe_failures: i64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            alarm_period_s: model::ALARM_PERIOD_S,
            evaluation_periods: model::ALARM_EVALUATION_PERIODS,
            dns_ttl_s: model::DNS_TTL_S,
            health_check_interval_s: model::HEALTH_CHECK_INTERVAL_S,
            failure_threshold: i64::from(model::HEALTH_CHECK_FAILURE_THRESHOLD),
            probe_interval_s: model::DETECTOR_INTERVAL_S,
            probe_failures: i64::from(stop_core::detector::Settings::default().failures),
        }
    }
}

/// One stage, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub stage: &'static str,
    pub best_s: i64,
    pub worst_s: i64,
    pub why: &'static str,
}

/// The stages of one path and their sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub path: &'static str,
    pub stages: Vec<Stage>,
    pub best_s: i64,
    pub worst_s: i64,
}

fn budget(path: &'static str, stages: Vec<Stage>) -> Budget {
    Budget {
        path,
        best_s: stages.iter().map(|s| s.best_s).sum(),
        worst_s: stages.iter().map(|s| s.worst_s).sum(),
        stages,
    }
}

fn press() -> Stage {
    Stage {
        stage: "press → decision recorded, switch written",
        best_s: 0,
        worst_s: 1,
        why: "a few standby-Region API calls",
    }
}

fn clients(p: &Parameters) -> Stage {
    Stage {
        stage: "clients' cached DNS answers expire",
        best_s: 0,
        worst_s: p.dns_ttl_s,
        why: "the failover record's TTL",
    }
}

/// Traffic moves on the STOP path: metric → alarm → health check → DNS.
pub fn stop_path(p: &Parameters) -> Budget {
    let (delay_lo, delay_hi) = (
        *model::ALARM_EVALUATION_DELAY_S.start(),
        *model::ALARM_EVALUATION_DELAY_S.end(),
    );
    let (check_lo, check_hi) = (
        *model::METRIC_CHECK_LAG_S.start(),
        *model::METRIC_CHECK_LAG_S.end(),
    );
    budget(
        "STOP metric",
        vec![
            press(),
            Stage {
                stage: "the STOP alarm evaluates the datapoint",
                best_s: delay_lo,
                worst_s: p.alarm_period_s * p.evaluation_periods + delay_hi,
                why: "once per period, after the period ends",
            },
            Stage {
                stage: "Route 53 reads the alarm (CLOUDWATCH_METRIC check)",
                best_s: check_lo,
                worst_s: check_hi,
                why: "the health checker's own cadence",
            },
            clients(p),
        ],
    )
}

/// Traffic moves on the ARC path: routing controls → health check → DNS.
pub fn arc_path(p: &Parameters) -> Budget {
    budget(
        "ARC routing controls",
        vec![
            Stage {
                stage: "press → decision recorded, controls updated",
                best_s: 0,
                worst_s: 20,
                why: "up to 3 rounds over 5 endpoints with backoff when endpoints fail",
            },
            Stage {
                stage: "Route 53 follows the control (RECOVERY_CONTROL check)",
                best_s: *model::CONTROL_CHECK_LAG_S.start(),
                worst_s: *model::CONTROL_CHECK_LAG_S.end(),
                why: "ARC's data plane propagates within seconds",
            },
            clients(p),
        ],
    )
}

/// Detection: from the primary going dark to the detector's decision (then
/// the STOP path moves traffic). Probes every interval; the primary is down
/// after `failures` misses in a row from every vantage point of the quorum.
pub fn detection(p: &Parameters) -> Budget {
    let (interval_s, failures) = (p.probe_interval_s, p.probe_failures);
    budget(
        "detection (AutoFailover, the detector)",
        vec![
            Stage {
                stage: "the primary's probes fail, ProbeFailures in a row from the standby and the witness",
                best_s: (failures - 1) * interval_s,
                worst_s: failures * interval_s,
                why: "the first miss lands up to an interval after the dark",
            },
            Stage {
                stage: "decide (actor detector) and publish STOP = 1",
                best_s: 0,
                worst_s: 1,
                why: "a few standby-Region API calls",
            },
        ],
    )
}

/// A planned move's write unavailability: from the decision (the fence
/// closes) to the fence opening for the new writer. Reads keep working.
pub fn data_tier(_p: &Parameters, db: &str) -> Budget {
    let aurora = db == "aurora-global";
    let (event_lo, event_hi) = (
        model::RECORD_EVENT_DELAY_MS.start() / 1000,
        (model::RECORD_EVENT_DELAY_MS.end() + 999) / 1000,
    );
    let mut stages = vec![
        press(),
        Stage {
            stage: "the promoter wakes: the record's write, as EventBridge's Parameter Store Change",
            best_s: event_lo,
            worst_s: event_hi,
            why: "no schedule on the way (the one-minute schedule is the safety net for a lost event)",
        },
        Stage {
            stage: "the lease: every fence lease that could open the old writer runs out",
            best_s: lease_wait_s(),
            worst_s: lease_wait_s(),
            why: "commit + L (10 s) + 1 % drift + 1 s clock offset",
        },
    ];
    if aurora {
        stages.push(Stage {
            stage: "Aurora global switchover (it drains replication itself)",
            best_s: *model::GLOBAL_SWITCHOVER_S.start(),
            worst_s: *model::GLOBAL_SWITCHOVER_S.end(),
            why: "about a minute or two",
        });
        stages.push(Stage {
            stage: "RDS event → SNS → the secret rewriter; the fence opens",
            best_s: 0,
            worst_s: 2,
            why: "the global cluster's switchover-finished event",
        });
    } else {
        stages.push(Stage {
            stage: "drain: the copy replays the read-only writer's position",
            best_s: 0,
            worst_s: *model::REPLICA_LAG_S.end(),
            why: "within the replication lag, read every second in the same run",
        });
        stages.push(Stage {
            stage: "RDS read replica promotion",
            best_s: *model::PROMOTION_S.start(),
            worst_s: *model::PROMOTION_S.end(),
            why: "\"a few minutes\"",
        });
        stages.push(Stage {
            stage: "the promoter's follow-up run sees the promotion end and records it",
            best_s: 0,
            worst_s: stop_core::promoter::FOLLOW_UP_EVERY.whole_seconds(),
            why: "RDS sends no promotion-complete event; the invocation reads the instance every 3 s",
        });
        stages.push(Stage {
            stage: "that write reaches the rewriter, which repoints the secret; the fence opens",
            best_s: event_lo,
            worst_s: event_hi + 1,
            why: "EventBridge's Parameter Store Change, then a few Secrets Manager calls",
        });
    }
    stages.push(Stage {
        stage: "clients' fences see it open",
        best_s: 0,
        worst_s: default_timing().refresh_after().whole_seconds(),
        why: "a lease is renewed every L/2",
    });
    budget("writes (a planned move)", stages)
}

/// The fence's timing with the template's default lease.
fn default_timing() -> stop_core::fence::Timing {
    stop_core::fence::Timing {
        lease: time::Duration::seconds(i64::from(stop_core::fence::DEFAULT_LEASE_SECONDS)),
    }
}

/// Commit to the replication cut, whole seconds rounded up.
fn lease_wait_s() -> i64 {
    let wait = default_timing().cut_wait();
    (wait.whole_milliseconds() as i64 + 999) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_defaults_give_minutes_not_quarter_hours() {
        let p = Parameters::default();
        let stop = stop_path(&p);
        assert_eq!(stop.worst_s, 1 + 80 + 30 + 60);
        let arc = arc_path(&p);
        assert!(arc.worst_s < stop.worst_s);
        let db = data_tier(&p, "rds-replica");
        assert!(db.worst_s < 15 * 60, "seed 002's target is 15 minutes");
    }
}
