//! `stopctl local`: the simulated world on localhost. `/` and `/health` answer
//! as the failover name does (Route 53's answer picks the Region);
//! `POST /write` goes through the answering Region's write fence to its
//! database; `/console`, `/status`, `/failover`, `/failback` and `/reprotect` are the real operator
//! API, signed in as a local operator; `POST /local/primary/dark` and
//! `/local/primary/restore` make the primary Region fail and come back (the
//! detector, AutoFailover on, fails over); `/local/primary/isolate` and
//! `/local/primary/heal` cut it off from the other Regions and join it again,
//! its own clients still reaching it at `/regional/primary/...`. Virtual time runs `speed` times faster
//! than the wall clock, and the world's timeline is printed as it happens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use stop_sim::drill::Live;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::render::{Style, say};
use crate::signin::{self, StandIn};

/// The operator `stopctl local` signs in, by the verified email the audit log names.
pub const LOCAL_OPERATOR: &str = "operator@stop.local";

const OPERATOR_ROUTES: &[&str] = &[
    "/console",
    "/status",
    "/failover",
    "/failback",
    "/reprotect",
];

/// The largest request body `stopctl local` reads; the operator API's own
/// limit is 4096 bytes, so this leaves room and no more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON answer with `status`.
pub(crate) fn json_answer(status: u16, body: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *out.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    out.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    out
}

/// A plain JSON error for a request refused before it reaches the world.
pub(crate) fn refuse(status: u16, code: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    json_answer(
        status,
        &serde_json::json!({"error": {"code": code, "message": message}}),
    )
}

/// The refusal of a request not addressed to this loopback server (see
/// [`is_loopback_host`]), if it is not.
pub(crate) fn misdirected<B>(
    request: &hyper::Request<B>,
    port: u16,
) -> Option<hyper::Response<Full<Bytes>>> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok());
    (!is_loopback_host(host, port)).then(|| {
        refuse(
            421,
            "misdirected",
            "stopctl local answers only requests addressed to 127.0.0.1 or localhost",
        )
    })
}

