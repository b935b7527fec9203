//! `[cluster]`: the Redis endpoint (URL without password), its secret, lease and fallback.

use super::{name_char, Cx};
use crate::config::raw::RawCluster;
use crate::config::{ClusterConf, ClusterFallback};
use std::time::Duration;

/// `[cluster]`: the Redis URL (never with a password in it), its secret, and the lock and
/// timeout settings.
pub(super) fn cluster(cx: &mut Cx, c: RawCluster) -> Option<ClusterConf> {
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
    let password = cx.secret("cluster", "password", &c.password_env, &c.password_file);
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
