//! Upstream errors back into the client's terms ([`map_upstream_error`]): each upstream field is
//! located in the canonical model and named by the change that produced it, or by the client
//! dialect's own pointer; messages naming a field by the upstream's name get the client's. The
//! same renaming serves the upstream's value rules run before sending ([`check_target`]).

use crate::canonical::{ApiError, Change, Coll, EntryUpdate, Op, Violation};
use crate::dialect::{dialect, rules, DialectId, Target};

/// The collection an entry op writes to.
fn op_coll(op: &Op) -> Option<Coll> {
    match op {
        Op::EntryAdd { coll, .. }
        | Op::EntryRemove { coll, .. }
        | Op::EntryUpdate(EntryUpdate { coll, .. })
        | Op::Primary { coll, .. } => Some(*coll),
        _ => None,
    }
}

/// The only change matching `pred`, if exactly one does.
fn only(changes: &[Change], pred: impl Fn(&Change) -> bool) -> Option<&Change> {
    let mut it = changes.iter().filter(|c| pred(c));
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// The change that produced the upstream field at `target`, when it can be known.
///
/// - An entry the upstream names by id (`emails/1002/value`) comes from the update or removal
///   of that id; toward a single slot (always id 1) from the slot's change.
/// - An id no change named is an entry the upstream created from an add (its fresh id, which
///   the gateway never saw): it is the add only when exactly one add went to that collection;
///   with several, which one is unknowable and the error is reported at the collection.
/// - A collection without an id (`emails`, `emails/value`: how Help Scout paths an add) comes
///   from the collection's only add, else from its only change; with several, at the
///   collection. (helpscout-v1's positional `emails[1]` is resolved before, by position: see
///   [`entry_position`].)
/// - Fields and properties come from the first change that sets them.
fn producing_change<'c>(changes: &'c [Change], target: &Target) -> Option<&'c Change> {
    match target {
        Target::Coll(coll, Some(id)) => changes
            .iter()
            .find(|c| match &c.op {
                Op::EntryUpdate(EntryUpdate { coll: k, id: i, .. })
                | Op::EntryRemove { coll: k, id: i } => k == coll && i == id,
                Op::Primary { coll: k, .. } => k == coll,
                _ => false,
            })
            .or_else(|| {
                only(
                    changes,
                    |c| matches!(&c.op, Op::EntryAdd { coll: k, .. } if k == coll),
                )
            }),
        Target::Coll(coll, None) => only(
            changes,
            |c| matches!(&c.op, Op::EntryAdd { coll: k, .. } if k == coll),
        )
        .or_else(|| only(changes, |c| op_coll(&c.op) == Some(*coll))),
        Target::Field(f) => changes
            .iter()
            .find(|c| matches!(&c.op, Op::Set { field, .. } if field == f)),
        Target::Property(s) => changes.iter().find(|c| match &c.op {
            Op::PropertySet { slug, .. } | Op::PropertyRemove { slug } => s.is_empty() || slug == s,
            _ => false,
        }),
    }
}

/// The position an upstream error gives an entry in the collection array of the gateway's own
/// request, for dialects whose entry errors are positional: helpscout-v1 `emails[1].value` is
/// the second entry of the `emails` array the gateway sent, and its encoder writes one array
/// element per entry change, in order.
fn entry_position(upstream: DialectId, upstream_path: &str) -> Option<usize> {
    if !upstream.profile().positional_entry_errors {
        return None;
    }
    let pointer = rules::undotted(upstream_path);
    let index = pointer.strip_prefix('/')?.split('/').nth(1)?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    index.parse().ok()
}

/// The field name a pointer ends in (`/data/customerId` → `customerId`, `address.city` →
/// `city`), unescaped.
fn last_name(pointer: &str) -> String {
    let name = pointer.rsplit(['/', '.']).next().unwrap_or(pointer);
    name.replace("~1", "/").replace("~0", "~")
}

