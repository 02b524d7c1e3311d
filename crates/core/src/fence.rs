//! The write fence is a lease. A Region accepts a write only while it holds
//! one: a read, successful and younger than L, of the fence record from a
//! quorum of its copies, whose newest version makes this Region active with
//! writes open. Anything else refuses:
//!
//! - at cold start, until the first quorum read;
//! - L after the last quorum read was *sent* (not when it returned), less
//!   the margin a write needs to be acknowledged;
//! - when the quorum's newest record makes another Region active, or is
//!   still moving the writer here.
//!
//! The record has a copy in each Region of the quorum (SSM `GetParameter`,
//! about 200 bytes: not the decision's 100-version history, so the fleet's
//! reads stay off `GetParameterHistory`, which the deciders read). A decision
//! is committed once every read quorum must see it; the runbook cuts
//! replication only [`Timing::cut_wait`] after that, when every lease that
//! could still open the old writer has run out. So the old writer cannot
//! acknowledge a write after the cut, whatever the network does to its reads.
//!
//! Parameter Store's throughput quota is per account and Region and covers
//! `GetParameter`, `GetParameters` and `PutParameter` (higher throughput
//! raises it, at a cost); the fleet's renewals, N / (L/2) reads a second per
//! Region, are measured by `cargo bench -p stop-core --bench fence`.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html>
//!
//! The contract for a user's own application is in docs/design.md.

use std::ops::RangeInclusive;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::config::{Config, Region};
use crate::decision::Decision;
use crate::ports::{Clock, DecisionStore, PortError, PortResult, StateStore};

/// L by default: 10 s. Long enough that a fence refreshing every L/2 rides
/// out one slow or failed cross-Region read (the SDK gives up within 2 s);
/// short enough that an isolated primary stops within 10 s and an ungraceful
/// move waits about 11 s for it, as the old fixed settle did.
pub const DEFAULT_LEASE_SECONDS: u32 = 10;
/// What `FENCE_LEASE_SECONDS` may be: above twice the commit margin.
pub const LEASE_SECONDS: RangeInclusive<u32> = 5..=60;
/// A write let through must be acknowledged within this, so that it lands
/// before the lease it was let through under runs out. The demo's write is
/// acknowledged at once; a database write sets its statement timeout to it.
pub const COMMIT_MARGIN: Duration = Duration::seconds(2);
/// The drift rate two clocks may have while each measures an interval: 1 %
/// (Lambda's hosts keep time by Amazon Time Sync; this is generous).
pub const DRIFT_PERCENT: i32 = 1;
/// The offset between the clock of the runbook and that of a fence: both on
/// Amazon Time Sync, which AWS gives as a millisecond or better.
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html>
pub const CLOCK_OFFSET: Duration = Duration::seconds(1);

/// Which copies of the fence record a lease needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FencePolicy {
    /// Three copies (primary, standby, witness); a lease needs any two. The
    /// standby down: the primary and the witness are two. The primary
    /// isolated: it reads only its own copy and closes within L.
    Majority,
    /// No witness: a lease needs the standby's copy. Never two writers; the
    /// primary stops writing L after it loses the standby.
    Standby,
    /// No witness: a lease needs either copy. The primary keeps writing
    /// through a standby outage; an isolated primary keeps writing too, and
    /// what it takes after a failover is lost.
    Available,
}

impl FencePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FencePolicy::Majority => "majority",
            FencePolicy::Standby => "standby",
            FencePolicy::Available => "available",
        }
    }
}

impl std::str::FromStr for FencePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "majority" => Ok(FencePolicy::Majority),
            "standby" => Ok(FencePolicy::Standby),
            "available" => Ok(FencePolicy::Available),
            other => Err(format!("{other:?} is none of majority, standby, available")),
        }
    }
}

/// The lease's timing, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub lease: Duration,
}

