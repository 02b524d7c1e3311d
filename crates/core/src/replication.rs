//! Where a copy stands against its writer, read as a replication position,
//! never as a lag in seconds. A planned move promotes the copy only once it has
//! replayed the position the fenced writer stopped at: that is "RPO 0" with its
//! evidence, and it holds on an idle source (RDS for PostgreSQL's `ReplicaLag`
//! grows for up to 5 minutes while the source takes no transaction, and MySQL's
//! `Seconds_Behind_Source` reads 0 while the receiver is still behind).
//!
//! Positions are the engines' own text, compared here without a database:
//! - PostgreSQL: a WAL LSN, `X/Y` in hex (`pg_current_wal_lsn()` on the writer,
//!   `pg_last_wal_replay_lsn()` on the copy), ordered as the 64-bit number
//!   `X << 32 | Y`;
//!   <https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-RECOVERY-INFO-TABLE>
//!   <https://www.postgresql.org/docs/15/datatype-pg-lsn.html>
//! - MySQL: a GTID set, `uuid:1-5:7,uuid:…` (`@@GLOBAL.gtid_executed` on
//!   both), drained when the writer's set is a subset of the copy's, as
//!   `GTID_SUBSET` decides it;
//!   <https://dev.mysql.com/doc/refman/8.4/en/gtid-functions.html>
//! - MariaDB: a GTID position, `domain-server-seq,…` (`@@gtid_binlog_pos` on
//!   the writer, `@@gtid_slave_pos` on the copy), drained when the copy's
//!   sequence number in every domain of the writer's is at least the writer's.
//!   <https://mariadb.com/kb/en/gtid/>

use serde::{Deserialize, Serialize};

/// How an engine names a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mariadb,
}

impl Engine {
    /// From RDS's `Engine` (`DescribeDBInstances`): `postgres`, `mysql`,
    /// `mariadb`. Any other (Oracle, SQL Server, Db2, Aurora's) has no
    /// position here, so a planned move of it cannot be drained.
    pub fn from_rds(engine: &str) -> Option<Self> {
        match engine {
            "postgres" => Some(Engine::Postgres),
            "mysql" => Some(Engine::Mysql),
            "mariadb" => Some(Engine::Mariadb),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
        }
    }

    /// Whether a copy that has replayed `replayed` holds everything up to the
    /// writer's `target`. A position that does not parse is an error, never a
    /// "drained".
    pub fn covers(self, replayed: &str, target: &str) -> Result<bool, String> {
        match self {
            Engine::Postgres => Ok(lsn(replayed)? >= lsn(target)?),
            Engine::Mysql | Engine::Mariadb if target.trim().is_empty() => Err(format!(
                "the writer's {} position is empty: with GTIDs off there is no position to drain by",
                self.as_str()
            )),
            Engine::Mysql => {
                let have = gtid_set(replayed)?;
                Ok(gtid_set(target)?
                    .iter()
                    .all(|(uuid, ranges)| ranges.iter().all(|r| contains(&have, uuid, *r))))
            }
            Engine::Mariadb => {
                let have = mariadb_pos(replayed)?;
                Ok(mariadb_pos(target)?
                    .iter()
                    .all(|(domain, seq)| have.get(domain).is_some_and(|h| h >= seq)))
            }
        }
    }
}

/// `X/Y`, each 1 to 8 hex digits.
fn lsn(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a PostgreSQL LSN (X/Y in hex)");
    let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
    let part = |p: &str| {
        (!p.is_empty() && p.len() <= 8)
            .then(|| u64::from_str_radix(p, 16).ok())
            .flatten()
            .ok_or_else(bad)
    };
    Ok(part(high)? << 32 | part(low)?)
}

type Ranges = Vec<(u64, u64)>;

/// `uuid:1-5:7,uuid:3`: every interval of every source UUID (case-folded;
/// MySQL prints lowercase). An empty set is empty.
fn gtid_set(text: &str) -> Result<Vec<(String, Ranges)>, String> {
    let bad = |part: &str| format!("{part:?} in {text:?} is not a GTID set (uuid:1-5:7,…)");
    let mut sets = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut pieces = part.split(':');
        let uuid = pieces.next().unwrap_or_default().to_ascii_lowercase();
        if uuid.len() != 36 || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(bad(part));
        }
        let mut ranges = Vec::new();
        for interval in pieces {
            let (start, end) = interval.split_once('-').unwrap_or((interval, interval));
            let (start, end) = (
                start.parse::<u64>().map_err(|_| bad(part))?,
                end.parse::<u64>().map_err(|_| bad(part))?,
            );
            if start == 0 || end < start {
                return Err(bad(part));
            }
            ranges.push((start, end));
        }
        if ranges.is_empty() {
            return Err(bad(part));
        }
        sets.push((uuid, ranges));
    }
    Ok(sets)
}

