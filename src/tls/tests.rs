//! Unit tests of [`crate::tls`]: PEM pairs, client-certificate names, and the validation of
//! every new config key (`server.tls.*`, `upstream.ca_file`, `route.clients.cert_names`), each
//! with its negative case. Certificates are made by the `openssl` command in a temp dir.

use super::*;
use crate::config::{check_file_with, load_str, static_changes, ConfigErrors, Loaded};
// The integration tests' certificate kit: one `openssl` recipe for both suites.
#[path = "../../tests/support/pki.rs"]
#[allow(dead_code)]
mod kit;
use kit::self_signed;

fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    self_signed(dir.path(), "a", "localhost", "DNS:localhost,IP:127.0.0.1");
    self_signed(dir.path(), "b", "other", "DNS:other.example");
    std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").expect("junk");
    std::fs::write(dir.path().join("secret"), "s3cret\n").expect("secret");
    dir
}

const UPSTREAM: &str = r#"
[[upstream]]
name = "up"
dialect = "reach"
url = "https://127.0.0.1:9443"

[[route]]
name = "r"
client_dialect = "helpcrunch"
path_prefix = "/r"
upstream = "up"
"#;

fn load(dir: &Path, text: &str) -> Result<Loaded, ConfigErrors> {
    load_str(text, dir, 1)
}

