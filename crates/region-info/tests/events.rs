#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Every sample event in events/region-info/ through the real handler, as Lambda
//! would deliver it: parsed by lambda_http, answered by `handle`.

use std::path::PathBuf;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use region_info::{RegionInfo, handle};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/region-info")
}

fn info() -> RegionInfo {
    RegionInfo {
        service: "orders".into(),
        region: "us-west-2".into(),
        role: "SECONDARY".into(),
        version: "0.1.0".into(),
    }
}

fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The expectations in events/expected.json for this function's samples:
/// `Some(status)`, or `None` where the runtime must refuse the event.
fn expected() -> Vec<(String, Option<u16>)> {
    let raw = std::fs::read_to_string(events_dir().join("../expected.json")).unwrap();
    let all: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw).unwrap();
    all.into_iter()
        .filter_map(|(key, value)| {
            let file = key.strip_prefix("region-info/")?.to_owned();
            let status = match value {
                serde_json::Value::Number(n) => Some(n.as_u64().unwrap() as u16),
                serde_json::Value::String(s) if s == "rejected" => None,
                other => panic!("{key}: unexpected expectation {other}"),
            };
            Some((file, status))
        })
        .collect()
}

async fn answer(file: &str) -> Result<Response<Body>, String> {
    let raw = std::fs::read_to_string(events_dir().join(file)).map_err(|e| e.to_string())?;
    let request = lambda_http::request::from_str(&raw).map_err(|e| e.to_string())?;
    Ok(handle(&info(), request).await)
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_status() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let expected = expected();
    let mut listed: Vec<&str> = expected.iter().map(|(f, _)| f.as_str()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every file in events/region-info needs a line in events/expected.json"
    );

    for (file, expected) in &expected {
        match (answer(file).await, expected) {
            (Ok(response), Some(status)) => {
                assert_eq!(
                    response.status().as_u16(),
                    *status,
                    "{file}: {}",
                    text(&response)
                );
                let body = text(&response);
                if !body.is_empty() {
                    let parsed: serde_json::Value = serde_json::from_str(&body)
                        .unwrap_or_else(|e| panic!("{file}: body is not JSON ({e}): {body}"));
                    assert!(parsed.is_object(), "{file}: {body}");
                }
                assert_eq!(response.headers()["cache-control"], "no-store", "{file}");
            }
            (Err(error), None) => assert!(!error.is_empty(), "{file}"),
            (Ok(response), None) => {
                panic!("{file}: expected a parse error, got {}", response.status())
            }
            (Err(error), Some(_)) => panic!("{file}: could not be parsed: {error}"),
        }
    }
}

#[tokio::test]
async fn root_says_which_region_and_role_answered() {
    let response = answer("get-root.json").await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"service": "orders", "region": "us-west-2", "role": "SECONDARY", "version": "0.1.0"})
    );
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn health_is_ok_and_head_has_no_body() {
    let response = answer("get-health.json").await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["region"], "us-west-2");
    let head = answer("head-health.json").await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(text(&head).is_empty());
}

#[tokio::test]
async fn wrong_method_names_the_allowed_ones() {
    let response = answer("post-root-wrong-method.json").await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let body: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn query_strings_are_ignored_not_echoed() {
    let response = answer("get-root-with-query.json").await.unwrap();
    assert!(!text(&response).contains("script"));
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_that_names_the_path() {
    let response = answer("get-unknown-path.json").await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(
        body["error"]["message"],
        "no route for /admin/../etc/passwd"
    );
}
