use lambda_http::Error;
use region_info::{App, RegionInfo, handle};
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
    // GET / never pays for the fence's SSM client.
    let sdk = sdk_config(&config.region).await;
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
        fence,
    };
    let app = &app;
    // A malformed envelope gets 400 before the handler, never a panic.
    stop_http::envelope::run(move |request| handle(app, request)).await
}
