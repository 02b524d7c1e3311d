#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The write fence's scenarios for seeds 1-10, the same checks failing once
//! the lease is taken out, and fault combinations no scenario names.

use stop_sim::drill::{Sabotage, run_sabotaged};
use stop_sim::scenario::{generated, select};
use stop_sim::{Report, failures, run_all};

const FENCE_SCENARIOS: [&str; 7] = [
    "fence-reads-throttled",
    "primary-isolated",
    "sticky-clients",
    "primary-back-cold",
    "witness-down-outage",
    "standby-dark",
    "standby-dark-no-witness",
];

fn run_one(name: &str, seed: u64, sabotage: Sabotage) -> Report {
    let scenario = select(&[name.to_owned()]).unwrap().remove(0);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run_sabotaged(&scenario, seed, sabotage))
        .unwrap()
}

#[test]
fn the_fence_scenarios_hold_for_seeds_one_to_ten() {
    let scenarios = select(&FENCE_SCENARIOS.map(str::to_owned)).unwrap();
    for seed in 1..=10 {
        let reports = run_all(&scenarios, seed).unwrap();
        let failed = failures(&reports);
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        for report in &reports {
            assert_eq!(report.lease_s, 10);
            assert!(report.longest_write_gap_ms.is_some(), "{}", report.scenario);
        }
    }
}

#[test]
fn planned_moves_with_throttled_reads_or_sticky_clients_lose_nothing() {
    for seed in 1..=10 {
        for name in ["fence-reads-throttled", "sticky-clients"] {
            let report = run_one(name, seed, Sabotage::default());
            assert_eq!(report.rpo_writes, Some(0), "seed {seed} {name}");
            assert!(report.passed, "{:?}", failures(&[report]));
        }
    }
}

#[test]
fn the_standby_dark_without_a_witness_stops_the_primary_but_with_one_does_not() {
    let with = run_one("standby-dark", 3, Sabotage::default());
    let without = run_one("standby-dark-no-witness", 3, Sabotage::default());
    let with_gap = with.longest_write_gap_ms.unwrap();
    let without_gap = without.longest_write_gap_ms.unwrap();
    assert!(
        with_gap <= 10_000,
        "a majority keeps writing: {with_gap} ms"
    );
    // Five minutes dark, less the lease that was left when it went.
    assert!(
        without_gap >= 280_000,
        "the safe policy stops: {without_gap} ms"
    );
}

/// Without the lease (a fence that answers with the deployed record when it
/// cannot read), an isolated primary keeps acknowledging writes after the
/// standby's promotion: the check must catch it.
#[test]
fn a_fence_that_fails_open_is_caught_as_a_second_writer() {
    let sabotage = Sabotage {
        fence_fails_open: true,
        ..Sabotage::default()
    };
    for name in ["primary-isolated", "primary-back-cold"] {
        let report = run_one(name, 1, sabotage);
        let failed = failures(std::slice::from_ref(&report));
        assert!(
            failed.iter().any(|f| f.contains("never two writers")),
            "{name}: {failed:?}"
        );
    }
}

/// Without the drain (a copy taken as caught up at once), a planned move
/// whose replica is behind promotes it with acknowledged writes still in
/// flight: the check must catch it. With the drain the same run loses none.
#[test]
fn a_planned_move_without_the_drain_is_caught_losing_writes() {
    let report = run_one("planned-behind", 1, Sabotage::default());
    assert!(failures(std::slice::from_ref(&report)).is_empty());
    let sabotage = Sabotage {
        drain_bypassed: true,
        ..Sabotage::default()
    };
    let report = run_one("planned-behind", 1, sabotage);
    let failed = failures(std::slice::from_ref(&report));
    assert!(
        failed
            .iter()
            .any(|f| f.contains("no acknowledged write lost")),
        "{failed:?}"
    );
}

/// Fault combinations that no scenario names, drawn from a seed: throttled
/// fence reads, a partitioned primary with sticky clients and in-Region
/// writers, cold starts, the witness dark, planned and unplanned moves.
#[test]
fn generated_fault_combinations_hold() {
    for case in 0..24 {
        let scenario = generated(case);
        let reports = run_all(std::slice::from_ref(&scenario), case + 1).unwrap();
        let failed = failures(&reports);
        assert!(
            failed.is_empty(),
            "case {case} ({}): {}",
            scenario.summary,
            failed.join("\n")
        );
    }
}
