//! What `sam delete` leaves running or stored, and what removing it saves: a
//! pure plan from what the account lists (`stopctl cleanup` lists, plans, and
//! with `--yes` removes). Kept: the database that takes writes now, which is
//! the application's data, not a leftover.
//!
//! - RDS instances re-protect created (named by `promoter::copy_name`) and
//!   old writers the decision history names, in both Regions: billed by the
//!   hour until deleted. A read replica is deleted without a snapshot (RDS
//!   requires it: "If you delete a read replica ... you must enable this
//!   setting", SkipFinalSnapshot); a standalone one with a final snapshot.
//!   <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html>
//! - The ARC stack (`arc.yaml`): the cluster is billed by the hour.
//! - Log groups the stacks keep (`DeletionPolicy: Retain`): stored bytes.
//! - The SSM parameters under `<prefix>/<service>/`: free, but a redeployed
//!   primary reads the old decision and fence records and refuses every write.

use serde::Serialize;

use crate::decision::Decision;

/// Hours in AWS's pricing month.
pub const HOURS_A_MONTH: f64 = 730.0;
/// An ARC cluster: $2.50 an hour, whether anything uses it or not.
/// <https://aws.amazon.com/route53/application-recovery-controller/pricing/>
pub const ARC_CLUSTER_HOURLY_USD: f64 = 2.5;
/// CloudWatch Logs storage, per GB-month (standard class, us-east-1).
/// <https://aws.amazon.com/cloudwatch/pricing/>
pub const LOG_STORAGE_GB_MONTH_USD: f64 = 0.03;
/// RDS General Purpose (gp2/gp3) storage, per GB-month, Single-AZ (us-east-1).
/// <https://aws.amazon.com/rds/postgresql/pricing/>
pub const RDS_STORAGE_GB_MONTH_USD: f64 = 0.115;

/// On-demand hourly price of common RDS for PostgreSQL classes, Single-AZ,
/// us-east-1; other classes show no figure rather than a guess.
/// <https://aws.amazon.com/rds/postgresql/pricing/>
pub fn rds_hourly_usd(class: &str) -> Option<f64> {
    Some(match class {
        "db.t4g.micro" => 0.016,
        "db.t4g.small" => 0.032,
        "db.t4g.medium" => 0.065,
        "db.t4g.large" => 0.129,
        "db.t3.micro" => 0.018,
        "db.t3.small" => 0.036,
        "db.t3.medium" => 0.072,
        "db.m6g.large" => 0.159,
        "db.r6g.large" => 0.225,
        _ => return None,
    })
}

/// An RDS instance as `DescribeDBInstances` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbListing {
    pub region: String,
    pub id: String,
    pub class: String,
    pub storage_gb: u32,
    pub multi_az: bool,
    /// A read replica (`ReadReplicaSourceDBInstanceIdentifier` set).
    pub replica: bool,
    pub deletion_protection: bool,
}

/// What a leftover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DbInstance,
    ArcStack,
    LogGroup,
    Parameter,
}

