//! The configuration model, read from environment variables once at start-up.
//!
//! Every function reads the same variables, validated up front: a missing or
//! invalid one is reported by name before the function takes any traffic, so a
//! bad deployment fails loudly at init and not at 3 a.m. on the failover path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why the configuration could not be read. Always names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable {var}: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("invalid environment variable {var}={value:?}: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
}

fn invalid(var: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// An AWS Region code such as `us-east-1`. Checked for shape only, so that new
/// Regions work without a release.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Region {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        // Shape: letters, a dash, letters (and dashes), a dash, a number: us-east-1,
        // ap-southeast-2, us-gov-west-1, eu-central-2.
        let parts: Vec<&str> = code.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts
                .last()
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if well_formed && code.len() <= 32 {
            Ok(Region(code.to_owned()))
        } else {
            Err(format!("{code:?} is not an AWS Region code like us-east-1"))
        }
    }
}

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        code.parse()
    }
}

impl From<Region> for String {
    fn from(region: Region) -> Self {
        region.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The role a stack plays; the same as the Route 53 failover record type it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "PRIMARY",
            Role::Secondary => "SECONDARY",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PRIMARY" => Ok(Role::Primary),
            "SECONDARY" => Ok(Role::Secondary),
            other => Err(format!("{other:?} is neither PRIMARY nor SECONDARY")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Switch 1: the STOP metric in the standby Region and the alarm on it that the
/// primary record's health check follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopMetricConfig {
    pub namespace: String,
    pub metric_name: String,
    pub alarm_name: String,
}

/// One regional endpoint of a Route 53 ARC cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcEndpoint {
    pub region: Region,
    pub url: String,
}

/// Switch 2: ARC routing controls, one per Region, flipped in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcConfig {
    pub endpoints: Vec<ArcEndpoint>,
    pub primary_control_arn: String,
    pub standby_control_arn: String,
    /// Whether an operator may ask to bypass the safety rules (break glass).
    #[serde(default)]
    pub allow_safety_override: bool,
    /// The safety rules to bypass when break glass is allowed and asked for.
    #[serde(default)]
    pub safety_rule_arns: Vec<String>,
}

/// One service and the switches that move its traffic. Several services can share
/// the stacks and fail over independently, each with its own switches and record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    #[serde(default)]
    pub stop_metric: Option<StopMetricConfig>,
    #[serde(default)]
    pub arc: Option<ArcConfig>,
}

/// The database that follows the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DatabaseConfig {
    /// An RDS cross-Region read replica in this Region; promotion is one-way.
    RdsReplica {
        replica_id: String,
        backup_retention_days: u8,
        /// How long a planned move waits for the copy to replay the fenced
        /// writer's position before it stops (`DB_DRAIN_TIMEOUT_SECONDS`).
        drain_timeout_s: u32,
        /// Where a re-protect copy lands in the primary Region (after a failover).
        primary_copy: Box<ReplicaPlacement>,
        /// Where one lands in the standby Region (after a failback).
        standby_copy: Box<ReplicaPlacement>,
    },
    /// An Aurora global database whose secondary cluster lives in this Region.
    AuroraGlobal {
        global_cluster_id: String,
        cluster_id: String,
    },
}

/// What `CreateDBInstanceReadReplica` needs to put a re-protect copy inside the
/// application's network in one Region. Every value is Regional (a subnet
/// group, a security group, a parameter group and a KMS key each live in one
/// Region), so none can be copied from a source in the other Region.
/// Unset, AWS puts the copy outside any VPC ("If no DB subnet group is
/// specified, then the new DB instance isn't created in a VPC"), behind the
/// VPC's default security group, with the engine's default parameter group, and
/// refuses an encrypted source without a key of the destination Region.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html>
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaPlacement {
    pub subnet_group: Option<String>,
    pub security_group_ids: Vec<String>,
    pub parameter_group: Option<String>,
    /// A KMS key ARN in this Region, for a copy of an encrypted writer.
    pub kms_key_arn: Option<String>,
    /// `None`: as the source is.
    pub multi_az: Option<bool>,
    /// Values that were set but malformed (dropped above). Not a start-up
    /// error: a wrong placement must not stop the promoter from moving the
    /// database; re-protect and readiness refuse with these instead.
    pub problems: Vec<String>,
}

impl ReplicaPlacement {
    /// What is missing for a copy that a failback can use; empty when complete.
    pub fn missing(&self, source_encrypted: bool) -> Vec<String> {
        let mut missing: Vec<String> = self.problems.clone();
        if self.subnet_group.is_none() {
            missing.push("a DB subnet group".to_owned());
        }
        if self.security_group_ids.is_empty() {
            missing.push("security groups".to_owned());
        }
        if self.parameter_group.is_none() {
            missing.push("a DB parameter group".to_owned());
        }
        if source_encrypted && self.kms_key_arn.is_none() {
            missing.push("a KMS key (the writer is encrypted)".to_owned());
        }
        missing
    }
}

