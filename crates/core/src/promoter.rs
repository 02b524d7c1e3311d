//! The data and compute tier follow the decision: a reconcile loop over the
//! runbook's data steps (fence, drain, database), in the order
//! [`crate::runbook::RUNBOOK`] gives them and [`crate::runbook::next`] picks,
//! which is the order that loses no acknowledged write.
//!
//! Every step reads first, acts only if needed, records its state in the
//! decision record and never waits for minutes: the next run (the alarm, the
//! one-minute schedule, RDS's event) carries on. The standby's promoter runs
//! both legs: a failover with the standby's ports only, a failback and a
//! re-protect (both made with the primary Region healthy) with the primary's.

use serde::Serialize;
use time::Duration;

use crate::alarm::{AlarmGuard, AlarmMessage, Ignored};
use crate::config::{CapacityConfig, Config, DatabaseConfig, Region};
use crate::decide::{Proposal, Refusal, current, decide};
use crate::decision::{DbRef, Decision, Mode, Step, StepState};
use crate::fence::{CommitError, Ledger};
use crate::ports::{
    Capacity, Clock, Database, DecisionStore, NewReplica, PortError, Replication, StopSwitch,
};
use crate::replication::{Engine, MAX_POSITION_BYTES};

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
    pub step: Step,
    pub state: StepState,
    pub detail: String,
    /// Failed with an error worth another try (throttling, a 5xx, a timeout):
    /// the handler fails the invocation so that Lambda retries it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
    /// This run moved the step into its state (the record said otherwise
    /// when the run began): the run that starts a drain or a promotion is
    /// the one whose invocation follows it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub started: bool,
}

/// The outcome of one notification or scheduled run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Logged and dropped; no AWS call beyond reading the record.
    Ignored { reason: String },
    /// The data tier was reconciled towards the decision of this epoch.
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
    Retry { step: Step, detail: String },
    /// The decision path could not read or write the record.
    #[error(transparent)]
    Decide(#[from] Refusal),
}

pub struct Promoter<'a, D, B, K, S, C, P> {
    pub config: &'a Config,
    pub decisions: &'a D,
    /// The standby Region's database: the only one the failover leg touches.
    pub database: &'a B,
    /// The primary Region's database: a failback, and a re-protect the
    /// operator asked for after the primary recovered. Never on a failover.
    pub peer_database: &'a B,
    pub capacity: &'a K,
    /// The STOP metric's own data: an automatic failover is confirmed by it,
    /// the way Route 53 reads it, never by a notification alone.
    pub stop: &'a S,
    pub clock: &'a C,
    /// SQL on the instances: the drain's positions and the database-level
    /// fence (planned moves only).
    pub replication: &'a P,
}

/// How long one run polls the copy's replayed position before it leaves the
/// drain to the next run: a drained copy answers within a second or two.
/// With the fence's lease wait (at most 61.6 s) one run stays well inside
/// the function's 900 s timeout (template.yaml).
const DRAIN_POLL: Duration = Duration::seconds(15);

/// How soon an invocation whose drain or promotion is under way runs again,
/// in the same invocation, so that the end of a promotion (RDS sends no event
/// for it) is seen within seconds, not at the next one-minute schedule. One
/// `DescribeDBInstances` every 3 s is far inside RDS's sustained 12 requests a
/// second per account and Region.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html>
pub const FOLLOW_UP_EVERY: Duration = Duration::seconds(3);

/// What a follow-up run must leave of the invocation's time: its own calls
/// (the record, the instance, the capacity), each with the SDK's retries.
pub const FOLLOW_UP_MARGIN: Duration = Duration::seconds(20);

/// Whether one of `verdicts`' runs started a drain or a promotion: only the
/// invocation that started one follows it, so that the record writes its
/// steps make (each starts a run) do not multiply the followers.
pub fn starts_work(verdicts: &[Verdict]) -> bool {
    verdicts.iter().any(|verdict| match verdict {
        Verdict::Reconciled { steps, .. } => steps.iter().any(|s| {
            matches!(s.step, Step::Drain | Step::Database)
                && s.state == StepState::InProgress
                && s.started
        }),
        Verdict::Ignored { .. } => false,
    })
}

/// The epoch `verdicts` reconciled, if any: a follower stops when a newer
/// decision appears (that one's own runs carry it, lease wait and all).
pub fn epoch_of(verdicts: &[Verdict]) -> Option<u64> {
    verdicts.iter().find_map(|verdict| match verdict {
        Verdict::Reconciled { epoch, .. } => Some(*epoch),
        Verdict::Ignored { .. } => None,
    })
}

/// Whether the invocation that ran `verdicts` should run again after
/// [`FOLLOW_UP_EVERY`], with `remaining` of its time left: while a drain or a
/// promotion is under way. A run that failed, refused or finished stops, and
/// the schedules stay the safety net that resumes an interrupted move.
pub fn follow_up(verdicts: &[Verdict], remaining: Duration) -> Option<std::time::Duration> {
    let under_way = verdicts.iter().any(|verdict| match verdict {
        Verdict::Reconciled { steps, .. } => steps.iter().any(|s| {
            matches!(s.step, Step::Drain | Step::Database)
                && s.state == StepState::InProgress
                && !s.retryable
        }),
        Verdict::Ignored { .. } => false,
    });
    (under_way && remaining >= FOLLOW_UP_EVERY + FOLLOW_UP_MARGIN)
        .then(|| std::time::Duration::try_from(FOLLOW_UP_EVERY).unwrap_or_default())
}

use std::sync::atomic::{AtomicBool, Ordering};

/// One step's outcome before it is recorded.
type Outcome = Result<(StepState, String), PortError>;

