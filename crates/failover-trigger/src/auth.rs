//! Who is calling, as API Gateway's authorizer told us. The template puts a
//! Cognito user pool authorizer in front of every operator route; the handler
//! still checks, so that a mis-deployed API is closed, not open.
//!
//! API Gateway passes a Cognito user pool authorizer's ID-token claims to the
//! integration as `requestContext.authorizer.claims`, each value a string
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html>);
//! a SigV4 (IAM) caller shows up as `requestContext.identity.userArn`.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use stop_core::config::OperatorRole;

/// The longest email address a mailbox can have (RFC 5321's 254 characters
/// of path); anything longer is not the pool's verified address.
const EMAIL_MAX: usize = 254;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A Cognito user pool user, by the email address the pool verified, with
    /// the groups from the `cognito:groups` claim.
    Cognito { email: String, groups: Vec<String> },
    /// A SigV4-signed caller: a session of a role in `OPERATOR_ROLE_ARNS`.
    Iam { arn: String },
}

impl Caller {
    /// How the caller appears in the decision record and the audit log: the
    /// operator's verified email, or the role session's ARN.
    pub fn actor(&self) -> String {
        match self {
            Caller::Cognito { email, .. } => email.clone(),
            Caller::Iam { arn } => format!("iam:{arn}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401: no identity at all.
    Unauthenticated,
    /// 403: known, but not an operator.
    Forbidden(String),
}

/// A claim's value as API Gateway passes it: a string (or, from a test or
/// another authorizer, a JSON value).
fn claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// An operator: a Cognito user in `group` with a verified email, or a
/// session of one of `roles`. Checked before anything else is read.
pub fn authorize(
    request: &Request,
    group: &str,
    roles: &[OperatorRole],
) -> Result<Caller, AuthError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(AuthError::Unauthenticated);
    };
    if let Some(claims) = context
        .authorizer
        .fields
        .get("claims")
        .and_then(Value::as_object)
    {
        let groups = match claims.get("cognito:groups") {
            Some(Value::String(s)) => parse_groups(s),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let verified = matches!(claims.get("email_verified"), Some(Value::String(v)) if v == "true")
            || claims.get("email_verified") == Some(&Value::Bool(true));
        let email = claim(claims, "email")
            .filter(|e| verified && plausible_email(e))
            .map(str::to_owned);
        let who = email
            .clone()
            .or_else(|| claim(claims, "sub").map(|s| format!("cognito user {s}")))
            .unwrap_or_else(|| "this user".to_owned());
        if !groups.iter().any(|g| g == group) {
            return Err(AuthError::Forbidden(format!(
                "{who} is not in the {group} group"
            )));
        }
        let Some(email) = email else {
            return Err(AuthError::Forbidden(format!(
                "{who} has no verified email: the audit log names every operator by it (set email and email_verified=true on the user)"
            )));
        };
        return Ok(Caller::Cognito { email, groups });
    }
    let Some(arn) = context
        .identity
        .user_arn
        .as_deref()
        .filter(|a| !a.is_empty())
    else {
        return Err(AuthError::Unauthenticated);
    };
    if roles.iter().any(|role| role.allows(arn)) {
        return Ok(Caller::Iam {
            arn: arn.to_owned(),
        });
    }
    let shown: String = arn.chars().take(200).filter(|c| !c.is_control()).collect();
    Err(AuthError::Forbidden(format!(
        "{shown} is not a session of a role in OperatorRoleArns"
    )))
}

/// One `@`, something on each side, no spaces or control or format characters.
fn plausible_email(email: &str) -> bool {
    email.len() <= EMAIL_MAX
        && email.split('@').count() == 2
        && email.split('@').all(|part| !part.is_empty())
        && email
            .chars()
            .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !stop_core::operator::is_hidden(c)))
}

/// API Gateway passes `cognito:groups` as a string: "a", "a,b" or "[a b]".
fn parse_groups(raw: &str) -> Vec<String> {
    raw.trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_in_every_shape_api_gateway_sends() {
        assert_eq!(parse_groups("operators"), ["operators"]);
        assert_eq!(parse_groups("admins,operators"), ["admins", "operators"]);
        assert_eq!(parse_groups("[admins operators]"), ["admins", "operators"]);
        assert!(parse_groups("").is_empty());
    }

    #[test]
    fn an_email_is_one_address_of_printable_characters() {
        assert!(plausible_email("alice@example.com"));
        assert!(plausible_email("zoë@example.com"));
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "alice @example.com",
            "alice\u{202e}@example.com",
            "alice\n@example.com",
        ] {
            assert!(!plausible_email(bad), "{bad:?}");
        }
        assert!(!plausible_email(&format!(
            "{}@example.com",
            "a".repeat(250)
        )));
    }
}
