//! In-memory implementations of every port, for unit tests of handlers and the
//! runbook. Each records the calls it receives in a shared [`CallLog`] (so a test
//! can assert that bad input reached no port) and can be told to fail the next
//! calls with given errors.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use crate::config::{ArcEndpoint, StopMetricConfig};
use crate::decision::{DbRef, Decision};
use crate::ports::*;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The calls made to the in-memory ports, in order, as `port.operation(args)`.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn record(&self, call: impl Into<String>) {
        lock(&self.0).push(call.into());
    }
    pub fn calls(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
    pub fn count(&self, prefix: &str) -> usize {
        lock(&self.0)
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

/// Errors to return from the next calls, one per call, before behaving normally.
#[derive(Debug, Default)]
pub struct Faults(Mutex<VecDeque<PortError>>);

impl Faults {
    pub fn push(&self, error: PortError) {
        lock(&self.0).push_back(error);
    }
    fn next(&self) -> PortResult<()> {
        match lock(&self.0).pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(start))
    }
    pub fn advance(&self, by: time::Duration) {
        *lock(&self.0) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.0)
    }
    async fn sleep(&self, duration: std::time::Duration) {
        self.advance(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX));
    }
}

#[derive(Debug, Default)]
pub struct MemoryDecisionStore {
    pub log: CallLog,
    pub faults: Faults,
    records: Mutex<HashMap<String, Vec<Decision>>>,
}

impl MemoryDecisionStore {
    pub fn new(log: CallLog) -> Self {
        MemoryDecisionStore {
            log,
            ..Default::default()
        }
    }
}

impl DecisionStore for MemoryDecisionStore {
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        self.log.record(format!("decisions.history({service})"));
        self.faults.next()?;
        Ok(lock(&self.records)
            .get(service)
            .cloned()
            .unwrap_or_default())
    }
    async fn store(&self, decision: &Decision) -> PortResult<()> {
        self.log.record(format!(
            "decisions.store({}, epoch={})",
            decision.service, decision.epoch
        ));
        self.faults.next()?;
        crate::aws_rules::decision_value(decision)?;
        lock(&self.records)
            .entry(decision.service.clone())
            .or_default()
            .push(decision.clone());
        Ok(())
    }
}

/// Route 53 health checks' `HealthCheckStatus`, as CloudWatch answers.
#[derive(Debug, Default)]
pub struct MemoryHealthChecks {
    pub log: CallLog,
    pub faults: Faults,
    pub readings: Mutex<HashMap<String, HealthReading>>,
}

impl MemoryHealthChecks {
    pub fn new(log: CallLog) -> Self {
        MemoryHealthChecks {
            log,
            ..Default::default()
        }
    }
    pub fn set(&self, health_check_id: &str, reading: HealthReading) {
        lock(&self.readings).insert(health_check_id.to_owned(), reading);
    }
}

impl HealthChecks for MemoryHealthChecks {
    async fn status(&self, health_check_id: &str) -> PortResult<Option<HealthReading>> {
        self.log
            .record(format!("cloudwatch.health_check_status({health_check_id})"));
        self.faults.next()?;
        Ok(lock(&self.readings).get(health_check_id).copied())
    }
}

/// The STOP metric per service, with an alarm that evaluates instantly: ALARM at >= 1.
#[derive(Debug, Default)]
pub struct MemoryStopSwitch {
    pub log: CallLog,
    pub faults: Faults,
    values: Mutex<HashMap<String, Vec<f64>>>,
}

impl MemoryStopSwitch {
    pub fn new(log: CallLog) -> Self {
        MemoryStopSwitch {
            log,
            ..Default::default()
        }
    }
    /// A datapoint published before the test, so not in the call log.
    pub fn with_datapoint(self, service: &str, value: f64) -> Self {
        lock(&self.values)
            .entry(service.to_owned())
            .or_default()
            .push(value);
        self
    }
}

impl MemoryStopSwitch {
    /// One `PutMetricData`, logged as `call`.
    fn put(&self, call: String, service: &str, value: f64) -> PortResult<()> {
        self.log.record(call);
        self.faults.next()?;
        lock(&self.values)
            .entry(service.to_owned())
            .or_default()
            .push(value);
        Ok(())
    }
}

