//! Credentials through real sockets (SPEC §6): client bearer tokens, helpscout-v1 API keys, the
//! gateway's own OAuth token endpoint and its signed tokens (forged, expired, foreign), 401s in
//! the client's format, the client's credentials never reaching an upstream, and the upstream
//! OAuth token fetched once, reused, and refreshed once after revocation. Customer ids
//! 73000–73999.

use crate::support::{
    customer_path, dialect_error, gateway, names_body, plain_error, request, Gateway, Response,
    CLIENT_KEY, CLIENT_TOKEN, OAUTH_ID, OAUTH_SECRET, SANDBOX_SECRET,
};
use base64::Engine;
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS2: DialectId = DialectId::HelpscoutV2;
const HS1: DialectId = DialectId::HelpscoutV1;
const CRUNCH: DialectId = DialectId::Helpcrunch;

/// The gateway's token-signing key in the generated config.
const SIGNING_KEY: &[u8] = b"gateway-token-signing-key-for-tests";

/// A token key as `server.token_secret_file` gives it (id `default`).
fn signing_key(secret: &[u8]) -> patchbay::config::TokenKey {
    patchbay::config::TokenKey {
        id: patchbay::config::DEFAULT_TOKEN_KEY_ID.to_string(),
        secret: patchbay::config::Secret::new(String::from_utf8_lossy(secret).as_ref()),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn patch_hs2(g: &Gateway, id: &str, auth: Option<&str>) -> Response {
    let body = serde_json::to_vec(&names_body(HS2, "Grace", "Hopper")).expect("json");
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        h.push(("Authorization", a));
    }
    g.send(
        "PATCH",
        &customer_path("/auth/hs2", HS2, id),
        &h,
        Some(&body),
    )
}

fn put_hs1(g: &Gateway, id: &str, auth: Option<&str>) -> Response {
    let body = serde_json::to_vec(&names_body(HS1, "Grace", "Hopper")).expect("json");
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        h.push(("Authorization", a));
    }
    g.send("PUT", &customer_path("/auth/hs1", HS1, id), &h, Some(&body))
}

fn token_form(g: &Gateway, id: &str, secret: &str) -> Response {
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        patchbay::proxy::client::form_escape(id),
        patchbay::proxy::client::form_escape(secret)
    );
    g.send(
        "POST",
        "/auth/hs2/v2/oauth2/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
}

fn token_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["token_type"], "bearer", "{v}");
    assert_eq!(v["expires_in"], 600, "{v}");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

fn oauth_error(r: &Response, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["error"], error, "{v}");
    assert!(v["error_description"].is_string(), "{v}");
}

/// Every `authorization` value the upstream `u` logged for paths mentioning `needle`.
fn upstream_auth(g: &Gateway, u: DialectId, needle: &str) -> Vec<String> {
    g.upstream_requests(u, needle)
        .iter()
        .map(|e| {
            e["headers"]["authorization"]
                .as_str()
                .unwrap_or("<none>")
                .to_string()
        })
        .collect()
}

