#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The SSM decision store over the wire, against moto server (an AWS protocol
//! emulator). `scripts/test` starts moto on a loopback port, sets
//! STOP_MOTO_ENDPOINT and runs these with `--include-ignored`.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use stop_aws::decisions::SsmDecisionStore;
use stop_core::decision::{Decision, Mode, Step, StepState};
use stop_core::memory::{CallLog, ManualClock, MemoryRoutingControls, MemoryStopSwitch};
use stop_core::operator::{Direction, Operator, OperatorRequest};
use stop_core::ports::{ControlState, DecisionStore};
use stop_core::switches::RetryPolicy;
use stop_testkit::{PRIMARY_CTL, STANDBY_CTL};
use time::macros::datetime;

fn endpoint() -> String {
    std::env::var("STOP_MOTO_ENDPOINT")
        .expect("STOP_MOTO_ENDPOINT: run through ./scripts/test, which starts moto server")
}

/// A parameter prefix no other test or run uses: tests share one moto server
/// and run in parallel.
fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/stop-test-{test}-{nanos}")
}

async fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

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

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn decision_records_round_trip_through_ssm_with_their_history() {
    let client = ssm_client(&endpoint()).await;
    let prefix = fresh_prefix("history");
    let store = SsmDecisionStore::new(client.clone(), &prefix);

    assert!(store.history("orders").await.unwrap().is_empty());
    store.store(&decision(1, "us-west-2")).await.unwrap();
    let mut progressed = decision(1, "us-west-2");
    progressed.record_step(
        Step::StopMetric,
        StepState::Done,
        datetime!(2026-11-22 03:00:01 UTC),
        "published 1",
    );
    store.store(&progressed).await.unwrap();
    store.store(&decision(2, "us-east-1")).await.unwrap();
    // A stale writer's late epoch-1 record does not win.
    store.store(&decision(1, "us-west-2")).await.unwrap();

    let history = store.history("orders").await.unwrap();
    assert_eq!(history.len(), 4);
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.epoch, 2);
    assert_eq!(current.active_region.as_str(), "us-east-1");
    assert!(store.history("payments").await.unwrap().is_empty());

    // What SSM holds is the plain JSON record, readable by any tool.
    let raw = client
        .get_parameter()
        .name(format!("{prefix}/orders/decision"))
        .send()
        .await
        .unwrap();
    let parameter = raw.parameter().unwrap();
    assert_eq!(parameter.version(), 4);
    let stored: Decision = serde_json::from_str(parameter.value().unwrap()).unwrap();
    assert_eq!(stored.epoch, 1);
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn a_press_records_its_decision_and_steps_in_ssm() {
    let client = ssm_client(&endpoint()).await;
    let prefix = fresh_prefix("press");
    let config = stop_testkit::standby_config(&[("DECISION_PARAMETER_PREFIX", prefix.as_str())]);
    let log = CallLog::default();
    let decisions = SsmDecisionStore::new(client, &config.decision_prefix);
    let stop = MemoryStopSwitch::new(log.clone());
    let controls = MemoryRoutingControls::new(
        log.clone(),
        &[
            (PRIMARY_CTL, ControlState::On),
            (STANDBY_CTL, ControlState::Off),
        ],
    );
    let clock = ManualClock::new(datetime!(2026-11-22 03:00 UTC));
    let operator = Operator {
        config: &config,
        decisions: &decisions,
        stop: &stop,
        controls: &controls,
        clock: &clock,
        retry: RetryPolicy::default(),
    };
    let request = OperatorRequest {
        service: None,
        reason: "drill against moto".into(),
        mode: Mode::Graceful,
        dry_run: false,
        override_safety: false,
        accept_data_loss: false,
    };
    let first = operator
        .press(Direction::Failover, &request, "alice")
        .await
        .unwrap();
    assert!(first.decided);
    let again = operator
        .press(Direction::Failover, &request, "alice")
        .await
        .unwrap();
    assert!(!again.decided);

    let history = decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.epoch, 1);
    assert_eq!(current.actor, "alice");
    assert_eq!(
        current.step(Step::StopMetric).map(|s| s.state),
        Some(StepState::Done)
    );
    // The decision, then its steps: two versions; the double click wrote none.
    assert_eq!(history.len(), 2);
}

// ----------------------------------------------------------- the data tier

mod data_tier {
    use std::sync::{Arc, Mutex};

