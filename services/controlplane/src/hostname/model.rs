//! Custom hostname rows and views (spec: `cnameSettings`,
//! `createCustomHostnameBody`, `updateCustomHostnameBody`,
//! `QuotaCustomDomains`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `CustomHostnameStatus`.
pub mod status {
    /// Created, its CNAME not seen yet.
    pub const PENDING: &str = "pending";
    /// The CNAME points at the project: served.
    pub const ACTIVE: &str = "active";
    /// The CNAME points elsewhere, or disappeared after being active.
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub hostname: String,
    pub cookie_domain: String,
    pub cors_enabled: bool,
    pub cors_allowed_origins: Vec<String>,
    pub verification_status: String,
    pub verification_errors: Vec<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl HostnameRow {
    pub fn is_active(&self) -> bool {
        self.verification_status == status::ACTIVE
    }

    pub fn view(&self) -> HostnameView {
        HostnameView {
            id: self.id,
            hostname: self.hostname.clone(),
            cookie_domain: self.cookie_domain.clone(),
            cors_enabled: self.cors_enabled,
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            verification_status: self.verification_status.clone(),
            verification_errors: self.verification_errors.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// `cnameSettings`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HostnameView {
    pub id: Uuid,
    pub hostname: String,
    pub cookie_domain: String,
    pub cors_enabled: bool,
    pub cors_allowed_origins: Vec<String>,
    pub verification_status: String,
    pub verification_errors: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `createCustomHostnameBody` / `updateCustomHostnameBody`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostnameBody {
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub cookie_domain: Option<String>,
    #[serde(default)]
    pub cors_enabled: Option<bool>,
    #[serde(default)]
    pub cors_allowed_origins: Option<Vec<String>>,
}

/// `QuotaCustomDomains`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomDomainsQuotaView {
    pub available_domains: u64,
    pub used_domains: u64,
    pub can_use: bool,
}
