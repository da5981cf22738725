//! Address verification with the `link` method: a verification mail goes
//! to every new address at registration and to any address asked for in a
//! verification flow ("invalid" mail for unknown addresses, same answer).
//! Following the link marks the address verified (`verified_at`, status
//! `completed`).

use super::client::{Client, Submission, check_csrf};
use super::hooks::HookEvent;
use super::mail::{MailTemplate, model};
use super::model::{Flow, FlowKind, UiText, text};
use super::recovery::{LINK, chrono_duration, email_nodes, link_email};
use super::service::Submitted;
use super::tokens::{self, NewToken, TokenKind};
use crate::engine::IdentityEngine;
use crate::identity::Identity;
use crate::identity::store as identities;
use crate::session::service::new_token;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use store::sql;
use uuid::Uuid;

impl IdentityEngine {
    fn verification_enabled(&self, tenant: &TenantCtx) -> bool {
        super::service::config(tenant).verification.enabled
    }

    fn ensure_verification_enabled(&self, tenant: &TenantCtx) -> Result<()> {
        if self.verification_enabled(tenant) {
            Ok(())
        } else {
            Err(Error::bad_request(
                "The verification flow is disabled for this project.",
            ))
        }
    }

    /// `initializeSelfServiceVerificationFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_verification(&self, tenant: &TenantCtx, client: &Client) -> Result<Flow> {
        self.ensure_verification_enabled(tenant)?;
        let flow = self.verification_flow(tenant, client);
        self.run_before_hooks(tenant, FlowKind::Verification, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Verification, None, &flow)
            .await?;
        Ok(flow)
    }

    fn verification_flow(&self, tenant: &TenantCtx, client: &Client) -> Flow {
        let mut flow = self.flow_for(tenant, FlowKind::Verification, client, email_nodes(None));
        flow.state = Some("choose_method".to_owned());
        flow.active = Some(LINK.to_owned());
        flow
    }

    pub async fn get_verification_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Verification, id).await?.0)
    }

    /// Queues a verification mail for `address_id` of `identity`, tied to
    /// `flow`; run inside the caller's transaction.
    async fn queue_verification<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantCtx,
        identity: &Identity,
        address_id: Uuid,
        address: &str,
        flow: &Flow,
    ) -> Result<()> {
        let now = self.clock.now();
        let token = new_token();
        tokens::insert(
            conn,
            tenant.project_id,
            NewToken {
                kind: TokenKind::Verification,
                identity_id: identity.id,
                address_id: Some(address_id),
                flow_id: flow.id,
                token: &token,
                expires_at: now + chrono_duration(self.link_lifespan(tenant)),
            },
            now,
        )
        .await?;
        let url = format!(
            "{}/self-service/verification?flow={}&token={token}",
            tenant.public_url, flow.id
        );
        let identity_json = self.public_identity(tenant, identity)?;
        self.queue_mail(
            conn,
            tenant,
            MailTemplate::VerificationValid,
            address,
            &model(
                address,
                Some(("VerificationURL", &url)),
                Some(identity_json),
            ),
            &[&token],
        )
        .await?;
        identities::mark_address_sent(conn, tenant.project_id, address_id, now).await
    }

    /// After a registration: a verification flow and mail for every address
    /// not yet verified, when verification is on. Returns whether mail was
    /// queued (wake the courier after the commit).
    pub(crate) async fn send_verification_mails<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantCtx,
        identity: &Identity,
        origin: &Flow,
    ) -> Result<bool> {
        if !self.verification_enabled(tenant) {
            return Ok(false);
        }
        let mut queued = false;
        for address in identity.verifiable_addresses.iter().filter(|a| !a.verified) {
            let mut flow = self.new_flow(
                tenant,
                FlowKind::Verification,
                origin.request_url.clone(),
                email_nodes(Some(&address.value)),
            );
            flow.flow_type = origin.flow_type.clone();
            flow.state = Some("sent_email".to_owned());
            flow.active = Some(LINK.to_owned());
            super::store::insert(
                conn,
                tenant.project_id,
                FlowKind::Verification,
                Some(identity.id),
                &flow,
            )
            .await?;
            self.queue_verification(conn, tenant, identity, address.id, &address.value, &flow)
                .await?;
            queued = true;
        }
        Ok(queued)
    }

    /// `submitSelfServiceVerificationFlow` with `method=link` and an email.
    pub async fn submit_verification(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<Flow>> {
        self.ensure_verification_enabled(tenant)?;
        let (mut flow, _) = self
            .load_flow(tenant, FlowKind::Verification, flow_id)
            .await?;
        check_csrf(&flow, submission)?;
        let Some(address) = link_email(&mut flow, &submission.body, FlowKind::Verification)? else {
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        };
        // Read before the transaction: on SQLite a transaction that reads
        // and then writes can fail if another writer committed in between.
        let conn = &self.db.conn;
        let found =
            match identities::find_verifiable_address(conn, tenant.project_id, &address).await? {
                Some((identity_id, address_id)) => {
                    identities::find(conn, tenant.project_id, identity_id)
                        .await?
                        .map(|identity| (identity, address_id))
                }
                None => None,
            };
        let txn = self.db.begin_write().await?;
        match &found {
            Some((identity, address_id)) => {
                self.queue_verification(&txn, tenant, identity, *address_id, &address, &flow)
                    .await?;
            }
            None => {
                self.queue_mail(
                    &txn,
                    tenant,
                    MailTemplate::VerificationInvalid,
                    &address,
                    &model(&address, None, None),
                    &[],
                )
                .await?;
            }
        }
        flow.state = Some("sent_email".to_owned());
        flow.ui.messages.push(UiText::info(
            text::VERIFICATION_EMAIL_SENT,
            "An email containing a verification link has been sent to the email address you provided.",
        ));
        flow.updated_at = self.clock.now();
        super::store::update(&txn, tenant.project_id, &flow).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.wake_courier();
        Ok(Submitted::done(flow.clone(), flow))
    }

    /// Follows a verification link: claims the token once and marks its
    /// address verified. Answers the flow to show (`passed_challenge`, or a
    /// new flow saying the link was invalid).
    pub async fn use_verification_token(
        &self,
        tenant: &TenantCtx,
        client: &Client,
        flow_id: Option<Uuid>,
        token: &str,
    ) -> Result<Flow> {
        self.ensure_verification_enabled(tenant)?;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let claimed =
            tokens::claim(&txn, TokenKind::Verification, tenant.project_id, token, now).await?;
        let verified = match &claimed {
            Some(claimed) => match claimed.address_id {
                Some(address_id) => {
                    identities::mark_address_verified(&txn, tenant.project_id, address_id, now)
                        .await?
                }
                None => false,
            },
            None => false,
        };
        let Some(claimed) = claimed.filter(|_| verified) else {
            drop(txn);
            let mut flow = self.verification_flow(tenant, client);
            flow.ui.messages.push(UiText::error(
                text::VERIFICATION_TOKEN_INVALID,
                "The verification token is invalid or has already been used. Please retry the flow.",
                None,
            ));
            self.store_flow(tenant, FlowKind::Verification, None, &flow)
                .await?;
            return Ok(flow);
        };
        // The flow the link belongs to shows the outcome; a link opened
        // elsewhere (or an admin-made flow) gets a new one.
        let existing = match claimed.flow_id.or(flow_id) {
            Some(id) => super::store::find(&txn, tenant.project_id, FlowKind::Verification, id)
                .await?
                .map(|(flow, _)| flow),
            None => None,
        };
        let stored = existing.is_some();
        let mut flow = existing.unwrap_or_else(|| self.verification_flow(tenant, client));
        flow.ui.reset_messages();
        flow.state = Some("passed_challenge".to_owned());
        flow.ui.messages.push(UiText::success(
            text::VERIFICATION_SUCCESSFUL,
            "You successfully verified your email address.",
        ));
        flow.updated_at = now;
        if stored {
            super::store::update(&txn, tenant.project_id, &flow).await?;
        } else {
            super::store::insert(
                &txn,
                tenant.project_id,
                FlowKind::Verification,
                Some(claimed.identity_id),
                &flow,
            )
            .await?;
        }
        txn.commit().await.map_err(sql::db_error)?;
        // Sessions show the identity's addresses: drop the cached answers.
        self.forget_identity_sessions(tenant, claimed.identity_id)
            .await?;
        let hooks = self.after_hooks(tenant, FlowKind::Verification, LINK);
        // The identity is read again only for a web hook to see it.
        if hooks.calls_out() {
            let identity = self.get_identity(tenant, claimed.identity_id).await.ok();
            let event = HookEvent {
                tenant,
                flow: &flow,
                identity: identity.as_ref(),
                request: &client.request,
            };
            self.fire_ignored_web_hooks(&hooks, &event).await;
        }
        Ok(flow)
    }
}
