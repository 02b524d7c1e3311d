//! The Lambda entry for the API functions: API Gateway's REST proxy event,
//! checked before it becomes an `http::Request`.
//!
//! `lambda_http` turns the event into a request with `expect`s: a URI it
//! cannot build (a path of 70,000 characters), a `Host` it cannot parse (one
//! with a space), an `X-Forwarded-Proto` that is not a scheme, or a body
//! marked `isBase64Encoded` that is not base64 all panic before the handler
//! runs, and the caller gets a 502. API Gateway passes such events through
//! from any client, so [`run`] checks exactly those fields first and answers
//! 400 without calling the handler.
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format>

use std::future::Future;

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_http::http::header::{CONTENT_TYPE, HOST};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Error, LambdaEvent, Request, RequestExt, Response, service_fn};
use serde_json::Value;

use crate::error;

/// The longest path and query string accepted: API Gateway's own request line
/// limit is 10,240 bytes for REST APIs, well inside what `http::Uri` builds.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
pub const MAX_URL_BYTES: usize = 10_240;

/// Runs `handler` for every API Gateway REST event, refusing a malformed one
/// with 400 before it reaches the handler.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    run_with_schedule(
        handler,
        None::<fn() -> std::future::Ready<Result<String, String>>>,
    )
    .await
}

/// As [`run`], and an EventBridge scheduled event (`detail-type` "Scheduled
/// Event", `source` "aws.events") goes to `on_schedule`, whose error is an
/// invocation error (Lambda counts it, and the on-failure destination gets it).
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>
pub async fn run_with_schedule<F, Fut, G, GFut>(
    handler: F,
    on_schedule: Option<G>,
) -> Result<(), Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
    G: Fn() -> GFut,
    GFut: Future<Output = Result<String, String>>,
{
    let handler = &handler;
    let on_schedule = &on_schedule;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let LambdaEvent { payload, context } = event;
        if let Some(on_schedule) = on_schedule
            && is_scheduled(&payload)
        {
            return match Box::pin(on_schedule()).await {
                Ok(done) => Ok(serde_json::json!({ "done": done })),
                Err(why) => Err(Error::from(why)),
            };
        }
        let response = match request(payload) {
            // Boxed: the handler's future is deep, and the runtime's is deeper.
            Ok(request) => Box::pin(handler(request.with_lambda_context(context))).await,
            // Not from API Gateway at all (a direct invoke of something else):
            // an invocation error, as the runtime gives, and no HTTP answer.
            Err(Refusal::NotAnEvent(why)) => return Err(Error::from(why)),
            Err(Refusal::Malformed(why)) => {
                lambda_http::tracing::warn!(%why, "malformed API Gateway event refused");
                error(StatusCode::BAD_REQUEST, "bad_request", why)
            }
        };
        serde_json::to_value(proxy_response(response)).map_err(Error::from)
    }))
    .await
}

/// EventBridge's scheduled event: `detail-type` "Scheduled Event" from `aws.events`.
pub fn is_scheduled(payload: &Value) -> bool {
    payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && payload.get("source").and_then(Value::as_str) == Some("aws.events")
}

/// Why an event is not a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not shaped as API Gateway's REST proxy event at all.
    NotAnEvent(String),
    /// API Gateway's shape, with a field `lambda_http` cannot take: 400.
    Malformed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotAnEvent(why) | Refusal::Malformed(why) => f.write_str(why),
        }
    }
}

/// The request in `event`, or why it cannot be one.
pub fn request(event: Value) -> Result<Request, Refusal> {
    let shaped = event.get("httpMethod").is_some() && event.get("requestContext").is_some();
    let parsed: Result<ApiGatewayProxyRequest, _> = serde_json::from_value(event);
    let event = match parsed {
        Ok(event) => event,
        Err(e) if shaped => {
            return Err(Refusal::Malformed(format!(
                "not an API Gateway REST proxy event: {e}"
            )));
        }
        Err(e) => {
            return Err(Refusal::NotAnEvent(format!(
                "not an API Gateway REST proxy event: {e}"
            )));
        }
    };
    check(&event).map_err(Refusal::Malformed)?;
    Ok(LambdaRequest::ApiGatewayV1(event).into())
}

/// Every field `lambda_http` would `expect` on.
fn check(event: &ApiGatewayProxyRequest) -> Result<(), String> {
    let path = event.path.as_deref().unwrap_or_default();
    let query: usize = event
        .multi_value_query_string_parameters
        .iter()
        .chain(event.query_string_parameters.iter())
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum();
    if path.len() + query > MAX_URL_BYTES {
        return Err(format!(
            "the path and query are {} bytes, over {MAX_URL_BYTES}",
            path.len() + query
        ));
    }
    let scheme = header(&event.headers, "x-forwarded-proto")?.unwrap_or("https");
    if scheme != "https" && scheme != "http" {
        return Err("X-Forwarded-Proto is neither https nor http".to_owned());
    }
    let host = match header(&event.headers, HOST.as_str())? {
        Some(host) => Some(host),
        None => event.request_context.domain_name.as_deref(),
    };
    if let Some(host) = host {
        let parsed = url::Url::parse(&format!("{scheme}://{host}/"));
        // A DNS name is at most 253 characters; with a port, a few more.
        let plain = host.len() <= 260
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !plain || parsed.is_err() {
            return Err("the Host header is not a host name".to_owned());
        }
    }
    if url::Url::parse(&format!("https://localhost{path}")).is_err() {
        return Err("the path is not a URL path".to_owned());
    }
    if event.is_base64_encoded
        && let Some(body) = &event.body
        && base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_err()
    {
        return Err("the body is marked isBase64Encoded but is not base64".to_owned());
    }
    Ok(())
}

