//! Project invites: an owner invites an e-mail address; the invitee (an
//! account with that address) accepts with the single-use link from the
//! e-mail and becomes a DEVELOPER.

pub mod handler;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An invite's life: `pending` until accepted, declined, cancelled or
/// expired; `accepted` becomes `removed` when the member is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Declined,
    Expired,
    Cancelled,
    Removed,
}

impl InviteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Declined => "declined",
            InviteStatus::Expired => "expired",
            InviteStatus::Cancelled => "cancelled",
            InviteStatus::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            InviteStatus::Pending,
            InviteStatus::Accepted,
            InviteStatus::Declined,
            InviteStatus::Expired,
            InviteStatus::Cancelled,
            InviteStatus::Removed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// `projectInvite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InviteView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub owner_id: Uuid,
    pub owner_email: String,
    pub invitee_email: String,
    pub invitee_id: Option<Uuid>,
    pub status: InviteStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl InviteView {
    /// A pending invite past its expiry reads as expired, whether or not
    /// anyone has stored that yet.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Self {
        self.status = self.status_at(now);
        self
    }

    /// The status as of `now`: a pending invite past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InviteStatus {
        if self.status == InviteStatus::Pending && self.expires_at <= now {
            InviteStatus::Expired
        } else {
            self.status
        }
    }
}

/// An invite as its invitee sees it on the console's invite page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitePreview {
    pub invite: InviteView,
    pub project_name: String,
}

/// `InvitePayload`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitePayload {
    pub invitee_email: String,
}

/// The body of `POST /invites/{id}/accept` and `/decline`: the token from
/// the link in the e-mail.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteAnswer {
    pub token: String,
}
