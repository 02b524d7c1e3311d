//! The world a scenario starts from and the functions' configuration, as the
//! template sets them.

use super::*;

/// The standby stack's configuration for a scenario, as the template sets it.
pub fn standby_config(scenario: &Scenario) -> Result<Config, String> {
    let mut vars: HashMap<&str, String> = [
        ("SERVICE_NAME", SERVICE),
        ("AWS_REGION", STANDBY),
        ("ROLE", "SECONDARY"),
        ("PEER_REGION", PRIMARY),
        ("STOP_METRIC_NAMESPACE", "StopPattern"),
        ("STOP_METRIC_NAME", "FailoverToSecondary"),
        ("STOP_ALARM_NAME", ALARM),
        ("ASG_NAME", "orders-web"),
        ("ASG_MIN", "2"),
        ("ASG_DESIRED", "4"),
        ("ASG_MAX", "8"),
        ("DB_SECRET_ID", SECRET_ID),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    vars.insert("COOLDOWN_SECONDS", scenario.cooldown_s.to_string());
    fence_vars(scenario, &mut vars);
    vars.insert("AUTO_FAILOVER", scenario.auto_failover.to_string());
    if let Some((min, desired, max)) = scenario.failover_capacity {
        vars.insert("ASG_MIN", min.to_string());
        vars.insert("ASG_DESIRED", desired.to_string());
        vars.insert("ASG_MAX", max.to_string());
    }
    if scenario.path == Path::ArcOnly {
        for var in [
            "STOP_METRIC_NAMESPACE",
            "STOP_METRIC_NAME",
            "STOP_ALARM_NAME",
        ] {
            vars.remove(var);
        }
        // The promoter still has an alarm name to answer to; none will come.
        vars.insert("PROMOTER_ALARM_NAME", ALARM.to_owned());
    }
    if scenario.path.has_arc() {
        let endpoints: Vec<String> = ARC_REGIONS
            .iter()
            .map(|r| format!("{r}=https://arc.{r}.sim/v1"))
            .collect();
        vars.insert("ARC_CLUSTER_ENDPOINTS", endpoints.join(","));
        vars.insert("ARC_PRIMARY_CONTROL_ARN", PRIMARY_CTL.to_owned());
        vars.insert("ARC_STANDBY_CONTROL_ARN", STANDBY_CTL.to_owned());
    }
    match scenario.db {
        Db::None => {
            vars.remove("DB_SECRET_ID");
        }
        Db::RdsReplica => {
            vars.insert("DB_KIND", "rds-replica".into());
            vars.insert("DB_REPLICA_ID", "orders-replica".into());
            // Where a re-protect copy goes in each Region (template
            // parameters DbPrimaryCopy* and DbStandbyCopy*).
            for ([subnets, groups, parameters, key], region, key_id) in [
                (
                    [
                        "DB_PRIMARY_COPY_SUBNET_GROUP",
                        "DB_PRIMARY_COPY_SECURITY_GROUP_IDS",
                        "DB_PRIMARY_COPY_PARAMETER_GROUP",
                        "DB_PRIMARY_COPY_KMS_KEY_ARN",
                    ],
                    PRIMARY,
                    "0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
                ),
                (
                    [
                        "DB_STANDBY_COPY_SUBNET_GROUP",
                        "DB_STANDBY_COPY_SECURITY_GROUP_IDS",
                        "DB_STANDBY_COPY_PARAMETER_GROUP",
                        "DB_STANDBY_COPY_KMS_KEY_ARN",
                    ],
                    STANDBY,
                    "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
                ),
            ] {
                vars.insert(subnets, "orders-db".into());
                vars.insert(groups, "sg-0a1b2c3d4e5f60718".into());
                vars.insert(parameters, "orders-postgres16".into());
                vars.insert(key, format!("arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"));
            }
        }
        Db::AuroraGlobal => {
            vars.insert("DB_KIND", "aurora-global".into());
            vars.insert("DB_GLOBAL_CLUSTER_ID", "orders-global".into());
            vars.insert("DB_CLUSTER_ID", "orders-west".into());
        }
    }
    Config::from_lookup(|k| vars.get(k).cloned()).map_err(|e| e.to_string())
}

/// The fence's quorum, as the template sets it: a witness, or the policy
/// chosen without one.
fn fence_vars(scenario: &Scenario, vars: &mut HashMap<&str, String>) {
    if scenario.witness {
        vars.insert("WITNESS_REGION", model::WITNESS_REGION.to_owned());
    }
    if let Some(policy) = scenario.fence_policy {
        vars.insert("FENCE_POLICY", policy.to_owned());
    }
}

pub(super) fn region_info_config(
    scenario: &Scenario,
    region: &str,
    role: &str,
    peer: &str,
) -> Result<Config, String> {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("SERVICE_NAME", SERVICE.to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("ROLE", role.to_owned()),
        ("PEER_REGION", peer.to_owned()),
    ]);
    fence_vars(scenario, &mut vars);
    Config::from_lookup(|k| vars.get(k).cloned()).map_err(|e| e.to_string())
}

