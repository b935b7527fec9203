//! The vendor facts of each dialect as data: one [`Profile`] `const` per dialect, reached by
//! [`DialectId::profile`].
//!
//! Code outside `src/dialect/` (planner, proxy, sandbox, config checks, metrics) asks the profile
//! what a vendor does — its id kind, its auth scheme, the headers it alone receives — instead of
//! matching on [`DialectId`] variants, so a new dialect is one more `const` here plus its codec
//! folder, not a match arm at each user. `Profile` deliberately has no `Default`: a dialect that
//! forgets a capability does not compile.

use super::fields::{FieldRow, ValueRule};
use super::routes::{RouteErrors, RouteKind as R, RouteRow};
use super::{DialectId, SubAction as A};
use crate::canonical::{Coll, Field};

/// How a vendor identifies customers in its paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// Positive integers (`/v2/customers/100`); other ids are refused before any request.
    PositiveInteger,
    /// Arbitrary external id strings (Reach's `customers/cus_demo`).
    String,
}

/// How a caller authenticates to the vendor's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <api key>` with a long-lived key.
    BearerKey,
    /// HTTP Basic with the API key as user name and any password.
    BasicKey,
    /// `Authorization: Bearer <token>` with a short-lived token obtained by OAuth client
    /// credentials from the profile's [`Profile::token_path`].
    OAuthClientCredentials,
}

/// How a client-side error pointer (a change's `origin`) becomes the client's own field name in
/// `Patchbay-Dropped-Fields` and upstream-error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerStyle {
    /// The pointer is a patch path the client wrote: the whole path is the name
    /// (`emails/7/type`).
    PatchPath,
    /// The top-level body member the pointer starts with (`emails/1/value` → `emails`).
    TopLevel,
    /// As [`PointerStyle::TopLevel`], inside a wrapper member that is not part of the name
    /// (Reach's `data/…`).
    Wrapped(&'static str),
}

/// Where the client names a custom property in its pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyPointer {
    /// The properties have their own document (v2's properties endpoint): `/{slug}`, and the
    /// empty pointer for the whole set.
    OwnDocument,
    /// The member as a whole (HelpCrunch's `customData` is an array in requests, so a slug has
    /// no pointer of its own; an index in an error path names an item, not a slug).
    Whole,
    /// The member's child `/{wire}/{slug}`.
    Child,
}

/// The member custom properties live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Properties {
    /// The member's name below the wrapper (`properties`, `customData`).
    pub wire: &'static str,
    /// How a property's pointer is formed.
    pub pointer: PropertyPointer,
}

/// The part of the URL space a dialect's paths live in, used to answer a 404 for a path no route
/// serves in the format its client expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlSpace {
    /// The first path segment, with its slash (`/v2`).
    pub root: &'static str,
    /// A suffix every resource path of the dialect ends in (Help Scout v1's `.json`). Under a
    /// shared root, a dialect whose suffix the path ends in wins over one without a suffix.
    pub suffix: Option<&'static str>,
}

/// How the vendor stores a record: facts its sandbox twin reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records {
    /// The record's own id is a fresh uuid besides the external id in the path (Reach); otherwise
    /// the path id is the record id.
    pub own_uuid: bool,
    /// An update of an unknown customer creates it (Reach's PATCH is an upsert) instead of
    /// answering 404.
    pub upsert: bool,
    /// Records carry the tenant's schema definition, platform and business ids (Reach).
    pub tenant_meta: bool,
}

/// Which vendor (company) a dialect belongs to: dialects of one vendor share its customers
/// (the sandbox seeds the same demo records for Help Scout v1 and v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// Help Scout (API v1 and v2).
    HelpScout,
    /// HelpCrunch.
    HelpCrunch,
    /// Reach.
    Reach,
}

