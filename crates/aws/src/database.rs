//! RDS in the standby Region: the cross-Region read replica and the Aurora
//! global database.

use aws_sdk_rds::Client;
use stop_core::ports::{Database, GlobalClusterStatus, PortError, PortResult, ReplicaStatus};

use crate::{LazyClient, port_error};

pub struct RdsDatabase {
    client: LazyClient<Client>,
}

impl RdsDatabase {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        RdsDatabase {
            client: client.into(),
        }
    }
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
}
