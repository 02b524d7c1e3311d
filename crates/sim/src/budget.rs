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
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            alarm_period_s: model::ALARM_PERIOD_S,
            evaluation_periods: model::ALARM_EVALUATION_PERIODS,
            dns_ttl_s: model::DNS_TTL_S,
            health_check_interval_s: model::HEALTH_CHECK_INTERVAL_S,
            failure_threshold: i64::from(model::HEALTH_CHECK_FAILURE_THRESHOLD),
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

/// Writes move when the database has: alarm → promoter → RDS → rewriter.
pub fn data_tier(p: &Parameters, db: &str) -> Budget {
    let (name, range, why) = match db {
        "aurora-global" => (
            "Aurora global switchover (failover with data loss is shorter)",
            model::GLOBAL_SWITCHOVER_S,
            "about a minute or two",
        ),
        _ => (
            "RDS read replica promotion",
            model::PROMOTION_S,
            "\"a few minutes\"",
        ),
    };
    budget(
        "database writer",
        vec![
            press(),
            Stage {
                stage: "the STOP alarm fires and SNS invokes the promoter",
                best_s: *model::ALARM_EVALUATION_DELAY_S.start(),
                worst_s: p.alarm_period_s * p.evaluation_periods
                    + model::ALARM_EVALUATION_DELAY_S.end()
                    + 1,
                why: "the same alarm evaluation as the traffic switch",
            },
            Stage {
                stage: name,
                best_s: *range.start(),
                worst_s: *range.end(),
                why,
            },
            Stage {
                stage: "RDS event → SNS → the secret rewriter",
                best_s: 0,
                worst_s: 2,
                why: "an event subscription, delivered in about a second",
            },
        ],
    )
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
