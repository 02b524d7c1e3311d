//! The detector function: one binary, three jobs on EventBridge schedules
//! (`DETECTOR_JOB`):
//!
//! - `probe-standby` (standby Region, every minute): probes the primary's
//!   regional endpoint and the standby's own, `60 / PROBE_INTERVAL_SECONDS`
//!   rounds a run, and on a quorum decides through the one decision path
//!   ([`stop_core::detector`]);
//! - `probe-witness` (a third Region): probes the primary and reports to the
//!   standby Region; decides nothing;
//! - `readiness` (standby Region, every few minutes): [`stop_core::readiness`],
//!   kept for `GET /status` and published as a metric.
//!
//! The payload only has to be a scheduled event: nothing in it can make the
//! detector decide; only its own probes can.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use stop_core::detector::{
    Assessment, Detector, Probe, RoundNotes, Seen, Settings, Target, witness_round,
};
use stop_core::ports::{Clock, DecisionStore, Metrics, StateStore, StopSwitch};

/// Which of the three jobs this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    ProbeStandby,
    ProbeWitness,
    Readiness,
}

impl Job {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "probe-standby" => Ok(Job::ProbeStandby),
            "probe-witness" => Ok(Job::ProbeWitness),
            "readiness" => Ok(Job::Readiness),
            other => Err(format!(
                "DETECTOR_JOB={other:?}: expected probe-standby, probe-witness or readiness"
            )),
        }
    }
}

/// Accepts an EventBridge scheduled event and nothing else.
/// <https://docs.aws.amazon.com/lambda/latest/dg/with-scheduled-events.html>
/// (through EventBridge no one else can send source `aws.events`: custom sources
/// may not start with `aws.`; a direct invoke can, but the payload is never read)
pub fn check_scheduled(payload: &Value) -> Result<(), String> {
    let scheduled = payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && payload.get("source").and_then(Value::as_str) == Some("aws.events");
    if scheduled {
        Ok(())
    } else {
        Err("not an EventBridge scheduled event (detail-type \"Scheduled Event\", source \"aws.events\"); the detector runs only on its schedule".to_owned())
    }
}

/// One HTTP probe: up on a 2xx within the timeout; down on no answer or a
/// 5xx; no evidence on a 4xx (429 above all: a flood empties API Gateway's
/// throttle bucket without the Region being down).
pub trait Prober: Send + Sync {
    fn probe(&self, url: &str) -> impl Future<Output = Seen> + Send;
}

/// What an HTTP status says about the Region that answered it. API Gateway
/// answers 429 when a method's or the account's throttle limit is exceeded
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html>);
/// any 4xx is an answer from a Region that is up.
pub fn seen_from_status(status: u16) -> Seen {
    match status {
        200..=299 => Seen::Up,
        400..=499 => Seen::NoEvidence,
        _ => Seen::Down,
    }
}

/// Probes with reqwest: GET, no redirects, a timeout well inside the interval.
pub struct HttpProber {
    client: reqwest::Client,
}

impl HttpProber {
    /// Trusts Amazon's roots only (API Gateway's certificates, custom domains
    /// with ACM certificates, chain to them), as the SDK clients do: parsing
    /// the platform's store costs a cold start about 20 M instructions
    /// (`scripts/bench`). `STOP_TRUST_NATIVE_ROOTS` adds the platform's roots,
    /// for an endpoint with a certificate from another CA.
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let roots = stop_aws::amazon_root_pems()
            .iter()
            .map(|pem| {
                reqwest::Certificate::from_pem(pem).map_err(|e| format!("root certificate: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("stop-detector");
        let builder = if std::env::var_os(stop_aws::NATIVE_ROOTS).is_some() {
            builder.tls_certs_merge(roots)
        } else {
            builder.tls_certs_only(roots)
        };
        builder
            .build()
            .map(|client| HttpProber { client })
            .map_err(|e| format!("HTTP client: {e}"))
    }
}

impl HttpProber {
    /// The status `GET url` answered, or why there was no answer.
    pub async fn status(&self, url: &str) -> Result<u16, String> {
        match self.client.get(url).send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => {
                tracing::info!(url, %error, "probe failed");
                Err(error.to_string())
            }
        }
    }
}

impl Prober for HttpProber {
    async fn probe(&self, url: &str) -> Seen {
        match self.status(url).await {
            Ok(status) => {
                let seen = seen_from_status(status);
                if seen != Seen::Up {
                    tracing::info!(url, status, ?seen, "probe");
                }
                seen
            }
            Err(_) => Seen::Down,
        }
    }
}

/// The probing settings, from the environment the template sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSettings {
    /// Where this function runs: the vantage point's name.
    pub vantage: String,
    /// The primary Region's own regional endpoint (its `/health`), not the failover name.
    pub primary_url: String,
    /// The standby's own health (probe-standby only).
    pub standby_url: Option<String>,
    pub interval: Duration,
    pub failures: u32,
    /// The witness Region whose reports count (probe-standby only).
    pub witness: Option<String>,
}

impl ProbeSettings {
    pub fn from_lookup(
        job: Job,
        vantage: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let url = |k: &str| -> Result<String, String> {
            let value = get(k).ok_or_else(|| format!("{k} is required: the URL to probe"))?;
            if !value.starts_with("https://") && !value.starts_with("http://") {
                return Err(format!("{k}={value:?}: not an http(s) URL"));
            }
            Ok(value)
        };
        let number = |k: &str, default: u64, range: std::ops::RangeInclusive<u64>| {
            let value = match get(k) {
                None => default,
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{k}={v:?}: not a whole number"))?,
            };
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(format!("{k}={value}: outside {range:?}"))
            }
        };
        let interval = number("PROBE_INTERVAL_SECONDS", 30, 10..=60)?;
        if 60 % interval != 0 {
            return Err(format!(
                "PROBE_INTERVAL_SECONDS={interval}: must divide the one-minute schedule"
            ));
        }
        Ok(ProbeSettings {
            vantage: vantage.to_owned(),
            primary_url: url("PRIMARY_PROBE_URL")?,
            standby_url: match job {
                Job::ProbeStandby => Some(url("STANDBY_PROBE_URL")?),
                _ => None,
            },
            interval: Duration::from_secs(interval),
            failures: number(
                "PROBE_FAILURES",
                u64::from(Settings::default().failures),
                2..=10,
            )? as u32,
            witness: match job {
                Job::ProbeStandby => get("WITNESS_REGION").filter(|w| w != vantage),
                _ => None,
            },
        })
    }

