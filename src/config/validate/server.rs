//! `[server]`: listeners, limits, log level, trusted proxies and the token-signing keys.

use super::{join, type_name, Cx, DEFAULT_ADMIN, DEFAULT_LISTEN, DEFAULT_TOKEN_KEY_ID};
use crate::config::raw::{RawServer, RawServerTls, RawTokenKey};
use crate::config::{ListenerTls, SandboxConf, ServerConf, TokenKey, MAX_BODY_BYTES_CAP};
use std::collections::HashMap;
use toml::{Table, Value};

/// `[server]` as far as its raw form; `token_keys` (an array of tables) is parsed entry by
/// entry so that each entry's unknown or mistyped keys are reported at their own path.
pub(super) fn raw_server(cx: &mut Cx, t: &Table) -> Option<RawServer> {
    let mut rest = t.clone();
    let keys = rest.remove("token_keys");
    let tls = rest.remove("tls");
    let mut server = cx.section::<RawServer>(&rest, "server");
    match tls {
        None => {}
        Some(Value::Table(tt)) => match cx.section::<RawServerTls>(&tt, "server.tls") {
            Some(raw) => {
                if let Some(s) = server.as_mut() {
                    s.tls = Some(raw);
                }
            }
            None => server = None,
        },
        Some(other) => {
            cx.err(
                "server.tls",
                format!("expected a table, found {}", type_name(&other)),
            );
            server = None;
        }
    }
    let Some(keys) = keys else { return server };
    let list = cx.section_array::<RawTokenKey>(keys, "server.token_keys");
    match (server.as_mut(), list) {
        (Some(s), Some(list)) => s.token_keys = Some(list),
        _ => return None,
    }
    server
}

/// The token-signing keys: `token_keys`, or the single key of `token_secret_file` / `_env`
/// (id `default`). `None` when errors were recorded.
pub(super) fn token_keys(
    cx: &mut Cx,
    s: &RawServer,
    oauth_route: Option<usize>,
) -> Option<Vec<TokenKey>> {
    let single_given = s.token_secret_env.is_some() || s.token_secret_file.is_some();
    let single = cx.secret(
        "server",
        "token_secret",
        &s.token_secret_env,
        &s.token_secret_file,
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
        let secret = cx.secret(&p, "secret", &k.secret_env, &k.secret_file);
        match (id, secret) {
            (Some(id), Some(secret)) => keys.push(TokenKey { id, secret }),
            _ => ok = false,
        }
    }
    ok.then_some(keys)
}

pub(super) fn server(cx: &mut Cx, s: RawServer, oauth_route: Option<usize>) -> Option<ServerConf> {
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
        match crate::config::Cidr::parse(net.trim()) {
            Ok(n) => trusted_proxies.push(n),
            Err(m) => cx.err(format!("server.trusted_proxies[{i}]"), m),
        }
    }
    let tls = match s.tls {
        None => Some(None),
        Some(t) => listener_tls(cx, t).map(Some),
    };
    Some(ServerConf {
        tls: tls?,
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

/// `server.tls`: both files required; the pair (and the client CA bundle) must load, so that
/// `patchbay check` and the start refuse what the listener could not serve (a reload only
/// warns about the pair: see [`Cx::reloading`]). Under `--no-secrets` (a CI job without the
/// key material) only the shape is checked.
fn listener_tls(cx: &mut Cx, t: RawServerTls) -> Option<ListenerTls> {
    let file = |cx: &mut Cx, key: &str, v: Option<String>, required: bool| match v {
        None if required => {
            cx.err(format!("server.tls.{key}"), "required");
            None
        }
        None => Some(None),
        Some(f) if f.is_empty() => {
            cx.err(format!("server.tls.{key}"), "empty file name");
            None
        }
        Some(f) => Some(Some(cx.base_dir.join(f))),
    };
    let cert = file(cx, "cert_file", t.cert_file, true);
    let key = file(cx, "key_file", t.key_file, true);
    let ca = file(cx, "client_ca_file", t.client_ca_file, false);
    let (cert, key, ca) = (cert.flatten()?, key.flatten()?, ca?);
    if cx.read_secrets {
        let mut ok = true;
        if let Err(e) = crate::tls::load_pair(&cert, &key) {
            // Which file is at fault is in the message; the key path names the pair.
            if cx.reloading {
                // A rotation caught half-way must not block an unrelated config change: the
                // listener keeps serving its pair and its watcher refuses (and counts) this one.
                cx.warn(
                    "server.tls.cert_file",
                    format!("{e} (the listener keeps serving its current certificate)"),
                );
            } else {
                cx.err("server.tls.cert_file", e);
                ok = false;
            }
        }
        if let Some(ca) = &ca {
            if let Err(e) = crate::tls::load_certs(ca) {
                cx.err("server.tls.client_ca_file", e);
                ok = false;
            }
        }
        if !ok {
            return None;
        }
    }
    Some(ListenerTls {
        cert_file: cert,
        key_file: key,
        client_ca_file: ca,
    })
}

/// Two listeners on one address would fail at bind time; say so now, with both keys.
pub(super) fn check_listeners(cx: &mut Cx, s: &ServerConf, sb: Option<&SandboxConf>) {
    let mut all = vec![
        ("server.listen".to_string(), s.listen),
        ("server.admin".to_string(), s.admin),
    ];
    if let Some(sb) = sb {
        for (d, addr) in sb.addrs.iter() {
            all.push((format!("sandbox.{}", SandboxConf::addr_key(d)), *addr));
        }
    }
    for (i, (key, addr)) in all.iter().enumerate() {
        // Port 0 asks the OS for a fresh port each time: never a clash.
        if addr.port() == 0 {
            continue;
        }
        if let Some((first, _)) = all.iter().take(i).find(|(_, a)| a == addr) {
            cx.err(
                key.as_str(),
                format!("address {addr} is already used by {first}"),
            );
        }
    }
}
