//! The events AWS would hand the functions, built as AWS builds them: SNS
//! deliveries of CloudWatch alarm notifications and of RDS event
//! notifications. API Gateway requests are `stop_http::proxy_request`.

use aws_lambda_events::event::sns::SnsEvent;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const ACCOUNT: &str = "111122223333";

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// One SNS delivery of `message` from `topic`.
pub fn sns_delivery(region: &str, topic: &str, message: &str, sent: OffsetDateTime) -> SnsEvent {
    let topic_arn = format!("arn:aws:sns:{region}:{ACCOUNT}:{topic}");
    let value = json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{topic_arn}:sim"),
        "Sns": {
            "Type": "Notification",
            "MessageId": format!("sim-{}", sent.unix_timestamp_nanos()),
            "TopicArn": topic_arn,
            "Subject": null,
            "Message": message,
            "Timestamp": timestamp(sent),
            "SignatureVersion": "1",
            "Signature": "sim",
            "SigningCertUrl": "https://sns.invalid/sim.pem",
            "UnsubscribeUrl": "https://sns.invalid/unsubscribe",
            "MessageAttributes": {}
        }
    }]});
    serde_json::from_value(value).unwrap_or_default()
}

/// A CloudWatch alarm state change notification, as the alarm's SNS action
/// sends it.
pub fn alarm_message(
    region: &str,
    alarm: &str,
    old: &str,
    new: &str,
    reason: &str,
    at: OffsetDateTime,
) -> String {
    // CloudWatch writes the offset as +0000.
    let changed = at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
        ))
        .unwrap_or_default();
    json!({
        "AlarmName": alarm,
        "AlarmDescription": null,
        "AWSAccountId": ACCOUNT,
        "NewStateValue": new,
        "NewStateReason": reason,
        "StateChangeTime": changed,
        "Region": region,
        "AlarmArn": format!("arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{alarm}"),
        "OldStateValue": old,
    })
    .to_string()
}

/// An RDS event notification as an event subscription publishes it to SNS.
pub fn rds_event(region: &str, source_id: &str, kind: &str, message: &str) -> String {
    let arn = format!("arn:aws:rds:{region}:{ACCOUNT}:{kind}:{source_id}");
    json!({
        "Event Source": if kind == "db" { "db-instance" } else { "global-cluster" },
        "Source ID": source_id,
        "Source ARN": arn,
        "Event Message": message,
    })
    .to_string()
}

/// EventBridge's event for a write of the SSM parameter `name`, in the shape
/// of Systems Manager's example (`Parameter Store Change`, operation Update).
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html>
pub fn parameter_store_change(region: &str, name: &str, at: OffsetDateTime) -> Value {
    json!({
        "version": "0",
        "id": format!("sim-{}", at.unix_timestamp_nanos()),
        "detail-type": "Parameter Store Change",
        "source": "aws.ssm",
        "account": ACCOUNT,
        "time": timestamp(at),
        "region": region,
        "resources": [format!("arn:aws:ssm:{region}:{ACCOUNT}:parameter/{}", name.trim_start_matches('/'))],
        "detail": {"operation": "Update", "name": name, "type": "String", "description": ""}
    })
}

/// The JSON body of a response, or `Null`.
pub fn body_json(body: &lambda_http::Body) -> Value {
    match body {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        lambda_http::Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
