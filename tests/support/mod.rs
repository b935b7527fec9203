//! Test support: starts the real `patchbay` binary with a generated configuration whose
//! upstreams are the built-in sandbox backends (real HTTP servers on loopback), and a small raw
//! HTTP/1.1 client (raw, so hostile requests can be sent byte for byte).
//!
//! One gateway is started per test binary (`gateway()`), shared by all tests: each test uses its
//! own customer ids so tests never see each other's data. Tests that inject upstream faults
//! start their own gateway (`Gateway::start`) so a fault never leaks into other tests.

#![allow(dead_code)]

pub mod pki;

use patchbay::dialect::DialectId;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The sandbox secret the generated configs use.
pub const SANDBOX_SECRET: &str = "sandbox-test-secret-0123456789";
/// A client bearer token accepted by the `/auth/*` routes.
pub const CLIENT_TOKEN: &str = "client-token-abcdef";
/// A helpscout-v1 API key accepted by the `/auth/hs1` route.
pub const CLIENT_KEY: &str = "client-api-key-42";
/// The OAuth client the `/auth/hs2` route knows.
pub const OAUTH_ID: &str = "test-client";
/// Its secret.
pub const OAUTH_SECRET: &str = "test-client-secret";

/// Ports handed to gateways the tests start: below Linux's ephemeral range (32768–60999).
const PORT_RANGE: std::ops::Range<u16> = 20_000..32_000;

/// A free loopback port for a server a test starts, checked by binding it and released.
///
/// Not port 0's pick: that comes from the ephemeral range, which every outgoing connection of
/// the suite also draws from, so between the check and the gateway's own bind a client socket
/// could take the port and the gateway would fail to start ("did not become ready"). Ports
/// below that range are only ever taken by this function, which hands each out once per
/// process, starting at a per-process offset.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORT_RANGE.end - PORT_RANGE.start);
    let offset = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = PORT_RANGE.start + ((offset + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORT_RANGE:?}");
}

/// Short names used in route prefixes.
pub fn short(d: DialectId) -> &'static str {
    match d {
        DialectId::HelpscoutV2 => "hs2",
        DialectId::HelpscoutV1 => "hs1",
        DialectId::Helpcrunch => "crunch",
        DialectId::Reach => "reach",
    }
}