impl Timing {
    pub fn of(config: &Config) -> Self {
        Timing {
            lease: Duration::seconds(i64::from(config.fence_lease_seconds)),
        }
    }
    /// A fence reads again once its lease is this old: L/2, so that one
    /// failed refresh still leaves half a lease.
    pub fn refresh_after(&self) -> Duration {
        self.lease / 2
    }
    /// A write is let through only while the lease is younger than this.
    pub fn accept_until(&self) -> Duration {
        self.lease - COMMIT_MARGIN
    }
    /// How long after a commit the runbook waits before it cuts replication:
    /// L stretched by the drift rate, plus the clocks' offset. Every lease a
    /// read sent before the commit granted has run out by then.
    pub fn cut_wait(&self) -> Duration {
        self.lease + self.lease / 100 * DRIFT_PERCENT + CLOCK_OFFSET
    }
}

/// What a fence reads: the few fields of the decision that say who may write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceRecord {
    pub service: String,
    pub epoch: u64,
    pub active_region: Region,
    pub writes_open: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

impl FenceRecord {
    pub fn of(decision: &Decision) -> Self {
        FenceRecord {
            service: decision.service.clone(),
            epoch: decision.epoch,
            active_region: decision.active_region.clone(),
            writes_open: decision.data.writes_open,
            decided_at: decision.decided_at,
        }
    }

