#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Readiness (`stop_core::readiness`, which `stopctl check`, the scheduled
//! readiness run and `GET /status` share) over in-memory ports: what is
//! ready, what is not and how to fix it, and never a secret's value.

use stop_core::memory::*;
use stop_core::ports::{ControlState, GroupCapacity, PortError};
use stop_core::readiness::{Expectations, Finding, Report, Standby};
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL, standby_config};

struct Ports {
    log: CallLog,
    decisions: MemoryDecisionStore,
    stop: MemoryStopSwitch,
    controls: MemoryRoutingControls,
    database: MemoryDatabase,
    capacity: MemoryCapacity,
    secrets: MemorySecrets,
    state: MemoryStateStore,
    clock: ManualClock,
    health: MemoryHealthChecks,
}

fn ports() -> Ports {
    let log = CallLog::default();
    let database = MemoryDatabase::new(log.clone());
    database.add_instance(stop_testkit::orders_replica(3));
    database.set_lag("orders-replica", lag(3));
    let secrets = MemorySecrets::new(log.clone());
    secrets.add(
        "orders/db",
        r#"{"host":"h","password":"hunter2-never-shown"}"#,
        None,
    );
    Ports {
        health: MemoryHealthChecks::new(log.clone()),
        decisions: MemoryDecisionStore::new(log.clone()),
        stop: MemoryStopSwitch::new(log.clone()),
        controls: MemoryRoutingControls::new(
            log.clone(),
            &[
                (PRIMARY_CTL, ControlState::On),
                (STANDBY_CTL, ControlState::Off),
            ],
        ),
        capacity: MemoryCapacity::new(
            log.clone(),
            &[(
                "orders-web",
                GroupCapacity {
                    min: 0,
                    desired: 0,
                    max: 1,
                },
            )],
        ),
        database,
        secrets,
        // The standby's copy of the fence record, as the stack deploys it.
        state: MemoryStateStore::new(log.clone()).with(
            "/stop/orders/fence",
            &stop_core::fence::FenceRecord::initial("orders", &"us-east-1".parse().unwrap())
                .to_text(),
        ),
        clock: ManualClock::new(NOW),
        log,
    }
}

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-24 03:00 UTC);

fn lag(seconds: u32) -> stop_core::ports::LagSample {
    stop_core::ports::LagSample {
        replicating: true,
        seconds,
        at: NOW - time::Duration::minutes(1),
    }
}

async fn check(p: &Ports) -> Vec<Finding> {
    check_with(p, Expectations::default()).await
}

async fn check_with(p: &Ports, expect: Expectations) -> Vec<Finding> {
    report(p, &standby_config(&[]), expect).await.findings
}

async fn report(p: &Ports, config: &stop_core::Config, expect: Expectations) -> Report {
    Standby {
        config,
        decisions: &p.decisions,
        stop: &p.stop,
        controls: &p.controls,
        database: &p.database,
        capacity: &p.capacity,
        secrets: &p.secrets,
        state: &p.state,
        clock: &p.clock,
        health: &p.health,
        expect,
    }
    .check()
    .await
}

fn finding<'a>(findings: &'a [Finding], check: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check:?} in {findings:#?}"))
}

#[tokio::test]
async fn a_ready_standby_passes_every_check_and_writes_nothing() {
    let p = ports();
    let findings = check(&p).await;
    assert!(findings.iter().all(|f| f.ok), "{findings:#?}");
    let names: Vec<&str> = findings.iter().map(|f| f.check.as_str()).collect();
    for wanted in [
        "decision record",
        "write fence quorum",
        "fence record (standby's copy)",
        "data tier protected",
        "read replica",
        "replica lag",
        "standby Auto Scaling group",
        "database secret",
    ] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.check.contains("routing control"))
            .count(),
        2
    );
    let text = format!("{findings:?}");
    assert!(!text.contains("hunter2"), "a secret's value was shown");
    let writes: Vec<String> = p
        .log
        .calls()
        .into_iter()
        .filter(|c| {
            c.contains("store")
                || c.contains("publish")
                || c.contains("update")
                || c.contains("set_")
                || c.contains("put")
                || c.contains("promote")
        })
        .collect();
    assert!(writes.is_empty(), "check must only read: {writes:?}");
}

