//! Body extractor settings: JSON only, bounded size, and every failure an
//! Ory JSON error with the right 4xx status.

use crate::error::ApiError;
use crate::input::NulInBody;
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::web;
use kernel::{Error, ErrorKind};

/// Maps actix's JSON extractor failures to Ory errors.
pub fn json_error(err: JsonPayloadError) -> Error {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            Error::new(ErrorKind::PayloadTooLarge)
                .with_reason(format!("the body has {length} bytes; the limit is {limit}"))
        }
        JsonPayloadError::Overflow { limit } => Error::new(ErrorKind::PayloadTooLarge).with_reason(
            format!("the body is larger than the limit of {limit} bytes"),
        ),
        JsonPayloadError::ContentType => Error::new(ErrorKind::UnsupportedMediaType)
            .with_reason("the request body must be sent with Content-Type: application/json"),
        JsonPayloadError::Deserialize(e) => {
            Error::bad_request(format!("the request body is not valid: {e}"))
        }
        JsonPayloadError::Serialize(e) => Error::internal(e),
        JsonPayloadError::Payload(PayloadError::Overflow) => Error::new(ErrorKind::PayloadTooLarge),
        JsonPayloadError::Payload(PayloadError::Io(e))
            if e.get_ref().is_some_and(|inner| inner.is::<NulInBody>()) =>
        {
            match e.into_inner().map(|inner| inner.downcast::<NulInBody>()) {
                Some(Ok(nul)) => nul.0,
                _ => Error::bad_request("the request body contains a NUL character"),
            }
        }
        JsonPayloadError::Payload(e) => {
            Error::bad_request(format!("the request body could not be read: {e}"))
        }
        other => Error::bad_request(other.to_string()),
    }
}

/// The JSON extractor configuration every service registers.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit_bytes)
        .content_type_required(true)
        .content_type(|mime| mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        .error_handler(|err, _req| ApiError(json_error(err)).into())
}

/// Limits for raw (non-JSON) bodies, such as webhook payloads.
pub fn payload_config(limit_bytes: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit_bytes)
}

/// Query-string failures are 400s in Ory's shape too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| ApiError(Error::bad_request(err.to_string())).into())
}

/// Path-parameter failures (e.g. a malformed UUID) are 404s: no such resource.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _req| ApiError(Error::not_found(err.to_string())).into())
}
