#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The detector's handler path with in-memory ports and a scripted prober:
//! every sample in events/detector/, the quorum across runs, a silent
//! witness, the witness's own job, and its settings.

use std::collections::HashMap;
use std::sync::Mutex;

use detector::{Job, ProbeSettings, Prober, check_scheduled, standby_run, witness_run};
use stop_core::detector::{State, VantageReport};
use stop_core::memory::{
    CallLog, ManualClock, MemoryDecisionStore, MemoryMetrics, MemoryStateStore, MemoryStopSwitch,
};
use stop_core::ports::DecisionStore;
use stop_testkit::{Expected, samples, standby_config};
use time::macros::datetime;

const PRIMARY: &str = "https://primary.example/prod/health";
const STANDBY: &str = "https://standby.example/prod/health";

/// Answers by URL; a URL not set is healthy.
#[derive(Default)]
struct Scripted(Mutex<HashMap<String, bool>>);

impl Scripted {
    fn set(&self, url: &str, healthy: bool) {
        self.0.lock().unwrap().insert(url.to_owned(), healthy);
    }
}

impl Prober for Scripted {
    async fn healthy(&self, url: &str) -> bool {
        self.0.lock().unwrap().get(url).copied().unwrap_or(true)
    }
}

fn settings(witness: Option<&str>) -> ProbeSettings {
    let vars: HashMap<&str, String> = HashMap::from([
        ("PRIMARY_PROBE_URL", PRIMARY.to_owned()),
        ("STANDBY_PROBE_URL", STANDBY.to_owned()),
        ("WITNESS_REGION", witness.unwrap_or_default().to_owned()),
    ]);
    ProbeSettings::from_lookup(Job::ProbeStandby, "us-west-2", |k| vars.get(k).cloned()).unwrap()
}

/// A witness in eu-west-1 with the template's defaults.
fn witness_settings() -> ProbeSettings {
    ProbeSettings::from_lookup(Job::ProbeWitness, "eu-west-1", |k| {
        (k == "PRIMARY_PROBE_URL").then(|| PRIMARY.to_owned())
    })
    .unwrap()
}

struct Ports {
    log: CallLog,
    decisions: MemoryDecisionStore,
    stop: MemoryStopSwitch,
    store: MemoryStateStore,
    metrics: MemoryMetrics,
    clock: ManualClock,
    prober: Scripted,
}

fn ports() -> Ports {
    let log = CallLog::default();
    Ports {
        decisions: MemoryDecisionStore::new(log.clone()),
        stop: MemoryStopSwitch::new(log.clone()),
        store: MemoryStateStore::new(log.clone()),
        metrics: MemoryMetrics::new(log.clone()),
        clock: ManualClock::new(datetime!(2026-11-24 03:00 UTC)),
        prober: Scripted::default(),
        log,
    }
}

async fn run(p: &Ports, settings: &ProbeSettings) -> Vec<detector::RoundSummary> {
    let config = standby_config(&[]);
    let detector = stop_core::detector::Detector {
        config: &config,
        decisions: &p.decisions,
        stop: &p.stop,
        clock: &p.clock,
        settings: settings.detector_settings(),
    };
    standby_run(&detector, &p.store, &p.metrics, &p.prober, settings).await
}

