#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! `stopctl check`'s findings over in-memory ports: what is ready, what is
//! not, and never a secret's value.

use stop_core::memory::*;
use stop_core::ports::{ControlState, GroupCapacity, PortError};
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL, standby_config};
use stopctl::readiness::{Finding, Standby};

struct Ports {
    log: CallLog,
    decisions: MemoryDecisionStore,
    stop: MemoryStopSwitch,
    controls: MemoryRoutingControls,
    database: MemoryDatabase,
    capacity: MemoryCapacity,
    secrets: MemorySecrets,
    clock: ManualClock,
}

fn ports() -> Ports {
    let log = CallLog::default();
    let database = MemoryDatabase::new(log.clone());
    database.add_instance(stop_testkit::orders_replica(3));
    let secrets = MemorySecrets::new(log.clone());
    secrets.add(
        "orders/db",
        r#"{"host":"h","password":"hunter2-never-shown"}"#,
        None,
    );
    Ports {
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
        clock: ManualClock::new(time::OffsetDateTime::UNIX_EPOCH),
        log,
    }
}

async fn check(p: &Ports) -> Vec<Finding> {
    let config = standby_config(&[]);
    Standby {
        config: &config,
        decisions: &p.decisions,
        stop: &p.stop,
        controls: &p.controls,
        database: &p.database,
        capacity: &p.capacity,
        secrets: &p.secrets,
        clock: &p.clock,
    }
    .check()
    .await
}

#[tokio::test]
async fn a_ready_standby_passes_every_check_and_writes_nothing() {
    let p = ports();
    let findings = check(&p).await;
    assert!(findings.iter().all(|f| f.ok), "{findings:#?}");
    let names: Vec<&str> = findings.iter().map(|f| f.check.as_str()).collect();
    for wanted in [
        "decision record",
        "data tier protected",
        "read replica",
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
    p.database
        .instances
        .lock()
        .unwrap()
        .get_mut("orders-replica")
        .unwrap()
        .replica_lag_seconds = Some(900);
    p.secrets
        .faults
        .push(PortError::NotFound("orders/db".into()));
    let findings = check(&p).await;
    let replica = findings.iter().find(|f| f.check == "read replica").unwrap();
    assert!(
        !replica.ok && replica.detail.contains("lag 900 s"),
        "{replica:?}"
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
        protection.detail.contains("stopctl reprotect"),
        "{protection:?}"
    );
}
