//! AWS's documented rules that the code relies on, written once: the in-memory
//! ports ([`crate::memory`]), the simulated world (`stop-sim`) and, where a
//! rule can be checked before the call, the SDK adapters (`stop-aws`) all
//! apply these, so the three cannot drift apart. Each cites its page.

use crate::decision::Decision;
use crate::ports::{GroupCapacity, NewReplica, PortError, PortResult, ReplicaStatus, Sensitive};

/// An SSM Standard parameter holds at most 4 KB; a larger `PutParameter` is a
/// `ValidationException`.
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>
pub const SSM_STANDARD_MAX_BYTES: usize = 4096;

/// The decision record as SSM stores it: its JSON, refused if it would not fit.
pub fn decision_value(decision: &Decision) -> PortResult<String> {
    let value = serde_json::to_string(decision)
        .map_err(|e| PortError::Rejected(format!("decision record: {e}")))?;
    if value.len() > SSM_STANDARD_MAX_BYTES {
        return Err(PortError::Rejected(format!(
            "ValidationException: the decision record is {} bytes; a Standard parameter holds {}",
            value.len(),
            SSM_STANDARD_MAX_BYTES
        )));
    }
    Ok(value)
}

/// Any other text kept in a Standard parameter (the detector's and
/// readiness's state): refused past 4 KB, as SSM would.
pub fn fits_standard_parameter(name: &str, text: &str) -> PortResult<()> {
    if text.len() > SSM_STANDARD_MAX_BYTES {
        return Err(PortError::Rejected(format!(
            "ValidationException: {name} would be {} bytes; a Standard parameter holds {}",
            text.len(),
            SSM_STANDARD_MAX_BYTES
        )));
    }
    Ok(())
}

/// Why Auto Scaling would refuse `UpdateAutoScalingGroup` with these sizes,
/// if it would: the desired capacity "must be greater than or equal to the
/// minimum size of the group and less than or equal to the maximum size"
/// (`ValidationError`).
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html>
pub fn group_refusal(group_name: &str, capacity: &GroupCapacity) -> Option<PortError> {
    (!(capacity.min <= capacity.desired && capacity.desired <= capacity.max)).then(|| {
        PortError::Rejected(format!(
            "ValidationError: {group_name}: desired capacity {} must be between the minimum {} and the maximum {}",
            capacity.desired, capacity.min, capacity.max
        ))
    })
}

/// Why RDS would refuse `PromoteReadReplica` on this instance, if it would:
/// only a read replica can be promoted, and only while it is `available`
/// (`InvalidDBInstanceState` otherwise, e.g. while `backing-up`).
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html>
pub fn promote_refusal(instance: &ReplicaStatus) -> Option<PortError> {
    if instance.source.is_none() {
        return Some(PortError::Rejected(format!(
            "InvalidDBInstanceState: {} is not a read replica",
            instance.instance_id
        )));
    }
    if instance.status != "available" {
        return Some(PortError::Rejected(format!(
            "InvalidDBInstanceState: {} is {}",
            instance.instance_id, instance.status
        )));
    }
    None
}

/// Whether RDS refuses a cross-Region `CreateDBInstanceReadReplica` of
/// `source` into `region`:
/// - an encrypted source needs a key of the destination Region: "If you create
///   an encrypted read replica in a different Amazon Web Services Region, then
///   you must specify a KMS key identifier for the destination Amazon Web
///   Services Region. KMS keys are specific to the Amazon Web Services Region
///   that they are created in" (AWS answers InvalidParameterCombination);
/// - a DB parameter group at creation is "only supported for MySQL DB
///   instances for cross-Region read replicas", and for Db2 and Oracle.
///
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>
pub fn cross_region_replica_refusal(
    source: &ReplicaStatus,
    replica: &NewReplica,
    region: &str,
) -> Option<PortError> {
    if source.storage_encrypted {
        let key_here = replica
            .kms_key_arn
            .as_deref()
            .is_some_and(|k| k.split(':').nth(3) == Some(region));
        if !key_here {
            return Some(PortError::Rejected(format!(
                "InvalidParameterCombination: {} is encrypted; a cross-Region read replica needs KmsKeyId, a key in {region}",
                source.instance_id
            )));
        }
    }
    if replica.parameter_group.is_some() && !takes_parameter_group_at_creation(&source.engine) {
        return Some(PortError::Rejected(format!(
            "InvalidParameterCombination: a DB parameter group is not supported at creation of a cross-Region read replica of {}",
            source.engine
        )));
    }
    None
}

/// MySQL, Db2 and Oracle: the engines whose cross-Region read replica takes
/// `DBParameterGroupName` in the create call.
pub fn takes_parameter_group_at_creation(engine: &str) -> bool {
    engine == "mysql" || engine.starts_with("db2") || engine.starts_with("oracle")
}

/// Whether a standalone instance takes writes: `available`, or
/// `backing-up`, the first automated backup a promotion starts. RDS keeps
/// serving through a backup ("storage I/O might be suspended briefly while
/// the backup process initializes (typically under a few seconds)"), so the
/// fence need not stay closed for the hours a first backup of a large
/// database can take.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ManagingAutomatedBackups.html>
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html>
pub fn takes_writes(instance: &ReplicaStatus) -> bool {
    instance.source.is_none() && matches!(instance.status.as_str(), "available" | "backing-up")
}

