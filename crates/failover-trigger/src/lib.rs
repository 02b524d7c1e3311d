//! The operator API behind the Failover / Failback button, in the standby Region.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `GET /console` | the console page (static; it calls the routes below with the operator's token) |
//! | `GET /status[?service=…]` | the decision record, the live switches and the runbook's steps |
//! | `POST /failover`, `POST /failback` | `{service?, reason, mode, dry_run?, override_safety?}` |
//!
//! The handler is thin: check the caller and the input, call `stop_core::operator`,
//! render the outcome. Bad input is refused before any port is touched.

pub mod auth;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use stop_core::Config;
use stop_core::decide::Refusal;
use stop_core::operator::{
    DecideError, Direction, Operator, RequestError, ServiceStatus, parse_reprotect, parse_request,
};
use stop_core::ports::{Clock, DecisionStore, RoutingControls, StateStore, StopSwitch};
use stop_core::switches::{RetryPolicy, SwitchError};
use stop_http::{error, for_method, json, method_not_allowed, not_found, route_path, with_body};

use crate::auth::{AuthError, Caller, authorize};

/// The console: plain HTML and JS, no build step.
const CONSOLE_HTML: &str = include_str!("console.html");

/// Where the console signs an operator in: Cognito's authorize and token
/// endpoints and the app client, for the authorization code flow with PKCE.
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html>
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html>
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignIn {
    pub authorize: String,
    pub token: String,
    pub client_id: String,
}

impl SignIn {
    /// The origin the console's `fetch` of the token endpoint goes to, for the
    /// page's `connect-src`.
    fn token_origin(&self) -> &str {
        let rest = self
            .token
            .split_once("://")
            .map_or(self.token.as_str(), |(_, r)| r);
        let host_len = rest.find('/').unwrap_or(rest.len());
        &self.token[..self.token.len() - rest.len() + host_len]
    }
}

/// The sign-in endpoints from the API stage's variables `cognitoDomain` and
/// `cognitoClientId` (the template sets them: the function cannot know its
/// own API's URL without a dependency cycle).
pub fn sign_in(request: &Request) -> Option<SignIn> {
    let variables = request.stage_variables_ref()?;
    let domain = variables.first("cognitoDomain")?;
    let client = variables.first("cognitoClientId")?;
    let plain = |s: &str, extra: char| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == extra || c == '.')
    };
    (plain(domain, '-') && plain(client, '_')).then(|| SignIn {
        authorize: format!("https://{domain}/oauth2/authorize"),
        token: format!("https://{domain}/oauth2/token"),
        client_id: client.to_owned(),
    })
}

/// The console page, with where it signs in, if anywhere.
pub fn console_page(sign_in: Option<&SignIn>) -> String {
    let auth = serde_json::to_string(&sign_in).unwrap_or_else(|_| "null".to_owned());
    // JSON in a script: keep "</script>" and friends from closing it early.
    let auth = auth.replace('<', "\\u003c");
    CONSOLE_HTML.replace("__SIGN_IN__", &auth)
}

/// The console page's answer: the page, and a policy that lets its script
/// talk to this API and to the token endpoint only.
pub fn console_response(sign_in: Option<&SignIn>) -> Response<Body> {
    let mut page = with_body(
        StatusCode::OK,
        "text/html; charset=utf-8",
        console_page(sign_in),
    );
    let connect = match sign_in {
        Some(s) => format!("'self' {}", s.token_origin()),
        None => "'self'".to_owned(),
    };
    let policy = format!(
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src {connect}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(&policy) {
        page.headers_mut().insert("content-security-policy", value);
    }
    page
}

/// The function's configuration and ports, built once per container.
pub struct App<D, S, R, C, T> {
    pub config: Config,
    pub decisions: D,
    pub stop: S,
    pub controls: R,
    pub clock: C,
    pub retry: RetryPolicy,
    /// Where the scheduled readiness run keeps its report (`GET /status` shows it).
    pub state: T,
}

impl<D, S, R, C, T> App<D, S, R, C, T>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    fn operator(&self) -> Operator<'_, D, S, R, C> {
        Operator {
            config: &self.config,
            decisions: &self.decisions,
            stop: &self.stop,
            controls: &self.controls,
            clock: &self.clock,
            retry: self.retry,
        }
    }
}

