//! A new subject at the provider's callback: registered with the mapped
//! traits (completed by those typed on the form, if any) and the link; or,
//! when the traits do not pass the schema, Kratos' form to complete them
//! (on a registration flow, a new one if the person started on the sign-in
//! page), whose "Continue" goes through the provider again.

use super::callback::CallbackAnswer;
use super::provider_button;
use crate::engine::IdentityEngine;
use crate::flow::client::{Submission, flow_csrf_token};
use crate::flow::model::{Flow, FlowKind, UiText, text};
use crate::flow::service::{Submitted, config, trait_errors_to_ui, trait_nodes};
use crate::identity::IdentityState;
use crate::identity::model::{OIDC, OidcLink};
use crate::identity::service::IdentityDraft;
use kernel::Result;
use kernel::identity_config::OidcProviderConfig;
use kernel::tenant::TenantCtx;
use serde_json::{Value, json};
use uuid::Uuid;

/// A new subject to register.
pub(super) struct Registration<'a> {
    pub flow: Flow,
    pub kind: FlowKind,
    pub submission: &'a Submission,
    pub provider: &'a OidcProviderConfig,
    pub subject: &'a str,
    pub traits: Value,
}

/// `submitted` completed by `mapped`: what the provider says wins, except
/// where it says nothing (null or empty), as Kratos merges them.
pub(super) fn merge_traits(submitted: Option<Value>, mapped: Value) -> Value {
    fn merge(into: &mut Value, from: Value) {
        match (into, from) {
            (Value::Object(into), Value::Object(from)) => {
                for (key, value) in from {
                    match into.get_mut(&key) {
                        Some(existing) => merge(existing, value),
                        None => {
                            into.insert(key, value);
                        }
                    }
                }
            }
            (_, Value::Null) => {}
            (_, Value::String(s)) if s.is_empty() => {}
            (into, from) => *into = from,
        }
    }
    let mut traits = submitted
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    merge(&mut traits, mapped);
    traits
}

impl IdentityEngine {
    /// A new subject: registered with the traits and the link, if
    /// registration is on and the traits are valid and free; traits that
    /// do not pass go to the registration form, filled with what there is.
    pub(super) async fn oidc_register(
        &self,
        tenant: &TenantCtx,
        registration: Registration<'_>,
    ) -> Result<CallbackAnswer> {
        let Registration {
            mut flow,
            kind,
            submission,
            provider,
            subject,
            traits,
        } = registration;
        if !config(tenant).registration.enabled {
            flow.ui.messages.push(UiText::error(
                text::VALIDATION_GENERIC,
                "This account does not exist here, and registration is disabled.",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(CallbackAnswer::Show {
                kind,
                flow_id: flow.id,
            });
        }
        let schema_id = self.default_schema_id(tenant)?;
        let (schema, _) = self.schema(tenant, &schema_id)?;
        if let Err(errors) = schema.validate(&traits) {
            let mut flow = match kind {
                FlowKind::Registration => flow,
                _ => self.registration_flow_like(tenant, &flow).await?,
            };
            // Kratos' form to complete: the traits (in the provider's
            // group, so its button sends them) and "Continue".
            flow.ui.nodes.retain(|n| n.name() == "csrf_token");
            flow.ui
                .nodes
                .extend(trait_nodes(&schema, OIDC, Some(&traits)));
            flow.ui.nodes.push(provider_button(
                provider,
                "provider",
                text::REGISTRATION_CONTINUE,
                "Continue".to_owned(),
            ));
            trait_errors_to_ui(&mut flow.ui, &errors);
            flow.active = Some(OIDC.to_owned());
            self.save_flow(tenant, &mut flow).await?;
            return Ok(CallbackAnswer::Show {
                kind: FlowKind::Registration,
                flow_id: flow.id,
            });
        }
        let draft = IdentityDraft {
            schema_id,
            traits,
            state: IdentityState::Active,
            metadata_public: None,
            metadata_admin: None,
            password_hash: None,
            oidc: vec![OidcLink {
                provider: provider.id.clone(),
                subject: subject.to_owned(),
            }],
            verifiable_addresses: Vec::new(),
        };
        let identity = self.materialize(tenant, Uuid::new_v4(), draft, None)?;
        Ok(
            match self
                .finish_registration(tenant, flow, submission, OIDC, identity)
                .await?
            {
                Submitted::Done { value, flow } => CallbackAnswer::Registered {
                    success: Box::new(value),
                    flow,
                },
                Submitted::Invalid(flow) => CallbackAnswer::Show {
                    kind,
                    flow_id: flow.id,
                },
            },
        )
    }

    /// A registration flow for the browser of the login flow `login` (a
    /// sign-in with a new subject whose traits need completing).
    async fn registration_flow_like(&self, tenant: &TenantCtx, login: &Flow) -> Result<Flow> {
        let mut flow = self.new_flow(
            tenant,
            FlowKind::Registration,
            login.request_url.clone(),
            Vec::new(),
        );
        flow.flow_type = login.flow_type.clone();
        flow.return_to = login.return_to.clone();
        if let Some(token) = flow_csrf_token(login) {
            flow.ui.set_value("csrf_token", json!(token));
        }
        self.store_flow(tenant, FlowKind::Registration, None, &flow)
            .await?;
        Ok(flow)
    }
}
