//! Talking to a sign-in provider, for every kind the control plane accepts
//! (`catalog.rs` has the table of named providers and their Ory Kratos
//! v0.10 endpoints):
//!
//! - OpenID Connect (`generic`, `google`, `microsoft`, `apple`, `netid`):
//!   discovery (cached per project, provider and endpoints), the authorization
//!   URL with `state`, a nonce and (where the provider takes it) PKCE S256,
//!   and the code exchange with the ID token verified (issuer, audience,
//!   expiry, nonce, signature by the provider's published keys). The
//!   claims of the ID token are the mapper's `claims`.
//!   - `microsoft`: `microsoft_tenant` is required; the issuer is
//!     `https://login.microsoftonline.com/{tenant}/v2.0`. For `common`,
//!     `organizations` and `consumers` the token's issuer must be
//!     `https://login.microsoftonline.com/{tid}/v2.0` with the token's own
//!     `tid` claim (a UUID), as Kratos does (`microsoft.rs`); for a named
//!     tenant, the issuer its discovery document names.
//!   - `apple`: `apple_team_id`, `apple_private_key_id` and
//!     `apple_private_key` (P-256, PEM PKCS#8) are required; the client
//!     secret is a JWT signed with that key (`apple.rs`). When the e-mail
//!     or the name is asked for, Apple answers with a form POST
//!     (`response_mode=form_post`).
//! - OAuth2 only (`github`, `gitlab`, `discord`, `slack`, `facebook`, `vk`,
//!   `yandex`, `auth0`, `spotify`, `dingtalk`, `patreon`): `state` and,
//!   where the provider takes it, PKCE S256 (no nonce: there is no ID
//!   token); the code is exchanged for an access token (`oauth2.rs`) and
//!   the claims come from the provider's user API (`user_api.rs`,
//!   `claims.rs`), with Kratos' claim names (`sub`, `name`, `given_name`,
//!   `family_name`, `nickname`, `preferred_username`, `email`,
//!   `email_verified`, `picture`, `website`, `locale`, ...), so one mapper
//!   shape fits all.
//!
//! Overrides (every endpoint, so tests can point a provider at local
//! servers):
//! - `auth_url` and `token_url` replace the authorization and token
//!   endpoints (of discovery too, for the OpenID Connect kinds);
//! - `issuer_url` replaces the issuer of the OpenID Connect kinds (required
//!   for `generic`), and for the OAuth2-only kinds the base URL of their
//!   user API: e.g. `github` with `issuer_url` `http://127.0.0.1:4000`
//!   reads `http://127.0.0.1:4000/user` and `.../user/emails`. For `gitlab`
//!   (default `https://gitlab.com`) and `auth0` (required) it is the base
//!   of every endpoint, as in Kratos (`/oauth/authorize`, `/oauth/token`,
//!   `/oauth/userinfo`; `/authorize`, `/oauth/token`, `/userinfo`).
//!
//! The user APIs, as `default base` + path (the base is what `issuer_url`
//! replaces):
//!
//! | kind | default base | paths |
//! |---|---|---|
//! | `github` | `https://api.github.com` | `/user`, `/user/emails` |
//! | `gitlab` | `https://gitlab.com` | `/oauth/userinfo` |
//! | `auth0` | (required) | `/userinfo` |
//! | `discord` | `https://discord.com/api` | `/users/@me` |
//! | `slack` | `https://slack.com/api` | `/users.identity` |
//! | `facebook` | `https://graph.facebook.com` | `/me` (with `appsecret_proof`) |
//! | `vk` | `https://api.vk.com/method` | `/users.get` (e-mail from the token) |
//! | `yandex` | `https://login.yandex.ru` | `/info` |
//! | `spotify` | `https://api.spotify.com/v1` | `/me` |
//! | `dingtalk` | `https://api.dingtalk.com` | `/v1.0/contact/users/me` |
//! | `patreon` | `https://www.patreon.com/api/oauth2/v2` | `/identity` |
//!
//! A provider missing what its kind needs is refused with
//! `oidc_provider_failed` (400) when the person chooses it. Every request
//! goes through the web hooks' guarded client (no private addresses unless
//! the operator allows them, no redirects, no proxy).

use super::catalog::{self, Kind, Protocol, Resolved};
use super::{apple, microsoft, oauth2};
use kernel::identity_config::OidcProviderConfig;
use kernel::{Error, Result};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    TokenUrl,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long discovered metadata and keys are trusted before asking again.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// What a redirect to the provider needs to be checked on the way back.
pub struct Authorization {
    pub url: String,
    /// Empty where the provider takes no PKCE.
    pub pkce_verifier: String,
    /// Empty for the OAuth2-only providers.
    pub nonce: String,
}

/// The provider's answer and what the flow kept to check it.
pub struct Answer<'a> {
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