/// Replaces the whole word `from` by `to` in `message` (`customerId is required` → `userId is
/// required`; `emailOptOut` is not touched when `from` is `email`).
fn rename_word(message: &str, from: &str, to: &str) -> String {
    if from.is_empty() || from == to || !message.contains(from) {
        return message.to_string();
    }
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        let whole = !before.is_some_and(ident) && !after.is_some_and(ident);
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Rewrites the upstream's name of a scalar field in a violation's message into the name the
/// client wrote (its origin): a HelpCrunch client is told `userId is required`, not Reach's
/// `customerId is required`. Only scalar fields are renamed: entry and property messages name
/// values, not fields.
fn client_words(v: &mut Violation, upstream_name: &str, client_pointer: &str) {
    v.message = rename_word(&v.message, upstream_name, &last_name(client_pointer));
}

/// Runs the upstream's value rules on resolved changes; messages that name a field use the
/// client's name for it.
pub(super) fn check_target(up: &dyn crate::dialect::Dialect, changes: &[Change]) -> Vec<Violation> {
    let mut violations = up.check_target(changes);
    for v in &mut violations {
        let field = changes.iter().find_map(|c| match &c.op {
            Op::Set { field, .. } if c.origin == v.pointer => Some(*field),
            _ => None,
        });
        if let Some(field) = field {
            let theirs = last_name(&up.pointer_for(&Target::Field(field)));
            let origin = v.pointer.clone();
            client_words(v, &theirs, &origin);
        }
    }
    violations
}

/// Rewrites an upstream's error so it names the client's fields: each violation's upstream
/// field is located in the canonical model, then named by the change that produced it (its
/// origin; see `producing_change`) or, when no change is known to have, by the client
/// dialect's own pointer for that location. A message naming a scalar field by the upstream's
/// name is rewritten to the client's name.
pub fn map_upstream_error(
    mut err: ApiError,
    upstream: DialectId,
    client: DialectId,
    changes: &[Change],
) -> ApiError {
    if upstream == client {
        return err;
    }
    let up = dialect(upstream);
    let cl = dialect(client);
    for v in &mut err.violations {
        if let Some(target) = up.locate(&v.pointer) {
            let theirs = last_name(&v.pointer);
            let producer = match (&target, entry_position(upstream, &v.pointer)) {
                (Target::Coll(coll, None), Some(i)) => changes
                    .iter()
                    .filter(|c| {
                        matches!(
                            &c.op,
                            Op::EntryAdd { coll: k, .. }
                                | Op::EntryRemove { coll: k, .. }
                                | Op::EntryUpdate(EntryUpdate { coll: k, .. }) if k == coll
                        )
                    })
                    .nth(i),
                _ => producing_change(changes, &target),
            };
            // Renamed only to a name the client knows: the field it wrote, or one its dialect
            // has (not `/data/job_title`, the canonical stand-in for a field it lacks).
            let renames = match target {
                Target::Field(f) => producer.is_some() || cl.holds(f),
                _ => false,
            };
            v.pointer = match producer {
                Some(c) => c.origin.to_string(),
                // An entry id no change named is one the client never saw: name the collection.
                None => match target {
                    Target::Coll(coll, Some(_)) if !changes.is_empty() => {
                        cl.pointer_for(&Target::Coll(coll, None))
                    }
                    _ => cl.pointer_for(&target),
                },
            };
            if renames {
                let ours = v.pointer.clone();
                client_words(v, &theirs, &ours);
            }
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Rule;

    fn add(value: &str, origin: &'static str) -> Change {
        Change::new(
            Op::EntryAdd {
                coll: Coll::Emails,
                kind: Some("work".into()),
                value: value.into(),
            },
            origin,
        )
    }

    fn update(id: u64, origin: &'static str) -> Change {
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Emails,
                id,
                kind: None,
                value: Some("x@example.com".into()),
            }),
            origin,
        )
    }

    fn origin_of(changes: &[Change], target: Target) -> Option<&str> {
        producing_change(changes, &target).map(|c| c.origin.as_ref())
    }

    #[test]
    fn entry_errors_name_the_change_of_that_entry() {
        let one_add = [add("a@example.com", "/emails/0"), update(1002, "/emails/1")];
        // The id names the update, not the add before it.
        assert_eq!(
            origin_of(&one_add, Target::Coll(Coll::Emails, Some(1002))),
            Some("/emails/1")
        );
        // A fresh id is the only add's; the collection itself too.
        assert_eq!(
            origin_of(&one_add, Target::Coll(Coll::Emails, Some(1777))),
            Some("/emails/0")
        );
        assert_eq!(
            origin_of(&one_add, Target::Coll(Coll::Emails, None)),
            Some("/emails/0")
        );
        // Two adds: unknowable.
        let two_adds = [
            add("a@example.com", "/emails/0"),
            add("b@example.com", "/emails/1"),
        ];
        assert_eq!(
            origin_of(&two_adds, Target::Coll(Coll::Emails, Some(1777))),
            None
        );
        assert_eq!(origin_of(&two_adds, Target::Coll(Coll::Emails, None)), None);
        // Phones are not e-mails.
        assert_eq!(origin_of(&one_add, Target::Coll(Coll::Phones, None)), None);
    }

    #[test]
    fn mapped_errors_fall_back_to_the_collection_for_unknown_ids() {
        let two_adds = [
            add("a@example.com", "/emails/0"),
            add("b@example.com", "/emails/1"),
        ];
        let err = ApiError::upstream(
            400,
            "Validation error",
            vec![Violation::new("emails/1777/value", Rule::Upstream, "bad")],
        );
        let mapped = map_upstream_error(
            err,
            DialectId::HelpscoutV2,
            DialectId::HelpscoutV1,
            &two_adds,
        );
        assert_eq!(mapped.violations[0].pointer, "/emails");
    }

    #[test]
    fn helpscout_v1_entry_errors_are_positional() {
        assert_eq!(
            entry_position(DialectId::HelpscoutV1, "emails[1].value"),
            Some(1)
        );
        assert_eq!(entry_position(DialectId::HelpscoutV1, "emails"), None);
        assert_eq!(entry_position(DialectId::HelpscoutV1, "address.city"), None);
        assert_eq!(
            entry_position(DialectId::HelpscoutV2, "emails/1/value"),
            None
        );
    }

    #[test]
    fn words_are_renamed_whole() {
        assert_eq!(
            rename_word("customerId is required", "customerId", "userId"),
            "userId is required"
        );
        assert_eq!(
            rename_word("email and emailOptOut, email.", "email", "mail"),
            "mail and emailOptOut, mail."
        );
        assert_eq!(rename_word("unchanged", "", "x"), "unchanged");
        assert_eq!(last_name("/data/customerId"), "customerId");
        assert_eq!(last_name("address.city"), "city");
        assert_eq!(last_name("/a~1b"), "a/b");
    }
}
