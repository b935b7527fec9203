//! HTTPS toward clients (issue 13), through real sockets, with a CA and certificates made by the
//! `openssl` command in the test's directory and `curl` as the client: HTTP/1.1 and h2 answer
//! alike, a certificate rotated (Kubernetes Secret symlink swap) under load loses no request
//! and a broken pair is refused, client certificates are required and matched against a route's
//! `cert_names`, and upstreams are verified through their `ca_file` (a wrong CA or an expired
//! certificate is a 502 with nothing applied).

use crate::support::pki::{ca, expired_leaf, leaf};
use crate::support::{customer_path, names_body, short, write_method, Gateway};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `[server] tls` added to a generated config.
fn with_listener_tls(text: &str, cert: &Path, key: &Path, client_ca: Option<&Path>) -> String {
    let ca = client_ca.map_or(String::new(), |c| {
        format!(", client_ca_file = \"{}\"", c.display())
    });
    text.replacen(
        "[server]\n",
        &format!(
            "[server]\ntls = {{ cert_file = \"{}\", key_file = \"{}\"{ca} }}\n",
            cert.display(),
            key.display()
        ),
        1,
    )
}

// --- curl -----------------------------------------------------------------------------------

/// What curl saw: its exit code, the status (0 when no answer), the HTTP version and the body.
#[derive(Debug)]
struct Curl {
    exit: i32,
    status: u16,
    version: String,
    body: String,
    stderr: String,
}

impl Curl {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} {self:?}", self.body))
    }
}

/// One request with curl. `extra` comes before the URL (`--http2`, `--cert`, `-X`, `-d`, ...).
fn curl(url: &str, ca: &Path, extra: &[&str]) -> Curl {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(["-w", "\n%{http_code} %{http_version}"])
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("the curl command");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let mut parts = tail.split(' ');
    Curl {
        exit: out.status.code().unwrap_or(-1),
        status: parts.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        version: parts.next().unwrap_or_default().to_string(),
        body: body.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_write(url: &str, ca: &Path, method: &str, body: &Value, extra: &[&str]) -> Curl {
    let body = body.to_string();
    let mut args = vec![
        "-X",
        method,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body.as_str(),
    ];
    args.extend_from_slice(extra);
    curl(url, ca, &args)
}

/// The serial number of the certificate the listener presents to a new connection.
fn served_serial(port: u16) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"
        ))
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_string()
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn access_lines(g: &Gateway) -> Vec<Value> {
    std::fs::read_to_string(&g.stdout)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("request_id").is_some())
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

// --- tests ----------------------------------------------------------------------------------

