//! One trait (port) per external effect. The `aws` crate implements them with the
//! AWS SDK, `sim` with a two-Region world on a virtual clock, and [`crate::memory`]
//! in memory for unit tests. Nothing here knows which one it talks to.
//!
//! Every port is bound to one Region when it is built; on the failover path only
//! standby-Region ports exist, so nothing there can reach the primary Region.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{ArcEndpoint, StopMetricConfig};
use crate::decision::{DbRef, Decision};

/// Why a call to the outside failed, in the terms the runbook acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Slow down and try again (HTTP 429, `Throttling*`).
    #[error("throttled: {0}")]
    Throttled(String),
    /// Someone else is changing the same thing (`ConflictException`); try again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Could not reach the service, it timed out or answered 5xx; another endpoint may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The service refused the request as it stands (validation, a safety rule,
    /// a wrong state); repeating it will not help.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl PortError {
    /// Worth trying again, after a pause or on another endpoint.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PortError::Throttled(_) | PortError::Conflict(_) | PortError::Unavailable(_)
        )
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// A value that must never be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Self {
        Sensitive(value.into())
    }
    /// The value itself, for the one place that must parse or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(***)")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The time, from the system or from a simulation's virtual clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    /// Waits (a backoff between retries); a virtual clock just moves on.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// A borrowed clock is a clock: a test keeps the clock it hands to a part.
impl<C: Clock> Clock for &C {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        (**self).sleep(duration)
    }
}

/// A shared clock is a clock: a test keeps a handle on the clock a part owns.
impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        (**self).sleep(duration)
    }
}

/// The decision records of every service (SSM Parameter Store in the standby
/// Region, one parameter per service, its versions the history).
pub trait DecisionStore: Send + Sync {
    /// Every record written for `service`, oldest first; empty before the first
    /// decision. [`Decision::current`] picks the one that counts.
    fn history(&self, service: &str) -> impl Future<Output = PortResult<Vec<Decision>>> + Send;
    /// Writes a record as the newest version; earlier ones stay in the history.
    fn store(&self, decision: &Decision) -> impl Future<Output = PortResult<()>> + Send;
}

impl<D: DecisionStore> DecisionStore for &D {
    fn history(&self, service: &str) -> impl Future<Output = PortResult<Vec<Decision>>> + Send {
        (**self).history(service)
    }
    fn store(&self, decision: &Decision) -> impl Future<Output = PortResult<()>> + Send {
        (**self).store(decision)
    }
}

/// A CloudWatch alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// What the STOP switch reads now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopSwitchState {
    pub alarm_state: AlarmState,
    /// The newest datapoint of the STOP metric, if any is retained.
    pub last_value: Option<f64>,
}

/// Switch 1: the STOP metric and its alarm, in the standby Region. The metric
/// carries the dimension `Service=<service>`, so services switch independently.
pub trait StopSwitch: Send + Sync {
    /// `PutMetricData`: 1 to fail over, 0 to fail back.
    fn publish(
        &self,
        switch: &StopMetricConfig,
        service: &str,
        value: f64,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// `PutMetricData` with the datapoint's `Timestamp`: a value read at `at`
    /// lands in `at`'s minute, never in a later one that a newer decision owns.
    fn publish_at(
        &self,
        switch: &StopMetricConfig,
        service: &str,
        value: f64,
        at: OffsetDateTime,
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn read(
        &self,
        switch: &StopMetricConfig,
        service: &str,
    ) -> impl Future<Output = PortResult<StopSwitchState>> + Send;
}

/// A routing control's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlState {
    On,
    Off,
}

/// Switch 2: Route 53 ARC routing controls, through one cluster endpoint per call,
/// so that the caller decides which endpoint to try next.
pub trait RoutingControls: Send + Sync {
    fn get_state(
        &self,
        endpoint: &ArcEndpoint,
        control_arn: &str,
    ) -> impl Future<Output = PortResult<ControlState>> + Send;
    /// One batch `UpdateRoutingControlStates`; `override_rules` lists the safety
    /// rule ARNs to bypass (break glass), normally none.
    fn update_states(
        &self,
        endpoint: &ArcEndpoint,
        states: &[(String, ControlState)],
        override_rules: &[String],
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// An RDS instance as the promoter sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaStatus {
    pub instance_id: String,
    pub arn: String,
    /// The source instance while it is a replica; `None` once standalone.
    pub source: Option<String>,
    /// RDS's status string: available, modifying, rebooting, …
    pub status: String,
    /// The replica's `StatusInfos` entry of type "read replication":
    /// replicating, replication stop point set or reached, error, stopped or
    /// terminated; `None` when RDS gives none (not a replica, or not yet).
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstanceStatusInfo.html>
    pub replication: Option<String>,
    pub replica_lag_seconds: Option<u32>,
    pub endpoint: Option<(String, u16)>,
    /// `Engine`: postgres, mysql, mariadb, …
    pub engine: String,
    /// `StorageEncrypted`: a cross-Region copy then needs a key of its Region.
    pub storage_encrypted: bool,
    /// `MultiAZ`.
    pub multi_az: bool,
    /// `DBSubnetGroup.DBSubnetGroupName`, `VpcSecurityGroups`, the first of
    /// `DBParameterGroups`: where the instance sits and how it is set.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstance.html>
    pub subnet_group: Option<String>,
    pub security_group_ids: Vec<String>,
    pub parameter_group: Option<String>,
    /// That group's `ParameterApplyStatus`: applying, failed-to-apply,
    /// in-sync, pending-database-upgrade or pending-reboot.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBParameterGroupStatus.html>
    pub parameter_apply_status: Option<String>,
}

/// One `CreateDBInstanceReadReplica` of a re-protect: the copy's name, its
/// source in the other Region, and where it goes in this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReplica {
    pub id: String,
    pub source_arn: String,
    pub subnet_group: Option<String>,
    pub security_group_ids: Vec<String>,
    /// Sent only where AWS takes it on a cross-Region copy (MySQL, Db2,
    /// Oracle); otherwise applied by `ModifyDBInstance` once it is available.
    pub parameter_group: Option<String>,
    pub kms_key_arn: Option<String>,
    pub multi_az: bool,
}

/// An Aurora global database as the promoter sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalClusterStatus {
    pub global_cluster_id: String,
    pub writer_cluster_arn: Option<String>,
    pub member_cluster_arns: Vec<String>,
    /// The members whose `SynchronizationStatus` is `connected`: replicating.
    /// Right after a managed failover AWS lists the old primary as a secondary
    /// while it is still being rebuilt (`pending-resync`), so membership alone
    /// is no protection.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_GlobalClusterMember.html>
    #[serde(default)]
    pub synchronized: Vec<String>,
    /// RDS's status string, e.g. available, failing-over, switching-over.
    pub status: String,
}

