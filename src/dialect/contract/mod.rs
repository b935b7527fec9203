//! The contract suite: one data-driven runner over every dialect instead of four hand-written
//! harnesses (issue 10, item 4).
//!
//! Each dialect has a case file `src/dialect/contract/cases/<dialect>.json` (its
//! [`Profile::name`](super::Profile)). A case names the job it exercises — `route`,
//! `decode_request`, `encode_error`, `encode_success`, `pointer_for`, `locate`, `check_target`,
//! `encode_update`, `decode_customer`, `decode_error` — with its input and the expected output;
//! the runner iterates [`DialectId::ALL`], so a new dialect without a case file fails here
//! instead of going untested.
//! Cases that are the same shape in every dialect live here; tests of one dialect's own grammar
//! (v2 JSON-Patch documents, v1 entry ids, …) stay beside the dialect.
//!
//! [`capabilities`] checks that each profile's capabilities agree with what the codecs do.

mod capabilities;

use super::{dialect, namespace_of, AnswerCx, DialectId, EncodeCx, Endpoint, Target};
use crate::canonical::{ApiError, Change, Customer, ErrorKind, Rule, Violation};
use serde::Deserialize;
use serde_json::Value;

/// One dialect's case file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// Inputs [`capabilities`] needs that only the dialect's own grammar can express.
    probes: Probes,
    /// The cases, run in order.
    cases: Vec<Case>,
}

/// Dialect-specific inputs of the capability checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Probes {
    /// A client write that sets two e-mail addresses, as far as the dialect can say it: a
    /// single-slot dialect must refuse it, the others must decode two e-mails.
    two_emails: Request,
}

/// A client request: the method and path the dialect routes, an optional query and a body.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    method: String,
    path: String,
    #[serde(default)]
    query: Option<String>,
    /// A JSON body, sent as its compact text.
    #[serde(default)]
    body: Option<Value>,
    /// A body sent byte for byte (malformed JSON, duplicate keys, exact spacing).
    #[serde(default)]
    body_text: Option<String>,
}

impl Request {
    fn body_bytes(&self) -> Vec<u8> {
        body_bytes(&self.body, &self.body_text)
    }

    /// The endpoint the dialect's router makes of the request line; a case whose request line
    /// does not route is itself broken.
    fn endpoint(&self, d: DialectId) -> Endpoint {
        match dialect(d).route(&self.method, &self.path) {
            Ok(ep) => ep,
            Err(e) => panic!("{d}: {} {} does not route: {e}", self.method, self.path),
        }
    }
}

fn body_bytes(body: &Option<Value>, text: &Option<String>) -> Vec<u8> {
    match (body, text) {
        (Some(v), None) => v.to_string().into_bytes(),
        (None, Some(t)) => t.clone().into_bytes(),
        (None, None) => Vec::new(),
        (Some(_), Some(_)) => panic!("a case gives `body` or `body_text`, not both"),
    }
}

/// One case: a job, its input, what must come out. (Serde cannot refuse unknown keys beside a
/// flattened enum; the expectations below refuse theirs.)
#[derive(Deserialize)]
struct Case {
    /// What the case pins, for failure messages.
    name: String,
    #[serde(flatten)]
    job: Job,
}

#[derive(Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
enum Job {
    /// [`ClientSide::route`](super::ClientSide::route).
    Route {
        method: String,
        path: String,
        expect: Outcome<Value>,
    },
    /// [`ClientSide::decode_request`](super::ClientSide::decode_request).
    DecodeRequest {
        request: Request,
        expect: Outcome<Decoded>,
    },
    /// [`ClientSide::encode_error`](super::ClientSide::encode_error).
    EncodeError { error: ErrorSpec, expect: Answer },
    /// [`ClientSide::encode_success`](super::ClientSide::encode_success).
    EncodeSuccess {
        method: String,
        path: String,
        customer: Option<Value>,
        cx: CxSpec,
        expect: Answer,
    },
    /// [`UpstreamSide::locate`](super::UpstreamSide::locate): the canonical place of an
    /// upstream's error path (`null`: none).
    Locate {
        path: String,
        expect: Option<Target>,
    },
    /// [`ClientSide::pointer_for`](super::ClientSide::pointer_for): the client's pointer for a
    /// canonical place.
    PointerFor { target: Target, expect: String },
    /// [`UpstreamSide::check_target`](super::UpstreamSide::check_target): every violation, in
    /// order, as `[pointer, rule]`.
    CheckTarget {
        changes: Vec<Change>,
        expect: Vec<(String, Rule)>,
    },
    /// [`UpstreamSide::encode_update`](super::UpstreamSide::encode_update).
    EncodeUpdate {
        customer_id: String,
        changes: Vec<Change>,
        #[serde(default)]
        want_customer: bool,
        #[serde(default)]
        passthrough_headers: Vec<(String, String)>,
        expect: Outcome<Vec<Sent>>,
    },
    /// [`UpstreamSide::decode_customer`](super::UpstreamSide::decode_customer): the expected
    /// customer in its canonical serde form, or `null` when the body carries none.
    DecodeCustomer {
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        body_text: Option<String>,
        expect: Option<Value>,
    },
    /// [`UpstreamSide::decode_error`](super::UpstreamSide::decode_error).
    DecodeError {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        body_text: Option<String>,
        expect: ErrorExpect,
    },
}

