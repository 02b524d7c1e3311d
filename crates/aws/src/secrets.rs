//! Secrets Manager in the standby Region. Secret values only ever pass through
//! `Sensitive`; errors carry the operation and AWS's code, never a value.

use aws_sdk_secretsmanager::Client;
use stop_core::ports::{PortError, PortResult, SecretValue, Secrets, Sensitive};

use crate::{LazyClient, port_error};

pub struct SecretsManagerSecrets {
    client: LazyClient<Client>,
}

impl SecretsManagerSecrets {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        SecretsManagerSecrets {
            client: client.into(),
        }
    }
}

impl Secrets for SecretsManagerSecrets {
    async fn get_current(&self, secret_id: &str) -> PortResult<SecretValue> {
        let described = self
            .client
            .get()
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| port_error("secretsmanager:DescribeSecret", e))?;
        let value = self
            .client
            .get()
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| port_error("secretsmanager:GetSecretValue", e))?;
        let string = value.secret_string().ok_or_else(|| {
            PortError::Rejected(format!("{secret_id} holds binary, not a JSON string"))
        })?;
        Ok(SecretValue {
            version_id: value.version_id().unwrap_or_default().to_owned(),
            value: Sensitive::new(string),
            // Set on a replica: the Region of the primary secret.
            replica_of: described.primary_region().map(str::to_owned),
        })
    }

    async fn put_value(&self, secret_id: &str, value: &Sensitive, token: &str) -> PortResult<()> {
        self.client
            .get()
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value.expose())
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| port_error("secretsmanager:PutSecretValue", e))?;
        Ok(())
    }

    async fn stop_replication(&self, secret_id: &str) -> PortResult<()> {
        self.client
            .get()
            .stop_replication_to_replica()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| port_error("secretsmanager:StopReplicationToReplica", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const VALUE: &str =
        r#"{"username":"app","password":"hunter2-very-secret","host":"old.example","port":5432}"#;

    #[tokio::test]
    async fn reads_awscurrent_and_knows_a_replica_without_leaking_the_value() {
        let describe = mock!(Client::describe_secret).then_output(|| {
            DescribeSecretOutput::builder()
                .name("orders/db")
                .primary_region("us-east-1")
                .build()
        });
        let get = mock!(Client::get_secret_value)
            .match_requests(|r| {
                r.secret_id() == Some("orders/db") && r.version_stage() == Some("AWSCURRENT")
            })
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .version_id("v1")
                    .secret_string(VALUE)
                    .build()
            });
        let client = mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            [&describe, &get]
        );
        let secret = SecretsManagerSecrets::new(client)
            .get_current("orders/db")
            .await
            .unwrap();
        assert_eq!(secret.replica_of.as_deref(), Some("us-east-1"));
        assert_eq!(secret.value.expose(), VALUE);
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn put_sends_the_token() {
        let put = mock!(Client::put_secret_value)
            .match_requests(|r| {
                r.client_request_token() == Some("stop-orders-epoch-00000000000000000001")
                    && r.secret_string() == Some(VALUE)
            })
            .then_output(|| PutSecretValueOutput::builder().build());
        let client = mock_client!(aws_sdk_secretsmanager, [&put]);
        SecretsManagerSecrets::new(client)
            .put_value(
                "orders/db",
                &Sensitive::new(VALUE),
                "stop-orders-epoch-00000000000000000001",
            )
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn errors_name_the_code_not_the_value() {
        let put = mock!(Client::put_secret_value)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ResourceExistsException","Message":"token reused"}"#.into()),
            )
            .build();
        let client = mock_client!(aws_sdk_secretsmanager, [&put]);
        let err = SecretsManagerSecrets::new(client)
            .put_value(
                "orders/db",
                &Sensitive::new(VALUE),
                "stop-orders-epoch-00000000000000000001",
            )
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ResourceExistsException"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
