//! The validated, immutable runtime configuration: the only config type the proxy sees.
//!
//! A [`Snapshot`] is built once per (re)load by [`super::validate`] and shared behind an
//! `Arc`; a request loads it once and keeps it until it finishes, so it never sees two
//! configurations. Secrets are held in [`Secret`], which never prints its value.

use crate::dialect::{DialectId, PerDialect};
use crate::translate::Policy;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

// === Secret ===

/// A credential read at load time. `Debug`, `Display` and `Serialize` print `<redacted>`; the
/// value is only reachable through [`Secret::expose`], and comparisons are constant-time.
#[derive(Clone)]
pub struct Secret(Arc<str>);

/// What every secret prints as.
pub const REDACTED: &str = "<redacted>";

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }

    /// The value, for building an `Authorization` header or signing a token.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented credential. Both sides are hashed first so
    /// that neither the content nor the length of the secret leaks through timing.
    pub fn matches(&self, presented: &[u8]) -> bool {
        ct_eq(self.0.as_bytes(), presented)
    }
}

/// Constant-time equality of two byte strings of any length.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let da = Sha256::digest(a);
    let db = Sha256::digest(b);
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

// === Server ===

/// `[server]`, validated.
#[derive(Clone, Debug)]
pub struct ServerConf {
    /// Proxy listener (static).
    pub listen: SocketAddr,
    /// Admin listener (static).
    pub admin: SocketAddr,
    /// Pingora worker threads (static).
    pub threads: usize,
    /// Largest request body accepted; never above [`super::MAX_BODY_BYTES_CAP`].
    pub max_body_bytes: usize,
    /// Log level applied by reload.
    pub log_level: log::LevelFilter,
    /// Whether the access log is written.
    pub access_log: bool,
    /// Keys of the gateway's own helpscout-v2 OAuth tokens (at least one whenever a route has
    /// `oauth_clients`): the first signs new tokens, every one verifies.
    pub token_keys: Vec<TokenKey>,
    /// Lifetime of those tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Peers whose `X-Forwarded-For` names the client in the access log (empty: none).
    pub trusted_proxies: Vec<super::Cidr>,
    /// HTTPS on `listen` (static; the certificate files rotate without a restart).
    pub tls: Option<ListenerTls>,
}

/// `server.tls`, validated: the files were readable and made a usable pair when loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerTls {
    /// PEM certificate chain, leaf first (resolved against the config's directory).
    pub cert_file: PathBuf,
    /// PEM private key of the leaf.
    pub key_file: PathBuf,
    /// CAs whose client certificates are accepted; when set, every client must present one.
    pub client_ca_file: Option<PathBuf>,
}

/// One token-signing key. Its id travels in every token it signs, so verification picks the key
/// by id and a rotation can keep the previous keys verifying while the new one signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenKey {
    /// Key id (`default` for `server.token_secret_file` / `_env`).
    pub id: String,
    /// HMAC-SHA256 key.
    pub secret: Secret,
}

// === Sandbox ===

/// `[sandbox]` when enabled: addresses of the built-in reference backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxConf {
    /// Each dialect's backend address.
    pub addrs: PerDialect<SocketAddr>,
    /// The one credential every backend accepts (bearer token, Basic key, and the helpscout-v2
    /// OAuth client secret).
    pub secret: Secret,
    /// Certificate and key (PEM files) when the backends serve HTTPS, so that `https://`
    /// upstreams can be exercised against the sandbox too.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl SandboxConf {
    /// The backend address for a dialect.
    pub fn addr(&self, dialect: DialectId) -> SocketAddr {
        *self.addrs.get(dialect)
    }

    /// The `[sandbox]` key of a dialect's address (the id with `_` for `-`), without the
    /// `sandbox.` prefix.
    pub fn addr_key(dialect: DialectId) -> String {
        dialect.as_str().replace('-', "_")
    }
}

// === Upstream ===

/// How the gateway authenticates to an upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamAuth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer(Secret),
    /// HTTP Basic with the key as user name (helpscout-v1 style: `key:X`).
    BasicKey(Secret),
    /// OAuth client credentials: the gateway fetches, caches and refreshes a token.
    OAuth {
        /// Client id.
        client_id: String,
        /// Client secret.
        secret: Secret,
        /// Token endpoint path on the upstream (below its base path).
        token_path: String,
    },
}

