//! The HelpCrunch Customer model, which is both the client-side success answer (written in the
//! vendor's key order) and what the upstream returns (read leniently, older forms included).

use super::*;
pub(super) fn first_value(coll: &[Entry]) -> Option<&str> {
    coll.first().map(|e| e.value.as_str())
}

/// `tags_known`: whether the customer came from an upstream that has tags; when it has none the
/// model shows `tags: null` (SPEC §2: fields the upstream cannot know are `null`) rather than the
/// `[]` of a HelpCrunch customer without tags.
pub(super) fn model_body(customer_id: &str, c: &Customer, tags_known: bool) -> Bytes {
    let mut out = JsonWriter::with_capacity(512);
    let addr = c.address.as_ref();
    out.open(b'{');
    out.key("id");
    match customer_id.parse::<u64>() {
        Ok(n) => out.ser(&n),
        Err(_) => out.str(customer_id),
    }
    out.key("name");
    out.opt_str(join_name(c.first_name.as_deref(), c.last_name.as_deref()).as_deref());
    out.key("email");
    out.opt_str(first_value(&c.emails));
    out.key("userId");
    out.opt_str(c.external_id.as_deref());
    out.key("company");
    out.opt_str(c.organization.as_deref());
    out.key("phone");
    out.opt_str(first_value(&c.phones));
    // HelpCrunch's own format (UNIX seconds as a string) whatever the upstream wrote.
    out.key("firstSeen");
    out.opt_str(time::render_opt(c.first_seen.as_deref(), Style::Unix).as_deref());
    out.key("lastSeen");
    out.opt_str(time::render_opt(c.last_seen.as_deref(), Style::Unix).as_deref());
    out.key("location");
    out.open(b'{');
    out.key("regionCode");
    out.opt_str(addr.and_then(|a| a.state.as_deref()));
    out.key("countryCode");
    out.opt_str(addr.and_then(|a| a.country.as_deref()));
    out.key("city");
    out.opt_str(addr.and_then(|a| a.city.as_deref()));
    out.close(b'}');
    out.key("device");
    out.opt_str(None);
    out.key("unsubscribed");
    out.opt_bool(c.email_opt_out);
    out.key("blocked");
    out.opt_bool(c.blocked);
    for (key, v) in [
        ("source", &c.source),
        ("referer", &c.referer),
        ("lastPage", &c.last_page),
        ("locale", &c.locale),
        ("createdFrom", &c.created_from),
        ("integrationId", &c.integration_id),
        ("notes", &c.notes),
    ] {
        out.key(key);
        out.opt_str(v.as_deref());
    }
    out.key("tags");
    match &c.tags {
        Some(tags) => out.ser(tags),
        None if tags_known => out.raw(b"[]"),
        None => out.raw(b"null"),
    }
    out.key("customData");
    out.open(b'{');
    for (slug, value) in &c.properties {
        out.key_escaped(slug);
        out.value(value);
    }
    out.close(b'}');
    out.close(b'}');
    out.into_bytes()
}

/// A string field of an upstream answer; numbers are kept in their text form.
pub(super) fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn slot_entry(v: Option<Value>) -> Vec<Entry> {
    match v.and_then(text) {
        Some(value) if !value.is_empty() => vec![Entry {
            id: 1,
            kind: None,
            value,
        }],
        _ => Vec::new(),
    }
}

pub(super) fn decode_model(mut m: Map<String, Value>) -> Customer {
    let mut take = |k: &str| m.remove(k).and_then(text);
    let (first_name, last_name) = match take("name").as_deref().and_then(split_name) {
        Some((first, last)) => (Some(first), last),
        None => (None, None),
    };
    let mut c = Customer {
        first_name,
        last_name,
        external_id: take("userId"),
        organization: take("company"),
        first_seen: take("firstSeen"),
        last_seen: take("lastSeen"),
        source: take("source"),
        referer: take("referer"),
        last_page: take("lastPage"),
        locale: take("locale"),
        created_from: take("createdFrom"),
        integration_id: take("integrationId"),
        notes: take("notes"),
        ..Customer::default()
    };
    let mut address = Address {
        city: take("city"),
        state: take("regionCode"),
        country: take("countryCode"),
        ..Address::default()
    };
    c.emails = slot_entry(m.remove("email"));
    c.phones = slot_entry(m.remove("phone"));
    c.email_opt_out = m.remove("unsubscribed").and_then(|v| v.as_bool());
    c.blocked = m.remove("blocked").and_then(|v| v.as_bool());
    if let Some(Value::Object(mut loc)) = m.remove("location") {
        let mut from_loc = |k: &str, slot: &mut Option<String>| {
            if let Some(s) = loc.remove(k).and_then(text) {
                *slot = Some(s);
            }
        };
        from_loc("city", &mut address.city);
        from_loc("regionCode", &mut address.state);
        from_loc("countryCode", &mut address.country);
    }
    if !address.is_empty() {
        c.address = Some(address);
    }
    if let Some(Value::Array(items)) = m.remove("tags") {
        c.tags = Some(
            items
                .into_iter()
                .filter_map(|t| {
                    let Value::Object(mut t) = t else { return None };
                    let name = t.remove("name").and_then(text)?;
                    let color = t.remove("color").and_then(text);
                    Some(Tag { name, color })
                })
                .collect(),
        );
    }
    match m.remove("customData") {
        Some(Value::Object(props)) => {
            c.properties = props.into_iter().filter(|(_, v)| !v.is_null()).collect();
        }
        // One older GET revision returns the request's array form.
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(mut item) = item else {
                    continue;
                };
                if let (Some(slug), Some(value)) = (
                    item.remove("property").and_then(text),
                    item.remove("value").filter(|v| !v.is_null()),
                ) {
                    c.properties.insert(slug, value);
                }
            }
        }
        _ => {}
    }
    c.meta.id = m.remove("id").filter(|v| !v.is_null());
    c
}

pub(super) fn encode_success(customer: Option<&Customer>, cx: &AnswerCx<'_>) -> Synthetic {
    let Some(customer) = customer else {
        // Every HelpCrunch answer carries the customer; inventing an all-null one would
        // tell the client its data is gone.
        return error::encode_error(&ApiError::new(
            ErrorKind::BadGateway,
            "The upstream answer did not carry the customer",
        ));
    };
    Synthetic {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: model_body(
            cx.customer_id,
            customer,
            crate::dialect::dialect(cx.upstream).holds(Field::Tags),
        ),
    }
}

pub(super) fn decode_customer(body: &[u8]) -> Option<Customer> {
    match wire::from_json(body).ok()? {
        Value::Object(m) => Some(decode_model(m)),
        _ => None,
    }
}
