//! The operator's Failover / Failback button, decided in the standby Region.
//!
//! A reconcile loop: read the decision record and the switches, decide (a new
//! epoch only when the Region changes), record, drive every switch to the
//! decision, record again. Pressing twice, or a retry after a timeout, converges
//! on the same state and never toggles back.

use serde::{Deserialize, Serialize};

use crate::config::{Config, ServiceConfig};
pub use crate::decide::Precondition;
use crate::decide::{Proposal, Refusal, current, decide};
use crate::decision::{Decision, Mode, Step, StepState};
use crate::ports::{
    Clock, ControlState, DecisionStore, PortError, RoutingControls, StopSwitch, StopSwitchState,
};
use crate::switches::{
    RetryPolicy, SwitchError, SwitchReport, drive_routing_controls, drive_stop_metric,
    on_any_endpoint, stop_value,
};

/// Which way the button was pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Failover,
    Failback,
}

/// The body of `POST /failover` and `POST /failback`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRequest {
    #[serde(default)]
    pub service: Option<String>,
    pub reason: String,
    pub mode: Mode,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub override_safety: bool,
    /// Move even though the data tier is not re-protected: the writes made
    /// since the last move stay behind. Refused without it.
    #[serde(default)]
    pub accept_data_loss: bool,
}

/// The time a press gives its ARC calls, from its start: with the record's
/// reads and writes it answers inside the function's 28 s timeout and API
/// Gateway's 29 s integration limit.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
pub const PRESS_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);
/// The time `GET /status` gives its routing-control reads together.
pub const STATUS_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// Larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 4096;
const MAX_REASON_CHARS: usize = 500;

/// Why a request was refused before anything was read or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the body is {0} bytes; at most {MAX_BODY_BYTES} are accepted")]
    TooLarge(usize),
    #[error("the body is not valid JSON for this request: {0}")]
    Malformed(String),
    #[error("reason is required: say why, it goes into the audit trail")]
    MissingReason,
    #[error("reason is longer than {MAX_REASON_CHARS} characters or holds control characters")]
    BadReason,
    #[error("unknown service {0:?}")]
    UnknownService(String),
}

/// Parses and checks a request body. Touches nothing.
pub fn parse_request(body: &[u8], config: &Config) -> Result<OperatorRequest, RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(body.len()));
    }
    let request: OperatorRequest = serde_json::from_slice(body).map_err(|e| {
        // serde's message, without echoing the body back.
        RequestError::Malformed(e.to_string())
    })?;
    check_reason_and_service(&request.reason, request.service.as_deref(), config)?;
    Ok(request)
}

/// Why a button press could not be carried out. Nothing is half-decided: an
/// error before the record is written changes nothing; one after it leaves the
/// record saying where to converge, and pressing again carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("service {0} has no switch configured (STOP metric or ARC routing controls)")]
    NoSwitch(String),
    /// Refused before anything was written (cooldown, data tier, record).
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(
        "decision epoch {epoch} is recorded but a switch failed; press again to carry on: {error}"
    )]
    Switch { epoch: u64, error: SwitchError },
    #[error("service {0} has no database configured (DB_KIND): nothing to re-protect")]
    NoDatabase(String),
    /// A re-protect asked for before the move it follows has its writer.
    #[error("{0}")]
    NotReady(String),
}

/// The body of `POST /reprotect`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReprotectRequest {
    #[serde(default)]
    pub service: Option<String>,
    pub reason: String,
}

/// What `POST /reprotect` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reprotect {
    pub service: String,
    /// The request was recorded now (false: already protected or already asked).
    pub requested: bool,
    pub decision: Decision,
}

/// Parses and checks a re-protect body, by the same rules as a press.
pub fn parse_reprotect(body: &[u8], config: &Config) -> Result<ReprotectRequest, RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge(body.len()));
    }
    let request: ReprotectRequest =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    check_reason_and_service(&request.reason, request.service.as_deref(), config)?;
    Ok(request)
}