/// The minute's schedule (EventBridge, `rate(1 minute)`): publishes the STOP
/// value each decision record holds, so that the alarm never rests on an old
/// datapoint (`stop_core::switches::republish_stop`). Errors when a record
/// could not be read or the metric not written, so that Lambda counts it.
pub async fn on_schedule<D, S, R, C, T>(app: &App<D, S, R, C, T>) -> Result<String, String>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    let done =
        stop_core::switches::republish_stop(&app.config, &app.decisions, &app.stop, &app.clock)
            .await;
    let text = done
        .iter()
        .map(|r| match &r.outcome {
            Ok(value) => format!("{}: STOP {value}", r.service),
            Err(why) => format!("{}: {why}", r.service),
        })
        .collect::<Vec<_>>()
        .join("; ");
    if done.iter().all(|r| r.outcome.is_ok()) {
        tracing::info!(republished = %text, "STOP metric republished");
        Ok(text)
    } else {
        tracing::warn!(republished = %text, "STOP metric not republished for every service");
        Err(text)
    }
}

const READ_ONLY: &[Method] = &[Method::GET, Method::HEAD];
const POST_ONLY: &[Method] = &[Method::POST];

/// Answers one request. Never fails: every outcome is an HTTP response.
pub async fn handle<D, S, R, C, T>(app: &App<D, S, R, C, T>, request: Request) -> Response<Body>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    let method = request.method().clone();
    let full = route_path(&request).to_owned();
    // /iam/<route> is <route> for SigV4 callers (AWS_IAM authorization in the
    // template); who may press is still decided by `authorize`.
    let path = full
        .strip_prefix("/iam")
        .filter(|rest| ["/status", "/failover", "/failback", "/reprotect"].contains(rest))
        .unwrap_or(&full)
        .to_owned();
    let response = match path.as_str() {
        "/" | "/console" if READ_ONLY.contains(&method) => {
            console_response(sign_in(&request).as_ref())
        }
        "/status" if READ_ONLY.contains(&method) => status(app, &request).await,
        "/failover" if method == Method::POST => press(app, &request, Direction::Failover).await,
        "/failback" if method == Method::POST => press(app, &request, Direction::Failback).await,
        "/reprotect" if method == Method::POST => reprotect(app, &request).await,
        "/" | "/console" | "/status" => method_not_allowed(&method, &path, READ_ONLY),
        "/failover" | "/failback" | "/reprotect" => method_not_allowed(&method, &path, POST_ONLY),
        _ => not_found(&path),
    };
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    for_method(&method, response)
}

fn auth_error(err: AuthError) -> Response<Body> {
    match err {
        AuthError::Unauthenticated => error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in: this API needs an operator identity",
        ),
        AuthError::Forbidden(why) => error(StatusCode::FORBIDDEN, "forbidden", why),
    }
}

#[derive(Serialize)]
struct StatusBody {
    region: String,
    role: String,
    primary_region: String,
    standby_region: String,
    services: Vec<ServiceStatus>,
    /// The last scheduled readiness report; `null` before the first run
    /// (or when it cannot be read: the status page answers regardless).
    readiness: Option<stop_core::readiness::Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness_error: Option<String>,
}

async fn status<D, S, R, C, T>(app: &App<D, S, R, C, T>, request: &Request) -> Response<Body>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    if let Err(err) = authorize(
        request,
        &app.config.operator_group,
        &app.config.operator_roles,
    ) {
        return auth_error(err);
    }
    let wanted = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("service").map(str::to_owned));
    let names: Vec<String> = match wanted {
        Some(name) if app.config.service(&name).is_none() => {
            return error(
                StatusCode::BAD_REQUEST,
                "unknown_service",
                RequestError::UnknownService(name),
            );
        }
        Some(name) => vec![name],
        None => app.config.services.iter().map(|s| s.name.clone()).collect(),
    };
    let mut services = Vec::new();
    for name in names {
        match app.operator().status(&name).await {
            Ok(status) => services.push(status),
            Err(err) => return decide_error(&err),
        }
    }
    let (readiness, readiness_error) =
        match stop_core::readiness::last_report(&app.config, &app.state).await {
            Ok(report) => (report, None),
            Err(e) => (None, Some(e.to_string())),
        };
    json(
        StatusCode::OK,
        &StatusBody {
            region: app.config.region.to_string(),
            role: app.config.role.to_string(),
            primary_region: app.config.primary_region().to_string(),
            standby_region: app.config.standby_region().to_string(),
            services,
            readiness,
            readiness_error,
        },
    )
}

