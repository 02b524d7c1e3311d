//! The sample events in `events/` and `events/expected.json`, for the handler
//! tests of every function. Test support only: it panics on a broken sample.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod contract;

use std::path::PathBuf;

use std::collections::HashMap;

use lambda_http::{Body, Response};
use serde_json::Value;
use stop_core::Config;

/// The routing controls and ARC endpoints of [`standby_config`].
pub const PRIMARY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/cp/routingcontrol/primary";
pub const STANDBY_CTL: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/cp/routingcontrol/standby";
pub const ARC_ENDPOINTS: [&str; 3] = [
    "https://use1.example/v1",
    "https://usw2.example/v1",
    "https://euw1.example/v1",
];

/// The standby stack of service `orders` (us-west-2, primary us-east-1) with
/// every part configured: the STOP switch, ARC routing controls, an RDS read
/// replica and an Auto Scaling group. `extra` adds or replaces variables.
pub fn standby_config(extra: &[(&str, &str)]) -> Config {
    let endpoints = format!(
        "us-east-1={},us-west-2={},eu-west-1={}",
        ARC_ENDPOINTS[0], ARC_ENDPOINTS[1], ARC_ENDPOINTS[2]
    );
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("SERVICE_NAME", "orders"),
        ("AWS_REGION", "us-west-2"),
        ("ROLE", "SECONDARY"),
        ("PEER_REGION", "us-east-1"),
        ("STOP_METRIC_NAMESPACE", "StopPattern"),
        ("STOP_METRIC_NAME", "FailoverToSecondary"),
        ("STOP_ALARM_NAME", "orders-stop-failover"),
        ("ARC_CLUSTER_ENDPOINTS", endpoints.as_str()),
        ("ARC_PRIMARY_CONTROL_ARN", PRIMARY_CTL),
        ("ARC_STANDBY_CONTROL_ARN", STANDBY_CTL),
        ("DB_KIND", "rds-replica"),
        ("DB_REPLICA_ID", "orders-replica"),
        ("ASG_NAME", "orders-web"),
        ("ASG_MIN", "2"),
        ("ASG_DESIRED", "4"),
        ("ASG_MAX", "8"),
        ("DB_SECRET_ID", "orders/db"),
        // Where a re-protect copy goes in each Region.
        ("DB_PRIMARY_COPY_SUBNET_GROUP", "orders-db"),
        ("DB_PRIMARY_COPY_SECURITY_GROUP_IDS", "sg-0a1b2c3d4e5f60718"),
        ("DB_PRIMARY_COPY_PARAMETER_GROUP", "orders-postgres16"),
        ("DB_PRIMARY_COPY_KMS_KEY_ARN", PRIMARY_COPY_KEY),
        ("DB_STANDBY_COPY_SUBNET_GROUP", "orders-db"),
        ("DB_STANDBY_COPY_SECURITY_GROUP_IDS", "sg-0fedcba9876543210"),
        ("DB_STANDBY_COPY_PARAMETER_GROUP", "orders-postgres16"),
        ("DB_STANDBY_COPY_KMS_KEY_ARN", STANDBY_COPY_KEY),
    ]);
    vars.extend(extra.iter().copied());
    Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap()
}

/// The KMS keys a re-protect copy is encrypted with, one per Region.
pub const PRIMARY_COPY_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c";
pub const STANDBY_COPY_KEY: &str =
    "arn:aws:kms:us-west-2:111122223333:key/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";

/// The primary instance that [`orders_replica`] replicates.
pub const REPLICA_SOURCE: &str = "arn:aws:rds:us-east-1:111122223333:db:orders";

/// The standby's cross-Region read replica of [`standby_config`]: available,
/// replicating [`REPLICA_SOURCE`], `lag_seconds` behind.
pub fn orders_replica(lag_seconds: u32) -> stop_core::ports::ReplicaStatus {
    stop_core::ports::ReplicaStatus {
        instance_id: "orders-replica".into(),
        replication: None,
        arn: "arn:aws:rds:us-west-2:111122223333:db:orders-replica".into(),
        source: Some(REPLICA_SOURCE.into()),
        status: "available".into(),
        replica_lag_seconds: Some(lag_seconds),
        endpoint: Some((
            "orders-replica.abc.us-west-2.rds.amazonaws.com".into(),
            5432,
        )),
        engine: "postgres".into(),
        storage_encrypted: true,
        ..Default::default()
    }
}

