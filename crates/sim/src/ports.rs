//! Every port of `stop_core` over the simulated world, each bound to one Region
//! as the `aws` adapters are. Each call first yields (so that two invocations
//! running at once interleave, as two Lambdas would), then is admitted by the
//! world: counted, delayed, and failed if its Region is dark, the invocation's
//! time is up or a fault is scripted.

use stop_core::config::{ArcEndpoint, Region, StopMetricConfig};
use stop_core::decision::Decision;
use stop_core::ports::*;
use time::{Duration, OffsetDateTime};

use crate::model;
use crate::world::{EndpointHealth, Sim, SimInstance, WriterMove};

/// What every port holds: the world, its Region, and the Region it is
/// called from (`None`: the control plane, in the standby Region).
#[derive(Debug, Clone)]
pub struct Bound {
    pub sim: Sim,
    pub region: Region,
    pub caller: Option<Region>,
}

impl Bound {
    pub fn new(sim: &Sim, region: &Region) -> Self {
        Bound {
            sim: sim.clone(),
            region: region.clone(),
            caller: None,
        }
    }
    /// A port of `region` called from `caller`'s Region (a fence in the
    /// primary reading the standby's copy).
    pub fn from(sim: &Sim, caller: &Region, region: &Region) -> Self {
        Bound {
            caller: Some(caller.clone()),
            ..Bound::new(sim, region)
        }
    }
    async fn enter(&self, api: &'static str) -> PortResult<()> {
        tokio::task::yield_now().await;
        self.sim.with(|w| match &self.caller {
            Some(caller) => w.admit_from(caller, &self.region, api),
            None => w.admit(&self.region, api),
        })
    }
}

/// SSM Parameter Store: one parameter per service, its versions the history.
#[derive(Debug, Clone)]
pub struct SimDecisionStore(pub Bound);

impl DecisionStore for SimDecisionStore {
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        self.0.enter("ssm.GetParameterHistory").await?;
        Ok(self
            .0
            .sim
            .with(|w| w.parameters.get(service).cloned().unwrap_or_default()))
    }
    async fn store(&self, decision: &Decision) -> PortResult<()> {
        self.0.enter("ssm.PutParameter").await?;
        stop_core::aws_rules::decision_value(decision)?;
        self.0.sim.with(|w| {
            w.parameters
                .entry(decision.service.clone())
                .or_default()
                .push(decision.clone());
            w.record_writes += 1;
        });
        Ok(())
    }
}

/// CloudWatch: `PutMetricData` appends a datapoint; the alarm is evaluated by
/// the drill on its period, so a read shows the state of the last evaluation.
#[derive(Debug, Clone)]
pub struct SimStopSwitch(pub Bound);

impl SimStopSwitch {
    /// One `PutMetricData`: CloudWatch files the datapoint under its
    /// `Timestamp`, or the time it was received without one.
    async fn put(&self, service: &str, value: f64, at: Option<OffsetDateTime>) -> PortResult<()> {
        self.0.enter("cloudwatch.PutMetricData").await?;
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let stamped = at.unwrap_or(w.now);
            let previous = w.stop_metric.last().map(|(_, v)| *v);
            w.stop_metric.push((stamped, value));
            w.stop_metric.sort_by_key(|(t, _)| *t);
            // The minute's republish of an unchanged value is not news.
            if at.is_none() || previous != Some(value) {
                let note = at.map_or(String::new(), |at| format!(" (stamped {at})"));
                w.log(&region, format!("STOP metric {service} = {value}{note}"));
            }
        });
        Ok(())
    }
}

impl StopSwitch for SimStopSwitch {
    async fn publish(&self, _: &StopMetricConfig, service: &str, value: f64) -> PortResult<()> {
        self.put(service, value, None).await
    }
    async fn publish_at(
        &self,
        _: &StopMetricConfig,
        service: &str,
        value: f64,
        at: OffsetDateTime,
    ) -> PortResult<()> {
        self.put(service, value, Some(at)).await
    }
    async fn read(&self, _: &StopMetricConfig, _service: &str) -> PortResult<StopSwitchState> {
        self.0.enter("cloudwatch.DescribeAlarms").await?;
        Ok(self.0.sim.with(|w| StopSwitchState {
            alarm_state: w.alarm,
            last_value: w.stop_metric.last().map(|(_, v)| *v),
        }))
    }
}

