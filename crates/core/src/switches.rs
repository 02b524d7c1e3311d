//! The switches that move traffic, driven to a target Region: read first, write
//! only what differs, so that running them again changes nothing.

use std::time::Duration;

use serde::Serialize;

use crate::config::{ArcConfig, ArcEndpoint, Region, ServiceConfig};
use crate::ports::{Clock, ControlState, PortError, RoutingControls, StopSwitch};

/// How hard to try the ARC cluster before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Passes over the whole endpoint list.
    pub rounds: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long one attempt can take at worst: the SDK's attempt timeout
    /// (`stop_aws::sdk_config`), what a hanging endpoint costs.
    pub attempt_timeout: Duration,
    /// No attempt starts that could end after this: the caller answers before
    /// Lambda (28 s) or API Gateway (29 s) cuts it off. `None`: no deadline.
    pub deadline: Option<time::OffsetDateTime>,
}

impl RetryPolicy {
    /// This policy with every call ending by `now + budget`.
    pub fn within(self, now: time::OffsetDateTime, budget: Duration) -> Self {
        let budget = time::Duration::try_from(budget).unwrap_or(time::Duration::ZERO);
        RetryPolicy {
            deadline: Some(now + budget),
            ..self
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // 3 rounds of 5 endpoints with backoff capped at 2 s, each call inside
        // the deadline its caller sets.
        RetryPolicy {
            rounds: 3,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            deadline: None,
        }
    }
}

/// One failed attempt on one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub endpoint: String,
    pub error: String,
}

/// Why the ARC cluster could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArcError {
    /// Every attempt failed with a retryable error.
    #[error("no ARC endpoint succeeded after {} attempts: {}", .attempts.len(), summary(.attempts))]
    Exhausted { attempts: Vec<Attempt> },
    /// The cluster refused the request (a safety rule, a validation error).
    #[error("ARC refused the change: {message}")]
    Refused {
        message: String,
        attempts: Vec<Attempt>,
    },
}

fn summary(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{} ({})", a.endpoint, a.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Calls `call` on the cluster's endpoints in turn until one succeeds: connection
/// errors, throttling, 5xx and `ConflictException` move on to the next endpoint
/// after a growing pause; a refusal stops at once.
pub async fn on_any_endpoint<'e, T, F, Fut>(
    endpoints: &'e [ArcEndpoint],
    policy: RetryPolicy,
    clock: &impl Clock,
    mut call: F,
) -> Result<(T, Vec<Attempt>), ArcError>
where
    F: FnMut(&'e ArcEndpoint) -> Fut,
    Fut: std::future::Future<Output = Result<T, PortError>>,
{
    let mut attempts = Vec::new();
    let mut backoff = policy.first_backoff;
    let attempt = time::Duration::try_from(policy.attempt_timeout).unwrap_or(time::Duration::ZERO);
    for _round in 0..policy.rounds {
        for endpoint in endpoints {
            if let Some(deadline) = policy.deadline
                && clock.now() + attempt > deadline
            {
                attempts.push(Attempt {
                    endpoint: "deadline".to_owned(),
                    error: "no time left for another attempt before the caller must answer"
                        .to_owned(),
                });
                return Err(ArcError::Exhausted { attempts });
            }
            match call(endpoint).await {
                Ok(value) => return Ok((value, attempts)),
                Err(error) => {
                    let retryable = error.is_retryable();
                    attempts.push(Attempt {
                        endpoint: format!("{} {}", endpoint.region, endpoint.url),
                        error: error.to_string(),
                    });
                    if !retryable {
                        return Err(ArcError::Refused {
                            message: error.to_string(),
                            attempts,
                        });
                    }
                    // Another endpoint is another Region: a pause only matters
                    // when the whole cluster pushes back, which a round shows.
                    if matches!(error, PortError::Throttled(_) | PortError::Conflict(_)) {
                        clock.sleep(backoff).await;
                        backoff = (backoff * 2).min(policy.max_backoff);
                    }
                }
            }
        }
        clock.sleep(backoff).await;
        backoff = (backoff * 2).min(policy.max_backoff);
    }
    Err(ArcError::Exhausted { attempts })
}

/// What a switch reads now and what the target needs of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchReport {
    pub switch: &'static str,
    /// Whether it already pointed at the target before this run.
    pub already: bool,
    pub changed: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<Attempt>,
}

/// Why a switch could not be driven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    #[error("STOP metric: {0}")]
    Stop(PortError),
    #[error("ARC routing controls: {0}")]
    Arc(ArcError),
    #[error(
        "ARC safety rules stop this change and break glass is not allowed by the configuration"
    )]
    BreakGlassNotAllowed,
    /// A newer decision exists: a switch is driven only for the current
    /// epoch, so that a press, a retry or a repair never undoes a newer one.
    #[error("decision epoch {epoch} is superseded by epoch {current}: its switches are left to it")]
    Superseded { epoch: u64, current: u64 },
    /// The record could not be read again before the switch write: nothing written.
    #[error("the decision record could not be read again before the switch write: {0}")]
    Unverified(PortError),
}

