//! The project's Kratos secrets (`secrets.cookie`, `secrets.cipher`,
//! `secrets.default`) sign sessions and encrypt data: whoever reads them
//! can forge any of the tenant's cookies. Only owners see them; everyone
//! else (developers, viewers, project API keys) sees a placeholder per
//! secret, which tells how many are set, and may write the placeholder
//! back (a GET-modify-PUT round trip) without changing them: secrets are
//! write-only to them.
//!
//! Sign-in providers' client secrets and Apple's private keys are
//! write-only to everyone, owners too: they are only ever shown as set
//! (the placeholder) or unset (absent), and the placeholder written back
//! keeps the provider's current value.

use kernel::{Error, Result};
use serde_json::Value;

/// What a non-owner sees instead of each secret.
pub const REDACTED: &str = "[redacted]";

/// Replaces every secret in an identity config with [`REDACTED`].
pub fn redact(identity_config: &mut Value) {
    let Some(secrets) = identity_config
        .get_mut("secrets")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for list in secrets.values_mut() {
        if let Some(items) = list.as_array_mut() {
            for item in items {
                *item = Value::String(REDACTED.to_owned());
            }
        }
    }
}

/// The provider keys that are never shown.
const PROVIDER_SECRETS: [&str; 2] = crate::revision::sealed::SEALED_PROVIDER_COLUMNS;

/// `value` as [`REDACTED`] if it holds anything (each item of a list).
fn redact_value(value: &mut Value) {
    match value {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        other => *other = Value::String(REDACTED.to_owned()),
    }
}

/// Replaces each secret of an identity config with `marker(secret)`: the
/// sign-in providers' secrets always, the others (the Kratos secrets, the
/// SMTP URI, web-hook credentials) unless `owner`.
pub fn mark_secrets(config: &mut Value, owner: bool, marker: &dyn Fn(&str) -> String) {
    fn mark(value: &mut Value, marker: &dyn Fn(&str) -> String) {
        match value {
            Value::String(s) if !s.is_empty() => *value = Value::String(marker(s)),
            Value::Array(items) => items.iter_mut().for_each(|v| mark(v, marker)),
            _ => {}
        }
    }
    fn walk(
        value: &mut Value,
        path: &mut Vec<String>,
        owner: bool,
        marker: &dyn Fn(&str) -> String,
    ) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let in_auth = path.len() >= 2
                        && path[path.len() - 2] == "auth"
                        && path[path.len() - 1] == "config";
                    let secret = PROVIDER_SECRETS.contains(&key.as_str())
                        || (!owner
                            && ((path.is_empty() && key == "secrets")
                                || key == "connection_uri"
                                || (in_auth && (key == "value" || key == "password"))));
                    if secret {
                        if key == "secrets" {
                            for list in child
                                .as_object_mut()
                                .into_iter()
                                .flat_map(|m| m.values_mut())
                            {
                                mark(list, marker);
                            }
                        } else {
                            mark(child, marker);
                        }
                    } else {
                        path.push(key.clone());
                        walk(child, path, owner, marker);
                        path.pop();
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, path, owner, marker);
                }
            }
            _ => {}
        }
    }
    walk(config, &mut Vec::new(), owner, marker);
}

/// A normalized revision as `GET /projects/{id}/revisions` shows it:
/// sign-in providers' secrets to nobody; the Kratos secrets, the SMTP URI
/// and web-hook credentials (every column sealed at rest) to owners only.
pub fn redact_revision(revision: &mut Value, owner: bool) {
    use crate::revision::sealed::{SEALED_HOOK_COLUMNS, SEALED_SCALARS};
    let rows = |revision: &mut Value, list: &str, columns: &[&str]| {
        let rows = revision.get_mut(list).and_then(Value::as_array_mut);
        for row in rows.into_iter().flatten() {
            for column in columns {
                if let Some(value) = row.get_mut(*column) {
                    redact_value(value);
                }
            }
        }
    };
    rows(
        revision,
        "kratos_selfservice_methods_oidc_config_providers",
        &PROVIDER_SECRETS,
    );
    if owner {
        return;
    }
    rows(
        revision,
        "kratos_selfservice_flows_hooks",
        &SEALED_HOOK_COLUMNS,
    );
    for column in SEALED_SCALARS {
        if let Some(value) = revision.get_mut(column) {
            redact_value(value);
        }
    }
}