/// What a sample must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// This HTTP status; `touches_aws` when the answer needs the function's AWS services.
    Status { status: u16, touches_aws: bool },
    /// An event function's outcome ("ignored", "reconciled", "ran").
    Outcome { outcome: String, touches_aws: bool },
    /// Refused by the Lambda runtime before the handler runs.
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// The file name within `events/<function>/`.
    pub file: String,
    pub raw: String,
    pub expected: Expected,
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// Every sample of `function`, checking that each file has an expectation and
/// each expectation a file.
pub fn samples(function: &str) -> Vec<Sample> {
    let dir = events_dir().join(function);
    let expectations: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("expected.json")).unwrap())
            .unwrap();
    let prefix = format!("{function}/");
    let mut listed: Vec<(String, Expected)> = expectations
        .iter()
        .filter_map(|(key, value)| {
            let file = key.strip_prefix(&prefix)?.to_owned();
            let expected = match value {
                Value::Number(n) => Expected::Status {
                    status: n.as_u64().unwrap() as u16,
                    touches_aws: false,
                },
                Value::String(s) if s == "rejected" => Expected::Rejected,
                Value::String(s) => Expected::Outcome {
                    outcome: s.clone(),
                    touches_aws: false,
                },
                Value::Object(o) => {
                    let touches_aws = o
                        .get("touches_aws")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    match (o.get("status"), o.get("outcome")) {
                        (Some(status), _) => Expected::Status {
                            status: status.as_u64().unwrap() as u16,
                            touches_aws,
                        },
                        (None, Some(outcome)) => Expected::Outcome {
                            outcome: outcome.as_str().unwrap().to_owned(),
                            touches_aws,
                        },
                        _ => panic!("{key}: an expectation needs status or outcome"),
                    }
                }
                other => panic!("{key}: unexpected expectation {other}"),
            };
            Some((file, expected))
        })
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let names: Vec<&String> = listed.iter().map(|(f, _)| f).collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        names,
        "every file in events/{function} needs a line in events/expected.json, and every line a file"
    );
    listed
        .into_iter()
        .map(|(file, expected)| Sample {
            raw: std::fs::read_to_string(dir.join(&file)).unwrap(),
            file,
            expected,
        })
        .collect()
}

/// A sample by file name.
pub fn sample(function: &str, file: &str) -> lambda_http::Request {
    let raw = std::fs::read_to_string(events_dir().join(function).join(file)).unwrap();
    lambda_http::request::from_str(&raw).unwrap()
}

/// The body as text, whatever its representation.
pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The body as JSON.
pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_str(&body_text(response))
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", body_text(response)))
}

/// The fence record's copies in memory, one per Region (primary, standby,
/// witness), each holding the record as the template deploys it.
pub struct FenceCopies {
    pub primary: stop_core::memory::MemoryStateStore,
    pub standby: stop_core::memory::MemoryStateStore,
    pub witness: stop_core::memory::MemoryStateStore,
}

impl FenceCopies {
    pub fn deployed(config: &Config) -> Self {
        let name = config.fence_parameter(&config.service);
        let initial =
            stop_core::fence::FenceRecord::initial(&config.service, config.primary_region())
                .to_text();
        let store = || {
            stop_core::memory::MemoryStateStore::new(stop_core::memory::CallLog::default())
                .with(&name, &initial)
        };
        FenceCopies {
            primary: store(),
            standby: store(),
            witness: store(),
        }
    }

    /// The copies as a fence or a decider of `config` reads them.
    pub fn copies(
        &self,
        config: &Config,
    ) -> stop_core::fence::Copies<&stop_core::memory::MemoryStateStore> {
        let mut stores = vec![
            (config.primary_region().clone(), &self.primary),
            (config.standby_region().clone(), &self.standby),
        ];
        if let Some(witness) = &config.witness_region {
            stores.push((witness.clone(), &self.witness));
        }
        stop_core::fence::Copies::new(config, stores)
    }

    /// The record a copy holds.
    pub fn record(
        &self,
        store: &stop_core::memory::MemoryStateStore,
        config: &Config,
    ) -> Option<stop_core::fence::FenceRecord> {
        let text = store.text(&config.fence_parameter(&config.service))?;
        stop_core::fence::FenceRecord::parse(&text, &config.service).ok()
    }
}

/// A decision store in memory kept in step with the fence record's copies
/// (one per Region of `config`'s quorum, each as deployed, logging to a log
/// of their own), as every decider writes it.
pub fn fenced_memory<C: stop_core::ports::Clock>(
    config: &Config,
    log: &stop_core::memory::CallLog,
    clock: C,
) -> stop_core::fence::Fenced<
    stop_core::memory::MemoryDecisionStore,
    stop_core::memory::MemoryStateStore,
    C,
> {
    let name = config.fence_parameter(&config.service);
    let initial =
        stop_core::fence::FenceRecord::initial(&config.service, config.primary_region()).to_text();
    let stores = stop_core::fence::Quorum::of(config)
        .copies()
        .into_iter()
        .map(|region| {
            let store =
                stop_core::memory::MemoryStateStore::new(stop_core::memory::CallLog::default())
                    .with(&name, &initial);
            (region, store)
        })
        .collect();
    stop_core::fence::Fenced {
        decisions: stop_core::memory::MemoryDecisionStore::new(log.clone()),
        copies: stop_core::fence::Copies::new(config, stores),
        clock,
    }
}

