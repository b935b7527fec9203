//! `[[route]]`: prefix, dialects, unmappable policy and the client credentials accepted.

use super::{dialect_list, join, Cx};
use crate::config::raw::{RawClients, RawOAuthClient, RawRoute};
use crate::config::{ClientAuth, OAuthClient, Route, Upstream};
use crate::dialect::profile::IdKind;
use crate::dialect::DialectId;
use crate::translate::Policy;
use std::collections::HashMap;
use std::sync::Arc;
use toml::Table;

pub(super) fn raw_clients(cx: &mut Cx, t: &Table, path: &str) -> Option<RawClients> {
    let mut rest = t.clone();
    let oauth = rest.remove("oauth_clients");
    let mut clients = cx.section::<RawClients>(&rest, path);
    let list = match oauth {
        None => Some(Vec::new()),
        Some(v) => cx.section_array::<RawOAuthClient>(v, &join(path, "oauth_clients")),
    };
    match (clients.as_mut(), list) {
        (Some(c), Some(list)) => c.oauth_clients = list,
        _ => return None,
    }
    clients
}

pub(super) fn route(
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
    let unmappable = match r.unmappable.as_deref() {
        None => Some(Policy::default()),
        Some(other) => Policy::parse(other).or_else(|| {
            cx.err(
                join(path, "unmappable"),
                format!("\"{other}\" is not one of reject|drop"),
            );
            None
        }),
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
    if let (Some(Some(c)), Some(up)) = (client, &upstream) {
        if c.profile().id_kind == IdKind::String
            && up.dialect.profile().id_kind == IdKind::PositiveInteger
        {
            cx.warn(
                join(path, "client_dialect"),
                format!(
                    "{c} clients use string external ids but {} needs positive integer customer ids: requests for other ids will be rejected",
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

pub(super) fn client_auth(
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
    for (j, n) in c.cert_names.iter().enumerate() {
        if n.trim().is_empty() || n.trim() != n {
            cx.err(
                format!("{}[{j}]", join(path, "cert_names")),
                format!("\"{n}\" is not a certificate name (a common name or subject alternative name, without surrounding spaces)"),
            );
            ok = false;
        }
    }
    auth.cert_names = c.cert_names;
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
        let secret = cx.secret(&p, "secret", &o.secret_env, &o.secret_file);
        match (id, secret) {
            (Some(client_id), Some(secret)) => {
                auth.oauth_clients.push(OAuthClient { client_id, secret })
            }
            _ => ok = false,
        }
    }
    if client_known
        && !auth.oauth_clients.is_empty()
        && client.is_some_and(|d| d.profile().token_path.is_none())
    {
        let issuers = token_dialects();
        cx.warn(
            opath,
            format!("only {issuers} clients obtain tokens, and this route's client_dialect is not {issuers}"),
        );
    }
    ok.then_some(auth)
}

/// The dialects whose clients obtain tokens from a token endpoint, for messages
/// (`helpscout-v2`).
fn token_dialects() -> String {
    DialectId::ALL
        .into_iter()
        .filter(|d| d.profile().token_path.is_some())
        .map(DialectId::as_str)
        .collect::<Vec<_>>()
        .join(" or ")
}
