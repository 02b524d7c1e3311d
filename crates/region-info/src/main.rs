use lambda_http::{Error, service_fn};
use region_info::writer::WriterHost;
use region_info::{App, RegionInfo, handle};
use stop_aws::secrets::SecretsManagerSecrets;
use stop_aws::state::SsmStateStore;
use stop_aws::{LazyClient, SystemClock, fence_config, sdk_config};
use stop_core::Config;
use stop_core::fence::{Copies, Fence, Quorum};

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
    // The fence's lease is read from a quorum of the fence record's copies,
    // one per Region, with timeouts that fit inside one request.
    let stores = Quorum::of(&config)
        .copies()
        .into_iter()
        .map(|region| {
            let sdk = fence_config(&sdk, &region);
            let store = SsmStateStore::new(LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new));
            (region, store)
        })
        .collect();
    let fence = Fence::new(&config, Copies::new(&config, stores), SystemClock);
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
