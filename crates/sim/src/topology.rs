//! The simulated world's wiring, read from `template.yaml` itself: which
//! health checks guard the primary failover record, so that a template that
//! would not move traffic makes the drill fail. Conditions are evaluated for
//! the PRIMARY stack, with ARC on or off as the scenario has it.

use serde_yaml_ng::Value;

/// The template the functions are deployed with, compiled in.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// A switch that can make the primary record unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// A `CLOUDWATCH_METRIC` check on the STOP alarm's data.
    StopMetric,
    /// A `RECOVERY_CONTROL` check on the primary routing control.
    RoutingControl,
}

/// What decides the primary record's health: it is healthy only while every
/// guard is (a single check, or a `CALCULATED` one that needs all its children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub primary_guards: Vec<Guard>,
    /// The STOP alarm's `Period` and `EvaluationPeriods`.
    pub alarm_period_s: i64,
    pub alarm_evaluation_periods: i64,
    /// The standby record's HTTPS check: `RequestInterval`, `FailureThreshold`.
    pub standby_check_interval_s: i64,
    pub standby_failure_threshold: u32,
    /// What a client's resolver caches the failover answer for: an alias
    /// record takes its target's TTL, 60 s for API Gateway; a plain record its own.
    /// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html>
    pub dns_ttl_s: i64,
    /// The detector's defaults: `ProbeIntervalSeconds`, `ProbeFailures`.
    pub probe_interval_s: i64,
    pub probe_failures: u32,
    /// `DetectorHeartbeatAlarm`: `Period` and `EvaluationPeriods`, missing
    /// data breaching (silence is the failure).
    pub heartbeat_period_s: i64,
    pub heartbeat_evaluation_periods: i64,
    /// Readiness runs every `ReadinessIntervalMinutes`; its lag bound is
    /// `ReadinessMaxLagSeconds`.
    pub readiness_interval_s: i64,
    pub readiness_max_lag_s: u32,
    /// `ReplicaPromoterFunction`'s `Timeout`: Lambda ends a run there.
    pub promoter_timeout_s: i64,
    /// Whether a write of the decision record starts the promoter and the
    /// rewriter: an `EventBridgeRule` event on SSM's `Parameter Store Change`
    /// for the record (their `RecordChanged` events).
    pub promoter_on_record_change: bool,
    pub rewriter_on_record_change: bool,
}