/// How a leftover goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action", content = "detail")]
pub enum Action {
    /// `DeleteDBInstance` with `SkipFinalSnapshot` (a read replica).
    DeleteReplica,
    /// `DeleteDBInstance` with this final snapshot.
    DeleteWithSnapshot(String),
    DeleteStack,
    DeleteLogGroup,
    DeleteParameter,
    /// Not removed, and why.
    Keep(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leftover {
    pub kind: Kind,
    pub region: String,
    pub name: String,
    /// What it costs a month while it stays; `None`: no figure for it here.
    pub monthly_usd: Option<f64>,
    pub detail: String,
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub leftovers: Vec<Leftover>,
}

impl Plan {
    /// What removing every removable leftover saves a month.
    pub fn monthly_savings_usd(&self) -> f64 {
        self.leftovers
            .iter()
            .filter(|l| !matches!(l.action, Action::Keep(_)))
            .filter_map(|l| l.monthly_usd)
            .sum()
    }
}

/// Whether `id`, listed in `region`, is exactly the name
/// `promoter::copy_name` gives a copy of `service` there for some epoch: not
/// merely a name that starts like one (another service, `orders-archive`,
/// has copies named `orders-archive-…` of its own).
pub fn is_copy_name(service: &str, region: &str, id: &str) -> bool {
    let Ok(region) = region.parse::<crate::Region>() else {
        return false;
    };
    id.rsplit_once("-e")
        .and_then(|(_, epoch)| epoch.parse::<u64>().ok())
        .is_some_and(|epoch| crate::promoter::copy_name(service, &region, epoch) == id)
}

/// What the account holds, as `stopctl cleanup` listed it.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    pub service: String,
    /// The decision history, as the standby's copy holds it.
    pub history: Vec<Decision>,
    pub instances: Vec<DbListing>,
    /// The ARC stack, if it exists: its Region and name.
    pub arc_stack: Option<(String, String)>,
    /// Retained log groups: Region, name, stored bytes.
    pub log_groups: Vec<(String, String, u64)>,
    /// SSM parameters: Region, name.
    pub parameters: Vec<(String, String)>,
    /// `yyyymmddhhmm`, for final snapshot names.
    pub stamp: String,
    /// Stacks of the pair that still exist (Region, name): while one does,
    /// nothing is a leftover (its copy protects the writer, its records fence).
    pub live_stacks: Vec<(String, String)>,
}

/// The log groups the template keeps (`DeletionPolicy: Retain`): the audit
/// trails. CloudFormation names a group without `LogGroupName`
/// `<stack>-<LogicalId>-<suffix>`.
pub const RETAINED_LOG_GROUPS: &[&str] = &[
    "OperatorApiAccessLogGroup",
    "FailoverTriggerLogGroup",
    "ReplicaPromoterLogGroup",
    "SecretRewriterLogGroup",
    "DetectorLogGroup",
];

/// The plan: every leftover with its monthly cost and how it goes.
pub fn plan(survey: &Survey) -> Plan {
    let current = Decision::current(&survey.history);
    let writer = current.and_then(|d| d.data.writer.clone());
    let named: Vec<(String, String)> = survey
        .history
        .iter()
        .flat_map(|d| [d.data.writer.clone(), d.data.copy.clone()])
        .flatten()
        .map(|r| (r.region.to_string(), r.id))
        .collect();
    let mut leftovers = Vec::new();
    for db in &survey.instances {
        let ours = is_copy_name(&survey.service, &db.region, &db.id)
            || named.iter().any(|(r, id)| *r == db.region && *id == db.id);
        if !ours {
            continue;
        }
        let monthly = rds_hourly_usd(&db.class).map(|hourly| {
            let per_az =
                hourly * HOURS_A_MONTH + f64::from(db.storage_gb) * RDS_STORAGE_GB_MONTH_USD;
            if db.multi_az { 2.0 * per_az } else { per_az }
        });
        let is_writer = writer
            .as_ref()
            .is_some_and(|w| w.region.as_str() == db.region && w.id == db.id);
        let action = if current.is_none() {
            // No record, no evidence of which one takes writes: keep them all.
            Action::Keep("no decision record to tell the writer from a leftover: delete it by hand once you are sure".into())
        } else if is_writer {
            Action::Keep("the current writer: the application's data".into())
        } else if db.deletion_protection {
            Action::Keep("deletion protection is on: turn it off (modify-db-instance --no-deletion-protection) to remove it".into())
        } else if db.replica {
            Action::DeleteReplica
        } else {
            Action::DeleteWithSnapshot(format!("{}-final-{}", db.id, survey.stamp))
        };
        leftovers.push(Leftover {
            kind: Kind::DbInstance,
            region: db.region.clone(),
            name: db.id.clone(),
            monthly_usd: monthly,
            detail: format!(
                "{}{}, {} GB, {}",
                db.class,
                if db.multi_az { " Multi-AZ" } else { "" },
                db.storage_gb,
                if db.replica {
                    "a read replica"
                } else {
                    "standalone"
                }
            ),
            action,
        });
    }
    if let Some((region, name)) = &survey.arc_stack {
        leftovers.push(Leftover {
            kind: Kind::ArcStack,
            region: region.clone(),
            name: name.clone(),
            monthly_usd: Some(ARC_CLUSTER_HOURLY_USD * HOURS_A_MONTH),
            detail: "the ARC cluster, its control panel, routing controls and safety rule".into(),
            action: Action::DeleteStack,
        });
    }
    for (region, name, bytes) in &survey.log_groups {
        #[allow(clippy::cast_precision_loss)] // bytes to GB, for a price
        let gb = *bytes as f64 / 1e9;
        leftovers.push(Leftover {
            kind: Kind::LogGroup,
            region: region.clone(),
            name: name.clone(),
            monthly_usd: Some(gb * LOG_STORAGE_GB_MONTH_USD),
            detail: format!(
                "{bytes} bytes stored (an audit trail: export it first if you must keep it)"
            ),
            action: Action::DeleteLogGroup,
        });
    }
    for (region, name) in &survey.parameters {
        leftovers.push(Leftover {
            kind: Kind::Parameter,
            region: region.clone(),
            name: name.clone(),
            monthly_usd: Some(0.0),
            detail: "standard tier, free; a redeployed stack would read it and, for the decision and fence records, refuse writes".into(),
            action: Action::DeleteParameter,
        });
    }
    // A pair still deployed has no leftovers: removing its copy, its
    // records or its stack would break it.
    if let Some((region, stack)) = survey.live_stacks.first() {
        for leftover in &mut leftovers {
            leftover.action = Action::Keep(format!(
                "the stack {stack} in {region} still exists: delete the stacks first (sam delete), then clean up"
            ));
        }
    }
    Plan { leftovers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DbRef;

    fn db(region: &str, id: &str, replica: bool) -> DbListing {
        DbListing {
            region: region.into(),
            id: id.into(),
            class: "db.t4g.micro".into(),
            storage_gb: 20,
            multi_az: false,
            replica,
            deletion_protection: false,
        }
    }

    #[test]
    fn copy_names_are_recognised_and_nothing_else() {
        assert!(is_copy_name("orders", "us-east-1", "orders-us-east-1-e1"));
        assert!(is_copy_name(
            "9lives",
            "us-east-1",
            "db-9lives-us-east-1-e12"
        ));
        assert!(!is_copy_name("orders", "us-east-1", "orders-primary"));
        assert!(!is_copy_name("orders", "us-east-1", "orders-us-east-1-e"));
        assert!(!is_copy_name(
            "orders",
            "us-east-1",
            "payments-us-east-1-e1"
        ));
        // Another service whose name starts with this one's, and a copy
        // named for the other Region: not ours here.
        assert!(!is_copy_name(
            "orders",
            "us-east-1",
            "orders-archive-us-east-1-e3"
        ));
        assert!(!is_copy_name("orders", "us-east-1", "orders-us-west-2-e1"));
    }

    #[test]
    fn the_current_writer_is_kept_and_old_writers_and_copies_go() {
        let mut decision = Decision::initial(
            "orders",
            &"us-east-1".parse().unwrap(),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        decision.epoch = 2;
        decision.data.writer = Some(DbRef {
            region: "us-east-1".parse().unwrap(),
            id: "orders-us-east-1-e1".into(),
        });
        let mut earlier = decision.clone();
        earlier.epoch = 1;
        earlier.data.writer = Some(DbRef {
            region: "us-west-2".parse().unwrap(),
            id: "orders-replica".into(),
        });
        let survey = Survey {
            service: "orders".into(),
            history: vec![earlier, decision],
            instances: vec![
                db("us-east-1", "orders-us-east-1-e1", false),
                db("us-west-2", "orders-replica", false),
                db("us-west-2", "orders-us-west-2-e2", true),
                db("us-east-1", "someone-elses", false),
            ],
            stamp: "202612031500".into(),
            ..Survey::default()
        };
        let plan = plan(&survey);
        let action = |name: &str| {
            plan.leftovers
                .iter()
                .find(|l| l.name == name)
                .map(|l| l.action.clone())
        };
        assert!(matches!(
            action("orders-us-east-1-e1"),
            Some(Action::Keep(_))
        ));
        assert_eq!(
            action("orders-replica"),
            Some(Action::DeleteWithSnapshot(
                "orders-replica-final-202612031500".into()
            ))
        );
        assert_eq!(action("orders-us-west-2-e2"), Some(Action::DeleteReplica));
        assert_eq!(action("someone-elses"), None, "not ours: not listed");
        // Two db.t4g.micro with 20 GB: 2 x (0.016 x 730 + 20 x 0.115).
        let saved = plan.monthly_savings_usd();
        assert!(
            (saved - 2.0 * (0.016 * 730.0 + 2.3)).abs() < 1e-9,
            "{saved}"
        );
    }

    #[test]
    fn without_a_decision_record_no_instance_is_removed() {
        let plan = plan(&Survey {
            service: "orders".into(),
            instances: vec![db("us-east-1", "orders-us-east-1-e1", false)],
            ..Survey::default()
        });
        assert!(
            matches!(plan.leftovers[0].action, Action::Keep(_)),
            "{plan:?}"
        );
        assert_eq!(plan.monthly_savings_usd(), 0.0);
    }

    #[test]
    fn nothing_is_removed_while_a_stack_of_the_pair_still_exists() {
        let plan = plan(&Survey {
            service: "orders".into(),
            parameters: vec![("us-west-2".into(), "/stop/orders/decision".into())],
            arc_stack: Some(("us-west-2".into(), "stop-orders-arc".into())),
            live_stacks: vec![("us-west-2".into(), "stop-orders-secondary".into())],
            ..Survey::default()
        });
        assert!(
            plan.leftovers
                .iter()
                .all(|l| matches!(l.action, Action::Keep(_))),
            "{plan:?}"
        );
        assert_eq!(plan.monthly_savings_usd(), 0.0);
    }

    #[test]
    fn the_arc_cluster_costs_what_arc_charges() {
        let plan = plan(&Survey {
            service: "orders".into(),
            arc_stack: Some(("us-west-2".into(), "stop-orders-arc".into())),
            ..Survey::default()
        });
        assert_eq!(plan.leftovers[0].monthly_usd, Some(1825.0));
    }
}
