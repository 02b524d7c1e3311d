//! Switch 2: Route 53 ARC routing controls, through the cluster's regional data
//! plane endpoints. One client per endpoint, SDK retries off: the caller
//! (`stop_core::switches::on_any_endpoint`) moves to the next endpoint instead
//! of waiting on a dead one.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_route53recoverycluster::Client;
use aws_sdk_route53recoverycluster::types::{RoutingControlState, UpdateRoutingControlStateEntry};
use stop_core::config::ArcEndpoint;
use stop_core::ports::{ControlState, PortError, PortResult, RoutingControls};

use crate::{LazyClient, port_error};

pub struct ArcRoutingControls {
    clients: HashMap<String, LazyClient<Client>>,
}

impl ArcRoutingControls {
    /// A client for every endpoint, each signing for its endpoint's Region,
    /// built when that endpoint is first tried.
    pub fn new(base: &SdkConfig, endpoints: &[ArcEndpoint]) -> Self {
        let clients = endpoints
            .iter()
            .map(|endpoint| {
                let config = aws_sdk_route53recoverycluster::config::Builder::from(base)
                    .endpoint_url(&endpoint.url)
                    .region(aws_config::Region::new(endpoint.region.to_string()))
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(2))
                            .operation_timeout(Duration::from_secs(4))
                            .build(),
                    );
                let client = LazyClient::new(move || Client::from_conf(config.build()));
                (endpoint.url.clone(), client)
            })
            .collect();
        ArcRoutingControls { clients }
    }

    /// For tests: given clients by endpoint URL.
    pub fn from_clients(clients: HashMap<String, Client>) -> Self {
        let clients = clients
            .into_iter()
            .map(|(url, c)| (url, c.into()))
            .collect();
        ArcRoutingControls { clients }
    }

    fn client(&self, endpoint: &ArcEndpoint) -> PortResult<&Client> {
        self.clients
            .get(&endpoint.url)
            .map(LazyClient::get)
            .ok_or_else(|| PortError::Rejected(format!("no client for endpoint {}", endpoint.url)))
    }
}

impl RoutingControls for ArcRoutingControls {
    async fn get_state(
        &self,
        endpoint: &ArcEndpoint,
        control_arn: &str,
    ) -> PortResult<ControlState> {
        let output = self
            .client(endpoint)?
            .get_routing_control_state()
            .routing_control_arn(control_arn)
            .send()
            .await
            .map_err(|e| port_error("route53-recovery-cluster:GetRoutingControlState", e))?;
        match output.routing_control_state() {
            RoutingControlState::On => Ok(ControlState::On),
            RoutingControlState::Off => Ok(ControlState::Off),
            other => Err(PortError::Rejected(format!(
                "unknown routing control state {other:?}"
            ))),
        }
    }