/// The witness's fresh report, written through the port as its own job does.
async fn witness_reports(p: &Ports, failures: u32) {
    let report = VantageReport {
        vantage: "eu-west-1".into(),
        primary_failures: failures,
        at: stop_core::ports::Clock::now(&p.clock),
    };
    stop_core::ports::StateStore::save(
        &p.store,
        "/stop/orders/detector/eu-west-1",
        &serde_json::to_string(&report).unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_answer() {
    let all = samples("detector");
    assert!(all.len() >= 4, "{all:?}");
    for sample in all {
        let payload: serde_json::Value = serde_json::from_str(&sample.raw).unwrap();
        let p = ports();
        let accepted = check_scheduled(&payload);
        match &sample.expected {
            Expected::Outcome { outcome, .. } if outcome == "ran" => {
                accepted.unwrap();
                let rounds = run(&p, &settings(None)).await;
                assert_eq!(rounds.len(), 2, "{}: 60 s / 30 s", sample.file);
                assert!(rounds.iter().all(|r| r.error.is_none()), "{rounds:?}");
            }
            Expected::Rejected => {
                let err = accepted.unwrap_err();
                assert!(err.contains("scheduled event"), "{}: {err}", sample.file);
                // Refused before any probe or port: nothing changed.
                assert!(p.log.calls().is_empty(), "{}", sample.file);
            }
            other => panic!("{}: unexpected expectation {other:?}", sample.file),
        }
    }
}

#[tokio::test]
async fn with_a_witness_both_must_see_three_failures_and_then_it_decides_once() {
    let p = ports();
    let s = settings(Some("eu-west-1"));
    p.prober.set(PRIMARY, false);
    // First run: two failed rounds from here; the witness has said nothing.
    let rounds = run(&p, &s).await;
    assert!(
        rounds.iter().all(|r| r.decided_epoch.is_none()),
        "{rounds:?}"
    );
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    // The witness reports three failures; the next round here is the third.
    witness_reports(&p, 3).await;
    let rounds = run(&p, &s).await;
    let decided: Vec<u64> = rounds.iter().filter_map(|r| r.decided_epoch).collect();
    assert_eq!(decided, vec![1], "{rounds:#?}");
    let history = p.decisions.history("orders").await.unwrap();
    assert_eq!(history.last().unwrap().actor, "detector");
    assert!(history.last().unwrap().reason.contains("eu-west-1"));
    assert_eq!(p.log.count("stop.publish(orders, 1)"), 1);
    // Heartbeats and probe results went out every round.
    assert_eq!(p.metrics.values("DetectorHeartbeat").len(), 4);
    assert_eq!(p.metrics.values("ProbeFailed").len(), 8);
}

#[tokio::test]
async fn a_silent_witness_is_no_quorum_and_the_standby_alone_never_decides() {
    let p = ports();
    let s = settings(Some("eu-west-1"));
    p.prober.set(PRIMARY, false);
    for _ in 0..5 {
        run(&p, &s).await;
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    // A stale report (ten minutes old) is no evidence either.
    let stale = VantageReport {
        vantage: "eu-west-1".into(),
        primary_failures: 30,
        at: stop_core::ports::Clock::now(&p.clock) - time::Duration::minutes(10),
    };
    stop_core::ports::StateStore::save(
        &p.store,
        "/stop/orders/detector/eu-west-1",
        &serde_json::to_string(&stale).unwrap(),
    )
    .await
    .unwrap();
    run(&p, &s).await;
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_witness_the_standby_decides_alone_but_not_into_an_unhealthy_standby() {
    let p = ports();
    let s = settings(None);
    p.prober.set(PRIMARY, false);
    p.prober.set(STANDBY, false);
    for _ in 0..3 {
        run(&p, &s).await;
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    p.prober.set(STANDBY, true);
    run(&p, &s).await;
    assert_eq!(p.decisions.history("orders").await.unwrap().len(), 1);
    // Its state is kept for the next run and for readiness's heartbeat check.
    let state: State =
        serde_json::from_str(&p.store.text("/stop/orders/detector/us-west-2").unwrap()).unwrap();
    assert!(state.last_round.is_some());
    assert!(state.primary_failures["us-west-2"] >= 3);
}

#[tokio::test]
async fn the_witness_counts_its_failures_into_its_report_and_decides_nothing() {
    let p = ports();
    let s = witness_settings();
    p.prober.set(PRIMARY, false);
    let name = "/stop/orders/detector/eu-west-1";
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!(report.primary_failures, 2);
    p.prober.set(PRIMARY, true);
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!(report.primary_failures, 0);
    assert!(p.log.count("decisions") == 0 && p.log.count("stop.") == 0);
}

#[test]
fn settings_refuse_what_the_schedule_cannot_keep() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    const BASE: [(&str, &str); 2] = [
        ("PRIMARY_PROBE_URL", PRIMARY),
        ("STANDBY_PROBE_URL", STANDBY),
    ];
    for (bad, why) in [
        (
            &[
                ("PRIMARY_PROBE_URL", "ftp://x"),
                ("STANDBY_PROBE_URL", STANDBY),
            ][..],
            "not an http",
        ),
        (
            &[("STANDBY_PROBE_URL", STANDBY)][..],
            "PRIMARY_PROBE_URL is required",
        ),
        (
            &[
                ("PRIMARY_PROBE_URL", PRIMARY),
                ("STANDBY_PROBE_URL", STANDBY),
                ("PROBE_INTERVAL_SECONDS", "25"),
            ][..],
            "divide",
        ),
        (
            &[
                ("PRIMARY_PROBE_URL", PRIMARY),
                ("STANDBY_PROBE_URL", STANDBY),
                ("PROBE_INTERVAL_SECONDS", "5"),
            ][..],
            "outside",
        ),
        (
            &[
                ("PRIMARY_PROBE_URL", PRIMARY),
                ("STANDBY_PROBE_URL", STANDBY),
                ("PROBE_FAILURES", "1"),
            ][..],
            "outside",
        ),
        (
            &[
                ("PRIMARY_PROBE_URL", PRIMARY),
                ("STANDBY_PROBE_URL", STANDBY),
                ("PROBE_FAILURES", "three"),
            ][..],
            "whole number",
        ),
    ] {
        let err =
            ProbeSettings::from_lookup(Job::ProbeStandby, "us-west-2", lookup(bad)).unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    let ok = ProbeSettings::from_lookup(Job::ProbeStandby, "us-west-2", lookup(&BASE)).unwrap();
    assert_eq!((ok.rounds(), ok.failures), (2, 3));
    assert_eq!(ok.detector_settings().quorum, 1);
    assert!(Job::parse("probe-everything").is_err());
}

/// A one-shot HTTP server on loopback answering every request with `status`.
async fn serve(status: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer).await;
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}/prod/health")
}

#[tokio::test]
async fn the_http_prober_wants_a_2xx_in_time_and_follows_no_redirect() {
    use detector::HttpProber;
    let prober = HttpProber::new(std::time::Duration::from_secs(2)).unwrap();
    assert!(prober.healthy(&serve(200).await).await);
    assert!(!prober.healthy(&serve(503).await).await);
    // A redirect (e.g. a captive portal) is not the endpoint answering.
    assert!(!prober.healthy(&serve(302).await).await);
    // Nothing listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    assert!(
        !prober
            .healthy(&format!("http://{closed}/prod/health"))
            .await
    );
}

#[tokio::test]
async fn a_run_reads_its_state_once_and_carries_it_between_rounds() {
    let p = ports();
    run(&p, &settings(Some("eu-west-1"))).await;
    // Two rounds: the own state read once, the witness's report every round.
    assert_eq!(
        p.log.count("state.load(/stop/orders/detector/us-west-2)"),
        1
    );
    assert_eq!(
        p.log.count("state.load(/stop/orders/detector/eu-west-1)"),
        2
    );
    assert_eq!(
        p.log.count("state.save(/stop/orders/detector/us-west-2)"),
        2
    );
}

#[tokio::test]
async fn failing_metrics_or_an_unreadable_state_never_hasten_nor_stop_a_decision() {
    use stop_core::ports::{PortError, StateStore};
    let p = ports();
    let s = settings(None);
    p.prober.set(PRIMARY, false);
    // A state nobody can parse: the count starts again, it does not jump.
    p.store
        .save("/stop/orders/detector/us-west-2", "not json")
        .await
        .unwrap();
    let rounds = run(&p, &s).await;
    assert!(
        rounds[0].problems.iter().any(|m| m.contains("unreadable")),
        "{rounds:?}"
    );
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    // CloudWatch refuses the third round's metrics: it decides all the same.
    p.metrics
        .faults
        .push(PortError::Throttled("Rate exceeded".into()));
    let rounds = run(&p, &s).await;
    assert_eq!(rounds[0].decided_epoch, Some(1), "{rounds:#?}");
    assert!(
        rounds[0].problems.iter().any(|m| m.contains("metrics")),
        "{rounds:?}"
    );
}

#[tokio::test]
async fn a_witness_that_cannot_reach_the_standby_reports_the_error_and_carries_on() {
    use stop_core::ports::PortError;
    let p = ports();
    let s = witness_settings();
    p.prober.set(PRIMARY, false);
    p.store.faults.push(PortError::Unavailable(
        "ssm.us-west-2: connect timeout".into(),
    ));
    let name = "/stop/orders/detector/eu-west-1";
    let rounds = witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    assert!(
        rounds[0]
            .error
            .as_deref()
            .unwrap()
            .contains("connect timeout")
    );
    assert_eq!(rounds[1].error, None);
    // The second round counted from nothing: one failure, not two.
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!(report.primary_failures, 1);
}
