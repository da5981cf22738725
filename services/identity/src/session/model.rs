//! Sessions as stored and as the API shows them (`session`).

use crate::identity::IdentityView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One completed authentication step (`sessionAuthenticationMethod`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationMethod {
    pub method: String,
    pub aal: String,
    pub completed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub active: bool,
    pub aal: String,
    pub authentication_methods: Vec<AuthenticationMethod>,
    pub issued_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Active and not expired at `now`.
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.active && self.expires_at > now
    }
}

/// The `session` schema of the spec.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: Uuid,
    pub active: bool,
    pub expires_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub authenticator_assurance_level: String,
    pub authentication_methods: Vec<AuthenticationMethod>,
    pub issued_at: DateTime<Utc>,
    pub identity: IdentityView,
}

/// `revokedSessions`.
#[derive(Debug, Clone, Serialize)]
pub struct RevokedSessions {
    pub count: u64,
}
