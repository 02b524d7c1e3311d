//! Points the database secret at the writer now in this Region, keeping every
//! other field. Runs on RDS's completion event, on a direct invoke and on a
//! schedule; each run reads the writer and the secret and writes only if they
//! disagree, with a token derived from the decision epoch so that a repeat is a
//! no-op in Secrets Manager too. Secret values never reach a log or an error.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Config, DatabaseConfig};
use crate::decision::{Decision, Mode, StepState};
use crate::ports::{Clock, Database, DecisionStore, PortError, Secrets, Sensitive};
use crate::promoter::DATABASE_STEP;

pub const SECRET_STEP: &str = "secret";

/// What a run found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rewrite {
    /// Nothing to do yet or here; the reason says why.
    Waiting { reason: String },
    /// The secret already named the writer.
    Already { host: String, epoch: u64 },
    /// The secret now names the writer.
    Rewritten {
        host: String,
        epoch: u64,
        stopped_replication: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("no DB_SECRET_ID or DB_KIND configured")]
    NotConfigured,
    #[error("{0}")]
    Port(#[from] PortError),
    #[error("the secret is not a JSON object with host and port fields")]
    NotAJsonObject,
    #[error(
        "the secret is a replica of {0}'s secret and the decision is graceful: update it in {0}, \
         or fail over ungracefully to make this Region's copy standalone"
    )]
    GracefulReplica(String),
}

pub struct Rewriter<'a, D, B, S, C> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub database: &'a B,
    pub secrets: &'a S,
    pub clock: &'a C,
}

impl<D, B, S, C> Rewriter<'_, D, B, S, C>
where
    D: DecisionStore,
    B: Database,
    S: Secrets,
    C: Clock,
{
    /// One reconcile pass.
    pub async fn run(&self) -> Result<Rewrite, RewriteError> {
        let (Some(secret_id), Some(database)) = (&self.config.secret_id, &self.config.database)
        else {
            return Err(RewriteError::NotConfigured);
        };
        let history = self.decisions.history(&self.config.service).await?;
        let Some(mut decision) = Decision::current(&history).cloned() else {
            return Ok(waiting("no decision yet: the primary serves".to_owned()));
        };
        if decision.active_region != self.config.region {
            return Ok(waiting(format!(
                "decision epoch {} makes {} active, not this Region",
                decision.epoch, decision.active_region
            )));
        }
        let Some((host, port, identifier)) = self.writer_here(database).await? else {
            return Ok(waiting(
                "the database in this Region is not the writer yet".to_owned(),
            ));
        };

        let current = self.secrets.get_current(secret_id).await?;
        let fields: Map<String, Value> = serde_json::from_str(current.value.expose())
            .map_err(|_| RewriteError::NotAJsonObject)?;
        let updated = point_at(&fields, &host, port, &identifier);
        let before = decision.clone();
        if decision.step(DATABASE_STEP).map(|s| s.state) != Some(StepState::Done) {
            let detail = format!("{identifier} is the writer");
            decision.record_step(DATABASE_STEP, StepState::Done, self.clock.now(), &detail);
        }
        let outcome = if updated == fields {
            Rewrite::Already {
                host,
                epoch: decision.epoch,
            }
        } else {
            let mut stopped_replication = false;
            if let Some(primary) = &current.replica_of {
                if decision.mode == Mode::Graceful {
                    return Err(RewriteError::GracefulReplica(primary.clone()));
                }
                // A replica cannot be written; in an ungraceful failover the
                // primary Region's secret is out of reach anyway.
                self.secrets.stop_replication(secret_id).await?;
                stopped_replication = true;
            }
            let text = Value::Object(updated).to_string();
            let token = request_token(&self.config.service, decision.epoch, &host, port);
            self.secrets
                .put_value(secret_id, &Sensitive::new(text), &token)
                .await?;
            Rewrite::Rewritten {
                host,
                epoch: decision.epoch,
                stopped_replication,
            }
        };
        let detail = match &outcome {
            Rewrite::Already { host, .. } => format!("already points at {host}"),
            Rewrite::Rewritten {
                host,
                stopped_replication,
                ..
            } => format!(
                "points at {host}{}",
                if *stopped_replication {
                    " (replication stopped)"
                } else {
                    ""
                }
            ),
            Rewrite::Waiting { reason } => reason.clone(),
        };
        if decision.step(SECRET_STEP).map(|s| s.state) != Some(StepState::Done) {
            decision.record_step(SECRET_STEP, StepState::Done, self.clock.now(), &detail);
        }
        let changed = before.steps.iter().map(|s| s.state).collect::<Vec<_>>()
            != decision.steps.iter().map(|s| s.state).collect::<Vec<_>>();
        if changed {
            self.decisions.store(&decision).await?;
        }
        tracing::info!(epoch = decision.epoch, %detail, "secret reconciled");
        Ok(outcome)
    }

    /// Host, port and identifier of the writer in this Region, if it is one.
    async fn writer_here(
        &self,
        database: &DatabaseConfig,
    ) -> Result<Option<(String, u16, String)>, PortError> {
        match database {
            DatabaseConfig::RdsReplica { replica_id, .. } => {
                let instance = self.database.describe_instance(replica_id).await?;
                if instance.source.is_some() || instance.status != "available" {
                    return Ok(None);
                }
                Ok(instance
                    .endpoint
                    .map(|(host, port)| (host, port, replica_id.clone())))
            }
            DatabaseConfig::AuroraGlobal {
                global_cluster_id,
                cluster_id,
            } => {
                let global = self
                    .database
                    .describe_global_cluster(global_cluster_id)
                    .await?;
                let ours = global
                    .writer_cluster_arn
                    .as_deref()
                    .is_some_and(|arn| arn.ends_with(&format!(":cluster:{cluster_id}")));
                if !ours {
                    return Ok(None);
                }
                let (host, port) = self.database.cluster_writer_endpoint(cluster_id).await?;
                Ok(Some((host, port, cluster_id.clone())))
            }
        }
    }
}

