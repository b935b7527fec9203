//! Operations through the real binary: hot reload under load (file rewrite, Kubernetes-style
//! symlink swap, `POST /reload`, `SIGHUP`), static changes refused, the metrics exposition
//! (promtool, the deploy checks, a real Prometheus server scraping it), SIGTERM draining, the
//! access log, and `patchbay check` on every shipped config (SPEC §5, §7, §9, §10).

use crate::support::{config_text, free_port, request, try_request, Gateway, SANDBOX_SECRET};
use crate::support::{CLIENT_TOKEN, OAUTH_SECRET};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// --- helpers -----------------------------------------------------------------------------

/// The value of one sample (`name{labels}` exactly as rendered, or a bare name).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// `patchbay_config_reloads_total` by result: (ok, error, restart_required).
fn reloads(g: &Gateway) -> (u64, u64, u64) {
    let m = g.metrics();
    let n = |r: &str| {
        sample(
            &m,
            &format!("patchbay_config_reloads_total{{result=\"{r}\"}}"),
        )
        .map_or(0, |v| v as u64)
    };
    (n("ok"), n("error"), n("restart_required"))
}

/// The generation `/readyz` reports.
fn generation(g: &Gateway) -> u64 {
    let r = request(g.admin, "GET", "/readyz", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["generation"].as_u64().expect("generation")
}

/// Polls `f` every 25 ms until it holds, for at most `limit`.
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

/// Writes `path` atomically (a new file renamed over it), as editors and config managers do.
fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).expect("write temp config");
    std::fs::rename(&tmp, path).expect("rename config");
}

/// Sends a signal with `kill(1)`.
fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid}");
}

/// Installs a sandbox fault (own helper: independent of other test modules).
fn fault(g: &Gateway, d: DialectId, f: &Value) {
    let body = serde_json::to_vec(f).expect("json");
    let r = request(
        g.backend(d),
        "POST",
        "/__sandbox/faults",
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    assert!(r.status < 300, "fault refused: {} {}", r.status, r.text());
}

fn seed_person(g: &Gateway, d: DialectId, id: &str) {
    g.seed(
        d,
        id,
        &json!({
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"id": 1, "type": "work", "value": "ada@old.example"}],
            "phones": [{"id": 1, "type": "work", "value": "+15550001"}],
        }),
    );
}

