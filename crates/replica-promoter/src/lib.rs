//! The replica promoter: CloudWatch alarm notifications, delivered by SNS, drive
//! the standby Region's database and capacity to the decision. Thin: unwrap the
//! SNS records, hand each message to `stop_core::promoter`, report.

use aws_lambda_events::event::sns::SnsEvent;
use serde::Serialize;
use stop_core::Config;
use stop_core::alarm::AlarmGuard;
use stop_core::ports::{Capacity, Clock, Database, DecisionStore};
use stop_core::promoter::{PromoteError, Promoter, PromoterSettings, Verdict};

/// The function's configuration and ports, built once per container.
pub struct App<D, B, K, C> {
    pub config: Config,
    pub decisions: D,
    pub database: B,
    pub capacity: K,
    pub clock: C,
}

/// What one invocation did, record by record.
#[derive(Debug, Serialize)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
}

/// The account of the function, from its ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn account_of(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

impl<D, B, K, C> App<D, B, K, C>
where
    D: DecisionStore,
    B: Database,
    K: Capacity,
    C: Clock,
{
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
        let promoter = Promoter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.database,
            capacity: &self.capacity,
            clock: &self.clock,
        };
        let settings = self.settings(account);
        let mut verdicts = Vec::new();
        for record in event.records {
            let verdict = promoter.on_alarm(&settings, &record.sns.message).await?;
            if let Verdict::Reconciled { epoch, steps, .. } = &verdict {
                for step in steps {
                    tracing::info!(epoch, step = step.step, state = ?step.state, detail = %step.detail, "step");
                }
            }
            verdicts.push(verdict);
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
}