/// A character that shows as something other than its bytes, or not at all:
/// Unicode's Cc (controls), Cf (format: the bidi overrides and isolates,
/// zero-width characters, tags), Zl and Zp (line and paragraph separators).
/// A reason with one could read differently in the console and the audit
/// log. The Cf ranges are Unicode 15's
/// (<https://www.unicode.org/Public/15.0.0/ucd/extracted/DerivedGeneralCategory.txt>).
pub fn is_hidden(c: char) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x2028, 0x202E), // Zl, Zp, then the bidi embeddings and overrides
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let code = u32::from(c);
    c.is_control()
        || FORMAT
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&code))
}

fn check_reason_and_service(
    reason: &str,
    service: Option<&str>,
    config: &Config,
) -> Result<(), RequestError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RequestError::MissingReason);
    }
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(is_hidden) {
        return Err(RequestError::BadReason);
    }
    if let Some(service) = service
        && config.service(service).is_none()
    {
        return Err(RequestError::UnknownService(service.to_owned()));
    }
    Ok(())
}

/// What a press did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub service: String,
    pub direction: Direction,
    pub dry_run: bool,
    /// Whether this press made a new decision (a new epoch).
    pub decided: bool,
    /// The decision every switch now converges to. When another operator's
    /// concurrent press won, it is theirs, and `superseded` says so.
    pub decision: Decision,
    pub superseded: bool,
    pub previous: Decision,
    pub preconditions: Vec<Precondition>,
    pub switches: Vec<SwitchReport>,
}

/// The live state of one service's switches and record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStatus {
    pub service: String,
    pub decision: Decision,
    /// Decision → the fence opened for the new writer (the write RTO).
    pub write_rto_ms: Option<i64>,
    /// The database step: the promotion's start → the record saying it is
    /// done (the write RTO of a planned move is this plus at most 30 s).
    pub promotion_ms: Option<i64>,
    /// Decision → the last traffic switch done; clients follow within the
    /// record's TTL after it.
    pub switched_ms: Option<i64>,
    pub recent: Vec<Decision>,
    pub stop_metric: Option<Result<StopSwitchState, String>>,
    pub routing_controls: Vec<(String, Result<ControlState, String>)>,
}

/// The button, wired to its ports.
pub struct Operator<'a, D, S, R, C> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub stop: &'a S,
    pub controls: &'a R,
    pub clock: &'a C,
    pub retry: RetryPolicy,
}

impl<D, S, R, C> Operator<'_, D, S, R, C>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
{
    async fn store(&self, decision: &Decision) -> Result<(), DecideError> {
        self.decisions.store(decision).await.map_err(|error| {
            DecideError::Refused(Refusal::Record {
                action: "written",
                error,
            })
        })
    }

    /// Carries out a press of the button by `actor`.
    pub async fn press(
        &self,
        direction: Direction,
        request: &OperatorRequest,
        actor: &str,
    ) -> Result<Outcome, DecideError> {
        let name = request.service.as_deref().unwrap_or(&self.config.service);
        let service = self
            .config
            .service(name)
            .ok_or_else(|| DecideError::NoSwitch(name.to_owned()))?;
        if service.stop_metric.is_none() && service.arc.is_none() {
            return Err(DecideError::NoSwitch(name.to_owned()));
        }
        let target = match direction {
            Direction::Failover => self.config.standby_region(),
            Direction::Failback => self.config.primary_region(),
        };
        let started = self.clock.now();
        let decided = decide(
            self.decisions,
            self.clock,
            self.config,
            &Proposal {
                service: name,
                target,
                actor,
                reason: request.reason.trim(),
                mode: request.mode,
                override_cooldown: request.override_safety,
                accept_data_loss: request.accept_data_loss,
                dry_run: request.dry_run,
            },
        )
        .await?;
        // The ARC calls of this press end in time for it to answer.
        let retry = self.retry.within(started, PRESS_BUDGET);
        let moves = decided.decision.epoch != decided.previous.epoch;
        let mut decision = decided.decision;
        let mut preconditions = decided.preconditions;
        let to_standby = &decision.active_region == self.config.standby_region();

        let switches = self
            .drive(
                service,
                &mut decision,
                to_standby,
                request,
                retry,
                &mut preconditions,
            )
            .await;
        let switches = match switches {
            Ok(reports) => reports,
            Err(error) => {
                if !request.dry_run {
                    // Keep the failure in the record: the status shows it. A
                    // record that cannot be written is the louder error.
                    self.store(&decision).await?;
                }
                return Err(DecideError::Switch {
                    epoch: decision.epoch,
                    error,
                });
            }
        };
        let changed = switches.iter().any(|s| s.changed);
        if !request.dry_run && (moves || changed) {
            self.store(&decision).await?;
        }
        Ok(Outcome {
            service: name.to_owned(),
            direction,
            dry_run: request.dry_run,
            decided: decided.decided,
            decision,
            superseded: decided.superseded,
            previous: decided.previous,
            preconditions,
            switches,
        })
    }

