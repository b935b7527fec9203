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
// Serialised straight from the canonical customer: building a `serde_json::Value` tree first
// (an `IndexMap` per object, with `preserve_order`) cost about three times the rest of the
// answer. Key order and null handling are those of the real service (helpscout.md §3.4).

/// `{"item": customer}`.
pub(super) struct ItemAnswer<'a>(pub(super) &'a Customer, pub(super) &'a AnswerCx<'a>);

impl serde::Serialize for ItemAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut outer = s.serialize_map(Some(1))?;
        outer.serialize_entry("item", &Item(self.0, self.1))?;
        outer.end()
    }
}

pub(super) struct Item<'a>(pub(super) &'a Customer, pub(super) &'a AnswerCx<'a>);

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
        for (key, coll) in [
            ("socialProfiles", Coll::SocialProfiles),
            ("emails", Coll::Emails),
            ("phones", Coll::Phones),
            ("chats", Coll::Chats),
            ("websites", Coll::Websites),
        ] {
            m.serialize_entry(key, &Entries(coll, c.coll(coll), cx.default_entry_type))?;
        }
        m.end()
    }
}

pub(super) struct AddressItem<'a>(pub(super) &'a Address);

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
pub(super) struct Entries<'a>(pub(super) Coll, pub(super) &'a [Entry], pub(super) &'a str);

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
    // Room for a typical customer up front: `to_vec` starts at 128 bytes and regrows (and
    // copies) three times on the way to one.
    let mut body = Vec::with_capacity(768);
    if serde_json::to_writer(&mut body, &ItemAnswer(c, cx)).is_err() {
        body.clear();
    }
    Synthetic {
        status: 200,
        headers: vec![("Content-Type".into(), JSON_UTF8.into())],
        body: bytes::Bytes::from(body),
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
