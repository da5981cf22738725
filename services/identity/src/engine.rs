//! The identity engine: what every identity request needs, built once per
//! process by `server` and shared as app data.

use crate::flow::throttle::{LoginThrottle, LoginThrottleSettings};
use crate::hash::{HasherSettings, PasswordHasher};
use crate::policy::BreachChecker;
use crate::schema::{CompiledSchema, SchemaCache};
use crate::session::cache::SessionCache;
use kernel::clock::SharedClock;
use kernel::ports::CacheBus;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::Database;

/// Process settings of the identity engine (tenant config comes from the
/// revision, never from here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    pub hasher: HasherSettings,
    /// The haveibeenpwned range API (k-anonymity) used by the password policy.
    pub haveibeenpwned_url: String,
    /// Seconds before a breach lookup gives up.
    pub haveibeenpwned_timeout_secs: u64,
    /// Back-off after failed logins (`flow/throttle.rs`).
    pub login_throttle: LoginThrottleSettings,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            hasher: HasherSettings::default(),
            haveibeenpwned_url: "https://api.pwnedpasswords.com".to_owned(),
            haveibeenpwned_timeout_secs: 5,
            login_throttle: LoginThrottleSettings::default(),
        }
    }
}

impl IdentitySettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.hasher
            .validate()
            .map_err(|e| format!("identity.hasher.{e}"))?;
        url::Url::parse(&self.haveibeenpwned_url)
            .map_err(|e| format!("identity.haveibeenpwned_url: {e}"))?;
        self.login_throttle
            .validate()
            .map_err(|e| format!("identity.login_throttle.{e}"))?;
        Ok(())
    }
}

#[derive(Clone)]
pub struct IdentityEngine {
    pub(crate) db: Database,
    pub(crate) clock: SharedClock,
    pub(crate) hasher: PasswordHasher,
    pub(crate) breaches: BreachChecker,
    pub(crate) schemas: SchemaCache,
    pub(crate) sessions: SessionCache,
    pub(crate) login_throttle: LoginThrottle,
    /// Queued mail is picked up by this courier's worker (woken after each
    /// commit that queued some); without one it waits for the next poll.
    pub(crate) courier: Option<courier::Courier>,
    pub(crate) webhooks: webhook::WebHooks,
    /// Bounds on what a JSON Patch of an identity may build.
    pub(crate) patch_limits: kernel::json_patch::PatchLimits,
    /// Discovered OpenID providers, per project and provider.
    pub(crate) oidc: crate::strategy::oidc::provider::Discovery,
}

impl IdentityEngine {
    pub fn new(
        db: Database,
        bus: Arc<dyn CacheBus>,
        clock: SharedClock,
        settings: &IdentitySettings,
        webhooks: webhook::WebHooks,
    ) -> Result<Self> {
        let hibp = url::Url::parse(&settings.haveibeenpwned_url)
            .map_err(|e| Error::internal(format!("identity.haveibeenpwned_url: {e}")))?;
        Ok(Self {
            db,
            clock: clock.clone(),
            hasher: PasswordHasher::new(&settings.hasher),
            breaches: BreachChecker::new(
                hibp,
                std::time::Duration::from_secs(settings.haveibeenpwned_timeout_secs),
            )?,
            schemas: SchemaCache::default(),
            login_throttle: LoginThrottle::new(bus.clone(), settings.login_throttle.clone()),
            sessions: SessionCache::new(bus, clock),
            courier: None,
            webhooks,
            patch_limits: kernel::json_patch::PatchLimits::default(),
            oidc: Default::default(),
        })
    }

    /// Wakes `courier` after every commit that queued mail.
    pub fn with_courier(mut self, courier: courier::Courier) -> Self {
        self.courier = Some(courier);
        self
    }

    /// JSON Patch limits other than the defaults (`json_patch` settings).
    pub fn with_patch_limits(mut self, limits: kernel::json_patch::PatchLimits) -> Self {
        self.patch_limits = limits;
        self
    }

    /// Starts the listener that drops revoked sessions from this replica's
    /// cache when any replica announces a revocation.
    pub fn spawn_background(&self) {
        self.sessions.spawn_revocation_listener();
    }

    /// The schema `schema_id` of the tenant, compiled, with its URL.
    pub(crate) fn schema(
        &self,
        tenant: &TenantCtx,
        schema_id: &str,
    ) -> Result<(Arc<CompiledSchema>, String)> {
        let schema = tenant
            .config
            .identity_schemas
            .iter()
            .find(|s| s.id == schema_id)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "identity schema `{schema_id}` does not exist in this project"
                ))
            })?;
        Ok((self.schemas.get(&schema.url)?, schema.url.clone()))
    }

    /// The tenant's default schema id (the one marked default, else the first).
    pub fn default_schema_id(&self, tenant: &TenantCtx) -> Result<String> {
        let schemas = &tenant.config.identity_schemas;
        schemas
            .iter()
            .find(|s| s.is_default)
            .or_else(|| schemas.first())
            .map(|s| s.id.clone())
            .ok_or_else(|| Error::internal("the project has no identity schema"))
    }

    /// The URL clients fetch a schema from, on the tenant's own host.
    pub(crate) fn schema_url(&self, tenant: &TenantCtx, schema_id: &str) -> String {
        format!("{}/schemas/{schema_id}", tenant.public_url)
    }
}