    /// The record as deployed (the template writes it into each copy): epoch
    /// 0, the primary writing.
    pub fn initial(service: &str, primary: &Region) -> Self {
        FenceRecord {
            service: service.to_owned(),
            epoch: 0,
            active_region: primary.clone(),
            writes_open: true,
            decided_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Orders records as the decision record does (epoch, then decision time,
    /// then Region); within one decision an open fence is ahead of a closed
    /// one, since a decision only ever opens its fence.
    fn rank(&self) -> (u64, OffsetDateTime, &Region, bool) {
        (
            self.epoch,
            self.decided_at,
            &self.active_region,
            self.writes_open,
        )
    }

    pub fn is_ahead_of(&self, other: &FenceRecord) -> bool {
        self.rank() > other.rank()
    }

    pub fn accepts_writes_in(&self, region: &Region) -> bool {
        &self.active_region == region && self.writes_open
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a copy; one of another service is refused, not read as ours.
    pub fn parse(text: &str, service: &str) -> Result<Self, String> {
        let record: FenceRecord =
            serde_json::from_str(text).map_err(|e| format!("does not parse: {e}"))?;
        if record.service != service {
            return Err(format!("names service {:?}", record.service));
        }
        Ok(record)
    }
}

/// The copies of the fence record and how many a lease needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    pub policy: FencePolicy,
    pub primary: Region,
    pub standby: Region,
    pub witness: Option<Region>,
}

impl Quorum {
    pub fn of(config: &Config) -> Self {
        Quorum {
            policy: config.fence_policy,
            primary: config.primary_region().clone(),
            standby: config.standby_region().clone(),
            witness: config.witness_region.clone(),
        }
    }

    /// The Regions whose copy a fence reads.
    pub fn copies(&self) -> Vec<Region> {
        match self.policy {
            FencePolicy::Majority => [Some(&self.primary), Some(&self.standby)]
                .into_iter()
                .chain([self.witness.as_ref()])
                .flatten()
                .cloned()
                .collect(),
            FencePolicy::Standby => vec![self.standby.clone()],
            FencePolicy::Available => vec![self.primary.clone(), self.standby.clone()],
        }
    }

    /// How many copies must answer for a lease.
    pub fn needed(&self) -> usize {
        match self.policy {
            FencePolicy::Majority => self.copies().len() / 2 + 1,
            FencePolicy::Standby | FencePolicy::Available => 1,
        }
    }

    /// The copies a decider may write for `decision`: every one but the
    /// primary's on a move to the standby (the failover path touches nothing
    /// in the primary Region, which may be on fire).
    pub fn writable(&self, decision: &Decision) -> Vec<Region> {
        let to_standby = decision.active_region == self.standby;
        // `available` reads a lease from the primary's copy alone: a planned
        // move (the primary healthy) must write it too, or that copy keeps
        // the primary open after the cut.
        let primary_too = self.policy == FencePolicy::Available
            && decision.mode == crate::decision::Mode::Graceful;
        self.copies()
            .into_iter()
            .filter(|r| !(to_standby && r == &self.primary) || primary_too)
            .collect()
    }

    /// Committed: every set of copies a lease can be read from includes one
    /// of `holding`. (`Available` is committed on the standby's copy alone:
    /// the primary's own copy is not written on a failover, which is that
    /// policy's stated risk.)
    pub fn committed(&self, holding: &[Region], decision: &Decision) -> bool {
        let copies = self.copies();
        let held = copies.iter().filter(|r| holding.contains(r)).count();
        match self.policy {
            FencePolicy::Majority => held > copies.len() - self.needed(),
            FencePolicy::Standby => holding.contains(&self.standby),
            // A planned move needs both copies: either alone grants a lease.
            FencePolicy::Available if decision.mode == crate::decision::Mode::Graceful => {
                held == copies.len()
            }
            FencePolicy::Available => holding.contains(&self.standby),
        }
    }

    /// "2 of us-east-1, us-west-2, eu-west-1", for logs and answers.
    pub fn describe(&self) -> String {
        let copies: Vec<String> = self.copies().iter().map(ToString::to_string).collect();
        format!(
            "{} of {} ({})",
            self.needed(),
            copies.join(", "),
            self.policy.as_str()
        )
    }
}

/// Why a commit did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// A copy holds a newer decision: this one must not act any more.
    #[error("a copy of the fence record in {region} holds epoch {epoch}, newer than this decision")]
    Superseded { region: Region, epoch: u64 },
    /// Too few copies could be written or read; nothing may be cut yet.
    #[error("the fence record is held by {held} ({quorum} needed): {errors}")]
    NoQuorum {
        held: String,
        quorum: String,
        errors: String,
    },
}

/// A commit: which copies hold the record, and when the write that made
/// them enough returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub at: OffsetDateTime,
    pub holding: Vec<Region>,
    /// Copies that did not hold the record yet and were written by this
    /// commit: a lease may have been read from them until now.
    pub written: Vec<Region>,
}

/// What one copy held when a record was published to it.
enum CopyWas {
    Holding,
    Written,
    Ahead(FenceRecord),
}

/// What a publish found and did, copy by copy.
#[derive(Debug, Default)]
pub struct Published {
    /// Copies that hold the record (or the same decision further on).
    pub holding: Vec<Region>,
    /// Of those, the ones this publish wrote.
    pub written: Vec<Region>,
    pub errors: Vec<(Region, String)>,
    /// A copy that holds a newer epoch.
    pub newer: Option<(Region, u64)>,
}

/// The copies of the fence record, one store per Region (SSM in each).
pub struct Copies<T> {
    pub quorum: Quorum,
    pub timing: Timing,
    prefix: String,
    stores: Vec<(Region, T)>,
}

impl<T: StateStore> Copies<T> {
    /// `stores` holds one store per Region of [`Quorum::copies`]; a Region
    /// without one counts as unreachable.
    pub fn new(config: &Config, stores: Vec<(Region, T)>) -> Self {
        Copies {
            quorum: Quorum::of(config),
            timing: Timing::of(config),
            prefix: config.decision_prefix.clone(),
            stores,
        }
    }

    fn parameter(&self, service: &str) -> String {
        format!("{}/{service}/fence", self.prefix)
    }

