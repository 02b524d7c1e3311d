use lambda_http::{Error, service_fn};
use region_info::writer::WriterHost;
use region_info::{App, RegionInfo, handle};
use stop_aws::decisions::SsmDecisionStore;
use stop_aws::secrets::SecretsManagerSecrets;
use stop_aws::{LazyClient, SystemClock, in_region, sdk_config};
use stop_core::Config;
use stop_core::fence::Fence;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON lines when the function's LoggingConfig asks for them (the template does).
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    // One configuration load; every client is built on its first call, so a
    // GET / never pays for the fence's SSM client or the secret's.
    let sdk = sdk_config(&config.region).await;
    let writer = match &config.secret_id {
        Some(secret_id) => {
            let secrets = SecretsManagerSecrets::new(LazyClient::from_sdk(
                &sdk,
                aws_sdk_secretsmanager::Client::new,
            ));
            Some(WriterHost::new(secrets, SystemClock, secret_id))
        }
        None => None,
    };
    // The fence reads the decision record where it lives, in the standby Region.
    let standby = in_region(&sdk, config.standby_region());
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
