#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The write fence as a lease: closed at cold start, closed L after the last
//! quorum read was sent, a majority of three copies, the highest epoch read.

use stop_core::Config;
use stop_core::decision::{Decision, Mode};
use stop_core::fence::{CommitError, Fence, FencePolicy, FenceRecord, Fenced, Quorum, Timing};
use stop_core::memory::{CallLog, ManualClock, MemoryDecisionStore, MemoryStateStore};
use stop_core::ports::{Clock, DecisionStore, PortError, PortResult, StateStore};
use stop_testkit::{FenceCopies, standby_config};
use time::Duration;
use time::macros::datetime;

const T0: time::OffsetDateTime = datetime!(2026-11-22 03:00 UTC);

fn primary_with_witness() -> Config {
    standby_config(&[
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
        ("WITNESS_REGION", "eu-west-1"),
    ])
}

fn standby_with_witness() -> Config {
    standby_config(&[("WITNESS_REGION", "eu-west-1")])
}

fn down() -> PortError {
    PortError::Unavailable("connect timeout".into())
}

/// Epoch 1: the standby active, its writes not open yet.
fn failover() -> Decision {
    Decision::initial("orders", &"us-east-1".parse().unwrap(), T0).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Ungraceful,
        T0,
    )
}

#[tokio::test]
async fn a_cold_fence_is_closed_until_its_first_quorum_read() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    for store in [&stores.primary, &stores.standby, &stores.witness] {
        store.down(down());
    }
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    let cold = fence.check().await;
    assert!(!cold.open, "{cold:?}");
    assert!(cold.reason.contains("no lease yet"), "{}", cold.reason);
    assert!(cold.retry_after_s >= 1);

    // One copy is not a majority of three.
    stores.primary.up();
    assert!(!fence.check().await.open);
    stores.witness.up();
    let open = fence.check().await;
    assert!(open.open, "{open:?}");
    assert_eq!(open.epoch, Some(0));
    assert!(open.lease_left_ms > 0);
}

/// A copy whose first read takes `by` on the fence's clock.
struct Slow<'a> {
    inner: &'a MemoryStateStore,
    clock: &'a ManualClock,
    by: Duration,
    slowed: std::sync::atomic::AtomicBool,
}

impl StateStore for Slow<'_> {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        if !self.slowed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.clock.advance(self.by);
        }
        self.inner.load(name).await
    }
    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        self.inner.save(name, text).await
    }
}

#[tokio::test]
async fn the_lease_runs_out_l_after_the_read_was_sent_not_when_it_returned() {
    let config = standby_config(&[
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
        ("FENCE_POLICY", "standby"),
    ]);
    let stores = FenceCopies::deployed(&config);
    let clock = ManualClock::new(T0);
    let slow = Slow {
        inner: &stores.standby,
        clock: &clock,
        by: Duration::seconds(3),
        slowed: Default::default(),
    };
    let copies =
        stop_core::fence::Copies::new(&config, vec![(config.standby_region().clone(), slow)]);
    let fence = Fence::new(&config, copies, &clock);
    let timing = Timing::of(&config);
    assert!(fence.check().await.open, "sent at T0, back at T0 + 3 s");
    // Every later read fails: only the lease is left.
    stores.standby.down(down());
    let last_good = T0 + timing.accept_until() - Duration::milliseconds(1);
    clock.advance(last_good - clock.now());
    let still = fence.check().await;
    assert!(still.open, "inside the lease: {still:?}");
    clock.advance(T0 + timing.accept_until() - clock.now());
    let stale = fence.check().await;
    assert!(!stale.open, "{stale:?}");
    assert!(stale.reason.contains("lease ran out"), "{}", stale.reason);
    // Measured from the return, the lease would still hold for 3 s more.
    assert!(clock.now() < T0 + Duration::seconds(3) + timing.accept_until());
}

#[tokio::test]
async fn the_standby_down_leaves_the_primary_writing_on_a_majority() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    assert!(fence.check().await.open);
    stores.standby.down(down());
    for _ in 0..10 {
        clock.advance(Duration::seconds(7));
        let verdict = fence.check().await;
        assert!(verdict.open, "primary and witness are two: {verdict:?}");
    }
}