/// The STOP metric value that sends traffic to `target`.
pub fn stop_value(target: &Region, standby: &Region) -> f64 {
    if target == standby { 1.0 } else { 0.0 }
}

/// Publishes the STOP value for `target` unless the metric already holds it.
pub async fn drive_stop_metric(
    service: &ServiceConfig,
    stop: &impl StopSwitch,
    target_value: f64,
    dry_run: bool,
) -> Result<Option<SwitchReport>, SwitchError> {
    let Some(switch) = &service.stop_metric else {
        return Ok(None);
    };
    let state = stop
        .read(switch, &service.name)
        .await
        .map_err(SwitchError::Stop)?;
    let already = state.last_value == Some(target_value);
    if !already && !dry_run {
        stop.publish(switch, &service.name, target_value)
            .await
            .map_err(SwitchError::Stop)?;
    }
    let detail = match (already, dry_run) {
        (true, _) => format!("already {target_value}; alarm {:?}", state.alarm_state),
        (false, true) => format!(
            "would publish {target_value} (now {})",
            shown(state.last_value)
        ),
        (false, false) => format!("published {target_value} (was {})", shown(state.last_value)),
    };
    Ok(Some(SwitchReport {
        switch: "stop-metric",
        already,
        changed: !already && !dry_run,
        detail,
        failed_attempts: Vec::new(),
    }))
}

/// What one republish did for one service: the value published, or why none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Republished {
    pub service: String,
    /// `Ok(value)` published; `Err(why)` nothing published.
    pub outcome: Result<f64, String>,
}

/// Publishes, for every service on the STOP path, the value its decision
/// record holds: run every minute from the standby. The STOP alarm keeps its
/// state through missing data (`TreatMissingData: ignore`), and the primary's
/// health check reads the alarm with `InsufficientDataHealthStatus:
/// LastKnownStatus`, which Route 53 advises against for a metric missing
/// "for long periods (longer than a few hours)". A datapoint every minute
/// keeps the alarm on evidence.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html>
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html>
///
/// A record that cannot be read publishes nothing (the alarm keeps its state).
/// The value is stamped with the time taken before the record was read, so a
/// decision that lands meanwhile owns every later minute: its own datapoint
/// is newer, and the alarm's statistic is the Maximum, so a stale 1 delays a
/// failback by at most the minute it was read in and a stale 0 never lands in
/// a failover's minute. The record is then read again: a newer epoch is
/// published too, and a record that cannot be read again (twice) is an error,
/// so that the run counts as failed.
pub async fn republish_stop(
    config: &crate::config::Config,
    decisions: &impl crate::ports::DecisionStore,
    stop: &impl StopSwitch,
    clock: &impl Clock,
) -> Vec<Republished> {
    let standby = config.standby_region();
    let decided = |history: &[crate::decision::Decision]| {
        crate::decision::Decision::current(history).map_or((0, 0.0), |d| {
            (d.epoch, stop_value(&d.active_region, standby))
        })
    };
    let mut done = Vec::new();
    for service in &config.services {
        let Some(switch) = &service.stop_metric else {
            continue;
        };
        let outcome = async {
            let read_at = clock.now();
            let history = decisions.history(&service.name).await.map_err(|e| {
                format!("decision record unreadable, nothing published: {e}")
            })?;
            let (epoch, value) = decided(&history);
            stop.publish_at(switch, &service.name, value, read_at)
                .await
                .map_err(|e| format!("PutMetricData failed: {e}"))?;
            let again = match decisions.history(&service.name).await {
                Ok(again) => again,
                Err(_) => decisions.history(&service.name).await.map_err(|e| {
                    format!("published {value} (epoch {epoch}) but could not read the record again to see whether a newer decision landed; the next run corrects it: {e}")
                })?,
            };
            let (newer_epoch, newer) = decided(&again);
            if newer_epoch > epoch {
                stop.publish_at(switch, &service.name, newer, clock.now())
                    .await
                    .map_err(|e| format!("PutMetricData of epoch {newer_epoch} failed: {e}"))?;
                return Ok(newer);
            }
            Ok(value)
        }
        .await;
        done.push(Republished {
            service: service.name.clone(),
            outcome,
        });
    }
    done
}

fn shown(value: Option<f64>) -> String {
    value.map_or("no data".to_owned(), |v| v.to_string())
}

