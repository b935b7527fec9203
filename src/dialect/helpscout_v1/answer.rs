//! Help Scout v1 success answers: the `{"item": …}` customer serialised straight from the
//! canonical customer in the real service's key order (reload answers and GET).

use super::*;
/// `firstName lastName`, skipping an empty or missing half, as the real `fullName` reads.
pub(super) fn full_name(c: &Customer) -> Option<String> {
    let parts = [c.first_name.as_deref(), c.last_name.as_deref()];
    let mut out = String::new();
    for p in parts.into_iter().flatten().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
    }
    (!out.is_empty()).then_some(out)
}

// === The `{"item": …}` answer ===
//
// Written straight from the canonical customer into a `JsonWriter`: building a
// `serde_json::Value` tree first (an `IndexMap` per object, with `preserve_order`) cost about
// three times the rest of the answer, and serde's serializer (kept below as the test reference,
// `Item`) escapes every constant key again. Key order and null handling are those of the
// real service (helpscout.md §3.4).

/// The collections of an item, in the order the service writes them.
const ITEM_COLLS: [(&str, Coll); 5] = [
    ("socialProfiles", Coll::SocialProfiles),
    ("emails", Coll::Emails),
    ("phones", Coll::Phones),
    ("chats", Coll::Chats),
    ("websites", Coll::Websites),
];

/// The `{"item": …}` body.
pub(super) fn item_body(c: &Customer, cx: &AnswerCx<'_>) -> bytes::Bytes {
    let mut out = wire::JsonWriter::with_capacity(768);
    out.open(b'{');
    out.key("item");
    out.open(b'{');
    out.key("id");
    match cx.customer_id.parse::<u64>() {
        Ok(n) => out.ser(&n),
        Err(_) => out.str(cx.customer_id),
    }
    out.member_str("firstName", c.first_name.as_deref());
    out.member_str("lastName", c.last_name.as_deref());
    out.member_str("fullName", full_name(c).as_deref());
    out.member_str("photoUrl", c.photo_url.as_deref());
    out.member_str("photoType", c.photo_type.as_deref());
    out.member_str("gender", c.gender.as_deref());
    out.member_str("age", c.age.as_deref());
    out.member_str("organization", c.organization.as_deref());
    out.member_str("jobTitle", c.job_title.as_deref());
    out.member_str("location", c.location.as_deref());
    // Help Scout's own format whatever the upstream wrote (the published v1 client refuses
    // fractional seconds).
    fn stamp(v: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
        time::render_opt(v.as_deref(), Style::HelpScout)
    }
    let created = stamp(&c.meta.record_created_at).or_else(|| stamp(&c.created_at));
    out.member_str("createdAt", created.as_deref());
    out.member_str("modifiedAt", stamp(&c.meta.record_updated_at).as_deref());
    out.member_str("background", c.notes.as_deref());
    out.key("address");
    match &c.address {
        None => out.raw(b"null"),
        Some(a) => {
            out.open(b'{');
            out.key("lines");
            out.open(b'[');
            for line in &a.lines {
                out.sep();
                out.str(line);
            }
            out.close(b']');
            out.member_str("city", a.city.as_deref());
            out.member_str("state", a.state.as_deref());
            out.member_str("postalCode", a.postal_code.as_deref());
            out.member_str("country", a.country.as_deref());
            out.close(b'}');
        }
    }
    for (key, coll) in ITEM_COLLS {
        out.key(key);
        out.open(b'[');
        for e in c.coll(coll) {
            out.sep();
            out.open(b'{');
            out.key("id");
            out.ser(&e.id);
            out.member_str("value", Some(&e.value));
            if let Some(type_key) = type_key(coll) {
                let kind = match (&e.kind, coll) {
                    (Some(k), _) => Some(k.as_str()),
                    // Single-slot upstreams have no type: show the route's default.
                    (None, Coll::Emails | Coll::Phones) => Some(cx.default_entry_type),
                    (None, _) => None,
                };
                out.member_str(type_key, kind);
            }
            out.close(b'}');
        }
        out.close(b']');
    }
    out.close(b'}');
    out.close(b'}');
    out.into_bytes()
}

/// The customer inside `{"item": customer}`.
#[cfg(test)]
pub(super) struct Item<'a>(pub(super) &'a Customer, pub(super) &'a AnswerCx<'a>);

#[cfg(test)]
impl serde::Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (c, cx) = (self.0, self.1);
        let mut m = s.serialize_map(Some(20))?;
        match cx.customer_id.parse::<u64>() {
            Ok(n) => m.serialize_entry("id", &n)?,
            Err(_) => m.serialize_entry("id", cx.customer_id)?,
        }
        m.serialize_entry("firstName", &c.first_name)?;
        m.serialize_entry("lastName", &c.last_name)?;
        m.serialize_entry("fullName", &full_name(c))?;
        m.serialize_entry("photoUrl", &c.photo_url)?;
        m.serialize_entry("photoType", &c.photo_type)?;
        m.serialize_entry("gender", &c.gender)?;
        m.serialize_entry("age", &c.age)?;
        m.serialize_entry("organization", &c.organization)?;
        m.serialize_entry("jobTitle", &c.job_title)?;
        m.serialize_entry("location", &c.location)?;
        // Help Scout's own format whatever the upstream wrote (the published v1 client refuses
        // fractional seconds).
        fn stamp(v: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            time::render_opt(v.as_deref(), Style::HelpScout)
        }
        let created = stamp(&c.meta.record_created_at).or_else(|| stamp(&c.created_at));
        m.serialize_entry("createdAt", &created)?;
        m.serialize_entry("modifiedAt", &stamp(&c.meta.record_updated_at))?;
        m.serialize_entry("background", &c.notes)?;
        m.serialize_entry("address", &c.address.as_ref().map(AddressItem))?;
        for (key, coll) in ITEM_COLLS {
            m.serialize_entry(key, &Entries(coll, c.coll(coll), cx.default_entry_type))?;
        }
        m.end()
    }
}

