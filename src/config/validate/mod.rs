//! `gateway.toml` text → [`Snapshot`], collecting every problem with its key path.
//!
//! The pass never stops at the first problem (STYLE rule 2): the TOML tree is walked table by
//! table; unknown keys are reported one by one against each table's [`Section::keys`]; a value
//! of the wrong TOML type is reported at its own key (each key is tried alone when a table does
//! not deserialize); then values, cross-references, secrets and dialect facts are checked. A
//! snapshot is only built when no error was found. Warnings never block loading.
//!
//! This file holds the walk ([`build`], the whole-file check) and the [`Cx`] collector with
//! its value helpers; each section's own rules live in a submodule named after it, and
//! secret references in [`secrets`].

mod cluster;
mod route;
mod sandbox;
mod secrets;
mod server;
mod upstream;

use cluster::cluster;
use route::{raw_clients, route};
use sandbox::sandbox;
use server::{check_listeners, raw_server, server};
use upstream::upstream;

pub use upstream::parse_url;

use super::locate::line_col;
use super::raw::{
    RawClients, RawCluster, RawConfig, RawRoute, RawSandbox, RawServer, RawUpstream,
    RawUpstreamAuth, Section,
};
use super::snapshot::{Route, Snapshot, Upstream};
use super::{ConfigErrors, Loaded, Problem};
use crate::dialect::DialectId;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::{Table, Value};

/// Default proxy listener.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default admin listener.
pub const DEFAULT_ADMIN: &str = "127.0.0.1:9090";
/// Key id of the single key given by `server.token_secret_file` / `_env`.
pub const DEFAULT_TOKEN_KEY_ID: &str = "default";
/// Default OAuth token path on an upstream: the token endpoint of the dialect that issues
/// tokens (Help Scout v2's, from its profile).
pub const DEFAULT_TOKEN_PATH: &str = match crate::dialect::profile::HELPSCOUT_V2.token_path {
    Some(p) => p,
    None => panic!("the helpscout-v2 profile has a token endpoint"),
};

/// Collected problems plus where relative secret paths are resolved.
struct Cx {
    base_dir: PathBuf,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// `false` for `patchbay check --no-secrets`: references are checked, never read.
    read_secrets: bool,
    /// A reload (generation > 1) rather than a start or `patchbay check`: the running listener
    /// keeps its certificate whatever the files hold (its own watcher reloads them), so a
    /// listener pair that does not load only warns instead of refusing the whole file.
    reloading: bool,
    /// Secret files read so far, each once, with their fingerprint from before the read.
    secret_files: Vec<(PathBuf, super::reload::Fingerprint)>,
}

