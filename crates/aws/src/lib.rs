//! The ports of `stop-core`, implemented with the official AWS SDK for Rust.
//!
//! Every adapter holds clients bound to one Region, each built on its first
//! call ([`LazyClient`]). The failover path binds them to the standby Region
//! only; the SDK's own retry (standard mode) and timeouts are set here once for
//! all of them.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use stop_core::Region;

mod error;
mod lazy;
pub use error::port_error;
pub use lazy::LazyClient;

#[cfg(feature = "autoscaling")]
pub mod capacity;
#[cfg(feature = "rds")]
pub mod database;
#[cfg(feature = "ssm")]
pub mod decisions;
#[cfg(feature = "cloudwatch")]
pub mod metrics;
#[cfg(all(
    feature = "ssm",
    feature = "cloudwatch",
    feature = "arc",
    feature = "rds",
    feature = "autoscaling",
    feature = "secretsmanager"
))]
pub mod readiness;
/// No cfg: it calls nothing.
pub mod replication;
#[cfg(feature = "arc")]
pub mod routing;
#[cfg(feature = "secretsmanager")]
pub mod secrets;
#[cfg(feature = "ssm")]
pub mod state;
#[cfg(feature = "cloudwatch")]
pub mod stop_metric;

/// SDK configuration for one Region: standard retry (3 attempts with jittered
/// backoff, throttling included) and timeouts short enough that a dead endpoint
/// costs seconds, not the whole invocation.
pub async fn sdk_config(region: &Region) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda hands every function its role's keys in the environment, and the
    // default chain would read them first anyway; naming that one provider
    // spares each cold start the rest of the chain (an STS client, profile,
    // ECS and IMDS providers: about 0.5 ms, measured by `scripts/bench`).
    // Elsewhere (an operator's profile or SSO) the whole chain.
    let loader = if std::env::var_os(ACCESS_KEY_ID).is_some() {
        loader.credentials_provider(EnvironmentVariableCredentialsProvider::new())
    } else {
        loader
    };
    loader
        .http_client(http_client(std::env::var_os(NATIVE_ROOTS).is_some()))
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(12))
                .build(),
        )
        .load()
        .await
}

/// The same configuration (credentials, HTTP client, retry, timeouts) bound
/// to another Region: a second Region's clients without loading the whole
/// configuration again at cold start.
pub fn in_region(sdk: &SdkConfig, region: &Region) -> SdkConfig {
    sdk.to_builder()
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .build()
}

/// The configuration for a fence's reads of one copy of the fence record:
/// one retry and 2 s in all, so that a copy out of reach costs one request
/// 2 s, not the SDK's 12 s (the lease, not the retry, rides out a failure).
pub fn fence_config(sdk: &SdkConfig, region: &Region) -> SdkConfig {
    in_region(sdk, region)
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(700))
                .operation_attempt_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .build()
}

/// Set by Lambda (with the secret key and session token) for every function.
const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";

/// The roots of Amazon Trust Services, which every AWS endpoint's certificate
/// chains to. Trusting these five instead of the platform's store keeps a
/// cold start from reading and parsing every certificate on the machine
/// (about 150 files on Debian: 3–6 ms of each function's init, measured by
/// `scripts/bench`), and trusts no one else.
const AMAZON_ROOTS: [&[u8]; 5] = [
    include_bytes!("../certs/AmazonRootCA1.pem"),
    include_bytes!("../certs/AmazonRootCA2.pem"),
    include_bytes!("../certs/AmazonRootCA3.pem"),
    include_bytes!("../certs/AmazonRootCA4.pem"),
    include_bytes!("../certs/SFSRootCAG2.pem"),
];

/// Set (to anything) to trust the platform's roots as well, e.g. behind a
/// TLS-inspecting proxy.
pub const NATIVE_ROOTS: &str = "STOP_TRUST_NATIVE_ROOTS";

/// Amazon Trust Services' roots as PEM, for another HTTPS client of ours (the
/// detector's probes of API Gateway endpoints, whose certificates chain to them).
pub fn amazon_root_pems() -> &'static [&'static [u8]] {
    &AMAZON_ROOTS
}

/// The SDK's rustls client (aws-lc) with Amazon's roots, and the platform's
/// when asked for.
fn http_client(native_roots: bool) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let store = AMAZON_ROOTS.iter().fold(
        TrustStore::empty().with_native_roots(native_roots),
        |store, pem| store.with_pem_certificate(*pem),
    );
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    let client = match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Unreachable with the PEMs above; the platform's roots still work.
        Err(_) => aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https(),
    };
    SharedHttpClient::new(OneTlsSetup(client))
}

/// The SDK's client builds a whole TLS connector (roots parsed, rustls
/// configured) each time a service client is created, only to throw it away,
/// and again for the first request. This one skips the throwaway: the connector
/// is built once, on the first request, and cached for every client sharing
/// the settings (about 60 µs less init per client, measured by `scripts/bench`).
#[derive(Debug)]
struct OneTlsSetup(SharedHttpClient);

impl HttpClient for OneTlsSetup {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        config: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, config)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The wall clock, and tokio's sleep for backoff.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl stop_core::ports::Clock for SystemClock {
    /// The later of the wall clock and the wall clock read once and moved on
    /// by the monotonic clock: a lease's age is the longer of the two
    /// intervals, so it neither shrinks with a step back of the wall clock
    /// nor stands still while a frozen sandbox's monotonic clock does.
    fn now(&self) -> time::OffsetDateTime {
        static START: std::sync::OnceLock<(time::OffsetDateTime, std::time::Instant)> =
            std::sync::OnceLock::new();
        let (wall, instant) =
            START.get_or_init(|| (time::OffsetDateTime::now_utc(), std::time::Instant::now()));
        (*wall + instant.elapsed()).max(time::OffsetDateTime::now_utc())
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(test)]
mod trust_tests {
    use super::AMAZON_ROOTS;

    #[test]
    fn the_amazon_roots_are_five_pem_certificates() {
        for pem in AMAZON_ROOTS {
            let text = std::str::from_utf8(pem).unwrap_or_default();
            assert!(
                text.starts_with("-----BEGIN CERTIFICATE-----"),
                "{text:.40}"
            );
            assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 1);
        }
    }
}