#[tokio::test]
async fn the_witness_down_changes_nothing() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    stores.witness.down(down());
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    for _ in 0..5 {
        assert!(fence.check().await.open);
        clock.advance(Duration::seconds(7));
    }
}

#[tokio::test]
async fn an_isolated_primary_closes_within_l_on_its_own_copy() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    assert!(fence.check().await.open);
    // Cut off from the standby and the witness; its own copy still answers.
    stores.standby.down(down());
    stores.witness.down(down());
    let timing = Timing::of(&config);
    let mut closed_at = None;
    for step in 1..=30 {
        clock.advance(Duration::seconds(1));
        if !fence.check().await.open {
            closed_at = Some(step);
            break;
        }
    }
    let closed_at = closed_at.expect("never closed");
    assert!(
        Duration::seconds(closed_at) <= timing.lease,
        "closed {closed_at} s after isolation"
    );
}

#[tokio::test]
async fn the_highest_epoch_of_any_majority_closes_the_old_writer() {
    let config = primary_with_witness();
    let standby = standby_with_witness();
    let stores = FenceCopies::deployed(&config);
    let decision = failover();
    // Committed on the standby's and the witness's copies only.
    let commit = stores
        .copies(&standby)
        .commit(&decision, &ManualClock::new(T0))
        .await
        .unwrap();
    assert_eq!(commit.holding.len(), 2);
    assert_eq!(
        stores.record(&stores.primary, &config).map(|r| r.epoch),
        Some(0),
        "a failover never writes the primary's copy"
    );
    for gone in [None, Some(&stores.standby), Some(&stores.witness)] {
        stores.standby.up();
        stores.witness.up();
        if let Some(store) = gone {
            store.down(down());
        }
        let clock = ManualClock::new(T0);
        let fence = Fence::new(&config, stores.copies(&config), &clock);
        let verdict = fence.check().await;
        assert!(!verdict.open, "{verdict:?}");
        assert_eq!(verdict.epoch, Some(1));
        assert!(verdict.reason.contains("makes us-west-2 active"));
    }
}

#[tokio::test]
async fn a_deleted_or_unparseable_copy_is_no_evidence() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    let name = config.fence_parameter("orders");
    stores
        .standby
        .save(&name, "{\"epoch\": \"seven\"}")
        .await
        .unwrap();
    stores.witness.down(down());
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    let verdict = fence.check().await;
    assert!(!verdict.open, "{verdict:?}");
    assert!(
        verdict.reason.contains("does not parse"),
        "{}",
        verdict.reason
    );

    // The standby policy: its one copy deleted reads as nothing, never epoch 0.
    let config = standby_config(&[
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
    ]);
    assert_eq!(config.fence_policy, FencePolicy::Standby);
    let empty = MemoryStateStore::new(CallLog::default());
    let copies =
        stop_core::fence::Copies::new(&config, vec![(config.standby_region().clone(), &empty)]);
    let fence = Fence::new(&config, copies, &clock);
    let verdict = fence.check().await;
    assert!(!verdict.open);
    assert!(verdict.reason.contains("not found"), "{}", verdict.reason);
}

#[tokio::test]
async fn a_copy_is_never_moved_back_and_a_newer_one_supersedes_a_commit() {
    let standby = standby_with_witness();
    let stores = FenceCopies::deployed(&standby);
    let clock = ManualClock::new(T0);
    let first = failover();
    let second = first.next(
        "us-east-1".parse().unwrap(),
        "cognito:bob",
        "back",
        Mode::Graceful,
        T0,
    );
    let copies = stores.copies(&standby);
    copies.commit(&second, &clock).await.unwrap();
    let late = copies.commit(&first, &clock).await;
    assert!(
        matches!(late, Err(CommitError::Superseded { epoch: 2, .. })),
        "{late:?}"
    );
    for store in [&stores.primary, &stores.standby, &stores.witness] {
        assert_eq!(stores.record(store, &standby).map(|r| r.epoch), Some(2));
    }
}

