//! Why a web hook failed. Every message is written to be shown to the
//! project's operator: it names the field or the target host, never an auth
//! value or the rendered body.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebHookFailure {
    /// The hook's `config` is wrong (names the field).
    InvalidConfig(String),
    /// The body template could not be loaded or rendered (syntax error,
    /// runtime error, time or memory limit).
    Template(String),
    /// The request did not get an answer: refused target, connection error,
    /// timeout.
    Delivery(String),
    /// The target answered with a status outside 2xx.
    Rejected { status: u16 },
}

impl fmt::Display for WebHookFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(m) => write!(f, "the web hook configuration is invalid: {m}"),
            Self::Template(m) => write!(f, "the web hook body template failed: {m}"),
            Self::Delivery(m) => write!(f, "the web hook could not be delivered: {m}"),
            Self::Rejected { status } => {
                write!(f, "the web hook target answered with HTTP status {status}")
            }
        }
    }
}

impl std::error::Error for WebHookFailure {}
