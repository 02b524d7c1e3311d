use lambda_runtime::{Error, LambdaEvent, service_fn};
use secret_rewriter::App;
use serde_json::Value;
use stop_aws::database::RdsDatabase;
use stop_aws::decisions::fenced_decisions;
use stop_aws::secrets::SecretsManagerSecrets;
use stop_aws::{LazyClient, SystemClock, in_region, sdk_config};
use stop_core::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    if config.secret_id.is_none() || config.database.is_none() {
        let err = "secret-rewriter needs DB_SECRET_ID and DB_KIND";
        tracing::error!(error = err, "refusing to start");
        return Err(err.into());
    }
    // The primary's clients serve a failback only (both Regions up); built on
    // first use, never on a failover.
    let sdk = sdk_config(&config.region).await;
    let peer = in_region(&sdk, config.primary_region());
    let app = App {
        peer_database: RdsDatabase::new(LazyClient::from_sdk(&peer, aws_sdk_rds::Client::new)),
        peer_secrets: SecretsManagerSecrets::new(LazyClient::from_sdk(
            &peer,
            aws_sdk_secretsmanager::Client::new,
        )),
        decisions: fenced_decisions(&sdk, &config),
        database: RdsDatabase::new(LazyClient::from_sdk(&sdk, aws_sdk_rds::Client::new)),
        secrets: SecretsManagerSecrets::new(LazyClient::from_sdk(
            &sdk,
            aws_sdk_secretsmanager::Client::new,
        )),
        clock: SystemClock,
        config,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Errors name operations and codes only; the secret never appears.
        Ok::<_, Error>(app.handle(&event.payload).await?)
    }))
    .await
}