/// One dialect's capabilities and vendor facts. Every field is required (no `Default`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The id in config values, metric labels, log fields and fixture directories.
    pub name: &'static str,
    /// The vendor behind the dialect.
    pub vendor: Vendor,
    /// The collections the dialect has a place for. Single-slot dialects list `Emails` and
    /// `Phones` (their one e-mail and one phone).
    pub colls: &'static [Coll],
    /// Holds one e-mail and one phone, not collections of entries.
    pub single_slot: bool,
    /// Custom properties exist.
    pub has_properties: bool,
    /// Stores one `name`, so changing one half of the name needs the other half.
    pub joins_name: bool,
    /// How customers are identified.
    pub id_kind: IdKind,
    /// Client headers forwarded to this upstream and to no other (other vendors' logs must not
    /// collect this vendor's tenant ids), lower case.
    pub passthrough_headers: &'static [&'static str],
    /// The header a 429 answer carries the retry delay in.
    pub retry_header: &'static str,
    /// How callers authenticate.
    pub auth: Auth,
    /// The vendor's OAuth token endpoint, for [`Auth::OAuthClientCredentials`].
    pub token_path: Option<&'static str>,
    /// The status of a successful customer update (Help Scout v2 answers 204, the others 200).
    pub update_success_status: u16,
    /// `(method, path)` of a customer update, the default request of `patchbay translate`.
    pub default_update: (&'static str, &'static str),
    /// The dialect's URL space.
    pub url_space: UrlSpace,
    /// How a client pointer becomes the client's field name.
    pub pointer_style: PointerStyle,
    /// Upstream errors name entries by their position in the array the gateway sent
    /// (`emails[1].value`), not by entry id.
    pub positional_entry_errors: bool,
    /// How the vendor stores records.
    pub records: Records,
    /// The fields the dialect has a place for: canonical field ↔ wire name ↔ value rule.
    pub fields: &'static [FieldRow],
    /// Where custom properties are named (also for dialects without properties: an upstream
    /// error about one still needs a pointer).
    pub properties: Properties,
    /// The client endpoints.
    pub routes: &'static [RouteRow],
    /// How the router words its errors.
    pub route_errors: RouteErrors,
}

/// Help Scout v2's customer endpoints.
const V2_CUSTOMER: &str = "/v2/customers/{id}";
const V2_PROPERTIES: &str = "/v2/customers/{id}/properties";
const V2_ENTRIES: &str = "/v2/customers/{id}/{coll}";
const V2_ENTRY: &str = "/v2/customers/{id}/{coll}/{entry}";
const V2_ADDRESS: &str = "/v2/customers/{id}/address";

/// Help Scout Mailbox API v2.
pub const HELPSCOUT_V2: Profile = Profile {
    name: "helpscout-v2",
    vendor: Vendor::HelpScout,
    colls: &Coll::ALL,
    single_slot: false,
    has_properties: true,
    joins_name: false,
    id_kind: IdKind::PositiveInteger,
    passthrough_headers: &[],
    retry_header: "X-RateLimit-Retry-After",
    auth: Auth::OAuthClientCredentials,
    token_path: Some("/v2/oauth2/token"),
    update_success_status: 204,
    default_update: ("PATCH", "/v2/customers/100"),
    url_space: UrlSpace {
        root: "/v2",
        suffix: None,
    },
    pointer_style: PointerStyle::PatchPath,
    positional_entry_errors: false,
    records: PATH_ID_RECORDS,
    fields: HELPSCOUT_V2_FIELDS,
    properties: Properties {
        wire: "properties",
        pointer: PropertyPointer::OwnDocument,
    },
    routes: &[
        RouteRow::new("POST", "/v2/oauth2/token", R::Token),
        RouteRow::new("GET", V2_CUSTOMER, R::Get),
        RouteRow::new("PATCH", V2_CUSTOMER, R::Update { full: false }),
        RouteRow::new("PUT", V2_CUSTOMER, R::Update { full: true }),
        RouteRow::new("PATCH", V2_PROPERTIES, R::Properties),
        RouteRow::new("POST", V2_ENTRIES, R::Entries(A::Create)),
        RouteRow::new("PUT", V2_ENTRY, R::Entries(A::Update)),
        RouteRow::new("DELETE", V2_ENTRY, R::Entries(A::Delete)),
        RouteRow::new("POST", V2_ADDRESS, R::Address(A::Create)),
        RouteRow::new("PUT", V2_ADDRESS, R::Address(A::Update)),
        RouteRow::new("DELETE", V2_ADDRESS, R::Address(A::Delete)),
    ],
    route_errors: RouteErrors {
        not_found: "Not found",
        method_not_allowed: "Method {method} not allowed; allowed: {allowed}",
        reserved_ids: &[],
    },
};

