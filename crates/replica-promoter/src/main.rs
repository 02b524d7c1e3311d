use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use replica_promoter::{App, account_of};
use stop_aws::capacity::AutoScalingCapacity;
use stop_aws::database::RdsDatabase;
use stop_aws::decisions::SsmDecisionStore;
use stop_aws::{LazyClient, SystemClock, sdk_config};
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
    // Standby-Region clients only: the primary may be gone.
    let sdk = sdk_config(&config.region).await;
    let app = App {
        decisions: SsmDecisionStore::new(
            LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new),
            &config.decision_prefix,
        ),
        database: RdsDatabase::new(LazyClient::from_sdk(&sdk, aws_sdk_rds::Client::new)),
        capacity: AutoScalingCapacity::new(LazyClient::from_sdk(
            &sdk,
            aws_sdk_autoscaling::Client::new,
        )),
        clock: SystemClock,
        config,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        let account = account_of(&event.context.invoked_function_arn)
            .unwrap_or_default()
            .to_owned();
        let report = app.handle(event.payload, &account).await?;
        Ok::<_, Error>(report)
    }))
    .await
}
