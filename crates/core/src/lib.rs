//! The core of stop: what a failover is, with no AWS SDK in it.
//!
//! - [`config`]: the configuration model, read and validated from the environment;
//! - [`decision`]: the desired-state record that every action converges to;
//! - [`ports`]: one trait per external effect; [`memory`] implements each in memory;
//! - [`switches`]: the STOP metric and ARC routing controls, driven idempotently;
//! - [`operator`]: the Failover / Failback button as a reconcile loop.

pub mod alarm;
pub mod aws_rules;
pub mod cleanup;
pub mod config;
pub mod decide;
pub mod decision;
pub mod detector;
pub mod fence;
pub mod memory;
pub mod operator;
pub mod ports;
pub mod promoter;
pub mod readiness;
pub mod replication;
pub mod rewriter;
pub mod runbook;
pub mod switches;
pub mod units;

pub use config::{Config, ConfigError, Region, Role};
pub use decision::{DataTier, DbRef, Decision, Mode, Step, StepRecord, StepState};
