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
    // A scalar field's patch path is its wire name in the profile (`firstName`, `address/city`),
    // so one look-up in the rows recognises both levels.
    if let Some(field) = super::fields::field_by_wire(&profile::HELPSCOUT_V2, rest) {
        return Ok(PatchPath::Field(field));
    }
    let (first, tail) = match split_slash(rest) {
        Some((first, tail)) => (first, Some(tail)),
        None => (rest, None),
    };
    let coll = coll_from_segment(first).ok_or(PathError::Grammar)?;
    let Some(tail) = tail else {
        return Ok(PatchPath::Coll(coll));
    };
    // The member below the entry is checked before the id: a wrong shape is a grammar error
    // whatever the id.
    let (id, sub) = match split_slash(tail) {
        None => (tail, None),
        Some((id, "value")) => (id, Some(false)),
        Some((id, "type")) if coll != Coll::Websites => (id, Some(true)),
        Some(_) => return Err(PathError::Grammar),
    };
    let id = entry_id(id).ok_or(PathError::EntryId)?;
    Ok(match sub {
        None => PatchPath::Entry(coll, id),
        Some(false) => PatchPath::EntryValue(coll, id),
        Some(true) => PatchPath::EntryType(coll, id),
    })
}

/// `split_once('/')` by a byte search: the char searcher's set-up cost more than scanning the
/// few bytes of a patch path (`/` is ASCII, so the cut is at a character boundary).
fn split_slash(s: &str) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == b'/')?;
    Some((&s[..i], &s[i + 1..]))
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
    // Without a `%` the decoded id is the id as written (every well-formed id): the decoder's
    // byte-by-byte walk and UTF-8 check are skipped.
    let decoded = if raw_id.as_bytes().contains(&b'%') {
        percent_decode_str(raw_id).decode_utf8().ok()
    } else {
        Some(Cow::Borrowed(raw_id))
    };
    decoded
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
