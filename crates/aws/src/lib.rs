//! The ports of `stop-core`, implemented with the official AWS SDK for Rust.
//!
//! Every adapter holds clients bound to one Region when it is built. The
//! failover path builds them for the standby Region only; the SDK's own retry
//! (standard mode) and timeouts are set here once for all of them.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use stop_core::Region;

mod error;
pub use error::port_error;

#[cfg(feature = "autoscaling")]
pub mod capacity;
#[cfg(feature = "rds")]
pub mod database;
#[cfg(feature = "ssm")]
pub mod decisions;
#[cfg(feature = "arc")]
pub mod routing;
#[cfg(feature = "secretsmanager")]
pub mod secrets;
#[cfg(feature = "cloudwatch")]
pub mod stop_metric;

/// SDK configuration for one Region: standard retry (3 attempts with jittered
/// backoff, throttling included) and timeouts short enough that a dead endpoint
/// costs seconds, not the whole invocation.
pub async fn sdk_config(region: &Region) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
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

/// The wall clock, and tokio's sleep for backoff.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl stop_core::ports::Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
