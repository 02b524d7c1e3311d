//! Auto Scaling in the standby Region.

use aws_sdk_autoscaling::Client;
use stop_core::ports::{Capacity, GroupCapacity, PortError, PortResult};

use crate::{LazyClient, port_error};

pub struct AutoScalingCapacity {
    client: LazyClient<Client>,
}

impl AutoScalingCapacity {
    pub fn new(client: impl Into<LazyClient<Client>>) -> Self {
        AutoScalingCapacity {
            client: client.into(),
        }
    }
}

fn count(value: Option<i32>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

fn signed(value: u32) -> PortResult<i32> {
    i32::try_from(value).map_err(|_| PortError::Rejected(format!("capacity {value} is too large")))
}

impl Capacity for AutoScalingCapacity {
    async fn describe_group(&self, group_name: &str) -> PortResult<GroupCapacity> {
        let output = self
            .client
            .get()
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group_name)
            .send()
            .await
            .map_err(|e| port_error("autoscaling:DescribeAutoScalingGroups", e))?;
        let group = output
            .auto_scaling_groups()
            .first()
            .ok_or_else(|| PortError::NotFound(format!("Auto Scaling group {group_name}")))?;
        Ok(GroupCapacity {
            min: count(group.min_size()),
            desired: count(group.desired_capacity()),
            max: count(group.max_size()),
        })
    }

    async fn set_group(&self, group_name: &str, capacity: GroupCapacity) -> PortResult<()> {
        self.client
            .get()
            .update_auto_scaling_group()
            .auto_scaling_group_name(group_name)
            .min_size(signed(capacity.min)?)
            .desired_capacity(signed(capacity.desired)?)
            .max_size(signed(capacity.max)?)
            .send()
            .await
            .map_err(|e| port_error("autoscaling:UpdateAutoScalingGroup", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::update_auto_scaling_group::UpdateAutoScalingGroupOutput;
    use aws_sdk_autoscaling::types::AutoScalingGroup;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn reads_and_sets_min_desired_and_max_together() {
        let describe = mock!(Client::describe_auto_scaling_groups)
            .match_requests(|r| r.auto_scaling_group_names() == ["orders-web"])
            .then_output(|| {
                DescribeAutoScalingGroupsOutput::builder()
                    .auto_scaling_groups(
                        AutoScalingGroup::builder()
                            .auto_scaling_group_name("orders-web")
                            .min_size(0)
                            .desired_capacity(0)
                            .max_size(1)
                            .build(),
                    )
                    .build()
            });
        let update = mock!(Client::update_auto_scaling_group)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("orders-web")
                    && r.min_size() == Some(2)
                    && r.desired_capacity() == Some(4)
                    && r.max_size() == Some(8)
            })
            .then_output(|| UpdateAutoScalingGroupOutput::builder().build());
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &update]
        );
        let asg = AutoScalingCapacity::new(client);
        assert_eq!(
            asg.describe_group("orders-web").await.unwrap(),
            GroupCapacity {
                min: 0,
                desired: 0,
                max: 1
            }
        );
        asg.set_group(
            "orders-web",
            GroupCapacity {
                min: 2,
                desired: 4,
                max: 8,
            },
        )
        .await
        .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_group_is_not_found() {
        let none = mock!(Client::describe_auto_scaling_groups)
            .then_output(|| DescribeAutoScalingGroupsOutput::builder().build());
        let client = mock_client!(aws_sdk_autoscaling, [&none]);
        let err = AutoScalingCapacity::new(client)
            .describe_group("nope")
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
    }
}