/// Either the value a job returns or the error it fails with.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Outcome<T> {
    Ok(T),
    Error(ErrorExpect),
}

/// What a decoded client write must be.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decoded {
    /// The changes, exactly and in order; absent when the case pins only that the body is
    /// accepted.
    #[serde(default)]
    changes: Option<Vec<Change>>,
    #[serde(default)]
    full: Option<bool>,
    #[serde(default)]
    reload: Option<bool>,
}

/// The parts of an [`ApiError`] a case pins; an absent part is not compared.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorExpect {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    kind: Option<ErrorKind>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    violations: Option<Vec<ViolationExpect>>,
}

/// A violation as `[pointer, rule]`, or in full (then its message, when given, and its
/// rejected value, absent meaning none, are compared too).
#[derive(Deserialize)]
#[serde(untagged)]
enum ViolationExpect {
    Pair(String, Rule),
    Full {
        pointer: String,
        rule: Rule,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        rejected: Option<Value>,
    },
}

impl ErrorExpect {
    fn check(&self, got: &ApiError, what: &str) {
        if let Some(status) = self.status {
            assert_eq!(got.status, status, "{what}: status of {got}");
        }
        if let Some(kind) = self.kind {
            assert_eq!(got.kind, kind, "{what}: kind of {got}");
        }
        if let Some(message) = &self.message {
            assert_eq!(&got.message, message, "{what}: message");
        }
        let Some(want) = &self.violations else {
            return;
        };
        assert_eq!(got.violations.len(), want.len(), "{what}: {got}");
        for (g, w) in got.violations.iter().zip(want) {
            match w {
                ViolationExpect::Pair(pointer, rule) => {
                    assert_eq!((&g.pointer, g.rule), (pointer, *rule), "{what}: {got}");
                }
                ViolationExpect::Full {
                    pointer,
                    rule,
                    message,
                    rejected,
                } => {
                    assert_eq!((&g.pointer, g.rule), (pointer, *rule), "{what}: {got}");
                    if let Some(message) = message {
                        assert_eq!(&g.message, message, "{what}");
                    }
                    assert_eq!(&g.rejected, rejected, "{what}");
                }
            }
        }
    }
}

/// An [`ApiError`] to render: `ApiError::new(kind, message)`, or `ApiError::upstream(status,
/// message)` when `upstream` is given, then the optional parts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    #[serde(default)]
    kind: Option<ErrorKind>,
    #[serde(default)]
    upstream: Option<u16>,
    message: String,
    #[serde(default)]
    violations: Vec<Violation>,
    #[serde(default)]
    retry_after: Option<u64>,
}

impl ErrorSpec {
    fn build(&self) -> ApiError {
        let base = match (self.kind, self.upstream) {
            (Some(kind), None) => ApiError::new(kind, self.message.clone()),
            (None, Some(status)) => ApiError::upstream(status, self.message.clone(), vec![]),
            _ => panic!("an error gives `kind` or `upstream`"),
        };
        ApiError {
            violations: self.violations.clone(),
            ..base.with_retry_after(self.retry_after)
        }
    }
}

/// The answer context of an `encode_success` case; absent parts take the usual test values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CxSpec {
    upstream: DialectId,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    default_entry_type: Option<String>,
    #[serde(default)]
    reload: bool,
    #[serde(default)]
    created: Option<u64>,
    #[serde(default)]
    location_base: String,
}

/// What an answer must be: its status, the headers named (`null`: must be absent), and its body
/// as JSON (`body`, key order ignored), as exact text (`body_text`), or empty (neither).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, Option<String>)>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    body_text: Option<String>,
}

impl Answer {
    fn check(&self, got: &super::Synthetic, what: &str) {
        assert_eq!(got.status, self.status, "{what}: status");
        for (name, value) in &self.headers {
            assert_eq!(got.header(name), value.as_deref(), "{what}: header {name}");
        }
        match (&self.body, &self.body_text) {
            (Some(v), None) => assert_eq!(got.json_body().as_ref(), Some(v), "{what}: body"),
            (None, Some(t)) => {
                assert_eq!(
                    String::from_utf8_lossy(&got.body),
                    t.as_str(),
                    "{what}: body"
                )
            }
            (None, None) => assert!(got.body.is_empty(), "{what}: body not empty"),
            (Some(_), Some(_)) => panic!("{what}: `body` or `body_text`, not both"),
        }
    }
}

/// One request an `encode_update` must produce; `body` is its JSON (`null` for none).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sent {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