/// Discovered provider metadata (with its keys), per project, provider and
/// endpoints (a changed issuer or endpoint is discovered anew).
#[derive(Clone)]
pub struct Discovery {
    cache: moka::future::Cache<(Uuid, String, String), Arc<CoreProviderMetadata>>,
}

impl Default for Discovery {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(METADATA_TTL)
                .build(),
        }
    }
}

/// A provider that could not be reached or answered wrongly: the person
/// sees a message on the flow, the operator a log line without secrets.
pub(super) fn unreachable(provider: &OidcProviderConfig, what: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = %provider.id, error = %what, "sign-in provider call failed");
    Error::bad_request(format!(
        "The sign-in provider `{}` could not be reached or answered wrongly: {what}",
        provider.id
    ))
    .with_id("oidc_provider_failed")
}

/// A provider whose configuration lacks what its kind needs.
pub(super) fn misconfigured(provider: &OidcProviderConfig, what: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = %provider.id, error = %what, "sign-in provider misconfigured");
    Error::bad_request(format!(
        "The sign-in provider `{}` is not configured correctly: {what}",
        provider.id
    ))
    .with_id("oidc_provider_failed")
}

/// Sends oauth2's requests with our reqwest client (the crate's own would
/// be a second HTTP stack), checking address literals against the guard.
async fn send(
    hooks: webhook::WebHooks,
    request: openidconnect::HttpRequest,
) -> std::result::Result<openidconnect::HttpResponse, std::io::Error> {
    let io = |e: String| std::io::Error::other(e);
    let url = url::Url::parse(&request.uri().to_string()).map_err(|e| io(e.to_string()))?;
    hooks.check_url(&url).map_err(io)?;
    let client = hooks.guarded_client();
    let mut builder = client.request(request.method().clone(), url);
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let response = builder
        .body(request.body().clone())
        .send()
        .await
        .map_err(|e| io(format!("{}", e.without_url())))?;
    let mut out = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let body = response.bytes().await.map_err(|e| io(format!("{e}")))?;
    out.body(body.to_vec()).map_err(|e| io(e.to_string()))
}

/// oauth2's HTTP client seam, as a type: its blanket impl for closures
/// loses `Send` across the borrow of the web hooks.
struct Http(webhook::WebHooks);

type HttpFuture<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = std::result::Result<openidconnect::HttpResponse, std::io::Error>,
            > + Send
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = std::io::Error;
    type Future = HttpFuture<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(self.0.clone(), request))
    }
}

impl Discovery {
    async fn metadata(
        &self,
        hooks: &webhook::WebHooks,
        project: Uuid,
        provider: &OidcProviderConfig,
        resolved: &Resolved,
    ) -> Result<Arc<CoreProviderMetadata>> {
        let endpoints = format!(
            "{} {} {}",
            resolved.base,
            resolved.auth_url.as_deref().unwrap_or_default(),
            resolved.token_url.as_deref().unwrap_or_default()
        );
        let key = (project, provider.id.clone(), endpoints);
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let issuer =
            IssuerUrl::new(resolved.base.clone()).map_err(|e| misconfigured(provider, e))?;
        let http = Http(hooks.clone());
        let mut metadata = if resolved.kind == Kind::Microsoft {
            // Microsoft's document names the tenant's id (or, for the
            // tenants that stand for many, a `{tenantid}` template), not
            // the name configured: its issuer is checked per token.
            discover_any_issuer(&issuer, &http, provider).await?
        } else {
            CoreProviderMetadata::discover_async(issuer, &http)
                .await
                .map_err(|e| unreachable(provider, e))?
        };
        if let Some(auth) = &resolved.auth_url {
            let auth = AuthUrl::new(auth.clone()).map_err(|e| misconfigured(provider, e))?;
            metadata = metadata.set_authorization_endpoint(auth);
        }
        if let Some(token) = &resolved.token_url {
            let token = TokenUrl::new(token.clone()).map_err(|e| misconfigured(provider, e))?;
            metadata = metadata.set_token_endpoint(Some(token));
        }
        let metadata = Arc::new(metadata);
        self.cache.insert(key, metadata.clone()).await;
        Ok(metadata)
    }

