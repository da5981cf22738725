//! The provider's answer (`/self-service/methods/oidc/callback/{provider}`):
//! the state checked against the flow (and the browser), the code
//! exchanged, the ID token verified (or the user API asked), the claims
//! mapped to traits; then a known subject signs in, a new one registers
//! (or completes the traits on the registration form), and a settings
//! flow links the provider. Sign-in and registration go on through the
//! same steps as a form submission (`finish_login`,
//! `finish_registration`): hooks, sessions, mails. Whatever goes wrong
//! with the provider or the traits is put on the flow as a message, so
//! the person sees it on the flow's page.

use super::links::LinkAnswer;
use super::{find_provider, flow_context, redirect_uri};
use crate::engine::IdentityEngine;
use crate::flow::client::{Submission, constant_time_eq, flow_csrf_token};
use crate::flow::login::{LoginSuccess, Verdict};
use crate::flow::model::{Flow, FlowKind, UiText, text};
use crate::flow::registration::RegistrationSuccess;
use crate::flow::service::{Submitted, config};
use crate::identity::model::OIDC;
use crate::identity::store as identities;
use crate::identity::{Identity, IdentityState};
use crate::strategy::Authenticated;
use kernel::identity_config::{Aal, OidcProviderConfig};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The query the provider sends back (or the form it posts).
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Apple's one-time `user` field (the name), carried over from its
    /// form post.
    pub user: Option<String>,
}

/// Where the browser goes next.
pub enum CallbackAnswer {
    SignedIn {
        success: Box<LoginSuccess>,
        flow: Box<Flow>,
    },
    /// Registered (with a session if the `session` hook is on).
    Registered {
        success: Box<RegistrationSuccess>,
        flow: Box<Flow>,
    },
    /// A provider linked in the settings.
    Linked(Box<Flow>),
    /// The flow's page again, with its messages (or the form to complete).
    Show { kind: FlowKind, flow_id: Uuid },
}

fn state_invalid() -> Error {
    Error::bad_request("The sign-in could not be matched to a flow of this browser: start again.")
        .with_id("oidc_state_invalid")
}

/// The secrets the flow sealed when it sent the browser away, and the
/// traits typed on the form, if any.
struct Pending {
    state: String,
    pkce_verifier: String,
    nonce: String,
    traits: Option<Value>,
}

impl IdentityEngine {
    /// Handles the provider's answer for `provider_id`; `submission` is
    /// the browser's request (its anti-CSRF cookie binds a browser flow,
    /// its session cookie says who links a provider).
    pub async fn oidc_callback(
        &self,
        tenant: &TenantCtx,
        provider_id: &str,
        query: &CallbackQuery,
        submission: &Submission,
    ) -> Result<CallbackAnswer> {
        let state = query.state.as_deref().ok_or_else(state_invalid)?;
        let mut parts = state.splitn(3, '.');
        let kind = match parts.next() {
            Some("login") => FlowKind::Login,
            Some("registration") => FlowKind::Registration,
            Some("settings") => FlowKind::Settings,
            _ => return Err(state_invalid()),
        };
        let flow_id = parts
            .next()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(state_invalid)?;
        let secret = parts.next().ok_or_else(state_invalid)?;
        let (mut flow, owner) = self.load_flow(tenant, kind, flow_id).await?;
        let provider = find_provider(config(tenant), provider_id).ok_or_else(state_invalid)?;
        let pending = self.take_pending(
            tenant,
            &mut flow,
            provider_id,
            secret,
            submission.csrf_cookie.as_deref(),
        )?;
        // The answer is used once: whatever happens next, the flow keeps no
        // secrets for it.
        self.save_flow(tenant, &mut flow).await?;
        flow.ui.reset_messages();
        if let Some(error) = &query.error {
            let detail = query.error_description.as_deref().unwrap_or(error);
            let err = Error::bad_request(format!(
                "The sign-in provider did not sign you in: {detail}"
            ))
            .with_id(error.clone());
            return self.show_error(tenant, flow, kind, err).await;
        }
        let code = query.code.as_deref().ok_or_else(state_invalid)?;
        let mut claims = match self
            .oidc
            .exchange(
                &self.webhooks,
                tenant.project_id,
                provider,
                &redirect_uri(tenant, provider_id),
                super::provider::Answer {
                    code,
                    pkce_verifier: &pending.pkce_verifier,
                    nonce: &pending.nonce,
                },
            )
            .await
        {
            Ok(claims) => claims,
            Err(err) => return self.show_error(tenant, flow, kind, err).await,
        };
        if provider.provider == "apple"
            && let Some(user) = &query.user
        {
            super::apple::add_name(&mut claims, user);
        }
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        if subject.is_empty() {
            let err = Error::bad_request(format!(
                "The sign-in provider `{provider_id}` named no subject."
            ))
            .with_id("oidc_provider_failed");
            return self.show_error(tenant, flow, kind, err).await;
        }
        if kind == FlowKind::Settings {
            let answer = LinkAnswer {
                flow,
                owner,
                submission,
                provider_id,
                subject: &subject,
            };
            return Ok(match self.complete_link(tenant, answer).await? {
                Submitted::Done { flow, .. } => CallbackAnswer::Linked(flow),
                Submitted::Invalid(flow) => CallbackAnswer::Show {
                    kind,
                    flow_id: flow.id,
                },
            });
        }
        let mapped = match self.map_claims(tenant, provider, &claims).await {
            Ok(traits) => traits,
            Err(err) => return self.show_error(tenant, flow, kind, err).await,
        };
        let identifier = format!("{provider_id}:{subject}");
        let known =
            identities::find_id_by_identifier(&self.db.conn, tenant.project_id, OIDC, &identifier)
                .await?;
        let identity = match known {
            Some(id) => identities::find(&self.db.conn, tenant.project_id, id)
                .await?
                .filter(|i| i.state == IdentityState::Active),
            None => None,
        };
        if let Some(identity) = identity {
            return self
                .oidc_sign_in(tenant, flow, kind, owner, submission, identity)
                .await;
        }
        if known.is_some() {
            // An inactive identity: the same answer as wrong credentials.
            flow.ui.messages.push(UiText::error(
                text::INVALID_CREDENTIALS,
                "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(CallbackAnswer::Show {
                kind,
                flow_id: flow.id,
            });
        }
        let registration = super::register::Registration {
            flow,
            kind,
            submission,
            provider,
            subject: &subject,
            traits: super::register::merge_traits(pending.traits, mapped),
        };
        self.oidc_register(tenant, registration).await
    }

