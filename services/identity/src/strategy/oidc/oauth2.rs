//! The OAuth2-only providers (no ID token): the authorization URL, the
//! code exchanged for an access token, and the JSON calls to their user
//! APIs (`user_api.rs` knows which), all through the guarded client. The
//! token response is kept whole: some providers put claims in it (VK's
//! `email`) or the scopes the person granted (`scope`).

use super::catalog::{Kind, Resolved};
use super::provider::{Answer, Authorization, misconfigured, unreachable};
use super::user_api;
use kernel::identity_config::OidcProviderConfig;
use kernel::{Error, Result};
use openidconnect::PkceCodeChallenge;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// The most a provider's answer may weigh.
const MAX_BODY: usize = 1 << 20;

/// The URL that sends the browser to the provider: the standard
/// parameters, `state`, PKCE where the provider takes it, and what the
/// provider's kind adds.
pub(super) fn authorize(
    resolved: &Resolved,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
    state: String,
) -> Result<Authorization> {
    let auth = resolved.auth_url.as_deref().unwrap_or_default();
    let mut url = url::Url::parse(auth)
        .map_err(|e| misconfigured(provider, format!("the authorization URL `{auth}`: {e}")))?;
    let mut pkce_verifier = String::new();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", redirect_uri);
        if !resolved.scopes.is_empty() {
            query.append_pair("scope", &resolved.scopes.join(" "));
        }
        query.append_pair("state", &state);
        if resolved.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            query
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256");
            pkce_verifier = verifier.secret().clone();
        }
        for (name, value) in &resolved.auth_params {
            query.append_pair(name, value);
        }
    }
    Ok(Authorization {
        url: url.into(),
        pkce_verifier,
        nonce: String::new(),
    })
}

/// Exchanges the code and asks the user API: the claims.
pub(super) async fn exchange(
    hooks: &webhook::WebHooks,
    resolved: &Resolved,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
    answer: &Answer<'_>,
) -> Result<Value> {
    let token = token(hooks, resolved, provider, redirect_uri, answer).await?;
    user_api::claims(hooks, resolved, provider, &token).await
}