fn patch_json(g: &Gateway, path: &str, body: &Value) -> std::io::Result<crate::support::Response> {
    let bytes = serde_json::to_vec(body).expect("json");
    try_request(
        g.port,
        "PATCH",
        path,
        &[("Content-Type", "application/json")],
        Some(&bytes),
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A child process killed (by its own id) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// --- 1. reload under load --------------------------------------------------------------------

/// The two routing variants the reload test flips between. Both keep every static key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// `flip` under `/flipA` (reject), `stable` rejects unmappable fields.
    A,
    /// `flip` under `/flipB` (drop), `stable` drops unmappable fields.
    B,
}

fn variant_extra(v: Variant) -> String {
    let (prefix, policy) = match v {
        Variant::A => ("/flipA", "reject"),
        Variant::B => ("/flipB", "drop"),
    };
    format!(
        r#"
[[route]]
name = "flip"
client_dialect = "helpcrunch"
path_prefix = "{prefix}"
upstream = "reach"
unmappable = "{policy}"

[[route]]
name = "stable"
client_dialect = "helpcrunch"
path_prefix = "/stable"
upstream = "reach"
unmappable = "{policy}"
"#
    )
}

/// Invalid files, each refused for a different reason.
fn invalid_text(base: &str, dir: &Path, n: usize) -> String {
    match n % 4 {
        0 => format!("{base}\n[[route]\nname = \"broken\"\n"),
        1 => base.replacen("[server]\n", "[server]\nno_such_key = 1\n", 1),
        2 => format!(
            "{base}\n[[route]]\nname = \"orphan\"\nclient_dialect = \"reach\"\npath_prefix = \"/orphan\"\nupstream = \"nope\"\n"
        ),
        _ => format!(
            "{base}\n[[upstream]]\nname = \"ghost\"\ndialect = \"reach\"\nurl = \"http://127.0.0.1:1\"\nauth = {{ bearer_file = \"{}/missing-secret\" }}\n",
            dir.display()
        ),
    }
}

/// The statuses the three probe requests must get under a variant: GET /flipA, PATCH /flipB,
/// PATCH /stable (with a field reach cannot hold).
fn expected(v: Variant) -> [u16; 3] {
    match v {
        Variant::A => [200, 404, 400],
        Variant::B => [404, 200, 200],
    }
}

#[test]
fn reload_100_times_under_load_with_zero_failed_requests() {
    let g = Gateway::start();
    let ports = g.ports();
    let dir = g.dir.clone();
    let text_of = |v: Variant| config_text(&ports, &dir, &variant_extra(v));
    // Start from variant A (the generated file has neither route yet: one reload first).
    write_atomic(&g.config, &text_of(Variant::A));
    let r = request(g.admin, "POST", "/reload", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    // The watcher sees the rewrite too; wait for both, then count from there.
    assert!(
        wait_for(Duration::from_secs(10), || reloads(&g).0 == 2),
        "initial reloads: {:?}",
        reloads(&g)
    );
    let (mut ok, mut err, restart0) = reloads(&g);
    assert_eq!((err, restart0), (0, 0));
    for (id, d) in [("7101", DialectId::Reach), ("7102", DialectId::Reach)] {
        seed_person(&g, d, id);
    }
    seed_person(&g, DialectId::Reach, "7103");

    // variants[n]: the variant in force after n changes.
    let variants = Arc::new(Mutex::new(vec![Variant::A]));
    let started = Arc::new(AtomicUsize::new(0));
    let settled = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let port = g.port;

    let clients: Vec<_> = (0..2)
        .map(|t| {
            let (variants, started, settled, stop, sent, failures) = (
                variants.clone(),
                started.clone(),
                settled.clone(),
                stop.clone(),
                sent.clone(),
                failures.clone(),
            );
            std::thread::spawn(move || {
                let body = serde_json::to_vec(&json!({"name": "Ada Lovelace", "notes": "n"}))
                    .expect("json");
                let ct = [("Content-Type", "application/json")];
                let deadline = Instant::now() + Duration::from_secs(240);
                let mut i = 0usize;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let which = (i + t) % 3;
                    i += 1;
                    let from = settled.load(Ordering::SeqCst);
                    let r = match which {
                        0 => try_request(port, "GET", "/flipA/v1/customers/7101", &[], None),
                        1 => try_request(
                            port,
                            "PATCH",
                            "/flipB/v1/customers/7102",
                            &ct,
                            Some(&body),
                        ),
                        _ => try_request(
                            port,
                            "PATCH",
                            "/stable/v1/customers/7103",
                            &ct,
                            Some(&body),
                        ),
                    };
                    let to = started.load(Ordering::SeqCst);
                    sent.fetch_add(1, Ordering::SeqCst);
                    // Steady load, but leave CPU for the other tests of this binary.
                    std::thread::sleep(Duration::from_millis(3));
                    let allowed: Vec<u16> = {
                        let v = variants.lock().expect("variants");
                        (from..=to.min(v.len() - 1))
                            .map(|n| expected(v[n])[which])
                            .collect()
                    };
                    match r {
                        Ok(r) if allowed.contains(&r.status) => {}
                        Ok(r) => failures.lock().expect("failures").push(format!(
                            "request kind {which} between changes {from}..={to}: status {} (allowed {allowed:?}): {}",
                            r.status,
                            r.text()
                        )),
                        Err(e) => failures
                            .lock()
                            .expect("failures")
                            .push(format!("request kind {which}: I/O error {e}")),
                    }
                }
            })
        })
        .collect();

    // Kubernetes layout, entered at change 40: gateway.toml -> ..data/gateway.toml,
    // ..data -> ..2026_NN (swapped by renaming a new link over it).
    let data = dir.join("..data");
    let mut current = Variant::A;
    let mut last_dir: Option<PathBuf> = None;
    let (mut posts, mut hups, mut swaps) = (0, 0, 0);
    const CHANGES: usize = 100;
    for i in 0..CHANGES {
        let valid = i % 2 == 1 || i == 0;
        let next = if valid {
            match current {
                Variant::A => Variant::B,
                Variant::B => Variant::A,
            }
        } else {
            current
        };
        let text = if valid {
            text_of(next)
        } else {
            invalid_text(&text_of(current), &dir, i / 2)
        };
        variants.lock().expect("variants").push(next);
        started.store(i + 1, Ordering::SeqCst);
        if i < 40 {
            write_atomic(&g.config, &text);
        } else {
            let version = dir.join(format!("..2026_01_01_00_00_{i:02}"));
            std::fs::create_dir(&version).expect("version dir");
            std::fs::write(version.join("gateway.toml"), &text).expect("versioned config");
            let tmp_link = dir.join("..data_tmp");
            std::os::unix::fs::symlink(version.file_name().expect("name"), &tmp_link)
                .expect("symlink");
            std::fs::rename(&tmp_link, &data).expect("swap ..data");
            if i == 40 {
                let link = dir.join("gateway.toml.link");
                std::os::unix::fs::symlink("..data/gateway.toml", &link).expect("symlink");
                std::fs::rename(&link, &g.config).expect("config becomes a symlink");
            }
            swaps += 1;
        }
        // The watcher reloads every change once; some changes get one more reload, through
        // the admin API or SIGHUP, of the same (complete) file.
        let mut attempts = 1;
        match i % 5 {
            1 => {
                let r = request(g.admin, "POST", "/reload", &[], None);
                let want = if valid { 200 } else { 422 };
                assert_eq!(r.status, want, "change {i}: POST /reload: {}", r.text());
                posts += 1;
                attempts += 1;
            }
            3 => {
                signal(g.pid(), "HUP");
                hups += 1;
                attempts += 1;
            }
            _ => {}
        }
        if valid {
            ok += attempts;
        } else {
            err += attempts;
        }
        let seen = wait_for(Duration::from_secs(15), || {
            let r = reloads(&g);
            r.0 >= ok && r.1 >= err
        });
        let now = reloads(&g);
        assert!(
            seen && now == (ok, err, 0),
            "change {i} ({}): reloads (ok, error, restart_required) {now:?}, expected ({ok}, {err}, 0)",
            if valid { "valid" } else { "invalid" },
        );
        assert_eq!(generation(&g), 1 + ok, "change {i}: generation");
        settled.store(i + 1, Ordering::SeqCst);
        current = next;
        // As the kubelet does: the previous version's directory goes once the swap is done.
        if i >= 40 {
            let version = dir.join(format!("..2026_01_01_00_00_{i:02}"));
            if let Some(old) = last_dir.replace(version) {
                std::fs::remove_dir_all(old).expect("remove old version");
            }
        }
    }
    // Let the clients run a moment under the final configuration, then stop them.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    let sent = sent.load(Ordering::SeqCst);
    let failures = failures.lock().expect("failures").clone();
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent >= 100, "only {sent} requests were sent");

    // Exact totals: 2 initial + 51 valid changes + their extra reloads.
    let m = g.metrics();
    assert_eq!(
        sample(&m, "patchbay_config_reloads_total{result=\"ok\"}"),
        Some(ok as f64)
    );
    assert_eq!(
        sample(&m, "patchbay_config_reloads_total{result=\"error\"}"),
        Some(err as f64)
    );
    assert_eq!(
        sample(
            &m,
            "patchbay_config_reloads_total{result=\"restart_required\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&m, "patchbay_config_generation"),
        Some((1 + ok) as f64)
    );
    assert_eq!(
        (ok, err),
        (2 + 51 + 10 + 10, 49 + 10 + 10),
        "test arithmetic"
    );
    assert_eq!((posts, hups, swaps), (20, 20, 60));

    // Routing follows the file after the last swap: variant B.
    assert_eq!(current, Variant::B);
    let cfg = request(g.admin, "GET", "/config", &[], None).json();
    assert_eq!(cfg["generation"], 1 + ok);
    let cfg_text = cfg.to_string();
    assert!(cfg_text.contains("/flipB") && !cfg_text.contains("/flipA"));
    let r = g.send("GET", "/flipA/v1/customers/7101", &[], None);
    assert_eq!(r.status, 404, "{}", r.text());
    let r = patch_json(
        &g,
        "/stable/v1/customers/7103",
        &json!({"name": "Ada Byron", "notes": "x"}),
    )
    .expect("request");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("patchbay-dropped-fields").is_some(),
        "{:?}",
        r.headers
    );
    eprintln!(
        "reload under load: {CHANGES} changes ({swaps} symlink swaps, {posts} POST /reload, {hups} SIGHUP), {ok} ok + {err} error reloads, {sent} requests, 0 failed"
    );
}

