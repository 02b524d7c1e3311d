//! A real PostgreSQL pair for the runbook: a primary and a streaming replica
//! on this machine (Debian's `postgresql`, loopback ports, a temporary
//! directory), behind the same ports the promoter drives in AWS.
//!
//! - [`Replication`]: `pg_current_wal_lsn()`, `pg_last_wal_replay_lsn()`, and
//!   the database-level fence: `default_transaction_read_only` set with
//!   `ALTER SYSTEM` and reloaded, then every other client session ended with
//!   `pg_terminate_backend`
//!   (<https://www.postgresql.org/docs/15/functions-admin.html>,
//!   <https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-DEFAULT-TRANSACTION-READ-ONLY>);
//! - [`Database`] for one Region: `DescribeDBInstances` answered from
//!   `pg_is_in_recovery()`, `PromoteReadReplica` as `pg_promote(true, 60)`,
//!   `CreateDBInstanceReadReplica` as `pg_basebackup -R` of the writer;
//! - the write path: an `INSERT` a client is acknowledged for only once it
//!   commits, and the rows a writer holds, which is how RPO is counted.

pub mod drill;
pub mod server;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use stop_core::config::Region;
use stop_core::decision::DbRef;
use stop_core::ports::{
    Database, GlobalClusterStatus, LagSample, NewReplica, PortError, PortResult, ReplicaStatus,
    Replication,
};
use time::OffsetDateTime;
use tokio_postgres::{Client, NoTls};

pub use server::{Root, Server};

/// The account in the local instances' ARNs.
pub const ACCOUNT: &str = "000000000000";

/// The table the write path fills: one row per acknowledged write.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, \
                     at timestamptz NOT NULL DEFAULT now())";

#[derive(Debug, Clone)]
struct Instance {
    region: Region,
    server: Server,
    /// The instance this one was copied from while it replicates.
    source: Option<String>,
    /// Where a re-protect asked for it to go (echoed as RDS would).
    placement: Option<NewReplica>,
    /// Its `primary_conninfo` while replication is cut.
    conninfo: Option<String>,
}

/// The wall clock, for a runbook driven against a real engine (the drain
/// polls it for real).
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl stop_core::ports::Clock for WallClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// The local instances, by identifier.
#[derive(Debug)]
pub struct LocalPg {
    root: Root,
    instances: Mutex<HashMap<String, Instance>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The server's own message when it answered with an error (tokio-postgres
/// shows only "db error" otherwise).
fn db(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{}: {}", d.code().code(), d.message()),
    )
}

fn unavailable(what: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(what.to_string())
}

/// `arn:aws:rds:<region>:000000000000:db:<id>`, as RDS names an instance.
pub fn arn(region: &Region, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:db:{id}")
}

impl LocalPg {
    /// A primary `writer` in `primary` and its streaming replica `replica` in
    /// `standby`, both started, the `orders` table created.
    pub async fn start(
        primary: &Region,
        standby: &Region,
        writer: &str,
        replica: &str,
    ) -> Result<Self, String> {
        let root = Root::create(writer)?;
        let first = match root.primary(writer) {
            Ok(first) => first,
            Err(e) => {
                // initdb or the start failed: leave nothing behind.
                root.remove(&[]);
                return Err(e);
            }
        };
        // From here the pair's Drop stops what was started and removes the root.
        let pg = LocalPg {
            root,
            instances: Mutex::new(HashMap::new()),
        };
        pg.add(primary, first, None, None);
        pg.execute(writer, TABLE).await.map_err(|e| e.to_string())?;
        let copy = {
            let source = pg.server(writer).ok_or("the primary is gone")?;
            pg.root.replica_of(&source, replica)?
        };
        pg.add(standby, copy, Some(writer.to_owned()), None);
        Ok(pg)
    }

    fn add(
        &self,
        region: &Region,
        server: Server,
        source: Option<String>,
        placement: Option<NewReplica>,
    ) {
        lock(&self.instances).insert(
            server.name.clone(),
            Instance {
                region: region.clone(),
                server,
                source,
                placement,
                conninfo: None,
            },
        );
    }

    pub fn server(&self, id: &str) -> Option<Server> {
        lock(&self.instances).get(id).map(|i| i.server.clone())
    }

