//! Placeholder while the codec is written.
use super::*;
use crate::canonical::Change;

/// Placeholder.
pub struct Helpcrunch;

impl Dialect for Helpcrunch {
    fn id(&self) -> DialectId {
        DialectId::HelpscoutV2
    }
    fn holds(&self, _: Field) -> bool {
        false
    }
    fn holds_coll(&self, _: Coll) -> bool {
        false
    }
    fn single_slot(&self) -> bool {
        false
    }
    fn has_properties(&self) -> bool {
        false
    }
    fn check_target(&self, _: &[Change]) -> Vec<Violation> {
        Vec::new()
    }
    fn route(&self, _: &str, _: &str) -> Result<Endpoint, ApiError> {
        Err(ApiError::new(crate::canonical::ErrorKind::NotFound, ""))
    }
    fn decode_request(
        &self,
        _: &Endpoint,
        _: Option<&str>,
        _: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        Err(ApiError::new(crate::canonical::ErrorKind::Internal, ""))
    }
    fn answer_needs_customer(&self, _: &Endpoint, _: &ClientRequest) -> bool {
        false
    }
    fn encode_success(&self, _: &Endpoint, _: Option<&Customer>, _: &AnswerCx<'_>) -> Synthetic {
        Synthetic::empty(500)
    }
    fn encode_error(&self, e: &ApiError) -> Synthetic {
        Synthetic::empty(e.status)
    }
    fn pointer_for(&self, _: &Target) -> String {
        String::new()
    }
    fn encode_update(
        &self,
        _: &str,
        _: &[Change],
        _: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        Ok(Vec::new())
    }
    fn encode_get(&self, id: &str, _: &EncodeCx) -> UpstreamRequest {
        UpstreamRequest::bodiless("GET", id.to_string())
    }
    fn decode_customer(&self, _: &[u8]) -> Option<Customer> {
        None
    }
    fn decode_error(&self, s: u16, _: &[u8]) -> ApiError {
        ApiError::upstream(s, "", Vec::new())
    }
    fn locate(&self, _: &str) -> Option<Target> {
        None
    }
}
