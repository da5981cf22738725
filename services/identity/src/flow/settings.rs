//! The settings flow for API clients and browsers: `profile` (traits) and
//! `password`, then the `web_hook` hooks.
//! Only the flow's own identity, with a valid session, may read or submit
//! it; a password change (and a change of login identifiers) needs a
//! privileged session (authenticated within `privileged_session_max_age`).

use super::client::{Client, Submission, check_csrf, flow_csrf_token};
use super::hooks::HookEvent;
use super::model::{Flow, FlowKind, UiNode, UiText, text};
use super::registration::has_errors;
use super::service::{
    Submitted, duplicate_to_ui, field, method_button, trait_errors_to_ui, trait_nodes,
};
use crate::engine::IdentityEngine;
use crate::identity::model::PASSWORD;
use crate::identity::service::IdentityDraft;
use crate::identity::{Exposure, Identity};
use crate::policy::PasswordPolicy;
use crate::session::model::Session;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const DEFAULT_PRIVILEGED_MAX_AGE: Duration = Duration::from_secs(15 * 60);

fn refresh_required() -> Error {
    Error::forbidden("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
        .with_id("session_refresh_required")
        .with_message("The login session is too old and thus not allowed to update these fields.")
}

impl IdentityEngine {
    fn settings_nodes(&self, tenant: &TenantCtx, identity: &Identity) -> Result<Vec<UiNode>> {
        let (schema, _) = self.schema(tenant, &identity.schema_id)?;
        let mut nodes = Vec::new();
        if self.config_flag(tenant, "/selfservice/methods/profile/enabled", true) {
            nodes.extend(trait_nodes(&schema, "profile", Some(&identity.traits)));
            nodes.push(method_button(
                "profile",
                "profile",
                UiText::info(text::LABEL_SAVE, "Save"),
            ));
        }
        if self.password_method_enabled(tenant) {
            nodes.push(UiNode::input(
                "password",
                "password",
                "password",
                None,
                true,
                Some(UiText::info(text::LABEL_PASSWORD, "Password")),
            ));
            nodes.push(method_button(
                "password",
                "password",
                UiText::info(text::LABEL_SAVE, "Save"),
            ));
        }
        Ok(nodes)
    }

    pub(crate) fn public_identity(&self, tenant: &TenantCtx, identity: &Identity) -> Result<Value> {
        let url = self.schema_url(tenant, &identity.schema_id);
        serde_json::to_value(identity.view(&url, Exposure::Public, &[])).map_err(Error::internal)
    }

    fn is_privileged(&self, tenant: &TenantCtx, session: &Session) -> bool {
        let max_age = self.config_duration(
            tenant,
            "/selfservice/flows/settings/privileged_session_max_age",
            DEFAULT_PRIVILEGED_MAX_AGE,
        );
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::minutes(15));
        session.authenticated_at + max_age > self.clock.now()
    }

    /// `initializeSelfServiceSettingsFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_settings(&self, tenant: &TenantCtx, client: &Client) -> Result<Flow> {
        let token = client
            .session_token
            .as_deref()
            .ok_or_else(crate::session::service::no_active_session)?;
        let (_, identity) = self.authenticate_session(tenant, token).await?;
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
        let nodes = self.settings_nodes(tenant, identity)?;
        let mut flow = self.flow_for(tenant, FlowKind::Settings, client, nodes);
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
        let (session, identity) = self.authenticate_session(tenant, session_token).await?;
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

    /// `submitSelfServiceSettingsFlow` with `method=profile` or `method=password`.
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
        let body = &submission.body;
        flow.ui.reset_messages();
        let method = field(body, "method")
            .ok_or_else(|| Error::bad_request("the field `method` is missing"))?;
        // Blocking web hooks run before the change is written (with the
        // identity as it is), so a refusal leaves it untouched.
        let hooks = self.after_hooks(tenant, FlowKind::Settings, method);
        let event = HookEvent {
            tenant,
            flow: &flow,
            identity: Some(&identity),
            request: &submission.request,
        };
        if let Err(message) = self.run_blocking_web_hooks(&hooks, &event).await {
            flow.ui.messages.push(message);
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let updated = match method {
            "profile" if self.config_flag(tenant, "/selfservice/methods/profile/enabled", true) => {
                self.settings_profile(tenant, &mut flow, &session, &identity, submission)
                    .await?
            }
            PASSWORD if self.password_method_enabled(tenant) => {
                self.settings_password(tenant, &mut flow, &session, &identity, body)
                    .await?
            }
            other => {
                return Err(Error::bad_request(format!(
                    "the settings method `{other}` is not enabled for this project"
                )));
            }
        };
        flow.active = Some(method.to_owned());
        let Some(updated) = updated else {
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        };
        flow.state = Some("success".to_owned());
        flow.identity = Some(self.public_identity(tenant, &updated)?);
        let csrf = flow_csrf_token(&flow).unwrap_or("").to_owned();
        flow.ui.nodes = self.settings_nodes(tenant, &updated)?;
        flow.ui.nodes.insert(
            0,
            UiNode::input(
                "default",
                "csrf_token",
                "hidden",
                Some(json!(csrf)),
                true,
                None,
            ),
        );
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

    /// Returns the updated identity, or `None` with messages on the flow.
    async fn settings_profile(
        &self,
        tenant: &TenantCtx,
        flow: &mut Flow,
        session: &Session,
        identity: &Identity,
        submission: &Submission,
    ) -> Result<Option<Identity>> {
        let (schema, _) = self.schema(tenant, &identity.schema_id)?;
        let traits = submission
            .traits(&schema)
            .ok_or_else(|| Error::bad_request("the field `traits` is missing"))?;
        for node in trait_nodes(&schema, "profile", Some(&traits)) {
            if let Some(value) = node.attributes.get("value") {
                flow.ui.set_value(node.name(), value.clone());
            }
        }
        if let Err(errors) = schema.validate(&traits) {
            trait_errors_to_ui(&mut flow.ui, &errors);
            return Ok(None);
        }
        let before = schema.extensions(&identity.traits);
        let after = schema.extensions(&traits);
        if before.password_identifiers != after.password_identifiers
            && !self.is_privileged(tenant, session)
        {
            return Err(refresh_required());
        }
        let draft = IdentityDraft {
            traits,
            ..IdentityDraft::keeping(identity)
        };
        match self
            .replace_identity(tenant, identity.id, |_| Ok(draft))
            .await
        {
            Ok(updated) => Ok(Some(updated)),
            Err(err) => {
                duplicate_to_ui(flow, err)?;
                Ok(None)
            }
        }
    }

    async fn settings_password(
        &self,
        tenant: &TenantCtx,
        flow: &mut Flow,
        session: &Session,
        identity: &Identity,
        body: &Value,
    ) -> Result<Option<Identity>> {
        if !self.is_privileged(tenant, session) {
            return Err(refresh_required());
        }
        let password = field(body, "password").unwrap_or("").to_owned();
        if password.is_empty() {
            flow.ui.node_error("password", UiText::missing("password"));
            return Ok(None);
        }
        let identifier = identity
            .credential(PASSWORD)
            .and_then(|c| c.identifiers.first().cloned());
        let policy = PasswordPolicy::from_identity_config(&tenant.config.identity);
        if let Err(violation) = policy
            .check(&self.breaches, identifier.as_deref(), &password)
            .await
        {
            flow.ui.node_error(
                "password",
                UiText::error(violation.id, violation.text, Some(violation.context)),
            );
            return Ok(None);
        }
        debug_assert!(!has_errors(flow));
        let hash = self.hasher.hash(tenant.project_id, password).await?;
        let draft = IdentityDraft {
            password_hash: Some(hash),
            ..IdentityDraft::keeping(identity)
        };
        Ok(Some(
            self.replace_identity(tenant, identity.id, |_| Ok(draft))
                .await?,
        ))
    }
}