// --- 2. static change refused ----------------------------------------------------------------

#[test]
fn changing_the_listen_address_is_refused_and_old_config_keeps_serving() {
    let g = Gateway::start();
    let mut ports = g.ports();
    let old_port = ports.port;
    ports.port = free_port();
    write_atomic(&g.config, &config_text(&ports, &g.dir, ""));
    assert!(
        wait_for(Duration::from_secs(10), || reloads(&g).2 == 1),
        "watcher did not count restart_required: {:?}",
        reloads(&g)
    );
    let r = request(g.admin, "POST", "/reload", &[], None);
    assert_eq!(r.status, 409, "{}", r.text());
    let v = r.json();
    assert_eq!(v["result"], "restart_required");
    assert_eq!(v["keys"], json!(["server.listen"]), "{v}");
    assert_eq!(reloads(&g), (0, 0, 2));
    assert_eq!(generation(&g), 1);
    assert_eq!(
        sample(&g.metrics(), "patchbay_config_generation"),
        Some(1.0)
    );
    let cfg = request(g.admin, "GET", "/config", &[], None)
        .json()
        .to_string();
    assert!(cfg.contains(&format!("127.0.0.1:{old_port}")), "{cfg}");
    // The old listener keeps serving; nothing listens on the new one.
    seed_person(&g, DialectId::Reach, "7201");
    let r = patch_json(
        &g,
        "/t/crunch/reach/v1/customers/7201",
        &json!({"name": "Grace Hopper"}),
    )
    .expect("old listener");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(try_request(ports.port, "GET", "/", &[], None).is_err());
}

