//! The decision records in SSM Parameter Store, one parameter per service in the
//! standby Region; the parameter's versions are the history (the newest 100).

use aws_sdk_ssm::Client;
use stop_core::decision::Decision;
use stop_core::ports::{DecisionStore, PortError, PortResult};

use stop_core::Config;
use stop_core::fence::{Copies, Fenced, Quorum};

use crate::state::SsmStateStore;
use crate::{LazyClient, SystemClock, port_error};

pub struct SsmDecisionStore {
    client: LazyClient<Client>,
    prefix: String,
}

impl SsmDecisionStore {
    /// `prefix` as in `Config::decision_prefix`: records live at `<prefix>/<service>/decision`.
    pub fn new(client: impl Into<LazyClient<Client>>, prefix: &str) -> Self {
        SsmDecisionStore {
            client: client.into(),
            prefix: prefix.to_owned(),
        }
    }

    fn name(&self, service: &str) -> String {
        format!("{}/{service}/decision", self.prefix)
    }
}

/// The decision record in this stack's (the standby's) Region, kept in step
/// with the fence record's copies in every Region of the quorum: what every
/// decider (the button, the detector, the promoter, the rewriter) writes through.
pub type FencedDecisions = Fenced<SsmDecisionStore, SsmStateStore, SystemClock>;

/// [`FencedDecisions`] for `config`, on `sdk` (the stack's own Region). Each
/// Region's client is built on its first call.
pub fn fenced_decisions(sdk: &aws_config::SdkConfig, config: &Config) -> FencedDecisions {
    let stores = Quorum::of(config)
        .copies()
        .into_iter()
        .map(|region| {
            let sdk = crate::in_region(sdk, &region);
            (
                region,
                SsmStateStore::new(LazyClient::from_sdk(&sdk, Client::new)),
            )
        })
        .collect();
    Fenced {
        decisions: SsmDecisionStore::new(
            LazyClient::from_sdk(sdk, Client::new),
            &config.decision_prefix,
        ),
        copies: Copies::new(config, stores),
        clock: SystemClock,
    }
}

impl DecisionStore for SsmDecisionStore {
    async fn history(&self, service: &str) -> PortResult<Vec<Decision>> {
        let name = self.name(service);
        let mut records = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .client
                .get()
                .get_parameter_history()
                .name(&name)
                .max_results(50)
                .set_next_token(next_token)
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => match port_error("ssm:GetParameterHistory", error) {
                    // Before the first decision there is no parameter: no history.
                    PortError::NotFound(_) => return Ok(Vec::new()),
                    other => return Err(other),
                },
            };
            for version in page.parameters() {
                let Some(value) = version.value() else {
                    continue;
                };
                match serde_json::from_str::<Decision>(value) {
                    Ok(decision) => records.push((version.version(), decision)),
                    // Skipping it would fall back to an older epoch: a reader on
                    // an older binary during a standby-first deploy, or a
                    // hand-edited version, would act on a superseded decision.
                    Err(error) => {
                        return Err(PortError::Rejected(format!(
                            "{name} version {} is not a decision record this binary can read ({error}); \
                             refusing to fall back to an older version: deploy the same stop version \
                             in both stacks; if it was edited by hand, delete the parameter and put the \
                             last good decision back at once (Parameter Store keeps the last 100 versions, \
                             so an overwrite leaves the bad one in the history; meanwhile the fence \
                             record's copies keep every reader refusing)",
                            version.version()
                        )));
                    }
                }
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        records.sort_by_key(|(version, _)| *version);
        Ok(records.into_iter().map(|(_, d)| d).collect())
    }