/// CloudWatch in us-east-1 (`Bound` there), which holds Route 53's
/// `HealthCheckStatus`: the standby's health check as the drill's checkers see it.
#[derive(Debug, Clone)]
pub struct SimHealthChecks(pub Bound);

impl HealthChecks for SimHealthChecks {
    async fn status(&self, _health_check_id: &str) -> PortResult<Option<HealthReading>> {
        self.0
            .enter("cloudwatch.GetMetricData(AWS/Route53)")
            .await?;
        Ok(self.0.sim.with(|w| {
            w.standby_route53
                .map(|(at, healthy)| HealthReading { healthy, at })
        }))
    }
}

/// The ARC cluster: five regional endpoints, each up, down or hanging; a
/// safety rule that keeps at least one control On.
#[derive(Debug, Clone)]
pub struct SimRoutingControls(pub Sim);

impl SimRoutingControls {
    async fn reach(&self, endpoint: &ArcEndpoint, api: &'static str) -> PortResult<()> {
        tokio::task::yield_now().await;
        self.0.with(|w| {
            let (region, health) = w
                .arc_endpoints
                .get(&endpoint.url)
                .cloned()
                .unwrap_or((endpoint.region.clone(), EndpointHealth::Down));
            let health = if w.dark.contains(&region) {
                EndpointHealth::Down
            } else {
                health
            };
            match health {
                EndpointHealth::Up => w.admit(&region, api),
                EndpointHealth::Down | EndpointHealth::Hanging => {
                    // Counted like any call, then the timeout it costs.
                    w.admit(&region, api)?;
                    let (ms, what) = if health == EndpointHealth::Down {
                        (model::CONNECT_TIMEOUT_MS, "connection refused")
                    } else {
                        (model::ATTEMPT_TIMEOUT_MS, "attempt timed out")
                    };
                    w.now += Duration::milliseconds(ms);
                    Err(PortError::Unavailable(format!("{}: {what}", endpoint.url)))
                }
            }
        })
    }
}

impl RoutingControls for SimRoutingControls {
    async fn get_state(&self, endpoint: &ArcEndpoint, arn: &str) -> PortResult<ControlState> {
        self.reach(endpoint, "arc.GetRoutingControlState").await?;
        self.0.with(|w| {
            w.controls
                .get(arn)
                .copied()
                .ok_or_else(|| PortError::NotFound(arn.to_owned()))
        })
    }

    async fn update_states(
        &self,
        endpoint: &ArcEndpoint,
        states: &[(String, ControlState)],
        override_rules: &[String],
    ) -> PortResult<()> {
        self.reach(endpoint, "arc.UpdateRoutingControlStates")
            .await?;
        self.0.with(|w| {
            let mut next = w.controls.clone();
            for (arn, state) in states {
                if !next.contains_key(arn) {
                    return Err(PortError::NotFound(arn.clone()));
                }
                next.insert(arn.clone(), *state);
            }
            if !next.values().any(|s| *s == ControlState::On) && override_rules.is_empty() {
                return Err(PortError::Rejected(
                    "safety rule: at least one routing control must be On".into(),
                ));
            }
            let changed: Vec<String> = states
                .iter()
                .filter(|(arn, s)| w.controls.get(arn) != Some(s))
                .map(|(arn, s)| format!("{} {s:?}", arn.rsplit('/').next().unwrap_or(arn)))
                .collect();
            w.controls = next;
            let region = endpoint.region.to_string();
            w.log(
                &region,
                format!("ARC routing controls: {}", changed.join(", ")),
            );
            Ok(())
        })
    }
}

/// SQL on the RDS instances, from the standby's control plane: a writer's
/// position is the count of writes its Region acknowledged; a copy has
/// replayed those that are older than the replication lag, until it stops
/// replicating (promoted: its position stays where it was). The
/// database-level fence makes an instance refuse writes.
#[derive(Debug, Clone)]
pub struct SimReplication {
    pub sim: Sim,
    /// Sabotage: a copy answers as if it had applied everything.
    pub claims_caught_up: bool,
}