/// Help Scout legacy API v1.
pub const HELPSCOUT_V1: Profile = Profile {
    name: "helpscout-v1",
    vendor: Vendor::HelpScout,
    colls: &Coll::ALL,
    single_slot: false,
    has_properties: false,
    joins_name: false,
    id_kind: IdKind::PositiveInteger,
    passthrough_headers: &[],
    retry_header: "Retry-After",
    auth: Auth::BasicKey,
    token_path: None,
    update_success_status: 200,
    default_update: ("PUT", "/v1/customers/100.json"),
    url_space: UrlSpace {
        root: "/v1",
        suffix: Some(".json"),
    },
    pointer_style: PointerStyle::TopLevel,
    positional_entry_errors: true,
    records: PATH_ID_RECORDS,
    fields: HELPSCOUT_V1_FIELDS,
    properties: Properties {
        wire: "properties",
        pointer: PropertyPointer::Child,
    },
    routes: &[
        RouteRow::new("GET", "/v1/customers/{id}.json", R::Get),
        RouteRow::new("PUT", "/v1/customers/{id}.json", R::Update { full: false }),
    ],
    route_errors: RouteErrors {
        not_found: "The specified resource was not found",
        method_not_allowed: "Invalid method type",
        reserved_ids: &[],
    },
};

/// HelpCrunch REST API v1.
pub const HELPCRUNCH: Profile = Profile {
    name: "helpcrunch",
    vendor: Vendor::HelpCrunch,
    colls: &[Coll::Emails, Coll::Phones],
    single_slot: true,
    has_properties: true,
    joins_name: true,
    id_kind: IdKind::PositiveInteger,
    passthrough_headers: &[],
    retry_header: "Retry-After",
    auth: Auth::BearerKey,
    token_path: None,
    update_success_status: 200,
    default_update: ("PATCH", "/v1/customers/100"),
    url_space: UrlSpace {
        root: "/v1",
        suffix: None,
    },
    pointer_style: PointerStyle::TopLevel,
    positional_entry_errors: false,
    records: PATH_ID_RECORDS,
    fields: HELPCRUNCH_FIELDS,
    properties: Properties {
        wire: "customData",
        pointer: PropertyPointer::Whole,
    },
    routes: &[
        RouteRow::new("GET", "/v1/customers/{id}", R::Get),
        RouteRow::new("PATCH", "/v1/customers/{id}", R::Update { full: false }),
        RouteRow::new("PUT", "/v1/customers/{id}", R::Update { full: true }),
    ],
    // `batch` and `search` are HelpCrunch endpoints the gateway does not serve.
    route_errors: RouteErrors {
        not_found: "Not found",
        method_not_allowed: "Method not allowed",
        reserved_ids: &["", "batch", "search"],
    },
};

/// Reach.
pub const REACH: Profile = Profile {
    name: "reach",
    vendor: Vendor::Reach,
    colls: &[Coll::Emails, Coll::Phones],
    single_slot: true,
    has_properties: false,
    joins_name: false,
    id_kind: IdKind::String,
    passthrough_headers: &["reach-tenant-id"],
    retry_header: "Retry-After",
    auth: Auth::BearerKey,
    token_path: None,
    update_success_status: 200,
    default_update: ("PATCH", "/api/resources/customers/100"),
    url_space: UrlSpace {
        root: "/api",
        suffix: None,
    },
    pointer_style: PointerStyle::Wrapped("data/"),
    positional_entry_errors: false,
    records: Records {
        own_uuid: true,
        upsert: true,
        tenant_meta: true,
    },
    fields: REACH_FIELDS,
    properties: Properties {
        wire: "properties",
        pointer: PropertyPointer::Child,
    },
    routes: &[
        RouteRow::new("GET", "/api/resources/customers/{id}", R::Get),
        RouteRow::new(
            "PATCH",
            "/api/resources/customers/{id}",
            R::Update { full: false },
        ),
    ],
    // The vendor's batch endpoint shares the prefix; the gateway does not serve it.
    route_errors: RouteErrors {
        not_found: "Not found",
        method_not_allowed: "Method not allowed",
        reserved_ids: &["batch"],
    },
};

/// Records keyed by the id in the path, no upsert, no tenant metadata.
const PATH_ID_RECORDS: Records = Records {
    own_uuid: false,
    upsert: false,
    tenant_meta: false,
};

/// Help Scout's genders (both API versions).
pub const HELPSCOUT_GENDERS: &[&str] = &["male", "female", "unknown"];

/// Help Scout v2's photo types.
pub const HELPSCOUT_V2_PHOTO_TYPES: &[&str] = &[
    "unknown",
    "gravatar",
    "twitter",
    "facebook",
    "googleprofile",
    "googleplus",
    "linkedin",
    "instagram",
];

/// Help Scout v1's photo types (L4): v2's list without `instagram`.
pub const HELPSCOUT_V1_PHOTO_TYPES: &[&str] = &[
    "unknown",
    "gravatar",
    "twitter",
    "facebook",
    "googleprofile",
    "googleplus",
    "linkedin",
];

