//! Texts kept between scheduled runs (the detector's state, a witness's
//! report, the last readiness report): one SSM String parameter each, in the
//! standby Region, overwritten in place.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use stop_core::ports::{PortError, PortResult, StateStore};

use crate::{LazyClient, port_error};

pub struct SsmStateStore {
    client: LazyClient<Client>,
}

impl SsmStateStore {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        SsmStateStore {
            client: client.into(),
        }
    }
}

impl StateStore for SsmStateStore {
    async fn load(&self, name: &str) -> PortResult<Option<String>> {
        match self.client.get().get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
            // ParameterNotFound: nothing saved yet.
            // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => match port_error("ssm:GetParameter", e) {
                PortError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn save(&self, name: &str, text: &str) -> PortResult<()> {
        stop_core::aws_rules::fits_standard_parameter(name, text)?;
        put_standard(
            self.client.get(),
            name,
            text,
            "stop: kept between scheduled runs (detector state, a witness's report, readiness)",
        )
        .await
    }
}

/// `PutParameter` of a Standard String parameter, overwriting: the one write
/// of the decision record and of every state text.
pub(crate) async fn put_standard(
    client: &Client,
    name: &str,
    value: &str,
    description: &str,
) -> PortResult<()> {
    client
        .put_parameter()
        .name(name)
        .description(description)
        .value(value)
        .r#type(ParameterType::String)
        .tier(ParameterTier::Standard)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| port_error("ssm:PutParameter", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::types::Parameter;
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn a_missing_parameter_loads_as_nothing_saved_yet() {
        let missing = mock!(Client::get_parameter)
            .match_requests(|r| r.name() == Some("/stop/orders/detector/us-west-2"))
            .then_error(|| {
                GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
            });
        let store = SsmStateStore::new(mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&missing]));
        assert_eq!(
            store.load("/stop/orders/detector/us-west-2").await,
            Ok(None)
        );
    }

    #[tokio::test]
    async fn a_saved_text_loads_back() {
        let found = mock!(Client::get_parameter).then_output(|| {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value("{\"ok\":true}").build())
                .build()
        });
        let store = SsmStateStore::new(mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&found]));
        assert_eq!(
            store.load("/stop/orders/readiness").await,
            Ok(Some("{\"ok\":true}".to_owned()))
        );
    }

    #[tokio::test]
    async fn a_text_over_4_kb_is_refused_before_the_call() {
        let store = SsmStateStore::new(mock_client!(aws_sdk_ssm, RuleMode::Sequential, []));
        let err = store
            .save("/stop/orders/readiness", &"x".repeat(5000))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Rejected(_)), "{err}");
    }
}