impl Topology {
    /// Reads `template` for a PRIMARY stack with ARC `arc` on or off.
    pub fn read(template: &str, arc: bool) -> Result<Self, String> {
        let doc: Value = serde_yaml_ng::from_str(template).map_err(|e| e.to_string())?;
        let resources = &doc["Resources"];
        let conditions = |name: &str| match name {
            "IsPrimary" => Some(true),
            "IsSecondary" => Some(false),
            "HasArc" => Some(arc),
            _ => None,
        };
        let record = &resources["FailoverRecord"]["Properties"]["HealthCheckId"];
        let check = resolve(record, &conditions)
            .ok_or("FailoverRecord has no HealthCheckId for the PRIMARY stack")?;
        let mut guards = Vec::new();
        guards_of(resources, &check, &conditions, &mut guards)?;
        let number = |resource: &str, path: &[&str]| -> Result<i64, String> {
            let mut value = &resources[resource]["Properties"];
            for key in path {
                value = &value[*key];
            }
            value
                .as_i64()
                .ok_or_else(|| format!("{resource}: {} is not a number", path.join(".")))
        };
        let alarm_missing = resources["StopAlarm"]["Properties"]["TreatMissingData"].as_str();
        if alarm_missing != Some("ignore") {
            return Err(format!(
                "StopAlarm: TreatMissingData {alarm_missing:?}; the drill models `ignore` (silence never moves traffic)"
            ));
        }
        // The trigger republishes the STOP value every minute, so the alarm
        // always has data; the drill runs it on that schedule.
        let republish = resources["FailoverTriggerFunction"]["Properties"]["Events"]
            ["RepublishStop"]["Properties"]["Schedule"]
            .as_str();
        if republish != Some("rate(1 minute)") {
            return Err(format!(
                "FailoverTriggerFunction: RepublishStop schedule {republish:?}; the drill republishes the STOP metric every minute"
            ));
        }
        let record = &resources["FailoverRecord"]["Properties"];
        let dns_ttl_s = if record.get("AliasTarget").is_some() {
            60
        } else {
            record["TTL"]
                .as_i64()
                .or_else(|| record["TTL"].as_str().and_then(|t| t.parse().ok()))
                .ok_or("FailoverRecord: neither an alias nor a TTL")?
        };
        let default = |parameter: &str| -> Result<i64, String> {
            let value = &doc["Parameters"][parameter]["Default"];
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|v| v.parse().ok()))
                .ok_or_else(|| format!("parameter {parameter} has no numeric Default"))
        };
        let heartbeat_missing =
            resources["DetectorHeartbeatAlarm"]["Properties"]["TreatMissingData"].as_str();
        if heartbeat_missing != Some("breaching") {
            return Err(format!(
                "DetectorHeartbeatAlarm: TreatMissingData {heartbeat_missing:?}; the drill models `breaching` (a silent detector raises it)"
            ));
        }
        let count = |v: i64| u32::try_from(v).map_err(|e| e.to_string());
        Ok(Topology {
            probe_interval_s: default("ProbeIntervalSeconds")?,
            probe_failures: count(default("ProbeFailures")?)?,
            heartbeat_period_s: number("DetectorHeartbeatAlarm", &["Period"])?,
            heartbeat_evaluation_periods: number("DetectorHeartbeatAlarm", &["EvaluationPeriods"])?,
            readiness_interval_s: default("ReadinessIntervalMinutes")? * 60,
            readiness_max_lag_s: count(default("ReadinessMaxLagSeconds")?)?,
            promoter_timeout_s: number("ReplicaPromoterFunction", &["Timeout"])?,
            promoter_on_record_change: on_record_change(&resources["ReplicaPromoterFunction"]),
            rewriter_on_record_change: on_record_change(&resources["SecretRewriterFunction"]),
            primary_guards: guards,
            alarm_period_s: number("StopAlarm", &["Period"])?,
            alarm_evaluation_periods: number("StopAlarm", &["EvaluationPeriods"])?,
            standby_check_interval_s: number(
                "StandbyHealthCheck",
                &["HealthCheckConfig", "RequestInterval"],
            )?,
            standby_failure_threshold: u32::try_from(number(
                "StandbyHealthCheck",
                &["HealthCheckConfig", "FailureThreshold"],
            )?)
            .map_err(|e| e.to_string())?,
            dns_ttl_s,
        })
    }

    /// The deployed template's.
    pub fn deployed(arc: bool) -> Result<Self, String> {
        Topology::read(TEMPLATE, arc)
    }
}

/// Whether `function` has an `EventBridgeRule` event on SSM's `Parameter
/// Store Change` for the decision record.
fn on_record_change(function: &Value) -> bool {
    let Some(events) = function["Properties"]["Events"].as_mapping() else {
        return false;
    };
    let has = |list: &Value, wanted: &str| {
        list.as_sequence()
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(wanted)))
    };
    events.values().any(|event| {
        let pattern = &event["Properties"]["Pattern"];
        event["Type"].as_str() == Some("EventBridgeRule")
            && has(&pattern["source"], "aws.ssm")
            && has(&pattern["detail-type"], "Parameter Store Change")
            && pattern["detail"]["name"]
                .as_sequence()
                .is_some_and(|names| {
                    names.iter().any(|n| match n {
                        Value::Tagged(t) => t
                            .value
                            .as_str()
                            .is_some_and(|s| s == "/stop/${ServiceName}/decision"),
                        other => other.as_str().is_some_and(|s| s.ends_with("/decision")),
                    })
                })
    })
}

