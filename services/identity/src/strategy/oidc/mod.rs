//! Social sign-in (`oidc`): one button per provider on the login and
//! registration flows; choosing one sends the browser to the provider with
//! a `state` bound to the flow (and, for browser flows, to the browser's
//! anti-CSRF cookie), PKCE and a nonce; the provider sends it back to
//! `/self-service/methods/oidc/callback/{provider}` (`callback.rs`), where
//! the code is exchanged, the ID token verified, the claims mapped to
//! traits by the provider's Jsonnet mapper, and the person signed in or
//! registered.

pub mod apple;
pub mod callback;
pub mod catalog;
pub mod claims;
pub mod handler;
mod links;
pub mod microsoft;
pub mod oauth2;
pub mod provider;
mod register;
pub mod user_api;

use super::{Authenticated, Context, LoginTarget, Outcome, SettingsTarget, Strategy};
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
use serde_json::{Value, json};
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

/// What buttons call the provider: its label, else its id.
fn display_name(provider: &OidcProviderConfig) -> String {
    provider
        .label
        .clone()
        .unwrap_or_else(|| provider.id.clone())
}

/// A submit button sending `provider`'s id in the field `name`
/// (`provider` to sign in or up, `link`/`unlink` in the settings).
fn provider_button(provider: &OidcProviderConfig, name: &str, id: u64, text: String) -> UiNode {
    let label = UiText {
        id,
        text,
        kind: "info".to_owned(),
        context: Some(json!({ "provider": display_name(provider) })),
    };
    let mut node = UiNode::input(
        OIDC,
        name,
        "submit",
        Some(json!(provider.id)),
        false,
        Some(label),
    );
    node.attributes["formnovalidate"] = json!(true);
    node
}

fn buttons(config: &IdentityConfig, id: u64, verb: &str) -> Vec<UiNode> {
    config
        .methods
        .oidc_providers
        .iter()
        .map(|p| {
            provider_button(
                p,
                "provider",
                id,
                format!("{verb} with {}", display_name(p)),
            )
        })
        .collect()
}

/// The provider named by a submission's `field`, if configured.
fn chosen<'a>(ctx: &'a Context<'_>, name: &str) -> Result<&'a OidcProviderConfig> {
    let id = field(ctx.body(), name)
        .ok_or_else(|| Error::bad_request(format!("the field `{name}` is missing")))?;
    find_provider(ctx.config(), id).ok_or_else(|| {
        Error::bad_request(format!(
            "the provider `{id}` is not configured for this project"
        ))
    })
}

/// The provider's URL for the flow's browser: the secrets to check its
/// answer go into the flow (sealed), with the traits the person typed
/// (a registration completed on the form), which the mapped claims
/// complete when the provider answers.
async fn redirect(
    ctx: &Context<'_>,
    kind: FlowKind,
    flow: &mut Flow,
    provider: &OidcProviderConfig,
    traits: Option<Value>,
) -> Result<String> {
    let tenant = ctx.tenant;
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
        "traits": traits,
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

    fn first_factors(&self, _config: &IdentityConfig, identity: &Identity) -> usize {
        identity.credential(OIDC).map_or(0, |c| c.identifiers.len())
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
        let provider = chosen(ctx, "provider")?;
        let url = redirect(ctx, FlowKind::Login, flow, provider, None).await?;
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
        let provider = chosen(ctx, "provider")?;
        // Traits typed on the form that completes a registration the
        // provider's claims could not (`callback::show_missing_traits`).
        let traits = match ctx.submission {
            Some(submission) if submission.body.get("traits").is_some() => {
                let schema_id = ctx.engine.default_schema_id(ctx.tenant)?;
                let (schema, _) = ctx.engine.schema(ctx.tenant, &schema_id)?;
                submission.traits(&schema)
            }
            _ => None,
        };
        let url = redirect(ctx, FlowKind::Registration, flow, provider, traits).await?;
        Ok(Some(Outcome::Redirect(url)))
    }

    fn populate_settings(
        &self,
        ctx: &Context<'_>,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        links::populate(ctx, identity, flow);
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        links::settings(ctx, target, flow).await
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