fn seed_crunch(g: &Gateway, id: &str) {
    g.seed(
        CRUNCH,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
}

#[test]
fn missing_or_wrong_bearer_is_401_in_helpscout_v2_format() {
    let g = gateway();
    let id = "73000";
    seed_crunch(g, id);
    for (auth, msg) in [
        (None, "Missing credentials"),
        (Some("Bearer wrong-token"), "Invalid token"),
        (Some("Bearer "), "Invalid token"),
        (
            Some(format!("Bearer {CLIENT_TOKEN}x").as_str()),
            "Invalid token",
        ),
        (
            Some(format!("Token {CLIENT_TOKEN}").as_str()),
            "Unsupported authorization scheme",
        ),
    ]
    .map(|(a, m)| (a.map(str::to_string), m))
    {
        let r = patch_hs2(g, id, auth.as_deref());
        assert_eq!(plain_error(HS2, &r, 401, "unauthorized"), msg, "{auth:?}");
    }
    assert!(g.upstream_requests(CRUNCH, "/73000").is_empty());
    // The right token passes, and the upstream sees its own credentials, not the client's.
    let r = patch_hs2(g, id, Some(&format!("Bearer {CLIENT_TOKEN}")));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(g.stored(CRUNCH, id).expect("stored")["first_name"], "Grace");
    let seen = upstream_auth(g, CRUNCH, "/73000");
    assert!(!seen.is_empty());
    for a in &seen {
        assert_eq!(a, &format!("Bearer {SANDBOX_SECRET}"));
    }
}

#[test]
fn v1_api_key_as_basic_user_name() {
    let g = gateway();
    let id = "73010";
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    for (auth, msg) in [
        (None, "Missing credentials"),
        (
            Some(format!("Basic {}", b64("wrong-key:X"))),
            "Invalid API key",
        ),
        (
            Some(format!("Basic {}", b64(&format!("X:{CLIENT_KEY}")))),
            "Invalid API key",
        ),
        (Some("Basic !!!not-base64".to_string()), "Invalid API key"),
        (Some(format!("Bearer {CLIENT_KEY}")), "Invalid token"),
    ] {
        let r = put_hs1(g, id, auth.as_deref());
        let e = dialect_error(HS1, &r, 401);
        assert_eq!(e.headline.as_deref(), Some(msg), "{auth:?}");
    }
    assert!(g.upstream_requests(HS2, "/73010").is_empty());
    for password in ["X", "anything", ""] {
        let r = put_hs1(
            g,
            id,
            Some(&format!(
                "Basic {}",
                b64(&format!("{CLIENT_KEY}:{password}"))
            )),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(g.stored(HS2, id).expect("stored")["first_name"], "Grace");
    // The helpscout-v2 upstream got a sandbox-issued OAuth token, never the client's key.
    let seen = upstream_auth(g, HS2, "/73010");
    assert!(!seen.is_empty());
    for a in &seen {
        let tok = a.strip_prefix("Bearer ").expect("bearer");
        assert_eq!(tok.len(), 32, "{a}");
        assert!(tok.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert!(
            !a.contains(CLIENT_KEY) && !a.contains(&b64(CLIENT_KEY)[..8]),
            "{a}"
        );
    }
}

#[test]
fn oauth_token_from_form_and_json_bodies_is_accepted() {
    let g = gateway();
    let id = "73020";
    seed_crunch(g, id);
    let t1 = token_of(&token_form(g, OAUTH_ID, OAUTH_SECRET));
    let json_body = serde_json::to_vec(&json!({
        "grant_type": "client_credentials", "client_id": OAUTH_ID, "client_secret": OAUTH_SECRET
    }))
    .expect("json");
    let t2 = token_of(&g.send(
        "POST",
        "/auth/hs2/v2/oauth2/token",
        &[("Content-Type", "application/json")],
        Some(&json_body),
    ));
    for t in [&t1, &t2] {
        assert!(t.starts_with("pb1."), "{t}");
        let r = patch_hs2(g, id, Some(&format!("Bearer {t}")));
        assert_eq!(r.status, 204, "{}", r.text());
    }
    assert_eq!(g.stored(CRUNCH, id).expect("stored")["last_name"], "Hopper");
    // Neither token reached the upstream.
    for a in upstream_auth(g, CRUNCH, "/73020") {
        assert_eq!(a, format!("Bearer {SANDBOX_SECRET}"));
    }
    // A GET with the token works too.
    let r = g.send(
        "GET",
        &customer_path("/auth/hs2", HS2, id),
        &[("Authorization", &format!("Bearer {t1}"))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["firstName"], "Grace");
}

#[test]
fn token_endpoint_refuses_bad_client_credentials() {
    let g = gateway();
    oauth_error(
        &token_form(g, OAUTH_ID, "wrong-secret"),
        401,
        "invalid_client",
    );
    oauth_error(
        &token_form(g, "other-client", OAUTH_SECRET),
        401,
        "invalid_client",
    );
    oauth_error(&token_form(g, OAUTH_ID, ""), 401, "invalid_client");
    let post = |ct: &str, body: &str| {
        g.send(
            "POST",
            "/auth/hs2/v2/oauth2/token",
            &[("Content-Type", ct)],
            Some(body.as_bytes()),
        )
    };
    oauth_error(
        &post(
            "application/x-www-form-urlencoded",
            &format!("grant_type=password&client_id={OAUTH_ID}&client_secret={OAUTH_SECRET}"),
        ),
        400,
        "unsupported_grant_type",
    );
    oauth_error(
        &post(
            "application/x-www-form-urlencoded",
            &format!("client_id={OAUTH_ID}&client_secret={OAUTH_SECRET}"),
        ),
        400,
        "invalid_request",
    );
    oauth_error(&post("application/json", "[1,2]"), 400, "invalid_request");
    oauth_error(
        &post(
            "application/json",
            &json!({"grant_type": "client_credentials", "client_id": OAUTH_ID, "client_secret": "nope"})
                .to_string(),
        ),
        401,
        "invalid_client",
    );
}

/// Splits a gateway token into (payload part, signature part).
fn parts(token: &str) -> (String, String) {
    let (body, sig) = token.rsplit_once('.').expect("token");
    (body.to_string(), sig.to_string())
}

#[test]
fn forged_and_expired_tokens_are_401() {
    let g = gateway();
    let id = "73030";
    seed_crunch(g, id);
    let good = token_of(&token_form(g, OAUTH_ID, OAUTH_SECRET));
    let (body, sig) = parts(&good);
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    // Payload swapped for one that lives forever, signature kept.
    let long_lived = b64url.encode(json!({"sub": OAUTH_ID, "exp": 99_999_999_999u64}).to_string());
    let tampered_payload = format!("pb1.{long_lived}.{sig}");
    // Signature with one character changed.
    let mut s: Vec<char> = sig.chars().collect();
    s[3] = if s[3] == 'A' { 'B' } else { 'A' };
    let tampered_sig = format!("{body}.{}", s.into_iter().collect::<String>());
    // Signed with another key.
    let other_key = patchbay::proxy::auth::issue(&signing_key(b"some-other-key"), OAUTH_ID, 600);
    // Properly signed, but expired (expiry = now).
    let expired = patchbay::proxy::auth::issue(&signing_key(SIGNING_KEY), OAUTH_ID, 0);
    // Properly signed for a client this route does not know.
    let foreign = patchbay::proxy::auth::issue(&signing_key(SIGNING_KEY), "someone-else", 600);

    for (t, msg) in [
        (tampered_payload.as_str(), "Invalid token"),
        (tampered_sig.as_str(), "Invalid token"),
        (other_key.as_str(), "Invalid token"),
        ("pb1.garbage", "Invalid token"),
        (expired.as_str(), "Token expired"),
        (foreign.as_str(), "Token not valid for this route"),
    ] {
        let r = patch_hs2(g, id, Some(&format!("Bearer {t}")));
        assert_eq!(plain_error(HS2, &r, 401, "unauthorized"), msg, "{t}");
    }
    assert!(g.upstream_requests(CRUNCH, "/73030").is_empty());
    // A gateway token is no helpscout-v1 API key, and the v1 route has no OAuth clients.
    let r = put_hs1(g, "73031", Some(&format!("Bearer {good}")));
    dialect_error(HS1, &r, 401);
    // The untampered token still works.
    let r = patch_hs2(g, id, Some(&format!("Bearer {good}")));
    assert_eq!(r.status, 204, "{}", r.text());
}

#[test]
fn client_credentials_are_not_forwarded_on_the_same_dialect_path() {
    // Open route, same dialect: the client's Authorization header is replaced by the
    // upstream's own credentials.
    let g = gateway();
    let id = "73040";
    seed_crunch(g, id);
    let body = serde_json::to_vec(&json!({"name": "Grace Hopper"})).expect("json");
    let r = g.send(
        "PATCH",
        &customer_path("/t/crunch/crunch", CRUNCH, id),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer client-secret-must-not-leak"),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        upstream_auth(g, CRUNCH, "/73040"),
        [format!("Bearer {SANDBOX_SECRET}")]
    );
    // Same for a helpscout-v2 route toward the helpscout-v2 upstream (OAuth upstream).
    let id = "73041";
    g.seed(HS2, id, &json!({"first_name": "Ada"}));
    let body = serde_json::to_vec(&names_body(HS2, "Grace", "Hopper")).expect("json");
    let r = g.send(
        "PATCH",
        &customer_path("/t/hs2/hs2", HS2, id),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer client-secret-must-not-leak"),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let seen = upstream_auth(g, HS2, "/73041");
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].contains("client-secret"), "{seen:?}");
    assert_eq!(seen[0].len(), "Bearer ".len() + 32, "{seen:?}");
}

fn token_posts(g: &Gateway) -> Vec<Value> {
    g.upstream_requests(HS2, "/v2/oauth2/token")
}

#[test]
fn upstream_oauth_token_is_fetched_once_reused_and_refreshed_after_revocation() {
    let g = Gateway::start();
    let ids = ["73050", "73051", "73052"];
    for id in ids {
        g.seed(
            HS2,
            id,
            &json!({"first_name": "Ada", "last_name": "Lovelace"}),
        );
    }
    // Three translated writes (helpcrunch client → helpscout-v2 upstream), each with a read
    // after the write for the helpcrunch answer.
    for id in ids {
        let r = g.write(
            CRUNCH,
            &customer_path("/t/crunch/hs2", CRUNCH, id),
            &json!({"name": "Grace Hopper"}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let posts = token_posts(&g);
    assert_eq!(posts.len(), 1, "token fetched once: {posts:?}");
    // The token request carries the upstream's client credentials in the body, no auth header.
    assert!(posts[0]["headers"]["authorization"].is_null());
    assert!(posts[0]["body"]
        .as_str()
        .is_some_and(|b| b.contains("client_id=patchbay%2Dsandbox")));
    let all: Vec<String> = ids
        .iter()
        .flat_map(|id| upstream_auth(&g, HS2, id))
        .collect();
    assert!(all.len() >= 6, "{all:?}");
    assert!(
        all.iter().all(|a| *a == all[0]),
        "one token reused: {all:?}"
    );

    // Revoke every sandbox token: the next write is refused once with 401, the gateway fetches
    // a new token and retries once, and the client sees success.
    let r = request(g.backend(HS2), "DELETE", "/__sandbox/tokens", &[], None);
    assert_eq!(r.status, 204);
    let id = "73053";
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let r = g.write(
        CRUNCH,
        &customer_path("/t/crunch/hs2", CRUNCH, id),
        &json!({"name": "Grace Hopper"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(g.stored(HS2, id).expect("stored")["first_name"], "Grace");
    assert_eq!(token_posts(&g).len(), 2, "one refresh");
    let log = g.upstream_requests(HS2, "/73053");
    let patches: Vec<&Value> = log.iter().filter(|e| e["method"] == "PATCH").collect();
    assert_eq!(patches.len(), 2, "refused once, retried once: {log:?}");
    assert_eq!(patches[0]["status"], 401);
    assert_eq!(patches[1]["status"], 204);
    assert_ne!(
        patches[0]["headers"]["authorization"],
        patches[1]["headers"]["authorization"]
    );
    assert_eq!(
        patches[0]["headers"]["authorization"].as_str(),
        Some(all[0].as_str())
    );
    // And the refreshed token is reused from then on.
    let r = g.write(
        CRUNCH,
        &customer_path("/t/crunch/hs2", CRUNCH, id),
        &json!({"name": "Mary Hopper"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(token_posts(&g).len(), 2);
}

#[test]
fn same_dialect_route_recovers_after_upstream_token_revocation() {
    let g = Gateway::start();
    let id = "73060";
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let path = customer_path("/t/hs2/hs2", HS2, id);
    let r = g.write(HS2, &path, &names_body(HS2, "Grace", "Hopper"));
    assert_eq!(r.status, 204, "{}", r.text());
    let r = request(g.backend(HS2), "DELETE", "/__sandbox/tokens", &[], None);
    assert_eq!(r.status, 204);
    // Whatever the first request after the revocation gets, the gateway must not keep sending
    // the revoked token: the following request succeeds.
    let _ = g.write(HS2, &path, &names_body(HS2, "Mary", "Hopper"));
    let r = g.write(HS2, &path, &names_body(HS2, "Joan", "Clarke"));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(g.stored(HS2, id).expect("stored")["first_name"], "Joan");
}

/// SPEC §6 / issue: secrets never appear in any response, log line, metric or `/config`. A
/// private gateway is driven through successes, every kind of client error, upstream OAuth, the
/// token endpoint and faults; then every answer, stdout (access log), stderr (logs), `/metrics`
/// and `/config` are searched for every secret value the configuration holds.
#[test]
fn secrets_never_appear_in_answers_logs_metrics_or_config() {
    let g = Gateway::start();
    let mut answers: Vec<String> = Vec::new();
    let mut keep = |r: Response| {
        let headers: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        answers.push(format!(
            "{}\n{}\n{}",
            r.status,
            headers.join("\n"),
            r.text()
        ));
    };
    let id = "73900";
    seed_crunch(&g, id);
    g.seed(HS2, id, &json!({"first_name": "Ada", "emails": [{"id": 2001, "type": "work", "value": "a@b.example"}]}));
    for c in DialectId::ALL {
        for u in DialectId::ALL {
            let path = customer_path(
                &format!(
                    "/t/{}/{}",
                    crate::support::short(c),
                    crate::support::short(u)
                ),
                c,
                id,
            );
            keep(g.write(c, &path, &names_body(c, "Grace", "Hopper")));
            keep(g.send("GET", &path, &[], None));
            keep(g.write(c, &path, &json!({"not": ["what", "anyone", "expects"]})));
        }
    }
    // Client credentials: right, wrong, and the token endpoint.
    keep(patch_hs2(&g, id, Some(&format!("Bearer {CLIENT_TOKEN}"))));
    keep(patch_hs2(&g, id, Some("Bearer wrong")));
    keep(token_form(&g, OAUTH_ID, OAUTH_SECRET));
    keep(token_form(&g, OAUTH_ID, "wrong-secret"));
    keep(put_hs1(
        &g,
        id,
        Some(&format!("Basic {}", b64(&format!("{CLIENT_KEY}:X")))),
    ));
    // Upstream faults and the upstream OAuth token refresh.
    g.fault(CRUNCH, &json!({"status": 500, "body": "boom", "count": 1}));
    keep(g.write(
        HS2,
        &customer_path("/t/hs2/crunch", HS2, id),
        &names_body(HS2, "A", "B"),
    ));
    keep(g.send("GET", "/down/crunch/v1/customers/1", &[], None));
    keep(request(
        g.backend(HS2),
        "DELETE",
        "/__sandbox/tokens",
        &[],
        None,
    ));
    keep(g.write(
        CRUNCH,
        &customer_path("/t/crunch/hs2", CRUNCH, id),
        &json!({"name": "Ada Byron"}),
    ));
    // Admin surfaces.
    keep(request(g.admin, "GET", "/config", &[], None));
    keep(request(g.admin, "POST", "/reload", &[], None));
    let metrics = g.metrics();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stdout = std::fs::read_to_string(&g.stdout).expect("stdout");
    let stderr = std::fs::read_to_string(&g.stderr).expect("stderr");
    assert!(
        stdout.lines().count() > 40,
        "the access log recorded the traffic"
    );

    let secrets = [
        SANDBOX_SECRET,
        CLIENT_TOKEN,
        CLIENT_KEY,
        OAUTH_SECRET,
        std::str::from_utf8(SIGNING_KEY).expect("utf-8"),
    ];
    for (what, text) in [
        ("answers", answers.join("\n---\n")),
        ("access log", stdout),
        ("log", stderr),
        ("metrics", metrics),
    ] {
        for s in secrets {
            assert!(!text.contains(s), "{what} contains the secret {s:?}");
            assert!(
                !text.contains(&b64(&format!("{s}:X"))),
                "{what} contains {s:?} as Basic"
            );
        }
    }
}
