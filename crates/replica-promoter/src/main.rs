// The promoter's reconcile future nests deeply (each step an async block).
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use replica_promoter::{App, Invocation, account_of};
use serde_json::Value;
use stop_aws::capacity::AutoScalingCapacity;
use stop_aws::database::RdsDatabase;
use stop_aws::decisions::fenced_decisions;
use stop_aws::stop_metric::CloudWatchStopSwitch;
use stop_aws::{LazyClient, SystemClock, in_region, sdk_config};
use stop_core::{Config, Role};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    if config.role != Role::Secondary || config.promoter_alarm_name.is_none() {
        let err = "replica-promoter runs in the SECONDARY stack with STOP_ALARM_NAME or PROMOTER_ALARM_NAME set";
        tracing::error!(error = err, "refusing to start");
        return Err(err.into());
    }
    // The failover leg uses standby-Region clients only: the primary may be
    // gone. The primary's RDS serves a failback and a re-protect, both made
    // with the primary up; its client is built on first use, never before.
    let sdk = sdk_config(&config.region).await;
    let peer = in_region(&sdk, config.primary_region());
    let app = App {
        decisions: fenced_decisions(&sdk, &config),
        database: RdsDatabase::new(LazyClient::from_sdk(&sdk, aws_sdk_rds::Client::new))
            .with_metrics(LazyClient::from_sdk(&sdk, aws_sdk_cloudwatch::Client::new)),
        peer_database: RdsDatabase::new(LazyClient::from_sdk(&peer, aws_sdk_rds::Client::new))
            .with_metrics(LazyClient::from_sdk(&peer, aws_sdk_cloudwatch::Client::new)),
        stop: CloudWatchStopSwitch::new(LazyClient::from_sdk(
            &sdk,
            aws_sdk_cloudwatch::Client::new,
        )),
        capacity: AutoScalingCapacity::new(LazyClient::from_sdk(
            &sdk,
            aws_sdk_autoscaling::Client::new,
        )),
        clock: SystemClock,
        // No function here reaches the databases' network yet: a planned RDS
        // move stops at its drain, saying so (docs/design.md, "Drain by position").
        replication: stop_aws::replication::NoDatabaseAccess,
        config,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let account = account_of(&event.context.invoked_function_arn)
            .unwrap_or_default()
            .to_owned();
        let invocation = Invocation::parse(event.payload)?;
        // Lambda's deadline for this invocation, in milliseconds since the epoch.
        let deadline = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(event.context.deadline) * 1_000_000,
        )
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let report = app
            .invoke_and_follow(invocation, &account, deadline)
            .await?;
        Ok::<_, Error>(report)
    }))
    .await
}