/// The routing control states that send traffic to `target`: one On, one Off.
pub fn control_states(arc: &ArcConfig, to_standby: bool) -> Vec<(String, ControlState)> {
    let (primary, standby) = if to_standby {
        (ControlState::Off, ControlState::On)
    } else {
        (ControlState::On, ControlState::Off)
    };
    vec![
        (arc.primary_control_arn.clone(), primary),
        (arc.standby_control_arn.clone(), standby),
    ]
}

/// "primary On, standby Off": short enough for the record and for people.
fn describe_states(arc: &ArcConfig, states: &[(String, ControlState)]) -> String {
    states
        .iter()
        .map(|(arn, state)| {
            let cell = if *arn == arc.primary_control_arn {
                "primary"
            } else {
                "standby"
            };
            format!("{cell} {state:?}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Flips both routing controls in one batch unless they already point at the target.
pub async fn drive_routing_controls(
    service: &ServiceConfig,
    controls: &impl RoutingControls,
    clock: &impl Clock,
    policy: RetryPolicy,
    to_standby: bool,
    override_safety: bool,
    dry_run: bool,
) -> Result<Option<SwitchReport>, SwitchError> {
    let Some(arc) = &service.arc else {
        return Ok(None);
    };
    let wanted = control_states(arc, to_standby);
    let mut failed = Vec::new();
    let mut current = Vec::new();
    for (arn, _) in &wanted {
        let (state, attempts) = on_any_endpoint(&arc.endpoints, policy, clock, |endpoint| {
            controls.get_state(endpoint, arn)
        })
        .await
        .map_err(SwitchError::Arc)?;
        failed.extend(attempts);
        current.push((arn.clone(), state));
    }
    let already = current == wanted;
    let mut detail = describe_states(arc, &current);
    if !already && !dry_run {
        let no_override: Vec<String> = Vec::new();
        let update = on_any_endpoint(&arc.endpoints, policy, clock, |endpoint| {
            controls.update_states(endpoint, &wanted, &no_override)
        })
        .await;
        match update {
            Ok(((), attempts)) => failed.extend(attempts),
            Err(ArcError::Refused { message, attempts }) if override_safety => {
                if !arc.allow_safety_override {
                    return Err(SwitchError::BreakGlassNotAllowed);
                }
                failed.extend(attempts);
                detail.push_str(&format!("; safety rule overridden ({message})"));
                let (_, attempts) = on_any_endpoint(&arc.endpoints, policy, clock, |endpoint| {
                    controls.update_states(endpoint, &wanted, &arc.safety_rule_arns)
                })
                .await
                .map_err(SwitchError::Arc)?;
                failed.extend(attempts);
            }
            Err(error) => return Err(SwitchError::Arc(error)),
        }
    }
    let target = describe_states(arc, &wanted);
    let detail = match (already, dry_run) {
        (true, _) => format!("already {detail}"),
        (false, true) => format!("would set {target} (now {detail})"),
        (false, false) => format!("set {target} (was {detail})"),
    };
    Ok(Some(SwitchReport {
        switch: "arc-routing-controls",
        already,
        changed: !already && !dry_run,
        detail,
        failed_attempts: failed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{CallLog, ManualClock, MemoryRoutingControls};
    use time::macros::datetime;

    fn endpoints() -> Vec<ArcEndpoint> {
        [
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "ap-southeast-2",
            "ap-northeast-1",
        ]
        .iter()
        .map(|r| ArcEndpoint {
            region: r.parse().unwrap(),
            url: format!("https://{r}.example"),
        })
        .collect()
    }

    fn service() -> ServiceConfig {
        ServiceConfig {
            name: "orders".into(),
            stop_metric: None,
            arc: Some(ArcConfig {
                endpoints: endpoints(),
                primary_control_arn: "p".into(),
                standby_control_arn: "s".into(),
                allow_safety_override: false,
                safety_rule_arns: vec!["rule".into()],
            }),
        }
    }

    fn clock() -> ManualClock {
        ManualClock::new(datetime!(2026-11-22 03:00 UTC))
    }

    /// Fails over (controls to the standby), not a dry run, on a fresh clock.
    async fn flip_to_standby(
        service: &ServiceConfig,
        arc: &impl RoutingControls,
        override_safety: bool,
    ) -> Result<Option<SwitchReport>, SwitchError> {
        drive_routing_controls(
            service,
            arc,
            &clock(),
            RetryPolicy::default(),
            true,
            override_safety,
            false,
        )
        .await
    }

    #[tokio::test]
    async fn endpoints_are_tried_in_turn_until_one_answers() {
        let log = CallLog::default();
        let arc = MemoryRoutingControls::new(
            log.clone(),
            &[("p", ControlState::On), ("s", ControlState::Off)],
        );
        for ep in &endpoints()[..4] {
            arc.set_endpoint_down(&ep.url, true);
        }
        let report = flip_to_standby(&service(), &arc, false)
            .await
            .unwrap()
            .unwrap();
        assert!(report.changed && !report.already);
        // 4 dead endpoints for each of the two reads and for the update.
        assert_eq!(report.failed_attempts.len(), 12);
        assert!(report.failed_attempts[0].endpoint.contains("us-east-1"));
        let ep = &endpoints()[4];
        assert_eq!(arc.get_state(ep, "p").await.unwrap(), ControlState::Off);
        assert_eq!(arc.get_state(ep, "s").await.unwrap(), ControlState::On);
    }

    #[tokio::test]
    async fn conflicts_are_retried_with_backoff_then_succeed() {
        let arc = MemoryRoutingControls::new(
            CallLog::default(),
            &[("p", ControlState::On), ("s", ControlState::Off)],
        );
        for _ in 0..7 {
            arc.faults
                .push(PortError::Conflict("ConflictException".into()));
        }
        let clock = clock();
        let before = clock.now();
        let report = drive_routing_controls(
            &service(),
            &arc,
            &clock,
            RetryPolicy::default(),
            true,
            false,
            false,
        )
        .await
        .unwrap()
        .unwrap();
        assert!(report.changed);
        assert_eq!(report.failed_attempts.len(), 7);
        assert!(clock.now() - before >= time::Duration::milliseconds(700));
    }

    #[tokio::test]
    async fn no_attempt_starts_that_could_end_past_the_deadline() {
        // Every endpoint hangs for the attempt timeout: with a 12 s budget and
        // 5 s attempts, two attempts fit and the third is never started.
        let clock = clock();
        let start = clock.now();
        let policy = RetryPolicy::default().within(start, Duration::from_secs(12));
        let err = on_any_endpoint(&endpoints(), policy, &clock, |_| async {
            clock.advance(time::Duration::seconds(5));
            Err::<(), _>(PortError::Unavailable("attempt timed out".into()))
        })
        .await
        .unwrap_err();
        let ArcError::Exhausted { attempts } = err else {
            panic!("{err:?}")
        };
        assert_eq!(attempts.len(), 3, "{attempts:?}");
        assert_eq!(attempts[2].endpoint, "deadline");
        assert!(clock.now() - start <= time::Duration::seconds(12));
    }

    #[tokio::test]
    async fn every_endpoint_down_names_every_endpoint_tried() {
        let arc = MemoryRoutingControls::new(
            CallLog::default(),
            &[("p", ControlState::On), ("s", ControlState::Off)],
        );
        for ep in endpoints() {
            arc.set_endpoint_down(&ep.url, true);
        }
        let err = flip_to_standby(&service(), &arc, false).await.unwrap_err();
        let text = err.to_string();
        for ep in endpoints() {
            assert!(text.contains(&ep.url), "{text}");
        }
        assert!(text.contains("15 attempts"), "{text}");
    }

    #[tokio::test]
    async fn already_set_controls_are_not_written_again() {
        let log = CallLog::default();
        let arc = MemoryRoutingControls::new(
            log.clone(),
            &[("p", ControlState::Off), ("s", ControlState::On)],
        );
        let report = flip_to_standby(&service(), &arc, false)
            .await
            .unwrap()
            .unwrap();
        assert!(report.already && !report.changed);
        assert_eq!(log.count("arc.update_states"), 0);
    }

    #[tokio::test]
    async fn a_safety_rule_refusal_is_not_retried_and_break_glass_needs_the_config() {
        let log = CallLog::default();
        let arc = MemoryRoutingControls::new(
            log.clone(),
            &[("p", ControlState::On), ("s", ControlState::Off)],
        );
        arc.set_gating_rule(Some("gating rule: maintenance switch is Off"));
        let refused = flip_to_standby(&service(), &arc, false).await.unwrap_err();
        assert!(
            matches!(&refused, SwitchError::Arc(ArcError::Refused { attempts, .. }) if attempts.len() == 1)
        );
        assert_eq!(log.count("arc.update_states"), 1);

        let not_allowed = flip_to_standby(&service(), &arc, true).await.unwrap_err();
        assert_eq!(not_allowed, SwitchError::BreakGlassNotAllowed);

        let mut allowed = service();
        if let Some(arc_config) = allowed.arc.as_mut() {
            arc_config.allow_safety_override = true;
        }
        let report = flip_to_standby(&allowed, &arc, true)
            .await
            .unwrap()
            .unwrap();
        assert!(report.changed);
        assert!(
            report.detail.contains("safety rule overridden"),
            "{}",
            report.detail
        );
        assert!(log.calls().last().unwrap().contains("override=true"));
    }
}
