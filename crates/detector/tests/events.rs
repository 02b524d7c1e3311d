#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The detector's handler path with in-memory ports and a scripted prober:
//! every sample in events/detector/, the quorum across runs, a silent
//! witness, the witness's own job, and its settings.

use std::collections::HashMap;
use std::sync::Mutex;

use detector::{Job, ProbeSettings, Prober, check_scheduled, standby_run, witness_run};
use stop_core::detector::{Seen, State, VantageReport};
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
struct Scripted(Mutex<HashMap<String, Seen>>);

impl Scripted {
    fn set(&self, url: &str, healthy: bool) {
        self.see(url, if healthy { Seen::Up } else { Seen::Down });
    }

    fn see(&self, url: &str, seen: Seen) {
        self.0.lock().unwrap().insert(url.to_owned(), seen);
    }
}

impl Prober for Scripted {
    async fn probe(&self, url: &str) -> Seen {
        self.0.lock().unwrap().get(url).copied().unwrap_or(Seen::Up)
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
    let rounds = standby_run(&detector, &p.store, &p.metrics, &p.prober, settings).await;
    // The schedule's next minute starts one interval after this run's last round.
    p.clock.advance(time::Duration::seconds(30));
    rounds
}

/// The witness's fresh report, written through the port as its own job does.
async fn witness_reports(p: &Ports, failures: u32) {
    let report = VantageReport {
        vantage: "eu-west-1".into(),
        primary_failures: failures,
        armed: true,
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
    run(&p, &s).await; // armed: the primary answered
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
    assert_eq!(p.metrics.values("DetectorHeartbeat").len(), 6);
    assert_eq!(p.metrics.values("ProbeFailed").len(), 12);
}

#[tokio::test]
async fn a_silent_witness_is_no_quorum_and_the_standby_alone_never_decides() {
    let p = ports();
    let s = settings(Some("eu-west-1"));
    run(&p, &s).await;
    p.prober.set(PRIMARY, false);
    for _ in 0..5 {
        run(&p, &s).await;
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    // A stale report (ten minutes old) is no evidence either.
    let stale = VantageReport {
        vantage: "eu-west-1".into(),
        primary_failures: 30,
        armed: true,
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
    run(&p, &s).await;
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
    let name = "/stop/orders/detector/eu-west-1";
    // Unarmed: failures from the first probe count nothing.
    p.prober.set(PRIMARY, false);
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    p.clock.advance(time::Duration::seconds(30));
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!((report.primary_failures, report.armed), (0, false));
    p.prober.set(PRIMARY, true);
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    p.clock.advance(time::Duration::seconds(30));
    p.prober.set(PRIMARY, false);
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    p.clock.advance(time::Duration::seconds(30));
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!(report.primary_failures, 2);
    p.prober.set(PRIMARY, true);
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    p.clock.advance(time::Duration::seconds(30));
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
    assert_eq!(prober.probe(&serve(200).await).await, Seen::Up);
    assert_eq!(prober.probe(&serve(503).await).await, Seen::Down);
    // A redirect (e.g. a captive portal) is not the endpoint answering.
    assert_eq!(prober.probe(&serve(302).await).await, Seen::Down);
    // Throttled, or any other 4xx: the Region answered; no evidence either way.
    assert_eq!(prober.probe(&serve(429).await).await, Seen::NoEvidence);
    assert_eq!(prober.probe(&serve(403).await).await, Seen::NoEvidence);
    // Nothing listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    assert_eq!(
        prober.probe(&format!("http://{closed}/prod/health")).await,
        Seen::Down
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
async fn an_unreadable_state_starts_again_unarmed_and_never_hastens() {
    use stop_core::ports::StateStore;
    let p = ports();
    let s = settings(None);
    run(&p, &s).await;
    p.prober.set(PRIMARY, false);
    // A state nobody can parse: the count starts again, it does not jump, and
    // the vantage point must see the primary healthy again before it counts.
    p.store
        .save("/stop/orders/detector/us-west-2", "not json")
        .await
        .unwrap();
    let rounds = run(&p, &s).await;
    assert!(
        rounds[0].problems.iter().any(|m| m.contains("unreadable")),
        "{rounds:?}"
    );
    for _ in 0..5 {
        run(&p, &s).await;
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
}

#[tokio::test]
async fn failing_metrics_never_stop_a_decision() {
    use stop_core::ports::PortError;
    let p = ports();
    let s = settings(None);
    run(&p, &s).await;
    p.prober.set(PRIMARY, false);
    run(&p, &s).await;
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
async fn an_anonymous_flood_at_any_rate_fails_nothing_over() {
    // Anyone can empty the primary's throttle bucket: every probe from both
    // vantage points gets 429 for an hour, and so does the standby's own
    // /health afterwards. No decision, no STOP.
    let p = ports();
    let s = settings(Some("eu-west-1"));
    let w = witness_settings();
    let name = "/stop/orders/detector/eu-west-1";
    run(&p, &s).await;
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &w,
    )
    .await;
    p.prober.see(PRIMARY, Seen::NoEvidence);
    for minute in 0..60 {
        if minute == 30 {
            p.prober.see(STANDBY, Seen::NoEvidence);
        }
        witness_run(
            "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &w,
        )
        .await;
        run(&p, &s).await;
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
    assert_eq!(p.log.count("stop.publish"), 0);
    let report: VantageReport = serde_json::from_str(&p.store.text(name).unwrap()).unwrap();
    assert_eq!(report.primary_failures, 0);
    // Taking the rule out (429 read as down) must fail over: the same flood,
    // scored as failures, decides.
    let q = ports();
    run(&q, &s).await;
    witness_run(
        "orders", name, &q.clock, &q.store, &q.metrics, &q.prober, &w,
    )
    .await;
    q.prober.set(PRIMARY, false);
    for _ in 0..3 {
        witness_run(
            "orders", name, &q.clock, &q.store, &q.metrics, &q.prober, &w,
        )
        .await;
        run(&q, &s).await;
    }
    assert_eq!(q.decisions.history("orders").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_primary_never_seen_healthy_is_never_failed_over() {
    // A mistyped PrimaryProbeUrl or a primary not deployed yet: every probe
    // fails from the first, from both vantage points, for an hour.
    let p = ports();
    let s = settings(Some("eu-west-1"));
    let w = witness_settings();
    let name = "/stop/orders/detector/eu-west-1";
    p.prober.set(PRIMARY, false);
    for _ in 0..60 {
        witness_run(
            "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &w,
        )
        .await;
        let rounds = run(&p, &s).await;
        assert!(
            rounds
                .iter()
                .all(|r| matches!(r.assessment, Some(stop_core::detector::Assessment::Unarmed))),
            "{rounds:?}"
        );
    }
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
}

#[tokio::test]
async fn extra_invocations_do_not_count_failures_seconds_apart() {
    // The schedule's run plus nine manual invocations in the same minute: the
    // clock does not move between them, so they share the first one's slot.
    let p = ports();
    let s = settings(None);
    run(&p, &s).await;
    p.prober.set(PRIMARY, false);
    let config = standby_config(&[]);
    let detector = stop_core::detector::Detector {
        config: &config,
        decisions: &p.decisions,
        stop: &p.stop,
        clock: &p.clock,
        settings: s.detector_settings(),
    };
    let mut kept = None;
    let probes = [
        stop_core::detector::Probe::new(
            "us-west-2",
            stop_core::detector::Target::Primary,
            Seen::Down,
        ),
        stop_core::detector::Probe::new(
            "us-west-2",
            stop_core::detector::Target::Standby,
            Seen::Up,
        ),
    ];
    for _ in 0..10 {
        let (outcome, _) = detector
            .round(&p.store, &p.metrics, None, &probes, &mut kept)
            .await;
        assert!(!outcome.unwrap().decided);
    }
    assert_eq!(kept.unwrap().primary_failures["us-west-2"], 1);
    assert!(p.decisions.history("orders").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_witness_that_cannot_reach_the_standby_reports_the_error_and_carries_on() {
    use stop_core::ports::PortError;
    let p = ports();
    let s = witness_settings();
    let name = "/stop/orders/detector/eu-west-1";
    witness_run(
        "orders", name, &p.clock, &p.store, &p.metrics, &p.prober, &s,
    )
    .await;
    p.clock.advance(time::Duration::seconds(30));
    p.prober.set(PRIMARY, false);
    p.store.faults.push(PortError::Unavailable(
        "ssm.us-west-2: connect timeout".into(),
    ));
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
