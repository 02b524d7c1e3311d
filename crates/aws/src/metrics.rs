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

/// Route 53's view of a health check: `AWS/Route53` `HealthCheckStatus` by
/// `HealthCheckId`, the Minimum of each minute, from CloudWatch in us-east-1,
/// the only Region that holds Route 53's metrics. A read off the failover path
/// (readiness only), from a client of its own.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-cloudwatch.html>
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html>
pub struct Route53HealthMetric {
    client: LazyClient<Client>,
}

/// Where Route 53's metrics are: "Change the current region to US East (N.
/// Virginia). Route 53 metrics are not available if you select any other region".
pub const ROUTE53_METRICS_REGION: &str = "us-east-1";

impl Route53HealthMetric {
    /// `client` must be bound to [`ROUTE53_METRICS_REGION`].
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        Route53HealthMetric {
            client: client.into(),
        }
    }
}

impl stop_core::ports::HealthChecks for Route53HealthMetric {
    async fn status(
        &self,
        health_check_id: &str,
    ) -> PortResult<Option<stop_core::ports::HealthReading>> {
        let newest = newest_datapoint(
            self.client.get(),
            Query {
                namespace: "AWS/Route53",
                metric: "HealthCheckStatus",
                dimension: ("HealthCheckId", health_check_id),
                // 1 only if no checker saw it unhealthy in that minute.
                stat: "Minimum",
            },
        )
        .await?;
        Ok(newest.map(|(at, value)| stop_core::ports::HealthReading {
            healthy: value >= 1.0,
            at,
        }))
    }
}

/// One metric of one dimension, one statistic a minute.
pub struct Query<'a> {
    pub namespace: &'a str,
    pub metric: &'a str,
    pub dimension: (&'a str, &'a str),
    pub stat: &'a str,
}

/// The newest one-minute datapoint of the last ten minutes, if any.
/// "Timestamps[x] is Values[x]": the newest pair, whatever the order the
/// answer lists them in. No datapoint because CloudWatch failed
/// (`InternalError`, `Forbidden`) is an error, not an absence.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataResult.html>
pub async fn newest_datapoint(
    client: &Client,
    query: Query<'_>,
) -> PortResult<Option<(time::OffsetDateTime, f64)>> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode};
    use stop_core::ports::PortError;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (name, value) = query.dimension;
    let request = MetricDataQuery::builder()
        .id("newest")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(query.namespace)
                        .metric_name(query.metric)
                        .dimensions(Dimension::builder().name(name).value(value).build())
                        .build(),
                )
                .period(60)
                .stat(query.stat)
                .build(),
        )
        .build();
    let data = client
        .get_metric_data()
        .metric_data_queries(request)
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now + 60))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await
        .map_err(|e| port_error("cloudwatch:GetMetricData", e))?;
    let Some(result) = data.metric_data_results().first() else {
        return Ok(None);
    };
    let newest = result
        .timestamps()
        .iter()
        .zip(result.values())
        .max_by_key(|(at, _)| (at.secs(), at.subsec_nanos()));
    let Some((at, value)) = newest else {
        let what = format!("{} of {value}", query.metric);
        return match result.status_code() {
            Some(StatusCode::InternalError) => Err(PortError::Unavailable(format!(
                "cloudwatch:GetMetricData: InternalError for the {what}"
            ))),
            Some(StatusCode::Forbidden) => Err(PortError::Rejected(format!(
                "cloudwatch:GetMetricData: Forbidden for the {what}"
            ))),
            _ => Ok(None),
        };
    };
    Ok(time::OffsetDateTime::from_unix_timestamp(at.secs())
        .ok()
        .map(|at| (at, *value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use stop_core::ports::HealthChecks;

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

    fn health_answer(
        values: &[f64],
    ) -> aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::MetricDataResult;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut result = MetricDataResult::builder().id("health");
        for (i, v) in values.iter().enumerate() {
            result = result
                .timestamps(DateTime::from_secs(now - 60 * i64::try_from(i).unwrap()))
                .values(*v);
        }
        aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput::builder()
            .metric_data_results(result.build())
            .build()
    }

    #[tokio::test]
    async fn route53s_view_is_the_newest_minutes_minimum_of_healthcheckstatus() {
        for (values, healthy) in [
            (&[1.0, 0.0][..], Some(true)),
            (&[0.0, 1.0][..], Some(false)),
            (&[][..], None),
        ] {
            let get = mock!(Client::get_metric_data)
                .match_requests(|r| {
                    let stat = r.metric_data_queries()[0].metric_stat().unwrap();
                    let metric = stat.metric().unwrap();
                    metric.namespace() == Some("AWS/Route53")
                        && metric.metric_name() == Some("HealthCheckStatus")
                        && metric.dimensions()[0].name() == Some("HealthCheckId")
                        && metric.dimensions()[0].value() == Some("hc-1")
                        && stat.stat() == Some("Minimum")
                })
                .then_output(move || health_answer(values));
            let health = Route53HealthMetric::new(mock_client!(
                aws_sdk_cloudwatch,
                RuleMode::Sequential,
                [&get]
            ));
            let reading = health.status("hc-1").await.unwrap();
            assert_eq!(reading.map(|r| r.healthy), healthy, "{values:?}");
        }
    }
}
