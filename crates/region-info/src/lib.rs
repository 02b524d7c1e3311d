//! The regional demo API that clients reach through the Route 53 failover record.
//!
//! `GET /` says which service, Region and role answered; `GET /health` is what the
//! standby record's own health check probes. Both are cheap and never cached, so a
//! client watching the endpoint sees the moment traffic moves.

pub mod writer;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use stop_core::Config;
use stop_core::ports::{Clock, Secrets};
use stop_http::{for_method, json, method_not_allowed, not_found, route_path};

use crate::writer::WriterHost;

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

/// The function: what it says about itself, and where its database secret points
/// when one is configured.
pub struct App<S, C> {
    pub info: RegionInfo,
    pub writer: Option<WriterHost<S, C>>,
}

#[derive(Serialize)]
struct Root<'a> {
    #[serde(flatten)]
    info: &'a RegionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    writer_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    writer_error: Option<String>,
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    region: &'a str,
}

const READ_ONLY: &[Method] = &[Method::GET, Method::HEAD];

/// Answers one request. Never fails: every outcome is an HTTP response.
pub async fn handle<S: Secrets, C: Clock>(app: &App<S, C>, request: Request) -> Response<Body> {
    let info = &app.info;
    let method = request.method().clone();
    let path = route_path(&request).to_owned();
    let response = match path.as_str() {
        "/" | "/health" if !READ_ONLY.contains(&method) => {
            method_not_allowed(&method, &path, READ_ONLY)
        }
        "/" => {
            let writer = match &app.writer {
                Some(writer) => Some(writer.get().await),
                None => None,
            };
            let (writer_host, writer_error) = match writer {
                Some(Ok(host)) => (Some(host), None),
                Some(Err(why)) => (None, Some(why)),
                None => (None, None),
            };
            json(
                StatusCode::OK,
                &Root {
                    info,
                    writer_host,
                    writer_error,
                },
            )
        }
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