    fn store(&self, region: &Region) -> Option<&T> {
        self.stores
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, store)| store)
    }

    /// Every copy the quorum reads, read at once: what each said.
    pub async fn read(&self, service: &str) -> Vec<(Region, Result<FenceRecord, String>)> {
        self.read_in(service, self.quorum.copies()).await
    }

    /// The copies in `regions`, read at once.
    pub async fn read_in(
        &self,
        service: &str,
        regions: Vec<Region>,
    ) -> Vec<(Region, Result<FenceRecord, String>)> {
        let name = self.parameter(service);
        let reads = regions.into_iter().map(|region| {
            let name = &name;
            async move {
                let answer = match self.store(&region) {
                    None => Err("no store for this Region".to_owned()),
                    Some(store) => match store.load(name).await {
                        Ok(Some(text)) => FenceRecord::parse(&text, service),
                        // Deleted or never deployed: no evidence, not epoch 0.
                        Ok(None) => Err(format!("{name} not found")),
                        Err(error) => Err(error.to_string()),
                    },
                };
                (region, answer)
            }
        });
        futures_util::future::join_all(reads).await
    }

    /// Writes `record` to each copy in `writable` where the copy is not
    /// already at or past it; a copy is never moved back.
    pub async fn publish(&self, record: &FenceRecord, writable: &[Region]) -> Published {
        let name = self.parameter(&record.service);
        let writes = writable.iter().map(|region| {
            let name = &name;
            async move {
                let Some(store) = self.store(region) else {
                    return (region.clone(), Err("no store for this Region".to_owned()));
                };
                let held = match store.load(name).await {
                    Ok(Some(text)) => FenceRecord::parse(&text, &record.service).ok(),
                    Ok(None) => None,
                    Err(error) => return (region.clone(), Err(error.to_string())),
                };
                match held {
                    Some(held) if held.is_ahead_of(record) => {
                        (region.clone(), Ok(CopyWas::Ahead(held)))
                    }
                    Some(held) if &held == record => (region.clone(), Ok(CopyWas::Holding)),
                    _ => match store.save(name, &record.to_text()).await {
                        Ok(()) => (region.clone(), Ok(CopyWas::Written)),
                        Err(error) => (region.clone(), Err(error.to_string())),
                    },
                }
            }
        });
        let mut published = Published::default();
        for (region, outcome) in futures_util::future::join_all(writes).await {
            match outcome {
                Ok(CopyWas::Holding) => published.holding.push(region),
                Ok(CopyWas::Written) => {
                    published.written.push(region.clone());
                    published.holding.push(region);
                }
                Ok(CopyWas::Ahead(held)) if held.epoch > record.epoch => {
                    published.newer = Some((region, held.epoch));
                }
                Ok(CopyWas::Ahead(_)) => published.holding.push(region),
                Err(error) => published.errors.push((region, error)),
            }
        }
        published
    }

    /// Makes `decision`'s fence record committed (see [`Quorum::committed`]),
    /// writing the copies that lag; the time is taken when the writes return.
    pub async fn commit(
        &self,
        decision: &Decision,
        clock: &impl Clock,
    ) -> Result<Commit, CommitError> {
        let record = FenceRecord::of(decision);
        let writable = self.quorum.writable(decision);
        let published = self.publish(&record, &writable).await;
        let at = clock.now();
        if let Some((region, epoch)) = published.newer {
            return Err(CommitError::Superseded { region, epoch });
        }
        if self.quorum.committed(&published.holding, decision) {
            return Ok(Commit {
                at,
                holding: published.holding,
                written: published.written,
            });
        }
        let holding = published.holding;
        let names: Vec<String> = holding.iter().map(ToString::to_string).collect();
        let errors: Vec<String> = published
            .errors
            .iter()
            .map(|(r, e)| format!("{r}: {e}"))
            .collect();
        Err(CommitError::NoQuorum {
            held: if names.is_empty() {
                "no copy".to_owned()
            } else {
                names.join(", ")
            },
            quorum: self.quorum.describe(),
            errors: errors.join("; "),
        })
    }
}

/// A decision store that keeps the fence record's copies in step: every
/// decision written is then published to the copies it may touch (best
/// effort: the runbook's fence step commits before it cuts anything).
pub struct Fenced<D, T, C> {
    pub decisions: D,
    pub copies: Copies<T>,
    pub clock: C,
}