impl StopSwitch for MemoryStopSwitch {
    async fn publish(&self, _: &StopMetricConfig, service: &str, value: f64) -> PortResult<()> {
        self.put(format!("stop.publish({service}, {value})"), service, value)
    }
    async fn publish_at(
        &self,
        _: &StopMetricConfig,
        service: &str,
        value: f64,
        at: OffsetDateTime,
    ) -> PortResult<()> {
        self.put(
            format!("stop.publish({service}, {value}) at {at}"),
            service,
            value,
        )
    }
    async fn read(&self, _: &StopMetricConfig, service: &str) -> PortResult<StopSwitchState> {
        self.log.record(format!("stop.read({service})"));
        self.faults.next()?;
        let last_value = lock(&self.values)
            .get(service)
            .and_then(|v| v.last().copied());
        let alarm_state = match last_value {
            None => AlarmState::InsufficientData,
            Some(v) if v >= 1.0 => AlarmState::Alarm,
            Some(_) => AlarmState::Ok,
        };
        Ok(StopSwitchState {
            alarm_state,
            last_value,
        })
    }
}

/// Routing controls with an "at least one On" safety rule, endpoints that can be
/// marked down, and break-glass overrides.
#[derive(Debug, Default)]
pub struct MemoryRoutingControls {
    pub log: CallLog,
    pub faults: Faults,
    states: Mutex<HashMap<String, ControlState>>,
    down: Mutex<HashSet<String>>,
    gating_rule: Mutex<Option<String>>,
}

impl MemoryRoutingControls {
    pub fn new(log: CallLog, initial: &[(&str, ControlState)]) -> Self {
        let controls = MemoryRoutingControls {
            log,
            ..Default::default()
        };
        lock(&controls.states).extend(initial.iter().map(|(arn, s)| (arn.to_string(), *s)));
        controls
    }
    pub fn set_endpoint_down(&self, url: &str, down: bool) {
        let mut set = lock(&self.down);
        if down {
            set.insert(url.to_owned());
        } else {
            set.remove(url);
        }
    }
    /// A safety rule that refuses every change made without an override.
    pub fn set_gating_rule(&self, message: Option<&str>) {
        *lock(&self.gating_rule) = message.map(str::to_owned);
    }
    fn reachable(&self, endpoint: &ArcEndpoint) -> PortResult<()> {
        if lock(&self.down).contains(&endpoint.url) {
            return Err(PortError::Unavailable(format!(
                "connection to {} refused",
                endpoint.url
            )));
        }
        self.faults.next()
    }
}

impl RoutingControls for MemoryRoutingControls {
    async fn get_state(
        &self,
        endpoint: &ArcEndpoint,
        control_arn: &str,
    ) -> PortResult<ControlState> {
        self.log
            .record(format!("arc.get_state({}, {control_arn})", endpoint.region));
        self.reachable(endpoint)?;
        lock(&self.states)
            .get(control_arn)
            .copied()
            .ok_or_else(|| PortError::NotFound(control_arn.to_owned()))
    }

    async fn update_states(
        &self,
        endpoint: &ArcEndpoint,
        states: &[(String, ControlState)],
        override_rules: &[String],
    ) -> PortResult<()> {
        self.log.record(format!(
            "arc.update_states({}, {states:?}, override={})",
            endpoint.region,
            !override_rules.is_empty()
        ));
        self.reachable(endpoint)?;
        if let Some(rule) = lock(&self.gating_rule).as_ref()
            && override_rules.is_empty()
        {
            return Err(PortError::Rejected(rule.clone()));
        }
        let mut current = lock(&self.states);
        let mut next = current.clone();
        for (arn, state) in states {
            if !next.contains_key(arn) {
                return Err(PortError::NotFound(arn.clone()));
            }
            next.insert(arn.clone(), *state);
        }
        let any_on = next.values().any(|s| *s == ControlState::On);
        if !any_on && override_rules.is_empty() {
            return Err(PortError::Rejected(
                "safety rule: at least one routing control must be On".to_owned(),
            ));
        }
        *current = next;
        Ok(())
    }
}