    use aws_sdk_autoscaling::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;
    use stop_aws::capacity::AutoScalingCapacity;
    use stop_aws::database::RdsDatabase;
    use stop_aws::decisions::SsmDecisionStore;
    use stop_aws::secrets::SecretsManagerSecrets;
    use stop_core::decision::{Decision, Mode, Step, StepState};
    use stop_core::memory::{CallLog, ManualClock, MemoryDatabase, MemoryStopSwitch};
    use stop_core::ports::StopSwitch;
    use stop_core::ports::{Database, DecisionStore, NewReplica, PortError, ReplicaStatus};
    use stop_core::promoter::Promoter;
    use stop_core::rewriter::{Rewrite, Rewriter};
    use time::macros::datetime;

    use super::{endpoint, fresh_prefix};

    /// Keeps the body of every request a client sends, to assert what went on
    /// the wire where moto does not model the effect.
    #[derive(Debug, Clone, Default)]
    struct Wire(Arc<Mutex<Vec<String>>>);

    impl Intercept for Wire {
        fn name(&self) -> &'static str {
            "Wire"
        }
        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let body = context.request().body().bytes().unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(body).into_owned());
            Ok(())
        }
    }

    fn credentials() -> Credentials {
        Credentials::new("testing", "testing", None, None, "moto")
    }

    fn rds(region: &'static str, wire: Option<Wire>) -> aws_sdk_rds::Client {
        let mut config = aws_sdk_rds::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .endpoint_url(endpoint())
            .credentials_provider(credentials());
        if let Some(wire) = wire {
            config = config.interceptor(wire);
        }
        aws_sdk_rds::Client::from_conf(config.build())
    }

    fn unique(name: &str) -> String {
        let suffix = fresh_prefix(name).rsplit('-').next().unwrap().to_owned();
        format!("{name}-{}", &suffix[suffix.len() - 9..])
    }

    #[tokio::test]
    #[ignore = "needs moto server: ./scripts/test starts it"]
    async fn the_promoter_promotes_the_cross_region_replica_and_raises_the_group() {
        let primary_id = unique("orders");
        let replica_id = format!("{primary_id}-replica");
        let group = unique("orders-web");

        // The primary in us-east-1 and its read replica in us-west-2.
        let east = rds("us-east-1", None);
        let primary = east
            .create_db_instance()
            .db_instance_identifier(&primary_id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .master_username("app")
            .master_user_password("not-a-real-password")
            .allocated_storage(20)
            .send()
            .await
            .unwrap();
        let primary_arn = primary
            .db_instance()
            .unwrap()
            .db_instance_arn()
            .unwrap()
            .to_owned();
        let wire = Wire::default();
        let west = rds("us-west-2", Some(wire.clone()));
        west.create_db_instance_read_replica()
            .db_instance_identifier(&replica_id)
            .source_db_instance_identifier(&primary_arn)
            .db_instance_class("db.t3.micro")
            .send()
            .await
            .unwrap();

        // The standby group, empty.
        let asg = aws_sdk_autoscaling::Client::from_conf(
            aws_sdk_autoscaling::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-west-2"))
                .endpoint_url(endpoint())
                .credentials_provider(credentials())
                .build(),
        );
        asg.create_launch_configuration()
            .launch_configuration_name(&group)
            .image_id("ami-12c6146b")
            .instance_type("t3.micro")
            .send()
            .await
            .unwrap();
        asg.create_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .launch_configuration_name(&group)
            .min_size(0)
            .desired_capacity(0)
            .max_size(1)
            .availability_zones("us-west-2a")
            .send()
            .await
            .unwrap();

        let prefix = fresh_prefix("promoter");
        let config = stop_testkit::standby_config(&[
            ("DECISION_PARAMETER_PREFIX", prefix.as_str()),
            ("DB_REPLICA_ID", replica_id.as_str()),
            ("ASG_NAME", group.as_str()),
        ]);
        // The decision record and the fence record's copy (no witness: the
        // standby's), both in moto's SSM, as the promoter writes them.
        let ssm = super::ssm_client(&endpoint()).await;
        let decisions = stop_core::fence::Fenced {
            decisions: SsmDecisionStore::new(ssm.clone(), &prefix),
            copies: stop_core::fence::Copies::new(
                &config,
                vec![(
                    "us-west-2".parse().unwrap(),
                    stop_aws::state::SsmStateStore::new(ssm.clone()),
                )],
            ),
            clock: ManualClock::new(datetime!(2026-11-22 03:03 UTC)),
        };
        let database = RdsDatabase::new(west.clone());
        let capacity = AutoScalingCapacity::new(asg.clone());
        let clock = ManualClock::new(datetime!(2026-11-22 03:03 UTC));
        let now = datetime!(2026-11-22 03:03 UTC);
        let mut decision = Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
            "us-west-2".parse().unwrap(),
            "alarm:orders-stop-failover",
            "primary down",
            Mode::Ungraceful,
            now,
        );
        decisions.store(&decision).await.unwrap();
        // moto does not serve CloudWatch as this SDK speaks it: the STOP
        // metric's datapoint that confirms the alarm comes from memory.
        let stop = MemoryStopSwitch::new(CallLog::default());
        let switch = config.services[0].stop_metric.clone().unwrap();
        stop.publish(&switch, "orders", 1.0).await.unwrap();
        let promoter = Promoter {
            config: &config,
            decisions: &decisions,
            database: &database,
            peer_database: &database,
            capacity: &capacity,
            stop: &stop,
            clock: &clock,
            // Ungraceful: no SQL.
            replication: &stop_aws::replication::NoDatabaseAccess,
        };
        let steps = promoter.reconcile(&mut decision).await.unwrap();
        let state = |step: Step| steps.iter().find(|r| r.step == step).map(|r| r.state);
        assert_eq!(state(Step::Fence), Some(StepState::Done), "{steps:?}");
        let fence = stop_core::ports::StateStore::load(
            &stop_aws::state::SsmStateStore::new(ssm.clone()),
            &config.fence_parameter("orders"),
        )
        .await
        .unwrap()
        .expect("the fence step commits the fence record to its copy");
        let fence = stop_core::fence::FenceRecord::parse(&fence, "orders").unwrap();
        assert_eq!((fence.epoch, fence.writes_open), (1, false));
        assert_eq!(
            state(Step::Database),
            Some(StepState::InProgress),
            "{steps:?}"
        );
        assert_eq!(state(Step::Capacity), Some(StepState::Done), "{steps:?}");

        let promotes: Vec<String> = wire
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|body| body.contains("Action=PromoteReadReplica"))
            .cloned()
            .collect();
        assert_eq!(promotes.len(), 1, "{promotes:?}");
        assert!(
            promotes[0].contains(&format!("DBInstanceIdentifier={replica_id}")),
            "{promotes:?}"
        );
        assert!(
            promotes[0].contains("BackupRetentionPeriod=7"),
            "{promotes:?}"
        );

        let described = asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .unwrap();
        let group = &described.auto_scaling_groups()[0];
        assert_eq!(
            (group.min_size(), group.desired_capacity(), group.max_size()),
            (Some(2), Some(4), Some(8))
        );

        // The step is recorded in SSM, in progress until RDS reports the promotion.
        let history = decisions.history("orders").await.unwrap();
        let current = Decision::current(&history).unwrap();
        assert_eq!(
            current.step(Step::Database).unwrap().state,
            StepState::InProgress
        );
    }

    /// `create_replica` as the promoter calls it to re-protect a promoted
    /// writer: in the Region the copy goes to, with the source's ARN.
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>
    #[tokio::test]
    #[ignore = "needs moto server: ./scripts/test starts it"]
    async fn create_replica_makes_a_cross_region_replica_of_the_source_arn() {
        let source_id = unique("orders");
        let replica_id = format!("{source_id}-replica");
        let east = rds("us-east-1", None);
        let source = east
            .create_db_instance()
            .db_instance_identifier(&source_id)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .master_username("app")
            .master_user_password("not-a-real-password")
            .allocated_storage(20)
            .backup_retention_period(7)
            .send()
            .await
            .unwrap();
        let source_arn = source
            .db_instance()
            .unwrap()
            .db_instance_arn()
            .unwrap()
            .to_owned();
        assert!(source_arn.contains(":us-east-1:"), "{source_arn}");

        let key = "arn:aws:kms:us-west-2:123456789012:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c";
        // RDS (and moto) refuse a subnet group that does not exist in the
        // Region the copy goes to.
        let group = unique("orders-db");
        let refused = RdsDatabase::new(rds("us-west-2", None))
            .create_replica(&NewReplica {
                id: replica_id.clone(),
                source_arn: source_arn.clone(),
                subnet_group: Some(group.clone()),
                security_group_ids: Vec::new(),
                parameter_group: None,
                kms_key_arn: None,
                multi_az: false,
            })
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("DBSubnetGroupNotFoundFault"),
            "{refused}"
        );
        // moto builds a subnet group only from EC2 subnets (no EC2 client
        // here), so the copy below names none; the aws_smithy_mocks test in
        // database.rs checks DBSubnetGroupName on the request.
        let wire = Wire::default();
        let west = RdsDatabase::new(rds("us-west-2", Some(wire.clone())));
        west.create_replica(&NewReplica {
            id: replica_id.clone(),
            source_arn: source_arn.clone(),
            subnet_group: None,
            security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into(), "sg-0123456789abcdef0".into()],
            parameter_group: None,
            kms_key_arn: Some(key.into()),
            multi_az: true,
        })
        .await
        .unwrap();

        let creates: Vec<String> = wire
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|body| body.contains("Action=CreateDBInstanceReadReplica"))
            .cloned()
            .collect();
        assert_eq!(creates.len(), 1, "{creates:?}");
        // The copy goes inside the application's network, encrypted with
        // this Region's key: the placement is on the wire, as RDS's Query API
        // names it.
        for wanted in [
            "VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-0a1b2c3d4e5f60718".to_owned(),
            "VpcSecurityGroupIds.VpcSecurityGroupId.2=sg-0123456789abcdef0".to_owned(),
            "KmsKeyId=arn%3Aaws%3Akms%3Aus-west-2".to_owned(),
            "MultiAZ=true".to_owned(),
        ] {
            assert!(
                creates[0].contains(&wanted),
                "{wanted} not in {}",
                creates[0]
            );
        }
        assert!(
            !creates[0].contains("DBParameterGroupName"),
            "{}",
            creates[0]
        );

        let replica = west.describe_instance(&replica_id).await.unwrap();
        assert_eq!(replica.instance_id, replica_id);
        assert_eq!(replica.source.as_deref(), Some(source_arn.as_str()));
        assert!(replica.arn.contains(":us-west-2:"), "{}", replica.arn);
        // Nothing of that name in the source's Region.
        let err = RdsDatabase::new(east)
            .describe_instance(&replica_id)
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
    }

    #[tokio::test]
    #[ignore = "needs moto server: ./scripts/test starts it"]
    async fn the_rewriter_points_the_secret_at_the_new_writer_and_keeps_its_fields() {
        let secret_name = unique("orders-db");
        let sm = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-west-2"))
                .endpoint_url(endpoint())
                .credentials_provider(credentials())
                .build(),
        );
        sm.create_secret()
            .name(&secret_name)
            .secret_string(r#"{"username":"app","password":"pw-kept","engine":"postgres","host":"orders.abc.us-east-1.rds.amazonaws.com","port":5432,"dbname":"orders"}"#)
            .send()
            .await
            .unwrap();

        let prefix = fresh_prefix("rewriter");
        let config = stop_testkit::standby_config(&[
            ("DECISION_PARAMETER_PREFIX", prefix.as_str()),
            ("DB_SECRET_ID", secret_name.as_str()),
        ]);
        let decisions = SsmDecisionStore::new(super::ssm_client(&endpoint()).await, &prefix);
        let now = datetime!(2026-11-22 03:14 UTC);
        let decision = Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
            "us-west-2".parse().unwrap(),
            "alarm:orders-stop-failover",
            "primary down",
            Mode::Ungraceful,
            now,
        );
        decisions.store(&decision).await.unwrap();
        // moto does not model a finished promotion: the writer comes from memory.
        let database = MemoryDatabase::new(CallLog::default());
        database.add_instance(ReplicaStatus {
            instance_id: "orders-replica".into(),
            replication: None,
            arn: "arn:aws:rds:us-west-2:111122223333:db:orders-replica".into(),
            source: None,
            status: "available".into(),
            replica_lag_seconds: None,
            endpoint: Some((
                "orders-replica.abc.us-west-2.rds.amazonaws.com".into(),
                5432,
            )),
            ..Default::default()
        });
        let secrets = SecretsManagerSecrets::new(sm.clone());
        let clock = ManualClock::new(now);
        let rewriter = Rewriter {
            config: &config,
            decisions: &decisions,
            database: &database,
            secrets: &secrets,
            peer_database: &database,
            peer_secrets: &secrets,
            clock: &clock,
        };
        let first = rewriter.run().await.unwrap();
        assert!(
            matches!(first, Rewrite::Rewritten { epoch: 1, .. }),
            "{first:?}"
        );
        let again = rewriter.run().await.unwrap();
        assert!(matches!(again, Rewrite::Already { .. }), "{again:?}");

        let stored = sm
            .get_secret_value()
            .secret_id(&secret_name)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .unwrap();
        let value: serde_json::Value =
            serde_json::from_str(stored.secret_string().unwrap()).unwrap();
        assert_eq!(
            value["host"],
            "orders-replica.abc.us-west-2.rds.amazonaws.com"
        );
        assert_eq!(value["password"], "pw-kept");
        assert_eq!(value["dbname"], "orders");
        let versions = sm
            .list_secret_version_ids()
            .secret_id(&secret_name)
            .send()
            .await
            .unwrap();
        assert_eq!(versions.versions().len(), 2, "one original, one rewrite");
    }
}