#[tokio::test]
async fn a_commit_needs_a_majority_and_says_which_copies_failed() {
    let standby = standby_with_witness();
    let stores = FenceCopies::deployed(&standby);
    stores.witness.down(down());
    let result = stores
        .copies(&standby)
        .commit(&failover(), &ManualClock::new(T0))
        .await;
    let Err(CommitError::NoQuorum { held, errors, .. }) = result else {
        panic!("{result:?}");
    };
    assert_eq!(held, "us-west-2");
    assert!(errors.contains("eu-west-1"), "{errors}");
}

#[test]
fn quorums_by_policy() {
    let quorum = Quorum::of(&standby_with_witness());
    assert_eq!(quorum.copies().len(), 3);
    assert_eq!(quorum.needed(), 2);
    let w: stop_core::Region = "eu-west-1".parse().unwrap();
    let s: stop_core::Region = "us-west-2".parse().unwrap();
    let p: stop_core::Region = "us-east-1".parse().unwrap();
    assert!(quorum.committed(&[s.clone(), w.clone()], &failover()));
    assert!(quorum.committed(&[p.clone(), w.clone()], &failover()));
    assert!(!quorum.committed(std::slice::from_ref(&s), &failover()));
    assert_eq!(quorum.writable(&failover()), vec![s.clone(), w]);

    let safe = Quorum::of(&standby_config(&[]));
    assert_eq!(safe.copies(), vec![s.clone()]);
    assert!(safe.committed(std::slice::from_ref(&s), &failover()));
    let available = Quorum::of(&standby_config(&[("FENCE_POLICY", "available")]));
    assert_eq!(available.copies(), vec![p.clone(), s.clone()]);
    assert_eq!(available.needed(), 1);
    // A planned move under `available` writes and needs both copies.
    let mut planned = failover();
    planned.mode = Mode::Graceful;
    assert_eq!(available.writable(&planned), vec![p.clone(), s.clone()]);
    assert!(!available.committed(std::slice::from_ref(&s), &planned));
    assert!(available.committed(&[p.clone(), s.clone()], &planned));
    let mut unplanned = failover();
    unplanned.mode = Mode::Ungraceful;
    assert_eq!(available.writable(&unplanned), vec![s.clone()]);
}