/// The case file of `d`, parsed.
fn case_file(d: DialectId) -> CaseFile {
    let path = format!(
        "{}/src/dialect/contract/cases/{}.json",
        env!("CARGO_MANIFEST_DIR"),
        d.as_str()
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run(d: DialectId, case: &Case) {
    let what = format!("{d}: {}", case.name);
    let what = what.as_str();
    let dia = dialect(d);
    match &case.job {
        Job::Route {
            method,
            path,
            expect,
        } => {
            let got = dia.route(method, path);
            // Every path the dialect claims (served, or refused for its method or id) lies in its
            // URL space, so a 404 for it would come in the dialect's own format.
            if got.as_ref().map_or_else(|e| e.status != 404, |_| true) {
                assert_eq!(namespace_of(path), Some(d), "{what}: url space");
            }
            match (expect, got) {
                (Outcome::Ok(want), Ok(ep)) => {
                    assert_eq!(
                        &serde_json::to_value(&ep).unwrap_or_default(),
                        want,
                        "{what}"
                    )
                }
                (Outcome::Error(want), Err(e)) => want.check(&e, what),
                (_, got) => panic!("{what}: unexpected {got:?}"),
            }
        }
        Job::DecodeRequest { request, expect } => {
            let ep = request.endpoint(d);
            let got = dia.decode_request(&ep, request.query.as_deref(), &request.body_bytes());
            match (expect, got) {
                (Outcome::Ok(want), Ok(req)) => {
                    if let Some(changes) = &want.changes {
                        assert_eq!(&req.changes.changes, changes, "{what}");
                    }
                    if let Some(full) = want.full {
                        assert_eq!(req.full, full, "{what}: full");
                    }
                    if let Some(reload) = want.reload {
                        assert_eq!(req.reload, reload, "{what}: reload");
                    }
                }
                (Outcome::Error(want), Err(e)) => want.check(&e, what),
                (_, got) => panic!("{what}: unexpected {got:?}"),
            }
        }
        Job::EncodeError { error, expect } => expect.check(&dia.encode_error(&error.build()), what),
        Job::EncodeSuccess {
            method,
            path,
            customer,
            cx,
            expect,
        } => {
            let ep = Request {
                method: method.clone(),
                path: path.clone(),
                query: None,
                body: None,
                body_text: None,
            }
            .endpoint(d);
            let customer: Option<Customer> = customer.as_ref().map(|c| {
                serde_json::from_value(c.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
            });
            let answer_cx = AnswerCx {
                customer_id: cx.customer_id.as_deref().unwrap_or(&ep.customer_id),
                default_entry_type: cx.default_entry_type.as_deref().unwrap_or("work"),
                upstream: cx.upstream,
                reload: cx.reload,
                created: cx.created,
                location_base: &cx.location_base,
            };
            expect.check(
                &dia.encode_success(&ep, customer.as_ref(), &answer_cx),
                what,
            );
        }
        Job::Locate { path, expect } => assert_eq!(&dia.locate(path), expect, "{what}: {path}"),
        Job::PointerFor { target, expect } => {
            assert_eq!(&dia.pointer_for(target), expect, "{what}: {target:?}")
        }
        Job::CheckTarget { changes, expect } => {
            let got: Vec<(String, Rule)> = dia
                .check_target(changes)
                .into_iter()
                .map(|v| (v.pointer, v.rule))
                .collect();
            assert_eq!(&got, expect, "{what}");
        }
        Job::EncodeUpdate {
            customer_id,
            changes,
            want_customer,
            passthrough_headers,
            expect,
        } => {
            let cx = EncodeCx {
                want_customer: *want_customer,
                passthrough_headers: passthrough_headers.clone(),
            };
            match (expect, dia.encode_update(customer_id, changes, &cx)) {
                (Outcome::Ok(want), Ok(reqs)) => {
                    assert_eq!(reqs.len(), want.len(), "{what}: {reqs:?}");
                    for (got, want) in reqs.iter().zip(want) {
                        assert_eq!(got.method, want.method, "{what}");
                        assert_eq!(got.path, want.path, "{what}");
                        assert_eq!(got.headers, want.headers, "{what}");
                        let body = got.body.as_deref().map_or(Value::Null, |b| {
                            serde_json::from_slice(b).unwrap_or_else(|e| panic!("{what}: {e}"))
                        });
                        assert_eq!(body, want.body, "{what}");
                    }
                }
                (Outcome::Error(want), Err(e)) => want.check(&e, what),
                (_, got) => panic!("{what}: unexpected {got:?}"),
            }
        }
        Job::DecodeCustomer {
            body,
            body_text,
            expect,
        } => {
            let got = dia.decode_customer(&body_bytes(body, body_text));
            let want: Option<Customer> = expect.as_ref().map(|c| {
                serde_json::from_value(c.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
            });
            assert_eq!(got, want, "{what}");
        }
        Job::DecodeError {
            status,
            body,
            body_text,
            expect,
        } => expect.check(
            &dia.decode_error(*status, &body_bytes(body, body_text)),
            what,
        ),
    }
}

#[test]
fn every_dialect_meets_its_contract_cases() {
    for d in DialectId::ALL {
        let file = case_file(d);
        assert!(!file.cases.is_empty(), "{d}: no cases");
        for case in &file.cases {
            run(d, case);
        }
    }
}
