//! The settings flow for API clients and browsers: the enabled methods
//! (`strategy`: profile, password, totp, lookup_secret) put their nodes on
//! it and apply the changes named by `method`; this module owns who may
//! see and submit it (only the flow's own identity, with a valid session
//! at the level `required_aal` asks), the privileged-session rule and the
//! `web_hook` hooks.

use super::client::{Client, Submission, check_csrf};
use super::hooks::HookEvent;
use super::model::{Flow, FlowKind, UiText, text};
use super::service::{Submitted, config};
use crate::engine::IdentityEngine;
use crate::identity::{Exposure, Identity};
use crate::session::model::Session;
use crate::strategy::{self, Context, Outcome, SettingsTarget, Strategy};
use kernel::identity_config::{Aal, RequiredAal};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::Value;
use uuid::Uuid;

/// Kratos' 403 for a change that needs a recent login.
pub(crate) fn refresh_required() -> Error {
    Error::forbidden("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
        .with_id("session_refresh_required")
        .with_message("The login session is too old and thus not allowed to update these fields.")
}

/// Whether `session` was authenticated within `privileged_session_max_age`.
pub(crate) fn is_privileged(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    session: &Session,
) -> bool {
    let max_age = chrono::Duration::from_std(config(tenant).privileged_session_max_age)
        .unwrap_or(chrono::Duration::minutes(15));
    session.authenticated_at + max_age > engine.clock.now()
}

impl IdentityEngine {
    /// Fills the flow's form anew for `identity`: the anti-CSRF token, then
    /// every enabled method's nodes.
    fn populate_settings(
        &self,
        tenant: &TenantCtx,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        // The anti-CSRF node every flow is made with stays as it is.
        flow.ui.nodes.retain(|n| n.name() == "csrf_token");
        let ctx = Context {
            engine: self,
            tenant,
            submission: None,
        };
        for method in strategy::enabled(config(tenant)) {
            method.populate_settings(&ctx, identity, flow)?;
        }
        Ok(())
    }

    pub(crate) fn public_identity(&self, tenant: &TenantCtx, identity: &Identity) -> Result<Value> {
        let url = self.schema_url(tenant, &identity.schema_id);
        serde_json::to_value(identity.view(&url, Exposure::Public, &[])).map_err(Error::internal)
    }

    /// The session of `token` and its identity, at the level the settings
    /// flow requires (`selfservice.flows.settings.required_aal`).
    pub(crate) async fn settings_session(
        &self,
        tenant: &TenantCtx,
        token: &str,
    ) -> Result<(Session, Identity)> {
        let (session, identity) = self.authenticate_session(tenant, token).await?;
        if config(tenant).settings_required_aal == RequiredAal::HighestAvailable {
            self.ensure_highest_aal(tenant, &session, &identity)?;
        }
        Ok((session, identity))
    }

    /// `initializeSelfServiceSettingsFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_settings(&self, tenant: &TenantCtx, client: &Client) -> Result<Flow> {
        let token = client
            .session_token
            .as_deref()
            .ok_or_else(crate::session::service::no_active_session)?;
        let (_, identity) = self.settings_session(tenant, token).await?;
        let flow = self.settings_flow_for(tenant, client, &identity)?;
        self.run_before_hooks(tenant, FlowKind::Settings, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Settings, Some(identity.id), &flow)
            .await?;
        Ok(flow)
    }

    /// A new settings flow of `identity`, not yet stored.
    pub(crate) fn settings_flow_for(
        &self,
        tenant: &TenantCtx,
        client: &Client,
        identity: &Identity,
    ) -> Result<Flow> {
        let mut flow = self.flow_for(tenant, FlowKind::Settings, client, Vec::new());
        self.populate_settings(tenant, identity, &mut flow)?;
        flow.identity = Some(self.public_identity(tenant, identity)?);
        flow.state = Some("show_form".to_owned());
        Ok(flow)
    }

    /// Loads a settings flow for the session's identity: another
    /// identity's flow is 403, as in Kratos.
    async fn own_settings_flow(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        session_token: &str,
    ) -> Result<(Flow, Session, Identity)> {
        let (session, identity) = self.settings_session(tenant, session_token).await?;
        let (flow, owner) = self.load_flow(tenant, FlowKind::Settings, id).await?;
        if owner != Some(identity.id) {
            return Err(Error::forbidden(
                "Access privileges are missing, invalid, or not sufficient to access this endpoint.",
            ));
        }
        Ok((flow, session, identity))
    }

    pub async fn get_settings_flow(
        &self,
        tenant: &TenantCtx,
        id: Uuid,
        session_token: &str,
    ) -> Result<Flow> {
        Ok(self.own_settings_flow(tenant, id, session_token).await?.0)
    }

    /// `submitSelfServiceSettingsFlow`: the method named by `method`
    /// applies the change.
    pub async fn submit_settings(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<Flow>> {
        let session_token = submission
            .session_token
            .as_deref()
            .ok_or_else(crate::session::service::no_active_session)?;
        let (mut flow, session, identity) = self
            .own_settings_flow(tenant, flow_id, session_token)
            .await?;
        check_csrf(&flow, submission)?;
        flow.ui.reset_messages();
        let method_id = strategy::method_of(&submission.body)
            .ok_or_else(|| Error::bad_request("the field `method` is missing"))?;
        let not_enabled = || {
            Error::bad_request(format!(
                "the settings method `{method_id}` is not enabled for this project"
            ))
        };
        let method = strategy::find(config(tenant), method_id).ok_or_else(not_enabled)?;
        // Blocking web hooks run before the change is written (with the
        // identity as it is), so a refusal leaves it untouched.
        let hooks = self.after_hooks(tenant, FlowKind::Settings, method_id);
        if self
            .refused_by_web_hooks(tenant, &mut flow, &hooks, &identity, &submission.request)
            .await?
        {
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let ctx = Context {
            engine: self,
            tenant,
            submission: Some(submission),
        };
        let target = SettingsTarget {
            session: &session,
            identity: &identity,
        };
        flow.active = Some(method_id.to_owned());
        let updated = match method.settings(&ctx, target, &mut flow).await? {
            Some(Outcome::Done(updated)) => updated,
            Some(Outcome::Invalid) => {
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::Invalid(Box::new(flow)));
            }
            Some(Outcome::Redirect(url)) => {
                self.save_flow(tenant, &mut flow).await?;
                return Err(crate::strategy::oidc::browser_location_change_required(
                    &url,
                ));
            }
            Some(Outcome::Continue) => {
                self.populate_settings(tenant, &identity, &mut flow)?;
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::done(flow.clone(), flow));
            }
            Some(Outcome::Shown) => {
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::done(flow.clone(), flow));
            }
            None => return Err(not_enabled()),
        };
        self.settings_saved(tenant, flow, submission, session, method, updated)
            .await
    }

    /// What follows a saved change: the session's level, cached sessions
    /// dropped, the form anew with the success message, the non-blocking
    /// hooks. The sign-in provider's callback (linking) joins here.
    pub(crate) async fn settings_saved(
        &self,
        tenant: &TenantCtx,
        mut flow: Flow,
        submission: &Submission,
        session: Session,
        method: &dyn Strategy,
        updated: Identity,
    ) -> Result<Submitted<Flow>> {
        let method_id = method.id();
        let hooks = self.after_hooks(tenant, FlowKind::Settings, method_id);
        // A second factor just set up on this session counts as used on
        // it: the session is not sent to prove it again straight away.
        if method.login_aal(config(tenant)) == Some(Aal::Aal2)
            && method.has_credential(&updated)
            && Aal::parse(&session.aal) != Some(Aal::Aal2)
        {
            self.record_authentication(tenant, session, method_id, Aal::Aal2)
                .await?;
        }
        self.forget_identity_sessions(tenant, updated.id).await?;
        flow.state = Some("success".to_owned());
        flow.identity = Some(self.public_identity(tenant, &updated)?);
        self.populate_settings(tenant, &updated, &mut flow)?;
        flow.ui.messages.push(UiText::success(
            text::SETTINGS_SAVED,
            "Your changes have been saved!",
        ));
        self.save_flow(tenant, &mut flow).await?;
        let event = HookEvent {
            tenant,
            flow: &flow,
            identity: Some(&updated),
            request: &submission.request,
        };
        self.fire_ignored_web_hooks(&hooks, &event).await;
        Ok(Submitted::done(flow.clone(), flow))
    }
}
