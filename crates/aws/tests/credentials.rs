#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! Which keys sign the requests of clients built from `stop_aws::sdk_config`:
//! on Lambda the role's keys from the environment, elsewhere the operator's
//! profile. Each case runs this test binary again as a child process, so that
//! its environment is its own (setting variables in a threaded test is unsound).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::Command;

const CHILD: &str = "STOP_TEST_CREDENTIALS_CHILD";

/// The headers of the first request the SSM client sends, read off a plain
/// HTTP listener that hangs up without answering.
async fn headers_of_first_request() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut lines = BufReader::new(socket).lines();
        let mut head = String::new();
        while let Some(Ok(line)) = lines.next() {
            if line.is_empty() {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
            head.push('\n');
        }
        head
    });
    let sdk = stop_aws::sdk_config(&"us-west-2".parse().unwrap()).await;
    let config = aws_sdk_ssm::config::Builder::from(&sdk)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled())
        .build();
    let answer = aws_sdk_ssm::Client::from_conf(config)
        .get_parameter()
        .name("/stop/orders")
        .send()
        .await;
    assert!(answer.is_err(), "the server hung up without answering");
    server.join().unwrap()
}

/// Runs `test` in a child process with `env` (and without `removed`).
fn run_as_child(test: &str, env: &[(&str, &str)], removed: &[&str]) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args([test, "--exact", "--nocapture"]).env(CHILD, "1");
    for name in removed {
        child.env_remove(name);
    }
    let output = child.envs(env.iter().copied()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
}

#[tokio::test]
async fn on_lambda_the_role_keys_from_the_environment_sign_the_requests() {
    if std::env::var_os(CHILD).is_none() {
        return run_as_child(
            "on_lambda_the_role_keys_from_the_environment_sign_the_requests",
            &[
                ("AWS_ACCESS_KEY_ID", "ASIASTOPLAMBDAROLE"),
                ("AWS_SECRET_ACCESS_KEY", "lambda-secret"),
                ("AWS_SESSION_TOKEN", "lambda-session-token"),
            ],
            &["AWS_PROFILE"],
        );
    }
    let head = headers_of_first_request().await;
    assert!(head.contains("credential=asiastoplambdarole/"), "{head}");
    assert!(
        head.contains("x-amz-security-token: lambda-session-token"),
        "{head}"
    );
    assert!(
        !head.contains("lambda-secret"),
        "the secret key never travels: {head}"
    );
}

#[tokio::test]
async fn elsewhere_the_operators_profile_signs_the_requests() {
    if std::env::var_os(CHILD).is_none() {
        let dir = std::env::temp_dir().join(format!("stop-credentials-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials");
        std::fs::write(
            &file,
            "[stop-operator]\naws_access_key_id = AKIASTOPOPERATOR\naws_secret_access_key = operator-secret\n",
        )
        .unwrap();
        run_as_child(
            "elsewhere_the_operators_profile_signs_the_requests",
            &[
                ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
                ("AWS_CONFIG_FILE", dir.join("config").to_str().unwrap()),
                ("AWS_PROFILE", "stop-operator"),
                // No instance metadata to fall back on in a test.
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
            &[
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ],
        );
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    let head = headers_of_first_request().await;
    assert!(head.contains("credential=akiastopoperator/"), "{head}");
    assert!(!head.contains("x-amz-security-token"), "{head}");
}
