//! `stopctl local`'s stand-in for the Cognito user pool: the authorize and
//! token endpoints of the authorization code flow with PKCE, as the console
//! uses them against Cognito, so that the browser test signs in the same way
//! an operator does.
//!
//! What it checks, as Cognito does: the client ID, the callback URL against
//! the allowed list, `response_type=code`, an S256 code challenge, a state;
//! at the token endpoint, a code used once, within its lifetime, for the same
//! callback, and a verifier whose SHA-256 is the challenge.
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html>
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html>
//! <https://datatracker.ietf.org/doc/html/rfc7636#section-4.6>
//!
//! What it does not do: ask for a password or an MFA code. It signs in
//! [`crate::local::LOCAL_OPERATOR`] at once; the deployed pool requires both.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The app client the console is given.
pub const CLIENT_ID: &str = "stop-local";
/// Where the console finds the endpoints below.
pub const AUTHORIZE_PATH: &str = "/local/oauth2/authorize";
pub const TOKEN_PATH: &str = "/local/oauth2/token";
/// Cognito's authorization codes are valid for five minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// As the template's ID token validity: 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

struct Pending {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    issued: Instant,
}

/// The issued codes and tokens of one `stopctl local` run.
pub struct StandIn {
    /// The only callback the console may ask for: its own page.
    callback: String,
    codes: Mutex<HashMap<String, Pending>>,
    tokens: Mutex<HashMap<String, Instant>>,
    /// A token for the CLI (`STOP_TOKEN`), valid for the whole run.
    pub cli_token: String,
}

/// What an endpoint answers: a status, a content type, a body, and a
/// `Location` for a redirect.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    fn error(status: u16, code: &str, why: &str) -> Self {
        Answer {
            status,
            location: None,
            body: serde_json::json!({"error": code, "error_description": why}).to_string(),
        }
    }
}

/// `bytes` from the OS's generator, as base64url; `None` if it fails (then
/// there is no safe token to give).
fn random_text(bytes: usize) -> Option<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).ok()?;
    Some(URL_SAFE_NO_PAD.encode(buffer))
}