impl SimReplication {
    async fn instance(
        &self,
        api: &'static str,
        instance: &stop_core::decision::DbRef,
    ) -> PortResult<SimInstance> {
        Bound::new(&self.sim, &instance.region).enter(api).await?;
        self.sim.with(|w| {
            let ungraceful = w
                .parameters
                .values()
                .filter_map(|history| Decision::current(history))
                .any(|d| d.mode == stop_core::decision::Mode::Ungraceful && d.epoch > 0);
            if ungraceful && instance.region == w.primary {
                w.ungraceful_sql_to_primary += 1;
            }
            w.instances
                .get(&instance.id)
                .filter(|i| i.region == instance.region)
                .cloned()
                .ok_or_else(|| PortError::NotFound(format!("no instance {instance}")))
        })
    }
}

/// A PostgreSQL LSN for the `count`th write of a lineage.
fn lsn(count: usize) -> String {
    let bytes = 0x0300_0000_u64 + 0x100 * u64::try_from(count).unwrap_or(u64::MAX >> 9);
    format!("{:X}/{:X}", bytes >> 32, bytes & 0xFFFF_FFFF)
}

impl Replication for SimReplication {
    async fn writer_position(&self, writer: &stop_core::decision::DbRef) -> PortResult<String> {
        self.instance("sql.pg_current_wal_lsn", writer).await?;
        Ok(self
            .sim
            .with(|w| lsn(w.writes.iter().filter(|(_, r)| r == &writer.region).count())))
    }
    async fn replayed_position(&self, copy: &stop_core::decision::DbRef) -> PortResult<String> {
        let instance = self.instance("sql.pg_last_wal_replay_lsn", copy).await?;
        let source = instance
            .status
            .source
            .as_deref()
            .and_then(|arn| arn.split(':').nth(3))
            .and_then(|r| r.parse::<Region>().ok())
            .ok_or_else(|| PortError::Rejected(format!("{copy} is not in recovery")))?;
        let lies = self.claims_caught_up;
        Ok(self.sim.with(|w| {
            let stopped = w.dark.contains(&source) || w.isolated.contains(&source);
            let arrived =
                |t: &OffsetDateTime| lies || (!stopped && *t + w.replication_lag <= w.now);
            lsn(w
                .writes
                .iter()
                .filter(|(t, r)| r == &source && arrived(t))
                .count())
        }))
    }
    async fn set_read_only(
        &self,
        instance: &stop_core::decision::DbRef,
        read_only: bool,
    ) -> PortResult<()> {
        self.instance("sql.default_transaction_read_only", instance)
            .await?;
        self.sim.with(|w| {
            if let Some(i) = w.instances.get_mut(&instance.id) {
                i.read_only = read_only;
            }
            let state = if read_only {
                "read-only (sessions ended)"
            } else {
                "writable again"
            };
            let region = instance.region.to_string();
            w.log(&region, format!("database: {} {state}", instance.id));
        });
        Ok(())
    }
}

/// RDS in one Region: a replica's promotion and an Aurora global writer move
/// take minutes; the drill completes them and sends RDS's event.
#[derive(Debug, Clone)]
pub struct SimDatabase(pub Bound);

impl Database for SimDatabase {
    async fn describe_instance(&self, id: &str) -> PortResult<ReplicaStatus> {
        self.0.enter("rds.DescribeDBInstances").await?;
        let region = self.0.region.clone();
        self.0.sim.with(|w| {
            w.instances
                .get(id)
                .filter(|i| i.region == region)
                .map(|i| i.status.clone())
                .ok_or_else(|| PortError::NotFound(format!("DBInstanceNotFound: {id} in {region}")))
        })
    }

