//! Reach client side, outbound: the success envelope (`{"success", "message", "data"}`) and
//! error bodies, and the client-facing names of canonical locations.

use super::*;
use crate::dialect::profile;
/// The value of the first entry: what a single slot shows.
pub(super) fn first_value(entries: &[Entry]) -> Option<&str> {
    entries.first().map(|e| e.value.as_str())
}

pub(super) fn encode_success(
    ep: &Endpoint,
    customer: Option<&Customer>,
    cx: &AnswerCx<'_>,
) -> Synthetic {
    let fallback;
    let c = match customer {
        Some(c) => c,
        None => {
            fallback = Customer::default();
            &fallback
        }
    };
    let message = match ep.kind {
        EndpointKind::Get => "Customer retrieved",
        _ => "Customer updated",
    };
    let m = &c.meta;
    let reach = cx.upstream == DialectId::Reach;
    let null = Value::Null;
    let id = if reach {
        m.id.as_ref().unwrap_or(&null)
    } else {
        &null
    };

    // Reach's own format (RFC 3339) whatever the upstream wrote; `null` when unreadable.
    let created = time::render_opt(m.record_created_at.as_deref(), Style::Rfc3339);
    let updated = time::render_opt(m.record_updated_at.as_deref(), Style::Rfc3339);
    let customer_created = time::render_opt(c.created_at.as_deref(), Style::Rfc3339);
    // The answer to a typical update is a little over 800 bytes: no regrowth on the way.
    let mut out = JsonWriter::with_capacity(1024);
    out.open(b'{');
    out.member("success", &true);
    out.member_str("message", Some(message));
    out.key("data");
    out.open(b'{');
    out.key("result");
    out.open(b'{');
    out.member_value("id", id);
    for (snake, camel, v) in [
        (
            "schema_definition_id",
            "schemaDefinitionId",
            m.schema_definition_id.as_deref().filter(|_| reach),
        ),
        (
            "platform_id",
            "platformId",
            m.platform_id.as_deref().filter(|_| reach),
        ),
        (
            "business_id",
            "businessId",
            m.business_id.as_deref().filter(|_| reach),
        ),
        (
            "resource_external_id",
            "resourceExternalId",
            Some(cx.customer_id),
        ),
        ("created_at", "createdAt", created.as_deref()),
        ("updated_at", "updatedAt", updated.as_deref()),
    ] {
        // Each value twice under two names: escaped once, copied once.
        out.key(snake);
        let start = out.mark();
        out.opt_str(v);
        let end = out.mark();
        out.member_copy(camel, start..end);
    }
    out.key("data");
    out.open(b'{');
    out.member_str("customerId", c.external_id.as_deref());
    out.member_str("firstName", c.first_name.as_deref());
    out.member_str("lastName", c.last_name.as_deref());
    out.member_str("createdAt", customer_created.as_deref());
    out.member_str("email", first_value(&c.emails));
    out.member_str("phone", first_value(&c.phones));
    out.member("emailOptOut", &c.email_opt_out);
    out.member("smsOptOut", &c.sms_opt_out);
    out.member_str("customerDetailUrl", c.detail_url.as_deref());
    out.close(b'}');
    out.close(b'}');
    out.member("included", &[] as &[Value]);
    out.close(b'}');
    out.close(b'}');
    Synthetic {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: out.into_bytes(),
    }
}

pub(super) fn encode_error(err: &ApiError) -> Synthetic {
    let errors: Vec<Value> = err
        .violations
        .iter()
        .map(|v| {
            let path = if v.pointer.is_empty() {
                "body".to_string()
            } else if v.pointer.starts_with('/') {
                rules::dotted(&v.pointer)
            } else {
                v.pointer.clone()
            };
            serde_json::json!({"path": path, "message": v.message})
        })
        .collect();
    let body = serde_json::json!({
        "success": false,
        "message": err.message,
        "errors": errors,
    });
    let answer = Synthetic::json(err.status, "application/json", &body).with_error_headers(err);
    match err.retry_after {
        Some(secs) => answer.with_header(profile::REACH.retry_header, secs.to_string()),
        None => answer,
    }
}
