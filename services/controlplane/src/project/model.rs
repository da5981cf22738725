//! Project rows and the JSON views the API returns (spec: `project`,
//! `projectMetadata`, `successfulProjectUpdate`, `normalizedProjectRevision`).

use crate::revision::Warning;
use chrono::{DateTime, Utc};
use kernel::tenant::ProjectState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub state: ProjectState,
    pub owner_account_id: Uuid,
    pub current_revision_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `createProjectBody`.
#[derive(Debug, Deserialize)]
pub struct NewProject {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub config: Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectServices {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<ServiceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<ServiceConfig>,
}

/// `updateProject`: replaces each service config it carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectUpdate {
    pub name: String,
    pub services: ProjectServices,
}

/// `project`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub state: ProjectState,
    pub revision_id: Uuid,
    pub services: ProjectServices,
}

/// `projectMetadata`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectMetadataView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub state: ProjectState,
    pub hosts: Vec<String>,
    pub subscription_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `successfulProjectUpdate`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectUpdateView {
    pub project: ProjectView,
    pub warnings: Vec<Warning>,
}
