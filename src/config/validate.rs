//! `gateway.toml` text → [`Snapshot`], collecting every problem with its key path.
//!
//! The pass never stops at the first problem (STYLE rule 2): the TOML tree is walked table by
//! table; unknown keys are reported one by one against each table's [`Section::KEYS`]; a value
//! of the wrong TOML type is reported at its own key (each key is tried alone when a table does
//! not deserialize); then values, cross-references, secrets and dialect facts are checked. A
//! snapshot is only built when no error was found. Warnings never block loading.

use super::raw::{
    RawClients, RawCluster, RawConfig, RawOAuthClient, RawRoute, RawSandbox, RawServer,
    RawTokenKey, RawUpstream, RawUpstreamAuth, Section,
};
use super::snapshot::{
    ClientAuth, ClusterConf, ClusterFallback, OAuthClient, Route, SandboxConf, Secret, ServerConf,
    Snapshot, TokenKey, Unmappable, Upstream, UpstreamAuth,
};
use super::{ConfigErrors, Loaded, Problem, MAX_BODY_BYTES_CAP};
use crate::dialect::DialectId;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::{Table, Value};

/// Default proxy listener.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default admin listener.
pub const DEFAULT_ADMIN: &str = "127.0.0.1:9090";
/// Default sandbox addresses, in [`DialectId::ALL`] order.
pub const DEFAULT_SANDBOX: [&str; 4] = [
    "127.0.0.1:18102",
    "127.0.0.1:18101",
    "127.0.0.1:18103",
    "127.0.0.1:18104",
];
/// Key id of the single key given by `server.token_secret_file` / `_env`.
pub const DEFAULT_TOKEN_KEY_ID: &str = "default";
/// Default OAuth token path on a helpscout-v2 upstream.
pub const DEFAULT_TOKEN_PATH: &str = "/v2/oauth2/token";

/// Collected problems plus where relative secret paths are resolved.
struct Cx {
    base_dir: PathBuf,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// `false` for `patchbay check --no-secrets`: references are checked, never read.
    read_secrets: bool,
    /// Secret files read so far, each once, with their fingerprint from before the read.
    secret_files: Vec<(PathBuf, super::reload::Fingerprint)>,
}

impl Cx {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::new(path, message));
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(path, message));
    }

    /// Deserializes one table into its raw type, reporting every unknown key and every
    /// wrongly typed key separately. `None` when a known key has a bad value; unknown keys
    /// are reported but the known ones are still returned for validation.
    fn section<T: Section>(&mut self, table: &Table, path: &str) -> Option<T> {
        let mut clean = Table::new();
        for (k, v) in table {
            if T::KEYS.contains(&k.as_str()) {
                clean.insert(k.clone(), v.clone());
            } else {
                self.err(
                    join(path, k),
                    format!("unknown key (expected one of: {})", T::KEYS.join(", ")),
                );
            }
        }
        match Value::Table(clean.clone()).try_into::<T>() {
            // Unknown keys are already reported (and fail the load); the known keys are still
            // validated so that every problem is reported at once.
            Ok(v) => Some(v),
            Err(whole) => {
                // Serde stops at the first bad value: try each key alone to name all of them.
                let mut found = false;
                for (k, v) in &clean {
                    let mut one = Table::new();
                    one.insert(k.clone(), v.clone());
                    if let Err(e) = Value::Table(one).try_into::<T>() {
                        found = true;
                        self.err(join(path, k), serde_message(e.message()));
                    }
                }
                if !found {
                    self.err(path, serde_message(whole.message()));
                }
                None
            }
        }
    }

    /// Reads a secret given as exactly one of an environment variable or a file.
    fn secret(
        &mut self,
        path: &str,
        env_key: &str,
        env: Option<&str>,
        file_key: &str,
        file: Option<&str>,
    ) -> Option<Secret> {
        match (env, file) {
            (Some(_), Some(_)) => {
                self.err(path, format!("set only one of {env_key} and {file_key}"));
                None
            }
            (Some(name), None) => self.secret_env(&join(path, env_key), name),
            (None, Some(f)) => self.secret_file(&join(path, file_key), f),
            (None, None) => None,
        }
    }

    fn secret_env(&mut self, path: &str, name: &str) -> Option<Secret> {
        if name.is_empty() {
            self.err(path, "empty environment variable name");
            return None;
        }
        if !self.read_secrets {
            return Some(unread(path));
        }
        match std::env::var(name) {
            Ok(v) if v.trim().is_empty() => {
                self.err(path, format!("environment variable {name} is empty"));
                None
            }
            Ok(v) => Some(Secret::new(v.trim())),
            Err(std::env::VarError::NotPresent) => {
                self.err(path, format!("environment variable {name} is not set"));
                None
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                self.err(
                    path,
                    format!("environment variable {name} is not valid UTF-8"),
                );
                None
            }
        }
    }

    fn secret_file(&mut self, path: &str, file: &str) -> Option<Secret> {
        if file.is_empty() {
            self.err(path, "empty file name");
            return None;
        }
        if !self.read_secrets {
            return Some(unread(path));
        }
        let full = self.base_dir.join(file);
        if !self.secret_files.iter().any(|(p, _)| *p == full) {
            // Taken before the read: a rotation landing between the two still differs from it.
            let fp = super::reload::fingerprint(&full);
            self.secret_files.push((full.clone(), fp));
        }
        match std::fs::read(&full) {
            Ok(bytes) => match String::from_utf8(bytes) {
                // Only the surrounding whitespace (the trailing newline editors add) is dropped.
                Ok(s) if s.trim().is_empty() => {
                    self.err(path, format!("file \"{file}\" is empty"));
                    None
                }
                Ok(s) => Some(Secret::new(s.trim())),
                Err(_) => {
                    self.err(path, format!("file \"{file}\" is not valid UTF-8"));
                    None
                }
            },
            Err(e) => {
                self.err(path, format!("cannot read file \"{file}\": {e}"));
                None
            }
        }
    }

    /// A file that must exist and be readable, resolved against the config's directory.
    fn readable(&mut self, path: &str, file: &str) -> Option<std::path::PathBuf> {
        let full = self.base_dir.join(file);
        match std::fs::File::open(&full) {
            Ok(_) => Some(full),
            Err(e) => {
                self.err(path, format!("cannot read file \"{file}\": {e}"));
                None
            }
        }
    }

    fn addr(&mut self, path: &str, value: &str) -> Option<SocketAddr> {
        match value.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(path, format!("\"{value}\" is not an ip:port address"));
                None
            }
        }
    }

    fn int_in(&mut self, path: &str, v: Option<i64>, default: i64, lo: i64, hi: i64) -> i64 {
        let v = v.unwrap_or(default);
        if v < lo || v > hi {
            self.err(path, format!("{v} is out of range ({lo}..={hi})"));
            return default;
        }
        v
    }

    fn name(&mut self, path: &str, name: Option<&str>) -> Option<String> {
        match name {
            None => {
                self.err(path, "required");
                None
            }
            Some(n) if n.is_empty() || !n.chars().all(name_char) => {
                self.err(
                    path,
                    format!("\"{n}\" is not a valid name (letters, digits, '-', '_', '.')"),
                );
                None
            }
            Some(n) => Some(n.to_string()),
        }
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Error lines must stay one line each (`patchbay check`, logs).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Serde's message on one line, with Rust type names said in TOML terms.
fn serde_message(m: &str) -> String {
    one_line(m).replace("expected i64", "expected an integer")
}

fn type_name(v: &Value) -> &'static str {
    v.type_str()
}