impl DatabaseConfig {
    /// Where a re-protect copy in `region` goes.
    pub fn placement_in(&self, config: &Config, region: &Region) -> Option<&ReplicaPlacement> {
        match self {
            DatabaseConfig::RdsReplica {
                primary_copy,
                standby_copy,
                ..
            } => Some(if region == config.primary_region() {
                primary_copy
            } else {
                standby_copy
            }),
            DatabaseConfig::AuroraGlobal { .. } => None,
        }
    }
}

/// The standby Auto Scaling group and the capacity it must have once active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapacityConfig {
    pub group_name: String,
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

impl CapacityConfig {
    /// What a failover asks Auto Scaling for: each size raised to the wanted
    /// one, never lowered (someone may have scaled up further by hand).
    pub fn target(&self, current: crate::ports::GroupCapacity) -> crate::ports::GroupCapacity {
        crate::ports::GroupCapacity {
            min: current.min.max(self.min),
            desired: current.desired.max(self.desired),
            max: current.max.max(self.max),
        }
    }
}

/// Everything a function of this project needs to know, validated.
/// An IAM role allowed to act as an operator: its partition, account and
/// name. A role's session calls as `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`
/// (the role's path is not in it), so those three are what a caller is matched on.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorRole {
    pub partition: String,
    pub account: String,
    pub name: String,
}

/// `arn:<partition>:<service>::<account>:<resource>` (a global service's ARN,
/// with no Region): its partition, account and resource.
fn global_arn<'a>(arn: &'a str, service: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(partition), Some(s), Some(""), Some(account), Some(resource))
            if s == service =>
        {
            Some((partition, account, resource))
        }
        _ => None,
    }
}

impl OperatorRole {
    /// `arn:<partition>:iam::<12 digits>:role/[path/]<name>`.
    pub fn parse(arn: &str) -> Option<Self> {
        let (partition, account, resource) = global_arn(arn, "iam")?;
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        (partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && plain(name)
            && name.len() <= 64)
            .then(|| OperatorRole {
                partition: partition.to_owned(),
                account: account.to_owned(),
                name: name.to_owned(),
            })
    }

