//! Microsoft's tenants that stand for many (`common`, `organizations`,
//! `consumers`): the discovery document names a `{tenantid}` template (or
//! another tenant) as issuer, so each ID token is checked against the
//! issuer of the tenant it names itself, `https://login.microsoftonline.com/{tid}/v2.0`,
//! with the keys discovered (one key set serves every tenant).

use kernel::identity_config::OidcProviderConfig;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl};
use serde_json::Value;
use uuid::Uuid;

/// The issuer a token of tenant `tid` must name: the configured issuer's
/// origin, the tenant id (a UUID, so nothing else can be smuggled into the
/// path), `/v2.0`.
pub(super) fn issuer_of_tenant(configured: &str, tid: &str) -> Result<String, String> {
    let tid = Uuid::parse_str(tid).map_err(|_| "the ID token's `tid` is not a tenant id")?;
    let url = url::Url::parse(configured).map_err(|e| e.to_string())?;
    Ok(format!(
        "{}/{}/v2.0",
        url.origin().ascii_serialization(),
        tid.hyphenated()
    ))
}

/// The `tid` claim of an ID token, read before its signature is checked
/// (to know which issuer it must name).
fn unverified_tid(id_token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["tid"].as_str().map(str::to_owned)
}

/// The verifier of `id_token` for a multi-tenant provider whose issuer is
/// `configured`: the tenant's issuer, the client as audience, the
/// discovered keys and algorithms.
pub(super) fn multi_tenant_verifier(
    metadata: &CoreProviderMetadata,
    provider: &OidcProviderConfig,
    configured: &str,
    id_token: &CoreIdToken,
) -> Result<CoreIdTokenVerifier<'static>, String> {
    let tid = unverified_tid(&id_token.to_string()).unwrap_or_default();
    let issuer = IssuerUrl::new(issuer_of_tenant(configured, &tid)?).map_err(|e| e.to_string())?;
    Ok(CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(provider.client_id.clone()),
        ClientSecret::new(provider.client_secret.clone()),
        issuer,
        metadata.jwks().clone(),
    )
    .set_allowed_algs(metadata.id_token_signing_alg_values_supported().clone()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    #[test]
    fn microsoft_tokens_must_name_their_own_tenant() {
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        assert_eq!(
            issuer_of_tenant("https://login.microsoftonline.com/common/v2.0", tid).unwrap(),
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        // A test issuer keeps its origin.
        assert_eq!(
            issuer_of_tenant("http://127.0.0.1:4000/organizations/v2.0", tid).unwrap(),
            format!("http://127.0.0.1:4000/{tid}/v2.0")
        );
        // `tid` must be a tenant id, not a path to somewhere else.
        for bad in ["", "evil.example/x", "../common"] {
            assert!(
                issuer_of_tenant("https://login.microsoftonline.com/common/v2.0", bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_tid_is_read_from_the_token_payload() {
        let encode = |v: Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let token = format!(
            "{}.{}.sig",
            encode(json!({"alg": "RS256"})),
            encode(json!({"tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "sub": "x"}))
        );
        assert_eq!(
            unverified_tid(&token).as_deref(),
            Some("9188040d-6c67-4c5b-b112-36a304b66dad")
        );
        assert_eq!(unverified_tid("no-dots"), None);
        assert_eq!(
            unverified_tid(&format!("a.{}.c", encode(json!({"sub": "x"})))),
            None
        );
    }
}