    async fn replica_lag(&self, id: &str) -> PortResult<Option<LagSample>> {
        self.0.enter("cloudwatch.GetMetricData").await?;
        let region = self.0.region.clone();
        self.0.sim.with(|w| {
            let Some(instance) = w.instances.get(id).filter(|i| i.region == region) else {
                return Ok(None);
            };
            let Some(source) = instance
                .status
                .source
                .as_deref()
                .and_then(|arn| arn.split(':').nth(3))
                .and_then(|r| r.parse::<Region>().ok())
            else {
                return Ok(None);
            };
            if instance.created_at.is_some() {
                return Ok(None);
            }
            // The newest complete minute's datapoint. RDS samples the lag
            // once a minute (not the minute's maximum): at the sample, a write
            // younger than the replication lag has not arrived.
            // <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html>
            let period = Duration::seconds(model::METRIC_PERIOD_S);
            let since_start = w.now - w.start;
            let minutes = since_start.whole_seconds() / model::METRIC_PERIOD_S;
            let at = w.start + period * i32::try_from(minutes - 1).unwrap_or(0);
            if at < w.start {
                return Ok(None);
            }
            // A source that is dark or cut off replicates nothing: -1.
            // <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html>
            if w.dark.contains(&source) || w.isolated.contains(&source) {
                return Ok(Some(LagSample {
                    seconds: 0,
                    replicating: false,
                    at,
                }));
            }
            let lag = w.replication_lag;
            let last_write = w
                .writes
                .iter()
                .filter(|(t, r)| r == &source && *t <= at)
                .map(|(t, _)| *t)
                .max()
                .unwrap_or(w.start);
            let idle = at - last_write;
            let seconds = if idle < lag {
                lag
            } else if instance.status.engine == "postgres" {
                // An idle PostgreSQL source: the replica's lag grows until the
                // WAL segment switches, "up to 5 minutes" (RDS's archive_timeout).
                // <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PostgreSQL.Replication.ReadReplicas.html>
                Duration::seconds(idle.whole_seconds() % model::PG_IDLE_LAG_RESET_S)
            } else {
                Duration::ZERO
            };
            Ok(Some(LagSample {
                seconds: u32::try_from(seconds.whole_seconds()).unwrap_or(u32::MAX),
                replicating: true,
                at,
            }))
        })
    }

    async fn create_replica(&self, replica: &NewReplica) -> PortResult<()> {
        self.0.enter("rds.CreateDBInstanceReadReplica").await?;
        let region = self.0.region.clone();
        let (source_arn, id) = (replica.source_arn.as_str(), replica.id.as_str());
        self.0.sim.with(|w| {
            if w.instances.contains_key(id) {
                return Err(PortError::Rejected(format!(
                    "DBInstanceAlreadyExists: {id}"
                )));
            }
            let source = w
                .instances
                .values()
                .find(|i| i.status.arn == source_arn)
                .map(|i| i.status.clone())
                .ok_or_else(|| PortError::Rejected(format!("DBInstanceNotFound: {source_arn}")))?;
            if let Some(refusal) = stop_core::aws_rules::cross_region_replica_refusal(
                &source,
                replica,
                region.as_str(),
            ) {
                return Err(refusal);
            }
            let took = w.draw_s(model::REPLICA_CREATE_S);
            let ready = w.now + took;
            w.instances.insert(
                id.to_owned(),
                SimInstance {
                    region: region.clone(),
                    status: ReplicaStatus {
                        instance_id: id.to_owned(),
                        replication: None,
                        arn: format!("arn:aws:rds:{region}:{}:db:{id}", crate::events::ACCOUNT),
                        source: Some(source_arn.to_owned()),
                        status: "creating".into(),
                        replica_lag_seconds: None,
                        endpoint: Some((format!("{id}.c0ffee.{region}.rds.amazonaws.com"), 5432)),
                        engine: source.engine.clone(),
                        storage_encrypted: replica.kms_key_arn.is_some(),
                        multi_az: replica.multi_az,
                        subnet_group: replica.subnet_group.clone(),
                        security_group_ids: replica.security_group_ids.clone(),
                        // RDS gives a cross-Region copy the engine's default group.
                        parameter_group: Some(
                            replica
                                .parameter_group
                                .clone()
                                .unwrap_or_else(|| format!("default.{}", source.engine)),
                        ),
                        parameter_apply_status: Some("in-sync".into()),
                    },
                    promoted_at: None,
                    created_at: Some(ready),
                    read_only: false,
                },
            );
            w.log(
                region.as_str(),
                format!(
                    "RDS: creating read replica {id} of {source_arn} (about {} min)",
                    took.whole_minutes()
                ),
            );
            Ok(())
        })
    }