// --- 2b. what a dashboard sees before any request, and the config gauges -------------------

#[test]
fn every_configured_series_exists_from_the_first_scrape_and_config_gauges_stay_set() {
    let g = Gateway::start();
    // No request yet: the configured routes and upstreams are there, at zero.
    let m = g.metrics();
    for series in [
        r#"patchbay_requests_total{client_dialect="helpcrunch",outcome="ok",route="t-helpcrunch-reach",status="200",upstream_dialect="reach"}"#,
        r#"patchbay_requests_total{client_dialect="helpscout-v2",outcome="ok",route="t-helpscout-v2-helpcrunch",status="204",upstream_dialect="helpcrunch"}"#,
        r#"patchbay_request_duration_seconds_count{route="t-reach-helpscout-v1"}"#,
        r#"patchbay_translate_duration_seconds_count{from="helpscout-v1",to="helpscout-v2"}"#,
        r#"patchbay_upstream_duration_seconds_count{kind="write",upstream="crunch"}"#,
        r#"patchbay_upstream_rate_limited_total{upstream="limited"}"#,
        "patchbay_config_restart_pending",
    ] {
        assert_eq!(sample(&m, series), Some(0.0), "{series} in:\n{m}");
    }
    // Same-dialect routes translate nothing: no translation series for them.
    assert!(!m.contains(r#"from="reach",to="reach""#), "{m}");
    assert_eq!(sample(&m, "patchbay_config_last_reload_success"), Some(1.0));
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        m.lines().any(|l| l.starts_with("patchbay_build_info{")
            && l.contains(&format!("version=\"{version}\""))
            && l.ends_with(" 1")),
        "{m}"
    );
    // CPU seconds may still round to 0 this early; the others cannot be 0 in a live process.
    assert!(sample(&m, "process_cpu_seconds_total").is_some(), "{m}");
    for family in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(
            sample(&m, family).is_some_and(|v| v > 0.0),
            "{family}:\n{m}"
        );
    }

    // A refused file keeps the gauge at 0 for as long as it is in place…
    let good = std::fs::read_to_string(&g.config).expect("config");
    write_atomic(&g.config, &invalid_text(&good, &g.dir, 1));
    assert!(
        wait_for(Duration::from_secs(10), || reloads(&g).1 >= 1),
        "refusal not counted: {:?}",
        reloads(&g)
    );
    let r = request(g.admin, "POST", "/reload", &[], None);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        sample(&g.metrics(), "patchbay_config_last_reload_success"),
        Some(0.0)
    );
    // …and a valid one sets it back.
    write_atomic(&g.config, &format!("{good}\n# touched\n"));
    assert!(
        wait_for(Duration::from_secs(10), || sample(
            &g.metrics(),
            "patchbay_config_last_reload_success"
        ) == Some(1.0)),
        "{}",
        g.metrics()
    );

    // A static change is pending until the file agrees with the running listeners again.
    let mut ports = g.ports();
    ports.port = free_port();
    write_atomic(&g.config, &config_text(&ports, &g.dir, ""));
    assert!(
        wait_for(Duration::from_secs(10), || sample(
            &g.metrics(),
            "patchbay_config_restart_pending"
        ) == Some(1.0)),
        "{}",
        g.metrics()
    );
    write_atomic(&g.config, &good);
    assert!(
        wait_for(Duration::from_secs(10), || sample(
            &g.metrics(),
            "patchbay_config_restart_pending"
        ) == Some(0.0)),
        "{}",
        g.metrics()
    );
}

