//! The data and compute tier follow the decision: promote the database in the
//! standby Region, raise its capacity. A reconcile loop: every step reads first,
//! acts only if needed, records its state in the decision record, and never
//! waits for minutes; the next invocation (or RDS's completion event) carries on.

use serde::Serialize;

use crate::alarm::{AlarmGuard, AlarmMessage, Ignored};
use crate::config::{CapacityConfig, Config, DatabaseConfig};
use crate::decision::{Decision, Mode, StepState};
use crate::ports::{Capacity, Clock, Database, DecisionStore, GroupCapacity, PortError};

pub const DATABASE_STEP: &str = "database";
pub const CAPACITY_STEP: &str = "capacity";

/// The promoter's own settings beside the shared configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoterSettings {
    pub guard: AlarmGuard,
    /// Fail over on the alarm alone. Off: act only when an operator's decision
    /// already says the standby is active (the promoter then converges to it).
    pub auto_failover: bool,
}

/// What one step found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub step: &'static str,
    pub state: StepState,
    pub detail: String,
    /// Failed with an error worth another try (throttling, a 5xx, a timeout):
    /// the handler fails the invocation so that Lambda retries it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
}

/// The outcome of one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Logged and dropped; no AWS call beyond reading the record.
    Ignored { reason: String },
    /// The standby was reconciled towards the decision of this epoch.
    Reconciled {
        epoch: u64,
        decided: bool,
        steps: Vec<StepReport>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    #[error("the decision record could not be {action}: {error}")]
    Record {
        action: &'static str,
        error: PortError,
    },
    /// A step failed in a way another try may fix; every step is safe to repeat.
    #[error("step {step} failed and will be retried: {detail}")]
    Retry { step: &'static str, detail: String },
}

pub struct Promoter<'a, D, B, K, C> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub database: &'a B,
    pub capacity: &'a K,
    pub clock: &'a C,
}