    async fn set_parameter_group(&self, id: &str, group: &str) -> PortResult<()> {
        self.0.enter("rds.ModifyDBInstance").await?;
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let instance = w
                .instances
                .get_mut(id)
                .filter(|i| i.region.as_str() == region)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            instance.status.parameter_group = Some(group.to_owned());
            instance.status.parameter_apply_status = Some("pending-reboot".into());
            w.log(
                region.as_str(),
                format!("RDS: {id} now uses parameter group {group} (pending-reboot)"),
            );
            Ok(())
        })
    }

    async fn reboot(&self, id: &str) -> PortResult<()> {
        self.0.enter("rds.RebootDBInstance").await?;
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let instance = w
                .instances
                .get_mut(id)
                .filter(|i| i.region.as_str() == region)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            instance.status.parameter_apply_status = Some("in-sync".into());
            w.log(
                region.as_str(),
                format!("RDS: {id} rebooted; its parameters are in-sync"),
            );
            Ok(())
        })
    }

    async fn promote_replica(&self, id: &str, _retention: u8) -> PortResult<()> {
        self.0.enter("rds.PromoteReadReplica").await?;
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let took = w.draw_s(model::PROMOTION_S);
            let now = w.now;
            let instance: &mut SimInstance = w
                .instances
                .get_mut(id)
                .filter(|i| i.region.as_str() == region)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            if let Some(refusal) = stop_core::aws_rules::promote_refusal(&instance.status) {
                return Err(refusal);
            }
            instance.status.status = "modifying".into();
            instance.promoted_at = Some(now + took);
            w.promotions.push((now, now + took));
            let source_region = instance
                .status
                .source
                .as_deref()
                .and_then(|arn| arn.split(':').nth(3))
                .and_then(|r| r.parse::<Region>().ok());
            if let Some(source_region) = source_region {
                w.cuts.push((now, source_region));
            }
            w.writer_moves += 1;
            w.log(
                &region,
                format!(
                    "RDS promotion of {id} started (about {} s)",
                    took.whole_seconds()
                ),
            );
            Ok(())
        })
    }

    async fn describe_global_cluster(&self, id: &str) -> PortResult<GlobalClusterStatus> {
        self.0.enter("rds.DescribeGlobalClusters").await?;
        self.0.sim.with(|w| {
            w.global
                .clone()
                .filter(|g| g.global_cluster_id == id)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))
        })
    }

    async fn switchover_global_cluster(&self, id: &str, target: &str) -> PortResult<()> {
        self.0.enter("rds.SwitchoverGlobalCluster").await?;
        self.move_writer(id, target, false)
    }

    async fn failover_global_cluster_allow_data_loss(
        &self,
        id: &str,
        target: &str,
    ) -> PortResult<()> {
        self.0.enter("rds.FailoverGlobalCluster").await?;
        self.move_writer(id, target, true)
    }

    async fn cluster_writer_endpoint(&self, cluster_id: &str) -> PortResult<(String, u16)> {
        self.0.enter("rds.DescribeDBClusters").await?;
        self.0.sim.with(|w| {
            w.cluster_endpoints
                .get(cluster_id)
                .cloned()
                .ok_or_else(|| PortError::NotFound(cluster_id.to_owned()))
        })
    }
}