impl UpstreamAuth {
    /// Stable name of the kind (`/config`, logs).
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamAuth::None => "none",
            UpstreamAuth::Bearer(_) => "bearer",
            UpstreamAuth::BasicKey(_) => "basic_key",
            UpstreamAuth::OAuth { .. } => "oauth",
        }
    }
}

/// One `[[upstream]]`, validated.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// Unique name (metric label).
    pub name: String,
    /// The dialect it speaks.
    pub dialect: DialectId,
    /// `https` scheme.
    pub tls: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path prefix prepended to every upstream path: empty or `/x` without a trailing slash.
    pub base_path: String,
    /// TLS server name (the host).
    pub sni: String,
    /// Credentials.
    pub auth: UpstreamAuth,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed for the answer (504 beyond it).
    pub read_timeout: Duration,
    /// The gateway's own limit; `None` = unlimited.
    pub rate_limit_per_minute: Option<u32>,
    /// Verify the certificate (https only; default true).
    pub tls_verify: bool,
    /// Most requests in flight toward this upstream (503 beyond it); `None` = unlimited.
    pub max_inflight: Option<u32>,
    /// Private CAs added to the platform roots that verify it (`ca_file`, https only).
    pub ca: Option<crate::tls::UpstreamCa>,
    /// [`Upstream::host_header`], built once: every upstream request carries it.
    pub host_value: String,
    /// The `Authorization` value of a static credential (`bearer`, `basic_key`), built once
    /// for the same reason; `None` for the others (OAuth tokens change).
    pub static_auth: Option<Secret>,
}

impl Upstream {
    /// Fills the values built once from the others ([`Upstream::host_value`],
    /// [`Upstream::static_auth`]).
    pub fn with_derived(mut self) -> Self {
        use base64::Engine as _;
        self.host_value = self.host_header();
        self.static_auth = match &self.auth {
            UpstreamAuth::Bearer(s) => Some(Secret::new(format!("Bearer {}", s.expose()))),
            UpstreamAuth::BasicKey(s) => Some(Secret::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:X", s.expose()))
            ))),
            UpstreamAuth::None | UpstreamAuth::OAuth { .. } => None,
        };
        self
    }

    /// `host:port` for `HttpPeer::new` (IPv6 hosts in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request path on the upstream for a dialect path (`/v1/customers/7`).
    pub fn path(&self, dialect_path: &str) -> String {
        format!("{}{}", self.base_path, dialect_path)
    }

    /// The `Host` header value (port omitted when it is the scheme's default).
    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The URL as configured, rebuilt from its parts.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host_header(), self.base_path)
    }
}

// === Route ===

/// A helpscout-v2 OAuth client allowed to obtain gateway tokens on a route.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    /// Client id (not secret).
    pub client_id: String,
    /// Client secret.
    pub secret: Secret,
}

/// Client credentials a route accepts. Empty = open route.
#[derive(Clone, Debug, Default)]
pub struct ClientAuth {
    /// Accepted bearer tokens.
    pub bearer: Vec<Secret>,
    /// Accepted HTTP Basic API keys (user name part).
    pub basic_keys: Vec<Secret>,
    /// OAuth clients for `POST /v2/oauth2/token`.
    pub oauth_clients: Vec<OAuthClient>,
    /// Accepted client certificates, by common name or subject alternative name (the
    /// listener's `client_ca_file` has verified the certificate itself).
    pub cert_names: Vec<String>,
}

impl ClientAuth {
    /// No credentials configured: anyone may call the route.
    pub fn is_open(&self) -> bool {
        self.bearer.is_empty()
            && self.basic_keys.is_empty()
            && self.oauth_clients.is_empty()
            && self.cert_names.is_empty()
    }

    /// Whether a presented bearer token is one of the configured ones. Every candidate is
    /// compared (no early exit) so timing does not reveal which one matched.
    pub fn accepts_bearer(&self, token: &str) -> bool {
        any_matches(&self.bearer, token)
    }

    /// Whether a presented Basic API key (the user name) is one of the configured ones.
    pub fn accepts_basic_key(&self, key: &str) -> bool {
        any_matches(&self.basic_keys, key)
    }

    /// Whether `client_id` + `secret` name a configured OAuth client.
    pub fn accepts_oauth_client(&self, client_id: &str, secret: &str) -> bool {
        self.oauth_clients.iter().fold(false, |ok, c| {
            // Both comparisons always run; the id is not secret but this keeps one code path.
            let id = ct_eq(c.client_id.as_bytes(), client_id.as_bytes());
            let sec = c.secret.matches(secret.as_bytes());
            ok | (id & sec)
        })
    }

