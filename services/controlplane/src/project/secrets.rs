//! The project's Kratos secrets (`secrets.cookie`, `secrets.cipher`,
//! `secrets.default`) sign sessions and encrypt data: whoever reads them
//! can forge any of the tenant's cookies. Only owners see them; everyone
//! else (developers, viewers, project API keys) sees a placeholder per
//! secret, which tells how many are set, and may write the placeholder
//! back (a GET-modify-PUT round trip) without changing them: secrets are
//! write-only to them.

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

/// Puts the current secret back wherever `incoming` holds the placeholder
/// (same kind, same position); a placeholder with no secret behind it is
/// a 400, so a redacted value can never be stored as a secret.
pub fn restore(incoming: &mut Value, current: &Value) -> Result<()> {
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
