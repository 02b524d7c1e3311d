//! CloudWatch alarm notifications as SNS delivers them, and the guards the
//! promoter applies before it acts on one.
//!
//! Our own type rather than `aws_lambda_events`' alarm payload: that one rejects
//! `"AlarmDescription": null`, which CloudWatch sends for an alarm without a
//! description, and a promoter that cannot parse the alarm cannot fail over.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Region;

/// The fields of the alarm message the promoter needs; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmMessage {
    pub alarm_name: String,
    #[serde(default)]
    pub alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    #[serde(default)]
    pub alarm_arn: Option<String>,
    pub new_state_value: String,
    #[serde(default)]
    pub new_state_reason: Option<String>,
    #[serde(default)]
    pub old_state_value: Option<String>,
    /// e.g. `2026-11-22T03:02:11.123+0000`: not RFC 3339 (no colon in the offset).
    pub state_change_time: String,
    /// The Region's long name, e.g. "US West (Oregon)"; the ARN has the code.
    #[serde(default)]
    pub region: Option<String>,
}

impl AlarmMessage {
    pub fn parse(message: &str) -> Result<Self, String> {
        serde_json::from_str(message)
            .map_err(|e| format!("not a CloudWatch alarm notification: {e}"))
    }

    /// The Region code, from the alarm ARN (`arn:aws:cloudwatch:us-west-2:…`).
    pub fn region_code(&self) -> Option<&str> {
        self.alarm_arn.as_deref()?.split(':').nth(3)
    }

    pub fn changed_at(&self) -> Result<OffsetDateTime, String> {
        // CloudWatch writes +0000; RFC 3339 wants +00:00.
        let text = &self.state_change_time;
        // `split_at` panics off a character boundary: a hostile tail such as
        // "…+00é" must be a parse error, not a panic.
        let fixed = match text
            .len()
            .checked_sub(5)
            .filter(|i| text.is_char_boundary(*i))
            .map(|i| text.split_at(i))
        {
            Some((head, tail))
                if (tail.starts_with('+') || tail.starts_with('-'))
                    && tail[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                format!("{head}{}:{}", &tail[..3], &tail[3..])
            }
            _ => text.clone(),
        };
        OffsetDateTime::parse(&fixed, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("StateChangeTime {text:?}: {e}"))
    }
}

/// Which alarm, in which account and Region, the promoter answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmGuard {
    pub alarm_name: String,
    pub account_id: String,
    pub region: Region,
    /// Older notifications (a late SNS redelivery) are ignored.
    pub max_age: time::Duration,
}

/// Why a notification is not acted on. Each is logged and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("state {0} is not ALARM")]
    NotAlarm(String),
    #[error("alarm {0:?} is not the configured alarm")]
    OtherAlarm(String),
    #[error("account {0} is not this account")]
    OtherAccount(String),
    #[error("Region {0:?} is not this Region")]
    OtherRegion(String),
    #[error("the notification is {0} s old, older than the {1} s bound")]
    TooOld(i64, i64),
    #[error("the notification is dated {0} s in the future")]
    FromTheFuture(i64),
    #[error("{0}")]
    Malformed(String),
}

/// How far ahead of this clock a StateChangeTime may be: clocks agree to
/// well within it.
pub const FUTURE_SKEW_SECONDS: i64 = 30;