/// The resource name a value comes to: `!Ref X`, or `!If [cond, a, b]` on a
/// condition we know.
fn resolve(value: &Value, conditions: &impl Fn(&str) -> Option<bool>) -> Option<String> {
    let Value::Tagged(tagged) = value else {
        return None;
    };
    match tagged.tag.to_string().as_str() {
        "!Ref" => tagged.value.as_str().map(str::to_owned),
        "!If" => {
            let args = tagged.value.as_sequence()?;
            let pick = if conditions(args.first()?.as_str()?)? {
                1
            } else {
                2
            };
            resolve(args.get(pick)?, conditions)
        }
        _ => None,
    }
}

fn guards_of(
    resources: &Value,
    name: &str,
    conditions: &impl Fn(&str) -> Option<bool>,
    guards: &mut Vec<Guard>,
) -> Result<(), String> {
    let config = &resources[name]["Properties"]["HealthCheckConfig"];
    match config["Type"].as_str() {
        Some("CLOUDWATCH_METRIC") => guards.push(Guard::StopMetric),
        Some("RECOVERY_CONTROL") => guards.push(Guard::RoutingControl),
        Some("CALCULATED") => {
            let children = config["ChildHealthChecks"]
                .as_sequence()
                .ok_or_else(|| format!("{name}: CALCULATED with no ChildHealthChecks"))?;
            let threshold = config["HealthThreshold"].as_u64();
            if threshold != Some(children.len() as u64) {
                return Err(format!(
                    "{name}: HealthThreshold {threshold:?} of {} children: the drill models \
                     a record that needs every child healthy",
                    children.len()
                ));
            }
            for child in children {
                let child = resolve(child, conditions)
                    .ok_or_else(|| format!("{name}: a child that is not a !Ref"))?;
                guards_of(resources, &child, conditions, guards)?;
            }
        }
        other => {
            return Err(format!(
                "{name}: health check type {other:?} is not modeled"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployed_template_guards_the_primary_with_both_switches_under_arc() {
        let arc = Topology::deployed(true).unwrap();
        assert_eq!(
            arc.primary_guards,
            vec![Guard::StopMetric, Guard::RoutingControl]
        );
        let stop = Topology::deployed(false).unwrap();
        assert_eq!(stop.primary_guards, vec![Guard::StopMetric]);
    }

    #[test]
    fn the_alarm_the_checks_and_the_ttl_are_read_from_the_template() {
        let t = Topology::deployed(false).unwrap();
        assert_eq!((t.alarm_period_s, t.alarm_evaluation_periods), (60, 1));
        assert_eq!(
            (t.standby_check_interval_s, t.standby_failure_threshold),
            (30, 3)
        );
        assert_eq!(t.dns_ttl_s, 60);
        let slower = TEMPLATE.replace("      Period: 60\n", "      Period: 300\n");
        assert_ne!(slower, TEMPLATE);
        assert_eq!(Topology::read(&slower, false).unwrap().alarm_period_s, 300);
    }

    #[test]
    fn a_record_write_starts_the_promoter_and_the_rewriter_only_where_the_template_says() {
        let t = Topology::deployed(false).unwrap();
        assert!(t.promoter_on_record_change && t.rewriter_on_record_change);
        let other = TEMPLATE.replace(
            "name: [!Sub \"/stop/${ServiceName}/decision\"]",
            "name: [!Sub \"/stop/${ServiceName}/fence\"]",
        );
        assert_ne!(other, TEMPLATE);
        let t = Topology::read(&other, false).unwrap();
        assert!(!t.promoter_on_record_change && !t.rewriter_on_record_change);
    }

    #[test]
    fn a_template_without_the_arc_wiring_reads_as_such() {
        let unwired = TEMPLATE.replace("!Ref PrimaryRecordHealthCheck", "!Ref StopHealthCheck");
        assert_ne!(unwired, TEMPLATE);
        let arc = Topology::read(&unwired, true).unwrap();
        assert_eq!(arc.primary_guards, vec![Guard::StopMetric]);
    }
}