/// Parses, checks and builds. `source` is the file name recorded in the snapshot; relative
/// secret files are resolved against `base_dir` (the config file's directory).
pub(crate) fn build(
    text: &str,
    source: &Path,
    base_dir: &Path,
    generation: u64,
) -> Result<Loaded, ConfigErrors> {
    build_with(text, source, base_dir, generation, true)
}

/// [`build`], optionally without reading any secret: every `*_env` / `*_file` reference is
/// checked for its shape (exactly one of the two, a non-empty name) and stands for a distinct
/// placeholder value, so a CI job can validate a production file without its secrets.
pub(crate) fn build_with(
    text: &str,
    source: &Path,
    base_dir: &Path,
    generation: u64,
    read_secrets: bool,
) -> Result<Loaded, ConfigErrors> {
    let mut cx = Cx {
        base_dir: base_dir.to_path_buf(),
        errors: Vec::new(),
        warnings: Vec::new(),
        read_secrets,
        secret_files: Vec::new(),
    };
    let doc = match text.parse::<Table>() {
        Ok(t) => t,
        Err(e) => {
            let at = e.span().map(|s| line_col(text, s.start));
            let msg = match at {
                Some((l, c)) => format!(
                    "TOML syntax error at line {l}, column {c}: {}",
                    one_line(e.message())
                ),
                None => format!("TOML syntax error: {}", one_line(e.message())),
            };
            cx.err("", msg);
            return Err(ConfigErrors {
                errors: cx.errors,
                warnings: cx.warnings,
            });
        }
    };
    let snapshot = check(&mut cx, &doc, source, generation);
    match snapshot {
        Some(s) if cx.errors.is_empty() => Ok(Loaded {
            snapshot: s,
            warnings: cx.warnings,
        }),
        _ => Err(ConfigErrors {
            errors: cx.errors,
            warnings: cx.warnings,
        }),
    }
}

use super::locate::line_col;

/// The stand-in for a secret that `--no-secrets` does not read: distinct per reference, so
/// checks that compare secrets see different values.
fn unread(path: &str) -> Secret {
    Secret::new(format!("unread-secret:{path}"))
}

/// Tables of an array-of-tables key, reporting non-table elements.
fn tables<'a>(cx: &mut Cx, doc: &'a Table, key: &str) -> Vec<Option<&'a Table>> {
    match doc.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => Some(t),
                other => {
                    cx.err(
                        format!("{key}[{i}]"),
                        format!("expected a table, found {}", type_name(other)),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            cx.err(
                key,
                format!(
                    "expected an array of tables ([[{key}]]), found {}",
                    type_name(other)
                ),
            );
            Vec::new()
        }
    }
}

fn table<'a>(cx: &mut Cx, parent: &'a Table, key: &str, path: &str) -> Option<&'a Table> {
    match parent.get(key) {
        None => None,
        Some(Value::Table(t)) => Some(t),
        Some(other) => {
            cx.err(
                join(path, key),
                format!("expected a table, found {}", type_name(other)),
            );
            None
        }
    }
}

/// An upstream table parsed into its raw parts.
type UpstreamParts = (RawUpstream, Option<RawUpstreamAuth>);
/// A route table parsed into its raw parts.
type RouteParts = (RawRoute, Option<RawClients>);

