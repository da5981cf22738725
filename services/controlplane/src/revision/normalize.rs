//! Kratos / Keto config documents → normalized revision content.
//!
//! Every key is accounted for: a supported key is type-checked and stored,
//! a key a hosted project cannot set is dropped with a `Warning` naming it,
//! and anything else is a 400 naming the key. Nothing is dropped silently.

use super::keys::{HOSTED_ONLY, Kind, PERMISSION_HOSTED_ONLY, is_hosted_only, key_by_path};
use super::model::{
    HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow, RevisionContent,
    WARNING_DROPPED_KEY, WARNING_INVALID_VALUE, WARNING_SUBSTITUTED, Warning,
};
use base64::Engine;
use kernel::{Error, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

const IDENTITY_PREFIX: &str = "services.identity.config";
const PERMISSION_PREFIX: &str = "services.permission.config";

fn invalid(prefix: &str, path: &str, why: impl std::fmt::Display) -> Error {
    let key = format!("{prefix}.{path}");
    Error::bad_request(format!("`{key}` {why}")).with_details(serde_json::json!({ "key": key }))
}

fn dropped(prefix: &str, path: &str) -> Warning {
    Warning {
        code: WARNING_DROPPED_KEY,
        message: format!("`{prefix}.{path}` can not be set in a hosted project and was ignored"),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks a Go duration: one or more `<number><unit>` with units ns, us, µs, ms, s, m, h.
pub fn is_go_duration(s: &str) -> bool {
    kernel::duration::parse_go_duration(s).is_some()
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Type-checks one scalar value; the stored form is the same JSON value.
fn check_kind(prefix: &str, path: &str, kind: Kind, value: &Value) -> Result<Value> {
    let ok = match kind {
        Kind::Str => value.is_string(),
        Kind::Url => value.as_str().is_some_and(is_http_url),
        Kind::Duration => value.as_str().is_some_and(is_go_duration),
        Kind::Bool => value.is_boolean(),
        Kind::Int => value.as_u64().is_some_and(|n| i64::try_from(n).is_ok()),
        Kind::StrList => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::Object => value.is_object(),
        Kind::OneOf(options) => value.as_str().is_some_and(|s| options.contains(&s)),
    };
    if ok {
        return Ok(value.clone());
    }
    let expected = match kind {
        Kind::Str => "a string".to_owned(),
        Kind::Url => "an absolute http(s) URL".to_owned(),
        Kind::Duration => "a duration such as 1h or 15m".to_owned(),
        Kind::Bool => "a boolean".to_owned(),
        Kind::Int => "a non-negative integer".to_owned(),
        Kind::StrList => "a list of strings".to_owned(),
        Kind::Object => "an object".to_owned(),
        Kind::OneOf(options) => format!("one of {}", options.join(", ")),
    };
    Err(invalid(prefix, path, format!("must be {expected}")))
}

const FLOWS: &[&str] = &[
    "login",
    "registration",
    "settings",
    "recovery",
    "verification",
];

/// Every place a hook list may stand, below `selfservice.flows`.
static HOOK_KEYS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let mut keys = BTreeSet::new();
    for flow in FLOWS {
        keys.insert(format!("{flow}.before.hooks"));
        keys.insert(format!("{flow}.after.hooks"));
    }
    for method in ["password", "oidc", "webauthn", "totp", "lookup_secret"] {
        keys.insert(format!("login.after.{method}.hooks"));
    }
    for method in ["password", "oidc", "webauthn"] {
        keys.insert(format!("registration.after.{method}.hooks"));
    }
    for method in [
        "password",
        "profile",
        "oidc",
        "totp",
        "webauthn",
        "lookup_secret",
    ] {
        keys.insert(format!("settings.after.{method}.hooks"));
    }
    keys
});

const SCHEMAS_PATH: &str = "identity.schemas";
const DEFAULT_SCHEMA_PATH: &str = "identity.default_schema_id";
const PROVIDERS_PATH: &str = "selfservice.methods.oidc.config.providers";

/// Every object path that may hold supported keys, so the walk knows where
/// to descend and where a key is unknown.
static CONTAINERS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut set = HashSet::new();
    let mut add_parents = |path: &str| {
        let mut parent = String::new();
        for segment in path
            .split('.')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            parent = join(&parent, segment);
            set.insert(parent.clone());
        }
    };
    for key in super::keys::IDENTITY_KEYS {
        add_parents(key.path);
    }
    for key in HOOK_KEYS.iter() {
        add_parents(&format!("selfservice.flows.{key}"));
    }
    add_parents(SCHEMAS_PATH);
    add_parents(PROVIDERS_PATH);
    set
});

