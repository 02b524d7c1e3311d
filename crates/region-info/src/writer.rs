//! Which database writer this Region's secret points at: the `host` field only,
//! never a credential, cached for a few seconds so that a client polling `GET /`
//! costs Secrets Manager one call per cache period.

use std::sync::Mutex;

use stop_core::ports::{Clock, Secrets};
use time::{Duration, OffsetDateTime};

pub const CACHE_FOR: Duration = Duration::seconds(5);

pub struct WriterHost<S, C> {
    secrets: S,
    clock: C,
    secret_id: String,
    cached: Mutex<Option<(OffsetDateTime, Result<String, String>)>>,
}

impl<S: Secrets, C: Clock> WriterHost<S, C> {
    pub fn new(secrets: S, clock: C, secret_id: &str) -> Self {
        WriterHost {
            secrets,
            clock,
            secret_id: secret_id.to_owned(),
            cached: Mutex::new(None),
        }
    }

    /// The host, or a short reason it is unknown (never the secret's content).
    pub async fn get(&self) -> Result<String, String> {
        let now = self.clock.now();
        if let Some((at, value)) = self.cached.lock().ok().and_then(|c| c.clone())
            && now - at < CACHE_FOR
        {
            return value;
        }
        let value = match self.secrets.get_current(&self.secret_id).await {
            Ok(secret) => serde_json::from_str::<serde_json::Value>(secret.value.expose())
                .ok()
                .and_then(|v| v.get("host")?.as_str().map(str::to_owned))
                .ok_or_else(|| "the secret has no host field".to_owned()),
            Err(error) => {
                tracing::warn!(%error, "could not read the database secret");
                Err("the database secret is unavailable".to_owned())
            }
        };
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((now, value.clone()));
        }
        value
    }
}
