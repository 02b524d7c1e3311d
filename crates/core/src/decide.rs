//! The one way a decision is made, whoever asks: the operator's button, the
//! STOP alarm, a detector. Read the record, check the cooldown and that the
//! data tier can move, write the next epoch, re-read the winner, log one audit
//! line. Nothing else in the crate writes a new epoch.

use serde::Serialize;

use crate::config::{Config, Region};
use crate::decision::{Decision, Mode};
use crate::ports::{Clock, DecisionStore, PortError};

/// Whether a decision was made by a machine (the STOP alarm, the detector)
/// rather than an operator: the promoter then confirms it by the STOP
/// metric's own data before promoting anything.
pub fn is_automatic(actor: &str) -> bool {
    actor.starts_with("alarm:") || actor == "detector"
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal<'a> {
    pub service: &'a str,
    pub target: &'a Region,
    /// `alice@example.com` (an operator's verified email), `iam:…`, `alarm:<name>`, `detector`.
    pub actor: &'a str,
    pub reason: &'a str,
    pub mode: Mode,
    /// Bypasses the anti-flap cooldown (an operator's explicit choice).
    pub override_cooldown: bool,
    /// Moves although the data tier is not protected: the writes made since
    /// the last move stay behind in the Region being left.
    pub accept_data_loss: bool,
    pub dry_run: bool,
}

/// A check made before deciding, reported whatever its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Precondition {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// Why no decision was made. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "anti-flap cooldown: the last decision (epoch {epoch}) moved traffic {seconds_ago} s ago; \
         wait {wait_seconds} s more or set override_safety"
    )]
    Cooldown {
        epoch: u64,
        seconds_ago: i64,
        wait_seconds: i64,
    },
    #[error(
        "the data tier is not protected: {writer} has no cross-Region copy since epoch {epoch}, so \
         moving now would leave every write made there behind. Re-protect first \
         (`stopctl reprotect`, POST /reprotect) and wait until `stopctl status` says protected, \
         or set accept_data_loss"
    )]
    Unprotected { epoch: u64, writer: String },
    #[error("the decision record could not be {action}: {error}")]
    Record {
        action: &'static str,
        error: PortError,
    },
}

/// What [`decide`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The record before this call.
    pub previous: Decision,
    /// The record every action now converges to: the new epoch, the one a
    /// concurrent decision won with, or `previous` when nothing had to move.
    pub decision: Decision,
    /// This call wrote the winning epoch.
    pub decided: bool,
    /// A concurrent decision won over the one this call wrote.
    pub superseded: bool,
    pub preconditions: Vec<Precondition>,
}

/// Reads every record of a service and picks the one that counts (before
/// any decision, the deployed state).
pub async fn current<D: DecisionStore>(
    store: &D,
    config: &Config,
    service: &str,
    clock: &impl Clock,
) -> Result<(Decision, Vec<Decision>), Refusal> {
    let history = store
        .history(service)
        .await
        .map_err(|error| Refusal::Record {
            action: "read",
            error,
        })?;
    let current =
        Decision::current_or_initial(&history, service, config.primary_region(), clock.now());
    Ok((current, history))
}

