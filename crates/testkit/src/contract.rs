//! Contract tests: what every implementation of a port keeps, whatever it
//! talks to. The same functions run against the in-memory ports
//! (`stop-core`), the simulated world (`stop-sim`) and, where moto serves the
//! service, the SDK adapters over the wire (`stop-aws`), so the model of AWS
//! the drill runs on is held to the real protocol. They panic on a breach.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support

use stop_core::decision::{Decision, Mode, Step, StepState};
use stop_core::ports::{DecisionStore, PortError, Secrets, Sensitive, StateStore};
use time::macros::datetime;

/// `PutSecretValue`'s token rules on a writable secret `secret_id` whose
/// value is a JSON object: a new token adds the current version, the same
/// token and value is a no-op, the same token with another value is refused
/// and changes nothing.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>
pub async fn secrets_keep_the_token_rules(secrets: &impl Secrets, secret_id: &str) {
    let before = secrets.get_current(secret_id).await.unwrap();
    assert_eq!(
        before.replica_of, None,
        "the contract needs a writable secret"
    );
    let token = "stop-contract-00000000000000000000001";
    let first = Sensitive::new(r#"{"host":"a.example","port":5432}"#);
    secrets.put_value(secret_id, &first, token).await.unwrap();
    let now = secrets.get_current(secret_id).await.unwrap();
    assert_eq!(now.value, first, "a new token makes the current version");
    assert_ne!(now.version_id, before.version_id);

    secrets.put_value(secret_id, &first, token).await.unwrap();
    let again = secrets.get_current(secret_id).await.unwrap();
    assert_eq!(
        again.version_id, now.version_id,
        "the same token and value: a no-op"
    );

    let other = Sensitive::new(r#"{"host":"b.example","port":5432}"#);
    let err = secrets
        .put_value(secret_id, &other, token)
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Rejected(_)), "{err:?}");
    let after = secrets.get_current(secret_id).await.unwrap();
    assert_eq!(after.value, first, "a refused write changes nothing");
}

/// The decision store: versions kept in order, the current record picked by
/// epoch, and a record larger than an SSM Standard parameter refused with
/// nothing written.
pub async fn decision_stores_keep_history_and_the_size_limit(
    store: &impl DecisionStore,
    service: &str,
) {
    let t0 = datetime!(2026-11-22 03:00 UTC);
    assert!(store.history(service).await.unwrap().is_empty());
    let base = Decision::initial(service, &"us-east-1".parse().unwrap(), t0);
    let failover = base.next(
        "us-west-2".parse().unwrap(),
        "alice",
        "drill",
        Mode::Graceful,
        t0,
    );
    let mut progressed = failover.clone();
    progressed.record_step(Step::StopMetric, StepState::Done, t0, "published 1");
    store.store(&failover).await.unwrap();
    store.store(&progressed).await.unwrap();
    let history = store.history(service).await.unwrap();
    assert_eq!(history, vec![failover.clone(), progressed.clone()]);
    assert_eq!(Decision::current(&history), Some(&progressed));

    let mut huge = progressed.clone();
    huge.reason = "x".repeat(5000);
    let err = store.store(&huge).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Rejected(m) if m.contains("ValidationException")),
        "{err:?}"
    );
    assert_eq!(store.history(service).await.unwrap().len(), 2);
}

/// A state store: nothing saved loads as `None` (SSM's ParameterNotFound), a
/// save replaces the text, and a text over a Standard parameter's 4 KB is
/// refused and changes nothing.
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>
pub async fn state_stores_replace_and_keep_the_size_limit(store: &impl StateStore, prefix: &str) {
    let name = format!("{prefix}/orders/detector/us-west-2");
    assert_eq!(store.load(&name).await.unwrap(), None);
    store.save(&name, r#"{"round":1}"#).await.unwrap();
    store.save(&name, r#"{"round":2}"#).await.unwrap();
    assert_eq!(
        store.load(&name).await.unwrap().as_deref(),
        Some(r#"{"round":2}"#)
    );
    let err = store.save(&name, &"x".repeat(4097)).await.unwrap_err();
    assert!(matches!(err, PortError::Rejected(_)), "{err:?}");
    assert_eq!(
        store.load(&name).await.unwrap().as_deref(),
        Some(r#"{"round":2}"#)
    );
}
