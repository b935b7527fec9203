//! Plain data types for the HTTP messages dialects read and build.

use crate::canonical::Coll;
use bytes::Bytes;
use serde::Serialize;

/// What a helpscout-v2 customer sub-resource endpoint addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubResource {
    /// `/v2/customers/{id}/{emails|phones|chats|social-profiles|websites}[/{entryId}]`.
    Entries(Coll),
    /// `/v2/customers/{id}/address` (one object, no id).
    Address,
}

/// What a sub-resource call does (`POST` creates, `PUT` replaces, `DELETE` removes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubAction {
    /// `POST`: a new entry (answered 201 with `Resource-ID` and `Location`) or the address.
    Create,
    /// `PUT`: replace one entry, or the address.
    Update,
    /// `DELETE`: remove one entry, or clear the address.
    Delete,
}

/// Which client-facing endpoint a request hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// An update; `full` for full replacement (helpscout-v2 PUT, helpcrunch PUT).
    Update {
        /// Full replacement.
        full: bool,
    },
    /// helpscout-v2 `PATCH /v2/customers/{id}/properties`.
    Properties,
    /// helpscout-v2 customer sub-resource: entries (`entry` is the id from the path, absent
    /// for a create) or the address.
    SubResource {
        /// Entries of which collection, or the address.
        sub: SubResource,
        /// The entry id of `PUT`/`DELETE …/{entryId}` (already validated: positive).
        entry: Option<u64>,
        /// Create, update or delete.
        action: SubAction,
    },
    /// Read the customer.
    Get,
    /// helpscout-v2 `POST /v2/oauth2/token` (answered by the gateway itself).
    Token,
}

/// A recognised client endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Which one.
    pub kind: EndpointKind,
    /// The customer id from the path, as the client wrote it (already validated).
    pub customer_id: String,
}

impl Endpoint {
    /// True for writes.
    pub fn is_write(&self) -> bool {
        matches!(
            self.kind,
            EndpointKind::Update { .. }
                | EndpointKind::Properties
                | EndpointKind::SubResource { .. }
        )
    }
}

/// What an upstream request is for (the `kind` label of `patchbay_upstream_duration_seconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The write.
    Write,
    /// A read of the state before the write.
    ReadBefore,
    /// A read after the write, to build the client's answer.
    ReadAfter,
    /// A client GET.
    Read,
    /// An OAuth token fetch.
    Token,
}

impl Purpose {
    /// Stable label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Write => "write",
            Purpose::ReadBefore => "read_before",
            Purpose::ReadAfter => "read_after",
            Purpose::Read => "read",
            Purpose::Token => "token",
        }
    }
}

/// A request the gateway sends upstream. The path is relative to the upstream's base URL and
/// includes the query string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamRequest {
    /// HTTP method.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// Extra headers (Content-Type included when there is a body; auth is added by the proxy).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    #[serde(serialize_with = "ser_body")]
    pub body: Option<Bytes>,
}

fn ser_body<S: serde::Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        None => s.serialize_none(),
        Some(bytes) => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => v.serialize(s),
            Err(_) => String::from_utf8_lossy(bytes).serialize(s),
        },
    }
}

impl UpstreamRequest {
    /// A JSON request.
    pub fn json(method: &'static str, path: String, body: &serde_json::Value) -> Self {
        UpstreamRequest {
            method,
            path,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default())),
        }
    }

    /// A bodiless request.
    pub fn bodiless(method: &'static str, path: String) -> Self {
        UpstreamRequest {
            method,
            path,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// A response built by the gateway (answers and errors alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synthetic {
    /// Status.
    pub status: u16,
    /// Headers (Content-Type included when there is a body).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl Synthetic {
    /// A JSON answer with the given content type.
    pub fn json(status: u16, content_type: &str, body: &serde_json::Value) -> Self {
        Synthetic {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        }
    }

    /// An empty answer.
    pub fn empty(status: u16) -> Self {
        Synthetic {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Adds the headers every dialect's error answer carries besides its own: `Allow` on a 405
    /// that knows the path's methods.
    pub fn with_error_headers(self, err: &crate::canonical::ApiError) -> Self {
        match &err.allow {
            Some(methods) if err.status == 405 => self.with_header("Allow", methods.clone()),
            _ => self,
        }
    }

    /// The value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (tests and the CLI).
    pub fn json_body(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
