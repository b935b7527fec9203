//! Config loading, validation fixtures, snapshot helpers and reload.

use super::*;
use crate::dialect::DialectId;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Set `PATCHBAY_BLESS=1` to (re)write the `.expected` files from the current output.
fn bless() -> bool {
    std::env::var_os("PATCHBAY_BLESS").is_some()
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = manifest().join("tests/fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn every_invalid_fixture_reports_exactly_its_expected_lines() {
    let files = fixtures("config-invalid");
    assert!(files.len() >= 12, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for f in files {
        let expected_path = f.with_extension("expected");
        let got = match load(&f, 1) {
            Ok(_) => "<accepted>\n".to_string(),
            Err(e) => format!("{e}\n"),
        };
        if bless() {
            std::fs::write(&expected_path, &got).expect("bless");
            continue;
        }
        let want = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if got != want {
            failures.push(format!(
                "{}\n--- expected\n{want}--- got\n{got}",
                f.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_valid_fixture_loads_with_its_expected_warnings() {
    let files = fixtures("config-valid");
    assert!(!files.is_empty());
    for f in files {
        let loaded = load(&f, 1).unwrap_or_else(|e| panic!("{}:\n{e}", f.display()));
        let got = lines(&loaded.warnings);
        let wpath = f.with_extension("warnings");
        if bless() {
            std::fs::write(&wpath, &got).expect("bless");
            continue;
        }
        let want = std::fs::read_to_string(&wpath).unwrap_or_default();
        assert_eq!(got, want, "{}", f.display());
    }
}

#[test]
fn the_reference_gateway_toml_is_valid() {
    let path = manifest().join("gateway.toml");
    let loaded = load(&path, 1).unwrap_or_else(|e| panic!("gateway.toml:\n{e}"));
    let s = &loaded.snapshot;
    // The only remark is the documented reach → numeric-id caveat.
    assert_eq!(
        lines(&loaded.warnings),
        "route[2].client_dialect: reach clients use string external ids but helpscout-v2 needs \
         positive integer customer ids: requests for other ids will be rejected\n"
    );
    assert_eq!(s.upstreams.len(), 4);
    let kinds: Vec<(&str, DialectId, &str)> = s
        .upstreams
        .iter()
        .map(|u| (u.name.as_str(), u.dialect, u.auth.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("hs2", DialectId::HelpscoutV2, "oauth"),
            ("hs1", DialectId::HelpscoutV1, "basic_key"),
            ("crunch", DialectId::Helpcrunch, "bearer"),
            ("reach", DialectId::Reach, "bearer"),
        ]
    );
    let sandbox = s.sandbox.as_ref().expect("sandbox enabled");
    for u in &s.upstreams {
        assert_eq!(
            u.address(),
            sandbox.addr(u.dialect).to_string(),
            "{}",
            u.name
        );
    }
    match &s.upstream("hs2").expect("hs2").auth {
        UpstreamAuth::OAuth { client_id, .. } => assert_eq!(client_id, "patchbay-sandbox"),
        other => panic!("hs2 auth {other:?}"),
    }
    assert_eq!(s.server.token_keys.len(), 1);
    assert_eq!(s.server.token_keys[0].id, DEFAULT_TOKEN_KEY_ID);
    let guarded: Vec<&str> = s
        .routes
        .iter()
        .filter(|r| !r.clients.is_open())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(guarded, ["hs2-to-crunch"]);
    let (report, ok) = check_file(&path);
    assert!(ok, "{report}");
}

/// The one route most cases need, toward `BASE`'s upstream.
pub(super) const ROUTE: &str = "[[route]]\nname = \"r\"\nupstream = \"crunch\"\n";

/// A server and one HelpCrunch upstream, no route: cases append what they test.
pub(super) const BASE: &str = r#"
[server]
listen = "127.0.0.1:18080"
admin = "127.0.0.1:18090"

[[upstream]]
name = "crunch"
dialect = "helpcrunch"
url = "https://api.example.com:8443/base/"
auth = { bearer_file = "s" }
"#;

fn dir_with_secret() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s"), "the-secret-value\n").expect("write");
    dir
}

fn snapshot(extra: &str) -> Snapshot {
    let dir = dir_with_secret();
    match load_str(&format!("{BASE}{extra}"), dir.path(), 1) {
        Ok(l) => l.snapshot,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn defaults_and_url_parts() {
    let s = snapshot(ROUTE);
    assert_eq!(s.server.threads, 1);
    assert_eq!(s.server.max_body_bytes, MAX_BODY_BYTES_CAP);
    assert_eq!(s.server.log_level, log::LevelFilter::Info);
    assert!(s.server.access_log);
    assert_eq!(s.server.token_ttl_secs, 7200);
    assert!(s.sandbox.is_none());
    let u = &s.upstreams[0];
    assert_eq!(
        (
            u.tls,
            u.host.as_str(),
            u.port,
            u.base_path.as_str(),
            u.sni.as_str()
        ),
        (true, "api.example.com", 8443, "/base", "api.example.com")
    );
    assert_eq!(u.path("/v1/customers/1"), "/base/v1/customers/1");
    assert_eq!(u.host_header(), "api.example.com:8443");
    assert_eq!(u.url(), "https://api.example.com:8443/base");
    assert_eq!(u.connect_timeout, Duration::from_millis(1000));
    assert_eq!(u.read_timeout, Duration::from_millis(5000));
    assert!(u.tls_verify);
    let r = &s.routes[0];
    assert_eq!(r.client, None);
    assert_eq!(r.path_prefix, "/");
    assert_eq!(r.unmappable, crate::translate::Policy::Reject);
    assert_eq!(r.default_entry_type, "work");
    assert!(r.clients.is_open());
    assert!(Arc::ptr_eq(&r.upstream, &s.upstreams[0]));
}

#[test]
fn trusted_proxies_and_max_inflight_are_read() {
    let s = snapshot(ROUTE);
    assert!(s.server.trusted_proxies.is_empty(), "none by default");
    assert_eq!(s.upstreams[0].max_inflight, None, "unbounded by default");
    let dir = dir_with_secret();
    let text = BASE
        .replace(
            "admin = \"127.0.0.1:18090\"\n",
            "admin = \"127.0.0.1:18090\"\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
        )
        .replace(
            "auth = { bearer_file = \"s\" }\n",
            "auth = { bearer_file = \"s\" }\nmax_inflight = 64\n",
        );
    let s = match load_str(&format!("{text}{ROUTE}"), dir.path(), 1) {
        Ok(l) => l.snapshot,
        Err(e) => panic!("{e}"),
    };
    let nets: Vec<String> = s
        .server
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
    assert_eq!(s.upstreams[0].max_inflight, Some(64));
    let shown = s.redacted_json();
    assert_eq!(
        shown["server"]["trusted_proxies"],
        serde_json::json!(["10.0.0.0/8", "::1/128"])
    );
    assert_eq!(shown["upstreams"][0]["max_inflight"], 64);
}

#[test]
fn url_parsing() {
    let ok = |u: &str| parse_url(u).unwrap_or_else(|e| panic!("{u}: {e}"));
    assert_eq!(ok("http://h"), (false, "h".into(), 80, String::new()));
    assert_eq!(
        ok("HTTPS://h.example/"),
        (true, "h.example".into(), 443, String::new())
    );
    assert_eq!(
        ok("http://[::1]:9000/x/y"),
        (false, "::1".into(), 9000, "/x/y".into())
    );
    for bad in [
        "h:80",
        "ftp://h",
        "http://",
        "http://h:0",
        "http://h:99999",
        "http://h:x",
        "http://u:p@h",
        "http://h/?q=1",
        "http://h_h",
        "http://[zz]:1",
    ] {
        assert!(parse_url(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn routes_match_longest_prefix_first_at_segment_boundaries() {
    let s = snapshot(
        r#"
[[route]]
name = "root"
upstream = "crunch"
[[route]]
name = "crm"
path_prefix = "/crm/"
upstream = "crunch"
[[route]]
name = "crm-v2"
path_prefix = "/crm/v2"
upstream = "crunch"
[[route]]
name = "crm-reach"
client_dialect = "reach"
path_prefix = "/crm"
upstream = "crunch"
"#,
    );
    let names = |p: &str| -> Vec<String> { s.routes_for(p).map(|r| r.name.clone()).collect() };
    assert_eq!(
        names("/crm/v2/customers/1"),
        ["crm-v2", "crm", "crm-reach", "root"]
    );
    assert_eq!(names("/crm/v1/customers/1"), ["crm", "crm-reach", "root"]);
    assert_eq!(names("/crmx/v1"), ["root"]);
    assert_eq!(names("/crm"), ["crm", "crm-reach", "root"]);
    let crm = s.route("crm").expect("crm");
    assert_eq!(crm.path_prefix, "/crm");
    assert_eq!(
        crm.strip_prefix("/crm/v1/customers/1"),
        Some("/v1/customers/1")
    );
    assert_eq!(crm.strip_prefix("/crm"), Some("/"));
    assert_eq!(crm.strip_prefix("/crmx"), None);
    let root = s.route("root").expect("root");
    assert_eq!(root.strip_prefix("/v1/x"), Some("/v1/x"));
}

#[test]
fn client_credentials_are_checked() {
    let var = "PATCHBAY_TEST_CLIENT_TOKEN_7F3A";
    std::env::set_var(var, "env-token");
    let dir = dir_with_secret();
    let text = BASE.replace(
        "admin = \"127.0.0.1:18090\"",
        "admin = \"127.0.0.1:18090\"\ntoken_secret_file = \"s\"",
    ) + &format!(
        r#"
[[route]]
name = "r"
upstream = "crunch"
clients = {{ bearer_env = ["{var}"], basic_key_file = ["s"], oauth_clients = [{{ client_id = "app", secret_file = "s" }}] }}
"#
    );
    let s = load_str(&text, dir.path(), 1).expect("valid").snapshot;
    let c = &s.routes[0].clients;
    assert!(!c.is_open());
    assert!(c.accepts_bearer("env-token"));
    assert!(!c.accepts_bearer("env-token2"));
    assert!(!c.accepts_bearer("the-secret-value"));
    assert!(c.accepts_basic_key("the-secret-value"));
    assert!(!c.accepts_basic_key("env-token"));
    assert!(c.accepts_oauth_client("app", "the-secret-value"));
    assert!(!c.accepts_oauth_client("app", "env-token"));
    assert!(!c.accepts_oauth_client("other", "the-secret-value"));
    assert!(c.has_oauth_clients());
}

#[test]
fn oauth_clients_without_token_secret_are_refused() {
    let dir = dir_with_secret();
    let text = format!(
        "{BASE}[[route]]\nname = \"r\"\nupstream = \"crunch\"\n\
         clients = {{ oauth_clients = [{{ client_id = \"app\", secret_file = \"s\" }}] }}\n"
    );
    let e = load_str(&text, dir.path(), 1).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "server.token_secret_file: required (or server.token_secret_env or server.token_keys) \
         because route[0].clients.oauth_clients is set"
    );
}

#[test]
fn secrets_never_print() {
    let dir = dir_with_secret();
    let text = format!(
        "{BASE}[[route]]\nname = \"r\"\nupstream = \"crunch\"\nclients = {{ bearer_file = [\"s\"] }}\n"
    );
    let s = load_str(&text, dir.path(), 1).expect("valid").snapshot;
    let dbg = format!("{s:?}");
    let json = s.redacted_json().to_string();
    for out in [&dbg, &json] {
        assert!(!out.contains("the-secret-value"), "secret leaked: {out}");
        assert!(out.contains(REDACTED));
    }
    let secret = Secret::new("x-secret");
    assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
    assert_eq!(
        serde_json::to_string(&secret).expect("json"),
        "\"<redacted>\""
    );
    assert_eq!(s.redacted_json()["generation"], 1);
    assert_eq!(
        s.redacted_json()["routes"][0]["clients"]["bearer"][0],
        "<redacted>"
    );

    // A bad value next to a secret: the message names the key, never the value.
    let bad = text.replace(
        "[[route]]",
        "[sandbox]\nsecret_file = \"s\"\nhelpcrunch = \"the-secret-value\"\n[[route]]",
    );
    let e = load_str(&bad, dir.path(), 1).expect_err("refused");
    assert!(e.to_string().contains("sandbox.helpcrunch"), "{e}");
    let env = BASE.replace(
        "bearer_file = \"s\"",
        "bearer_env = \"PATCHBAY_TEST_UNSET_9C1\"",
    );
    let e = load_str(&env, dir.path(), 1).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "upstream[0].auth.bearer_env: environment variable PATCHBAY_TEST_UNSET_9C1 is not set"
    );
}

#[test]
fn check_file_reports_errors_warnings_and_summary() {
    let dir = dir_with_secret();
    let path = dir.path().join("g.toml");
    std::fs::write(
        &path,
        format!("{BASE}[[route]]\nname = \"r\"\nupstream = \"crnch\"\nunmappable = \"maybe\"\n[[route]]\nname = \"x\"\nclient_dialect = \"reach\"\nupstream = \"crunch\"\n"),
    )
    .expect("write");
    let (report, ok) = check_file(&path);
    assert!(!ok);
    // Each problem starts with file:line:col of its key (the routes' keys are lines 13, 14, 17).
    let want = format!(
        "{p}:13:1: error: route[0].upstream: no upstream named \"crnch\"\n\
         {p}:14:1: error: route[0].unmappable: \"maybe\" is not one of reject|drop\n\
         {p}:17:1: warning: route[1].client_dialect: reach clients use string external ids but \
         helpcrunch needs positive integer customer ids: requests for other ids will be rejected\n\
         {p}: 2 errors, 1 warning\n",
        p = path.display()
    );
    assert_eq!(report, want);
    std::fs::write(&path, format!("{BASE}{ROUTE}")).expect("write");
    let (report, ok) = check_file(&path);
    assert!(ok);
    assert_eq!(report, format!("{}: ok (0 warnings)\n", path.display()));
}

/// `BASE` with a `[sandbox]` table holding `extra`, and `ROUTE`.
fn with_sandbox(extra: &str) -> String {
    format!("{BASE}[sandbox]\nsecret_file = \"s\"\n{extra}{ROUTE}")
}

// === reload ===

/// A whole config with one Reach upstream and route, listening on `listen`; `server_extra` is
/// appended to `[server]`. Shared with the admin listener's tests.
pub(crate) fn reach_config(listen: &str, server_extra: &str) -> String {
    format!(
        r#"
[server]
listen = "{listen}"
admin = "127.0.0.1:0"
{server_extra}
[[upstream]]
name = "up"
dialect = "reach"
url = "http://127.0.0.1:1"
auth = {{ bearer_file = "s" }}

[[route]]
name = "r"
upstream = "up"
"#
    )
}

fn write_config(path: &std::path::Path, listen: &str, log_level: &str) {
    let text = reach_config(listen, &format!("log_level = \"{log_level}\""));
    std::fs::write(path, text).expect("write");
}

/// A store over a fresh directory holding a valid `gateway.toml` (listen 127.0.0.1:18080, log
/// level info), with the log-level lock held for the test: a reload sets the process-wide level.
fn fresh_store() -> (
    parking_lot::MutexGuard<'static, ()>,
    tempfile::TempDir,
    Arc<Store>,
) {
    let level = crate::logging::TEST_LEVEL_LOCK.lock();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s"), "secret\n").expect("write");
    let path = dir.path().join("gateway.toml");
    write_config(&path, "127.0.0.1:18080", "info");
    let store = Arc::new(Store::open(&path).expect("valid").0);
    (level, dir, store)
}

#[test]
fn good_reload_swaps_and_bumps_the_generation() {
    let (_g, dir, store) = fresh_store();
    let before = store.current();
    assert_eq!(before.generation, 1);
    let ok_before = crate::metrics::metrics().config_reloads("ok");
    write_config(&dir.path().join("gateway.toml"), "127.0.0.1:18080", "debug");
    let out = store.reload();
    assert!(
        matches!(out, ReloadOutcome::Ok { generation: 2, .. }),
        "{out:?}"
    );
    let after = store.current();
    assert_eq!(after.generation, 2);
    assert_eq!(after.server.log_level, log::LevelFilter::Debug);
    // A request that loaded the old snapshot still holds it, unchanged.
    assert_eq!(before.generation, 1);
    assert_eq!(before.server.log_level, log::LevelFilter::Info);
    assert!(crate::metrics::metrics().config_reloads("ok") > ok_before);
    assert_eq!(store.reload().generation(), 3);
}

#[test]
fn bad_file_keeps_the_old_snapshot_and_counts_an_error() {
    let (_g, dir, store) = fresh_store();
    let errors_before = crate::metrics::metrics().config_reloads("error");
    std::fs::write(
        dir.path().join("gateway.toml"),
        "[server]\nlisten = \"127.0.0.1:18080\"\nthreads = 0\n[[route]]\nname = \"r\"\nupstream = \"gone\"\n",
    )
    .expect("write");
    let out = store.reload();
    match &out {
        ReloadOutcome::Invalid { generation, errors } => {
            assert_eq!(*generation, 1);
            assert_eq!(
                errors.to_string(),
                "server.threads: 0 is out of range (1..=1024)\nroute[0].upstream: no upstream named \"gone\""
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.http_status(), 422);
    assert_eq!(store.generation(), 1);
    assert_eq!(store.current().routes[0].upstream.name, "up");
    assert!(crate::metrics::metrics().config_reloads("error") > errors_before);
}

#[test]
fn static_change_is_refused_with_its_keys() {
    let (_g, dir, store) = fresh_store();
    let before = crate::metrics::metrics().config_reloads("restart_required");
    write_config(&dir.path().join("gateway.toml"), "127.0.0.1:18081", "info");
    let out = store.reload();
    match &out {
        ReloadOutcome::RestartRequired { generation, keys } => {
            assert_eq!(*generation, 1);
            assert_eq!(keys, &["server.listen"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.to_json()["keys"][0], "server.listen");
    assert_eq!(store.current().server.listen.port(), 18080);
    assert!(crate::metrics::metrics().config_reloads("restart_required") > before);
}

#[test]
fn sandbox_changes_are_static() {
    let dir = dir_with_secret();
    let with = |extra: &str| {
        load_str(&with_sandbox(extra), dir.path(), 1)
            .expect("valid")
            .snapshot
    };
    let a = with("");
    let b = with("reach = \"127.0.0.1:19999\"\n");
    let off = with("enabled = false\n");
    assert_eq!(static_changes(&a, &a), Vec::<&str>::new());
    assert_eq!(static_changes(&a, &b), ["sandbox.reach"]);
    assert_eq!(static_changes(&a, &off), ["sandbox.enabled"]);
    assert!(off.sandbox.is_none());
}

/// Each `[sandbox]` key sets its own dialect's backend, is reported under its own key and shows
/// under its own name in `/config`; unset keys keep their dialect's default.
#[test]
fn sandbox_addresses_are_keyed_by_dialect() {
    let dir = dir_with_secret();
    let load = |extra: &str| load_str(&with_sandbox(extra), dir.path(), 1);
    let port = |d: DialectId| 19_100 + d.index() as u16;
    let all: String = DialectId::ALL
        .iter()
        .map(|&d| format!("{} = \"127.0.0.1:{}\"\n", SandboxConf::addr_key(d), port(d)))
        .collect();
    let s = load(&all).expect("valid").snapshot;
    let sb = s.sandbox.as_ref().expect("enabled");
    let json = s.redacted_json();
    for d in DialectId::ALL {
        assert_eq!(sb.addr(d).port(), port(d), "{d}");
        assert_eq!(
            json["sandbox"][SandboxConf::addr_key(d)],
            format!("127.0.0.1:{}", port(d))
        );
    }
    let defaults = load("").expect("valid").snapshot;
    let sb = defaults.sandbox.as_ref().expect("enabled");
    assert_eq!(sb.addr(DialectId::HelpscoutV2).port(), 18102);
    assert_eq!(sb.addr(DialectId::HelpscoutV1).port(), 18101);
    assert_eq!(
        static_changes(&defaults, &s),
        [
            "sandbox.helpscout_v2",
            "sandbox.helpscout_v1",
            "sandbox.helpcrunch",
            "sandbox.reach"
        ]
    );

    let e = load("helpscout_v1 = \"nowhere\"\nreach = \"127.0.0.1:18101\"\n").expect_err("refused");
    let text = e.to_string();
    assert!(
        text.contains("sandbox.helpscout_v1: \"nowhere\" is not an ip:port address"),
        "{text}"
    );
    assert!(!text.contains("sandbox.reach"), "{text}");
    let e = load("helpcrunch = \"127.0.0.1:18104\"\nreach = \"127.0.0.1:18103\"\n")
        .expect("swapped ports are fine");
    let sb = e.snapshot.sandbox.expect("enabled");
    assert_eq!(sb.addr(DialectId::Helpcrunch).port(), 18104);
    assert_eq!(sb.addr(DialectId::Reach).port(), 18103);
}

/// Kubernetes ConfigMap layout: `gateway.toml -> ..data/gateway.toml`, `..data -> ..v1`.
/// The update writes `..v2` and swaps `..data`; the new file can have the same size and mtime.
#[test]
fn watcher_notices_a_configmap_symlink_swap() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir(d.join("..v1")).expect("mkdir");
    std::fs::create_dir(d.join("..v2")).expect("mkdir");
    std::fs::write(d.join("..v1/gateway.toml"), "a = 1\n").expect("write");
    std::fs::write(d.join("..v2/gateway.toml"), "a = 2\n").expect("write");
    // Same mtime on both versions: only the resolved target and inode tell them apart.
    let t = std::fs::metadata(d.join("..v1/gateway.toml"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let f = std::fs::File::options()
        .write(true)
        .open(d.join("..v2/gateway.toml"))
        .expect("open");
    f.set_modified(t).expect("set mtime");
    symlink("..v1", d.join("..data")).expect("symlink");
    symlink("..data/gateway.toml", d.join("gateway.toml")).expect("symlink");

    let mut w = FileWatcher::new(d.join("gateway.toml"));
    assert!(!w.changed());
    // Atomic swap, as kubelet does: new link under a temp name, renamed over `..data`.
    symlink("..v2", d.join("..data_tmp")).expect("symlink");
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("rename");
    assert!(w.changed());
    assert!(!w.changed());
    // An in-place edit is noticed too.
    std::fs::write(d.join("..v2/gateway.toml"), "a = 22\n").expect("write");
    assert!(w.changed());
}

#[test]
fn watcher_thread_reloads_on_symlink_swap() {
    use std::os::unix::fs::symlink;
    let _g = crate::logging::TEST_LEVEL_LOCK.lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for v in ["..v1", "..v2"] {
        std::fs::create_dir(d.join(v)).expect("mkdir");
        std::fs::write(d.join(v).join("s"), "secret\n").expect("write");
    }
    write_config(&d.join("..v1/gateway.toml"), "127.0.0.1:18080", "info");
    write_config(&d.join("..v2/gateway.toml"), "127.0.0.1:18080", "warn");
    symlink("..v1", d.join("..data")).expect("symlink");
    symlink("..data/gateway.toml", d.join("gateway.toml")).expect("symlink");
    // kubelet links every key of the ConfigMap/Secret at the top level the same way.
    symlink("..data/s", d.join("s")).expect("symlink");
    let store = Arc::new(Store::open(d.join("gateway.toml")).expect("valid").0);
    let handle = spawn_file_watcher(store.clone(), Duration::from_millis(20)).expect("spawn");
    symlink("..v2", d.join("..data_tmp")).expect("symlink");
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("rename");
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.generation() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.stop();
    assert_eq!(store.generation(), 2);
    assert_eq!(store.current().server.log_level, log::LevelFilter::Warn);
}

#[test]
fn sighup_reloads() {
    let (_g, _dir, store) = fresh_store();
    // The handler is registered before spawn_watchers returns, so the signal cannot kill us.
    let handle = spawn_watchers(store.clone()).expect("spawn");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // The file did not change, so only the signal can have caused a new generation.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.generation() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.stop();
    assert_eq!(store.generation(), 2);
}

#[test]
fn token_keys_keep_their_order_and_ids_and_print_redacted() {
    let dir = dir_with_secret();
    std::fs::write(dir.path().join("s2"), "second-key\n").expect("write");
    let text = BASE.replacen(
        "[server]\n",
        "[server]\ntoken_keys = [{ id = \"k2\", secret_file = \"s2\" }, { id = \"k1\", secret_file = \"s\" }]\n",
        1,
    );
    let s = match load_str(&text, dir.path(), 1) {
        Ok(l) => l.snapshot,
        Err(e) => panic!("{e}"),
    };
    let ids: Vec<&str> = s.server.token_keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["k2", "k1"]);
    assert_eq!(s.server.token_keys[0].secret.expose(), "second-key");
    let json = s.redacted_json();
    assert_eq!(
        json["server"]["token_keys"],
        serde_json::json!([{ "id": "k2", "secret": REDACTED }, { "id": "k1", "secret": REDACTED }])
    );
    assert!(!json.to_string().contains("second-key"));
}

#[test]
fn snapshot_lists_each_secret_file_once() {
    let dir = dir_with_secret();
    let s = snapshot(
        "[[route]]\nname = \"r\"\nupstream = \"crunch\"\n\
         clients = { bearer_file = [\"s\", \"s\"] }\n",
    );
    let files: Vec<&std::path::Path> = s.secret_files.iter().map(|(p, _)| p.as_path()).collect();
    drop(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("s"), "{files:?}");
}

/// Kubernetes Secret layout: `token -> ..data/token`, `..data -> ..v1`; the update writes
/// `..v2` and swaps `..data`.
fn k8s_secret(d: &std::path::Path, name: &str, value: &str) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(d.join("..v1")).expect("mkdir");
    std::fs::write(d.join("..v1").join(name), value).expect("write");
    if !d.join("..data").exists() {
        symlink("..v1", d.join("..data")).expect("symlink");
    }
    symlink(format!("..data/{name}"), d.join(name)).expect("symlink");
}

/// A directory with a Kubernetes-style mounted secret `s` holding `secret`, and a config (in
/// `gateway.toml`) that reads it.
fn k8s_config_dir(secret: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    k8s_secret(dir.path(), "s", secret);
    write_config(&dir.path().join("gateway.toml"), "127.0.0.1:18080", "info");
    dir
}

fn k8s_swap(d: &std::path::Path, version: &str, name: &str, value: &str) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(d.join(version)).expect("mkdir");
    std::fs::write(d.join(version).join(name), value).expect("write");
    symlink(version, d.join("..data_tmp")).expect("symlink");
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("rename");
}

#[test]
fn secret_watcher_sees_a_secret_swap_once_and_a_refused_one_once() {
    let dir = k8s_config_dir("secret\n");
    let d = dir.path();
    let snap = load(&d.join("gateway.toml"), 1).expect("valid").snapshot;
    let mut w = SecretWatcher::new();
    assert!(w.changed(&snap).is_empty());
    // Same length, same directory mtime: only the resolved target tells the versions apart.
    k8s_swap(d, "..v2", "s", "secreT\n");
    assert_eq!(w.changed(&snap), [d.join("s")]);
    assert!(w.changed(&snap).is_empty());
    // An invalid value (empty file) is one change too, not one per poll while it stays.
    k8s_swap(d, "..v3", "s", "");
    assert_eq!(w.changed(&snap).len(), 1);
    assert!(w.changed(&snap).is_empty());
}

#[test]
fn secret_rotated_before_the_first_poll_is_not_missed() {
    let dir = k8s_config_dir("secret\n");
    let d = dir.path();
    let snap = load(&d.join("gateway.toml"), 1).expect("valid").snapshot;
    k8s_swap(d, "..v2", "s", "rotated\n");
    let mut w = SecretWatcher::new();
    assert_eq!(w.changed(&snap), [d.join("s")]);
}

#[test]
fn watcher_thread_reloads_on_a_secret_swap_and_keeps_the_old_on_an_empty_secret() {
    let _g = crate::logging::TEST_LEVEL_LOCK.lock();
    let dir = k8s_config_dir("secret-one\n");
    let d = dir.path();
    let store = Arc::new(Store::open(d.join("gateway.toml")).expect("valid").0);
    let handle = spawn_file_watcher(store.clone(), Duration::from_millis(20)).expect("spawn");
    let bearer = |s: &Snapshot| match &s.upstream("up").expect("up").auth {
        UpstreamAuth::Bearer(b) => b.expose().to_string(),
        other => panic!("{other:?}"),
    };
    let wait_for = |pred: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pred() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    k8s_swap(d, "..v2", "s", "secret-two\n");
    wait_for(&|| store.generation() >= 2);
    assert_eq!(store.generation(), 2);
    assert_eq!(bearer(&store.current()), "secret-two");

    let errors_before = crate::metrics::metrics().config_reloads("error");
    k8s_swap(d, "..v3", "s", "\n");
    wait_for(&|| crate::metrics::metrics().config_reloads("error") > errors_before);
    // Refused once, not once per poll; the old credential keeps serving.
    std::thread::sleep(Duration::from_millis(200));
    handle.stop();
    assert_eq!(
        crate::metrics::metrics().config_reloads("error"),
        errors_before + 1
    );
    assert_eq!(store.generation(), 2);
    assert_eq!(bearer(&store.current()), "secret-two");
}
