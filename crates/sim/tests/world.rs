#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The simulated services behave as the model says: dark Regions, timeouts,
//! the ARC safety rule, Aurora's switchover needing both Regions, Secrets
//! Manager tokens and replicas.

use stop_core::config::{ArcEndpoint, Region};
use stop_core::ports::*;
use stop_sim::ports::*;
use stop_sim::world::{EndpointHealth, Sim, SimSecret, World};
use time::Duration;

fn region(name: &str) -> Region {
    name.parse().unwrap()
}

fn world() -> Sim {
    Sim::new(World::new(1, region("us-east-1"), region("us-west-2")))
}

#[tokio::test]
async fn a_dark_region_fails_every_call_after_the_connect_timeout_and_counts_it() {
    let sim = world();
    sim.with(|w| w.dark.insert(region("us-east-1")));
    let store = SimDecisionStore(Bound::new(&sim, &region("us-east-1")));
    let before = sim.now();
    let err = store.history("orders").await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)));
    assert_eq!(sim.now() - before, Duration::seconds(2));
    assert_eq!(sim.with(|w| w.calls_to(&region("us-east-1"))), 1);
    // The standby answers meanwhile.
    let standby = SimDecisionStore(Bound::new(&sim, &region("us-west-2")));
    assert!(standby.history("orders").await.unwrap().is_empty());
}

#[tokio::test]
async fn past_the_invocation_deadline_nothing_happens() {
    let sim = world();
    sim.with(|w| w.deadline = Some(w.now));
    let capacity = SimCapacity(Bound::new(&sim, &region("us-west-2")));
    assert!(capacity.describe_group("web").await.is_err());
    assert!(sim.with(|w| w.timed_out));
    assert_eq!(sim.with(|w| w.total_calls()), 0);
}

#[tokio::test]
async fn arc_keeps_one_control_on_and_a_hanging_endpoint_costs_the_attempt_timeout() {
    let sim = world();
    let url = "https://arc.eu-west-1.sim/v1".to_owned();
    sim.with(|w| {
        w.controls.insert("p".into(), ControlState::On);
        w.controls.insert("s".into(), ControlState::Off);
        w.arc_endpoints
            .insert(url.clone(), (region("eu-west-1"), EndpointHealth::Up));
    });
    let arc = SimRoutingControls(sim.clone());
    let endpoint = ArcEndpoint {
        region: region("eu-west-1"),
        url: url.clone(),
    };
    let all_off = [("p".to_owned(), ControlState::Off)];
    let err = arc
        .update_states(&endpoint, &all_off, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Rejected(_)));
    arc.update_states(&endpoint, &all_off, &["rule".into()])
        .await
        .unwrap();
    assert_eq!(
        arc.get_state(&endpoint, "p").await.unwrap(),
        ControlState::Off
    );

    sim.with(|w| {
        w.arc_endpoints
            .insert(url, (region("eu-west-1"), EndpointHealth::Hanging))
    });
    let before = sim.now();
    assert!(
        arc.get_state(&endpoint, "p")
            .await
            .unwrap_err()
            .is_retryable()
    );
    assert!(sim.now() - before >= Duration::seconds(5));
}