impl SimDatabase {
    fn move_writer(&self, id: &str, target: &str, data_loss: bool) -> PortResult<()> {
        let region = self.0.region.to_string();
        let primary = self.0.sim.with(|w| w.primary.clone());
        self.0.sim.with(|w| {
            // A switchover needs the old writer's Region to answer.
            if !data_loss && w.dark.contains(&primary) {
                return Err(PortError::Rejected(format!(
                    "InvalidGlobalClusterStateFault: the writer of {id} in {primary} is unreachable; \
                     a switchover needs both Regions"
                )));
            }
            let range = if data_loss {
                model::GLOBAL_FAILOVER_S
            } else {
                model::GLOBAL_SWITCHOVER_S
            };
            let took = w.draw_s(range);
            let done_at = w.now + took;
            let global = w
                .global
                .as_mut()
                .filter(|g| g.global_cluster_id == id)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            if global.status != "available" {
                return Err(PortError::Rejected(format!(
                    "InvalidGlobalClusterStateFault: {id} is {}",
                    global.status
                )));
            }
            if !data_loss
                && let Some(refusal) = stop_core::aws_rules::switchover_refusal(
                    &region,
                    global.writer_cluster_arn.as_deref(),
                )
            {
                return Err(refusal);
            }
            if !global.member_cluster_arns.iter().any(|m| m == target) {
                return Err(PortError::Rejected(format!("{target} is not a member of {id}")));
            }
            global.status = if data_loss {
                "failing-over".into()
            } else {
                "switching-over".into()
            };
            w.writer_moves += 1;
            if data_loss {
                let now = w.now;
                let old = global.writer_cluster_arn.clone().unwrap_or_default();
                // AWS lists the old writer as a secondary at once, but it
                // replicates (connected) only once its Region is back and
                // Aurora has rebuilt it: pending-resync until then.
                global.synchronized.retain(|m| m != &old);
                if let Some(old_region) = old.split(':').nth(3).and_then(|r| r.parse::<Region>().ok()) {
                    w.cuts.push((now, old_region));
                }
                w.rejoining = Some((old, None));
            }
            w.promotions.push((w.now, done_at));
            w.writer_move = Some(WriterMove {
                target_arn: target.to_owned(),
                done_at,
                data_loss,
            });
            let how = if data_loss {
                "failover (AllowDataLoss)"
            } else {
                "switchover"
            };
            w.log(
                &region,
                format!("Aurora global {how} of {id} started (about {} s)", took.whole_seconds()),
            );
            Ok(())
        })
    }
}

/// Auto Scaling in one Region: a raised desired size brings instances
/// InService after their warm-up.
#[derive(Debug, Clone)]
pub struct SimCapacity(pub Bound);

impl Capacity for SimCapacity {
    async fn describe_group(&self, name: &str) -> PortResult<GroupCapacity> {
        self.0
            .enter("autoscaling.DescribeAutoScalingGroups")
            .await?;
        self.0.sim.with(|w| {
            w.groups
                .get(name)
                .copied()
                .ok_or_else(|| PortError::NotFound(name.to_owned()))
        })
    }

    async fn set_group(&self, name: &str, capacity: GroupCapacity) -> PortResult<()> {
        self.0.enter("autoscaling.UpdateAutoScalingGroup").await?;
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            if let Some(refusal) = stop_core::aws_rules::group_refusal(name, &capacity) {
                return Err(refusal);
            }
            let group = w
                .groups
                .get_mut(name)
                .ok_or_else(|| PortError::NotFound(name.to_owned()))?;
            *group = capacity;
            let have = w.instances_ready_at.len();
            let want = usize::try_from(capacity.desired).unwrap_or(0);
            for _ in have..want {
                let ready = w.now + w.draw_s(model::INSTANCE_WARMUP_S);
                w.instances_ready_at.push(ready);
            }
            w.log(
                &region,
                format!(
                    "Auto Scaling {name}: min {} desired {} max {}",
                    capacity.min, capacity.desired, capacity.max
                ),
            );
            Ok(())
        })
    }
}

/// Secrets Manager in one Region: versions with `AWSCURRENT` the newest, a
/// token that makes a repeat a no-op, replicas that refuse writes.
#[derive(Debug, Clone)]
pub struct SimSecrets(pub Bound);

impl Secrets for SimSecrets {
    async fn get_current(&self, id: &str) -> PortResult<SecretValue> {
        self.0.enter("secretsmanager.GetSecretValue").await?;
        let key = (self.0.region.clone(), id.to_owned());
        self.0.sim.with(|w| {
            let secret = w
                .secrets
                .get(&key)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            let (token, value) = secret
                .versions
                .last()
                .ok_or_else(|| PortError::NotFound(format!("{id} has no AWSCURRENT")))?;
            Ok(SecretValue {
                version_id: token.clone(),
                value: value.clone(),
                replica_of: secret.replica_of.clone(),
            })
        })
    }

