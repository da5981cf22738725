//! The login flow for API clients and browsers, with the password method
//! and the `require_verified_address`, `revoke_active_sessions` and
//! `web_hook` hooks.

use super::client::{Client, Submission, check_csrf};
use super::hooks::{HookEvent, REQUIRE_VERIFIED_ADDRESS, REVOKE_ACTIVE_SESSIONS};
use super::model::{Flow, FlowKind, UiNode, UiText, text};
use super::service::{Submitted, field, method_button, session_already_available};
use super::throttle::throttled_message;
use crate::engine::IdentityEngine;
use crate::identity::IdentityState;
use crate::identity::model::PASSWORD;
use crate::identity::store as identities;
use crate::schema::normalize_identifier;
use crate::session::model::SessionView;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Serialize;
use serde_json::json;
use store::sql;
use uuid::Uuid;

/// `successfulSelfServiceLoginWithoutBrowser`.
#[derive(Debug, Serialize)]
pub struct LoginSuccess {
    pub session: SessionView,
    pub session_token: String,
}

fn login_nodes() -> Vec<UiNode> {
    vec![
        UiNode::input(
            "default",
            "identifier",
            "text",
            Some(json!("")),
            true,
            Some(UiText::info(text::LABEL_ID, "ID")),
        ),
        UiNode::input(
            "password",
            "password",
            "password",
            None,
            true,
            Some(UiText::info(text::LABEL_PASSWORD, "Password")),
        ),
        method_button("password", "password", UiText::info(text::LOGIN, "Sign in")),
    ]
}

