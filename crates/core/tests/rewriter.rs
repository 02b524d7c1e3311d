#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The secret rewriter against in-memory ports.

use stop_core::Config;
use stop_core::decision::{DbRef, Decision, Mode, Step, StepState};
use stop_core::memory::{CallLog, ManualClock, MemoryDatabase, MemoryDecisionStore, MemorySecrets};
use stop_core::ports::{Clock, DecisionStore, GlobalClusterStatus, ReplicaStatus, Secrets};
use stop_core::rewriter::{Rewrite, RewriteError, Rewriter};
use time::macros::datetime;

const SECRET: &str = r#"{"username":"app","password":"s3cr3t-never-logged","engine":"postgres","host":"orders.abc.us-east-1.rds.amazonaws.com","port":5432,"dbInstanceIdentifier":"orders","dbname":"orders"}"#;
const NEW_HOST: &str = "orders-replica.abc.us-west-2.rds.amazonaws.com";

struct World {
    config: Config,
    log: CallLog,
    decisions: MemoryDecisionStore,
    database: MemoryDatabase,
    secrets: MemorySecrets,
    /// The primary Region's: only a failback may call them.
    peer_log: CallLog,
    peer_database: MemoryDatabase,
    peer_secrets: MemorySecrets,
    clock: ManualClock,
}

impl World {
    fn new(extra: &[(&str, &str)], promoted: bool) -> Self {
        let log = CallLog::default();
        let database = MemoryDatabase::new(log.clone());
        database.add_instance(ReplicaStatus {
            instance_id: "orders-replica".into(),
            replication: None,
            arn: "arn:aws:rds:us-west-2:111122223333:db:orders-replica".into(),
            source: (!promoted).then(|| "arn:aws:rds:us-east-1:111122223333:db:orders".to_owned()),
            status: "available".into(),
            replica_lag_seconds: None,
            endpoint: Some((NEW_HOST.into(), 5432)),
            ..Default::default()
        });
        let peer_log = CallLog::default();
        let world = World {
            config: stop_testkit::standby_config(extra),
            decisions: MemoryDecisionStore::new(log.clone()),
            database,
            secrets: MemorySecrets::new(log.clone()),
            peer_database: MemoryDatabase::new(peer_log.clone()),
            peer_secrets: MemorySecrets::new(peer_log.clone()),
            peer_log,
            clock: ManualClock::new(datetime!(2026-11-22 03:10 UTC)),
            log,
        };
        world.secrets.add("orders/db", SECRET, None);
        world.peer_secrets.add("orders/db", SECRET, None);
        world
    }

    async fn decide(&self, mode: Mode) {
        let now = self.clock.now();
        let decision = Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
            "us-west-2".parse().unwrap(),
            "alarm:orders-stop-failover",
            "down",
            mode,
            now,
        );
        self.decisions.store(&decision).await.unwrap();
    }

    fn rewriter(
        &self,
    ) -> Rewriter<'_, MemoryDecisionStore, MemoryDatabase, MemorySecrets, ManualClock> {
        Rewriter {
            config: &self.config,
            decisions: &self.decisions,
            database: &self.database,
            secrets: &self.secrets,
            peer_database: &self.peer_database,
            peer_secrets: &self.peer_secrets,
            clock: &self.clock,
        }
    }
}

async fn secret_json(world: &World) -> serde_json::Value {
    let current = world.secrets.get_current("orders/db").await.unwrap();
    serde_json::from_str(current.value.expose()).unwrap()
}