/// A hostile corpus the samples never showed: `count` events made from the
/// samples of `function` by seeded mutations of the envelope, the headers,
/// the identity and the body. Deterministic for a seed; a new seed is a new
/// corpus.
pub fn hostile(function: &str, seed: u64, count: usize) -> Vec<(String, Value)> {
    let bases: Vec<(String, Value)> = samples(function)
        .into_iter()
        .filter_map(|s| Some((s.file, serde_json::from_str(&s.raw).ok()?)))
        .filter(|(_, v): &(String, Value)| v.get("httpMethod").is_some())
        .collect();
    assert!(!bases.is_empty(), "no API Gateway samples for {function}");
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    let mut next = move || {
        // xorshift64*: enough spread for choosing mutations.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(2_685_821_657_736_338_717)
    };
    const STRINGS: &[&str] = &[
        "",
        " ",
        "\u{0}",
        "\u{202e}evil\u{202c}",
        "\u{200b}",
        "é",
        "😀",
        "..%2f..%2fetc%2fpasswd",
        "/../../etc/passwd",
        "%00",
        "%",
        "a b",
        "<script>alert(1)</script>",
        "${jndi:ldap://x}",
        "\r\nX-Injected: 1",
        "null",
        "[]",
        "{}",
        "1e400",
        "-1",
        "18446744073709551616",
        "arn:aws:sts::999999999999:assumed-role/dr-operator/x",
        "arn:aws:sts::111122223333:assumed-role/dr-operator",
        "operators,admins",
        "[operators",
    ];
    let values = |n: u64| -> Value {
        match n % 9 {
            0 => Value::Null,
            1 => Value::Bool(n.is_multiple_of(2)),
            2 => serde_json::json!(n as i64 - (1 << 40)),
            3 => serde_json::json!(f64::MAX),
            4 => serde_json::json!([STRINGS[(n as usize / 9) % STRINGS.len()]]),
            5 => serde_json::json!({"k": STRINGS[(n as usize / 9) % STRINGS.len()]}),
            6 => Value::String("x".repeat((n % 70_000) as usize)),
            _ => Value::String(STRINGS[(n as usize / 9) % STRINGS.len()].to_owned()),
        }
    };
    let bodies = |n: u64| -> String {
        match n % 10 {
            0 => "[".repeat(10_000),
            1 => r#"{"reason":"r","reason":"dup","mode":"graceful"}"#.to_owned(),
            2 => format!(r#"{{"reason":"{}","mode":"graceful"}}"#, "\u{202e}".repeat(3)),
            3 => r#"{"reason":"drill","mode":"graceful","service":"../orders"}"#.to_owned(),
            4 => r#"{"reason":12,"mode":["graceful"]}"#.to_owned(),
            5 => "\u{feff}{\"reason\":\"bom\"}".to_owned(),
            6 => "x".repeat(5000),
            7 => r#"{"reason":"drill","mode":"graceful","dry_run":"yes"}"#.to_owned(),
            8 => r#"{"reason":"drill","mode":"ungraceful","accept_data_loss":true,"override_safety":true,"extra":1}"#.to_owned(),
            _ => String::from_utf8_lossy(&n.to_le_bytes()).into_owned(),
        }
    };
    (0..count)
        .map(|i| {
            let (file, base) = &bases[(next() as usize) % bases.len()];
            let mut event = base.clone();
            let mut done = Vec::new();
            for _ in 0..1 + next() % 3 {
                let pick = next();
                let value = values(next());
                let text = STRINGS[(next() as usize) % STRINGS.len()];
                let what = match pick % 12 {
                    0 => {
                        event["path"] = Value::String(format!("/{text}"));
                        "path"
                    }
                    1 => {
                        event["headers"]["Host"] = value;
                        "Host"
                    }
                    2 => {
                        event["headers"]["X-Forwarded-Proto"] = Value::String(text.to_owned());
                        "X-Forwarded-Proto"
                    }
                    3 => {
                        event["headers"]["Content-Type"] = Value::String(text.to_owned());
                        "Content-Type"
                    }
                    4 => {
                        event["body"] = Value::String(bodies(next()));
                        "body"
                    }
                    5 => {
                        event["isBase64Encoded"] = Value::Bool(true);
                        "isBase64Encoded"
                    }
                    6 => {
                        event["httpMethod"] = Value::String(text.to_owned());
                        "httpMethod"
                    }
                    7 => {
                        if let Some(claims) = event
                            .pointer_mut("/requestContext/authorizer/claims")
                            .and_then(Value::as_object_mut)
                        {
                            let key = ["email", "email_verified", "cognito:groups", "sub"]
                                [(next() % 4) as usize];
                            claims.insert(key.to_owned(), value);
                        }
                        "claims"
                    }
                    8 => {
                        event["requestContext"]["identity"]["userArn"] = value;
                        "userArn"
                    }
                    9 => {
                        event["queryStringParameters"] = serde_json::json!({"service": text});
                        event["multiValueQueryStringParameters"] =
                            serde_json::json!({"service": [text]});
                        "query"
                    }
                    10 => {
                        event["requestContext"]["authorizer"] = value;
                        "authorizer"
                    }
                    _ => {
                        event["stageVariables"] =
                            serde_json::json!({"cognitoDomain": text, "cognitoClientId": text});
                        "stageVariables"
                    }
                };
                done.push(what);
            }
            (format!("#{i} {file} with {}", done.join(", ")), event)
        })
        .collect()
}
