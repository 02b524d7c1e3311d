//! `stopctl check`: is the standby ready to take over? Reads only, through the
//! same ports the functions use, in the standby Region.

use serde::Serialize;
use stop_core::Config;
use stop_core::config::DatabaseConfig;
use stop_core::decision::Decision;
use stop_core::ports::{
    Capacity, Clock, Database, DecisionStore, PortError, RoutingControls, Secrets, StopSwitch,
};
use stop_core::switches::{ArcError, RetryPolicy, on_any_endpoint};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// The read failed because AWS could not be reached (connection, timeout,
    /// 5xx), which says nothing about the standby itself.
    pub unreachable: bool,
}

/// The findings so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, check: &str, ok: bool, detail: String) {
        self.0.push(Finding {
            check: check.to_owned(),
            ok,
            detail,
            unreachable: false,
        });
    }

    fn failed(&mut self, check: &str, error: &impl Unreachable) {
        self.0.push(Finding {
            check: check.to_owned(),
            ok: false,
            detail: error.to_string(),
            unreachable: error.unreachable(),
        });
    }
}

/// Whether an error means the service was out of reach.
trait Unreachable: std::fmt::Display {
    fn unreachable(&self) -> bool;
}

impl Unreachable for PortError {
    fn unreachable(&self) -> bool {
        matches!(self, PortError::Unavailable(_))
    }
}

impl Unreachable for ArcError {
    /// Every endpoint failed with a retryable error.
    fn unreachable(&self) -> bool {
        matches!(self, ArcError::Exhausted { .. })
    }
}

/// The standby Region's ports, as `check` reads them.
pub struct Standby<'a, D, S, R, B, K, X, C> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub stop: &'a S,
    pub controls: &'a R,
    pub database: &'a B,
    pub capacity: &'a K,
    pub secrets: &'a X,
    pub clock: &'a C,
}

/// Seconds of replica lag past which a failover loses more than an SRE would
/// accept without being told.
pub const LAG_BOUND_S: u32 = 60;