impl<D: DecisionStore, T: StateStore, C: Clock> DecisionStore for Fenced<D, T, C> {
    /// The record's history. An empty one is read as "nothing decided yet"
    /// only if no copy of the fence record holds a later epoch: a deleted
    /// record must not read as the deployed state (the primary active).
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        let history = self.decisions.history(service).await?;
        if !history.is_empty() {
            return Ok(history);
        }
        // Outside the deployed primary: the failover path touches nothing there.
        let outside: Vec<Region> = self
            .copies
            .quorum
            .copies()
            .into_iter()
            .filter(|region| *region != self.copies.quorum.primary)
            .collect();
        let mut unread = Vec::new();
        let mut read_one = false;
        for (region, read) in self.copies.read_in(service, outside).await {
            match read {
                Ok(copy) if copy.epoch > 0 => {
                    return Err(PortError::Rejected(format!(
                        "the decision record of {service} is missing, but the fence record's copy in {region} \
                         holds epoch {} (active {}): the record was deleted; put the last decision back \
                         (the trigger's audit log has each one as a JSON line) before acting",
                        copy.epoch, copy.active_region
                    )));
                }
                Ok(_) => read_one = true,
                Err(why) => unread.push(format!("{region}: {why}")),
            }
        }
        // A copy at epoch 0 outside the primary is the evidence that nothing
        // was decided: a failover commits to every copy outside the primary.
        if !read_one {
            return Err(PortError::Unavailable(format!(
                "the decision record of {service} is empty and no fence record copy outside the primary \
                 could be read to confirm nothing was decided ({})",
                unread.join("; ")
            )));
        }
        Ok(history)
    }

    async fn store(&self, decision: &Decision) -> PortResult<()> {
        self.decisions.store(decision).await?;
        // Only the decision in force is published: a run still holding an
        // older one (its record write superseded) must not touch the copies.
        let history = self.decisions.history(&decision.service).await?;
        let current = Decision::current(&history);
        if current
            .is_some_and(|c| c.epoch != decision.epoch || c.active_region != decision.active_region)
        {
            return Ok(());
        }
        let record = FenceRecord::of(decision);
        let writable = self.copies.quorum.writable(decision);
        let published = self.copies.publish(&record, &writable).await;
        for (region, error) in published.errors {
            tracing::warn!(%region, %error, epoch = decision.epoch, "fence record copy not written");
        }
        if let Some((region, epoch)) = published.newer {
            tracing::info!(%region, epoch, "fence record copy holds a newer decision; left as it is");
        }
        Ok(())
    }
}

/// What the runbook needs of the fence: a commit of the decision it acts on.
pub trait Ledger: Send + Sync {
    fn commit(
        &self,
        decision: &Decision,
    ) -> impl std::future::Future<Output = Result<Commit, CommitError>> + Send;
    /// The lease's timing, for the wait after a commit.
    fn timing(&self) -> Timing;
}

impl<D: DecisionStore, T: StateStore, C: Clock> Ledger for Fenced<D, T, C> {
    async fn commit(&self, decision: &Decision) -> Result<Commit, CommitError> {
        self.copies.commit(decision, &self.clock).await
    }
    fn timing(&self) -> Timing {
        self.copies.timing
    }
}

impl<L: Ledger> Ledger for &L {
    fn commit(
        &self,
        decision: &Decision,
    ) -> impl std::future::Future<Output = Result<Commit, CommitError>> + Send {
        (**self).commit(decision)
    }
    fn timing(&self) -> Timing {
        (**self).timing()
    }
}

/// The fence's answer for one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub open: bool,
    /// The epoch of the record the lease was read from, if there is a lease.
    pub epoch: Option<u64>,
    pub active_region: Option<Region>,
    /// Why it is closed, for the client and the log.
    pub reason: String,
    /// What is left of the lease, in milliseconds (0 without one): a write
    /// let through must be acknowledged before it runs out.
    pub lease_left_ms: i64,
    /// When to try again.
    pub retry_after_s: u32,
}

#[derive(Debug, Clone)]
struct Lease {
    sent_at: OffsetDateTime,
    record: FenceRecord,
}

/// One Region's fence for one service: the lease and the copies it is read from.
pub struct Fence<T, C> {
    copies: Copies<T>,
    clock: C,
    service: String,
    region: Region,
    timing: Timing,
    held: Mutex<Option<Lease>>,
}

