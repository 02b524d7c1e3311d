#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! stopctl as a user runs it: the binary, its exit codes, its JSON, and a
//! local world served over HTTP that the deployed-system commands drive.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn stopctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stopctl"))
        .args(args)
        .env_remove("STOP_API")
        .env_remove("STOP_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn the_drill_runs_every_scenario_and_says_so_in_json() {
    let output = stopctl(&["drill", "--seed", "5", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["passed"], true);
    assert_eq!(report["seed"], 5);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), stop_sim::library().len());
    for s in scenarios {
        assert!(!s["timeline"].as_array().unwrap().is_empty());
        if s["epoch"] == 0 {
            continue; // nothing was to move (set-alarm-state)
        }
        assert!(s["rto_ms"].as_i64().unwrap() > 0, "{}", s["scenario"]);
        // Every move of a service with a database reports its write RTO.
        if !s["rpo_writes"].is_null() {
            assert!(s["write_rto_ms"].as_i64().unwrap() > 0, "{}", s["scenario"]);
        }
    }
}

#[test]
fn the_drill_text_has_a_timeline_and_a_summary_without_colour_when_piped() {
    let output = stopctl(&["drill", "planned-stop", "12"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("#1  planned-stop PASS"), "{text}");
    assert!(
        text.contains("Route 53: the primary record's CLOUDWATCH_METRIC health check is unhealthy")
    );
    assert!(text.contains("Aurora global failover (AllowDataLoss)"));
    assert!(text.contains("2 of 2 scenarios hold every invariant"));
    assert!(!text.contains('\u{1b}'), "no escape codes when piped");
}

#[test]
fn bad_arguments_get_a_clear_error_and_exit_2() {
    let output = stopctl(&["drill", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("unknown scenario \"nope\"") && err.contains("1 planned-stop"),
        "{err}"
    );
    for args in [
        &["drill", "--seed", "minus-one"][..],
        &["watch", "not a url", "--count", "1"],
        &["local", "--speed", "0"],
        &["failover", "--api", "http://127.0.0.1:9"],
        &["frobnicate"],
    ] {
        let output = stopctl(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn an_unreachable_api_exits_3_and_says_what_could_not_be_reached() {
    let output = stopctl(&["status", "--api", "http://127.0.0.1:9", "--timeout", "2"]);
    assert_eq!(output.status.code(), Some(3));
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("http://127.0.0.1:9 could not be reached"),
        "{err}"
    );
    let output = stopctl(&["--json", "watch", "http://127.0.0.1:9/", "--count", "1"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(json(&output)["error"].is_string());
}

#[test]
fn plan_prints_the_budget_from_the_template_defaults() {
    let output = stopctl(&["--json", "plan"]);
    assert_eq!(output.status.code(), Some(0));
    let plan = json(&output);
    let path = |plan: &serde_json::Value, name: &str| {
        plan["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["path"].as_str().unwrap().starts_with(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(path(&plan, "STOP metric")["worst_s"], 171);
    assert!(path(&plan, "ARC")["worst_s"].as_i64().unwrap() < 171);
    // Detection before the STOP path: three probes 30 s apart.
    assert_eq!(path(&plan, "detection")["worst_s"], 91);
    let output = stopctl(&["--json", "plan", "--ttl", "300"]);
    assert_eq!(path(&json(&output), "STOP metric")["worst_s"], 411);
}

struct Local(Child);

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `stopctl local` on a free port, 60× faster than the wall clock.
fn local() -> (Local, String) {
    let (server, url, _) = local_with_token();
    (server, url)
}

/// [`local`], with the operator token it printed for the CLI.
fn local_with_token() -> (Local, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stopctl"))
        .args([
            "local",
            "--port",
            "0",
            "--speed",
            "60",
            "--for-seconds",
            "60",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let token = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "no STOP_TOKEN line"
        );
        if let Some(token) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("STOP_TOKEN="))
        {
            break token.to_owned();
        }
    };
    // Keep reading, so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (Local(child), url, token)
}

#[test]
fn the_local_world_fails_over_from_the_cli_and_the_watch_sees_it() {
    let (_server, url, token) = local_with_token();
    // Without the token the operator API answers 401 and nothing moves.
    let anonymous = stopctl(&["--json", "status", "--api", &url]);
    assert_ne!(anonymous.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&anonymous.stdout).contains("401"));
    let watch = stopctl(&["--json", "watch", &format!("{url}/"), "--count", "1"]);
    assert_eq!(watch.status.code(), Some(0));
    assert_eq!(json(&watch)["region"], "us-east-1");

    let status = stopctl(&["--json", "status", "--api", &url, "--token", &token]);
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(json(&status)["body"]["services"][0]["decision"]["epoch"], 0);

    let dry = stopctl(&[
        "failover",
        "--api",
        &url,
        "--token",
        &token,
        "--reason",
        "test",
        "--dry-run",
    ]);
    assert_eq!(dry.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&dry.stdout).contains("dry run"));

    let press = stopctl(&[
        "--json",
        "failover",
        "--api",
        &url,
        "--token",
        &token,
        "--reason",
        "cli test",
        "--mode",
        "ungraceful",
    ]);
    assert_eq!(press.status.code(), Some(0));
    let outcome = json(&press);
    assert_eq!(outcome["body"]["decision"]["epoch"], 1);
    assert_eq!(outcome["body"]["decision"]["actor"], "operator@stop.local");

    // Route 53 follows the routing control within seconds of virtual time.
    let watch = stopctl(&[
        "--json",
        "watch",
        &format!("{url}/"),
        "--count",
        "6",
        "--interval",
        "0.5",
    ]);
    let last: Value = String::from_utf8(watch.stdout)
        .unwrap()
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(last["region"], "us-west-2");

    // Failing back at once is refused by the cooldown: exit 1, the reason said.
    let back = stopctl(&[
        "failback", "--api", &url, "--token", &token, "--reason", "too soon",
    ]);
    assert_eq!(back.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&back.stdout).contains("409 anti-flap cooldown"));
}

/// `check` and `monitor` with the standby's settings from events/local.env,
/// whose AWS endpoint is a closed local port: AWS out of reach.
fn with_local_env(args: &[&str]) -> Output {
    let env_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/local.env");
    let mut all = args.to_vec();
    all.extend(["--env-file", env_file]);
    Command::new(env!("CARGO_BIN_EXE_stopctl"))
        .args(&all)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn check_and_monitor_say_aws_is_out_of_reach_and_exit_3() {
    let output = with_local_env(&["--json", "check"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["ready"], false);
    let checks = report["checks"].as_array().unwrap();
    for wanted in [
        "decision record",
        "read replica",
        "standby Auto Scaling group",
        "database secret",
    ] {
        let found = checks.iter().find(|c| c["check"] == wanted).unwrap();
        assert_eq!(found["ok"], false);
        assert_eq!(found["unreachable"], true, "{found}");
        assert!(
            found["detail"].as_str().unwrap().starts_with("unavailable"),
            "{found}"
        );
    }

    let output = with_local_env(&["--json", "monitor", "--count", "1"]);
    assert_eq!(output.status.code(), Some(3));
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["service"], "orders");
    assert!(line["error"].as_str().unwrap().contains("DescribeAlarms"));
}

#[test]
fn a_missing_or_malformed_env_file_is_a_usage_error() {
    let output = stopctl(&["check", "--env-file", "/nonexistent/standby.env"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/standby.env")
    );
    let dir = std::env::temp_dir().join(format!("stopctl-env-{}", std::process::id()));
    std::fs::write(&dir, "AWS_REGION=us-west-2\nthis line has no equals sign\n").unwrap();
    let output = stopctl(&[
        "monitor",
        "--count",
        "1",
        "--env-file",
        dir.to_str().unwrap(),
    ]);
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not KEY=VALUE"));
}

/// One raw HTTP/1.1 POST to the local world: its status line and body.
fn post_raw(url: &str, path: &str) -> (String, String) {
    let addr = url.trim_start_matches("http://").to_owned();
    post_as(url, path, &addr, "")
}

/// A raw POST with its own Host header and body.
fn post_as(url: &str, path: &str, host: &str, body: &str) -> (String, String) {
    post_with(url, path, host, "", body)
}

/// A raw POST with its own Host header, extra header lines and body.
fn post_with(url: &str, path: &str, host: &str, headers: &str, body: &str) -> (String, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn the_local_world_isolates_the_primary_and_serves_each_regions_own_endpoint() {
    let (_server, url) = local();
    let (status, _) = post_raw(&url, "/regional/primary/write");
    assert!(status.contains(" 200 "), "{status}");
    let (status, body) = post_raw(&url, "/regional/standby/write");
    assert!(status.contains(" 503 "), "{status}");
    assert!(body.contains("writes_fenced"), "{body}");
    let (status, body) = post_raw(&url, "/local/primary/isolate");
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains(r#""primary_isolated":true"#), "{body}");
    let (_, body) = post_raw(&url, "/local/primary/heal");
    assert!(body.contains(r#""primary_isolated":false"#), "{body}");
}

#[test]
fn the_local_world_refuses_other_hosts_and_huge_bodies_and_changes_nothing() {
    let (_server, url) = local();
    // A page on evil.example rebound to 127.0.0.1 sends its own Host.
    let (status, body) = post_as(&url, "/local/primary/dark", "evil.example:80", "");
    assert!(status.contains(" 421 "), "{status}");
    assert!(body.contains("misdirected"), "{body}");
    let addr = url.trim_start_matches("http://").to_owned();
    let (status, _) = post_as(&url, "/failover", &addr, &"x".repeat(70 * 1024));
    assert!(status.contains(" 413 "), "{status}");
    // A page elsewhere POSTing with no-cors: the right Host, its own Origin.
    let (status, body) = post_with(
        &url,
        "/local/primary/dark",
        &addr,
        "Origin: https://evil.example\r\n",
        "",
    );
    assert!(status.contains(" 403 "), "{status}");
    assert!(body.contains("cross_origin"), "{body}");
    // Nothing moved: the primary still takes writes, nothing was decided.
    let (status, _) = post_raw(&url, "/regional/primary/write");
    assert!(status.contains(" 200 "), "{status}");
}