const fn len(min: usize, max: usize) -> ValueRule {
    ValueRule::Length { min, max }
}

const fn one_of(values: &'static [&'static str], ignore_case: bool) -> ValueRule {
    ValueRule::OneOf {
        values,
        ignore_case,
    }
}

/// helpscout.md §2.1: the entity fields in the vendor's order, the address members (which the
/// vendor's errors also name bare), the collections.
const HELPSCOUT_V2_FIELDS: &[FieldRow] = &[
    FieldRow::field(Field::FirstName, "firstName", len(1, 40)),
    FieldRow::field(Field::LastName, "lastName", len(1, 40)),
    FieldRow::field(Field::PhotoUrl, "photoUrl", len(0, 200)),
    FieldRow::field(
        Field::PhotoType,
        "photoType",
        one_of(HELPSCOUT_V2_PHOTO_TYPES, false),
    ),
    FieldRow::field(Field::JobTitle, "jobTitle", len(0, 60)),
    FieldRow::field(Field::Location, "location", len(0, 60)),
    FieldRow::field(Field::Notes, "background", len(0, 200)),
    FieldRow::field(Field::Age, "age", ValueRule::Text),
    FieldRow::field(Field::Gender, "gender", one_of(HELPSCOUT_GENDERS, true)),
    FieldRow::field(Field::Organization, "organization", len(0, 60)),
    FieldRow::field(Field::AddressLines, "address/lines", ValueRule::Lines).aka(&["lines"]),
    FieldRow::field(Field::AddressCity, "address/city", ValueRule::Text).aka(&["city"]),
    FieldRow::field(Field::AddressState, "address/state", ValueRule::Text).aka(&["state"]),
    FieldRow::field(
        Field::AddressPostalCode,
        "address/postalCode",
        ValueRule::Text,
    )
    .aka(&["postalCode"]),
    FieldRow::field(Field::AddressCountry, "address/country", ValueRule::Text).aka(&["country"]),
    FieldRow::coll(Coll::Emails, "emails"),
    FieldRow::coll(Coll::Phones, "phones"),
    FieldRow::coll(Coll::Chats, "chats"),
    // The GET answer embeds `social_profiles`; error bodies may say `socialProfiles`.
    FieldRow::coll(Coll::SocialProfiles, "social-profiles")
        .aka(&["socialProfiles", "social_profiles"]),
    FieldRow::coll(Coll::Websites, "websites"),
];

/// helpscout.md §3: the person object ("must be shorter than 40 characters"), its address, the
/// entry arrays.
const HELPSCOUT_V1_FIELDS: &[FieldRow] = &[
    FieldRow::field(Field::FirstName, "firstName", len(0, 39)),
    FieldRow::field(Field::LastName, "lastName", len(0, 39)),
    FieldRow::field(Field::Organization, "organization", ValueRule::Text),
    FieldRow::field(Field::JobTitle, "jobTitle", ValueRule::Text),
    FieldRow::field(Field::Notes, "background", ValueRule::Text),
    FieldRow::field(Field::PhotoUrl, "photoUrl", ValueRule::Text),
    FieldRow::field(
        Field::PhotoType,
        "photoType",
        one_of(HELPSCOUT_V1_PHOTO_TYPES, false),
    ),
    FieldRow::field(Field::Gender, "gender", one_of(HELPSCOUT_GENDERS, true)),
    FieldRow::field(Field::Age, "age", ValueRule::Text),
    FieldRow::field(Field::Location, "location", ValueRule::Text),
    FieldRow::field(Field::AddressLines, "address/lines", ValueRule::Lines),
    FieldRow::field(Field::AddressCity, "address/city", ValueRule::Text),
    FieldRow::field(Field::AddressState, "address/state", ValueRule::Text),
    FieldRow::field(
        Field::AddressPostalCode,
        "address/postalCode",
        ValueRule::Text,
    ),
    FieldRow::field(Field::AddressCountry, "address/country", ValueRule::Text),
    FieldRow::coll(Coll::Emails, "emails"),
    FieldRow::coll(Coll::Phones, "phones"),
    FieldRow::coll(Coll::Chats, "chats"),
    FieldRow::coll(Coll::SocialProfiles, "socialProfiles"),
    FieldRow::coll(Coll::Websites, "websites"),
];

