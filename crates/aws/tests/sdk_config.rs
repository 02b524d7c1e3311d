#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The clients every function builds from `stop_aws::sdk_config`: its HTTP
//! client builds the TLS connector on the first request (not once per client
//! at start-up), and plain requests go through it to a real endpoint.

use std::io::Read;
use std::net::TcpListener;

use aws_sdk_ssm::config::Credentials;

fn ssm(sdk: &aws_config::SdkConfig, endpoint: &str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::config::Builder::from(sdk)
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

#[tokio::test]
async fn an_https_request_opens_with_a_tls_client_hello() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_bytes = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = [0u8; 3];
        socket.read_exact(&mut head).unwrap();
        head // dropping the socket ends the handshake
    });

    let sdk = stop_aws::sdk_config(&"us-west-2".parse().unwrap()).await;
    let client = ssm(&sdk, &format!("https://127.0.0.1:{port}"));
    let answer = client.get_parameter().name("/stop/orders").send().await;

    assert!(answer.is_err(), "the server hung up mid-handshake");
    // A TLS handshake record (0x16), TLS major version 3.
    let head = first_bytes.join().unwrap();
    assert_eq!(head[0], 0x16, "{head:?}");
    assert_eq!(head[1], 0x03, "{head:?}");
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn clients_from_the_shared_config_reach_a_real_endpoint() {
    let endpoint = std::env::var("STOP_MOTO_ENDPOINT")
        .expect("STOP_MOTO_ENDPOINT: run through ./scripts/test, which starts moto server");
    let sdk = stop_aws::sdk_config(&"us-west-2".parse().unwrap()).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("/stop-test-sdk-config-{nanos}");

    // Two clients of one service share the connector built on first use.
    let writer = ssm(&sdk, &endpoint);
    let reader = ssm(&sdk, &endpoint);
    writer
        .put_parameter()
        .name(&name)
        .value("us-west-2")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let read = reader.get_parameter().name(&name).send().await.unwrap();

    assert_eq!(read.parameter().and_then(|p| p.value()), Some("us-west-2"));
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn an_adapter_built_as_the_functions_build_it_reaches_a_real_endpoint() {
    // The functions' own path: the shared config, a client made on first use.
    let endpoint = std::env::var("STOP_MOTO_ENDPOINT")
        .expect("STOP_MOTO_ENDPOINT: run through ./scripts/test, which starts moto server");
    let sdk = stop_aws::sdk_config(&"us-west-2".parse().unwrap())
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ssm::config::SharedCredentialsProvider::new(
            Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let store = stop_aws::decisions::SsmDecisionStore::new(
        stop_aws::LazyClient::from_sdk(&sdk, aws_sdk_ssm::Client::new),
        &format!("/stop-test-lazy-{nanos}"),
    );
    let decision = stop_core::decision::Decision::initial(
        "orders",
        &"us-east-1".parse().unwrap(),
        time::OffsetDateTime::now_utc(),
    );

    stop_core::ports::DecisionStore::store(&store, &decision)
        .await
        .unwrap();
    let history = stop_core::ports::DecisionStore::history(&store, "orders")
        .await
        .unwrap();

    assert_eq!(history.len(), 1);
    assert_eq!(history[0].active_region.as_str(), "us-east-1");
}

#[tokio::test]
async fn another_regions_config_keeps_everything_but_the_region() {
    let sdk = stop_aws::sdk_config(&"us-west-2".parse().unwrap()).await;
    let peer = stop_aws::in_region(&sdk, &"us-east-1".parse().unwrap());
    assert_eq!(peer.region().map(|r| r.as_ref()), Some("us-east-1"));
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-west-2"));
    assert_eq!(peer.retry_config(), sdk.retry_config());
    assert_eq!(peer.timeout_config(), sdk.timeout_config());
    assert!(peer.http_client().is_some());
}