// --- 3. promtool and the deploy checks on a live scrape ------------------------------------

/// Traffic that touches every metric family; returns the scrape afterwards.
fn traffic_for_every_family(g: &Gateway) -> String {
    seed_person(g, DialectId::Reach, "7301");
    seed_person(g, DialectId::HelpscoutV2, "7302");
    // A translated request.
    let r = patch_json(
        g,
        "/t/crunch/reach/v1/customers/7301",
        &json!({"name": "Grace Hopper"}),
    )
    .expect("translated");
    assert_eq!(r.status, 200, "{}", r.text());
    // A dropped field.
    let r = patch_json(
        g,
        "/d/crunch/reach/v1/customers/7301",
        &json!({"name": "Grace Hopper", "notes": "dropped"}),
    )
    .expect("drop");
    assert_eq!(r.status, 200, "{}", r.text());
    // A validation error.
    let r = patch_json(
        g,
        "/t/crunch/reach/v1/customers/7301",
        &json!({"email": "not an email"}),
    )
    .expect("invalid");
    assert_eq!(r.status, 400, "{}", r.text());
    // A state read: a single-slot email toward a multi-entry upstream.
    let r = patch_json(
        g,
        "/t/reach/hs2/api/resources/customers/7302",
        &json!({"data": {"email": "grace@new.example"}}),
    )
    .expect("state read");
    assert_eq!(r.status, 200, "{}", r.text());
    // The gateway's own rate limit (2 per minute on `limited`).
    seed_person(g, DialectId::Reach, "7303");
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            patch_json(
                g,
                "/limited/v1/customers/7303",
                &json!({"name": "Ada King"}),
            )
            .expect("limited")
            .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    // A good and a bad reload.
    let r = request(g.admin, "POST", "/reload", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let good = std::fs::read_to_string(&g.config).expect("config");
    write_atomic(&g.config, "[server]\nlisten = 5\n");
    let r = request(g.admin, "POST", "/reload", &[], None);
    assert_eq!(r.status, 422, "{}", r.text());
    write_atomic(&g.config, &good);
    let m = g.metrics();
    for family in [
        "patchbay_requests_total{",
        "patchbay_request_duration_seconds_bucket{",
        "patchbay_translate_duration_seconds_bucket{",
        "patchbay_upstream_duration_seconds_bucket{",
        "patchbay_validation_errors_total{",
        "patchbay_dropped_fields_total{",
        "patchbay_state_reads_total{",
        "patchbay_config_reloads_total{result=\"ok\"} ",
        "patchbay_config_reloads_total{result=\"error\"} ",
        "patchbay_config_generation ",
        "patchbay_inflight_requests ",
        "patchbay_upstream_rate_limited_total{upstream=\"limited\"} 1",
    ] {
        assert!(m.contains(family), "no {family} in the scrape:\n{m}");
    }
    m
}

#[test]
fn promtool_and_deploy_checks_accept_the_live_scrape() {
    let g = Gateway::start();
    let scrape = traffic_for_every_family(&g);
    let file = g.dir.join("scrape.txt");
    std::fs::write(&file, &scrape).expect("write scrape");

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (make test installs Debian's prometheus package)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(scrape.as_bytes()).expect("feed promtool");
    }
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}",
        out.status,
        text(&out)
    );

    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/check-deploy.sh"))
        .arg("--no-install")
        .arg("--metrics")
        .arg(&file)
        .env("PATCHBAY_BIN", env!("CARGO_BIN_EXE_patchbay"))
        .stdin(Stdio::null())
        .output()
        .expect("run check-deploy.sh");
    let t = text(&out);
    assert!(out.status.success(), "check-deploy.sh failed:\n{t}");
    assert!(t.contains(", 0 failed"), "{t}");
}

// --- 4. a real Prometheus server scrapes the gateway ---------------------------------------

