//! The replica promoter: CloudWatch alarm notifications, delivered by SNS, a
//! change of the decision record (EventBridge) and a one-minute schedule drive
//! the data tier and the standby's capacity to the decision. Thin: unwrap the
//! event, hand it to `stop_core::promoter`, run again while a promotion is
//! under way, report.

use aws_lambda_events::event::sns::SnsEvent;
use serde::Serialize;
use serde_json::Value;
use stop_core::Config;
use stop_core::alarm::AlarmGuard;
use stop_core::fence::Ledger;
use stop_core::ports::{Capacity, Clock, Database, DecisionStore, Replication, StopSwitch};
use stop_core::promoter::{PromoteError, Promoter, PromoterSettings, Verdict};

/// The function's configuration and ports, built once per container.
pub struct App<D, B, K, S, C, P> {
    pub config: Config,
    pub decisions: D,
    /// The standby Region's database (this Region's).
    pub database: B,
    /// The primary Region's: used by a failback and a re-protect only.
    pub peer_database: B,
    pub capacity: K,
    /// Reads the STOP metric's data to confirm an automatic failover.
    pub stop: S,
    pub clock: C,
    /// SQL on the instances: a planned move's positions and database fence.
    pub replication: P,
}

/// What invoked the function.
#[derive(Debug)]
pub enum Invocation {
    /// Alarm notifications delivered by SNS.
    Alarm(SnsEvent),
    /// The EventBridge schedule: carry an unfinished move on.
    Schedule,
    /// The decision record was written (EventBridge's `Parameter Store
    /// Change` from `aws.ssm`): a press starts the move at once. Like the
    /// schedule it carries the decision in the record on; it never decides.
    /// <https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html>
    RecordChanged { name: String },
}

impl Invocation {
    /// Tells an SNS delivery from a scheduled event; anything else is refused.
    pub fn parse(payload: Value) -> Result<Self, String> {
        if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
            && payload.get("source").and_then(Value::as_str) == Some("aws.events")
        {
            return Ok(Invocation::Schedule);
        }
        if payload.get("detail-type").and_then(Value::as_str) == Some("Parameter Store Change")
            && payload.get("source").and_then(Value::as_str) == Some("aws.ssm")
        {
            // Without a name it is nobody's record: ignored, not retried.
            let name = payload.pointer("/detail/name").and_then(Value::as_str);
            return Ok(Invocation::RecordChanged {
                name: name.unwrap_or_default().to_owned(),
            });
        }
        if payload.get("Records").is_some() {
            return serde_json::from_value(payload)
                .map(Invocation::Alarm)
                .map_err(|e| format!("not an SNS delivery: {e}"));
        }
        Err(
            "neither an SNS delivery, an EventBridge scheduled event nor a Parameter Store Change"
                .to_owned(),
        )
    }
}

/// What one invocation did, record by record.
#[derive(Debug, Serialize)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
}

impl Report {
    /// When to run again in the same invocation, with `remaining` of it left.
    pub fn follow_up(&self, remaining: time::Duration) -> Option<std::time::Duration> {
        stop_core::promoter::follow_up(&self.verdicts, remaining)
    }
}

/// The account of the function, from its ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn account_of(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

