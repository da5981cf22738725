//! Apple's client secret: not a fixed string but a short-lived JWT signed
//! (ES256) with the team's P-256 key, which Apple checks against the key
//! registered under `kid`: `iss` the team, `sub` the client (Services ID),
//! `aud` Apple's issuer. A new one is made for each code exchange.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kernel::identity_config::OidcProviderConfig;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

/// Apple accepts up to six months; a secret only lives for one exchange.
const LIFETIME_SECS: i64 = 300;

/// The audience Apple expects.
const AUDIENCE: &str = "https://appleid.apple.com";

/// The DER of the first `PRIVATE KEY` block of a PEM text (escaped `\n`,
/// as some configuration tools write them, are read as line breaks).
fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let pem = pem.replace("\\n", "\n");
    let body = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or("`apple_private_key` is not a PEM `PRIVATE KEY` (PKCS#8)")?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(base64)
        .map_err(|_| "`apple_private_key` is not valid PEM".to_owned())
}

/// The client secret for `provider`, issued at `now` (Unix seconds).
pub fn client_secret(provider: &OidcProviderConfig, now: i64) -> Result<String, String> {
    let field = |value: &Option<String>, key: &str| {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("an `apple` provider needs `{key}`"))
    };
    let team = field(&provider.apple_team_id, "apple_team_id")?;
    let key_id = field(&provider.apple_private_key_id, "apple_private_key_id")?;
    let pem = field(&provider.apple_private_key, "apple_private_key")?;
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8_der(&pem)?, &rng)
        .map_err(|e| format!("`apple_private_key` is not a P-256 private key: {e}"))?;
    let header = json!({ "alg": "ES256", "kid": key_id, "typ": "JWT" });
    let claims = json!({
        "iss": team,
        "iat": now,
        "exp": now + LIFETIME_SECS,
        "aud": AUDIENCE,
        "sub": provider.client_id,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(&rng, input.as_bytes())
        .map_err(|_| "the Apple client secret could not be signed".to_owned())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Apple sends the person's name only once, beside the code (the `user`
/// form field, `{"name": {"firstName", "lastName"}, "email"}`), not in the
/// ID token. It is not signed, so only the name is taken from it, and only
/// where the verified claims have none: never an address.
pub fn add_name(claims: &mut serde_json::Value, user: &str) {
    let Ok(user) = serde_json::from_str::<serde_json::Value>(user) else {
        return;
    };
    let Some(map) = claims.as_object_mut() else {
        return;
    };
    let part = |key: &str| {
        user.pointer(&format!("/name/{key}"))
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (given, family) = (part("firstName"), part("lastName"));
    let full: Vec<&str> = [given.as_deref(), family.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !full.is_empty() {
        map.entry("name").or_insert_with(|| full.join(" ").into());
    }
    if let Some(given) = given {
        map.entry("given_name").or_insert_with(|| given.into());
    }
    if let Some(family) = family {
        map.entry("family_name").or_insert_with(|| family.into());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::strategy::oidc::catalog::tests::config;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, KeyPair, UnparsedPublicKey};
    use serde_json::Value;

    /// A fresh P-256 key as Apple hands it out (PEM, PKCS#8) and its
    /// public half.
    fn apple_key() -> (String, Vec<u8>) {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng).unwrap();
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        (pem, pair.public_key().as_ref().to_vec())
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn apple(pem: &str) -> OidcProviderConfig {
        let mut c = config("apple");
        c.client_id = "com.example.web".into();
        c.apple_team_id = Some("TEAM123456".into());
        c.apple_private_key_id = Some("KEY1234567".into());
        c.apple_private_key = Some(pem.to_owned());
        c
    }

    #[test]
    fn the_client_secret_verifies_with_the_public_key_and_names_team_and_client() {
        let (pem, public) = apple_key();
        let jwt = client_secret(&apple(&pem), 1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode(parts[0]),
            json!({"alg": "ES256", "kid": "KEY1234567", "typ": "JWT"})
        );
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert_eq!(claims["iat"], 1_700_000_000);
        let lifetime = claims["exp"].as_i64().unwrap() - 1_700_000_000;
        assert!(lifetime > 0 && lifetime <= 15_777_000, "{lifetime}");
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signed by the configured key");

        // Another key does not verify it.
        let (_, other) = apple_key();
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &other)
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
                .is_err()
        );
        // The key as one line with escaped line breaks works too.
        let escaped = pem.replace('\n', "\\n");
        assert!(client_secret(&apple(&escaped), 1).is_ok());
    }

    #[test]
    fn a_missing_or_broken_key_is_refused_by_name() {
        let mut c = apple("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----");
        let err = client_secret(&c, 1).unwrap_err();
        assert!(err.contains("P-256"), "{err}");
        c.apple_private_key = Some("not pem at all".into());
        assert!(client_secret(&c, 1).unwrap_err().contains("PEM"));
        c.apple_team_id = None;
        assert!(client_secret(&c, 1).unwrap_err().contains("apple_team_id"));
    }

    #[test]
    fn the_name_apple_posts_once_completes_the_claims_but_never_the_address() {
        let mut claims =
            serde_json::json!({ "sub": "001", "email": "real@privaterelay.appleid.com" });
        add_name(
            &mut claims,
            r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"forged@example.com"}"#,
        );
        assert_eq!(claims["given_name"], "Ada");
        assert_eq!(claims["family_name"], "Lovelace");
        assert_eq!(claims["name"], "Ada Lovelace");
        assert_eq!(claims["email"], "real@privaterelay.appleid.com");
        // Not JSON, or no name: nothing changes.
        let before = claims.clone();
        add_name(&mut claims, "not json");
        add_name(&mut claims, r#"{"email":"x@example.com"}"#);
        assert_eq!(claims, before);
    }
}