#[test]
fn prometheus_server_scrapes_requests_total_with_its_labels() {
    let g = Gateway::start();
    let prom_port = free_port();
    let tmp = g.dir.join("prometheus");
    std::fs::create_dir_all(tmp.join("data")).expect("prometheus dir");
    let yml = tmp.join("prometheus.yml");
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: patchbay\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: [\"127.0.0.1:{}\"]\n",
            g.admin
        ),
    )
    .expect("prometheus.yml");
    let log = std::fs::File::create(tmp.join("prometheus.log")).expect("log");
    let prom = KillOnDrop(
        Command::new("prometheus")
            .arg(format!("--config.file={}", yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (make test installs Debian's prometheus package)"),
    );

    seed_person(&g, DialectId::Reach, "7401");
    let r = patch_json(
        &g,
        "/t/crunch/reach/v1/customers/7401",
        &json!({"name": "Grace Hopper"}),
    )
    .expect("request");
    assert_eq!(r.status, 200, "{}", r.text());

    let want = json!({
        "__name__": "patchbay_requests_total",
        "route": "t-helpcrunch-reach",
        "client_dialect": "helpcrunch",
        "upstream_dialect": "reach",
        "outcome": "ok",
        "status": "200",
    });
    let mut last = String::new();
    let found = wait_for(Duration::from_secs(45), || {
        let Ok(r) = try_request(
            prom_port,
            "GET",
            "/api/v1/query?query=patchbay_requests_total",
            &[],
            None,
        ) else {
            return false;
        };
        last = r.text();
        let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
            return false;
        };
        v["data"]["result"].as_array().is_some_and(|rs| {
            rs.iter().any(|s| {
                let m = &s["metric"];
                want.as_object()
                    .is_some_and(|w| w.iter().all(|(k, val)| &m[k] == val))
                    && s["value"][1].as_str().is_some_and(|x| x != "0")
            })
        })
    });
    let plog = std::fs::read_to_string(tmp.join("prometheus.log")).unwrap_or_default();
    drop(prom);
    assert!(
        found,
        "no sample {want} within 45 s; last answer: {last}\nprometheus log:\n{plog}"
    );
}

// --- 5. SIGTERM drains in-flight requests ---------------------------------------------------

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut g = Gateway::start();
    const N: usize = 4;
    let ids: Vec<String> = (0..N).map(|i| format!("75{i:02}")).collect();
    for id in &ids {
        seed_person(&g, DialectId::Reach, id);
    }
    fault(&g, DialectId::Reach, &json!({"delay_ms": 1500}));
    let port = g.port;
    let threads: Vec<_> = ids
        .iter()
        .map(|id| {
            let path = format!("/t/crunch/reach/v1/customers/{id}");
            std::thread::spawn(move || {
                let body = serde_json::to_vec(&json!({"name": "Grace Hopper"})).expect("json");
                let t = Instant::now();
                let r = try_request(
                    port,
                    "PATCH",
                    &path,
                    &[("Content-Type", "application/json")],
                    Some(&body),
                );
                (r, t.elapsed())
            })
        })
        .collect();
    // Every request has reached the (slow) upstream before the signal.
    assert!(
        wait_for(Duration::from_secs(10), || {
            ids.iter()
                .all(|id| g.upstream_requests(DialectId::Reach, id).len() == 1)
        }),
        "requests did not reach the upstream"
    );
    let t = Instant::now();
    signal(g.pid(), "TERM");
    let mut failed = Vec::new();
    for (id, th) in ids.iter().zip(threads) {
        match th.join().expect("client thread") {
            (Ok(r), took) if r.status == 200 => {
                assert!(took >= Duration::from_millis(1400), "{id}: {took:?}");
            }
            (Ok(r), _) => failed.push(format!("{id}: status {} {}", r.status, r.text())),
            (Err(e), _) => failed.push(format!("{id}: {e}")),
        }
    }
    // Drain budget: Pingora grace period + runtime shutdown timeout (src/server.rs), the same
    // DRAIN_SECS the deploy checks hold the manifests to.
    let exit = g.wait_exit(Duration::from_secs(35));
    let took = t.elapsed();
    assert!(
        failed.is_empty(),
        "{} of {N} in-flight requests failed after SIGTERM: {failed:?}",
        failed.len()
    );
    let status = exit.unwrap_or_else(|| panic!("gateway still running {took:?} after SIGTERM"));
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(31), "exit took {took:?}");
    eprintln!("SIGTERM: {N} in-flight requests answered 200, exit after {took:?}");
}

// --- 6. access log -------------------------------------------------------------------------

