//! Switch 1: the STOP metric and its alarm, in CloudWatch of the standby Region.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy, StateValue,
};
use stop_core::config::StopMetricConfig;
use stop_core::ports::{AlarmState, PortError, PortResult, StopSwitch, StopSwitchState};

use crate::{LazyClient, port_error};

pub struct CloudWatchStopSwitch {
    client: LazyClient<Client>,
}

impl CloudWatchStopSwitch {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        CloudWatchStopSwitch {
            client: client.into(),
        }
    }
}

fn service_dimension(service: &str) -> Dimension {
    Dimension::builder().name("Service").value(service).build()
}

impl StopSwitch for CloudWatchStopSwitch {
    async fn publish(
        &self,
        switch: &StopMetricConfig,
        service: &str,
        value: f64,
    ) -> PortResult<()> {
        self.put(switch, service, value, None).await
    }

    async fn publish_at(
        &self,
        switch: &StopMetricConfig,
        service: &str,
        value: f64,
        at: time::OffsetDateTime,
    ) -> PortResult<()> {
        self.put(switch, service, value, Some(at)).await
    }

    async fn read(&self, switch: &StopMetricConfig, service: &str) -> PortResult<StopSwitchState> {
        self.state(switch, service).await
    }
}

impl CloudWatchStopSwitch {
    /// `Timestamp`: "the time the metric data was received" when absent.
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html>
    async fn put(
        &self,
        switch: &StopMetricConfig,
        service: &str,
        value: f64,
        at: Option<time::OffsetDateTime>,
    ) -> PortResult<()> {
        let datum = MetricDatum::builder()
            .metric_name(&switch.metric_name)
            .dimensions(service_dimension(service))
            .value(value)
            .set_timestamp(
                at.map(|t| aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.unix_timestamp())),
            )
            // Standard resolution: Route 53 health checks follow alarms on those.
            .storage_resolution(60)
            .build();
        self.client
            .get()
            .put_metric_data()
            .namespace(&switch.namespace)
            .metric_data(datum)
            .send()
            .await
            .map_err(|e| port_error("cloudwatch:PutMetricData", e))?;
        Ok(())
    }

    async fn state(&self, switch: &StopMetricConfig, service: &str) -> PortResult<StopSwitchState> {
        let alarms = self
            .client
            .get()
            .describe_alarms()
            .alarm_names(&switch.alarm_name)
            .send()
            .await
            .map_err(|e| port_error("cloudwatch:DescribeAlarms", e))?;
        let alarm = alarms.metric_alarms().first().ok_or_else(|| {
            PortError::NotFound(format!("alarm {} in this Region", switch.alarm_name))
        })?;
        let alarm_state = match alarm.state_value() {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            _ => AlarmState::InsufficientData,
        };

        // The newest datapoint of the last three hours; the metric is only
        // published when someone presses the button.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let query = MetricDataQuery::builder()
            .id("stop")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&switch.namespace)
                            .metric_name(&switch.metric_name)
                            .dimensions(service_dimension(service))
                            .build(),
                    )
                    .period(60)
                    .stat("Maximum")
                    .build(),
            )
            .return_data(true)
            .build();
        let data = self
            .client
            .get()
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from_secs(now - 3 * 3600))
            .end_time(DateTime::from_secs(now + 60))
            .scan_by(ScanBy::TimestampDescending)
            .send()
            .await
            .map_err(|e| port_error("cloudwatch:GetMetricData", e))?;
        let last_value = data
            .metric_data_results()
            .first()
            .and_then(|r| r.values().first().copied());
        Ok(StopSwitchState {
            alarm_state,
            last_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::error::ErrorMetadata;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataError, PutMetricDataOutput};
    use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn switch() -> StopMetricConfig {
        StopMetricConfig {
            namespace: "StopPattern".into(),
            metric_name: "FailoverToSecondary".into(),
            alarm_name: "orders-stop-failover".into(),
        }
    }

    #[tokio::test]
    async fn publish_sends_one_standard_resolution_datum_with_the_service_dimension() {
        let put = mock!(Client::put_metric_data)
            .match_requests(|r| {
                let d = &r.metric_data()[0];
                r.namespace() == Some("StopPattern")
                    && r.metric_data().len() == 1
                    && d.metric_name() == Some("FailoverToSecondary")
                    && d.value() == Some(1.0)
                    && d.storage_resolution() == Some(60)
                    && d.dimensions()[0].name() == Some("Service")
                    && d.dimensions()[0].value() == Some("orders")
            })
            .then_output(|| PutMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, [&put]);
        CloudWatchStopSwitch::new(client)
            .publish(&switch(), "orders", 1.0)
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_is_reported_as_retryable() {
        let throttled = mock!(Client::put_metric_data).then_error(|| {
            PutMetricDataError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, [&throttled]);
        let err = CloudWatchStopSwitch::new(client)
            .publish(&switch(), "orders", 1.0)
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Throttled(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn read_reports_the_alarm_state_and_the_newest_value() {
        let alarms = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_names() == ["orders-stop-failover"])
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("orders-stop-failover")
                            .state_value(StateValue::Alarm)
                            .build(),
                    )
                    .build()
            });
        let data = mock!(Client::get_metric_data)
            .match_requests(|r| {
                let stat = r.metric_data_queries()[0].metric_stat().unwrap();
                stat.stat() == Some("Maximum")
                    && stat.period() == Some(60)
                    && r.scan_by() == Some(&ScanBy::TimestampDescending)
            })
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("stop")
                            .values(1.0)
                            .values(0.0)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&alarms, &data]);
        let state = CloudWatchStopSwitch::new(client)
            .read(&switch(), "orders")
            .await
            .unwrap();
        assert_eq!(state.alarm_state, AlarmState::Alarm);
        assert_eq!(state.last_value, Some(1.0));
    }

    #[tokio::test]
    async fn a_missing_alarm_is_not_found() {
        let none =
            mock!(Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, [&none]);
        let err = CloudWatchStopSwitch::new(client)
            .read(&switch(), "orders")
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
    }
}
