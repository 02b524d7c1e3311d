use lambda_http::{Error, service_fn};
use region_info::{RegionInfo, handle};
use stop_core::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON lines when the function's LoggingConfig asks for them (the template does).
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(error = %err, "invalid configuration; refusing to start");
    })?;
    let info = RegionInfo::from_config(&config);
    let info = &info;
    lambda_http::run(service_fn(move |request| async move {
        Ok::<_, Error>(handle(info, request).await)
    }))
    .await
}
