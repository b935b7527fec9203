//! Data-driven checks of every profile's field rows and route rows over [`DialectId::ALL`]:
//! each row round-trips (canonical → wire name → `locate` → the same canonical), `pointer_for`
//! names what the dialect's own decoder names, and every route row is what the shared matcher
//! recognises. A new dialect or row is checked without a line here.

use super::fields::{self, Canon, FieldRow, ValueRule};
use super::profile::{PointerStyle, PropertyPointer};
use super::routes::RouteKind;
use super::{DialectId, EncodeCx, SubAction, Target};
use crate::canonical::{Change, Coll, ErrorKind, Op};
use serde_json::{json, Value};

fn target_of(row: &FieldRow, entry: Option<u64>) -> Target {
    match row.canon {
        Canon::Field(f) => Target::Field(f),
        Canon::Coll(c) => Target::Coll(c, entry),
    }
}

/// The rows sharing `row`'s wire name (HelpCrunch's joined `name` is two rows).
fn same_wire(d: DialectId, row: &FieldRow) -> Vec<Canon> {
    d.profile()
        .fields
        .iter()
        .filter(|r| r.wire == row.wire)
        .map(|r| r.canon)
        .collect()
}

fn canon_of(t: &Target) -> Option<Canon> {
    match t {
        Target::Field(f) => Some(Canon::Field(*f)),
        Target::Coll(c, _) => Some(Canon::Coll(*c)),
        Target::Property(_) => None,
    }
}

#[test]
fn every_field_row_round_trips_through_pointer_for_and_locate() {
    for d in DialectId::ALL {
        let p = d.profile();
        let dialect = d.dialect();
        assert!(!p.fields.is_empty(), "{d} has no field rows");
        for row in p.fields {
            let t = target_of(row, Some(7));
            let pointer = dialect.pointer_for(&t);
            let located = dialect
                .locate(&pointer)
                .unwrap_or_else(|| panic!("{d}: {pointer} is not located"));
            let canon = canon_of(&located);
            assert!(
                canon.is_some_and(|c| same_wire(d, row).contains(&c)),
                "{d}: {pointer} located as {located:?}, row {row:?}"
            );
            // The entry survives where the vendor addresses entries by id, is the one slot of a
            // single-slot dialect, and is dropped where error paths count array positions.
            if let (Canon::Coll(_), Target::Coll(_, entry)) = (row.canon, &located) {
                let want = if p.single_slot {
                    Some(1)
                } else if p.positional_entry_errors {
                    None
                } else {
                    Some(7)
                };
                assert_eq!(*entry, want, "{d}: {pointer}");
            }
            // The vendor's other names, as pointers and as dotted paths, name the same field.
            for name in std::iter::once(row.wire).chain(row.aliases.iter().copied()) {
                for path in [format!("/{name}"), name.replace('/', ".")] {
                    let got = dialect.locate(&path).as_ref().and_then(canon_of);
                    assert!(
                        got.is_some_and(|c| same_wire(d, row).contains(&c)),
                        "{d}: {path} located as {got:?}"
                    );
                }
            }
            // The wire lookups the codecs use agree with the rows.
            match row.canon {
                Canon::Field(f) => {
                    assert!(dialect.holds(f), "{d} {f:?}");
                    assert_eq!(fields::field_wire(p, f), Some(row.wire), "{d}");
                    assert!(fields::field_by_wire(p, row.wire).is_some(), "{d}");
                }
                Canon::Coll(c) => {
                    assert!(dialect.holds_coll(c), "{d} {c:?}");
                    assert_eq!(fields::coll_by_wire(p, row.wire), Some(c), "{d}");
                }
            }
        }
        // The profile's collections are exactly its collection rows.
        for c in Coll::ALL {
            assert_eq!(
                p.colls.contains(&c),
                fields::coll_row(p, c).is_some(),
                "{d} {c:?}"
            );
        }
    }
}

#[test]
fn a_property_pointer_locates_its_slug() {
    for d in DialectId::ALL {
        let p = d.profile();
        if !p.has_properties {
            continue;
        }
        let pointer = d.dialect().pointer_for(&Target::Property("car".into()));
        let upstream = format!("/{}/car", p.properties.wire);
        let want = match p.properties.pointer {
            PropertyPointer::OwnDocument => {
                assert_eq!(pointer, "/car", "{d}");
                "car"
            }
            PropertyPointer::Whole => {
                assert_eq!(pointer, format!("/{}", p.properties.wire), "{d}");
                // An index names an item of the request array, not a slug.
                let item = format!("/{}/0", p.properties.wire);
                assert_eq!(d.dialect().locate(&item), Some(Target::Property("".into())));
                "car"
            }
            PropertyPointer::Child => "car",
        };
        assert_eq!(
            d.dialect().locate(&upstream),
            Some(Target::Property(want.into())),
            "{d}"
        );
    }
}

