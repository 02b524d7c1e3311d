use std::time::Duration;

use detector::{HttpProber, Job, ProbeSettings, check_scheduled, standby_run, witness_run};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use stop_aws::decisions::fenced_decisions;
use stop_aws::metrics::CloudWatchMetrics;
use stop_aws::readiness::StandbyReaders;
use stop_aws::state::SsmStateStore;
use stop_aws::stop_metric::CloudWatchStopSwitch;
use stop_aws::{LazyClient, SystemClock, sdk_config};
use stop_core::config::Region;
use stop_core::readiness::Expectations;
use stop_core::{Config, Role};

/// A probe gives up well inside the shortest interval (10 s).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

fn refuse(err: impl std::fmt::Display) -> Error {
    tracing::error!(error = %err, "invalid configuration; refusing to start");
    err.to_string().into()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let job = Job::parse(&var("DETECTOR_JOB").unwrap_or_default()).map_err(refuse)?;
    match job {
        Job::ProbeWitness => witness().await,
        Job::ProbeStandby | Job::Readiness => standby(job).await,
    }
}

/// probe-standby and readiness: in the SECONDARY stack, standby-Region clients only.
async fn standby(job: Job) -> Result<(), Error> {
    let config = Config::from_env().map_err(refuse)?;
    if config.role != Role::Secondary {
        return Err(refuse(
            "the detector's standby jobs run in the SECONDARY stack",
        ));
    }
    let sdk = sdk_config(&config.region).await;
    let namespace = config
        .service(&config.service)
        .and_then(|s| s.stop_metric.as_ref())
        .map(|m| m.namespace.clone())
        .ok_or_else(|| {
            refuse("STOP_METRIC_NAMESPACE is required: the detector publishes its metrics there")
        })?;
    let metrics = CloudWatchMetrics::new(
        LazyClient::from_sdk(&sdk, aws_sdk_cloudwatch::Client::new),
        &signal_namespace(&namespace).map_err(refuse)?,
    );
    match job {
        Job::ProbeStandby => {
            let store = SsmStateStore::new(LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new));
            let decisions = fenced_decisions(&sdk, &config);
            let stop = CloudWatchStopSwitch::new(LazyClient::from_sdk(
                &sdk,
                aws_sdk_cloudwatch::Client::new,
            ));
            let clock = SystemClock;
            let settings =
                ProbeSettings::from_lookup(job, config.region.as_str(), var).map_err(refuse)?;
            let prober = HttpProber::new(PROBE_TIMEOUT).map_err(refuse)?;
            let detector = stop_core::detector::Detector {
                config: &config,
                decisions: &decisions,
                stop: &stop,
                clock: &clock,
                settings: settings.detector_settings(),
            };
            let (detector, settings, store, metrics, prober) =
                (&detector, &settings, &store, &metrics, &prober);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                check_scheduled(&event.payload)?;
                let rounds = standby_run(detector, store, metrics, prober, settings).await;
                Ok::<_, Error>(json!({ "outcome": "ran", "rounds": rounds }))
            }))
            .await
        }
        Job::Readiness => {
            let expect = Expectations::from_lookup(var).map_err(refuse)?;
            let readers = StandbyReaders::new(&sdk, &config);
            let standby = readers.standby(&config, expect);
            // Route 53's check of the standby is TCP by default: readiness
            // is what asks the API itself.
            let api_url = var("STANDBY_PROBE_URL");
            let prober = HttpProber::new(PROBE_TIMEOUT).map_err(refuse)?;
            // The report goes where readiness reads the detector's state.
            let (standby, config, store, metrics, api_url, prober) = (
                &standby,
                &config,
                &readers.state,
                &metrics,
                &api_url,
                &prober,
            );
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                check_scheduled(&event.payload)?;
                let mut report = standby.check().await;
                let answer = match api_url {
                    Some(url) => prober.status(url).await,
                    None => Err("no URL".to_owned()),
                };
                report.add_standby_api(api_url.as_deref(), answer);
                for finding in report.failed() {
                    tracing::warn!(check = %finding.check, detail = %finding.detail, fix = ?finding.fix, "not ready");
                }
                // Kept and published even if one of the two fails; a failure
                // fails the invocation, so Lambda's error metric shows it.
                stop_core::readiness::publish(config, &report, store, metrics).await?;
                Ok::<_, Error>(json!({ "outcome": "ran", "ready": report.ready, "failed": report.failed().count() }))
            }))
            .await
        }
        Job::ProbeWitness => Err("probe-witness has its own entry".into()),
    }
}

/// Where heartbeats, probe results and readiness go: never the STOP metric's
/// own namespace, which IAM reserves for the deciders (the trigger and the
/// standby's detector), so that a witness or readiness role cannot publish STOP.
fn signal_namespace(stop_namespace: &str) -> Result<String, String> {
    let signals =
        var("SIGNAL_METRIC_NAMESPACE").unwrap_or_else(|| format!("{stop_namespace}/Signals"));
    if signals == stop_namespace {
        return Err(format!(
            "SIGNAL_METRIC_NAMESPACE={signals:?} is the STOP metric's namespace: heartbeats and readiness go elsewhere"
        ));
    }
    Ok(signals)
}

/// probe-witness: in a third Region, reporting to the standby Region.
async fn witness() -> Result<(), Error> {
    let service = var("SERVICE_NAME").ok_or_else(|| refuse("SERVICE_NAME is required"))?;
    let standby: Region = var("STANDBY_REGION")
        .ok_or_else(|| refuse("STANDBY_REGION is required: the witness reports there"))?
        .parse()
        .map_err(refuse)?;
    let own: Region = var("AWS_REGION")
        .ok_or_else(|| refuse("AWS_REGION is not set (Lambda sets it)"))?
        .parse()
        .map_err(refuse)?;
    let namespace = var("STOP_METRIC_NAMESPACE").unwrap_or_else(|| "StopPattern".to_owned());
    // The same variable as every other function's Config.
    let prefix = var("DECISION_PARAMETER_PREFIX").unwrap_or_else(|| "/stop".to_owned());
    let settings =
        ProbeSettings::from_lookup(Job::ProbeWitness, own.as_str(), var).map_err(refuse)?;
    let prober = HttpProber::new(PROBE_TIMEOUT).map_err(refuse)?;
    // Every client talks to the standby Region: nothing here reaches the primary
    // but the probe.
    let sdk = sdk_config(&standby).await;
    let store = SsmStateStore::new(LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new));
    let metrics = CloudWatchMetrics::new(
        LazyClient::from_sdk(&sdk, aws_sdk_cloudwatch::Client::new),
        &signal_namespace(&namespace).map_err(refuse)?,
    );
    let report_name = stop_core::detector::state_name_in(&prefix, &service, own.as_str());
    let (service, report_name, store, metrics, prober, settings) =
        (&service, &report_name, &store, &metrics, &prober, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        check_scheduled(&event.payload)?;
        let rounds = witness_run(
            service,
            report_name,
            &SystemClock,
            store,
            metrics,
            prober,
            settings,
        )
        .await;
        Ok::<_, Error>(json!({ "outcome": "ran", "rounds": rounds }))
    }))
    .await
}