/// helpcrunch-reach.md §1.5–§1.6: the joined `name` (first row wins when an error names it),
/// the single slots, `tags`, then the plain keys in the Customer model's order; the address
/// keys are flat in requests but nested under `location` in answers.
const HELPCRUNCH_FIELDS: &[FieldRow] = &[
    FieldRow::field(Field::FirstName, "name", ValueRule::Text),
    FieldRow::field(Field::LastName, "name", ValueRule::Text),
    FieldRow::coll(Coll::Emails, "email"),
    FieldRow::coll(Coll::Phones, "phone"),
    FieldRow::field(Field::Tags, "tags", ValueRule::Tags),
    FieldRow::field(Field::ExternalId, "userId", ValueRule::Text),
    FieldRow::field(Field::Organization, "company", ValueRule::Text),
    FieldRow::field(Field::FirstSeen, "firstSeen", ValueRule::UnixSeconds),
    FieldRow::field(Field::LastSeen, "lastSeen", ValueRule::UnixSeconds),
    FieldRow::field(Field::AddressCity, "city", ValueRule::Text).aka(&["location/city"]),
    FieldRow::field(Field::AddressState, "regionCode", ValueRule::Text)
        .aka(&["location/regionCode"]),
    FieldRow::field(Field::AddressCountry, "countryCode", ValueRule::Text)
        .aka(&["location/countryCode"]),
    FieldRow::field(Field::EmailOptOut, "unsubscribed", ValueRule::Boolean),
    FieldRow::field(Field::Blocked, "blocked", ValueRule::Boolean),
    FieldRow::field(Field::Source, "source", ValueRule::Text),
    FieldRow::field(Field::Referer, "referer", ValueRule::Text),
    FieldRow::field(Field::LastPage, "lastPage", ValueRule::Text),
    FieldRow::field(Field::Locale, "locale", ValueRule::Locale),
    FieldRow::field(Field::CreatedFrom, "createdFrom", ValueRule::Text),
    FieldRow::field(Field::IntegrationId, "integrationId", ValueRule::Text),
    FieldRow::field(Field::Notes, "notes", ValueRule::Text),
];

/// helpcrunch-reach.md §2: the `data` members in the order the encoder writes them.
const REACH_FIELDS: &[FieldRow] = &[
    FieldRow::field(Field::FirstName, "firstName", ValueRule::Text),
    FieldRow::field(Field::LastName, "lastName", ValueRule::Text),
    FieldRow::coll(Coll::Emails, "email"),
    FieldRow::coll(Coll::Phones, "phone"),
    FieldRow::field(Field::EmailOptOut, "emailOptOut", ValueRule::Boolean),
    FieldRow::field(Field::SmsOptOut, "smsOptOut", ValueRule::Boolean),
    FieldRow::field(Field::ExternalId, "customerId", ValueRule::RequiredId),
    FieldRow::field(Field::DetailUrl, "customerDetailUrl", ValueRule::Text),
    FieldRow::field(Field::CreatedAt, "createdAt", ValueRule::DateTime),
];

/// Whether any dialect passes the header through: such a header reaches only the upstreams
/// whose profile lists it.
pub fn is_passthrough_header(name: &str) -> bool {
    DialectId::ALL
        .into_iter()
        .any(|d| d.profile().passthrough_headers.contains(&name))
}

/// Whether a client header (lower-case `name`) may reach an `upstream`: any header but another
/// vendor's pass-through header.
pub fn header_reaches(name: &str, upstream: DialectId) -> bool {
    !is_passthrough_header(name) || upstream.profile().passthrough_headers.contains(&name)
}

/// The pass-through headers of other dialects that `upstream` must not receive.
pub fn foreign_passthrough_headers(upstream: DialectId) -> impl Iterator<Item = &'static str> {
    DialectId::ALL
        .into_iter()
        .flat_map(|d| d.profile().passthrough_headers.iter().copied())
        .filter(move |h| !upstream.profile().passthrough_headers.contains(h))
}

