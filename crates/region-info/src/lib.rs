//! The regional demo API that clients reach through the Route 53 failover record.
//!
//! `GET /` says which service, Region and role answered; `GET /health` is what the
//! standby record's own health check probes. Both are cheap and never cached, so a
//! client watching the endpoint sees the moment traffic moves.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use stop_core::Config;
use stop_http::{for_method, json, method_not_allowed, not_found, route_path};

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

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    region: &'a str,
}

const READ_ONLY: &[Method] = &[Method::GET, Method::HEAD];

/// Answers one request. Never fails: every outcome is an HTTP response.
pub async fn handle(info: &RegionInfo, request: Request) -> Response<Body> {
    let method = request.method().clone();
    let path = route_path(&request).to_owned();
    let response = match path.as_str() {
        "/" | "/health" if !READ_ONLY.contains(&method) => {
            method_not_allowed(&method, &path, READ_ONLY)
        }
        "/" => json(StatusCode::OK, info),
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