    /// Rounds in one run of the one-minute schedule.
    pub fn rounds(&self) -> u64 {
        (60 / self.interval.as_secs().max(1)).max(1)
    }

    /// With a witness, both vantage points must agree; alone, the standby's
    /// own probes are the quorum.
    pub fn detector_settings(&self) -> Settings {
        Settings {
            failures: self.failures,
            quorum: if self.witness.is_some() { 2 } else { 1 },
            spacing: Settings::spacing_for(self.interval),
        }
    }
}

/// What one round saw and did, for the function's answer and its log.
#[derive(Debug, Clone, Serialize)]
pub struct RoundSummary {
    pub probes: Vec<Probe>,
    pub assessment: Option<Assessment>,
    pub decided_epoch: Option<u64>,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A run of probe-standby: the schedule's minute in rounds. `detector`
/// carries [`ProbeSettings::detector_settings`].
pub async fn standby_run<D, S, C, T, M, P>(
    detector: &Detector<'_, D, S, C>,
    store: &T,
    metrics: &M,
    prober: &P,
    settings: &ProbeSettings,
) -> Vec<RoundSummary>
where
    D: DecisionStore,
    S: StopSwitch,
    C: Clock,
    T: StateStore,
    M: Metrics,
    P: Prober,
{
    let clock = detector.clock;
    let standby_url = settings.standby_url.as_deref().unwrap_or_default();
    let mut summaries = Vec::new();
    // The state, loaded by the first round and carried to the next.
    let mut kept = None;
    for round in 0..settings.rounds() {
        if round > 0 {
            clock.sleep(settings.interval).await;
        }
        let (primary, standby) = tokio::join!(
            prober.probe(&settings.primary_url),
            prober.probe(standby_url)
        );
        let probes = vec![
            Probe::new(settings.vantage.clone(), Target::Primary, primary),
            Probe::new(settings.vantage.clone(), Target::Standby, standby),
        ];
        let (outcome, RoundNotes { problems }) = detector
            .round(
                store,
                metrics,
                settings.witness.as_deref(),
                &probes,
                &mut kept,
            )
            .await;
        let summary = match outcome {
            Ok(outcome) => RoundSummary {
                probes,
                decided_epoch: outcome.decided.then_some(outcome.epoch).flatten(),
                assessment: Some(outcome.assessment),
                error: None,
                problems,
            },
            Err(error) => RoundSummary {
                probes,
                assessment: None,
                decided_epoch: None,
                error: Some(error.to_string()),
                problems,
            },
        };
        tracing::info!(round = ?summary, "detector round");
        summaries.push(summary);
    }
    summaries
}

/// A run of probe-witness: probes of the primary, each reported to the
/// standby Region. Decides nothing.
pub async fn witness_run<C, T, M, P>(
    service: &str,
    report_name: &str,
    clock: &C,
    store: &T,
    metrics: &M,
    prober: &P,
    settings: &ProbeSettings,
) -> Vec<RoundSummary>
where
    C: Clock,
    T: StateStore,
    M: Metrics,
    P: Prober,
{
    let mut summaries = Vec::new();
    let mut previous = None;
    for round in 0..settings.rounds() {
        if round > 0 {
            clock.sleep(settings.interval).await;
        }
        let probe = Probe::new(
            settings.vantage.clone(),
            Target::Primary,
            prober.probe(&settings.primary_url).await,
        );
        let witness = stop_core::detector::Witness {
            report_name,
            service,
            spacing: settings.detector_settings().spacing,
        };
        let reported = witness_round(
            store,
            metrics,
            &witness,
            &probe,
            clock.now(),
            previous.take(),
        )
        .await;
        let error = match reported {
            Ok(report) => {
                previous = Some(report);
                None
            }
            Err(e) => Some(e.to_string()),
        };
        let summary = RoundSummary {
            probes: vec![probe],
            assessment: None,
            decided_epoch: None,
            error,
            problems: Vec::new(),
        };
        tracing::info!(round = ?summary, "witness round");
        summaries.push(summary);
    }
    summaries
}