/// A running gateway and its sandbox.
pub struct Gateway {
    /// Public listener.
    pub port: u16,
    /// Admin listener.
    pub admin: u16,
    /// Sandbox backend ports, in `DialectId::ALL` order.
    pub sandbox: [u16; 4],
    /// Port nothing listens on (the `down` upstream).
    pub dead_port: u16,
    /// The config file.
    pub config: PathBuf,
    /// Where stdout (access log) goes.
    pub stdout: PathBuf,
    /// Where stderr (logs) goes.
    pub stderr: PathBuf,
    /// Temp dir holding config and secrets.
    pub dir: PathBuf,
    child: Child,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Keep the logs of a failed test for inspection; clean up after a passing one.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn index(d: DialectId) -> usize {
    DialectId::ALL.iter().position(|x| *x == d).unwrap_or(0)
}

/// The generated configuration (also used by reload tests to write variants).
pub fn config_text(g: &GatewayPorts, dir: &Path, extra: &str) -> String {
    let mut s = format!(
        r#"[server]
listen = "127.0.0.1:{port}"
admin = "127.0.0.1:{admin}"
threads = 2
max_body_bytes = 65536
log_level = "warn"
access_log = true
token_secret_file = "{dir}/token-secret"
token_ttl_secs = 600

[sandbox]
enabled = true
helpscout_v2 = "127.0.0.1:{s0}"
helpscout_v1 = "127.0.0.1:{s1}"
helpcrunch = "127.0.0.1:{s2}"
reach = "127.0.0.1:{s3}"
secret_file = "{dir}/sandbox-secret"

[[upstream]]
name = "hs2"
dialect = "helpscout-v2"
url = "http://127.0.0.1:{s0}"
auth = {{ oauth_client_id = "patchbay-sandbox", oauth_secret_file = "{dir}/sandbox-secret", token_path = "/v2/oauth2/token" }}
read_timeout_ms = 3000

[[upstream]]
name = "hs1"
dialect = "helpscout-v1"
url = "http://127.0.0.1:{s1}"
auth = {{ basic_key_file = "{dir}/sandbox-secret" }}
read_timeout_ms = 3000

[[upstream]]
name = "crunch"
dialect = "helpcrunch"
url = "http://127.0.0.1:{s2}"
auth = {{ bearer_file = "{dir}/sandbox-secret" }}
read_timeout_ms = 3000

[[upstream]]
name = "reach"
dialect = "reach"
url = "http://127.0.0.1:{s3}"
auth = {{ bearer_file = "{dir}/sandbox-secret" }}
read_timeout_ms = 3000

[[upstream]]
name = "down"
dialect = "helpcrunch"
url = "http://127.0.0.1:{dead}"
connect_timeout_ms = 500

[[upstream]]
name = "limited"
dialect = "reach"
url = "http://127.0.0.1:{s3}"
auth = {{ bearer_file = "{dir}/sandbox-secret" }}
rate_limit_per_minute = 2
"#,
        port = g.port,
        admin = g.admin,
        dir = dir.display(),
        s0 = g.sandbox[0],
        s1 = g.sandbox[1],
        s2 = g.sandbox[2],
        s3 = g.sandbox[3],
        dead = g.dead_port,
    );
    for c in DialectId::ALL {
        for u in DialectId::ALL {
            for (prefix, policy) in [("t", "reject"), ("d", "drop")] {
                s.push_str(&format!(
                    "\n[[route]]\nname = \"{prefix}-{c}-{u}\"\nclient_dialect = \"{c}\"\npath_prefix = \"/{prefix}/{cs}/{us}\"\nupstream = \"{us}\"\nunmappable = \"{policy}\"\n",
                    cs = short(c),
                    us = short(u),
                ));
            }
        }
        s.push_str(&format!(
            "\n[[route]]\nname = \"down-{c}\"\nclient_dialect = \"{c}\"\npath_prefix = \"/down/{cs}\"\nupstream = \"down\"\n",
            cs = short(c)
        ));
    }
    s.push_str(&format!(
        r#"
[[route]]
name = "auth-hs2"
client_dialect = "helpscout-v2"
path_prefix = "/auth/hs2"
upstream = "crunch"
clients = {{ bearer_file = ["{dir}/client-token"], oauth_clients = [{{ client_id = "{OAUTH_ID}", secret_file = "{dir}/oauth-secret" }}] }}

[[route]]
name = "auth-hs1"
client_dialect = "helpscout-v1"
path_prefix = "/auth/hs1"
upstream = "hs2"
clients = {{ basic_key_file = ["{dir}/client-key"] }}

[[route]]
name = "limited"
client_dialect = "helpcrunch"
path_prefix = "/limited"
upstream = "limited"

[[route]]
name = "auto"
client_dialect = "auto"
path_prefix = "/auto"
upstream = "hs2"
"#,
        dir = dir.display()
    ));
    s.push_str(extra);
    s
}

/// The ports of a gateway about to start.
#[derive(Clone, Copy)]
pub struct GatewayPorts {
    /// Public.
    pub port: u16,
    /// Admin.
    pub admin: u16,
    /// Sandbox backends.
    pub sandbox: [u16; 4],
    /// Nothing listens here.
    pub dead_port: u16,
}

impl Gateway {
    /// Starts a gateway with its own sandbox on fresh ports and waits until it is ready.
    pub fn start() -> Gateway {
        Self::start_with(|_, text| text)
    }

    /// Like [`Gateway::start`], with the generated config passed through `edit` (which gets
    /// the temp dir, where it may write files the config refers to) before the start.
    pub fn start_with(edit: impl FnOnce(&Path, String) -> String) -> Gateway {
        let ports = GatewayPorts {
            port: free_port(),
            admin: free_port(),
            sandbox: [free_port(), free_port(), free_port(), free_port()],
            dead_port: free_port(),
        };
        let dir = std::env::temp_dir().join(format!(
            "patchbay-test-{}-{}",
            std::process::id(),
            ports.port
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, value) in [
            ("sandbox-secret", SANDBOX_SECRET),
            ("token-secret", "gateway-token-signing-key-for-tests"),
            ("client-token", CLIENT_TOKEN),
            ("client-key", CLIENT_KEY),
            ("oauth-secret", OAUTH_SECRET),
        ] {
            std::fs::write(dir.join(name), value).expect("secret file");
        }
        let config = dir.join("gateway.toml");
        let text = edit(&dir, config_text(&ports, &dir, ""));
        std::fs::write(&config, text).expect("config");
        Self::spawn(ports, dir, config)
    }

    fn spawn(ports: GatewayPorts, dir: PathBuf, config: PathBuf) -> Gateway {
        let stdout = dir.join("stdout.log");
        let stderr = dir.join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_patchbay"))
            .arg("serve")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn patchbay");
        // The shared gateway lives in a static that is never dropped: a watchdog ends it when
        // the test process is gone, so no gateway outlives the test run.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill -9 {child} 2>/dev/null",
                parent = std::process::id(),
                child = child.id()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let g = Gateway {
            port: ports.port,
            admin: ports.admin,
            sandbox: ports.sandbox,
            dead_port: ports.dead_port,
            config,
            stdout,
            stderr,
            dir,
            child,
        };
        g.wait_ready();
        g
    }

    /// The ports.
    pub fn ports(&self) -> GatewayPorts {
        GatewayPorts {
            port: self.port,
            admin: self.admin,
            sandbox: self.sandbox,
            dead_port: self.dead_port,
        }
    }

    /// The PID of the gateway process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit (after a signal), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut backends_up = false;
        while Instant::now() < deadline {
            let admin_ok =
                try_request(self.admin, "GET", "/readyz", &[], None).is_ok_and(|r| r.status == 200);
            if admin_ok && !backends_up {
                // Accepting connections is enough: the backends may serve HTTPS.
                backends_up = self
                    .sandbox
                    .iter()
                    .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok());
            }
            if admin_ok && backends_up && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        panic!("gateway did not become ready within 30 s; stderr:\n{log}");
    }

