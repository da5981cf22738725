//! Admin operations on identities. Each method owns its transaction; the
//! traits are validated against the tenant's schema before anything is
//! written, so a bad request changes nothing.

use super::model::{
    Exposure, Identity, IdentityReplacement, IdentityState, ImportCredentials, NewIdentity,
    NewVerifiableAddress,
};
use super::records::{build_credentials, recovery_addresses, verifiable_addresses};
use super::store as identities;
use crate::engine::IdentityEngine;
use crate::hash::PasswordHasher;
use crate::schema::TraitError;
use kernel::tenant::TenantCtx;
use kernel::{Error, ErrorKind, Result};
use serde_json::{Value, json};
use store::audit::{self, Change};
use store::sql;
use uuid::Uuid;

/// Fields of an identity a JSON Patch may not touch.
const IMMUTABLE_PATHS: &[&str] = &["/id", "/credentials", "/state_changed_at"];

/// The parts of an identity a write supplies; the rest is derived from
/// the schema (identifiers, addresses) or kept from the stored identity.
pub(crate) struct IdentityDraft {
    pub schema_id: String,
    pub traits: Value,
    pub state: IdentityState,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    /// A new password hash, if the write sets one.
    pub password_hash: Option<String>,
    /// OIDC links to add.
    pub oidc: Vec<super::model::OidcLink>,
    pub verifiable_addresses: Vec<NewVerifiableAddress>,
}

impl IdentityDraft {
    /// A draft that keeps everything of `identity` (credentials are kept by
    /// `materialize` itself); callers override what their write changes.
    pub(crate) fn keeping(identity: &Identity) -> Self {
        Self {
            schema_id: identity.schema_id.clone(),
            traits: identity.traits.clone(),
            state: identity.state,
            metadata_public: identity.metadata_public.clone(),
            metadata_admin: identity.metadata_admin.clone(),
            password_hash: None,
            oidc: Vec::new(),
            verifiable_addresses: Vec::new(),
        }
    }
}

