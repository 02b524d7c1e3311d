//! Commands against a deployed system: the operator API over HTTPS, a URL to
//! watch, and the standby Region's AWS APIs for `monitor` and `check`.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::exit;

/// Why a remote command failed, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn unreachable(what: &str, error: impl std::fmt::Display) -> Self {
        Failure {
            code: exit::UNREACHABLE,
            message: format!("{what} could not be reached: {error}"),
        }
    }
}

pub fn client(timeout: Duration) -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("stopctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure {
            code: exit::USAGE,
            message: format!("HTTP client: {e}"),
        })
}

fn join(api: &str, path: &str) -> String {
    format!("{}{path}", api.trim_end_matches('/'))
}

/// The answer of the operator API: its status and JSON body.
#[derive(Debug, Serialize)]
pub struct ApiAnswer {
    pub status: u16,
    pub body: Value,
}

impl ApiAnswer {
    pub fn exit_code(&self) -> u8 {
        if (200..300).contains(&self.status) {
            exit::OK
        } else {
            exit::FAILED
        }
    }
}

async fn answer(response: reqwest::Response) -> ApiAnswer {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    ApiAnswer { status, body }
}

/// Sends a request to the operator API with the caller's token.
async fn send(
    request: reqwest::RequestBuilder,
    api: &str,
    token: Option<&str>,
) -> Result<ApiAnswer, Failure> {
    let request = match token {
        Some(token) => request.header("Authorization", token),
        None => request,
    };
    let response = request
        .send()
        .await
        .map_err(|e| Failure::unreachable(api, e))?;
    Ok(answer(response).await)
}

/// `GET /status`.
pub async fn status(
    http: &reqwest::Client,
    api: &str,
    token: Option<&str>,
    service: Option<&str>,
) -> Result<ApiAnswer, Failure> {
    let mut request = http.get(join(api, "/status"));
    if let Some(service) = service {
        request = request.query(&[("service", service)]);
    }
    send(request, api, token).await
}

/// What to send to `POST /failover` or `/failback`.
#[derive(Debug, Clone, Serialize)]
pub struct Press {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub reason: String,
    pub mode: String,
    pub dry_run: bool,
    pub override_safety: bool,
    pub accept_data_loss: bool,
}

pub async fn press(
    http: &reqwest::Client,
    api: &str,
    token: Option<&str>,
    path: &str,
    body: &Press,
) -> Result<ApiAnswer, Failure> {
    send(http.post(join(api, path)).json(body), api, token).await
}

/// A POST of any JSON body to the operator API.
pub async fn post(
    http: &reqwest::Client,
    api: &str,
    token: Option<&str>,
    path: &str,
    body: &Value,
) -> Result<ApiAnswer, Failure> {
    send(http.post(join(api, path)).json(body), api, token).await
}

/// One probe of `watch`.
#[derive(Debug, Serialize)]
pub struct Probe {
    pub at: String,
    pub status: Option<u16>,
    pub region: Option<String>,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn probe(http: &reqwest::Client, url: &str) -> Probe {
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let started = Instant::now();
    let result = http.get(url).send().await;
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            Probe {
                at,
                status: Some(status),
                region: body["region"].as_str().map(str::to_owned),
                latency_ms,
                error: None,
            }
        }
        Err(e) => Probe {
            at,
            status: None,
            region: None,
            latency_ms,
            error: Some(e.to_string()),
        },
    }
}

/// A short text for an operator API answer.
pub fn describe(answer: &ApiAnswer) -> String {
    let body = &answer.body;
    if let Some(message) = body["error"]["message"].as_str() {
        return format!("{} {}", answer.status, message);
    }
    if let Some(requested) = body["requested"].as_bool() {
        let d = &body["decision"];
        return format!(
            "{} {}: epoch {}, writer {}; the promoter carries it on within a minute, \
             `stopctl status` says when it is protected",
            answer.status,
            if requested {
                "re-protect requested"
            } else if d["data"]["protected"] == true {
                "already protected"
            } else {
                "re-protect already requested"
            },
            d["epoch"],
            d["data"]["writer"]["id"]
                .as_str()
                .unwrap_or("the deployed primary"),
        );
    }
    if body.get("decision").is_some() {
        let d = &body["decision"];
        let switches: Vec<String> = body["switches"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s["switch"].as_str().unwrap_or("?"),
                            s["detail"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        return format!(
            "{} epoch {} → {}{}{}\n  {}",
            answer.status,
            d["epoch"],
            d["active_region"].as_str().unwrap_or("?"),
            if body["dry_run"] == true {
                " (dry run: nothing changed)"
            } else {
                ""
            },
            if body["superseded"] == true {
                " (a concurrent press won)"
            } else {
                ""
            },
            switches.join("\n  ")
        );
    }
    if let Some(services) = body["services"].as_array() {
        let lines: Vec<String> = services
            .iter()
            .map(|s| {
                let d = &s["decision"];
                let steps: Vec<String> = d["steps"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|st| {
                                format!(
                                    "{} {}",
                                    st["name"].as_str().unwrap_or("?"),
                                    st["state"].as_str().unwrap_or("?")
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let data = &d["data"];
                let ms = |v: &Value| v.as_i64().map(stop_core::units::human_duration);
                format!(
                    "{}: active {} (epoch {}, by {}: {})\n  steps: {}\n  data: writer {}, writes {}, {}\n  switched after {}; write RTO {} (promotion {})",
                    s["service"].as_str().unwrap_or("?"),
                    d["active_region"].as_str().unwrap_or("?"),
                    d["epoch"],
                    d["actor"].as_str().unwrap_or("?"),
                    d["reason"].as_str().unwrap_or(""),
                    if steps.is_empty() {
                        "none".to_owned()
                    } else {
                        steps.join(", ")
                    },
                    data["writer"]["id"].as_str().map_or_else(
                        || "the deployed primary".to_owned(),
                        |id| format!("{id} in {}", data["writer"]["region"].as_str().unwrap_or("?"))
                    ),
                    if data["writes_open"] == true { "open" } else { "fenced (refused, retried)" },
                    if data["protected"] == true {
                        "protected (a cross-Region copy replicates it)".to_owned()
                    } else {
                        "NOT protected: run `stopctl reprotect` before any failback".to_owned()
                    },
                    ms(&s["switched_ms"]).unwrap_or_else(|| "–".to_owned()),
                    ms(&s["write_rto_ms"]).unwrap_or_else(|| "– (writes not open yet)".to_owned()),
                    ms(&s["promotion_ms"]).unwrap_or_else(|| "–".to_owned()),
                )
            })
            .collect();
        return format!("{} {}", answer.status, lines.join("\n"));
    }
    format!("{} {}", answer.status, json!(body))
}
