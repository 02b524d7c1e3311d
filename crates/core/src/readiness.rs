//! Readiness: could the standby take over now, and what would stop it? Reads
//! only, through the standby Region's ports. One code for the scheduled
//! readiness run (which keeps the report and publishes a metric), `stopctl
//! check`, and `GET /status` (which shows the kept report). Every failed
//! finding says what fixes it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{Config, DatabaseConfig};
use crate::decision::Decision;
use crate::detector::{State as DetectorState, VantageReport, state_name};
use crate::ports::{
    Capacity, Clock, Database, Datum, DecisionStore, HealthChecks, Metrics, PortError,
    RoutingControls, Secrets, StateStore, StopSwitch,
};
use crate::switches::{ArcError, RetryPolicy, on_any_endpoint};
use crate::units::human_duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// The command or setting that fixes a failed check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The read failed because AWS could not be reached (connection, timeout,
    /// 5xx), which says nothing about the standby itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
}

/// One readiness run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub ready: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.ok)
    }

    /// The standby API's own answer on `GET /health`, probed by the caller
    /// (readiness's function; the drill models it). Route 53's default check
    /// of the standby is TCP, which sees only that API Gateway accepts
    /// connections in the Region; this is what sees a broken API or stage.
    /// `url` is None when nothing says where to probe: no evidence, failed.
    pub fn add_standby_api(&mut self, url: Option<&str>, answer: Result<u16, String>) {
        let check = "standby API answers";
        let (ok, detail, fix) = match (url, answer) {
            (None, _) => (
                false,
                "STANDBY_PROBE_URL is not set: nothing probed the standby's /health".to_owned(),
                "set STANDBY_PROBE_URL to the SECONDARY stack's RegionalApiUrl + health (the template does)",
            ),
            (Some(url), Ok(status)) if (200..300).contains(&status) => {
                (true, format!("GET {url} answered {status}"), "")
            }
            (Some(url), Ok(status)) => (
                false,
                format!("GET {url} answered {status}"),
                "check region-info's /health in this Region, its stage and its logs: Route 53's TCP check still sends clients here on a failover",
            ),
            (Some(url), Err(error)) => (
                false,
                format!("GET {url} got no answer: {error}"),
                "check the standby's API Gateway and region-info in this Region",
            ),
        };
        self.findings.push(Finding {
            check: check.to_owned(),
            ok,
            detail,
            fix: (!ok).then(|| fix.to_owned()),
            unreachable: false,
        });
        self.ready = self.ready && ok;
    }

    /// The report as kept in a 4 KB parameter: whole if it fits, else the
    /// passing checks' details go first, then the failed ones are cut.
    pub fn to_stored(&self) -> String {
        let fits = |r: &Report| {
            let text = serde_json::to_string(r).unwrap_or_default();
            (text.len() <= crate::aws_rules::SSM_STANDARD_MAX_BYTES).then_some(text)
        };
        if let Some(text) = fits(self) {
            return text;
        }
        let mut short = self.clone();
        for f in short.findings.iter_mut().filter(|f| f.ok) {
            f.detail.clear();
        }
        if let Some(text) = fits(&short) {
            return text;
        }
        for f in &mut short.findings {
            cut(&mut f.detail, 120);
            if let Some(fix) = &mut f.fix {
                cut(fix, 120);
            }
        }
        fits(&short).unwrap_or_else(|| {
            short.findings.retain(|f| !f.ok);
            short.findings.truncate(8);
            serde_json::to_string(&short).unwrap_or_default()
        })
    }
}

fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Where the last scheduled report is kept (SSM, standby Region).
pub fn report_name(config: &Config) -> String {
    format!("{}/{}/readiness", config.decision_prefix, config.service)
}

/// What readiness holds the standby to, beyond the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// Replica lag past which a failover would lose more than the operator
    /// accepted (`ReadinessMaxLagSeconds`).
    pub max_lag_s: u32,
    /// The detector is deployed (`AutoFailover=true`): its heartbeat must be fresh.
    pub detector: bool,
    /// The witness Region, when one is deployed.
    pub witness: Option<String>,
    /// The standby's Route 53 health check (`STANDBY_HEALTH_CHECK_ID`): if
    /// Route 53 sees the standby unhealthy, STOP = 1 moves no traffic.
    pub standby_health_check: Option<String>,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            max_lag_s: 60,
            detector: false,
            witness: None,
            standby_health_check: None,
        }
    }
}

