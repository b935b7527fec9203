//! The canonical customer and the change set every dialect decodes into (SPEC §2).
//!
//! A client request is decoded into a [`ChangeSet`]: an ordered list of [`Change`]s over one
//! canonical [`Customer`]. Every change remembers the JSON pointer of the client field it came from
//! ([`Change::origin`]), so an error discovered later — against the upstream's rules, or in the
//! upstream's own answer — is reported in the client's terms.
//!
//! The set of fields is closed ([`Field`], [`Coll`]): metric labels, mapping tables and fixtures
//! all enumerate it, and a dialect that cannot hold a field says so through
//! [`crate::dialect::Dialect::holds`].

mod customer;
mod error;
pub mod time;

pub use customer::{Address, Customer, Entry, Meta, Tag};
pub use error::{ApiError, ErrorKind, Rule, Violation};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// A scalar (non-collection) field of the canonical customer.
///
/// `Tags` and `AddressLines` carry arrays but are set and cleared as one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Company / organization name.
    Organization,
    /// Job title.
    JobTitle,
    /// Free-text notes (Help Scout `background`, HelpCrunch `notes`).
    Notes,
    /// Avatar URL.
    PhotoUrl,
    /// Avatar source.
    PhotoType,
    /// male / female / unknown.
    Gender,
    /// Free-text age ("30-35").
    Age,
    /// Free-text location.
    Location,
    /// Street lines of the address (array of strings).
    AddressLines,
    /// Address city.
    AddressCity,
    /// Address state / region.
    AddressState,
    /// Address postal code.
    AddressPostalCode,
    /// Address country.
    AddressCountry,
    /// The caller's own id for the customer (HelpCrunch `userId`, Reach `customerId`).
    ExternalId,
    /// Opted out of e-mail.
    EmailOptOut,
    /// Opted out of SMS.
    SmsOptOut,
    /// Blocked.
    Blocked,
    /// ISO 639-1 locale.
    Locale,
    /// Source URL.
    Source,
    /// Referer URL.
    Referer,
    /// Last page visited.
    LastPage,
    /// First seen, UNIX seconds as a decimal string.
    FirstSeen,
    /// Last seen, UNIX seconds as a decimal string.
    LastSeen,
    /// Channel the customer was created from.
    CreatedFrom,
    /// Integration id.
    IntegrationId,
    /// Tags: array of `{name, color?}`.
    Tags,
    /// Link to the customer in the caller's system.
    DetailUrl,
    /// RFC 3339 creation date of the customer (Reach `createdAt`).
    CreatedAt,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 30] = [
        Field::FirstName,
        Field::LastName,
        Field::Organization,
        Field::JobTitle,
        Field::Notes,
        Field::PhotoUrl,
        Field::PhotoType,
        Field::Gender,
        Field::Age,
        Field::Location,
        Field::AddressLines,
        Field::AddressCity,
        Field::AddressState,
        Field::AddressPostalCode,
        Field::AddressCountry,
        Field::ExternalId,
        Field::EmailOptOut,
        Field::SmsOptOut,
        Field::Blocked,
        Field::Locale,
        Field::Source,
        Field::Referer,
        Field::LastPage,
        Field::FirstSeen,
        Field::LastSeen,
        Field::CreatedFrom,
        Field::IntegrationId,
        Field::Tags,
        Field::DetailUrl,
        Field::CreatedAt,
    ];

    /// Stable snake_case name (metric label values, logs, fixtures).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Organization => "organization",
            Field::JobTitle => "job_title",
            Field::Notes => "notes",
            Field::PhotoUrl => "photo_url",
            Field::PhotoType => "photo_type",
            Field::Gender => "gender",
            Field::Age => "age",
            Field::Location => "location",
            Field::AddressLines => "address_lines",
            Field::AddressCity => "address_city",
            Field::AddressState => "address_state",
            Field::AddressPostalCode => "address_postal_code",
            Field::AddressCountry => "address_country",
            Field::ExternalId => "external_id",
            Field::EmailOptOut => "email_opt_out",
            Field::SmsOptOut => "sms_opt_out",
            Field::Blocked => "blocked",
            Field::Locale => "locale",
            Field::Source => "source",
            Field::Referer => "referer",
            Field::LastPage => "last_page",
            Field::FirstSeen => "first_seen",
            Field::LastSeen => "last_seen",
            Field::CreatedFrom => "created_from",
            Field::IntegrationId => "integration_id",
            Field::Tags => "tags",
            Field::DetailUrl => "detail_url",
            Field::CreatedAt => "created_at",
        }
    }
}