/// Normalizes a Kratos config into the identity part of `out` (which the
/// caller has cleared). Returns warnings for dropped keys.
pub fn normalize_identity(config: &Value, out: &mut RevisionContent) -> Result<Vec<Warning>> {
    let Some(root) = config.as_object() else {
        return Err(Error::bad_request(format!(
            "`{IDENTITY_PREFIX}` must be an object"
        )));
    };
    let mut walk = IdentityWalk {
        out,
        warnings: Vec::new(),
        schemas: None,
        default_schema_id: None,
    };
    walk.object("", root)?;
    let IdentityWalk {
        out,
        mut warnings,
        schemas,
        default_schema_id,
    } = walk;
    // Canonical order: by config key (as the document's keys sort), and in
    // list order within one key.
    out.hooks.sort_by(|a, b| a.config_key.cmp(&b.config_key));
    out.identity_schemas = settle_schemas(
        schemas.unwrap_or_default(),
        default_schema_id,
        &mut warnings,
    )?;
    Ok(warnings)
}

struct IdentityWalk<'a> {
    out: &'a mut RevisionContent,
    warnings: Vec<Warning>,
    /// Kept schemas, plus the ids of schemas dropped for a file:// URL.
    schemas: Option<(Vec<IdentitySchemaRow>, Vec<String>)>,
    default_schema_id: Option<String>,
}