#[test]
fn https_serves_http1_and_h2_alike_and_says_which() {
    let mut pki = PathBuf::new();
    let g = Gateway::start_with(|dir, text| {
        ca(dir, "ca");
        let (cert, key) = leaf(dir, "ca", "server", "localhost", 0x1001, 30);
        pki = dir.to_path_buf();
        with_listener_tls(&text, &cert, &key, None)
    });
    let ca_file = pki.join("ca.crt");
    let base = format!("https://127.0.0.1:{}", g.port);
    for (i, (flag, version)) in [("--http1.1", "1.1"), ("--http2", "2")]
        .into_iter()
        .enumerate()
    {
        // A translated write (helpcrunch client → reach upstream).
        let id = format!("{}", 74_000 + i);
        g.seed(
            DialectId::Reach,
            &id,
            &json!({"first_name": "Ada", "last_name": "Lovelace"}),
        );
        let path = customer_path("/t/crunch/reach", DialectId::Helpcrunch, &id);
        let r = json_write(
            &format!("{base}{path}"),
            &ca_file,
            "PATCH",
            &names_body(DialectId::Helpcrunch, "Grace", "Hopper"),
            &[flag],
        );
        assert_eq!((r.exit, r.version.as_str()), (0, version), "{r:?}");
        assert_eq!(r.status, 200, "{flag}: {r:?}");
        assert_eq!(r.json()["name"], json!("Grace Hopper"), "{flag}");
        let stored = g.stored(DialectId::Reach, &id).expect("stored");
        assert_eq!(stored["first_name"], json!("Grace"), "{flag}: {stored}");

        // A same-dialect write: the validated body relayed upstream unchanged (`forward.rs`).
        let r = json_write(
            &format!(
                "{base}{}",
                customer_path("/t/reach/reach", DialectId::Reach, &id)
            ),
            &ca_file,
            "PATCH",
            &names_body(DialectId::Reach, "Ada", "Byron"),
            &[flag],
        );
        assert_eq!((r.status, r.version.as_str()), (200, version), "{r:?}");
        let stored = g.stored(DialectId::Reach, &id).expect("stored");
        assert_eq!(stored["last_name"], json!("Byron"), "{flag}: {stored}");

        // A same-dialect read, relayed through the gateway's client.
        let r = curl(
            &format!(
                "{base}{}",
                customer_path("/t/reach/reach", DialectId::Reach, &id)
            ),
            &ca_file,
            &[flag],
        );
        assert_eq!((r.status, r.version.as_str()), (200, version), "{r:?}");

        // Errors are the same answer in either protocol.
        let r = json_write(
            &format!("{base}{path}"),
            &ca_file,
            "PATCH",
            &json!({"email": "not-an-email"}),
            &[flag],
        );
        assert_eq!((r.status, r.version.as_str()), (400, version), "{r:?}");
        assert_eq!(r.json()["errors"][0]["code"], json!("invalid_request"));
        let r = curl(&format!("{base}/nowhere/at/all"), &ca_file, &[flag]);
        assert_eq!((r.status, r.version.as_str()), (404, version), "{r:?}");
        // A body over max_body_bytes: 413 before anything is sent, in either protocol.
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70_000));
        let r = curl(
            &format!("{base}{path}"),
            &ca_file,
            &[
                flag,
                "-X",
                "PATCH",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &big,
            ],
        );
        assert_eq!(
            (r.exit, r.status, r.version.as_str()),
            (0, 413, version),
            "{r:?}"
        );
        // Refused before the body is read (no credentials): the answer still arrives whole.
        let r = json_write(
            &format!(
                "{base}{}",
                customer_path("/auth/hs1", DialectId::HelpscoutV1, &id)
            ),
            &ca_file,
            "PUT",
            &names_body(DialectId::HelpscoutV1, "Eve", "Intruder"),
            &[flag],
        );
        assert_eq!(
            (r.exit, r.status, r.version.as_str()),
            (0, 401, version),
            "{r:?}"
        );
    }
    // Plain HTTP is not served on the HTTPS listener.
    let r = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://127.0.0.1:{}/nowhere", g.port))
        .output()
        .expect("curl");
    assert_ne!(String::from_utf8_lossy(&r.stdout), "404");

    // The access log and the metrics say which protocol each request used.
    let lines = access_lines(&g);
    for (p, n) in [("http/1.1", 7), ("h2", 7)] {
        let seen = lines.iter().filter(|l| l["protocol"] == json!(p)).count();
        assert_eq!(seen, n, "{p} access lines in {lines:?}");
    }
    let m = g.metrics();
    for p in ["http/1.1", "h2"] {
        let series = format!("patchbay_requests_by_protocol_total{{protocol=\"{p}\"}}");
        assert_eq!(metric(&m, &series), Some(7.0), "{series} in\n{m}");
    }
    // The serving certificate's expiry is exported (30 days from now, give or take a day).
    let expiry = metric(&m, "patchbay_tls_certificate_expiry_timestamp_seconds").expect("gauge");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    assert!(
        (expiry - now - 30.0 * 86_400.0).abs() < 86_400.0,
        "expiry {expiry}, now {now}"
    );
}

/// The Kubernetes projection of a Secret: `certs/tls.crt -> ..data/tls.crt`, `..data -> ..vN`;
/// an update writes `..vN+1` and renames a new `..data` link over the old one.
fn project(certs: &Path, version: &str, cert: &Path, key: &Path) {
    let v = certs.join(version);
    std::fs::create_dir_all(&v).expect("version dir");
    std::fs::copy(cert, v.join("tls.crt")).expect("copy cert");
    std::fs::copy(key, v.join("tls.key")).expect("copy key");
    let tmp = certs.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp).expect("symlink");
    std::fs::rename(&tmp, certs.join("..data")).expect("swap ..data");
    for f in ["tls.crt", "tls.key"] {
        let link = certs.join(f);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{f}"), &link).expect("file link");
        }
    }
}

