//! `stopctl plan`'s default parameters (the simulation's own figures, from
//! `stop_sim::model`) claim to be the template's: hold them to template.yaml,
//! so that a change to the alarm or the health check there cannot leave the
//! modeled RTO silently stale.

use stop_sim::budget::Parameters;

/// The lines of one top-level resource of template.yaml (two-space indented name).
fn resource(template: &str, name: &str) -> Vec<String> {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| l.trim_end() != header);
    let mut block = Vec::new();
    if lines.next().is_none() {
        return block;
    }
    for line in lines {
        let top_level = line.starts_with("  ") && !line.starts_with("   ");
        if top_level || (!line.is_empty() && !line.starts_with(' ')) {
            break;
        }
        block.push(line.trim().to_owned());
    }
    block
}

/// The integer value of `key:` in a resource block.
fn value(block: &[String], key: &str) -> Option<i64> {
    let prefix = format!("{key}:");
    block
        .iter()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

fn template() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_stop_alarm_is_modeled_as_deployed() {
    let alarm = resource(&template(), "StopAlarm");
    assert!(!alarm.is_empty(), "StopAlarm not found in template.yaml");
    let plan = Parameters::default();
    assert_eq!(value(&alarm, "Period"), Some(plan.alarm_period_s));
    assert_eq!(
        value(&alarm, "EvaluationPeriods"),
        Some(plan.evaluation_periods)
    );
    assert_eq!(value(&alarm, "DatapointsToAlarm"), Some(1));
    assert!(alarm.contains(&"TreatMissingData: ignore".to_owned()));
}

#[test]
fn the_standby_health_check_is_modeled_as_deployed() {
    let check = resource(&template(), "StandbyHealthCheck");
    assert!(!check.is_empty(), "StandbyHealthCheck not found");
    let plan = Parameters::default();
    assert_eq!(
        value(&check, "RequestInterval"),
        Some(plan.health_check_interval_s)
    );
    assert_eq!(
        value(&check, "FailureThreshold"),
        Some(plan.failure_threshold)
    );
}

#[test]
fn a_tcp_standby_check_by_default_leaves_readiness_to_ask_the_api() {
    let template = template();
    let parameter = template
        .split("\n  StandbyHealthCheckType:\n")
        .nth(1)
        .expect("StandbyHealthCheckType parameter");
    assert!(
        parameter
            .lines()
            .take(3)
            .any(|l| l.trim() == "Default: TCP"),
        "{parameter:.200}"
    );
    // TCP sees no broken API: readiness must GET the standby's /health.
    let readiness = resource(&template, "ReadinessFunction");
    assert!(
        readiness.iter().any(|l| l
            .trim_start()
            .starts_with("STANDBY_PROBE_URL: !Sub \"https://${RegionalApi}.execute-api.")
            && l.ends_with("/${Stage}/health\"")),
        "ReadinessFunction has no STANDBY_PROBE_URL of the regional API's /health"
    );
}

#[test]
fn the_failover_record_is_an_alias_so_its_ttl_is_api_gateways() {
    // An alias record carries no TTL of its own; the model's 60 s is API
    // Gateway's. A TTL in the record would make the model wrong.
    let record = resource(&template(), "FailoverRecord");
    assert!(!record.is_empty(), "FailoverRecord not found");
    assert!(record.iter().any(|l| l == "AliasTarget:"));
    assert_eq!(value(&record, "TTL"), None);
    assert_eq!(Parameters::default().dns_ttl_s, 60);
}

#[test]
fn the_promoter_and_the_rewriter_run_on_the_modeled_schedules() {
    use stop_sim::model::{PROMOTER_SCHEDULE_S, REWRITER_SCHEDULE_S};
    let rate = |s: i64| match s {
        60 => "Schedule: rate(1 minute)".to_owned(),
        s => format!("Schedule: rate({} minutes)", s / 60),
    };
    let template = template();
    for (function, seconds) in [
        ("ReplicaPromoterFunction", PROMOTER_SCHEDULE_S),
        ("SecretRewriterFunction", REWRITER_SCHEDULE_S),
    ] {
        let block = resource(&template, function);
        assert!(!block.is_empty(), "{function} not found");
        assert!(
            block.contains(&rate(seconds)),
            "{function} must run every {seconds} s as the drill models it"
        );
    }
}

#[test]
fn with_arc_the_primary_record_follows_both_switches() {
    // The drill's Route 53 reads the primary record as healthy only while the
    // STOP check and the routing control's check both are: a calculated check.
    let template = template();
    let calculated = resource(&template, "PrimaryRecordHealthCheck");
    assert!(
        calculated.iter().any(|l| l == "Type: CALCULATED"),
        "{calculated:?}"
    );
    assert_eq!(value(&calculated, "HealthThreshold"), Some(2));
    let control = resource(&template, "ArcPrimaryControlHealthCheck");
    assert!(
        control.iter().any(|l| l == "Type: RECOVERY_CONTROL"),
        "{control:?}"
    );
}

#[test]
fn the_detector_is_modeled_as_deployed() {
    // The drill reads these from the template; the plan's defaults must agree.
    let topology = stop_sim::topology::Topology::deployed(false).unwrap();
    let plan = Parameters::default();
    assert_eq!(topology.probe_interval_s, plan.probe_interval_s);
    assert_eq!(i64::from(topology.probe_failures), plan.probe_failures);
    assert_eq!(topology.heartbeat_period_s, 60);
    assert_eq!(topology.readiness_interval_s, 300);
}
