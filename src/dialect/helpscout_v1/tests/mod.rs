//! Unit tests of the Help Scout v1 dialect, one file per job; the shared helpers and the
//! vendor's recorded bodies live here.

mod answer;
mod decode;
mod upstream;

use super::*;
use crate::dialect::test_support::{self, body_json, endpoint, entry, one};

const V1: HelpscoutV1 = HelpscoutV1;

/// Real GET answer (P4 test_apis_customers_get.yml, `helpscout.md` §3.4).
const REAL_GET: &str = r#"{"item":{"id":144228647,"firstName":"Test","lastName":"User","fullName":"Test User","photoUrl":null,"photoType":null,"gender":"unknown","age":null,"organization":"Test Company","jobTitle":"CEO","location":null,"createdAt":"2017-09-23T20:12:43Z","modifiedAt":"2017-12-13T22:39:59Z","background":null,"address":null,"socialProfiles":null,"emails":[{"id":191676921,"value":"test@example.com","location":"work"}],"phones":[{"id":198059533,"value":"1234567890","location":"work"}],"chats":null,"websites":null}}"#;

/// Real PUT-with-reload answer (P4, `helpscout.md` §3.4).
const REAL_RELOAD: &str = r#"{"item":{"id":156969664,"firstName":"A new name","lastName":"User","fullName":"A new name User","photoUrl":null,"photoType":null,"gender":"unknown","age":null,"organization":"Test Company","jobTitle":"CEO","location":null,"createdAt":"2017-12-13T22:50:25Z","modifiedAt":"2017-12-13T22:50:26Z","background":null,"address":null,"socialProfiles":null,"emails":[],"phones":[],"chats":null,"websites":null}}"#;

fn update() -> Endpoint {
    endpoint(EndpointKind::Update { full: false }, "100")
}

fn get() -> Endpoint {
    endpoint(EndpointKind::Get, "100")
}

fn decode(body: &str) -> Result<ClientRequest, ApiError> {
    V1.decode_request(&update(), None, body.as_bytes())
}

fn ops(body: &str) -> Vec<(Op, String)> {
    decode(body)
        .expect("valid body")
        .changes
        .changes
        .into_iter()
        .map(|c| (c.op, c.origin.into_owned()))
        .collect()
}

/// The (pointer, rule) pairs of a rejected body.
fn rejected(body: &str) -> Vec<(String, Rule)> {
    let err = decode(body).expect_err("invalid body");
    assert_eq!(err.status, 400);
    pointer_rules(err.violations)
}

fn set(field: Field, value: Value) -> Op {
    Op::Set { field, value }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn cx<'a>(reload: bool) -> AnswerCx<'a> {
    AnswerCx {
        reload,
        ..test_support::answer_cx("100", DialectId::HelpscoutV1)
    }
}
