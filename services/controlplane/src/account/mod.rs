//! Accounts (the people calling the control plane: identities of the
//! console project) and API tokens (personal access tokens and project API
//! keys). Tokens are shown once and stored as SHA-256 digests.

pub mod extract;
pub mod handler;
pub mod service;
pub mod store;

use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A console session (token or cookie).
    Session,
    PersonalToken,
    /// A project API key: acts only on this project.
    ProjectKey(Uuid),
}

/// The authenticated caller of a control-plane request. For a project API
/// key, `account_id` is the account that created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub account_id: Uuid,
    pub via: Credential,
}

impl Caller {
    /// A caller through its account (tests and the CLI).
    pub fn account(account_id: Uuid) -> Self {
        Self {
            account_id,
            via: Credential::PersonalToken,
        }
    }

    pub fn project_key(&self) -> Option<Uuid> {
        match self.via {
            Credential::ProjectKey(project) => Some(project),
            _ => None,
        }
    }

    /// Account-level actions (creating projects, invites, `/me`) are for
    /// people; a project API key only works on its own project.
    pub fn require_person(&self) -> Result<()> {
        match self.via {
            Credential::ProjectKey(_) => Err(Error::forbidden(
                "a project API key works only on its own project's admin APIs and control-plane reads",
            )
            .with_id("project_key_not_allowed")),
            _ => Ok(()),
        }
    }
}

/// `cloudAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

/// `activeProject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveProject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
}

/// `apiToken`: `value` only in the answer to its creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenView {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The body of `POST /projects/{id}/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    pub name: String,
    /// When the key stops working; none: until revoked.
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}
