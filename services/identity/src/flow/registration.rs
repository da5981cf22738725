//! The registration flow for API clients and browsers: the enabled
//! methods (`strategy`) put their nodes on it and build the identity; this
//! module stores it with the `session` and `web_hook` hooks, and sends the
//! verification mail to every new address when verification is on.

use super::client::{Client, Submission, check_csrf};
use super::hooks::{HookEvent, SESSION};
use super::model::{Flow, FlowKind};
use super::service::{Submitted, config, duplicate_to_ui, session_already_available};
use crate::engine::IdentityEngine;
use crate::identity::store as identities;
use crate::identity::{Exposure, Identity, IdentityView};
use crate::session::model::SessionView;
use crate::strategy::{self, Context, Outcome};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Serialize;
use store::sql;
use uuid::Uuid;

/// `successfulSelfServiceRegistrationWithoutBrowser`.
#[derive(Debug, Serialize)]
pub struct RegistrationSuccess {
    pub identity: IdentityView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl IdentityEngine {
    fn ensure_registration_enabled(&self, tenant: &TenantCtx) -> Result<()> {
        if config(tenant).registration.enabled {
            Ok(())
        } else {
            Err(Error::bad_request(
                "Registration is not allowed because it was disabled.",
            ))
        }
    }

    /// `initializeSelfServiceRegistrationFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_registration(&self, tenant: &TenantCtx, client: &Client) -> Result<Flow> {
        self.ensure_registration_enabled(tenant)?;
        if let Some(token) = client.session_token.as_deref()
            && self.authenticate_session(tenant, token).await.is_ok()
        {
            return Err(session_already_available());
        }
        let mut flow = self.flow_for(tenant, FlowKind::Registration, client, Vec::new());
        let ctx = Context {
            engine: self,
            tenant,
            submission: None,
        };
        for method in strategy::enabled(config(tenant)) {
            method.populate_registration(&ctx, &mut flow)?;
        }
        self.run_before_hooks(tenant, FlowKind::Registration, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Registration, None, &flow)
            .await?;
        Ok(flow)
    }

    pub async fn get_registration_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Registration, id).await?.0)
    }

    /// `submitSelfServiceRegistrationFlow`: the method named by `method`
    /// builds the identity; this stores it, runs the hooks, signs in.
    pub async fn submit_registration(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<RegistrationSuccess>> {
        self.ensure_registration_enabled(tenant)?;
        let (mut flow, _) = self
            .load_flow(tenant, FlowKind::Registration, flow_id)
            .await?;
        check_csrf(&flow, submission)?;
        let method_id = strategy::method_of(&submission.body)
            .ok_or_else(|| Error::bad_request("the field `method` is missing"))?;
        let not_enabled = || {
            Error::bad_request(format!(
                "the registration method `{method_id}` is not enabled for this project"
            ))
        };
        let method = strategy::find(config(tenant), method_id).ok_or_else(not_enabled)?;
        flow.ui.reset_messages();
        flow.active = Some(method_id.to_owned());
        let ctx = Context {
            engine: self,
            tenant,
            submission: Some(submission),
        };
        let identity = match method.register(&ctx, &mut flow).await? {
            Some(Outcome::Done(identity)) => identity,
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
        self.finish_registration(tenant, flow, submission, method_id, identity)
            .await
    }

    /// What follows a method's new identity: the blocking hooks, storing
    /// it (an address taken is a message on the flow), the session and the
    /// verification mails. The sign-in provider's callback joins here.
    pub(crate) async fn finish_registration(
        &self,
        tenant: &TenantCtx,
        mut flow: Flow,
        submission: &Submission,
        method_id: &str,
        identity: Identity,
    ) -> Result<Submitted<RegistrationSuccess>> {
        let hooks = self.after_hooks(tenant, FlowKind::Registration, method_id);
        let url = self.schema_url(tenant, &identity.schema_id);
        let view = identity.view(&url, Exposure::Public, &[]);
        if self
            .refused_by_web_hooks(tenant, &mut flow, &hooks, &identity, &submission.request)
            .await?
        {
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let txn = self.db.begin_write().await?;
        if let Err(err) = identities::insert(&txn, tenant.project_id, &identity).await {
            drop(txn);
            duplicate_to_ui(&mut flow, err)?;
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let session = if hooks.has(SESSION) {
            Some(
                self.issue_session(&txn, tenant, &identity, method_id)
                    .await?,
            )
        } else {
            None
        };
        let mailed = self
            .send_verification_mails(&txn, tenant, &identity, &flow)
            .await?;
        txn.commit().await.map_err(sql::db_error)?;
        if mailed {
            self.wake_courier();
        }
        let event = HookEvent {
            tenant,
            flow: &flow,
            identity: Some(&identity),
            request: &submission.request,
        };
        self.fire_ignored_web_hooks(&hooks, &event).await;
        Ok(Submitted::done(
            RegistrationSuccess {
                identity: view,
                session: session
                    .as_ref()
                    .map(|(s, _)| self.session_view(tenant, s, &identity)),
                session_token: session.map(|(_, token)| token),
            },
            flow,
        ))
    }
}

pub(crate) fn has_errors(flow: &Flow) -> bool {
    flow.ui.messages.iter().any(|m| m.kind == "error")
        || flow
            .ui
            .nodes
            .iter()
            .any(|n| n.messages.iter().any(|m| m.kind == "error"))
}