/// The dialect whose URL space a path lies in, whether or not it names an endpoint the gateway
/// serves (see [`UrlSpace`]): `/v2/…` is Help Scout v2's, `/v1/….json` Help Scout v1's, other
/// `/v1/…` HelpCrunch's, `/api/…` Reach's. A v2 client must always get its own error format,
/// even where a v1 route shares the prefix.
pub fn namespace_of(path: &str) -> Option<DialectId> {
    let under = |root: &str| {
        path.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let mut plain = None;
    for d in DialectId::ALL {
        let space = d.profile().url_space;
        if !under(space.root) {
            continue;
        }
        match space.suffix {
            // `path` lacks the query, so the suffix is the path's end.
            Some(s) if path.ends_with(s) => return Some(d),
            Some(_) => {}
            None => {
                plain.get_or_insert(d);
            }
        }
    }
    plain
}

/// The client's own name for a change whose `origin` is a JSON pointer into the client's body,
/// as listed in `Patchbay-Dropped-Fields`: the top-level member of the body it came from
/// (`company`, `customData`, `emails`; Reach without its `data` wrapper), or for a patch path
/// the whole path without its leading slash (`emails/7/type`), since a patch path is the field
/// the client named. Unescaped.
pub fn client_name(client: DialectId, origin: &str) -> String {
    let trimmed = origin.strip_prefix('/').unwrap_or(origin);
    let top = |p: &'static str, s: &str| -> String {
        let inner = s.strip_prefix(p).unwrap_or(s);
        inner.split('/').next().unwrap_or(inner).to_string()
    };
    let name = match client.profile().pointer_style {
        PointerStyle::PatchPath => trimmed.to_string(),
        PointerStyle::TopLevel => top("", trimmed),
        PointerStyle::Wrapped(wrapper) => top(wrapper, trimmed),
    };
    if name.contains('~') {
        name.replace("~1", "/").replace("~0", "~")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_profile_is_its_dialects() {
        for d in DialectId::ALL {
            let p = d.profile();
            assert_eq!(DialectId::parse(p.name), Some(d));
            assert_eq!(d.dialect().single_slot(), p.single_slot, "{d}");
            assert_eq!(d.dialect().has_properties(), p.has_properties, "{d}");
            // A single-slot dialect's slots are exactly e-mail and phone.
            if p.single_slot {
                assert_eq!(p.colls, [Coll::Emails, Coll::Phones], "{d}");
            }
            // The default update path is one the dialect's own router accepts as an update.
            let (m, path) = p.default_update;
            assert!(d.dialect().route(m, path).is_ok(), "{d} {m} {path}");
            assert_eq!(namespace_of(path), Some(d), "{path}");
            // Only a dialect with a token endpoint authenticates by OAuth client credentials.
            assert_eq!(
                p.token_path.is_some(),
                p.auth == Auth::OAuthClientCredentials,
                "{d}"
            );
        }
    }

    #[test]
    fn url_spaces_pick_the_suffixed_dialect_under_a_shared_root() {
        let cases = [
            ("/v2", Some(DialectId::HelpscoutV2)),
            ("/v2/anything", Some(DialectId::HelpscoutV2)),
            ("/v1/customers/1.json", Some(DialectId::HelpscoutV1)),
            ("/v1/customers/1", Some(DialectId::Helpcrunch)),
            ("/v1", Some(DialectId::Helpcrunch)),
            ("/api/x", Some(DialectId::Reach)),
            ("/v20/x", None),
            ("/apis", None),
            ("/", None),
            ("", None),
        ];
        for (path, want) in cases {
            assert_eq!(namespace_of(path), want, "{path}");
        }
    }

    #[test]
    fn client_names_follow_the_pointer_style() {
        let cases = [
            (DialectId::HelpscoutV2, "/emails/7/type", "emails/7/type"),
            (DialectId::HelpscoutV2, "/properties/a~1b", "properties/a/b"),
            (DialectId::HelpscoutV1, "/emails/1/value", "emails"),
            (DialectId::Helpcrunch, "/customData/a~1b", "customData"),
            (DialectId::Helpcrunch, "/a~1b", "a/b"),
            (DialectId::Reach, "/data/customerId", "customerId"),
            (DialectId::Reach, "/data/emails/0", "emails"),
            (DialectId::Reach, "/other", "other"),
        ];
        for (d, origin, want) in cases {
            assert_eq!(client_name(d, origin), want, "{d} {origin}");
        }
    }

    #[test]
    fn the_tenant_header_reaches_reach_only() {
        assert!(is_passthrough_header("reach-tenant-id"));
        assert!(!is_passthrough_header("x-request-id"));
        for d in DialectId::ALL {
            let reach = d == DialectId::Reach;
            assert_eq!(header_reaches("reach-tenant-id", d), reach, "{d}");
            assert!(header_reaches("x-request-id", d), "{d}");
            let foreign: Vec<_> = foreign_passthrough_headers(d).collect();
            assert_eq!(foreign.is_empty(), reach, "{d}: {foreign:?}");
        }
    }
}
