//! The login flow for API clients and browsers: the enabled methods
//! (`strategy`) put their nodes on it and judge submissions naming them;
//! this module owns what surrounds them: the levels asked for (`aal`,
//! `refresh`), the `require_verified_address`, `revoke_active_sessions`
//! and `web_hook` hooks, and the session issued or brought up to date.

use super::client::{Client, Submission, check_csrf};
use super::hooks::{HookEvent, REQUIRE_VERIFIED_ADDRESS, REVOKE_ACTIVE_SESSIONS};
use super::model::{Flow, FlowKind, UiText, text};
use super::service::{Submitted, config, session_already_available};
use crate::engine::IdentityEngine;
use crate::identity::Identity;
use crate::schema::normalize_identifier;
use crate::session::model::{Session, SessionView};
use crate::strategy::{self, Authenticated, Context, LoginTarget, Outcome};
use kernel::identity_config::{Aal, RequiredAal};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Serialize;
use store::sql;
use uuid::Uuid;

/// `successfulSelfServiceLoginWithoutBrowser`.
#[derive(Debug, Serialize)]
pub struct LoginSuccess {
    pub session: SessionView,
    pub session_token: String,
    /// The session is below the level `session.whoami.required_aal` asks
    /// of this identity: a browser goes on to the second factor.
    #[serde(skip)]
    pub step_up_required: bool,
}

/// A method's yes to a login: who, and at which level.
pub(crate) struct Verdict<'a> {
    pub method_id: &'a str,
    pub aal: Aal,
    pub authenticated: Authenticated,
}

/// Kratos' 401 for `aal=aal2` without a session to step up.
fn session_required_for_aal2() -> Error {
    Error::unauthorized("aal2 can only be requested if a session exists already.")
        .with_id("session_aal1_required")
        .with_message("An active session is required to sign in with a second factor.")
}

impl IdentityEngine {
    /// The current session of the client, if valid.
    pub(crate) async fn current_session(
        &self,
        tenant: &TenantCtx,
        token: Option<&str>,
    ) -> Option<(Session, Identity)> {
        self.authenticate_session(tenant, token?).await.ok()
    }

    /// `initializeSelfServiceLoginFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_login(
        &self,
        tenant: &TenantCtx,
        client: &Client,
        refresh: bool,
        aal: Option<String>,
    ) -> Result<Flow> {
        let requested = match aal.as_deref() {
            None | Some("") => Aal::Aal1,
            Some(text) => Aal::parse(text)
                .ok_or_else(|| Error::bad_request(format!("unknown `aal` {text}")))?,
        };
        let current = self
            .current_session(tenant, client.session_token.as_deref())
            .await;
        if let Some((session, _)) = &current {
            let reached = Aal::parse(&session.aal).unwrap_or(Aal::Aal1);
            if !refresh && requested <= reached {
                return Err(session_already_available());
            }
        } else if requested == Aal::Aal2 {
            return Err(session_required_for_aal2());
        }
        let owner = current.as_ref().map(|(_, identity)| identity);
        let target = LoginTarget {
            aal: requested,
            refresh,
            identity: owner,
        };
        let mut flow = self.flow_for(tenant, FlowKind::Login, client, Vec::new());
        let ctx = Context {
            engine: self,
            tenant,
            submission: None,
        };
        for method in strategy::enabled(config(tenant)) {
            if method.login_aal(config(tenant)) == Some(requested) {
                method.populate_login(&ctx, target, &mut flow)?;
            }
        }
        if requested == Aal::Aal2 {
            if flow.ui.nodes.len() <= 1 {
                return Err(Error::bad_request(
                    "No second factor is set up for this account: add one in the settings first.",
                ));
            }
            flow.ui.messages.push(UiText::info(
                text::LOGIN_MFA,
                "Please complete the second authentication challenge.",
            ));
        } else if refresh && owner.is_some() {
            flow.ui.messages.push(UiText::info(
                text::LOGIN_REAUTH,
                "Please confirm this action by verifying that it is you.",
            ));
        }
        flow.refresh = Some(refresh);
        flow.requested_aal = Some(requested.as_str().to_owned());
        self.run_before_hooks(tenant, FlowKind::Login, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Login, owner.map(|i| i.id), &flow)
            .await?;
        Ok(flow)
    }

    pub async fn get_login_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Login, id).await?.0)
    }

    /// `submitSelfServiceLoginFlow`: the method named by `method` judges
    /// the submission.
    pub async fn submit_login(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<LoginSuccess>> {
        let (mut flow, owner_id) = self.load_flow(tenant, FlowKind::Login, flow_id).await?;
        check_csrf(&flow, submission)?;
        let method_id = strategy::method_of(&submission.body)
            .ok_or_else(|| Error::bad_request("the field `method` is missing"))?;
        let not_enabled = || {
            Error::bad_request(format!(
                "the login method `{method_id}` is not enabled for this project"
            ))
        };
        let method = strategy::find(config(tenant), method_id).ok_or_else(not_enabled)?;
        let requested = flow
            .requested_aal
            .as_deref()
            .and_then(Aal::parse)
            .unwrap_or(Aal::Aal1);
        let method_aal = method.login_aal(config(tenant)).ok_or_else(not_enabled)?;
        // A flow for a signed-in identity (refresh, step up) is answered
        // for that identity's current session only.
        let current = self
            .current_session(tenant, submission.session_token.as_deref())
            .await
            .filter(|(session, _)| Some(session.identity_id) == owner_id);
        if requested == Aal::Aal2 && current.is_none() {
            return Err(session_required_for_aal2());
        }
        if method_aal != requested {
            return Err(Error::bad_request(format!(
                "the method `{method_id}` gives {}, this flow asks for {}",
                method_aal.as_str(),
                requested.as_str()
            )));
        }
        flow.ui.reset_messages();
        flow.active = Some(method_id.to_owned());
        let target = LoginTarget {
            aal: requested,
            refresh: flow.refresh == Some(true),
            identity: current.as_ref().map(|(_, identity)| identity),
        };
        let ctx = Context {
            engine: self,
            tenant,
            submission: Some(submission),
        };
        let authenticated = match method.login(&ctx, target, &mut flow).await? {
            Some(Outcome::Done(authenticated)) => authenticated,
            Some(Outcome::Redirect(url)) => {
                self.save_flow(tenant, &mut flow).await?;
                return Err(crate::strategy::oidc::browser_location_change_required(
                    &url,
                ));
            }
            Some(_) => {
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::Invalid(Box::new(flow)));
            }
            None => return Err(not_enabled()),
        };
        let verdict = Verdict {
            method_id,
            aal: method_aal,
            authenticated,
        };
        self.finish_login(tenant, flow, submission, current, verdict)
            .await
    }

    /// What follows a method's yes: the hooks, and the session issued or
    /// brought up to date (`current`: the client's session of the flow's
    /// identity, if any). The sign-in provider's callback joins here.
    pub(crate) async fn finish_login(
        &self,
        tenant: &TenantCtx,
        mut flow: Flow,
        submission: &Submission,
        current: Option<(Session, Identity)>,
        verdict: Verdict<'_>,
    ) -> Result<Submitted<LoginSuccess>> {
        let Verdict {
            method_id,
            aal: method_aal,
            authenticated,
        } = verdict;
        let identity = authenticated.identity;
        let hooks = self.after_hooks(tenant, FlowKind::Login, method_id);
        if hooks.has(REQUIRE_VERIFIED_ADDRESS)
            && let Some(identifier) = &authenticated.identifier
            && !identifier_verified(&identity, identifier)
        {
            flow.ui.messages.push(UiText::error(
                text::ADDRESS_NOT_VERIFIED,
                "Account not active yet. Did you forget to verify your email address?",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        if self
            .refused_by_web_hooks(tenant, &mut flow, &hooks, &identity, &submission.request)
            .await?
        {
            return Ok(Submitted::Invalid(Box::new(flow)));
        }

        // The current session of the same identity is brought up to date
        // (same id and token); anyone else gets a new session.
        let (session, token) = match (current, submission.session_token.clone()) {
            (Some((session, _)), Some(token)) if session.identity_id == identity.id => {
                let session = self
                    .record_authentication(tenant, session, method_id, method_aal)
                    .await?;
                (session, token)
            }
            _ => {
                let txn = self.db.begin_write().await?;
                let issued = self
                    .issue_session(&txn, tenant, &identity, method_id)
                    .await?;
                txn.commit().await.map_err(sql::db_error)?;
                issued
            }
        };
        if hooks.has(REVOKE_ACTIVE_SESSIONS) {
            self.revoke(tenant, identity.id, Some(session.id), None)
                .await?;
        }
        let event = HookEvent {
            tenant,
            flow: &flow,
            identity: Some(&identity),
            request: &submission.request,
        };
        self.fire_ignored_web_hooks(&hooks, &event).await;
        let step_up_required = config(tenant).session.whoami_required_aal
            == RequiredAal::HighestAvailable
            && self
                .ensure_highest_aal(tenant, &session, &identity)
                .is_err();
        Ok(Submitted::done(
            LoginSuccess {
                session: self.session_view(tenant, &session, &identity),
                session_token: token,
                step_up_required,
            },
            flow,
        ))
    }
}

/// Whether the address the user logged in with (or, failing that, any of
/// the identity's addresses) is verified.
fn identifier_verified(identity: &Identity, identifier: &str) -> bool {
    let identifier = normalize_identifier(identifier);
    let addresses = &identity.verifiable_addresses;
    match addresses.iter().find(|a| a.value == identifier) {
        Some(address) => address.verified,
        None => addresses.iter().any(|a| a.verified),
    }
}
