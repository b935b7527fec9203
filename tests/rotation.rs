//! Secret rotation under a running gateway (SPEC §6, issue 12 §2): secret files are watched like
//! the config file, Kubernetes-style (`..data` symlink swap), and a rotated upstream credential,
//! client token or token-signing key takes effect without a restart; a bad new secret is refused
//! while the old one keeps serving.
//!
//! Each test starts its own gateway: rotations change what the shared one would accept.

use crate::support::{
    customer_path, request, Gateway, CLIENT_TOKEN, OAUTH_ID, OAUTH_SECRET, SANDBOX_SECRET,
};
use base64::Engine;
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HS2: DialectId = DialectId::HelpscoutV2;
const HS1: DialectId = DialectId::HelpscoutV1;
const CRUNCH: DialectId = DialectId::Helpcrunch;
const REACH: DialectId = DialectId::Reach;

const NEW_UPSTREAM: &str = "sandbox-secret-rotated-9876543210";
const NEW_CLIENT_TOKEN: &str = "client-token-rotated-uvwxyz";

// --- helpers -----------------------------------------------------------------------------

/// Kubernetes Secret volume layout in `dir`: `..v1/<key>` files, `..data -> ..v1`, and one
/// top-level `<key> -> ..data/<key>` link per key.
fn k8s_secret(dir: &Path, keys: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("..v1")).expect("mkdir");
    for (k, v) in keys {
        std::fs::write(dir.join("..v1").join(k), v).expect("write secret");
        symlink(format!("..data/{k}"), dir.join(k)).expect("symlink key");
    }
    symlink("..v1", dir.join("..data")).expect("symlink ..data");
}

/// What kubelet does on a Secret update: writes a new version directory, then renames a fresh
/// `..data` link over the old one (one atomic step for every key).
fn k8s_update(dir: &Path, version: &str, keys: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join(version)).expect("mkdir");
    for (k, v) in keys {
        std::fs::write(dir.join(version).join(k), v).expect("write secret");
    }
    symlink(version, dir.join("..data_tmp")).expect("symlink");
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).expect("swap ..data");
}

