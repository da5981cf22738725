//! Linking and unlinking providers in the settings flow (browser flows, as
//! in Kratos: the provider's answer comes back to the browser, whose
//! session cookie says who links). A link is added when the provider
//! answers (`complete_link`); an unlink is refused when it would leave the
//! identity no way to sign in.

use super::{OIDC, chosen, provider_button, redirect};
use crate::engine::IdentityEngine;
use crate::flow::client::{BROWSER, Submission};
use crate::flow::model::{Flow, FlowKind, UiText, text};
use crate::flow::service::{Submitted, field};
use crate::flow::settings::is_privileged;
use crate::identity::Identity;
use crate::identity::model::{Credential, OidcLink};
use crate::identity::{credential_store, store as identities};
use crate::strategy::{self, Context, Outcome, SettingsTarget};
use kernel::identity_config::IdentityConfig;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::{Value, json};
use store::sql;
use uuid::Uuid;

/// The providers `identity` is linked to.
pub(super) fn links_of(identity: &Identity) -> Vec<OidcLink> {
    identity
        .credential(OIDC)
        .and_then(|c| c.config.get("providers"))
        .and_then(|p| serde_json::from_value::<Vec<Value>>(p.clone()).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            Some(OidcLink {
                provider: p["provider"].as_str()?.to_owned(),
                subject: p["subject"].as_str()?.to_owned(),
            })
        })
        .collect()
}

/// Whether `identity` can spare one of its ways in (it has another).
fn can_spare_one(config: &IdentityConfig, identity: &Identity) -> bool {
    strategy::first_factors(config, identity) > 1
}

/// "Link X" for each provider not linked yet; "Unlink X" for each linked
/// one that is not the identity's last way to sign in.
pub(super) fn populate(ctx: &Context<'_>, identity: &Identity, flow: &mut Flow) {
    if flow.flow_type != BROWSER {
        return;
    }
    let config = ctx.config();
    let linked = links_of(identity);
    for provider in &config.methods.oidc_providers {
        let name = super::display_name(provider);
        let node = if !linked.iter().any(|l| l.provider == provider.id) {
            provider_button(provider, "link", text::LINK_OIDC, format!("Link {name}"))
        } else if can_spare_one(config, identity) {
            provider_button(
                provider,
                "unlink",
                text::UNLINK_OIDC,
                format!("Unlink {name}"),
            )
        } else {
            continue;
        };
        flow.ui.nodes.push(node);
    }
}

fn refuse(flow: &mut Flow, message: &str) -> Result<Option<Outcome<Identity>>> {
    flow.ui.messages.push(UiText::error(
        text::VALIDATION_GENERIC,
        message,
        Some(json!({ "reason": message })),
    ));
    Ok(Some(Outcome::Invalid))
}

const ALREADY_LINKED: &str = "can not link unknown or already existing OpenID Connect connection";

/// A settings submission with `link` (off to the provider) or `unlink`.
pub(super) async fn settings(
    ctx: &Context<'_>,
    target: SettingsTarget<'_>,
    flow: &mut Flow,
) -> Result<Option<Outcome<Identity>>> {
    let (link, unlink) = (field(ctx.body(), "link"), field(ctx.body(), "unlink"));
    if link.is_some() && unlink.is_some() {
        return refuse(
            flow,
            "it is not possible to link and unlink providers in the same request",
        );
    }
    if link.is_none() && unlink.is_none() {
        return Err(Error::bad_request(
            "the field `link` or `unlink` (a provider id) is missing",
        ));
    }
    if !is_privileged(ctx.engine, ctx.tenant, target.session) {
        return Err(crate::flow::settings::refresh_required());
    }
    let linked = links_of(target.identity);
    if link.is_some() {
        let provider = chosen(ctx, "link")?;
        if flow.flow_type != BROWSER {
            return Err(Error::bad_request(
                "Linking a sign-in provider needs a browser settings flow: the provider answers the browser.",
            ));
        }
        if linked.iter().any(|l| l.provider == provider.id) {
            return refuse(flow, ALREADY_LINKED);
        }
        let url = redirect(ctx, FlowKind::Settings, flow, provider, None).await?;
        return Ok(Some(Outcome::Redirect(url)));
    }
    let provider_id = unlink.unwrap_or_default();
    if !linked.iter().any(|l| l.provider == provider_id) {
        return refuse(
            flow,
            "can not unlink non-existing OpenID Connect connection",
        );
    }
    if !can_spare_one(ctx.config(), target.identity) {
        return refuse(
            flow,
            "can not unlink OpenID Connect connection because it is the last remaining first factor credential",
        );
    }
    let rest: Vec<OidcLink> = linked
        .into_iter()
        .filter(|l| l.provider != provider_id)
        .collect();
    let updated = save_links(ctx.engine, ctx.tenant, target.identity, rest).await?;
    Ok(Some(Outcome::Done(updated)))
}