#[tokio::test]
async fn a_missing_replica_a_lagging_one_and_unreachable_arc_are_reported() {
    let p = ports();
    p.database.instances.lock().unwrap().clear();
    for url in stop_testkit::ARC_ENDPOINTS {
        p.controls.set_endpoint_down(url, true);
    }
    let findings = check(&p).await;
    let failed: Vec<&str> = findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.check.as_str())
        .collect();
    assert!(failed.contains(&"read replica"), "{failed:?}");
    assert_eq!(
        failed
            .iter()
            .filter(|f| f.contains("routing control"))
            .count(),
        2
    );
    // Out of reach is told apart from a finding about the standby itself.
    for f in &findings {
        assert_eq!(f.unreachable, f.check.contains("routing control"), "{f:?}");
    }

    let p = ports();
    p.database.set_lag("orders-replica", lag(900));
    p.secrets
        .faults
        .push(PortError::NotFound("orders/db".into()));
    let findings = check(&p).await;
    assert!(finding(&findings, "read replica").ok);
    let lagging = finding(&findings, "replica lag");
    assert!(
        !lagging.ok && lagging.detail.contains("15 min"),
        "{lagging:?}"
    );
    assert!(
        lagging
            .fix
            .as_deref()
            .unwrap()
            .contains("ReadinessMaxLagSeconds"),
        "{lagging:?}"
    );
    assert!(
        !findings
            .iter()
            .find(|f| f.check == "database secret")
            .unwrap()
            .ok
    );
}

#[tokio::test]
async fn a_promoted_writer_without_a_copy_is_reported_unprotected() {
    use stop_core::decision::{DbRef, Decision, Mode};
    use stop_core::ports::DecisionStore;
    let p = ports();
    let t = time::macros::datetime!(2026-11-22 03:00 UTC);
    let mut failover = Decision::initial("orders", &"us-east-1".parse().unwrap(), t).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Graceful,
        t,
    );
    failover.data.writer = Some(DbRef {
        region: "us-west-2".parse().unwrap(),
        id: "orders-replica".into(),
    });
    failover.data.protected = false;
    p.decisions.store(&failover).await.unwrap();
    let findings = check(&p).await;
    let protection = findings
        .iter()
        .find(|f| f.check == "data tier protected")
        .unwrap();
    assert!(!protection.ok);
    assert!(
        protection
            .fix
            .as_deref()
            .unwrap()
            .contains("stopctl reprotect"),
        "{protection:?}"
    );
}

#[tokio::test]
async fn a_failover_size_above_the_groups_max_is_reported_with_its_fix() {
    // The template's example sizes (2/4/8) would be raised to; the group's
    // own sizes do not matter. A max below desired is what Auto Scaling refuses.
    let p = ports();
    let mut config = standby_config(&[]);
    config.capacity.as_mut().unwrap().max = 2;
    let report = report(&p, &config, Expectations::default()).await;
    assert!(!report.ready);
    let group = finding(&report.findings, "standby Auto Scaling group");
    assert!(
        !group.ok && group.detail.contains("ValidationError"),
        "{group:?}"
    );
    assert!(
        group.fix.as_deref().unwrap().contains("AsgMax"),
        "{group:?}"
    );
}

