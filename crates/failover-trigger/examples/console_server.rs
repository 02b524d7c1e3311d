//! The operator console and API on localhost, with in-memory ports: for trying
//! the console in a browser and for the headless-Chromium test. Every request
//! is turned into the API Gateway event API Gateway would send, signed in as a
//! local operator, and answered by the real handler.
//!
//!     cargo run -p failover-trigger --example console_server -- 8080
//!
//! Not for production: there is no authentication here.

use std::collections::HashMap;
use std::net::SocketAddr;

use failover_trigger::{App, handle};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use stop_core::Config;
use stop_core::memory::{
    CallLog, ManualClock, MemoryDecisionStore, MemoryRoutingControls, MemoryStopSwitch,
};
use stop_core::ports::ControlState;
use stop_core::switches::RetryPolicy;
use tokio::net::TcpListener;

type LocalApp = App<MemoryDecisionStore, MemoryStopSwitch, MemoryRoutingControls, ManualClock>;

const PRIMARY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/local/routingcontrol/primary";
const STANDBY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/local/routingcontrol/standby";

fn app() -> Result<LocalApp, Box<dyn std::error::Error>> {
    let vars: HashMap<&str, String> = [
        ("SERVICE_NAME", "orders"),
        ("AWS_REGION", "us-west-2"),
        ("ROLE", "SECONDARY"),
        ("PEER_REGION", "us-east-1"),
        ("STOP_METRIC_NAMESPACE", "StopPattern"),
        ("STOP_METRIC_NAME", "FailoverToSecondary"),
        ("STOP_ALARM_NAME", "orders-stop-failover"),
        (
            "ARC_CLUSTER_ENDPOINTS",
            "us-east-1=https://use1.local,us-west-2=https://usw2.local",
        ),
        ("ARC_PRIMARY_CONTROL_ARN", PRIMARY_CTL),
        ("ARC_STANDBY_CONTROL_ARN", STANDBY_CTL),
        // A local drill should not make the tester wait five minutes to fail back.
        ("COOLDOWN_SECONDS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    let config = Config::from_lookup(|k| vars.get(k).cloned())?;
    let log = CallLog::default();
    Ok(App {
        config,
        decisions: MemoryDecisionStore::new(log.clone()),
        stop: MemoryStopSwitch::new(log.clone()),
        controls: MemoryRoutingControls::new(
            log,
            &[
                (PRIMARY_CTL, ControlState::On),
                (STANDBY_CTL, ControlState::Off),
            ],
        ),
        clock: ManualClock::new(time::OffsetDateTime::now_utc()),
        retry: RetryPolicy::default(),
    })
}

async fn serve(app: &LocalApp, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let request = stop_http::proxy_request(
        &method,
        &path,
        query.as_deref(),
        content_type.as_deref(),
        &body,
        Some("local-operator"),
    );
    let response = match request {
        Ok(request) => handle(app, request).await,
        Err(err) => stop_http::error(
            lambda_http::http::StatusCode::BAD_REQUEST,
            "bad_request",
            err,
        ),
    };
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(8080), |p| p.parse())?;
    let app: &'static LocalApp = Box::leak(Box::new(app()?));
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "console on http://127.0.0.1:{}/console",
        listener.local_addr()?.port()
    );
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(move |request| async move {
                Ok::<_, hyper::Error>(serve(app, request).await)
            });
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {err}");
            }
        });
    }
}
