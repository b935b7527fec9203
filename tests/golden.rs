//! Golden fixtures: `tests/fixtures/<client-dialect>/<case>/` holds `case.toml` (method, path,
//! query, content type, policy), `request.json` (the client's body) and optionally `state.json`
//! (the canonical customer the upstream holds). The expected results live in `expected/`:
//! `client-error.json` when the client's own dialect refuses the request, otherwise one file per
//! upstream dialect with the planner's verdict and the upstream request(s) the gateway would send
//! (or the error the client would get). A case without `state.json` is given the default state
//! of `tests/fixtures/default-state-{multi,single}.json` (entry ids as a multi-entry or a
//! single-slot upstream holds them), so stateful pairs show concrete requests too. GET cases
//! expect the upstream GET and the client's translated answer built from that state.
//!
//! Every case that decodes also pins `expected/decode.json`: the canonical request (change set,
//! `reload`, `full`, patch document) the client's body decodes to, so a decode regression shows
//! in the decode, not only in the bytes sent upstream.
//!
//! A case may carry recorded upstream answers, `upstream/<upstream-dialect>.json`: a list of
//! `{status, headers, body}` (`body` JSON, or a string sent as raw bytes, or absent), fed in
//! order to the steps of a [`Session`] driven exactly as the proxy drives it (no state known
//! beforehand: the state read, the writes, the read after are each a step). Its expected file,
//! `expected/<upstream>.session.json`, lists each step with the request and the status it was
//! answered with, then the client's answer (or error). Those cases pin what only a whole
//! exchange shows: state reads, partial application, read-after-write answers, 2xx garbage and
//! upstream errors in the client's field names. A recorded answer left unused fails the case.
//!
//! `BLESS=1 cargo test --test integration golden` rewrites the expected files; review the diff.

use patchbay::canonical::{ApiError, Customer, ErrorKind};
use patchbay::dialect::{dialect, rules, DialectId, EndpointKind, Synthetic};
use patchbay::translate::{offline, Facts, Pair, Policy, Reply, Session, Step};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code)]
    description: String,
    method: String,
    path: String,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    policy: Option<Policy>,
    #[serde(default)]
    default_entry_type: Option<String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Error bodies carry a random `logRef`; fixtures store a placeholder.
fn normalise(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        if obj.contains_key("logRef") {
            obj.insert("logRef".into(), json!("<logRef>"));
        }
        for (_, child) in obj.iter_mut() {
            *child = normalise(child.take());
        }
    } else if let Some(arr) = v.as_array_mut() {
        for child in arr.iter_mut() {
            *child = normalise(child.take());
        }
    }
    v
}

fn synthetic_json(s: &Synthetic) -> Value {
    let body = if s.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&s.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&s.body).into()))
    };
    let headers: serde_json::Map<String, Value> = s
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    normalise(json!({ "status": s.status, "headers": headers, "body": body }))
}

/// Computes every expected file of one case: (file name, content).
fn run_case(client: DialectId, dir: &Path) -> Result<Vec<(String, Value)>, String> {
    let case: Case = toml::from_str(
        &std::fs::read_to_string(dir.join("case.toml")).map_err(|e| format!("case.toml: {e}"))?,
    )
    .map_err(|e| format!("case.toml: {e}"))?;
    let body = std::fs::read(dir.join("request.json")).unwrap_or_default();
    let own_state: Option<Customer> = match std::fs::read(dir.join("state.json")) {
        Ok(b) => Some(serde_json::from_slice(&b).map_err(|e| format!("state.json: {e}"))?),
        Err(_) => None,
    };
    let state_for = |up: DialectId| -> Result<Customer, String> {
        if let Some(s) = &own_state {
            return Ok(s.clone());
        }
        let file = if dialect(up).single_slot() {
            "default-state-single.json"
        } else {
            "default-state-multi.json"
        };
        let bytes = std::fs::read(fixtures().join(file)).map_err(|e| format!("{file}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{file}: {e}"))
    };
    let det = case.default_entry_type.as_deref().unwrap_or("work");
    let cl = dialect(client);
    let query = case.query.as_deref();

    let client_error = |e: &ApiError| {
        vec![(
            "client-error.json".to_string(),
            synthetic_json(&cl.encode_error(e)),
        )]
    };
    let ep = match cl.route(&case.method, &case.path) {
        Ok(ep) => ep,
        Err(e) => return Ok(client_error(&e)),
    };
    let pair_for = |up: DialectId| Pair {
        client,
        upstream: up,
        policy: case.policy.unwrap_or_default(),
        default_entry_type: det,
    };
    fn facts_for(pair: Pair<'_>) -> Facts<'_> {
        Facts {
            pair,
            location_base: "",
            upstream_name: pair.upstream.as_str(),
        }
    }
    if ep.kind == EndpointKind::Get {
        // The session's read step, answered with the state in canonical form.
        let mut out = Vec::new();
        for up in DialectId::ALL {
            let mut session = Session::new(
                facts_for(pair_for(up)),
                Cow::Borrowed(&ep),
                None,
                Vec::new(),
            );
            let Step::Read { request, .. } = session.step() else {
                return Err(format!("toward {up}: a GET did not start with a read"));
            };
            session.give_state(state_for(up)?);
            let answer = match session.step() {
                Step::Answer(a) => a,
                Step::Fail(e) => cl.encode_error(&e),
                other => return Err(format!("toward {up}: a GET went on with {other:?}")),
            };
            let v = json!({ "request": request, "answer": synthetic_json(&answer) });
            out.push((format!("{up}.json"), normalise(v)));
        }
        return Ok(out);
    }
    if !rules::is_json_content_type(Some(
        case.content_type.as_deref().unwrap_or("application/json"),
    )) {
        return Ok(client_error(&ApiError::new(
            ErrorKind::MediaType,
            "Content-Type must be application/json",
        )));
    }
    let decoded = match cl.decode_request(&ep, query, &body) {
        Ok(d) => d,
        Err(e) => return Ok(client_error(&e)),
    };
    let mut out = vec![(
        "decode.json".to_string(),
        serde_json::to_value(&decoded).map_err(|e| e.to_string())?,
    )];
    for up in DialectId::ALL {
        let pair = pair_for(up);
        let state = state_for(up)?;
        let result = offline(&pair, &case.method, &case.path, query, &body, Some(&state));
        let v = serde_json::to_value(&result).map_err(|e| e.to_string())?;
        out.push((format!("{up}.json"), normalise(v)));
        let recorded = dir.join("upstream").join(format!("{up}.json"));
        if recorded.exists() {
            let answers = recorded_answers(&recorded)?;
            let mut session =
                Session::from_wire(facts_for(pair), &case.method, &case.path, query, &body)
                    .map_err(|e| format!("toward {up}: {}", e.message))?;
            let v =
                drive(client, &mut session, answers).map_err(|e| format!("toward {up}: {e}"))?;
            out.push((format!("{up}.session.json"), normalise(v)));
        }
    }
    Ok(out)
}

/// One recorded upstream answer (`upstream/<dialect>.json`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    /// JSON, or a string sent as raw bytes (garbage, HTML); absent: an empty body.
    #[serde(default)]
    body: Option<Value>,
}

