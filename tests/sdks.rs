//! The published Help Scout client libraries, unchanged, through the gateway: PyPI
//! `python-helpscout` 2.0.2, `helpscout-wrapper` 0.0.3 and `helpscout` 0.1.3 (v1), npm
//! `helpscout-2.0` 1.1.5 and `helpscout-mailbox-api` 1.0.1 (installed by `make test` through
//! `scripts/sdks.sh`). Each drives its ordinary customer calls (`tests/sdk/<name>`: token, GET,
//! PATCH/PUT, the entry sub-resources) against a route in front of each of the four upstream
//! dialects, and the test then checks what the upstream stored. A client written for the vendor
//! is the judge of fidelity: where the vendor accepts a call, the gateway must too.

use crate::support::*;
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A gateway with one OAuth route (helpscout-v2 clients) and one API-key route (helpscout-v1
/// clients) in front of every upstream, under `/sdk2/<upstream>` and `/sdk1/<upstream>`.
fn sdk_gateway() -> &'static Gateway {
    static G: OnceLock<Gateway> = OnceLock::new();
    G.get_or_init(|| {
        Gateway::start_with(|dir, mut text| {
            for u in DialectId::ALL {
                let us = short(u);
                text.push_str(&format!(
                    r#"
[[route]]
name = "sdk2-{us}"
client_dialect = "helpscout-v2"
path_prefix = "/sdk2/{us}"
upstream = "{us}"
clients = {{ oauth_clients = [{{ client_id = "{OAUTH_ID}", secret_file = "{dir}/oauth-secret" }}] }}

[[route]]
name = "sdk1-{us}"
client_dialect = "helpscout-v1"
path_prefix = "/sdk1/{us}"
upstream = "{us}"
clients = {{ basic_key_file = ["{dir}/client-key"] }}
"#,
                    dir = dir.display()
                ));
            }
            text
        })
    })
}

/// What an upstream dialect can hold of a Help Scout customer: its entry collections and
/// whether a whole address (lines and postal code included).
fn capacity(u: DialectId) -> (Vec<&'static str>, bool) {
    match u {
        DialectId::HelpscoutV2 | DialectId::HelpscoutV1 => (
            vec!["emails", "phones", "chats", "social-profiles", "websites"],
            true,
        ),
        DialectId::Helpcrunch | DialectId::Reach => (vec!["emails", "phones"], false),
    }
}

/// Runs one SDK scenario against the route in front of `u`; panics with its report on failure.
fn run_sdk(sdk: &str, v1: bool, u: DialectId, id: &str) {
    let g = sdk_gateway();
    g.seed(
        u,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let (colls, address) = capacity(u);
    let route = if v1 { "sdk1" } else { "sdk2" };
    let config = json!({
        "base": format!("http://127.0.0.1:{}/{route}/{}", g.port, short(u)),
        "id": id,
        "colls": colls,
        "address": address,
        "client_id": OAUTH_ID,
        "client_secret": OAUTH_SECRET,
        "api_key": CLIENT_KEY,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sdks.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("run")
        .arg(sdk)
        .arg(config.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/sdks.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Option<Value> = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    let failed: Vec<&Value> = report
        .as_ref()
        .and_then(|r| r["steps"].as_array())
        .map(|s| s.iter().filter(|s| s["ok"] != true).collect())
        .unwrap_or_default();
    assert!(
        out.status.success() && report.is_some() && failed.is_empty(),
        "{sdk} → {u}: exit {:?}\nfailed steps: {}\nstdout: {stdout}\nstderr: {}",
        out.status.code(),
        serde_json::to_string_pretty(&failed).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the upstream holds: the names the client wrote, and no entry left behind (each one
    // created was deleted again).
    let stored = g.stored(u, id).expect("stored");
    assert_eq!(stored["first_name"], "Grace", "{sdk} → {u}: {stored}");
    assert_eq!(stored["last_name"], "Hopper", "{sdk} → {u}: {stored}");
    for coll in ["emails", "phones", "chats", "social_profiles", "websites"] {
        assert!(
            stored[coll].as_array().is_none_or(Vec::is_empty),
            "{sdk} → {u}: {coll} left: {stored}"
        );
    }
}

fn each_upstream(sdk: &str, v1: bool, base_id: u32) {
    for (i, u) in DialectId::ALL.into_iter().enumerate() {
        run_sdk(sdk, v1, u, &(base_id + i as u32).to_string());
    }
}

#[test]
fn python_helpscout_works_unchanged_through_the_gateway() {
    each_upstream("python-helpscout", false, 98_100);
}

#[test]
fn helpscout_wrapper_works_unchanged_through_the_gateway() {
    each_upstream("helpscout-wrapper", false, 98_110);
}

#[test]
fn npm_helpscout_2_0_works_unchanged_through_the_gateway() {
    each_upstream("helpscout-2.0", false, 98_120);
}

#[test]
fn npm_helpscout_mailbox_api_works_unchanged_through_the_gateway() {
    each_upstream("helpscout-mailbox-api", false, 98_130);
}

#[test]
fn helpscout_v1_client_works_unchanged_through_the_gateway() {
    each_upstream("helpscout-v1", true, 98_140);
}
