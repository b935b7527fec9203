//! Help Scout v2 client endpoints: the customer, properties and sub-resource paths, and the
//! JSON-Patch path grammar (`/emails/{id}/value`, `/address/city`, …) shared by the decoders.

use super::*;
use crate::dialect::profile::HELPSCOUT_V2;
/// A path of helpscout.md §2.4.1.
#[derive(Debug, PartialEq)]
pub(super) enum PatchPath {
    Field(Field),
    Coll(Coll),
    Entry(Coll, u64),
    EntryValue(Coll, u64),
    EntryType(Coll, u64),
}

#[derive(Debug, PartialEq)]
pub(super) enum PathError {
    /// Outside the grammar.
    Grammar,
    /// Right shape, but the entry id is not a positive integer.
    EntryId,
}

pub(super) fn parse_path(path: &str) -> Result<PatchPath, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::Grammar)?;
    let mut segs = rest.split('/');
    let first = segs.next().unwrap_or_default();
    let (second, third, fourth) = (segs.next(), segs.next(), segs.next());
    if fourth.is_some() {
        return Err(PathError::Grammar);
    }
    if first == "address" {
        return match (second, third) {
            (Some(name), None) => ADDRESS_FIELDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| PatchPath::Field(*f))
                .ok_or(PathError::Grammar),
            _ => Err(PathError::Grammar),
        };
    }
    if let Some(coll) = coll_from_segment(first) {
        let Some(id) = second else {
            return Ok(PatchPath::Coll(coll));
        };
        let sub = match third {
            None => None,
            Some("value") => Some(false),
            Some("type") if coll != Coll::Websites => Some(true),
            Some(_) => return Err(PathError::Grammar),
        };
        let id = entry_id(id).ok_or(PathError::EntryId)?;
        return Ok(match sub {
            None => PatchPath::Entry(coll, id),
            Some(false) => PatchPath::EntryValue(coll, id),
            Some(true) => PatchPath::EntryType(coll, id),
        });
    }
    if second.is_some() {
        return Err(PathError::Grammar);
    }
    ENTITY_FIELDS
        .iter()
        .find(|(n, _)| *n == first)
        .map(|(_, f)| PatchPath::Field(*f))
        .ok_or(PathError::Grammar)
}

pub(super) fn entry_id(s: &str) -> Option<u64> {
    if rules::positive_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// What follows `/v2/customers/{id}` in a client path.
#[derive(Debug, PartialEq)]
pub(super) enum SubPath<'a> {
    /// Nothing: the customer itself.
    Customer,
    /// `/properties`.
    Properties,
    /// `/emails` (and the other collections).
    Collection(Coll),
    /// `/emails/{entryId}`, the id not yet validated.
    Entry(Coll, &'a str),
    /// `/address`.
    Address,
}

/// Parses the rest of a customer path (after `{id}/`; `None` when the path ends at the id);
/// `None` for shapes that are not endpoints (a trailing `/`, deeper paths): 404.
pub(super) fn sub_path(sub: Option<&str>) -> Option<SubPath<'_>> {
    let Some(sub) = sub else {
        return Some(SubPath::Customer);
    };
    match sub.split_once('/') {
        None => match sub {
            "properties" => Some(SubPath::Properties),
            "address" => Some(SubPath::Address),
            other => coll_from_segment(other).map(SubPath::Collection),
        },
        Some((coll, entry)) if !entry.is_empty() && !entry.contains('/') => {
            coll_from_segment(coll).map(|c| SubPath::Entry(c, entry))
        }
        Some(_) => None,
    }
}

pub(super) fn route(method: &str, path: &str) -> Result<Endpoint, ApiError> {
    let not_found = || ApiError::new(ErrorKind::NotFound, "Not found");
    let method_not_allowed = |allowed: &str| {
        ApiError::method_not_allowed(
            format!("Method {method} not allowed; allowed: {allowed}"),
            allowed,
        )
    };
    if HELPSCOUT_V2.token_path == Some(path) {
        return if method == "POST" {
            Ok(Endpoint {
                kind: EndpointKind::Token,
                customer_id: String::new(),
            })
        } else {
            Err(method_not_allowed("POST"))
        };
    }
    let rest = path.strip_prefix("/v2/").ok_or_else(not_found)?;
    let rest = rest.strip_prefix("customers/").ok_or_else(not_found)?;
    let (raw_id, sub) = match rest.split_once('/') {
        None => (rest, None),
        Some((id, sub)) => (id, Some(sub)),
    };
    // The method is checked (405) before either id (400), on every path shape.
    let kind = match (sub_path(sub).ok_or_else(not_found)?, method) {
        (SubPath::Customer, "PATCH") => EndpointKind::Update { full: false },
        (SubPath::Customer, "PUT") => EndpointKind::Update { full: true },
        (SubPath::Customer, "GET") => EndpointKind::Get,
        (SubPath::Customer, _) => return Err(method_not_allowed("GET, PATCH, PUT")),
        (SubPath::Properties, "PATCH") => EndpointKind::Properties,
        (SubPath::Properties, _) => return Err(method_not_allowed("PATCH")),
        (SubPath::Collection(coll), "POST") => EndpointKind::SubResource {
            sub: SubResource::Entries(coll),
            entry: None,
            action: SubAction::Create,
        },
        (SubPath::Collection(_), _) => return Err(method_not_allowed("POST")),
        (SubPath::Entry(coll, raw_entry), "PUT" | "DELETE") => {
            // The entry id is named like the equivalent patch path (`/emails/0`).
            let entry = entry_id(raw_entry).ok_or_else(|| {
                ApiError::invalid_one(
                    Violation::new(
                        format!("/{}/{raw_entry}", document::coll_key(coll)),
                        Rule::EntryId,
                        "Value is not a valid entity identifier.",
                    )
                    .with_value(Value::String(raw_entry.to_string())),
                )
            })?;
            EndpointKind::SubResource {
                sub: SubResource::Entries(coll),
                entry: Some(entry),
                action: if method == "PUT" {
                    SubAction::Update
                } else {
                    SubAction::Delete
                },
            }
        }
        (SubPath::Entry(..), _) => return Err(method_not_allowed("PUT, DELETE")),
        (SubPath::Address, "POST" | "PUT" | "DELETE") => EndpointKind::SubResource {
            sub: SubResource::Address,
            entry: None,
            action: match method {
                "POST" => SubAction::Create,
                "PUT" => SubAction::Update,
                _ => SubAction::Delete,
            },
        },
        (SubPath::Address, _) => return Err(method_not_allowed("POST, PUT, DELETE")),
    };
    let id = percent_decode_str(raw_id)
        .decode_utf8()
        .ok()
        .filter(|id| rules::positive_id(id))
        .ok_or_else(|| {
            ApiError::invalid_one(
                Violation::new(
                    "id",
                    Rule::CustomerId,
                    "Value is not a valid entity identifier.",
                )
                .with_value(Value::String(raw_id.to_string())),
            )
        })?;
    Ok(Endpoint {
        kind,
        customer_id: id.into_owned(),
    })
}
