//! The one decision record: which Region should serve, and why.
//!
//! It lives in the standby Region (SSM Parameter Store) and every action converges
//! to it. Its epoch only grows, so of two concurrent decisions the later one wins
//! everywhere, in the same way.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Region;

/// The largest epoch a decision may have: 2^53 - 1, the largest integer a
/// JSON number keeps exactly in JavaScript (the console). No real history
/// comes near it; [`crate::decide::decide`] refuses to go past it.
pub const MAX_EPOCH: u64 = (1 << 53) - 1;

/// How a failover treats the Region it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Both Regions are up: no data loss (Aurora switchover, replication drained).
    Graceful,
    /// The Region being left is impaired: act with the standby alone, accept the RPO.
    Ungraceful,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "graceful" => Ok(Mode::Graceful),
            "ungraceful" => Ok(Mode::Ungraceful),
            other => Err(format!("{other:?} is neither graceful nor ungraceful")),
        }
    }
}

/// A runbook step, in the order a move runs them. The name is a type, so a
/// misspelt step cannot be recorded; it serialises as its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The STOP metric published (switch 1).
    StopMetric,
    /// The ARC routing controls updated (switch 2).
    ArcRoutingControls,
    /// No write reaches the old writer any more: every Region's fence has
    /// read this decision (its cache has expired since the decision).
    Fence,
    /// The copy in the target Region has applied every write the old writer took.
    Drain,
    /// The copy in the target Region promoted, or the global writer moved there.
    Database,
    /// Every reachable Region's secret names the new writer.
    Secret,
    /// The target Region's compute raised.
    Capacity,
    /// A new cross-Region copy of the writer in the other Region.
    Reprotect,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::StopMetric => "stop-metric",
            Step::ArcRoutingControls => "arc-routing-controls",
            Step::Fence => "fence",
            Step::Drain => "drain",
            Step::Database => "database",
            Step::Secret => "secret",
            Step::Capacity => "capacity",
            Step::Reprotect => "reprotect",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One database: the Region it lives in and its RDS identifier (an instance
/// for an RDS replica pair, a cluster for an Aurora global database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbRef {
    pub region: Region,
    pub id: String,
}

impl std::fmt::Display for DbRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.id, self.region)
    }
}

/// The data tier under a decision: which database takes writes, whether the
/// fence lets them through yet, and what protects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTier {
    /// The database that takes writes, as the runbook last moved it; `None`
    /// is the deployed primary. A decision carries it over; the database step
    /// of a move replaces it once the new writer is promoted.
    #[serde(default)]
    pub writer: Option<DbRef>,
    /// The fence: writes are accepted in the active Region only while this is
    /// true. A move closes it; the last data step of the move opens it again.
    pub writes_open: bool,
    /// When the fence opened under this decision: decision → this is the
    /// write RTO (the first write can be acknowledged from here on).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub writes_opened_at: Option<OffsetDateTime>,
    /// When this decision's fence record was committed (held by enough
    /// copies that every lease must see it): the runbook's replication cut
    /// waits out the lease from here, not from `decided_at`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fence_committed_at: Option<OffsetDateTime>,
    /// A cross-Region copy of the writer exists and replicates: a move can
    /// be made without abandoning data. False after a promotion until re-protected.
    pub protected: bool,
    /// The copy a re-protect created (RDS); `None` is the deployed replica
    /// (`DB_REPLICA_ID`) while nothing has been promoted, or no copy at all.
    #[serde(default)]
    pub copy: Option<DbRef>,
    /// A planned move's drain under this decision: the positions behind its
    /// "RPO 0".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainEvidence>,
    /// The instance the database-level fence made read-only, until it is
    /// undone: carried across decisions, so that a move back, or the copy
    /// promoted with the setting replicated into it, writes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<DbRef>,
}