impl IdentityEngine {
    /// `initializeSelfServiceLoginFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_login(
        &self,
        tenant: &TenantCtx,
        client: &Client,
        refresh: bool,
        aal: Option<String>,
    ) -> Result<Flow> {
        if let Some(token) = client.session_token.as_deref()
            && !refresh
            && self.authenticate_session(tenant, token).await.is_ok()
        {
            return Err(session_already_available());
        }
        if let Some(aal) = aal.as_deref()
            && !matches!(aal, "aal1" | "aal2")
        {
            return Err(Error::bad_request(format!("unknown `aal` {aal}")));
        }
        let nodes = if self.password_method_enabled(tenant) {
            login_nodes()
        } else {
            Vec::new()
        };
        let mut flow = self.flow_for(tenant, FlowKind::Login, client, nodes);
        flow.refresh = Some(refresh);
        flow.requested_aal = Some(aal.unwrap_or_else(|| "aal1".to_owned()));
        self.run_before_hooks(tenant, FlowKind::Login, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Login, None, &flow)
            .await?;
        Ok(flow)
    }

    pub async fn get_login_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Login, id).await?.0)
    }

    /// `submitSelfServiceLoginFlow` with `method=password`.
    pub async fn submit_login(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<LoginSuccess>> {
        let (mut flow, _) = self.load_flow(tenant, FlowKind::Login, flow_id).await?;
        check_csrf(&flow, submission)?;
        let body = &submission.body;
        match field(body, "method") {
            Some(PASSWORD) if self.password_method_enabled(tenant) => {}
            Some(other) => {
                return Err(Error::bad_request(format!(
                    "the login method `{other}` is not enabled for this project"
                )));
            }
            None => return Err(Error::bad_request("the field `method` is missing")),
        }
        flow.ui.reset_messages();
        flow.active = Some(PASSWORD.to_owned());
        let identifier = field(body, "identifier")
            .or_else(|| field(body, "password_identifier"))
            .unwrap_or("");
        let password = field(body, "password").unwrap_or("");
        flow.ui.set_value("identifier", json!(identifier));
        let mut missing = false;
        for (name, value) in [("identifier", identifier), ("password", password)] {
            if value.is_empty() {
                missing = true;
                flow.ui.node_error(name, UiText::missing(name));
            }
        }
        if missing {
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }

        let normalized = normalize_identifier(identifier);
        // While in back-off the attempt is refused before any lookup or
        // hashing: that work is what guessing would cost us. The answer is
        // the same whether the identifier exists or not.
        let now_ms = u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0);
        let counted = match self
            .login_throttle
            .attempt(tenant, &normalized, submission.request.client_ip, now_ms)
            .await
        {
            Ok(counted) => counted,
            Err(wait_secs) => {
                flow.ui.messages.push(throttled_message(wait_secs));
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::Invalid(Box::new(flow)));
            }
        };
        let identity = match identities::find_id_by_identifier(
            &self.db.conn,
            tenant.project_id,
            PASSWORD,
            &normalized,
        )
        .await?
        {
            Some(id) => identities::find(&self.db.conn, tenant.project_id, id).await?,
            None => None,
        };
        let stored_hash = identity
            .as_ref()
            .and_then(|i| i.credential(PASSWORD))
            .and_then(|c| c.hashed_password())
            .map(str::to_owned);
        let verified = match &stored_hash {
            Some(hash) => {
                self.hasher
                    .verify(tenant.project_id, password.to_owned(), hash.clone())
                    .await?
            }
            None => {
                // Spend the same time as a real check, so response times do
                // not tell which identifiers exist.
                self.hasher
                    .hash(tenant.project_id, password.to_owned())
                    .await?;
                false
            }
        };
        let identity = match identity {
            Some(identity) if verified && identity.state == IdentityState::Active => {
                self.login_throttle.succeeded(counted).await;
                identity
            }
            _ => {
                flow.ui.messages.push(UiText::error(
                    text::INVALID_CREDENTIALS,
                    "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
                    None,
                ));
                self.save_flow(tenant, &mut flow).await?;
                return Ok(Submitted::Invalid(Box::new(flow)));
            }
        };

        let hooks = self.after_hooks(tenant, FlowKind::Login, PASSWORD);
        if hooks.has(REQUIRE_VERIFIED_ADDRESS) && !identifier_verified(&identity, identifier) {
            flow.ui.messages.push(UiText::error(
                text::ADDRESS_NOT_VERIFIED,
                "Account not active yet. Did you forget to verify your email address?",
                None,
            ));
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        }
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

        // An imported or outdated hash is upgraded to the configured hasher.
        let rehash = match &stored_hash {
            Some(hash) if self.hasher.needs_rehash(hash) => Some(
                self.hasher
                    .hash(tenant.project_id, password.to_owned())
                    .await?,
            ),
            _ => None,
        };
        let txn = self.db.begin_write().await?;
        if let (Some(new_hash), Some(credential)) = (rehash, identity.credential(PASSWORD)) {
            identities::update_credential_config(
                &txn,
                tenant.project_id,
                credential.id,
                &json!({ "hashed_password": new_hash }),
                self.clock.now(),
            )
            .await?;
        }
        let (session, token) = self
            .issue_session(&txn, tenant, &identity, PASSWORD)
            .await?;
        txn.commit().await.map_err(sql::db_error)?;
        // The `revoke_active_sessions` hook ends every other session of the
        // identity; a refresh replaces the session it re-authenticated.
        if hooks.has(REVOKE_ACTIVE_SESSIONS) {
            self.revoke(tenant, identity.id, Some(session.id), None)
                .await?;
        } else if flow.refresh == Some(true)
            && let Some(old) = submission.session_token.as_deref()
            && let Ok((old, _)) = self.authenticate_session(tenant, old).await
            && old.identity_id == identity.id
        {
            self.revoke(tenant, identity.id, None, Some(old.id)).await?;
        }
        let event = HookEvent {
            tenant,
            flow: &flow,
            identity: Some(&identity),
            request: &submission.request,
        };
        self.fire_ignored_web_hooks(&hooks, &event).await;
        flow.active = Some(PASSWORD.to_owned());
        Ok(Submitted::done(
            LoginSuccess {
                session: self.session_view(tenant, &session, &identity),
                session_token: token,
            },
            flow,
        ))
    }
}

/// Whether the address the user logged in with (or, failing that, any of
/// the identity's addresses) is verified.
fn identifier_verified(identity: &crate::identity::Identity, identifier: &str) -> bool {
    let identifier = normalize_identifier(identifier);
    let addresses = &identity.verifiable_addresses;
    match addresses.iter().find(|a| a.value == identifier) {
        Some(address) => address.verified,
        None => addresses.iter().any(|a| a.verified),
    }
}
