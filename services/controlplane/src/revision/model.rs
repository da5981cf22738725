//! A normalized revision: what `project_revisions` and its child tables
//! hold, independent of row ids and timestamps (so two normalizations of
//! the same config compare equal).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RevisionContent {
    pub name: String,
    /// Column name → value (string, bool, integer, list or object). Absent
    /// keys are not stored (NULL).
    pub scalars: BTreeMap<String, Value>,
    pub hooks: Vec<HookRow>,
    pub identity_schemas: Vec<IdentitySchemaRow>,
    pub oidc_providers: Vec<OidcProviderRow>,
    pub keto_namespaces: Vec<KetoNamespaceRow>,
    pub keto_read_max_depth: Option<i64>,
    /// `limit.max_batch_check_size`: most tuples one batch check holds.
    pub keto_batch_check_max_size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HookRow {
    /// Where the hook sits below `selfservice.flows`, e.g. `registration.after.password.hooks`.
    pub config_key: String,
    pub hook: String,
    pub web_hook_config_url: Option<String>,
    pub web_hook_config_method: Option<String>,
    pub web_hook_config_body: Option<String>,
    pub web_hook_config_response_ignore: Option<bool>,
    pub web_hook_config_auth_type: Option<String>,
    pub web_hook_config_auth_api_key_name: Option<String>,
    pub web_hook_config_auth_api_key_value: Option<String>,
    pub web_hook_config_auth_api_key_in: Option<String>,
    pub web_hook_config_auth_basic_auth_user: Option<String>,
    pub web_hook_config_auth_basic_auth_password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IdentitySchemaRow {
    pub import_id: String,
    /// `base64://...` for a custom schema; None for a preset.
    pub import_url: Option<String>,
    /// `email` or `username` for `preset://email` / `preset://username`.
    pub preset: Option<String>,
    pub is_default: bool,
}

impl IdentitySchemaRow {
    /// The URL as Kratos' config writes it.
    pub fn url(&self) -> String {
        match (&self.preset, &self.import_url) {
            (Some(preset), _) => format!("preset://{preset}"),
            (None, Some(url)) => url.clone(),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OidcProviderRow {
    pub provider_id: String,
    pub provider: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub issuer_url: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub mapper_url: Option<String>,
    pub scope: Option<Vec<String>>,
    pub requested_claims: Option<Value>,
    pub label: Option<String>,
    pub azure_tenant: Option<String>,
    pub apple_team_id: Option<String>,
    pub apple_private_key_id: Option<String>,
    pub apple_private_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KetoNamespaceRow {
    pub namespace_id: i64,
    pub name: String,
}

/// A key that was found but cannot be used in a hosted project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub code: i64,
    pub message: String,
}

/// Warning codes.
pub const WARNING_DROPPED_KEY: i64 = 1;
pub const WARNING_SUBSTITUTED: i64 = 2;
/// A value that cannot be used was dropped (the hosted UI's branding).
pub const WARNING_INVALID_VALUE: i64 = 3;