impl IdentityWalk<'_> {
    fn object(&mut self, path: &str, map: &Map<String, Value>) -> Result<()> {
        for (key, value) in map {
            self.value(&join(path, key), value)?;
        }
        Ok(())
    }

    fn value(&mut self, path: &str, value: &Value) -> Result<()> {
        if value.is_null() || path == "version" {
            // null means "not set"; `version` names the config format, not a setting.
            return Ok(());
        }
        if let Some(key) = key_by_path(path) {
            if let Some(problem) = super::branding::problem(path, value) {
                self.warnings.push(Warning {
                    code: WARNING_INVALID_VALUE,
                    message: format!("`{IDENTITY_PREFIX}.{path}` {problem}; it was ignored"),
                });
                return Ok(());
            }
            let checked = check_kind(IDENTITY_PREFIX, path, key.kind, value)?;
            self.out
                .scalars
                .insert(key.column_name().to_owned(), checked);
            return Ok(());
        }
        if is_hosted_only(path, HOSTED_ONLY) {
            self.warnings.push(dropped(IDENTITY_PREFIX, path));
            return Ok(());
        }
        if let Some(hook_key) = path.strip_prefix("selfservice.flows.")
            && HOOK_KEYS.contains(hook_key)
        {
            return self.hooks(path, hook_key, value);
        }
        match path {
            SCHEMAS_PATH => return self.identity_schemas(value),
            DEFAULT_SCHEMA_PATH => {
                let id = value
                    .as_str()
                    .ok_or_else(|| invalid(IDENTITY_PREFIX, path, "must be a string"))?;
                self.default_schema_id = Some(id.to_owned());
                return Ok(());
            }
            PROVIDERS_PATH => return self.providers(value),
            _ => {}
        }
        if CONTAINERS.contains(path) {
            let map = value
                .as_object()
                .ok_or_else(|| invalid(IDENTITY_PREFIX, path, "must be an object"))?;
            return self.object(path, map);
        }
        Err(invalid(
            IDENTITY_PREFIX,
            path,
            "is not a known configuration key",
        ))
    }

    fn hooks(&mut self, path: &str, config_key: &str, value: &Value) -> Result<()> {
        let items = value
            .as_array()
            .ok_or_else(|| invalid(IDENTITY_PREFIX, path, "must be a list of hooks"))?;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}.{i}");
            let map = item
                .as_object()
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &item_path, "must be an object"))?;
            let hook = map.get("hook").and_then(Value::as_str).ok_or_else(|| {
                invalid(
                    IDENTITY_PREFIX,
                    &join(&item_path, "hook"),
                    "must be a hook name",
                )
            })?;
            let allowed = match hook {
                "session" => config_key.starts_with("registration.after."),
                "revoke_active_sessions" | "require_verified_address" => {
                    config_key.starts_with("login.after.")
                }
                "show_verification_ui" => config_key.starts_with("registration.after."),
                "web_hook" => true,
                _ => false,
            };
            if !allowed {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&item_path, "hook"),
                    format!(
                        "`{hook}` is not a hook that can run at selfservice.flows.{config_key}"
                    ),
                ));
            }
            let mut row = HookRow {
                config_key: config_key.to_owned(),
                hook: hook.to_owned(),
                ..HookRow::default()
            };
            for (key, v) in map {
                match key.as_str() {
                    "hook" => {}
                    "config" if hook == "web_hook" => {
                        self.web_hook(&join(&item_path, "config"), v, &mut row)?
                    }
                    "config" if v.as_object().is_some_and(Map::is_empty) || v.is_null() => {}
                    _ => {
                        return Err(invalid(
                            IDENTITY_PREFIX,
                            &join(&item_path, key),
                            "is not a known hook key",
                        ));
                    }
                }
            }
            if hook == "web_hook"
                && (row.web_hook_config_url.is_none() || row.web_hook_config_method.is_none())
            {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&item_path, "config"),
                    "needs url and method",
                ));
            }
            self.out.hooks.push(row);
        }
        Ok(())
    }

    fn web_hook(&mut self, path: &str, value: &Value, row: &mut HookRow) -> Result<()> {
        let map = value
            .as_object()
            .ok_or_else(|| invalid(IDENTITY_PREFIX, path, "must be an object"))?;
        let text = |p: &str, v: &Value| -> Result<String> {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(IDENTITY_PREFIX, p, "must be a string"))
        };
        for (key, v) in map {
            let p = join(path, key);
            match key.as_str() {
                "url" => {
                    check_kind(IDENTITY_PREFIX, &p, Kind::Url, v)?;
                    row.web_hook_config_url = Some(text(&p, v)?);
                }
                "method" => {
                    let method = text(&p, v)?.to_ascii_uppercase();
                    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                        return Err(invalid(IDENTITY_PREFIX, &p, "must be an HTTP method"));
                    }
                    row.web_hook_config_method = Some(method);
                }
                "body" => {
                    let body = text(&p, v)?;
                    if body.starts_with("file://") {
                        self.warnings.push(dropped(IDENTITY_PREFIX, &p));
                    } else {
                        row.web_hook_config_body = Some(body);
                    }
                }
                "response" => {
                    let response = v
                        .as_object()
                        .ok_or_else(|| invalid(IDENTITY_PREFIX, &p, "must be an object"))?;
                    for (rk, rv) in response {
                        let rp = join(&p, rk);
                        match rk.as_str() {
                            "ignore" => {
                                check_kind(IDENTITY_PREFIX, &rp, Kind::Bool, rv)?;
                                row.web_hook_config_response_ignore = rv.as_bool();
                            }
                            _ => return Err(invalid(IDENTITY_PREFIX, &rp, "is not a known key")),
                        }
                    }
                }
                "auth" => self.web_hook_auth(&p, v, row)?,
                _ => return Err(invalid(IDENTITY_PREFIX, &p, "is not a known web hook key")),
            }
        }
        Ok(())
    }

    fn web_hook_auth(&mut self, path: &str, value: &Value, row: &mut HookRow) -> Result<()> {
        let map = value
            .as_object()
            .ok_or_else(|| invalid(IDENTITY_PREFIX, path, "must be an object"))?;
        let kind = map.get("type").and_then(Value::as_str).ok_or_else(|| {
            invalid(
                IDENTITY_PREFIX,
                &join(path, "type"),
                "must be api_key or basic_auth",
            )
        })?;
        let config_path = join(path, "config");
        let empty = Map::new();
        let config = match map.get("config") {
            None => &empty,
            Some(v) => v
                .as_object()
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &config_path, "must be an object"))?,
        };
        for key in map.keys() {
            if key != "type" && key != "config" {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(path, key),
                    "is not a known key",
                ));
            }
        }
        let field = |name: &str| -> Result<Option<String>> {
            match config.get(name) {
                None => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| {
                    invalid(
                        IDENTITY_PREFIX,
                        &join(&config_path, name),
                        "must be a string",
                    )
                }),
            }
        };
        let allowed: &[&str] = match kind {
            "api_key" => &["name", "value", "in"],
            "basic_auth" => &["user", "password"],
            _ => {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(path, "type"),
                    "must be api_key or basic_auth",
                ));
            }
        };
        for key in config.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&config_path, key),
                    "is not a known key",
                ));
            }
        }
        row.web_hook_config_auth_type = Some(kind.to_owned());
        if kind == "api_key" {
            row.web_hook_config_auth_api_key_name = field("name")?;
            row.web_hook_config_auth_api_key_value = field("value")?;
            let placement = field("in")?;
            if let Some(p) = &placement
                && p != "header"
                && p != "cookie"
            {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&config_path, "in"),
                    "must be header or cookie",
                ));
            }
            row.web_hook_config_auth_api_key_in = placement;
        } else {
            row.web_hook_config_auth_basic_auth_user = field("user")?;
            row.web_hook_config_auth_basic_auth_password = field("password")?;
        }
        Ok(())
    }

    fn identity_schemas(&mut self, value: &Value) -> Result<()> {
        let items = value
            .as_array()
            .ok_or_else(|| invalid(IDENTITY_PREFIX, SCHEMAS_PATH, "must be a list of {id, url}"))?;
        let mut kept = Vec::new();
        let mut dropped_ids = Vec::new();
        let mut seen = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{SCHEMAS_PATH}.{i}");
            let map = item
                .as_object()
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &path, "must be an object"))?;
            for key in map.keys() {
                if key != "id" && key != "url" {
                    return Err(invalid(
                        IDENTITY_PREFIX,
                        &join(&path, key),
                        "is not a known key",
                    ));
                }
            }
            let id = map
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &join(&path, "id"), "must be a string"))?;
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&path, "id"),
                    "must be 1 to 64 URL-safe characters (letters, digits, . _ -)",
                ));
            }
            if !seen.insert(id.to_owned()) {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&path, "id"),
                    format!("`{id}` is used twice"),
                ));
            }
            let url_path = join(&path, "url");
            let url = map
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &url_path, "must be a string"))?;
            let mut row = IdentitySchemaRow {
                import_id: id.to_owned(),
                ..IdentitySchemaRow::default()
            };
            if let Some(preset) = url.strip_prefix("preset://") {
                if preset != "email" && preset != "username" {
                    return Err(invalid(
                        IDENTITY_PREFIX,
                        &url_path,
                        "must be preset://email or preset://username",
                    ));
                }
                row.preset = Some(preset.to_owned());
            } else if let Some(encoded) = url.strip_prefix("base64://") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
                    .map_err(|_| invalid(IDENTITY_PREFIX, &url_path, "is not valid base64"))?;
                let schema: Value = serde_json::from_slice(&decoded).map_err(|_| {
                    invalid(
                        IDENTITY_PREFIX,
                        &url_path,
                        "does not decode to a JSON schema",
                    )
                })?;
                if !schema.is_object() {
                    return Err(invalid(
                        IDENTITY_PREFIX,
                        &url_path,
                        "does not decode to a JSON schema object",
                    ));
                }
                row.import_url = Some(url.to_owned());
            } else if url.starts_with("file://") {
                self.warnings.push(dropped(IDENTITY_PREFIX, &url_path));
                dropped_ids.push(id.to_owned());
                continue;
            } else {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &url_path,
                    "must be preset://email, preset://username or base64://<schema>",
                ));
            }
            kept.push(row);
        }
        self.schemas = Some((kept, dropped_ids));
        Ok(())
    }

    fn providers(&mut self, value: &Value) -> Result<()> {
        let items = value.as_array().ok_or_else(|| {
            invalid(
                IDENTITY_PREFIX,
                PROVIDERS_PATH,
                "must be a list of providers",
            )
        })?;
        let mut seen = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{PROVIDERS_PATH}.{i}");
            let map = item
                .as_object()
                .ok_or_else(|| invalid(IDENTITY_PREFIX, &path, "must be an object"))?;
            let mut row = OidcProviderRow::default();
            for (key, v) in map {
                let p = join(&path, key);
                let text = || -> Result<String> {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(IDENTITY_PREFIX, &p, "must be a string"))
                };
                let url = || -> Result<String> {
                    check_kind(IDENTITY_PREFIX, &p, Kind::Url, v)?;
                    text()
                };
                match key.as_str() {
                    "id" => row.provider_id = text()?,
                    "provider" => {
                        let provider = text()?;
                        const PROVIDERS: &[&str] = &[
                            "generic",
                            "google",
                            "github",
                            "gitlab",
                            "microsoft",
                            "discord",
                            "slack",
                            "facebook",
                            "vk",
                            "yandex",
                            "apple",
                            "auth0",
                            "spotify",
                            "netid",
                            "dingtalk",
                            "patreon",
                        ];
                        if !PROVIDERS.contains(&provider.as_str()) {
                            return Err(invalid(
                                IDENTITY_PREFIX,
                                &p,
                                format!("must be one of {}", PROVIDERS.join(", ")),
                            ));
                        }
                        row.provider = provider;
                    }
                    "client_id" => row.client_id = Some(text()?),
                    "client_secret" => row.client_secret = Some(text()?),
                    "issuer_url" => row.issuer_url = Some(url()?),
                    "auth_url" => row.auth_url = Some(url()?),
                    "token_url" => row.token_url = Some(url()?),
                    "mapper_url" => {
                        let mapper = text()?;
                        if mapper.starts_with("file://") {
                            self.warnings.push(dropped(IDENTITY_PREFIX, &p));
                        } else {
                            row.mapper_url = Some(mapper);
                        }
                    }
                    "scope" => {
                        check_kind(IDENTITY_PREFIX, &p, Kind::StrList, v)?;
                        row.scope = Some(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect(),
                        );
                    }
                    "requested_claims" => {
                        check_kind(IDENTITY_PREFIX, &p, Kind::Object, v)?;
                        row.requested_claims = Some(v.clone());
                    }
                    "label" => row.label = Some(text()?),
                    "microsoft_tenant" => row.azure_tenant = Some(text()?),
                    "apple_team_id" => row.apple_team_id = Some(text()?),
                    "apple_private_key_id" => row.apple_private_key_id = Some(text()?),
                    "apple_private_key" => row.apple_private_key = Some(text()?),
                    _ => return Err(invalid(IDENTITY_PREFIX, &p, "is not a known provider key")),
                }
            }
            if row.provider_id.is_empty() || row.provider.is_empty() {
                return Err(invalid(IDENTITY_PREFIX, &path, "needs id and provider"));
            }
            if !seen.insert(row.provider_id.clone()) {
                return Err(invalid(
                    IDENTITY_PREFIX,
                    &join(&path, "id"),
                    "is used twice",
                ));
            }
            self.out.oidc_providers.push(row);
        }
        Ok(())
    }
}

