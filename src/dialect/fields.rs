//! Field rows: what each dialect calls each canonical field, where the field sits in its
//! bodies and which value rule its vendor enforces, as data ([`FieldRow`] lists in the
//! [`Profile`]s), and the shared code derived from them: [`holds`], [`locate`] (an upstream
//! error's field name → canonical location), [`pointer_for`] (canonical location → the client's
//! JSON pointer), the name lookups the codecs use, and [`check_value`].
//!
//! A dialect's genuinely different grammar (v2 JSON-Patch paths, v1 entry ids, HelpCrunch's
//! joined `name`, Reach's `data` wrapper) stays in its folder; everything here is a lookup in the
//! rows, so a new field or dialect is a row, not a new match arm in four files.

use super::profile::{PointerStyle, Profile, PropertyPointer};
use super::{rules, Target};
use crate::canonical::{pointer_token, Coll, Field, Violation};

/// The canonical side of a field row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    /// A scalar field.
    Field(Field),
    /// A collection (the one slot of a single-slot dialect).
    Coll(Coll),
}

/// The rule a vendor enforces on a field's value, as far as the gateway checks it before
/// writing (the rest of a vendor's validation is the vendor's answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueRule {
    /// A string (or null) with no further rule.
    Text,
    /// A string of `min..=max` characters.
    Length {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// One of an enumeration.
    OneOf {
        /// The values.
        values: &'static [&'static str],
        /// Whether case is ignored.
        ignore_case: bool,
    },
    /// A boolean (or null).
    Boolean,
    /// An ISO 639-1 language code (HelpCrunch `locale`).
    Locale,
    /// UNIX seconds, as a number or a numeric string (HelpCrunch `firstSeen`).
    UnixSeconds,
    /// An RFC 3339 date-time (Reach `createdAt`).
    DateTime,
    /// An identifier that cannot be cleared (Reach `customerId`).
    RequiredId,
    /// A list of strings (address lines).
    Lines,
    /// A list of tag objects (HelpCrunch `tags`).
    Tags,
    /// Entries of a collection; their rules are the dialect's entry grammar.
    Entries,
}

/// One field of one dialect: its canonical field, its names on the wire and its value rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRow {
    /// The canonical field or collection.
    pub canon: Canon,
    /// The path of the member in a request body, below the wrapper (`firstName`,
    /// `address/city`); the client pointer is `/` + wrapper + this.
    pub wire: &'static str,
    /// Other names the vendor uses for the member in answers and error bodies (HelpCrunch
    /// answers `location/city` for the `city` it accepts; v2 embeds `social_profiles`).
    pub aliases: &'static [&'static str],
    /// The value rule.
    pub rule: ValueRule,
}

impl FieldRow {
    /// A scalar field row without aliases.
    pub const fn field(field: Field, wire: &'static str, rule: ValueRule) -> FieldRow {
        FieldRow {
            canon: Canon::Field(field),
            wire,
            aliases: &[],
            rule,
        }
    }

    /// A collection row without aliases.
    pub const fn coll(coll: Coll, wire: &'static str) -> FieldRow {
        FieldRow {
            canon: Canon::Coll(coll),
            wire,
            aliases: &[],
            rule: ValueRule::Entries,
        }
    }

    /// The row with other names the vendor uses for the member.
    pub const fn aka(self, aliases: &'static [&'static str]) -> FieldRow {
        FieldRow { aliases, ..self }
    }

    /// Whether the value is a list or collection, whose error paths go on into an item
    /// (`address/lines/0`, `emails/7/value`).
    fn has_items(&self) -> bool {
        matches!(
            self.rule,
            ValueRule::Entries | ValueRule::Lines | ValueRule::Tags
        )
    }

    /// Whether `tokens` (a pointer's tokens below the wrapper) are one of the row's names, or
    /// start with one when the value has items.
    fn named_by(&self, tokens: &[&str]) -> bool {
        std::iter::once(self.wire)
            .chain(self.aliases.iter().copied())
            .any(|name| {
                let n = name.split('/').count();
                let fits = if self.has_items() {
                    tokens.len() >= n
                } else {
                    tokens.len() == n
                };
                fits && name.split('/').eq(tokens[..n].iter().copied())
            })
    }
}

/// The row of a scalar field, when the dialect holds it.
pub fn field_row(p: &Profile, field: Field) -> Option<&'static FieldRow> {
    p.fields.iter().find(|r| r.canon == Canon::Field(field))
}

/// The row of a collection, when the dialect has a place for it.
pub fn coll_row(p: &Profile, coll: Coll) -> Option<&'static FieldRow> {
    p.fields.iter().find(|r| r.canon == Canon::Coll(coll))
}

/// Whether the dialect has a place for the scalar field.
pub fn holds(p: &Profile, field: Field) -> bool {
    field_row(p, field).is_some()
}

/// The request wire name (`wire`) of a scalar field.
pub fn field_wire(p: &Profile, field: Field) -> Option<&'static str> {
    field_row(p, field).map(|r| r.wire)
}

/// The scalar rows as `(wire name, field)`, in the profile's order.
pub fn scalar_fields(p: &'static Profile) -> impl Iterator<Item = (&'static str, Field)> {
    p.fields.iter().filter_map(|r| match r.canon {
        Canon::Field(f) => Some((r.wire, f)),
        Canon::Coll(_) => None,
    })
}

/// The scalar field whose request wire name is `wire` (the first row, for a joined name).
pub fn field_by_wire(p: &Profile, wire: &str) -> Option<Field> {
    p.fields.iter().find_map(|r| match r.canon {
        Canon::Field(f) if r.wire == wire => Some(f),
        _ => None,
    })
}