/// The whole check; `None` when something could not be built (errors were recorded).
fn check(cx: &mut Cx, doc: &Table, source: &Path, generation: u64) -> Option<Snapshot> {
    for k in doc.keys() {
        if !RawConfig::KEYS.contains(&k.as_str()) {
            cx.err(
                k.as_str(),
                format!(
                    "unknown key (expected one of: {})",
                    RawConfig::KEYS.join(", ")
                ),
            );
        }
    }
    let raw_server = match table(cx, doc, "server", "") {
        Some(t) => raw_server(cx, t),
        None => Some(RawServer::default()),
    };
    let raw_sandbox = table(cx, doc, "sandbox", "").map(|t| cx.section::<RawSandbox>(t, "sandbox"));
    let raw_cluster = table(cx, doc, "cluster", "").map(|t| cx.section::<RawCluster>(t, "cluster"));

    // Upstreams, parsed as far as their raw form; names kept even when the rest failed so
    // routes pointing at a broken upstream are not reported twice.
    let mut raw_upstreams: Vec<(usize, Option<UpstreamParts>)> = Vec::new();
    let mut upstream_names: HashMap<String, usize> = HashMap::new();
    for (i, t) in tables(cx, doc, "upstream").into_iter().enumerate() {
        let Some(t) = t else { continue };
        let path = format!("upstream[{i}]");
        let dup = duplicate_name(cx, &mut upstream_names, t, i, &path, "upstream");
        let auth = table(cx, t, "auth", &path)
            .map(|a| cx.section::<RawUpstreamAuth>(a, &join(&path, "auth")));
        let mut rest = t.clone();
        rest.remove("auth");
        let up = cx.section::<RawUpstream>(&rest, &path);
        let parsed = match (up, auth) {
            _ if dup => None,
            (Some(u), None) => Some((u, None)),
            (Some(u), Some(Some(a))) => Some((u, Some(a))),
            _ => None,
        };
        raw_upstreams.push((i, parsed));
    }

    let mut raw_routes: Vec<(usize, Option<RouteParts>)> = Vec::new();
    let mut route_names: HashMap<String, usize> = HashMap::new();
    for (i, t) in tables(cx, doc, "route").into_iter().enumerate() {
        let Some(t) = t else { continue };
        let path = format!("route[{i}]");
        let dup = duplicate_name(cx, &mut route_names, t, i, &path, "route");
        let clients =
            table(cx, t, "clients", &path).map(|c| raw_clients(cx, c, &join(&path, "clients")));
        let mut rest = t.clone();
        rest.remove("clients");
        let r = cx.section::<RawRoute>(&rest, &path);
        let parsed = match (r, clients) {
            _ if dup => None,
            (Some(r), None) => Some((r, None)),
            (Some(r), Some(Some(c))) => Some((r, Some(c))),
            _ => None,
        };
        raw_routes.push((i, parsed));
    }

    // --- values ---
    let any_oauth_route = raw_routes.iter().find_map(|(i, r)| {
        r.as_ref()
            .and_then(|(_, c)| c.as_ref())
            .filter(|c| !c.oauth_clients.is_empty())
            .map(|_| *i)
    });
    let server = raw_server.and_then(|s| server(cx, s, any_oauth_route));
    let sandbox = match raw_sandbox {
        None => Some(None),
        Some(None) => None,
        Some(Some(s)) => sandbox(cx, s),
    };
    if let (Some(s), Some(sb)) = (&server, &sandbox) {
        check_listeners(cx, s, sb.as_ref());
    }
    let cluster_conf = match raw_cluster {
        None => Some(None),
        Some(None) => None,
        Some(Some(c)) => cluster(cx, c).map(Some),
    };

    let mut upstreams: Vec<Arc<Upstream>> = Vec::new();
    let mut upstream_index: HashMap<String, (usize, Arc<Upstream>)> = HashMap::new();
    let mut all_upstreams_ok = true;
    for (i, parsed) in raw_upstreams {
        let path = format!("upstream[{i}]");
        let Some((raw, auth)) = parsed else {
            all_upstreams_ok = false;
            continue;
        };
        let Some(u) = upstream(cx, &path, raw, auth) else {
            all_upstreams_ok = false;
            continue;
        };
        let u = Arc::new(u);
        upstream_index.insert(u.name.clone(), (i, u.clone()));
        upstreams.push(u);
    }

    let mut routes: Vec<Route> = Vec::new();
    let mut prefixes: HashMap<(String, Option<DialectId>), usize> = HashMap::new();
    let mut used_upstreams: HashSet<String> = HashSet::new();
    let mut all_routes_ok = true;
    for (i, parsed) in raw_routes {
        let path = format!("route[{i}]");
        let Some((raw, clients)) = parsed else {
            all_routes_ok = false;
            continue;
        };
        if let Some(u) = &raw.upstream {
            used_upstreams.insert(u.clone());
        }
        let Some(r) = route(cx, &path, raw, clients, &upstream_index, &upstream_names) else {
            all_routes_ok = false;
            continue;
        };
        let key = (r.path_prefix.clone(), r.client);
        if let Some(first) = prefixes.get(&key) {
            cx.err(
                join(&path, "path_prefix"),
                format!(
                    "\"{}\" with client_dialect \"{}\" is already used by route[{first}]",
                    r.path_prefix,
                    r.client.map_or("auto", DialectId::as_str)
                ),
            );
            all_routes_ok = false;
            continue;
        }
        prefixes.insert(key, i);
        routes.push(r);
    }

    if doc.get("route").is_none() {
        cx.warn(
            "route",
            "no [[route]] tables: every request will be answered 404",
        );
    }
    for (name, (i, _)) in &upstream_index {
        if !used_upstreams.contains(name) {
            cx.warn(
                format!("upstream[{i}]"),
                format!("upstream \"{name}\" is not used by any route"),
            );
        }
    }
    cx.warnings.sort_by_key(|p| report_key(&p.path));
    cx.errors.sort_by_key(|p| report_key(&p.path));

    let (server, sandbox, cluster_conf) = (server?, sandbox?, cluster_conf?);
    if !all_upstreams_ok || !all_routes_ok {
        return None;
    }
    let mut match_order: Vec<usize> = (0..routes.len()).collect();
    // Stable sort: file order decides among equal prefixes.
    match_order
        .sort_by_key(|&i| std::cmp::Reverse(routes.get(i).map_or(0, |r| r.path_prefix.len())));
    Some(Snapshot {
        generation,
        source: source.to_path_buf(),
        server,
        sandbox,
        upstreams,
        routes,
        match_order,
        cluster: cluster_conf,
        secret_files: std::mem::take(&mut cx.secret_files),
    })
}