    async fn put_value(&self, id: &str, value: &Sensitive, token: &str) -> PortResult<()> {
        self.0.enter("secretsmanager.PutSecretValue").await?;
        let key = (self.0.region.clone(), id.to_owned());
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let secret = w
                .secrets
                .get_mut(&key)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            let is_replica = secret.replica_of.is_some();
            if !stop_core::aws_rules::put_secret_value(
                &mut secret.versions,
                is_replica,
                id,
                token,
                value,
            )? {
                return Ok(());
            }
            w.log(&region, format!("secret {id}: new AWSCURRENT version"));
            // Replicas in other Regions follow their primary secret.
            for ((_, replica_id), replica) in &mut w.secrets {
                if replica_id == id && replica.replica_of.as_deref() == Some(region.as_str()) {
                    replica.versions.push((token.to_owned(), value.clone()));
                }
            }
            Ok(())
        })
    }

    async fn stop_replication(&self, id: &str) -> PortResult<()> {
        self.0
            .enter("secretsmanager.StopReplicationToReplica")
            .await?;
        let key = (self.0.region.clone(), id.to_owned());
        let region = self.0.region.to_string();
        self.0.sim.with(|w| {
            let secret = w
                .secrets
                .get_mut(&key)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            secret.replica_of = None;
            w.log(
                &region,
                format!("secret {id}: replication stopped, standalone"),
            );
            Ok(())
        })
    }

    async fn describe(&self, id: &str) -> PortResult<SecretInfo> {
        self.0.enter("secretsmanager.DescribeSecret").await?;
        let key = (self.0.region.clone(), id.to_owned());
        self.0.sim.with(|w| {
            let secret = w
                .secrets
                .get(&key)
                .ok_or_else(|| PortError::NotFound(id.to_owned()))?;
            Ok(SecretInfo {
                replica_of: secret.replica_of.clone(),
            })
        })
    }
}

/// SSM String parameters other than the decision record, with SSM's 4 KB rule.
#[derive(Debug, Clone)]
pub struct SimStateStore(pub Bound);

impl StateStore for SimStateStore {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        self.0.enter("ssm.GetParameter").await?;
        let key = (self.0.region.clone(), name.to_owned());
        Ok(self.0.sim.with(|w| w.texts.get(&key).cloned()))
    }
    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        self.0.enter("ssm.PutParameter").await?;
        stop_core::aws_rules::fits_standard_parameter(name, text)?;
        let key = (self.0.region.clone(), name.to_owned());
        self.0.sim.with(|w| {
            w.texts.insert(key, text.to_owned());
        });
        Ok(())
    }
}

/// A `region-info` sandbox's view of one copy of the fence record: SSM in
/// that copy's Region, called from the sandbox's. `fail_open_with` is the
/// sabotage that proves the drill's checks: a read that fails answers with
/// that text (the deployed record), as the fence before the lease did.
#[derive(Debug, Clone)]
pub struct SimFenceCopy {
    pub store: SimStateStore,
    pub fail_open_with: Option<String>,
}

impl StateStore for SimFenceCopy {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        match (self.store.load(name).await, &self.fail_open_with) {
            (Err(_), Some(deployed)) => Ok(Some(deployed.clone())),
            (answer, _) => answer,
        }
    }
    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        self.store.save(name, text).await
    }
}

/// CloudWatch `PutMetricData` in one Region: every datapoint kept, for the
/// heartbeat alarm and the drill's checks.
#[derive(Debug, Clone)]
pub struct SimMetrics(pub Bound);

impl Metrics for SimMetrics {
    async fn put(&self, data: &[Datum]) -> PortResult<()> {
        self.0.enter("cloudwatch.PutMetricData").await?;
        let region = self.0.region.clone();
        self.0.sim.with(|w| {
            let now = w.now;
            w.metric_data
                .extend(data.iter().map(|d| (now, region.clone(), d.clone())));
        });
        Ok(())
    }
}