impl<D, B, K, C> Promoter<'_, D, B, K, C>
where
    D: DecisionStore,
    B: Database,
    K: Capacity,
    C: Clock,
{
    async fn current(&self) -> Result<Decision, PromoteError> {
        let history = self
            .decisions
            .history(&self.config.service)
            .await
            .map_err(|error| PromoteError::Record {
                action: "read",
                error,
            })?;
        Ok(Decision::current_or_initial(
            &history,
            &self.config.service,
            self.config.primary_region(),
            self.clock.now(),
        ))
    }

    async fn store(&self, decision: &Decision) -> Result<(), PromoteError> {
        self.decisions
            .store(decision)
            .await
            .map_err(|error| PromoteError::Record {
                action: "written",
                error,
            })
    }

    /// Handles one alarm notification (its SNS `Message`).
    pub async fn on_alarm(
        &self,
        settings: &PromoterSettings,
        message: &str,
    ) -> Result<Verdict, PromoteError> {
        let now = self.clock.now();
        let checked = AlarmMessage::parse(message)
            .map_err(Ignored::Malformed)
            .and_then(|m| settings.guard.check(&m, now).map(|()| m));
        let alarm = match checked {
            Ok(alarm) => alarm,
            Err(ignored) => return Ok(ignore(ignored.to_string())),
        };

        let standby = self.config.standby_region();
        let mut decision = self.current().await?;
        let mut decided = false;
        if &decision.active_region != standby {
            if !settings.auto_failover {
                return Ok(ignore(format!(
                    "automatic failover is off and decision epoch {} keeps {} active",
                    decision.epoch, decision.active_region
                )));
            }
            let since = (now - decision.decided_at).whole_seconds();
            if decision.epoch > 0 && since < i64::from(self.config.cooldown_seconds) {
                return Ok(ignore(format!(
                    "anti-flap cooldown: decision epoch {} moved traffic {since} s ago",
                    decision.epoch
                )));
            }
            let reason = format!(
                "alarm {} ALARM: {}",
                alarm.alarm_name,
                alarm
                    .new_state_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            );
            let next = decision.next(
                standby.clone(),
                &format!("alarm:{}", alarm.alarm_name),
                &reason,
                Mode::Ungraceful,
                now,
            );
            self.store(&next).await?;
            let winner = self.current().await?;
            if &winner.active_region != standby {
                // An operator failed back at the same moment; never fight them.
                return Ok(ignore(format!(
                    "a concurrent decision (epoch {}) keeps {} active",
                    winner.epoch, winner.active_region
                )));
            }
            decided = winner == next;
            decision = winner;
            tracing::info!(
                target: "audit",
                epoch = decision.epoch,
                actor = %decision.actor,
                reason = %decision.reason,
                after = %decision.active_region,
                "automatic failover decision"
            );
        }
        let steps = self.reconcile(&mut decision).await?;
        Ok(Verdict::Reconciled {
            epoch: decision.epoch,
            decided,
            steps,
        })
    }

    /// Drives the database and capacity of this (standby) Region to a decision
    /// that makes it active, recording every step. Safe to run any number of times.
    pub async fn reconcile(
        &self,
        decision: &mut Decision,
    ) -> Result<Vec<StepReport>, PromoteError> {
        let before = decision.clone();
        let mut reports = Vec::new();
        if let Some(database) = &self.config.database {
            let report = self.database_step(database, decision).await;
            self.record(decision, &report);
            reports.push(report);
        }
        if let Some(capacity) = &self.config.capacity {
            let report = self.capacity_step(capacity).await;
            self.record(decision, &report);
            reports.push(report);
        }
        // Record only what changed: a duplicate delivery writes nothing.
        if before != *decision {
            self.store(decision).await?;
        }
        Ok(reports)
    }

    /// A step keeps its first record while its state stays the same.
    fn record(&self, decision: &mut Decision, report: &StepReport) {
        if decision.step(report.step).map(|s| s.state) != Some(report.state) {
            decision.record_step(report.step, report.state, self.clock.now(), &report.detail);
        }
    }

    async fn database_step(&self, database: &DatabaseConfig, decision: &Decision) -> StepReport {
        let in_progress = decision
            .step(DATABASE_STEP)
            .is_some_and(|s| s.state == StepState::InProgress);
        let outcome = match database {
            DatabaseConfig::RdsReplica {
                replica_id,
                backup_retention_days,
            } => {
                self.promote_replica(replica_id, *backup_retention_days, in_progress)
                    .await
            }
            DatabaseConfig::AuroraGlobal {
                global_cluster_id,
                cluster_id,
            } => {
                self.move_global_writer(global_cluster_id, cluster_id, decision.mode, in_progress)
                    .await
            }
        };
        let retryable = outcome.as_ref().is_err_and(PortError::is_retryable);
        let (state, detail) = outcome.unwrap_or_else(|e| (StepState::Failed, e.to_string()));
        StepReport {
            step: DATABASE_STEP,
            state,
            detail,
            retryable,
        }
    }

    async fn promote_replica(
        &self,
        replica_id: &str,
        retention: u8,
        in_progress: bool,
    ) -> Result<(StepState, String), PortError> {
        let instance = self.database.describe_instance(replica_id).await?;
        let Some(source) = &instance.source else {
            return Ok((
                StepState::Done,
                format!(
                    "{replica_id} is standalone ({}): it is the writer",
                    instance.status
                ),
            ));
        };
        let primary = self.config.primary_region().as_str();
        if !source.contains(&format!(":{primary}:")) {
            return Ok((
                StepState::Failed,
                format!("refused: {replica_id} replicates {source}, not an instance in {primary}"),
            ));
        }
        let lag = instance
            .replica_lag_seconds
            .map_or("unknown".to_owned(), |s| format!("{s} s"));
        if in_progress || instance.status != "available" {
            // Promotion takes minutes; a second PromoteReadReplica would fail or,
            // worse, race. Wait for RDS's completion event or the next run.
            return Ok((
                StepState::InProgress,
                format!(
                    "promotion of {replica_id} under way (status {})",
                    instance.status
                ),
            ));
        }
        self.database.promote_replica(replica_id, retention).await?;
        Ok((
            StepState::InProgress,
            format!("promotion of {replica_id} started; replica lag was {lag} (the RPO)"),
        ))
    }

    async fn move_global_writer(
        &self,
        global_cluster_id: &str,
        cluster_id: &str,
        mode: Mode,
        in_progress: bool,
    ) -> Result<(StepState, String), PortError> {
        let global = self
            .database
            .describe_global_cluster(global_cluster_id)
            .await?;
        let suffix = format!(":cluster:{cluster_id}");
        let Some(ours) = global
            .member_cluster_arns
            .iter()
            .find(|arn| arn.ends_with(&suffix))
        else {
            return Ok((
                StepState::Failed,
                format!("refused: {cluster_id} is not a member of {global_cluster_id}"),
            ));
        };
        if global.writer_cluster_arn.as_deref() == Some(ours.as_str()) {
            return Ok((
                StepState::Done,
                format!("{cluster_id} is the writer of {global_cluster_id}"),
            ));
        }
        if in_progress || global.status != "available" {
            return Ok((
                StepState::InProgress,
                format!(
                    "{global_cluster_id} is moving its writer (status {})",
                    global.status
                ),
            ));
        }
        match mode {
            Mode::Graceful => {
                self.database
                    .switchover_global_cluster(global_cluster_id, ours)
                    .await?;
                Ok((
                    StepState::InProgress,
                    format!("switchover to {cluster_id} started (no data loss)"),
                ))
            }
            Mode::Ungraceful => {
                self.database
                    .failover_global_cluster_allow_data_loss(global_cluster_id, ours)
                    .await?;
                Ok((
                    StepState::InProgress,
                    format!("failover to {cluster_id} started, allowing data loss"),
                ))
            }
        }
    }

    async fn capacity_step(&self, wanted: &CapacityConfig) -> StepReport {
        let outcome = async {
            let current = self.capacity.describe_group(&wanted.group_name).await?;
            // Raise, never lower: someone may have scaled up further by hand.
            let target = GroupCapacity {
                min: current.min.max(wanted.min),
                desired: current.desired.max(wanted.desired),
                max: current.max.max(wanted.max),
            };
            if target == current {
                return Ok((
                    StepState::Done,
                    format!("{} already at {current}", wanted.group_name),
                ));
            }
            self.capacity.set_group(&wanted.group_name, target).await?;
            Ok::<_, PortError>((
                StepState::Done,
                format!("{} raised from {current} to {target}", wanted.group_name),
            ))
        }
        .await;
        let retryable = outcome.as_ref().is_err_and(PortError::is_retryable);
        let (state, detail) = outcome.unwrap_or_else(|e| (StepState::Failed, e.to_string()));
        StepReport {
            step: CAPACITY_STEP,
            state,
            detail,
            retryable,
        }
    }
}

fn ignore(reason: String) -> Verdict {
    tracing::info!(%reason, "notification ignored");
    Verdict::Ignored { reason }
}
