#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! `stopctl drill --engine postgres`'s scenarios on real PostgreSQL: every
//! one holds its checks (RPO 0 counted in rows), and with the drain taken
//! out the copy-behind scenario loses acknowledged writes and fails.
//!
//! Needs Debian's `postgresql` (`./scripts/test` installs it); without it the
//! test fails, unless `STOP_PG_OPTIONAL=1` says this machine may go without.

use stop_pg::drill::{Sabotage, library, run, select};

fn available() -> bool {
    match stop_pg::server::bin_dir() {
        Ok(_) => true,
        Err(e) if std::env::var_os("STOP_PG_OPTIONAL").is_some() => {
            eprintln!("skipped: {e}");
            false
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_real_engine_scenario_keeps_every_acknowledged_write() {
    if !available() {
        return;
    }
    for scenario in library() {
        let report = run(&scenario, Sabotage::default()).await.unwrap();
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        assert!(report.passed, "{}: {failed:?}", scenario.name);
        assert_eq!(report.lost, 0, "{}", scenario.name);
        assert!(
            report.acknowledged > 20,
            "{}: {}",
            scenario.name,
            report.acknowledged
        );
        assert!(report.write_rto_ms.is_some(), "{}", scenario.name);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn with_the_drain_bypassed_a_copy_behind_loses_writes_and_the_drill_fails() {
    if !available() {
        return;
    }
    let behind = &select(&["pg-planned-behind".into()]).unwrap()[0];
    let report = run(
        behind,
        Sabotage {
            drain_bypassed: true,
        },
    )
    .await
    .unwrap();
    assert!(!report.passed);
    assert!(report.lost > 0, "nothing lost: {:?}", report.checks);
    let lost = report
        .checks
        .iter()
        .find(|c| c.name == "every acknowledged write is on the final writer")
        .unwrap();
    assert!(!lost.ok, "{}", lost.detail);
}