    /// The URL that sends the browser to the provider, with `state` and,
    /// as the provider's kind has it, PKCE (S256) and a nonce.
    pub async fn authorize(
        &self,
        hooks: &webhook::WebHooks,
        project: Uuid,
        provider: &OidcProviderConfig,
        redirect_uri: &str,
        state: String,
    ) -> Result<Authorization> {
        let resolved = catalog::resolve(provider).map_err(|e| misconfigured(provider, e))?;
        if resolved.kind == Kind::Apple {
            // A broken key is found now rather than after the person
            // signed in at Apple.
            apple::client_secret(provider, 0).map_err(|e| misconfigured(provider, e))?;
        }
        if resolved.protocol == Protocol::OAuth2 {
            return oauth2::authorize(&resolved, provider, redirect_uri, state);
        }
        let metadata = self.metadata(hooks, project, provider, &resolved).await?;
        let client = client(&metadata, provider, redirect_uri, None)?;
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            Nonce::new_random,
        );
        let mut pkce_verifier = String::new();
        if resolved.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            pkce_verifier = verifier.secret().clone();
        }
        for scope in &resolved.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &resolved.auth_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let (url, _, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            pkce_verifier,
            nonce: nonce.secret().clone(),
        })
    }

    /// Exchanges `code`: the claims of the verified ID token, or of the
    /// user API for the OAuth2-only providers, as JSON with `sub` at the
    /// top level.
    pub async fn exchange(
        &self,
        hooks: &webhook::WebHooks,
        project: Uuid,
        provider: &OidcProviderConfig,
        redirect_uri: &str,
        answer: Answer<'_>,
    ) -> Result<Value> {
        let resolved = catalog::resolve(provider).map_err(|e| misconfigured(provider, e))?;
        if resolved.protocol == Protocol::OAuth2 {
            return oauth2::exchange(hooks, &resolved, provider, redirect_uri, &answer).await;
        }
        let Answer {
            code,
            pkce_verifier,
            nonce,
        } = answer;
        let metadata = self.metadata(hooks, project, provider, &resolved).await?;
        let secret = match resolved.kind {
            Kind::Apple => Some(
                apple::client_secret(provider, chrono::Utc::now().timestamp())
                    .map_err(|e| misconfigured(provider, e))?,
            ),
            _ => None,
        };
        let client = client(&metadata, provider, redirect_uri, secret)?;
        let http = Http(hooks.clone());
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| unreachable(provider, e))?;
        if !pkce_verifier.is_empty() {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        }
        let response = request
            .request_async(&http)
            .await
            .map_err(|e| unreachable(provider, e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| unreachable(provider, "the token response has no ID token"))?;
        let refused = |e: &dyn std::fmt::Display| {
            tracing::info!(provider = %provider.id, error = %e, "ID token refused");
            Error::bad_request(format!(
                "The ID token of `{}` was refused: {e}",
                provider.id
            ))
            .with_id("oidc_id_token_invalid")
        };
        let verifier = if resolved.multi_tenant {
            microsoft::multi_tenant_verifier(&metadata, provider, &resolved.base, id_token)
                .map_err(|e| refused(&e))?
        } else {
            client.id_token_verifier()
        };
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| refused(&e))?;
        let mut json = serde_json::to_value(claims).map_err(Error::internal)?;
        // The mapper sees Kratos' shape: `sub` and the standard claims at
        // the top level.
        if let Some(map) = json.as_object_mut() {
            map.insert("sub".into(), json!(claims.subject().as_str()));
        }
        Ok(json)
    }
}

/// Discovery that takes the document's issuer as it is (Microsoft's), its
/// keys fetched as `discover_async` does.
async fn discover_any_issuer(
    issuer: &IssuerUrl,
    http: &Http,
    provider: &OidcProviderConfig,
) -> Result<CoreProviderMetadata> {
    let url = issuer
        .join(".well-known/openid-configuration")
        .map_err(|e| misconfigured(provider, e))?;
    let request = openidconnect::http::Request::builder()
        .uri(url.to_string())
        .header("accept", "application/json")
        .body(Vec::new())
        .map_err(|e| unreachable(provider, e))?;
    let response = send(http.0.clone(), request)
        .await
        .map_err(|e| unreachable(provider, e))?;
    if !response.status().is_success() {
        return Err(unreachable(
            provider,
            format!("discovery answered {}", response.status()),
        ));
    }
    let metadata: CoreProviderMetadata =
        serde_json::from_slice(response.body()).map_err(|e| unreachable(provider, e))?;
    let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), http)
        .await
        .map_err(|e| unreachable(provider, e))?;
    Ok(metadata.set_jwks(jwks))
}

type ReadyClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The client for `metadata`; `secret` replaces the configured client
/// secret (Apple's is made per exchange).
fn client(
    metadata: &CoreProviderMetadata,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
    secret: Option<String>,
) -> Result<ReadyClient> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(Error::internal)?;
    let secret = secret.unwrap_or_else(|| provider.client_secret.clone());
    // The secret goes in the body only where the provider takes no other
    // way (Apple); HTTP Basic is what every provider must accept.
    let methods = metadata.token_endpoint_auth_methods_supported();
    let post_only = methods.is_some_and(|m| {
        m.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
    });
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect);
    Ok(if post_only {
        client.set_auth_type(AuthType::RequestBody)
    } else {
        client
    })
}
