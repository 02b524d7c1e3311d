//! SDK errors in the terms the runbook acts on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use stop_core::ports::PortError;

/// Classifies an SDK error: throttling, conflicts, 5xx and network failures are
/// retryable; a missing resource is `NotFound`; the rest is a refusal. The text
/// names the operation and AWS's error code, never request or response bodies.
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
                "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "ThrottledException" => PortError::Throttled(text),
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