#[test]
fn access_log_has_one_json_line_per_request_without_bodies_or_secrets() {
    let g = Gateway::start();
    g.seed(
        DialectId::Helpcrunch,
        "7601",
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let lines_before = std::fs::read_to_string(&g.stdout)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(lines_before, 0);
    // Authenticated (client token), translated (helpscout-v2 → helpcrunch).
    let secret_value = "Zebulon-Quixote-7781";
    let body = serde_json::to_vec(&json!([
        {"op": "replace", "path": "/firstName", "value": secret_value},
    ]))
    .expect("json");
    let auth = format!("Bearer {CLIENT_TOKEN}");
    let r = g.send(
        "PATCH",
        "/auth/hs2/v2/customers/7601",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // A dropped field too, to see the list filled.
    seed_person(&g, DialectId::Reach, "7602");
    let r = patch_json(
        &g,
        "/d/crunch/reach/v1/customers/7602",
        &json!({"name": "Grace Hopper", "notes": "private notes 9931"}),
    )
    .expect("drop");
    assert_eq!(r.status, 200, "{}", r.text());

    let mut lines = Vec::new();
    let complete = wait_for(Duration::from_secs(5), || {
        lines = std::fs::read_to_string(&g.stdout)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        lines.len() >= 2
    });
    assert!(complete, "access log: {lines:?}");
    assert_eq!(lines.len(), 2, "one line per request: {lines:?}");
    let entries: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let a = &entries[0];
    assert_eq!(a["route"], "auth-hs2", "{a}");
    assert_eq!(a["client_dialect"], "helpscout-v2");
    assert_eq!(a["upstream_dialect"], "helpcrunch");
    assert_eq!(a["status"], 204);
    assert_eq!(a["outcome"], "ok");
    assert!(a["duration_ms"].as_f64().is_some_and(|d| d > 0.0), "{a}");
    assert_eq!(a["dropped_fields"], json!([]));
    let b = &entries[1];
    assert_eq!(b["route"], "d-helpcrunch-reach", "{b}");
    assert_eq!(b["client_dialect"], "helpcrunch");
    assert_eq!(b["upstream_dialect"], "reach");
    assert_eq!(b["status"], 200);
    assert_eq!(b["outcome"], "ok");
    assert!(b["duration_ms"].as_f64().is_some(), "{b}");
    assert_eq!(b["dropped_fields"], json!(["notes"]), "{b}");

    let stdout = std::fs::read_to_string(&g.stdout).expect("stdout");
    let stderr = std::fs::read_to_string(&g.stderr).expect("stderr");
    for (what, needle) in [
        ("request body", secret_value),
        ("request body", "private notes 9931"),
        ("sandbox secret", SANDBOX_SECRET),
        ("client token", CLIENT_TOKEN),
        ("oauth secret", OAUTH_SECRET),
    ] {
        assert!(
            !stdout.contains(needle),
            "{what} in the access log:\n{stdout}"
        );
        assert!(
            !stderr.contains(needle),
            "{what} in the diagnostic log:\n{stderr}"
        );
    }
}

// --- 7. `patchbay check` on every shipped config --------------------------------------------

/// Every `*.toml` under `dir` (recursively).
fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Secret files and variables a config names (`*_file`, `*_env`, also in arrays).
fn secret_refs(v: &toml::Value, key: &str, files: &mut Vec<String>, envs: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                secret_refs(x, k, files, envs);
            }
        }
        toml::Value::Array(a) => {
            for x in a {
                secret_refs(x, key, files, envs);
            }
        }
        toml::Value::String(s) if key.ends_with("_file") => files.push(s.clone()),
        toml::Value::String(s) if key.ends_with("_env") => envs.push(s.clone()),
        _ => {}
    }
}

fn patchbay_check(file: &Path, envs: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchbay"));
    cmd.arg("check").arg(file).stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run patchbay check")
}

