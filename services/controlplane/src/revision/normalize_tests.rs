//! Normalization of bad and hosted-only input: a 400 naming the key, or a
//! warning naming the dropped key; never a silent drop.

use super::defaults::{default_identity_config, default_revision};
use super::model::RevisionContent;
use super::{replace_identity, replace_permission};
use serde_json::{Value, json};

fn identity(config: Value) -> Result<(RevisionContent, Vec<String>), kernel::Error> {
    let mut content = RevisionContent::default();
    let warnings = replace_identity(&mut content, &config)?;
    Ok((content, warnings.into_iter().map(|w| w.message).collect()))
}

fn rejects(config: Value, key: &str) {
    match identity(config.clone()) {
        Ok(_) => panic!("accepted {config}"),
        Err(e) => {
            assert_eq!(e.status(), 400);
            let reason = e.reason.clone().unwrap_or_default();
            assert!(reason.contains(key), "`{reason}` does not name {key}");
        }
    }
}

/// The Ory Kratos email-password quickstart config (kratos.yml), as JSON;
/// shared with the end-to-end tests.
pub fn kratos_quickstart() -> Value {
    serde_json::from_str(include_str!(
        "../../../../tests/fixtures/kratos-quickstart.json"
    ))
    .unwrap_or_default()
}

#[test]
fn the_default_config_is_valid_and_complete() {
    let content =
        default_revision("p", "http://slug.projects.localhost").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(content.identity_schemas.len(), 1);
    assert_eq!(content.identity_schemas[0].preset.as_deref(), Some("email"));
    // A session after registering by each method that can register.
    let hooks: Vec<&str> = content
        .hooks
        .iter()
        .map(|h| h.config_key.as_str())
        .collect();
    assert_eq!(
        hooks,
        [
            "registration.after.oidc.hooks",
            "registration.after.password.hooks",
            "registration.after.webauthn.hooks"
        ]
    );
    assert_eq!(
        content.scalars["kratos_selfservice_methods_password_enabled"],
        json!(true)
    );
    assert_eq!(
        content.scalars["kratos_selfservice_flows_recovery_enabled"],
        json!(true)
    );
    assert_eq!(
        content.scalars["kratos_selfservice_flows_login_ui_url"],
        json!("http://slug.projects.localhost/ui/login")
    );
    let secrets = content.scalars["kratos_secrets_cookie"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(secrets[0].as_str().map(str::len), Some(32));
    let other = default_identity_config("http://x");
    assert_ne!(
        other["secrets"],
        default_identity_config("http://x")["secrets"],
        "secrets are fresh per project"
    );
}

#[test]
fn the_kratos_quickstart_imports_with_a_warning_per_dropped_key() {
    let (content, warnings) = identity(kratos_quickstart()).unwrap_or_else(|e| panic!("{e}"));
    for dropped in [
        "dsn",
        "serve",
        "log",
        "ciphers",
        "hashers",
        "identity.schemas.0.url",
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("services.identity.config.{dropped}"))),
            "no warning for {dropped}: {warnings:#?}"
        );
    }
    assert!(
        warnings.iter().any(|w| w.contains("preset://email")),
        "the schema substitution is announced"
    );
    assert_eq!(
        content.scalars["kratos_selfservice_flows_login_lifespan"],
        json!("10m")
    );
    assert_eq!(
        content.scalars["kratos_secrets_cookie"],
        json!(["PLEASE-CHANGE-ME-I-AM-VERY-INSECURE"])
    );
    assert_eq!(content.hooks[0].hook, "session");
    assert_eq!(content.identity_schemas[0].preset.as_deref(), Some("email"));
}

#[test]
fn wrong_types_are_rejected_naming_the_key() {
    rejects(
        json!({ "selfservice": { "flows": { "recovery": { "enabled": "yes" } } } }),
        "selfservice.flows.recovery.enabled",
    );
    rejects(
        json!({ "selfservice": { "flows": { "login": { "lifespan": "ten minutes" } } } }),
        "selfservice.flows.login.lifespan",
    );
    rejects(
        json!({ "selfservice": { "flows": { "login": { "ui_url": "not a url" } } } }),
        "selfservice.flows.login.ui_url",
    );
    rejects(
        json!({ "session": { "cookie": { "same_site": "Sometimes" } } }),
        "session.cookie.same_site",
    );
    rejects(json!({ "secrets": { "cookie": "one" } }), "secrets.cookie");
    rejects(
        json!({ "selfservice": { "methods": { "password": { "config": { "min_password_length": -1 } } } } }),
        "min_password_length",
    );
    rejects(json!({ "selfservice": "everything" }), "selfservice");
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    rejects(
        json!({ "selfservice": { "flows": { "login": { "colour": "red" } } } }),
        "selfservice.flows.login.colour",
    );
    rejects(json!({ "nonsense": true }), "nonsense");
    rejects(
        json!({ "selfservice": { "flows": { "login": { "after": { "magic": { "hooks": [] } } } } } }),
        "magic",
    );
}

#[test]
fn hooks_are_checked() {
    rejects(
        json!({ "selfservice": { "flows": { "login": { "after": { "hooks": [{ "hook": "session" }] } } } } }),
        "hook",
    );
    rejects(
        json!({ "selfservice": { "flows": { "registration": { "after": { "hooks": [{ "hook": "web_hook", "config": { "url": "https://x.example" } }] } } } } }),
        "config",
    );
    rejects(
        json!({ "selfservice": { "flows": { "registration": { "after": { "hooks": [{ "hook": "web_hook", "config": { "url": "https://x.example", "method": "POST", "auth": { "type": "magic" } } }] } } } } }),
        "auth.type",
    );
}