#[cfg(test)]
pub(super) struct AddressItem<'a>(pub(super) &'a Address);

#[cfg(test)]
impl serde::Serialize for AddressItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let a = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("lines", &a.lines)?;
        m.serialize_entry("city", &a.city)?;
        m.serialize_entry("state", &a.state)?;
        m.serialize_entry("postalCode", &a.postal_code)?;
        m.serialize_entry("country", &a.country)?;
        m.end()
    }
}

/// One collection: `[{id, value, location|type}]` (websites: no type key).
#[cfg(test)]
pub(super) struct Entries<'a>(pub(super) Coll, pub(super) &'a [Entry], pub(super) &'a str);

#[cfg(test)]
impl serde::Serialize for Entries<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let (coll, entries, default_type) = (self.0, self.1, self.2);
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in entries {
            seq.serialize_element(&EntryItem(coll, e, default_type))?;
        }
        return seq.end();

        struct EntryItem<'a>(Coll, &'a Entry, &'a str);
        impl serde::Serialize for EntryItem<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (coll, e, default_type) = (self.0, self.1, self.2);
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("id", &e.id)?;
                m.serialize_entry("value", &e.value)?;
                if let Some(key) = type_key(coll) {
                    let kind = match (&e.kind, coll) {
                        (Some(k), _) => Some(k.as_str()),
                        // Single-slot upstreams have no type: show the route's default.
                        (None, Coll::Emails | Coll::Phones) => Some(default_type),
                        (None, _) => None,
                    };
                    m.serialize_entry(key, &kind)?;
                }
                m.end()
            }
        }
    }
}

/// The `{"item": …}` answer as a JSON body.
pub(super) fn item_answer(c: &Customer, cx: &AnswerCx<'_>) -> Synthetic {
    Synthetic {
        status: 200,
        headers: vec![("Content-Type".into(), JSON_UTF8.into())],
        body: item_body(c, cx),
    }
}

pub(super) fn encode_success(
    ep: &Endpoint,
    customer: Option<&Customer>,
    cx: &AnswerCx<'_>,
) -> Synthetic {
    match (ep.kind, customer) {
        (EndpointKind::Get, Some(c)) => item_answer(c, cx),
        (EndpointKind::Get, None) => error::encode_error(&ApiError::new(
            ErrorKind::BadGateway,
            "The upstream answered without a customer",
        )),
        (_, Some(c)) if cx.reload => item_answer(c, cx),
        // The write succeeded; without the customer there is nothing truthful to return.
        _ => Synthetic::empty(200),
    }
}

#[cfg(test)]
mod item_tests {
    use super::*;

    /// The written body is, byte for byte, what serde's serializer of the same answer writes.
    #[test]
    fn written_item_is_the_serialised_item() {
        let full: Customer = serde_json::from_value(json!({
            "first_name": "Vernon \"V\"", "last_name": "Bear", "photo_url": "https://x/p.png",
            "photo_type": "gravatar", "gender": "male", "age": "30-35", "organization": "Acme",
            "job_title": "CEO", "location": "Dallas", "notes": "line\nbreak",
            "address": {"lines": ["1 Main", "Suite 2"], "city": "Dallas", "state": "TX",
                        "postal_code": "75201", "country": "US"},
            "emails": [{"id": 1, "value": "v@acme.com"}, {"id": 7, "type": "home", "value": "b@x.io"}],
            "phones": [{"id": 2, "type": "work", "value": "+1"}],
            "chats": [{"id": 3, "value": "vb"}, {"id": 4, "type": "skype", "value": "vb2"}],
            "social_profiles": [{"id": 5, "type": "twitter", "value": "@vb"}],
            "websites": [{"id": 6, "value": "https://acme.com"}],
            "created_at": "2024-01-01T00:00:00.5+01:00",
            "meta": {"record_updated_at": "1700000000"}
        }))
        .unwrap_or_default();
        let empty_address = Customer {
            address: Some(Address::default()),
            meta: Meta {
                record_created_at: Some("2012-07-23T12:34:12Z".into()),
                ..Meta::default()
            },
            ..Customer::default()
        };
        for c in [full, Customer::default(), empty_address] {
            for id in ["12345", "not-numeric", "ü\"x"] {
                let cx = AnswerCx {
                    customer_id: id,
                    default_entry_type: "work",
                    upstream: DialectId::Reach,
                    reload: true,
                    created: None,
                    location_base: "",
                };
                let item = std::collections::BTreeMap::from([("item", Item(&c, &cx))]);
                let reference = serde_json::to_vec(&item).unwrap_or_default();
                assert_eq!(&item_body(&c, &cx)[..], &reference[..], "{c:?} {id}");
            }
        }
    }
}
