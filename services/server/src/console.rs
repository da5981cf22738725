//! The console adapter: the control plane's accounts are identities of the
//! console project, served by the identity engine. Wired here because the
//! two domains never depend on each other.

use async_trait::async_trait;
use identity::IdentityEngine;
use kernel::ports::{ConsoleIdentities, ConsoleIdentity};
use kernel::tenant::{TenantCtx, TenantDirectory};
use kernel::{Error, ErrorKind, Result};
use router::TenantCache;
use serde_json::{Value, json};
use std::sync::Arc;

pub struct ConsoleAccounts {
    /// The router's tenant cache, read through over `directory`: the
    /// console project's context is as fresh as any tenant's.
    pub tenants: TenantCache,
    pub directory: Arc<dyn TenantDirectory>,
    pub identity: IdentityEngine,
    pub slug: String,
}

impl ConsoleAccounts {
    async fn tenant(&self) -> Result<Arc<TenantCtx>> {
        self.tenants
            .resolve(&self.slug, &self.directory)
            .await?
            .ok_or_else(|| Error::unavailable("the console project does not exist yet"))
    }
}

/// The e-mail trait of a console identity (the default schema's `email`).
fn email_of(traits: &Value) -> Option<String> {
    traits
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
}

#[async_trait]
impl ConsoleIdentities for ConsoleAccounts {
    async fn identity_for_session(&self, token: &str) -> Result<Option<ConsoleIdentity>> {
        let tenant = self.tenant().await?;
        let whoami = match self.identity.whoami(&tenant, token).await {
            Ok(answer) => answer,
            Err(e) if e.kind == ErrorKind::Unauthorized || e.kind == ErrorKind::Forbidden => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let session: Value = serde_json::from_str(&whoami.body).map_err(Error::internal)?;
        let email = session
            .pointer("/identity/traits")
            .and_then(email_of)
            .ok_or_else(|| {
                Error::forbidden("the console identity has no e-mail address")
                    .with_id("console_identity_without_email")
            })?;
        Ok(Some(ConsoleIdentity {
            id: whoami.identity_id,
            email,
        }))
    }

    async fn ensure(&self, email: &str) -> Result<ConsoleIdentity> {
        let tenant = self.tenant().await?;
        let email = email.trim().to_ascii_lowercase();
        if let Some(found) = self
            .identity
            .find_identity_by_password_identifier(&tenant, &email)
            .await?
        {
            return Ok(ConsoleIdentity {
                id: found.id,
                email,
            });
        }
        let schema_id = self.identity.default_schema_id(&tenant)?;
        let new: identity::identity::model::NewIdentity = serde_json::from_value(json!({
            "schema_id": schema_id,
            "traits": { "email": email },
        }))
        .map_err(Error::internal)?;
        let created = match self.identity.create_identity(&tenant, new).await {
            Ok(created) => created,
            // Created by a concurrent call: use that one.
            Err(e) if e.kind == ErrorKind::Conflict => self
                .identity
                .find_identity_by_password_identifier(&tenant, &email)
                .await?
                .ok_or(e)?,
            Err(e) => return Err(e),
        };
        Ok(ConsoleIdentity {
            id: created.id,
            email,
        })
    }

    fn session_cookie(&self) -> String {
        identity::session::handler::session_cookie_name_for_slug(&self.slug)
    }
}