/// A multi-entry collection of the canonical customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coll {
    /// E-mail addresses.
    Emails,
    /// Phone numbers.
    Phones,
    /// Chat handles.
    Chats,
    /// Social profiles.
    SocialProfiles,
    /// Websites (no type).
    Websites,
}

impl Coll {
    /// Every collection.
    pub const ALL: [Coll; 5] = [
        Coll::Emails,
        Coll::Phones,
        Coll::Chats,
        Coll::SocialProfiles,
        Coll::Websites,
    ];

    /// Stable snake_case name (metric label values, logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Coll::Emails => "emails",
            Coll::Phones => "phones",
            Coll::Chats => "chats",
            Coll::SocialProfiles => "social_profiles",
            Coll::Websites => "websites",
        }
    }

    /// The Help Scout v2 enumeration of entry types (SPEC §1); `None` for websites (no type).
    pub fn v2_types(self) -> Option<&'static [&'static str]> {
        match self {
            Coll::Emails => Some(&["home", "other", "work"]),
            Coll::Phones => Some(&["fax", "home", "mobile", "other", "pager", "work"]),
            Coll::Chats => Some(&[
                "aim", "gtalk", "icq", "msn", "other", "qq", "skype", "xmpp", "yahoo",
            ]),
            Coll::SocialProfiles => Some(&V2_SOCIAL_TYPES),
            Coll::Websites => None,
        }
    }

    /// The Help Scout v1 enumeration (`location` for emails/phones, `type` for chats/social).
    pub fn v1_types(self) -> Option<&'static [&'static str]> {
        match self {
            Coll::SocialProfiles => Some(&V1_SOCIAL_TYPES),
            other => other.v2_types(),
        }
    }
}

/// Help Scout's social-profile types, in sorted order, with the one spelling the two API
/// versions disagree on: v2 documents (and accepts only) `forsquare`, v1 `foursquare`.
const fn social_types(foursquare: &'static str) -> [&'static str; 12] {
    [
        "aboutme",
        "facebook",
        "flickr",
        foursquare,
        "google",
        "googleplus",
        "linkedin",
        "other",
        "quora",
        "tungleme",
        "twitter",
        "youtube",
    ]
}

const V2_SOCIAL_TYPES: [&str; 12] = social_types("forsquare");
const V1_SOCIAL_TYPES: [&str; 12] = social_types("foursquare");

/// What one change does. `Set` with `Value::Null` clears the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Set (or, with `null`, clear) a scalar field.
    Set {
        /// The field.
        field: Field,
        /// The new value; `null` clears.
        value: Value,
    },
    /// Add a new entry to a collection.
    EntryAdd {
        /// The collection.
        coll: Coll,
        /// Entry type (`None` for websites, or when the client gave none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// Entry value.
        value: String,
    },
    /// Delete entry `id`.
    EntryRemove {
        /// The collection.
        coll: Coll,
        /// The entry id.
        id: u64,
    },
    /// Change the type and/or value of entry `id`.
    EntryUpdate(EntryUpdate),
    /// Single-slot semantics of HelpCrunch / Reach: "the customer's (first) e-mail or phone is
    /// this value" (`None` removes it). Only `Coll::Emails` and `Coll::Phones`.
    Primary {
        /// `Emails` or `Phones`.
        coll: Coll,
        /// The value; `None` clears the slot.
        value: Option<String>,
    },
    /// Set a custom property (Help Scout v2 properties, HelpCrunch customData).
    PropertySet {
        /// Property slug.
        slug: String,
        /// Scalar value.
        value: Value,
    },
    /// Remove a custom property value.
    PropertyRemove {
        /// Property slug.
        slug: String,
    },
}

