//! RDS in the standby Region: the cross-Region read replica and the Aurora
//! global database.

use aws_sdk_rds::Client;
use stop_core::ports::{
    Database, GlobalClusterStatus, LagSample, NewReplica, PortError, PortResult, ReplicaStatus,
};

use crate::{LazyClient, port_error};

pub struct RdsDatabase {
    client: LazyClient<Client>,
    /// CloudWatch in the same Region, for `ReplicaLag`: only the promoter,
    /// which drains a replica before promoting it, has one.
    #[cfg(feature = "cloudwatch")]
    metrics: Option<LazyClient<aws_sdk_cloudwatch::Client>>,
}

impl RdsDatabase {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        RdsDatabase {
            client: client.into(),
            #[cfg(feature = "cloudwatch")]
            metrics: None,
        }
    }

    /// Reads `ReplicaLag` through this CloudWatch client (same Region).
    #[cfg(feature = "cloudwatch")]
    pub fn with_metrics(
        mut self,
        client: impl Into<LazyClient<aws_sdk_cloudwatch::Client>>,
    ) -> Self {
        self.metrics = Some(client.into());
        self
    }
}

/// The newest `ReplicaLag` datapoint (`AWS/RDS`, by `DBInstanceIdentifier`,
/// the Maximum of each minute) of the last ten minutes. 0 is caught up; -1 is
/// "replication not active", read as unknown, as is no datapoint at all.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html>
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html>
#[cfg(feature = "cloudwatch")]
async fn replica_lag(
    client: &aws_sdk_cloudwatch::Client,
    instance_id: &str,
) -> PortResult<Option<LagSample>> {
    let newest = crate::metrics::newest_datapoint(
        client,
        crate::metrics::Query {
            namespace: "AWS/RDS",
            metric: "ReplicaLag",
            dimension: ("DBInstanceIdentifier", instance_id),
            stat: "Maximum",
        },
    )
    .await?;
    let Some((at, value)) = newest else {
        return Ok(None);
    };
    // -1 (or any negative, or NaN): replication is not active; not a lag.
    if value.is_nan() || value < 0.0 {
        return Ok(Some(LagSample {
            seconds: 0,
            replicating: false,
            at,
        }));
    }
    Ok(Some(LagSample {
        replicating: true,
        // Whole seconds, rounded up: never report less lag than measured.
        seconds: value.ceil() as u32,
        at,
    }))
}