    /// A request to the public listener.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        request(self.port, method, path, headers, body)
    }

    /// A JSON request to the public listener.
    pub fn json(&self, method: &str, path: &str, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(&bytes),
        )
    }

    /// The sandbox port of a dialect.
    pub fn backend(&self, d: DialectId) -> u16 {
        self.sandbox[index(d)]
    }

    /// Seeds a customer (canonical JSON) into a backend.
    pub fn seed(&self, d: DialectId, id: &str, customer: &Value) {
        let body = serde_json::to_vec(customer).expect("json");
        let r = request(
            self.backend(d),
            "PUT",
            &format!("/__sandbox/customers/{id}"),
            &[("Content-Type", "application/json")],
            Some(&body),
        );
        assert!(
            r.status < 300,
            "seeding {d} {id}: {} {}",
            r.status,
            r.text()
        );
    }

    /// The canonical customer a backend holds (`None` when it has none).
    pub fn stored(&self, d: DialectId, id: &str) -> Option<Value> {
        let r = request(
            self.backend(d),
            "GET",
            &format!("/__sandbox/customers/{id}"),
            &[],
            None,
        );
        (r.status == 200).then(|| r.json())
    }

    /// The vendor-API requests a backend received whose path mentions `needle`.
    pub fn upstream_requests(&self, d: DialectId, needle: &str) -> Vec<Value> {
        let r = request(self.backend(d), "GET", "/__sandbox/requests", &[], None);
        let all = r.json();
        let list = all
            .as_array()
            .cloned()
            .or_else(|| all.get("requests").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        list.into_iter()
            .filter(|e| {
                e.get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.contains(needle))
            })
            .collect()
    }

    /// Scrapes `/metrics`.
    pub fn metrics(&self) -> String {
        request(self.admin, "GET", "/metrics", &[], None).text()
    }
}

/// The shared gateway of this test binary.
pub fn gateway() -> &'static Gateway {
    static G: OnceLock<Gateway> = OnceLock::new();
    G.get_or_init(Gateway::start)
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status.
    pub status: u16,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?} (status {})",
                self.text(),
                self.status
            )
        })
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request on a fresh connection and reads the answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on :{port}: {e}"))
}

/// Like [`request`], but returns I/O errors.
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Response> {
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    let raw = raw_exchange(port, &bytes, Duration::from_secs(15))?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unparseable response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

/// Writes raw bytes and reads until the server closes (or the timeout).
pub fn raw_exchange(port: u16, bytes: &[u8], timeout: Duration) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(bytes)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Parses one HTTP/1.1 response (Content-Length, chunked, or until close).
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let line_end = rest[i..].windows(2).position(|w| w == b"\r\n")? + i;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[i..line_end]).ok()?.trim(), 16)
                    .ok()?;
            i = line_end + 2;
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(i..i + size)?);
            i += size + 2;
        }
        out
    } else if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

// --- helpers for the error, auth and fault tests (appended) ---------------------------------

/// The customer endpoint of client dialect `c` under a route prefix (`/t/crunch/hs2`).
pub fn customer_path(prefix: &str, c: DialectId, id: &str) -> String {
    match c {
        DialectId::HelpscoutV2 => format!("{prefix}/v2/customers/{id}"),
        DialectId::HelpscoutV1 => format!("{prefix}/v1/customers/{id}.json"),
        DialectId::Helpcrunch => format!("{prefix}/v1/customers/{id}"),
        DialectId::Reach => format!("{prefix}/api/resources/customers/{id}"),
    }
}

