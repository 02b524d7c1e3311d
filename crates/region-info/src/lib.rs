//! The regional demo API that clients reach through the Route 53 failover record.
//!
//! `GET /` says which service, Region and role answered; `GET /health` is what the
//! standby record's own health check probes. Both are cheap and never cached, so a
//! client watching the endpoint sees the moment traffic moves.
//!
//! `POST /write` is the demo's write route, behind the fence
//! ([`stop_core::fence`]): it accepts a write only in the Region the decision
//! makes active once its writer is ready, and answers 503 with `Retry-After`
//! while a move is under way. A user's own application follows the same
//! contract (docs/design.md).

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use stop_core::Config;
use stop_core::fence::Fence;
use stop_core::ports::{Clock, StateStore};
use stop_http::{error, for_method, json, method_not_allowed, not_found, route_path};

/// What `GET /` answers, fixed at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionInfo {
    pub service: String,
    pub region: String,
    pub role: String,
    pub version: String,
}

impl RegionInfo {
    pub fn from_config(config: &Config) -> Self {
        RegionInfo {
            service: config.service.clone(),
            region: config.region.to_string(),
            role: config.role.to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The function: what it says about itself, and its write fence. It holds no
/// database credential and names no database host: it is the internet-facing
/// function, and neither is any client's business.
pub struct App<T, C> {
    pub info: RegionInfo,
    /// The write fence: a lease read from a quorum of the fence record's copies.
    pub fence: Fence<T, C>,
}

/// Larger write bodies are refused before anything is read.
pub const MAX_WRITE_BYTES: usize = 4096;

#[derive(Serialize)]
struct Accepted<'a> {
    accepted: bool,
    region: &'a str,
    epoch: u64,
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    region: &'a str,
}

const READ_ONLY: &[Method] = &[Method::GET, Method::HEAD];
const WRITE: &[Method] = &[Method::POST];

/// Answers one request. Never fails: every outcome is an HTTP response.
pub async fn handle<T: StateStore, C: Clock>(app: &App<T, C>, request: Request) -> Response<Body> {
    let info = &app.info;
    let method = request.method().clone();
    let path = route_path(&request).to_owned();
    let response = match path.as_str() {
        "/" | "/health" if !READ_ONLY.contains(&method) => {
            method_not_allowed(&method, &path, READ_ONLY)
        }
        "/" => json(StatusCode::OK, info),
        "/write" if !WRITE.contains(&method) => method_not_allowed(&method, &path, WRITE),
        "/write" => write(app, request.body().len()).await,
        "/health" => json(
            StatusCode::OK,
            &Health {
                status: "ok",
                region: &info.region,
            },
        ),
        _ => not_found(&path),
    };
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    for_method(&method, response)
}

/// One write, if the fence lets it through: only while this Region holds a
/// lease on a record that makes it active with writes open; a cold, stale
/// or unreadable fence refuses (503, `Retry-After`). The demo stores
/// nothing: the answer is what a client of a real application would get.
async fn write<T: StateStore, C: Clock>(app: &App<T, C>, body_len: usize) -> Response<Body> {
    if body_len > MAX_WRITE_BYTES {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is {body_len} bytes; at most {MAX_WRITE_BYTES} are accepted"),
        );
    }
    let verdict = app.fence.check().await;
    if !verdict.open {
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "writes_fenced",
            format!("write refused, nothing written; retry: {}", verdict.reason),
        );
        if let Ok(value) = verdict.retry_after_s.to_string().parse() {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    json(
        StatusCode::OK,
        &Accepted {
            accepted: true,
            region: &app.info.region,
            epoch: verdict.epoch.unwrap_or_default(),
        },
    )
}