/// Report order: the file's sections in their usual order, then the element index; the sort
/// is stable, so problems of one element keep the order they were found in.
fn report_key(path: &str) -> (usize, usize) {
    let section = ["server", "sandbox", "upstream", "route", "cluster"]
        .iter()
        .position(|s| path.starts_with(s))
        .map_or(0, |i| i + 1);
    let index = path
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    (section, index)
}

/// Reports a second use of a name (even when either element has other errors); `true` for
/// the duplicate.
fn duplicate_name(
    cx: &mut Cx,
    seen: &mut HashMap<String, usize>,
    t: &Table,
    i: usize,
    path: &str,
    kind: &str,
) -> bool {
    let Some(Value::String(n)) = t.get("name") else {
        return false;
    };
    if let Some(first) = seen.get(n) {
        cx.err(
            join(path, "name"),
            format!("duplicate {kind} name \"{n}\" (first used by {kind}[{first}])"),
        );
        return true;
    }
    seen.insert(n.clone(), i);
    false
}

fn raw_clients(cx: &mut Cx, t: &Table, path: &str) -> Option<RawClients> {
    let mut rest = t.clone();
    let oauth = rest.remove("oauth_clients");
    let mut clients = cx.section::<RawClients>(&rest, path);
    let opath = join(path, "oauth_clients");
    let mut list = Vec::new();
    let mut ok = true;
    match oauth {
        None => {}
        Some(Value::Array(items)) => {
            for (j, v) in items.iter().enumerate() {
                let p = format!("{opath}[{j}]");
                match v {
                    Value::Table(ot) => match cx.section::<RawOAuthClient>(ot, &p) {
                        Some(o) => list.push(o),
                        None => ok = false,
                    },
                    other => {
                        cx.err(p, format!("expected a table, found {}", type_name(other)));
                        ok = false;
                    }
                }
            }
        }
        Some(other) => {
            cx.err(
                opath,
                format!("expected an array of tables, found {}", type_name(&other)),
            );
            ok = false;
        }
    }
    if let Some(c) = clients.as_mut() {
        c.oauth_clients = list;
    }
    clients.filter(|_| ok)
}

/// `[server]` as far as its raw form; `token_keys` (an array of tables) is parsed entry by
/// entry so that each entry's unknown or mistyped keys are reported at their own path.
fn raw_server(cx: &mut Cx, t: &Table) -> Option<RawServer> {
    let mut rest = t.clone();
    let keys = rest.remove("token_keys");
    let mut server = cx.section::<RawServer>(&rest, "server");
    let Some(keys) = keys else { return server };
    let Value::Array(items) = keys else {
        cx.err(
            "server.token_keys",
            format!("expected an array of tables, found {}", type_name(&keys)),
        );
        return None;
    };
    let mut list = Vec::new();
    let mut ok = true;
    for (j, v) in items.iter().enumerate() {
        let p = format!("server.token_keys[{j}]");
        match v {
            Value::Table(kt) => match cx.section::<RawTokenKey>(kt, &p) {
                Some(k) => list.push(k),
                None => ok = false,
            },
            other => {
                cx.err(p, format!("expected a table, found {}", type_name(other)));
                ok = false;
            }
        }
    }
    if let Some(s) = server.as_mut() {
        s.token_keys = Some(list);
    }
    server.filter(|_| ok)
}

/// The token-signing keys: `token_keys`, or the single key of `token_secret_file` / `_env`
/// (id `default`). `None` when errors were recorded.
fn token_keys(cx: &mut Cx, s: &RawServer, oauth_route: Option<usize>) -> Option<Vec<TokenKey>> {
    let single_given = s.token_secret_env.is_some() || s.token_secret_file.is_some();
    let single = cx.secret(
        "server",
        "token_secret_env",
        s.token_secret_env.as_deref(),
        "token_secret_file",
        s.token_secret_file.as_deref(),
    );
    let Some(list) = &s.token_keys else {
        if let (Some(i), false) = (oauth_route, single_given) {
            cx.err(
                "server.token_secret_file",
                format!("required (or server.token_secret_env or server.token_keys) because route[{i}].clients.oauth_clients is set"),
            );
        }
        return match (single_given, single) {
            (false, _) => Some(Vec::new()),
            (true, Some(secret)) => Some(vec![TokenKey {
                id: DEFAULT_TOKEN_KEY_ID.to_string(),
                secret,
            }]),
            (true, None) => None,
        };
    };
    if single_given {
        cx.err(
            "server.token_keys",
            "set either token_keys or token_secret_file / token_secret_env, not both",
        );
    }
    if list.is_empty() {
        cx.err(
            "server.token_keys",
            "must list at least one key (the first signs new tokens)",
        );
        return None;
    }
    let mut keys = Vec::new();
    let mut ok = !single_given;
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (j, k) in list.iter().enumerate() {
        let p = format!("server.token_keys[{j}]");
        let id = cx.name(&join(&p, "id"), k.id.as_deref());
        if let Some(id) = &id {
            if let Some(first) = ids.get(id) {
                cx.err(
                    join(&p, "id"),
                    format!("duplicate key id \"{id}\" (first in server.token_keys[{first}])"),
                );
                ok = false;
            }
            ids.insert(id.clone(), j);
        }
        if k.secret_env.is_none() && k.secret_file.is_none() {
            cx.err(join(&p, "secret_file"), "required (or secret_env)");
        }
        let secret = cx.secret(
            &p,
            "secret_env",
            k.secret_env.as_deref(),
            "secret_file",
            k.secret_file.as_deref(),
        );
        match (id, secret) {
            (Some(id), Some(secret)) => keys.push(TokenKey { id, secret }),
            _ => ok = false,
        }
    }
    ok.then_some(keys)
}

