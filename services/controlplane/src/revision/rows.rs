//! The revision's child rows as their tables' entity models and back: a
//! stored row adds its id, its revision, its place in the list and
//! timestamps to what `RevisionContent` holds.

use super::model::{HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::IdenStatic;
use serde_json::Value as Json;
use store::entity::project_revision_hooks as hooks;
use store::entity::project_revision_identity_schemas as schemas;
use store::entity::project_revision_keto_namespaces as namespaces;
use store::entity::project_revision_third_party_providers as providers;
use uuid::Uuid;

/// JSON stored as text; a column that does not parse is an internal error.
pub(super) fn parse_json(text: Option<String>, column: impl IdenStatic) -> Result<Option<Json>> {
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| Error::internal(format!("column {}: {e}", column.as_str())))
    })
    .transpose()
}

/// What the child rows of one revision share.
#[derive(Debug, Clone, Copy)]
pub(super) struct Child {
    pub revision: Uuid,
    pub now: DateTime<Utc>,
}

fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

impl Child {
    pub fn hook(&self, i: usize, hook: &HookRow) -> hooks::Model {
        let hook = hook.clone();
        hooks::Model {
            id: Uuid::now_v7(),
            project_revision_id: self.revision,
            position: position(i),
            config_key: hook.config_key,
            hook: hook.hook,
            web_hook_config_url: hook.web_hook_config_url,
            web_hook_config_method: hook.web_hook_config_method,
            web_hook_config_body: hook.web_hook_config_body,
            web_hook_config_response_ignore: hook.web_hook_config_response_ignore,
            web_hook_config_auth_type: hook.web_hook_config_auth_type,
            web_hook_config_auth_api_key_name: hook.web_hook_config_auth_api_key_name,
            web_hook_config_auth_api_key_value: hook.web_hook_config_auth_api_key_value,
            web_hook_config_auth_api_key_in: hook.web_hook_config_auth_api_key_in,
            web_hook_config_auth_basic_auth_user: hook.web_hook_config_auth_basic_auth_user,
            web_hook_config_auth_basic_auth_password: hook.web_hook_config_auth_basic_auth_password,
            created_at: self.now,
            updated_at: self.now,
        }
    }

    pub fn schema(&self, i: usize, schema: &IdentitySchemaRow) -> schemas::Model {
        schemas::Model {
            id: Uuid::now_v7(),
            project_revision_id: self.revision,
            position: position(i),
            import_id: schema.import_id.clone(),
            import_url: schema.import_url.clone(),
            preset: schema.preset.clone(),
            is_default: schema.is_default,
            created_at: self.now,
            updated_at: self.now,
        }
    }

    pub fn provider(&self, i: usize, p: &OidcProviderRow) -> providers::Model {
        let p = p.clone();
        providers::Model {
            id: Uuid::now_v7(),
            project_revision_id: self.revision,
            position: position(i),
            provider_id: p.provider_id,
            provider: p.provider,
            client_id: p.client_id,
            client_secret: p.client_secret,
            issuer_url: p.issuer_url,
            auth_url: p.auth_url,
            token_url: p.token_url,
            mapper_url: p.mapper_url,
            scope: p.scope.map(|s| serde_json::json!(s).to_string()),
            requested_claims: p.requested_claims.as_ref().map(Json::to_string),
            label: p.label,
            azure_tenant: p.azure_tenant,
            apple_team_id: p.apple_team_id,
            apple_private_key_id: p.apple_private_key_id,
            apple_private_key: p.apple_private_key,
            created_at: self.now,
            updated_at: self.now,
        }
    }

    pub fn namespace(&self, i: usize, ns: &KetoNamespaceRow) -> namespaces::Model {
        namespaces::Model {
            id: Uuid::now_v7(),
            project_revision_id: self.revision,
            position: position(i),
            namespace_id: ns.namespace_id,
            name: ns.name.clone(),
            created_at: self.now,
            updated_at: self.now,
        }
    }
}

pub(super) fn hook_row(m: hooks::Model) -> HookRow {
    HookRow {
        config_key: m.config_key,
        hook: m.hook,
        web_hook_config_url: m.web_hook_config_url,
        web_hook_config_method: m.web_hook_config_method,
        web_hook_config_body: m.web_hook_config_body,
        web_hook_config_response_ignore: m.web_hook_config_response_ignore,
        web_hook_config_auth_type: m.web_hook_config_auth_type,
        web_hook_config_auth_api_key_name: m.web_hook_config_auth_api_key_name,
        web_hook_config_auth_api_key_value: m.web_hook_config_auth_api_key_value,
        web_hook_config_auth_api_key_in: m.web_hook_config_auth_api_key_in,
        web_hook_config_auth_basic_auth_user: m.web_hook_config_auth_basic_auth_user,
        web_hook_config_auth_basic_auth_password: m.web_hook_config_auth_basic_auth_password,
    }
}

pub(super) fn schema_row(m: schemas::Model) -> IdentitySchemaRow {
    IdentitySchemaRow {
        import_id: m.import_id,
        import_url: m.import_url,
        preset: m.preset,
        is_default: m.is_default,
    }
}

pub(super) fn provider_row(m: providers::Model) -> Result<OidcProviderRow> {
    let scope = parse_json(m.scope, providers::Column::Scope)?
        .map(|v| serde_json::from_value::<Vec<String>>(v).map_err(Error::internal))
        .transpose()?;
    Ok(OidcProviderRow {
        requested_claims: parse_json(m.requested_claims, providers::Column::RequestedClaims)?,
        scope,
        provider_id: m.provider_id,
        provider: m.provider,
        client_id: m.client_id,
        client_secret: m.client_secret,
        issuer_url: m.issuer_url,
        auth_url: m.auth_url,
        token_url: m.token_url,
        mapper_url: m.mapper_url,
        label: m.label,
        azure_tenant: m.azure_tenant,
        apple_team_id: m.apple_team_id,
        apple_private_key_id: m.apple_private_key_id,
        apple_private_key: m.apple_private_key,
    })
}

pub(super) fn namespace_row(m: namespaces::Model) -> KetoNamespaceRow {
    KetoNamespaceRow {
        namespace_id: m.namespace_id,
        name: m.name,
    }
}