// ------------------------------------------ the contracts, over the wire

/// The SSM adapter keeps the contract the in-memory store and the simulated
/// world keep (stop_testkit::contract), against moto's SSM.
#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn the_ssm_decision_store_keeps_the_decision_store_contract() {
    let client = ssm_client(&endpoint()).await;
    let store = SsmDecisionStore::new(client, &fresh_prefix("contract"));
    stop_testkit::contract::decision_stores_keep_history_and_the_size_limit(&store, "orders").await;
}

/// The SSM state store (the detector's state, readiness's report) keeps the
/// contract the in-memory and simulated stores keep, against moto's SSM.
#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn the_ssm_state_store_keeps_the_state_store_contract() {
    let client = ssm_client(&endpoint()).await;
    let store = stop_aws::state::SsmStateStore::new(client);
    stop_testkit::contract::state_stores_replace_and_keep_the_size_limit(
        &store,
        &fresh_prefix("state"),
    )
    .await;
}

/// The Secrets Manager adapter keeps PutSecretValue's token rules as the
/// in-memory and simulated secrets do, against moto's Secrets Manager.
#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn the_secrets_manager_adapter_keeps_the_token_rules() {
    let sm = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url(endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build(),
    );
    let name = format!(
        "orders-contract-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    sm.create_secret()
        .name(&name)
        .secret_string(r#"{"host":"old","port":5432}"#)
        .send()
        .await
        .unwrap();
    let secrets = stop_aws::secrets::SecretsManagerSecrets::new(sm);
    stop_testkit::contract::secrets_keep_the_token_rules(&secrets, &name).await;
}

/// region-info's fence over the wire: three Regions' copies of the fence
/// record in moto's SSM, read with GetParameter; a majority's newest epoch
/// decides, and a deleted copy is no evidence.
#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn the_fence_reads_a_majority_of_its_copies_over_the_wire() {
    use stop_aws::state::SsmStateStore;
    use stop_core::fence::{Copies, Fence, FenceRecord};
    use stop_core::ports::StateStore;
    let prefix = fresh_prefix("fence");
    let config = stop_testkit::standby_config(&[
        ("AWS_REGION", "us-east-1"),
        ("ROLE", "PRIMARY"),
        ("PEER_REGION", "us-west-2"),
        ("WITNESS_REGION", "eu-west-1"),
        ("DECISION_PARAMETER_PREFIX", prefix.as_str()),
    ]);
    let name = config.fence_parameter("orders");
    let client = |region: &'static str| {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region))
                .endpoint_url(endpoint())
                .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
                .build(),
        )
    };
    let regions = ["us-east-1", "us-west-2", "eu-west-1"];
    let deployed = FenceRecord::initial("orders", config.primary_region()).to_text();
    for region in regions {
        SsmStateStore::new(client(region))
            .save(&name, &deployed)
            .await
            .unwrap();
    }
    let fence = |_: ()| {
        let stores = regions
            .iter()
            .map(|r| (r.parse().unwrap(), SsmStateStore::new(client(r))))
            .collect();
        Fence::new(
            &config,
            Copies::new(&config, stores),
            ManualClock::new(datetime!(2026-11-22 03:00 UTC)),
        )
    };
    assert!(fence(()).check().await.open);

    // A failover committed to the standby's and the witness's copies.
    let moved = decision(1, "us-west-2");
    let record = FenceRecord::of(&moved).to_text();
    for region in ["us-west-2", "eu-west-1"] {
        SsmStateStore::new(client(region))
            .save(&name, &record)
            .await
            .unwrap();
    }
    let closed = fence(()).check().await;
    assert!(!closed.open, "{closed:?}");
    assert_eq!(closed.epoch, Some(1));

    // The witness's copy deleted: the primary's and the standby's still
    // answer, and the newer epoch still wins.
    client("eu-west-1")
        .delete_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    let still = fence(()).check().await;
    assert!(!still.open && still.epoch == Some(1), "{still:?}");
}