fn server(cx: &mut Cx, s: RawServer, oauth_route: Option<usize>) -> Option<ServerConf> {
    let listen = cx.addr(
        "server.listen",
        s.listen.as_deref().unwrap_or(DEFAULT_LISTEN),
    );
    let admin = cx.addr("server.admin", s.admin.as_deref().unwrap_or(DEFAULT_ADMIN));
    let threads = cx.int_in("server.threads", s.threads, 1, 1, 1024);
    let max_body = s.max_body_bytes.unwrap_or(MAX_BODY_BYTES_CAP as i64);
    let max_body = if max_body > MAX_BODY_BYTES_CAP as i64 {
        cx.err(
            "server.max_body_bytes",
            format!("{max_body} is above {MAX_BODY_BYTES_CAP}, the most the proxy can buffer (Pingora's retry buffer limit)"),
        );
        MAX_BODY_BYTES_CAP as i64
    } else {
        cx.int_in(
            "server.max_body_bytes",
            Some(max_body),
            MAX_BODY_BYTES_CAP as i64,
            1,
            MAX_BODY_BYTES_CAP as i64,
        )
    };
    let log_level = match s.log_level.as_deref().unwrap_or("info") {
        "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        other => {
            cx.err(
                "server.log_level",
                format!("\"{other}\" is not one of error|warn|info|debug"),
            );
            log::LevelFilter::Info
        }
    };
    let ttl = cx.int_in("server.token_ttl_secs", s.token_ttl_secs, 7200, 60, 86_400);
    let token_keys = token_keys(cx, &s, oauth_route);
    let mut trusted_proxies = Vec::new();
    for (i, net) in s.trusted_proxies.iter().flatten().enumerate() {
        match super::Cidr::parse(net.trim()) {
            Ok(n) => trusted_proxies.push(n),
            Err(m) => cx.err(format!("server.trusted_proxies[{i}]"), m),
        }
    }
    Some(ServerConf {
        listen: listen?,
        admin: admin?,
        threads: threads as usize,
        max_body_bytes: max_body as usize,
        log_level,
        access_log: s.access_log.unwrap_or(true),
        token_keys: token_keys?,
        token_ttl_secs: ttl as u64,
        trusted_proxies,
    })
}

/// `Some(None)`: disabled; `None`: errors were recorded.
fn sandbox(cx: &mut Cx, s: RawSandbox) -> Option<Option<SandboxConf>> {
    if !s.enabled.unwrap_or(true) {
        return Some(None);
    }
    let given = [&s.helpscout_v2, &s.helpscout_v1, &s.helpcrunch, &s.reach];
    let mut addrs = Vec::new();
    for ((id, value), default) in DialectId::ALL.iter().zip(given).zip(DEFAULT_SANDBOX) {
        let key = format!("sandbox.{}", id.as_str().replace('-', "_"));
        addrs.push(cx.addr(&key, value.as_deref().unwrap_or(default)));
    }
    let secret = cx.secret(
        "sandbox",
        "secret_env",
        s.secret_env.as_deref(),
        "secret_file",
        s.secret_file.as_deref(),
    );
    if s.secret_env.is_none() && s.secret_file.is_none() {
        cx.err(
            "sandbox.secret_file",
            "required (or sandbox.secret_env) when the sandbox is enabled",
        );
    }
    let tls = match (s.tls_cert_file.as_deref(), s.tls_key_file.as_deref()) {
        (None, None) => Some(None),
        (Some(cert), Some(key)) => {
            let cert = cx.readable("sandbox.tls_cert_file", cert);
            let key = cx.readable("sandbox.tls_key_file", key);
            Some(cert.zip(key))
        }
        (Some(_), None) => {
            cx.err(
                "sandbox.tls_key_file",
                "required with sandbox.tls_cert_file",
            );
            None
        }
        (None, Some(_)) => {
            cx.err(
                "sandbox.tls_cert_file",
                "required with sandbox.tls_key_file",
            );
            None
        }
    };
    let mut it = addrs.into_iter();
    let (a, b, c, d) = (it.next()??, it.next()??, it.next()??, it.next()??);
    Some(Some(SandboxConf {
        helpscout_v2: a,
        helpscout_v1: b,
        helpcrunch: c,
        reach: d,
        secret: secret?,
        tls: tls?,
    }))
}

/// Two listeners on one address would fail at bind time; say so now, with both keys.
fn check_listeners(cx: &mut Cx, s: &ServerConf, sb: Option<&SandboxConf>) {
    let mut all = vec![("server.listen", s.listen), ("server.admin", s.admin)];
    if let Some(sb) = sb {
        all.push(("sandbox.helpscout_v2", sb.helpscout_v2));
        all.push(("sandbox.helpscout_v1", sb.helpscout_v1));
        all.push(("sandbox.helpcrunch", sb.helpcrunch));
        all.push(("sandbox.reach", sb.reach));
    }
    for (i, (key, addr)) in all.iter().enumerate() {
        // Port 0 asks the OS for a fresh port each time: never a clash.
        if addr.port() == 0 {
            continue;
        }
        if let Some((first, _)) = all.iter().take(i).find(|(_, a)| a == addr) {
            cx.err(*key, format!("address {addr} is already used by {first}"));
        }
    }
}

