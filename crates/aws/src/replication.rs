//! The drain's positions and the database-level fence in AWS.
//!
//! Reading `pg_current_wal_lsn()` or `@@GLOBAL.gtid_executed` takes a
//! connection to the instance: its VPC and its credentials. The promoter runs
//! outside any VPC, and no function of the template runs inside the
//! application's yet, so here every call is refused with what to do. A planned
//! RDS move then stops at its drain at once, writes still fenced, and says to
//! decide ungracefully; it never promotes on a guess (`ReplicaLag` reads 0
//! while MySQL's receiver is behind, and climbs for minutes on an idle
//! PostgreSQL source). docs/design.md, "Drain by position", has the function
//! that closes this.

use stop_core::decision::DbRef;
use stop_core::ports::{PortError, PortResult, Replication};

/// Refuses every call: no path to the databases from here.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDatabaseAccess;

fn refused(instance: &DbRef) -> PortError {
    PortError::Rejected(format!(
        "no function reaches {} over SQL in this deployment: a planned move cannot read its position; decide ungracefully (--mode ungraceful)",
        instance
    ))
}

impl Replication for NoDatabaseAccess {
    async fn writer_position(&self, writer: &DbRef) -> PortResult<String> {
        Err(refused(writer))
    }
    async fn replayed_position(&self, copy: &DbRef) -> PortResult<String> {
        Err(refused(copy))
    }
    async fn set_read_only(&self, instance: &DbRef, _read_only: bool) -> PortResult<()> {
        Err(refused(instance))
    }
}
