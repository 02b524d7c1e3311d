//! The operator CLI's pieces; `main.rs` wires them to clap.

pub mod cleanup;
pub mod local;
pub mod local_pg;
pub mod remote;
pub mod render;
pub mod signin;

/// Exit codes a script can rely on.
pub mod exit {
    /// Done; every check passed.
    pub const OK: u8 = 0;
    /// Done, but something failed: a drill check, a readiness check, a refused press.
    pub const FAILED: u8 = 1;
    /// Bad arguments or configuration (clap's code too).
    pub const USAGE: u8 = 2;
    /// An endpoint or AWS could not be reached.
    pub const UNREACHABLE: u8 = 3;
}
