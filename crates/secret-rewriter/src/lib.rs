//! The secret rewriter's triggers: RDS event notifications through SNS (a
//! promotion or a global failover finished), a direct invoke, or a schedule.
//! Every trigger runs the same idempotent reconcile pass; RDS events about
//! other databases are dropped without an AWS call.

use aws_lambda_events::event::sns::SnsEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stop_core::config::{Config, DatabaseConfig};
use stop_core::ports::{Clock, Database, DecisionStore, Secrets};
use stop_core::rewriter::{Rewrite, RewriteError, Rewriter};

/// An RDS event notification (the SNS message body); other fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct RdsEvent {
    #[serde(rename = "Source ID")]
    pub source_id: String,
    #[serde(rename = "Source ARN", default)]
    pub source_arn: Option<String>,
    #[serde(rename = "Event Message", default)]
    pub message: Option<String>,
}

/// What the function was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// RDS events about our database, or a direct or scheduled run.
    Run(String),
    /// Nothing of ours; the reason is logged.
    Ignore(String),
}

#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Report {
    Ignored { reason: String },
    Ran { trigger: String, rewrite: Rewrite },
}

/// Reads the invocation payload: SNS-delivered RDS events, an EventBridge
/// schedule, or a direct invoke (any other JSON object).
pub fn trigger(payload: &Value, config: &Config) -> Trigger {
    let ours: Vec<&str> = match &config.database {
        Some(DatabaseConfig::RdsReplica { replica_id, .. }) => vec![replica_id.as_str()],
        Some(DatabaseConfig::AuroraGlobal {
            global_cluster_id,
            cluster_id,
        }) => vec![global_cluster_id.as_str(), cluster_id.as_str()],
        None => Vec::new(),
    };
    if payload.get("Records").is_none() {
        return match payload.get("detail-type").and_then(Value::as_str) {
            Some("Scheduled Event") => Trigger::Run("schedule".to_owned()),
            _ if payload.is_object() => Trigger::Run("direct invoke".to_owned()),
            _ => Trigger::Ignore("the payload is not a JSON object".to_owned()),
        };
    }
    let sns: SnsEvent = match serde_json::from_value(payload.clone()) {
        Ok(sns) => sns,
        Err(e) => return Trigger::Ignore(format!("not an SNS delivery: {e}")),
    };
    let own_region = format!(":{}:", config.region);
    for record in &sns.records {
        let Ok(event) = serde_json::from_str::<RdsEvent>(&record.sns.message) else {
            continue;
        };
        // A global resource's ARN has no Region (`arn:aws:rds::…:global-cluster:…`):
        // it belongs to every Region of the pair.
        // <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>
        let in_region = event
            .source_arn
            .as_deref()
            .is_none_or(|arn| arn.contains(&own_region) || arn.split(':').nth(3) == Some(""));
        if ours.contains(&event.source_id.as_str()) && in_region {
            return Trigger::Run(format!(
                "RDS event for {}: {}",
                event.source_id,
                event.message.as_deref().unwrap_or("")
            ));
        }
    }
    Trigger::Ignore(format!(
        "{} SNS record(s), none an RDS event for {} in {}",
        sns.records.len(),
        ours.join(" or "),
        config.region
    ))
}

pub struct App<D, B, S, C> {
    pub config: Config,
    pub decisions: D,
    /// This (standby) Region's database and secret.
    pub database: B,
    pub secrets: S,
    /// The primary Region's, for a failback only.
    pub peer_database: B,
    pub peer_secrets: S,
    pub clock: C,
}

impl<D, B, S, C> App<D, B, S, C>
where
    D: DecisionStore,
    B: Database,
    S: Secrets,
    C: Clock,
{
    pub async fn handle(&self, payload: &Value) -> Result<Report, RewriteError> {
        let reason = match trigger(payload, &self.config) {
            Trigger::Ignore(reason) => {
                tracing::info!(%reason, "ignored");
                return Ok(Report::Ignored { reason });
            }
            Trigger::Run(reason) => reason,
        };
        let rewriter = Rewriter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.database,
            secrets: &self.secrets,
            peer_database: &self.peer_database,
            peer_secrets: &self.peer_secrets,
            clock: &self.clock,
        };
        let rewrite = rewriter.run().await?;
        Ok(Report::Ran {
            trigger: reason,
            rewrite,
        })
    }
}
