#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! The in-memory ports keep the same contracts as the simulated world and
//! the SDK adapters over moto (stop_testkit::contract).

use stop_core::memory::{CallLog, MemoryDecisionStore, MemorySecrets, MemoryStateStore};
use stop_testkit::contract;

#[tokio::test]
async fn memory_secrets_keep_the_token_rules() {
    let secrets = MemorySecrets::new(CallLog::default());
    secrets.add("orders/db", r#"{"host":"old","port":5432}"#, None);
    contract::secrets_keep_the_token_rules(&secrets, "orders/db").await;
}

#[tokio::test]
async fn the_memory_decision_store_keeps_history_and_the_size_limit() {
    contract::decision_stores_keep_history_and_the_size_limit(
        &MemoryDecisionStore::new(CallLog::default()),
        "orders",
    )
    .await;
}

#[tokio::test]
async fn the_memory_state_store_replaces_and_keeps_the_size_limit() {
    contract::state_stores_replace_and_keep_the_size_limit(
        &MemoryStateStore::new(CallLog::default()),
        "/stop",
    )
    .await;
}
