//! SDK errors in the terms the runbook acts on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use stop_core::ports::PortError;

/// AWS error codes the SDK itself retries as throttling: a copy of
/// `aws_runtime::retries::classifiers::THROTTLING_ERRORS` in aws-runtime 1.10.2
/// (the version in Cargo.lock; a direct dependency only for two lists would
/// change the lock file). Keep in step when aws-runtime is upgraded.
/// <https://docs.rs/crate/aws-runtime/latest/source/src/retries/classifiers.rs>
const THROTTLING_ERRORS: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// AWS error codes the SDK itself retries as transient: a copy of
/// `aws_runtime::retries::classifiers::TRANSIENT_ERRORS` in aws-runtime 1.10.2.
const TRANSIENT_ERRORS: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// Codes that say "this endpoint, not the request": another endpoint (or a
/// later try) may work, whatever HTTP status carried them. ARC's cluster
/// endpoints answer `EndpointTemporarilyUnavailableException` while AWS cycles
/// them through maintenance: "The cluster endpoint isn't available. Try another
/// cluster endpoint."
/// <https://docs.aws.amazon.com/routing-control/latest/APIReference/API_UpdateRoutingControlStates.html>
/// <https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html>
const ENDPOINT_UNAVAILABLE_ERRORS: &[&str] = &["EndpointTemporarilyUnavailableException"];