#[test]
fn a_majority_needs_a_witness_and_a_witness_needs_a_majority() {
    let vars = |pairs: &[(&str, &str)]| {
        let mut all: std::collections::HashMap<String, String> = [
            ("SERVICE_NAME", "orders"),
            ("AWS_REGION", "us-west-2"),
            ("ROLE", "SECONDARY"),
            ("PEER_REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in pairs {
            all.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_lookup(|k| all.get(k).cloned())
    };
    assert!(vars(&[("FENCE_POLICY", "majority")]).is_err());
    assert!(
        vars(&[
            ("WITNESS_REGION", "eu-west-1"),
            ("FENCE_POLICY", "available")
        ])
        .is_err()
    );
    assert!(vars(&[("WITNESS_REGION", "us-east-1")]).is_err());
    assert!(vars(&[("FENCE_LEASE_SECONDS", "2")]).is_err());
    assert!(vars(&[("FENCE_POLICY", "sometimes")]).is_err());
    let ok = vars(&[
        ("WITNESS_REGION", "eu-west-1"),
        ("FENCE_LEASE_SECONDS", "20"),
    ])
    .unwrap();
    assert_eq!(ok.fence_policy, FencePolicy::Majority);
    assert_eq!(Timing::of(&ok).lease, Duration::seconds(20));
}

#[test]
fn the_cut_waits_the_lease_stretched_by_drift_plus_the_clock_offset() {
    let timing = Timing::of(&standby_with_witness());
    assert_eq!(timing.lease, Duration::seconds(10));
    assert_eq!(timing.cut_wait(), Duration::milliseconds(11_100));
    assert_eq!(timing.refresh_after(), Duration::seconds(5));
    assert_eq!(timing.accept_until(), Duration::seconds(8));
}

#[tokio::test]
async fn a_fenced_store_publishes_every_decision_it_stores() {
    let standby = standby_with_witness();
    let stores = FenceCopies::deployed(&standby);
    let clock = ManualClock::new(T0);
    let store = Fenced {
        decisions: MemoryDecisionStore::new(CallLog::default()),
        copies: stores.copies(&standby),
        clock: &clock,
    };
    let mut decision = failover();
    store.store(&decision).await.unwrap();
    assert_eq!(
        stores.record(&stores.witness, &standby),
        Some(FenceRecord::of(&decision))
    );
    // A stale version written later never closes what the new one opened.
    let stale = decision.clone();
    decision.data.writes_open = true;
    store.store(&decision).await.unwrap();
    store.store(&stale).await.unwrap();
    let held = stores.record(&stores.standby, &standby).unwrap();
    assert!(held.writes_open, "{held:?}");
    assert_eq!(clock.now(), T0);
}

#[tokio::test]
async fn a_quorum_that_answers_an_older_epoch_than_already_read_grants_no_lease() {
    let config = primary_with_witness();
    let stores = FenceCopies::deployed(&config);
    let name = config.fence_parameter("orders");
    let moved = FenceRecord::of(&failover()).to_text();
    for store in [&stores.standby, &stores.witness] {
        store.save(&name, &moved).await.unwrap();
    }
    let clock = ManualClock::new(T0);
    let fence = Fence::new(&config, stores.copies(&config), &clock);
    assert_eq!(fence.check().await.epoch, Some(1));
    // Both newer copies moved back (a late write of an old run): the
    // primary's and the witness's read epoch 0, a quorum, yet no lease.
    stores.standby.down(down());
    stores
        .witness
        .save(
            &name,
            &FenceRecord::initial("orders", config.primary_region()).to_text(),
        )
        .await
        .unwrap();
    clock.advance(Timing::of(&config).accept_until());
    let verdict = fence.check().await;
    assert!(!verdict.open, "{verdict:?}");
    assert!(
        verdict.reason.contains("older than epoch 1"),
        "{}",
        verdict.reason
    );
}

#[tokio::test]
async fn a_deleted_decision_record_is_refused_not_read_as_the_deployed_state() {
    let standby = standby_with_witness();
    let stores = FenceCopies::deployed(&standby);
    let clock = ManualClock::new(T0);
    let fenced = |decisions| Fenced {
        decisions,
        copies: stores.copies(&standby),
        clock: &clock,
    };
    // Freshly deployed: no record, every copy at epoch 0. Nothing decided yet.
    let fresh = fenced(MemoryDecisionStore::new(CallLog::default()));
    assert!(fresh.history("orders").await.unwrap().is_empty());
    // A failover is decided and published; then the record is deleted (a new
    // empty store stands for the parameter gone).
    fresh.store(&failover()).await.unwrap();
    let deleted = fenced(MemoryDecisionStore::new(CallLog::default()));
    let err = deleted.history("orders").await.unwrap_err();
    assert!(
        matches!(&err, PortError::Rejected(why) if why.contains("deleted") && why.contains("epoch 1")),
        "{err}"
    );
    // So no reader takes the primary as active: the button's read refuses too.
    let current = stop_core::decide::current(&deleted, &standby, "orders", &clock).await;
    assert!(current.is_err());
}

#[tokio::test]
async fn a_planted_epoch_at_the_limit_is_refused_not_overflowed() {
    use stop_core::decide::{Proposal, Refusal, decide};
    let standby = standby_config(&[]);
    let clock = ManualClock::new(T0 + Duration::hours(1));
    let decisions = MemoryDecisionStore::new(CallLog::default());
    let mut planted = failover();
    planted.epoch = u64::MAX;
    planted.data.protected = true;
    decisions.store(&planted).await.unwrap();
    let proposal = Proposal {
        service: "orders",
        target: standby.primary_region(),
        actor: "alice@example.com",
        reason: "back",
        mode: Mode::Graceful,
        override_cooldown: true,
        accept_data_loss: true,
        dry_run: false,
    };
    let refused = decide(&decisions, &clock, &standby, &proposal).await;
    assert!(
        matches!(&refused, Err(Refusal::Record { error: PortError::Rejected(why), .. }) if why.contains("limit")),
        "{refused:?}"
    );
    assert_eq!(decisions.history("orders").await.unwrap().len(), 1);
    assert_eq!(
        planted
            .next(
                standby.primary_region().clone(),
                "a",
                "b",
                Mode::Graceful,
                T0
            )
            .epoch,
        stop_core::decision::MAX_EPOCH
    );
}