#[tokio::test]
async fn points_the_secret_at_the_promoted_writer_keeping_every_other_field() {
    let world = World::new(&[], true);
    world.decide(Mode::Ungraceful).await;
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(
            outcome,
            Rewrite::Rewritten {
                epoch: 1,
                stopped_replication: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    let secret = secret_json(&world).await;
    assert_eq!(secret["host"], NEW_HOST);
    assert_eq!(secret["dbInstanceIdentifier"], "orders-replica");
    assert_eq!(secret["password"], "s3cr3t-never-logged");
    assert_eq!(secret["engine"], "postgres");
    assert_eq!(secret["dbname"], "orders");

    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert_eq!(current.step(Step::Secret).unwrap().state, StepState::Done);
    assert_eq!(current.step(Step::Database).unwrap().state, StepState::Done);
    assert!(!format!("{outcome:?}{:?}{:?}", world.log.calls(), history).contains("s3cr3t"));
    // The writer is on record, unprotected, and the fence open.
    assert_eq!(current.data.writer.as_ref().unwrap().id, "orders-replica");
    assert!(!current.data.protected);
    assert!(current.data.writes_open);
    assert!(
        world.peer_log.calls().is_empty(),
        "a failover touched the primary: {:?}",
        world.peer_log.calls()
    );
}

#[tokio::test]
async fn a_failback_points_both_regions_secrets_at_the_primary_copy() {
    // The primary's secret has its own id there (an ARN names its Region).
    let world = World::new(&[("DB_PRIMARY_SECRET_ID", "orders/db-east")], true);
    world.peer_secrets.add("orders/db-east", SECRET, None);
    let now = world.clock.now();
    // Failed over to orders-replica, re-protected by a copy in us-east-1,
    // then failed back: epoch 2 makes the copy the writer.
    let mut failover = Decision::initial("orders", &"us-east-1".parse().unwrap(), now).next(
        "us-west-2".parse().unwrap(),
        "cognito:alice",
        "drill",
        Mode::Graceful,
        now,
    );
    failover.data.writer = Some(DbRef {
        region: "us-west-2".parse().unwrap(),
        id: "orders-replica".into(),
    });
    failover.data.copy = Some(DbRef {
        region: "us-east-1".parse().unwrap(),
        id: "orders-us-east-1-e1".into(),
    });
    let failback = failover.next(
        "us-east-1".parse().unwrap(),
        "cognito:alice",
        "back",
        Mode::Graceful,
        now,
    );
    world.decisions.store(&failback).await.unwrap();
    const BACK: &str = "orders-us-east-1-e1.abc.us-east-1.rds.amazonaws.com";
    world.peer_database.add_instance(ReplicaStatus {
        instance_id: "orders-us-east-1-e1".into(),
        replication: None,
        arn: "arn:aws:rds:us-east-1:111122223333:db:orders-us-east-1-e1".into(),
        source: None,
        status: "available".into(),
        replica_lag_seconds: None,
        endpoint: Some((BACK.into(), 5432)),
        ..Default::default()
    });
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(outcome, Rewrite::Rewritten { epoch: 2, .. }),
        "{outcome:?}"
    );
    for (secrets, id) in [
        (&world.secrets, "orders/db"),
        (&world.peer_secrets, "orders/db-east"),
    ] {
        let current = secrets.get_current(id).await.unwrap();
        let value: serde_json::Value = serde_json::from_str(current.value.expose()).unwrap();
        assert_eq!(value["host"], BACK);
    }
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert!(current.data.writes_open);
    assert!(
        !current.data.protected,
        "the promoted copy has no copy of its own yet"
    );
    assert_eq!(current.data.copy, None);
}

#[tokio::test]
async fn a_repeat_is_a_no_op() {
    let world = World::new(&[], true);
    world.decide(Mode::Ungraceful).await;
    world.rewriter().run().await.unwrap();
    let writes = (
        world.log.count("secrets.put_value"),
        world.log.count("decisions.store"),
    );
    let again = world.rewriter().run().await.unwrap();
    assert!(matches!(again, Rewrite::Already { .. }), "{again:?}");
    assert_eq!(
        (
            world.log.count("secrets.put_value"),
            world.log.count("decisions.store")
        ),
        writes
    );
    assert_eq!(world.secrets.version_count("orders/db"), 2);
}

#[tokio::test]
async fn waits_while_the_replica_is_not_yet_the_writer_or_this_region_is_not_active() {
    let world = World::new(&[], false);
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(&outcome, Rewrite::Waiting { reason } if reason.contains("no decision")),
        "{outcome:?}"
    );
    world.decide(Mode::Ungraceful).await;
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(&outcome, Rewrite::Waiting { reason } if reason.contains("not the writer")),
        "{outcome:?}"
    );
    assert_eq!(world.log.count("secrets."), 0);
}