    /// Whether `caller_arn` (API Gateway's `identity.userArn`) is a session of this role.
    pub fn allows(&self, caller_arn: &str) -> bool {
        let Some((partition, account, resource)) = global_arn(caller_arn, "sts") else {
            return false;
        };
        let Some((name, session)) = resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split_once('/'))
        else {
            return false;
        };
        partition == self.partition
            && account == self.account
            && name == self.name
            && !session.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// The stack's own service (`SERVICE_NAME`), the default for requests.
    pub service: String,
    pub region: Region,
    pub role: Role,
    pub peer_region: Region,
    /// SSM path prefix of the decision records: `<prefix>/<service>/decision`.
    pub decision_prefix: String,
    /// `SERVICE_NAME` with the flat switch variables first, then `EXTRA_SERVICES`.
    pub services: Vec<ServiceConfig>,
    /// The Cognito group whose members may fail over and back.
    pub operator_group: String,
    /// The IAM roles whose sessions may fail over and back (`OPERATOR_ROLE_ARNS`,
    /// comma-separated); none by default.
    pub operator_roles: Vec<OperatorRole>,
    /// Anti-flap: the least time between two decisions that change the Region.
    pub cooldown_seconds: u32,
    pub database: Option<DatabaseConfig>,
    pub capacity: Option<CapacityConfig>,
    pub secret_id: Option<String>,
    /// The primary Region's database secret (`DB_PRIMARY_SECRET_ID`), which a
    /// failback repoints too; default the same name as `secret_id` (a
    /// Secrets Manager ARN names its Region, so an ARN needs this set).
    pub primary_secret_id: Option<String>,
    /// The alarm the promoter answers to (`PROMOTER_ALARM_NAME`, default the
    /// service's STOP alarm).
    pub promoter_alarm_name: Option<String>,
    /// Whether the promoter fails over on its alarm alone (`AUTO_FAILOVER`).
    pub auto_failover: bool,
    /// Alarm notifications older than this are ignored (`ALARM_MAX_AGE_SECONDS`).
    pub alarm_max_age_seconds: u32,
    /// The third Region (`WITNESS_REGION`): a vantage point for the detector
    /// and a copy of the fence record, so that a majority survives any one Region.
    pub witness_region: Option<Region>,
    /// Which copies of the fence record a write lease needs (`FENCE_POLICY`).
    pub fence_policy: crate::fence::FencePolicy,
    /// How long one read of the fence record lets writes through (`FENCE_LEASE_SECONDS`).
    pub fence_lease_seconds: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests never touch the process environment.
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let service = env.required("SERVICE_NAME", "the service this stack serves, e.g. orders")?;
        if !is_name(&service) {
            return Err(invalid(
                "SERVICE_NAME",
                &service,
                "use 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        let region: Region = env.parsed(
            "AWS_REGION",
            "Lambda sets it; set it locally, e.g. us-east-1",
        )?;
        let role: Role = env.parsed("ROLE", "PRIMARY or SECONDARY")?;
        let peer_region: Region = env.parsed(
            "PEER_REGION",
            "the other Region of the pair, e.g. us-west-2",
        )?;
        if peer_region == region {
            return Err(invalid(
                "PEER_REGION",
                peer_region.as_str(),
                "must differ from AWS_REGION",
            ));
        }
        let (primary_region, standby_region) = match role {
            Role::Primary => (&region, &peer_region),
            Role::Secondary => (&peer_region, &region),
        };
        let decision_prefix = env
            .optional("DECISION_PARAMETER_PREFIX")
            .unwrap_or_else(|| "/stop".to_owned());
        if !decision_prefix.starts_with('/') || decision_prefix.ends_with('/') {
            return Err(invalid(
                "DECISION_PARAMETER_PREFIX",
                &decision_prefix,
                "an SSM path like /stop: a leading '/', no trailing '/'",
            ));
        }
        let mut services = vec![ServiceConfig {
            name: service.clone(),
            stop_metric: stop_metric(&env)?,
            arc: arc(&env)?,
        }];
        services.extend(extra_services(&env)?);
        // Try the standby Region's cluster endpoint first and the primary's
        // last: in a Region outage the primary's is the one most likely down,
        // and each dead endpoint costs a connect timeout.
        let (standby, primary) = match role {
            Role::Secondary => (&region, &peer_region),
            Role::Primary => (&peer_region, &region),
        };
        for arc in services.iter_mut().filter_map(|s| s.arc.as_mut()) {
            arc.endpoints.sort_by_key(|e| {
                if &e.region == standby {
                    0
                } else if &e.region == primary {
                    2
                } else {
                    1
                }
            });
        }
        let mut names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(
                "EXTRA_SERVICES",
                twice[0],
                "names a service twice (SERVICE_NAME counts)",
            ));
        }
        let operator_group = env
            .optional("OPERATOR_GROUP")
            .unwrap_or_else(|| "operators".to_owned());
        let operator_roles = env
            .optional("OPERATOR_ROLE_ARNS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|arn| !arn.is_empty())
            .map(|arn| {
                OperatorRole::parse(arn).ok_or_else(|| {
                    invalid(
                        "OPERATOR_ROLE_ARNS",
                        arn,
                        "not an IAM role ARN (arn:aws:iam::123456789012:role/name)",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cooldown_seconds = match env.optional("COOLDOWN_SECONDS") {
            None => 300,
            Some(v) => v
                .parse()
                .ok()
                .filter(|s| *s <= 86_400)
                .ok_or_else(|| invalid("COOLDOWN_SECONDS", &v, "0 to 86400 seconds"))?,
        };

        let promoter_alarm_name = env.optional("PROMOTER_ALARM_NAME").or_else(|| {
            services[0]
                .stop_metric
                .as_ref()
                .map(|m| m.alarm_name.clone())
        });
        let alarm_max_age_seconds = match env.optional("ALARM_MAX_AGE_SECONDS") {
            None => 900,
            Some(v) => v
                .parse()
                .ok()
                .filter(|s| (60..=86_400).contains(s))
                .ok_or_else(|| invalid("ALARM_MAX_AGE_SECONDS", &v, "60 to 86400 seconds"))?,
        };
        let witness_region: Option<Region> = match env.optional("WITNESS_REGION") {
            None => None,
            Some(v) => {
                let witness: Region = v.parse().map_err(|e| invalid("WITNESS_REGION", &v, e))?;
                if witness == region || witness == peer_region {
                    return Err(invalid(
                        "WITNESS_REGION",
                        &v,
                        "must be a third Region, neither AWS_REGION nor PEER_REGION",
                    ));
                }
                Some(witness)
            }
        };
        let fence_policy = fence_policy(&env, witness_region.is_some())?;
        let fence_lease_seconds = match env.optional("FENCE_LEASE_SECONDS") {
            None => crate::fence::DEFAULT_LEASE_SECONDS,
            Some(v) => v
                .parse()
                .ok()
                .filter(|s| crate::fence::LEASE_SECONDS.contains(s))
                .ok_or_else(|| {
                    invalid(
                        "FENCE_LEASE_SECONDS",
                        &v,
                        format!(
                            "{} to {} seconds",
                            crate::fence::LEASE_SECONDS.start(),
                            crate::fence::LEASE_SECONDS.end()
                        ),
                    )
                })?,
        };
        Ok(Config {
            witness_region,
            fence_policy,
            fence_lease_seconds,
            promoter_alarm_name,
            auto_failover: env.flag("AUTO_FAILOVER")?,
            alarm_max_age_seconds,
            services,
            operator_group,
            operator_roles,
            cooldown_seconds,
            database: database(&env, primary_region, standby_region)?,
            capacity: capacity(&env)?,
            secret_id: env.optional("DB_SECRET_ID"),
            primary_secret_id: env.optional("DB_PRIMARY_SECRET_ID"),
            service,
            region,
            role,
            peer_region,
            decision_prefix,
        })
    }

    /// The SSM parameter holding `service`'s decision record.
    pub fn decision_parameter(&self, service: &str) -> String {
        format!("{}/{service}/decision", self.decision_prefix)
    }

    /// The SSM parameter holding `service`'s fence record, one copy per Region
    /// of the quorum (read with `GetParameter`, not the history).
    pub fn fence_parameter(&self, service: &str) -> String {
        format!("{}/{service}/fence", self.decision_prefix)
    }

    /// The configuration of a service by name.
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The Region that takes over: the SECONDARY stack's own, or its peer.
    pub fn standby_region(&self) -> &Region {
        match self.role {
            Role::Secondary => &self.region,
            Role::Primary => &self.peer_region,
        }
    }

    /// The Region that serves in normal operation.
    pub fn primary_region(&self) -> &Region {
        match self.role {
            Role::Primary => &self.region,
            Role::Secondary => &self.peer_region,
        }
    }
}

/// `FENCE_POLICY`: with a witness, a majority of three copies (the only
/// choice); without one, the operator's explicit trade: `standby` (the lease
/// needs the standby's copy: the primary stops writing while the standby is
/// down) or `available` (the primary's own copy is enough: it keeps writing
/// through a standby outage, and an isolated primary may be a second writer).
/// Unset: `majority` with a witness, `standby` without (the safe one).
fn fence_policy(env: &Env, witness: bool) -> Result<crate::fence::FencePolicy, ConfigError> {
    use crate::fence::FencePolicy;
    const VAR: &str = "FENCE_POLICY";
    let Some(value) = env.optional(VAR) else {
        return Ok(if witness {
            FencePolicy::Majority
        } else {
            FencePolicy::Standby
        });
    };
    let policy: FencePolicy = value.parse().map_err(|e| invalid(VAR, &value, e))?;
    match (policy, witness) {
        (FencePolicy::Majority, true) | (FencePolicy::Standby | FencePolicy::Available, false) => {
            Ok(policy)
        }
        (FencePolicy::Majority, false) => Err(invalid(
            VAR,
            &value,
            "a majority needs a third copy: set WITNESS_REGION, or choose standby or available",
        )),
        (_, true) => Err(invalid(
            VAR,
            &value,
            "with WITNESS_REGION set the fence is a majority of three copies: use majority",
        )),
    }
}

fn stop_metric(env: &Env) -> Result<Option<StopMetricConfig>, ConfigError> {
    let Some(namespace) = env.optional("STOP_METRIC_NAMESPACE") else {
        return Ok(None);
    };
    Ok(Some(StopMetricConfig {
        namespace,
        metric_name: env.required("STOP_METRIC_NAME", "needed with STOP_METRIC_NAMESPACE")?,
        alarm_name: env.required("STOP_ALARM_NAME", "needed with STOP_METRIC_NAMESPACE")?,
    }))
}

fn arc(env: &Env) -> Result<Option<ArcConfig>, ConfigError> {
    const VAR: &str = "ARC_CLUSTER_ENDPOINTS";
    let Some(list) = env.optional(VAR) else {
        return Ok(None);
    };
    let mut endpoints = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (region, url) = item
            .split_once('=')
            .ok_or_else(|| invalid(VAR, &list, "use region=https://url pairs separated by ','"))?;
        let region: Region = region.trim().parse().map_err(|e| invalid(VAR, &list, e))?;
        let url = url.trim();
        if !url.starts_with("https://") {
            return Err(invalid(VAR, &list, format!("{url:?} is not an https URL")));
        }
        endpoints.push(ArcEndpoint {
            region,
            url: url.to_owned(),
        });
    }
    if endpoints.is_empty() {
        return Err(invalid(VAR, &list, "lists no endpoint"));
    }
    let arn = |var: &'static str| -> Result<String, ConfigError> {
        let value = env.required(var, "needed with ARC_CLUSTER_ENDPOINTS")?;
        if is_control_arn(&value) {
            Ok(value)
        } else {
            Err(invalid(var, &value, "not a routing control ARN"))
        }
    };
    Ok(Some(ArcConfig {
        endpoints,
        primary_control_arn: arn("ARC_PRIMARY_CONTROL_ARN")?,
        standby_control_arn: arn("ARC_STANDBY_CONTROL_ARN")?,
        allow_safety_override: env.flag("ARC_ALLOW_SAFETY_OVERRIDE")?,
        safety_rule_arns: env
            .optional("ARC_SAFETY_RULE_ARNS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

fn is_control_arn(value: &str) -> bool {
    value.starts_with("arn:") && value.contains(":route53-recovery-control::")
}

/// More services beside SERVICE_NAME, as a JSON array of [`ServiceConfig`].
fn extra_services(env: &Env) -> Result<Vec<ServiceConfig>, ConfigError> {
    const VAR: &str = "EXTRA_SERVICES";
    let Some(json) = env.optional(VAR) else {
        return Ok(Vec::new());
    };
    let services: Vec<ServiceConfig> =
        serde_json::from_str(&json).map_err(|e| invalid(VAR, &json, e.to_string()))?;
    for service in &services {
        let name = &service.name;
        if !is_name(name) {
            return Err(invalid(
                VAR,
                &json,
                format!("{name:?} is not a service name"),
            ));
        }
        if let Some(arc) = &service.arc {
            let bad_url = arc
                .endpoints
                .iter()
                .find(|e| !e.url.starts_with("https://"));
            if arc.endpoints.is_empty() || bad_url.is_some() {
                return Err(invalid(
                    VAR,
                    &json,
                    format!("{name}: ARC needs https endpoints"),
                ));
            }
            if !is_control_arn(&arc.primary_control_arn)
                || !is_control_arn(&arc.standby_control_arn)
            {
                return Err(invalid(
                    VAR,
                    &json,
                    format!("{name}: not a routing control ARN"),
                ));
            }
        }
    }
    Ok(services)
}

/// A planned move's drain normally ends within seconds of the fence; five
/// minutes covers a copy that had fallen minutes behind.
pub const DEFAULT_DRAIN_TIMEOUT_S: u32 = 300;

fn database(
    env: &Env,
    primary: &Region,
    standby: &Region,
) -> Result<Option<DatabaseConfig>, ConfigError> {
    const VAR: &str = "DB_KIND";
    match env.optional(VAR).as_deref() {
        None | Some("none") => Ok(None),
        Some("rds-replica") => {
            let days: u8 = match env.optional("DB_BACKUP_RETENTION_DAYS") {
                None => 7,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|d| (1..=35).contains(d))
                    .ok_or_else(|| invalid("DB_BACKUP_RETENTION_DAYS", &v, "1 to 35 days"))?,
            };
            let drain_timeout_s: u32 = match env.optional("DB_DRAIN_TIMEOUT_SECONDS") {
                None => DEFAULT_DRAIN_TIMEOUT_S,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|s| (10..=3600).contains(s))
                    .ok_or_else(|| invalid("DB_DRAIN_TIMEOUT_SECONDS", &v, "10 to 3600 seconds"))?,
            };
            Ok(Some(DatabaseConfig::RdsReplica {
                replica_id: env.required("DB_REPLICA_ID", "the read replica in this Region")?,
                backup_retention_days: days,
                drain_timeout_s,
                primary_copy: Box::new(placement(env, Placed::Primary, primary)),
                standby_copy: Box::new(placement(env, Placed::Standby, standby)),
            }))
        }
        Some("aurora-global") => Ok(Some(DatabaseConfig::AuroraGlobal {
            global_cluster_id: env.required("DB_GLOBAL_CLUSTER_ID", "the global database")?,
            cluster_id: env.required("DB_CLUSTER_ID", "this Region's member cluster")?,
        })),
        Some(other) => Err(invalid(VAR, other, "none, rds-replica or aurora-global")),
    }
}

#[derive(Clone, Copy)]
enum Placed {
    Primary,
    Standby,
}

/// `DB_<PRIMARY|STANDBY>_COPY_SUBNET_GROUP`, `_SECURITY_GROUP_IDS`
/// (comma-separated), `_PARAMETER_GROUP` and `_KMS_KEY_ARN` (a key of that
/// Region), and `DB_COPY_MULTI_AZ` (true, false, or source).
fn placement(env: &Env, side: Placed, region: &Region) -> ReplicaPlacement {
    let vars: [&'static str; 4] = match side {
        Placed::Primary => [
            "DB_PRIMARY_COPY_SUBNET_GROUP",
            "DB_PRIMARY_COPY_SECURITY_GROUP_IDS",
            "DB_PRIMARY_COPY_PARAMETER_GROUP",
            "DB_PRIMARY_COPY_KMS_KEY_ARN",
        ],
        Placed::Standby => [
            "DB_STANDBY_COPY_SUBNET_GROUP",
            "DB_STANDBY_COPY_SECURITY_GROUP_IDS",
            "DB_STANDBY_COPY_PARAMETER_GROUP",
            "DB_STANDBY_COPY_KMS_KEY_ARN",
        ],
    };
    let [subnet_var, groups_var, parameters_var, key_var] = vars;
    let mut problems = Vec::new();
    // RDS names: letters, digits, hyphens, underscores, periods and spaces.
    let rds_name = |var: &'static str, problems: &mut Vec<String>| match env.optional(var) {
        None => None,
        Some(v)
            if v.len() <= 255
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c)) =>
        {
            Some(v)
        }
        Some(v) => {
            problems.push(format!("{var}={v:?} is not an RDS name"));
            None
        }
    };
    let security_group_ids = match env.optional(groups_var) {
        None => Vec::new(),
        Some(v) => {
            let ids: Vec<String> = v.split(',').map(|g| g.trim().to_owned()).collect();
            let is_group = |g: &str| {
                g.strip_prefix("sg-").is_some_and(|hex| {
                    (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
                })
            };
            if ids.iter().all(|g| is_group(g)) {
                ids
            } else {
                problems.push(format!(
                    "{groups_var}={v:?} is not a list of security group IDs (sg-…)"
                ));
                Vec::new()
            }
        }
    };
    let kms_key_arn = match env.optional(key_var) {
        None => None,
        Some(v) => {
            // arn:<partition>:kms:<region>:<account>:key/<id>: a key of the
            // Region the copy goes to ("KMS keys are specific to the Amazon
            // Web Services Region that they are created in").
            let parts: Vec<&str> = v.splitn(6, ':').collect();
            let ok = matches!(parts.as_slice(),
                ["arn", partition, "kms", key_region, account, key]
                    if partition.starts_with("aws")
                        && *key_region == region.as_str()
                        && account.len() == 12
                        && key.starts_with("key/")
                        && key.len() > 4);
            if ok {
                Some(v)
            } else {
                problems.push(format!("{key_var}={v:?} is not a KMS key ARN in {region}: a copy there is encrypted with a key of its own Region"));
                None
            }
        }
    };
    let multi_az = match env.optional("DB_COPY_MULTI_AZ").as_deref() {
        None | Some("source") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            problems.push(format!(
                "DB_COPY_MULTI_AZ={other:?} is not true, false or source"
            ));
            None
        }
    };
    let subnet_group = rds_name(subnet_var, &mut problems);
    let parameter_group = rds_name(parameters_var, &mut problems);
    ReplicaPlacement {
        subnet_group,
        security_group_ids,
        parameter_group,
        kms_key_arn,
        multi_az,
        problems,
    }
}

fn capacity(env: &Env) -> Result<Option<CapacityConfig>, ConfigError> {
    let Some(group_name) = env.optional("ASG_NAME") else {
        return Ok(None);
    };
    let count = |var: &'static str| -> Result<u32, ConfigError> {
        let value = env.required(var, "needed with ASG_NAME")?;
        value
            .parse()
            .map_err(|_| invalid(var, &value, "a whole number"))
    };
    // Not refused here when out of order: a wrong size must not stop the
    // promoter from moving the database. Readiness reports it, and Auto
    // Scaling refuses the scale-up alone (crate::aws_rules::group_refusal).
    let (min, desired, max) = (count("ASG_MIN")?, count("ASG_DESIRED")?, count("ASG_MAX")?);
    Ok(Some(CapacityConfig {
        group_name,
        min,
        desired,
        max,
    }))
}

fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn optional(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing { var, hint })
    }

