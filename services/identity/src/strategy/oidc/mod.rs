//! Social sign-in (`oidc`): one button per provider on the login and
//! registration flows; choosing one sends the browser to the provider with
//! a `state` bound to the flow (and, for browser flows, to the browser's
//! anti-CSRF cookie), PKCE and a nonce; the provider sends it back to
//! `/self-service/methods/oidc/callback/{provider}` (`callback.rs`), where
//! the code is exchanged, the ID token verified, the claims mapped to
//! traits by the provider's Jsonnet mapper, and the person signed in or
//! registered.

pub mod callback;
pub mod handler;
pub mod provider;

use super::{Authenticated, Context, LoginTarget, Outcome, Strategy};
use crate::flow::model::{Flow, FlowKind, UiNode, UiText};
use crate::flow::service::field;
use crate::identity::Identity;
use crate::identity::model::OIDC;
use async_trait::async_trait;
use kernel::identity_config::{Aal, IdentityConfig, OidcProviderConfig};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;
use uuid::Uuid;

pub struct Oidc;

/// Kratos' "Sign in with {provider}" and "Sign up with {provider}".
const SIGN_IN_WITH: u64 = 1010002;
const SIGN_UP_WITH: u64 = 1040002;

/// The sealing context of the secrets a flow keeps for the provider's
/// answer.
pub(crate) fn flow_context(tenant: &TenantCtx, flow_id: Uuid) -> String {
    format!("selfservice_flows.oidc@{}/{flow_id}", tenant.project_id)
}

/// Where the provider sends the browser back (register it at the provider).
pub fn redirect_uri(tenant: &TenantCtx, provider_id: &str) -> String {
    format!(
        "{}/self-service/methods/oidc/callback/{provider_id}",
        tenant.public_url
    )
}

pub(crate) fn find_provider<'a>(
    config: &'a IdentityConfig,
    id: &str,
) -> Option<&'a OidcProviderConfig> {
    config.methods.oidc_providers.iter().find(|p| p.id == id)
}

fn buttons(config: &IdentityConfig, id: u64, verb: &str) -> Vec<UiNode> {
    config
        .methods
        .oidc_providers
        .iter()
        .map(|p| {
            let name = p.label.clone().unwrap_or_else(|| p.id.clone());
            let label = UiText {
                id,
                text: format!("{verb} with {name}"),
                kind: "info".to_owned(),
                context: Some(json!({ "provider": name })),
            };
            let mut node = UiNode::input(
                OIDC,
                "provider",
                "submit",
                Some(json!(p.id)),
                false,
                Some(label),
            );
            node.attributes["formnovalidate"] = json!(true);
            node
        })
        .collect()
}

/// The provider's URL for the flow's browser, for the provider named in
/// the submission: the secrets to check its answer go into the flow
/// (sealed).
async fn redirect(ctx: &Context<'_>, kind: FlowKind, flow: &mut Flow) -> Result<String> {
    let tenant = ctx.tenant;
    let provider_id = field(ctx.body(), "provider")
        .ok_or_else(|| Error::bad_request("the field `provider` is missing"))?;
    let provider = find_provider(ctx.config(), provider_id).ok_or_else(|| {
        Error::bad_request(format!(
            "the provider `{provider_id}` is not configured for this project"
        ))
    })?;
    let cipher = super::cipher(tenant)?;
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let state = format!("{}.{}.{secret}", kind.as_str(), flow.id);
    let authorization = ctx
        .engine
        .oidc
        .authorize(
            &ctx.engine.webhooks,
            tenant.project_id,
            provider,
            &redirect_uri(tenant, &provider.id),
            state,
        )
        .await?;
    let secrets = json!({
        "state": secret,
        "pkce_verifier": authorization.pkce_verifier,
        "nonce": authorization.nonce,
    });
    flow.internal["oidc"] = json!({
        "provider": provider.id,
        "sealed": cipher.seal(&flow_context(tenant, flow.id), &secrets.to_string()),
    });
    Ok(authorization.url)
}

#[async_trait]
impl Strategy for Oidc {
    fn id(&self) -> &'static str {
        OIDC
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.oidc && !config.methods.oidc_providers.is_empty()
    }

    fn login_aal(&self, _config: &IdentityConfig) -> Option<Aal> {
        Some(Aal::Aal1)
    }

    fn has_credential(&self, identity: &Identity) -> bool {
        identity
            .credential(OIDC)
            .is_some_and(|c| !c.identifiers.is_empty())
    }

    fn populate_login(
        &self,
        ctx: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<()> {
        // A refresh asks the signed-in person for what they signed in with;
        // the provider's own session would answer without asking.
        if !target.refresh {
            flow.ui
                .nodes
                .extend(buttons(ctx.config(), SIGN_IN_WITH, "Sign in"));
        }
        Ok(())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        _target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        let url = redirect(ctx, FlowKind::Login, flow).await?;
        Ok(Some(Outcome::Redirect(url)))
    }

    fn populate_registration(&self, ctx: &Context<'_>, flow: &mut Flow) -> Result<()> {
        flow.ui
            .nodes
            .extend(buttons(ctx.config(), SIGN_UP_WITH, "Sign up"));
        Ok(())
    }

    async fn register(
        &self,
        ctx: &Context<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let url = redirect(ctx, FlowKind::Registration, flow).await?;
        Ok(Some(Outcome::Redirect(url)))
    }
}

/// Kratos' answer to an API client (or a browser asking for JSON) that must
/// go on in a browser: 422 with `redirect_browser_to`.
pub fn browser_location_change_required(url: &str) -> Error {
    Error::new(kernel::ErrorKind::UnprocessableEntity)
        .with_id("browser_location_change_required")
        .with_message(
            "In order to complete this flow please redirect the browser to: redirect_browser_to",
        )
        .with_reason("Open the provider's sign-in page in a browser.")
        .with_details(json!({ "redirect_browser_to": url }))
}