#[tokio::test]
async fn the_detector_silent_or_cut_off_from_the_primary_is_reported() {
    use stop_core::detector::{State, VantageReport};
    let expect = Expectations {
        detector: true,
        witness: Some("eu-west-1".into()),
        ..Expectations::default()
    };
    // Never ran.
    let p = ports();
    let findings = check_with(&p, expect.clone()).await;
    assert!(
        !finding(&findings, "detector heartbeat").ok,
        "{findings:#?}"
    );

    // Ran a minute ago, but the standby fails the primary while the witness reaches it.
    let mut state = State::default();
    state.primary_failures.insert("us-west-2".into(), 4);
    state.last_round = Some(NOW - time::Duration::minutes(1));
    let witness = VantageReport {
        vantage: "eu-west-1".into(),
        primary_failures: 0,
        armed: true,
        at: NOW - time::Duration::seconds(30),
    };
    let mut p = ports();
    p.state = MemoryStateStore::new(p.log.clone())
        .with(
            "/stop/orders/detector/us-west-2",
            &serde_json::to_string(&state).unwrap(),
        )
        .with(
            "/stop/orders/detector/eu-west-1",
            &serde_json::to_string(&witness).unwrap(),
        );
    let findings = check_with(&p, expect.clone()).await;
    assert!(finding(&findings, "detector heartbeat").ok);
    assert!(finding(&findings, "witness heartbeat").ok);
    let path = finding(&findings, "standby's path to the primary");
    assert!(!path.ok && path.detail.contains("4 probes"), "{path:?}");

    // Five minutes later nothing has run: both heartbeats are stale.
    p.clock.advance(time::Duration::minutes(5));
    let findings = check_with(&p, expect).await;
    assert!(!finding(&findings, "detector heartbeat").ok);
    assert!(!finding(&findings, "witness heartbeat").ok);
}

#[tokio::test]
async fn the_kept_report_fits_a_standard_parameter_and_reads_back() {
    let p = ports();
    let config = standby_config(&[]);
    let mut report = report(&p, &config, Expectations::default()).await;
    // Far past 4 KB: the kept copy still fits and keeps the failed checks.
    for f in &mut report.findings {
        f.detail = "d".repeat(900);
    }
    report.findings[0].ok = false;
    report.ready = false;
    report.findings[0].fix = Some("f".repeat(900));
    let metrics = MemoryMetrics::new(p.log.clone());
    stop_core::readiness::publish(&config, &report, &p.state, &metrics)
        .await
        .unwrap();
    let kept = stop_core::readiness::last_report(&config, &p.state)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.findings.len(), report.findings.len());
    assert!(!kept.findings[0].ok);
    assert_eq!(metrics.values("Ready"), vec![0.0]);
    assert!(metrics.values("ReadinessFindings").is_empty());
}

#[tokio::test]
async fn a_report_that_cannot_be_kept_is_still_published_and_the_run_fails() {
    let p = ports();
    let config = standby_config(&[]);
    let report = report(&p, &config, Expectations::default()).await;
    p.state
        .faults
        .push(PortError::Unavailable("ssm: connect timeout".into()));
    let metrics = MemoryMetrics::new(p.log.clone());
    let err = stop_core::readiness::publish(&config, &report, &p.state, &metrics)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connect timeout"), "{err}");
    // The alarm still gets its datapoint.
    assert_eq!(metrics.values("Ready"), vec![1.0]);
}

#[tokio::test]
async fn a_missing_or_unreadable_fence_copy_and_a_risky_quorum_are_findings() {
    let mut p = ports();
    p.state = MemoryStateStore::new(p.log.clone());
    let findings = check(&p).await;
    let copy = finding(&findings, "fence record (standby's copy)");
    assert!(!copy.ok && copy.detail.contains("missing"), "{copy:?}");
    assert!(
        copy.fix
            .as_deref()
            .is_some_and(|f| f.contains("/stop/orders/fence"))
    );

    p.state = MemoryStateStore::new(p.log.clone()).with("/stop/orders/fence", "{\"epoch\":");
    let findings = check(&p).await;
    let copy = finding(&findings, "fence record (standby's copy)");
    assert!(
        !copy.ok && copy.detail.contains("does not parse"),
        "{copy:?}"
    );

    let standby = finding(&findings, "write fence quorum");
    assert!(
        standby.ok && standby.detail.contains("standby outage stops writes"),
        "{standby:?}"
    );
    let config = standby_config(&[("FENCE_POLICY", "available")]);
    let findings = report(&p, &config, Expectations::default()).await.findings;
    let available = finding(&findings, "write fence quorum");
    assert!(!available.ok, "{available:?}");
    assert!(available.detail.contains("lost"), "{available:?}");
}

