//! Client credentials (SPEC §6): per-route bearer tokens, helpscout-v1 API keys (HTTP Basic, key
//! as user name), and helpscout-v2 OAuth client credentials answered by the gateway's own
//! `POST /v2/oauth2/token` with signed, expiring tokens.
//!
//! The tokens are stateless — `pb1.<payload>.<HMAC-SHA256>`, the payload a JSON object with the
//! client id (`sub`), the expiry (`exp`) and the id of the signing key (`kid`) — so every replica
//! sharing the keys accepts them with no shared store.
//!
//! Key rotation (SPEC §6): `server.token_keys` lists keys by id; the first signs, every one
//! verifies, and a token is checked against the key its `kid` names (an unknown id is refused).
//! Tokens issued before key ids existed carry no `kid`: they are checked against every
//! configured key, so they keep working as long as the key that signed them is listed (and they
//! expire within `token_ttl_secs` anyway). The format is otherwise unchanged, so during a rolling
//! upgrade an older replica with the same single key still accepts the new tokens.

use crate::canonical::{ApiError, ErrorKind};
use crate::config::{ClientAuth, TokenKey};
use crate::dialect::Synthetic;
use crate::oauth::{self, TokenRequest};
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

/// Issues a token for `client_id`, valid `ttl` seconds, signed with `key` and naming it.
pub fn issue(key: &TokenKey, client_id: &str, ttl: u64) -> String {
    let payload = serde_json::json!({ "sub": client_id, "exp": now() + ttl, "kid": key.id });
    let body = format!("{PREFIX}.{}", B64.encode(payload.to_string()));
    let sig = B64.encode(mac(key.secret.expose().as_bytes(), body.as_bytes()));
    format!("{body}.{sig}")
}

/// Whether `sig` is the HMAC of `body` under `secret`, compared in constant time.
fn signed_by(secret: &[u8], body: &[u8], sig: &[u8]) -> bool {
    let Ok(mut m) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    m.update(body);
    m.verify_slice(sig).is_ok()
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a gateway token at all.
    Malformed,
    /// The signature does not match (forged, or signed with another secret).
    BadSignature,
    /// Names a key id the gateway does not (or no longer) have.
    UnknownKey,
    /// Past its expiry.
    Expired,
}