/// Why RDS would refuse `SwitchoverGlobalCluster` sent to `called_in`'s
/// endpoint, if it would: AWS's procedure sends it "in the AWS Region where
/// the primary DB cluster of the Aurora global database is running" (a
/// failover, by contrast, goes to the secondary's Region).
/// <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html>
pub fn switchover_refusal(called_in: &str, writer_cluster_arn: Option<&str>) -> Option<PortError> {
    let writer_region = writer_cluster_arn.and_then(|arn| arn.split(':').nth(3));
    (writer_region != Some(called_in)).then(|| {
        PortError::Rejected(format!(
            "InvalidGlobalClusterStateFault: SwitchoverGlobalCluster goes to the primary cluster's Region ({}), not {called_in}",
            writer_region.unwrap_or("unknown")
        ))
    })
}

/// `DescribeSecret`'s `PrimaryRegion` names the Region of the secret's
/// primary; a secret is a replica only when that is another Region.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html>
pub fn replica_of(primary_region: Option<&str>, own_region: &str) -> Option<String> {
    primary_region
        .filter(|p| !p.is_empty() && *p != own_region)
        .map(str::to_owned)
}

/// `PutSecretValue` on a secret's versions (oldest first, the last is
/// `AWSCURRENT`): a token already used with the same value is a no-op, with
/// another value an error; a replica cannot be written. `Ok(true)` when a
/// version was added.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>
pub fn put_secret_value(
    versions: &mut Vec<(String, Sensitive)>,
    is_replica: bool,
    secret_id: &str,
    token: &str,
    value: &Sensitive,
) -> PortResult<bool> {
    if is_replica {
        return Err(PortError::Rejected(format!(
            "InvalidRequestException: {secret_id} is a replica secret and cannot be written"
        )));
    }
    match versions.iter().find(|(t, _)| t == token) {
        Some((_, existing)) if existing == value => Ok(false),
        Some(_) => Err(PortError::Rejected(format!(
            "ResourceExistsException: token {token} was used with another value"
        ))),
        None => {
            versions.push((token.to_owned(), value.clone()));
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_refuses_a_cross_region_copy_of_an_encrypted_source_without_a_key_there() {
        let source = ReplicaStatus {
            instance_id: "orders".into(),
            engine: "postgres".into(),
            storage_encrypted: true,
            ..ReplicaStatus::default()
        };
        let copy = |key: Option<&str>, group: Option<&str>| NewReplica {
            id: "orders-us-east-1-e1".into(),
            source_arn: "arn:aws:rds:us-west-2:111122223333:db:orders".into(),
            subnet_group: Some("orders-db".into()),
            security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into()],
            parameter_group: group.map(str::to_owned),
            kms_key_arn: key.map(str::to_owned),
            multi_az: false,
        };
        let east = "arn:aws:kms:us-east-1:111122223333:key/k";
        let west = "arn:aws:kms:us-west-2:111122223333:key/k";
        let refused =
            |c: &NewReplica, s: &ReplicaStatus| cross_region_replica_refusal(s, c, "us-east-1");
        assert!(refused(&copy(None, None), &source).is_some(), "no key");
        assert!(
            refused(&copy(Some(west), None), &source).is_some(),
            "the source Region's key"
        );
        assert!(refused(&copy(Some(east), None), &source).is_none());
        let plain = ReplicaStatus {
            storage_encrypted: false,
            ..source.clone()
        };
        assert!(
            refused(&copy(None, None), &plain).is_none(),
            "unencrypted needs no key"
        );
        // A parameter group at creation: MySQL yes, PostgreSQL no.
        assert!(refused(&copy(Some(east), Some("g")), &source).is_some());
        let mysql = ReplicaStatus {
            engine: "mysql".into(),
            ..source
        };
        assert!(refused(&copy(Some(east), Some("g")), &mysql).is_none());
    }

    #[test]
    fn a_secret_is_a_replica_only_of_another_region() {
        assert_eq!(
            replica_of(Some("us-east-1"), "us-west-2").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(replica_of(Some("us-west-2"), "us-west-2"), None);
        assert_eq!(replica_of(None, "us-west-2"), None);
        assert_eq!(replica_of(Some(""), "us-west-2"), None);
    }

    #[test]
    fn put_secret_value_follows_the_token_rules() {
        let mut versions = Vec::new();
        let a = Sensitive::new("a");
        let b = Sensitive::new("b");
        assert_eq!(
            put_secret_value(&mut versions, false, "s", "t1", &a),
            Ok(true)
        );
        assert_eq!(
            put_secret_value(&mut versions, false, "s", "t1", &a),
            Ok(false)
        );
        assert!(put_secret_value(&mut versions, false, "s", "t1", &b).is_err());
        assert!(put_secret_value(&mut versions, true, "s", "t2", &b).is_err());
        assert_eq!(versions.len(), 1);
    }
}
