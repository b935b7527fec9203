//! Several replicas behaving as one through Redis (SPEC §9, `[cluster]`): two gateway processes
//! in front of one upstream, a real `redis-server` started here on loopback (`make test`
//! installs it), concurrent read-modify-writes whose upstream log must show each one
//! contiguous, the shared rate limit and OAuth token, the lease renewed under a slow write, and
//! Redis killed mid-run and restarted.

use crate::support::{dialect_error, free_port, pki, request, Gateway};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HS2: DialectId = DialectId::HelpscoutV2;
const CRUNCH: DialectId = DialectId::Helpcrunch;

/// A `redis-server` on loopback, without persistence, stopped when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
    /// Extra server arguments (TLS, password).
    server_args: Vec<String>,
    /// Extra `redis-cli` arguments to reach it.
    cli_args: Vec<String>,
}

impl Redis {
    fn start() -> Redis {
        Self::start_with(Vec::new(), Vec::new())
    }

    fn start_with(server_args: Vec<String>, cli_args: Vec<String>) -> Redis {
        let mut r = Redis {
            port: free_port(),
            child: None,
            server_args,
            cli_args,
        };
        r.restart();
        r
    }

    /// (Re)starts the server on the same port and waits until it answers.
    fn restart(&mut self) {
        let tls = self.server_args.iter().any(|a| a == "--tls-cert-file");
        let port = self.port.to_string();
        let ports = if tls {
            ["--port", "0", "--tls-port", &port]
        } else {
            ["--port", &port, "--tls-port", "0"]
        };
        let child = Command::new("redis-server")
            .args(ports)
            .args(&self.server_args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (installed by `make test`)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cli(&["PING"]).trim() == "PONG" {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kills the server (as a crash would).
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Until the port is free, a restart could not bind it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the kernel, never answered.
    fn pause(&self, stop: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sig = if stop { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill").args([sig, &pid]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill {sig}");
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(&self.cli_args)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn table(&self, extra: &str) -> String {
        format!(
            "\n[cluster]\nredis_url = \"redis://127.0.0.1:{}\"\ntimeout_ms = 200\n{extra}",
            self.port
        )
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A frozen server ignores SIGKILL until it is continued on some systems' tooling.
            self.pause(false);
        }
        self.kill();
    }
}

/// Points upstream `name` of a generated config at `port` (another gateway's sandbox).
fn point_at(text: &str, name: &str, port: u16) -> String {
    let marker = format!("name = \"{name}\"\n");
    let at = text.find(&marker).expect("upstream in config") + marker.len();
    let url_at = at + text[at..].find("url = \"").expect("url");
    let end = url_at + text[url_at..].find('\n').expect("line end");
    format!(
        "{}url = \"http://127.0.0.1:{port}\"{}",
        &text[..url_at],
        &text[end..]
    )
}

/// Gateway A (with its sandbox, the one upstream) and gateway B whose `crunch` and `hs2`
/// upstreams are A's sandbox; both with `cluster` (a `[cluster]` table or nothing).
fn replicas(cluster: &str) -> (Gateway, Gateway) {
    let extra = cluster.to_string();
    let a = Gateway::start_with(|_, t| format!("{t}{extra}"));
    let (crunch, hs2) = (a.backend(CRUNCH), a.backend(HS2));
    let b = Gateway::start_with(|_, t| {
        let t = point_at(&t, "crunch", crunch);
        format!("{}{extra}", point_at(&t, "hs2", hs2))
    });
    if !cluster.is_empty() {
        wait_redis(&a, "up");
        wait_redis(&b, "up");
    }
    (a, b)
}

fn readyz(g: &Gateway) -> (u16, Value) {
    let r = request(g.admin, "GET", "/readyz", &[], None);
    (r.status, r.json())
}

/// Waits until `/readyz` reports the cluster's Redis as `state`.
fn wait_redis(g: &Gateway, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, v) = readyz(g);
        assert_eq!(status, 200, "readiness never depends on Redis: {v}");
        if v["cluster"]["redis"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "redis never {state}: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metric(g: &Gateway, series: &str) -> f64 {
    g.metrics()
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series}"))
}

/// A Help Scout v2 first-name change toward HelpCrunch: HelpCrunch has one `name`, so the
/// gateway reads the customer first (a read-modify-write).
fn first_name(g: &Gateway, id: &str, first: &str) -> crate::support::Response {
    g.json(
        "PATCH",
        &format!("/t/hs2/crunch/v2/customers/{id}"),
        &json!([{"op": "replace", "path": "/firstName", "value": first}]),
    )
}

/// The upstream's log for one customer in arrival order: (method, seq).
fn customer_log(g: &Gateway, id: &str) -> Vec<String> {
    let mut log = g.upstream_requests(CRUNCH, &format!("/customers/{id}"));
    log.sort_by_key(|e| e["seq"].as_u64().unwrap_or(0));
    log.iter()
        .map(|e| e["method"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// How many state reads are not immediately followed by their write (another replica's read
/// or write came in between), and how many reads there were.
fn interleavings(log: &[String]) -> (usize, usize) {
    let reads = log.iter().filter(|m| *m == "GET").count();
    let contiguous = log
        .windows(2)
        .filter(|w| w[0] == "GET" && w[1] != "GET")
        .count();
    (reads - contiguous, reads)
}

/// 100 first-name changes of one customer from 20 threads, alternating replicas.
fn hammer(a: &Gateway, b: &Gateway, id: &str) -> Vec<u16> {
    a.seed(
        CRUNCH,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|t| {
                s.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let n = t * 5 + i;
                            let g = if n % 2 == 0 { a } else { b };
                            first_name(g, id, &format!("N{n}")).status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    })
}

#[test]
fn two_replicas_keep_every_read_modify_write_of_a_customer_contiguous() {
    let redis = Redis::start();
    let (a, b) = replicas(&redis.table(""));
    let statuses = hammer(&a, &b, "81001");
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let log = customer_log(&a, "81001");
    let (interleaved, reads) = interleavings(&log);
    assert_eq!(reads, 100, "one state read per update: {log:?}");
    assert_eq!(log.len(), 200, "one read and one write each: {log:?}");
    assert_eq!(
        interleaved, 0,
        "every read directly followed by its write: {log:?}"
    );
    let stored = a.stored(CRUNCH, "81001").expect("stored");
    assert_eq!(stored["last_name"], json!("Lovelace"), "{stored}");
    // Both replicas took their leases in Redis.
    for g in [&a, &b] {
        assert!(metric(g, "patchbay_cluster_locks_total{result=\"acquired\"}") >= 50.0);
        assert_eq!(metric(g, "patchbay_cluster_redis_up"), 1.0);
    }
}

/// The control: the same run without `[cluster]` interleaves (each replica serialises only its
/// own writes), so the test above detects a missing cluster lock.
#[test]
fn without_cluster_the_replicas_interleave() {
    let (a, b) = replicas("");
    let statuses = hammer(&a, &b, "81002");
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let log = customer_log(&a, "81002");
    let (interleaved, reads) = interleavings(&log);
    assert_eq!(reads, 100);
    assert!(
        interleaved > 0,
        "expected interleaving without Redis: {log:?}"
    );
}

#[test]
fn a_slow_write_keeps_its_lease_by_renewal() {
    let redis = Redis::start();
    // A 600 ms lease, renewed every 200 ms, against a write that takes 1.5 s.
    let (a, b) = replicas(&redis.table("lease_ms = 600\n"));
    a.seed(
        CRUNCH,
        "81003",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    a.fault(
        CRUNCH,
        &json!({"delay_ms": 1500, "matching": "PATCH /v1/customers/81003", "count": 1}),
    );
    std::thread::scope(|s| {
        let slow = s.spawn(|| first_name(&a, "81003", "Slow").status);
        std::thread::sleep(Duration::from_millis(300));
        let waiting = first_name(&b, "81003", "Next").status;
        assert_eq!(slow.join().expect("thread"), 204);
        assert_eq!(waiting, 204);
    });
    let log = customer_log(&a, "81003");
    assert_eq!(
        log,
        ["GET", "PATCH", "GET", "PATCH"],
        "B waited for A's slow write"
    );
    assert_eq!(
        metric(&a, "patchbay_cluster_locks_total{result=\"lost\"}"),
        0.0
    );
    assert_eq!(
        a.stored(CRUNCH, "81003").expect("stored")["first_name"],
        json!("Next")
    );
}

#[test]
fn a_lock_held_elsewhere_beyond_the_timeout_answers_503_in_the_clients_dialect() {
    let redis = Redis::start();
    let (a, _b) = replicas(&redis.table(""));
    a.seed(
        CRUNCH,
        "81004",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    // Another replica's lease (its owner token is not ours), held for 20 s.
    let set = redis.cli(&["SET", "patchbay:lock:crunch:81004", "other", "PX", "20000"]);
    assert_eq!(set.trim(), "OK");
    let started = Instant::now();
    let r = first_name(&a, "81004", "Blocked");
    let waited = started.elapsed();
    dialect_error(HS2, &r, 503);
    assert!(
        waited >= Duration::from_millis(2500) && waited < Duration::from_secs(10),
        "waited the upstream's read timeout (3 s): {waited:?}"
    );
    assert!(
        customer_log(&a, "81004").is_empty(),
        "nothing sent upstream"
    );
    assert!(metric(&a, "patchbay_cluster_locks_total{result=\"timeout\"}") >= 1.0);
    // The other owner's lease is untouched by our attempt.
    assert_eq!(
        redis.cli(&["GET", "patchbay:lock:crunch:81004"]).trim(),
        "other"
    );
}

#[test]
fn the_rate_limit_of_an_upstream_holds_across_replicas() {
    let redis = Redis::start();
    let (a, b) = replicas(&redis.table(""));
    // `limited` allows 2 requests a minute; two replicas share them.
    let get = |g: &Gateway| request(g.port, "GET", "/limited/v1/customers/81005", &[], None);
    assert_ne!(get(&a).status, 429);
    assert_ne!(get(&b).status, 429);
    let r = get(&a);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(get(&b).status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        metric(
            &b,
            "patchbay_upstream_rate_limited_total{upstream=\"limited\"}"
        ),
        1.0
    );
}

#[test]
fn replicas_share_one_upstream_oauth_token() {
    let redis = Redis::start();
    let (a, b) = replicas(&redis.table(""));
    a.seed(
        HS2,
        "81006",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    // Both replicas read through their Help Scout v2 upstream (OAuth), one after the other
    // and then concurrently.
    for g in [&a, &b] {
        let r = request(g.port, "GET", "/t/crunch/hs2/v1/customers/81006", &[], None);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let tokens = a.upstream_requests(HS2, "/oauth2/token");
    assert_eq!(tokens.len(), 1, "one token for the cluster: {tokens:?}");
    assert_eq!(
        metric(&b, "patchbay_cluster_tokens_total{source=\"shared\"}"),
        1.0
    );
    assert_eq!(
        metric(&b, "patchbay_cluster_tokens_total{source=\"fetched\"}"),
        0.0
    );
}

#[test]
fn redis_killed_mid_run_then_restarted() {
    let mut redis = Redis::start();
    let (a, _b) = replicas(&redis.table(""));
    a.seed(
        CRUNCH,
        "81007",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    a.seed(
        CRUNCH,
        "81008",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(first_name(&a, "81007", "Before").status, 204);

    // A stream of read-modify-writes runs while Redis dies and comes back: each is applied
    // (204) or refused (503), none hangs or fails otherwise.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let outcomes = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let status = first_name(&a, "81008", &format!("L{n}")).status;
                seen.push((status, started.elapsed()));
                n += 1;
            }
            seen
        });
        std::thread::sleep(Duration::from_millis(300));
        redis.kill();
        wait_redis(&a, "down");

        // Down: the read-modify-write is refused in the client's dialect; a write that needs
        // no state and a read still flow; readiness holds, with the detail.
        let r = first_name(&a, "81007", "During");
        let err = dialect_error(HS2, &r, 503);
        assert!(err.headline.is_some());
        let both = a.json(
            "PATCH",
            "/t/hs2/crunch/v2/customers/81007",
            &crate::support::names_body(HS2, "Grace", "Hopper"),
        );
        assert_eq!(both.status, 204, "{}", both.text());
        let get = request(
            a.port,
            "GET",
            "/t/crunch/crunch/v1/customers/81007",
            &[],
            None,
        );
        assert_eq!(get.status, 200, "{}", get.text());
        let (status, v) = readyz(&a);
        assert_eq!(status, 200);
        assert_eq!(v["ready"], json!(true));
        assert_eq!(v["cluster"]["fallback"], json!("refuse"));
        assert!(
            v["cluster"]["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{v}"
        );
        assert_eq!(metric(&a, "patchbay_cluster_redis_up"), 0.0);
        assert!(metric(&a, "patchbay_cluster_locks_total{result=\"refused\"}") >= 1.0);

        redis.restart();
        wait_redis(&a, "up");
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        load.join().expect("load thread")
    });
    assert!(
        outcomes
            .iter()
            .all(|(s, t)| (*s == 204 || *s == 503) && *t < Duration::from_secs(5)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|(s, _)| *s == 503),
        "some refused while down"
    );
    assert_eq!(
        outcomes.last().map(|o| o.0),
        Some(204),
        "applied again after the restart"
    );
    assert_eq!(first_name(&a, "81007", "After").status, 204);
    assert_eq!(
        a.stored(CRUNCH, "81007").expect("stored")["first_name"],
        json!("After")
    );
}

#[test]
fn with_fallback_local_writes_continue_on_the_local_lock() {
    let mut redis = Redis::start();
    let (a, _b) = replicas(&redis.table("fallback = \"local\"\n"));
    a.seed(
        CRUNCH,
        "81009",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    redis.kill();
    wait_redis(&a, "down");
    assert_eq!(first_name(&a, "81009", "Local").status, 204);
    assert!(metric(&a, "patchbay_cluster_locks_total{result=\"local\"}") >= 1.0);
    let (_, v) = readyz(&a);
    assert_eq!(v["cluster"]["fallback"], json!("local"));
    // The rate limit falls back to this replica's bucket instead of refusing.
    let r = request(a.port, "GET", "/limited/v1/customers/81009", &[], None);
    assert_ne!(r.status, 429);
    assert!(metric(&a, "patchbay_cluster_fallbacks_total{kind=\"rate_limit\"}") >= 1.0);
}

#[test]
fn a_hung_redis_costs_one_timeout_not_a_hang() {
    let redis = Redis::start();
    let (a, _b) = replicas(&redis.table(""));
    a.seed(
        CRUNCH,
        "81010",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(first_name(&a, "81010", "Before").status, 204);
    redis.pause(true);
    let started = Instant::now();
    let r = first_name(&a, "81010", "Frozen");
    dialect_error(HS2, &r, 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by cluster.timeout_ms (200 ms): {:?}",
        started.elapsed()
    );
    // Marked down now: the next ones do not wait at all, and stateless writes flow.
    let started = Instant::now();
    let both = a.json(
        "PATCH",
        "/t/hs2/crunch/v2/customers/81010",
        &crate::support::names_body(HS2, "Grace", "Hopper"),
    );
    assert_eq!(both.status, 204, "{}", both.text());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(metric(&a, "patchbay_cluster_redis_errors_total{op=\"lock\"}") >= 1.0);
    redis.pause(false);
    wait_redis(&a, "up");
    assert_eq!(first_name(&a, "81010", "After").status, 204);
}

/// `rediss://` with a private CA (`ca_file`) and a password from a file (`requirepass`).
#[test]
fn tls_and_password() {
    let dir = std::env::temp_dir().join(format!("patchbay-redis-tls-{}", free_port()));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = |f: &str| dir.join(f).display().to_string();
    pki::ca(&dir, "ca");
    pki::leaf(&dir, "ca", "srv", "localhost", 1, 2);
    std::fs::write(dir.join("redis-pw"), "redis-test-password\n").expect("pw");
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let redis = Redis::start_with(
        strings(&[
            "--tls-cert-file",
            &d("srv.crt"),
            "--tls-key-file",
            &d("srv.key"),
            "--tls-ca-cert-file",
            &d("ca.crt"),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "redis-test-password",
        ]),
        strings(&[
            "--tls",
            "--cacert",
            &d("ca.crt"),
            "--no-auth-warning",
            "-a",
            "redis-test-password",
        ]),
    );
    let table = format!(
        "\n[cluster]\nredis_url = \"rediss://127.0.0.1:{}\"\nca_file = \"{}\"\npassword_file = \"{}\"\n",
        redis.port,
        d("ca.crt"),
        d("redis-pw")
    );
    let a = Gateway::start_with(|_, t| format!("{t}{table}"));
    wait_redis(&a, "up");
    a.seed(
        CRUNCH,
        "81011",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(first_name(&a, "81011", "Tls").status, 204);
    assert!(metric(&a, "patchbay_cluster_locks_total{result=\"acquired\"}") >= 1.0);
    // The lease went through this Redis (and was released).
    assert_eq!(
        redis.cli(&["EXISTS", "patchbay:lock:crunch:81011"]).trim(),
        "0"
    );
    assert!(!a.metrics().contains("redis-test-password"));
    let config = request(a.admin, "GET", "/config", &[], None).text();
    assert!(!config.contains("redis-test-password"), "{config}");
    // A wrong password: Redis answers, but refuses us, and that is visible.
    let b = Gateway::start_with(|dir, t| {
        std::fs::write(dir.join("wrong-pw"), "nope").expect("pw");
        format!(
            "{t}{}",
            table.replace(&d("redis-pw"), &dir.join("wrong-pw").display().to_string())
        )
    });
    let (_, v) = readyz(&b);
    assert_eq!(v["cluster"]["redis"], json!("down"), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Redis password file is watched like every secret: a rotated password is used by the
/// next connection, without a restart (only the rest of `[cluster]` is static).
#[test]
fn a_rotated_redis_password_applies_without_restart() {
    let redis = Redis::start_with(
        vec!["--requirepass".into(), "first-password".into()],
        vec![
            "--no-auth-warning".into(),
            "-a".into(),
            "first-password".into(),
        ],
    );
    let table = format!(
        "\n[cluster]\nredis_url = \"redis://127.0.0.1:{}\"\ntimeout_ms = 200\npassword_file = \"redis-pw\"\n",
        redis.port
    );
    let a = Gateway::start_with(|dir, t| {
        std::fs::write(dir.join("redis-pw"), "first-password\n").expect("pw");
        format!("{t}{table}")
    });
    wait_redis(&a, "up");
    a.seed(
        CRUNCH,
        "81012",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(first_name(&a, "81012", "One").status, 204);

    // Rotate: Redis takes the new password, old connections are cut, the file changes.
    assert_eq!(
        redis
            .cli(&["CONFIG", "SET", "requirepass", "second-password"])
            .trim(),
        "OK"
    );
    std::fs::write(a.dir.join("redis-pw"), "second-password\n").expect("rotate");
    let second = ["--no-auth-warning", "-a", "second-password"];
    let killed = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(second)
        .args(["CLIENT", "KILL", "TYPE", "normal"])
        .output()
        .expect("redis-cli");
    assert!(killed.status.success());

    // Within the file watcher's poll and a probe, writes succeed again with the new password.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = readyz(&a);
        if v["cluster"]["redis"] == "up" && first_name(&a, "81012", "Two").status == 204 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never back with the new password: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        a.stored(CRUNCH, "81012").expect("stored")["first_name"],
        json!("Two")
    );
    let cfg = request(a.admin, "GET", "/config", &[], None).json();
    assert!(
        cfg["generation"].as_u64().is_some_and(|g| g >= 2),
        "reloaded: {cfg}"
    );
}