    async fn update_states(
        &self,
        endpoint: &ArcEndpoint,
        states: &[(String, ControlState)],
        override_rules: &[String],
    ) -> PortResult<()> {
        let entries = states
            .iter()
            .map(|(arn, state)| {
                UpdateRoutingControlStateEntry::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(match state {
                        ControlState::On => RoutingControlState::On,
                        ControlState::Off => RoutingControlState::Off,
                    })
                    .build()
                    .map_err(|e| PortError::Rejected(format!("routing control entry: {e}")))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.client(endpoint)?
            .update_routing_control_states()
            .set_update_routing_control_state_entries(Some(entries))
            .set_safety_rules_to_override(
                (!override_rules.is_empty()).then(|| override_rules.to_vec()),
            )
            .send()
            .await
            .map_err(|e| port_error("route53-recovery-cluster:UpdateRoutingControlStates", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53recoverycluster::operation::get_routing_control_state::GetRoutingControlStateOutput;
    use aws_sdk_route53recoverycluster::operation::update_routing_control_states::UpdateRoutingControlStatesOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use stop_core::config::{ArcConfig, ServiceConfig};
    use stop_core::memory::ManualClock;
    use stop_core::switches::{RetryPolicy, SwitchError, SwitchReport, drive_routing_controls};
    use time::macros::datetime;

    const P: &str =
        "arn:aws:route53-recovery-control::111122223333:controlpanel/cp/routingcontrol/p";
    const S: &str =
        "arn:aws:route53-recovery-control::111122223333:controlpanel/cp/routingcontrol/s";

    fn endpoints() -> Vec<ArcEndpoint> {
        ["us-east-1", "us-west-2", "eu-west-1"]
            .iter()
            .map(|r| ArcEndpoint {
                region: r.parse().unwrap(),
                url: format!("https://arc.{r}.example"),
            })
            .collect()
    }

    fn service(allow_override: bool) -> ServiceConfig {
        ServiceConfig {
            name: "orders".into(),
            stop_metric: None,
            arc: Some(ArcConfig {
                endpoints: endpoints(),
                primary_control_arn: P.into(),
                standby_control_arn: S.into(),
                allow_safety_override: allow_override,
                safety_rule_arns: vec!["arn:aws:route53-recovery-control::111122223333:controlpanel/cp/safetyrule/min-one".into()],
            }),
        }
    }

    fn state(arn: &'static str, on: bool) -> Rule {
        mock!(Client::get_routing_control_state)
            .match_requests(move |r| r.routing_control_arn() == Some(arn))
            .then_output(move || {
                GetRoutingControlStateOutput::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(if on {
                        RoutingControlState::On
                    } else {
                        RoutingControlState::Off
                    })
                    .build()
                    .unwrap()
            })
    }

    fn failing(status: u16, error_type: &str) -> Rule {
        // restJson1: the error code travels in the x-amzn-errortype header.
        let body = format!(r#"{{"message":"{error_type}"}}"#);
        let error_type = error_type.to_owned();
        mock!(Client::update_routing_control_states)
            .match_requests(|r| r.safety_rules_to_override().is_empty())
            .then_http_response(move || {
                let mut response = aws_smithy_runtime_api::http::Response::new(
                    status.try_into().unwrap(),
                    aws_smithy_types::body::SdkBody::from(body.clone()),
                );
                response
                    .headers_mut()
                    .insert("x-amzn-errortype", error_type.clone());
                response
            })
    }

    fn updated() -> Rule {
        mock!(Client::update_routing_control_states)
            .match_requests(|r| {
                let e = r.update_routing_control_state_entries();
                e.len() == 2
                    && e[0].routing_control_arn() == P
                    && e[0].routing_control_state() == &RoutingControlState::Off
                    && e[1].routing_control_arn() == S
                    && e[1].routing_control_state() == &RoutingControlState::On
            })
            .then_output(|| UpdateRoutingControlStatesOutput::builder().build())
    }

    fn controls(per_endpoint: Vec<Vec<&Rule>>) -> ArcRoutingControls {
        let clients = endpoints()
            .into_iter()
            .zip(per_endpoint)
            .map(|(endpoint, rules)| {
                // As in production: no SDK retries, the caller rotates endpoints.
                let client = mock_client!(
                    aws_sdk_route53recoverycluster,
                    RuleMode::MatchAny,
                    rules,
                    |c| c.retry_config(RetryConfig::disabled())
                );
                (endpoint.url, client)
            })
            .collect();
        ArcRoutingControls::from_clients(clients)
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
    async fn the_first_endpoints_fail_and_the_next_one_flips_both_controls_in_one_batch() {
        let (p, s) = (state(P, true), state(S, false));
        let down = failing(503, "ServiceUnavailable");
        let also_down = failing(500, "InternalServerException");
        let ok = updated();
        let arc = controls(vec![vec![&p, &s, &down], vec![&also_down], vec![&ok]]);
        let report = flip_to_standby(&service(false), &arc, false)
            .await
            .unwrap()
            .unwrap();
        assert!(report.changed);
        assert_eq!(report.failed_attempts.len(), 2);
        assert!(report.failed_attempts[0].endpoint.starts_with("us-east-1"));
        assert!(
            report.failed_attempts[1]
                .error
                .contains("InternalServerException")
        );
        assert_eq!(ok.num_calls(), 1);
    }

    #[tokio::test]
    async fn conflict_then_success_on_the_same_cluster() {
        let (p, s) = (state(P, true), state(S, false));
        let conflict = failing(409, "ConflictException");
        let ok = updated();
        let arc = controls(vec![vec![&p, &s, &conflict], vec![&ok], vec![]]);
        let report = flip_to_standby(&service(false), &arc, false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.failed_attempts.len(), 1);
        assert!(
            report.failed_attempts[0].error.starts_with("conflict"),
            "{:?}",
            report.failed_attempts
        );
    }

    #[tokio::test]
    async fn every_endpoint_failing_names_them_all() {
        let (p, s) = (state(P, true), state(S, false));
        let (a, b, c) = (
            failing(503, "ServiceUnavailable"),
            failing(503, "ServiceUnavailable"),
            failing(429, "ThrottlingException"),
        );
        let arc = controls(vec![vec![&p, &s, &a], vec![&b], vec![&c]]);
        let err = flip_to_standby(&service(false), &arc, false)
            .await
            .unwrap_err();
        let text = err.to_string();
        for endpoint in endpoints() {
            assert!(text.contains(&endpoint.url), "{text}");
        }
        assert!(text.contains("ThrottlingException"), "{text}");
    }

    #[tokio::test]
    async fn a_safety_rule_rejection_is_not_retried_unless_break_glass() {
        let (p, s) = (state(P, true), state(S, false));
        let rejected = failing(400, "ValidationException");
        let arc = controls(vec![vec![&p, &s, &rejected], vec![], vec![]]);
        let err = flip_to_standby(&service(false), &arc, false)
            .await
            .unwrap_err();
        assert!(matches!(err, SwitchError::Arc(_)), "{err}");
        assert_eq!(rejected.num_calls(), 1);

        let overridden = mock!(Client::update_routing_control_states)
            .match_requests(|r| r.safety_rules_to_override().len() == 1)
            .then_output(|| UpdateRoutingControlStatesOutput::builder().build());
        let (p, s) = (state(P, true), state(S, false));
        let rejected = failing(400, "ValidationException");
        let arc = controls(vec![vec![&p, &s, &rejected, &overridden], vec![], vec![]]);
        let report = flip_to_standby(&service(true), &arc, true)
            .await
            .unwrap()
            .unwrap();
        assert!(report.changed);
        assert_eq!(overridden.num_calls(), 1);
    }
}
