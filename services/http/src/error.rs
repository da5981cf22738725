//! `ApiError`: the one error type rendered at the HTTP boundary, as Ory's
//! `jsonError` (`{"error":{"id","code","status","reason","message","request","details"}}`).

use crate::middleware::current_request_id;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kernel::{Error, ErrorKind};
use serde_json::{Map, Value, json};
use std::fmt;

/// Wraps `kernel::Error` so it can implement actix's `ResponseError`.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

/// The error kind for an HTTP status, for errors raised by actix itself.
pub fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 => ErrorKind::BadRequest,
        401 => ErrorKind::Unauthorized,
        402 => ErrorKind::PaymentRequired,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        405 => ErrorKind::MethodNotAllowed,
        409 => ErrorKind::Conflict,
        410 => ErrorKind::Gone,
        422 => ErrorKind::UnprocessableEntity,
        413 => ErrorKind::PayloadTooLarge,
        415 => ErrorKind::UnsupportedMediaType,
        429 => ErrorKind::TooManyRequests,
        503 => ErrorKind::ServiceUnavailable,
        s if (400..500).contains(&s) => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    }
}

/// Renders the Ory error body. The request id comes from the request
/// context, so every error carries it without each call site passing it.
pub fn error_body(err: &Error) -> Value {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = Map::new();
    if let Some(id) = &err.id {
        body.insert("id".into(), json!(id));
    }
    body.insert("code".into(), json!(err.status()));
    body.insert(
        "status".into(),
        json!(status.canonical_reason().unwrap_or("Error")),
    );
    if let Some(reason) = &err.reason {
        body.insert("reason".into(), json!(reason));
    }
    body.insert("message".into(), json!(err.message));
    if let Some(request) = current_request_id() {
        body.insert("request".into(), json!(request));
    }
    if let Some(details) = &err.details {
        body.insert("details".into(), details.as_ref().clone());
    }
    // Errors that send a browser somewhere (`session_aal2_required`) carry
    // the URL next to `error` too, as Ory's do.
    match err
        .details
        .as_ref()
        .and_then(|d| d.get("redirect_browser_to"))
    {
        Some(url) => json!({ "error": body, "redirect_browser_to": url }),
        None => json!({ "error": body }),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.kind == ErrorKind::Internal {
            // Logged once here; the body carries only the generic message.
            tracing::error!(error = %self.0, "internal error");
        } else {
            tracing::debug!(error = %self.0, "request failed");
        }
        HttpResponse::build(self.status_code()).json(error_body(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_ory_shape_and_hides_internals() {
        let body = error_body(&Error::internal("secret sql detail"));
        let inner = &body["error"];
        assert_eq!(inner["code"], 500);
        assert_eq!(inner["status"], "Internal Server Error");
        assert!(inner["message"].is_string());
        assert!(!body.to_string().contains("secret sql detail"));
    }

    #[test]
    fn id_reason_and_details_are_rendered() {
        let err = Error::unauthorized("no session")
            .with_id("session_inactive")
            .with_details(json!({"hint": "log in"}));
        let body = error_body(&err);
        assert_eq!(body["error"]["id"], "session_inactive");
        assert_eq!(body["error"]["reason"], "no session");
        assert_eq!(body["error"]["details"]["hint"], "log in");
        assert_eq!(body["error"]["code"], 401);
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            kind_for_status(StatusCode::METHOD_NOT_ALLOWED),
            ErrorKind::MethodNotAllowed
        );
        assert_eq!(
            kind_for_status(StatusCode::IM_A_TEAPOT),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind_for_status(StatusCode::BAD_GATEWAY),
            ErrorKind::Internal
        );
    }
}