#[test]
fn certificate_rotated_under_load_loses_no_request_and_a_broken_pair_is_refused() {
    let mut pki = PathBuf::new();
    let g = Gateway::start_with(|dir, text| {
        ca(dir, "ca");
        let (cert, key) = leaf(dir, "ca", "v1", "localhost", 0x1001, 30);
        let certs = dir.join("certs");
        project(&certs, "..v1", &cert, &key);
        pki = dir.to_path_buf();
        with_listener_tls(&text, &certs.join("tls.crt"), &certs.join("tls.key"), None)
    });
    let ca_file = pki.join("ca.crt");
    let certs = pki.join("certs");
    assert_eq!(served_serial(g.port), "1001");
    let expiry_before = metric(
        &g.metrics(),
        "patchbay_tls_certificate_expiry_timestamp_seconds",
    )
    .expect("gauge");
    let (cert2, key2) = leaf(&pki, "ca", "v2", "localhost", 0x2002, 60);

    // Requests on fresh connections (curl per request) all through the swap.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let url = format!("https://127.0.0.1:{}/nowhere", g.port);
    let load = {
        let url = url.clone();
        let (stop, ok, failed, ca_file) =
            (stop.clone(), ok.clone(), failed.clone(), ca_file.clone());
        std::thread::spawn(move || {
            let mut errors = Vec::new();
            // Bounded: at most 2000 requests or 60 s, whichever comes first.
            let deadline = Instant::now() + Duration::from_secs(60);
            for i in 0..2000 {
                if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                let flag = if i % 2 == 0 { "--http1.1" } else { "--http2" };
                let r = curl(&url, &ca_file, &[flag]);
                if r.exit == 0 && r.status == 404 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    errors.push(format!("{r:?}"));
                }
            }
            errors
        })
    };
    wait_for("requests before the swap", Duration::from_secs(20), || {
        ok.load(Ordering::Relaxed) >= 10
    });
    project(&certs, "..v2", &cert2, &key2);
    wait_for("the new certificate", Duration::from_secs(10), || {
        served_serial(g.port) == "2002"
    });
    let at_swap = ok.load(Ordering::Relaxed);
    wait_for("requests after the swap", Duration::from_secs(20), || {
        ok.load(Ordering::Relaxed) >= at_swap + 10
    });
    stop.store(true, Ordering::Relaxed);
    let errors = load.join().expect("load thread");
    assert!(errors.is_empty(), "failed requests: {errors:?}");
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    let m = g.metrics();
    // One reload (two if a poll fell between the two files' checks of the one swap).
    let reloads = metric(&m, "patchbay_tls_reloads_total{result=\"ok\"}").unwrap_or(0.0);
    assert!((1.0..=2.0).contains(&reloads), "{m}");
    let expiry_after =
        metric(&m, "patchbay_tls_certificate_expiry_timestamp_seconds").expect("gauge");
    assert!(
        (expiry_after - expiry_before - 30.0 * 86_400.0).abs() < 3600.0,
        "the 60-day certificate's expiry: {expiry_before} → {expiry_after}"
    );

    // A broken pair (v2's certificate with another key) is refused; v2 keeps serving.
    let (_, other_key) = leaf(&pki, "ca", "other", "localhost", 0x3003, 90);
    project(&certs, "..v3", &cert2, &other_key);
    wait_for("the refused reload", Duration::from_secs(10), || {
        metric(&g.metrics(), "patchbay_tls_reloads_total{result=\"error\"}")
            .is_some_and(|n| n >= 1.0)
    });
    assert_eq!(served_serial(g.port), "2002");
    let r = curl(&url, &ca_file, &["--http2"]);
    assert_eq!((r.exit, r.status), (0, 404), "{r:?}");
    let log = std::fs::read_to_string(&g.stderr).unwrap_or_default();
    assert!(
        log.contains("TLS certificate reload refused"),
        "logged refusal in:\n{log}"
    );
    assert_eq!(
        metric(
            &g.metrics(),
            "patchbay_tls_certificate_expiry_timestamp_seconds"
        ),
        Some(expiry_after)
    );
}