    async fn drive(
        &self,
        service: &ServiceConfig,
        decision: &mut Decision,
        to_standby: bool,
        request: &OperatorRequest,
        retry: RetryPolicy,
        preconditions: &mut Vec<Precondition>,
    ) -> Result<Vec<SwitchReport>, SwitchError> {
        let dry_run = request.dry_run;
        let mut reports = Vec::new();
        let value = stop_value(&decision.active_region, self.config.standby_region());
        if !dry_run {
            self.still_current(decision).await?;
        }
        let started = self.clock.now();
        match drive_stop_metric(service, self.stop, value, dry_run).await {
            Ok(Some(report)) => {
                self.step(decision, Step::StopMetric, started, &report, dry_run);
                preconditions.push(Precondition {
                    check: "STOP metric readable".into(),
                    ok: true,
                    detail: report.detail.clone(),
                });
                reports.push(report);
            }
            Ok(None) => {}
            Err(error) => {
                decision.record_step(
                    Step::StopMetric,
                    StepState::Failed,
                    self.clock.now(),
                    &error.to_string(),
                );
                return Err(error);
            }
        }
        if !dry_run && service.arc.is_some() {
            self.still_current(decision).await?;
        }
        let started = self.clock.now();
        let arc = drive_routing_controls(
            service,
            self.controls,
            self.clock,
            retry,
            to_standby,
            request.override_safety,
            dry_run,
        )
        .await;
        match arc {
            Ok(Some(report)) => {
                self.step(
                    decision,
                    Step::ArcRoutingControls,
                    started,
                    &report,
                    dry_run,
                );
                preconditions.push(Precondition {
                    check: "ARC cluster reachable".into(),
                    ok: true,
                    detail: format!(
                        "{} failed attempts before success",
                        report.failed_attempts.len()
                    ),
                });
                reports.push(report);
            }
            Ok(None) => {}
            Err(error) => {
                decision.record_step(
                    Step::ArcRoutingControls,
                    StepState::Failed,
                    self.clock.now(),
                    &error.to_string(),
                );
                return Err(error);
            }
        }
        Ok(reports)
    }

    /// Reads the record again right before a switch write: `Err` when a
    /// newer decision exists or the record cannot be read (fail closed).
    async fn still_current(&self, decision: &Decision) -> Result<(), SwitchError> {
        match current(self.decisions, self.config, &decision.service, self.clock).await {
            Ok((now, _))
                if now.epoch > decision.epoch
                    || (now.epoch == decision.epoch
                        && now.active_region != decision.active_region) =>
            {
                Err(SwitchError::Superseded {
                    epoch: decision.epoch,
                    current: now.epoch,
                })
            }
            Ok(_) => Ok(()),
            Err(Refusal::Record { error, .. }) => Err(SwitchError::Unverified(error)),
            Err(other) => Err(SwitchError::Unverified(PortError::Unavailable(
                other.to_string(),
            ))),
        }
    }