fn dialect(cx: &mut Cx, path: &str, v: Option<&str>) -> Option<DialectId> {
    let Some(v) = v else {
        cx.err(path, "required");
        return None;
    };
    let d = DialectId::parse(v);
    if d.is_none() {
        cx.err(
            path,
            format!(
                "unknown dialect \"{v}\" (expected one of: {})",
                dialect_list()
            ),
        );
    }
    d
}

fn dialect_list() -> String {
    DialectId::ALL.map(DialectId::as_str).join(", ")
}

/// `(tls, host, port, base_path)` of `http(s)://host[:port][/base-path]`.
pub fn parse_url(url: &str) -> Result<(bool, String, u16, String), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "\"{url}\" is not a URL (expected http(s)://host[:port][/path])"
        ));
    };
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        other => {
            return Err(format!(
                "unsupported scheme \"{other}\" in \"{url}\" (http or https)"
            ))
        }
    };
    if rest.contains(['?', '#']) {
        return Err(format!("\"{url}\": query and fragment are not allowed"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(format!(
            "\"{url}\": credentials in the URL are not allowed (use auth)"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(format!("\"{url}\": unclosed '[' in host"));
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("\"{url}\": \"{h}\" is not an IPv6 address"));
        }
        match after {
            "" => (h, None),
            p => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(format!("\"{url}\": unexpected \"{p}\" after host")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("\"{url}\": missing host"));
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!("\"{url}\": \"{host}\" is not a valid host name"));
    }
    let port = match port {
        None => {
            if tls {
                443
            } else {
                80
            }
        }
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("\"{url}\": invalid port \"{p}\"")),
        },
    };
    Ok((
        tls,
        host.to_string(),
        port,
        path.trim_end_matches('/').to_string(),
    ))
}

fn upstream(
    cx: &mut Cx,
    path: &str,
    u: RawUpstream,
    auth: Option<RawUpstreamAuth>,
) -> Option<Upstream> {
    let name = cx.name(&join(path, "name"), u.name.as_deref());
    let dialect = dialect(cx, &join(path, "dialect"), u.dialect.as_deref());
    let url = match u.url.as_deref() {
        None => {
            cx.err(join(path, "url"), "required");
            None
        }
        Some(s) => match parse_url(s) {
            Ok(v) => Some(v),
            Err(m) => {
                cx.err(join(path, "url"), m);
                None
            }
        },
    };
    let auth = match auth {
        None => Some(UpstreamAuth::None),
        Some(a) => upstream_auth(cx, &join(path, "auth"), a, dialect),
    };
    let connect = cx.int_in(
        &join(path, "connect_timeout_ms"),
        u.connect_timeout_ms,
        1000,
        1,
        60_000,
    );
    let read = cx.int_in(
        &join(path, "read_timeout_ms"),
        u.read_timeout_ms,
        5000,
        1,
        300_000,
    );
    let rate = u.rate_limit_per_minute.map(|r| {
        cx.int_in(
            &join(path, "rate_limit_per_minute"),
            Some(r),
            1,
            1,
            1_000_000,
        ) as u32
    });
    let max_inflight = u
        .max_inflight
        .map(|n| cx.int_in(&join(path, "max_inflight"), Some(n), 1, 1, 1_000_000) as u32);
    let (tls, host, port, base_path) = url?;
    match (tls, u.tls_verify) {
        (false, Some(_)) => cx.warn(
            join(path, "tls_verify"),
            "ignored: the upstream URL is http",
        ),
        (true, Some(false)) => cx.warn(
            join(path, "tls_verify"),
            "certificate verification is disabled",
        ),
        _ => {}
    }
    Some(Upstream {
        name: name?,
        dialect: dialect?,
        tls,
        sni: host.clone(),
        host,
        port,
        base_path,
        auth: auth?,
        connect_timeout: Duration::from_millis(connect as u64),
        read_timeout: Duration::from_millis(read as u64),
        rate_limit_per_minute: rate,
        tls_verify: u.tls_verify.unwrap_or(true),
        max_inflight,
    })
}

fn upstream_auth(
    cx: &mut Cx,
    path: &str,
    a: RawUpstreamAuth,
    dialect: Option<DialectId>,
) -> Option<UpstreamAuth> {
    let kinds = [
        ("bearer_env", a.bearer_env.is_some()),
        ("bearer_file", a.bearer_file.is_some()),
        ("basic_key_env", a.basic_key_env.is_some()),
        ("basic_key_file", a.basic_key_file.is_some()),
        ("oauth_client_id", a.oauth_client_id.is_some()),
    ];
    let set: Vec<&str> = kinds.iter().filter(|(_, s)| *s).map(|(k, _)| *k).collect();
    if set.len() != 1 {
        let found = if set.is_empty() {
            "none".to_string()
        } else {
            set.join(", ")
        };
        cx.err(
            path,
            format!("set exactly one of bearer_env, bearer_file, basic_key_env, basic_key_file, oauth_client_id (found: {found})"),
        );
        return None;
    }
    let is_oauth = a.oauth_client_id.is_some();
    if !is_oauth {
        for (k, v) in [
            ("oauth_secret_env", &a.oauth_secret_env),
            ("oauth_secret_file", &a.oauth_secret_file),
            ("token_path", &a.token_path),
        ] {
            if v.is_some() {
                cx.err(join(path, k), "only valid with oauth_client_id");
            }
        }
    }
    if let Some(v) = &a.bearer_env {
        return cx
            .secret_env(&join(path, "bearer_env"), v)
            .map(UpstreamAuth::Bearer);
    }
    if let Some(v) = &a.bearer_file {
        return cx
            .secret_file(&join(path, "bearer_file"), v)
            .map(UpstreamAuth::Bearer);
    }
    if let Some(v) = &a.basic_key_env {
        return cx
            .secret_env(&join(path, "basic_key_env"), v)
            .map(UpstreamAuth::BasicKey);
    }
    if let Some(v) = &a.basic_key_file {
        return cx
            .secret_file(&join(path, "basic_key_file"), v)
            .map(UpstreamAuth::BasicKey);
    }
    let client_id = a.oauth_client_id.unwrap_or_default();
    if client_id.is_empty() {
        cx.err(join(path, "oauth_client_id"), "must not be empty");
    }
    if a.oauth_secret_env.is_none() && a.oauth_secret_file.is_none() {
        cx.err(
            join(path, "oauth_secret_file"),
            "required (or oauth_secret_env) with oauth_client_id",
        );
    }
    if dialect.is_some_and(|d| d != DialectId::HelpscoutV2) {
        cx.warn(join(path, "oauth_client_id"), "OAuth client credentials are the helpscout-v2 mechanism; this upstream speaks another dialect");
    }
    let secret = cx.secret(
        path,
        "oauth_secret_env",
        a.oauth_secret_env.as_deref(),
        "oauth_secret_file",
        a.oauth_secret_file.as_deref(),
    );
    let token_path = a
        .token_path
        .unwrap_or_else(|| DEFAULT_TOKEN_PATH.to_string());
    if !token_path.starts_with('/') {
        cx.err(
            join(path, "token_path"),
            format!("\"{token_path}\" must start with '/'"),
        );
    }
    Some(UpstreamAuth::OAuth {
        client_id,
        secret: secret?,
        token_path,
    })
}