    /// Checks `secret` and the browser against what the flow sealed, and
    /// takes the sealed secrets out of it.
    fn take_pending(
        &self,
        tenant: &TenantCtx,
        flow: &mut Flow,
        provider_id: &str,
        secret: &str,
        csrf_cookie: Option<&str>,
    ) -> Result<Pending> {
        let stored = flow
            .internal
            .get("oidc")
            .cloned()
            .ok_or_else(state_invalid)?;
        if stored["provider"].as_str() != Some(provider_id) {
            return Err(state_invalid());
        }
        if flow.flow_type == crate::flow::client::BROWSER {
            let expected = flow_csrf_token(flow).unwrap_or("");
            if !csrf_cookie.is_some_and(|c| !expected.is_empty() && constant_time_eq(c, expected)) {
                return Err(state_invalid());
            }
        }
        let sealed = stored["sealed"].as_str().ok_or_else(state_invalid)?;
        let opened = super::super::cipher(tenant)?
            .open(&flow_context(tenant, flow.id), sealed)
            .map_err(|_| state_invalid())?;
        let secrets: Value = serde_json::from_str(&opened).map_err(|_| state_invalid())?;
        let text = |key: &str| secrets[key].as_str().unwrap_or_default().to_owned();
        let pending = Pending {
            state: text("state"),
            pkce_verifier: text("pkce_verifier"),
            nonce: text("nonce"),
            traits: stored.get("traits").filter(|t| t.is_object()).cloned(),
        };
        if pending.state.is_empty() || !constant_time_eq(&pending.state, secret) {
            return Err(state_invalid());
        }
        if let Some(map) = flow.internal.as_object_mut() {
            map.remove("oidc");
        }
        Ok(pending)
    }

    /// The traits the provider's mapper makes of `claims`
    /// (`{identity: {traits: …}}`, as Kratos' mappers return); without a
    /// mapper, the e-mail claim as the `email` trait.
    async fn map_claims(
        &self,
        tenant: &TenantCtx,
        provider: &OidcProviderConfig,
        claims: &Value,
    ) -> Result<Value> {
        let Some(mapper) = &provider.mapper_url else {
            return Ok(match claims.get("email") {
                Some(email) => json!({ "email": email }),
                None => json!({}),
            });
        };
        let mapped = self
            .webhooks
            .map_claims(tenant.project_id, mapper, claims)
            .await
            .map_err(|e| {
                Error::bad_request(format!(
                    "The claims mapper of `{}` failed: {e}",
                    provider.id
                ))
                .with_id("oidc_mapper_failed")
            })?;
        let traits = mapped
            .pointer("/identity/traits")
            .cloned()
            .unwrap_or(Value::Null);
        if !traits.is_object() {
            return Err(Error::bad_request(format!(
                "The claims mapper of `{}` returned no `identity.traits` object.",
                provider.id
            ))
            .with_id("oidc_mapper_failed"));
        }
        Ok(traits)
    }

    async fn show_error(
        &self,
        tenant: &TenantCtx,
        mut flow: Flow,
        kind: FlowKind,
        err: Error,
    ) -> Result<CallbackAnswer> {
        if err.kind != kernel::ErrorKind::BadRequest {
            return Err(err);
        }
        flow.ui.messages.push(UiText::error(
            text::VALIDATION_GENERIC,
            err.reason.clone().unwrap_or_else(|| err.message.clone()),
            err.id.as_ref().map(|id| json!({ "reason": id })),
        ));
        self.save_flow(tenant, &mut flow).await?;
        Ok(CallbackAnswer::Show {
            kind,
            flow_id: flow.id,
        })
    }

    async fn oidc_sign_in(
        &self,
        tenant: &TenantCtx,
        flow: Flow,
        kind: FlowKind,
        owner: Option<Uuid>,
        submission: &Submission,
        identity: Identity,
    ) -> Result<CallbackAnswer> {
        let current = self
            .current_session(tenant, submission.session_token.as_deref())
            .await
            .filter(|(session, _)| Some(session.identity_id) == owner);
        let verdict = Verdict {
            method_id: OIDC,
            aal: Aal::Aal1,
            authenticated: Authenticated {
                identity,
                identifier: None,
            },
        };
        Ok(
            match self
                .finish_login(tenant, flow, submission, current, verdict)
                .await?
            {
                Submitted::Done { value, flow } => CallbackAnswer::SignedIn {
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
}
