//! A deterministic two-Region world on a virtual clock, for drills and tests
//! with no AWS account. It implements every port of `stop_core` with AWS's
//! documented behaviour (see [`model`]), runs the real handlers of the four
//! functions against it, and reports each scenario's timeline, RTO and RPO.
//!
//! The same seed gives the same run, line for line.

pub mod budget;
pub mod drill;
pub mod events;
pub mod model;
pub mod ports;
pub mod scenario;
pub mod topology;
pub mod world;

pub use drill::{Check, Report, failures, run, run_all};
pub use scenario::{Scenario, library, select};
