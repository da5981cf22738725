//! Talking to an OpenID provider with the `openidconnect` crate: discovery
//! (cached per project and provider), the authorization URL with PKCE and a
//! nonce, and the code exchange with the ID token verified (issuer,
//! audience, expiry, nonce, signature by the provider's published keys).
//! Every request goes through the web hooks' guarded client (no private
//! addresses unless the operator allows them, no redirects, no proxy).

use kernel::identity_config::OidcProviderConfig;
use kernel::{Error, Result};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
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
    pub pkce_verifier: String,
    pub nonce: String,
}

/// The provider's answer and what the flow kept to check it.
pub struct Answer<'a> {
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

/// Discovered provider metadata (with its keys), per project and provider.
#[derive(Clone)]
pub struct Discovery {
    cache: moka::future::Cache<(Uuid, String), Arc<CoreProviderMetadata>>,
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
fn unreachable(provider: &OidcProviderConfig, what: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = %provider.id, error = %what, "OpenID provider call failed");
    Error::bad_request(format!(
        "The sign-in provider `{}` could not be reached or answered wrongly: {what}",
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
        .map_err(|e| io(format!("{e}")))?;
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
    ) -> Result<Arc<CoreProviderMetadata>> {
        let key = (project, provider.id.clone());
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let issuer = provider
            .issuer_url
            .clone()
            .ok_or_else(|| unreachable(provider, "no `issuer_url` is configured"))?;
        let issuer = IssuerUrl::new(issuer).map_err(|e| unreachable(provider, e))?;
        let http = Http(hooks.clone());
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| unreachable(provider, e))?;
        let metadata = Arc::new(metadata);
        self.cache.insert(key, metadata.clone()).await;
        Ok(metadata)
    }

    /// The URL that sends the browser to the provider, with `state`, PKCE
    /// (S256) and a nonce.
    pub async fn authorize(
        &self,
        hooks: &webhook::WebHooks,
        project: Uuid,
        provider: &OidcProviderConfig,
        redirect_uri: &str,
        state: String,
    ) -> Result<Authorization> {
        let metadata = self.metadata(hooks, project, provider).await?;
        let client = client(&metadata, provider, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes(provider) {
            request = request.add_scope(Scope::new(scope));
        }
        let (url, _, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Exchanges `code` and verifies the ID token: its claims as JSON.
    pub async fn exchange(
        &self,
        hooks: &webhook::WebHooks,
        project: Uuid,
        provider: &OidcProviderConfig,
        redirect_uri: &str,
        answer: Answer<'_>,
    ) -> Result<Value> {
        let Answer {
            code,
            pkce_verifier,
            nonce,
        } = answer;
        let metadata = self.metadata(hooks, project, provider).await?;
        let client = client(&metadata, provider, redirect_uri)?;
        let http = Http(hooks.clone());
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| unreachable(provider, e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| unreachable(provider, e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| unreachable(provider, "the token response has no ID token"))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| {
                tracing::info!(provider = %provider.id, error = %e, "ID token refused");
                Error::bad_request(format!(
                    "The ID token of `{}` was refused: {e}",
                    provider.id
                ))
                .with_id("oidc_id_token_invalid")
            })?;
        let mut json = serde_json::to_value(claims).map_err(Error::internal)?;
        // The mapper sees Kratos' shape: `sub` and the standard claims at
        // the top level.
        if let Some(map) = json.as_object_mut() {
            map.insert("sub".into(), json!(claims.subject().as_str()));
        }
        Ok(json)
    }
}

fn scopes(provider: &OidcProviderConfig) -> Vec<String> {
    if provider.scope.is_empty() {
        vec!["email".to_owned(), "profile".to_owned()]
    } else {
        provider
            .scope
            .iter()
            .filter(|s| s.as_str() != "openid")
            .cloned()
            .collect()
    }
}

type ReadyClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(
    metadata: &CoreProviderMetadata,
    provider: &OidcProviderConfig,
    redirect_uri: &str,
) -> Result<ReadyClient> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(Error::internal)?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}