#[tokio::test]
async fn a_switchover_needs_both_regions_and_a_failover_cuts_replication() {
    let sim = world();
    let east = "arn:aws:rds:us-east-1:111122223333:cluster:east".to_owned();
    let west = "arn:aws:rds:us-west-2:111122223333:cluster:west".to_owned();
    sim.with(|w| {
        w.global = Some(GlobalClusterStatus {
            global_cluster_id: "g".into(),
            writer_cluster_arn: Some(east.clone()),
            member_cluster_arns: vec![east.clone(), west.clone()],
            synchronized: vec![west.clone()],
            status: "available".into(),
        });
        w.dark.insert(region("us-east-1"));
    });
    let db = SimDatabase(Bound::new(&sim, &region("us-west-2")));
    let err = db.switchover_global_cluster("g", &west).await.unwrap_err();
    assert!(matches!(err, PortError::Rejected(m) if m.contains("needs both Regions")));
    db.failover_global_cluster_allow_data_loss("g", &west)
        .await
        .unwrap();
    // The cut leaves the old writer's Region behind; AWS still lists the old
    // writer, but it does not replicate until its Region is back.
    let (cuts, synchronized) =
        sim.with(|w| (w.cuts.clone(), w.global.clone().unwrap().synchronized));
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0].1, region("us-east-1"));
    assert!(!synchronized.contains(&east), "{synchronized:?}");
    assert_eq!(
        db.describe_global_cluster("g").await.unwrap().status,
        "failing-over"
    );
    // A second call while it moves is refused, and the move completes on time.
    assert!(
        db.failover_global_cluster_allow_data_loss("g", &west)
            .await
            .is_err()
    );
    sim.with(|w| w.now += Duration::seconds(200));
    assert_eq!(sim.with(World::settle), vec!["g".to_owned()]);
    let global = db.describe_global_cluster("g").await.unwrap();
    assert_eq!(global.writer_cluster_arn.as_deref(), Some(west.as_str()));
    assert_eq!(sim.with(|w| w.writer_moves), 1);
    // Dark, the old Region does not rejoin; back, it does after a while.
    sim.with(|w| w.now += Duration::hours(3));
    sim.with(World::settle);
    assert!(
        !db.describe_global_cluster("g")
            .await
            .unwrap()
            .synchronized
            .contains(&east)
    );
    sim.with(|w| w.dark.remove(&region("us-east-1")));
    sim.with(World::settle);
    sim.with(|w| w.now += Duration::hours(1));
    sim.with(World::settle);
    let global = db.describe_global_cluster("g").await.unwrap();
    assert!(global.member_cluster_arns.contains(&east), "{global:?}");
    assert!(global.synchronized.contains(&east), "{global:?}");
}

#[tokio::test]
async fn secrets_keep_versions_refuse_replica_writes_and_repeat_a_token_as_a_no_op() {
    let sim = world();
    let west = region("us-west-2");
    sim.with(|w| {
        w.secrets.insert(
            (west.clone(), "db".into()),
            SimSecret {
                versions: vec![("v1".into(), Sensitive::new("{}"))],
                replica_of: Some("us-east-1".into()),
            },
        )
    });
    let secrets = SimSecrets(Bound::new(&sim, &west));
    let value = Sensitive::new(r#"{"host":"w"}"#);
    assert!(secrets.put_value("db", &value, "t").await.is_err());
    secrets.stop_replication("db").await.unwrap();
    secrets.put_value("db", &value, "t").await.unwrap();
    secrets.put_value("db", &value, "t").await.unwrap();
    let other = Sensitive::new("{}");
    assert!(secrets.put_value("db", &other, "t").await.is_err());
    let current = secrets.get_current("db").await.unwrap();
    assert_eq!(current.version_id, "t");
    assert_eq!(
        sim.with(|w| w.secrets[&(west.clone(), "db".to_owned())].versions.len()),
        2
    );
}

// The simulated services keep the same contracts as the in-memory ports and
// the SDK adapters over moto (stop_testkit::contract).

#[tokio::test]
async fn simulated_secrets_keep_the_token_rules() {
    let sim = world();
    sim.with(|w| {
        w.secrets.insert(
            (region("us-west-2"), "orders/db".into()),
            SimSecret {
                versions: vec![(
                    "initial".into(),
                    Sensitive::new(r#"{"host":"old","port":5432}"#),
                )],
                replica_of: None,
            },
        );
    });
    let secrets = SimSecrets(Bound::new(&sim, &region("us-west-2")));
    stop_testkit::contract::secrets_keep_the_token_rules(&secrets, "orders/db").await;
}

#[tokio::test]
async fn the_simulated_decision_store_keeps_history_and_the_size_limit() {
    let sim = world();
    let store = SimDecisionStore(Bound::new(&sim, &region("us-west-2")));
    stop_testkit::contract::decision_stores_keep_history_and_the_size_limit(&store, "orders").await;
}

#[tokio::test]
async fn the_simulated_state_store_replaces_and_keeps_the_size_limit() {
    let sim = world();
    let store = SimStateStore(Bound::new(&sim, &region("us-west-2")));
    stop_testkit::contract::state_stores_replace_and_keep_the_size_limit(&store, "/stop").await;
}
