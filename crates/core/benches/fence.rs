#![allow(clippy::expect_used)] // a benchmark: a broken setup should stop it
//! The fence's read path at fleet scale: N `region-info` instances (both
//! Regions' fleets together), each checking its lease for one write a
//! second for five virtual minutes, against three counting copies of the
//! fence record. Prints the `GetParameter` calls per second each Region's
//! Parameter Store serves and the headroom against its throughput quota;
//! asserts nothing.
//!
//!     cargo bench -p stop-core --bench fence [-- --higher-tps 10000]
//!
//! Parameter Store's throughput quota is per account and Region and shared
//! by GetParameter, GetParameters and PutParameter; higher throughput raises
//! it, at a cost, and covers those calls (not GetParameterHistory, which the
//! deciders read).
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html>

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use stop_core::Config;
use stop_core::fence::{Copies, Fence, FenceRecord};
use stop_core::memory::ManualClock;
use stop_core::ports::{PortResult, StateStore};
use time::Duration;
use time::macros::datetime;

/// One Region's copy: answers the deployed record and counts its reads.
struct Counting {
    text: String,
    reads: AtomicU64,
}

impl StateStore for &Counting {
    async fn load(&self, _: &str) -> PortResult<Option<String>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(Some(self.text.clone()))
    }
    async fn save(&self, _: &str, _: &str) -> PortResult<()> {
        Ok(())
    }
}

fn config(lease_s: u32) -> Config {
    let lease = lease_s.to_string();
    let vars = [
        ("SERVICE_NAME", "orders"),
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
        ("WITNESS_REGION", "eu-west-1"),
        ("FENCE_LEASE_SECONDS", lease.as_str()),
    ];
    Config::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("a valid configuration")
}

/// Default Parameter Store throughput: 40 TPS per account and Region, the
/// figure AWS's quota page gave (shared with PutParameter).
const DEFAULT_TPS: f64 = 40.0;
const SECONDS: u64 = 300;

fn main() {
    let higher_tps: f64 = std::env::args()
        .skip_while(|a| a != "--higher-tps")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000.0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    println!(
        "| instances | L | GetParameter/s per Region | of the default {DEFAULT_TPS:.0} TPS | of higher throughput ({higher_tps:.0} TPS) | µs per check |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for lease_s in [10, 30] {
        let config = config(lease_s);
        let text = FenceRecord::initial("orders", config.primary_region()).to_text();
        let copies: Vec<Counting> = (0..3)
            .map(|_| Counting {
                text: text.clone(),
                reads: AtomicU64::new(0),
            })
            .collect();
        let regions = ["us-east-1", "us-west-2", "eu-west-1"];
        for instances in [50_u64, 500, 5_000] {
            for copy in &copies {
                copy.reads.store(0, Ordering::Relaxed);
            }
            let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
            let fences: Vec<_> = (0..instances)
                .map(|_| {
                    let stores = regions
                        .iter()
                        .zip(&copies)
                        .map(|(r, c)| (r.parse().expect("a Region"), c))
                        .collect();
                    Fence::new(&config, Copies::new(&config, stores), &clock)
                })
                .collect();
            let started = Instant::now();
            let mut checks = 0_u64;
            runtime.block_on(async {
                for _ in 0..SECONDS {
                    for fence in &fences {
                        assert!(fence.check().await.open);
                        checks += 1;
                    }
                    clock.advance(Duration::seconds(1));
                }
            });
            let elapsed = started.elapsed();
            let per_region = copies[0].reads.load(Ordering::Relaxed) as f64 / SECONDS as f64;
            println!(
                "| {instances} | {lease_s} s | {per_region:.0} | {:.0} % | {:.1} % | {:.2} |",
                per_region / DEFAULT_TPS * 100.0,
                per_region / higher_tps * 100.0,
                elapsed.as_secs_f64() * 1e6 / checks as f64
            );
        }
    }
    println!(
        "\nEach instance renews its lease every L/2 with one GetParameter to each of three Regions, so each Region serves instances / (L/2) reads a second, whatever the write rate above one a second per instance."
    );
}