#[test]
fn client_certificates_are_required_verified_and_matched_by_name() {
    let mut pki = PathBuf::new();
    let g = Gateway::start_with(|dir, text| {
        ca(dir, "ca");
        ca(dir, "clients");
        ca(dir, "rogue");
        let (cert, key) = leaf(dir, "ca", "server", "localhost", 0x1001, 30);
        leaf(dir, "clients", "client-a", "client-a", 0xA, 30);
        leaf(dir, "clients", "client-b", "client-b", 0xB, 30);
        leaf(dir, "rogue", "intruder", "client-a", 0xC, 30);
        pki = dir.to_path_buf();
        let mut text = with_listener_tls(&text, &cert, &key, Some(&dir.join("clients.crt")));
        text.push_str(&format!(
            "\n[[route]]\nname = \"mtls\"\nclient_dialect = \"helpcrunch\"\npath_prefix = \"/mtls\"\nupstream = \"crunch\"\nclients = {{ cert_names = [\"client-a\"], bearer_file = [\"{}\"] }}\n",
            dir.join("client-token").display()
        ));
        text
    });
    let ca_file = pki.join("ca.crt");
    let cert = |name: &str| {
        (
            pki.join(format!("{name}.crt")).display().to_string(),
            pki.join(format!("{name}.key")).display().to_string(),
        )
    };
    let url = format!(
        "https://127.0.0.1:{}{}",
        g.port,
        customer_path("/mtls", DialectId::Helpcrunch, "12345")
    );
    for flag in ["--http1.1", "--http2"] {
        // No certificate, or one from a CA the gateway does not trust (even with an accepted
        // name): refused in the handshake, no HTTP answer at all.
        let r = curl(&url, &ca_file, &[flag]);
        assert!(r.exit != 0 && r.status == 0, "no certificate: {r:?}");
        assert!(!r.stderr.is_empty(), "curl names the failure: {r:?}");
        let (c, k) = cert("intruder");
        let r = curl(&url, &ca_file, &[flag, "--cert", &c, "--key", &k]);
        assert!(r.exit != 0 && r.status == 0, "untrusted CA: {r:?}");

        // A trusted certificate named by the route opens it.
        let (c, k) = cert("client-a");
        let r = curl(&url, &ca_file, &[flag, "--cert", &c, "--key", &k]);
        assert_eq!((r.exit, r.status), (0, 200), "client-a: {r:?}");

        // A trusted certificate the route does not name: 401 in the client's dialect, unless
        // it also brings one of the route's tokens.
        let (c, k) = cert("client-b");
        let r = curl(&url, &ca_file, &[flag, "--cert", &c, "--key", &k]);
        assert_eq!(r.status, 401, "client-b: {r:?}");
        assert!(
            r.json()["errors"].is_array(),
            "helpcrunch error: {}",
            r.body
        );
        let bearer = format!("Authorization: Bearer {}", crate::support::CLIENT_TOKEN);
        let r = curl(
            &url,
            &ca_file,
            &[flag, "--cert", &c, "--key", &k, "-H", &bearer],
        );
        assert_eq!(r.status, 200, "client-b with a token: {r:?}");
    }
    // Other routes keep their own rules (open ones stay open to any verified client).
    let (c, k) = cert("client-b");
    let r = curl(
        &format!("https://127.0.0.1:{}/nowhere", g.port),
        &ca_file,
        &["--cert", &c, "--key", &k],
    );
    assert_eq!(r.status, 404, "{r:?}");
}

