use lambda_http::{Error, service_fn};
use region_info::writer::WriterHost;
use region_info::{App, RegionInfo, handle};
use stop_aws::decisions::SsmDecisionStore;
use stop_aws::secrets::SecretsManagerSecrets;
use stop_aws::{LazyClient, SystemClock, sdk_config};
use stop_core::Config;
use stop_core::fence::Fence;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON lines when the function's LoggingConfig asks for them (the template does).
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    // Only with a database secret configured does the function talk to AWS.
    let writer = match &config.secret_id {
        Some(secret_id) => {
            let sdk = sdk_config(&config.region).await;
            let secrets = SecretsManagerSecrets::new(LazyClient::from_sdk(
                &sdk,
                aws_sdk_secretsmanager::Client::new,
            ));
            Some(WriterHost::new(secrets, SystemClock, secret_id))
        }
        None => None,
    };
    // The fence reads the decision record where it lives, in the standby
    // Region; the client is built on the first write, not at start.
    let standby = sdk_config(config.standby_region()).await;
    let fence = Fence::new(
        SsmDecisionStore::new(
            LazyClient::from_sdk(&standby, aws_sdk_ssm::Client::new),
            &config.decision_prefix,
        ),
        SystemClock,
        &config.service,
        config.region.clone(),
        config.primary_region().clone(),
    );
    let app = App {
        info: RegionInfo::from_config(&config),
        writer,
        fence,
    };
    let app = &app;
    lambda_http::run(service_fn(move |request| async move {
        Ok::<_, Error>(handle(app, request).await)
    }))
    .await
}