impl Cx {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::new(path, message));
    }

    /// A key the table at its path does not accept, with the ones it does.
    fn unknown_key<T: Section>(&mut self, path: impl Into<String>) {
        let known = T::keys().join(", ");
        self.err(path, format!("unknown key (expected one of: {known})"));
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(path, message));
    }

    /// An array of tables at `path`, each entry parsed as a section `T` and reported at its
    /// own index; `None` when the value is not an array or any entry failed.
    fn section_array<T: Section>(&mut self, value: Value, path: &str) -> Option<Vec<T>> {
        let Value::Array(items) = value else {
            let found = type_name(&value);
            self.err(path, format!("expected an array of tables, found {found}"));
            return None;
        };
        let mut list = Vec::new();
        let mut ok = true;
        for (j, v) in items.iter().enumerate() {
            let p = format!("{path}[{j}]");
            let parsed = match v {
                Value::Table(t) => self.section::<T>(t, &p),
                other => {
                    self.err(p, format!("expected a table, found {}", type_name(other)));
                    None
                }
            };
            match parsed {
                Some(x) => list.push(x),
                None => ok = false,
            }
        }
        ok.then_some(list)
    }

    /// Deserializes one table into its raw type, reporting every unknown key and every
    /// wrongly typed key separately. `None` when a known key has a bad value; unknown keys
    /// are reported but the known ones are still returned for validation.
    fn section<T: Section>(&mut self, table: &Table, path: &str) -> Option<T> {
        let mut clean = Table::new();
        for (k, v) in table {
            if T::keys().contains(&k.as_str()) {
                clean.insert(k.clone(), v.clone());
            } else {
                self.unknown_key::<T>(join(path, k));
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
        reloading: generation > 1,
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

/// Each `[[key]]` table as far as its raw form: the section `T` and its nested table `inner`
/// (parsed by `parse_inner` at its own path), `None` for an entry with errors or a duplicate
/// name. Names are kept in `names` even when the rest failed, so that references to a broken
/// entry are not reported twice.
fn raw_entries<T: Section, I>(
    cx: &mut Cx,
    doc: &Table,
    key: &str,
    inner: &str,
    names: &mut HashMap<String, usize>,
    parse_inner: impl Fn(&mut Cx, &Table, &str) -> Option<I>,
) -> Vec<(usize, Option<Parts<T, I>>)> {
    let mut out = Vec::new();
    for (i, t) in tables(cx, doc, key).into_iter().enumerate() {
        let Some(t) = t else { continue };
        let path = format!("{key}[{i}]");
        let dup = duplicate_name(cx, names, t, i, &path, key);
        let nested = table(cx, t, inner, &path).map(|n| parse_inner(cx, n, &join(&path, inner)));
        let mut rest = t.clone();
        rest.remove(inner);
        let parsed = match (cx.section::<T>(&rest, &path), nested) {
            _ if dup => None,
            (Some(r), None) => Some((r, None)),
            (Some(r), Some(Some(n))) => Some((r, Some(n))),
            _ => None,
        };
        out.push((i, parsed));
    }
    out
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

/// A table's raw section and its nested table's, when it has one.
type Parts<T, I> = (T, Option<I>);
/// An upstream table parsed into its raw parts.
type UpstreamParts = Parts<RawUpstream, RawUpstreamAuth>;
/// A route table parsed into its raw parts.
type RouteParts = Parts<RawRoute, RawClients>;

/// The whole check; `None` when something could not be built (errors were recorded).
fn check(cx: &mut Cx, doc: &Table, source: &Path, generation: u64) -> Option<Snapshot> {
    for k in doc.keys() {
        if !RawConfig::keys().contains(&k.as_str()) {
            cx.unknown_key::<RawConfig>(k.as_str());
        }
    }
    let raw_server = match table(cx, doc, "server", "") {
        Some(t) => raw_server(cx, t),
        None => Some(RawServer::default()),
    };
    let raw_sandbox = table(cx, doc, "sandbox", "").map(|t| cx.section::<RawSandbox>(t, "sandbox"));
    let raw_cluster = table(cx, doc, "cluster", "").map(|t| cx.section::<RawCluster>(t, "cluster"));

    // Upstreams and routes, parsed as far as their raw form; upstream names are kept even when
    // the rest failed, so routes pointing at a broken upstream are not reported twice.
    let mut upstream_names: HashMap<String, usize> = HashMap::new();
    let raw_upstreams: Vec<(usize, Option<UpstreamParts>)> = raw_entries(
        cx,
        doc,
        "upstream",
        "auth",
        &mut upstream_names,
        |cx, a, p| cx.section::<RawUpstreamAuth>(a, p),
    );
    let raw_routes: Vec<(usize, Option<RouteParts>)> = raw_entries(
        cx,
        doc,
        "route",
        "clients",
        &mut HashMap::new(),
        raw_clients,
    );

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
        let Some(u) = parsed.and_then(|(raw, auth)| upstream(cx, &path, raw, auth)) else {
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
        let client_ca = server
            .as_ref()
            .map(|s| s.tls.as_ref().is_some_and(|t| t.client_ca_file.is_some()));
        if !r.clients.cert_names.is_empty() && client_ca == Some(false) {
            cx.err(
                join(&path, "clients.cert_names"),
                "needs server.tls.client_ca_file: without it no client certificate is asked for",
            );
            all_routes_ok = false;
            continue;
        }
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
