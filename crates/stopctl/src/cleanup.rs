//! `stopctl cleanup`: what `sam delete` leaves behind, listed from the account,
//! planned by `stop_core::cleanup::plan`, and removed with `--yes`.

use aws_config::SdkConfig;
use stop_aws::LazyClient;
use stop_aws::decisions::SsmDecisionStore;
use stop_core::cleanup::{Action, DbListing, Kind, Leftover, Plan, Survey};
use stop_core::ports::{DecisionStore, PortError};

/// Where to look: the pair's Regions (and the witness), the decision prefix,
/// the stacks whose retained log groups to find, and the ARC stack.
#[derive(Debug, Clone)]
pub struct Scope {
    pub service: String,
    pub primary: String,
    pub standby: String,
    pub witness: Option<String>,
    pub decision_prefix: String,
    /// Stack names: CloudFormation names a log group without `LogGroupName`
    /// `<stack>-<LogicalId>-<suffix>`, so the stack name is its prefix.
    pub stacks: Vec<String>,
    /// The `arc.yaml` stack and its Region.
    pub arc_stack: Option<(String, String)>,
}

impl Scope {
    fn regions(&self) -> Vec<&str> {
        let mut regions = vec![self.primary.as_str(), self.standby.as_str()];
        regions.extend(self.witness.as_deref());
        regions
    }
}

fn failed(api: &str, error: impl std::fmt::Display) -> String {
    format!("{api}: {error}")
}

/// Lists every leftover; `sdk(region)` gives each Region's configuration.
pub async fn survey(
    scope: &Scope,
    sdk: impl Fn(&str) -> SdkConfig,
    stamp: &str,
) -> Result<Survey, String> {
    let mut survey = Survey {
        service: scope.service.clone(),
        stamp: stamp.to_owned(),
        ..Survey::default()
    };
    let path = format!("{}/{}", scope.decision_prefix, scope.service);
    for region in scope.regions() {
        let config = sdk(region);
        let ssm = aws_sdk_ssm::Client::new(&config);
        let mut pages = ssm
            .get_parameters_by_path()
            .path(&path)
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("ssm:GetParametersByPath", e))?;
            for parameter in page.parameters() {
                let Some(name) = parameter.name() else {
                    continue;
                };
                survey.parameters.push((region.to_owned(), name.to_owned()));
            }
        }
        // The decision's history, as the standby's copy holds it: which
        // instances were writers, and which one is now.
        if region == scope.standby {
            let store =
                SsmDecisionStore::new(LazyClient::from(ssm.clone()), &scope.decision_prefix);
            survey.history = match store.history(&scope.service).await {
                Ok(history) => history,
                Err(PortError::NotFound(_)) => Vec::new(),
                Err(e) => return Err(format!("the decision record: {e}")),
            };
        }
        if region == scope.primary || region == scope.standby {
            let rds = aws_sdk_rds::Client::new(&config);
            let mut pages = rds.describe_db_instances().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| failed("rds:DescribeDBInstances", e))?;
                for db in page.db_instances() {
                    survey.instances.push(DbListing {
                        region: region.to_owned(),
                        id: db.db_instance_identifier().unwrap_or_default().to_owned(),
                        class: db.db_instance_class().unwrap_or_default().to_owned(),
                        storage_gb: db
                            .allocated_storage()
                            .and_then(|g| u32::try_from(g).ok())
                            .unwrap_or(0),
                        multi_az: db.multi_az() == Some(true),
                        replica: db.read_replica_source_db_instance_identifier().is_some(),
                        deletion_protection: db.deletion_protection() == Some(true),
                    });
                }
            }
        }
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);
        for stack in &scope.stacks {
            if stack_exists(&cloudformation, stack).await? {
                survey.live_stacks.push((region.to_owned(), stack.clone()));
            }
            // Only the groups the template keeps, by their logical IDs: a bare
            // `<stack>-` prefix would also match another stack's groups.
            for logical in stop_core::cleanup::RETAINED_LOG_GROUPS {
                let prefix = format!("{stack}-{logical}-");
                let mut pages = logs
                    .describe_log_groups()
                    .log_group_name_prefix(&prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| failed("logs:DescribeLogGroups", e))?;
                    for group in page.log_groups() {
                        if let Some(name) = group.log_group_name() {
                            let bytes = group.stored_bytes().and_then(|b| u64::try_from(b).ok());
                            survey.log_groups.push((
                                region.to_owned(),
                                name.to_owned(),
                                bytes.unwrap_or(0),
                            ));
                        }
                    }
                }
            }
        }
    }
    if let Some((region, name)) = &scope.arc_stack {
        let cloudformation = aws_sdk_cloudformation::Client::new(&sdk(region));
        if stack_exists(&cloudformation, name).await? {
            survey.arc_stack = Some((region.clone(), name.clone()));
        }
    }
    Ok(survey)
}