/// Until `for_seconds` have passed (never, without it) or Ctrl-C: either
/// way the server stops cleanly, says what was written and removes what it
/// started.
pub async fn until_stopped(for_seconds: Option<f64>) {
    let limit = async {
        match for_seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = limit => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Whether `host` (the request's Host header) names this loopback server: a
/// web page the developer visits cannot drive the simulation through a DNS
/// name rebound to 127.0.0.1, because its requests carry that name.
pub fn is_loopback_host(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else { return false };
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"))
}

async fn serve(
    live: &Mutex<Live>,
    stand_in: &StandIn,
    port: u16,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    if let Some(refused) = misdirected(&request, port) {
        return refused;
    }
    // A page elsewhere can still POST here (no-cors); its browser says so in
    // Origin. curl and stopctl send none; the console sends its own.
    let origin = request
        .headers()
        .get(hyper::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin
        && !is_loopback_host(origin.strip_prefix("http://"), port)
    {
        return refuse(
            403,
            "cross_origin",
            "stopctl local refuses requests from other web pages",
        );
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limited = http_body_util::Limited::new(request.into_body(), MAX_BODY_BYTES);
    let body = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return refuse(
                413,
                "too_large",
                &format!("the body is over {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(error) => {
            return refuse(
                400,
                "bad_request",
                &format!("the body could not be read: {error}"),
            );
        }
    };
    // The user pool's stand-in, and the console page that signs in through it.
    match (method.as_str(), path.as_str()) {
        ("GET", signin::AUTHORIZE_PATH) => {
            return answer(stand_in.authorize(query.as_deref().unwrap_or_default()));
        }
        ("POST", signin::TOKEN_PATH) => {
            return answer(stand_in.token(&String::from_utf8_lossy(&body)));
        }
        ("GET" | "HEAD", "/console") => {
            let sign_in = failover_trigger::SignIn {
                authorize: signin::AUTHORIZE_PATH.to_owned(),
                token: signin::TOKEN_PATH.to_owned(),
                client_id: signin::CLIENT_ID.to_owned(),
            };
            return hyper_response(failover_trigger::console_response(Some(&sign_in)));
        }
        _ => {}
    }
    // The simulation's own controls: ways to make the primary fail.
    if method == "POST" {
        let control = match path.trim_end_matches('/') {
            "/local/primary/dark" => Some(("primary_dark", true)),
            "/local/primary/restore" => Some(("primary_dark", false)),
            "/local/primary/isolate" => Some(("primary_isolated", true)),
            "/local/primary/heal" => Some(("primary_isolated", false)),
            _ => None,
        };
        if let Some((what, on)) = control {
            let mut live = live.lock().await;
            if what == "primary_dark" {
                live.set_primary_dark(on).await;
            } else {
                live.set_isolated(on).await;
            }
            let mut out =
                hyper::Response::new(Full::new(Bytes::from(format!("{{\"{what}\":{on}}}\n"))));
            out.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static("application/json"),
            );
            return out;
        }
    }
    // A Region's own endpoint, as in-Region jobs call it: /regional/primary/write.
    let regional = ["primary", "standby"].into_iter().find_map(|side| {
        path.strip_prefix(&format!("/regional/{side}"))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(|rest| {
                (
                    side == "primary",
                    if rest.is_empty() { "/" } else { rest }.to_owned(),
                )
            })
    });
    let operator = OPERATOR_ROUTES.contains(&path.trim_end_matches('/'));
    // As API Gateway's Cognito authorizer: no valid token, 401, nothing run.
    if operator && !stand_in.signed_in(authorization.as_deref()) {
        return refuse(
            401,
            "unauthenticated",
            "sign in: this API needs an operator's token",
        );
    }
    let routed = regional
        .as_ref()
        .map_or(path.as_str(), |(_, rest)| rest.as_str());
    let request = stop_http::proxy_request(
        &method,
        routed,
        query.as_deref(),
        content_type.as_deref(),
        &body,
        operator.then_some(LOCAL_OPERATOR),
    );
    let response = match request {
        Ok(request) if operator => live.lock().await.operator_api(request).await,
        Ok(request) if regional.is_some() => {
            let primary = regional.as_ref().is_some_and(|(p, _)| *p);
            live.lock().await.regional_api(primary, request).await
        }
        Ok(request) => live.lock().await.demo_api(request).await,
        Err(err) => stop_http::error(
            lambda_http::http::StatusCode::BAD_REQUEST,
            "bad_request",
            err,
        ),
    };
    hyper_response(response)
}

/// A handler's response as hyper sends it.
fn hyper_response(response: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let mut out = hyper::Response::new(Full::new(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

/// The stand-in's answer: JSON, or a redirect.
fn answer(answer: signin::Answer) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(answer.status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    let headers = out.headers_mut();
    headers.insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-store"),
    );
    match answer
        .location
        .and_then(|l| hyper::header::HeaderValue::from_str(&l).ok())
    {
        Some(location) => {
            headers.insert(hyper::header::LOCATION, location);
        }
        None => {
            headers.insert(
                "content-type",
                hyper::header::HeaderValue::from_static("application/json"),
            );
        }
    }
    out
}

/// Serves until interrupted, or for `for_seconds` of wall time.
pub async fn run(
    port: u16,
    speed: f64,
    seed: u64,
    cooldown_s: u32,
    for_seconds: Option<f64>,
    style: Style,
    as_json: bool,
) -> Result<(), String> {
    let live = Arc::new(Mutex::new(Live::new(seed, cooldown_s)?));
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let lease = live.lock().await.lease_s();
    let stand_in = Arc::new(StandIn::new(&format!("http://{addr}"))?);
    let token = stand_in.cli_token.clone();
    if as_json {
        say(&format!(
            "{}\n",
            serde_json::json!({"demo": format!("http://{addr}/"), "console": format!("http://{addr}/console"), "token": token, "speed": speed, "cooldown_s": cooldown_s})
        ));
    } else {
        say(&format!(
            "demo endpoint  http://{addr}/   (the failover name: curl it, or `stopctl watch http://{addr}/`)\n\
         writes         curl -X POST http://{addr}/write   (refused with 503 while a move is under way)\n\
         console        http://{addr}/console   (signs in as operator@stop.local through a stand-in for the user pool: the code flow with PKCE, no password or MFA here)\n\
         CLI            export STOP_API=http://{addr} STOP_TOKEN={token}   (then stopctl status, failover, failback, reprotect)\n\
         outage         curl -X POST http://{addr}/local/primary/dark   (the detector fails over within about 90 s; /local/primary/restore brings it back)\n\
         partition      curl -X POST http://{addr}/local/primary/isolate   (cut off from the standby and the witness; its own writes, curl -X POST http://{addr}/regional/primary/write, get 503 within the {lease} s lease; /local/primary/heal joins it again)\n\
         virtual time runs {speed}× the wall clock; cooldown {cooldown_s} s; Ctrl-C to stop\n\n"
        ));
    }

    let clock = Arc::clone(&live);
    let tick = Duration::from_millis(100);
    let ticker = tokio::spawn(async move {
        let mut printed = 0;
        let step = time::Duration::seconds_f64(tick.as_secs_f64() * speed);
        loop {
            tokio::time::sleep(tick).await;
            let mut live = clock.lock().await;
            live.advance(step).await;
            for entry in live.timeline_from(printed) {
                printed += 1;
                if as_json {
                    say(&format!(
                        "{}\n",
                        serde_json::to_string(&entry).unwrap_or_default()
                    ));
                    continue;
                }
                let s = entry.at_ms / 1000;
                say(&format!(
                    "{} {:<14} {}\n",
                    style.dim(&format!("{:02}:{:02}", s / 60, s % 60)),
                    entry.region,
                    entry.event
                ));
            }
        }
    });

    let port = addr.port();
    let accept = async {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of
                    // spinning on the same error.
                    say(&format!("accept: {error}; retrying in 100 ms\n"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let live = Arc::clone(&live);
            let stand_in = Arc::clone(&stand_in);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let live = Arc::clone(&live);
                    let stand_in = Arc::clone(&stand_in);
                    async move { Ok::<_, hyper::Error>(serve(&live, &stand_in, port, request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    let stop = until_stopped(for_seconds);
    tokio::select! {
        () = accept => {}
        () = stop => {}
    }
    ticker.abort();
    // What POST /write acknowledged, and whether any of it is lost.
    let (writes, lost) = live.lock().await.writes();
    if as_json {
        say(&format!(
            "{}\n",
            serde_json::json!({"writes_acknowledged": writes, "writes_lost": lost})
        ));
    } else {
        let by_region: Vec<String> = writes.iter().map(|(r, n)| format!("{n} in {r}")).collect();
        say(&format!(
            "\nwrites acknowledged: {}; lost: {}\n",
            if by_region.is_empty() {
                "none".to_owned()
            } else {
                by_region.join(", ")
            },
            lost.unwrap_or(0)
        ));
    }
    Ok(())
}