/// A value the row's rule accepts.
fn valid_value(rule: ValueRule) -> Option<Value> {
    Some(match rule {
        ValueRule::Text | ValueRule::Length { .. } => json!("Ab"),
        ValueRule::OneOf { values, .. } => json!(values[0]),
        ValueRule::Boolean => json!(true),
        ValueRule::Locale => json!("en"),
        ValueRule::UnixSeconds => json!(1_700_000_000),
        ValueRule::DateTime => json!("2023-11-07T05:31:56Z"),
        ValueRule::RequiredId => json!("cus_1"),
        ValueRule::Lines => json!(["Main St 1"]),
        ValueRule::Tags => json!([{"name": "vip"}]),
        ValueRule::Entries => return None,
    })
}

/// A client update body that sets the member at `pointer`, in the dialect's body style.
fn body_setting(style: PointerStyle, pointer: &str, value: Value) -> Value {
    if style == PointerStyle::PatchPath {
        return json!([{"op": "replace", "path": pointer, "value": value}]);
    }
    pointer
        .trim_start_matches('/')
        .rsplit('/')
        .fold(value, |inner, key| json!({ key: inner }))
}

#[test]
fn pointer_for_names_what_the_decoder_names() {
    for d in DialectId::ALL {
        let p = d.profile();
        let dialect = d.dialect();
        let (method, path) = p.default_update;
        let ep = dialect
            .route(method, path)
            .unwrap_or_else(|e| panic!("{d}: {e:?}"));
        for row in p.fields {
            let value = match (row.canon, valid_value(row.rule)) {
                (Canon::Field(_), Some(v)) => v,
                // One slot: the address itself is the value.
                (Canon::Coll(Coll::Emails), None) if p.single_slot => json!("a@example.com"),
                (Canon::Coll(Coll::Phones), None) if p.single_slot => json!("+15550100"),
                // Entry grammars are per dialect (v1 ids, v2 patch paths).
                _ => continue,
            };
            let pointer = dialect.pointer_for(&target_of(row, None));
            let body = body_setting(p.pointer_style, &pointer, value);
            let req = dialect
                .decode_request(&ep, None, body.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{d}: {body} refused: {e:?}"));
            let named = req.changes.changes.iter().any(|c| {
                c.origin == pointer
                    && match (&c.op, row.canon) {
                        (Op::Set { field, .. }, Canon::Field(f)) => *field == f,
                        (Op::Set { .. }, Canon::Coll(_)) => false,
                        (_, Canon::Coll(_)) => true,
                        (_, Canon::Field(_)) => false,
                    }
            });
            assert!(named, "{d}: {body} decoded as {:?}", req.changes.changes);
        }
    }
}

/// The path of a route row with its placeholders filled in.
fn concrete(pattern: &str, id: &str, coll: &str) -> String {
    pattern
        .replace("{id}", id)
        .replace("{coll}", coll)
        .replace("{entry}", "7")
}

#[test]
fn every_route_row_is_what_the_matcher_recognises() {
    for d in DialectId::ALL {
        let p = d.profile();
        let dialect = d.dialect();
        // A path id the dialect accepts: the default update's.
        let id = p.default_update.1.rsplit('/').next().unwrap_or_default();
        let id = p
            .url_space
            .suffix
            .and_then(|s| id.strip_suffix(s))
            .unwrap_or(id);
        let coll = p
            .fields
            .iter()
            .find(|r| r.canon == Canon::Coll(Coll::Emails));
        let coll_wire = coll.map_or("emails", |r| r.wire);
        for row in p.routes {
            let path = concrete(row.path, id, coll_wire);
            let ep = dialect
                .route(row.method, &path)
                .unwrap_or_else(|e| panic!("{d} {} {path}: {e:?}", row.method));
            // Every entries row but a create names one entry (its `{entry}` became 7).
            let entry = match row.kind {
                RouteKind::Entries(action) => (action != SubAction::Create).then_some(7),
                _ => None,
            };
            let want = row.kind.endpoint(Some(Coll::Emails), entry);
            assert_eq!(Some(ep.kind), want, "{d} {} {path}", row.method);
            if row.path.contains("{id}") {
                assert_eq!(ep.customer_id, id, "{d} {path}");
            }
            // A method no row of the shape has is 405, and `Allow` lists this row's method.
            let err = dialect.route("TRACE", &path).err();
            let allow = err.as_ref().and_then(|e| e.allow.clone());
            assert_eq!(
                err.map(|e| e.kind),
                Some(ErrorKind::MethodNotAllowed),
                "{d}"
            );
            assert!(
                allow.is_some_and(|a| a.split(", ").any(|m| m == row.method)),
                "{d} {path}"
            );
            // The path lies in the dialect's own URL space.
            assert_eq!(super::namespace_of(&path), Some(d), "{path}");
        }
        // The token endpoint, where there is one, is a route row.
        if let Some(token) = p.token_path {
            assert!(
                p.routes
                    .iter()
                    .any(|r| r.path == token && r.kind == RouteKind::Token),
                "{d}"
            );
        }
        // A path the dialect does not know is 404 in its own words.
        let err = dialect.route("GET", &format!("{}/nowhere", p.url_space.root));
        assert_eq!(
            err.err().map(|e| (e.kind, e.message)),
            Some((ErrorKind::NotFound, p.route_errors.not_found.to_string())),
            "{d}"
        );
        // Reserved ids name vendor endpoints, not malformed ids: 404 before the method.
        for reserved in p.route_errors.reserved_ids {
            let path = concrete(p.routes[0].path, reserved, coll_wire);
            let err = dialect.route("TRACE", &path).err().map(|e| e.kind);
            assert_eq!(err, Some(ErrorKind::NotFound), "{d} {path}");
        }
    }
}

#[test]
fn every_field_row_is_what_the_upstream_encoder_writes() {
    for d in DialectId::ALL {
        let p = d.profile();
        for row in p.fields {
            let Canon::Field(field) = row.canon else {
                continue;
            };
            let Some(value) = valid_value(row.rule) else {
                continue;
            };
            // A joined name is written from both halves: every row of the wire name is set.
            let changes: Vec<Change> = p
                .fields
                .iter()
                .filter(|r| r.wire == row.wire)
                .filter_map(|r| match r.canon {
                    Canon::Field(f) => Some(Change::new(
                        Op::Set {
                            field: f,
                            value: value.clone(),
                        },
                        "/x",
                    )),
                    Canon::Coll(_) => None,
                })
                .collect();
            let requests = d
                .dialect()
                .encode_update("100", &changes, &EncodeCx::default())
                .unwrap_or_else(|e| panic!("{d}: {field:?} not encoded: {e:?}"));
            // The member's own name (the last token of its wire path) is in the body.
            let name = row.wire.rsplit('/').next().unwrap_or(row.wire);
            let written = requests.iter().any(|r| {
                r.body
                    .as_ref()
                    .is_some_and(|b| String::from_utf8_lossy(b).contains(&format!("\"{name}\"")))
                    || r.body.as_ref().is_some_and(|b| {
                        String::from_utf8_lossy(b).contains(&format!("\"/{}\"", row.wire))
                    })
            });
            assert!(written, "{d}: {field:?} as {}: {requests:?}", row.wire);
        }
    }
}

#[test]
fn the_v2_patch_document_names_fields_as_the_v2_rows_do() {
    let p = DialectId::HelpscoutV2.profile();
    for (pointer, field) in super::document::FIELDS {
        assert_eq!(
            fields::field_wire(p, field).map(|w| format!("/{w}")),
            Some(pointer.to_string()),
            "{field:?}"
        );
    }
    for c in Coll::ALL {
        assert_eq!(
            fields::coll_row(p, c).map(|r| r.wire),
            Some(super::document::coll_key(c)),
            "{c:?}"
        );
    }
}

#[test]
fn a_member_that_only_holds_others_is_not_located() {
    // HelpCrunch answers `location/city`; `location` alone is not its free-text location.
    assert_eq!(DialectId::Helpcrunch.dialect().locate("location"), None);
    assert_eq!(DialectId::HelpscoutV2.dialect().locate("/address"), None);
    // A canonical name (what `pointer_for` writes for a field the dialect lacks) is located.
    assert_eq!(
        DialectId::HelpscoutV1.dialect().locate("/blocked"),
        Some(Target::Field(crate::canonical::Field::Blocked))
    );
}