fn providers_mut(identity_config: &mut Value) -> impl Iterator<Item = &mut Value> {
    identity_config
        .pointer_mut("/selfservice/methods/oidc/config/providers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// Replaces every provider secret that is set with [`REDACTED`].
pub fn redact_provider_secrets(identity_config: &mut Value) {
    for provider in providers_mut(identity_config) {
        for key in PROVIDER_SECRETS {
            if let Some(value) = provider.get_mut(key)
                && value.as_str().is_some_and(|s| !s.is_empty())
            {
                *value = Value::String(REDACTED.to_owned());
            }
        }
    }
}

/// Puts each provider's current secret back where `incoming` holds the
/// placeholder (matched by provider id); a placeholder for a provider
/// without that secret is a 400.
fn restore_provider_secrets(incoming: &mut Value, current: &Value) -> Result<()> {
    let known = current
        .pointer("/selfservice/methods/oidc/config/providers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for provider in providers_mut(incoming) {
        let id = provider
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        for key in PROVIDER_SECRETS {
            if provider.get(key).and_then(Value::as_str) != Some(REDACTED) {
                continue;
            }
            let secret = known
                .iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(id.as_str()))
                .and_then(|p| p.get(key))
                .filter(|v| v.as_str().is_some_and(|s| s != REDACTED))
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "the {key} of provider `{id}` is `{REDACTED}` but none is set; send the secret itself"
                    ))
                })?;
            provider[key] = secret.clone();
        }
    }
    Ok(())
}

