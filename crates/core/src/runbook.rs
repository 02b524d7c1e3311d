//! The runbook as one table: every stage of a move, who runs it, what must
//! be done first, its time budget and when it is done. The promoter walks its
//! data steps with [`next`]; `stopctl plan` prints [`RUNBOOK`]; the table in
//! docs/design.md is checked against it by a test (`tests/runbook.rs`), so the
//! order lives here and nowhere else.

use crate::Config;
use crate::decision::{Decision, Step, StepState};

/// One stage of a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub number: u8,
    pub name: &'static str,
    /// The steps of the decision record this stage writes (none: the
    /// decision itself).
    pub steps: &'static [Step],
    pub owner: &'static str,
    /// The stages that must be done before this one starts.
    pub after: &'static [&'static str],
    /// Its share of the RTO, as the drill models it (template defaults).
    pub budget: &'static str,
    pub done_when: &'static str,
    /// One line for `stopctl plan`.
    pub summary: &'static str,
}

/// What a planned move's write RTO may add to its promotion (and to what
/// the record shows it waited for: a second press, a copy behind): nothing on
/// the path waits for a schedule (docs/design.md). The drills check it.
pub const PLANNED_WRITE_SLACK_MS: i64 = 30_000;

/// Every stage, in the order a move runs them.
pub const RUNBOOK: [Stage; 7] = [
    Stage {
        number: 1,
        name: "decide",
        steps: &[],
        owner: "failover-trigger (button) or replica-promoter (alarm)",
        after: &[],
        budget: "0–1 s",
        done_when: "the record is written; for an automatic decision, the STOP metric's own data is ≥ 1 (never the notification alone: `SetAlarmState` moves no traffic, so it must promote nothing)",
        summary: "the operator presses Failover (console, or `stopctl failover`), or the STOP alarm's own data confirms an automatic one; the decision (epoch, who, why, mode) is written to SSM in the standby Region",
    },
    Stage {
        number: 2,
        name: "fence",
        steps: &[Step::Fence],
        owner: "every decider, then replica-promoter",
        after: &["decide", "move traffic"],
        budget: "commit + L × 1.01 + 1 s (11.1 s at L = 10 s)",
        done_when: "the record is committed to a quorum of the fence record's copies, and commit + L × 1.01 + 1 s has passed: no lease can still let a write through to the old writer (503, `Retry-After`)",
        summary: "the decision is committed to a quorum of the fence record's copies (standby and witness; never the primary on a failover); every fence then refuses writes within its lease L, and nothing is cut until commit + L + 1 % + 1 s; clients retry",
    },
    Stage {
        number: 3,
        name: "move traffic",
        steps: &[Step::StopMetric, Step::ArcRoutingControls],
        owner: "failover-trigger",
        after: &["decide"],
        budget: "STOP: 15–171 s; ARC: 2–90 s (to the last client)",
        done_when: "STOP metric published and/or the ARC batch done; the primary record's health check (CALCULATED over both when ARC is on) turns unhealthy",
        summary: "STOP metric = 1 (CloudWatch) and/or one ARC batch (primary Off, standby On); Route 53's check on the primary record turns unhealthy; clients follow within the TTL",
    },
    Stage {
        number: 4,
        name: "drain",
        steps: &[Step::Drain],
        owner: "replica-promoter",
        after: &["fence"],
        budget: "0–8 s (the replication lag); at most `DB_DRAIN_TIMEOUT_SECONDS`",
        done_when: "graceful RDS replica: the old writer made read-only (the database-level fence), its position read, and the copy's replayed position at or past it, both recorded; within `DB_DRAIN_TIMEOUT_SECONDS` of the old writer being made read-only, else the move stops (an operator carries it on ungracefully). Aurora switchover drains itself; ungraceful skips it and loses at most the lag",
        summary: "(graceful, RDS) the old writer is made read-only and its position read (LSN or GTID set); the copy is promoted once it has replayed it, within DB_DRAIN_TIMEOUT_SECONDS, else the move stops. Aurora's switchover drains itself; ungraceful skips this and loses at most the lag",
    },
    Stage {
        number: 5,
        name: "promote",
        steps: &[Step::Database, Step::Capacity],
        owner: "replica-promoter",
        after: &["fence", "drain"],
        budget: "RDS 150–330 s; Aurora switchover 60–150 s",
        done_when: "`PromoteReadReplica` done (the instance standalone and `available`, or `backing-up`: RDS serves writes through the first automated backup a promotion starts), or the Aurora global writer moved (`SwitchoverGlobalCluster` graceful, sent to the current primary cluster's Region as AWS's procedure says; `FailoverGlobalCluster` with `AllowDataLoss` ungraceful, sent to the target's Region); the standby's group raised",
        summary: "promote the replica, or move the Aurora global writer; raise the standby's Auto Scaling group. Nothing is promoted until the traffic switch has taken effect",
    },
    Stage {
        number: 6,
        name: "repoint the secret",
        steps: &[Step::Secret],
        owner: "secret-rewriter",
        after: &["promote"],
        budget: "0–3 s (the promoter's follow-up sees the promotion end) + 0.5–5 s (that record write reaches the rewriter)",
        done_when: "the active Region's secret names the new writer (a failback: both Regions'); then the fence opens",
        summary: "the promoter's invocation reads the promotion every 3 s and records its end; that write starts the rewriter (EventBridge), which points the secret at the new writer; then the fence opens for it: that is the write RTO",
    },
    Stage {
        number: 7,
        name: "re-protect",
        steps: &[Step::Reprotect],
        owner: "replica-promoter, on `POST /reprotect`",
        after: &["promote"],
        budget: "RDS 15–30 min (a new copy); Aurora a few minutes to hours after a failover",
        done_when: "RDS: a new read replica of the writer in the other Region is available (one created by an earlier run whose answer was lost, `DBInstanceAlreadyExists`, is adopted if its source is the writer, and refused otherwise); Aurora: the other Region's cluster is a secondary again (after a switchover it is at once; after a failover Aurora rebuilds it when the Region is back)",
        summary: "report, then re-protect (`stopctl reprotect`): failback is refused until the writer has a cross-Region copy again. Failback is the same runbook, never automatic, after the cooldown",
    },
];