fn waiting(reason: String) -> Rewrite {
    tracing::info!(%reason, "secret left as it is");
    Rewrite::Waiting { reason }
}

/// The secret's fields pointed at the writer: host, port and whichever
/// identifier fields it already has; everything else kept as it was.
pub fn point_at(
    fields: &Map<String, Value>,
    host: &str,
    port: u16,
    identifier: &str,
) -> Map<String, Value> {
    let mut updated = fields.clone();
    updated.insert("host".to_owned(), Value::from(host));
    // Keep the port's type: some secrets hold it as a string.
    let port_value = match fields.get("port") {
        Some(Value::String(_)) => Value::from(port.to_string()),
        _ => Value::from(port),
    };
    updated.insert("port".to_owned(), port_value);
    for key in ["dbInstanceIdentifier", "dbClusterIdentifier"] {
        if updated.contains_key(key) {
            updated.insert(key.to_owned(), Value::from(identifier));
        }
    }
    updated
}

/// A `ClientRequestToken` (32 to 64 characters) that is the same for the same
/// epoch and writer: Secrets Manager treats a repeat as a no-op.
pub fn request_token(service: &str, epoch: u64, host: &str, port: u16) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = format!("{service}|{host}:{port}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("stop-epoch-{epoch:020}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_long_enough_and_differ_by_epoch_and_writer() {
        let a = request_token("orders", 1, "w.example", 5432);
        assert_eq!(a, request_token("orders", 1, "w.example", 5432));
        assert!((32..=64).contains(&a.len()), "{a}");
        assert_ne!(a, request_token("orders", 2, "w.example", 5432));
        assert_ne!(a, request_token("orders", 1, "x.example", 5432));
    }

    #[test]
    fn only_the_endpoint_fields_change() {
        let fields: Map<String, Value> = serde_json::from_str(
            r#"{"username":"app","password":"p","engine":"postgres","host":"old","port":"5432",
                "dbInstanceIdentifier":"orders","dbname":"orders","extra":{"a":1}}"#,
        )
        .unwrap();
        let updated = point_at(&fields, "new.example", 5433, "orders-replica");
        assert_eq!(updated["host"], "new.example");
        assert_eq!(updated["port"], "5433");
        assert_eq!(updated["dbInstanceIdentifier"], "orders-replica");
        assert!(!updated.contains_key("dbClusterIdentifier"));
        for key in ["username", "password", "engine", "dbname", "extra"] {
            assert_eq!(updated[key], fields[key], "{key}");
        }
    }
}