/// A gateway whose sandbox serves HTTPS with a certificate of the CA `private` (expired when
/// `expired`), and two reach upstreams on it: `private` (`ca_file` = that CA) and `wrongca`
/// (`ca_file` = an unrelated CA), each with a helpcrunch (translated) and a reach
/// (same-dialect, streamed) route: `/<upstream>/<client>`.
fn private_ca_gateway(expired: bool) -> (Gateway, PathBuf) {
    let mut pki = PathBuf::new();
    let g = Gateway::start_with(|dir, text| {
        ca(dir, "private");
        ca(dir, "unrelated");
        let (cert, key) = if expired {
            expired_leaf(dir, "private", "sandbox")
        } else {
            leaf(dir, "private", "sandbox", "localhost", 0x5005, 30)
        };
        pki = dir.to_path_buf();
        let reach = text
            .split("reach = \"127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("reach sandbox port")
            .to_string();
        let mut text = text.replacen(
            "[sandbox]\n",
            &format!(
                "[sandbox]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
                cert.display(),
                key.display()
            ),
            1,
        );
        for (name, ca) in [("private", "private"), ("wrongca", "unrelated")] {
            text.push_str(&format!(
                "\n[[upstream]]\nname = \"{name}\"\ndialect = \"reach\"\nurl = \"https://127.0.0.1:{reach}\"\nca_file = \"{ca}.crt\"\nauth = {{ bearer_file = \"sandbox-secret\" }}\n",
            ));
            for c in [DialectId::Helpcrunch, DialectId::Reach] {
                text.push_str(&format!(
                    "\n[[route]]\nname = \"{name}-{c}\"\nclient_dialect = \"{c}\"\npath_prefix = \"/{name}/{cs}\"\nupstream = \"{name}\"\n",
                    cs = short(c)
                ));
            }
        }
        text
    });
    (g, pki)
}

/// Whether a write through `/<upstream>/<client>` is refused with 502 in the client's dialect
/// on both paths, with nothing applied or even sent to the sandbox (read with `curl_extra`).
fn refused_with_nothing_applied(g: &Gateway, pki: &Path, upstream: &str, curl_extra: &[&str]) {
    let sandbox_ca = pki.join("private.crt");
    let sandbox = format!("https://127.0.0.1:{}", g.backend(DialectId::Reach));
    let stored = || {
        let r = curl(
            &format!("{sandbox}/__sandbox/customers/12345"),
            &sandbox_ca,
            curl_extra,
        );
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    };
    let writes = || {
        let all = curl(
            &format!("{sandbox}/__sandbox/requests"),
            &sandbox_ca,
            curl_extra,
        )
        .json();
        all.as_array()
            .or_else(|| all.get("requests").and_then(Value::as_array))
            .map_or(0, |a| a.iter().filter(|e| e["method"] != "GET").count())
    };
    let (before, writes_before) = (stored(), writes());
    for c in [DialectId::Helpcrunch, DialectId::Reach] {
        let path = customer_path(&format!("/{upstream}/{}", short(c)), c, "12345");
        let r = crate::support::request(
            g.port,
            write_method(c),
            &path,
            &[("Content-Type", "application/json")],
            Some(names_body(c, "Mallory", "Wrong").to_string().as_bytes()),
        );
        crate::support::dialect_error(c, &r, 502);
    }
    assert_eq!(stored(), before, "nothing applied");
    assert_eq!(writes(), writes_before, "nothing written upstream");
}

#[test]
fn an_expired_upstream_certificate_is_502_with_nothing_applied() {
    let (g, pki) = private_ca_gateway(true);
    // The sandbox itself is read without verification: its certificate expired in 2020.
    refused_with_nothing_applied(&g, &pki, "private", &["-k"]);
}

#[test]
fn upstreams_are_verified_through_their_ca_file() {
    let (g, pki) = private_ca_gateway(false);
    // The wrong CA: 502 in the client's dialect, on the translated and the streamed path alike,
    // and nothing reaches the upstream.
    refused_with_nothing_applied(&g, &pki, "wrongca", &[]);
    let sandbox_ca = pki.join("private.crt");
    let sandbox = format!("https://127.0.0.1:{}", g.backend(DialectId::Reach));
    let stored = |id: &str| {
        let r = curl(
            &format!("{sandbox}/__sandbox/customers/{id}"),
            &sandbox_ca,
            &[],
        );
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    };

    // The private CA from ca_file verifies the sandbox's certificate (SNI and host name
    // checked: the certificate names 127.0.0.1).
    for (c, last) in [
        (DialectId::Helpcrunch, "Hopper"),
        (DialectId::Reach, "Murray"),
    ] {
        let path = customer_path(&format!("/private/{}", short(c)), c, "12345");
        let r = crate::support::request(
            g.port,
            write_method(c),
            &path,
            &[("Content-Type", "application/json")],
            Some(names_body(c, "Grace", last).to_string().as_bytes()),
        );
        assert_eq!(r.status, 200, "{c} → reach via ca_file: {}", r.text());
        let now = stored("12345");
        assert_eq!(
            (now["first_name"].clone(), now["last_name"].clone()),
            (json!("Grace"), json!(last)),
            "{c}: {now}"
        );
    }
}
