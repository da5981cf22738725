//! The tenant context: which project a request runs for, and the config the
//! engines use, assembled from that project's current revision.

use crate::identity_config::IdentityConfig;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// Keto's default `limit.max_batch_check_size`: a revision without one
/// allows batches of this many tuples.
pub const DEFAULT_MAX_BATCH_CHECK_SIZE: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectState {
    Running,
    Halted,
}

impl ProjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Running => "running",
            ProjectState::Halted => "halted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(ProjectState::Running),
            "halted" => Some(ProjectState::Halted),
            _ => None,
        }
    }
}

/// One identity schema of a project, as the engines see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySchemaRef {
    /// URL-safe id, used in `GET /schemas/{id}` and `identity.schema_id`.
    pub id: String,
    /// `preset://email`, `preset://username` or `base64://...`.
    pub url: String,
    pub is_default: bool,
}

/// A Keto namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceRef {
    pub id: i64,
    pub name: String,
}

/// Typed tenant config, assembled from the revision tables. `identity` is
/// the whole Kratos-shaped document (the hosted UI and the courier read
/// their sections of it); `identity_config` is what the identity engine
/// reads, typed once per revision.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantConfig {
    pub identity: serde_json::Value,
    pub identity_config: IdentityConfig,
    pub identity_schemas: Vec<IdentitySchemaRef>,
    pub namespaces: Vec<NamespaceRef>,
    pub max_read_depth: i64,
    /// Most tuples one batch check may hold (`limit.max_batch_check_size`).
    pub max_batch_check_size: i64,
}

impl TenantConfig {
    /// The config of a revision: the typed identity config is built here,
    /// from the document, so the two never disagree.
    pub fn new(
        identity: serde_json::Value,
        identity_schemas: Vec<IdentitySchemaRef>,
        namespaces: Vec<NamespaceRef>,
        max_read_depth: i64,
    ) -> Self {
        Self {
            identity_config: IdentityConfig::from_document(&identity),
            identity,
            identity_schemas,
            namespaces,
            max_read_depth,
            max_batch_check_size: DEFAULT_MAX_BATCH_CHECK_SIZE,
        }
    }

    pub fn with_max_batch_check_size(mut self, size: i64) -> Self {
        self.max_batch_check_size = size;
        self
    }
}

/// Everything a tenant request needs to know about its project.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantCtx {
    /// The project id: the `nid` that scopes every engine row.
    pub project_id: Uuid,
    pub slug: String,
    /// The tenant's own base URL (`serve.public_url` with the slug in
    /// front of its host, e.g. `http://<slug>.projects.localhost:4000`, or
    /// `https://<hostname>` on a custom hostname): every URL the tenant
    /// hands out is built on it.
    pub public_url: String,
    /// The `Domain` of the cookies the tenant sets: None (host-only) on
    /// the slug host; a custom hostname's `cookie_domain` on that host.
    pub cookie_domain: Option<String>,
    /// The request rates the project's plan allows its tenant APIs
    /// (enforced only when `rate_limit.enabled` is on).
    pub rate_limits: RateLimits,
    pub name: String,
    pub state: ProjectState,
    pub revision_id: Uuid,
    pub config: Arc<TenantConfig>,
}

pub use crate::rate_limit::RateLimits;

/// Looks tenants up; implemented by the control plane, used by the router
/// (by slug, from the request's host) and the courier (by id, from a queued
/// message's `nid`), which must not depend on the control plane.
#[async_trait]
pub trait TenantDirectory: Send + Sync + 'static {
    async fn find_by_slug(&self, slug: &str) -> crate::Result<Option<TenantCtx>>;
    async fn find_by_id(&self, project_id: Uuid) -> crate::Result<Option<TenantCtx>>;
}

/// Bus topic published after a project's revision, state or existence
/// changed; the payload is the project's slug.
pub const PROJECT_CHANGED_TOPIC: &str = "project.changed";

/// This replica's tenant cache, told of a change *before* the change is
/// answered, so a client never reads the old config from the replica that
/// just acknowledged the new one. Other replicas learn through the bus
/// (`PROJECT_CHANGED_TOPIC`). Implemented by the router, wired by `server`.
#[async_trait]
pub trait LocalTenantCache: Send + Sync + 'static {
    async fn invalidate(&self, slug: &str);
}

/// An active custom hostname, as the router serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomHostRoute {
    /// Lower case, without port.
    pub hostname: String,
    /// The project's slug: the request runs in that tenant's context.
    pub slug: String,
    pub cookie_domain: String,
    pub cors_enabled: bool,
    /// `https://` origins, a leading `*.` label matching any subdomain.
    pub cors_allowed_origins: Vec<String>,
}

/// The active custom hostnames; implemented by the control plane, read by
/// the router (which must not depend on it).
#[async_trait]
pub trait CustomHostDirectory: Send + Sync + 'static {
    async fn active_custom_hosts(&self) -> crate::Result<Vec<CustomHostRoute>>;
}

/// Bus topic published after a custom hostname became (in)active or its
/// settings changed; every replica reloads its host map.
pub const CUSTOM_HOSTS_CHANGED_TOPIC: &str = "custom_hosts.changed";