/// Decides to make `proposal.target` active, or finds it already is.
pub async fn decide<D: DecisionStore, C: Clock>(
    store: &D,
    clock: &C,
    config: &Config,
    proposal: &Proposal<'_>,
) -> Result<Decided, Refusal> {
    let (previous, _) = current(store, config, proposal.service, clock).await?;
    let now = clock.now();
    let mut preconditions = vec![Precondition {
        check: "decision record readable".into(),
        ok: true,
        detail: format!(
            "epoch {}, active {}",
            previous.epoch, previous.active_region
        ),
    }];
    // A planned move whose drain cannot finish (the copy behind, no
    // position to read) is carried on by deciding the same Region again,
    // ungracefully: a new epoch that skips the drain.
    // Only an operator's choice, only for an RDS copy whose drain has
    // stopped (timed out or refused), never an automatic decider's: the
    // detector decides every round and must not skip a drain under way.
    let escalation = &previous.active_region == proposal.target
        && previous.epoch > 0
        && !is_automatic(proposal.actor)
        && previous.mode == crate::decision::Mode::Graceful
        && proposal.mode == crate::decision::Mode::Ungraceful
        && matches!(
            config.database,
            Some(crate::config::DatabaseConfig::RdsReplica { .. })
        )
        && !previous.is_done(crate::decision::Step::Database)
        && previous
            .step(crate::decision::Step::Drain)
            .is_some_and(|s| s.state == crate::decision::StepState::Failed);
    if &previous.active_region == proposal.target && !escalation {
        return Ok(Decided {
            decision: previous.clone(),
            previous,
            decided: false,
            superseded: false,
            preconditions,
        });
    }
    if escalation {
        preconditions.push(Precondition {
            check: "graceful move unfinished".into(),
            ok: true,
            detail: format!(
                "epoch {} to {} has not moved the writer: decided again, ungracefully (no drain; the copy's lag is lost)",
                previous.epoch, previous.active_region
            ),
        });
    }

    if previous.epoch > 0 && !escalation {
        let seconds_ago = (now - previous.decided_at).whole_seconds();
        let wait_seconds = i64::from(config.cooldown_seconds) - seconds_ago;
        let cooled = wait_seconds <= 0;
        preconditions.push(Precondition {
            check: "anti-flap cooldown".into(),
            ok: cooled || proposal.override_cooldown,
            detail: if cooled {
                format!("last move {seconds_ago} s ago")
            } else {
                format!("last move {seconds_ago} s ago; {wait_seconds} s to go")
            },
        });
        if !cooled && !proposal.override_cooldown {
            return Err(Refusal::Cooldown {
                epoch: previous.epoch,
                seconds_ago,
                wait_seconds,
            });
        }
    }

    let has_database = config.database.is_some();
    if has_database {
        let protected = previous.data.protected;
        let writer = previous.data.writer.as_ref().map_or_else(
            || format!("the database in {}", previous.active_region),
            ToString::to_string,
        );
        preconditions.push(Precondition {
            check: "data tier protected".into(),
            ok: protected || proposal.accept_data_loss,
            detail: if protected {
                "a cross-Region copy replicates the writer".to_owned()
            } else {
                format!("{writer} has no cross-Region copy")
            },
        });
        if !protected && !proposal.accept_data_loss {
            return Err(Refusal::Unprotected {
                epoch: previous.epoch,
                writer,
            });
        }
    }

    // A planted record with a huge epoch must not overflow it, nor push it
    // past what the console's JavaScript numbers hold exactly.
    if previous.epoch >= crate::decision::MAX_EPOCH {
        return Err(Refusal::Record {
            action: "advanced",
            error: PortError::Rejected(format!(
                "epoch {} is at the limit ({}): the record was planted or corrupted; put the last good decision back",
                previous.epoch,
                crate::decision::MAX_EPOCH
            )),
        });
    }
    let mut next = previous.next(
        proposal.target.clone(),
        proposal.actor,
        proposal.reason,
        proposal.mode,
        now,
    );
    // With no database there is nothing to fence: writes follow traffic.
    if !has_database {
        next.data.writes_open = true;
        next.data.writes_opened_at = Some(now);
    }
    if proposal.dry_run {
        return Ok(Decided {
            previous,
            decision: next,
            decided: false,
            superseded: false,
            preconditions,
        });
    }
    store.store(&next).await.map_err(|error| Refusal::Record {
        action: "written",
        error,
    })?;
    // Two deciders at once both write the next epoch; every reader picks the
    // same winner, and this caller converges to it.
    let (winner, _) = current(store, config, proposal.service, clock).await?;
    let superseded = winner.supersedes(&next);
    let decided = !superseded;
    tracing::info!(
        target: "audit",
        service = %proposal.service,
        epoch = winner.epoch,
        actor = %proposal.actor,
        reason = %proposal.reason,
        mode = ?proposal.mode,
        before = %previous.active_region,
        after = %winner.active_region,
        decided,
        superseded,
        "decision"
    );
    Ok(Decided {
        previous,
        decision: winner,
        decided,
        superseded,
        preconditions,
    })
}
