//! The figures the world runs on, each from AWS's documentation (the page is
//! cited beside it) or from this project's template. Where AWS gives a range,
//! the world draws from it with the scenario's seed.

use std::ops::RangeInclusive;

/// CloudWatch evaluates a standard-resolution alarm once per period, on the
/// datapoints of the last `EvaluationPeriods` periods; with
/// `TreatMissingData: ignore` a period without data keeps the state.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation>
/// The template's STOP alarm: Period 60, EvaluationPeriods 1, DatapointsToAlarm 1.
pub const ALARM_PERIOD_S: i64 = 60;
pub const ALARM_EVALUATION_PERIODS: i64 = 1;
/// Metric data is visible to alarm evaluation after an ingestion delay; the
/// evaluation itself runs a little after the period ends.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#CloudWatchPeriods>
pub const ALARM_EVALUATION_DELAY_S: RangeInclusive<i64> = 5..=20;

/// Route 53 health checkers probe every 10 or 30 s (the template: 30) and flip
/// status after `FailureThreshold` consecutive results (the template: 3).
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html>
pub const HEALTH_CHECK_INTERVAL_S: i64 = 30;
pub const HEALTH_CHECK_FAILURE_THRESHOLD: u32 = 3;
/// A `CLOUDWATCH_METRIC` health check follows the alarm's data stream: ALARM is
/// unhealthy, OK healthy, and with `InsufficientDataHealthStatus: LastKnownStatus`
/// no data keeps the last status. Route 53 reads it on its own cadence.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html#health-checks-creating-values-cloudwatch>
pub const METRIC_CHECK_LAG_S: RangeInclusive<i64> = 10..=30;
/// A `RECOVERY_CONTROL` health check follows its routing control; ARC says the
/// change reaches Route 53's data plane within seconds.
/// <https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.how-it-works.html>
pub const CONTROL_CHECK_LAG_S: RangeInclusive<i64> = 2..=10;
/// The failover record is an alias to the API's regional domain; Route 53 gives
/// alias answers the target's TTL, 60 s for API Gateway.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html>
pub const DNS_TTL_S: i64 = 60;

/// An ARC cluster has five regional endpoints; any one can update a control.
/// <https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.update.api.html>
pub const ARC_ENDPOINTS: usize = 5;

/// A cross-Region RDS read replica lags its source by seconds under a steady
/// write load (the `ReplicaLag` metric); the lag at promotion is the RPO.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html>
pub const REPLICA_LAG_S: RangeInclusive<i64> = 1..=8;
/// "Promotion takes a few minutes"; the replica is unavailable for writes until
/// RDS emits the promotion-complete event.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html>
pub const PROMOTION_S: RangeInclusive<i64> = 150..=330;
/// Aurora global database: a switchover (no data loss) or a failover with
/// `AllowDataLoss` each take about a minute or two.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html>
pub const GLOBAL_SWITCHOVER_S: RangeInclusive<i64> = 60..=150;
pub const GLOBAL_FAILOVER_S: RangeInclusive<i64> = 45..=100;
/// Aurora global storage replication lag is typically under a second.
pub const GLOBAL_LAG_S: RangeInclusive<i64> = 1..=1;

/// New instances count as InService after the instance warm-up.
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html>
pub const INSTANCE_WARMUP_S: RangeInclusive<i64> = 60..=180;

/// SNS delivers at least once, usually within a second; a retried delivery can
/// arrive again later.
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>
pub const SNS_DELAY_MS: RangeInclusive<i64> = 50..=900;
/// An asynchronous invocation (SNS → Lambda) that fails is retried twice,
/// one minute and then two minutes later.
/// <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>
pub const LAMBDA_ASYNC_RETRY_S: [i64; 2] = [60, 120];
/// The operator API's function timeout in the template (API Gateway stops
/// waiting at 29 s).
pub const TRIGGER_TIMEOUT_S: i64 = 28;

/// The SDK's timeouts as `stop_aws::sdk_config` sets them: a refused or dark
/// endpoint costs the connect timeout, a hanging one the attempt timeout.
pub const CONNECT_TIMEOUT_MS: i64 = 2_000;
pub const ATTEMPT_TIMEOUT_MS: i64 = 5_000;
/// A healthy regional API call.
pub const API_LATENCY_MS: RangeInclusive<i64> = 8..=60;

/// The secret rewriter's and the promoter's schedules in the template
/// (`rate(1 minute)`, EventBridge's shortest). RDS sends no event when a read
/// replica's promotion completes, so the schedule is how the writer is found.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html>
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>
pub const REWRITER_SCHEDULE_S: i64 = 60;
pub const PROMOTER_SCHEDULE_S: i64 = 60;
/// A write of the decision record reaches the promoter and the rewriter as
/// EventBridge's `Parameter Store Change` (the template's `RecordChanged`
/// rules). Systems Manager's events are best effort, with no latency figure
/// published; the drill draws half a second to five, and the schedules stay
/// the safety net for a lost one.
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-delivery-level.html>
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html>
pub const RECORD_EVENT_DELAY_MS: RangeInclusive<i64> = 500..=5_000;
/// The trigger's republish of the STOP metric (template: rate(1 minute)).
pub const TRIGGER_SCHEDULE_S: i64 = 60;

/// A new cross-Region read replica: "can take hours" for a large database;
/// the drill's is small.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Create.html>
pub const REPLICA_CREATE_S: RangeInclusive<i64> = 900..=1800;
/// After a failover with data loss Aurora rebuilds the old primary Region's
/// cluster as a secondary once it is reachable: "a few minutes to several
/// hours" (with the database's size). The drill draws from 3 minutes to 6
/// hours, so that nothing may count on a quick rejoin.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html>
pub const GLOBAL_REJOIN_S: RangeInclusive<i64> = 180..=21_600;
/// An RDS for PostgreSQL replica of a source that takes no transactions
/// reports a lag that grows until the WAL segment switches, "up to 5 minutes".
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PostgreSQL.Replication.ReadReplicas.html>
pub const PG_IDLE_LAG_RESET_S: i64 = 300;
/// `ReplicaLag` is published once a minute: a sample, not the minute's maximum.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html>
pub const METRIC_PERIOD_S: i64 = 60;

/// The detector's probe interval (the template's default) and its witness
/// Region, a third vantage point beside the standby.
pub const DETECTOR_INTERVAL_S: i64 = 30;
pub const WITNESS_REGION: &str = "eu-west-1";

/// A Region back from dark: how long its first calls to other Regions fail
/// while its network settles (the fence's first reads among them).
pub const RECOVERY_SETTLE_S: i64 = 20;