/// The token response (`access_token` checked present).
async fn token(
    hooks: &webhook::WebHooks,
    resolved: &Resolved,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
    answer: &Answer<'_>,
) -> Result<Value> {
    let url = resolved.token_url.as_deref().unwrap_or_default();
    let (body, content_type) = if resolved.kind == Kind::DingTalk {
        // DingTalk takes JSON with its own names.
        let body = json!({
            "clientId": provider.client_id,
            "clientSecret": provider.client_secret,
            "code": answer.code,
            "grantType": "authorization_code",
        });
        (body.to_string(), "application/json")
    } else {
        // The client's credentials in the body: the one way every one of
        // these providers takes.
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", answer.code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &provider.client_id)
            .append_pair("client_secret", &provider.client_secret);
        if !answer.pkce_verifier.is_empty() {
            form.append_pair("code_verifier", answer.pkce_verifier);
        }
        (form.finish(), "application/x-www-form-urlencoded")
    };
    let headers = [("content-type", content_type.to_owned())];
    let mut token = call(hooks, provider, Method::POST, url, &headers, Some(body)).await?;
    if resolved.kind == Kind::DingTalk
        && let Some(map) = token.as_object_mut()
        && let Some(access) = map.remove("accessToken")
    {
        map.insert("access_token".into(), access);
    }
    if let Some(error) = token.get("error").filter(|e| !e.is_null()) {
        let detail = token["error_description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| error.as_str().map_or(error.to_string(), str::to_owned));
        return Err(unreachable(
            provider,
            format!("the code was not exchanged: {detail}"),
        ));
    }
    if token["access_token"].as_str().is_none_or(str::is_empty) {
        return Err(unreachable(
            provider,
            "the token response has no access token",
        ));
    }
    Ok(token)
}

/// What a provider's error answer says about itself (never the request).
fn error_detail(body: &Value) -> Option<String> {
    [
        body.get("error_description"),
        body.get("message"),
        body.pointer("/error/message"),
        body.get("error"),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str)
    .map(|s| s.chars().take(200).collect())
}

/// The body as JSON; a form-encoded one (GitHub's token endpoint without
/// `Accept`, Facebook's old one) as an object of strings.
fn parse_body(bytes: &[u8]) -> Option<Value> {
    if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
        return Some(json);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    if text.trim().is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let map: Map<String, Value> = url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Some(Value::Object(map))
}

/// One call to the provider: its JSON answer, or an error that names the
/// endpoint (without its query, which may carry a token) and the status.
pub(super) async fn call(
    hooks: &webhook::WebHooks,
    provider: &OidcProviderConfig,
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<String>,
) -> Result<Value> {
    let parsed = url::Url::parse(url)
        .map_err(|e| misconfigured(provider, format!("the provider URL is invalid: {e}")))?;
    let mut shown = parsed.clone();
    shown.set_query(None);
    hooks
        .check_url(&parsed)
        .map_err(|e| unreachable(provider, format!("{shown}: {e}")))?;
    let mut request = hooks
        .guarded_client()
        .request(method, parsed)
        .header("accept", "application/json")
        // GitHub's API refuses requests without one.
        .header("user-agent", "Keyplane");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| unreachable(provider, format!("{shown}: {}", e.without_url())))?;
    let status = response.status();
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable(provider, format!("{shown}: {}", e.without_url())))?
    {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(unreachable(
                provider,
                format!("{shown}: the answer is too large"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    let json = parse_body(&bytes);
    if !status.is_success() {
        let detail = json
            .as_ref()
            .and_then(error_detail)
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(unreachable(
            provider,
            format!("{shown} answered {status}{detail}"),
        ));
    }
    json.ok_or_else(|| unreachable(provider, format!("{shown} answered no JSON")))
}

/// The error of an answer that parsed but lacks what it must have.
pub(super) fn malformed(provider: &OidcProviderConfig, what: &str) -> Error {
    unreachable(provider, format!("the user API answered without {what}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::strategy::oidc::catalog::{resolve, tests::config};

    fn query(url: &str) -> Map<String, Value> {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    }

    #[test]
    fn the_authorization_url_carries_state_scopes_and_pkce_but_no_nonce() {
        let github = config("github");
        let r = resolve(&github).unwrap();
        let a = authorize(&r, &github, "https://t.example/cb", "the-state".into()).unwrap();
        assert!(
            a.url
                .starts_with("https://github.com/login/oauth/authorize?"),
            "{}",
            a.url
        );
        let q = query(&a.url);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "client");
        assert_eq!(q["redirect_uri"], "https://t.example/cb");
        assert_eq!(q["scope"], "user:email");
        assert_eq!(q["state"], "the-state");
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(!a.pkce_verifier.is_empty() && a.nonce.is_empty());
        assert!(!q.contains_key("nonce"));

        let discord = config("discord");
        let r = resolve(&discord).unwrap();
        let a = authorize(&r, &discord, "https://t.example/cb", "s".into()).unwrap();
        let q = query(&a.url);
        assert_eq!(q["scope"], "identify email");
        assert_eq!(q["prompt"], "none");
        assert!(!q.contains_key("code_challenge") && a.pkce_verifier.is_empty());
    }

    #[test]
    fn bodies_are_json_or_forms() {
        assert_eq!(
            parse_body(br#"{"access_token":"a"}"#),
            Some(json!({"access_token": "a"}))
        );
        assert_eq!(
            parse_body(b"access_token=a&scope=user%3Aemail&token_type=bearer"),
            Some(json!({"access_token": "a", "scope": "user:email", "token_type": "bearer"}))
        );
        assert_eq!(parse_body(b"<html> oops </html>"), None);
        assert_eq!(
            error_detail(&json!({"error": {"message": "Invalid OAuth access token"}})),
            Some("Invalid OAuth access token".into())
        );
        assert_eq!(
            error_detail(
                &json!({"error": "bad_verification_code", "error_description": "The code is wrong"})
            ),
            Some("The code is wrong".into())
        );
    }
}
