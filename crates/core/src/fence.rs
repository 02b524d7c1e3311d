//! The write fence: an application accepts a write in a Region only while the
//! decision record makes that Region active and its writer ready. A move
//! closes the fence the moment its record is written; the runbook cuts
//! replication only once every fence has read the record, and opens the fence
//! again when the new writer and its secret are ready. Writes refused on the
//! way are unavailability, not loss: clients retry.
//!
//! The contract for a user's own application is in docs/design.md.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use crate::config::Region;
use crate::decision::Decision;
use crate::ports::{Clock, DecisionStore};

/// How long a fence trusts the record it read. Bounded, so that a move is
/// seen everywhere within it.
pub const CACHE_FOR: Duration = Duration::seconds(5);
/// How long the runbook waits after a decision before it treats every fence
/// as closed: the cache, plus a write already past the check when it closed.
pub const SETTLE: Duration = Duration::seconds(10);

/// The fence's answer for one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub open: bool,
    pub epoch: u64,
    pub active_region: Region,
    /// Why it is closed, for the client and the log.
    pub reason: String,
    /// The record could not be read; this is the last answer known.
    pub stale: bool,
}

/// A fence for one service in one Region, with a bounded cache of the record.
pub struct Fence<D, C> {
    store: D,
    clock: C,
    service: String,
    region: Region,
    primary: Region,
    cached: Mutex<Option<(OffsetDateTime, Decision)>>,
}

impl<D: DecisionStore, C: Clock> Fence<D, C> {
    pub fn new(store: D, clock: C, service: &str, region: Region, primary: Region) -> Self {
        Fence {
            store,
            clock,
            service: service.to_owned(),
            region,
            primary,
            cached: Mutex::new(None),
        }
    }

    /// May a write be accepted here now? Reads the record at most once per
    /// [`CACHE_FOR`]; if it cannot be read, keeps the last answer it had (a
    /// standby Region that is down must not stop the primary's writes). Before
    /// any answer at all, the deployed state: the primary writes.
    pub async fn check(&self) -> Verdict {
        let now = self.clock.now();
        let cached = self.cached.lock().ok().and_then(|c| c.clone());
        let (decision, stale) = match cached {
            Some((at, decision)) if now - at < CACHE_FOR => (decision, false),
            cached => match self.store.history(&self.service).await {
                Ok(history) => {
                    let decision =
                        Decision::current_or_initial(&history, &self.service, &self.primary, now);
                    if let Ok(mut slot) = self.cached.lock() {
                        *slot = Some((now, decision.clone()));
                    }
                    (decision, false)
                }
                Err(error) => {
                    tracing::warn!(%error, "fence: decision record unreadable; keeping the last answer");
                    let last = cached
                        .map(|(_, d)| d)
                        .unwrap_or_else(|| Decision::initial(&self.service, &self.primary, now));
                    (last, true)
                }
            },
        };
        let open = decision.accepts_writes_in(&self.region);
        let reason = if open {
            String::new()
        } else if decision.active_region != self.region {
            format!(
                "decision epoch {} makes {} active, not {}",
                decision.epoch, decision.active_region, self.region
            )
        } else {
            format!(
                "decision epoch {} is moving the writer to {}; not ready yet",
                decision.epoch, self.region
            )
        };
        Verdict {
            open,
            epoch: decision.epoch,
            active_region: decision.active_region,
            reason,
            stale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Mode;
    use crate::memory::{CallLog, ManualClock, MemoryDecisionStore};
    use crate::ports::PortError;
    use time::macros::datetime;

    fn region(code: &str) -> Region {
        code.parse().unwrap()
    }

    #[tokio::test]
    async fn an_unreadable_record_keeps_the_last_answer_after_the_cache_expires() {
        let t0 = datetime!(2026-11-22 03:00 UTC);
        let clock = ManualClock::new(t0);
        let store = MemoryDecisionStore::new(CallLog::default());
        let mut open = Decision::initial("orders", &region("us-east-1"), t0).next(
            region("us-west-2"),
            "cognito:alice",
            "drill",
            Mode::Graceful,
            t0,
        );
        open.data.writes_open = true;
        store.store(&open).await.unwrap();
        let fence = Fence::new(
            &store,
            &clock,
            "orders",
            region("us-west-2"),
            region("us-east-1"),
        );
        let first = fence.check().await;
        assert!(first.open && !first.stale, "{first:?}");

        // The standby's SSM goes away; past the cache the fence keeps its answer.
        store
            .faults
            .push(PortError::Unavailable("connect timeout".into()));
        clock.advance(CACHE_FOR + Duration::seconds(1));
        let later = fence.check().await;
        assert!(later.open && later.stale, "{later:?}");
        assert_eq!(later.epoch, 1);

        // Readable again, and a newer decision closes it.
        let mut back = open.next(
            region("us-east-1"),
            "cognito:alice",
            "back",
            Mode::Graceful,
            t0,
        );
        back.data.writes_open = false;
        store.store(&back).await.unwrap();
        clock.advance(CACHE_FOR + Duration::seconds(1));
        let closed = fence.check().await;
        assert!(!closed.open && !closed.stale, "{closed:?}");
        assert!(
            closed.reason.contains("us-east-1 active"),
            "{}",
            closed.reason
        );
    }
}
