//! The provider's answer (`/self-service/methods/oidc/callback/{provider}`):
//! the state checked against the flow (and the browser), the code
//! exchanged, the ID token verified, the claims mapped to traits; then a
//! known subject signs in and a new one registers. Whatever goes wrong with
//! the provider or the traits is put on the flow as a message, so the
//! person sees it on the flow's page.

use super::{find_provider, flow_context, redirect_uri};
use crate::engine::IdentityEngine;
use crate::flow::client::{constant_time_eq, flow_csrf_token};
use crate::flow::hooks::SESSION;
use crate::flow::model::{Flow, FlowKind, UiText, text};
use crate::flow::service::{config, duplicate_to_ui, trait_errors_to_ui};
use crate::identity::model::{OIDC, OidcLink};
use crate::identity::service::IdentityDraft;
use crate::identity::store as identities;
use crate::identity::{Identity, IdentityState};
use chrono::{DateTime, Utc};
use kernel::identity_config::OidcProviderConfig;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use store::sql;
use uuid::Uuid;

/// The query the provider sends back.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the browser goes next.
pub enum CallbackAnswer {
    /// Signed in (or registered with a session): with the session's token.
    SignedIn {
        session_token: String,
        expires_at: DateTime<Utc>,
        return_to: String,
    },
    /// The flow again, with a message (or registered without a session).
    Show { kind: FlowKind, flow_id: Uuid },
}

fn state_invalid() -> Error {
    Error::bad_request("The sign-in could not be matched to a flow of this browser: start again.")
        .with_id("oidc_state_invalid")
}

/// The secrets the flow sealed when it sent the browser away.
struct Pending {
    state: String,
    pkce_verifier: String,
    nonce: String,
}

impl IdentityEngine {
    /// Handles the provider's answer for `provider_id`; `csrf_cookie` is the
    /// browser's anti-CSRF cookie (the binding of a browser flow).
    pub async fn oidc_callback(
        &self,
        tenant: &TenantCtx,
        provider_id: &str,
        query: &CallbackQuery,
        csrf_cookie: Option<&str>,
    ) -> Result<CallbackAnswer> {
        let state = query.state.as_deref().ok_or_else(state_invalid)?;
        let mut parts = state.splitn(3, '.');
        let kind = match parts.next() {
            Some("login") => FlowKind::Login,
            Some("registration") => FlowKind::Registration,
            _ => return Err(state_invalid()),
        };
        let flow_id = parts
            .next()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(state_invalid)?;
        let secret = parts.next().ok_or_else(state_invalid)?;
        let (mut flow, _) = self.load_flow(tenant, kind, flow_id).await?;
        let provider = find_provider(config(tenant), provider_id).ok_or_else(state_invalid)?;
        let pending = self.take_pending(tenant, &mut flow, provider_id, secret, csrf_cookie)?;
        // The answer is used once: whatever happens next, the flow keeps no
        // secrets for it.
        self.save_flow(tenant, &mut flow).await?;
        let show = |flow: &Flow| CallbackAnswer::Show {
            kind,
            flow_id: flow.id,
        };
        if let Some(error) = &query.error {
            let detail = query.error_description.as_deref().unwrap_or(error);
            flow.ui.messages.push(UiText::error(
                text::VALIDATION_GENERIC,
                format!("The sign-in provider did not sign you in: {detail}"),
                Some(json!({ "reason": error })),
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(show(&flow));
        }
        let code = query.code.as_deref().ok_or_else(state_invalid)?;
        let claims = match self
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
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        let traits = match self.map_claims(tenant, provider, &claims).await {
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
            return self.oidc_sign_in(tenant, &flow, &identity).await;
        }
        if known.is_some() {
            // An inactive identity: the same answer as wrong credentials.
            flow.ui.messages.push(UiText::error(
                text::INVALID_CREDENTIALS,
                "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(show(&flow));
        }
        self.oidc_register(tenant, flow, kind, provider_id, &subject, traits)
            .await
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
        flow: &Flow,
        identity: &Identity,
    ) -> Result<CallbackAnswer> {
        let txn = self.db.begin_write().await?;
        let (session, token) = self.issue_session(&txn, tenant, identity, OIDC).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(CallbackAnswer::SignedIn {
            session_token: token,
            expires_at: session.expires_at,
            return_to: self.after_url(
                tenant,
                FlowKind::Login,
                Some(OIDC),
                flow.return_to.as_deref(),
            ),
        })
    }

    /// A new subject: registered with the mapped traits and the link, if
    /// registration is on and the traits are valid and free.
    async fn oidc_register(
        &self,
        tenant: &TenantCtx,
        mut flow: Flow,
        kind: FlowKind,
        provider_id: &str,
        subject: &str,
        traits: Value,
    ) -> Result<CallbackAnswer> {
        let show = |flow: &Flow| CallbackAnswer::Show {
            kind,
            flow_id: flow.id,
        };
        if !config(tenant).registration.enabled {
            flow.ui.messages.push(UiText::error(
                text::VALIDATION_GENERIC,
                "This account does not exist here, and registration is disabled.",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(show(&flow));
        }
        let schema_id = self.default_schema_id(tenant)?;
        let (schema, _) = self.schema(tenant, &schema_id)?;
        if let Err(errors) = schema.validate(&traits) {
            trait_errors_to_ui(&mut flow.ui, &errors);
            self.save_flow(tenant, &mut flow).await?;
            return Ok(show(&flow));
        }
        let draft = IdentityDraft {
            schema_id,
            traits,
            state: IdentityState::Active,
            metadata_public: None,
            metadata_admin: None,
            password_hash: None,
            oidc: vec![OidcLink {
                provider: provider_id.to_owned(),
                subject: subject.to_owned(),
            }],
            verifiable_addresses: Vec::new(),
        };
        let identity = self.materialize(tenant, Uuid::new_v4(), draft, None)?;
        let hooks = self.after_hooks(tenant, FlowKind::Registration, OIDC);
        let txn = self.db.begin_write().await?;
        if let Err(err) = identities::insert(&txn, tenant.project_id, &identity).await {
            drop(txn);
            // The address belongs to an existing account: never taken over
            // silently; the person signs in and links the provider.
            duplicate_to_ui(&mut flow, err)?;
            self.save_flow(tenant, &mut flow).await?;
            return Ok(show(&flow));
        }
        let session = if hooks.has(SESSION) {
            Some(self.issue_session(&txn, tenant, &identity, OIDC).await?)
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
        Ok(match session {
            Some((session, token)) => CallbackAnswer::SignedIn {
                session_token: token,
                expires_at: session.expires_at,
                return_to: self.after_url(
                    tenant,
                    FlowKind::Registration,
                    Some(OIDC),
                    flow.return_to.as_deref(),
                ),
            },
            None => show(&flow),
        })
    }
}