#[tokio::test]
async fn a_replica_secret_is_made_standalone_first_in_an_ungraceful_failover() {
    let world = World::new(&[], true);
    world.secrets.add("orders/db", SECRET, Some("us-east-1"));
    world.decide(Mode::Ungraceful).await;
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(
            outcome,
            Rewrite::Rewritten {
                stopped_replication: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    let calls = world.log.calls();
    let stop = calls
        .iter()
        .position(|c| c.starts_with("secrets.stop_replication"))
        .unwrap();
    let put = calls
        .iter()
        .position(|c| c.starts_with("secrets.put_value"))
        .unwrap();
    assert!(stop < put, "{calls:?}");
}

#[tokio::test]
async fn a_replica_secret_in_a_graceful_failover_is_written_in_its_primary_region() {
    // Both Regions are up: the primary's secret is written, replication
    // carries it; the replica is neither forced standalone nor written.
    let world = World::new(&[], true);
    world.secrets.add("orders/db", SECRET, Some("us-east-1"));
    world.decide(Mode::Graceful).await;
    let outcome = world.rewriter().run().await.unwrap();
    assert!(
        matches!(
            outcome,
            Rewrite::Rewritten {
                stopped_replication: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        world.log.count("secrets.stop_replication") + world.log.count("secrets.put_value"),
        0,
        "the replica is left to replication"
    );
    assert_eq!(world.peer_log.count("secrets.put_value"), 1);
    let primary = world.peer_secrets.get_current("orders/db").await.unwrap();
    let value: serde_json::Value = serde_json::from_str(primary.value.expose()).unwrap();
    assert_eq!(value["host"], NEW_HOST);
    // Not done (and the fence not open) until this Region's copy has it.
    let history = world.decisions.history("orders").await.unwrap();
    let current = Decision::current(&history).unwrap();
    assert!(!current.is_done(Step::Secret));
    assert!(!current.data.writes_open);

    // A replica of a third Region's secret is refused, not forced.
    let world = World::new(&[], true);
    world.secrets.add("orders/db", SECRET, Some("eu-west-1"));
    world.decide(Mode::Graceful).await;
    let err = world.rewriter().run().await.unwrap_err();
    assert!(
        matches!(err, RewriteError::GracefulReplica(ref r) if r == "eu-west-1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_secret_that_is_not_json_is_refused_without_echoing_it() {
    let world = World::new(&[], true);
    world
        .secrets
        .add("orders/db", "plain-password-s3cr3t", None);
    world.decide(Mode::Ungraceful).await;
    let err = world.rewriter().run().await.unwrap_err();
    assert_eq!(err, RewriteError::NotAJsonObject);
    assert!(!err.to_string().contains("s3cr3t"));
}

#[tokio::test]
async fn aurora_points_at_the_cluster_writer_endpoint() {
    let world = World::new(
        &[
            ("DB_KIND", "aurora-global"),
            ("DB_GLOBAL_CLUSTER_ID", "orders-global"),
            ("DB_CLUSTER_ID", "orders-usw2"),
        ],
        true,
    );
    world.secrets.add(
        "orders/db",
        r#"{"host":"orders-use1.cluster-abc.us-east-1.rds.amazonaws.com","port":3306,"dbClusterIdentifier":"orders-use1","password":"x"}"#,
        None,
    );
    world.database.add_global(GlobalClusterStatus {
        global_cluster_id: "orders-global".into(),
        writer_cluster_arn: Some("arn:aws:rds:us-west-2:111122223333:cluster:orders-usw2".into()),
        member_cluster_arns: vec![],
        synchronized: vec![],
        status: "available".into(),
    });
    world.database.cluster_endpoints.lock().unwrap().insert(
        "orders-usw2".into(),
        (
            "orders-usw2.cluster-abc.us-west-2.rds.amazonaws.com".into(),
            3306,
        ),
    );
    world.decide(Mode::Graceful).await;
    world.rewriter().run().await.unwrap();
    let secret = secret_json(&world).await;
    assert_eq!(
        secret["host"],
        "orders-usw2.cluster-abc.us-west-2.rds.amazonaws.com"
    );
    assert_eq!(secret["dbClusterIdentifier"], "orders-usw2");
}
