//! What every API Gateway function of stop answers the same way: JSON bodies,
//! JSON errors, 404 and 405, and the request path without the stage.

pub mod envelope;

use std::fmt::Display;

use lambda_http::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// A JSON response. Nothing stop serves may be cached: a cached answer in the
/// middle of a failover would show the wrong Region or the wrong state.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => with_body(status, "application/json", text),
        // Only a type with a non-string map key or a failing Serialize impl gets here.
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("could not render the response: {err}"),
        ),
    }
}

/// A response with a body of the given content type and the common headers.
pub fn with_body(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
}

/// `{"error": {"code": "...", "message": "..."}}` with the given status.
/// `code` is stable for scripts; `message` is for people.
pub fn error(status: StatusCode, code: &str, message: impl Display) -> Response<Body> {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message.to_string(),
        },
    };
    // Two strings always serialise; fall back to a fixed body all the same.
    let text = serde_json::to_string(&body)
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":"error"}}"#.to_owned());
    with_body(status, "application/json", text)
}

pub fn not_found(path: &str) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {path}"),
    )
}

/// 405 with the `Allow` header listing what the route accepts.
pub fn method_not_allowed(method: &Method, path: &str, allowed: &[Method]) -> Response<Body> {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {path}; use {allow}"),
    );
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

/// The path the client asked for, as API Gateway received it (no stage prefix),
/// without a trailing slash except for the root.
pub fn route_path(request: &Request) -> &str {
    let raw = request.raw_http_path();
    let path = if raw.is_empty() {
        request.uri().path()
    } else {
        raw
    };
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// Drops the body of a response to HEAD, keeping status and headers.
pub fn for_method(method: &Method, mut response: Response<Body>) -> Response<Body> {
    if method == Method::HEAD {
        *response.body_mut() = Body::Empty;
    }
    response
}

/// The REST API proxy event API Gateway sends for an HTTP request, parsed as
/// the runtime parses it. `operator` (an email address) signs the caller in
/// as a Cognito user of the `operators` group with that verified email, as the
/// API's authorizer would; for local servers, the drill and benchmarks, never
/// for a deployed API.
pub fn proxy_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    operator: Option<&str>,
) -> Result<Request, String> {
    let query: Option<std::collections::HashMap<&str, &str>> = query.map(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect()
    });
    let headers = match content_type {
        Some(ct) => serde_json::json!({ "Content-Type": ct }),
        None => serde_json::json!({}),
    };
    let authorizer = match operator {
        Some(user) => {
            serde_json::json!({"claims": {
                "sub": "00000000-0000-4000-8000-000000000000",
                "email": user,
                "email_verified": "true",
                "cognito:groups": "operators"
            }})
        }
        None => serde_json::json!({}),
    };
    let event = serde_json::json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": query,
        "body": String::from_utf8_lossy(body),
        "isBase64Encoded": false,
        "requestContext": {
            "path": path,
            "stage": "local",
            "httpMethod": method,
            "requestId": "local",
            "authorizer": authorizer,
            "identity": {"sourceIp": "127.0.0.1"}
        }
    });
    lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(response: &Response<Body>) -> String {
        match response.body() {
            Body::Text(t) => t.clone(),
            Body::Empty => String::new(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        }
    }

    #[test]
    fn errors_are_json_with_a_code_and_message() {
        let r = error(StatusCode::BAD_REQUEST, "bad", "a \"quoted\" thing");
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = serde_json::from_str(&body_text(&r)).unwrap();
        assert_eq!(v["error"]["code"], "bad");
        assert_eq!(v["error"]["message"], "a \"quoted\" thing");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let r = method_not_allowed(&Method::POST, "/x", &[Method::GET, Method::HEAD]);
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
        assert!(body_text(&r).contains("POST is not allowed on /x"));
    }

    #[test]
    fn head_responses_have_no_body() {
        let r = for_method(
            &Method::HEAD,
            json(StatusCode::OK, &serde_json::json!({"a": 1})),
        );
        assert_eq!(r.status(), 200);
        assert!(body_text(&r).is_empty());
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    }
}