impl Expectations {
    /// From `READINESS_MAX_LAG_SECONDS`, `DETECTOR_EXPECTED` (else
    /// `AUTO_FAILOVER`: the template deploys the detector with it) and
    /// `WITNESS_REGION`; empty counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let max_lag_s = match get("READINESS_MAX_LAG_SECONDS") {
            None => Expectations::default().max_lag_s,
            Some(v) => v.trim().parse().map_err(|_| {
                format!("READINESS_MAX_LAG_SECONDS={v:?}: not a whole number of seconds")
            })?,
        };
        let detector = get("DETECTOR_EXPECTED")
            .or_else(|| get("AUTO_FAILOVER"))
            .is_some_and(|v| v.trim() == "true");
        Ok(Expectations {
            max_lag_s,
            detector,
            witness: get("WITNESS_REGION").map(|w| w.trim().to_owned()),
            // Unset in a deployed readiness is a finding, not a skipped check.
            standby_health_check: Some(
                get("STANDBY_HEALTH_CHECK_ID")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_default(),
            ),
        })
    }
}

/// A detector round older than this is a missed heartbeat: it runs every
/// minute, so three missed runs (the heartbeat alarm's window).
pub const HEARTBEAT_FRESH_FOR: time::Duration = time::Duration::minutes(3);

/// A `HealthCheckStatus` datapoint older than this is no view at all: Route
/// 53 sends one a minute; CloudWatch shows it after a minute or two.
pub const HEALTH_READING_FRESH_FOR: time::Duration = time::Duration::minutes(5);

