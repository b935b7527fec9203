//! Help Scout v2 answers to clients: 204/201 for writes, the HAL-like GET document, and
//! `application/vnd.error+json` error bodies.

use super::*;
use crate::dialect::profile;
pub(super) fn customer_document(
    customer: &Customer,
    customer_id: &str,
    default_kind: &str,
) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "id".into(),
        customer_id
            .parse::<u64>()
            .map_or_else(|_| Value::String(customer_id.to_string()), Value::from),
    );
    let mut put = |key: &str, v: &Option<String>| {
        if let Some(s) = v {
            doc.insert(key.into(), Value::String(s.clone()));
        }
    };
    put("firstName", &customer.first_name);
    put("lastName", &customer.last_name);
    put("gender", &customer.gender.as_deref().map(capitalised));
    put("jobTitle", &customer.job_title);
    put("location", &customer.location);
    put("organization", &customer.organization);
    put("photoType", &customer.photo_type);
    put("photoUrl", &customer.photo_url);
    put("age", &customer.age);
    // Help Scout's own format whatever the upstream wrote; left out when unreadable.
    let stamp = |s: &Option<String>| {
        time::render_opt(s.as_deref(), Style::HelpScout).map(std::borrow::Cow::into_owned)
    };
    put("createdAt", &stamp(&customer.meta.record_created_at));
    put("updatedAt", &stamp(&customer.meta.record_updated_at));
    put("background", &customer.notes);

    let mut embedded = Map::new();
    for coll in Coll::ALL {
        let entries = customer
            .coll(coll)
            .iter()
            .map(|e| entry_document(coll, e, default_kind))
            .collect();
        embedded.insert(embedded_key(coll).into(), Value::Array(entries));
    }
    let properties = customer
        .properties
        .iter()
        .map(|(slug, value)| json!({"slug": slug, "value": value}))
        .collect();
    embedded.insert("properties".into(), Value::Array(properties));
    if let Some(addr) = &customer.address {
        let mut a = Map::new();
        a.insert("lines".into(), json!(addr.lines));
        for (key, v) in [
            ("city", &addr.city),
            ("state", &addr.state),
            ("postalCode", &addr.postal_code),
            ("country", &addr.country),
        ] {
            if let Some(s) = v {
                a.insert(key.into(), Value::String(s.clone()));
            }
        }
        embedded.insert("address".into(), Value::Object(a));
    }
    doc.insert("_embedded".into(), Value::Object(embedded));

    let base = customer_path(customer_id);
    let mut links = Map::new();
    for key in ["address", "chats", "emails", "phones"] {
        links.insert(key.into(), json!({"href": format!("{base}/{key}/")}));
    }
    links.insert("self".into(), json!({ "href": base }));
    for key in ["social-profiles", "websites"] {
        links.insert(key.into(), json!({"href": format!("{base}/{key}/")}));
    }
    doc.insert("_links".into(), Value::Object(links));
    Value::Object(doc)
}

pub(super) fn entry_document(coll: Coll, entry: &Entry, default_kind: &str) -> Value {
    let mut e = Map::new();
    e.insert("id".into(), Value::from(entry.id));
    e.insert("value".into(), Value::String(entry.value.clone()));
    let kind = match entry.kind.as_deref() {
        Some(k) if coll.v2_types().is_some() => Some(wire_kind(coll, k)),
        _ => fallback_kind(coll, default_kind),
    };
    if let Some(k) = kind {
        e.insert("type".into(), Value::String(k.to_string()));
    }
    Value::Object(e)
}

pub(super) fn answer_needs_customer(ep: &Endpoint) -> bool {
    // An entry create answers with the id the upstream assigned, read from the customer
    // (helpscout-v1 returns it with `reload=true`; HelpCrunch and Reach always do).
    matches!(
        ep.kind,
        EndpointKind::Get
            | EndpointKind::SubResource {
                sub: SubResource::Entries(_),
                action: SubAction::Create,
                ..
            }
    )
}

pub(super) fn encode_success(
    ep: &Endpoint,
    customer: Option<&Customer>,
    cx: &AnswerCx<'_>,
) -> Synthetic {
    match ep.kind {
        EndpointKind::Get => {}
        EndpointKind::SubResource {
            sub: sub @ SubResource::Entries(_),
            action: SubAction::Create,
            ..
        } => {
            // Nothing was created when the add was dropped (`unmappable = "drop"`): a 201
            // would claim an entry that does not exist.
            let Some(id) = cx.created else {
                return Synthetic::empty(204);
            };
            return Synthetic::empty(201)
                .with_header("Resource-ID", id.to_string())
                .with_header("Location", created_location(cx, sub, Some(id)));
        }
        EndpointKind::SubResource {
            sub: SubResource::Address,
            action: SubAction::Create,
            ..
        } => {
            return Synthetic::empty(201)
                .with_header("Location", created_location(cx, SubResource::Address, None));
        }
        _ => return Synthetic::empty(204),
    }
    let empty = Customer::default();
    let doc = customer_document(
        customer.unwrap_or(&empty),
        cx.customer_id,
        cx.default_entry_type,
    );
    Synthetic::json(200, "application/hal+json", &doc)
}

pub(super) fn encode_error(err: &ApiError) -> Synthetic {
    let message = if err.violations.iter().any(|v| v.rule == Rule::Json) {
        "Error parsing request body into JSON"
    } else if err.status == 400 && err.kind != ErrorKind::PartiallyApplied {
        "Bad request"
    } else {
        err.message.as_str()
    };
    let errors: Vec<Value> = err
        .violations
        .iter()
        .map(|v| {
            let mut e = Map::new();
            let path = if v.pointer.is_empty() {
                "body"
            } else {
                v.path_without_slash()
            };
            e.insert("path".into(), Value::String(path.to_string()));
            e.insert("message".into(), Value::String(v.message.clone()));
            e.insert("source".into(), Value::String("JSON".into()));
            if let Some(r) = &v.rejected {
                e.insert("rejectedValue".into(), r.clone());
            }
            Value::Object(e)
        })
        .collect();
    let body = json!({
        // The request id, so the client's error can be found in the access log; offline
        // (no request) a fresh uuid, the vendor's own format.
        "logRef": err.log_ref.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        "message": message,
        "_embedded": {"errors": errors},
        "_links": {"about": {"href": ERRORS_ABOUT}},
    });
    let out =
        Synthetic::json(err.status, "application/vnd.error+json", &body).with_error_headers(err);
    wire::with_retry_after(out, err, profile::HELPSCOUT_V2.retry_header)
}
