//! The function benchmark: a small Lambda Runtime API emulator on loopback, and
//! for each subject (a function binary with its own sample event, seed 000's
//! Python handler under awslambdaric, a hello-world floor):
//!
//! - init: process start until its first `GET /runtime/invocation/next`;
//! - the first invoke: the event handed over until its response arrives;
//! - warm p50 / p99 over 1,000 invokes, measured the same way;
//! - peak RSS (`VmHWM`) at the end.
//!
//! Cold starts are repeated and the median kept. Figures are printed as a
//! Markdown table with the targets checked; nothing is asserted.
//!
//!     stop-bench SUBJECTS.json
//!
//! SUBJECTS.json: `[{"name", "command": [...], "env": {...}, "event": "path",
//! "zip": "path"?, "bootstrap": "path"?}]` (scripts/bench writes it).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

const WARM_INVOKES: usize = 1_000;
const COLD_STARTS: usize = 21;

#[derive(Debug, Deserialize)]
struct Subject {
    name: String,
    command: Vec<String>,
    #[serde(default)]
    env: HashMap<String, String>,
    event: String,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    bootstrap: Option<String>,
}

/// What the emulator tells the driver.
#[derive(Debug)]
enum Signal {
    /// A `GET /next` arrived.
    Polled(Instant),
    /// A response (or an error) for an invocation arrived.
    Answered { at: Instant, ok: bool },
}

