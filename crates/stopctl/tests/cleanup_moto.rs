#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! `stopctl cleanup` over the wire, against moto server (SSM, RDS, CloudWatch
//! Logs, CloudFormation): it lists what a deleted pair left behind, keeps the
//! current writer, removes the rest with `--yes`, and then finds nothing more.
//! `scripts/test` starts moto and runs this with `--include-ignored`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::{Credentials, SharedCredentialsProvider};
use stop_aws::LazyClient;
use stop_aws::decisions::SsmDecisionStore;
use stop_core::cleanup::{Action, Kind, plan};
use stop_core::decision::{DbRef, Decision};
use stop_core::ports::DecisionStore;
use stopctl::cleanup::{Scope, remove, survey};

fn sdk(region: &str) -> SdkConfig {
    let endpoint = std::env::var("STOP_MOTO_ENDPOINT")
        .expect("STOP_MOTO_ENDPOINT: run through ./scripts/test, which starts moto server");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .build()
}

fn writer(epoch: u64, region: &str, id: &str) -> Decision {
    let mut d = Decision::initial(
        "svc",
        &region.parse().unwrap(),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    d.epoch = epoch;
    d.data.writer = Some(DbRef {
        region: region.parse().unwrap(),
        id: id.to_owned(),
    });
    d
}

async fn instance(region: &str, id: &str) {
    aws_sdk_rds::Client::new(&sdk(region))
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t4g.micro")
        .engine("postgres")
        .master_username("app")
        .master_user_password("not-a-real-password")
        .allocated_storage(20)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs moto server: ./scripts/test starts it"]
async fn cleanup_plans_removes_all_but_the_writer_and_then_finds_nothing() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // A service of its own: tests share one moto server.
    let service = format!("c{}", nanos % 1_000_000_000);
    let prefix = format!("/stop-cleanup-{nanos}");
    let stack = format!("{service}-secondary");
    let scope = Scope {
        service: service.clone(),
        primary: "us-east-1".into(),
        standby: "us-west-2".into(),
        witness: None,
        decision_prefix: prefix.clone(),
        stacks: vec![stack.clone()],
        arc_stack: Some(("us-west-2".into(), format!("{service}-arc"))),
    };

    // What a failover (to the deployed replica), a re-protect and a failback
    // (to the copy) leave: the copy is the writer now, the replica an old one.
    let copy = format!("{service}-us-east-1-e1");
    let old_writer = format!("{service}-replica");
    instance("us-east-1", &copy).await;
    instance("us-west-2", &old_writer).await;
    instance("us-west-2", &format!("not-{service}")).await;
    let ssm_west = aws_sdk_ssm::Client::new(&sdk("us-west-2"));
    let mut first = writer(1, "us-west-2", &old_writer);
    first.service = service.clone();
    let mut second = writer(2, "us-east-1", &copy);
    second.service = service.clone();
    let store = SsmDecisionStore::new(LazyClient::from(ssm_west.clone()), &prefix);
    store.store(&first).await.unwrap();
    store.store(&second).await.unwrap();
    aws_sdk_ssm::Client::new(&sdk("us-east-1"))
        .put_parameter()
        .name(format!("{prefix}/{service}/fence"))
        .value("{}")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk("us-west-2"));
    logs.create_log_group()
        .log_group_name(format!("{stack}-FailoverTriggerLogGroup-AbC123"))
        .send()
        .await
        .unwrap();
    logs.create_log_group()
        .log_group_name(format!("other-{service}"))
        .send()
        .await
        .unwrap();
    // Another stack whose name starts with this one's: its groups are not ours.
    logs.create_log_group()
        .log_group_name(format!("{stack}-2-FailoverTriggerLogGroup-XyZ789"))
        .send()
        .await
        .unwrap();
    aws_sdk_cloudformation::Client::new(&sdk("us-west-2"))
        .create_stack()
        .stack_name(format!("{service}-arc"))
        .template_body(
            r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#,
        )
        .send()
        .await
        .unwrap();

    // While the standby's stack still exists, nothing is a leftover.
    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk("us-west-2"));
    cloudformation
        .create_stack()
        .stack_name(&stack)
        .template_body(
            r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#,
        )
        .send()
        .await
        .unwrap();
    let live = plan(&survey(&scope, sdk, "202612031500").await.unwrap());
    assert!(
        live.leftovers
            .iter()
            .all(|l| matches!(l.action, Action::Keep(_))),
        "{live:#?}"
    );
    cloudformation
        .delete_stack()
        .stack_name(&stack)
        .send()
        .await
        .unwrap();

    let found = survey(&scope, sdk, "202612031500").await.unwrap();
    let planned = plan(&found);
    let action = |name: &str| {
        planned
            .leftovers
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.action.clone())
    };
    assert!(
        matches!(action(&copy), Some(Action::Keep(_))),
        "{planned:#?}"
    );
    assert_eq!(
        action(&old_writer),
        Some(Action::DeleteWithSnapshot(format!(
            "{old_writer}-final-202612031500"
        )))
    );
    assert_eq!(action(&format!("not-{service}")), None, "someone else's");
    assert_eq!(
        action(&format!("other-{service}")),
        None,
        "another stack's logs"
    );
    assert_eq!(
        action(&format!("{stack}-2-FailoverTriggerLogGroup-XyZ789")),
        None,
        "a stack named like this one's"
    );
    assert_eq!(
        action(&format!("{stack}-FailoverTriggerLogGroup-AbC123")),
        Some(Action::DeleteLogGroup)
    );
    assert_eq!(action(&format!("{service}-arc")), Some(Action::DeleteStack));
    let parameters = planned
        .leftovers
        .iter()
        .filter(|l| l.kind == Kind::Parameter)
        .count();
    assert_eq!(parameters, 2, "decision and fence: {planned:#?}");
    // The ARC cluster alone is $1,825 a month; the old writer adds its own.
    assert!(planned.monthly_savings_usd() > 1825.0);

    let done = remove(&planned, sdk).await;
    for (leftover, outcome) in &done {
        assert!(outcome.is_ok(), "{}: {outcome:?}", leftover.name);
    }
    let again = plan(&survey(&scope, sdk, "202612031501").await.unwrap());
    let left: Vec<&str> = again
        .leftovers
        .iter()
        .filter(|l| !matches!(l.action, Action::Keep(_)))
        .map(|l| l.name.as_str())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The current writer is still there.
    let kept = aws_sdk_rds::Client::new(&sdk("us-east-1"))
        .describe_db_instances()
        .db_instance_identifier(&copy)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.db_instances().len(), 1);
}