/// Positions as the engine would answer them, and the database-level fence.
/// Each instance answers its positions in turn, the last one from then on, so
/// that a test can make a copy catch up after a few reads.
#[derive(Debug, Default)]
pub struct MemoryReplication {
    pub log: CallLog,
    pub faults: Faults,
    positions: Mutex<HashMap<String, VecDeque<String>>>,
    read_only: Mutex<HashSet<String>>,
}

impl MemoryReplication {
    pub fn new(log: CallLog) -> Self {
        MemoryReplication {
            log,
            ..Default::default()
        }
    }
    /// What `instance_id` answers on its next reads, in order.
    pub fn set_positions(&self, instance_id: &str, positions: &[&str]) {
        lock(&self.positions).insert(
            instance_id.to_owned(),
            positions.iter().map(|p| (*p).to_owned()).collect(),
        );
    }
    pub fn is_read_only(&self, instance_id: &str) -> bool {
        lock(&self.read_only).contains(instance_id)
    }
    fn read(&self, call: &str, instance: &DbRef) -> PortResult<String> {
        self.log.record(format!("sql.{call}({})", instance.id));
        self.faults.next()?;
        let mut positions = lock(&self.positions);
        let queue = positions
            .get_mut(&instance.id)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| PortError::NotFound(format!("no position for {}", instance.id)))?;
        Ok(if queue.len() > 1 {
            queue.pop_front().unwrap_or_default()
        } else {
            queue.front().cloned().unwrap_or_default()
        })
    }
}