    async fn store(&self, decision: &Decision) -> PortResult<()> {
        // Refused here, as SSM would refuse it, with the size in the error.
        let value = stop_core::aws_rules::decision_value(decision)?;
        crate::state::put_standard(
            self.client.get(),
            &self.name(&decision.service),
            &value,
            "stop: the failover decision record (active Region, epoch, steps)",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::get_parameter_history::GetParameterHistoryOutput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::ParameterHistory;
    use aws_sdk_ssm::types::{ParameterTier, ParameterType};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use stop_core::decision::Mode;
    use time::macros::datetime;

    fn decision(epoch: u64, region: &str) -> Decision {
        let mut d = Decision::initial(
            "orders",
            &"us-east-1".parse().unwrap(),
            datetime!(2026-11-22 03:00 UTC),
        );
        d.epoch = epoch;
        d.active_region = region.parse().unwrap();
        d.mode = Mode::Ungraceful;
        d
    }

    fn version(n: i64, value: &str) -> ParameterHistory {
        ParameterHistory::builder()
            .name("/stop/orders/decision")
            .version(n)
            .value(value)
            .build()
    }

    #[tokio::test]
    async fn history_reads_every_page_in_version_order_and_refuses_a_version_it_cannot_parse() {
        let d1 = serde_json::to_string(&decision(1, "us-west-2")).unwrap();
        let d2 = serde_json::to_string(&decision(2, "us-east-1")).unwrap();
        let first = mock!(Client::get_parameter_history)
            .match_requests(|r| {
                r.name() == Some("/stop/orders/decision") && r.next_token().is_none()
            })
            .then_output(move || {
                GetParameterHistoryOutput::builder()
                    .parameters(version(2, &d2))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::get_parameter_history)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(move || {
                GetParameterHistoryOutput::builder()
                    .parameters(version(1, &d1))
                    .build()
            });
        let client = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&first, &second]);
        let history = SsmDecisionStore::new(client, "/stop")
            .history("orders")
            .await
            .unwrap();
        let epochs: Vec<u64> = history.iter().map(|d| d.epoch).collect();
        assert_eq!(epochs, [1, 2]);
        assert_eq!(first.num_calls() + second.num_calls(), 2);

        // A newest version this binary cannot read (hand edited, or a newer
        // schema): refused, naming it, never a fall back to epoch 2.
        let d2 = serde_json::to_string(&decision(2, "us-east-1")).unwrap();
        let edited = mock!(Client::get_parameter_history).then_output(move || {
            GetParameterHistoryOutput::builder()
                .parameters(version(2, &d2))
                .parameters(version(3, "hand edited"))
                .build()
        });
        let client = mock_client!(aws_sdk_ssm, [&edited]);
        let err = SsmDecisionStore::new(client, "/stop")
            .history("orders")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, PortError::Rejected(why) if why.contains("version 3")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_missing_parameter_is_an_empty_history() {
        // As SSM answers on the wire (awsJson1.1), so the SDK parses the code.
        let missing = mock!(Client::get_parameter_history)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ParameterNotFound","message":""}"#.into()),
            )
            .build();
        let client = mock_client!(aws_sdk_ssm, [&missing]);
        let history = SsmDecisionStore::new(client, "/stop")
            .history("orders")
            .await
            .unwrap();
        assert!(history.is_empty());
    }

    #[tokio::test]
    async fn store_overwrites_a_standard_string_parameter_with_the_json_record() {
        let put = mock!(Client::put_parameter)
            .match_requests(|r| {
                r.name() == Some("/dr/orders/decision")
                    && r.overwrite() == Some(true)
                    && r.r#type() == Some(&ParameterType::String)
                    && r.tier() == Some(&ParameterTier::Standard)
                    && r.value()
                        .is_some_and(|v| v.contains(r#""epoch":7"#) && v.len() < 4096)
            })
            .then_output(|| PutParameterOutput::builder().version(8).build());
        let client = mock_client!(aws_sdk_ssm, [&put]);
        SsmDecisionStore::new(client, "/dr")
            .store(&decision(7, "us-west-2"))
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn too_many_updates_is_a_refusal_with_the_code() {
        let busy = mock!(Client::put_parameter)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"TooManyUpdates","message":"slow"}"#.into()),
            )
            .build();
        let client = mock_client!(aws_sdk_ssm, [&busy]);
        let err = SsmDecisionStore::new(client, "/stop")
            .store(&decision(1, "us-west-2"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("TooManyUpdates"), "{err}");
    }
}
