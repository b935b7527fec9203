//! Serde mirror of `gateway.toml`: the file exactly as written, no logic (STYLE rule 1).
//!
//! Every struct rejects unknown keys. Enumerated values (dialect ids, `unmappable`, entry types)
//! and numbers are kept loose here (strings, `i64`) so that the validation pass can report a
//! precise, friendly message with the key path instead of a serde type error.
//!
//! The validation pass walks the parsed TOML tree with each table's key list first, so that
//! *every* unknown key in the file is reported (serde stops at the first one). The lists are
//! not written by hand: [`Section::keys`] asks serde's own derive for the field names, so they
//! cannot drift from the structs.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

/// A table of the file: its serde type, whose field names are the keys it accepts.
pub trait Section: DeserializeOwned + Default {
    /// Every key the table accepts, in declaration order (the order error messages list them).
    fn keys() -> &'static [&'static str] {
        let mut keys: &'static [&'static str] = &[];
        // The derive hands its field list to `deserialize_struct` before reading anything;
        // `FieldNames` keeps that list and stops there, so the error is expected.
        let _ = Self::deserialize(FieldNames(&mut keys));
        keys
    }
}

/// A deserializer that holds no data: it records the field list a derived struct asks for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

/// Why [`FieldNames`] stopped: always, once it has the list (or the type is not a struct).
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
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

impl Section for RawConfig {}

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

impl Section for RawServer {}

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

impl Section for RawServerTls {}

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

impl Section for RawTokenKey {}

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

impl Section for RawSandbox {}

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

impl Section for RawUpstream {}

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

impl Section for RawUpstreamAuth {}

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

impl Section for RawRoute {}

/// `route.clients`: accepted client credentials.
#[derive(Debug, Default, Deserialize)]
// Every list may be left out (empty); `Default` is the empty list for each.
#[serde(default, deny_unknown_fields)]
pub struct RawClients {
    /// Environment variables each holding one accepted bearer token.
    pub bearer_env: Vec<String>,
    /// Files each holding one accepted bearer token.
    pub bearer_file: Vec<String>,
    /// Environment variables each holding one accepted Basic API key.
    pub basic_key_env: Vec<String>,
    /// Files each holding one accepted Basic API key.
    pub basic_key_file: Vec<String>,
    /// helpscout-v2 OAuth clients allowed to obtain gateway tokens.
    pub oauth_clients: Vec<RawOAuthClient>,
    /// Accepted client certificates (`server.tls.client_ca_file`), by subject common name or
    /// subject alternative name.
    pub cert_names: Vec<String>,
}

impl Section for RawClients {}

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

impl Section for RawOAuthClient {}

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

impl Section for RawCluster {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys serde accepts, read from its own "unknown field" message: an independent
    /// witness that [`Section::keys`] reads the same list the derive enforces.
    fn serde_keys<T: Section + std::fmt::Debug>() -> Vec<String> {
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

    fn check<T: Section + std::fmt::Debug>() {
        let keys: Vec<String> = T::keys().iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, serde_keys::<T>(), "{}", std::any::type_name::<T>());
    }

    #[test]
    fn keys_match_what_serde_accepts() {
        check::<RawConfig>();
        check::<RawServer>();
        check::<RawSandbox>();
        check::<RawUpstream>();
        check::<RawUpstreamAuth>();
        check::<RawRoute>();
        check::<RawClients>();
        check::<RawOAuthClient>();
        check::<RawCluster>();
        check::<RawTokenKey>();
        check::<RawServerTls>();
    }

    #[test]
    fn keys_keep_declaration_order() {
        assert_eq!(
            RawTokenKey::keys(),
            ["id", "secret_env", "secret_file"],
            "error messages list the keys as the file documents them"
        );
        assert_eq!(RawConfig::keys()[0], "server");
    }
}
