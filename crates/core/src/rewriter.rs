//! Points the database secret at the writer now in this Region, keeping every
//! other field. Runs on RDS's completion event, on a direct invoke and on a
//! schedule; each run reads the writer and the secret and writes only if they
//! disagree, with a token derived from the decision epoch so that a repeat is a
//! no-op in Secrets Manager too. Secret values never reach a log or an error.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Config, DatabaseConfig};
use crate::decision::{DbRef, Decision, Mode, Step, StepState};
use crate::ports::{Clock, Database, DecisionStore, PortError, Secrets, Sensitive};
use crate::promoter::{incoming_writer, open_writes_if_ready, promoted};

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
    /// This (standby) Region's database and secret: a failover touches only these.
    pub database: &'a B,
    pub secrets: &'a S,
    /// The primary Region's: a failback, made with both Regions up, repoints
    /// the primary's secret too.
    pub peer_database: &'a B,
    pub peer_secrets: &'a S,
    pub clock: &'a C,
}

impl<D, B, S, C> Rewriter<'_, D, B, S, C>
where
    D: DecisionStore,
    B: Database,
    S: Secrets,
    C: Clock,
{
    /// Why `decision` must not write the secret any more, if a newer one
    /// exists: read again right before each write that cannot be undone.
    async fn superseded(&self, decision: &Decision) -> Result<Option<String>, RewriteError> {
        let history = self.decisions.history(&self.config.service).await?;
        Ok(Decision::current(&history)
            .filter(|now| {
                now.epoch != decision.epoch || now.active_region != decision.active_region
            })
            .map(|now| {
                format!(
                    "epoch {} is superseded by epoch {} ({} active): the secret is left as it is",
                    decision.epoch, now.epoch, now.active_region
                )
            }))
    }

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
        let to_standby = &decision.active_region == self.config.standby_region();
        let Some((writer, host, port)) = self.writer(database, &decision).await? else {
            return Ok(waiting(format!(
                "the database in {} is not the writer yet",
                decision.active_region
            )));
        };
        let before = decision.clone();
        if !decision.is_done(Step::Database) {
            promoted(self.config, &mut decision, writer.clone(), self.clock.now());
        }

        // A failover repoints this Region's secret only: the primary may be
        // gone. A failback repoints both, the primary's first.
        let primary_secret_id = self
            .config
            .primary_secret_id
            .as_deref()
            .unwrap_or(secret_id);
        let mut targets = Vec::new();
        if !to_standby {
            targets.push((
                self.peer_secrets,
                self.config.primary_region(),
                primary_secret_id,
            ));
        }
        targets.push((self.secrets, &self.config.region, secret_id.as_str()));
        let mut rewritten = false;
        let mut stopped_replication = false;
        // This Region's copy follows by replication: the secret step is done
        // (and the fence opens) on the run that finds it there.
        let mut replicating = false;
        for (secrets, region, secret_id) in &targets {
            let current = secrets.get_current(secret_id).await?;
            let fields: Map<String, Value> = serde_json::from_str(current.value.expose())
                .map_err(|_| RewriteError::NotAJsonObject)?;
            let updated = point_at(&fields, &host, port, &writer.id);
            if updated == fields {
                continue;
            }
            if let Some(primary) = current
                .replica_of
                .as_ref()
                .filter(|p| p != &region.as_str())
            {
                if targets.iter().any(|(_, r, _)| r.as_str() == primary) {
                    // Replication carries the write made in its primary Region.
                    continue;
                }
                if decision.mode == Mode::Graceful {
                    if primary != self.config.primary_region().as_str() {
                        return Err(RewriteError::GracefulReplica(primary.clone()));
                    }
                    // Graceful: the primary Region is up. Write its secret and
                    // let replication carry the value here; the next run finds
                    // this copy pointing at the writer.
                    let source = self.peer_secrets.get_current(primary_secret_id).await?;
                    let fields: Map<String, Value> = serde_json::from_str(source.value.expose())
                        .map_err(|_| RewriteError::NotAJsonObject)?;
                    let text =
                        Value::Object(point_at(&fields, &host, port, &writer.id)).to_string();
                    let token = request_token(
                        &self.config.service,
                        decision.epoch,
                        &format!("{host}:{port}"),
                        &source.version_id,
                    );
                    if let Some(why) = self.superseded(&decision).await? {
                        return Ok(waiting(why));
                    }
                    self.peer_secrets
                        .put_value(primary_secret_id, &Sensitive::new(text), &token)
                        .await?;
                    rewritten = true;
                    replicating = true;
                    continue;
                }
                // A replica cannot be written; in an ungraceful failover the
                // primary Region's secret is out of reach anyway.
                if let Some(why) = self.superseded(&decision).await? {
                    return Ok(waiting(why));
                }
                secrets.stop_replication(secret_id).await?;
                stopped_replication = true;
            }
            let text = Value::Object(updated).to_string();
            let token = request_token(
                &self.config.service,
                decision.epoch,
                &format!("{host}:{port}"),
                &current.version_id,
            );
            if let Some(why) = self.superseded(&decision).await? {
                return Ok(waiting(why));
            }
            secrets
                .put_value(secret_id, &Sensitive::new(text), &token)
                .await?;
            rewritten = true;
        }
        let outcome = if rewritten {
            Rewrite::Rewritten {
                host: host.clone(),
                epoch: decision.epoch,
                stopped_replication,
            }
        } else {
            Rewrite::Already {
                host: host.clone(),
                epoch: decision.epoch,
            }
        };
        let regions: Vec<&str> = targets.iter().map(|(_, r, _)| r.as_str()).collect();
        let detail = format!(
            "the secret in {} points at {host}{}",
            regions.join(" and "),
            if stopped_replication {
                " (replication stopped)"
            } else {
                ""
            }
        );
        if !decision.is_done(Step::Secret) && !replicating {
            decision.record_step(Step::Secret, StepState::Done, self.clock.now(), &detail);
        }
        open_writes_if_ready(self.config, &mut decision, self.clock.now());
        if decision != before {
            self.decisions.store(&decision).await?;
        }
        tracing::info!(epoch = decision.epoch, %detail, "secret reconciled");
        Ok(outcome)
    }

    /// The deployed primary instance, as the source of the standby's replica.
    async fn deployed_primary(
        &self,
        database: &DatabaseConfig,
    ) -> Result<Option<DbRef>, PortError> {
        let DatabaseConfig::RdsReplica { replica_id, .. } = database else {
            return Ok(None);
        };
        let replica = self.database.describe_instance(replica_id).await?;
        Ok(replica.source.and_then(|arn| {
            let id = arn.rsplit(':').next()?.to_owned();
            Some(DbRef {
                region: self.config.primary_region().clone(),
                id,
            })
        }))
    }

    /// The writer the decision's Region now has: which database, its host and
    /// port. `None` while it is not the writer yet.
    async fn writer(
        &self,
        database: &DatabaseConfig,
        decision: &Decision,
    ) -> Result<Option<(DbRef, String, u16)>, PortError> {
        let region = &decision.active_region;
        let port = if region == self.config.standby_region() {
            self.database
        } else {
            self.peer_database
        };
        match database {
            DatabaseConfig::RdsReplica { .. } => {
                let candidate = match incoming_writer(self.config, decision) {
                    Some(candidate) => candidate,
                    // Back on the deployed primary: RDS knows its id, as the
                    // source of the standby's replica.
                    None => match self.deployed_primary(database).await? {
                        Some(primary) if &primary.region == region => primary,
                        _ => return Ok(None),
                    },
                };
                let instance = port.describe_instance(&candidate.id).await?;
                if !crate::aws_rules::takes_writes(&instance) {
                    return Ok(None);
                }
                Ok(instance
                    .endpoint
                    .map(|(host, port)| (candidate, host, port)))
            }
            DatabaseConfig::AuroraGlobal {
                global_cluster_id, ..
            } => {
                let global = port.describe_global_cluster(global_cluster_id).await?;
                let here = format!(":{region}:");
                let Some(cluster) = global
                    .writer_cluster_arn
                    .as_deref()
                    .filter(|arn| arn.contains(&here))
                    .and_then(|arn| arn.rsplit(':').next())
                else {
                    return Ok(None);
                };
                let (host, port_number) = port.cluster_writer_endpoint(cluster).await?;
                let writer = DbRef {
                    region: region.clone(),
                    id: cluster.to_owned(),
                };
                Ok(Some((writer, host, port_number)))
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

/// A `ClientRequestToken` (32 to 64 characters): the same for the same epoch,
/// writer and version it rewrites, so a repeat is a no-op in Secrets Manager;
/// different when the secret changed in between (a rotation), where reusing a
/// token for other content is an error. It hashes no secret value.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>
pub fn request_token(service: &str, epoch: u64, endpoint: &str, from_version: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = format!("{service}|{endpoint}|{from_version}")
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
        let a = request_token("orders", 1, "w.example:5432", "v1");
        assert_eq!(a, request_token("orders", 1, "w.example:5432", "v1"));
        assert!((32..=64).contains(&a.len()), "{a}");
        assert_ne!(a, request_token("orders", 2, "w.example:5432", "v1"));
        assert_ne!(a, request_token("orders", 1, "x.example:5432", "v1"));
        // The secret changed within the epoch (a rotation): a new token.
        assert_ne!(a, request_token("orders", 1, "w.example:5432", "v2"));
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
