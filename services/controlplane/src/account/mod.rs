//! Accounts (people and services calling the control plane) and their
//! personal access tokens. Tokens are shown once and stored as SHA-256.

pub mod extract;
pub mod service;
pub mod store;

use uuid::Uuid;

/// The authenticated caller of a control-plane request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub account_id: Uuid,
}