/// One reading of a replica's `ReplicaLag` (CloudWatch `AWS/RDS`, seconds
/// behind its source, published once a minute in the replica's Region).
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LagSample {
    /// Seconds behind the source; 0 when not `replicating`.
    pub seconds: u32,
    /// False when the datapoint is -1: "replication is not active" (stopped,
    /// broken, or the replica promoted), which is no lag reading at all.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html>
    pub replicating: bool,
    /// The start of the minute the datapoint covers.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The database tier in one Region.
pub trait Database: Send + Sync {
    fn describe_instance(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<ReplicaStatus>> + Send;
    fn promote_replica(
        &self,
        instance_id: &str,
        backup_retention_days: u8,
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn describe_global_cluster(
        &self,
        global_cluster_id: &str,
    ) -> impl Future<Output = PortResult<GlobalClusterStatus>> + Send;
    /// No data loss; needs both Regions healthy.
    fn switchover_global_cluster(
        &self,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// For a lost primary: always with `AllowDataLoss`, never the bare call that
    /// quietly turns into a switchover.
    fn failover_global_cluster_allow_data_loss(
        &self,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The newest `ReplicaLag` datapoint of a replica in this Region, if any.
    fn replica_lag(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<Option<LagSample>>> + Send;
    /// `CreateDBInstanceReadReplica` in this Region of the instance `source_arn`
    /// in another Region: re-protects a promoted writer.
    fn create_replica(&self, replica: &NewReplica) -> impl Future<Output = PortResult<()>> + Send;
    /// `ModifyDBInstance` with `DBParameterGroupName`, applied at once: the
    /// parameter group a cross-Region copy of this engine cannot take at creation.
    fn set_parameter_group(
        &self,
        instance_id: &str,
        parameter_group: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// `RebootDBInstance`: a parameter group's static parameters apply then.
    fn reboot(&self, instance_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// The writer endpoint of a cluster in this Region: host and port.
    fn cluster_writer_endpoint(
        &self,
        cluster_id: &str,
    ) -> impl Future<Output = PortResult<(String, u16)>> + Send;
}

/// SQL on an instance itself, for what RDS's API cannot tell or do: the
/// replication position a planned move drains by, and the database-level
/// fence. Positions are the engine's own text (see [`crate::replication`]).
/// In AWS this needs the database's network and credentials; the ungraceful
/// path never calls it for the primary Region.
pub trait Replication: Send + Sync {
    /// The writer's position now: `pg_current_wal_lsn()`,
    /// `@@GLOBAL.gtid_executed` (MySQL), `@@gtid_binlog_pos` (MariaDB).
    fn writer_position(&self, writer: &DbRef) -> impl Future<Output = PortResult<String>> + Send;
    /// What a copy has applied: `pg_last_wal_replay_lsn()`,
    /// `@@GLOBAL.gtid_executed` (MySQL), `@@gtid_slave_pos` (MariaDB).
    fn replayed_position(&self, copy: &DbRef) -> impl Future<Output = PortResult<String>> + Send;
    /// The database-level fence: on, the instance refuses new write
    /// transactions and the sessions that could still write are ended; off
    /// undoes it. Safe to repeat.
    fn set_read_only(
        &self,
        instance: &DbRef,
        read_only: bool,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// The minimum, desired and maximum size of an Auto Scaling group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCapacity {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

impl std::fmt::Display for GroupCapacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "min {} / desired {} / max {}",
            self.min, self.desired, self.max
        )
    }
}

/// Compute capacity in one Region.
pub trait Capacity: Send + Sync {
    fn describe_group(
        &self,
        group_name: &str,
    ) -> impl Future<Output = PortResult<GroupCapacity>> + Send;
    fn set_group(
        &self,
        group_name: &str,
        capacity: GroupCapacity,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// A secret's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretValue {
    pub version_id: String,
    pub value: Sensitive,
    /// The primary Region this secret is a replica of, if it is one.
    pub replica_of: Option<String>,
}

/// Secrets Manager in one Region.
pub trait Secrets: Send + Sync {
    /// The `AWSCURRENT` version.
    fn get_current(&self, secret_id: &str) -> impl Future<Output = PortResult<SecretValue>> + Send;
    /// A new `AWSCURRENT` version; the same `token` twice is a no-op.
    fn put_value(
        &self,
        secret_id: &str,
        value: &Sensitive,
        token: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Makes a replica secret standalone so that it can be written.
    fn stop_replication(&self, secret_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// `DescribeSecret`: present, and a replica or not; never the value.
    fn describe(&self, secret_id: &str) -> impl Future<Output = PortResult<SecretInfo>> + Send;
}

/// A secret as Secrets Manager describes it, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretInfo {
    /// The primary Region this secret is a replica of, if it is one.
    pub replica_of: Option<String>,
}

/// Small JSON documents in one Region's SSM Parameter Store, one String
/// parameter each (`GetParameter` / `PutParameter`): the detector's memory of
/// its probes, each vantage point's report, the last readiness findings (in
/// the standby Region), and a copy of a fence record (in each Region of the
/// fence's quorum).
pub trait StateStore: Send + Sync {
    /// The stored text; `None` before the first save.
    fn load(&self, name: &str) -> impl Future<Output = PortResult<Option<String>>> + Send;
    /// Replaces the stored text.
    fn save(&self, name: &str, text: &str) -> impl Future<Output = PortResult<()>> + Send;
}

impl<T: StateStore> StateStore for &T {
    fn load(&self, name: &str) -> impl Future<Output = PortResult<Option<String>>> + Send {
        (**self).load(name)
    }
    fn save(&self, name: &str, text: &str) -> impl Future<Output = PortResult<()>> + Send {
        (**self).save(name, text)
    }
}

impl<T: StateStore> StateStore for std::sync::Arc<T> {
    fn load(&self, name: &str) -> impl Future<Output = PortResult<Option<String>>> + Send {
        (**self).load(name)
    }
    fn save(&self, name: &str, text: &str) -> impl Future<Output = PortResult<()>> + Send {
        (**self).save(name, text)
    }
}

/// One datapoint of a metric the detector or readiness publishes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datum {
    pub name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
}

/// CloudWatch `PutMetricData` in the standby Region, in the stack's namespace:
/// probe results, heartbeats, readiness.
/// Route 53's own view of an endpoint: its health check's `HealthCheckStatus`
/// metric ("1 indicates healthy, and 0 indicates unhealthy"), which Route 53
/// sends to CloudWatch "at one-minute intervals", in US East (N. Virginia)
/// only ("Route 53 metrics are not available if you select any other region").
/// Read from CloudWatch, not `GetHealthCheckStatus`, which AWS says "doesn't
/// support production use-cases with high query rates".
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-cloudwatch.html>
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html>
pub trait HealthChecks: Send + Sync {
    /// The newest one-minute Minimum of `HealthCheckStatus` in the last few
    /// minutes; `None` when CloudWatch has no datapoint.
    fn status(
        &self,
        health_check_id: &str,
    ) -> impl Future<Output = PortResult<Option<HealthReading>>> + Send;
}

/// One minute of a Route 53 health check, as CloudWatch holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HealthReading {
    /// The minute's Minimum was 1: every checker saw it healthy.
    pub healthy: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

pub trait Metrics: Send + Sync {
    fn put(&self, data: &[Datum]) -> impl Future<Output = PortResult<()>> + Send;
}

impl<T: Metrics> Metrics for &T {
    fn put(&self, data: &[Datum]) -> impl Future<Output = PortResult<()>> + Send {
        (**self).put(data)
    }
}
