//! Unit tests of the Help Scout v2 dialect, one file per job; the shared helpers live here.

mod answer;
mod decode;
mod route;
mod sub;
mod upstream;
mod validation;

use super::*;
use crate::dialect::test_support::{self, body_json, set};

fn ep(kind: EndpointKind) -> Endpoint {
    test_support::endpoint(kind, "100")
}

const PATCH: EndpointKind = EndpointKind::Update { full: false };
const PUT: EndpointKind = EndpointKind::Update { full: true };

fn decode(kind: EndpointKind, body: &str) -> Result<ClientRequest, ApiError> {
    HelpscoutV2.decode_request(&ep(kind), None, body.as_bytes())
}

fn changes(kind: EndpointKind, body: &str) -> Vec<Change> {
    match decode(kind, body) {
        Ok(req) => req.changes.changes,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn violations(kind: EndpointKind, body: &str) -> Vec<(String, Rule)> {
    match decode(kind, body) {
        Ok(req) => panic!("expected an error, got {:?}", req.changes),
        Err(e) => {
            assert_eq!(e.status, 400);
            pointer_rules(e.violations)
        }
    }
}

fn one(kind: EndpointKind, body: &str, pointer: &str, rule: Rule) {
    assert_eq!(
        violations(kind, body),
        vec![(pointer.to_string(), rule)],
        "body: {body}"
    );
}

// --- route -------------------------------------------------------------------------------

fn sub(sub: SubResource, entry: Option<u64>, action: SubAction) -> EndpointKind {
    EndpointKind::SubResource { sub, entry, action }
}

const EMAILS: SubResource = SubResource::Entries(Coll::Emails);

fn error_body(err: &ApiError) -> (Synthetic, Value) {
    let s = HelpscoutV2.encode_error(err);
    let mut body = s.json_body().unwrap_or(Value::Null);
    let log_ref = body["logRef"].as_str().unwrap_or_default().to_string();
    assert!(uuid::Uuid::parse_str(&log_ref).is_ok(), "logRef {log_ref}");
    assert_ne!(
        log_ref,
        HelpscoutV2
            .encode_error(err)
            .json_body()
            .unwrap_or_default()["logRef"]
            .as_str()
            .unwrap_or_default()
    );
    body["logRef"] = json!("<uuid>");
    (s, body)
}

fn answer_cx(upstream: DialectId) -> AnswerCx<'static> {
    test_support::answer_cx("500", upstream)
}

const DOCS_GET: &str = r#"{
  "id" : 500, "firstName" : "Vernon", "lastName" : "Bear", "gender" : "Male",
  "jobTitle" : "CEO and Co-Founder", "location" : "Greater Dallas/FT Worth Area",
  "organization" : "Acme, Inc", "organizationId" : 35, "photoType" : "twitter",
  "photoUrl" : "http://twitter.com/img/some-avatar.jpg", "age" : "30-35",
  "createdAt" : "2012-07-23T12:34:12Z", "updatedAt" : "2012-07-24T20:18:33Z",
  "background" : "I've worked with Vernon before and he's really great.", "draft" : false,
  "_embedded" : {
    "emails" : [ { "id" : 1, "value" : "bear@acme.com", "type" : "home" } ],
    "phones" : [ { "id" : 2, "value" : "123-123-123", "type" : "home" } ],
    "chats" : [ { "id" : 5, "value" : "54831172", "type" : "aim" } ],
    "social_profiles" : [ { "id" : 4, "value" : "@me", "type" : "twitter" } ],
    "websites" : [ { "id" : 3, "value" : "http://home.com" } ],
    "properties" : [ { "type" : "text", "slug" : "car", "name" : "Car", "value" : "Tesla",
                       "text" : "Tesla", "source" : { "name" : "api" } } ],
    "address" : { "city" : "Prague", "lines" : [ ] }
  },
  "_links" : { "self" : { "href" : "..." } }
}"#;

const REAL_GET: &str = r#"{"id":123456,"firstName":"Andre","lastName":"Leblanc","gender":"Male","jobTitle":"Software Engineer","location":"Clearwater, FL 33756, United States","organization":"TaxJar","photoType":"gravatar","photoUrl":"https://secure.gravatar.com/avatar/8319f019fc608e7b550ce4852077b396","createdAt":"2017-11-06T02:55:50Z","updatedAt":"2019-06-02T13:47:21Z","background":"","_embedded":{"emails":[{"id":199681969,"value":"andre@example.com","type":"work"}],"websites":[{"id":233272925,"value":"http://BruiserConversions.com"},{"id":217623410,"value":"http://www.blancblog.co"}],"chats":[],"phones":[],"social_profiles":[{"id":290382267,"value":"https://www.flickr.com/people/33510707@N02","type":"flickr"},{"id":217623409,"value":"https://twitter.com/BruiserCustoms","type":"twitter"},{"id":217623408,"value":"https://www.linkedin.com/in/andremleblanc","type":"linkedin"}]},"_links":{"self":{"href":"https://api.helpscout.net/v2/customers/123456"}}}"#;