/// Whether a stack of that name exists and is not deleted.
async fn stack_exists(
    cloudformation: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<bool, String> {
    match cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
    {
        Ok(found) => Ok(found.stacks().iter().any(|s| {
            s.stack_status()
                .is_some_and(|st| st.as_str() != "DELETE_COMPLETE")
        })),
        // "Stack with id … does not exist": gone.
        Err(e) if format!("{e:?}").contains("does not exist") => Ok(false),
        Err(e) => Err(failed("cloudformation:DescribeStacks", e)),
    }
}

/// Removes every leftover the plan does not keep; returns what happened to each.
pub async fn remove(
    plan: &Plan,
    sdk: impl Fn(&str) -> SdkConfig,
) -> Vec<(Leftover, Result<(), String>)> {
    let mut done = Vec::new();
    for leftover in &plan.leftovers {
        let config = sdk(&leftover.region);
        let name = leftover.name.as_str();
        let outcome = match (&leftover.kind, &leftover.action) {
            (_, Action::Keep(_)) => continue,
            (Kind::DbInstance, Action::DeleteReplica) => aws_sdk_rds::Client::new(&config)
                .delete_db_instance()
                .db_instance_identifier(name)
                .skip_final_snapshot(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("rds:DeleteDBInstance", e)),
            (Kind::DbInstance, Action::DeleteWithSnapshot(snapshot)) => {
                aws_sdk_rds::Client::new(&config)
                    .delete_db_instance()
                    .db_instance_identifier(name)
                    .final_db_snapshot_identifier(snapshot)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| failed("rds:DeleteDBInstance", e))
            }
            (Kind::ArcStack, _) => aws_sdk_cloudformation::Client::new(&config)
                .delete_stack()
                .stack_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("cloudformation:DeleteStack", e)),
            (Kind::LogGroup, _) => aws_sdk_cloudwatchlogs::Client::new(&config)
                .delete_log_group()
                .log_group_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("logs:DeleteLogGroup", e)),
            (Kind::Parameter, _) => aws_sdk_ssm::Client::new(&config)
                .delete_parameter()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("ssm:DeleteParameter", e)),
            (Kind::DbInstance, _) => Err("no way to remove it".to_owned()),
        };
        done.push((leftover.clone(), outcome));
    }
    done
}

/// The plan as a table, with each monthly cost and the total saved.
pub fn render(plan: &Plan, acted: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if plan.leftovers.is_empty() {
        out.push_str("nothing left behind\n");
        return out;
    }
    for l in &plan.leftovers {
        let cost = l
            .monthly_usd
            .map_or("   ? /month".to_owned(), |c| format!("{c:>8.2} $/month"));
        let action = match &l.action {
            Action::Keep(why) => format!("KEEP: {why}"),
            Action::DeleteReplica => "delete (a read replica: no snapshot)".to_owned(),
            Action::DeleteWithSnapshot(s) => format!("delete, final snapshot {s}"),
            Action::DeleteStack => "delete the stack".to_owned(),
            Action::DeleteLogGroup => "delete the log group".to_owned(),
            Action::DeleteParameter => "delete the parameter".to_owned(),
        };
        let _ = writeln!(
            out,
            "{cost}  {:<11} {:<10} {}  ({}): {action}",
            format!("{:?}", l.kind),
            l.region,
            l.name,
            l.detail
        );
    }
    let _ = writeln!(
        out,
        "{:>8.2} $/month {} by removing these",
        plan.monthly_savings_usd(),
        if acted { "saved" } else { "to save" }
    );
    if !acted {
        out.push_str("a plan only: run again with --yes to remove them\n");
    }
    out
}