    fn parsed<T: FromStr<Err = String>>(
        &self,
        var: &'static str,
        hint: &'static str,
    ) -> Result<T, ConfigError> {
        let value = self.required(var, hint)?;
        value.parse().map_err(|reason| invalid(var, &value, reason))
    }

    fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        match self.optional(var).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(invalid(var, other, "true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("SERVICE_NAME", "orders"),
        ("AWS_REGION", "us-west-2"),
        ("ROLE", "SECONDARY"),
        ("PEER_REGION", "us-east-1"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = BASE.to_vec();
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push((k, v));
        }
        vars
    }

    #[test]
    fn arc_endpoints_are_tried_standby_first_and_primary_last() {
        let cfg = config(&with(&[(
            "ARC_CLUSTER_ENDPOINTS",
            "us-east-1=https://use1.example/v1,eu-west-1=https://euw1.example/v1,us-west-2=https://usw2.example/v1,ap-southeast-2=https://apse2.example/v1",
        ), ("ARC_PRIMARY_CONTROL_ARN", "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def"),
           ("ARC_STANDBY_CONTROL_ARN", "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/ghi")]))
        .unwrap();
        let order: Vec<&str> = cfg.services[0]
            .arc
            .as_ref()
            .unwrap()
            .endpoints
            .iter()
            .map(|e| e.region.as_str())
            .collect();
        assert_eq!(
            order,
            ["us-west-2", "eu-west-1", "ap-southeast-2", "us-east-1"]
        );
    }

    #[test]
    fn minimal_config_has_no_switches_and_a_default_parameter() {
        let cfg = config(BASE).unwrap();
        assert_eq!(cfg.service, "orders");
        assert_eq!(cfg.region.as_str(), "us-west-2");
        assert_eq!(cfg.role, Role::Secondary);
        assert_eq!(cfg.standby_region().as_str(), "us-west-2");
        assert_eq!(cfg.primary_region().as_str(), "us-east-1");
        assert_eq!(cfg.decision_parameter("orders"), "/stop/orders/decision");
        assert_eq!(cfg.services.len(), 1);
        assert_eq!(cfg.operator_group, "operators");
        assert_eq!(cfg.cooldown_seconds, 300);
        let own = cfg.service("orders").unwrap();
        assert!(own.stop_metric.is_none() && own.arc.is_none());
        assert!(cfg.database.is_none() && cfg.capacity.is_none());
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for var in ["SERVICE_NAME", "AWS_REGION", "ROLE", "PEER_REGION"] {
            let vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != var).collect();
            match config(&vars) {
                Err(ConfigError::Missing { var: named, .. }) => assert_eq!(named, var),
                other => panic!("{var}: expected Missing, got {other:?}"),
            }
        }
    }

