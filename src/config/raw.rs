//! Serde mirror of `gateway.toml`: the file exactly as written, no logic (STYLE rule 1).
//!
//! Every struct rejects unknown keys. Enumerated values (dialect ids, `unmappable`, entry types)
//! and numbers are kept loose here (strings, `i64`) so that the validation pass can report a
//! precise, friendly message with the key path instead of a serde type error.
//!
//! Each struct also lists its keys in a `KEYS` constant: the validation pass walks the parsed
//! TOML tree with these lists first, so that *every* unknown key in the file is reported (serde
//! stops at the first one). A unit test keeps each list equal to what serde accepts.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A table of the file: its serde type plus the list of keys it accepts.
pub trait Section: DeserializeOwned + Default {
    /// Every key the table accepts.
    const KEYS: &'static [&'static str];
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`.
    #[serde(default)]
    pub server: RawServer,
    /// `[sandbox]`.
    pub sandbox: Option<RawSandbox>,
    /// `[[upstream]]`.
    #[serde(default)]
    pub upstream: Vec<RawUpstream>,
    /// `[[route]]`.
    #[serde(default)]
    pub route: Vec<RawRoute>,
    /// `[cluster]`.
    pub cluster: Option<RawCluster>,
}

impl Section for RawConfig {
    const KEYS: &'static [&'static str] = &["server", "sandbox", "upstream", "route", "cluster"];
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Proxy listener, `ip:port`.
    pub listen: Option<String>,
    /// Admin listener, `ip:port`.
    pub admin: Option<String>,
    /// Pingora worker threads.
    pub threads: Option<i64>,
    /// Largest request body accepted.
    pub max_body_bytes: Option<i64>,
    /// error|warn|info|debug.
    pub log_level: Option<String>,
    /// One JSON access-log line per request.
    pub access_log: Option<bool>,
    /// File holding the key that signs the gateway's own OAuth tokens.
    pub token_secret_file: Option<String>,
    /// Environment variable holding that key.
    pub token_secret_env: Option<String>,
    /// Token-signing keys with ids: the first signs, every one verifies (key rotation).
    pub token_keys: Option<Vec<RawTokenKey>>,
    /// Lifetime of the gateway's own OAuth tokens.
    pub token_ttl_secs: Option<i64>,
    /// Networks (CIDR) of the proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<String>>,
    /// HTTPS on `listen` (parsed on its own so its keys are reported at their own path).
    pub tls: Option<RawServerTls>,
}

impl Section for RawServer {
    const KEYS: &'static [&'static str] = &[
        "listen",
        "admin",
        "threads",
        "max_body_bytes",
        "log_level",
        "access_log",
        "token_secret_file",
        "token_secret_env",
        "token_keys",
        "token_ttl_secs",
        "trusted_proxies",
        "tls",
    ];
}

/// `server.tls`: the listener's certificate, key and optional client CA.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerTls {
    /// PEM certificate chain, leaf first.
    pub cert_file: Option<String>,
    /// PEM private key of the leaf.
    pub key_file: Option<String>,
    /// PEM bundle of the CAs whose client certificates are accepted (then required).
    pub client_ca_file: Option<String>,
}

impl Section for RawServerTls {
    const KEYS: &'static [&'static str] = &["cert_file", "key_file", "client_ca_file"];
}

/// One entry of `server.token_keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenKey {
    /// Key id, carried in every token the key signs.
    pub id: Option<String>,
    /// The key from an environment variable.
    pub secret_env: Option<String>,
    /// The key from a file.
    pub secret_file: Option<String>,
}

impl Section for RawTokenKey {
    const KEYS: &'static [&'static str] = &["id", "secret_env", "secret_file"];
}

