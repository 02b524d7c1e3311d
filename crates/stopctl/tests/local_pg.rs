#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! `stopctl local --engine postgres` by hand: write, fail over, write,
//! re-protect, fail back, write; no acknowledged write is missing, and `psql`
//! on the final writer counts every one of them.
//!
//! Needs Debian's `postgresql` (`./scripts/test` installs it); without it the
//! test fails, unless `STOP_PG_OPTIONAL=1` says this machine may go without.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One request, `Connection: close`; the status code and the JSON body.
fn call(addr: &str, method: &str, path: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("null");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn writes(addr: &str, count: usize) {
    for _ in 0..count {
        let (status, body) = call(addr, "POST", "/write");
        assert_eq!(status, 200, "{body}");
    }
}

#[test]
fn a_whole_cycle_by_hand_on_real_postgres_loses_no_row() {
    let bin = match stop_pg::server::bin_dir() {
        Ok(bin) => bin,
        Err(e) if std::env::var_os("STOP_PG_OPTIONAL").is_some() => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_stopctl"))
        .args([
            "local",
            "--engine",
            "postgres",
            "--port",
            "0",
            "--for-seconds",
            "600",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "stopctl ended early"
        );
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    // Keep reading its output so that it never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    });

    writes(&addr, 5);
    let (status, body) = call(&addr, "POST", "/failover");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active_region"], "us-west-2");
    writes(&addr, 5);
    let (status, body) = call(&addr, "POST", "/failover");
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(&addr, "POST", "/reprotect");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["protected"], true);
    writes(&addr, 3);
    let (status, body) = call(&addr, "POST", "/failback");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active_region"], "us-east-1");
    writes(&addr, 5);
    let (status, body) = call(&addr, "GET", "/status");
    assert_eq!(status, 200);
    assert_eq!(body["acknowledged"], 18, "{body}");
    assert_eq!(body["missing"], 0, "{body}");
    let writer = body["writer"].as_str().unwrap().to_owned();
    let port = body["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == writer.as_str())
        .unwrap()["port"]
        .to_string();
    let counted = Command::new(bin.join("psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-tAc", "SELECT count(*) FROM orders"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&counted.stdout).trim(),
        "18",
        "psql on {writer}: {}",
        String::from_utf8_lossy(&counted.stderr)
    );
    let (status, _) = call(&addr, "DELETE", "/write");
    assert_eq!(status, 405);

    // It stops when asked, and removes its servers.
    let (status, _) = call(&addr, "POST", "/local/stop");
    assert_eq!(status, 200);
    let exit = child.wait().unwrap();
    let rest = drain.join().unwrap();
    assert!(exit.success(), "{exit:?}: {rest}");
    assert!(rest.contains("missing: 0"), "{rest}");
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "the final writer still answers on port {port}"
    );
}
