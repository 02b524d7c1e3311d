//! Service clients built on first use.
//!
//! Building an SDK service client parses that service's copy of the AWS
//! partition table and compiles its region regexes: about 0.4 million
//! instructions, roughly 0.15 ms, per service (measured with callgrind on the
//! functions' init). A cold start pays it only for the services its event
//! needs: an ignored alarm, the console page or an unrelated RDS event needs
//! none, and the first real call pays it once beside a TLS handshake that
//! costs a hundred times more.

use std::fmt;
use std::sync::LazyLock;

use aws_config::SdkConfig;

type Build<C> = Box<dyn FnOnce() -> C + Send>;

/// A client of type `C`, made by its `build` closure the first time
/// [`LazyClient::get`] is called, then kept.
pub struct LazyClient<C>(LazyLock<C, Build<C>>);

impl<C: 'static> LazyClient<C> {
    /// A client that `build` makes on first use.
    pub fn new(build: impl FnOnce() -> C + Send + 'static) -> Self {
        LazyClient(LazyLock::new(Box::new(build)))
    }

    /// A client that `build` (e.g. `aws_sdk_ssm::Client::new`) makes from `sdk`
    /// on first use.
    pub fn from_sdk(sdk: &SdkConfig, build: fn(&SdkConfig) -> C) -> Self {
        let sdk = sdk.clone();
        Self::new(move || build(&sdk))
    }
}

impl<C> LazyClient<C> {
    /// The client, built now if this is the first call.
    pub fn get(&self) -> &C {
        &self.0
    }
}

/// A client built already (tests hand in mocks this way).
impl<C: Send + 'static> From<C> for LazyClient<C> {
    fn from(client: C) -> Self {
        Self::new(move || client)
    }
}

impl<C> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LazyClient")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::LazyClient;

    #[test]
    fn builds_on_first_use_and_only_once() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&builds);
        let lazy = LazyClient::new(move || counter.fetch_add(1, Ordering::SeqCst) + 100);
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing built before use");
        assert_eq!(*lazy.get(), 100);
        assert_eq!(*lazy.get(), 100);
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_ready_client_is_used_as_given() {
        let lazy = LazyClient::from(String::from("mock"));
        assert_eq!(lazy.get(), "mock");
    }

    #[test]
    fn from_sdk_builds_with_the_given_configuration() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-west-2"))
            .build();
        let lazy = LazyClient::from_sdk(&sdk, |sdk| {
            sdk.region().map(|r| r.to_string()).unwrap_or_default()
        });
        assert_eq!(lazy.get(), "us-west-2");
    }
}
