//! Route rows: each dialect's client endpoints as data ([`RouteRow`] lists in the
//! [`Profile`]s), and the one matcher that recognises them ([`route`]).
//!
//! The matcher keeps the answers the vendors give for paths that are almost right: a path that
//! is not one of the dialect's is 404 in the dialect's words; a path of the right shape with
//! the wrong method is 405 with `Allow` listing the methods of every row of that shape; the
//! method is checked before any id, so a wrong method on a bad id is still 405.

use super::fields;
use super::profile::Profile;
use super::{namespace_of, DialectId, Endpoint, EndpointKind, SubAction, SubResource};
use crate::canonical::{ApiError, Coll, ErrorKind, Rule, Violation};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// What a route row's endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// An update of the customer; `full` for full replacement.
    Update {
        /// Full replacement.
        full: bool,
    },
    /// Read the customer.
    Get,
    /// The properties endpoint.
    Properties,
    /// The token endpoint (answered by the gateway).
    Token,
    /// The entries of the `{coll}` in the path, one of them when the path has `{entry}`.
    Entries(SubAction),
    /// The address sub-resource.
    Address(SubAction),
}

impl RouteKind {
    /// The endpoint kind a request matching the row is, given the collection and entry id its
    /// path named; `None` for an entries row whose path named no collection.
    pub fn endpoint(self, coll: Option<Coll>, entry: Option<u64>) -> Option<EndpointKind> {
        Some(match self {
            RouteKind::Update { full } => EndpointKind::Update { full },
            RouteKind::Get => EndpointKind::Get,
            RouteKind::Properties => EndpointKind::Properties,
            RouteKind::Token => EndpointKind::Token,
            RouteKind::Entries(action) => EndpointKind::SubResource {
                sub: SubResource::Entries(coll?),
                entry,
                action,
            },
            RouteKind::Address(action) => EndpointKind::SubResource {
                sub: SubResource::Address,
                entry: None,
                action,
            },
        })
    }
}

/// One endpoint of a dialect: a method and a path pattern. Pattern segments are literals or
/// placeholders: `{id}` (the customer id, optionally followed by a literal suffix such as
/// `{id}.json`), `{coll}` (a collection by its wire name in the field rows) and `{entry}` (an
/// entry id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRow {
    /// The HTTP method.
    pub method: &'static str,
    /// The path pattern.
    pub path: &'static str,
    /// The endpoint.
    pub kind: RouteKind,
    /// The number of `/` in `path`, counted once when the table is built: a row of another
    /// depth than the request path cannot match and is skipped without comparing segments.
    depth: usize,
}

impl RouteRow {
    /// A row.
    pub const fn new(method: &'static str, path: &'static str, kind: RouteKind) -> RouteRow {
        let bytes = path.as_bytes();
        let (mut depth, mut i) = (0, 0);
        while i < bytes.len() {
            if bytes[i] == b'/' {
                depth += 1;
            }
            i += 1;
        }
        RouteRow {
            method,
            path,
            kind,
            depth,
        }
    }
}

/// How a dialect words the errors of its router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteErrors {
    /// The message of a 404.
    pub not_found: &'static str,
    /// The message of a 405; `{method}` and `{allowed}` are replaced.
    pub method_not_allowed: &'static str,
    /// Path ids that name vendor endpoints the gateway does not serve (HelpCrunch `batch`),
    /// answered 404 rather than as a malformed customer id.
    pub reserved_ids: &'static [&'static str],
}

/// What a path's placeholders captured.
#[derive(Default)]
struct Captures<'a> {
    id: Option<&'a str>,
    coll: Option<Coll>,
    entry: Option<&'a str>,
}