fn errors(dir: &Path, text: &str) -> String {
    match load(dir, text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_pair_loads_with_its_expiry_and_serial_and_a_mismatched_one_is_refused() {
    let dir = pki();
    let d = dir.path();
    let pair = load_pair(&d.join("a.crt"), &d.join("a.key")).expect("pair");
    assert_eq!(pair.serial, "BEEF");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs() as i64);
    assert!((pair.not_after - now - 3 * 86_400).abs() < 3600, "{pair:?}");
    let e = load_pair(&d.join("a.crt"), &d.join("b.key")).expect_err("mismatch");
    assert!(e.contains("do not make a usable pair"), "{e}");
    let e = load_pair(&d.join("junk.pem"), &d.join("a.key")).expect_err("junk");
    assert!(e.contains("no PEM certificate"), "{e}");
    let e = load_pair(&d.join("a.crt"), &d.join("a.crt")).expect_err("no key");
    assert!(e.contains("no PEM private key"), "{e}");
    let e = load_pair(&d.join("missing.crt"), &d.join("a.key")).expect_err("missing");
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn a_refused_reload_keeps_the_old_pair_and_is_counted() {
    let dir = pki();
    let d = dir.path();
    let (cert, key) = (d.join("live.crt"), d.join("live.key"));
    std::fs::copy(d.join("a.crt"), &cert).expect("copy");
    std::fs::copy(d.join("a.key"), &key).expect("copy");
    let conf = ListenerTls {
        cert_file: cert.clone(),
        key_file: key.clone(),
        client_ca_file: None,
    };
    let certs = ListenerCerts::open(&conf).expect("open");
    let before = certs.resolver.0.load_full();
    let m = crate::metrics::metrics();
    let errors = m.tls_reloads("error");
    // Certificate of b, key of a: refused, a keeps serving.
    std::fs::copy(d.join("b.crt"), &cert).expect("copy");
    assert!(!certs.reload());
    assert!(m.tls_reloads("error") > errors);
    assert!(Arc::ptr_eq(&before, &certs.resolver.0.load_full()));
    assert_eq!(certs.serial(), "BEEF");
    // The matching key arrives: b serves.
    std::fs::copy(d.join("b.key"), &key).expect("copy");
    assert!(certs.reload());
    assert!(!Arc::ptr_eq(&before, &certs.resolver.0.load_full()));
}

#[test]
fn client_identity_has_common_name_and_alt_names() {
    let dir = pki();
    let pem = std::fs::read(dir.path().join("a.crt")).expect("cert");
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .expect("one cert")
        .expect("pem");
    let id = ClientIdentity::from_der(der.as_ref()).expect("parses");
    assert_eq!(id.common_names, ["localhost"]);
    assert_eq!(id.alt_names, ["localhost", "127.0.0.1"]);
    assert!(id.matches(&["127.0.0.1".to_string()]));
    assert!(id.matches(&["nope".to_string(), "localhost".to_string()]));
    assert!(!id.matches(&["LOCALHOST".to_string()]));
    assert!(!id.matches(&[]));
    assert_eq!(ClientIdentity::from_der(b"garbage"), None);
}

#[test]
fn server_tls_is_validated_key_by_key() {
    let dir = pki();
    let d = dir.path();
    let ok = load(
        d,
        "[server]\ntls = { cert_file = \"a.crt\", key_file = \"a.key\", client_ca_file = \"b.crt\" }\n",
    )
    .expect("valid");
    let tls = ok.snapshot.server.tls.clone().expect("tls");
    assert_eq!(tls.cert_file, d.join("a.crt"));
    assert_eq!(tls.client_ca_file, Some(d.join("b.crt")));
    let json = ok.snapshot.redacted_json();
    assert_eq!(
        json["server"]["tls"]["key_file"],
        d.join("a.key").display().to_string()
    );

    for (text, want) in [
        (
            "tls = { cert_file = \"a.crt\" }",
            "server.tls.key_file: required",
        ),
        (
            "tls = { key_file = \"a.key\" }",
            "server.tls.cert_file: required",
        ),
        (
            "tls = { cert_file = \"\", key_file = \"a.key\" }",
            "server.tls.cert_file: empty file name",
        ),
        (
            "tls = { cert_file = \"a.crt\", key_file = \"a.key\", ca = \"b.crt\" }",
            "server.tls.ca: unknown key (expected one of: cert_file, key_file, client_ca_file)",
        ),
        (
            "tls = \"a.crt\"",
            "server.tls: expected a table, found string",
        ),
        (
            "tls = { cert_file = 7, key_file = \"a.key\" }",
            "server.tls.cert_file: invalid type",
        ),
        (
            "tls = { cert_file = \"a.crt\", key_file = \"b.key\" }",
            "server.tls.cert_file:",
        ),
        (
            "tls = { cert_file = \"junk.pem\", key_file = \"a.key\" }",
            "no PEM certificate",
        ),
        (
            "tls = { cert_file = \"missing.crt\", key_file = \"a.key\" }",
            "cannot read",
        ),
        (
            "tls = { cert_file = \"a.crt\", key_file = \"a.key\", client_ca_file = \"junk.pem\" }",
            "server.tls.client_ca_file:",
        ),
    ] {
        let e = errors(d, &format!("[server]\n{text}\n"));
        assert!(e.contains(want), "{text}: want {want:?} in {e}");
    }
    // The mismatched pair says which files.
    let e = errors(
        d,
        "[server]\ntls = { cert_file = \"a.crt\", key_file = \"b.key\" }\n",
    );
    assert!(e.contains("do not make a usable pair"), "{e}");
}

#[test]
fn check_reports_tls_problems_at_their_line_and_skips_the_files_without_secrets() {
    let dir = pki();
    let d = dir.path();
    let path = d.join("gateway.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:8443\"\ntls = { cert_file = \"a.crt\", key_file = \"b.key\" }\n",
    )
    .expect("config");
    let (report, ok) = check_file_with(&path, true);
    assert!(!ok, "{report}");
    assert!(
        report.contains(&format!("{}:3:", path.display()))
            && report.contains("server.tls.cert_file"),
        "{report}"
    );
    // Without secrets the key material is not read: a CI job has no certificate files.
    let (report, ok) = check_file_with(&path, false);
    assert!(ok, "{report}");
}

#[test]
fn upstream_ca_file_is_validated() {
    let dir = pki();
    let d = dir.path();
    let ok = load(
        d,
        &UPSTREAM.replace("url = ", "ca_file = \"a.crt\"\nurl = "),
    )
    .expect("valid");
    let ca = ok.snapshot.upstreams[0].ca.clone().expect("ca");
    // The bundle plus the platform roots (possibly none in a minimal image).
    assert!(!ca.roots.is_empty());
    assert_eq!(ca.file, d.join("a.crt"));
    let other = load(
        d,
        &UPSTREAM.replace("url = ", "ca_file = \"b.crt\"\nurl = "),
    )
    .expect("valid");
    assert_ne!(
        other.snapshot.upstreams[0].ca.as_ref().map(|c| c.digest),
        Some(ca.digest)
    );

    for (extra, url, want) in [
        ("ca_file = \"junk.pem\"", "https", "upstream[0].ca_file:"),
        ("ca_file = \"missing.pem\"", "https", "cannot read"),
        (
            "ca_file = \"\"",
            "https",
            "upstream[0].ca_file: empty file name",
        ),
        (
            "ca_file = \"a.crt\"",
            "http",
            "upstream[0].ca_file: only valid with an https upstream URL",
        ),
    ] {
        let text = UPSTREAM.replace("url = \"https", &format!("{extra}\nurl = \"{url}"));
        let e = errors(d, &text);
        assert!(e.contains(want), "{extra}: want {want:?} in {e}");
    }
    // The bundle is watched like a secret file; `--no-secrets` does not read it.
    assert!(ok
        .snapshot
        .secret_files
        .iter()
        .any(|(p, _)| *p == d.join("a.crt")));
    let path = d.join("gateway.toml");
    std::fs::write(
        &path,
        UPSTREAM.replace("url = ", "ca_file = \"missing.pem\"\nurl = "),
    )
    .expect("config");
    assert!(check_file_with(&path, false).1);
    assert!(!check_file_with(&path, true).1);
    let warned = load(
        d,
        &UPSTREAM.replace("url = ", "ca_file = \"a.crt\"\ntls_verify = false\nurl = "),
    )
    .expect("valid");
    assert!(
        warned
            .warnings
            .iter()
            .any(|w| w.path == "upstream[0].ca_file" && w.message.contains("ignored")),
        "{:?}",
        warned.warnings
    );
}

#[test]
fn cert_names_need_a_client_ca_and_real_names() {
    let dir = pki();
    let d = dir.path();
    let route = UPSTREAM.replace(
        "upstream = \"up\"",
        "upstream = \"up\"\nclients = { cert_names = [\"client-a\"] }",
    );
    let with_ca = format!(
        "[server]\ntls = {{ cert_file = \"a.crt\", key_file = \"a.key\", client_ca_file = \"b.crt\" }}\n{route}"
    );
    let ok = load(d, &with_ca).expect("valid");
    assert_eq!(ok.snapshot.routes[0].clients.cert_names, ["client-a"]);
    assert!(!ok.snapshot.routes[0].clients.is_open());

    let e = errors(d, &route);
    assert!(
        e.contains("route[0].clients.cert_names: needs server.tls.client_ca_file"),
        "{e}"
    );
    let e = errors(
        d,
        &format!("[server]\ntls = {{ cert_file = \"a.crt\", key_file = \"a.key\" }}\n{route}"),
    );
    assert!(e.contains("needs server.tls.client_ca_file"), "{e}");
    let e = errors(
        d,
        &with_ca.replace("[\"client-a\"]", "[\"client-a\", \" \"]"),
    );
    assert!(e.contains("route[0].clients.cert_names[1]"), "{e}");
    let e = errors(d, &with_ca.replace("[\"client-a\"]", "\"client-a\""));
    assert!(e.contains("route[0].clients.cert_names"), "{e}");
}

#[test]
fn a_reload_during_a_broken_rotation_warns_instead_of_refusing_the_file() {
    let dir = pki();
    let d = dir.path();
    let text = "[server]\ntls = { cert_file = \"a.crt\", key_file = \"b.key\" }\n";
    // At start (generation 1) and in `patchbay check`: refused.
    assert!(load_str(text, d, 1).is_err());
    // At a reload: accepted with a warning; the listener's own watcher owns the pair.
    let loaded = load_str(text, d, 2).expect("reload accepted");
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.path == "server.tls.cert_file"
                && w.message.contains("keeps serving its current certificate")),
        "{:?}",
        loaded.warnings
    );
    // A missing key is still an error at a reload: that is the file's shape, not a rotation.
    assert!(load_str("[server]\ntls = { cert_file = \"a.crt\" }\n", d, 2).is_err());
}