/// Writes the identity's links (its `oidc` credential and identifiers) as
/// `links`; the identity as stored afterwards.
async fn save_links(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    identity: &Identity,
    links: Vec<OidcLink>,
) -> Result<Identity> {
    let txn = engine.db.begin_write().await?;
    credential_store::delete(&txn, tenant.project_id, identity.id, OIDC).await?;
    if !links.is_empty() {
        let now = engine.clock.now();
        let created_at = identity.credential(OIDC).map_or(now, |c| c.created_at);
        let credential = Credential {
            id: Uuid::new_v4(),
            kind: OIDC.to_owned(),
            identifiers: links
                .iter()
                .map(|l| format!("{}:{}", l.provider, l.subject))
                .collect(),
            config: json!({ "providers": links }),
            version: 0,
            created_at,
            updated_at: now,
        };
        identities::insert_credential(&txn, tenant.project_id, identity.id, &credential).await?;
    }
    txn.commit().await.map_err(sql::db_error)?;
    engine.get_identity(tenant, identity.id).await
}

/// What the provider's answer to a settings flow's "Link X" does: the
/// browser's session must be the flow's identity, recent enough; the
/// subject must not belong to another identity.
pub(super) struct LinkAnswer<'a> {
    pub flow: Flow,
    pub owner: Option<Uuid>,
    pub submission: &'a Submission,
    pub provider_id: &'a str,
    pub subject: &'a str,
}

impl IdentityEngine {
    pub(super) async fn complete_link(
        &self,
        tenant: &TenantCtx,
        answer: LinkAnswer<'_>,
    ) -> Result<Submitted<Flow>> {
        let LinkAnswer {
            mut flow,
            owner,
            submission,
            provider_id,
            subject,
        } = answer;
        let token = submission
            .session_token
            .as_deref()
            .ok_or_else(crate::session::service::no_active_session)?;
        let (session, identity) = self.settings_session(tenant, token).await?;
        if owner != Some(identity.id) {
            return Err(Error::forbidden(
                "Access privileges are missing, invalid, or not sufficient to access this endpoint.",
            ));
        }
        let mut message = None;
        let mut links = links_of(&identity);
        if !is_privileged(self, tenant, &session) {
            message = Some((
                text::VALIDATION_GENERIC,
                "The login session is too old to link a sign-in provider: sign in again, then link it.",
            ));
        } else if links.iter().any(|l| l.provider == provider_id) {
            message = Some((text::VALIDATION_GENERIC, ALREADY_LINKED));
        } else if identities::find_id_by_identifier(
            &self.db.conn,
            tenant.project_id,
            OIDC,
            &format!("{provider_id}:{subject}"),
        )
        .await?
        .is_some()
        {
            message = Some((
                text::DUPLICATE_IDENTIFIER,
                "This account of the sign-in provider is linked to another account already.",
            ));
        }
        if let Some((id, text)) = message {
            flow.ui.messages.push(UiText::error(id, text, None));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let hooks = self.after_hooks(tenant, FlowKind::Settings, OIDC);
        if self
            .refused_by_web_hooks(tenant, &mut flow, &hooks, &identity, &submission.request)
            .await?
        {
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        links.push(OidcLink {
            provider: provider_id.to_owned(),
            subject: subject.to_owned(),
        });
        let updated = save_links(self, tenant, &identity, links).await?;
        flow.active = Some(OIDC.to_owned());
        self.settings_saved(tenant, flow, submission, session, &super::Oidc, updated)
            .await
    }
}
