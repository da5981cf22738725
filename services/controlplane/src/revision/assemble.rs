//! Normalized revision content → the Kratos and Keto config documents the
//! engines use and `GET /projects/{id}` shows.

use super::keys::key_by_column;
use super::model::{HookRow, OidcProviderRow, RevisionContent};
use kernel::tenant::{DEFAULT_MAX_BATCH_CHECK_SIZE, IdentitySchemaRef, NamespaceRef, TenantConfig};
use serde_json::{Map, Value, json};

/// Keto's default `limit.max_read_depth`.
pub const DEFAULT_MAX_READ_DEPTH: i64 = 5;

fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut node = root;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            node.insert(segment.to_owned(), value);
            return;
        }
        let child = node
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !child.is_object() {
            *child = Value::Object(Map::new());
        }
        let Value::Object(map) = child else { return };
        node = map;
    }
}

fn hook_json(row: &HookRow) -> Value {
    let mut hook = Map::new();
    hook.insert("hook".into(), json!(row.hook));
    if row.hook == "web_hook" {
        let mut config = Map::new();
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                config.insert(key.to_owned(), json!(v));
            }
        };
        put("url", &row.web_hook_config_url);
        put("method", &row.web_hook_config_method);
        put("body", &row.web_hook_config_body);
        if let Some(ignore) = row.web_hook_config_response_ignore {
            config.insert("response".into(), json!({ "ignore": ignore }));
        }
        if let Some(kind) = &row.web_hook_config_auth_type {
            let mut auth_config = Map::new();
            let fields = [
                ("name", &row.web_hook_config_auth_api_key_name),
                ("value", &row.web_hook_config_auth_api_key_value),
                ("in", &row.web_hook_config_auth_api_key_in),
                ("user", &row.web_hook_config_auth_basic_auth_user),
                ("password", &row.web_hook_config_auth_basic_auth_password),
            ];
            for (key, value) in fields {
                if let Some(v) = value {
                    auth_config.insert(key.to_owned(), json!(v));
                }
            }
            config.insert(
                "auth".into(),
                json!({ "type": kind, "config": auth_config }),
            );
        }
        hook.insert("config".into(), Value::Object(config));
    }
    Value::Object(hook)
}

fn provider_json(row: &OidcProviderRow) -> Value {
    let mut p = Map::new();
    p.insert("id".into(), json!(row.provider_id));
    p.insert("provider".into(), json!(row.provider));
    let strings = [
        ("client_id", &row.client_id),
        ("client_secret", &row.client_secret),
        ("issuer_url", &row.issuer_url),
        ("auth_url", &row.auth_url),
        ("token_url", &row.token_url),
        ("mapper_url", &row.mapper_url),
        ("label", &row.label),
        ("microsoft_tenant", &row.azure_tenant),
        ("apple_team_id", &row.apple_team_id),
        ("apple_private_key_id", &row.apple_private_key_id),
        ("apple_private_key", &row.apple_private_key),
    ];
    for (key, value) in strings {
        if let Some(v) = value {
            p.insert(key.to_owned(), json!(v));
        }
    }
    if let Some(scope) = &row.scope {
        p.insert("scope".into(), json!(scope));
    }
    if let Some(claims) = &row.requested_claims {
        p.insert("requested_claims".into(), claims.clone());
    }
    Value::Object(p)
}

/// The Kratos config document.
pub fn identity_config(content: &RevisionContent) -> Value {
    let mut root = Map::new();
    for (column, value) in &content.scalars {
        if let Some(key) = key_by_column(column) {
            set_path(&mut root, key.path, value.clone());
        }
    }
    let mut hooks_by_key: Vec<(String, Vec<Value>)> = Vec::new();
    for row in &content.hooks {
        match hooks_by_key.iter_mut().find(|(k, _)| *k == row.config_key) {
            Some((_, list)) => list.push(hook_json(row)),
            None => hooks_by_key.push((row.config_key.clone(), vec![hook_json(row)])),
        }
    }
    for (config_key, hooks) in hooks_by_key {
        set_path(
            &mut root,
            &format!("selfservice.flows.{config_key}"),
            Value::Array(hooks),
        );
    }
    if !content.oidc_providers.is_empty() {
        let providers = content.oidc_providers.iter().map(provider_json).collect();
        set_path(
            &mut root,
            "selfservice.methods.oidc.config.providers",
            Value::Array(providers),
        );
    }
    let schemas: Vec<Value> = content
        .identity_schemas
        .iter()
        .map(|s| json!({ "id": s.import_id, "url": s.url() }))
        .collect();
    set_path(&mut root, "identity.schemas", Value::Array(schemas));
    if let Some(default) = content.identity_schemas.iter().find(|s| s.is_default) {
        set_path(
            &mut root,
            "identity.default_schema_id",
            json!(default.import_id),
        );
    }
    Value::Object(root)
}

/// The Keto config document.
pub fn permission_config(content: &RevisionContent) -> Value {
    let namespaces: Vec<Value> = content
        .keto_namespaces
        .iter()
        .map(|n| json!({ "id": n.namespace_id, "name": n.name }))
        .collect();
    let mut root = Map::new();
    root.insert("namespaces".into(), Value::Array(namespaces));
    let mut limit = Map::new();
    if let Some(depth) = content.keto_read_max_depth {
        limit.insert("max_read_depth".into(), json!(depth));
    }
    if let Some(size) = content.keto_batch_check_max_size {
        limit.insert("max_batch_check_size".into(), json!(size));
    }
    if !limit.is_empty() {
        root.insert("limit".into(), Value::Object(limit));
    }
    Value::Object(root)
}

/// The typed config the engines use.
pub fn tenant_config(content: &RevisionContent) -> TenantConfig {
    TenantConfig::new(
        identity_config(content),
        content
            .identity_schemas
            .iter()
            .map(|s| IdentitySchemaRef {
                id: s.import_id.clone(),
                url: s.url(),
                is_default: s.is_default,
            })
            .collect(),
        content
            .keto_namespaces
            .iter()
            .map(|n| NamespaceRef {
                id: n.namespace_id,
                name: n.name.clone(),
            })
            .collect(),
        content
            .keto_read_max_depth
            .unwrap_or(DEFAULT_MAX_READ_DEPTH),
    )
    .with_max_batch_check_size(
        content
            .keto_batch_check_max_size
            .unwrap_or(DEFAULT_MAX_BATCH_CHECK_SIZE),
    )
}