/// The emulator's state: the events waiting to be handed out.
struct Emulator {
    events: Mutex<mpsc::Receiver<(String, Bytes)>>,
    signals: mpsc::UnboundedSender<Signal>,
    delivered: std::sync::Mutex<HashMap<String, Instant>>,
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn runtime_api(
    emulator: Arc<Emulator>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path.ends_with("/invocation/next") {
        let _ = emulator.signals.send(Signal::Polled(Instant::now()));
        let next = emulator.events.lock().await.recv().await;
        let Some((id, event)) = next else {
            return Ok(respond(StatusCode::GONE, Bytes::new()));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            + Duration::from_secs(30);
        let mut response = respond(StatusCode::OK, event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", id.clone()),
            (
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            ),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-west-2:111122223333:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-67891233-abcdef012345678912345678;Parent=1;Sampled=0".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
        if let Ok(mut delivered) = emulator.delivered.lock() {
            delivered.insert(id, Instant::now());
        }
        return Ok(response);
    }
    let ok = path.ends_with("/response");
    if ok || path.ends_with("/error") {
        let _ = request.into_body().collect().await;
        let _ = emulator.signals.send(Signal::Answered {
            at: Instant::now(),
            ok,
        });
        return Ok(respond(StatusCode::ACCEPTED, Bytes::new()));
    }
    // init/error and anything else.
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    eprintln!("runtime API: {path}: {}", String::from_utf8_lossy(&body));
    let _ = emulator.signals.send(Signal::Answered {
        at: Instant::now(),
        ok: false,
    });
    Ok(respond(StatusCode::ACCEPTED, Bytes::new()))
}

/// One run of a subject: cold start, first invoke, warm invokes.
struct Run {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_rss_kb: u64,
    errors: usize,
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

async fn run_once(subject: &Subject, event: &Bytes, warm: usize) -> Result<Run, String> {
    let (event_tx, event_rx) = mpsc::channel(1);
    let (signal_tx, mut signals) = mpsc::unbounded_channel();
    let emulator = Arc::new(Emulator {
        events: Mutex::new(event_rx),
        signals: signal_tx,
        delivered: std::sync::Mutex::new(HashMap::new()),
    });
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = {
        let emulator = Arc::clone(&emulator);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let emulator = Arc::clone(&emulator);
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| runtime_api(Arc::clone(&emulator), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    };

    let (program, args) = subject
        .command
        .split_first()
        .ok_or_else(|| format!("{}: empty command", subject.name))?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(&subject.env)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: cannot start {program}: {e}", subject.name))?;
    let pid = child.id().unwrap_or(0);

    let init = match wait(&mut signals).await? {
        Signal::Polled(at) => at - started,
        Signal::Answered { .. } => return Err(format!("{}: init failed", subject.name)),
    };
    let mut times = Vec::with_capacity(warm + 1);
    let mut errors = 0;
    for n in 0..=warm {
        let id = format!("bench-{n}");
        let sent = Instant::now();
        event_tx
            .send((id, event.clone()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match wait(&mut signals).await? {
                Signal::Polled(_) => continue,
                Signal::Answered { at, ok } => {
                    errors += usize::from(!ok);
                    times.push(at - sent);
                    break;
                }
            }
        }
    }
    let peak_rss_kb = peak_rss_kb(pid);
    let _ = child.kill().await;
    server.abort();
    let first = times.remove(0);
    Ok(Run {
        init,
        first,
        warm: times,
        peak_rss_kb,
        errors,
    })
}

async fn wait(signals: &mut mpsc::UnboundedReceiver<Signal>) -> Result<Signal, String> {
    tokio::time::timeout(Duration::from_secs(30), signals.recv())
        .await
        .map_err(|_| "no answer from the function within 30 s".to_owned())?
        .ok_or_else(|| "the emulator stopped".to_owned())
}

/// Instructions from exec to the first `GET /next`, counted by callgrind:
/// the same figure on every run and whatever else the machine is doing, where
/// init times move by a tenth of a millisecond from one run to the next. The
/// Runtime API address given is a closed port, so the process stops right at
/// its first poll (the few instructions of its error exit are counted too).
/// `None` when valgrind is not installed.
fn init_instructions(subject: &Subject) -> Option<u64> {
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .ok()?;
    let output = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .args(&subject.command)
        .envs(&subject.env)
        .env("AWS_LAMBDA_RUNTIME_API", closed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|line| line.split_once("Collected :"))
        .and_then(|(_, n)| n.trim().parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    percentile(&values, 0.5)
}

fn size(path: Option<&String>) -> Option<u64> {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or("–".to_owned(), |b| format!("{:.2} MB", b as f64 / 1e6))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Row {
    name: String,
    zip: Option<u64>,
    bootstrap: Option<u64>,
    init: Duration,
    init_instructions: Option<u64>,
    first: Duration,
    p50: Duration,
    p99: Duration,
    rss_kb: u64,
    errors: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: stop-bench SUBJECTS.json")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let subjects: Vec<Subject> = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let events = subjects
        .iter()
        .map(|subject| {
            std::fs::read(&subject.event)
                .map(Bytes::from)
                .map_err(|e| format!("{}: {e}", subject.event))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Cold starts in rounds, every subject once a round, so that whatever else
    // the machine does in the meantime falls on all of them alike.
    let mut inits = vec![Vec::new(); subjects.len()];
    let mut firsts = vec![Vec::new(); subjects.len()];
    for _ in 1..COLD_STARTS {
        for (n, subject) in subjects.iter().enumerate() {
            let run = run_once(subject, &events[n], 0).await?;
            inits[n].push(run.init);
            firsts[n].push(run.first);
        }
    }
    let mut rows = Vec::new();
    for (n, subject) in subjects.iter().enumerate() {
        let run = run_once(subject, &events[n], WARM_INVOKES).await?;
        inits[n].push(run.init);
        firsts[n].push(run.first);
        let mut warm = run.warm;
        warm.sort();
        let row = Row {
            name: subject.name.clone(),
            zip: size(subject.zip.as_ref()),
            bootstrap: size(subject.bootstrap.as_ref()),
            init: median(std::mem::take(&mut inits[n])),
            init_instructions: init_instructions(subject),
            first: median(std::mem::take(&mut firsts[n])),
            p50: percentile(&warm, 0.5),
            p99: percentile(&warm, 0.99),
            rss_kb: run.peak_rss_kb,
            errors: run.errors,
        };
        eprintln!("measured {}", row.name);
        rows.push(row);
    }

    println!(
        "| function | arm64 zip | x86-64 bootstrap | init (median of {COLD_STARTS}) | init instructions | first invoke | warm p50 | warm p99 | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} MB{} |",
            r.name,
            mb(r.zip),
            mb(r.bootstrap),
            ms(r.init),
            r.init_instructions
                .map_or("–".to_owned(), |n| format!("{:.2} M", n as f64 / 1e6)),
            ms(r.first),
            ms(r.p50),
            ms(r.p99),
            r.rss_kb as f64 / 1024.0,
            if r.errors > 0 {
                format!(" ({} error answers)", r.errors)
            } else {
                String::new()
            }
        );
    }

    let find = |name: &str| rows.iter().find(|r| r.name.contains(name));
    let (python, floor) = (find("python"), find("hello"));
    println!();
    for r in rows
        .iter()
        .filter(|r| !r.name.contains("python") && !r.name.contains("hello"))
    {
        let mut verdicts: Vec<(String, bool)> = Vec::new();
        if let Some(zip) = r.zip {
            verdicts.push(("zip ≤ 3 MB".into(), zip <= 3_000_000));
        }
        if let Some(p) = python {
            let times = p.init.as_secs_f64() / r.init.as_secs_f64();
            verdicts.push((
                format!("init ≤ 1/10 Python's (1/{times:.0})"),
                times >= 10.0,
            ));
        }
        if let Some(f) = floor {
            let times = r.init.as_secs_f64() / f.init.as_secs_f64();
            let counted = match (r.init_instructions, f.init_instructions) {
                (Some(n), Some(floor)) => {
                    format!("; {:.2}× in instructions", n as f64 / floor as f64)
                }
                _ => String::new(),
            };
            verdicts.push((
                format!("init ≤ 1.5× the floor's ({times:.2}×{counted})"),
                times <= 1.5,
            ));
        }
        verdicts.push(("peak RSS ≤ 24 MB".into(), r.rss_kb <= 24 * 1024));
        if r.name == "region-info" {
            verdicts.push(("warm p50 ≤ 1 ms".into(), r.p50 <= Duration::from_millis(1)));
        }
        let text: Vec<String> = verdicts
            .iter()
            .map(|(what, ok)| format!("{} {what}", if *ok { "✓" } else { "✗" }))
            .collect();
        println!("{}: {}", r.name, text.join(", "));
    }
    Ok(())
}