impl AlarmGuard {
    /// Accepts only an ALARM of the configured alarm, account and Region that is
    /// recent enough.
    pub fn check(&self, message: &AlarmMessage, now: OffsetDateTime) -> Result<(), Ignored> {
        // The common case first: OK and INSUFFICIENT_DATA transitions.
        if message.new_state_value != "ALARM" {
            return Err(Ignored::NotAlarm(message.new_state_value.clone()));
        }
        if message.alarm_name != self.alarm_name {
            return Err(Ignored::OtherAlarm(message.alarm_name.clone()));
        }
        if message.aws_account_id != self.account_id {
            return Err(Ignored::OtherAccount(message.aws_account_id.clone()));
        }
        match message.region_code() {
            Some(code) if code == self.region.as_str() => {}
            other => return Err(Ignored::OtherRegion(other.unwrap_or("unknown").to_owned())),
        }
        let age = (now - message.changed_at().map_err(Ignored::Malformed)?).whole_seconds();
        if age > self.max_age.whole_seconds() {
            return Err(Ignored::TooOld(age, self.max_age.whole_seconds()));
        }
        // A change dated in the future is planted or broken: it would pass
        // the age bound for as long as it stays ahead.
        if -age > FUTURE_SKEW_SECONDS {
            return Err(Ignored::FromTheFuture(-age));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const MESSAGE: &str = r#"{"AlarmName":"orders-stop-failover","AlarmDescription":null,
        "AWSAccountId":"111122223333","AlarmConfigurationUpdatedTimestamp":"2026-11-20T10:00:00.000+0000",
        "NewStateValue":"ALARM","NewStateReason":"Threshold Crossed","StateChangeTime":"2026-11-22T03:02:11.123+0000",
        "Region":"US West (Oregon)","AlarmArn":"arn:aws:cloudwatch:us-west-2:111122223333:alarm:orders-stop-failover",
        "OldStateValue":"OK","OKActions":[],"AlarmActions":[],"InsufficientDataActions":[],
        "Trigger":{"MetricName":"FailoverToSecondary","Namespace":"StopPattern","Period":60}}"#;

    fn guard() -> AlarmGuard {
        AlarmGuard {
            alarm_name: "orders-stop-failover".into(),
            account_id: "111122223333".into(),
            region: "us-west-2".parse().unwrap(),
            max_age: time::Duration::minutes(15),
        }
    }

    #[test]
    fn a_real_notification_with_a_null_description_parses_and_passes() {
        let message = AlarmMessage::parse(MESSAGE).unwrap();
        assert_eq!(message.alarm_description, None);
        assert_eq!(message.region_code(), Some("us-west-2"));
        assert_eq!(
            message.changed_at().unwrap(),
            datetime!(2026-11-22 03:02:11.123 UTC)
        );
        assert_eq!(
            guard().check(&message, datetime!(2026-11-22 03:03 UTC)),
            Ok(())
        );
    }

    #[test]
    fn every_guard_refuses_what_it_should() {
        let now = datetime!(2026-11-22 03:03 UTC);
        let base = AlarmMessage::parse(MESSAGE).unwrap();
        let mut ok = base.clone();
        ok.new_state_value = "OK".into();
        assert!(matches!(guard().check(&ok, now), Err(Ignored::NotAlarm(_))));
        let mut other = base.clone();
        other.alarm_name = "payments-stop-failover".into();
        assert!(matches!(
            guard().check(&other, now),
            Err(Ignored::OtherAlarm(_))
        ));
        let mut account = base.clone();
        account.aws_account_id = "999999999999".into();
        assert!(matches!(
            guard().check(&account, now),
            Err(Ignored::OtherAccount(_))
        ));
        let mut region = base.clone();
        region.alarm_arn =
            Some("arn:aws:cloudwatch:us-east-1:111122223333:alarm:orders-stop-failover".into());
        assert!(matches!(
            guard().check(&region, now),
            Err(Ignored::OtherRegion(_))
        ));
        let late = datetime!(2026-11-22 04:00 UTC);
        assert!(matches!(
            guard().check(&base, late),
            Err(Ignored::TooOld(_, 900))
        ));
        // Dated a day ahead: refused, not "fresh" for a day.
        let early = datetime!(2026-11-21 03:03 UTC);
        assert!(matches!(
            guard().check(&base, early),
            Err(Ignored::FromTheFuture(_))
        ));
    }

    #[test]
    fn a_multibyte_tail_on_the_change_time_is_an_error_not_a_panic() {
        let mut hostile = AlarmMessage::parse(MESSAGE).unwrap();
        for text in [
            "2026-11-22T03:02:11.123+00é",
            "é",
            "ééééé",
            "2026-11-22T03:02:11+\u{1F600}",
        ] {
            hostile.state_change_time = text.into();
            assert!(hostile.changed_at().is_err(), "{text}");
        }
    }

    #[test]
    fn malformed_messages_say_why() {
        assert!(AlarmMessage::parse("{").is_err());
        assert!(AlarmMessage::parse(r#"{"AlarmName": 3}"#).is_err());
        let mut bad_time = AlarmMessage::parse(MESSAGE).unwrap();
        bad_time.state_change_time = "yesterday".into();
        assert!(matches!(
            guard().check(&bad_time, datetime!(2026-11-22 03:03 UTC)),
            Err(Ignored::Malformed(_))
        ));
    }
}