/// `[sandbox]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSandbox {
    /// Start the built-in reference backends (default true when the table exists).
    pub enabled: Option<bool>,
    /// helpscout-v2 backend address.
    pub helpscout_v2: Option<String>,
    /// helpscout-v1 backend address.
    pub helpscout_v1: Option<String>,
    /// helpcrunch backend address.
    pub helpcrunch: Option<String>,
    /// reach backend address.
    pub reach: Option<String>,
    /// File with the one credential the backends accept.
    pub secret_file: Option<String>,
    /// Environment variable with that credential.
    pub secret_env: Option<String>,
    /// PEM certificate: when given (with `tls_key_file`), the backends serve HTTPS.
    pub tls_cert_file: Option<String>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<String>,
}

impl Section for RawSandbox {
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "helpscout_v2",
        "helpscout_v1",
        "helpcrunch",
        "reach",
        "secret_file",
        "secret_env",
        "tls_cert_file",
        "tls_key_file",
    ];
}

/// `[[upstream]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// Unique name routes refer to.
    pub name: Option<String>,
    /// Dialect id the upstream speaks.
    pub dialect: Option<String>,
    /// `http(s)://host[:port][/base-path]`.
    pub url: Option<String>,
    /// How the gateway authenticates to it.
    pub auth: Option<RawUpstreamAuth>,
    /// TCP connect timeout.
    pub connect_timeout_ms: Option<i64>,
    /// Time allowed for the answer.
    pub read_timeout_ms: Option<i64>,
    /// The gateway's own limit on requests sent to this upstream.
    pub rate_limit_per_minute: Option<i64>,
    /// Verify the upstream's certificate (https only).
    pub tls_verify: Option<bool>,
    /// Most requests the gateway has in flight toward this upstream at once.
    pub max_inflight: Option<i64>,
    /// PEM bundle of private CAs added to the roots that verify this upstream (https only).
    pub ca_file: Option<String>,
}

impl Section for RawUpstream {
    const KEYS: &'static [&'static str] = &[
        "name",
        "dialect",
        "url",
        "auth",
        "connect_timeout_ms",
        "read_timeout_ms",
        "rate_limit_per_minute",
        "tls_verify",
        "max_inflight",
        "ca_file",
    ];
}

/// `upstream.auth`: exactly one kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamAuth {
    /// Bearer token from an environment variable.
    pub bearer_env: Option<String>,
    /// Bearer token from a file.
    pub bearer_file: Option<String>,
    /// HTTP Basic API key (helpscout-v1) from an environment variable.
    pub basic_key_env: Option<String>,
    /// HTTP Basic API key from a file.
    pub basic_key_file: Option<String>,
    /// OAuth client-credentials client id.
    pub oauth_client_id: Option<String>,
    /// OAuth client secret from an environment variable.
    pub oauth_secret_env: Option<String>,
    /// OAuth client secret from a file.
    pub oauth_secret_file: Option<String>,
    /// Token endpoint path on the upstream.
    pub token_path: Option<String>,
}

impl Section for RawUpstreamAuth {
    const KEYS: &'static [&'static str] = &[
        "bearer_env",
        "bearer_file",
        "basic_key_env",
        "basic_key_file",
        "oauth_client_id",
        "oauth_secret_env",
        "oauth_secret_file",
        "token_path",
    ];
}

/// `[[route]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Unique name (metric label).
    pub name: Option<String>,
    /// A dialect id or `auto`.
    pub client_dialect: Option<String>,
    /// Path prefix the route is mounted under.
    pub path_prefix: Option<String>,
    /// Name of an `[[upstream]]`.
    pub upstream: Option<String>,
    /// reject|drop.
    pub unmappable: Option<String>,
    /// work|home|other.
    pub default_entry_type: Option<String>,
    /// Who may call the route; absent = open.
    pub clients: Option<RawClients>,
}

impl Section for RawRoute {
    const KEYS: &'static [&'static str] = &[
        "name",
        "client_dialect",
        "path_prefix",
        "upstream",
        "unmappable",
        "default_entry_type",
        "clients",
    ];
}