/// Verifies a token against the configured keys and returns its client id.
pub fn verify(keys: &[TokenKey], token: &str) -> Result<String, TokenError> {
    let (body, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let payload = body
        .strip_prefix(PREFIX)
        .and_then(|p| p.strip_prefix('.'))
        .ok_or(TokenError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    // The payload is read before the signature is checked because it names the key; nothing in
    // it is trusted until the signature matched.
    let json: serde_json::Value = B64
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    let signed = match json.get("kid") {
        Some(serde_json::Value::String(kid)) => {
            let key = keys
                .iter()
                .find(|k| k.id == *kid)
                .ok_or(TokenError::UnknownKey)?;
            signed_by(key.secret.expose().as_bytes(), body.as_bytes(), &sig)
        }
        Some(_) => return Err(TokenError::Malformed),
        // Issued before key ids: whichever listed key signed it.
        None => keys
            .iter()
            .any(|k| signed_by(k.secret.expose().as_bytes(), body.as_bytes(), &sig)),
    };
    if !signed {
        return Err(TokenError::BadSignature);
    }
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

/// Checks the request's client certificate and `Authorization` header against the route's
/// clients. Open routes accept anything. A certificate (already verified against
/// `server.tls.client_ca_file` in the handshake) named in `cert_names` is enough on its own,
/// beside the tokens; one that is not named falls through to the header.
pub fn check(
    clients: &ClientAuth,
    keys: &[TokenKey],
    authorization: Option<&str>,
    certificate: Option<&crate::tls::ClientIdentity>,
) -> Result<(), ApiError> {
    if clients.is_open() {
        return Ok(());
    }
    if certificate.is_some_and(|c| c.matches(&clients.cert_names)) {
        return Ok(());
    }
    let unauthorized = |why: &str| ApiError::new(ErrorKind::Unauthorized, why.to_string());
    let Some(value) = authorization else {
        if certificate.is_some() && !clients.cert_names.is_empty() {
            return Err(unauthorized(
                "Client certificate not accepted on this route",
            ));
        }
        return Err(unauthorized("Missing credentials"));
    };
    let (scheme, cred) = value.trim().split_once(' ').unwrap_or((value, ""));
    let cred = cred.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if clients.accepts_bearer(cred) {
            return Ok(());
        }
        if !keys.is_empty() {
            match verify(keys, cred) {
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

/// Answers `POST /v2/oauth2/token` the way Help Scout's token endpoint does, with
/// `grant_type=client_credentials`. The parameters may come in a form body, a JSON body or the
/// query string (the npm client `helpscout-2.0` sends them only in the query string, with an
/// empty body); a parameter given in the body wins over the same one in the query. The query
/// carries the client secret: it is read here and nowhere else (the access log and the metrics
/// record no path or query).
pub fn token_endpoint(
    clients: &ClientAuth,
    keys: &[TokenKey],
    ttl: u64,
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Synthetic {
    let req = match TokenRequest::client_credentials(content_type, false, query, body) {
        Ok(req) => req,
        Err(answer) => return answer,
    };
    let (Some(id), Some(client_secret)) = (req.param("client_id"), req.param("client_secret"))
    else {
        return oauth::error(400, "invalid_request", "Missing client_id or client_secret");
    };
    let Some(key) = keys.first() else {
        return oauth::error(401, "invalid_client", "This route does not issue tokens");
    };
    if !clients.accepts_oauth_client(id, client_secret) {
        return oauth::error(401, "invalid_client", "Bad client credentials");
    }
    oauth::granted(&issue(key, id, ttl), ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn key(id: &str, secret: &str) -> TokenKey {
        TokenKey {
            id: id.to_string(),
            secret: Secret::new(secret),
        }
    }

    /// A token as issued before key ids existed: `{sub, exp}` only.
    fn legacy(secret: &[u8], sub: &str, exp: u64) -> String {
        let payload = B64.encode(serde_json::json!({ "sub": sub, "exp": exp }).to_string());
        let body = format!("{PREFIX}.{payload}");
        let sig = B64.encode(mac(secret, body.as_bytes()));
        format!("{body}.{sig}")
    }

    #[test]
    fn token_round_trip_and_forgery() {
        let k1 = key("k1", "secret-one");
        let t = issue(&k1, "client-a", 60);
        assert_eq!(
            verify(std::slice::from_ref(&k1), &t),
            Ok("client-a".to_string())
        );
        // Same id, another secret: the signature does not match.
        assert_eq!(
            verify(&[key("k1", "other")], &t),
            Err(TokenError::BadSignature)
        );
        // Swap the payload for another client, keep the signature: refused.
        let forged_payload = B64.encode(r#"{"sub":"admin","exp":99999999999,"kid":"k1"}"#);
        let sig = t.rsplit_once('.').map(|(_, s)| s).unwrap_or_default();
        let forged = format!("{PREFIX}.{forged_payload}.{sig}");
        assert_eq!(
            verify(std::slice::from_ref(&k1), &forged),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&[k1], "garbage"), Err(TokenError::Malformed));
    }

    #[test]
    fn token_names_its_key_and_rotation_keeps_it_valid_until_the_key_goes() {
        let (k1, k2) = (key("k1", "secret-one"), key("k2", "secret-two"));
        let t1 = issue(&k1, "c", 60);
        let payload = t1.split('.').nth(1).unwrap_or_default();
        let json: serde_json::Value =
            serde_json::from_slice(&B64.decode(payload).expect("b64")).expect("json");
        assert_eq!(json["kid"], "k1");
        // k2 added in front: k2 signs, the k1 token still verifies.
        let both = [k2.clone(), k1.clone()];
        assert_eq!(verify(&both, &t1), Ok("c".to_string()));
        let t2 = issue(&both[0], "c", 60);
        assert_eq!(verify(&both, &t2), Ok("c".to_string()));
        // k1 removed: its tokens name an unknown key.
        assert_eq!(
            verify(std::slice::from_ref(&k2), &t1),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(verify(&[k2], &t2), Ok("c".to_string()));
    }

    #[test]
    fn kid_picks_the_key_so_another_listed_key_cannot_vouch_for_it() {
        // Signed with k2's secret but claiming k1: refused even though k2 is listed.
        let (k1, k2) = (key("k1", "secret-one"), key("k2", "secret-two"));
        let claim = TokenKey {
            id: "k1".into(),
            secret: k2.secret.clone(),
        };
        let t = issue(&claim, "c", 60);
        assert_eq!(verify(&[k1, k2], &t), Err(TokenError::BadSignature));
        // A kid that is not a string is not a token of ours.
        let payload = B64.encode(r#"{"sub":"c","exp":99999999999,"kid":7}"#);
        let body = format!("{PREFIX}.{payload}");
        let sig = B64.encode(mac(b"secret-one", body.as_bytes()));
        assert_eq!(
            verify(&[key("k1", "secret-one")], &format!("{body}.{sig}")),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn tokens_from_before_key_ids_verify_against_the_key_that_signed_them() {
        let t = legacy(b"old-secret", "c", now() + 60);
        // The upgrade keeps the single key as `default`.
        assert_eq!(
            verify(&[key("default", "old-secret")], &t),
            Ok("c".to_string())
        );
        // Moved to token_keys under any id, behind a new signing key: still accepted.
        let rotated = [key("k2", "new-secret"), key("k1", "old-secret")];
        assert_eq!(verify(&rotated, &t), Ok("c".to_string()));
        // Its key removed: refused.
        assert_eq!(
            verify(&[key("k2", "new-secret")], &t),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tls_cert_names_open_the_route_beside_tokens() {
        use crate::tls::ClientIdentity;
        let clients = ClientAuth {
            bearer: vec![Secret::new("tok")],
            cert_names: vec!["client-a".into(), "spiffe://example/b".into()],
            ..ClientAuth::default()
        };
        let a = ClientIdentity {
            common_names: vec!["client-a".into()],
            alt_names: vec![],
        };
        let b = ClientIdentity {
            common_names: vec!["whatever".into()],
            alt_names: vec!["spiffe://example/b".into()],
        };
        let other = ClientIdentity {
            common_names: vec!["client-c".into()],
            alt_names: vec!["client-a.example".into()],
        };
        assert!(check(&clients, &[], None, Some(&a)).is_ok());
        assert!(check(&clients, &[], None, Some(&b)).is_ok());
        let refused = check(&clients, &[], None, Some(&other)).expect_err("unnamed cert");
        assert_eq!(refused.kind, ErrorKind::Unauthorized);
        assert!(
            refused.message.contains("certificate"),
            "{}",
            refused.message
        );
        // The token still works for a client whose certificate is not named, or with none.
        assert!(check(&clients, &[], Some("Bearer tok"), Some(&other)).is_ok());
        assert!(check(&clients, &[], Some("Bearer tok"), None).is_ok());
        assert!(check(&clients, &[], None, None).is_err());
        // A route with only cert_names is not open.
        let only = ClientAuth {
            cert_names: vec!["client-a".into()],
            ..ClientAuth::default()
        };
        assert!(!only.is_open());
        assert!(check(&only, &[], None, None).is_err());
        assert!(check(&only, &[], None, Some(&a)).is_ok());
    }

    #[test]
    fn expired_token_refused() {
        let t = legacy(b"k", "c", 1);
        assert_eq!(verify(&[key("default", "k")], &t), Err(TokenError::Expired));
        let payload = B64.encode(r#"{"sub":"c","exp":1,"kid":"k1"}"#);
        let body = format!("{PREFIX}.{payload}");
        let sig = B64.encode(mac(b"k", body.as_bytes()));
        assert_eq!(
            verify(&[key("k1", "k")], &format!("{body}.{sig}")),
            Err(TokenError::Expired)
        );
    }
}