impl Replication for MemoryReplication {
    async fn writer_position(&self, writer: &DbRef) -> PortResult<String> {
        self.read("writer_position", writer)
    }
    async fn replayed_position(&self, copy: &DbRef) -> PortResult<String> {
        self.read("replayed_position", copy)
    }
    async fn set_read_only(&self, instance: &DbRef, read_only: bool) -> PortResult<()> {
        self.log
            .record(format!("sql.set_read_only({}, {read_only})", instance.id));
        self.faults.next()?;
        let mut fenced = lock(&self.read_only);
        if read_only {
            fenced.insert(instance.id.clone());
        } else {
            fenced.remove(&instance.id);
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct MemoryDatabase {
    pub log: CallLog,
    pub faults: Faults,
    pub instances: Mutex<HashMap<String, ReplicaStatus>>,
    pub globals: Mutex<HashMap<String, GlobalClusterStatus>>,
    pub cluster_endpoints: Mutex<HashMap<String, (String, u16)>>,
    /// `ReplicaLag` per replica, as CloudWatch would answer.
    pub lags: Mutex<HashMap<String, LagSample>>,
    /// Instances in the other Region, by ARN, as RDS knows them when a copy
    /// of one is asked for here (`knows_source`).
    pub sources: Mutex<HashMap<String, ReplicaStatus>>,
    /// This Region, where a copy's KMS key must be (`knows_source`).
    pub region: Mutex<String>,
}

impl MemoryDatabase {
    pub fn set_lag(&self, instance_id: &str, sample: LagSample) {
        lock(&self.lags).insert(instance_id.to_owned(), sample);
    }
    /// Makes `source` (in the other Region) a known source of copies here, so
    /// that `create_replica` checks it as RDS does (its encryption, its engine).
    pub fn knows_source(&self, region: &str, source: ReplicaStatus) {
        *lock(&self.region) = region.to_owned();
        lock(&self.sources).insert(source.arn.clone(), source);
    }
    pub fn new(log: CallLog) -> Self {
        MemoryDatabase {
            log,
            ..Default::default()
        }
    }
    pub fn add_instance(&self, status: ReplicaStatus) {
        lock(&self.instances).insert(status.instance_id.clone(), status);
    }
    pub fn add_global(&self, status: GlobalClusterStatus) {
        lock(&self.globals).insert(status.global_cluster_id.clone(), status);
    }
    fn move_writer(&self, global_cluster_id: &str, target: &str) -> PortResult<()> {
        let mut globals = lock(&self.globals);
        let global = globals
            .get_mut(global_cluster_id)
            .ok_or_else(|| PortError::NotFound(global_cluster_id.to_owned()))?;
        if !global.member_cluster_arns.iter().any(|m| m == target) {
            return Err(PortError::Rejected(format!(
                "{target} is not a member of {global_cluster_id}"
            )));
        }
        global.writer_cluster_arn = Some(target.to_owned());
        Ok(())
    }
}

impl Database for MemoryDatabase {
    async fn describe_instance(&self, instance_id: &str) -> PortResult<ReplicaStatus> {
        self.log
            .record(format!("rds.describe_instance({instance_id})"));
        self.faults.next()?;
        lock(&self.instances)
            .get(instance_id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(instance_id.to_owned()))
    }

    async fn promote_replica(
        &self,
        instance_id: &str,
        backup_retention_days: u8,
    ) -> PortResult<()> {
        self.log.record(format!(
            "rds.promote_replica({instance_id}, retention={backup_retention_days})"
        ));
        self.faults.next()?;
        let mut instances = lock(&self.instances);
        let instance = instances
            .get_mut(instance_id)
            .ok_or_else(|| PortError::NotFound(instance_id.to_owned()))?;
        if let Some(refusal) = crate::aws_rules::promote_refusal(instance) {
            return Err(refusal);
        }
        instance.source = None;
        instance.replica_lag_seconds = None;
        Ok(())
    }

    async fn replica_lag(&self, instance_id: &str) -> PortResult<Option<LagSample>> {
        self.log
            .record(format!("cloudwatch.replica_lag({instance_id})"));
        self.faults.next()?;
        Ok(lock(&self.lags).get(instance_id).copied())
    }

    async fn create_replica(&self, replica: &NewReplica) -> PortResult<()> {
        let (source_arn, replica_id) = (replica.source_arn.as_str(), replica.id.as_str());
        self.log.record(format!(
            "rds.create_replica({source_arn}, {replica_id}, subnets={}, groups={}, parameters={}, key={}, multi_az={})",
            replica.subnet_group.as_deref().unwrap_or("-"),
            replica.security_group_ids.join(";"),
            replica.parameter_group.as_deref().unwrap_or("-"),
            replica.kms_key_arn.as_deref().unwrap_or("-"),
            replica.multi_az
        ));
        self.faults.next()?;
        let source = lock(&self.sources).get(source_arn).cloned();
        if let Some(source) = &source {
            let here = lock(&self.region).clone();
            if let Some(refusal) =
                crate::aws_rules::cross_region_replica_refusal(source, replica, &here)
            {
                return Err(refusal);
            }
        }
        let mut instances = lock(&self.instances);
        if instances.contains_key(replica_id) {
            return Err(PortError::Rejected(format!(
                "DBInstanceAlreadyExists: {replica_id}"
            )));
        }
        instances.insert(
            replica_id.to_owned(),
            ReplicaStatus {
                instance_id: replica_id.to_owned(),
                replication: None,
                arn: format!("arn:aws:rds:memory:000000000000:db:{replica_id}"),
                source: Some(source_arn.to_owned()),
                status: "available".to_owned(),
                replica_lag_seconds: Some(0),
                endpoint: Some((format!("{replica_id}.memory"), 5432)),
                engine: source
                    .as_ref()
                    .map(|s| s.engine.clone())
                    .unwrap_or_default(),
                storage_encrypted: replica.kms_key_arn.is_some(),
                multi_az: replica.multi_az,
                subnet_group: replica.subnet_group.clone(),
                security_group_ids: replica.security_group_ids.clone(),
                parameter_group: replica.parameter_group.clone(),
                parameter_apply_status: replica
                    .parameter_group
                    .as_ref()
                    .map(|_| "in-sync".to_owned()),
            },
        );
        Ok(())
    }

    async fn set_parameter_group(
        &self,
        instance_id: &str,
        parameter_group: &str,
    ) -> PortResult<()> {
        self.log.record(format!(
            "rds.set_parameter_group({instance_id}, {parameter_group})"
        ));
        self.faults.next()?;
        let mut instances = lock(&self.instances);
        let instance = instances
            .get_mut(instance_id)
            .ok_or_else(|| PortError::NotFound(instance_id.to_owned()))?;
        instance.parameter_group = Some(parameter_group.to_owned());
        // Static parameters wait for a reboot, as RDS says of a new group.
        instance.parameter_apply_status = Some("pending-reboot".to_owned());
        Ok(())
    }

    async fn reboot(&self, instance_id: &str) -> PortResult<()> {
        self.log.record(format!("rds.reboot({instance_id})"));
        self.faults.next()?;
        let mut instances = lock(&self.instances);
        let instance = instances
            .get_mut(instance_id)
            .ok_or_else(|| PortError::NotFound(instance_id.to_owned()))?;
        instance.parameter_apply_status = Some("in-sync".to_owned());
        Ok(())
    }

    async fn describe_global_cluster(
        &self,
        global_cluster_id: &str,
    ) -> PortResult<GlobalClusterStatus> {
        self.log
            .record(format!("rds.describe_global_cluster({global_cluster_id})"));
        self.faults.next()?;
        lock(&self.globals)
            .get(global_cluster_id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(global_cluster_id.to_owned()))
    }

    async fn switchover_global_cluster(
        &self,
        global_cluster_id: &str,
        target: &str,
    ) -> PortResult<()> {
        self.log.record(format!(
            "rds.switchover_global_cluster({global_cluster_id}, {target})"
        ));
        self.faults.next()?;
        self.move_writer(global_cluster_id, target)
    }

    async fn failover_global_cluster_allow_data_loss(
        &self,
        global_cluster_id: &str,
        target: &str,
    ) -> PortResult<()> {
        self.log.record(format!(
            "rds.failover_global_cluster({global_cluster_id}, {target}, allow_data_loss)"
        ));
        self.faults.next()?;
        self.move_writer(global_cluster_id, target)
    }

    async fn cluster_writer_endpoint(&self, cluster_id: &str) -> PortResult<(String, u16)> {
        self.log
            .record(format!("rds.cluster_writer_endpoint({cluster_id})"));
        self.faults.next()?;
        lock(&self.cluster_endpoints)
            .get(cluster_id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(cluster_id.to_owned()))
    }
}

#[derive(Debug, Default)]
pub struct MemoryCapacity {
    pub log: CallLog,
    pub faults: Faults,
    groups: Mutex<HashMap<String, GroupCapacity>>,
}

impl MemoryCapacity {
    pub fn new(log: CallLog, groups: &[(&str, GroupCapacity)]) -> Self {
        let capacity = MemoryCapacity {
            log,
            ..Default::default()
        };
        lock(&capacity.groups).extend(groups.iter().map(|(n, c)| (n.to_string(), *c)));
        capacity
    }
}

impl Capacity for MemoryCapacity {
    async fn describe_group(&self, group_name: &str) -> PortResult<GroupCapacity> {
        self.log.record(format!("asg.describe_group({group_name})"));
        self.faults.next()?;
        lock(&self.groups)
            .get(group_name)
            .copied()
            .ok_or_else(|| PortError::NotFound(group_name.to_owned()))
    }

    async fn set_group(&self, group_name: &str, capacity: GroupCapacity) -> PortResult<()> {
        self.log
            .record(format!("asg.set_group({group_name}, {capacity:?})"));
        self.faults.next()?;
        let mut groups = lock(&self.groups);
        let group = groups
            .get_mut(group_name)
            .ok_or_else(|| PortError::NotFound(group_name.to_owned()))?;
        if let Some(refusal) = crate::aws_rules::group_refusal(group_name, &capacity) {
            return Err(refusal);
        }
        *group = capacity;
        Ok(())
    }
}

#[derive(Debug)]
struct StoredSecret {
    /// (client request token, value), oldest first; the last is AWSCURRENT.
    versions: Vec<(String, Sensitive)>,
    replica_of: Option<String>,
}

#[derive(Debug, Default)]
pub struct MemorySecrets {
    pub log: CallLog,
    pub faults: Faults,
    secrets: Mutex<HashMap<String, StoredSecret>>,
}

impl MemorySecrets {
    pub fn new(log: CallLog) -> Self {
        MemorySecrets {
            log,
            ..Default::default()
        }
    }
    pub fn add(&self, secret_id: &str, value: &str, replica_of: Option<&str>) {
        lock(&self.secrets).insert(
            secret_id.to_owned(),
            StoredSecret {
                versions: vec![("initial".to_owned(), Sensitive::new(value))],
                replica_of: replica_of.map(str::to_owned),
            },
        );
    }
    pub fn version_count(&self, secret_id: &str) -> usize {
        lock(&self.secrets)
            .get(secret_id)
            .map_or(0, |s| s.versions.len())
    }
}

impl Secrets for MemorySecrets {
    async fn get_current(&self, secret_id: &str) -> PortResult<SecretValue> {
        // The id only: values never enter the log.
        self.log.record(format!("secrets.get_current({secret_id})"));
        self.faults.next()?;
        let secrets = lock(&self.secrets);
        let secret = secrets
            .get(secret_id)
            .ok_or_else(|| PortError::NotFound(secret_id.to_owned()))?;
        let (token, value) = secret
            .versions
            .last()
            .ok_or_else(|| PortError::NotFound(format!("{secret_id} has no AWSCURRENT version")))?;
        Ok(SecretValue {
            version_id: token.clone(),
            value: value.clone(),
            replica_of: secret.replica_of.clone(),
        })
    }

    async fn put_value(&self, secret_id: &str, value: &Sensitive, token: &str) -> PortResult<()> {
        self.log
            .record(format!("secrets.put_value({secret_id}, token={token})"));
        self.faults.next()?;
        let mut secrets = lock(&self.secrets);
        let secret = secrets
            .get_mut(secret_id)
            .ok_or_else(|| PortError::NotFound(secret_id.to_owned()))?;
        let is_replica = secret.replica_of.is_some();
        crate::aws_rules::put_secret_value(
            &mut secret.versions,
            is_replica,
            secret_id,
            token,
            value,
        )
        .map(|_| ())
    }

    async fn stop_replication(&self, secret_id: &str) -> PortResult<()> {
        self.log
            .record(format!("secrets.stop_replication({secret_id})"));
        self.faults.next()?;
        let mut secrets = lock(&self.secrets);
        let secret = secrets
            .get_mut(secret_id)
            .ok_or_else(|| PortError::NotFound(secret_id.to_owned()))?;
        secret.replica_of = None;
        Ok(())
    }

    async fn describe(&self, secret_id: &str) -> PortResult<SecretInfo> {
        self.log.record(format!("secrets.describe({secret_id})"));
        self.faults.next()?;
        let secrets = lock(&self.secrets);
        let secret = secrets
            .get(secret_id)
            .ok_or_else(|| PortError::NotFound(secret_id.to_owned()))?;
        Ok(SecretInfo {
            replica_of: secret.replica_of.clone(),
        })
    }
}

/// Named texts, as SSM parameters hold them; the 4 KB rule of a standard
/// parameter applies.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    pub log: CallLog,
    pub faults: Faults,
    texts: Mutex<HashMap<String, String>>,
    /// While set, every call fails with it: a Region out of reach.
    down: Mutex<Option<PortError>>,
}

impl MemoryStateStore {
    pub fn new(log: CallLog) -> Self {
        MemoryStateStore {
            log,
            ..Default::default()
        }
    }
    /// A text saved before the test, so not in the call log.
    pub fn with(self, name: &str, text: &str) -> Self {
        lock(&self.texts).insert(name.to_owned(), text.to_owned());
        self
    }
    pub fn text(&self, name: &str) -> Option<String> {
        lock(&self.texts).get(name).cloned()
    }
    /// Every call fails with `error` until [`MemoryStateStore::up`].
    pub fn down(&self, error: PortError) {
        *lock(&self.down) = Some(error);
    }
    pub fn up(&self) {
        *lock(&self.down) = None;
    }
    fn reachable(&self) -> PortResult<()> {
        match lock(&self.down).clone() {
            Some(error) => Err(error),
            None => self.faults.next(),
        }
    }
}

impl StateStore for MemoryStateStore {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        self.log.record(format!("state.load({name})"));
        self.reachable()?;
        Ok(lock(&self.texts).get(name).cloned())
    }
    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        self.log.record(format!("state.save({name})"));
        self.reachable()?;
        crate::aws_rules::fits_standard_parameter(name, text)?;
        lock(&self.texts).insert(name.to_owned(), text.to_owned());
        Ok(())
    }
}