/// `route.clients`: accepted client credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    /// Environment variables each holding one accepted bearer token.
    #[serde(default)]
    pub bearer_env: Vec<String>,
    /// Files each holding one accepted bearer token.
    #[serde(default)]
    pub bearer_file: Vec<String>,
    /// Environment variables each holding one accepted Basic API key.
    #[serde(default)]
    pub basic_key_env: Vec<String>,
    /// Files each holding one accepted Basic API key.
    #[serde(default)]
    pub basic_key_file: Vec<String>,
    /// helpscout-v2 OAuth clients allowed to obtain gateway tokens.
    #[serde(default)]
    pub oauth_clients: Vec<RawOAuthClient>,
    /// Accepted client certificates (`server.tls.client_ca_file`), by subject common name or
    /// subject alternative name.
    #[serde(default)]
    pub cert_names: Vec<String>,
}

impl Section for RawClients {
    const KEYS: &'static [&'static str] = &[
        "bearer_env",
        "bearer_file",
        "basic_key_env",
        "basic_key_file",
        "oauth_clients",
        "cert_names",
    ];
}

/// One entry of `route.clients.oauth_clients`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuthClient {
    /// The client id.
    pub client_id: Option<String>,
    /// Its secret from an environment variable.
    pub secret_env: Option<String>,
    /// Its secret from a file.
    pub secret_file: Option<String>,
}

impl Section for RawOAuthClient {
    const KEYS: &'static [&'static str] = &["client_id", "secret_env", "secret_file"];
}

/// `[cluster]`: state shared by replicas through Redis.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// `redis://host:port[/db]` or `rediss://` (TLS); an ACL user name may precede the host.
    pub redis_url: Option<String>,
    /// Environment variable holding the Redis password.
    pub password_env: Option<String>,
    /// File holding the Redis password.
    pub password_file: Option<String>,
    /// PEM file with a private CA for `rediss://`.
    pub ca_file: Option<String>,
    /// `refuse` or `local`: what writes needing the lock do while Redis is unavailable.
    pub fallback: Option<String>,
    /// Deadline of every Redis call.
    pub timeout_ms: Option<i64>,
    /// Lifetime of a per-customer lease (renewed while the write runs).
    pub lease_ms: Option<i64>,
    /// Prefix of every key the gateway writes.
    pub key_prefix: Option<String>,
}

impl Section for RawCluster {
    const KEYS: &'static [&'static str] = &[
        "redis_url",
        "password_env",
        "password_file",
        "ca_file",
        "fallback",
        "timeout_ms",
        "lease_ms",
        "key_prefix",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys serde accepts, read from its own "unknown field" message, so the `KEYS`
    /// lists used for collect-all reporting can never drift from the structs.
    fn serde_keys<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
        let err = match toml::from_str::<T>("zz_not_a_key = 1") {
            Ok(v) => panic!("unknown key accepted: {v:?}"),
            Err(e) => e.message().to_string(),
        };
        let Some((_, list)) = err.split_once("expected one of ") else {
            // A struct with a single field says "expected `x`".
            let one = err.split_once("expected ").map(|x| x.1).unwrap_or_default();
            return vec![one.trim_matches('`').to_string()];
        };
        list.split(", ")
            .map(|k| k.trim().trim_matches('`').to_string())
            .collect()
    }

    fn check<T: serde::de::DeserializeOwned + std::fmt::Debug>(keys: &[&str]) {
        let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let mut got = serde_keys::<T>();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}", std::any::type_name::<T>());
    }

    #[test]
    fn keys_lists_match_serde() {
        check::<RawConfig>(<RawConfig as Section>::KEYS);
        check::<RawServer>(<RawServer as Section>::KEYS);
        check::<RawSandbox>(<RawSandbox as Section>::KEYS);
        check::<RawUpstream>(<RawUpstream as Section>::KEYS);
        check::<RawUpstreamAuth>(<RawUpstreamAuth as Section>::KEYS);
        check::<RawRoute>(<RawRoute as Section>::KEYS);
        check::<RawClients>(<RawClients as Section>::KEYS);
        check::<RawOAuthClient>(<RawOAuthClient as Section>::KEYS);
        check::<RawCluster>(<RawCluster as Section>::KEYS);
        check::<RawTokenKey>(<RawTokenKey as Section>::KEYS);
        check::<RawServerTls>(<RawServerTls as Section>::KEYS);
    }
}