impl<D, B, K, S, C, P> Promoter<'_, D, B, K, S, C, P>
where
    D: DecisionStore + Ledger,
    B: Database,
    K: Capacity,
    S: StopSwitch,
    C: Clock,
    P: Replication,
{
    async fn current(&self) -> Result<Decision, PromoteError> {
        let (decision, _) = current(
            self.decisions,
            self.config,
            &self.config.service,
            self.clock,
        )
        .await?;
        Ok(decision)
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
            if let Err(why) = self.stop_metric_says_failover().await {
                return Ok(ignore(why));
            }
            let reason = format!(
                "alarm {} ALARM: {}",
                alarm.alarm_name,
                alarm
                    .new_state_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            );
            let actor = format!("alarm:{}", alarm.alarm_name);
            let proposal = Proposal {
                service: &self.config.service,
                target: standby,
                actor: &actor,
                reason: &reason,
                mode: Mode::Ungraceful,
                override_cooldown: false,
                accept_data_loss: false,
                dry_run: false,
            };
            let outcome = match decide(self.decisions, self.clock, self.config, &proposal).await {
                Ok(outcome) => outcome,
                Err(refusal @ (Refusal::Cooldown { .. } | Refusal::Unprotected { .. })) => {
                    return Ok(ignore(refusal.to_string()));
                }
                Err(other) => return Err(other.into()),
            };
            if &outcome.decision.active_region != standby {
                // An operator failed back at the same moment; never fight them.
                return Ok(ignore(format!(
                    "a concurrent decision (epoch {}) keeps {} active",
                    outcome.decision.epoch, outcome.decision.active_region
                )));
            }
            decided = outcome.decided;
            decision = outcome.decision;
        }
        let steps = self.reconcile(&mut decision).await?;
        Ok(Verdict::Reconciled {
            epoch: decision.epoch,
            decided,
            steps,
        })
    }

    /// The one-minute schedule: carries an unfinished move on. Never decides.
    pub async fn on_schedule(&self) -> Result<Verdict, PromoteError> {
        let mut decision = self.current().await?;
        if decision.epoch == 0 {
            return Ok(Verdict::Ignored {
                reason: "no decision yet: the primary serves".to_owned(),
            });
        }
        let steps = self.reconcile(&mut decision).await?;
        // Every minute, bring a copy of the fence record that lags (one
        // created since, one whose write failed) up to the decision in force.
        if let Err(error) = self.decisions.commit(&decision).await {
            tracing::warn!(%error, epoch = decision.epoch, "fence record copies not in step");
        }
        Ok(Verdict::Reconciled {
            epoch: decision.epoch,
            decided: false,
            steps,
        })
    }

    /// `Ok` when the STOP metric's newest datapoint asks for the standby: an
    /// alarm state set by hand (`SetAlarmState`) moves no traffic, because
    /// Route 53 reads the metric's data, so it must promote nothing either.
    async fn stop_metric_says_failover(&self) -> Result<(), String> {
        let Some(switch) = self
            .config
            .service(&self.config.service)
            .and_then(|s| s.stop_metric.as_ref())
        else {
            return Err("no STOP metric configured to confirm an automatic failover".to_owned());
        };
        match self.stop.read(switch, &self.config.service).await {
            Ok(state) if state.last_value.is_some_and(|v| v >= 1.0) => Ok(()),
            Ok(state) => Err(format!(
                "the STOP metric's own data reads {}: the alarm's state was not set by its data \
                 (SetAlarmState?), and Route 53 does not move traffic on it; nothing promoted",
                state
                    .last_value
                    .map_or_else(|| "no datapoint".to_owned(), |v| v.to_string())
            )),
            Err(error) => Err(format!(
                "the STOP metric could not be read to confirm the alarm ({error}); nothing promoted"
            )),
        }
    }

    /// Drives the data tier and the standby's capacity to the decision,
    /// recording every step. Safe to run any number of times.
    pub async fn reconcile(
        &self,
        decision: &mut Decision,
    ) -> Result<Vec<StepReport>, PromoteError> {
        let before = decision.clone();
        // What the record holds now (a step stored mid-run moves it on).
        let mut stored = before.clone();
        let mut reports = Vec::new();
        let to_standby = &decision.active_region == self.config.standby_region();
        if let Some(database) = &self.config.database
            && decision.epoch > 0
        {
            // The runbook's data steps in its order, each once per run.
            let mut ran = Vec::new();
            while let Some(step) = crate::runbook::next(self.config, decision) {
                if ran.contains(&step) {
                    break;
                }
                ran.push(step);
                // Set by the step when this run itself read the drain's
                // position or sent the promotion: the run that starts work is
                // the one whose invocation follows it, not one that found it.
                let sent = AtomicBool::new(false);
                let outcome = match step {
                    Step::Fence => self.fence_step(decision).await,
                    Step::Drain => self.drain_step(database, decision, &sent).await,
                    _ => self.database_step(database, decision, &sent).await,
                };
                let mut report = self.record(decision, step, outcome);
                report.started =
                    report.state == StepState::InProgress && sent.load(Ordering::Relaxed);
                if step == Step::Drain && report.started {
                    // The drain stored its position itself; what changed
                    // since is the copy's progress, left to the step's end.
                    stored = decision.clone();
                }
                if report.state == StepState::InProgress
                    && decision.step(step).map(|s| s.state) == Some(StepState::InProgress)
                    && stored.step(step).map(|s| s.state) != Some(StepState::InProgress)
                {
                    // A promotion started (or a drain under way) is in the
                    // record at once: a run the record's write starts meanwhile
                    // sees it and starts nothing itself.
                    self.store(decision).await?;
                    stored = decision.clone();
                }
                let go_on = matches!(report.state, StepState::Done | StepState::Skipped);
                reports.push(report);
                if !go_on {
                    break;
                }
            }
            if (decision.step(Step::Reprotect).is_some() || !decision.data.protected)
                && let Some(outcome) = self.reprotect_step(database, decision).await
            {
                reports.push(self.record(decision, Step::Reprotect, outcome));
            }
        }
        if to_standby
            && decision.epoch > 0
            && let Some(capacity) = &self.config.capacity
        {
            let outcome = self.capacity_step(capacity).await;
            reports.push(self.record(decision, Step::Capacity, outcome));
        }
        // Whoever marked the database step done (this run, or the rewriter
        // finding the writer first), the fence opens only on a writable writer.
        if decision.is_done(Step::Database)
            && decision.data.read_only.is_some()
            && let Err(error) = self.unfence_writer(decision).await
        {
            reports.push(StepReport {
                step: Step::Database,
                state: StepState::InProgress,
                detail: format!("the writer is in place; making it writable again failed: {error}"),
                retryable: error.is_retryable(),
                started: false,
            });
        }
        open_writes_if_ready(self.config, decision, self.clock.now());
        // Record only what changed: a duplicate delivery writes nothing, and
        // a drain's progress alone (the copy's replayed position) is not
        // stored until the drain ends: every write starts runs.
        if !same_but_progress(&stored, decision) {
            self.store(decision).await?;
        }
        Ok(reports)
    }

    /// Records a step's outcome; a step keeps its first record while its state
    /// stays the same.
    fn record(&self, decision: &mut Decision, step: Step, outcome: Outcome) -> StepReport {
        let retryable = outcome.as_ref().is_err_and(PortError::is_retryable);
        let (state, detail) = outcome.unwrap_or_else(|e| (StepState::Failed, e.to_string()));
        if decision.step(step).map(|s| s.state) != Some(state) {
            decision.record_step(step, state, self.clock.now(), &detail);
        }
        StepReport {
            step,
            state,
            detail,
            retryable,
            started: false,
        }
    }

    /// The database ports of the Region being moved to and of the other one.
    fn sides(&self, decision: &Decision) -> (&B, &B) {
        if &decision.active_region == self.config.standby_region() {
            (self.database, self.peer_database)
        } else {
            (self.peer_database, self.database)
        }
    }

    fn other_region(&self, decision: &Decision) -> Region {
        if &decision.active_region == self.config.standby_region() {
            self.config.primary_region().clone()
        } else {
            self.config.standby_region().clone()
        }
    }

    /// Done once traffic has moved, the decision's fence record is committed
    /// (enough copies hold it that every lease must see it), and every lease
    /// that could still let a write through to the old writer has run out.
    async fn fence_step(&self, decision: &mut Decision) -> Outcome {
        if let Some(waiting) = self.traffic_pending(decision).await {
            return Ok((StepState::Pending, waiting));
        }
        let timing = self.decisions.timing();
        let committed_at = match decision.data.fence_committed_at {
            Some(at) => at,
            None => match self.decisions.commit(decision).await {
                Ok(commit) => {
                    decision.data.fence_committed_at = Some(commit.at);
                    commit.at
                }
                Err(superseded @ CommitError::Superseded { .. }) => {
                    return Ok((
                        StepState::Failed,
                        format!("{superseded}: nothing is cut for epoch {}", decision.epoch),
                    ));
                }
                Err(no_quorum @ CommitError::NoQuorum { .. }) => {
                    // Nothing may be cut while a lease could still read the
                    // old record; the next run (schedule, retry) tries again.
                    return Ok((
                        StepState::Pending,
                        format!("waiting to commit the fence record: {no_quorum}"),
                    ));
                }
            },
        };
        let expired_at = committed_at + timing.cut_wait();
        let wait = expired_at - self.clock.now();
        if wait > Duration::ZERO {
            // Seconds, not minutes: wait here rather than a schedule away.
            self.clock
                .sleep(std::time::Duration::try_from(wait).unwrap_or_default())
                .await;
        }
        // Read the copies again: one that was moved back or lagged in the
        // meantime may have granted a lease since, so the wait starts again.
        match self.decisions.commit(decision).await {
            Ok(again) if again.written.is_empty() => {}
            Ok(again) => {
                decision.data.fence_committed_at = Some(again.at);
                let regions: Vec<String> = again.written.iter().map(ToString::to_string).collect();
                return Ok((
                    StepState::Pending,
                    format!(
                        "the fence record's copy in {} did not hold epoch {} and was written again: the lease is waited out from {}",
                        regions.join(", "),
                        decision.epoch,
                        clock_time(again.at)
                    ),
                ));
            }
            Err(superseded @ CommitError::Superseded { .. }) => {
                return Ok((
                    StepState::Failed,
                    format!("{superseded}: nothing is cut for epoch {}", decision.epoch),
                ));
            }
            Err(no_quorum @ CommitError::NoQuorum { .. }) => {
                decision.data.fence_committed_at = None;
                return Ok((
                    StepState::Pending,
                    format!("waiting to commit the fence record again: {no_quorum}"),
                ));
            }
        }
        Ok((
            StepState::Done,
            format!(
                "epoch {} committed at {}; every lease that could let a write through to {} ran out by {} (L {} s)",
                decision.epoch,
                clock_time(committed_at),
                self.other_region(decision),
                clock_time(expired_at),
                timing.lease.whole_seconds(),
            ),
        ))
    }

    /// Why `decision` must not act any more, if a newer one exists: read
    /// again right before each call that cannot be undone.
    async fn superseded(&self, decision: &Decision) -> Result<Option<String>, PortError> {
        let now = match self.current().await {
            Ok(now) => now,
            Err(PromoteError::Decide(Refusal::Record { error, .. })) => return Err(error),
            Err(other) => return Err(PortError::Unavailable(other.to_string())),
        };
        if now.epoch == decision.epoch && now.active_region == decision.active_region {
            return Ok(None);
        }
        Ok(Some(format!(
            "epoch {} is superseded by epoch {} ({} active): nothing done for it",
            decision.epoch, now.epoch, now.active_region
        )))
    }

    /// Why the traffic switch cannot be counted on yet, if it cannot. An
    /// operator's decision: every configured switch recorded done. An
    /// automatic one: the STOP metric's own data.
    async fn traffic_pending(&self, decision: &Decision) -> Option<String> {
        let service = self.config.service(&decision.service)?;
        if crate::decide::is_automatic(&decision.actor) {
            return self.stop_metric_says_failover().await.err();
        }
        let mut missing = Vec::new();
        if service.stop_metric.is_some() && !decision.is_done(Step::StopMetric) {
            missing.push(Step::StopMetric);
        }
        if service.arc.is_some() && !decision.is_done(Step::ArcRoutingControls) {
            missing.push(Step::ArcRoutingControls);
        }
        if missing.is_empty() {
            return None;
        }
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        Some(format!(
            "waiting for the traffic switch ({}) to take effect: press again to carry it on; \
             nothing is promoted while traffic still reaches the old writer",
            names.join(", ")
        ))
    }

    /// The database-level fence on the old writer, then its position, then
    /// the copy's replayed position until it covers it: within this run for
    /// [`DRAIN_POLL`], across runs up to the configured timeout from when the
    /// writer was fenced, after which the move stops with the command that
    /// carries it on ungracefully.
    async fn drain_step(
        &self,
        database: &DatabaseConfig,
        decision: &mut Decision,
        sent: &AtomicBool,
    ) -> Outcome {
        if decision.mode == Mode::Ungraceful {
            return Ok((
                StepState::Skipped,
                "ungraceful: the replica lag at the cut is the RPO".to_owned(),
            ));
        }
        let DatabaseConfig::RdsReplica {
            drain_timeout_s, ..
        } = database
        else {
            return Ok((
                StepState::Skipped,
                "an Aurora switchover waits for the secondary to catch up itself".to_owned(),
            ));
        };
        let (target, _) = self.sides(decision);
        let Some(copy) = incoming_writer(self.config, decision) else {
            return Ok((StepState::Skipped, "no copy to drain".to_owned()));
        };
        if decision.data.writer.as_ref() == Some(&copy) {
            // A move back to the writer (a stopped drain left it): nothing moves.
            return Ok((StepState::Skipped, format!("{copy} is already the writer")));
        }
        // A position counts only once no write can reach the old writer.
        if decision.data.fence_committed_at.is_none() {
            return Ok((StepState::Pending, "waiting for the fence".to_owned()));
        }
        if let Some(evidence) = &decision.data.drain {
            if let Some(refused) = &evidence.refused {
                return Ok((StepState::Failed, refused.clone()));
            }
            if evidence.timed_out_at.is_some() {
                return Ok((StepState::Failed, self.drain_stopped(decision, &copy)));
            }
        }
        let evidence = match decision.data.drain.clone() {
            Some(evidence) => evidence,
            None => match self.fence_and_read(decision, target, &copy).await? {
                Ok(evidence) => {
                    // The position in the record at once: a run that the
                    // record's write starts meanwhile polls it, and reads and
                    // fences nothing again.
                    decision.record_step(
                        Step::Drain,
                        StepState::InProgress,
                        self.clock.now(),
                        &format!(
                            "{} read-only at {}; waiting for {} to replay it",
                            evidence.source.id, evidence.source_position, copy.id
                        ),
                    );
                    self.store(decision)
                        .await
                        .map_err(|e| PortError::Unavailable(e.to_string()))?;
                    sent.store(true, Ordering::Relaxed);
                    evidence
                }
                Err(refusal) => return Ok((StepState::Failed, refusal)),
            },
        };
        let deadline = evidence.fenced_at + Duration::seconds(i64::from(*drain_timeout_s));
        let run_until = self.clock.now() + DRAIN_POLL;
        loop {
            let replayed = match self.replication.replayed_position(&copy).await {
                Ok(replayed) => replayed,
                // A read that may work next time keeps the drain under way
                // (its follower goes on polling); the deadline still holds.
                Err(e) if e.is_retryable() && self.clock.now() < deadline => {
                    return Ok((
                        StepState::InProgress,
                        format!("could not read {}'s replayed position: {e}", copy.id),
                    ));
                }
                Err(e) => return Err(e),
            };
            let covered = evidence.engine.covers(&replayed, &evidence.source_position);
            if let Some(drain) = decision.data.drain.as_mut() {
                drain.replayed_position = Some(bounded(&replayed));
            }
            match covered {
                Ok(true) => {
                    return Ok((
                        StepState::Done,
                        format!(
                            "{} replayed {}, at or past {}'s {} (read-only)",
                            copy.id,
                            bounded(&replayed),
                            evidence.source.id,
                            evidence.source_position
                        ),
                    ));
                }
                Ok(false) => {}
                Err(unreadable) => return Ok((StepState::Failed, unreadable)),
            }
            let now = self.clock.now();
            if now >= deadline {
                if let Some(drain) = decision.data.drain.as_mut() {
                    drain.timed_out_at = Some(now);
                }
                tracing::warn!(target: "audit", epoch = decision.epoch, "drain timed out: the move stopped");
                return Ok((StepState::Failed, self.drain_stopped(decision, &copy)));
            }
            if now >= run_until {
                return Ok((
                    StepState::InProgress,
                    format!(
                        "waiting for {} to replay {}'s {}: at {}",
                        copy.id,
                        evidence.source.id,
                        evidence.source_position,
                        bounded(&replayed)
                    ),
                ));
            }
            self.clock.sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// The first run of a drain: the copy's engine and source from RDS, the
    /// source checked to be the recorded writer, the intent to fence it
    /// stored, then the fence, then the source's position. `Ok(Err(why))`
    /// refuses the drain (nothing to wait for would help).
    async fn fence_and_read(
        &self,
        decision: &mut Decision,
        target: &B,
        copy: &DbRef,
    ) -> Result<Result<crate::decision::DrainEvidence, String>, PortError> {
        let ungraceful = "press again with --mode ungraceful to promote without it";
        let status = target.describe_instance(&copy.id).await?;
        let Some(engine) = Engine::from_rds(&status.engine) else {
            return Ok(Err(format!(
                "{} runs {}, which has no replication position to drain by: {ungraceful}",
                copy.id, status.engine
            )));
        };
        let Some(source) = status.source.as_deref().and_then(instance_of_arn) else {
            return Ok(Err(format!(
                "{} replicates nothing: no writer to drain from",
                copy.id
            )));
        };
        // The copy must replicate the writer itself, not another copy of it.
        let expected = match &decision.data.writer {
            Some(writer) => &source == writer,
            None => &source.region == self.config.primary_region(),
        };
        if !expected {
            return Ok(Err(format!(
                "refused: {} replicates {source}, not the writer ({})",
                copy.id,
                decision
                    .data
                    .writer
                    .as_ref()
                    .map_or_else(|| "the deployed primary".to_owned(), ToString::to_string)
            )));
        }
        if let Some(why) = self.superseded(decision).await? {
            return Ok(Err(why));
        }
        // The intent first: a run killed after the fence still leaves the
        // record saying which instance to make writable again.
        if decision.data.read_only.as_ref() != Some(&source) {
            // Stored only when it changes: every write of the record starts
            // runs (its EventBridge rule), so a fence that keeps failing must
            // not write the same intent again on each of them.
            decision.data.read_only = Some(source.clone());
            self.store(decision)
                .await
                .map_err(|e| PortError::Unavailable(e.to_string()))?;
        }
        // From here a refusal is final for this decision: kept in the record,
        // so that no later run fences, stores and refuses again every minute.
        let mut evidence = crate::decision::DrainEvidence {
            engine,
            source: source.clone(),
            source_position: String::new(),
            replayed_position: None,
            fenced_at: self.clock.now(),
            refused: None,
            timed_out_at: None,
        };
        let mut refuse = |decision: &mut Decision, why: String| {
            evidence.refused = Some(crate::decision::cut(&why));
            decision.data.drain = Some(evidence.clone());
            Ok(Err(why))
        };
        match self.replication.set_read_only(&source, true).await {
            Ok(()) => {}
            // Refused outright: nothing was applied.
            Err(refused @ PortError::Rejected(_)) => {
                decision.data.read_only = None;
                return refuse(decision, format!("{refused}"));
            }
            Err(other) => return Err(other),
        }
        let position = self.replication.writer_position(&source).await?;
        if position.trim().is_empty() {
            return refuse(
                decision,
                format!(
                    "{source} gives no {} position (GTIDs off?): no evidence to drain by; {ungraceful}",
                    engine.as_str()
                ),
            );
        }
        if position.len() > MAX_POSITION_BYTES {
            return refuse(
                decision,
                format!(
                    "{source}'s position is {} bytes, over the record's {MAX_POSITION_BYTES}: {ungraceful}",
                    position.len()
                ),
            );
        }
        let evidence = crate::decision::DrainEvidence {
            source_position: position,
            fenced_at: self.clock.now(),
            ..evidence
        };
        decision.data.drain = Some(evidence.clone());
        Ok(Ok(evidence))
    }

    /// The record entry of a drain that ran out of time: what happened, and
    /// the two ways on.
    fn drain_stopped(&self, decision: &Decision, copy: &DbRef) -> String {
        let at = decision
            .data
            .drain
            .as_ref()
            .and_then(|d| d.replayed_position.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let verb = if &decision.active_region == self.config.standby_region() {
            "failover"
        } else {
            "failback"
        };
        format!(
            "stopped: {} did not replay the writer's position in time (at {at}); writes stay refused. \
             Move anyway, losing the rest: stopctl {verb} --mode ungraceful",
            copy.id
        )
    }

    /// Once the move's writer is in place, undoes the database-level fence on
    /// it (a move back to the instance fenced, or a promoted copy the setting
    /// replicated into) and forgets the fence: the instance fenced, if it is
    /// another, stays read-only and is never a writer again (a re-protect
    /// builds a new copy). The fence opens only after this.
    async fn unfence_writer(&self, decision: &mut Decision) -> Result<(), PortError> {
        let Some(fenced) = decision.data.read_only.clone() else {
            return Ok(());
        };
        // No writer recorded: the deployed primary, the only instance a
        // drain can have fenced before any promotion.
        let writer = decision.data.writer.clone().unwrap_or(fenced);
        self.replication.set_read_only(&writer, false).await?;
        decision.data.read_only = None;
        Ok(())
    }

    async fn database_step(
        &self,
        database: &DatabaseConfig,
        decision: &mut Decision,
        sent: &AtomicBool,
    ) -> Outcome {
        let in_progress = decision
            .step(Step::Database)
            .is_some_and(|s| s.state == StepState::InProgress);
        match database {
            DatabaseConfig::RdsReplica {
                backup_retention_days,
                ..
            } => {
                let writer_region = decision
                    .data
                    .writer
                    .as_ref()
                    .map_or(self.config.primary_region(), |w| &w.region);
                if writer_region == &decision.active_region {
                    let writer = decision
                        .data
                        .writer
                        .as_ref()
                        .map_or_else(|| "the deployed primary".to_owned(), ToString::to_string);
                    return Ok((StepState::Done, format!("{writer} is the writer")));
                }
                let Some(copy) = incoming_writer(self.config, decision) else {
                    return Ok((
                        StepState::Failed,
                        format!(
                            "no copy of the database in {}: re-protect first",
                            decision.active_region
                        ),
                    ));
                };
                let outcome = self
                    .promote_replica(decision, &copy, *backup_retention_days, in_progress, sent)
                    .await?;
                if outcome.0 == StepState::Done {
                    promoted(self.config, decision, copy, self.clock.now());
                }
                Ok(outcome)
            }
            DatabaseConfig::AuroraGlobal {
                global_cluster_id,
                cluster_id,
            } => {
                self.move_global_writer(global_cluster_id, cluster_id, decision, in_progress, sent)
                    .await
            }
        }
    }

    async fn promote_replica(
        &self,
        decision: &mut Decision,
        copy: &DbRef,
        retention: u8,
        in_progress: bool,
        sent: &AtomicBool,
    ) -> Outcome {
        let target = self.database_in(&copy.region);
        let instance = match target.describe_instance(&copy.id).await {
            Ok(instance) => instance,
            // A promotion under way stays under way through a read that
            // failed (throttled, a timeout): the next look tells.
            Err(e) if in_progress && e.is_retryable() => {
                return Ok((
                    StepState::InProgress,
                    format!(
                        "promotion of {} under way; its state could not be read: {e}",
                        copy.id
                    ),
                ));
            }
            Err(e) => return Err(e),
        };
        let Some(source) = &instance.source else {
            if !crate::aws_rules::takes_writes(&instance) {
                return Ok((
                    StepState::InProgress,
                    format!("{} is standalone, status {}", copy.id, instance.status),
                ));
            }
            return Ok((
                StepState::Done,
                format!("{copy} is the writer (promoted, {})", instance.status),
            ));
        };
        let other = if &copy.region == self.config.standby_region() {
            self.config.primary_region()
        } else {
            self.config.standby_region()
        };
        if !source.contains(&format!(":{other}:")) {
            return Ok((
                StepState::Failed,
                format!(
                    "refused: {} replicates {source}, not an instance in {other}",
                    copy.id
                ),
            ));
        }
        if in_progress {
            // Promotion takes minutes; a second PromoteReadReplica would fail or,
            // worse, race. The next run sees it done.
            return Ok((
                StepState::InProgress,
                format!(
                    "promotion of {} under way (status {})",
                    copy.id, instance.status
                ),
            ));
        }
        if instance.status != "available" {
            // backing-up, modifying, storage-optimization…: RDS refuses a
            // promotion until the replica is available. Not started: the next
            // run (the one-minute schedule) tries again.
            // <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html>
            return Ok((
                StepState::Pending,
                format!(
                    "waiting for {} to be available before promoting it (status {})",
                    copy.id, instance.status
                ),
            ));
        }
        let lag = instance
            .replica_lag_seconds
            .map_or("unknown".to_owned(), |s| format!("{s} s"));
        if let Some(why) = self.superseded(decision).await? {
            return Ok((StepState::Failed, why));
        }
        if let Some(theirs) = self.promotion_started_elsewhere(decision).await? {
            // Their record is newer than this run's view: take it as it is
            // (this run's copy must not be stored over it).
            *decision = theirs;
            let step = decision.step(Step::Database);
            return Ok((
                step.map_or(StepState::InProgress, |s| s.state),
                format!(
                    "epoch {}'s promotion was started by another run: nothing sent again",
                    decision.epoch
                ),
            ));
        }
        match target.promote_replica(&copy.id, retention).await {
            Ok(()) => sent.store(true, Ordering::Relaxed),
            // Another run's promotion got there first (RDS refuses a second
            // one while the instance is modifying): under way, not failed.
            Err(PortError::Rejected(why)) if why.contains("InvalidDBInstanceState") => {
                let now = target.describe_instance(&copy.id).await?;
                if now.source.is_none() || now.status != "available" {
                    return Ok((
                        StepState::InProgress,
                        format!(
                            "promotion of {} already under way (status {}): nothing sent again",
                            copy.id, now.status
                        ),
                    ));
                }
                return Err(PortError::Rejected(why));
            }
            Err(e) => return Err(e),
        }
        Ok((
            StepState::InProgress,
            format!("promotion of {copy} started; replica lag was {lag}"),
        ))
    }

    /// Whether a run beside this one (a record write starts one) has started
    /// or finished this decision's database step since this run read the
    /// record: read again right before `PromoteReadReplica`.
    async fn promotion_started_elsewhere(
        &self,
        decision: &Decision,
    ) -> Result<Option<Decision>, PortError> {
        let now = match self.current().await {
            Ok(now) => now,
            Err(PromoteError::Decide(Refusal::Record { error, .. })) => return Err(error),
            Err(other) => return Err(PortError::Unavailable(other.to_string())),
        };
        let theirs = now
            .step(Step::Database)
            .map(|s| s.state)
            .filter(|s| matches!(s, StepState::InProgress | StepState::Done));
        Ok((now.epoch == decision.epoch && theirs.is_some()).then_some(now))
    }

    fn database_in(&self, region: &Region) -> &B {
        if region == self.config.standby_region() {
            self.database
        } else {
            self.peer_database
        }
    }

    async fn move_global_writer(
        &self,
        global_cluster_id: &str,
        standby_cluster_id: &str,
        decision: &mut Decision,
        in_progress: bool,
        sent: &AtomicBool,
    ) -> Outcome {
        let (target, _) = self.sides(decision);
        let global = target.describe_global_cluster(global_cluster_id).await?;
        let to_standby = &decision.active_region == self.config.standby_region();
        let ours = if to_standby {
            let suffix = format!(":cluster:{standby_cluster_id}");
            global
                .member_cluster_arns
                .iter()
                .find(|arn| arn.ends_with(&suffix))
        } else {
            let here = format!(":{}:", decision.active_region);
            global
                .member_cluster_arns
                .iter()
                .find(|arn| arn.contains(&here))
        };
        let Some(ours) = ours.cloned() else {
            return Ok((
                StepState::Failed,
                format!(
                    "refused: {global_cluster_id} has no member cluster in {}",
                    decision.active_region
                ),
            ));
        };
        let cluster = ours.rsplit(':').next().unwrap_or(&ours).to_owned();
        if global.writer_cluster_arn.as_deref() == Some(ours.as_str()) {
            decision.data.writer = Some(DbRef {
                region: decision.active_region.clone(),
                id: cluster.clone(),
            });
            return Ok((
                StepState::Done,
                format!("{cluster} is the writer of {global_cluster_id}"),
            ));
        }
        if in_progress {
            return Ok((
                StepState::InProgress,
                format!(
                    "{global_cluster_id} is moving its writer (status {})",
                    global.status
                ),
            ));
        }
        if global.status != "available" {
            // Not started by us: try again on the next run.
            return Ok((
                StepState::Pending,
                format!(
                    "waiting for {global_cluster_id} to be available (status {})",
                    global.status
                ),
            ));
        }
        if let Some(why) = self.superseded(decision).await? {
            return Ok((StepState::Failed, why));
        }
        match decision.mode {
            Mode::Graceful => {
                // A switchover goes to the current primary cluster's Region;
                // both are up on a graceful move.
                // (`crate::aws_rules::switchover_refusal` has the page.)
                let writer_region = global
                    .writer_cluster_arn
                    .as_deref()
                    .and_then(|arn| arn.split(':').nth(3))
                    .and_then(|r| r.parse::<Region>().ok())
                    .unwrap_or_else(|| self.other_region(decision));
                self.database_in(&writer_region)
                    .switchover_global_cluster(global_cluster_id, &ours)
                    .await?;
                sent.store(true, Ordering::Relaxed);
                // The old writer becomes a secondary of the new one.
                decision.data.protected = true;
                Ok((
                    StepState::InProgress,
                    format!("switchover to {cluster} started (no data loss)"),
                ))
            }
            Mode::Ungraceful => {
                target
                    .failover_global_cluster_allow_data_loss(global_cluster_id, &ours)
                    .await?;
                sent.store(true, Ordering::Relaxed);
                // Protected again once the old writer's Region rejoins.
                decision.data.protected = false;
                Ok((
                    StepState::InProgress,
                    format!("failover to {cluster} started, allowing data loss"),
                ))
            }
        }
    }

    /// Re-protects the writer: a new cross-Region read replica in the other
    /// Region (RDS, on the operator's request), or the other Region's cluster
    /// back in the global database (Aurora, on its own). `None`: nothing asked.
    async fn reprotect_step(
        &self,
        database: &DatabaseConfig,
        decision: &mut Decision,
    ) -> Option<Outcome> {
        if decision.data.protected {
            return decision
                .step(Step::Reprotect)
                .filter(|s| s.state != StepState::Done)
                .map(|_| {
                    Ok((
                        StepState::Done,
                        "the writer has a cross-Region copy".to_owned(),
                    ))
                });
        }
        if !decision.is_done(Step::Database) {
            return None;
        }
        let other = self.other_region(decision);
        let (target, other_db) = self.sides(decision);
        match database {
            DatabaseConfig::AuroraGlobal {
                global_cluster_id, ..
            } => {
                let outcome = async {
                    let global = target.describe_global_cluster(global_cluster_id).await?;
                    let here = format!(":{other}:");
                    // A secondary again, and replicating: listed alone it may
                    // still be rebuilding (pending-resync).
                    let rejoined = global.member_cluster_arns.iter().any(|arn| {
                        arn.contains(&here)
                            && global.writer_cluster_arn.as_deref() != Some(arn.as_str())
                            && global.synchronized.contains(arn)
                    });
                    if rejoined && global.status == "available" {
                        decision.data.protected = true;
                        Ok((
                            StepState::Done,
                            format!("the cluster in {other} is a secondary of {global_cluster_id} again"),
                        ))
                    } else {
                        Ok((
                            StepState::InProgress,
                            format!("waiting for the cluster in {other} to rejoin {global_cluster_id} as a secondary"),
                        ))
                    }
                }
                .await;
                Some(outcome)
            }
            DatabaseConfig::RdsReplica { .. } => {
                // Creating a copy is the operator's call (POST /reprotect).
                decision.step(Step::Reprotect)?;
                let writer = decision.data.writer.clone()?;
                let outcome = async {
                    match decision.data.copy.clone() {
                        Some(copy) if copy.region == other => {
                            let instance = other_db.describe_instance(&copy.id).await?;
                            let wanted_group = database
                                .placement_in(self.config, &other)
                                .and_then(|p| p.parameter_group.as_deref());
                            if instance.status == "available" && instance.source.is_some() {
                                // The group an engine could not take at creation,
                                // applied before the copy counts as protection.
                                if let Some(group) = wanted_group
                                    // RDS keeps parameter group names in lower case.
                                    && !instance
                                        .parameter_group
                                        .as_deref()
                                        .is_some_and(|g| g.eq_ignore_ascii_case(group))
                                {
                                    other_db.set_parameter_group(&copy.id, group).await?;
                                    return Ok((
                                        StepState::InProgress,
                                        format!("applying parameter group {group} to {copy}"),
                                    ));
                                }
                                // Its static parameters apply only after a reboot;
                                // until they are in-sync the copy is not what a
                                // failback should promote.
                                // <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBParameterGroupStatus.html>
                                match instance.parameter_apply_status.as_deref() {
                                    Some("pending-reboot") => {
                                        other_db.reboot(&copy.id).await?;
                                        return Ok((
                                            StepState::InProgress,
                                            format!("rebooting {copy} so that its parameter group applies"),
                                        ));
                                    }
                                    Some(status @ ("applying" | "pending-database-upgrade")) => {
                                        return Ok((
                                            StepState::InProgress,
                                            format!("{copy}'s parameter group is {status}"),
                                        ));
                                    }
                                    Some("failed-to-apply") => {
                                        return Ok((
                                            StepState::Failed,
                                            format!("{copy}'s parameter group failed to apply: fix the group, then ask again"),
                                        ));
                                    }
                                    _ => {}
                                }
                                decision.data.protected = true;
                                Ok((StepState::Done, format!("{copy} replicates {writer}")))
                            } else {
                                Ok((
                                    StepState::InProgress,
                                    format!("{copy} is {}", instance.status),
                                ))
                            }
                        }
                        _ => {
                            if let Some(why) = self.superseded(decision).await? {
                                return Ok((StepState::Failed, why));
                            }
                            let source = target.describe_instance(&writer.id).await?;
                            let id = copy_name(&self.config.service, &other, decision.epoch);
                            let copy = DbRef {
                                region: other.clone(),
                                id: id.clone(),
                            };
                            let placement = database
                                .placement_in(self.config, &other)
                                .cloned()
                                .unwrap_or_default();
                            // Refused before the call, which would build a copy
                            // outside the application's network or fail on the key.
                            let missing = placement.missing(source.storage_encrypted);
                            if !missing.is_empty() {
                                return Ok((
                                    StepState::Failed,
                                    format!(
                                        "refused: a copy in {other} needs {}; set the stack's Db{}Copy* parameters and ask again",
                                        missing.join(", "),
                                        if &other == self.config.primary_region() { "Primary" } else { "Standby" }
                                    ),
                                ));
                            }
                            let request = NewReplica {
                                id: id.clone(),
                                source_arn: source.arn.clone(),
                                subnet_group: placement.subnet_group.clone(),
                                security_group_ids: placement.security_group_ids.clone(),
                                parameter_group: placement.parameter_group.clone().filter(|_| {
                                    crate::aws_rules::takes_parameter_group_at_creation(&source.engine)
                                }),
                                kms_key_arn: placement.kms_key_arn.clone(),
                                multi_az: placement.multi_az.unwrap_or(source.multi_az),
                            };
                            let detail = match other_db.create_replica(&request).await {
                                Ok(()) => format!("creating {copy}, a read replica of {writer}"),
                                // A lost answer, a duplicate run or an overlap created
                                // it already: adopt it if it copies the writer.
                                Err(PortError::Rejected(why))
                                    if why.contains("DBInstanceAlreadyExists") =>
                                {
                                    let existing = other_db.describe_instance(&id).await?;
                                    let copies_writer = existing.source.as_deref().is_some_and(|s| {
                                        s == source.arn || s == writer.id
                                    });
                                    if !copies_writer {
                                        return Ok((
                                            StepState::Failed,
                                            format!(
                                                "refused: {copy} exists but is not a read replica of {writer} (source {}); delete it or rename the service",
                                                existing.source.as_deref().unwrap_or("none")
                                            ),
                                        ));
                                    }
                                    format!("adopted {copy}, already a read replica of {writer} (status {})", existing.status)
                                }
                                Err(other) => return Err(other),
                            };
                            decision.data.copy = Some(copy);
                            Ok((StepState::InProgress, detail))
                        }
                    }
                }
                .await;
                Some(outcome)
            }
        }
    }

    async fn capacity_step(&self, wanted: &CapacityConfig) -> Outcome {
        let current = self.capacity.describe_group(&wanted.group_name).await?;
        let target = wanted.target(current);
        if let Some(refusal) = crate::aws_rules::group_refusal(&wanted.group_name, &target) {
            // Stated before the call, which would fail the same way.
            return Err(refusal);
        }
        if target == current {
            return Ok((
                StepState::Done,
                format!("{} already at {current}", wanted.group_name),
            ));
        }
        self.capacity.set_group(&wanted.group_name, target).await?;
        Ok((
            StepState::Done,
            format!("{} raised from {current} to {target}", wanted.group_name),
        ))
    }
}

/// The RDS instance that takes writes under `decision` once the move is done:
/// the writer if it is already in the active Region, else the copy there (the
/// one a re-protect created, or the deployed replica while nothing has been
/// promoted). `None` for the deployed primary, whose id only RDS knows.
pub fn incoming_writer(config: &Config, decision: &Decision) -> Option<DbRef> {
    let Some(DatabaseConfig::RdsReplica { replica_id, .. }) = &config.database else {
        return None;
    };
    let active = &decision.active_region;
    if let Some(writer) = decision
        .data
        .writer
        .as_ref()
        .filter(|w| &w.region == active)
    {
        return Some(writer.clone());
    }
    match &decision.data.copy {
        Some(copy) if &copy.region == active => Some(copy.clone()),
        Some(_) => None,
        None if decision.data.writer.is_none() && active == config.standby_region() => {
            Some(DbRef {
                region: active.clone(),
                id: replica_id.clone(),
            })
        }
        None => None,
    }
}

/// Records that `writer` took over under this decision. An RDS copy that
/// was promoted leaves the writer with no copy at all until a re-protect; an
/// Aurora move keeps whatever protection the promoter recorded when it began.
pub fn promoted(
    config: &Config,
    decision: &mut Decision,
    writer: DbRef,
    now: time::OffsetDateTime,
) {
    let was_in = decision
        .data
        .writer
        .as_ref()
        .map_or(config.primary_region(), |w| &w.region);
    let rds = matches!(config.database, Some(DatabaseConfig::RdsReplica { .. }));
    if rds && was_in != &writer.region {
        decision.data.copy = None;
        decision.data.protected = false;
    }
    let detail = format!("{writer} is the writer");
    decision.data.writer = Some(writer);
    if !decision.is_done(Step::Database) {
        decision.record_step(Step::Database, StepState::Done, now, &detail);
    }
}

/// Opens the fence once the move's last data step is done: the database is
/// the writer and, when a secret is configured, the secret names it.
pub fn open_writes_if_ready(config: &Config, decision: &mut Decision, now: time::OffsetDateTime) {
    if decision.data.writes_open {
        return;
    }
    // A database-level fence still set may be on the writer itself.
    let database_ready = config.database.is_none()
        || (decision.is_done(Step::Database) && decision.data.read_only.is_none());
    let secret_ready = config.secret_id.is_none() || decision.is_done(Step::Secret);
    if database_ready && secret_ready {
        decision.data.writes_open = true;
        decision.data.writes_opened_at = Some(now);
        tracing::info!(
            target: "audit",
            service = %decision.service,
            epoch = decision.epoch,
            region = %decision.active_region,
            write_rto_ms = decision.write_rto_ms(),
            "writes open: the fence lets writes through to the new writer"
        );
    }
}

/// The identifier of a re-protect's copy: unique per epoch and Region, within
/// RDS's rules (a letter first, letters, digits and single hyphens, 63 at most).
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints>
pub fn copy_name(service: &str, region: &Region, epoch: u64) -> String {
    let suffix = format!("-{region}-e{epoch}");
    let mut base: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    base.truncate(63 - suffix.len());
    let mut name = format!("{}{suffix}", base.trim_matches('-'));
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "db-");
    }
    name
}

/// Whether two records differ at most in a drain's progress (the copy's
/// replayed position), which is stored with the drain's end, not each time.
fn same_but_progress(a: &Decision, b: &Decision) -> bool {
    let strip = |d: &Decision| {
        let mut d = d.clone();
        if let Some(drain) = d.data.drain.as_mut() {
            drain.replayed_position = None;
        }
        d
    };
    strip(a) == strip(b)
}

/// A position as the record keeps it: whole when it fits, else its length.
fn bounded(position: &str) -> String {
    if position.len() <= MAX_POSITION_BYTES {
        position.to_owned()
    } else {
        format!("({} bytes)", position.len())
    }
}

/// An RDS instance's Region and identifier from its ARN,
/// `arn:aws:rds:<region>:<account>:db:<id>`.
fn instance_of_arn(arn: &str) -> Option<DbRef> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ["arn", _, "rds", region, _, "db", id] = parts.as_slice() else {
        return None;
    };
    Some(DbRef {
        region: region.parse().ok()?,
        id: (*id).to_owned(),
    })
}

fn clock_time(at: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

fn ignore(reason: String) -> Verdict {
    tracing::info!(%reason, "notification ignored");
    Verdict::Ignored { reason }
}