    fn instance(&self, id: &str) -> PortResult<Instance> {
        lock(&self.instances)
            .get(id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("DBInstanceNotFound: {id}")))
    }

    async fn client(&self, id: &str) -> PortResult<Client> {
        let server = self.instance(id)?.server;
        let (client, connection) = tokio_postgres::connect(&server.conninfo(), NoTls)
            .await
            .map_err(|e| unavailable(format!("{id} (port {}): {}", server.port, db(&e))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
        Ok(client)
    }

    async fn execute(&self, id: &str, sql: &str) -> PortResult<()> {
        self.client(id)
            .await?
            .batch_execute(sql)
            .await
            .map_err(|e| PortError::Rejected(format!("{id}: {}", db(&e))))
    }

    /// One text value of `sql` on `id`; `None` for SQL NULL.
    async fn text(&self, id: &str, sql: &str) -> PortResult<Option<String>> {
        let row = self
            .client(id)
            .await?
            .query_one(sql, &[])
            .await
            .map_err(|e| PortError::Rejected(format!("{id}: {}", db(&e))))?;
        row.try_get::<_, Option<String>>(0)
            .map_err(|e| PortError::Rejected(format!("{id}: {}", db(&e))))
    }

    /// The write path: `INSERT` order `order` on `id`. `Ok` only once it
    /// committed, so an `Ok` is an acknowledged write.
    pub async fn insert(&self, id: &str, order: i64) -> Result<(), String> {
        self.client(id)
            .await
            .map_err(|e| e.to_string())?
            .execute("INSERT INTO orders (id) VALUES ($1)", &[&order])
            .await
            .map(drop)
            .map_err(|e| format!("{id}: {}", db(&e)))
    }

    /// Every order `id` holds, in order: what a failover kept.
    pub async fn orders(&self, id: &str) -> Result<Vec<i64>, String> {
        let rows = self
            .client(id)
            .await
            .map_err(|e| e.to_string())?
            .query("SELECT id FROM orders ORDER BY id", &[])
            .await
            .map_err(|e| format!("{id}: {}", db(&e)))?;
        rows.iter()
            .map(|r| r.try_get::<_, i64>(0).map_err(|e| e.to_string()))
            .collect()
    }

    /// Makes a replica fall behind: its WAL receiver stops (`primary_conninfo`
    /// emptied and reloaded), so the writer's new commits reach it only once
    /// [`LocalPg::restore_replication`] puts the setting back. A promotion
    /// meanwhile keeps only what it had received: the writes a drain must
    /// wait for. (Pausing replay would not do: a promotion replays all the
    /// WAL received first.)
    pub async fn cut_replication(&self, id: &str) -> PortResult<()> {
        let conninfo = self
            .text(id, "SELECT current_setting('primary_conninfo')")
            .await?
            .unwrap_or_default();
        if conninfo.is_empty() {
            return Err(PortError::Rejected(format!("{id} streams from nothing")));
        }
        lock(&self.instances)
            .entry(id.to_owned())
            .and_modify(|i| i.conninfo = Some(conninfo));
        self.execute(id, "ALTER SYSTEM SET primary_conninfo = ''")
            .await?;
        self.execute(id, "SELECT pg_reload_conf()").await?;
        // Until the receiver is gone, a commit could still stream in.
        for _ in 0..300 {
            let receiving = self
                .text(id, "SELECT count(*)::text FROM pg_stat_wal_receiver")
                .await?;
            if receiving.as_deref() == Some("0") {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(unavailable(format!(
            "{id}: its WAL receiver did not stop within 30 s"
        )))
    }

    pub async fn restore_replication(&self, id: &str) -> PortResult<()> {
        let conninfo = self
            .instance(id)?
            .conninfo
            .ok_or_else(|| PortError::Rejected(format!("{id}: replication was not cut")))?;
        self.execute(
            id,
            &format!(
                "ALTER SYSTEM SET primary_conninfo = '{}'",
                conninfo.replace('\'', "''")
            ),
        )
        .await?;
        self.execute(id, "SELECT pg_reload_conf()").await
    }

    /// The setting a new session gets, read in a new session.
    async fn read_only_now(&self, id: &str) -> PortResult<bool> {
        Ok(self
            .text(
                id,
                "SELECT current_setting('default_transaction_read_only')",
            )
            .await?
            .as_deref()
            == Some("on"))
    }

    /// Every instance: identifier, Region, port.
    pub fn instances(&self) -> Vec<(String, Region, u16)> {
        let mut all: Vec<(String, Region, u16)> = lock(&self.instances)
            .iter()
            .map(|(id, i)| (id.clone(), i.region.clone(), i.server.port))
            .collect();
        all.sort();
        all
    }

    /// The instance in `region` that takes writes (not in recovery, not made
    /// read-only): the one the Region's application writes to, as its secret
    /// names it.
    pub async fn writer_in(&self, region: &Region) -> Option<String> {
        let mut here: Vec<String> = lock(&self.instances)
            .iter()
            .filter(|(_, i)| &i.region == region)
            .map(|(id, _)| id.clone())
            .collect();
        here.sort();
        for id in here {
            // Not a replica, and not an old writer the drain made read-only.
            let writable = self
                .text(
                    &id,
                    "SELECT (NOT pg_is_in_recovery() AND \
                     current_setting('default_transaction_read_only') = 'off')::text",
                )
                .await;
            if matches!(writable, Ok(Some(ref w)) if w == "true") {
                return Some(id);
            }
        }
        None
    }

    /// This Region's instances as RDS would show them.
    pub fn region(&self, region: &Region) -> LocalRegion<'_> {
        LocalRegion {
            pg: self,
            region: region.clone(),
        }
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        let servers: Vec<Server> = lock(&self.instances)
            .values()
            .map(|i| i.server.clone())
            .collect();
        self.root.remove(&servers.iter().collect::<Vec<_>>());
    }
}

impl Replication for LocalPg {
    async fn writer_position(&self, writer: &DbRef) -> PortResult<String> {
        self.text(&writer.id, "SELECT pg_current_wal_lsn()::text")
            .await?
            .ok_or_else(|| PortError::Rejected(format!("{writer}: no WAL position")))
    }

    async fn replayed_position(&self, copy: &DbRef) -> PortResult<String> {
        self.text(&copy.id, "SELECT pg_last_wal_replay_lsn()::text")
            .await?
            .ok_or_else(|| {
                PortError::Rejected(format!("{copy} is not a replica: nothing replayed"))
            })
    }

    async fn set_read_only(&self, instance: &DbRef, read_only: bool) -> PortResult<()> {
        let id = &instance.id;
        let setting = if read_only {
            "ALTER SYSTEM SET default_transaction_read_only = on"
        } else {
            "ALTER SYSTEM RESET default_transaction_read_only"
        };
        self.execute(id, setting).await?;
        self.execute(id, "SELECT pg_reload_conf()").await?;
        // The reload is a signal: wait until a new session sees it, so that
        // no session opened in between keeps the old default (30 s: a loaded
        // 2-core machine is slow to fork).
        for _ in 0..300 {
            if self.read_only_now(id).await? == read_only {
                if read_only {
                    self.execute(
                        id,
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    )
                    .await?;
                }
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(unavailable(format!(
            "{instance}: default_transaction_read_only did not become {read_only} within 30 s of the reload"
        )))
    }
}

/// One Region's local instances behind the RDS port.
#[derive(Debug)]
pub struct LocalRegion<'a> {
    pg: &'a LocalPg,
    region: Region,
}

impl LocalRegion<'_> {
    fn here(&self, id: &str) -> PortResult<Instance> {
        self.pg
            .instance(id)
            .ok()
            .filter(|i| i.region == self.region)
            .ok_or_else(|| {
                PortError::NotFound(format!("DBInstanceNotFound: {id} in {}", self.region))
            })
    }

    fn no_aurora() -> PortError {
        PortError::Rejected("a local PostgreSQL pair has no Aurora global database".into())
    }
}

impl Database for LocalRegion<'_> {
    async fn describe_instance(&self, instance_id: &str) -> PortResult<ReplicaStatus> {
        let instance = self.here(instance_id)?;
        let in_recovery = self
            .pg
            .text(instance_id, "SELECT pg_is_in_recovery()::text")
            .await?
            .as_deref()
            == Some("true");
        let source = in_recovery
            .then(|| instance.source.clone())
            .flatten()
            .and_then(|s| self.pg.instance(&s).ok().map(|i| arn(&i.region, &s)));
        let placement = instance.placement.clone();
        Ok(ReplicaStatus {
            instance_id: instance_id.to_owned(),
            arn: arn(&instance.region, instance_id),
            source,
            status: "available".to_owned(),
            replication: in_recovery.then(|| "replicating".to_owned()),
            replica_lag_seconds: None,
            endpoint: Some(("127.0.0.1".to_owned(), instance.server.port)),
            engine: "postgres".to_owned(),
            storage_encrypted: placement.as_ref().is_some_and(|p| p.kms_key_arn.is_some()),
            multi_az: placement.as_ref().is_some_and(|p| p.multi_az),
            subnet_group: placement.as_ref().and_then(|p| p.subnet_group.clone()),
            security_group_ids: placement
                .as_ref()
                .map(|p| p.security_group_ids.clone())
                .unwrap_or_default(),
            parameter_group: placement.as_ref().and_then(|p| p.parameter_group.clone()),
            parameter_apply_status: Some("in-sync".to_owned()),
        })
    }

    async fn promote_replica(
        &self,
        instance_id: &str,
        _backup_retention_days: u8,
    ) -> PortResult<()> {
        self.here(instance_id)?;
        let promoted = self
            .pg
            .text(instance_id, "SELECT pg_promote(true, 60)::text")
            .await?;
        if promoted.as_deref() != Some("true") {
            return Err(PortError::Rejected(format!(
                "{instance_id}: pg_promote did not finish within 60 s"
            )));
        }
        if let Some(i) = lock(&self.pg.instances).get_mut(instance_id) {
            i.source = None;
        }
        Ok(())
    }

    async fn describe_global_cluster(&self, _id: &str) -> PortResult<GlobalClusterStatus> {
        Err(LocalRegion::no_aurora())
    }
    async fn switchover_global_cluster(&self, _id: &str, _target: &str) -> PortResult<()> {
        Err(LocalRegion::no_aurora())
    }
    async fn failover_global_cluster_allow_data_loss(
        &self,
        _id: &str,
        _target: &str,
    ) -> PortResult<()> {
        Err(LocalRegion::no_aurora())
    }

    /// `now() - pg_last_xact_replay_timestamp()`: what RDS's `ReplicaLag`
    /// reports for PostgreSQL, idle growth included.
    async fn replica_lag(&self, instance_id: &str) -> PortResult<Option<LagSample>> {
        self.here(instance_id)?;
        let seconds = self
            .pg
            .text(
                instance_id,
                "SELECT floor(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::bigint::text",
            )
            .await?;
        Ok(seconds
            .and_then(|s| s.parse::<u32>().ok())
            .map(|seconds| LagSample {
                seconds,
                replicating: true,
                at: OffsetDateTime::now_utc(),
            }))
    }

    async fn create_replica(&self, replica: &NewReplica) -> PortResult<()> {
        let source_id = replica
            .source_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        if self.pg.instance(&replica.id).is_ok() {
            return Err(PortError::Rejected(format!(
                "DBInstanceAlreadyExists: {}",
                replica.id
            )));
        }
        let source = self.pg.instance(&source_id)?.server;
        let copy = self
            .pg
            .root
            .replica_of(&source, &replica.id)
            .map_err(PortError::Rejected)?;
        self.pg
            .add(&self.region, copy, Some(source_id), Some(replica.clone()));
        Ok(())
    }

    /// The parameter group is echoed back; nothing to apply on a local server.
    async fn set_parameter_group(&self, instance_id: &str, group: &str) -> PortResult<()> {
        self.here(instance_id)?;
        if let Some(i) = lock(&self.pg.instances).get_mut(instance_id)
            && let Some(p) = i.placement.as_mut()
        {
            p.parameter_group = Some(group.to_owned());
        }
        Ok(())
    }

    async fn reboot(&self, instance_id: &str) -> PortResult<()> {
        self.here(instance_id).map(drop)
    }

    async fn cluster_writer_endpoint(&self, _cluster_id: &str) -> PortResult<(String, u16)> {
        Err(LocalRegion::no_aurora())
    }
}
