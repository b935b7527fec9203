//! Each profile capability checked against what the dialect's codecs do, so a profile row and
//! the code cannot drift apart: the planner, proxy and sandbox trust the profile.

use super::{case_file, dialect, namespace_of, DialectId, EncodeCx};
use crate::canonical::{ApiError, Change, Coll, Customer, ErrorKind, Field, Op, Rule};
use crate::dialect::profile::IdKind;
use crate::dialect::{test_support, Endpoint};
use serde_json::json;

/// The dialect's default update endpoint (its profile's `default_update`), routed.
fn update_endpoint(d: DialectId) -> Endpoint {
    let (method, path) = d.profile().default_update;
    match dialect(d).route(method, path) {
        Ok(ep) => ep,
        Err(e) => panic!("{d}: default update {method} {path}: {e}"),
    }
}

#[test]
fn single_slot_dialects_refuse_a_second_email() {
    for d in DialectId::ALL {
        let probe = case_file(d).probes.two_emails;
        let got = dialect(d).decode_request(
            &probe.endpoint(d),
            probe.query.as_deref(),
            &probe.body_bytes(),
        );
        if d.profile().single_slot {
            let err = got.err().map(|e| (e.status, e.kind));
            assert_eq!(err, Some((400, ErrorKind::Invalid)), "{d}");
        } else {
            let emails = got
                .unwrap_or_else(|e| panic!("{d}: {e}"))
                .changes
                .changes
                .iter()
                .filter(|c| {
                    matches!(
                        c.op,
                        Op::EntryAdd {
                            coll: Coll::Emails,
                            ..
                        }
                    )
                })
                .count();
            assert_eq!(emails, 2, "{d}");
        }
    }
}

#[test]
fn joined_name_dialects_need_both_halves_to_encode() {
    for d in DialectId::ALL {
        let id = update_endpoint(d).customer_id;
        let last_only = [Change::new(
            Op::Set {
                field: Field::LastName,
                value: json!("Doe"),
            },
            "/lastName",
        )];
        let got = dialect(d).encode_update(&id, &last_only, &EncodeCx::default());
        if d.profile().joins_name {
            assert_eq!(got.err().map(|e| e.kind), Some(ErrorKind::Internal), "{d}");
        } else {
            assert!(got.is_ok_and(|reqs| reqs.len() == 1), "{d}");
        }
    }
}

#[test]
fn a_429_carries_the_profiles_retry_header_only() {
    for d in DialectId::ALL {
        let limited = ApiError::new(ErrorKind::RateLimited, "Slow down").with_retry_after(Some(30));
        let answer = dialect(d).encode_error(&limited);
        assert_eq!(answer.status, 429, "{d}");
        for other in DialectId::ALL {
            let header = other.profile().retry_header;
            let want = (header == d.profile().retry_header).then_some("30");
            assert_eq!(answer.header(header), want, "{d}: {header}");
        }
        let unknown_delay = dialect(d).encode_error(&ApiError::new(ErrorKind::RateLimited, "x"));
        assert_eq!(unknown_delay.header(d.profile().retry_header), None, "{d}");
    }
}

#[test]
fn an_update_is_answered_with_the_profiles_success_status() {
    for d in DialectId::ALL {
        let ep = update_endpoint(d);
        let cx = test_support::answer_cx(&ep.customer_id, d);
        let customer = Customer::default();
        let answer = dialect(d).encode_success(&ep, Some(&customer), &cx);
        assert_eq!(answer.status, d.profile().update_success_status, "{d}");
    }
}

#[test]
fn the_id_kind_decides_whether_a_word_is_an_id() {
    for d in DialectId::ALL {
        let (method, path) = d.profile().default_update;
        let id = update_endpoint(d).customer_id;
        let (head, tail) = path
            .rsplit_once(id.as_str())
            .unwrap_or_else(|| panic!("{d}: {path} lacks its id"));
        let worded = format!("{head}abc{tail}");
        let got = dialect(d).route(method, &worded);
        match d.profile().id_kind {
            IdKind::PositiveInteger => {
                let err = got.err().map(|e| {
                    let v: Vec<(String, Rule)> = e
                        .violations
                        .into_iter()
                        .map(|v| (v.pointer, v.rule))
                        .collect();
                    (e.status, v)
                });
                assert_eq!(
                    err,
                    Some((400, vec![("id".to_string(), Rule::CustomerId)])),
                    "{d} {worded}"
                );
            }
            IdKind::String => {
                assert_eq!(got.map(|ep| ep.customer_id), Ok("abc".into()), "{d}");
            }
        }
        // Either way the path is the dialect's, so its errors come in the dialect's format.
        assert_eq!(namespace_of(&worded), Some(d), "{worded}");
    }
}

/// The proxy keeps a vendor's pass-through headers (its profile's `passthrough_headers`) for that
/// vendor's upstream alone; every encoder then sends on what it is given, on writes and reads.
#[test]
fn encoders_send_the_pass_through_headers_they_are_given() {
    for d in DialectId::ALL {
        let id = update_endpoint(d).customer_id;
        for header in DialectId::ALL
            .iter()
            .flat_map(|o| o.profile().passthrough_headers)
        {
            let cx = EncodeCx {
                want_customer: false,
                passthrough_headers: vec![(header.to_string(), "t-1".to_string())],
            };
            // A free-text field the dialect stores (Reach has no notes).
            let field = [Field::Notes, Field::ExternalId]
                .into_iter()
                .find(|f| dialect(d).holds(*f))
                .unwrap_or_else(|| panic!("{d} holds neither notes nor an external id"));
            let value = json!("n");
            let change = [Change::new(Op::Set { field, value }, "/x")];
            let writes = dialect(d).encode_update(&id, &change, &cx);
            let writes = writes.unwrap_or_else(|e| panic!("{d}: {e}"));
            assert!(!writes.is_empty(), "{d}");
            let read = dialect(d).encode_get(&id, &cx);
            for req in writes.iter().chain([&read]) {
                let sent = req.headers.iter().find(|(n, _)| n == header);
                assert_eq!(sent.map(|(_, v)| v.as_str()), Some("t-1"), "{d} {req:?}");
            }
        }
    }
}
