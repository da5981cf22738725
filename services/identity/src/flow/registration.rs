//! The registration flow for API clients and browsers, with the password
//! method, the `session` and `web_hook` hooks, and the verification mail
//! sent to every new address when verification is on.

use super::client::{Client, Submission, check_csrf};
use super::hooks::{HookEvent, SESSION};
use super::model::{Flow, FlowKind, UiNode, UiText, text};
use super::service::{
    Submitted, duplicate_to_ui, field, method_button, session_already_available,
    trait_errors_to_ui, trait_nodes,
};
use crate::engine::IdentityEngine;
use crate::identity::model::PASSWORD;
use crate::identity::service::IdentityDraft;
use crate::identity::store as identities;
use crate::identity::{Exposure, IdentityState, IdentityView};
use crate::policy::PasswordPolicy;
use crate::session::model::SessionView;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Serialize;
use serde_json::json;
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
    fn registration_nodes(&self, tenant: &TenantCtx) -> Result<Vec<UiNode>> {
        if !self.password_method_enabled(tenant) {
            return Ok(Vec::new());
        }
        let (schema, _) = self.schema(tenant, &self.default_schema_id(tenant)?)?;
        let mut nodes = trait_nodes(&schema, "password", None);
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
            UiText::info(text::REGISTRATION, "Sign up"),
        ));
        Ok(nodes)
    }

    fn ensure_registration_enabled(&self, tenant: &TenantCtx) -> Result<()> {
        if self.config_flag(tenant, "/selfservice/flows/registration/enabled", true) {
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
        let nodes = self.registration_nodes(tenant)?;
        let flow = self.flow_for(tenant, FlowKind::Registration, client, nodes);
        self.run_before_hooks(tenant, FlowKind::Registration, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Registration, None, &flow)
            .await?;
        Ok(flow)
    }

    pub async fn get_registration_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Registration, id).await?.0)
    }

    /// `submitSelfServiceRegistrationFlow` with `method=password`.
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
        let body = &submission.body;
        match field(body, "method") {
            Some(PASSWORD) if self.password_method_enabled(tenant) => {}
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "the registration method `{other}` is not enabled for this project"
                )));
            }
            None => return Err(Error::bad_request("the field `method` is missing")),
        }
        flow.ui.reset_messages();
        flow.active = Some(PASSWORD.to_owned());
        let password = field(body, "password").unwrap_or("").to_owned();
        let schema_id = self.default_schema_id(tenant)?;
        let (schema, _) = self.schema(tenant, &schema_id)?;
        let traits = submission.traits(&schema).unwrap_or_else(|| json!({}));
        for node in trait_nodes(&schema, "password", Some(&traits)) {
            if let Some(value) = node.attributes.get("value") {
                flow.ui.set_value(node.name(), value.clone());
            }
        }

        if let Err(errors) = schema.validate(&traits) {
            trait_errors_to_ui(&mut flow.ui, &errors);
        }
        if password.is_empty() {
            flow.ui.node_error("password", UiText::missing("password"));
        } else if traits.is_object() {
            let identifier = schema
                .extensions(&traits)
                .password_identifiers
                .into_iter()
                .next();
            let policy = PasswordPolicy::from_identity_config(&tenant.config.identity);
            if let Err(violation) = policy
                .check(&self.breaches, identifier.as_deref(), &password)
                .await
            {
                flow.ui.node_error(
                    "password",
                    UiText::error(violation.id, violation.text, Some(violation.context)),
                );
            }
        }
        if has_errors(&flow) {
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }

        let hash = self.hasher.hash(tenant.project_id, password).await?;
        let draft = IdentityDraft {
            schema_id,
            traits,
            state: IdentityState::Active,
            metadata_public: None,
            metadata_admin: None,
            password_hash: Some(hash),
            oidc: Vec::new(),
            verifiable_addresses: Vec::new(),
        };
        let identity = self.materialize(tenant, Uuid::new_v4(), draft, None)?;
        let hooks = self.after_hooks(tenant, FlowKind::Registration, PASSWORD);
        let url = self.schema_url(tenant, &identity.schema_id);
        let view = identity.view(&url, Exposure::Public, &[]);
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
        let txn = self.db.begin_write().await?;
        if let Err(err) = identities::insert(&txn, tenant.project_id, &identity).await {
            drop(txn);
            duplicate_to_ui(&mut flow, err)?;
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
        let session = if hooks.has(SESSION) {
            Some(
                self.issue_session(&txn, tenant, &identity, PASSWORD)
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
        self.fire_ignored_web_hooks(&hooks, &event).await;
        flow.active = Some(PASSWORD.to_owned());
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
