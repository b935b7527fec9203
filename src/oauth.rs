//! The OAuth 2.0 client-credentials exchange (RFC 6749 §4.4) as patchbay speaks it on both sides:
//! the gateway's own `POST /v2/oauth2/token` (`proxy::auth`), the sandbox's helpscout-v2 token
//! endpoint, and the gateway asking an upstream for a token (`proxy::client`). What is the same
//! everywhere lives here — reading the request's parameters, the `grant_type` check, the error
//! body `{"error","error_description"}`, the token answer — so the sandbox cannot drift from the
//! gateway it tests. Who is accepted and what a token is stay with each side: the gateway signs
//! stateless tokens (`proxy::auth::issue`), the sandbox keeps random ones in memory.

use crate::dialect::rules::form_pairs;
use crate::dialect::Synthetic;

/// A token request whose `grant_type` is `client_credentials`.
#[derive(Debug)]
pub struct TokenRequest {
    /// Body parameters first, then the query's: the first occurrence of a name wins, so a body
    /// parameter wins over the same one in the query.
    params: Vec<(String, String)>,
}

impl TokenRequest {
    /// Reads a token request: the parameters may come in a form body, a JSON body or the query
    /// string (Help Scout accepts each; the npm client `helpscout-2.0` sends them only in the
    /// query, with an empty body). The body is JSON when `Content-Type` names JSON, or when
    /// `sniff_json` and it starts with `{` (the sandbox, like the vendor, does not insist on the
    /// header). `Err` is the OAuth error to answer: a JSON body that is not an object, a missing
    /// or unsupported `grant_type`.
    pub fn client_credentials(
        content_type: Option<&str>,
        sniff_json: bool,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, Synthetic> {
        let json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"))
            || (sniff_json && body.first() == Some(&b'{'));
        let mut params: Vec<(String, String)> = if body.trim_ascii().is_empty() {
            Vec::new()
        } else if json {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(serde_json::Value::Object(m)) => m
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                    .collect(),
                _ => return Err(error(400, "invalid_request", "Body is not a JSON object")),
            }
        } else {
            form_pairs(&String::from_utf8_lossy(body))
        };
        params.extend(query.map(form_pairs).unwrap_or_default());
        let req = TokenRequest { params };
        match req.param("grant_type") {
            Some("client_credentials") => Ok(req),
            Some(_) => Err(error(
                400,
                "unsupported_grant_type",
                "Only client_credentials is supported",
            )),
            None => Err(error(400, "invalid_request", "Missing grant_type")),
        }
    }

    /// A parameter's value (string values only from a JSON body).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An OAuth error answer (RFC 6749 §5.2).
pub fn error(status: u16, error: &str, description: &str) -> Synthetic {
    Synthetic::json(
        status,
        "application/json",
        &serde_json::json!({ "error": error, "error_description": description }),
    )
}

/// The successful token answer (RFC 6749 §5.1), shaped like Help Scout's.
pub fn granted(access_token: &str, expires_in: u64) -> Synthetic {
    Synthetic::json(
        200,
        "application/json",
        &serde_json::json!({
            "token_type": "bearer",
            "access_token": access_token,
            "expires_in": expires_in,
        }),
    )
}

/// The form body asking a token endpoint for a client-credentials token.
pub fn request_form(client_id: &str, client_secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_escape(client_id),
        form_escape(client_secret)
    )
}

/// The access token and its lifetime in seconds (3600 when the answer does not say) from a
/// token endpoint's 200 body; `None` when it names no token.
pub fn read_granted(body: &[u8]) -> Option<(String, u64)> {
    let parsed: serde_json::Value = serde_json::from_slice(body).ok()?;
    let token = parsed.get("access_token")?.as_str()?.to_string();
    let ttl = parsed
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(3600);
    Some((token, ttl))
}

/// `application/x-www-form-urlencoded` escaping.
pub fn form_escape(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(s: &Synthetic) -> (u16, serde_json::Value) {
        (
            s.status,
            serde_json::from_slice(&s.body).expect("JSON answer"),
        )
    }

    #[test]
    fn parameters_from_form_json_or_query_body_first() {
        let form = TokenRequest::client_credentials(
            Some("application/x-www-form-urlencoded"),
            false,
            Some("client_id=query&client_secret=q"),
            b"grant_type=client_credentials&client_id=body+id",
        )
        .expect("accepted");
        assert_eq!(form.param("client_id"), Some("body id"));
        assert_eq!(form.param("client_secret"), Some("q"));
        let json = TokenRequest::client_credentials(
            Some("Application/JSON"),
            false,
            None,
            br#"{"grant_type":"client_credentials","client_id":"j","n":1}"#,
        )
        .expect("accepted");
        assert_eq!(json.param("client_id"), Some("j"));
        assert_eq!(json.param("n"), None);
        let query = TokenRequest::client_credentials(
            None,
            false,
            Some("grant_type=client_credentials&client_id=q"),
            b"",
        )
        .expect("accepted");
        assert_eq!(query.param("client_id"), Some("q"));
    }

    #[test]
    fn json_is_sniffed_only_when_asked() {
        let body = br#"{"grant_type":"client_credentials"}"#;
        assert!(TokenRequest::client_credentials(None, true, None, body).is_ok());
        let refused =
            TokenRequest::client_credentials(None, false, None, body).expect_err("refused");
        assert_eq!(answer(&refused).1["error"], "invalid_request");
    }

    #[test]
    fn grant_and_body_errors() {
        let cases: [(Option<&str>, &[u8], &str); 4] = [
            (None, b"grant_type=password", "unsupported_grant_type"),
            (None, b"client_id=x", "invalid_request"),
            (Some("application/json"), b"[1]", "invalid_request"),
            (Some("application/json"), b"{", "invalid_request"),
        ];
        for (ct, body, code) in cases {
            let err = TokenRequest::client_credentials(ct, false, None, body).expect_err("refused");
            let (status, v) = answer(&err);
            assert_eq!((status, v["error"].as_str()), (400, Some(code)), "{body:?}");
            assert!(v["error_description"].is_string());
        }
    }

    #[test]
    fn token_answer_round_trips() {
        let (status, v) = answer(&granted("abc", 7200));
        assert_eq!((status, v["token_type"].as_str()), (200, Some("bearer")));
        let body = serde_json::to_vec(&v).expect("serialises");
        assert_eq!(read_granted(&body), Some(("abc".to_string(), 7200)));
        assert_eq!(
            read_granted(br#"{"access_token":"t"}"#),
            Some(("t".into(), 3600))
        );
        assert_eq!(read_granted(b"{}"), None);
        assert_eq!(read_granted(b"<html>"), None);
    }

    #[test]
    fn request_form_is_read_back_by_the_endpoint() {
        let form = request_form("id&x", "s=c+r t");
        let req =
            TokenRequest::client_credentials(None, false, None, form.as_bytes()).expect("accepted");
        assert_eq!(req.param("client_id"), Some("id&x"));
        assert_eq!(req.param("client_secret"), Some("s=c+r t"));
    }
}