/// What a planned move's drain read: the fenced writer's position, and the
/// copy's once it had replayed it (or when the drain gave up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainEvidence {
    pub engine: crate::replication::Engine,
    /// The writer the copy drained from, read-only from before its position.
    pub source: DbRef,
    pub source_position: String,
    /// The copy's replayed position at the drain's last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_position: Option<String>,
    /// When the source was made read-only: the drain's timeout runs from here.
    #[serde(with = "time::serde::rfc3339")]
    pub fenced_at: OffsetDateTime,
    /// The drain refused for good once it had reached the source (the fence
    /// refused, no usable position): the move stopped here, and an operator
    /// carries it on ungracefully. Kept so that no later run tries again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The drain ran past `DB_DRAIN_TIMEOUT_SECONDS`: the move stopped here.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timed_out_at: Option<OffsetDateTime>,
}

impl Default for DataTier {
    /// As deployed: the primary writes, the standby replicates.
    fn default() -> Self {
        DataTier {
            writer: None,
            writes_open: true,
            writes_opened_at: None,
            fence_committed_at: None,
            protected: true,
            copy: None,
            drain: None,
            read_only: None,
        }
    }
}

/// A step's detail is cut to this many bytes (on a character boundary). With
/// eight steps, a 500-character reason and the data tier, a record stays under
/// the 4 KB of an SSM Standard parameter (a test holds it there).
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>
pub const MAX_DETAIL_BYTES: usize = 100;

/// The state of one runbook step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    InProgress,
    Done,
    Failed,
    Skipped,
}

/// What happened to one runbook step under this decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: Step,
    pub state: StepState,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub finished_at: Option<OffsetDateTime>,
    /// A short human-readable outcome; never a secret.
    #[serde(default)]
    pub detail: String,
}

impl StepRecord {
    /// Milliseconds from start to finish, once both are known.
    pub fn duration_ms(&self) -> Option<i128> {
        Some((self.finished_at? - self.started_at?).whole_milliseconds())
    }
}

/// The desired state of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub service: String,
    pub active_region: Region,
    /// Grows by one with every decision; never reused, never lowered.
    pub epoch: u64,
    /// Who decided: an operator's identity or the alarm that fired.
    pub actor: String,
    pub reason: String,
    pub mode: Mode,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    /// The runbook's steps towards this decision, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// The data tier under this decision. Records written before it existed
    /// read as the deployed state.
    #[serde(default)]
    pub data: DataTier,
}

impl Decision {
    /// The state before anyone has decided anything: the primary serves, epoch 0.
    pub fn initial(service: &str, primary: &Region, now: OffsetDateTime) -> Self {
        Decision {
            service: service.to_owned(),
            active_region: primary.clone(),
            epoch: 0,
            actor: "deployment".to_owned(),
            reason: "initial state".to_owned(),
            mode: Mode::Graceful,
            decided_at: now,
            steps: Vec::new(),
            data: DataTier::default(),
        }
    }

    /// The decision that follows this one: epoch + 1 (never past
    /// [`MAX_EPOCH`]), no steps taken yet.
    pub fn next(
        &self,
        active_region: Region,
        actor: &str,
        reason: &str,
        mode: Mode,
        now: OffsetDateTime,
    ) -> Self {
        Decision {
            service: self.service.clone(),
            active_region,
            epoch: self.epoch.saturating_add(1).min(MAX_EPOCH),
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            mode,
            decided_at: now,
            steps: Vec::new(),
            // A move closes the fence; the writer, its copy and their
            // protection stay as they were until the runbook changes them.
            data: DataTier {
                writes_open: false,
                writes_opened_at: None,
                fence_committed_at: None,
                drain: None,
                ..self.data.clone()
            },
        }
    }

    /// The fence: whether a write may be accepted in `region` under this decision.
    pub fn accepts_writes_in(&self, region: &Region) -> bool {
        &self.active_region == region && self.data.writes_open
    }

    /// Decision → the fence opened for the new writer, once it has.
    pub fn write_rto_ms(&self) -> Option<i64> {
        let opened = self.data.writes_opened_at.filter(|_| self.epoch > 0)?;
        i64::try_from((opened - self.decided_at).whole_milliseconds()).ok()
    }

    /// The database step's span, from its start (the promotion or the
    /// global writer move sent) to the record saying it is done: what a
    /// planned move's write RTO is set beside.
    pub fn promotion_ms(&self) -> Option<i64> {
        let step = self.step(Step::Database).filter(|_| self.epoch > 0)?;
        i64::try_from(step.duration_ms()?).ok()
    }