#[test]
fn identity_schemas_are_checked() {
    rejects(
        json!({ "identity": { "schemas": [{ "id": "a b", "url": "preset://email" }] } }),
        "identity.schemas.0.id",
    );
    rejects(
        json!({ "identity": { "schemas": [{ "id": "a", "url": "preset://phone" }] } }),
        "identity.schemas.0.url",
    );
    rejects(
        json!({ "identity": { "schemas": [{ "id": "a", "url": "https://example.com/s.json" }] } }),
        "identity.schemas.0.url",
    );
    rejects(
        json!({ "identity": { "schemas": [{ "id": "a", "url": "base64://!!!" }] } }),
        "identity.schemas.0.url",
    );
    rejects(
        json!({ "identity": { "schemas": [{ "id": "a", "url": "preset://email" }, { "id": "a", "url": "preset://username" }] } }),
        "used twice",
    );
    rejects(
        json!({ "identity": { "default_schema_id": "b", "schemas": [{ "id": "a", "url": "preset://email" }] } }),
        "default_schema_id",
    );
    let (content, warnings) = identity(json!({
        "identity": { "default_schema_id": "u", "schemas": [{ "id": "e", "url": "preset://email" }, { "id": "u", "url": "preset://username" }] }
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty());
    assert!(content.identity_schemas[1].is_default && !content.identity_schemas[0].is_default);
}

#[test]
fn hosted_only_keys_are_dropped_with_warnings() {
    let (content, warnings) = identity(json!({
        "cookies": { "domain": "example.com", "same_site": "Strict" },
        "session": { "cookie": { "domain": "example.com" } },
        "courier": { "template_override_path": "/tmp/templates" }
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(content.scalars["kratos_cookies_same_site"], json!("Strict"));
    for key in [
        "cookies.domain",
        "session.cookie.domain",
        "courier.template_override_path",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(key)),
            "{key}: {warnings:?}"
        );
    }
}

#[test]
fn permission_config_is_checked() {
    let mut content = RevisionContent::default();
    let warnings = replace_permission(
        &mut content,
        &json!({ "namespaces": [{ "id": 0, "name": "files" }, { "id": 1, "name": "groups" }], "limit": { "max_read_depth": 7, "max_batch_check_size": 25 }, "dsn": "memory" }),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(content.keto_namespaces.len(), 2);
    assert_eq!(content.keto_read_max_depth, Some(7));
    assert_eq!(content.keto_batch_check_max_size, Some(25));
    assert!(
        warnings[0]
            .message
            .contains("services.permission.config.dsn")
    );
    for (bad, key) in [
        (json!({ "namespaces": "file:///ns.ts" }), "namespaces"),
        (
            json!({ "namespaces": [{ "id": 0, "name": "a" }, { "id": 0, "name": "b" }] }),
            "namespaces.1.id",
        ),
        (
            json!({ "limit": { "max_read_depth": 0 } }),
            "limit.max_read_depth",
        ),
        (json!({ "limit": { "max_depth": 3 } }), "limit.max_depth"),
        (
            json!({ "limit": { "max_batch_check_size": 1001 } }),
            "limit.max_batch_check_size",
        ),
        (
            json!({ "limit": { "max_batch_check_size": "10" } }),
            "limit.max_batch_check_size",
        ),
        (json!({ "unknown": 1 }), "unknown"),
    ] {
        let err = replace_permission(&mut RevisionContent::default(), &bad)
            .err()
            .unwrap_or_else(|| panic!("accepted {bad}"));
        assert!(
            err.reason.clone().unwrap_or_default().contains(key),
            "{err} does not name {key}"
        );
    }
}

#[test]
fn branding_is_stored_and_bad_values_are_dropped_with_warnings() {
    let (content, warnings) = identity(json!({ "ui": {
        "product_name": "Acme Notes",
        "logo_url": "https://cdn.example.com/logo.svg",
        "favicon_url": "data:image/png;base64,iVBORw0KGgo=",
        "primary_color": "#0a7",
        "theme": "dark",
        "default_locale": "de"
    } }))
    .unwrap_or_else(|e| panic!("{e}"));
    // (The one warning: this config names no identity schema.)
    assert!(
        !warnings.iter().any(|w| w.contains(".ui.")),
        "{warnings:#?}"
    );
    assert_eq!(content.scalars["ui_primary_color"], json!("#0a7"));
    assert_eq!(content.scalars.len(), 6);

    let (content, warnings) = identity(json!({ "ui": {
        "product_name": "Acme",
        "logo_url": "http://example.com/logo.png",
        "primary_color": "red",
        "theme": "sepia",
        "default_locale": 7
    } }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        content.scalars.keys().collect::<Vec<_>>(),
        ["ui_product_name"]
    );
    for key in ["logo_url", "primary_color", "theme", "default_locale"] {
        let full = format!("`services.identity.config.ui.{key}`");
        assert!(
            warnings.iter().any(|w| w.starts_with(&full)),
            "no warning for {key}: {warnings:#?}"
        );
    }
    // An unknown key in the section, or a section that is no object, is
    // refused like any other.
    rejects(json!({ "ui": { "font": "Comic Sans" } }), "ui.font");
    rejects(json!({ "ui": "blue" }), "ui");
}