/// The payload of [`Op::EntryUpdate`]: a named type because every stage (decode checks, slot
/// mapping, encoders, the customer store) takes the update apart the same way. Internally tagged
/// as a newtype variant it serialises exactly like the former struct variant
/// (`{"op":"entry_update","coll":…,"id":…}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryUpdate {
    /// The collection.
    pub coll: Coll,
    /// The entry id.
    pub id: u64,
    /// New type, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// New value, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One change and where in the client's body it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What to do.
    #[serde(flatten)]
    pub op: Op,
    /// JSON pointer (RFC 6901) into the client's request body, e.g. `/0/value` or `/data/email`.
    /// Most are a dialect's constants (`/email`, `/data/firstName`): borrowed, not copied, so a
    /// typical write allocates nothing for them.
    pub origin: Cow<'static, str>,
}

impl Change {
    /// Builds a change.
    pub fn new(op: Op, origin: impl Into<Cow<'static, str>>) -> Self {
        Change {
            op,
            origin: origin.into(),
        }
    }
}

/// The decoded meaning of one client write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    /// The changes, in the client's order.
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> Self {
        ChangeSet::default()
    }

    /// Appends a change.
    pub fn push(&mut self, op: Op, origin: impl Into<Cow<'static, str>>) {
        self.changes.push(Change::new(op, origin));
    }

    /// True when no change is present.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Escapes one reference token for a JSON pointer (RFC 6901 §3).
pub fn pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    // A byte test: both characters are ASCII (a `char` searcher decodes every character).
    if token.bytes().any(|b| b == b'~' || b == b'/') {
        std::borrow::Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Op::EntryUpdate` became a newtype variant over [`EntryUpdate`]; the wire form of a change
    /// (contract cases, logs) must not notice: tag first, then the payload's members in order,
    /// absent type/value left out.
    #[test]
    fn entry_update_serialises_like_a_struct_variant() {
        let change = |kind: Option<&str>, value: Option<&str>| {
            Change::new(
                Op::EntryUpdate(EntryUpdate {
                    coll: Coll::SocialProfiles,
                    id: 1234,
                    kind: kind.map(str::to_string),
                    value: value.map(str::to_string),
                }),
                "/socialProfiles/1234",
            )
        };
        let cases = [
            (
                change(Some("twitter"), Some("@x")),
                r#"{"op":"entry_update","coll":"social_profiles","id":1234,"kind":"twitter","value":"@x","origin":"/socialProfiles/1234"}"#,
            ),
            (
                change(None, Some("@x")),
                r#"{"op":"entry_update","coll":"social_profiles","id":1234,"value":"@x","origin":"/socialProfiles/1234"}"#,
            ),
            (
                change(Some("twitter"), None),
                r#"{"op":"entry_update","coll":"social_profiles","id":1234,"kind":"twitter","origin":"/socialProfiles/1234"}"#,
            ),
        ];
        for (change, json) in cases {
            assert_eq!(
                serde_json::to_string(&change).expect("a change serialises"),
                json
            );
            assert_eq!(
                serde_json::from_str::<Change>(json).expect("the wire form reads back"),
                change
            );
        }
    }

    /// The payload's members stay required where they were: a change without an id is refused.
    #[test]
    fn entry_update_without_id_is_refused() {
        let json = r#"{"op":"entry_update","coll":"emails","value":"a@b.c","origin":"/emails"}"#;
        assert!(serde_json::from_str::<Change>(json).is_err());
    }
}