fn route(
    cx: &mut Cx,
    path: &str,
    r: RawRoute,
    clients: Option<RawClients>,
    upstreams: &HashMap<String, (usize, Arc<Upstream>)>,
    known_names: &HashMap<String, usize>,
) -> Option<Route> {
    let name = cx.name(&join(path, "name"), r.name.as_deref());
    let client = match r.client_dialect.as_deref().unwrap_or("auto") {
        "auto" => Some(None),
        other => match DialectId::parse(other) {
            Some(d) => Some(Some(d)),
            None => {
                cx.err(
                    join(path, "client_dialect"),
                    format!(
                        "unknown dialect \"{other}\" (expected auto or one of: {})",
                        dialect_list()
                    ),
                );
                None
            }
        },
    };
    let prefix = r.path_prefix.unwrap_or_else(|| "/".to_string());
    let prefix = if !prefix.starts_with('/') {
        cx.err(
            join(path, "path_prefix"),
            format!("\"{prefix}\" must start with '/'"),
        );
        None
    } else if prefix.contains(['?', '#', ' ']) || prefix.contains("//") {
        cx.err(
            join(path, "path_prefix"),
            format!("\"{prefix}\" is not a plain path"),
        );
        None
    } else {
        let p = prefix.trim_end_matches('/');
        Some(if p.is_empty() {
            "/".to_string()
        } else {
            p.to_string()
        })
    };
    let upstream = match r.upstream.as_deref() {
        None => {
            cx.err(join(path, "upstream"), "required");
            None
        }
        Some(u) => match upstreams.get(u) {
            Some((_, up)) => Some(up.clone()),
            // An upstream that exists but has its own errors was already reported.
            None if known_names.contains_key(u) => None,
            None => {
                cx.err(join(path, "upstream"), format!("no upstream named \"{u}\""));
                None
            }
        },
    };
    let unmappable = match r.unmappable.as_deref().unwrap_or("reject") {
        "reject" => Some(Unmappable::Reject),
        "drop" => Some(Unmappable::Drop),
        other => {
            cx.err(
                join(path, "unmappable"),
                format!("\"{other}\" is not one of reject|drop"),
            );
            None
        }
    };
    // Valid for both emails and phones in every dialect's enumeration.
    let entry = match r.default_entry_type.as_deref().unwrap_or("work") {
        "work" => Some("work"),
        "home" => Some("home"),
        "other" => Some("other"),
        other => {
            cx.err(
                join(path, "default_entry_type"),
                format!("\"{other}\" is not one of work|home|other (types valid for both emails and phones)"),
            );
            None
        }
    };
    let auth = match clients {
        None => Some(ClientAuth::default()),
        Some(c) => client_auth(
            cx,
            &join(path, "clients"),
            c,
            client.flatten(),
            client.is_some(),
        ),
    };
    if let (Some(Some(DialectId::Reach)), Some(up)) = (client, &upstream) {
        if up.dialect != DialectId::Reach {
            cx.warn(
                join(path, "client_dialect"),
                format!(
                    "reach clients use string external ids but {} needs positive integer customer ids: requests for other ids will be rejected",
                    up.dialect
                ),
            );
        }
    }
    Some(Route {
        name: name?,
        client: client?,
        path_prefix: prefix?,
        upstream: upstream?,
        unmappable: unmappable?,
        default_entry_type: entry?,
        clients: auth?,
    })
}