    /// Whether the route issues gateway OAuth tokens (so it also accepts them as bearers).
    pub fn has_oauth_clients(&self) -> bool {
        !self.oauth_clients.is_empty()
    }
}

fn any_matches(list: &[Secret], presented: &str) -> bool {
    list.iter()
        .fold(false, |ok, s| ok | s.matches(presented.as_bytes()))
}

/// One `[[route]]`, validated.
#[derive(Clone, Debug)]
pub struct Route {
    /// Unique name (metric label).
    pub name: String,
    /// The client dialect; `None` = `auto` (detected per request).
    pub client: Option<DialectId>,
    /// Mount point: starts with `/`, no trailing slash except the root `/`.
    pub path_prefix: String,
    /// Where requests go.
    pub upstream: Arc<Upstream>,
    /// Unmappable-change policy.
    pub unmappable: Policy,
    /// Entry type for single-slot entries shown to multi-entry clients: work|home|other.
    pub default_entry_type: &'static str,
    /// Who may call the route.
    pub clients: ClientAuth,
}

impl Route {
    /// The path below the prefix (always starting with `/`) when `path` is under this route's
    /// prefix at a segment boundary (`/crm` matches `/crm/v1/…` but not `/crmx/…`).
    pub fn strip_prefix<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.path_prefix == "/" {
            return path.starts_with('/').then_some(path);
        }
        let rest = path.strip_prefix(self.path_prefix.as_str())?;
        if rest.is_empty() {
            Some("/")
        } else if rest.starts_with('/') {
            Some(rest)
        } else {
            None
        }
    }
}

// === Snapshot ===

/// The whole validated configuration of one generation.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// 1 for the first load, +1 per successful reload.
    pub generation: u64,
    /// The file it was read from.
    pub source: PathBuf,
    /// `[server]`.
    pub server: ServerConf,
    /// `[sandbox]` when enabled.
    pub sandbox: Option<SandboxConf>,
    /// Upstreams in file order.
    pub upstreams: Vec<Arc<Upstream>>,
    /// Routes in file order.
    pub routes: Vec<Route>,
    /// Indexes into `routes`, longest prefix first, file order among equal prefixes.
    pub(crate) match_order: Vec<usize>,
    /// `[cluster]` when present (static: a change needs a restart).
    pub cluster: Option<ClusterConf>,
    /// Every secret file read for this snapshot (resolved path, deduplicated) with its
    /// fingerprint taken just before the read: the watcher reloads when one changes, and a
    /// change between the fingerprint and the read is still seen as a change.
    pub(crate) secret_files: Vec<(PathBuf, super::reload::Fingerprint)>,
}

impl Snapshot {
    /// Routes whose prefix covers `path`, most specific first. The proxy takes the first one
    /// whose client dialect recognises the rest of the path.
    pub fn routes_for<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Route> + 'a {
        self.match_order
            .iter()
            .filter_map(|&i| self.routes.get(i))
            .filter(move |r| r.strip_prefix(path).is_some())
    }

    /// An upstream by name.
    pub fn upstream(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// A route by name.
    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name == name)
    }

    /// The effective configuration for `GET /config`: every value after defaults, secrets as
    /// `<redacted>`, with the generation.
    pub fn redacted_json(&self) -> Value {
        let s = &self.server;
        let server = json!({
            "listen": s.listen.to_string(),
            "admin": s.admin.to_string(),
            "threads": s.threads,
            "max_body_bytes": s.max_body_bytes,
            "log_level": s.log_level.as_str().to_ascii_lowercase(),
            "access_log": s.access_log,
            "token_keys": s.token_keys.iter().map(|k| json!({ "id": k.id, "secret": k.secret })).collect::<Vec<_>>(),
            "token_ttl_secs": s.token_ttl_secs,
            "trusted_proxies": s.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "tls": s.tls.as_ref().map(|t| json!({
                "cert_file": t.cert_file.display().to_string(),
                "key_file": t.key_file.display().to_string(),
                "client_ca_file": t.client_ca_file.as_ref().map(|p| p.display().to_string()),
            })),
        });
        let sandbox = self.sandbox.as_ref().map(|sb| {
            let mut m = serde_json::Map::new();
            for (d, addr) in sb.addrs.iter() {
                m.insert(SandboxConf::addr_key(d), Value::String(addr.to_string()));
            }
            m.insert("secret".into(), json!(sb.secret));
            Value::Object(m)
        });
        let upstreams: Vec<Value> = self.upstreams.iter().map(|u| upstream_json(u)).collect();
        let routes: Vec<Value> = self.routes.iter().map(route_json).collect();
        json!({
            "generation": self.generation,
            "source": self.source.display().to_string(),
            "server": server,
            "sandbox": sandbox,
            "upstreams": upstreams,
            "routes": routes,
            "cluster": self.cluster.as_ref().map(ClusterConf::redacted_json),
        })
    }
}