/// Matches `path` against a pattern's segments; `None` when the shape differs.
fn shape<'a>(p: &Profile, pattern: &str, path: &'a str) -> Option<Captures<'a>> {
    let mut caps = Captures::default();
    let mut want = segments(pattern);
    let mut have = segments(path);
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(caps),
            // A literal segment (most of them) is one comparison.
            (Some(w), Some(h)) if !w.starts_with('{') => {
                if w != h {
                    return None;
                }
            }
            (Some(w), Some(h)) => {
                if let Some(suffix) = w.strip_prefix("{id}") {
                    caps.id = Some(h.strip_suffix(suffix)?);
                } else if w == "{coll}" {
                    caps.coll = Some(fields::coll_by_wire(p, h)?);
                } else if w == "{entry}" {
                    caps.entry = Some(h).filter(|e| !e.is_empty());
                    caps.entry?;
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// `s` split at `/`, scanning bytes: `split('/')` sets up a `memchr` search per segment and a
/// char predicate decodes UTF-8, both of which cost more than scanning paths of a few dozen
/// bytes (`/` is ASCII, so every cut is at a char boundary).
fn segments(s: &str) -> Segments<'_> {
    Segments(Some(s))
}

/// The iterator of [`segments`]; `None` once the last segment was given.
struct Segments<'a>(Option<&'a str>);

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.0?;
        match s.bytes().position(|b| b == b'/') {
            Some(i) => {
                self.0 = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => {
                self.0 = None;
                Some(s)
            }
        }
    }
}

/// The number of `/` in a request path (see [`RouteRow::depth`]).
fn depth(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'/').count()
}

/// Whether the raw path id names a vendor endpoint the gateway does not serve. String ids are
/// compared decoded (Reach's `%62atch` is its batch endpoint); numeric ones as written.
fn reserved(p: &Profile, raw: &str) -> bool {
    let ids = p.route_errors.reserved_ids;
    if ids.contains(&raw) {
        return true;
    }
    p.id_kind == super::profile::IdKind::String
        && raw.contains('%')
        && percent_decode_str(raw)
            .decode_utf8()
            .is_ok_and(|id| ids.contains(&id.as_ref()))
}

/// Recognises one of the dialect's client endpoints in `path` (after the route prefix; no
/// query). `customer_id` validates and decodes the raw `{id}` in the vendor's own words.
pub fn route(
    id: DialectId,
    customer_id: fn(&str) -> Result<String, ApiError>,
    method: &str,
    path: &str,
) -> Result<Endpoint, ApiError> {
    let p = id.profile();
    let errors = p.route_errors;
    let not_found = || ApiError::new(ErrorKind::NotFound, errors.not_found);
    // Under a root two dialects share, the other one's paths (`/v1/….json`) are not ours.
    if namespace_of(path) != Some(id) {
        return Err(not_found());
    }
    let path_depth = depth(path);
    let rows = p.routes.iter().filter(|row| row.depth == path_depth);
    // The method first: the common request costs one segment comparison and no allocation;
    // the rows of other methods are only walked for the 405's `Allow`.
    let hit = rows
        .clone()
        .filter(|row| row.method == method)
        .find_map(|row| Some((row, shape(p, row.path, path)?)));
    let Some((row, caps)) = hit else {
        let mut allowed: Vec<&str> = Vec::new();
        for row in rows {
            let Some(caps) = shape(p, row.path, path) else {
                continue;
            };
            if caps.id.is_some_and(|raw| reserved(p, raw)) {
                return Err(not_found());
            }
            allowed.push(row.method);
        }
        if allowed.is_empty() {
            return Err(not_found());
        }
        let allowed = allowed.join(", ");
        let message = errors
            .method_not_allowed
            .replace("{method}", method)
            .replace("{allowed}", &allowed);
        return Err(ApiError::method_not_allowed(message, &allowed));
    };
    if caps.id.is_some_and(|raw| reserved(p, raw)) {
        return Err(not_found());
    }
    let entry = match (caps.coll, caps.entry) {
        (Some(coll), Some(raw)) => Some(entry_id(coll, raw)?),
        _ => None,
    };
    let kind = row.kind.endpoint(caps.coll, entry).ok_or_else(not_found)?;
    let customer_id = match caps.id {
        Some(raw) => customer_id(raw)?,
        None => String::new(),
    };
    Ok(Endpoint { kind, customer_id })
}

/// An entry id from a path; a 400 named like the equivalent patch path (`/emails/0`).
fn entry_id(coll: Coll, raw: &str) -> Result<u64, ApiError> {
    super::rules::positive_id(raw)
        .then(|| raw.parse().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid_one(
                Violation::new(
                    format!("/{}/{raw}", super::document::coll_key(coll)),
                    Rule::EntryId,
                    "Value is not a valid entity identifier.",
                )
                .with_value(Value::String(raw.to_string())),
            )
        })
}
