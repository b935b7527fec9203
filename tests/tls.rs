//! HTTPS upstreams: the sandbox backends serve TLS with a self-signed certificate made by the
//! `openssl` command; upstreams with `tls_verify = false` are translated to as usual, and an
//! upstream that verifies the certificate refuses the unknown issuer (502, nothing applied).

use crate::support::{https_sandbox, names_body, Gateway};
use patchbay::dialect::DialectId;
use serde_json::json;

#[test]
fn https_upstreams_translate_and_verification_is_enforced() {
    let g = Gateway::start_with(|dir, text| {
        // Every upstream speaks HTTPS without verification (self-signed), except `strict`.
        let mut text = https_sandbox(dir, &text);
        text.push_str(&format!(
            "\n[[upstream]]\nname = \"strict\"\ndialect = \"reach\"\nurl = \"https://127.0.0.1:{}\"\nauth = {{ bearer_file = \"{}\" }}\n\n[[route]]\nname = \"strict\"\nclient_dialect = \"helpcrunch\"\npath_prefix = \"/strict\"\nupstream = \"strict\"\n",
            text.split("reach = \"127.0.0.1:")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("reach sandbox port"),
            dir.join("sandbox-secret").display(),
        ));
        text
    });

    // A translated write over HTTPS toward every upstream dialect (the sandboxes' demo
    // customers: the plain test client cannot seed through the HTTPS control endpoints).
    for (u, id) in [
        (DialectId::HelpscoutV2, "100"),
        (DialectId::HelpscoutV1, "101"),
        (DialectId::Helpcrunch, "12345"),
        (DialectId::Reach, "12345"),
    ] {
        let short = crate::support::short(u);
        let r = g.json(
            "PATCH",
            &format!("/t/crunch/{short}/v1/customers/{id}"),
            &names_body(DialectId::Helpcrunch, "Grace", "Hopper"),
        );
        assert_eq!(r.status, 200, "crunch → {u} over https: {}", r.text());
        assert_eq!(r.json()["name"], json!("Grace Hopper"), "crunch → {u}");
    }
    // The seeded demo customers are readable through every HTTPS upstream.
    let r = g.send("GET", "/t/hs2/hs2/v2/customers/100", &[], None);
    assert_eq!(r.status, 200, "helpscout-v2 over https: {}", r.text());
    let r = g.send("GET", "/t/hs1/hs1/v1/customers/100.json", &[], None);
    assert_eq!(r.status, 200, "helpscout-v1 over https: {}", r.text());
    let r = g.send(
        "GET",
        "/t/reach/crunch/api/resources/customers/12345",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "reach → helpcrunch over https: {}", r.text());
    assert_eq!(r.json()["success"], json!(true));

    // Certificate verification is on by default: the self-signed certificate is refused.
    let r = g.json(
        "PATCH",
        "/strict/v1/customers/74199",
        &json!({"name": "Grace Hopper"}),
    );
    assert_eq!(r.status, 502, "unverifiable certificate: {}", r.text());
    assert_eq!(r.json()["errors"][0]["code"], json!("invalid_request"));
}