#[test]
fn patchbay_check_no_secrets_validates_production_files_and_reports_line_and_column() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prod = root.join("deploy/gateway.toml");
    // Without the production secrets (no variable set, no secret file on this machine)…
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["check", "--no-secrets"])
        .arg(&prod)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("run patchbay check");
    assert!(out.status.success(), "{}", text(&out));
    // …the report goes to stderr, and says the secrets were not read.
    assert!(out.stdout.is_empty(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ok (0 warnings, secrets not read)"),
        "{}",
        text(&out)
    );
    // The same file with its secrets read fails here: the check above is not a no-op.
    let out = patchbay_check(&prod, &[]);
    assert!(!out.status.success(), "{}", text(&out));

    // Every problem carries file:line:col and its key path; bad references are still refused.
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(&prod).expect("deploy/gateway.toml");
    let bad = good
        .replacen("[server]\n", "[server]\nno_such_key = 1\n", 1)
        .replacen(
            "auth = { bearer_file = \"",
            "auth = { bearer_env = \"HELPCRUNCH_KEY\", bearer_file = \"",
            1,
        );
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, &bad).expect("bad file");
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["check", "--no-secrets"])
        .arg(&file)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("run patchbay check");
    let t = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{t}");
    let line_of = |needle: &str| {
        bad.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("needle in file")
    };
    let expect = format!(
        "{}:{}:1: error: server.no_such_key: unknown key",
        file.display(),
        line_of("no_such_key")
    );
    assert!(t.contains(&expect), "{expect}\nnot in:\n{t}");
    let both = t
        .lines()
        .find(|l| l.contains("(found: bearer_env, bearer_file)"))
        .unwrap_or_else(|| panic!("two secret sources not refused:\n{t}"));
    assert!(
        both.starts_with(&format!("{}:{}:", file.display(), line_of("bearer_file"))),
        "{both}"
    );
}

#[test]
fn patchbay_check_accepts_every_shipped_config_and_names_bad_keys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    toml_files(&root.join("deploy"), &mut files);
    toml_files(&root.join("bench"), &mut files);
    files.retain(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| t.contains("[[route]]") || t.contains("[server]"))
    });
    for must in ["deploy/gateway.toml", "bench/gateway.toml"] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} not found among {files:?}"
        );
    }
    let mut checked = 0;
    for (n, f) in files.iter().enumerate() {
        let src = std::fs::read_to_string(f).expect("read config");
        let parsed: toml::Value = toml::from_str(&src).expect("TOML");
        let (mut secret_files, mut envs) = (Vec::new(), Vec::new());
        secret_refs(&parsed, "", &mut secret_files, &mut envs);
        // Production secrets live on their machines: point every secret file at a fresh one
        // here, and give every variable a value.
        let mut copy = src.clone();
        for (i, s) in secret_files.iter().enumerate() {
            let local = tmp.path().join(format!("secret-{n}-{i}"));
            std::fs::write(
                &local,
                format!("generated-secret-{n}-{i}-0123456789abcdef\n"),
            )
            .expect("secret");
            copy = copy.replace(&format!("\"{s}\""), &format!("\"{}\"", local.display()));
        }
        let target = tmp.path().join(format!("config-{n}.toml"));
        std::fs::write(&target, &copy).expect("copy");
        let env_values: Vec<(String, String)> = envs
            .iter()
            .map(|e| (e.clone(), format!("generated-{e}-0123456789abcdef")))
            .collect();
        let out = patchbay_check(&target, &env_values);
        assert!(
            out.status.success(),
            "patchbay check {}: {}\n{}",
            f.display(),
            out.status,
            text(&out)
        );
        checked += 1;
    }
    // The root gateway.toml, as `make run` uses it (relative secret files beside it).
    let out = patchbay_check(&root.join("gateway.toml"), &[]);
    assert!(out.status.success(), "gateway.toml: {}", text(&out));
    checked += 1;

    // A bad file: every problem, each with its key path, and a non-zero exit.
    let good = std::fs::read_to_string(root.join("gateway.toml")).expect("gateway.toml");
    let bad = good
        .replacen("max_body_bytes = 65536", "max_body_bytes = 100000", 1)
        .replacen("upstream = \"crunch\"", "upstream = \"crnch\"", 1)
        .replacen("[server]\n", "[server]\nno_such_key = 1\n", 1);
    // Its relative secret files stay where they are: make them absolute in the copy.
    let bad = bad.replace("\"sandbox/", &format!("\"{}/sandbox/", root.display()));
    let bad_file = tmp.path().join("bad.toml");
    std::fs::write(&bad_file, &bad).expect("bad file");
    let out = patchbay_check(&bad_file, &[]);
    let t = text(&out);
    assert!(!out.status.success(), "bad file accepted:\n{t}");
    for key in [
        "server.max_body_bytes",
        "server.no_such_key",
        "route[0].upstream",
    ] {
        assert!(t.contains(key), "{key} not named in:\n{t}");
    }
    assert!(checked >= 4, "checked only {checked} configs");
    eprintln!("patchbay check: {checked} shipped configs accepted, bad file refused");
}