/// The method of a partial update in dialect `c` (helpscout-v1 updates with PUT).
pub fn write_method(c: DialectId) -> &'static str {
    match c {
        DialectId::HelpscoutV1 => "PUT",
        _ => "PATCH",
    }
}

/// A body setting both names in dialect `c` (never needs the customer's state).
pub fn names_body(c: DialectId, first: &str, last: &str) -> Value {
    match c {
        DialectId::HelpscoutV2 => serde_json::json!([
            {"op": "replace", "path": "/firstName", "value": first},
            {"op": "replace", "path": "/lastName", "value": last},
        ]),
        DialectId::HelpscoutV1 => serde_json::json!({"firstName": first, "lastName": last}),
        DialectId::Helpcrunch => serde_json::json!({"name": format!("{first} {last}")}),
        DialectId::Reach => serde_json::json!({"data": {"firstName": first, "lastName": last}}),
    }
}

/// The success status of a write in dialect `c`.
pub fn write_ok(c: DialectId) -> u16 {
    match c {
        DialectId::HelpscoutV2 => 204,
        _ => 200,
    }
}

/// An error answer taken apart after checking its dialect's envelope exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBody {
    /// helpscout-v2 `message`, helpscout-v1 `error`, reach `message`; `None` for helpcrunch.
    pub headline: Option<String>,
    /// (field as the dialect writes it, message) of every listed error, in order. For
    /// helpcrunch, every entry after the leading `invalid_request`.
    pub fields: Vec<(String, String)>,
    /// helpscout-v2 `rejectedValue` / helpscout-v1 `value`, per field (`None` when absent).
    pub values: Vec<Option<Value>>,
}

impl ErrorBody {
    /// Only the field names.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|(f, _)| f.as_str()).collect()
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    k.sort_unstable();
    k
}

/// Checks that `r` is an error with `status` in dialect `c`'s exact format (SPEC §1 error
/// table, `docs/dialects.md`) and returns its parts.
pub fn dialect_error(c: DialectId, r: &Response, status: u16) -> ErrorBody {
    assert_eq!(r.status, status, "{c}: status; body {}", r.text());
    let ct = r.header("content-type").unwrap_or_default().to_string();
    let v = r.json();
    let s = |x: &Value| x.as_str().map(str::to_string);
    match c {
        DialectId::HelpscoutV2 => {
            assert_eq!(ct, "application/vnd.error+json", "{c}: content type");
            assert_eq!(
                keys(&v),
                ["_embedded", "_links", "logRef", "message"],
                "{v}"
            );
            let log_ref = v["logRef"].as_str().unwrap_or_default();
            assert!(uuid::Uuid::parse_str(log_ref).is_ok(), "logRef {log_ref:?}");
            let errors = v["_embedded"]["errors"].as_array().expect("errors array");
            let mut fields = Vec::new();
            let mut values = Vec::new();
            for e in errors {
                assert_eq!(e["source"], "JSON", "{e}");
                let mut k = keys(e);
                k.retain(|k| *k != "rejectedValue");
                assert_eq!(k, ["message", "path", "source"], "{e}");
                fields.push((s(&e["path"]).expect("path"), s(&e["message"]).expect("msg")));
                values.push(e.get("rejectedValue").cloned());
            }
            ErrorBody {
                headline: s(&v["message"]),
                fields,
                values,
            }
        }
        DialectId::HelpscoutV1 => {
            assert_eq!(ct, "application/json", "{c}: content type");
            assert_eq!(v["code"], status, "{v}");
            let mut fields = Vec::new();
            let mut values = Vec::new();
            match v.get("validationErrors") {
                Some(list) => {
                    assert_eq!(keys(&v), ["code", "error", "validationErrors"], "{v}");
                    for e in list.as_array().expect("validationErrors array") {
                        assert_eq!(keys(e), ["message", "property", "value"], "{e}");
                        fields.push((s(&e["property"]).expect("p"), s(&e["message"]).expect("m")));
                        values.push(Some(e["value"].clone()));
                    }
                }
                None => assert_eq!(keys(&v), ["code", "error"], "{v}"),
            }
            ErrorBody {
                headline: s(&v["error"]),
                fields,
                values,
            }
        }
        DialectId::Helpcrunch => {
            assert_eq!(ct, "application/json", "{c}: content type");
            assert_eq!(keys(&v), ["errors"], "{v}");
            let errors = v["errors"].as_array().expect("errors array");
            assert_eq!(
                errors.first(),
                Some(&serde_json::json!({"code": "invalid_request", "message": "Invalid request"})),
                "{v}"
            );
            let mut fields = Vec::new();
            for e in &errors[1..] {
                assert_eq!(keys(e), ["code", "message"], "{e}");
                fields.push((s(&e["code"]).expect("code"), s(&e["message"]).expect("m")));
            }
            let values = vec![None; fields.len()];
            ErrorBody {
                headline: None,
                fields,
                values,
            }
        }
        DialectId::Reach => {
            assert_eq!(ct, "application/json", "{c}: content type");
            assert_eq!(keys(&v), ["errors", "message", "success"], "{v}");
            assert_eq!(v["success"], false);
            let mut fields = Vec::new();
            for e in v["errors"].as_array().expect("errors array") {
                assert_eq!(keys(e), ["message", "path"], "{e}");
                fields.push((s(&e["path"]).expect("path"), s(&e["message"]).expect("m")));
            }
            let values = vec![None; fields.len()];
            ErrorBody {
                headline: s(&v["message"]),
                fields,
                values,
            }
        }
    }
}