impl<T: StateStore, C: Clock> Fence<T, C> {
    /// A fence with no lease: closed until its first quorum read.
    pub fn new(config: &Config, copies: Copies<T>, clock: C) -> Self {
        Fence {
            timing: copies.timing,
            copies,
            clock,
            service: config.service.clone(),
            region: config.region.clone(),
            held: Mutex::new(None),
        }
    }

    fn lease(&self) -> Option<Lease> {
        self.held.lock().ok().and_then(|l| l.clone())
    }

    /// Reads a quorum of the copies; a lease from `sent_at` if enough answer.
    async fn renew(&self) -> Result<(), String> {
        let sent_at = self.clock.now();
        let answers = self.copies.read(&self.service).await;
        let mut records = Vec::new();
        let mut failures = Vec::new();
        for (region, answer) in answers {
            match answer {
                Ok(record) => records.push(record),
                Err(why) => failures.push(format!("{region}: {why}")),
            }
        }
        let needed = self.copies.quorum.needed();
        if records.len() < needed {
            return Err(format!(
                "copies read: {}; a lease needs {}: {}",
                records.len(),
                self.copies.quorum.describe(),
                failures.join("; ")
            ));
        }
        let newest = records
            .into_iter()
            .reduce(|a, b| if b.is_ahead_of(&a) { b } else { a });
        // A quorum that answers an older epoch than one already read here
        // missed a copy that holds it: no lease from it.
        if let (Some(record), Some(held)) = (&newest, self.lease())
            && held.record.epoch > record.epoch
        {
            return Err(format!(
                "the copies read answered epoch {}, older than epoch {} read before",
                record.epoch, held.record.epoch
            ));
        }
        if let (Some(record), Ok(mut slot)) = (newest, self.held.lock()) {
            // Two checks at once: the later read wins.
            if slot.as_ref().is_none_or(|l| l.sent_at <= sent_at) {
                *slot = Some(Lease { sent_at, record });
            }
        }
        Ok(())
    }

    /// May a write be accepted here now? Renews the lease once it is L/2
    /// old; a renewal that fails keeps the lease only until it runs out.
    pub async fn check(&self) -> Verdict {
        let now = self.clock.now();
        let fresh = self
            .lease()
            .is_some_and(|l| now - l.sent_at < self.timing.refresh_after());
        let failure = if fresh {
            None
        } else {
            self.renew().await.err()
        };
        if let Some(why) = &failure {
            tracing::warn!(reason = %why, "fence: no quorum read of the fence record");
        }
        let now = self.clock.now();
        let retry_after_s = u32::try_from(self.timing.refresh_after().whole_seconds())
            .unwrap_or(5)
            .max(1);
        let closed = |reason: String, lease: Option<&Lease>| Verdict {
            open: false,
            epoch: lease.map(|l| l.record.epoch),
            active_region: lease.map(|l| l.record.active_region.clone()),
            reason,
            lease_left_ms: 0,
            retry_after_s,
        };
        let Some(lease) = self.lease() else {
            return closed(
                format!(
                    "no lease yet: the fence record has not been read from a quorum ({})",
                    failure.unwrap_or_default()
                ),
                None,
            );
        };
        let age = now - lease.sent_at;
        if age >= self.timing.accept_until() {
            return closed(
                format!(
                    "the lease ran out: the last quorum read was sent {} s ago ({})",
                    age.whole_seconds(),
                    failure.unwrap_or_default()
                ),
                Some(&lease),
            );
        }
        let record = &lease.record;
        if !record.accepts_writes_in(&self.region) {
            let reason = if record.active_region != self.region {
                format!(
                    "decision epoch {} makes {} active, not {}",
                    record.epoch, record.active_region, self.region
                )
            } else {
                format!(
                    "decision epoch {} is moving the writer to {}; not ready yet",
                    record.epoch, self.region
                )
            };
            return closed(reason, Some(&lease));
        }
        let left = self.timing.accept_until() - age;
        Verdict {
            open: true,
            epoch: Some(record.epoch),
            active_region: Some(record.active_region.clone()),
            reason: String::new(),
            lease_left_ms: i64::try_from(left.whole_milliseconds()).unwrap_or(0),
            retry_after_s,
        }
    }
}