/// The collection whose request wire name is `wire`.
pub fn coll_by_wire(p: &Profile, wire: &str) -> Option<Coll> {
    p.fields.iter().find_map(|r| match r.canon {
        Canon::Coll(c) if r.wire == wire => Some(c),
        _ => None,
    })
}

/// The value rule of a scalar field the dialect holds.
pub fn rule_of(p: &Profile, field: Field) -> Option<ValueRule> {
    field_row(p, field).map(|r| r.rule)
}

/// Checks a string value against a row's rule: the string rules ([`ValueRule::Length`],
/// [`ValueRule::OneOf`]); the others are shapes the dialect's decoder checks while reading.
pub fn check_value(rule: ValueRule, s: &str, pointer: &str) -> Result<(), Violation> {
    match rule {
        ValueRule::Length { min, max } => rules::length(s, min, max, pointer),
        ValueRule::OneOf {
            values,
            ignore_case,
        } => rules::one_of(s, values, ignore_case, pointer),
        _ => Ok(()),
    }
}

/// The pointer prefix of the dialect's body members: empty, or `/data` for Reach.
fn body_prefix(p: &Profile) -> &'static str {
    match p.pointer_style {
        PointerStyle::Wrapped(w) => w.strip_suffix('/').unwrap_or(w),
        PointerStyle::PatchPath | PointerStyle::TopLevel => "",
    }
}

/// A pointer below the wrapper: `/` + wrapper + `rest`.
fn member(p: &Profile, rest: &str) -> String {
    let prefix = body_prefix(p);
    if prefix.is_empty() {
        format!("/{rest}")
    } else {
        format!("/{prefix}/{rest}")
    }
}

/// The client-facing name of a canonical location, as the dialect's errors write it (JSON
/// pointer): the row's wire name below the wrapper; a field or collection the dialect has no
/// row for by its canonical name, so the client still learns what failed.
pub fn pointer_for(p: &Profile, target: &Target) -> String {
    match target {
        Target::Field(f) => match field_row(p, *f) {
            Some(r) => member(p, r.wire),
            None => member(p, &pointer_token(f.as_str())),
        },
        Target::Coll(c, entry) => match coll_row(p, *c) {
            Some(r) => match entry {
                Some(id) if entries_by_id(p) => format!("{}/{id}", member(p, r.wire)),
                _ => member(p, r.wire),
            },
            None => member(p, &pointer_token(c.as_str())),
        },
        Target::Property(slug) => {
            let props = p.properties;
            match props.pointer {
                PropertyPointer::OwnDocument if slug.is_empty() => String::new(),
                PropertyPointer::OwnDocument => format!("/{}", pointer_token(slug)),
                PropertyPointer::Whole => member(p, props.wire),
                PropertyPointer::Child if slug.is_empty() => member(p, props.wire),
                PropertyPointer::Child => {
                    format!("{}/{}", member(p, props.wire), pointer_token(slug))
                }
            }
        }
    }
}

/// Whether an entry's position in an upstream error path is its id (v2), rather than its
/// index in the array the gateway sent (v1) or the one slot (HelpCrunch, Reach).
fn entries_by_id(p: &Profile) -> bool {
    !p.single_slot && !p.positional_entry_errors
}

/// Maps one of the dialect's upstream error field names (a JSON pointer, or a dotted path such
/// as `emails[1].value` or `data.email`) to a canonical location: a row's wire name or alias
/// (followed by an item path for lists and collections), the properties member, or a canonical
/// field name (what [`pointer_for`] writes for a field the dialect has no row for).
pub fn locate(p: &Profile, upstream_path: &str) -> Option<Target> {
    // A slash path without its leading slash (`emails/1`) is a pointer too, not a dotted path.
    let pointer = if !upstream_path.starts_with('/')
        && upstream_path.contains('/')
        && !upstream_path.contains(['.', '['])
    {
        format!("/{upstream_path}")
    } else {
        rules::undotted(upstream_path)
    };
    let mut tokens: Vec<&str> = pointer.strip_prefix('/')?.split('/').collect();
    let prefix = body_prefix(p);
    if !prefix.is_empty() && tokens.first() == Some(&prefix) {
        tokens.remove(0);
    }
    let head = *tokens.first()?;
    if p.has_properties && head == p.properties.wire {
        let slug = match tokens.get(1) {
            // An index names an item of a request array, not a slug.
            Some(t) if p.properties.pointer == PropertyPointer::Whole && is_index(t) => "",
            Some(t) => t,
            None => "",
        };
        return Some(Target::Property(unescape(slug)));
    }
    if let Some(row) = p.fields.iter().find(|r| r.named_by(&tokens)) {
        return Some(match row.canon {
            Canon::Field(f) => Target::Field(f),
            Canon::Coll(c) if p.single_slot => Target::Coll(c, Some(1)),
            Canon::Coll(c) if p.positional_entry_errors => Target::Coll(c, None),
            Canon::Coll(c) => Target::Coll(
                c,
                tokens
                    .get(1)
                    .filter(|t| rules::positive_id(t))
                    .and_then(|t| t.parse().ok()),
            ),
        });
    }
    // A member that only holds others (HelpCrunch's answer-only `location`, v2's `address`) is
    // no field of its own, even where a canonical name is spelled the same.
    let holds_others = p.fields.iter().any(|r| {
        std::iter::once(r.wire)
            .chain(r.aliases.iter().copied())
            .any(|name| name.split('/').next() == Some(head))
    });
    if tokens.len() > 1 || holds_others {
        return None;
    }
    Field::ALL
        .into_iter()
        .find(|f| f.as_str() == head)
        .map(Target::Field)
}

fn is_index(token: &str) -> bool {
    token.is_empty() || token.bytes().all(|b| b.is_ascii_digit())
}

fn unescape(token: &str) -> String {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~")
    } else {
        token.to_string()
    }
}