/// Puts the current secret back wherever `incoming` holds the placeholder
/// (same kind, same position); a placeholder with no secret behind it is
/// a 400, so a redacted value can never be stored as a secret.
pub fn restore(incoming: &mut Value, current: &Value) -> Result<()> {
    restore_provider_secrets(incoming, current)?;
    let Some(secrets) = incoming.get_mut("secrets").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    for (kind, list) in secrets.iter_mut() {
        let Some(items) = list.as_array_mut() else {
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            if item.as_str() != Some(REDACTED) {
                continue;
            }
            let known = current
                .pointer(&format!("/secrets/{kind}/{i}"))
                .filter(|v| v.as_str().is_some_and(|s| s != REDACTED))
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "secrets.{kind}[{i}] is `{REDACTED}` but no secret is set there; send the secret itself"
                    ))
                })?;
            *item = known.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn marks_stand_for_secrets_in_a_difference() {
        let config = json!({
            "secrets": { "cookie": ["c0"], "cipher": ["x0"] },
            "courier": { "smtp": { "connection_uri": "smtps://u:pw@mail" } },
            "selfservice": {
                "methods": { "oidc": { "config": { "providers": [
                    { "id": "a", "client_secret": "s-a" }
                ] } } },
                "flows": { "registration": { "after": { "password": { "hooks": [
                    { "hook": "web_hook", "config": { "url": "http://h", "auth": {
                        "type": "api_key", "config": { "name": "X-Key", "value": "k-1", "in": "header" }
                    } } }
                ] } } } }
            }
        });
        let marker = |s: &str| format!("[m:{}]", s.len());
        let mut owner = config.clone();
        mark_secrets(&mut owner, true, &marker);
        assert_eq!(
            owner
                .pointer("/selfservice/methods/oidc/config/providers/0/client_secret")
                .unwrap(),
            "[m:3]"
        );
        assert_eq!(owner.pointer("/secrets/cookie/0").unwrap(), "c0");
        let mut viewer = config.clone();
        mark_secrets(&mut viewer, false, &marker);
        let text = viewer.to_string();
        for secret in ["c0", "x0", "pw@mail", "s-a", "k-1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(viewer.pointer("/secrets/cookie/0").unwrap(), "[m:2]");
        // Not secrets: the hook's URL and header name.
        assert!(text.contains("X-Key") && text.contains("http://h"));
    }

    #[test]
    fn revisions_show_provider_secrets_to_nobody_and_the_others_to_owners() {
        let stored = json!({
            "kratos_secrets_cookie": ["c0", "c1"],
            "kratos_courier_smtp_connection_uri": "smtps://u:pw@mail",
            "kratos_selfservice_methods_oidc_config_providers": [
                { "provider_id": "a", "client_secret": "s-a", "apple_private_key": null }
            ],
            "kratos_selfservice_flows_hooks": [
                { "hook": "web_hook", "web_hook_config_auth_api_key_value": "k" }
            ],
        });
        let mut owner = stored.clone();
        redact_revision(&mut owner, true);
        let provider = &owner["kratos_selfservice_methods_oidc_config_providers"][0];
        assert_eq!(provider["client_secret"], REDACTED);
        assert!(provider["apple_private_key"].is_null());
        assert_eq!(owner["kratos_secrets_cookie"], json!(["c0", "c1"]));
        let mut viewer = stored.clone();
        redact_revision(&mut viewer, false);
        let text = viewer.to_string();
        for secret in ["c0", "c1", "pw@mail", "s-a", "\"k\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(viewer["kratos_secrets_cookie"], json!([REDACTED, REDACTED]));
    }

    #[test]
    fn provider_secrets_are_shown_as_set_or_unset_and_kept_on_write_back() {
        let current = json!({ "selfservice": { "methods": { "oidc": { "config": { "providers": [
            { "id": "a", "client_id": "x", "client_secret": "s-a" },
            { "id": "b", "client_id": "y", "apple_private_key": "pem" },
        ] } } } } });
        let mut seen = current.clone();
        redact_provider_secrets(&mut seen);
        let providers = &seen["selfservice"]["methods"]["oidc"]["config"]["providers"];
        assert_eq!(providers[0]["client_secret"], REDACTED);
        assert!(providers[1].get("client_secret").is_none());
        assert_eq!(providers[1]["apple_private_key"], REDACTED);
        // Written back in another order: each keeps its own secret.
        let mut sent = json!({ "selfservice": { "methods": { "oidc": { "config": { "providers": [
            { "id": "b", "client_id": "y", "apple_private_key": REDACTED },
            { "id": "a", "client_id": "x", "client_secret": REDACTED },
        ] } } } } });
        restore(&mut sent, &current).unwrap();
        let providers = &sent["selfservice"]["methods"]["oidc"]["config"]["providers"];
        assert_eq!(providers[0]["apple_private_key"], "pem");
        assert_eq!(providers[1]["client_secret"], "s-a");
        // A placeholder where nothing is set is refused.
        let mut sent = json!({ "selfservice": { "methods": { "oidc": { "config": { "providers": [
            { "id": "b", "client_id": "y", "client_secret": REDACTED },
        ] } } } } });
        assert!(restore(&mut sent, &current).is_err());
    }

    #[test]
    fn non_owners_see_placeholders_and_can_write_them_back() {
        let current = json!({ "secrets": { "cookie": ["c0", "c1"], "cipher": ["x"] } });
        let mut seen = current.clone();
        redact(&mut seen);
        assert_eq!(
            seen,
            json!({ "secrets": { "cookie": [REDACTED, REDACTED], "cipher": [REDACTED] } })
        );
        // Round trip: a new cookie secret in front, the rest unchanged.
        let mut sent = json!({ "secrets": {
            "cookie": ["new", REDACTED, REDACTED], "cipher": [REDACTED]
        } });
        // The old first secret moved to position 1: positions are kept as
        // sent, so rotating means sending the old value itself or keeping
        // its position.
        let err = restore(&mut sent, &current).unwrap_err();
        assert_eq!(err.status(), 400, "no secret at cookie[2]");
        let mut sent = json!({ "secrets": { "cookie": [REDACTED, "new"], "cipher": [REDACTED] } });
        restore(&mut sent, &current).unwrap();
        assert_eq!(
            sent,
            json!({ "secrets": { "cookie": ["c0", "new"], "cipher": ["x"] } })
        );
    }
}