    /// Whether `step` is done under this decision.
    pub fn is_done(&self, step: Step) -> bool {
        self.step(step).is_some_and(|s| s.state == StepState::Done)
    }

    /// Of two records for the same service, the one every Region must converge to.
    /// Epochs order them; equal epochs (two writers racing) are broken by the
    /// decision time and then by the Region name, so that every reader agrees.
    pub fn supersedes(&self, other: &Decision) -> bool {
        (self.epoch, self.decided_at, &self.active_region)
            > (other.epoch, other.decided_at, &other.active_region)
    }

    /// The record that counts among a service's history (oldest first): the one
    /// that supersedes all others; of several versions of that same decision
    /// (its steps recorded as they progress), the newest.
    pub fn current(history: &[Decision]) -> Option<&Decision> {
        history.iter().fold(None, |best, candidate| match best {
            Some(best) if best.supersedes(candidate) => Some(best),
            _ => Some(candidate),
        })
    }

    /// [`Decision::current`], or before any decision the deployed state: the
    /// primary serves, epoch 0.
    pub fn current_or_initial(
        history: &[Decision],
        service: &str,
        primary: &Region,
        now: OffsetDateTime,
    ) -> Decision {
        Decision::current(history)
            .cloned()
            .unwrap_or_else(|| Decision::initial(service, primary, now))
    }

    pub fn step(&self, name: Step) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Records a step's new state, adding it on first sight. The detail is cut
    /// to [`MAX_DETAIL_BYTES`] so that the record stays within SSM's limit.
    pub fn record_step(&mut self, name: Step, state: StepState, now: OffsetDateTime, detail: &str) {
        let index = match self.steps.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.steps.push(StepRecord {
                    name,
                    state: StepState::Pending,
                    started_at: None,
                    finished_at: None,
                    detail: String::new(),
                });
                self.steps.len() - 1
            }
        };
        let step = &mut self.steps[index];
        if state != StepState::Pending && step.started_at.is_none() {
            step.started_at = Some(now);
        }
        if matches!(
            state,
            StepState::Done | StepState::Failed | StepState::Skipped
        ) {
            step.finished_at = Some(now);
        }
        step.state = state;
        step.detail = cut(detail);
    }
}