#[tokio::test]
async fn a_replica_in_error_or_with_lag_minus_one_is_not_ready() {
    // RDS's replication state says error: a replica in name only.
    let p = ports();
    p.database
        .instances
        .lock()
        .unwrap()
        .get_mut("orders-replica")
        .unwrap()
        .replication = Some("error".into());
    let findings = check(&p).await;
    let replica = finding(&findings, "read replica");
    assert!(
        !replica.ok && replica.detail.contains("replication error"),
        "{replica:?}"
    );

    // ReplicaLag -1: replication is not active, which is no "unknown".
    let p = ports();
    p.database.set_lag(
        "orders-replica",
        stop_core::ports::LagSample {
            seconds: 0,
            replicating: false,
            at: NOW - time::Duration::minutes(1),
        },
    );
    let findings = check(&p).await;
    let lag = finding(&findings, "replica lag");
    assert!(!lag.ok && lag.detail.contains("-1"), "{lag:?}");
}

#[tokio::test]
async fn route_53_seeing_the_standby_unhealthy_or_not_at_all_is_not_ready() {
    let p = ports();
    let expect = || Expectations {
        standby_health_check: Some("hc-standby".into()),
        ..Expectations::default()
    };
    // No datapoint: no evidence of Route 53's view.
    let findings = check_with(&p, expect()).await;
    let route53 = finding(&findings, "Route 53 sees the standby");
    assert!(
        !route53.ok && route53.detail.contains("no HealthCheckStatus"),
        "{route53:?}"
    );
    // Unhealthy: STOP = 1 would move nobody.
    p.health.set(
        "hc-standby",
        stop_core::ports::HealthReading {
            healthy: false,
            at: NOW - time::Duration::minutes(1),
        },
    );
    let findings = check_with(&p, expect()).await;
    let route53 = finding(&findings, "Route 53 sees the standby");
    assert!(
        !route53.ok && route53.detail.contains("UNHEALTHY"),
        "{route53:?}"
    );
    // Healthy but an hour old: stale, not a view.
    p.health.set(
        "hc-standby",
        stop_core::ports::HealthReading {
            healthy: true,
            at: NOW - time::Duration::hours(1),
        },
    );
    assert!(!finding(&check_with(&p, expect()).await, "Route 53 sees the standby").ok);
    p.health.set(
        "hc-standby",
        stop_core::ports::HealthReading {
            healthy: true,
            at: NOW - time::Duration::minutes(2),
        },
    );
    assert!(finding(&check_with(&p, expect()).await, "Route 53 sees the standby").ok);
    assert_eq!(p.log.count("cloudwatch.health_check_status(hc-standby)"), 4);
    // Not configured: a failed finding, not a check skipped in silence.
    let unset = Expectations {
        standby_health_check: Some(String::new()),
        ..Expectations::default()
    };
    let route53 = check_with(&p, unset).await;
    let route53 = finding(&route53, "Route 53 sees the standby");
    assert!(
        !route53.ok && route53.detail.contains("STANDBY_HEALTH_CHECK_ID"),
        "{route53:?}"
    );
}

#[tokio::test]
async fn a_copy_placement_missing_in_a_region_is_not_ready() {
    let p = ports();
    let ok = check(&p).await;
    assert!(finding(&ok, "re-protect placement").ok, "{ok:#?}");
    let config = standby_config(&[
        ("DB_PRIMARY_COPY_SUBNET_GROUP", ""),
        ("DB_STANDBY_COPY_KMS_KEY_ARN", ""),
    ]);
    let findings = report(&p, &config, Expectations::default()).await.findings;
    let placement = finding(&findings, "re-protect placement");
    assert!(!placement.ok, "{placement:?}");
    assert!(
        placement
            .detail
            .contains("us-east-1 lacks a DB subnet group"),
        "{placement:?}"
    );
    assert!(
        placement.detail.contains("us-west-2 lacks a KMS key"),
        "{placement:?}"
    );
    assert!(
        placement
            .fix
            .as_deref()
            .unwrap()
            .contains("DbPrimaryCopySubnetGroup"),
        "{placement:?}"
    );
}
