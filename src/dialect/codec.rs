//! The per-dialect codec functions as a table ([`Codec`]), and the one implementation of the
//! [`Dialect`], [`ClientSide`] and [`UpstreamSide`] traits over it.
//!
//! What a profile's rows answer (routes, `holds`, `locate`, `pointer_for`) is shared code; what
//! is a genuinely different format (decoding a body, writing an answer, reading an upstream
//! error) is a function of the dialect's folder, named once in its [`Codec`] table. A dialect
//! then implements nothing by hand but [`Wired`], so a new trait method is one line here, not a
//! delegating method in four folders.

use super::{
    fields, routes, AnswerCx, ClientRequest, ClientSide, Dialect, DialectId, EncodeCx, Endpoint,
    Synthetic, Target, UpstreamRequest, UpstreamSide,
};
use crate::canonical::{ApiError, Change, Customer, Violation};

/// Decodes a client write: endpoint, query, body.
pub type DecodeRequest = fn(&Endpoint, Option<&str>, &[u8]) -> Result<ClientRequest, ApiError>;

/// Encodes resolved changes into the upstream write(s): customer id, changes, options.
pub type EncodeUpdate = fn(&str, &[Change], &EncodeCx) -> Result<Vec<UpstreamRequest>, ApiError>;

/// A dialect's codec functions (see the trait methods of the same names).
pub struct Codec {
    /// Which dialect this is (its [`super::Profile`] holds the rows).
    pub id: DialectId,
    /// Validates and decodes a raw customer id from a client path, in the vendor's words.
    pub customer_id: fn(&str) -> Result<String, ApiError>,
    /// [`ClientSide::decode_request`].
    pub decode_request: DecodeRequest,
    /// [`ClientSide::answer_needs_customer`].
    pub answer_needs_customer: fn(&Endpoint, &ClientRequest) -> bool,
    /// [`ClientSide::encode_success`].
    pub encode_success: fn(&Endpoint, Option<&Customer>, &AnswerCx<'_>) -> Synthetic,
    /// [`ClientSide::encode_error`].
    pub encode_error: fn(&ApiError) -> Synthetic,
    /// [`UpstreamSide::check_target`].
    pub check_target: fn(&[Change]) -> Vec<Violation>,
    /// [`UpstreamSide::encode_update`].
    pub encode_update: EncodeUpdate,
    /// [`UpstreamSide::encode_get`].
    pub encode_get: fn(&str, &EncodeCx) -> UpstreamRequest,
    /// [`UpstreamSide::decode_customer`].
    pub decode_customer: fn(&[u8]) -> Option<Customer>,
    /// [`UpstreamSide::decode_error`].
    pub decode_error: fn(u16, &[u8]) -> ApiError,
}

/// A dialect's unit struct: its codec table.
pub trait Wired: Send + Sync + 'static {
    /// The table.
    const CODEC: Codec;
}

impl<T: Wired> Dialect for T {
    fn id(&self) -> DialectId {
        T::CODEC.id
    }
}

impl<T: Wired> ClientSide for T {
    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        routes::route(T::CODEC.id, T::CODEC.customer_id, method, path)
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        (T::CODEC.decode_request)(ep, query, body)
    }

    fn answer_needs_customer(&self, ep: &Endpoint, req: &ClientRequest) -> bool {
        (T::CODEC.answer_needs_customer)(ep, req)
    }

    fn encode_success(
        &self,
        ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic {
        (T::CODEC.encode_success)(ep, customer, cx)
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        (T::CODEC.encode_error)(err)
    }

    fn pointer_for(&self, target: &Target) -> String {
        fields::pointer_for(T::CODEC.id.profile(), target)
    }
}

impl<T: Wired> UpstreamSide for T {
    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        (T::CODEC.check_target)(changes)
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        // Nothing to change is nothing to send, for every vendor (not even the customer id is
        // checked): the codecs only ever see a non-empty list.
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        (T::CODEC.encode_update)(customer_id, changes, cx)
    }

    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
        (T::CODEC.encode_get)(customer_id, cx)
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        (T::CODEC.decode_customer)(body)
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        (T::CODEC.decode_error)(status, body)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        fields::locate(T::CODEC.id.profile(), upstream_path)
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::{dialect, DialectId, EncodeCx};

    /// The empty-list answer lives in the shared wiring, before any codec runs: no dialect
    /// sends a write, or checks the customer id, when there is nothing to change.
    #[test]
    fn no_changes_encode_to_no_requests_in_every_dialect() {
        for d in DialectId::ALL {
            for id in ["100", "not a customer id"] {
                let got = dialect(d).encode_update(id, &[], &EncodeCx::default());
                assert_eq!(got, Ok(Vec::new()), "{d:?} {id:?}");
            }
        }
    }
}
