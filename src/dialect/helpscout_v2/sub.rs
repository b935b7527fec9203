//! Help Scout v2 customer sub-resources (`/emails`, `/phones`, …, `/address`): their bodies
//! decoded into the equivalent PATCH changes, and the `Location` of what a POST created.

use super::*;
/// The equivalent patch path of an entry sub-resource: the origin of its change, so that
/// unmappable errors, `Patchbay-Dropped-Fields` and single-slot id errors read exactly as for
/// the equivalent PATCH (`/emails`, `/emails/7`).
pub(super) fn entry_origin(coll: Coll, entry: Option<u64>) -> String {
    match entry {
        None => format!("/{}", document::coll_key(coll)),
        Some(id) => format!("/{}/{id}", document::coll_key(coll)),
    }
}

/// `POST /{coll}` and `PUT /{coll}/{entryId}`: the body is one entry object. Both members are
/// required (websites: `value` only), as the vendor documents for both calls; members other
/// than `type` and `value` are ignored, as in a patch op's entry object. Violations name the
/// member (`/type`, `/value`); all of them are reported.
pub(super) fn decode_entry_body(
    coll: Coll,
    entry: Option<u64>,
    doc: &Value,
) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut errors = Vec::new();
    let missing = |ptr: &str| Violation::new(ptr, Rule::Required, "may not be null");
    let kind = match (coll.v2_types(), obj.get("type")) {
        (None, _) => None,
        (Some(_), None | Some(Value::Null)) => {
            errors.push(missing("/type"));
            None
        }
        (Some(_), Some(k)) => {
            match rules::string(k, "/type")
                .and_then(|k| check_entry_type(coll, k, "/type").map(|()| k))
            {
                Ok(k) => Some(canonical_kind(coll, k)),
                Err(v) => {
                    errors.push(v);
                    None
                }
            }
        }
    };
    let value = match obj.get("value") {
        None | Some(Value::Null) => {
            errors.push(missing("/value"));
            None
        }
        Some(v) => match rules::string(v, "/value")
            .and_then(|v| check_entry_value(coll, v, "/value").map(|()| v))
        {
            Ok(v) => Some(v.to_string()),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let (Some(value), true) = (value, errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let op = match entry {
        None => Op::EntryAdd { coll, kind, value },
        Some(id) => Op::EntryUpdate(EntryUpdate {
            coll,
            id,
            kind,
            value: Some(value),
        }),
    };
    let mut changes = ChangeSet::new();
    changes.push(op, entry_origin(coll, entry));
    Ok(ClientRequest {
        changes,
        reload: false,
        full: false,
        document: None,
    })
}

/// `POST|PUT /address`: the body is the whole address. `city`, `state`, `postalCode` and
/// `country` are required non-empty strings (the vendor's address object); `lines` an optional
/// array of strings, cleared when left out, since the object replaces the address. Each member
/// becomes the `Set` of the equivalent `/address/<field>` patch op, with the member's pointer
/// (`/city`) as its origin.
pub(super) fn decode_address_body(doc: &Value) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut out = Decoded {
        changes: Vec::with_capacity(address_fields().count()),
        errors: Vec::new(),
    };
    for (key, field) in address_fields() {
        let ptr = format!("/{key}");
        let value = match (field, obj.get(key)) {
            (Field::AddressLines, None) => Ok(Value::Null),
            (Field::AddressLines, Some(v)) => field_value(field, v, &ptr),
            (_, None | Some(Value::Null)) => Err(Violation::new(
                ptr.as_str(),
                Rule::Required,
                "may not be null",
            )),
            (_, Some(v)) => rules::string(v, &ptr).and_then(|s| {
                if s.is_empty() {
                    Err(
                        Violation::new(ptr.as_str(), Rule::Required, "may not be empty")
                            .with_value(Value::String(String::new())),
                    )
                } else {
                    Ok(Value::String(s.to_string()))
                }
            }),
        };
        match value {
            Ok(value) => out.push(Op::Set { field, value }, &ptr),
            Err(v) => out.errors.push(v),
        }
    }
    out.finish(false)
}

/// `DELETE /address`: every address field cleared (origins `/address/<field>`, as the
/// equivalent patch ops).
pub(super) fn clear_address() -> ClientRequest {
    let mut changes = ChangeSet::new();
    for (key, field) in address_fields() {
        changes.push(
            Op::Set {
                field,
                value: Value::Null,
            },
            format!("/address/{key}"),
        );
    }
    ClientRequest {
        changes,
        reload: false,
        full: false,
        document: None,
    }
}

/// Decodes a sub-resource call. `DELETE` carries no body: whatever was sent is not read.
pub(super) fn decode_sub(
    sub: SubResource,
    entry: Option<u64>,
    action: SubAction,
    body: &[u8],
) -> Result<ClientRequest, ApiError> {
    match (sub, action) {
        (SubResource::Entries(coll), SubAction::Delete) => {
            let id = entry.ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Internal,
                    "entry delete routed without an entry id",
                )
            })?;
            let mut changes = ChangeSet::new();
            changes.push(Op::EntryRemove { coll, id }, entry_origin(coll, entry));
            Ok(ClientRequest {
                changes,
                reload: false,
                full: false,
                document: None,
            })
        }
        (SubResource::Address, SubAction::Delete) => Ok(clear_address()),
        (sub, _) => {
            let doc = rules::parse_json_unique(body).map_err(rules::JsonFailure::into_error)?;
            match sub {
                SubResource::Entries(coll) => decode_entry_body(coll, entry, &doc),
                SubResource::Address => decode_address_body(&doc),
            }
        }
    }
}

/// The `Location` of what a sub-resource `POST` created: the client-visible path (see
/// `AnswerCx::location_base`).
pub(super) fn created_location(cx: &AnswerCx<'_>, sub: SubResource, id: Option<u64>) -> String {
    let base = customer_path(cx.customer_id);
    match (sub, id) {
        (SubResource::Entries(coll), Some(id)) => {
            format!(
                "{}{base}/{}/{id}",
                cx.location_base,
                document::coll_key(coll)
            )
        }
        (SubResource::Entries(coll), None) => {
            format!("{}{base}/{}", cx.location_base, document::coll_key(coll))
        }
        (SubResource::Address, _) => format!("{}{base}/address", cx.location_base),
    }
}