/// `detail` cut to [`MAX_DETAIL_BYTES`] on a character boundary, with an
/// ellipsis when it was longer.
pub fn cut(detail: &str) -> String {
    if detail.len() <= MAX_DETAIL_BYTES {
        return detail.to_owned();
    }
    let end = (0..=MAX_DETAIL_BYTES)
        .rev()
        .find(|i| detail.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}…", &detail[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn region(code: &str) -> Region {
        code.parse().unwrap()
    }

    #[test]
    fn next_grows_the_epoch_and_clears_the_steps() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let mut first = Decision::initial("orders", &region("us-east-1"), t0);
        first.record_step(Step::StopMetric, StepState::Done, t0, "");
        let second = first.next(
            region("us-west-2"),
            "alice",
            "primary down",
            Mode::Ungraceful,
            t0,
        );
        assert_eq!(second.epoch, 1);
        assert_eq!(second.active_region, region("us-west-2"));
        assert!(second.steps.is_empty());
        assert!(second.supersedes(&first));
        assert!(!first.supersedes(&second));
    }

    #[test]
    fn equal_epochs_resolve_the_same_way_for_every_reader() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let base = Decision::initial("orders", &region("us-east-1"), t0);
        let a = base.next(region("us-west-2"), "alice", "x", Mode::Graceful, t0);
        let b = base.next(region("us-east-1"), "bob", "y", Mode::Graceful, t0);
        assert_ne!(a.supersedes(&b), b.supersedes(&a));
        assert!(!a.supersedes(&a));
    }

    #[test]
    fn current_is_the_superseding_record_whatever_the_write_order() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let t1 = datetime!(2026-11-22 03:00:01 UTC);
        let base = Decision::initial("orders", &region("us-east-1"), t0);
        let failover = base.next(region("us-west-2"), "alice", "x", Mode::Graceful, t1);
        let failback = base.next(region("us-east-1"), "bob", "y", Mode::Graceful, t0);
        let mut progressed = failover.clone();
        progressed.record_step(Step::StopMetric, StepState::Done, t1, "");

        let a = [
            base.clone(),
            failover.clone(),
            failback.clone(),
            progressed.clone(),
        ];
        let b = [
            base.clone(),
            failback.clone(),
            failover.clone(),
            progressed.clone(),
        ];
        assert_eq!(Decision::current(&a), Some(&progressed));
        assert_eq!(Decision::current(&b), Some(&progressed));
        // A late, stale write of an older epoch never wins.
        let c = [failover.clone(), base.clone()];
        assert_eq!(Decision::current(&c), Some(&failover));
        assert_eq!(Decision::current(&[]), None);
        let initial = Decision::current_or_initial(&[], "orders", &region("us-east-1"), t0);
        assert_eq!(
            (initial.epoch, initial.active_region.as_str()),
            (0, "us-east-1")
        );
        assert_eq!(
            Decision::current_or_initial(&c, "orders", &region("us-east-1"), t0),
            failover
        );
    }

    #[test]
    fn steps_record_start_finish_and_duration() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let t1 = datetime!(2026-11-22 03:00:02.5 UTC);
        let mut d = Decision::initial("orders", &region("us-east-1"), t0);
        d.record_step(Step::Database, StepState::InProgress, t0, "started");
        d.record_step(Step::Database, StepState::Done, t1, "writer");
        let step = d.step(Step::Database).unwrap();
        assert_eq!(step.state, StepState::Done);
        assert_eq!(step.duration_ms(), Some(2500));
        assert_eq!(d.steps.len(), 1);
    }

    #[test]
    fn the_largest_record_fits_an_ssm_standard_parameter() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let long_region = region("ap-southeast-5");
        let mut d = Decision::initial("a".repeat(40).as_str(), &long_region, t0).next(
            long_region.clone(),
            &format!("cognito:{}", "x".repeat(120)),
            &"é".repeat(500),
            Mode::Ungraceful,
            t0,
        );
        for step in [
            Step::StopMetric,
            Step::ArcRoutingControls,
            Step::Fence,
            Step::Drain,
            Step::Database,
            Step::Secret,
            Step::Capacity,
            Step::Reprotect,
        ] {
            // An ARC failure lists every endpoint's error: far longer than this.
            d.record_step(step, StepState::Failed, t0, &"é".repeat(5000));
        }
        let writer = DbRef {
            region: long_region.clone(),
            id: "w".repeat(63),
        };
        d.data.writer = Some(writer.clone());
        d.data.copy = Some(writer.clone());
        d.data.read_only = Some(writer.clone());
        d.data.writes_opened_at = Some(t0);
        d.data.fence_committed_at = Some(t0);
        // A drain that timed out with both positions at their longest.
        let position = "p".repeat(crate::replication::MAX_POSITION_BYTES);
        d.data.drain = Some(DrainEvidence {
            engine: crate::replication::Engine::Mariadb,
            source: writer,
            source_position: position.clone(),
            replayed_position: Some(position),
            fenced_at: t0,
            refused: None,
            timed_out_at: Some(t0),
        });
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.len() <= 4096, "{} bytes", json.len());
        assert!(d.steps[0].detail.ends_with('…'));
    }

    #[test]
    fn round_trips_through_json_with_rfc3339_times() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let d = Decision::initial("orders", &region("us-east-1"), t0);
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            json.contains(r#""decided_at":"2026-11-22T03:00:00Z""#),
            "{json}"
        );
        assert!(json.contains(r#""mode":"graceful""#), "{json}");
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn a_record_with_a_bad_region_is_rejected() {
        let json = r#"{"service":"orders","active_region":"nowhere","epoch":1,"actor":"a",
            "reason":"r","mode":"graceful","decided_at":"2026-11-22T03:00:00Z"}"#;
        assert!(serde_json::from_str::<Decision>(json).is_err());
    }
}