impl<D, S, R, B, K, X, C> Standby<'_, D, S, R, B, K, X, C>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    B: Database,
    K: Capacity,
    X: Secrets,
    C: Clock,
{
    pub async fn check(&self) -> Vec<Finding> {
        let mut findings = Findings::default();
        let config = self.config;
        match self.decisions.history(&config.service).await {
            Ok(history) => {
                let current = Decision::current(&history);
                findings.add(
                    "decision record",
                    true,
                    match current {
                        Some(d) => format!(
                            "epoch {}, active {}, by {} at {}",
                            d.epoch, d.active_region, d.actor, d.decided_at
                        ),
                        None => format!("no decision yet: {} serves", config.primary_region()),
                    },
                );
                // A move while the writer has no cross-Region copy would
                // leave its writes behind: the operator API refuses it.
                if config.database.is_some() {
                    let protected = current.is_none_or(|d| d.data.protected);
                    findings.add(
                        "data tier protected",
                        protected,
                        if protected {
                            "the writer has a cross-Region copy: a move loses no acknowledged write".to_owned()
                        } else {
                            "the writer has no cross-Region copy since the last move: run `stopctl reprotect` \
                             before any failback"
                                .to_owned()
                        },
                    );
                }
            }
            Err(e) => findings.failed("decision record", &e),
        }
        for service in &config.services {
            if service.stop_metric.is_none() && service.arc.is_none() {
                findings.add(
                    &format!("{}: switch", service.name),
                    false,
                    "neither the STOP metric nor ARC routing controls are configured".into(),
                );
            }
            if let Some(switch) = &service.stop_metric {
                let name = format!("{}: STOP alarm {}", service.name, switch.alarm_name);
                match self.stop.read(switch, &service.name).await {
                    Ok(state) => findings.add(
                        &name,
                        true,
                        format!(
                            "{:?}, last value {}",
                            state.alarm_state,
                            state
                                .last_value
                                .map_or("none retained".to_owned(), |v| v.to_string())
                        ),
                    ),
                    Err(e) => findings.failed(&name, &e),
                }
            }
            if let Some(arc) = &service.arc {
                for arn in [&arc.primary_control_arn, &arc.standby_control_arn] {
                    let name = format!("{}: routing control {}", service.name, short(arn));
                    let read = on_any_endpoint(
                        &arc.endpoints,
                        RetryPolicy::default()
                            .within(self.clock.now(), std::time::Duration::from_secs(10)),
                        self.clock,
                        |e| self.controls.get_state(e, arn),
                    )
                    .await;
                    match read {
                        Ok((state, failed)) => findings.add(
                            &name,
                            true,
                            format!(
                                "{state:?}; {} of {} endpoints failed before one answered",
                                failed.len(),
                                arc.endpoints.len()
                            ),
                        ),
                        Err(e) => findings.failed(&name, &e),
                    }
                }
            }
        }
        match &config.database {
            Some(DatabaseConfig::RdsReplica { replica_id, .. }) => {
                match self.database.describe_instance(replica_id).await {
                    Ok(r) => {
                        let lag_ok = r.replica_lag_seconds.is_none_or(|s| s <= LAG_BOUND_S);
                        findings.add(
                            "read replica",
                            r.source.is_some() && r.status == "available" && lag_ok,
                            format!(
                                "{} is {}, {}, lag {}",
                                r.instance_id,
                                r.status,
                                r.source
                                    .as_deref()
                                    .map_or("standalone (already promoted)".to_owned(), |s| {
                                        format!("replicating {s}")
                                    }),
                                r.replica_lag_seconds.map_or(
                                    "unknown (see the ReplicaLag metric)".to_owned(),
                                    |s| { format!("{s} s") }
                                )
                            ),
                        );
                    }
                    Err(e) => findings.failed("read replica", &e),
                }
            }
            Some(DatabaseConfig::AuroraGlobal {
                global_cluster_id,
                cluster_id,
            }) => match self
                .database
                .describe_global_cluster(global_cluster_id)
                .await
            {
                Ok(g) => {
                    let member = g
                        .member_cluster_arns
                        .iter()
                        .any(|a| a.ends_with(&format!(":cluster:{cluster_id}")));
                    findings.add(
                        "Aurora global database",
                        member && g.status == "available",
                        format!(
                            "{} is {}; {cluster_id} {}",
                            g.global_cluster_id,
                            g.status,
                            if member {
                                "is a member"
                            } else {
                                "is NOT a member"
                            }
                        ),
                    );
                }
                Err(e) => findings.failed("Aurora global database", &e),
            },
            None => {}
        }
        if let Some(wanted) = &config.capacity {
            match self.capacity.describe_group(&wanted.group_name).await {
                Ok(group) => findings.add(
                    "standby Auto Scaling group",
                    wanted.min <= wanted.desired && wanted.desired <= wanted.max,
                    format!(
                        "{} now min {} desired {} max {}; failover raises it to {} / {} / {}",
                        wanted.group_name,
                        group.min,
                        group.desired,
                        group.max,
                        wanted.min,
                        wanted.desired,
                        wanted.max
                    ),
                ),
                Err(e) => findings.failed("standby Auto Scaling group", &e),
            }
        }
        if let Some(secret_id) = &config.secret_id {
            match self.secrets.get_current(secret_id).await {
                // Present and readable: its content is never shown.
                Ok(secret) => findings.add(
                    "database secret",
                    true,
                    format!(
                        "{secret_id}: AWSCURRENT {}{}",
                        secret.version_id,
                        secret
                            .replica_of
                            .map_or(String::new(), |p| format!(", a replica of {p}"))
                    ),
                ),
                Err(e) => findings.failed("database secret", &e),
            }
        }
        findings.0
    }
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