#[test]
fn changing_the_listener_tls_needs_a_restart() {
    let dir = pki();
    let d = dir.path();
    let plain = load(d, "[server]\n").expect("plain").snapshot;
    let https = load(
        d,
        "[server]\ntls = { cert_file = \"a.crt\", key_file = \"a.key\" }\n",
    )
    .expect("https")
    .snapshot;
    let mtls = load(
        d,
        "[server]\ntls = { cert_file = \"a.crt\", key_file = \"a.key\", client_ca_file = \"b.crt\" }\n",
    )
    .expect("mtls")
    .snapshot;
    assert_eq!(static_changes(&plain, &https), ["server.tls"]);
    assert_eq!(static_changes(&https, &mtls), ["server.tls"]);
    assert!(static_changes(&https, &https).is_empty());
}

#[test]
fn listener_settings_build_with_and_without_a_client_ca() {
    let dir = pki();
    let d = dir.path();
    let mut conf = ListenerTls {
        cert_file: d.join("a.crt"),
        key_file: d.join("a.key"),
        client_ca_file: None,
    };
    let certs = ListenerCerts::open(&conf).expect("open");
    assert!(listener_settings(&conf, &certs).is_ok());
    conf.client_ca_file = Some(d.join("b.crt"));
    assert!(listener_settings(&conf, &certs).is_ok());
    conf.client_ca_file = Some(d.join("junk.pem"));
    let e = listener_settings(&conf, &certs).err().expect("junk CA");
    assert!(e.contains("no PEM certificate"), "{e}");
}