fn recorded_answers(path: &Path) -> Result<Vec<Recorded>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Drives the session as the proxy does, feeding the recorded answers in order: the steps and
/// the client's answer.
fn drive(
    client: DialectId,
    session: &mut Session<'_>,
    answers: Vec<Recorded>,
) -> Result<Value, String> {
    let mut answers = answers.into_iter();
    let mut steps = Vec::new();
    let result = loop {
        let mut step = match session.step() {
            Step::Answer(a) => break synthetic_json(&a),
            Step::Fail(e) => break synthetic_json(&dialect(client).encode_error(&e)),
            Step::Read {
                request,
                purpose,
                reason,
            } => {
                let mut v = json!({ "read": purpose, "request": request });
                if let Some(r) = reason {
                    v["reason"] = json!(r);
                }
                v
            }
            Step::Write { request } => json!({ "write": request }),
        };
        let Some(answer) = answers.next() else {
            return Err(format!(
                "the session asked for answer {} and the recording has {}: {step}",
                steps.len() + 1,
                steps.len()
            ));
        };
        let headers: Vec<(String, String)> = answer
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let body = match &answer.body {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(raw)) => raw.as_bytes().to_vec(),
            Some(v) => serde_json::to_vec(v).map_err(|e| e.to_string())?,
        };
        step["answered"] = json!(answer.status);
        steps.push(step);
        session.feed(Ok(Reply {
            status: answer.status,
            headers: &headers,
            body: &body,
        }));
    };
    let unused = answers.count();
    if unused > 0 {
        return Err(format!("{unused} recorded answer(s) left unused"));
    }
    Ok(json!({ "steps": steps, "result": result }))
}

#[test]
fn golden_fixtures() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut files = 0;
    for client in DialectId::ALL {
        let root = fixtures().join(client.as_str());
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("case.toml").exists())
            .collect();
        dirs.sort();
        for dir in dirs {
            cases += 1;
            let name = dir
                .strip_prefix(fixtures())
                .unwrap_or(&dir)
                .display()
                .to_string();
            let outputs = match run_case(client, &dir) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let expected_dir = dir.join("expected");
            if bless {
                let _ = std::fs::remove_dir_all(&expected_dir);
                std::fs::create_dir_all(&expected_dir).expect("create expected/");
            }
            for (file, actual) in outputs {
                files += 1;
                let path = expected_dir.join(&file);
                let pretty = serde_json::to_string_pretty(&actual).expect("json") + "\n";
                if bless {
                    std::fs::write(&path, pretty).expect("write expected file");
                    continue;
                }
                match std::fs::read_to_string(&path) {
                    Ok(want)
                        if serde_json::from_str::<Value>(&want).ok() == Some(actual.clone()) => {}
                    Ok(want) => failures.push(format!(
                        "{name}/expected/{file} differs\n--- expected\n{want}\n+++ actual\n{pretty}"
                    )),
                    Err(_) => failures.push(format!(
                        "{name}/expected/{file} is missing (run with BLESS=1)"
                    )),
                }
            }
        }
    }
    assert!(
        cases > 0,
        "no golden cases found under {}",
        fixtures().display()
    );
    assert!(
        failures.is_empty(),
        "{} of {files} golden files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("golden: {cases} cases, {files} expected files");
}