/// Writes `path` atomically, as config managers do.
fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).expect("write temp config");
    std::fs::rename(&tmp, path).expect("rename config");
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn generation(g: &Gateway) -> u64 {
    let r = request(g.admin, "GET", "/readyz", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["generation"].as_u64().expect("generation")
}

fn sample(g: &Gateway, series: &str) -> Option<f64> {
    g.metrics()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
}

/// Replaces the credentials a sandbox backend accepts (the vendor side of a rotation).
fn vendor_accepts(g: &Gateway, d: DialectId, accept: &[&str]) {
    let body = serde_json::to_vec(&json!({ "accept": accept })).expect("json");
    let r = request(
        g.backend(d),
        "PUT",
        "/__sandbox/credentials",
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    assert_eq!(r.status, 204, "{d}: {}", r.text());
}

fn seed(g: &Gateway, d: DialectId, id: &str) {
    g.seed(
        d,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
}

fn get(g: &Gateway, path: &str, auth: Option<&str>) -> u16 {
    let h: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    match crate::support::try_request(g.port, "GET", path, &h, None) {
        Ok(r) => r.status,
        // A refused or reset connection counts as a failed request.
        Err(_) => 0,
    }
}

/// The vendor requests a backend logged (method, path, authorization, body, status).
fn vendor_log(g: &Gateway, d: DialectId) -> Vec<Value> {
    let r = request(g.backend(d), "GET", "/__sandbox/requests", &[], None);
    r.json().as_array().cloned().unwrap_or_default()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// --- upstream and client secrets -------------------------------------------------------

/// Upstream credentials (bearer, Basic key, OAuth client secret — all one file here) and a
/// client bearer token rotate through a Kubernetes Secret swap under continuous traffic: no
/// request fails, the gateway presents the new upstream value (the OAuth token obtained with
/// the old secret is dropped, never discovered through a 401), the new client token is accepted
/// and the old one refused from the same moment on, and the process is never restarted.
#[test]
fn upstream_and_client_secrets_rotate_under_traffic_without_a_failed_request() {
    let g = Gateway::start_with(|dir, text| {
        let s = dir.join("secrets");
        k8s_secret(
            &s,
            &[("upstream", SANDBOX_SECRET), ("client-token", CLIENT_TOKEN)],
        );
        let d = dir.display();
        // Every upstream's credential comes from the Secret; the sandbox keeps its own file
        // (its key is static: the vendor side rotates through /__sandbox/credentials).
        text.replace(
            &format!("{d}/sandbox-secret"),
            &format!("{d}/secrets/upstream"),
        )
        .replace(
            &format!("\nsecret_file = \"{d}/secrets/upstream\""),
            &format!("\nsecret_file = \"{d}/sandbox-secret\""),
        )
        .replace(
            &format!("bearer_file = [\"{d}/client-token\"]"),
            &format!("bearer_file = [\"{d}/secrets/client-token\"]"),
        )
    });
    let pid = g.pid();
    // Translated routes toward every upstream credential kind, and same-dialect (streamed)
    // routes toward the bearer upstreams.
    let routes: Vec<String> = [
        ("/t/crunch/hs2", CRUNCH, HS2, "81001"),
        ("/t/hs2/hs1", HS2, HS1, "81002"),
        ("/t/reach/crunch", REACH, CRUNCH, "81003"),
        ("/t/hs1/reach", HS1, REACH, "81004"),
        ("/t/crunch/crunch", CRUNCH, CRUNCH, "81005"),
        ("/t/reach/reach", REACH, REACH, "81006"),
        ("/t/hs2/hs2", HS2, HS2, "81007"),
    ]
    .into_iter()
    .map(|(prefix, client, upstream, id)| {
        seed(&g, upstream, id);
        customer_path(prefix, client, id)
    })
    .collect();
    seed(&g, CRUNCH, "81010");
    let guarded = customer_path("/auth/hs2", HS2, "81010");
    for p in &routes {
        assert_eq!(get(&g, p, None), 200, "{p} before the rotation");
    }
    assert_eq!(get(&g, &guarded, Some(&bearer(CLIENT_TOKEN))), 200);
    assert_eq!(get(&g, &guarded, Some(&bearer(NEW_CLIENT_TOKEN))), 401);
    assert_eq!(generation(&g), 1);

    // The vendor issues the new key; both are valid while the gateway switches.
    for d in DialectId::ALL {
        vendor_accepts(&g, d, &[SANDBOX_SECRET, NEW_UPSTREAM]);
    }
    let before_swap: Vec<usize> = DialectId::ALL
        .iter()
        .map(|d| vendor_log(&g, *d).len())
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let g = Arc::new(g);
    let mut threads = Vec::new();
    for t in 0..3 {
        let (g, stop, failures, sent, routes) = (
            g.clone(),
            stop.clone(),
            failures.clone(),
            sent.clone(),
            routes.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let p = &routes[i % routes.len()];
                let status = get(&g, p, None);
                sent.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    failures
                        .lock()
                        .expect("lock")
                        .push(format!("{p}: {status}"));
                }
                i += 1;
            }
        }));
    }
    // Two clients of the guarded route, one on each token: each must see exactly one switch
    // (new: refused → accepted, old: accepted → refused), never back and forth.
    let client = |token: &'static str| {
        let (g, stop, guarded) = (g.clone(), stop.clone(), guarded.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seen.push(get(&g, &guarded, Some(&bearer(token))));
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        })
    };
    let new_client = client(NEW_CLIENT_TOKEN);
    let old_client = client(CLIENT_TOKEN);
    std::thread::sleep(Duration::from_millis(300));

    k8s_update(
        &g.dir.join("secrets"),
        "..v2",
        &[
            ("upstream", NEW_UPSTREAM),
            ("client-token", NEW_CLIENT_TOKEN),
        ],
    );
    assert!(
        wait_for(Duration::from_secs(10), || generation(&g) >= 2),
        "the secret swap was not picked up; stderr:\n{}",
        std::fs::read_to_string(&g.stderr).unwrap_or_default()
    );
    // Requests that started under the old snapshot finish; then the vendor revokes the old key
    // (and the helpscout-v2 tokens obtained with it).
    std::thread::sleep(Duration::from_millis(500));
    for d in DialectId::ALL {
        vendor_accepts(&g, d, &[NEW_UPSTREAM]);
    }
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("load thread");
    }
    let new_seen = new_client.join().expect("client thread");
    let old_seen = old_client.join().expect("client thread");

    let failures = failures.lock().expect("lock").clone();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 50, "only {sent} requests during the rotation");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed: {failures:?}",
        failures.len()
    );
    // One swap, one reload: no reload loop, no restart.
    assert_eq!(generation(&g), 2);
    assert_eq!(g.pid(), pid);

    let switched = |seen: &[u16], from: u16, to: u16| {
        let k = seen.iter().position(|s| *s == to).unwrap_or(seen.len());
        k > 0
            && k < seen.len()
            && seen[..k].iter().all(|s| *s == from)
            && seen[k..].iter().all(|s| *s == to)
    };
    assert!(switched(&new_seen, 401, 200), "new token: {new_seen:?}");
    assert!(switched(&old_seen, 200, 401), "old token: {old_seen:?}");

    // Upstream side: after the swap the gateway presented only the new credential, and no
    // vendor request was refused (a kept OAuth token of the old secret would have met a 401).
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{s}:X"))
        )
    };
    for (i, d) in DialectId::ALL.iter().enumerate() {
        let log = vendor_log(&g, *d);
        let refused: Vec<&Value> = log.iter().filter(|e| e["status"] == 401).collect();
        assert!(
            refused.is_empty(),
            "{d}: refused vendor requests {refused:?}"
        );
        let after = &log[before_swap[i].min(log.len())..];
        let last = after.last().unwrap_or_else(|| panic!("{d}: no traffic"));
        match d {
            DialectId::HelpscoutV2 => {
                let tokens: Vec<&Value> = after
                    .iter()
                    .filter(|e| {
                        e["path"]
                            .as_str()
                            .is_some_and(|p| p.contains("oauth2/token"))
                    })
                    .collect();
                let last_token = tokens.last().expect("a token fetched after the rotation");
                let body = last_token["body"].as_str().unwrap_or_default();
                let new = patchbay::proxy::client::form_escape(NEW_UPSTREAM);
                assert!(body.contains(&format!("client_secret={new}")), "{body}");
            }
            DialectId::HelpscoutV1 => {
                assert_eq!(last["headers"]["authorization"], basic(NEW_UPSTREAM), "{d}");
            }
            _ => assert_eq!(
                last["headers"]["authorization"],
                bearer(NEW_UPSTREAM),
                "{d}"
            ),
        }
    }
    // And the old upstream value is now refused by the vendor, while every route still works.
    let r = request(
        g.backend(CRUNCH),
        "GET",
        "/v1/customers/81003",
        &[("Authorization", &bearer(SANDBOX_SECRET))],
        None,
    );
    assert_eq!(r.status, 401);
    for p in &routes {
        assert_eq!(get(&g, p, None), 200, "{p} after the rotation");
    }
}