/// The data steps the promoter runs one after another (each waits for the
/// one before), in the table's order. Capacity and re-protect run beside them.
pub fn data_steps() -> impl Iterator<Item = Step> {
    RUNBOOK
        .iter()
        .flat_map(|s| s.steps.iter().copied())
        .filter(|s| matches!(s, Step::Fence | Step::Drain | Step::Database))
}

/// The next data step to work on for `decision`: the first of
/// [`data_steps`] neither done nor skipped. `None` with no database, before
/// any decision, or when they are all through. Pure: the record only.
pub fn next(config: &Config, decision: &Decision) -> Option<Step> {
    if config.database.is_none() || decision.epoch == 0 {
        return None;
    }
    data_steps().find(|step| {
        !decision.is_done(*step)
            && decision.step(*step).map(|s| s.state) != Some(StepState::Skipped)
    })
}

/// The stage's row of docs/design.md's runbook table.
pub fn markdown_row(stage: &Stage) -> String {
    format!(
        "| {} | {} | {} | {} | {} |",
        stage.number, stage.name, stage.owner, stage.budget, stage.done_when
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_steps_are_fence_drain_database_in_that_order() {
        assert_eq!(
            data_steps().collect::<Vec<_>>(),
            [Step::Fence, Step::Drain, Step::Database]
        );
    }

    #[test]
    fn every_prerequisite_is_an_earlier_stage_and_every_step_appears_once() {
        let mut seen_steps = Vec::new();
        for (index, stage) in RUNBOOK.iter().enumerate() {
            assert_eq!(usize::from(stage.number), index + 1);
            for before in stage.after {
                let earlier = RUNBOOK.iter().position(|s| s.name == *before);
                assert!(
                    earlier.is_some_and(|e| e < index) || *before == "move traffic",
                    "{} needs {before}",
                    stage.name
                );
            }
            seen_steps.extend(stage.steps.iter().copied());
        }
        let mut unique = seen_steps.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen_steps.len(), "{seen_steps:?}");
        assert_eq!(unique.len(), 8, "every Step in one stage: {unique:?}");
    }

    #[test]
    fn next_walks_the_data_steps_and_skips_what_is_through() {
        let vars = [
            ("SERVICE_NAME", "orders"),
            ("AWS_REGION", "us-west-2"),
            ("ROLE", "SECONDARY"),
            ("PEER_REGION", "us-east-1"),
            ("STOP_METRIC_NAMESPACE", "StopPattern"),
            ("STOP_METRIC_NAME", "FailoverToSecondary"),
            ("STOP_ALARM_NAME", "orders-stop-failover"),
            ("DB_KIND", "rds-replica"),
            ("DB_REPLICA_ID", "orders-replica"),
        ];
        let lookup = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = Config::from_lookup(lookup).unwrap_or_else(|e| unreachable!("{e}"));
        let t0 = time::macros::datetime!(2026-12-03 03:00 UTC);
        let primary: crate::config::Region = "us-east-1".parse().unwrap_or_else(|_| unreachable!());
        let standby: crate::config::Region = "us-west-2".parse().unwrap_or_else(|_| unreachable!());
        let initial = Decision::initial("orders", &primary, t0);
        assert_eq!(next(&config, &initial), None, "nothing decided");
        let mut d = initial.next(
            standby,
            "alice",
            "drill",
            crate::decision::Mode::Graceful,
            t0,
        );
        assert_eq!(next(&config, &d), Some(Step::Fence));
        d.record_step(Step::Fence, StepState::Pending, t0, "waiting");
        assert_eq!(
            next(&config, &d),
            Some(Step::Fence),
            "pending is not through"
        );
        d.record_step(Step::Fence, StepState::Done, t0, "committed");
        assert_eq!(next(&config, &d), Some(Step::Drain));
        d.record_step(Step::Drain, StepState::Skipped, t0, "ungraceful");
        assert_eq!(next(&config, &d), Some(Step::Database));
        d.record_step(Step::Database, StepState::Done, t0, "promoted");
        assert_eq!(next(&config, &d), None);
    }
}