impl<D, B, K, S, C, P> App<D, B, K, S, C, P>
where
    D: DecisionStore + Ledger,
    B: Database,
    K: Capacity,
    S: StopSwitch,
    C: Clock,
    P: Replication,
{
    fn promoter(&self) -> Promoter<'_, D, B, K, S, C, P> {
        Promoter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.database,
            peer_database: &self.peer_database,
            capacity: &self.capacity,
            stop: &self.stop,
            clock: &self.clock,
            replication: &self.replication,
        }
    }

    /// Handles one invocation of either kind.
    pub async fn invoke(
        &self,
        invocation: Invocation,
        account: &str,
    ) -> Result<Report, PromoteError> {
        match invocation {
            Invocation::Alarm(event) => self.handle(event, account).await,
            Invocation::Schedule => {
                let verdict = self.promoter().on_schedule().await?;
                finish(vec![verdict])
            }
            Invocation::RecordChanged { name } => {
                if self.config.decision_parameter(&self.config.service) != name {
                    return finish(vec![Verdict::Ignored {
                        reason: format!("a change of {name}, not this service's decision record"),
                    }]);
                }
                let verdict = self.promoter().on_schedule().await?;
                finish(vec![verdict])
            }
        }
    }

    /// [`App::invoke`], then again every few seconds while a drain or a
    /// promotion is under way and `deadline` (the invocation's) leaves room:
    /// the end of a promotion is seen within seconds, and the record write
    /// that says so starts the secret's repoint (docs/design.md, "Nothing on
    /// the critical path waits for a schedule"). Only an invocation whose
    /// first run started the drain or the promotion follows it (the record
    /// writes of its steps start runs too, and those must not multiply the
    /// followers), and it stops when a newer decision appears. Returns the
    /// last run's report.
    pub async fn invoke_and_follow(
        &self,
        invocation: Invocation,
        account: &str,
        deadline: time::OffsetDateTime,
    ) -> Result<Report, PromoteError> {
        let mut report = self.invoke(invocation, account).await?;
        let follows = stop_core::promoter::starts_work(&report.verdicts);
        let epoch = stop_core::promoter::epoch_of(&report.verdicts);
        while follows && let Some(wait) = report.follow_up(deadline - self.clock.now()) {
            self.clock.sleep(wait).await;
            match self.invoke(Invocation::Schedule, account).await {
                Ok(next) => report = next,
                // One failed look (the record or RDS throttled) does not end
                // the follow-up: the work is still under way; look again.
                Err(error) => {
                    tracing::warn!(%error, "follow-up run failed; looking again");
                    continue;
                }
            }
            if stop_core::promoter::epoch_of(&report.verdicts) != epoch {
                break;
            }
        }
        Ok(report)
    }

    fn settings(&self, account: &str) -> PromoterSettings {
        PromoterSettings {
            guard: AlarmGuard {
                alarm_name: self.config.promoter_alarm_name.clone().unwrap_or_default(),
                account_id: account.to_owned(),
                region: self.config.region.clone(),
                max_age: time::Duration::seconds(i64::from(self.config.alarm_max_age_seconds)),
            },
            auto_failover: self.config.auto_failover,
        }
    }

    /// Handles every record of one delivery. An error (the decision record out
    /// of reach) fails the invocation so that Lambda retries it; every step is
    /// safe to run again.
    pub async fn handle(&self, event: SnsEvent, account: &str) -> Result<Report, PromoteError> {
        let promoter = self.promoter();
        let settings = self.settings(account);
        let mut verdicts = Vec::new();
        for record in event.records {
            let verdict = promoter.on_alarm(&settings, &record.sns.message).await?;
            verdicts.push(verdict);
        }
        finish(verdicts)
    }
}

fn finish(verdicts: Vec<Verdict>) -> Result<Report, PromoteError> {
    for verdict in &verdicts {
        if let Verdict::Reconciled { epoch, steps, .. } = verdict {
            for step in steps {
                tracing::info!(epoch, step = %step.step, state = ?step.state, detail = %step.detail, "step");
            }
        }
    }
    // A promotion refused by throttling or a 5xx must not wait for the next
    // alarm, which may never come: fail the invocation, and Lambda's
    // asynchronous retries (one and three minutes later) run it again.
    let retry = verdicts.iter().find_map(|verdict| match verdict {
        Verdict::Reconciled { steps, .. } => steps.iter().find(|s| s.retryable),
        Verdict::Ignored { .. } => None,
    });
    if let Some(step) = retry {
        return Err(PromoteError::Retry {
            step: step.step,
            detail: step.detail.clone(),
        });
    }
    Ok(Report { verdicts })
}