/// An empty secret file (a botched rotation) is refused like an invalid config: the old
/// credential keeps serving, `patchbay_config_last_reload_success` is 0, and fixing the file
/// reloads.
#[test]
fn an_empty_rotated_secret_is_refused_and_the_old_one_keeps_serving() {
    let g = Gateway::start_with(|dir, text| {
        k8s_secret(&dir.join("secrets"), &[("client-token", CLIENT_TOKEN)]);
        let d = dir.display();
        text.replace(
            &format!("bearer_file = [\"{d}/client-token\"]"),
            &format!("bearer_file = [\"{d}/secrets/client-token\"]"),
        )
    });
    seed(&g, CRUNCH, "81020");
    let guarded = customer_path("/auth/hs2", HS2, "81020");
    assert_eq!(get(&g, &guarded, Some(&bearer(CLIENT_TOKEN))), 200);
    assert_eq!(sample(&g, "patchbay_config_last_reload_success"), Some(1.0));

    k8s_update(&g.dir.join("secrets"), "..v2", &[("client-token", "\n")]);
    assert!(
        wait_for(Duration::from_secs(10), || sample(
            &g,
            "patchbay_config_last_reload_success"
        ) == Some(0.0)),
        "the empty secret was not refused"
    );
    assert_eq!(
        sample(&g, "patchbay_config_reloads_total{result=\"error\"}"),
        Some(1.0)
    );
    assert_eq!(generation(&g), 1);
    assert_eq!(get(&g, &guarded, Some(&bearer(CLIENT_TOKEN))), 200);
    let log = std::fs::read_to_string(&g.stderr).unwrap_or_default();
    assert!(
        log.contains("client-token"),
        "the refusal names the file: {log}"
    );
    // Still refused a while later: one error, not one per poll.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        sample(&g, "patchbay_config_reloads_total{result=\"error\"}"),
        Some(1.0)
    );

    k8s_update(
        &g.dir.join("secrets"),
        "..v3",
        &[("client-token", NEW_CLIENT_TOKEN)],
    );
    assert!(wait_for(Duration::from_secs(10), || generation(&g) == 2));
    assert_eq!(sample(&g, "patchbay_config_last_reload_success"), Some(1.0));
    assert_eq!(get(&g, &guarded, Some(&bearer(NEW_CLIENT_TOKEN))), 200);
    assert_eq!(get(&g, &guarded, Some(&bearer(CLIENT_TOKEN))), 401);
}