    #[test]
    fn blank_counts_as_missing() {
        let err = config(&with(&[("ROLE", "  ")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("missing environment variable ROLE")
        );
    }

    #[test]
    fn invalid_values_are_named_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("SERVICE_NAME", "orders; rm -rf /"),
            ("AWS_REGION", "moon-base"),
            ("ROLE", "primary"),
            ("PEER_REGION", "us-west-2"),
            ("DECISION_PARAMETER_PREFIX", "no-slash"),
            ("COOLDOWN_SECONDS", "soon"),
            ("EXTRA_SERVICES", "[{\"name\": \"orders\"}]"),
            ("EXTRA_SERVICES", "{not json"),
            ("DB_KIND", "mongo"),
            ("ARC_CLUSTER_ENDPOINTS", "us-east-1=http://plain"),
        ];
        for (var, value) in cases {
            let err = config(&with(&[(var, value)])).unwrap_err();
            match &err {
                ConfigError::Invalid { var: named, .. } => assert_eq!(named, var, "{err}"),
                other => panic!("{var}: expected Invalid, got {other:?}"),
            }
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn stop_metric_needs_its_alarm() {
        let err = config(&with(&[("STOP_METRIC_NAMESPACE", "StopPattern")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "STOP_METRIC_NAME",
                ..
            }
        ));
        let cfg = config(&with(&[
            ("STOP_METRIC_NAMESPACE", "StopPattern"),
            ("STOP_METRIC_NAME", "FailoverToSecondary"),
            ("STOP_ALARM_NAME", "orders-stop"),
        ]))
        .unwrap();
        let own = cfg.service("orders").unwrap();
        assert_eq!(own.stop_metric.as_ref().unwrap().alarm_name, "orders-stop");
    }

    #[test]
    fn arc_endpoints_and_controls_are_parsed() {
        let ctl =
            "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def";
        let cfg = config(&with(&[
            (
                "ARC_CLUSTER_ENDPOINTS",
                "us-east-1=https://a.example/v1, us-west-2=https://b.example/v1",
            ),
            ("ARC_PRIMARY_CONTROL_ARN", ctl),
            ("ARC_STANDBY_CONTROL_ARN", ctl),
            ("ARC_ALLOW_SAFETY_OVERRIDE", "true"),
        ]))
        .unwrap();
        let arc = cfg.services[0].arc.clone().unwrap();
        assert_eq!(arc.endpoints.len(), 2);
        // The standby's (this stack's Region) first, the primary's last.
        assert_eq!(arc.endpoints[0].region.as_str(), "us-west-2");
        assert_eq!(arc.endpoints[1].region.as_str(), "us-east-1");
        assert!(arc.allow_safety_override);

        let err = config(&with(&[
            ("ARC_CLUSTER_ENDPOINTS", "us-east-1=https://a.example"),
            ("ARC_PRIMARY_CONTROL_ARN", "arn:aws:s3:::bucket"),
            ("ARC_STANDBY_CONTROL_ARN", ctl),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "ARC_PRIMARY_CONTROL_ARN",
                ..
            }
        ));
    }

    #[test]
    fn extra_services_fail_over_on_their_own_switches() {
        let cfg = config(&with(&[(
            "EXTRA_SERVICES",
            r#"[{"name": "payments", "stop_metric": {"namespace": "StopPattern",
                 "metric_name": "FailoverToSecondary", "alarm_name": "payments-stop-failover"}}]"#,
        )]))
        .unwrap();
        assert_eq!(cfg.services.len(), 2);
        let payments = cfg.service("payments").unwrap();
        assert_eq!(
            payments.stop_metric.as_ref().unwrap().alarm_name,
            "payments-stop-failover"
        );
        assert_eq!(
            cfg.decision_parameter("payments"),
            "/stop/payments/decision"
        );