/// `a=1&b=2` as pairs, percent-decoded (`+` as a space, as forms send it).
pub fn form(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

impl StandIn {
    pub fn new(origin: &str) -> Result<Self, String> {
        let token = random_text(24).ok_or("the OS's random generator failed: no token to give")?;
        Ok(StandIn {
            callback: format!("{origin}/console"),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            cli_token: format!("local.{token}"),
        })
    }

    /// GET /local/oauth2/authorize: a redirect back to the console with a
    /// code and the state, or a refusal that says why.
    pub fn authorize(&self, query: &str) -> Answer {
        let q = form(query);
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
        if get("client_id") != CLIENT_ID {
            return Answer::error(400, "invalid_client", "unknown client_id");
        }
        if get("redirect_uri") != self.callback {
            return Answer::error(
                400,
                "redirect_mismatch",
                "redirect_uri is not an allowed callback",
            );
        }
        if get("response_type") != "code" {
            return Answer::error(400, "unsupported_response_type", "only response_type=code");
        }
        if get("code_challenge_method") != "S256" || get("code_challenge").len() < 43 {
            return Answer::error(400, "invalid_request", "an S256 code_challenge is required");
        }
        if get("state").is_empty() || get("nonce").is_empty() {
            return Answer::error(400, "invalid_request", "state and nonce are required");
        }
        let Some(code) = random_text(24) else {
            return Answer::error(500, "server_error", "no random code");
        };
        if let Ok(mut codes) = self.codes.lock() {
            codes.retain(|_, p| p.issued.elapsed() < CODE_LIFETIME);
            codes.insert(
                code.clone(),
                Pending {
                    challenge: get("code_challenge").to_owned(),
                    nonce: get("nonce").to_owned(),
                    redirect_uri: get("redirect_uri").to_owned(),
                    issued: Instant::now(),
                },
            );
        }
        let back = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", get("state"))
            .finish();
        Answer {
            status: 302,
            location: Some(format!("{}?{back}", self.callback)),
            body: String::new(),
        }
    }

    /// POST /local/oauth2/token with a form body: the ID token for a code
    /// this stand-in issued, once, to the holder of its verifier.
    pub fn token(&self, body: &str) -> Answer {
        let q = form(body);
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
        if get("grant_type") != "authorization_code" {
            return Answer::error(400, "unsupported_grant_type", "only authorization_code");
        }
        if get("client_id") != CLIENT_ID {
            return Answer::error(400, "invalid_client", "unknown client_id");
        }
        let pending = self
            .codes
            .lock()
            .ok()
            .and_then(|mut c| c.remove(get("code")));
        let Some(pending) = pending.filter(|p| p.issued.elapsed() < CODE_LIFETIME) else {
            return Answer::error(400, "invalid_grant", "unknown, used or expired code");
        };
        if pending.redirect_uri != get("redirect_uri") {
            return Answer::error(
                400,
                "invalid_grant",
                "redirect_uri differs from the authorize request's",
            );
        }
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
        if digest != pending.challenge {
            return Answer::error(
                400,
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            );
        }
        let Some(token) = self.id_token(&pending.nonce) else {
            return Answer::error(500, "server_error", "no random token");
        };
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.retain(|_, issued| issued.elapsed() < TOKEN_LIFETIME);
            tokens.insert(token.clone(), Instant::now());
        }
        Answer {
            status: 200,
            location: None,
            body: serde_json::json!({
                "id_token": token,
                "access_token": random_text(24).unwrap_or_default(),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME.as_secs(),
            })
            .to_string(),
        }
    }

    /// An ID token shaped as Cognito's (a JWT), unsigned: only this process
    /// accepts it, by looking it up.
    fn id_token(&self, nonce: &str) -> Option<String> {
        let exp =
            time::OffsetDateTime::now_utc().unix_timestamp() + TOKEN_LIFETIME.as_secs() as i64;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "sub": "00000000-0000-4000-8000-000000000000",
            "email": crate::local::LOCAL_OPERATOR,
            "email_verified": true,
            "cognito:groups": ["operators"],
            "token_use": "id",
            "aud": CLIENT_ID,
            "nonce": nonce,
            "exp": exp,
            "jti": random_text(12)?,
        });
        Some(format!(
            "{header}.{}.{}",
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            random_text(16)?
        ))
    }

    /// Whether `authorization` (the header's value) is a token this run
    /// issued and that has not expired.
    pub fn signed_in(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization.map(|t| t.strip_prefix("Bearer ").unwrap_or(t)) else {
            return false;
        };
        token == self.cli_token
            || self
                .tokens
                .lock()
                .ok()
                .and_then(|t| t.get(token).copied())
                .is_some_and(|issued| issued.elapsed() < TOKEN_LIFETIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8080";

    fn challenge(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    fn authorize(stand_in: &StandIn, verifier: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", &format!("{ORIGIN}/console"))
            .append_pair("state", "s1")
            .append_pair("nonce", "n1")
            .append_pair("code_challenge", &challenge(verifier))
            .append_pair("code_challenge_method", "S256")
            .finish();
        let answer = stand_in.authorize(&query);
        assert_eq!(answer.status, 302, "{answer:?}");
        let location = answer.location.unwrap();
        let back = form(location.split_once('?').unwrap().1);
        assert_eq!(back["state"], "s1");
        back["code"].clone()
    }

    fn exchange(stand_in: &StandIn, code: &str, verifier: &str) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("code", code)
            .append_pair("redirect_uri", &format!("{ORIGIN}/console"))
            .append_pair("code_verifier", verifier)
            .finish();
        stand_in.token(&body)
    }

    #[test]
    fn a_code_is_traded_once_and_only_with_its_verifier() {
        let stand_in = StandIn::new(ORIGIN).unwrap();
        let verifier = "v".repeat(43);
        let code = authorize(&stand_in, &verifier);
        // Someone who saw the code but not the verifier gets nothing, and
        // the code is spent.
        assert_eq!(exchange(&stand_in, &code, &"w".repeat(43)).status, 400);
        assert_eq!(exchange(&stand_in, &code, &verifier).status, 400);
        let code = authorize(&stand_in, &verifier);
        let answer = exchange(&stand_in, &code, &verifier);
        assert_eq!(answer.status, 200, "{answer:?}");
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let token = body["id_token"].as_str().unwrap();
        assert!(stand_in.signed_in(Some(token)));
        assert!(!stand_in.signed_in(Some("forged")));
        assert!(!stand_in.signed_in(None));
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["email"], crate::local::LOCAL_OPERATOR);
        // Used twice: refused.
        assert_eq!(exchange(&stand_in, &code, &verifier).status, 400);
    }

    #[test]
    fn the_authorize_endpoint_refuses_what_cognito_refuses() {
        let stand_in = StandIn::new(ORIGIN).unwrap();
        for query in [
            "response_type=token&client_id=stop-local&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole&state=s&nonce=n&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256",
            "response_type=code&client_id=stop-local&redirect_uri=https%3A%2F%2Fevil.example%2F&state=s&nonce=n&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256",
            "response_type=code&client_id=other&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole&state=s&nonce=n&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256",
            "response_type=code&client_id=stop-local&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole&state=s&nonce=n&code_challenge=abc&code_challenge_method=plain",
            "response_type=code&client_id=stop-local&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256",
        ] {
            let answer = stand_in.authorize(query);
            assert_eq!((answer.status, answer.location), (400, None), "{query}");
        }
    }
}
