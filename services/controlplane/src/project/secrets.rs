//! The project's Kratos secrets (`secrets.cookie`, `secrets.cipher`,
//! `secrets.default`) sign sessions and encrypt data: whoever reads them
//! can forge any of the tenant's cookies; the SMTP URI carries the mail
//! server's password and web hooks' `auth` their API keys and passwords.
//! Only owners see them; everyone else (developers, viewers, project API
//! keys) sees a placeholder per secret, which tells how many are set, and
//! may write the placeholder back (a GET-modify-PUT round trip) without
//! changing them: secrets are write-only to them.
//!
//! Sign-in providers' client secrets and Apple's private keys are
//! write-only to everyone, owners too: they are only ever shown as set
//! (the placeholder) or unset (absent), and the placeholder written back
//! keeps the provider's current value.

use crate::revision::sealed::{SEALED_HOOK_COLUMNS, SEALED_PROVIDER_COLUMNS, SEALED_SCALARS};
use kernel::{Error, Result};
use sea_orm::IdenStatic;
use serde_json::Value;

/// What a non-owner sees instead of each secret.
pub const REDACTED: &str = "[redacted]";

fn placeholder(_: &str) -> String {
    REDACTED.to_owned()
}

/// Replaces the secrets a caller may not see with [`REDACTED`]: sign-in
/// providers' for everyone, every other one unless `owner`.
pub fn redact_for(identity_config: &mut Value, owner: bool) {
    mark_secrets(identity_config, owner, &placeholder);
}

/// The provider keys that are never shown: the sealed columns, which the
/// config and the revision name alike.
fn provider_secrets() -> [&'static str; 2] {
    SEALED_PROVIDER_COLUMNS.map(|c| c.as_str())
}

/// `value` as `marker(value)` if it is a string that holds anything (each
/// item of a list).
fn mark(value: &mut Value, marker: &dyn Fn(&str) -> String) {
    match value {
        Value::String(s) if !s.is_empty() => *value = Value::String(marker(s)),
        Value::Array(items) => items.iter_mut().for_each(|v| mark(v, marker)),
        _ => {}
    }
}

/// Replaces each secret of an identity config with `marker(secret)`: the
/// sign-in providers' secrets always, the others (the Kratos secrets, the
/// SMTP URI, web-hook credentials) unless `owner`.
pub fn mark_secrets(config: &mut Value, owner: bool, marker: &dyn Fn(&str) -> String) {
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
                    let secret = provider_secrets().contains(&key.as_str())
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
    let rows = |revision: &mut Value, list: &str, columns: &[&str]| {
        let rows = revision.get_mut(list).and_then(Value::as_array_mut);
        for row in rows.into_iter().flatten() {
            for column in columns {
                if let Some(value) = row.get_mut(*column) {
                    mark(value, &placeholder);
                }
            }
        }
    };
    rows(
        revision,
        "kratos_selfservice_methods_oidc_config_providers",
        &provider_secrets(),
    );
    if owner {
        return;
    }
    rows(
        revision,
        "kratos_selfservice_flows_hooks",
        &SEALED_HOOK_COLUMNS.map(|c| c.as_str()),
    );
    for column in SEALED_SCALARS {
        if let Some(value) = revision.get_mut(column.as_str()) {
            mark(value, &placeholder);
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
        for key in provider_secrets() {
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

/// The JSON pointers of every placeholder in `value`.
pub(crate) fn placeholders(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s == REDACTED => out.push(at.to_owned()),
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                placeholders(child, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                placeholders(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The JSON pointers (in the identity config) of the secrets a caller does
/// not see: providers' for everyone, the others unless `owner`.
pub fn secret_pointers(identity_config: &Value, owner: bool) -> Vec<String> {
    let mut seen = identity_config.clone();
    mark_secrets(&mut seen, owner, &placeholder);
    let mut out = Vec::new();
    placeholders(&seen, "", &mut out);
    out
}

/// Puts the current secret back wherever `incoming` holds the placeholder:
/// a provider's by provider id, every other at the same place (same kind
/// and position of a Kratos secret, the same hook); a placeholder with no
/// secret behind it is a 400, so a redacted value can never be stored as a
/// secret.
pub fn restore(incoming: &mut Value, current: &Value) -> Result<()> {
    restore_provider_secrets(incoming, current)?;
    let mut found = Vec::new();
    placeholders(incoming, "", &mut found);
    for pointer in found {
        // A web hook's credentials stay only with the URL they were set
        // for: moved to another URL, they would be sent to whoever owns it.
        if let Some(hook) = pointer
            .strip_suffix("/auth/config/value")
            .or_else(|| pointer.strip_suffix("/auth/config/password"))
        {
            let url = format!("{hook}/url");
            if incoming.pointer(&url) != current.pointer(&url) {
                return Err(Error::bad_request(format!(
                    "`{pointer}` is `{REDACTED}` but the hook's URL changed; send its credentials again"
                )));
            }
        }
        let known = current
            .pointer(&pointer)
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != REDACTED))
            .cloned()
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "`{pointer}` is `{REDACTED}` but no secret is set there; send the secret itself"
                ))
            })?;
        if let Some(slot) = incoming.pointer_mut(&pointer) {
            *slot = known;
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
    fn smtp_and_hook_credentials_are_write_only_and_stay_with_their_url() {
        let current = json!({
            "courier": { "smtp": { "connection_uri": "smtps://u:pw@mail" } },
            "selfservice": { "flows": { "login": { "after": { "hooks": [
                { "hook": "web_hook", "config": { "url": "https://a", "auth": {
                    "type": "basic_auth", "config": { "user": "u", "password": "hook-pw" } } } }
            ] } } } }
        });
        let mut seen = current.clone();
        redact_for(&mut seen, false);
        assert!(!seen.to_string().contains("pw"), "{seen}");
        let mut back = seen.clone();
        restore(&mut back, &current).unwrap();
        assert_eq!(back, current);
        // The same placeholder under another URL is refused.
        let mut moved = seen.clone();
        moved["selfservice"]["flows"]["login"]["after"]["hooks"][0]["config"]["url"] =
            json!("https://attacker.example");
        assert!(restore(&mut moved, &current).is_err());
    }

    #[test]
    fn provider_secrets_are_shown_as_set_or_unset_and_kept_on_write_back() {
        let current = json!({ "selfservice": { "methods": { "oidc": { "config": { "providers": [
            { "id": "a", "client_id": "x", "client_secret": "s-a" },
            { "id": "b", "client_id": "y", "apple_private_key": "pem" },
        ] } } } } });
        let mut seen = current.clone();
        redact_for(&mut seen, true);
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
        redact_for(&mut seen, false);
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
