//! Secrets Manager in the standby Region. Secret values only ever pass through
//! `Sensitive`; errors carry the operation and AWS's code, never a value.

use aws_sdk_secretsmanager::Client;
use stop_core::ports::{PortError, PortResult, SecretInfo, SecretValue, Secrets, Sensitive};

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

/// The primary secret's Region if this secret is a replica of it: the shared
/// rule ([`stop_core::aws_rules::replica_of`]). The client's Region is always
/// set in practice (the SDK cannot call without one); were it not, any
/// `PrimaryRegion` would read as a replica, as before.
fn replica_of(primary_region: Option<&str>, own_region: Option<&str>) -> Option<String> {
    match own_region {
        Some(own) => stop_core::aws_rules::replica_of(primary_region, own),
        None => primary_region.map(str::to_owned),
    }
}

impl Secrets for SecretsManagerSecrets {
    async fn get_current(&self, secret_id: &str) -> PortResult<SecretValue> {
        let info = self.describe(secret_id).await?;
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
            replica_of: info.replica_of,
        })
    }

    async fn describe(&self, secret_id: &str) -> PortResult<SecretInfo> {
        let client = self.client.get();
        let described = client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| port_error("secretsmanager:DescribeSecret", e))?;
        Ok(SecretInfo {
            replica_of: replica_of(
                described.primary_region(),
                client.config().region().map(|r| r.as_ref()),
            ),
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
    use aws_sdk_secretsmanager::config::Region;
    use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

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
            [&describe, &get],
            |c| c.region(Region::new("us-west-2"))
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

    /// What `get_current` makes of a DescribeSecret `PrimaryRegion` (or none)
    /// for a client in `own_region`.
    async fn replica_of_for(
        primary_region: Option<&'static str>,
        own_region: &'static str,
    ) -> Option<String> {
        let describe = mock!(Client::describe_secret).then_output(move || {
            DescribeSecretOutput::builder()
                .name("orders/db")
                .set_primary_region(primary_region.map(str::to_owned))
                .build()
        });
        let get = mock!(Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .version_id("v1")
                .secret_string(VALUE)
                .build()
        });
        let rules: [&Rule; 2] = [&describe, &get];
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, rules, |c| c
            .region(Region::new(own_region)));
        let secret = SecretsManagerSecrets::new(client)
            .get_current("orders/db")
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 1);
        secret.replica_of
    }

    #[tokio::test]
    async fn a_primary_region_equal_to_this_clients_region_is_not_a_replica() {
        assert_eq!(replica_of_for(Some("us-west-2"), "us-west-2").await, None);
    }

    #[tokio::test]
    async fn a_primary_region_in_another_region_is_a_replica_of_it() {
        assert_eq!(
            replica_of_for(Some("us-east-1"), "us-west-2")
                .await
                .as_deref(),
            Some("us-east-1")
        );
    }

    #[tokio::test]
    async fn no_primary_region_is_not_a_replica() {
        assert_eq!(replica_of_for(None, "us-west-2").await, None);
    }

    #[test]
    fn without_a_known_region_any_primary_region_still_reads_as_a_replica() {
        // Unreachable in practice (the SDK needs a Region to call at all); the
        // earlier reading is kept.
        assert_eq!(
            replica_of(Some("us-east-1"), None).as_deref(),
            Some("us-east-1")
        );
    }
}