/// A 400 listing every failing trait, with Kratos-like wording.
pub(crate) fn traits_error(errors: &[TraitError]) -> Error {
    let reason = errors
        .iter()
        .map(|e| format!("I[#/traits{}] {}", e.pointer, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    Error::bad_request(reason).with_details(json!({
        "errors": errors.iter().map(|e| json!({"pointer": format!("/traits{}", e.pointer), "message": e.message})).collect::<Vec<_>>()
    }))
}

/// Rewrites a unique violation into Kratos' duplicate-identifier error.
pub(crate) fn duplicate_identifier(err: Error) -> Error {
    if err.kind == ErrorKind::Conflict {
        Error::conflict("An identity with the same identifier already exists.")
    } else {
        err
    }
}

impl IdentityEngine {
    /// Checks imported traits against the tenant's schema `schema_id`.
    pub fn check_traits(&self, tenant: &TenantCtx, schema_id: &str, traits: &Value) -> Result<()> {
        let (schema, _) = self.schema(tenant, schema_id)?;
        schema
            .validate(traits)
            .map_err(|errors| traits_error(&errors))
    }

    /// Builds the identity to store from a draft and the stored identity
    /// (if any): validates traits, derives identifiers and addresses, keeps
    /// the verification state of addresses that did not change.
    pub(crate) fn materialize(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        draft: IdentityDraft,
        existing: Option<&Identity>,
    ) -> Result<Identity> {
        let now = self.clock.now();
        let (schema, _) = self.schema(tenant, &draft.schema_id)?;
        if !draft.traits.is_object() {
            return Err(Error::bad_request("`traits` must be a JSON object"));
        }
        schema
            .validate(&draft.traits)
            .map_err(|errors| traits_error(&errors))?;
        let ext = schema.extensions(&draft.traits);
        let credentials = build_credentials(&draft, &ext, existing, now)?;
        let state_changed_at = match existing {
            Some(old) if old.state == draft.state => old.state_changed_at,
            _ => Some(now),
        };
        Ok(Identity {
            id,
            schema_id: draft.schema_id,
            state: draft.state,
            state_changed_at,
            traits: draft.traits,
            metadata_public: draft.metadata_public.filter(|v| !v.is_null()),
            metadata_admin: draft.metadata_admin.filter(|v| !v.is_null()),
            credentials,
            verifiable_addresses: verifiable_addresses(
                &ext,
                &draft.verifiable_addresses,
                existing,
                now,
            ),
            recovery_addresses: recovery_addresses(&ext, existing, now),
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
    }

    /// Hashes an imported plaintext password, or checks an imported hash.
    async fn imported_password(
        &self,
        tenant: &TenantCtx,
        credentials: Option<&ImportCredentials>,
    ) -> Result<Option<String>> {
        let Some(config) = credentials
            .and_then(|c| c.password.as_ref())
            .and_then(|p| p.config.as_ref())
        else {
            return Ok(None);
        };
        match (&config.password, &config.hashed_password) {
            (Some(_), Some(_)) => Err(Error::bad_request(
                "set either `credentials.password.config.password` or `hashed_password`, not both",
            )),
            (Some(password), None) => Ok(Some(
                self.hasher
                    .hash(tenant.project_id, password.clone())
                    .await?,
            )),
            (None, Some(hash)) => {
                PasswordHasher::validate_import(hash)?;
                Ok(Some(hash.clone()))
            }
            (None, None) => Ok(None),
        }
    }

    pub async fn create_identity(&self, tenant: &TenantCtx, new: NewIdentity) -> Result<Identity> {
        let password_hash = self
            .imported_password(tenant, new.credentials.as_ref())
            .await?;
        let draft = IdentityDraft {
            schema_id: new.schema_id,
            traits: new.traits,
            state: new.state.unwrap_or_default(),
            metadata_public: new.metadata_public,
            metadata_admin: new.metadata_admin,
            password_hash,
            oidc: oidc_links(new.credentials.as_ref()),
            verifiable_addresses: new.verifiable_addresses,
        };
        let identity = self.materialize(tenant, Uuid::new_v4(), draft, None)?;
        let txn = self.db.begin_write().await?;
        identities::insert(&txn, tenant.project_id, &identity)
            .await
            .map_err(duplicate_identifier)?;
        let change = Change::project(tenant.project_id, "identity.create", identity.id)
            .diff(None, Some(&self.audited(tenant, &identity)));
        audit::append(&txn, change, self.clock.now()).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(identity)
    }

    /// An identity as its audit events record it: the admin view, without
    /// credentials' secrets (hashes, seeds and keys are never in it).
    pub(crate) fn audited(&self, tenant: &TenantCtx, identity: &Identity) -> Value {
        let url = self.schema_url(tenant, &identity.schema_id);
        serde_json::to_value(identity.view(&url, Exposure::Admin, &[])).unwrap_or(Value::Null)
    }

    /// The identity whose password credential has `identifier` (an e-mail
    /// address in the default schema), if any.
    pub async fn find_identity_by_password_identifier(
        &self,
        tenant: &TenantCtx,
        identifier: &str,
    ) -> Result<Option<Identity>> {
        let Some(id) = identities::find_id_by_identifier(
            &self.db.conn,
            tenant.project_id,
            crate::identity::model::PASSWORD,
            &crate::schema::normalize_identifier(identifier),
        )
        .await?
        else {
            return Ok(None);
        };
        identities::find(&self.db.conn, tenant.project_id, id).await
    }

    pub async fn get_identity(&self, tenant: &TenantCtx, id: Uuid) -> Result<Identity> {
        identities::find(&self.db.conn, tenant.project_id, id)
            .await?
            .ok_or_else(identity_not_found)
    }

    pub async fn list_identities(
        &self,
        tenant: &TenantCtx,
        page: u64,
        per_page: u64,
    ) -> Result<(Vec<Identity>, u64)> {
        let total = identities::count(&self.db.conn, tenant.project_id).await?;
        let list = identities::list(
            &self.db.conn,
            tenant.project_id,
            page.saturating_mul(per_page),
            per_page,
        )
        .await?;
        Ok((list, total))
    }

    pub async fn update_identity(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        replacement: IdentityReplacement,
    ) -> Result<Identity> {
        let password_hash = self
            .imported_password(tenant, replacement.credentials.as_ref())
            .await?;
        let draft = IdentityDraft {
            schema_id: replacement.schema_id,
            traits: replacement.traits,
            state: replacement.state,
            metadata_public: replacement.metadata_public,
            metadata_admin: replacement.metadata_admin,
            password_hash,
            oidc: oidc_links(replacement.credentials.as_ref()),
            verifiable_addresses: Vec::new(),
        };
        self.replace_identity_as(tenant, id, Some("identity.update"), |_| Ok(draft))
            .await
    }

    /// Applies an RFC 6902 patch to the identity as the admin API shows it.
    pub async fn patch_identity(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        patch: json_patch::Patch,
    ) -> Result<Identity> {
        for op in &patch.0 {
            let path = op.path().to_string();
            if IMMUTABLE_PATHS
                .iter()
                .any(|p| path == *p || path.starts_with(&format!("{p}/")))
            {
                return Err(Error::bad_request(format!(
                    "patch path `{path}` is immutable"
                )));
            }
        }
        let engine = self.clone();
        let tenant_for_view = tenant.clone();
        self.replace_identity_as(tenant, id, Some("identity.patch"), move |current| {
            let url = engine.schema_url(&tenant_for_view, &current.schema_id);
            let mut doc = serde_json::to_value(current.view(&url, Exposure::Admin, &[]))
                .map_err(Error::internal)?;
            engine.patch_limits.apply(&mut doc, &patch)?;
            let state = serde_json::from_value(doc["state"].clone())
                .map_err(|_| Error::bad_request("`state` must be `active` or `inactive`"))?;
            Ok(IdentityDraft {
                schema_id: doc["schema_id"]
                    .as_str()
                    .ok_or_else(|| Error::bad_request("`schema_id` must be a string"))?
                    .to_owned(),
                traits: doc["traits"].clone(),
                state,
                metadata_public: Some(doc["metadata_public"].clone()),
                metadata_admin: Some(doc["metadata_admin"].clone()),
                password_hash: None,
                oidc: Vec::new(),
                verifiable_addresses: Vec::new(),
            })
        })
        .await
    }

    /// Reads, rebuilds with `draft_of(current)` and writes back in one
    /// transaction (a person's own change through a self-service flow,
    /// which the audit log does not record).
    pub(crate) async fn replace_identity(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        draft_of: impl FnOnce(&Identity) -> Result<IdentityDraft>,
    ) -> Result<Identity> {
        self.replace_identity_as(tenant, id, None, draft_of).await
    }

    /// [`Self::replace_identity`], recorded in the audit log as `action`
    /// when there is one (an admin's change).
    async fn replace_identity_as(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        action: Option<&'static str>,
        draft_of: impl FnOnce(&Identity) -> Result<IdentityDraft>,
    ) -> Result<Identity> {
        let txn = self.db.begin_write().await?;
        let current = identities::find(&txn, tenant.project_id, id)
            .await?
            .ok_or_else(identity_not_found)?;
        let draft = draft_of(&current)?;
        let updated = self.materialize(tenant, id, draft, Some(&current))?;
        identities::replace(&txn, tenant.project_id, &updated)
            .await
            .map_err(duplicate_identifier)?;
        if let Some(action) = action {
            let change = Change::project(tenant.project_id, action, id).diff(
                Some(&self.audited(tenant, &current)),
                Some(&self.audited(tenant, &updated)),
            );
            audit::append(&txn, change, self.clock.now()).await?;
        }
        txn.commit().await.map_err(sql::db_error)?;
        // Cached whoami answers embed the identity: drop them.
        self.forget_identity_sessions(tenant, id).await?;
        Ok(updated)
    }

    /// Deletes an identity and its sessions. Absent → still `Ok` (the spec
    /// answers 204 either way), but the caller learns whether it existed.
    pub async fn delete_identity(&self, tenant: &TenantCtx, id: Uuid) -> Result<bool> {
        let txn = self.db.begin_write().await?;
        let before = identities::find(&txn, tenant.project_id, id).await?;
        let hashes = crate::session::store::all_token_hashes(&txn, tenant.project_id, id).await?;
        let existed = identities::delete(&txn, tenant.project_id, id).await?;
        if let Some(before) = before.filter(|_| existed) {
            let change = Change::project(tenant.project_id, "identity.delete", id)
                .diff(Some(&self.audited(tenant, &before)), None);
            audit::append(&txn, change, self.clock.now()).await?;
        }
        txn.commit().await.map_err(sql::db_error)?;
        self.sessions.forget(tenant.project_id, &hashes).await;
        Ok(existed)
    }
}

pub(crate) fn identity_not_found() -> Error {
    Error::not_found("Unable to locate the resource")
}

fn oidc_links(credentials: Option<&ImportCredentials>) -> Vec<super::model::OidcLink> {
    credentials
        .and_then(|c| c.oidc.as_ref())
        .and_then(|o| o.config.as_ref())
        .map(|c| c.providers.clone())
        .unwrap_or_default()
}
