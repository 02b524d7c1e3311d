//! Who is calling, as API Gateway's authorizer told us. The template puts a
//! Cognito user pool authorizer (or IAM) in front of every operator route; the
//! handler still checks, so that a mis-deployed API is closed, not open.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A Cognito user pool user, with the groups from the `cognito:groups` claim.
    Cognito {
        username: String,
        groups: Vec<String>,
    },
    /// A SigV4-signed caller, already allowed by the API's IAM policy.
    Iam { arn: String },
}

impl Caller {
    /// How the caller appears in the decision record and the audit log.
    pub fn actor(&self) -> String {
        match self {
            Caller::Cognito { username, .. } => format!("cognito:{username}"),
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

/// The caller API Gateway authenticated, if any.
pub fn caller(request: &Request) -> Option<Caller> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return None;
    };
    if let Some(claims) = context
        .authorizer
        .fields
        .get("claims")
        .and_then(Value::as_object)
    {
        let username = claims
            .get("cognito:username")
            .or_else(|| claims.get("sub"))
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())?;
        let groups = match claims.get("cognito:groups") {
            Some(Value::String(s)) => parse_groups(s),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        return Some(Caller::Cognito {
            username: username.to_owned(),
            groups,
        });
    }
    context
        .identity
        .user_arn
        .as_deref()
        .filter(|arn| arn.starts_with("arn:"))
        .map(|arn| Caller::Iam {
            arn: arn.to_owned(),
        })
}

/// API Gateway passes `cognito:groups` as a string: "a", "a,b" or "[a b]".
fn parse_groups(raw: &str) -> Vec<String> {
    raw.trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An operator: a Cognito user in `group`, or an IAM caller.
pub fn authorize(request: &Request, group: &str) -> Result<Caller, AuthError> {
    match caller(request) {
        None => Err(AuthError::Unauthenticated),
        Some(Caller::Cognito { username, groups }) if !groups.iter().any(|g| g == group) => Err(
            AuthError::Forbidden(format!("cognito:{username} is not in the {group} group")),
        ),
        Some(caller) => Ok(caller),
    }
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
}