impl Database for RdsDatabase {
    async fn describe_instance(&self, instance_id: &str) -> PortResult<ReplicaStatus> {
        let output = self
            .client
            .get()
            .describe_db_instances()
            .db_instance_identifier(instance_id)
            .send()
            .await
            .map_err(|e| port_error("rds:DescribeDBInstances", e))?;
        let instance = output
            .db_instances()
            .first()
            .ok_or_else(|| PortError::NotFound(format!("DB instance {instance_id}")))?;
        Ok(ReplicaStatus {
            instance_id: instance_id.to_owned(),
            replication: instance
                .status_infos()
                .iter()
                .find(|info| info.status_type() == Some("read replication"))
                .and_then(|info| info.status())
                .map(str::to_owned),
            arn: instance.db_instance_arn().unwrap_or_default().to_owned(),
            // For a cross-Region replica this is the source's ARN.
            source: instance
                .read_replica_source_db_instance_identifier()
                .map(str::to_owned),
            status: instance
                .db_instance_status()
                .unwrap_or("unknown")
                .to_owned(),
            // Lag is a CloudWatch metric (ReplicaLag), not part of the describe.
            replica_lag_seconds: None,
            endpoint: instance
                .endpoint()
                .and_then(|e| Some((e.address()?.to_owned(), u16::try_from(e.port()?).ok()?))),
            engine: instance.engine().unwrap_or_default().to_owned(),
            storage_encrypted: instance.storage_encrypted() == Some(true),
            multi_az: instance.multi_az() == Some(true),
            subnet_group: instance
                .db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .map(str::to_owned),
            security_group_ids: instance
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .map(str::to_owned)
                .collect(),
            parameter_group: instance
                .db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name())
                .map(str::to_owned),
            parameter_apply_status: instance
                .db_parameter_groups()
                .first()
                .and_then(|g| g.parameter_apply_status())
                .map(str::to_owned),
        })
    }

    async fn promote_replica(
        &self,
        instance_id: &str,
        backup_retention_days: u8,
    ) -> PortResult<()> {
        self.client
            .get()
            .promote_read_replica()
            .db_instance_identifier(instance_id)
            .backup_retention_period(i32::from(backup_retention_days))
            .send()
            .await
            .map_err(|e| port_error("rds:PromoteReadReplica", e))?;
        Ok(())
    }

    async fn replica_lag(&self, instance_id: &str) -> PortResult<Option<LagSample>> {
        #[cfg(feature = "cloudwatch")]
        if let Some(metrics) = &self.metrics {
            return replica_lag(metrics.get(), instance_id).await;
        }
        Err(PortError::Rejected(format!(
            "no CloudWatch client to read the ReplicaLag of {instance_id}"
        )))
    }

    /// Called in the Region the copy goes to, with the source's ARN: a
    /// cross-Region read replica.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>
    /// The copy goes into the application's network: its subnet group and
    /// security groups, its parameter group where the engine takes one at
    /// creation, Multi-AZ as asked, and encrypted with this Region's key. The
    /// caller needs kms:CreateGrant and kms:DescribeKey on that key.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html>
    async fn create_replica(&self, replica: &NewReplica) -> PortResult<()> {
        self.client
            .get()
            .create_db_instance_read_replica()
            .db_instance_identifier(&replica.id)
            .source_db_instance_identifier(&replica.source_arn)
            .set_db_subnet_group_name(replica.subnet_group.clone())
            .set_vpc_security_group_ids(
                (!replica.security_group_ids.is_empty())
                    .then(|| replica.security_group_ids.clone()),
            )
            .set_db_parameter_group_name(replica.parameter_group.clone())
            .set_kms_key_id(replica.kms_key_arn.clone())
            .multi_az(replica.multi_az)
            .send()
            .await
            .map_err(|e| port_error("rds:CreateDBInstanceReadReplica", e))?;
        Ok(())
    }

    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBInstance.html>
    async fn reboot(&self, instance_id: &str) -> PortResult<()> {
        self.client
            .get()
            .reboot_db_instance()
            .db_instance_identifier(instance_id)
            .send()
            .await
            .map_err(|e| port_error("rds:RebootDBInstance", e))?;
        Ok(())
    }

    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html>
    async fn set_parameter_group(
        &self,
        instance_id: &str,
        parameter_group: &str,
    ) -> PortResult<()> {
        self.client
            .get()
            .modify_db_instance()
            .db_instance_identifier(instance_id)
            .db_parameter_group_name(parameter_group)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| port_error("rds:ModifyDBInstance", e))?;
        Ok(())
    }

    async fn describe_global_cluster(
        &self,
        global_cluster_id: &str,
    ) -> PortResult<GlobalClusterStatus> {
        let output = self
            .client
            .get()
            .describe_global_clusters()
            .global_cluster_identifier(global_cluster_id)
            .send()
            .await
            .map_err(|e| port_error("rds:DescribeGlobalClusters", e))?;
        let global = output
            .global_clusters()
            .first()
            .ok_or_else(|| PortError::NotFound(format!("global cluster {global_cluster_id}")))?;
        let members = global.global_cluster_members();
        Ok(GlobalClusterStatus {
            global_cluster_id: global_cluster_id.to_owned(),
            writer_cluster_arn: members
                .iter()
                .find(|m| m.is_writer() == Some(true))
                .and_then(|m| m.db_cluster_arn())
                .map(str::to_owned),
            member_cluster_arns: members
                .iter()
                .filter_map(|m| m.db_cluster_arn())
                .map(str::to_owned)
                .collect(),
            synchronized: members
                .iter()
                .filter(|m| {
                    m.synchronization_status()
                        .is_some_and(|s| s.as_str() == "connected")
                })
                .filter_map(|m| m.db_cluster_arn())
                .map(str::to_owned)
                .collect(),
            status: global.status().unwrap_or("unknown").to_owned(),
        })
    }

    async fn switchover_global_cluster(
        &self,
        global_cluster_id: &str,
        target: &str,
    ) -> PortResult<()> {
        self.client
            .get()
            .switchover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target)
            .send()
            .await
            .map_err(|e| port_error("rds:SwitchoverGlobalCluster", e))?;
        Ok(())
    }

    async fn failover_global_cluster_allow_data_loss(
        &self,
        global_cluster_id: &str,
        target: &str,
    ) -> PortResult<()> {
        self.client
            .get()
            .failover_global_cluster()
            .global_cluster_identifier(global_cluster_id)
            .target_db_cluster_identifier(target)
            // Explicit: without it RDS may turn the call into a switchover that
            // waits on the lost primary.
            .allow_data_loss(true)
            .send()
            .await
            .map_err(|e| port_error("rds:FailoverGlobalCluster", e))?;
        Ok(())
    }

    async fn cluster_writer_endpoint(&self, cluster_id: &str) -> PortResult<(String, u16)> {
        let output = self
            .client
            .get()
            .describe_db_clusters()
            .db_cluster_identifier(cluster_id)
            .send()
            .await
            .map_err(|e| port_error("rds:DescribeDBClusters", e))?;
        let cluster = output
            .db_clusters()
            .first()
            .ok_or_else(|| PortError::NotFound(format!("DB cluster {cluster_id}")))?;
        let host = cluster
            .endpoint()
            .ok_or_else(|| PortError::NotFound(format!("writer endpoint of {cluster_id}")))?;
        let port = cluster
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5432);
        Ok((host.to_owned(), port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::error::ErrorMetadata;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
    use aws_sdk_rds::operation::failover_global_cluster::FailoverGlobalClusterOutput;
    use aws_sdk_rds::operation::promote_read_replica::{
        PromoteReadReplicaError, PromoteReadReplicaOutput,
    };
    use aws_sdk_rds::operation::switchover_global_cluster::SwitchoverGlobalClusterOutput;
    use aws_sdk_rds::types::{DbInstance, Endpoint, GlobalCluster, GlobalClusterMember};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn describe_reads_the_source_status_and_endpoint() {
        let describe = mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some("orders-replica"))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("orders-replica")
                            .db_instance_arn("arn:aws:rds:us-west-2:111122223333:db:orders-replica")
                            .read_replica_source_db_instance_identifier(
                                "arn:aws:rds:us-east-1:111122223333:db:orders",
                            )
                            .db_instance_status("available")
                            .endpoint(
                                Endpoint::builder()
                                    .address("orders-replica.x.us-west-2.rds.amazonaws.com")
                                    .port(5432)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_rds, [&describe]);
        let status = RdsDatabase::new(client)
            .describe_instance("orders-replica")
            .await
            .unwrap();
        assert_eq!(
            status.source.as_deref(),
            Some("arn:aws:rds:us-east-1:111122223333:db:orders")
        );
        assert_eq!(status.status, "available");
        assert_eq!(
            status.endpoint,
            Some(("orders-replica.x.us-west-2.rds.amazonaws.com".into(), 5432))
        );
    }

    #[tokio::test]
    async fn promote_asks_for_the_backup_retention() {
        let promote = mock!(Client::promote_read_replica)
            .match_requests(|r| {
                r.db_instance_identifier() == Some("orders-replica")
                    && r.backup_retention_period() == Some(7)
            })
            .then_output(|| PromoteReadReplicaOutput::builder().build());
        let client = mock_client!(aws_sdk_rds, [&promote]);
        RdsDatabase::new(client)
            .promote_replica("orders-replica", 7)
            .await
            .unwrap();
        assert_eq!(promote.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttled_and_invalid_state_promotions_are_told_apart() {
        let throttled = mock!(Client::promote_read_replica).then_error(|| {
            PromoteReadReplicaError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let invalid = mock!(Client::promote_read_replica).then_error(|| {
            PromoteReadReplicaError::generic(
                ErrorMetadata::builder()
                    .code("InvalidDBInstanceState")
                    .message("not a read replica")
                    .build(),
            )
        });
        let client = mock_client!(
            aws_sdk_rds,
            RuleMode::Sequential,
            [&throttled, &invalid],
            |c| c.retry_config(aws_config::retry::RetryConfig::disabled())
        );
        let db = RdsDatabase::new(client);
        let first = db.promote_replica("orders-replica", 7).await.unwrap_err();
        assert!(first.is_retryable(), "{first:?}");
        let second = db.promote_replica("orders-replica", 7).await.unwrap_err();
        assert!(
            matches!(second, PortError::Rejected(ref m) if m.contains("InvalidDBInstanceState")),
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn the_cluster_writer_endpoint_is_its_endpoint_and_port() {
        use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
        use aws_sdk_rds::types::DbCluster;
        let describe = mock!(Client::describe_db_clusters)
            .match_requests(|r| r.db_cluster_identifier() == Some("orders-usw2"))
            .then_output(|| {
                DescribeDbClustersOutput::builder()
                    .db_clusters(
                        DbCluster::builder()
                            .db_cluster_identifier("orders-usw2")
                            .endpoint("orders-usw2.cluster-abc.us-west-2.rds.amazonaws.com")
                            .reader_endpoint(
                                "orders-usw2.cluster-ro-abc.us-west-2.rds.amazonaws.com",
                            )
                            .port(3306)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_rds, [&describe]);
        let endpoint = RdsDatabase::new(client)
            .cluster_writer_endpoint("orders-usw2")
            .await
            .unwrap();
        assert_eq!(
            endpoint,
            (
                "orders-usw2.cluster-abc.us-west-2.rds.amazonaws.com".to_owned(),
                3306
            )
        );
    }

    #[tokio::test]
    async fn global_cluster_writer_switchover_and_failover_with_data_loss() {
        let describe = mock!(Client::describe_global_clusters).then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(
                    GlobalCluster::builder()
                        .global_cluster_identifier("orders-global")
                        .status("available")
                        .global_cluster_members(
                            GlobalClusterMember::builder()
                                .db_cluster_arn(
                                    "arn:aws:rds:us-east-1:111122223333:cluster:orders-use1",
                                )
                                .is_writer(true)
                                .build(),
                        )
                        .global_cluster_members(
                            GlobalClusterMember::builder()
                                .db_cluster_arn(
                                    "arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2",
                                )
                                .is_writer(false)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let target = "arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2";
        let switchover = mock!(Client::switchover_global_cluster)
            .match_requests(move |r| r.target_db_cluster_identifier() == Some(target))
            .then_output(|| SwitchoverGlobalClusterOutput::builder().build());
        let failover = mock!(Client::failover_global_cluster)
            .match_requests(move |r| {
                r.target_db_cluster_identifier() == Some(target)
                    && r.allow_data_loss() == Some(true)
            })
            .then_output(|| FailoverGlobalClusterOutput::builder().build());
        let client = mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            [&describe, &switchover, &failover]
        );
        let db = RdsDatabase::new(client);
        let global = db.describe_global_cluster("orders-global").await.unwrap();
        assert_eq!(
            global.writer_cluster_arn.as_deref(),
            Some("arn:aws:rds:us-east-1:111122223333:cluster:orders-use1")
        );
        assert_eq!(global.member_cluster_arns.len(), 2);
        db.switchover_global_cluster("orders-global", target)
            .await
            .unwrap();
        db.failover_global_cluster_allow_data_loss("orders-global", target)
            .await
            .unwrap();
        assert_eq!((switchover.num_calls(), failover.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn create_replica_names_the_replica_and_passes_the_source_arn() {
        use aws_sdk_rds::operation::create_db_instance_read_replica::CreateDbInstanceReadReplicaOutput;
        const SOURCE: &str = "arn:aws:rds:us-west-2:111122223333:db:orders-replica";
        let create = mock!(Client::create_db_instance_read_replica)
            .match_requests(|r| {
                r.db_instance_identifier() == Some("orders-east")
                    && r.source_db_instance_identifier() == Some(SOURCE)
                    && r.db_subnet_group_name() == Some("orders-db")
                    && r.vpc_security_group_ids() == ["sg-0a1b2c3d4e5f60718"]
                    && r.kms_key_id() == Some(KEY)
                    && r.multi_az() == Some(true)
                    && r.db_parameter_group_name().is_none()
            })
            .then_output(|| CreateDbInstanceReadReplicaOutput::builder().build());
        const KEY: &str =
            "arn:aws:kms:us-east-1:111122223333:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c";
        let client = mock_client!(aws_sdk_rds, [&create]);
        RdsDatabase::new(client)
            .create_replica(&NewReplica {
                id: "orders-east".into(),
                source_arn: SOURCE.into(),
                subnet_group: Some("orders-db".into()),
                security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into()],
                parameter_group: None,
                kms_key_arn: Some(KEY.into()),
                multi_az: true,
            })
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_replica_id_is_a_refusal_not_a_retry() {
        // awsQuery: the code travels in the XML body, as RDS sends it.
        let exists = mock!(Client::create_db_instance_read_replica)
            .sequence()
            .http_status(
                400,
                Some(
                    r#"<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>DBInstanceAlreadyExists</Code><Message>DB instance already exists</Message></Error><RequestId>1</RequestId></ErrorResponse>"#
                        .into(),
                ),
            )
            .build();
        let client = mock_client!(aws_sdk_rds, RuleMode::Sequential, [&exists], |c| c
            .retry_config(aws_config::retry::RetryConfig::disabled()));
        let err = RdsDatabase::new(client)
            .create_replica(&NewReplica {
                id: "orders-east".into(),
                source_arn: "arn:aws:rds:us-west-2:111122223333:db:orders".into(),
                subnet_group: None,
                security_group_ids: Vec::new(),
                parameter_group: None,
                kms_key_arn: None,
                multi_az: false,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Rejected(ref m) if m.contains("DBInstanceAlreadyExists")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(exists.num_calls(), 1);
    }

    #[tokio::test]
    async fn without_a_cloudwatch_client_replica_lag_is_refused() {
        let client = mock_client!(aws_sdk_rds, Vec::<&aws_smithy_mocks::Rule>::new());
        let err = RdsDatabase::new(client)
            .replica_lag("orders-replica")
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Rejected(ref m) if m.contains("orders-replica")),
            "{err:?}"
        );
    }

    #[cfg(feature = "cloudwatch")]
    mod lag {
        use super::*;
        use aws_sdk_cloudwatch::operation::get_metric_data::{
            GetMetricDataError, GetMetricDataOutput,
        };
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{MetricDataResult, ScanBy, StatusCode};
        use time::macros::datetime;

        type Cw = aws_sdk_cloudwatch::Client;

        fn database(metrics: Cw) -> RdsDatabase {
            let rds = mock_client!(aws_sdk_rds, Vec::<&aws_smithy_mocks::Rule>::new());
            RdsDatabase::new(rds).with_metrics(metrics)
        }

        fn at(minute: time::OffsetDateTime) -> DateTime {
            DateTime::from_secs(minute.unix_timestamp())
        }

        /// Answers with these (minute, value) pairs, in this order.
        fn answering(points: &'static [(time::OffsetDateTime, f64)]) -> aws_smithy_mocks::Rule {
            mock!(Cw::get_metric_data).then_output(move || {
                let mut result = MetricDataResult::builder()
                    .id("lag")
                    .status_code(StatusCode::Complete);
                for (minute, value) in points {
                    result = result.timestamps(at(*minute)).values(*value);
                }
                GetMetricDataOutput::builder()
                    .metric_data_results(result.build())
                    .build()
            })
        }

        async fn lag_of(rule: &aws_smithy_mocks::Rule) -> PortResult<Option<LagSample>> {
            let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [rule], |c| c
                .retry_config(aws_config::retry::RetryConfig::disabled()));
            database(cw).replica_lag("orders-replica").await
        }

        #[tokio::test]
        async fn asks_for_the_per_minute_maximum_of_the_replicas_replica_lag() {
            let data = mock!(Cw::get_metric_data)
                .match_requests(|r| {
                    let [query] = r.metric_data_queries() else {
                        return false;
                    };
                    let Some(stat) = query.metric_stat() else {
                        return false;
                    };
                    let Some(metric) = stat.metric() else {
                        return false;
                    };
                    let [dimension] = metric.dimensions() else {
                        return false;
                    };
                    let window = r.start_time().zip(r.end_time());
                    metric.namespace() == Some("AWS/RDS")
                        && metric.metric_name() == Some("ReplicaLag")
                        && dimension.name() == Some("DBInstanceIdentifier")
                        && dimension.value() == Some("orders-replica")
                        && stat.stat() == Some("Maximum")
                        && stat.period() == Some(60)
                        && r.scan_by() == Some(&ScanBy::TimestampDescending)
                        && window.is_some_and(|(start, end)| start.secs() < end.secs())
                })
                .then_output(|| {
                    GetMetricDataOutput::builder()
                        .metric_data_results(
                            MetricDataResult::builder()
                                .id("lag")
                                .timestamps(at(datetime!(2026-11-22 03:04 UTC)))
                                .values(2.2)
                                .build(),
                        )
                        .build()
                });
            let sample = lag_of(&data).await.unwrap();
            assert_eq!(
                sample,
                Some(LagSample {
                    replicating: true,
                    seconds: 3,
                    at: datetime!(2026-11-22 03:04 UTC)
                })
            );
            assert_eq!(data.num_calls(), 1);
        }

        #[tokio::test]
        async fn the_newest_datapoint_wins_in_either_order() {
            let descending = answering(&[
                (datetime!(2026-11-22 03:04 UTC), 0.0),
                (datetime!(2026-11-22 03:03 UTC), 40.0),
                (datetime!(2026-11-22 03:02 UTC), 90.0),
            ]);
            let ascending = answering(&[
                (datetime!(2026-11-22 03:02 UTC), 90.0),
                (datetime!(2026-11-22 03:03 UTC), 40.0),
                (datetime!(2026-11-22 03:04 UTC), 0.0),
            ]);
            for rule in [&descending, &ascending] {
                let sample = lag_of(rule).await.unwrap();
                assert_eq!(
                    sample,
                    Some(LagSample {
                        replicating: true,
                        seconds: 0,
                        at: datetime!(2026-11-22 03:04 UTC)
                    })
                );
            }
        }

        #[tokio::test]
        async fn minus_one_is_not_replicating_even_after_older_readings() {
            let stopped = answering(&[
                (datetime!(2026-11-22 03:04 UTC), -1.0),
                (datetime!(2026-11-22 03:03 UTC), 5.0),
            ]);
            assert_eq!(
                lag_of(&stopped).await.unwrap(),
                Some(LagSample {
                    seconds: 0,
                    replicating: false,
                    at: datetime!(2026-11-22 03:04 UTC)
                })
            );
        }

        #[tokio::test]
        async fn no_datapoint_is_no_sample() {
            let empty = answering(&[]);
            assert_eq!(lag_of(&empty).await.unwrap(), None);
            let no_result =
                mock!(Cw::get_metric_data).then_output(|| GetMetricDataOutput::builder().build());
            assert_eq!(lag_of(&no_result).await.unwrap(), None);
        }

        #[tokio::test]
        async fn a_failed_query_without_data_is_an_error_not_no_sample() {
            let failed = mock!(Cw::get_metric_data).then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("lag")
                            .status_code(StatusCode::InternalError)
                            .build(),
                    )
                    .build()
            });
            let err = lag_of(&failed).await.unwrap_err();
            assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        }

        #[tokio::test]
        async fn throttling_is_throttled() {
            let throttled = mock!(Cw::get_metric_data).then_error(|| {
                GetMetricDataError::generic(
                    aws_sdk_cloudwatch::error::ErrorMetadata::builder()
                        .code("Throttling")
                        .message("Rate exceeded")
                        .build(),
                )
            });
            let err = lag_of(&throttled).await.unwrap_err();
            assert!(
                matches!(err, PortError::Throttled(ref m) if m.contains("cloudwatch:GetMetricData")),
                "{err:?}"
            );
            assert!(err.is_retryable());
        }
    }
}
