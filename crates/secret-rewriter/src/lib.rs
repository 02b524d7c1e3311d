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
/// "Event Source" is the kind of resource (`db-instance`, `db-cluster`,
/// `db-snapshot`, …): a snapshot named like the database is not the database.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-rds.html>
#[derive(Debug, Clone, Deserialize)]
pub struct RdsEvent {
    #[serde(rename = "Event Source", default)]
    pub event_source: Option<String>,
    #[serde(rename = "Source ID")]
    pub source_id: String,
    #[serde(rename = "Source ARN", default)]
    pub source_arn: Option<String>,
    #[serde(rename = "Event Message", default)]
    pub message: Option<String>,
}

/// Our database's resources: (identifier, the RDS event source kind, the ARN
/// resource type).
fn our_resources(config: &Config) -> Vec<(&str, &'static str, &'static str)> {
    match &config.database {
        Some(DatabaseConfig::RdsReplica { replica_id, .. }) => {
            vec![(replica_id.as_str(), "db-instance", "db")]
        }
        Some(DatabaseConfig::AuroraGlobal {
            global_cluster_id,
            cluster_id,
        }) => vec![
            (
                global_cluster_id.as_str(),
                "global-cluster",
                "global-cluster",
            ),
            (cluster_id.as_str(), "db-cluster", "cluster"),
        ],
        None => Vec::new(),
    }
}

/// Whether `arn` is exactly `arn:<partition>:rds:<region>:<account>:<kind>:<id>`
/// in this Region (or Region-less, as a global cluster's ARN is), compared
/// field by field: a Region that shows up elsewhere in the string is not it.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>
fn is_our_arn(arn: &str, region: &str, kind: &str, id: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", _, "rds", r, _, k, i] if (*r == region || (r.is_empty() && kind == "global-cluster")) && *k == kind && *i == id
    )
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
    let ours = our_resources(config);
    let names: Vec<&str> = ours.iter().map(|(id, _, _)| *id).collect();
    let region = config.region.as_str();
    let Some(object) = payload.as_object() else {
        return Trigger::Ignore("the payload is not a JSON object".to_owned());
    };
    if object.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Trigger::Run("schedule".to_owned());
    }
    // The decision record written (a promotion recorded done, a press): the
    // pass runs at once instead of at the next minute.
    // <https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html>
    if object.get("detail-type").and_then(Value::as_str) == Some("Parameter Store Change")
        && object.get("source").and_then(Value::as_str) == Some("aws.ssm")
    {
        let record = config.decision_parameter(&config.service);
        return match payload.pointer("/detail/name").and_then(Value::as_str) {
            Some(name) if name == record => Trigger::Run(format!("{record} changed")),
            Some(name) => Trigger::Ignore(format!(
                "a change of {name}, not this service's decision record"
            )),
            None => {
                Trigger::Ignore("a Parameter Store Change event without detail.name".to_owned())
            }
        };
    }
    // An EventBridge event that is not our schedule: an RDS event runs the
    // pass only when it is about our database, in this Region.
    let from_aws = object
        .get("source")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("aws."));
    if object.contains_key("detail-type") || from_aws {
        let detail = object.get("detail");
        let field = |name: &str| detail.and_then(|d| d.get(name)).and_then(Value::as_str);
        let source = object.get("source").and_then(Value::as_str);
        // EventBridge names the kinds DB_INSTANCE and CLUSTER where SNS says
        // db-instance and db-cluster.
        let kind = field("SourceType").map(|t| match t {
            "DB_INSTANCE" => "db-instance".to_owned(),
            "CLUSTER" => "db-cluster".to_owned(),
            other => other.to_ascii_lowercase().replace('_', "-"),
        });
        let matched = source == Some("aws.rds")
            && ours.iter().any(|(id, event_source, arn_kind)| {
                field("SourceIdentifier") == Some(*id)
                    && kind.as_deref() == Some(*event_source)
                    && field("SourceArn").is_some_and(|arn| is_our_arn(arn, region, arn_kind, id))
            });
        return if matched {
            Trigger::Run(format!(
                "EventBridge RDS event for {}: {}",
                field("SourceIdentifier").unwrap_or_default(),
                field("Message").unwrap_or_default()
            ))
        } else {
            Trigger::Ignore(format!(
                "an EventBridge event ({}) that is not about {} in {region}",
                source.unwrap_or("no source"),
                names.join(" or ")
            ))
        };
    }
    if !object.contains_key("Records") {
        return Trigger::Run("direct invoke".to_owned());
    }
    let sns: SnsEvent = match serde_json::from_value(payload.clone()) {
        Ok(sns) => sns,
        Err(e) => return Trigger::Ignore(format!("not an SNS delivery: {e}")),
    };
    for record in &sns.records {
        let Ok(event) = serde_json::from_str::<RdsEvent>(&record.sns.message) else {
            continue;
        };
        let matched = ours.iter().any(|(id, event_source, arn_kind)| {
            event.source_id == *id
                && event
                    .event_source
                    .as_deref()
                    .is_none_or(|s| s == *event_source)
                && event
                    .source_arn
                    .as_deref()
                    .is_none_or(|arn| is_our_arn(arn, region, arn_kind, id))
        });
        if matched {
            return Trigger::Run(format!(
                "RDS event for {}: {}",
                event.source_id,
                event.message.as_deref().unwrap_or("")
            ));
        }
    }
    Trigger::Ignore(format!(
        "{} SNS record(s), none an RDS event for {} in {region}",
        sns.records.len(),
        names.join(" or "),
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