/// The schema set every project starts with, and falls back to when an
/// update carries no schema Keyplane can import.
pub fn default_identity_schemas() -> Vec<IdentitySchemaRow> {
    vec![IdentitySchemaRow {
        import_id: "default".to_owned(),
        import_url: None,
        preset: Some("email".to_owned()),
        is_default: true,
    }]
}

fn settle_schemas(
    schemas: (Vec<IdentitySchemaRow>, Vec<String>),
    default_id: Option<String>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<IdentitySchemaRow>> {
    let (mut kept, dropped_ids) = schemas;
    if kept.is_empty() {
        warnings.push(Warning {
            code: WARNING_SUBSTITUTED,
            message: "no identity schema could be imported; the project uses preset://email as schema `default`"
                .to_owned(),
        });
        return Ok(default_identity_schemas());
    }
    let default_id = match default_id {
        Some(id) if kept.iter().any(|s| s.import_id == id) => id,
        Some(id) if dropped_ids.contains(&id) => {
            let first = kept[0].import_id.clone();
            warnings.push(Warning {
                code: WARNING_SUBSTITUTED,
                message: format!(
                    "the default identity schema `{id}` was not imported; `{first}` is the default"
                ),
            });
            first
        }
        Some(id) => {
            return Err(invalid(
                IDENTITY_PREFIX,
                DEFAULT_SCHEMA_PATH,
                format!("names `{id}`, which is not in identity.schemas"),
            ));
        }
        None => kept[0].import_id.clone(),
    };
    for schema in &mut kept {
        schema.is_default = schema.import_id == default_id;
    }
    Ok(kept)
}

/// Normalizes a Keto config into the permission part of `out`.
pub fn normalize_permission(config: &Value, out: &mut RevisionContent) -> Result<Vec<Warning>> {
    let Some(root) = config.as_object() else {
        return Err(Error::bad_request(format!(
            "`{PERMISSION_PREFIX}` must be an object"
        )));
    };
    let mut warnings = Vec::new();
    for (key, value) in root {
        if value.is_null() || key == "version" {
            continue;
        }
        match key.as_str() {
            "namespaces" => {
                let items = value.as_array().ok_or_else(|| {
                    invalid(
                        PERMISSION_PREFIX,
                        "namespaces",
                        "must be a list of {id, name}",
                    )
                })?;
                let (mut names, mut ids) = (HashSet::new(), HashSet::new());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("namespaces.{i}");
                    let map = item
                        .as_object()
                        .ok_or_else(|| invalid(PERMISSION_PREFIX, &path, "must be an object"))?;
                    for k in map.keys() {
                        if k != "id" && k != "name" {
                            return Err(invalid(
                                PERMISSION_PREFIX,
                                &join(&path, k),
                                "is not a known key",
                            ));
                        }
                    }
                    let name = map
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|n| {
                            !n.is_empty()
                                && n.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
                        })
                        .ok_or_else(|| {
                            invalid(
                                PERMISSION_PREFIX,
                                &join(&path, "name"),
                                "must be a name of letters, digits, _ or -",
                            )
                        })?;
                    let id = match map.get("id") {
                        None => i64::try_from(i).unwrap_or(i64::MAX),
                        Some(v) => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                            invalid(
                                PERMISSION_PREFIX,
                                &join(&path, "id"),
                                "must be a non-negative integer",
                            )
                        })?,
                    };
                    if !names.insert(name.to_owned()) {
                        return Err(invalid(
                            PERMISSION_PREFIX,
                            &join(&path, "name"),
                            format!("`{name}` is used twice"),
                        ));
                    }
                    if !ids.insert(id) {
                        return Err(invalid(
                            PERMISSION_PREFIX,
                            &join(&path, "id"),
                            format!("{id} is used twice"),
                        ));
                    }
                    out.keto_namespaces.push(KetoNamespaceRow {
                        namespace_id: id,
                        name: name.to_owned(),
                    });
                }
            }
            "limit" => {
                let map = value
                    .as_object()
                    .ok_or_else(|| invalid(PERMISSION_PREFIX, "limit", "must be an object"))?;
                for (k, v) in map {
                    match k.as_str() {
                        "max_read_depth" => {
                            let depth =
                                v.as_i64()
                                    .filter(|d| (1..=1000).contains(d))
                                    .ok_or_else(|| {
                                        invalid(
                                            PERMISSION_PREFIX,
                                            "limit.max_read_depth",
                                            "must be an integer from 1 to 1000",
                                        )
                                    })?;
                            out.keto_read_max_depth = Some(depth);
                        }
                        "max_batch_check_size" => {
                            let size =
                                v.as_i64()
                                    .filter(|n| (1..=1000).contains(n))
                                    .ok_or_else(|| {
                                        invalid(
                                            PERMISSION_PREFIX,
                                            "limit.max_batch_check_size",
                                            "must be an integer from 1 to 1000",
                                        )
                                    })?;
                            out.keto_batch_check_max_size = Some(size);
                        }
                        _ => {
                            return Err(invalid(
                                PERMISSION_PREFIX,
                                &join("limit", k),
                                "is not a known configuration key",
                            ));
                        }
                    }
                }
            }
            _ if is_hosted_only(key, PERMISSION_HOSTED_ONLY) => {
                warnings.push(dropped(PERMISSION_PREFIX, key))
            }
            _ => {
                return Err(invalid(
                    PERMISSION_PREFIX,
                    key,
                    "is not a known configuration key",
                ));
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in ["1h", "15m", "1h30m", "10s", "1.5h", "300ms", "2h45m30s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "h", "1d", "1 h", "-1h", "1hm"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