fn upstream_json(u: &Upstream) -> Value {
    let auth = match &u.auth {
        UpstreamAuth::None => json!({ "kind": "none" }),
        UpstreamAuth::Bearer(s) | UpstreamAuth::BasicKey(s) => {
            json!({ "kind": u.auth.kind(), "secret": s })
        }
        UpstreamAuth::OAuth {
            client_id,
            secret,
            token_path,
        } => json!({
            "kind": "oauth",
            "client_id": client_id,
            "secret": secret,
            "token_path": token_path,
        }),
    };
    json!({
        "name": u.name,
        "dialect": u.dialect.as_str(),
        "url": u.url(),
        "auth": auth,
        "connect_timeout_ms": u.connect_timeout.as_millis() as u64,
        "read_timeout_ms": u.read_timeout.as_millis() as u64,
        "rate_limit_per_minute": u.rate_limit_per_minute,
        "tls_verify": u.tls_verify,
        "max_inflight": u.max_inflight,
        "ca_file": u.ca.as_ref().map(|c| c.file.display().to_string()),
    })
}

fn route_json(r: &Route) -> Value {
    let c = &r.clients;
    let oauth: Vec<Value> = c
        .oauth_clients
        .iter()
        .map(|o| json!({ "client_id": o.client_id, "secret": o.secret }))
        .collect();
    json!({
        "name": r.name,
        "client_dialect": r.client.map_or("auto", DialectId::as_str),
        "path_prefix": r.path_prefix,
        "upstream": r.upstream.name,
        "unmappable": r.unmappable.as_str(),
        "default_entry_type": r.default_entry_type,
        "clients": {
            "open": c.is_open(),
            "bearer": c.bearer,
            "basic_keys": c.basic_keys,
            "oauth_clients": oauth,
            "cert_names": c.cert_names,
        },
    })
}

// === Cluster ===

/// What writes that need the cluster lock do while Redis is unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterFallback {
    /// Answer 503 in the client's dialect (the default: no lost update is possible).
    Refuse,
    /// Serialise inside this replica only, as without `[cluster]`.
    Local,
}

impl ClusterFallback {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterFallback::Refuse => "refuse",
            ClusterFallback::Local => "local",
        }
    }
}

/// `[cluster]`, validated: Redis shared by every replica (SPEC §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConf {
    /// Where Redis is (`redis_url` without any secret).
    pub endpoint: crate::cluster::resp::Endpoint,
    /// The URL as written (it never holds a password: validation refuses one).
    pub url: String,
    /// Password, from `password_env` / `password_file` (rotated live: read per connection).
    pub password: Option<Secret>,
    /// Private CA for `rediss://`.
    pub ca_file: Option<PathBuf>,
    /// Behaviour while Redis is unavailable.
    pub fallback: ClusterFallback,
    /// Deadline of every Redis call.
    pub timeout: Duration,
    /// Lifetime of a per-customer lease; renewed every third of it while the write runs.
    pub lease: Duration,
    /// Prefix of every key.
    pub key_prefix: String,
}

impl ClusterConf {
    /// The settings that only a restart applies (everything but the password, which is read
    /// again for every new connection).
    pub fn static_part(&self) -> impl PartialEq + '_ {
        (
            &self.endpoint,
            &self.ca_file,
            self.fallback,
            self.timeout,
            self.lease,
            &self.key_prefix,
        )
    }

    fn redacted_json(&self) -> Value {
        json!({
            "redis_url": self.url,
            "password": self.password,
            "ca_file": self.ca_file.as_ref().map(|p| p.display().to_string()),
            "fallback": self.fallback.as_str(),
            "timeout_ms": self.timeout.as_millis() as u64,
            "lease_ms": self.lease.as_millis() as u64,
            "key_prefix": self.key_prefix,
        })
    }
}