    fn step(
        &self,
        decision: &mut Decision,
        name: Step,
        started: time::OffsetDateTime,
        report: &SwitchReport,
        dry_run: bool,
    ) {
        if dry_run {
            return;
        }
        // A step already done under this epoch keeps its first timing.
        if decision.is_done(name) {
            return;
        }
        decision.record_step(name, StepState::InProgress, started, "");
        decision.record_step(name, StepState::Done, self.clock.now(), &report.detail);
    }

    /// Asks for the data tier to be re-protected after a move: the promoter
    /// creates the new cross-Region copy (RDS) or watches the old Region rejoin
    /// (Aurora) on its next run. Only the record changes here.
    pub async fn reprotect(
        &self,
        request: &ReprotectRequest,
        actor: &str,
    ) -> Result<Reprotect, DecideError> {
        let name = request.service.as_deref().unwrap_or(&self.config.service);
        if self.config.database.is_none() {
            return Err(DecideError::NoDatabase(name.to_owned()));
        }
        let (mut decision, _) = current(self.decisions, self.config, name, self.clock).await?;
        if decision.data.protected {
            return Ok(Reprotect {
                service: name.to_owned(),
                requested: false,
                decision,
            });
        }
        if !decision.is_done(Step::Database) {
            return Err(DecideError::NotReady(format!(
                "decision epoch {} has not finished moving the writer to {}: re-protect once \
                 `stopctl status` shows the database step done",
                decision.epoch, decision.active_region
            )));
        }
        let requested = decision.step(Step::Reprotect).is_none();
        if requested {
            let detail = format!("asked by {actor}: {}", request.reason.trim());
            decision.record_step(
                Step::Reprotect,
                StepState::Pending,
                self.clock.now(),
                &detail,
            );
            self.store(&decision).await?;
            tracing::info!(
                target: "audit",
                service = %name,
                epoch = decision.epoch,
                actor,
                reason = %request.reason.trim(),
                "reprotect requested"
            );
        }
        Ok(Reprotect {
            service: name.to_owned(),
            requested,
            decision,
        })
    }

    /// The record and the live switches of one service. Switch reads that fail are
    /// reported in place: a status page must work while a Region is down.
    pub async fn status(&self, name: &str) -> Result<ServiceStatus, DecideError> {
        let service = self
            .config
            .service(name)
            .ok_or_else(|| DecideError::NoSwitch(name.to_owned()))?;
        let (decision, history) = current(self.decisions, self.config, name, self.clock).await?;
        let recent = history.iter().rev().take(10).cloned().collect();
        let stop_metric = match &service.stop_metric {
            Some(switch) => Some(
                self.stop
                    .read(switch, name)
                    .await
                    .map_err(|e| e.to_string()),
            ),
            None => None,
        };
        let mut routing_controls = Vec::new();
        // A status page answers while endpoints hang: both reads share a budget.
        let retry = self.retry.within(self.clock.now(), STATUS_BUDGET);
        if let Some(arc) = &service.arc {
            for arn in [&arc.primary_control_arn, &arc.standby_control_arn] {
                let state = on_any_endpoint(&arc.endpoints, retry, self.clock, |endpoint| {
                    self.controls.get_state(endpoint, arn)
                })
                .await
                .map(|(state, _)| state)
                .map_err(|e| e.to_string());
                routing_controls.push((arn.clone(), state));
            }
        }
        let switched_ms = decision
            .steps
            .iter()
            .filter(|s| matches!(s.name, Step::StopMetric | Step::ArcRoutingControls))
            .map(|s| s.finished_at)
            .collect::<Option<Vec<_>>>()
            .and_then(|done| done.into_iter().max())
            .filter(|_| decision.epoch > 0)
            .and_then(|at| i64::try_from((at - decision.decided_at).whole_milliseconds()).ok());
        Ok(ServiceStatus {
            service: name.to_owned(),
            write_rto_ms: decision.write_rto_ms(),
            promotion_ms: decision.promotion_ms(),
            switched_ms,
            decision,
            recent,
            stop_metric,
            routing_controls,
        })
    }
}
