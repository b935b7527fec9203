//! `[[upstream]]`: URL, dialect, timeouts, limits and the credentials the gateway sends.

use super::{dialect, join, Cx, DEFAULT_TOKEN_PATH};
use crate::config::raw::{RawUpstream, RawUpstreamAuth};
use crate::config::{Upstream, UpstreamAuth};
use crate::dialect::profile::Auth;
use crate::dialect::DialectId;
use std::time::Duration;

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

pub(super) fn upstream(
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
    let ca = match u.ca_file.as_deref() {
        None => Some(None),
        Some("") => {
            cx.err(join(path, "ca_file"), "empty file name");
            None
        }
        Some(_) if !tls => {
            cx.err(
                join(path, "ca_file"),
                "only valid with an https upstream URL",
            );
            None
        }
        Some(f) => {
            if u.tls_verify == Some(false) {
                cx.warn(
                    join(path, "ca_file"),
                    "ignored: tls_verify = false verifies nothing",
                );
            }
            let full = cx.base_dir.join(f);
            if !cx.read_secrets {
                // `--no-secrets`: a CI job may not have the bundle (it often ships in the Secret).
                Some(None)
            } else {
                // Watched like a secret file: a rotated bundle reloads the configuration.
                if !cx.secret_files.iter().any(|(p, _)| *p == full) {
                    let fp = crate::config::reload::fingerprint(&full);
                    cx.secret_files.push((full.clone(), fp));
                }
                match crate::tls::upstream_ca(&full) {
                    Ok(ca) => Some(Some(ca)),
                    Err(e) => {
                        cx.err(join(path, "ca_file"), e);
                        None
                    }
                }
            }
        }
    };
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
    Some(
        Upstream {
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
            ca: ca?,
            host_value: String::new(),
            static_auth: None,
        }
        .with_derived(),
    )
}

pub(super) fn upstream_auth(
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
    // Exactly one of the five is set (checked above), so `secret` never sees both halves.
    if a.bearer_env.is_some() || a.bearer_file.is_some() {
        let secret = cx.secret(path, "bearer", &a.bearer_env, &a.bearer_file);
        return secret.map(UpstreamAuth::Bearer);
    }
    if a.basic_key_env.is_some() || a.basic_key_file.is_some() {
        let secret = cx.secret(path, "basic_key", &a.basic_key_env, &a.basic_key_file);
        return secret.map(UpstreamAuth::BasicKey);
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
    if dialect.is_some_and(|d| d.profile().auth != Auth::OAuthClientCredentials) {
        cx.warn(join(path, "oauth_client_id"), "OAuth client credentials are the helpscout-v2 mechanism; this upstream speaks another dialect");
    }
    let secret = cx.secret(
        path,
        "oauth_secret",
        &a.oauth_secret_env,
        &a.oauth_secret_file,
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
