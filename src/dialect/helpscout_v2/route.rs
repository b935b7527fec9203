//! Help Scout v2 client paths: the customer id of an endpoint path (the endpoints themselves are
//! route rows of the profile) and the JSON-Patch path grammar (`/emails/{id}/value`,
//! `/address/city`, …) shared by the decoders.

use super::*;

/// A path of helpscout.md §2.4.1.
#[derive(Clone, Copy, Debug, PartialEq)]
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
            (Some(name), None) => address_fields()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| PatchPath::Field(f))
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
    entity_fields()
        .find(|(n, _)| *n == first)
        .map(|(_, f)| PatchPath::Field(f))
        .ok_or(PathError::Grammar)
}

pub(super) fn entry_id(s: &str) -> Option<u64> {
    if rules::positive_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// The customer id of a client path (the route rows are in the [`crate::dialect::Profile`]):
/// percent-decoded, a positive integer; a 400 naming `id` with the id as written otherwise.
pub(super) fn customer_id(raw_id: &str) -> Result<String, ApiError> {
    percent_decode_str(raw_id)
        .decode_utf8()
        .ok()
        .filter(|id| rules::positive_id(id))
        .map(Cow::into_owned)
        .ok_or_else(|| {
            ApiError::invalid_one(
                Violation::new(
                    "id",
                    Rule::CustomerId,
                    "Value is not a valid entity identifier.",
                )
                .with_value(Value::String(raw_id.to_string())),
            )
        })
}
