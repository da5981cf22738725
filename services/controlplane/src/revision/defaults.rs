//! The config a new project starts with: it works out of the box.

use super::model::RevisionContent;
use super::normalize::{normalize_identity, normalize_permission};
use kernel::{Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

fn secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Kratos' defaults, UI URLs on the project's own host, and fresh secrets.
pub fn default_identity_config(public_url: &str) -> Value {
    let ui = |path: &str| format!("{public_url}/ui/{path}");
    json!({
        "identity": {
            "default_schema_id": "default",
            "schemas": [{ "id": "default", "url": "preset://email" }]
        },
        "secrets": {
            "cookie": [secret()],
            "cipher": [secret()],
            "default": [secret()]
        },
        "cookies": { "same_site": "Lax" },
        "session": {
            "lifespan": "24h",
            "cookie": { "persistent": true, "same_site": "Lax" },
            // A second factor someone set up is asked for: a session
            // without it is not enough for whoami (Ory Network's default).
            "whoami": { "required_aal": "highest_available" }
        },
        "selfservice": {
            "default_browser_return_url": ui("welcome"),
            "allowed_return_urls": [public_url],
            "methods": {
                "password": {
                    "enabled": true,
                    "config": {
                        "haveibeenpwned_enabled": true,
                        "max_breaches": 0,
                        "ignore_network_errors": true,
                        "min_password_length": 8,
                        "identifier_similarity_check_enabled": true
                    }
                },
                "profile": { "enabled": true },
                "link": { "enabled": true, "config": { "lifespan": "1h", "base_url": public_url } },
                "totp": { "enabled": false },
                "lookup_secret": { "enabled": false },
                "webauthn": { "enabled": false },
                "oidc": { "enabled": false }
            },
            "flows": {
                "error": { "ui_url": ui("error") },
                "login": { "ui_url": ui("login"), "lifespan": "1h" },
                "registration": {
                    "enabled": true,
                    "ui_url": ui("registration"),
                    "lifespan": "1h",
                    "after": {
                        "password": { "hooks": [{ "hook": "session" }] },
                        "oidc": { "hooks": [{ "hook": "session" }] },
                        "webauthn": { "hooks": [{ "hook": "session" }] }
                    }
                },
                "settings": {
                    "ui_url": ui("settings"),
                    "lifespan": "1h",
                    "privileged_session_max_age": "15m",
                    "required_aal": "highest_available"
                },
                "recovery": { "enabled": true, "ui_url": ui("recovery"), "lifespan": "1h" },
                "verification": { "enabled": true, "ui_url": ui("verification"), "lifespan": "1h" },
                "logout": { "after": { "default_browser_return_url": ui("login") } }
            }
        }
    })
}

pub fn default_permission_config() -> Value {
    json!({ "namespaces": [], "limit": { "max_read_depth": 5 } })
}

/// The first revision of a new project.
pub fn default_revision(name: &str, public_url: &str) -> Result<RevisionContent> {
    let mut content = RevisionContent {
        name: name.to_owned(),
        ..RevisionContent::default()
    };
    let warnings = normalize_identity(&default_identity_config(public_url), &mut content)?;
    let more = normalize_permission(&default_permission_config(), &mut content)?;
    if !warnings.is_empty() || !more.is_empty() {
        return Err(Error::internal(format!(
            "default config has warnings: {warnings:?} {more:?}"
        )));
    }
    Ok(content)
}