/// The findings so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn ok(&mut self, check: &str, detail: String) {
        self.add(check, true, detail, None);
    }
    fn add(&mut self, check: &str, ok: bool, detail: String, fix: Option<String>) {
        self.0.push(Finding {
            check: check.to_owned(),
            ok,
            detail,
            fix: if ok { None } else { fix },
            unreachable: false,
        });
    }
    fn failed(&mut self, check: &str, error: &impl Unreachable, fix: &str) {
        self.0.push(Finding {
            check: check.to_owned(),
            ok: false,
            detail: error.to_string(),
            fix: Some(if error.unreachable() {
                "AWS did not answer: run again; if it persists, check the service's health in this Region".to_owned()
            } else {
                fix.to_owned()
            }),
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

/// The standby Region's ports, as readiness reads them.
pub struct Standby<'a, D, S, R, B, K, X, T, C, H> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub stop: &'a S,
    pub controls: &'a R,
    pub database: &'a B,
    pub capacity: &'a K,
    pub secrets: &'a X,
    /// The detector's state and the witness's report.
    pub state: &'a T,
    pub clock: &'a C,
    /// Route 53's view of the standby (CloudWatch in us-east-1).
    pub health: &'a H,
    pub expect: Expectations,
}

impl<D, S, R, B, K, X, T, C, H> Standby<'_, D, S, R, B, K, X, T, C, H>
where
    D: DecisionStore,
    S: StopSwitch,
    R: RoutingControls,
    B: Database,
    K: Capacity,
    X: Secrets,
    T: StateStore,
    C: Clock,
    H: HealthChecks,
{
    pub async fn check(&self) -> Report {
        let mut findings = Findings::default();
        let current = self.record(&mut findings).await;
        self.fence(&mut findings, current.as_ref()).await;
        self.switches(&mut findings, current.as_ref()).await;
        let encrypted = self.database(&mut findings, current.as_ref()).await;
        self.placement(&mut findings, encrypted);
        self.group(&mut findings).await;
        self.secret(&mut findings).await;
        self.route53(&mut findings).await;
        if self.expect.detector {
            self.detector(&mut findings).await;
        }
        let findings = findings.0;
        Report {
            checked_at: self.clock.now(),
            ready: findings.iter().all(|f| f.ok),
            findings,
        }
    }

    async fn record(&self, findings: &mut Findings) -> Option<Decision> {
        let config = self.config;
        let history = match self.decisions.history(&config.service).await {
            Ok(history) => history,
            Err(e) => {
                findings.failed(
                    "decision record",
                    &e,
                    &format!(
                        "check that the SSM parameter {} exists and this role may read it",
                        config.decision_parameter(&config.service)
                    ),
                );
                return None;
            }
        };
        let current = Decision::current(&history).cloned();
        findings.ok(
            "decision record",
            match &current {
                Some(d) => format!(
                    "epoch {}, active {}, by {} at {}",
                    d.epoch, d.active_region, d.actor, d.decided_at
                ),
                None => format!("no decision yet: {} serves", config.primary_region()),
            },
        );
        // After a move the writer has no cross-Region copy until re-protected.
        if config.database.is_some() {
            let protected = current.as_ref().is_none_or(|d| d.data.protected);
            findings.add(
                "data tier protected",
                protected,
                if protected {
                    "the writer has a cross-Region copy: a move loses no acknowledged write".to_owned()
                } else {
                    "the writer has had no cross-Region copy since the last move: a failback would leave its writes behind".to_owned()
                },
                Some("stopctl reprotect --reason \"<why>\", or Re-protect in the console".to_owned()),
            );
        }
        current
    }

    /// The write fence: what its quorum risks, and the standby's copy of the
    /// fence record present, readable and in step with the decision record.
    async fn fence(&self, findings: &mut Findings, current: Option<&Decision>) {
        use crate::fence::{FencePolicy, FenceRecord, Quorum};
        let config = self.config;
        let quorum = Quorum::of(config);
        let lease = config.fence_lease_seconds;
        let (ok, risk) = match config.fence_policy {
            FencePolicy::Majority => (
                true,
                format!(
                    "a lease needs {}: the standby down, the primary keeps writing; the primary cut off, it stops within {lease} s",
                    quorum.describe()
                ),
            ),
            FencePolicy::Standby => (
                true,
                format!(
                    "no witness, FencePolicy=standby: never two writers, but the primary stops writing within {lease} s whenever it cannot read the standby's copy (a standby outage stops writes)"
                ),
            ),
            FencePolicy::Available => (
                false,
                "no witness, FencePolicy=available: a primary cut off from the standby keeps writing after a failover, and those writes are lost".to_owned(),
            ),
        };
        findings.add(
            "write fence quorum",
            ok,
            risk,
            Some("deploy witness.yaml in a third Region, then WitnessRegion=<it> and FencePolicy=majority in both stacks".to_owned()),
        );
        if !quorum.copies().contains(config.standby_region()) {
            return;
        }
        let name = config.fence_parameter(&config.service);
        let fix = format!(
            "redeploy the SECONDARY stack while the primary is active with writes open (it creates {name}); the next decision or promoter run writes the current epoch into it"
        );
        match self.state.load(&name).await {
            Err(e) => findings.failed("fence record (standby's copy)", &e, &fix),
            Ok(None) => findings.add(
                "fence record (standby's copy)",
                false,
                format!("{name} is missing: no fence can count this copy, and without a witness every fence is closed"),
                Some(fix),
            ),
            Ok(Some(text)) => match FenceRecord::parse(&text, &config.service) {
                Err(why) => findings.add(
                    "fence record (standby's copy)",
                    false,
                    format!("{name} {why}: no fence can count this copy"),
                    Some(fix),
                ),
                Ok(record) => {
                    let want = current.map_or(0, |d| d.epoch);
                    findings.add(
                        "fence record (standby's copy)",
                        record.epoch >= want,
                        format!(
                            "epoch {}, {} active, writes {}; the decision record is at epoch {want}",
                            record.epoch,
                            record.active_region,
                            if record.writes_open { "open" } else { "closed" }
                        ),
                        Some("press again or wait for the promoter's next minute: it commits the current epoch".to_owned()),
                    );
                }
            },
        }
    }

    async fn switches(&self, findings: &mut Findings, current: Option<&Decision>) {
        let config = self.config;
        let standby_active = current.is_some_and(|d| &d.active_region == config.standby_region());
        for service in &config.services {
            if service.stop_metric.is_none() && service.arc.is_none() {
                findings.add(
                    &format!("{}: switch", service.name),
                    false,
                    "neither the STOP metric nor ARC routing controls are configured".into(),
                    Some("set STOP_METRIC_NAMESPACE or ARC_CLUSTER_ENDPOINTS (the template sets both)".into()),
                );
            }
            if let Some(switch) = &service.stop_metric {
                let name = format!("{}: STOP alarm {}", service.name, switch.alarm_name);
                match self.stop.read(switch, &service.name).await {
                    Ok(state) => {
                        // The alarm agrees with the record: ALARM exactly while
                        // the standby is active (no datapoint yet is fine before
                        // the first move).
                        let alarm = state.alarm_state == crate::ports::AlarmState::Alarm;
                        let agrees = alarm == standby_active
                            || (!standby_active && state.last_value.is_none());
                        findings.add(
                            &name,
                            agrees,
                            format!(
                                "{:?}, last value {}; the record has {} active",
                                state.alarm_state,
                                state
                                    .last_value
                                    .map_or("none retained".to_owned(), |v| v.to_string()),
                                if standby_active {
                                    "the standby"
                                } else {
                                    "the primary"
                                }
                            ),
                            Some(format!(
                                "press again to republish the switch: stopctl {} --reason \"republish the switch\"",
                                if standby_active {
                                    "failover"
                                } else {
                                    "failback"
                                }
                            )),
                        );
                    }
                    Err(e) => findings.failed(
                        &name,
                        &e,
                        "deploy the SECONDARY stack: it creates the STOP alarm",
                    ),
                }
            }
            if let Some(arc) = &service.arc {
                for arn in [&arc.primary_control_arn, &arc.standby_control_arn] {
                    let name = format!("{}: routing control {}", service.name, short(arn));
                    let read = on_any_endpoint(
                        &arc.endpoints,
                        RetryPolicy::default().within(self.clock.now(), Duration::from_secs(10)),
                        self.clock,
                        |e| self.controls.get_state(e, arn),
                    )
                    .await;
                    match read {
                        Ok((state, failed)) => findings.ok(
                            &name,
                            format!(
                                "{state:?}; {} of {} endpoints failed before one answered",
                                failed.len(),
                                arc.endpoints.len()
                            ),
                        ),
                        Err(e) => findings.failed(
                            &name,
                            &e,
                            "check ArcClusterEndpoints and the control's ARN; the STOP metric still moves traffic",
                        ),
                    }
                }
            }
        }
    }

    /// Route 53's own view of the standby: the health check the failover
    /// record's standby side carries. Unhealthy there, a failover sends no one
    /// to the standby. No datapoint in the last minutes is no evidence: failed.
    async fn route53(&self, findings: &mut Findings) {
        let Some(id) = &self.expect.standby_health_check else {
            return;
        };
        let check = "Route 53 sees the standby";
        if id.is_empty() {
            findings.add(
                check,
                false,
                "STANDBY_HEALTH_CHECK_ID is not set: Route 53's view of the standby is unknown".into(),
                Some("set STANDBY_HEALTH_CHECK_ID to the SECONDARY stack's StandbyHealthCheck ID (the template does)".into()),
            );
            return;
        }
        match self.health.status(id).await {
            Ok(Some(reading)) => {
                let age = self.clock.now() - reading.at;
                let fresh = age <= HEALTH_READING_FRESH_FOR;
                findings.add(
                    check,
                    reading.healthy && fresh,
                    format!(
                        "health check {id} was {} at {} ({} ago)",
                        if reading.healthy { "healthy" } else { "UNHEALTHY" },
                        reading.at,
                        human_duration(i64::try_from(age.whole_milliseconds()).unwrap_or(i64::MAX))
                    ),
                    Some(if !fresh {
                        format!("no recent HealthCheckStatus for {id} in us-east-1: check that the health check exists and has checkers")
                    } else {
                        format!("Route 53's checkers fail on the standby's /health: see health check {id}'s status per checker Region in the Route 53 console, and fix what they report before relying on a failover")
                    }),
                );
            }
            Ok(None) => findings.add(
                check,
                false,
                format!("CloudWatch (us-east-1) has no HealthCheckStatus datapoint for {id} in the last minutes"),
                Some(format!("check that health check {id} exists; a new one has data within a few minutes")),
            ),
            Err(e) => findings.failed(
                check,
                &e,
                "grant cloudwatch:GetMetricData to the readiness role (the metric is read in us-east-1)",
            ),
        }
    }

    /// Whether a re-protect could build a copy a failback can use, in each
    /// Region: inside the application's network, with its parameters, and
    /// encrypted with that Region's key when the writer is encrypted (unknown
    /// counts as encrypted: the key is then required).
    fn placement(&self, findings: &mut Findings, encrypted: Option<bool>) {
        let Some(database @ DatabaseConfig::RdsReplica { .. }) = &self.config.database else {
            return;
        };
        let encrypted = encrypted.unwrap_or(true);
        let mut gaps = Vec::new();
        for (region, side) in [
            (self.config.primary_region(), "DbPrimaryCopy"),
            (self.config.standby_region(), "DbStandbyCopy"),
        ] {
            let missing = database
                .placement_in(self.config, region)
                .map(|p| p.missing(encrypted))
                .unwrap_or_default();
            if !missing.is_empty() {
                gaps.push((region, side, missing));
            }
        }
        findings.add(
            "re-protect placement",
            gaps.is_empty(),
            if gaps.is_empty() {
                "a re-protect copy in either Region lands in the application's subnets and security groups, with its parameter group and that Region's KMS key".to_owned()
            } else {
                gaps.iter()
                    .map(|(region, _, missing)| format!("a copy in {region} lacks {}", missing.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            Some(format!(
                "set the stack parameters {}: without them RDS builds the copy outside the VPC, with default parameters, or refuses an encrypted writer",
                gaps.iter()
                    .map(|(_, side, _)| format!("{side}SubnetGroup, {side}SecurityGroupIds, {side}ParameterGroup and {side}KmsKeyArn"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        );
    }

    /// Returns the standby replica's `StorageEncrypted` when it was read.
    async fn database(&self, findings: &mut Findings, current: Option<&Decision>) -> Option<bool> {
        let max_lag = self.expect.max_lag_s;
        let standby = self.config.standby_region();
        let failed_over = current.is_some_and(|d| &d.active_region == standby);
        match &self.config.database {
            // After a failover the deployed replica is the writer; the copy in
            // the other Region is the data-tier-protected check's business.
            Some(DatabaseConfig::RdsReplica { replica_id, .. }) if !failed_over => {
                // After a full cycle the standby's replica is the copy a
                // re-protect made, named in the record.
                let copy = current
                    .and_then(|d| d.data.copy.as_ref())
                    .filter(|c| &c.region == standby)
                    .map(|c| c.id.clone());
                let replica_id = copy.as_ref().unwrap_or(replica_id);
                let replica = match self.database.describe_instance(replica_id).await {
                    Ok(r) => r,
                    Err(e) => {
                        findings.failed(
                            "read replica",
                            &e,
                            "check DbReplicaId: it names the cross-Region read replica in this Region",
                        );
                        return None;
                    }
                };
                // RDS's own word on replication, where it gives one: error,
                // stopped or terminated is a replica in name only.
                // <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstanceStatusInfo.html>
                let broken = replica
                    .replication
                    .as_deref()
                    .filter(|state| matches!(*state, "error" | "stopped" | "terminated"));
                let replicating =
                    replica.source.is_some() && replica.status == "available" && broken.is_none();
                findings.add(
                    "read replica",
                    replicating,
                    format!(
                        "{} is {}, {}",
                        replica.instance_id,
                        replica.status,
                        replica
                            .source
                            .as_deref()
                            .map_or("standalone (no longer a replica)".to_owned(), |s| {
                                match broken {
                                    Some(state) => format!("a replica of {s}, replication {state}"),
                                    None => format!("replicating {s}"),
                                }
                            }),
                    ),
                    Some(if replica.source.is_none() {
                        "it was promoted outside stop: create a new read replica of the primary here and point DbReplicaId at it".to_owned()
                    } else if let Some(state) = broken {
                        format!("replication is {state}: see the replica's RDS events for why; a stopped or broken replica must be recreated (stopctl reprotect after a move, or a new read replica of the primary)")
                    } else {
                        format!("wait for {} to be available; RDS events say why it is not", replica.instance_id)
                    }),
                );
                match self.database.replica_lag(replica_id).await {
                    Ok(Some(sample)) if !sample.replicating => findings.add(
                        "replica lag",
                        false,
                        "ReplicaLag reads -1: replication is not active, so an unplanned failover now loses everything since it stopped".into(),
                        Some(format!("check {replica_id}'s replication state and RDS events; recreate the replica if it is stopped or in error")),
                    ),
                    Ok(Some(sample)) => findings.add(
                        "replica lag",
                        sample.seconds <= max_lag,
                        format!(
                            "{} behind the primary (bound {}); an unplanned failover now loses up to that",
                            human_duration(i64::from(sample.seconds) * 1000),
                            human_duration(i64::from(max_lag) * 1000)
                        ),
                        Some(format!(
                            "find what holds {replica_id} back (write load, instance class, long transactions); \
                             or raise ReadinessMaxLagSeconds if {} of loss is acceptable",
                            human_duration(i64::from(sample.seconds) * 1000)
                        )),
                    ),
                    // No datapoint yet (a new replica, the first minute): unknown, not wrong.
                    Ok(None) => findings.ok(
                        "replica lag",
                        "no ReplicaLag datapoint yet: unknown until CloudWatch has one".into(),
                    ),
                    Err(e) => findings.failed(
                        "replica lag",
                        &e,
                        "grant cloudwatch:GetMetricData to the readiness role",
                    ),
                }
                Some(replica.storage_encrypted)
            }
            Some(DatabaseConfig::AuroraGlobal {
                global_cluster_id,
                cluster_id,
            }) => {
                self.aurora(findings, global_cluster_id, cluster_id).await;
                None
            }
            _ => None,
        }
    }

    async fn aurora(&self, findings: &mut Findings, global_cluster_id: &str, cluster_id: &str) {
        match self
            .database
            .describe_global_cluster(global_cluster_id)
            .await
        {
            Ok(g) => {
                // A member that replicates: connected, not pending-resync.
                let member = g.member_cluster_arns.iter().any(|a| {
                    a.ends_with(&format!(":cluster:{cluster_id}"))
                        && (g.synchronized.contains(a)
                            || g.writer_cluster_arn.as_deref() == Some(a.as_str()))
                });
                findings.add(
                        "Aurora global database",
                        member && g.status == "available",
                        format!(
                            "{} is {}; {cluster_id} {}",
                            g.global_cluster_id,
                            g.status,
                            if member { "is a replicating member" } else { "is NOT a replicating member" }
                        ),
                        Some(if member {
                            format!("wait for {global_cluster_id} to be available")
                        } else {
                            format!("add {cluster_id} to {global_cluster_id} as a secondary cluster and wait for it to be connected (not pending-resync), or fix DbClusterId")
                        }),
                    );
            }
            Err(e) => findings.failed("Aurora global database", &e, "check DbGlobalClusterId"),
        }
    }

    async fn group(&self, findings: &mut Findings) {
        let Some(wanted) = &self.config.capacity else {
            return;
        };
        let name = "standby Auto Scaling group";
        match self.capacity.describe_group(&wanted.group_name).await {
            Ok(current) => {
                let target = wanted.target(current);
                let refusal = crate::aws_rules::group_refusal(&wanted.group_name, &target);
                findings.add(
                    name,
                    refusal.is_none(),
                    match &refusal {
                        None => format!(
                            "{} now {current}; a failover raises it to {target}",
                            wanted.group_name
                        ),
                        Some(refusal) => format!(
                            "{} now {current}; a failover would ask for {target}, which Auto Scaling refuses: {refusal}",
                            wanted.group_name
                        ),
                    },
                    Some(format!(
                        "redeploy the SECONDARY stack with AsgMax >= AsgDesired ({}) >= AsgMin",
                        target.desired
                    )),
                );
            }
            Err(e) => findings.failed(name, &e, "check AsgName: it names the group in this Region"),
        }
    }

    async fn secret(&self, findings: &mut Findings) {
        let Some(secret_id) = &self.config.secret_id else {
            return;
        };
        match self.secrets.describe(secret_id).await {
            Ok(info) => findings.ok(
                "database secret",
                format!(
                    "{secret_id}: {}",
                    info.replica_of.map_or(
                        "standalone in this Region (the rewriter writes it)".to_owned(),
                        |p| format!("a replica of {p}'s secret (the rewriter stops replication, then writes it)")
                    )
                ),
            ),
            Err(e) => findings.failed(
                "database secret",
                &e,
                "check DbSecretArn: it names the secret in this Region (a replica of the primary's)",
            ),
        }
    }

    async fn detector(&self, findings: &mut Findings) {
        let config = self.config;
        let now = self.clock.now();
        let standby = config.standby_region().to_string();
        let name = state_name(config, &standby);
        let state = match self.state.load(&name).await {
            Ok(text) => text.and_then(|t| serde_json::from_str::<DetectorState>(&t).ok()),
            Err(e) => {
                findings.failed(
                    "detector heartbeat",
                    &e,
                    "grant ssm:GetParameter on the detector's parameter to the readiness role",
                );
                return;
            }
        };
        let last = state.as_ref().and_then(|s| s.last_round);
        findings.add(
            "detector heartbeat",
            last.is_some_and(|at| now - at <= HEARTBEAT_FRESH_FOR),
            match last {
                Some(at) => format!("last round {} ago", human_duration((now - at).whole_seconds() * 1000)),
                None => "the detector has never run: AutoFailover cannot fail over".to_owned(),
            },
            Some("check the detector function's logs and its one-minute schedule (it refuses to start without PrimaryProbeUrl: the PRIMARY stack's RegionalApiUrl + health); until it runs, nothing fails over on its own".into()),
        );
        let Some(state) = state else { return };
        let armed = state.armed.contains(&standby);
        findings.add(
            "detector armed",
            armed,
            if armed {
                format!("{standby} has seen the primary's /health healthy; its failures count")
            } else {
                format!("{standby} has never seen the primary's /health healthy: its failures do not count, and nothing fails over on its own")
            },
            Some("check PrimaryProbeUrl (the PRIMARY stack's RegionalApiUrl + health) and that the PRIMARY stack is deployed and answers 200; the detector arms at its first healthy probe".into()),
        );
        let own_failures = state.primary_failures.get(&standby).copied().unwrap_or(0);
        match &self.expect.witness {
            None => findings.ok(
                "detector quorum",
                "one vantage point (no witness): a fault in this Region's path to the primary could pass for an outage; deploy witness.yaml in a third Region for a quorum of two".into(),
            ),
            Some(witness) => {
                let report = match self.state.load(&state_name(config, witness)).await {
                    Ok(text) => text.and_then(|t| serde_json::from_str::<VantageReport>(&t).ok()),
                    Err(_) => None,
                };
                let fresh = report.as_ref().filter(|r| r.is_fresh(now));
                if let Some(report) = fresh.filter(|r| !r.armed) {
                    findings.add(
                        "witness armed",
                        false,
                        format!("{} has never seen the primary's /health healthy: its failures do not count", report.vantage),
                        Some(format!("check the witness stack's PrimaryProbeUrl in {witness}")),
                    );
                }
                findings.add(
                    "witness heartbeat",
                    fresh.is_some(),
                    match &report {
                        Some(r) => format!("{witness} last reported {} ago", human_duration((now - r.at).whole_seconds() * 1000)),
                        None => format!("{witness} has never reported"),
                    },
                    Some(format!(
                        "check the witness stack in {witness} (its function's logs and schedule); without it there is no quorum and no automatic failover"
                    )),
                );
                if let Some(report) = fresh {
                    // The standby fails to reach a primary that the witness reaches.
                    let cut_off = own_failures > 0 && report.primary_failures == 0;
                    findings.add(
                        "standby's path to the primary",
                        !cut_off,
                        if cut_off {
                            format!(
                                "{standby} failed its last {own_failures} probes of the primary while {witness} reaches it"
                            )
                        } else {
                            format!("{standby} and {witness} agree on the primary")
                        },
                        Some("check this Region's network path to the primary's endpoint (VPC, NAT, DNS); no failover happens meanwhile".into()),
                    );
                }
            }
        }
        if state.standby_healthy == Some(false) {
            findings.add(
                "standby health",
                false,
                "the standby failed its own health probe: the detector would not fail over into it"
                    .into(),
                Some("check region-info's /health in this Region and its logs".into()),
            );
        }
    }
}

/// Keeps the report where `GET /status` reads it and publishes `Ready` (1 or
/// 0), which the readiness alarm watches; which checks failed is in the
/// report (a second custom metric would cost 0.30 USD a month for nothing an
/// alarm reads). Both are tried; the first error is returned.
pub async fn publish<T: StateStore, M: Metrics>(
    config: &Config,
    report: &Report,
    store: &T,
    metrics: &M,
) -> Result<(), PortError> {
    let kept = store.save(&report_name(config), &report.to_stored()).await;
    let dimensions = vec![("Service", config.service.clone())];
    let published = metrics
        .put(&[Datum {
            name: "Ready",
            dimensions,
            value: if report.ready { 1.0 } else { 0.0 },
        }])
        .await;
    kept.and(published)
}

/// The last kept report, for `GET /status`.
pub async fn last_report<T: StateStore>(
    config: &Config,
    store: &T,
) -> Result<Option<Report>, PortError> {
    Ok(store
        .load(&report_name(config))
        .await?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Expectations, String> {
        Expectations::from_lookup(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn expectations_follow_the_template_and_refuse_a_bad_bound() {
        // From the environment the Route 53 check is always on: unset, it is
        // a failed finding, never a check skipped in silence.
        assert_eq!(
            from(&[]).unwrap(),
            Expectations {
                standby_health_check: Some(String::new()),
                ..Expectations::default()
            }
        );
        assert_eq!(
            from(&[("STANDBY_HEALTH_CHECK_ID", "hc-1")])
                .unwrap()
                .standby_health_check
                .as_deref(),
            Some("hc-1")
        );
        let auto = from(&[("AUTO_FAILOVER", "true"), ("WITNESS_REGION", " eu-west-1 ")]).unwrap();
        assert!(auto.detector);
        assert_eq!(auto.witness.as_deref(), Some("eu-west-1"));
        // The template says it outright; it wins over AUTO_FAILOVER.
        let off = from(&[("AUTO_FAILOVER", "true"), ("DETECTOR_EXPECTED", "false")]).unwrap();
        assert!(!off.detector);
        assert_eq!(from(&[("WITNESS_REGION", "")]).unwrap().witness, None);
        assert_eq!(
            from(&[("READINESS_MAX_LAG_SECONDS", "90")])
                .unwrap()
                .max_lag_s,
            90
        );
        let err = from(&[("READINESS_MAX_LAG_SECONDS", "a minute")]).unwrap_err();
        assert!(err.contains("READINESS_MAX_LAG_SECONDS"), "{err}");
    }

    #[test]
    fn the_standby_api_probe_passes_on_a_2xx_only_and_never_without_a_url() {
        let ready = || Report {
            checked_at: time::macros::datetime!(2026-12-03 03:00 UTC),
            ready: true,
            findings: vec![],
        };
        let url = Some("https://api.example/prod/health");
        let mut report = ready();
        report.add_standby_api(url, Ok(200));
        assert!(report.ready, "{report:?}");
        assert_eq!(report.findings[0].check, "standby API answers");
        for answer in [Ok(403), Ok(429), Ok(502), Err("timed out".to_owned())] {
            let mut report = ready();
            report.add_standby_api(url, answer.clone());
            assert!(!report.ready, "{answer:?} passed");
            assert!(report.findings[0].fix.is_some());
        }
        let mut report = ready();
        report.add_standby_api(None, Ok(200));
        assert!(!report.ready, "no URL is no evidence");
        assert!(report.findings[0].detail.contains("STANDBY_PROBE_URL"));
        // A report that was already not ready stays so.
        let mut report = Report {
            ready: false,
            ..ready()
        };
        report.add_standby_api(url, Ok(200));
        assert!(!report.ready);
    }

    #[test]
    fn a_report_too_big_for_a_parameter_keeps_its_failed_checks() {
        let finding = |i: usize, ok: bool| Finding {
            check: format!("check {i}"),
            ok,
            detail: "d".repeat(400),
            fix: (!ok).then(|| "f".repeat(400)),
            unreachable: false,
        };
        let report = Report {
            checked_at: time::macros::datetime!(2026-11-24 03:00 UTC),
            ready: false,
            findings: (0..20).map(|i| finding(i, i % 3 != 0)).collect(),
        };
        let stored = report.to_stored();
        assert!(stored.len() <= crate::aws_rules::SSM_STANDARD_MAX_BYTES);
        let back: Report = serde_json::from_str(&stored).unwrap();
        let failed: Vec<&str> = back.failed().map(|f| f.check.as_str()).collect();
        assert_eq!(failed.len(), 7, "{failed:?}");
        assert!(back.failed().all(|f| f.fix.is_some()));
    }
}
