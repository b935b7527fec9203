//! Client credentials (SPEC §6): per-route bearer tokens, helpscout-v1 API keys (HTTP Basic, key
//! as user name), and helpscout-v2 OAuth client credentials answered by the gateway's own
//! `POST /v2/oauth2/token` with signed, expiring tokens.
//!
//! The tokens are stateless — `pb1.<payload>.<HMAC-SHA256>` over the client id and expiry with
//! `server.token_secret` — so every replica sharing the secret accepts them with no shared store.

use crate::canonical::{ApiError, ErrorKind};
use crate::config::ClientAuth;
use crate::dialect::Synthetic;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "pb1";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Issues a token for `client_id`, valid `ttl` seconds.
pub fn issue(secret: &[u8], client_id: &str, ttl: u64) -> String {
    let payload = serde_json::json!({ "sub": client_id, "exp": now() + ttl });
    let body = format!("{PREFIX}.{}", B64.encode(payload.to_string()));
    let sig = B64.encode(mac(secret, body.as_bytes()));
    format!("{body}.{sig}")
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a gateway token at all.
    Malformed,
    /// The signature does not match (forged, or signed with another secret).
    BadSignature,
    /// Past its expiry.
    Expired,
}

/// Verifies a token and returns its client id.
pub fn verify(secret: &[u8], token: &str) -> Result<String, TokenError> {
    let (body, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let payload = body
        .strip_prefix(PREFIX)
        .and_then(|p| p.strip_prefix('.'))
        .ok_or(TokenError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    let mut m = HmacSha256::new_from_slice(secret).map_err(|_| TokenError::BadSignature)?;
    m.update(body.as_bytes());
    // `verify_slice` compares in constant time.
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    let json: serde_json::Value = B64
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    let exp = json
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .ok_or(TokenError::Malformed)?;
    if exp <= now() {
        return Err(TokenError::Expired);
    }
    json.get("sub")
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .ok_or(TokenError::Malformed)
}

/// Checks the request's `Authorization` header against the route's clients. Open routes accept
/// anything.
pub fn check(
    clients: &ClientAuth,
    secret: Option<&[u8]>,
    authorization: Option<&str>,
) -> Result<(), ApiError> {
    if clients.is_open() {
        return Ok(());
    }
    let unauthorized = |why: &str| ApiError::new(ErrorKind::Unauthorized, why.to_string());
    let Some(value) = authorization else {
        return Err(unauthorized("Missing credentials"));
    };
    let (scheme, cred) = value.trim().split_once(' ').unwrap_or((value, ""));
    let cred = cred.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if clients.accepts_bearer(cred) {
            return Ok(());
        }
        if let Some(secret) = secret {
            match verify(secret, cred) {
                Ok(client_id)
                    if clients
                        .oauth_clients
                        .iter()
                        .any(|c| c.client_id == client_id) =>
                {
                    return Ok(())
                }
                Ok(_) => return Err(unauthorized("Token not valid for this route")),
                Err(TokenError::Expired) => return Err(unauthorized("Token expired")),
                Err(_) => {}
            }
        }
        return Err(unauthorized("Invalid token"));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(cred)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some(userpass) = decoded {
            let key = userpass
                .split_once(':')
                .map_or(userpass.as_str(), |(k, _)| k);
            if clients.accepts_basic_key(key) {
                return Ok(());
            }
        }
        return Err(unauthorized("Invalid API key"));
    }
    Err(unauthorized("Unsupported authorization scheme"))
}

fn token_error(status: u16, error: &str, description: &str) -> Synthetic {
    Synthetic::json(
        status,
        "application/json",
        &serde_json::json!({ "error": error, "error_description": description }),
    )
}

/// Answers `POST /v2/oauth2/token` the way Help Scout's token endpoint does, with
/// `grant_type=client_credentials`. The parameters may come in a form body, a JSON body or the
/// query string (the npm client `helpscout-2.0` sends them only in the query string, with an
/// empty body); a parameter given in the body wins over the same one in the query. The query
/// carries the client secret: it is read here and nowhere else (the access log and the metrics
/// record no path or query).
pub fn token_endpoint(
    clients: &ClientAuth,
    secret: Option<&[u8]>,
    ttl: u64,
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Synthetic {
    let mut fields: Vec<(String, String)> = if body.trim_ascii().is_empty() {
        Vec::new()
    } else if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json")) {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => return token_error(400, "invalid_request", "Body is not a JSON object"),
        }
    } else {
        crate::dialect::rules::form_pairs(&String::from_utf8_lossy(body))
    };
    fields.extend(
        query
            .map(crate::dialect::rules::form_pairs)
            .unwrap_or_default(),
    );
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return token_error(
                400,
                "unsupported_grant_type",
                "Only client_credentials is supported",
            )
        }
        None => return token_error(400, "invalid_request", "Missing grant_type"),
    }
    let (Some(id), Some(client_secret)) = (get("client_id"), get("client_secret")) else {
        return token_error(400, "invalid_request", "Missing client_id or client_secret");
    };
    let Some(secret) = secret else {
        return token_error(401, "invalid_client", "This route does not issue tokens");
    };
    if !clients.accepts_oauth_client(id, client_secret) {
        return token_error(401, "invalid_client", "Bad client credentials");
    }
    let token = issue(secret, id, ttl);
    Synthetic::json(
        200,
        "application/json",
        &serde_json::json!({ "token_type": "bearer", "access_token": token, "expires_in": ttl }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_forgery() {
        let t = issue(b"k1", "client-a", 60);
        assert_eq!(verify(b"k1", &t), Ok("client-a".to_string()));
        assert_eq!(verify(b"k2", &t), Err(TokenError::BadSignature));
        // Swap the payload for another client, keep the signature: refused.
        let forged_payload = B64.encode(r#"{"sub":"admin","exp":99999999999}"#);
        let sig = t.rsplit_once('.').map(|(_, s)| s).unwrap_or_default();
        let forged = format!("{PREFIX}.{forged_payload}.{sig}");
        assert_eq!(verify(b"k1", &forged), Err(TokenError::BadSignature));
        assert_eq!(verify(b"k1", "garbage"), Err(TokenError::Malformed));
    }

    #[test]
    fn expired_token_refused() {
        let payload = B64.encode(r#"{"sub":"c","exp":1}"#);
        let body = format!("{PREFIX}.{payload}");
        let sig = B64.encode(mac(b"k", body.as_bytes()));
        assert_eq!(
            verify(b"k", &format!("{body}.{sig}")),
            Err(TokenError::Expired)
        );
    }
}