/// Whether the union of `have`'s intervals for `uuid` holds all of `wanted`.
fn contains(have: &[(String, Ranges)], uuid: &str, wanted: (u64, u64)) -> bool {
    let mut intervals: Ranges = have
        .iter()
        .filter(|(u, _)| u == uuid)
        .flat_map(|(_, r)| r.iter().copied())
        .collect();
    intervals.sort_unstable();
    let mut next = wanted.0;
    for (start, end) in intervals {
        if start > next {
            break;
        }
        if end >= next {
            if end >= wanted.1 {
                return true;
            }
            next = end + 1;
        }
    }
    false
}

/// `domain-server-seq,…`: the highest sequence number per domain.
fn mariadb_pos(text: &str) -> Result<std::collections::BTreeMap<u32, u64>, String> {
    let mut domains = std::collections::BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("{part:?} in {text:?} is not a MariaDB GTID (domain-server-seq)");
        let mut fields = part.split('-');
        let (Some(domain), Some(_server), Some(seq), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let domain: u32 = domain.parse().map_err(|_| bad())?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        let entry = domains.entry(domain).or_insert(seq);
        *entry = (*entry).max(seq);
    }
    Ok(domains)
}

/// The longest position the decision record keeps (a GTID set of many
/// sources can be long; the record must stay within an SSM Standard
/// parameter's 4 KB).
pub const MAX_POSITION_BYTES: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "4f22ab58-82db-22f2-af44-d91bb0530673";

    #[test]
    fn postgres_orders_lsns_as_64_bit_numbers() {
        let pg = Engine::Postgres;
        assert_eq!(pg.covers("0/3023408", "0/3023408"), Ok(true));
        assert_eq!(pg.covers("0/3023407", "0/3023408"), Ok(false));
        // Not text order: 0/A0000000 is below 1/0.
        assert_eq!(pg.covers("0/A0000000", "1/0"), Ok(false));
        assert_eq!(pg.covers("1/0", "0/FFFFFFFF"), Ok(true));
        for bad in ["", "3023408", "0/", "/1", "0/G", "0/123456789", "0x1/2"] {
            assert!(pg.covers(bad, "0/1").is_err(), "{bad:?} parsed");
            assert!(pg.covers("0/1", bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn mysql_drains_when_the_writers_set_is_a_subset_of_the_copys() {
        let my = Engine::Mysql;
        // GTID_SUBSET's own examples: 23 in 21-57, 23-25 in 21-57, 20-25 not.
        let have = format!("{A}:21-57");
        assert_eq!(my.covers(&have, &format!("{A}:23")), Ok(true));
        assert_eq!(my.covers(&have, &format!("{A}:23-25")), Ok(true));
        assert_eq!(my.covers(&have, &format!("{A}:20-25")), Ok(false));
        // Intervals that touch add up; a gap does not.
        assert_eq!(
            my.covers(&format!("{A}:1-5:6-10"), &format!("{A}:1-10")),
            Ok(true)
        );
        assert_eq!(
            my.covers(&format!("{A}:1-5:7-10"), &format!("{A}:1-10")),
            Ok(false)
        );
        // Every source of the writer's set must be there, in any case.
        let two = format!("{A}:1-9,{B}:1-3");
        assert_eq!(
            my.covers(&format!("{A}:1-9"), &two),
            Ok(false),
            "a source missing"
        );
        assert_eq!(
            my.covers(&format!("{},{B}:1-3", A.to_uppercase() + ":1-9"), &two),
            Ok(true)
        );
        // GTIDs off (RDS's default gtid_mode): an empty set proves nothing.
        assert!(my.covers("", "").is_err());
        assert!(my.covers(&have, " ").is_err());
        assert!(Engine::Mariadb.covers("0-1-5", "").is_err());
        for bad in ["x:1-2", A, &format!("{A}:0-3"), &format!("{A}:5-3")] {
            assert!(my.covers(bad, &format!("{A}:1")).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn mariadb_drains_when_every_domain_has_reached_the_writers_sequence() {
        let maria = Engine::Mariadb;
        assert_eq!(maria.covers("0-1-100", "0-1-100"), Ok(true));
        assert_eq!(maria.covers("0-2-101", "0-1-100"), Ok(true));
        assert_eq!(maria.covers("0-1-99", "0-1-100"), Ok(false));
        assert_eq!(maria.covers("0-1-100", "0-1-100,1-1-5"), Ok(false));
        assert!(maria.covers("0-1", "0-1-1").is_err());
        assert!(maria.covers("0-1-x", "0-1-1").is_err());
    }

    #[test]
    fn only_the_engines_with_a_position_are_known() {
        assert_eq!(Engine::from_rds("postgres"), Some(Engine::Postgres));
        assert_eq!(Engine::from_rds("mysql"), Some(Engine::Mysql));
        assert_eq!(Engine::from_rds("mariadb"), Some(Engine::Mariadb));
        for other in ["aurora-postgresql", "oracle-ee", "sqlserver-se", ""] {
            assert_eq!(Engine::from_rds(other), None);
        }
    }
}