fn client_auth(
    cx: &mut Cx,
    path: &str,
    c: RawClients,
    client: Option<DialectId>,
    client_known: bool,
) -> Option<ClientAuth> {
    let mut ok = true;
    let mut auth = ClientAuth::default();
    let lists: [(&str, &Vec<String>, bool, bool); 4] = [
        ("bearer_env", &c.bearer_env, true, true),
        ("bearer_file", &c.bearer_file, true, false),
        ("basic_key_env", &c.basic_key_env, false, true),
        ("basic_key_file", &c.basic_key_file, false, false),
    ];
    for (key, list, bearer, env) in lists {
        for (j, v) in list.iter().enumerate() {
            let p = format!("{}[{j}]", join(path, key));
            let s = if env {
                cx.secret_env(&p, v)
            } else {
                cx.secret_file(&p, v)
            };
            match s {
                Some(s) if bearer => auth.bearer.push(s),
                Some(s) => auth.basic_keys.push(s),
                None => ok = false,
            }
        }
    }
    let opath = join(path, "oauth_clients");
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (j, o) in c.oauth_clients.into_iter().enumerate() {
        let p = format!("{opath}[{j}]");
        let id = match o.client_id {
            None => {
                cx.err(join(&p, "client_id"), "required");
                None
            }
            Some(id) if id.is_empty() => {
                cx.err(join(&p, "client_id"), "must not be empty");
                None
            }
            Some(id) => {
                if let Some(first) = ids.get(&id) {
                    cx.err(
                        join(&p, "client_id"),
                        format!("duplicate client_id \"{id}\" (first in {opath}[{first}])"),
                    );
                }
                ids.insert(id.clone(), j);
                Some(id)
            }
        };
        if o.secret_env.is_none() && o.secret_file.is_none() {
            cx.err(join(&p, "secret_file"), "required (or secret_env)");
        }
        let secret = cx.secret(
            &p,
            "secret_env",
            o.secret_env.as_deref(),
            "secret_file",
            o.secret_file.as_deref(),
        );
        match (id, secret) {
            (Some(client_id), Some(secret)) => {
                auth.oauth_clients.push(OAuthClient { client_id, secret })
            }
            _ => ok = false,
        }
    }
    if client_known
        && !auth.oauth_clients.is_empty()
        && client.is_some_and(|d| d != DialectId::HelpscoutV2)
    {
        cx.warn(opath, "only helpscout-v2 clients obtain tokens, and this route's client_dialect is not helpscout-v2");
    }
    ok.then_some(auth)
}

/// `[cluster]`: the Redis URL (never with a password in it), its secret, and the lock and
/// timeout settings.
fn cluster(cx: &mut Cx, c: RawCluster) -> Option<ClusterConf> {
    let url = match c.redis_url.as_deref() {
        None => {
            cx.err("cluster.redis_url", "required when [cluster] is present");
            None
        }
        Some(u) => match parse_redis_url(u) {
            Ok(ep) => Some((u.to_string(), ep)),
            Err(why) => {
                cx.err("cluster.redis_url", why);
                None
            }
        },
    };
    let password_given = c.password_env.is_some() || c.password_file.is_some();
    let password = cx.secret(
        "cluster",
        "password_env",
        c.password_env.as_deref(),
        "password_file",
        c.password_file.as_deref(),
    );
    let ca_file = match c.ca_file.as_deref() {
        None => Some(None),
        Some(f) => {
            if url.as_ref().is_some_and(|(_, ep)| !ep.tls) {
                cx.err(
                    "cluster.ca_file",
                    "only used with a rediss:// (TLS) redis_url",
                );
            }
            cx.readable("cluster.ca_file", f).map(Some)
        }
    };
    let fallback = match c.fallback.as_deref().unwrap_or("refuse") {
        "refuse" => Some(ClusterFallback::Refuse),
        "local" => Some(ClusterFallback::Local),
        other => {
            cx.err(
                "cluster.fallback",
                format!("\"{other}\" is not one of refuse|local"),
            );
            None
        }
    };
    let timeout = cx.int_in("cluster.timeout_ms", c.timeout_ms, 250, 10, 10_000);
    let lease = cx.int_in("cluster.lease_ms", c.lease_ms, 10_000, 300, 600_000);
    if lease < 3 * timeout {
        // Renewal runs every third of the lease; a call that may take a whole timeout must fit.
        cx.err(
            "cluster.lease_ms",
            format!("{lease} must be at least three times cluster.timeout_ms ({timeout})"),
        );
    }
    let key_prefix = c.key_prefix.unwrap_or_else(|| "patchbay".to_string());
    if key_prefix.is_empty() || !key_prefix.chars().all(|ch| name_char(ch) || ch == ':') {
        cx.err(
            "cluster.key_prefix",
            format!("\"{key_prefix}\" is not a valid prefix (letters, digits, '-', '_', '.', ':')"),
        );
    }
    let (url, endpoint) = url?;
    Some(ClusterConf {
        endpoint,
        url,
        password: if password_given {
            Some(password?)
        } else {
            None
        },
        ca_file: ca_file?,
        fallback: fallback?,
        timeout: Duration::from_millis(timeout as u64),
        lease: Duration::from_millis(lease as u64),
        key_prefix,
    })
}

/// `redis://[user@]host[:port][/db]` or `rediss://...`. A password in the URL is refused:
/// secrets are never written in the file (SPEC §5).
pub fn parse_redis_url(url: &str) -> Result<crate::cluster::resp::Endpoint, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("redis://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("rediss://") {
        (true, r)
    } else {
        return Err(format!(
            "\"{url}\" must start with redis:// or rediss:// (TLS)"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if rest.contains(['?', '#']) {
        return Err("query strings and fragments are not supported".into());
    }
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let username = match user {
        Some(u) if u.contains(':') => {
            return Err("a password in the URL is not allowed: set cluster.password_env or cluster.password_file".into())
        }
        Some("") => return Err("empty user name before '@'".into()),
        Some(u) => Some(u.to_string()),
        None => None,
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| "unterminated IPv6 address".to_string())?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected \"{after}\" after the address")),
        };
        (h.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => 6379,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("\"{p}\" is not a port"))?,
    };
    let db = match path.trim_start_matches('/') {
        "" => 0,
        d => d
            .parse::<u32>()
            .map_err(|_| format!("\"{d}\" is not a database number"))?,
    };
    Ok(crate::cluster::resp::Endpoint {
        tls,
        host,
        port,
        username,
        db,
    })
}