/// Every datapoint published, in order.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    pub log: CallLog,
    pub faults: Faults,
    data: Mutex<Vec<Datum>>,
}

impl MemoryMetrics {
    pub fn new(log: CallLog) -> Self {
        MemoryMetrics {
            log,
            ..Default::default()
        }
    }
    /// The values published under `name`, oldest first.
    pub fn values(&self, name: &str) -> Vec<f64> {
        lock(&self.data)
            .iter()
            .filter(|d| d.name == name)
            .map(|d| d.value)
            .collect()
    }
}

impl Metrics for MemoryMetrics {
    async fn put(&self, data: &[Datum]) -> PortResult<()> {
        self.log.record(format!("metrics.put({})", data.len()));
        self.faults.next()?;
        lock(&self.data).extend(data.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Region;

    fn endpoint(region: &str, url: &str) -> ArcEndpoint {
        ArcEndpoint {
            region: region.parse::<Region>().unwrap(),
            url: url.to_owned(),
        }
    }

    #[tokio::test]
    async fn routing_controls_enforce_the_safety_rule_unless_overridden() {
        let log = CallLog::default();
        let arc = MemoryRoutingControls::new(
            log.clone(),
            &[("p", ControlState::On), ("s", ControlState::Off)],
        );
        let ep = endpoint("us-west-2", "https://b");
        let all_off = [("p".to_owned(), ControlState::Off)];
        let err = arc.update_states(&ep, &all_off, &[]).await.unwrap_err();
        assert!(matches!(err, PortError::Rejected(_)));
        assert!(!err.is_retryable());
        assert_eq!(arc.get_state(&ep, "p").await.unwrap(), ControlState::On);
        arc.update_states(&ep, &all_off, &["rule".to_owned()])
            .await
            .unwrap();
        assert_eq!(arc.get_state(&ep, "p").await.unwrap(), ControlState::Off);
        arc.set_endpoint_down("https://b", true);
        let err = arc.get_state(&ep, "p").await.unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(log.count("arc."), 5);
    }

    #[tokio::test]
    async fn secrets_put_is_idempotent_per_token_and_refused_on_a_replica() {
        let secrets = MemorySecrets::new(CallLog::default());
        secrets.add("db", r#"{"host":"a"}"#, Some("us-east-1"));
        let value = Sensitive::new(r#"{"host":"b"}"#);
        let err = secrets.put_value("db", &value, "t1").await.unwrap_err();
        assert!(matches!(err, PortError::Rejected(_)));
        secrets.stop_replication("db").await.unwrap();
        secrets.put_value("db", &value, "t1").await.unwrap();
        secrets.put_value("db", &value, "t1").await.unwrap();
        assert_eq!(secrets.version_count("db"), 2);
        let current = secrets.get_current("db").await.unwrap();
        assert_eq!(current.value.expose(), r#"{"host":"b"}"#);
        assert!(!format!("{current:?}").contains("host"));
        let other = Sensitive::new("x");
        assert!(secrets.put_value("db", &other, "t1").await.is_err());
    }

    #[tokio::test]
    async fn faults_fail_the_next_calls_then_clear() {
        let stop = MemoryStopSwitch::new(CallLog::default());
        let switch = StopMetricConfig {
            namespace: "StopPattern".into(),
            metric_name: "FailoverToSecondary".into(),
            alarm_name: "orders-stop-failover".into(),
        };
        stop.faults.push(PortError::Throttled("slow down".into()));
        assert!(stop.publish(&switch, "orders", 1.0).await.is_err());
        stop.publish(&switch, "orders", 1.0).await.unwrap();
        let state = stop.read(&switch, "orders").await.unwrap();
        let other = stop.read(&switch, "payments").await.unwrap();
        assert_eq!(other.alarm_state, AlarmState::InsufficientData);
        assert_eq!(state.alarm_state, AlarmState::Alarm);
        assert_eq!(state.last_value, Some(1.0));
    }

    #[tokio::test]
    async fn capacity_refuses_unordered_sizes() {
        let cap = GroupCapacity {
            min: 0,
            desired: 0,
            max: 0,
        };
        let asg = MemoryCapacity::new(CallLog::default(), &[("web", cap)]);
        let bad = GroupCapacity {
            min: 3,
            desired: 2,
            max: 4,
        };
        assert!(asg.set_group("web", bad).await.is_err());
        assert_eq!(asg.describe_group("web").await.unwrap(), cap);
    }
}