/// A header as text: absent is fine, present but not visible ASCII is not.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| format!("the {name} header is not text"))
        })
        .transpose()
}

/// The proxy integration's answer for `response`: text bodies as they are,
/// binary ones in base64.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format>
pub fn proxy_response(response: Response<Body>) -> ApiGatewayProxyResponse {
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match body {
        Body::Empty => (None, false),
        Body::Text(text) => (Some(Body::Text(text)), false),
        Body::Binary(bytes) => (
            Some(Body::Text(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )),
            true,
        ),
        _ => (None, false),
    };
    let mut headers = parts.headers;
    if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let mut answer = ApiGatewayProxyResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = headers;
    answer.body = body;
    answer.is_base64_encoded = is_base64_encoded;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eventbridges_scheduled_event_is_a_schedule() {
        let scheduled = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert!(is_scheduled(&scheduled));
        // Another EventBridge event, a half-forged one, and API Gateway's.
        for other in [
            serde_json::json!({"source": "aws.rds", "detail-type": "Scheduled Event"}),
            serde_json::json!({"source": "aws.events", "detail-type": "RDS DB Instance Event"}),
            serde_json::json!({"httpMethod": "GET", "path": "/", "headers": {"detail-type": "Scheduled Event"}}),
            serde_json::json!("Scheduled Event"),
        ] {
            assert!(!is_scheduled(&other), "{other}");
        }
    }

    /// A well-formed event from the console's own page load.
    fn event() -> Value {
        serde_json::json!({
            "resource": "/{proxy+}",
            "path": "/write",
            "httpMethod": "POST",
            "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"},
            "multiValueHeaders": {},
            "queryStringParameters": {"service": "orders"},
            "multiValueQueryStringParameters": {"service": ["orders"]},
            "requestContext": {"stage": "prod", "httpMethod": "POST", "requestId": "r",
                "path": "/prod/write", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
                "identity": {"sourceIp": "203.0.113.10"}},
            "body": "eyJvcmRlciI6MX0=",
            "isBase64Encoded": true
        })
    }

    fn with(pointer: &str, value: Value) -> Value {
        let mut e = event();
        *e.pointer_mut(pointer).unwrap() = value;
        e
    }

    #[test]
    fn a_well_formed_event_becomes_the_request() {
        let request = request(event()).unwrap();
        assert_eq!(request.uri().path(), "/prod/write");
        assert_eq!(request.body().as_ref(), br#"{"order":1}"#);
    }

    #[test]
    fn every_envelope_lambda_http_panics_on_is_refused_with_a_reason() {
        let cases = [
            (
                with("/path", Value::String(format!("/{}", "a".repeat(70_000)))),
                "bytes",
            ),
            (with("/headers/Host", "evil host.example".into()), "Host"),
            (with("/headers/Host", "x".repeat(70_000).into()), "Host"),
            (
                with("/headers/X-Forwarded-Proto", "ht tp".into()),
                "X-Forwarded-Proto",
            ),
            (
                with("/headers/X-Forwarded-Proto", "javascript".into()),
                "X-Forwarded-Proto",
            ),
            (with("/body", "%%% not base64 %%%".into()), "base64"),
            (
                with("/httpMethod", "GET / HTTP/1.1".into()),
                "not an API Gateway",
            ),
            (Value::String("hello".into()), "not an API Gateway"),
        ];
        for (event, why) in cases {
            let err = request(event).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        // Not API Gateway's shape at all: an invocation error, no HTTP answer.
        assert!(matches!(
            request(serde_json::json!({"hello": "x", "path": 42})),
            Err(Refusal::NotAnEvent(_))
        ));
        assert!(matches!(
            request(with("/httpMethod", "GET / HTTP/1.1".into())),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn answers_are_proxy_responses() {
        let answer = proxy_response(error(StatusCode::BAD_REQUEST, "bad_request", "no"));
        assert_eq!(answer.status_code, 400);
        assert!(!answer.is_base64_encoded);
        let binary = proxy_response(Response::new(Body::Binary(vec![0, 159, 146, 150])));
        assert!(binary.is_base64_encoded);
        assert!(matches!(binary.body, Some(Body::Text(t)) if t == "AJ+Slg=="));
    }
}
