//! The detector's and readiness's metrics: `PutMetricData` in the standby
//! Region, in the stack's namespace, at standard (60 s) resolution, which the
//! heartbeat and readiness alarms evaluate.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use stop_core::ports::{Datum, Metrics, PortResult};

use crate::{LazyClient, port_error};

pub struct CloudWatchMetrics {
    client: LazyClient<Client>,
    namespace: String,
}

impl CloudWatchMetrics {
    pub fn new(client: impl Into<LazyClient<Client>>, namespace: &str) -> Self {
        CloudWatchMetrics {
            client: client.into(),
            namespace: namespace.to_owned(),
        }
    }
}

impl Metrics for CloudWatchMetrics {
    async fn put(&self, data: &[Datum]) -> PortResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let data = data
            .iter()
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(d.name)
                    .set_dimensions(Some(
                        d.dimensions
                            .iter()
                            .map(|(name, value)| {
                                Dimension::builder().name(*name).value(value).build()
                            })
                            .collect(),
                    ))
                    .value(d.value)
                    .storage_resolution(60)
                    .build()
            })
            .collect();
        self.client
            .get()
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| port_error("cloudwatch:PutMetricData", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn every_datum_goes_in_one_call_with_its_dimensions() {
        let put = mock!(Client::put_metric_data)
            .match_requests(|r| {
                r.namespace() == Some("StopPattern")
                    && r.metric_data().len() == 2
                    && r.metric_data()[0].metric_name() == Some("DetectorHeartbeat")
                    && r.metric_data()[1].dimensions().len() == 3
            })
            .then_output(|| PutMetricDataOutput::builder().build());
        let metrics = CloudWatchMetrics::new(
            mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&put]),
            "StopPattern",
        );
        let data = stop_core::detector::round_metrics(
            "orders",
            &[stop_core::detector::Probe::new(
                "us-west-2",
                stop_core::detector::Target::Primary,
                stop_core::detector::Seen::Down,
            )],
        );
        metrics.put(&data).await.unwrap();
        assert_eq!(put.num_calls(), 1);
    }
}