pub(super) fn cluster_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:cluster:{id}")
}

/// The world a scenario starts from: primary active, replica replicating,
/// standby group small, secret pointing at the primary's writer.
pub(super) fn initial_world(
    scenario: &Scenario,
    seed: u64,
    primary: &Region,
    standby: &Region,
) -> World {
    let mut w = World::new(seed, primary.clone(), standby.clone());
    // The fence record's copy in each Region, as each stack deploys it.
    let fence = stop_core::fence::FenceRecord::initial(SERVICE, primary).to_text();
    for region in [primary.clone(), standby.clone(), w.witness.clone()] {
        w.texts
            .insert((region, format!("/stop/{SERVICE}/fence")), fence.clone());
    }
    w.controls.insert(PRIMARY_CTL.into(), ControlState::On);
    w.controls.insert(STANDBY_CTL.into(), ControlState::Off);
    for region in ARC_REGIONS {
        let url = format!("https://arc.{region}.sim/v1");
        let parsed = region.parse().unwrap_or_else(|_| standby.clone());
        w.arc_endpoints.insert(url, (parsed, EndpointHealth::Up));
    }
    w.groups.insert(
        "orders-web".into(),
        GroupCapacity {
            min: 1,
            desired: 1,
            max: 2,
        },
    );
    let start = w.now;
    w.instances_ready_at.push(start);
    let lag_range = if scenario.db == Db::AuroraGlobal {
        model::GLOBAL_LAG_S
    } else {
        model::REPLICA_LAG_S
    };
    w.replication_lag = w.draw_s(lag_range);
    let lag_s = u32::try_from(w.replication_lag.whole_seconds()).unwrap_or(0);
    w.instances.insert(
        "orders-primary".into(),
        SimInstance {
            region: primary.clone(),
            status: ReplicaStatus {
                instance_id: "orders-primary".into(),
                replication: None,
                arn: format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:orders-primary"),
                source: None,
                status: "available".into(),
                replica_lag_seconds: None,
                endpoint: Some((
                    format!("orders-primary.c0ffee.{PRIMARY}.rds.amazonaws.com"),
                    5432,
                )),
                // Encrypted, as production databases are: a re-protect copy
                // then needs the KMS key of its own Region.
                engine: "postgres".into(),
                storage_encrypted: true,
                multi_az: true,
                subnet_group: Some("orders-db".into()),
                security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into()],
                parameter_group: Some("orders-postgres16".into()),
                parameter_apply_status: Some("in-sync".into()),
            },
            promoted_at: None,
            created_at: None,
            read_only: false,
        },
    );
    w.instances.insert(
        "orders-replica".into(),
        SimInstance {
            region: standby.clone(),
            status: ReplicaStatus {
                instance_id: "orders-replica".into(),
                replication: None,
                arn: format!("arn:aws:rds:{STANDBY}:{ACCOUNT}:db:orders-replica"),
                source: Some(format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:orders-primary")),
                status: "available".into(),
                replica_lag_seconds: Some(lag_s),
                endpoint: Some((
                    format!("orders-replica.c0ffee.{STANDBY}.rds.amazonaws.com"),
                    5432,
                )),
                // Encrypted, as production databases are: a re-protect copy
                // then needs the KMS key of its own Region.
                engine: "postgres".into(),
                storage_encrypted: true,
                multi_az: true,
                subnet_group: Some("orders-db".into()),
                security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into()],
                parameter_group: Some("orders-postgres16".into()),
                parameter_apply_status: Some("in-sync".into()),
            },
            promoted_at: None,
            created_at: None,
            read_only: false,
        },
    );
    w.global = Some(GlobalClusterStatus {
        global_cluster_id: "orders-global".into(),
        writer_cluster_arn: Some(cluster_arn(PRIMARY, "orders-east")),
        member_cluster_arns: vec![
            cluster_arn(PRIMARY, "orders-east"),
            cluster_arn(STANDBY, "orders-west"),
        ],
        synchronized: vec![cluster_arn(STANDBY, "orders-west")],
        status: "available".into(),
    });
    for (id, region) in [("orders-west", STANDBY), ("orders-east", PRIMARY)] {
        w.cluster_endpoints.insert(
            id.into(),
            (
                format!("{id}.cluster-c0ffee.{region}.rds.amazonaws.com"),
                5432,
            ),
        );
    }
    let secret = json!({
        "engine": "postgres",
        "host": format!("orders-primary.c0ffee.{PRIMARY}.rds.amazonaws.com"),
        "port": 5432,
        "username": "app",
        "password": DB_PASSWORD,
        "dbname": "orders",
    });
    w.secrets.insert(
        (standby.clone(), SECRET_ID.into()),
        SimSecret {
            versions: vec![("initial".into(), Sensitive::new(secret.to_string()))],
            replica_of: scenario.secret_replicated.then(|| PRIMARY.to_owned()),
        },
    );
    w.secrets.insert(
        (primary.clone(), SECRET_ID.into()),
        SimSecret {
            versions: vec![("initial".into(), Sensitive::new(secret.to_string()))],
            replica_of: None,
        },
    );
    w
}