/// Classifies an SDK error: throttling (the SDK's own list), conflicts,
/// transient codes (the SDK's list and an unavailable endpoint), 5xx and
/// network failures are retryable; a missing resource is `NotFound`; the rest
/// is a refusal. The text names the operation and AWS's error code, never
/// request or response bodies.
pub fn port_error<E>(operation: &str, error: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = service.err().message().unwrap_or("");
            let status = service.raw().status().as_u16();
            let text = format!("{operation}: {code} {message}")
                .trim_end()
                .to_owned();
            match code {
                c if THROTTLING_ERRORS.contains(&c) => PortError::Throttled(text),
                c if TRANSIENT_ERRORS.contains(&c) || ENDPOINT_UNAVAILABLE_ERRORS.contains(&c) => {
                    PortError::Unavailable(text)
                }
                "ConflictException" => PortError::Conflict(text),
                c if c.ends_with("NotFound")
                    || c.ends_with("NotFoundFault")
                    || c.ends_with("NotFoundException") =>
                {
                    PortError::NotFound(text)
                }
                _ if status >= 500 => PortError::Unavailable(text),
                _ => PortError::Rejected(text),
            }
        }
        SdkError::TimeoutError(_) => PortError::Unavailable(format!("{operation}: timed out")),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_io() {
                "connection failed"
            } else if failure.is_timeout() {
                "timed out"
            } else {
                "could not send"
            };
            PortError::Unavailable(format!("{operation}: {kind}"))
        }
        SdkError::ResponseError(_) => {
            PortError::Unavailable(format!("{operation}: unreadable response"))
        }
        // ConstructionFailure and future variants: our request was wrong.
        _ => PortError::Rejected(format!("{operation}: could not build the request")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// `code` as AWS would answer it, with this HTTP status.
    fn classify(code: &str, status: u16) -> PortError {
        let error = ErrorMetadata::builder()
            .code(code)
            .message("from the service")
            .build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        port_error("svc:Op", SdkError::service_error(error, raw))
    }

    #[test]
    fn every_code_the_sdk_retries_as_throttling_is_throttled() {
        // Spot checks on the copy, then every member, sent with a 400.
        assert!(THROTTLING_ERRORS.contains(&"ThrottlingException"));
        assert!(THROTTLING_ERRORS.contains(&"SlowDown"));
        assert_eq!(THROTTLING_ERRORS.len(), 14);
        for code in THROTTLING_ERRORS {
            let err = classify(code, 400);
            assert!(
                matches!(err, PortError::Throttled(ref m) if m.contains(code)),
                "{code}: {err:?}"
            );
            assert!(err.is_retryable(), "{code}");
        }
    }

    #[test]
    fn every_code_the_sdk_retries_as_transient_is_unavailable() {
        assert_eq!(
            TRANSIENT_ERRORS,
            ["RequestTimeout", "RequestTimeoutException"]
        );
        for code in TRANSIENT_ERRORS {
            let err = classify(code, 400);
            assert!(
                matches!(err, PortError::Unavailable(ref m) if m.contains(code)),
                "{code}: {err:?}"
            );
            assert!(err.is_retryable(), "{code}");
        }
    }

    #[test]
    fn an_unavailable_arc_endpoint_is_unavailable_whatever_its_status() {
        for status in [400, 403, 503] {
            let err = classify("EndpointTemporarilyUnavailableException", status);
            assert!(
                matches!(err, PortError::Unavailable(ref m)
                    if m.contains("EndpointTemporarilyUnavailableException")),
                "{status}: {err:?}"
            );
            assert!(err.is_retryable());
        }
    }

    #[test]
    fn the_other_classes_keep_their_meaning() {
        assert!(matches!(
            classify("ConflictException", 409),
            PortError::Conflict(_)
        ));
        assert!(matches!(
            classify("DBInstanceNotFound", 404),
            PortError::NotFound(_)
        ));
        assert!(matches!(
            classify("ResourceNotFoundException", 400),
            PortError::NotFound(_)
        ));
        assert!(matches!(
            classify("InternalServerException", 500),
            PortError::Unavailable(_)
        ));
        // An unknown 4xx is still a refusal: rotating would not help.
        let refused = classify("ValidationException", 400);
        assert!(matches!(refused, PortError::Rejected(_)), "{refused:?}");
        assert!(!refused.is_retryable());
    }

    /// The issue: an endpoint answering `EndpointTemporarilyUnavailableException`
    /// ended the switch; now the rotation moves on to the next endpoint.
    #[cfg(feature = "arc")]
    #[tokio::test]
    async fn an_unavailable_arc_endpoint_moves_the_rotation_on() {
        use std::collections::HashMap;

        use aws_sdk_route53recoverycluster::Client;
        use aws_sdk_route53recoverycluster::operation::get_routing_control_state::GetRoutingControlStateOutput;
        use aws_sdk_route53recoverycluster::types::RoutingControlState;
        use aws_smithy_mocks::{mock, mock_client};
        use stop_core::config::ArcEndpoint;
        use stop_core::memory::ManualClock;
        use stop_core::ports::{ControlState, RoutingControls};
        use stop_core::switches::{RetryPolicy, on_any_endpoint};
        use time::macros::datetime;

        use crate::routing::ArcRoutingControls;

        const ARN: &str =
            "arn:aws:route53-recovery-control::111122223333:controlpanel/cp/routingcontrol/s";
        let down = mock!(Client::get_routing_control_state).then_http_response(|| {
            // awsJson1_0: the code in the x-amzn-errortype header; a 400, as
            // the issue saw it (the model says 503, which is classified alike).
            let mut response = aws_smithy_runtime_api::http::Response::new(
                400.try_into().unwrap(),
                SdkBody::from(r#"{"message":"The cluster endpoint isn't available."}"#),
            );
            response.headers_mut().insert(
                "x-amzn-errortype",
                "EndpointTemporarilyUnavailableException",
            );
            response
        });
        let up = mock!(Client::get_routing_control_state).then_output(|| {
            GetRoutingControlStateOutput::builder()
                .routing_control_arn(ARN)
                .routing_control_state(RoutingControlState::On)
                .build()
                .unwrap()
        });
        let endpoints: Vec<ArcEndpoint> = ["us-east-1", "us-west-2"]
            .iter()
            .map(|r| ArcEndpoint {
                region: r.parse().unwrap(),
                url: format!("https://arc.{r}.example"),
            })
            .collect();
        let no_retry = |c: aws_sdk_route53recoverycluster::config::Builder| {
            c.retry_config(aws_config::retry::RetryConfig::disabled())
        };
        let clients = HashMap::from([
            (
                endpoints[0].url.clone(),
                mock_client!(
                    aws_sdk_route53recoverycluster,
                    aws_smithy_mocks::RuleMode::Sequential,
                    [&down],
                    no_retry
                ),
            ),
            (
                endpoints[1].url.clone(),
                mock_client!(
                    aws_sdk_route53recoverycluster,
                    aws_smithy_mocks::RuleMode::Sequential,
                    [&up],
                    no_retry
                ),
            ),
        ]);
        let arc = ArcRoutingControls::from_clients(clients);
        let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
        let (state, attempts) =
            on_any_endpoint(&endpoints, RetryPolicy::default(), &clock, |endpoint| {
                arc.get_state(endpoint, ARN)
            })
            .await
            .unwrap();
        assert_eq!(state, ControlState::On);
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        assert!(
            attempts[0]
                .error
                .contains("EndpointTemporarilyUnavailableException"),
            "{attempts:?}"
        );
        assert_eq!((down.num_calls(), up.num_calls()), (1, 1));
    }
}