async fn press<D, S, R, C, T>(
    app: &App<D, S, R, C, T>,
    request: &Request,
    direction: Direction,
) -> Response<Body>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    let (caller, parsed) = match authorized_body(app, request, parse_request) {
        Ok(both) => both,
        Err(response) => return response,
    };
    match app
        .operator()
        .press(direction, &parsed, &caller.actor())
        .await
    {
        Ok(outcome) => json(StatusCode::OK, &outcome),
        Err(err) => decide_error(&err),
    }
}

/// The caller and the parsed JSON body of a POST, or the answer refusing it.
#[allow(clippy::result_large_err)] // the error is the response, built once on a cold path
fn authorized_body<D, S, R, C, T, P>(
    app: &App<D, S, R, C, T>,
    request: &Request,
    parse: impl Fn(&[u8], &Config) -> Result<P, RequestError>,
) -> Result<(Caller, P), Response<Body>> {
    let caller = authorize(
        request,
        &app.config.operator_group,
        &app.config.operator_roles,
    )
    .map_err(auth_error)?;
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send application/json, not {content_type}"),
        ));
    }
    let body: &[u8] = request.body().as_ref();
    let parsed = parse(body, &app.config).map_err(|err| {
        let status = match err {
            RequestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = match err {
            RequestError::TooLarge(_) => "too_large",
            RequestError::Malformed(_) => "malformed",
            RequestError::MissingReason | RequestError::BadReason => "bad_reason",
            RequestError::UnknownService(_) => "unknown_service",
        };
        error(status, code, err)
    })?;
    Ok((caller, parsed))
}

async fn reprotect<D, S, R, C, T>(app: &App<D, S, R, C, T>, request: &Request) -> Response<Body>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    C: Clock,
    T: StateStore,
{
    let (caller, parsed) = match authorized_body(app, request, parse_reprotect) {
        Ok(both) => both,
        Err(response) => return response,
    };
    match app.operator().reprotect(&parsed, &caller.actor()).await {
        Ok(outcome) => json(StatusCode::OK, &outcome),
        Err(err) => decide_error(&err),
    }
}

fn decide_error(err: &DecideError) -> Response<Body> {
    let (status, code) = match err {
        DecideError::NoSwitch(_) => (StatusCode::UNPROCESSABLE_ENTITY, "no_switch"),
        DecideError::Refused(Refusal::Cooldown { .. }) => (StatusCode::CONFLICT, "cooldown"),
        DecideError::Refused(Refusal::Unprotected { .. }) => (StatusCode::CONFLICT, "unprotected"),
        DecideError::Refused(Refusal::Record { .. }) => {
            (StatusCode::SERVICE_UNAVAILABLE, "record_unavailable")
        }
        DecideError::NoDatabase(_) => (StatusCode::UNPROCESSABLE_ENTITY, "no_database"),
        DecideError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
        DecideError::Switch {
            error: SwitchError::BreakGlassNotAllowed,
            ..
        } => (StatusCode::FORBIDDEN, "break_glass_not_allowed"),
        DecideError::Switch {
            error: SwitchError::Superseded { .. },
            ..
        } => (StatusCode::CONFLICT, "superseded"),
        DecideError::Switch {
            error: SwitchError::Unverified(_),
            ..
        } => (StatusCode::SERVICE_UNAVAILABLE, "record_unavailable"),
        DecideError::Switch { .. } => (StatusCode::BAD_GATEWAY, "switch_failed"),
    };
    tracing::warn!(code, error = %err, "request refused or failed");
    error(status, code, err)
}
