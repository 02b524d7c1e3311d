use failover_trigger::{App, handle};
use lambda_http::Error;
use stop_aws::decisions::fenced_decisions;
use stop_aws::routing::ArcRoutingControls;
use stop_aws::state::SsmStateStore;
use stop_aws::stop_metric::CloudWatchStopSwitch;
use stop_aws::{LazyClient, SystemClock, sdk_config};
use stop_core::switches::RetryPolicy;
use stop_core::{Config, Role};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    if config.role != Role::Secondary {
        // The standby decides: a trigger in the primary Region would die with it.
        let err = "failover-trigger runs in the SECONDARY (standby) stack only; ROLE is PRIMARY";
        tracing::error!(error = err, "refusing to start");
        return Err(err.into());
    }
    // Every client is bound to this, the standby, Region; the ARC clients to the
    // cluster's own regional endpoints.
    let sdk = sdk_config(&config.region).await;
    let endpoints: Vec<_> = config
        .services
        .iter()
        .filter_map(|s| s.arc.as_ref())
        .flat_map(|arc| arc.endpoints.iter().cloned())
        .collect();
    let app = App {
        decisions: fenced_decisions(&sdk, &config),
        stop: CloudWatchStopSwitch::new(LazyClient::from_sdk(
            &sdk,
            aws_sdk_cloudwatch::Client::new,
        )),
        controls: ArcRoutingControls::new(&sdk, &endpoints),
        clock: SystemClock,
        retry: RetryPolicy::default(),
        state: SsmStateStore::new(LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new)),
        config,
    };
    let app = &app;
    // A malformed envelope gets 400 before the handler, never a panic; the
    // minute's schedule republishes the STOP metric.
    stop_http::envelope::run_with_schedule(
        move |request| handle(app, request),
        Some(move || failover_trigger::on_schedule(app)),
    )
    .await
}
