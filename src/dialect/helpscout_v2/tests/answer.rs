//! Error bodies and success answers (204, HAL GET) in the client's dialect.

use super::*;

#[test]
fn encode_error_validation_shape() {
    let err = ApiError::invalid(vec![
        Violation::new(
            "/emails/0/location",
            Rule::Enum,
            "Expected one of these: 'work'",
        )
        .with_value(json!("mobile")),
        Violation::new("id", Rule::CustomerId, "bad id"),
    ]);
    let (s, body) = error_body(&err);
    assert_eq!(s.status, 400);
    assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
    assert_eq!(
        body,
        json!({
            "logRef": "<uuid>",
            "message": "Bad request",
            "_embedded": {"errors": [
                {"path": "emails/0/location", "message": "Expected one of these: 'work'",
                 "source": "JSON", "rejectedValue": "mobile"},
                {"path": "id", "message": "bad id", "source": "JSON"}
            ]},
            "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}}
        })
    );
}

#[test]
fn encode_error_json_root_and_unmappable() {
    let err = rules::parse_json(b"[{")
        .err()
        .unwrap_or_else(|| ApiError::invalid(vec![]));
    let (_, body) = error_body(&err);
    assert_eq!(body["message"], "Error parsing request body into JSON");
    assert_eq!(body["_embedded"]["errors"][0]["path"], "body");
    let err = ApiError::unmappable(vec![Violation::new("/chats", Rule::Unmappable, "no place")]);
    let (s, body) = error_body(&err);
    assert_eq!((s.status, &body["message"]), (400, &json!("Bad request")));
    assert_eq!(body["_embedded"]["errors"][0]["path"], "chats");
}

#[test]
fn encode_error_non_validation_and_429() {
    let (s, body) = error_body(&ApiError::new(ErrorKind::NotFound, "Customer not found"));
    assert_eq!(s.status, 404);
    assert_eq!(
        body,
        json!({
            "logRef": "<uuid>",
            "message": "Customer not found",
            "_embedded": {"errors": []},
            "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}}
        })
    );
    let limited =
        ApiError::new(ErrorKind::RateLimited, "API rate limit exceeded").with_retry_after(Some(17));
    let (s, body) = error_body(&limited);
    assert_eq!(s.status, 429);
    assert_eq!(s.header("X-RateLimit-Retry-After"), Some("17"));
    assert_eq!(body["message"], "API rate limit exceeded");
    let (s, _) = error_body(&ApiError::new(ErrorKind::GatewayTimeout, "Gateway timeout"));
    assert_eq!((s.status, s.header("X-RateLimit-Retry-After")), (504, None));
}

// --- encode_success ----------------------------------------------------------------------

#[test]
fn writes_answer_204_empty() {
    for kind in [PATCH, PUT, EndpointKind::Properties] {
        let s = HelpscoutV2.encode_success(&ep(kind), None, &answer_cx(DialectId::HelpscoutV2));
        assert_eq!((s.status, s.body.len()), (204, 0));
        let req = ClientRequest::default();
        assert!(!HelpscoutV2.answer_needs_customer(&ep(kind), &req));
    }
    assert!(HelpscoutV2.answer_needs_customer(&ep(EndpointKind::Get), &ClientRequest::default()));
}

#[test]
fn get_answer_is_hal_like_the_vendor() {
    let customer: Customer = serde_json::from_value(json!({
        "first_name": "Vernon", "last_name": "Bear", "gender": "male", "age": null,
        "organization": "Acme, Inc", "notes": "", "photo_type": "twitter",
        "address": {"lines": ["1 Main"], "city": "Prague", "postal_code": "11000"},
        "emails": [{"id": 1, "type": "home", "value": "bear@acme.com"}],
        "phones": [{"id": 1, "value": "555"}],
        "chats": [{"id": 5, "type": "aim", "value": "54831172"}],
        "social_profiles": [{"id": 4, "type": "foursquare", "value": "@me"}],
        "websites": [{"id": 3, "value": "http://home.com"}],
        "properties": {"car": "Tesla", "seats": 5},
        "external_id": "ext-1",
        "meta": {"id": "abc", "record_created_at": "2012-07-23T12:34:12Z",
                 "record_updated_at": "1700000000"}
    }))
    .unwrap_or_default();
    let s = HelpscoutV2.encode_success(
        &ep(EndpointKind::Get),
        Some(&customer),
        &answer_cx(DialectId::Helpcrunch),
    );
    assert_eq!(s.status, 200);
    assert_eq!(s.header("Content-Type"), Some("application/hal+json"));
    let h = |k: &str| json!({"href": format!("/v2/customers/500/{k}/")});
    assert_eq!(
        s.json_body(),
        Some(json!({
            "id": 500,
            "firstName": "Vernon",
            "lastName": "Bear",
            "gender": "Male",
            "organization": "Acme, Inc",
            "photoType": "twitter",
            "createdAt": "2012-07-23T12:34:12Z",
            // HelpCrunch-style UNIX seconds, rendered in Help Scout's format.
            "updatedAt": "2023-11-14T22:13:20Z",
            "background": "",
            "_embedded": {
                "emails": [{"id": 1, "value": "bear@acme.com", "type": "home"}],
                "phones": [{"id": 1, "value": "555", "type": "work"}],
                "chats": [{"id": 5, "value": "54831172", "type": "aim"}],
                "social_profiles": [{"id": 4, "value": "@me", "type": "forsquare"}],
                "websites": [{"id": 3, "value": "http://home.com"}],
                "properties": [{"slug": "car", "value": "Tesla"}, {"slug": "seats", "value": 5}],
                "address": {"lines": ["1 Main"], "city": "Prague", "postalCode": "11000"}
            },
            "_links": {
                "address": h("address"), "chats": h("chats"), "emails": h("emails"),
                "phones": h("phones"), "self": {"href": "/v2/customers/500"},
                "social-profiles": h("social-profiles"), "websites": h("websites")
            }
        }))
    );
    // Key order follows the vendor's documents.
    let text = String::from_utf8_lossy(&s.body).into_owned();
    let pos = |k: &str| text.find(k).unwrap_or(usize::MAX);
    assert!(pos("\"id\"") < pos("firstName") && pos("firstName") < pos("_embedded"));
}

#[test]
fn get_answer_for_an_empty_customer() {
    let s = HelpscoutV2.encode_success(
        &ep(EndpointKind::Get),
        Some(&Customer::default()),
        &answer_cx(DialectId::Reach),
    );
    let body = s.json_body().unwrap_or_default();
    assert_eq!(body["id"], 500);
    assert_eq!(body["_embedded"]["emails"], json!([]));
    assert!(body["_embedded"].get("address").is_none());
    assert!(body.get("firstName").is_none());
}

#[test]
fn single_slot_default_type_falls_back_to_other_where_not_allowed() {
    let customer: Customer = serde_json::from_value(json!({
        "emails": [{"id": 1, "value": "a@b.co"}],
        "chats": [{"id": 2, "value": "handle"}]
    }))
    .unwrap_or_default();
    let cx = AnswerCx {
        default_entry_type: "mobile",
        ..test_support::answer_cx("9", DialectId::Reach)
    };
    let body = HelpscoutV2
        .encode_success(&ep(EndpointKind::Get), Some(&customer), &cx)
        .json_body()
        .unwrap_or_default();
    assert_eq!(body["_embedded"]["emails"][0]["type"], "other");
    assert_eq!(body["_embedded"]["chats"][0]["type"], "other");
}
