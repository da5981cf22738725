//! The one error type that crosses every boundary. The HTTP crate maps its
//! kind to a status code in exactly one place.

use std::fmt;

/// What went wrong, from the caller's point of view. Each kind maps to one
/// HTTP status and one Ory error id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    PaymentRequired,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    Gone,
    /// 422: the request is understood but must continue elsewhere (Ory's
    /// `browser_location_change_required`).
    UnprocessableEntity,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Internal,
    ServiceUnavailable,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::PaymentRequired => 402,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::UnprocessableEntity => 422,
            ErrorKind::Gone => 410,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Internal => 500,
            ErrorKind::ServiceUnavailable => 503,
        }
    }

    /// The default public message, as Ory's herodot writes it.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "The request was malformed or contained invalid parameters",
            ErrorKind::Unauthorized => "The request could not be authorized",
            ErrorKind::PaymentRequired => "The plan of this project does not allow this",
            ErrorKind::Forbidden => "The requested action was forbidden",
            ErrorKind::NotFound => "The requested resource could not be found",
            ErrorKind::MethodNotAllowed => "The requested method is not allowed for this resource",
            ErrorKind::Conflict => "The resource could not be created due to a conflict",
            ErrorKind::UnprocessableEntity => "The request could not be completed here",
            ErrorKind::Gone => "The requested resource is no longer available",
            ErrorKind::PayloadTooLarge => "The request body is too large",
            ErrorKind::UnsupportedMediaType => "The request's content type is not supported",
            ErrorKind::TooManyRequests => "Too many requests",
            ErrorKind::Internal => {
                "An internal server error occurred, please contact the system administrator"
            }
            ErrorKind::ServiceUnavailable => "The service is currently unavailable",
        }
    }
}

/// A failure with a public part (kind, message, reason, id, details) and a
/// private part (`internal`) that is logged once and never sent.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    /// Ory's machine-readable error id (e.g. `session_inactive`), when one applies.
    pub id: Option<String>,
    pub message: String,
    pub reason: Option<String>,
    /// Boxed: rare, and it keeps `Result<T, Error>` small.
    pub details: Option<Box<serde_json::Value>>,
    /// Never rendered to the client.
    pub internal: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            id: None,
            message: kind.default_message().to_owned(),
            reason: None,
            details: None,
            internal: None,
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest).with_reason(reason)
    }
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized).with_reason(reason)
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden).with_reason(reason)
    }
    /// 402: the project's plan has no room for this (a quota is used up).
    pub fn quota_exceeded(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::PaymentRequired)
            .with_reason(reason)
            .with_id("quota_exceeded")
    }
    pub fn gone(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone).with_reason(reason)
    }
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound).with_reason(reason)
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict).with_reason(reason)
    }
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServiceUnavailable).with_reason(reason)
    }
    /// An unexpected failure: the cause is kept for the log only.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut err = Self::new(ErrorKind::Internal);
        err.internal = Some(cause.to_string());
        err
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        if let Some(internal) = &self.internal {
            write!(f, " ({internal})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::bad_request(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_cause_is_not_in_public_fields() {
        let err = Error::internal("db password=hunter2 refused");
        assert_eq!(err.status(), 500);
        assert!(!err.message.contains("hunter2"));
        assert!(err.reason.is_none());
        assert!(err.to_string().contains("hunter2"), "but it is logged");
    }

    #[test]
    fn every_kind_is_an_error_status() {
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::Unauthorized,
            ErrorKind::PaymentRequired,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Conflict,
            ErrorKind::Gone,
            ErrorKind::UnprocessableEntity,
            ErrorKind::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType,
            ErrorKind::TooManyRequests,
            ErrorKind::Internal,
            ErrorKind::ServiceUnavailable,
        ] {
            assert!(kind.status() >= 400 && kind.status() < 600);
        }
    }
}