/// How a dialect writes the body root in an error (malformed JSON, wrong top-level shape).
pub fn root_name(c: DialectId) -> &'static str {
    match c {
        DialectId::Helpcrunch => "invalid_json",
        _ => "body",
    }
}

/// For a non-validation error (401, 404, 413, 415, 429, 5xx): the one message the dialect
/// carries, after checking that no field is listed (helpcrunch: its kind code is the one entry).
pub fn plain_error(c: DialectId, r: &Response, status: u16, kind_code: &str) -> String {
    let e = dialect_error(c, r, status);
    match c {
        DialectId::Helpcrunch => {
            assert_eq!(e.fields.len(), 1, "{e:?}");
            assert_eq!(e.fields[0].0, kind_code, "{e:?}");
            e.fields[0].1.clone()
        }
        _ => {
            assert!(e.fields.is_empty(), "{e:?}");
            e.headline.expect("headline")
        }
    }
}

impl Gateway {
    /// Installs a sandbox fault on a backend.
    pub fn fault(&self, d: DialectId, fault: &Value) {
        let body = serde_json::to_vec(fault).expect("json");
        let r = request(
            self.backend(d),
            "POST",
            "/__sandbox/faults",
            &[("Content-Type", "application/json")],
            Some(&body),
        );
        assert_eq!(r.status, 204, "fault refused: {}", r.text());
    }

    /// Removes a backend's fault.
    pub fn clear_fault(&self, d: DialectId) {
        let r = request(self.backend(d), "DELETE", "/__sandbox/faults", &[], None);
        assert_eq!(r.status, 204);
    }

    /// A request in client dialect `c`: JSON body with the dialect's write method.
    pub fn write(&self, c: DialectId, path: &str, body: &Value) -> Response {
        self.json(write_method(c), path, body)
    }

    /// Requests to a backend whose path mentions `needle`, with method `method`.
    pub fn upstream_count(&self, d: DialectId, needle: &str, method: &str) -> usize {
        self.upstream_requests(d, needle)
            .iter()
            .filter(|e| e["method"] == method)
            .count()
    }
}

/// Regression: gateways sometimes failed to start because their port, picked from the
/// ephemeral range, was taken meanwhile by one of the suite's own client sockets.
#[test]
fn free_ports_are_distinct_and_outside_the_ephemeral_range() {
    let (lo, hi) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            let mut it = t.split_whitespace().filter_map(|x| x.parse::<u16>().ok());
            Some((it.next()?, it.next()?))
        })
        .unwrap_or((32_768, 60_999));
    let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
    for p in &ports {
        assert!(
            !(lo..=hi).contains(p),
            "port {p} is in the ephemeral range {lo}-{hi}"
        );
        assert!(PORT_RANGE.contains(p));
    }
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ports.len(),
        "a port was handed out twice: {ports:?}"
    );
}

/// `text` (a test config written in `dir`) with the sandbox backends serving HTTPS under a fresh
/// self-signed certificate and every upstream reached over `https://` without verification.
pub fn https_sandbox(dir: &Path, text: &str) -> String {
    pki::self_signed(dir, "sandbox", "localhost", "IP:127.0.0.1,DNS:localhost");
    let sandbox = format!(
        "[sandbox]\ntls_cert_file = \"{cert}\"\ntls_key_file = \"{key}\"\n",
        cert = dir.join("sandbox.crt").display(),
        key = dir.join("sandbox.key").display(),
    );
    text.replacen("[sandbox]\n", &sandbox, 1)
        .replace("url = \"http://", "tls_verify = false\nurl = \"https://")
}