        let err = config(&with(&[(
            "EXTRA_SERVICES",
            r#"[{"name": "x", "surprise": 1}]"#,
        )]));
        assert!(matches!(
            err,
            Err(ConfigError::Invalid {
                var: "EXTRA_SERVICES",
                ..
            })
        ));
    }

    #[test]
    fn a_copy_placement_is_read_per_region_and_a_bad_one_is_named_not_fatal() {
        let cfg = config(&with(&[
            ("DB_KIND", "rds-replica"),
            ("DB_REPLICA_ID", "db-r"),
            ("DB_PRIMARY_COPY_SUBNET_GROUP", "orders-db"),
            (
                "DB_PRIMARY_COPY_SECURITY_GROUP_IDS",
                "sg-0a1b2c3d4e5f60718, sg-0123456789abcdef0",
            ),
            ("DB_PRIMARY_COPY_PARAMETER_GROUP", "orders-postgres16"),
            (
                "DB_PRIMARY_COPY_KMS_KEY_ARN",
                "arn:aws:kms:us-east-1:111122223333:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
            ),
            // A key of the wrong Region, and a group list that is not one.
            (
                "DB_STANDBY_COPY_KMS_KEY_ARN",
                "arn:aws:kms:us-east-1:111122223333:key/0b7c54a6-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
            ),
            ("DB_STANDBY_COPY_SECURITY_GROUP_IDS", "default"),
            ("DB_COPY_MULTI_AZ", "true"),
        ]))
        .unwrap();
        let database = cfg.database.clone().unwrap();
        let primary = database.placement_in(&cfg, cfg.primary_region()).unwrap();
        assert_eq!(primary.subnet_group.as_deref(), Some("orders-db"));
        assert_eq!(primary.security_group_ids.len(), 2);
        assert_eq!(primary.multi_az, Some(true));
        assert!(
            primary.missing(true).is_empty(),
            "{:?}",
            primary.missing(true)
        );
        let standby = database.placement_in(&cfg, cfg.standby_region()).unwrap();
        assert!(standby.kms_key_arn.is_none() && standby.security_group_ids.is_empty());
        let missing = standby.missing(true).join("; ");
        assert!(
            missing.contains("DB_STANDBY_COPY_KMS_KEY_ARN") && missing.contains("us-west-2"),
            "{missing}"
        );
        assert!(
            missing.contains("DB_STANDBY_COPY_SECURITY_GROUP_IDS"),
            "{missing}"
        );
        assert!(missing.contains("a DB subnet group"), "{missing}");
        // Unencrypted, no key is needed.
        assert!(
            !standby
                .missing(false)
                .join(";")
                .contains("the writer is encrypted")
        );
    }

    #[test]
    fn database_kinds() {
        let cfg = config(&with(&[
            ("DB_KIND", "rds-replica"),
            ("DB_REPLICA_ID", "db-r"),
        ]))
        .unwrap();
        assert_eq!(
            cfg.database,
            Some(DatabaseConfig::RdsReplica {
                replica_id: "db-r".into(),
                backup_retention_days: 7,
                drain_timeout_s: DEFAULT_DRAIN_TIMEOUT_S,
                primary_copy: Box::default(),
                standby_copy: Box::default(),
            })
        );
        let err = config(&with(&[("DB_KIND", "aurora-global")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "DB_GLOBAL_CLUSTER_ID",
                ..
            }
        ));
        let err = config(&with(&[
            ("DB_KIND", "rds-replica"),
            ("DB_REPLICA_ID", "db-r"),
            ("DB_BACKUP_RETENTION_DAYS", "0"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "DB_BACKUP_RETENTION_DAYS",
                ..
            }
        ));
        let drain = |v: &'static str| {
            config(&with(&[
                ("DB_KIND", "rds-replica"),
                ("DB_REPLICA_ID", "db-r"),
                ("DB_DRAIN_TIMEOUT_SECONDS", v),
            ]))
        };
        assert!(matches!(
            drain("90").unwrap().database,
            Some(DatabaseConfig::RdsReplica {
                drain_timeout_s: 90,
                ..
            })
        ));
        for bad in ["0", "9", "3601", "five minutes", "-1"] {
            assert!(
                matches!(
                    drain(bad),
                    Err(ConfigError::Invalid {
                        var: "DB_DRAIN_TIMEOUT_SECONDS",
                        ..
                    })
                ),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn capacity_out_of_order_still_loads() {
        let ok = config(&with(&[
            ("ASG_NAME", "web"),
            ("ASG_MIN", "2"),
            ("ASG_DESIRED", "4"),
            ("ASG_MAX", "8"),
        ]))
        .unwrap();
        assert_eq!(ok.capacity.unwrap().max, 8);
        let out_of_order = config(&with(&[
            ("ASG_NAME", "web"),
            ("ASG_MIN", "2"),
            ("ASG_DESIRED", "9"),
            ("ASG_MAX", "8"),
        ]))
        .unwrap();
        // Readiness and the scale-up report it; the database still moves.
        let wanted = out_of_order.capacity.unwrap();
        let target = wanted.target(crate::ports::GroupCapacity {
            min: 1,
            desired: 1,
            max: 2,
        });
        assert!(crate::aws_rules::group_refusal("web", &target).is_some());
        let err = config(&with(&[
            ("ASG_NAME", "web"),
            ("ASG_MIN", "-1"),
            ("ASG_DESIRED", "1"),
            ("ASG_MAX", "1"),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "ASG_MIN", .. }));
    }

    #[test]
    fn region_shapes() {
        for ok in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "eu-central-2",
        ] {
            assert!(ok.parse::<Region>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-x",
            "us--1",
            "-east-1",
        ] {
            assert!(bad.parse::<Region>().is_err(), "{bad}");
        }
    }

    #[test]
    fn operator_roles_match_sessions_of_the_same_role_in_the_same_account_only() {
        let role = OperatorRole::parse("arn:aws:iam::123456789012:role/ops/StopOperator").unwrap();
        assert_eq!(role.name, "StopOperator");
        assert!(role.allows("arn:aws:sts::123456789012:assumed-role/StopOperator/alice"));
        for caller in [
            "arn:aws:sts::999999999999:assumed-role/StopOperator/alice", // another account
            "arn:aws:sts::123456789012:assumed-role/StopOperatorX/alice",
            "arn:aws:sts::123456789012:assumed-role/StopOperator/",
            "arn:aws:iam::123456789012:user/StopOperator",
            "arn:aws-cn:sts::123456789012:assumed-role/StopOperator/alice",
            "arn:aws:sts::123456789012:federated-user/StopOperator",
            "",
        ] {
            assert!(!role.allows(caller), "{caller}");
        }
        for bad in [
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:sts::123456789012:role/x",
            "role/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(OperatorRole::parse(bad).is_none(), "{bad}");
        }
        // Nobody by default; a bad entry is refused at start, not skipped.
        assert!(config(BASE).unwrap().operator_roles.is_empty());
        let with = |value: &'static str| {
            let mut vars = BASE.to_vec();
            vars.push(("OPERATOR_ROLE_ARNS", value));
            config(&vars)
        };
        assert_eq!(
            with("arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b")
                .unwrap()
                .operator_roles
                .len(),
            2
        );
        assert!(with("arn:aws:iam::123456789012:role/a, nope").is_err());
    }
}
