//! The scenario library's wall time, and the orchestration cost of one
//! failover with zero-latency ports. Prints figures; asserts nothing.
//!
//!     cargo bench -p stop-sim

use std::time::{Duration, Instant};

use failover_trigger::App;
use stop_core::memory::{
    CallLog, ManualClock, MemoryDecisionStore, MemoryRoutingControls, MemoryStateStore,
    MemoryStopSwitch,
};
use stop_core::ports::ControlState;
use stop_core::switches::RetryPolicy;
use stop_http::proxy_request;
use stop_sim::{library, run_all};
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL, standby_config};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() -> Result<(), String> {
    let scenarios = library();
    let mut runs = Vec::new();
    let mut simulated = Duration::ZERO;
    for seed in 1..=5 {
        let started = Instant::now();
        let reports = run_all(&scenarios, seed)?;
        runs.push(started.elapsed());
        simulated = scenarios
            .iter()
            .map(|s| Duration::from_secs(s.horizon_s.unsigned_abs()))
            .sum();
        if reports.iter().any(|r| !r.passed) {
            return Err(format!("seed {seed}: a scenario failed its checks"));
        }
    }
    runs.sort();
    println!(
        "scenario library: {} scenarios, {:.0} simulated minutes; wall median {:.0} ms, best {:.0} ms, worst {:.0} ms over {} seeds",
        scenarios.len(),
        simulated.as_secs_f64() / 60.0,
        percentile(&runs, 0.5).as_secs_f64() * 1e3,
        runs[0].as_secs_f64() * 1e3,
        runs[runs.len() - 1].as_secs_f64() * 1e3,
        runs.len()
    );

    // One failover through the real trigger handler, every port in memory and
    // instant: what the control plane itself costs per press.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let config = standby_config(&[]);
    let body = br#"{"reason":"bench","mode":"ungraceful"}"#;
    let mut times = Vec::new();
    for _ in 0..2_000 {
        let log = CallLog::default();
        let app = App {
            config: config.clone(),
            decisions: MemoryDecisionStore::new(log.clone()),
            stop: MemoryStopSwitch::new(log.clone()),
            controls: MemoryRoutingControls::new(
                log.clone(),
                &[
                    (PRIMARY_CTL, ControlState::On),
                    (STANDBY_CTL, ControlState::Off),
                ],
            ),
            clock: ManualClock::new(time::OffsetDateTime::UNIX_EPOCH),
            retry: RetryPolicy::default(),
            state: MemoryStateStore::new(log),
        };
        let request = proxy_request(
            "POST",
            "/failover",
            None,
            Some("application/json"),
            body,
            Some("bench"),
        )?;
        let started = Instant::now();
        let response = runtime.block_on(failover_trigger::handle(&app, request));
        times.push(started.elapsed());
        if response.status() != 200 {
            return Err(format!("failover answered {}", response.status()));
        }
    }
    times.sort();
    println!(
        "one failover (trigger handler, zero-latency ports): p50 {:.1} µs, p99 {:.1} µs over {} presses",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        times.len()
    );
    Ok(())
}