// --- token-signing keys ----------------------------------------------------------------

fn issue_token(g: &Gateway) -> String {
    let body =
        format!("grant_type=client_credentials&client_id={OAUTH_ID}&client_secret={OAUTH_SECRET}");
    let r = g.send(
        "POST",
        "/auth/hs2/v2/oauth2/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

fn kid(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice::<Value>(&raw).expect("json")["kid"].clone()
}

/// A token as gateways issued them before key ids: `{sub, exp}`, HMAC-SHA256 with the key.
fn kidless_token(secret: &str, sub: &str) -> String {
    use hmac::{Hmac, Mac};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    let body = format!(
        "pb1.{}",
        b64.encode(json!({ "sub": sub, "exp": exp }).to_string())
    );
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    m.update(body.as_bytes());
    format!("{body}.{}", b64.encode(m.finalize().into_bytes()))
}

/// Token-key rotation through config reloads: a token issued under k1 keeps working after k2
/// is put in front (k2 now signs), and stops working when k1 is removed; so does a token from
/// before key ids that k1 signed. A duplicate key id is refused and the keys keep serving.
#[test]
fn token_key_rotation_keeps_clients_logged_in_until_the_old_key_is_removed() {
    const K1: &str = "token-key-one-0123456789abcdef";
    const K2: &str = "token-key-two-fedcba9876543210";
    let keys = |dir: &Path, list: &[(&str, &str)]| {
        let entries: Vec<String> = list
            .iter()
            .map(|(id, f)| {
                format!(
                    "{{ id = \"{id}\", secret_file = \"{}/{f}\" }}",
                    dir.display()
                )
            })
            .collect();
        format!("token_keys = [{}]", entries.join(", "))
    };
    let g = Gateway::start_with(|dir, text| {
        std::fs::write(dir.join("k1"), K1).expect("k1");
        std::fs::write(dir.join("k2"), K2).expect("k2");
        let single = format!("token_secret_file = \"{}/token-secret\"", dir.display());
        assert!(text.contains(&single));
        text.replace(&single, &keys(dir, &[("k1", "k1")]))
    });
    let config = std::fs::read_to_string(&g.config).expect("config");
    let current = keys(&g.dir, &[("k1", "k1")]);
    seed(&g, CRUNCH, "81030");
    let guarded = customer_path("/auth/hs2", HS2, "81030");
    let ok = |t: &str| get(&g, &guarded, Some(&bearer(t)));

    let t1 = issue_token(&g);
    assert_eq!(kid(&t1), "k1");
    let legacy = kidless_token(K1, OAUTH_ID);
    assert_eq!(ok(&t1), 200);
    assert_eq!(ok(&legacy), 200);

    // Step 1: k2 in front. New tokens are k2's; k1's still verify.
    write_atomic(
        &g.config,
        &config.replace(&current, &keys(&g.dir, &[("k2", "k2"), ("k1", "k1")])),
    );
    assert!(wait_for(Duration::from_secs(10), || generation(&g) == 2));
    let t2 = issue_token(&g);
    assert_eq!(kid(&t2), "k2");
    assert_eq!(ok(&t1), 200);
    assert_eq!(ok(&legacy), 200);
    assert_eq!(ok(&t2), 200);

    // A duplicate id is refused; the running keys keep serving.
    write_atomic(
        &g.config,
        &config.replace(&current, &keys(&g.dir, &[("k2", "k2"), ("k2", "k1")])),
    );
    assert!(wait_for(Duration::from_secs(10), || {
        sample(&g, "patchbay_config_last_reload_success") == Some(0.0)
    }));
    assert_eq!(generation(&g), 2);
    assert_eq!(ok(&t1), 200);

    // Step 2: k1 removed. Its tokens (with or without kid) are refused; k2's keep working.
    write_atomic(
        &g.config,
        &config.replace(&current, &keys(&g.dir, &[("k2", "k2")])),
    );
    assert!(wait_for(Duration::from_secs(10), || generation(&g) == 3));
    assert_eq!(ok(&t1), 401);
    assert_eq!(ok(&legacy), 401);
    assert_eq!(ok(&t2), 200);
    assert_eq!(kid(&issue_token(&g)), "k2");
}
