//! Account recovery with the `link` method: the user asks for a link for an
//! address; a known recovery address gets the "valid" mail with a one-time
//! link, an unknown one the "invalid" mail, and the answer is the same
//! either way. Following the link logs the user in with a fresh (so
//! privileged) session and opens a settings flow. Admins can mint a link
//! for an identity (`adminCreateSelfServiceRecoveryLink`).

use super::client::{Client, Submission, check_csrf};
use super::hooks::HookEvent;
use super::mail::{MailTemplate, model};
use super::model::{Flow, FlowKind, UiNode, UiText, text};
use super::service::{Submitted, field, method_button, session_already_available};
use super::tokens::{self, NewToken, TokenKind};
use crate::engine::IdentityEngine;
use crate::identity::IdentityState;
use crate::identity::store as identities;
use crate::schema::normalize_identifier;
use crate::session::service::new_token;
use chrono::{DateTime, Utc};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::sql;
use uuid::Uuid;

pub const LINK: &str = "link";
/// `adminCreateSelfServiceRecoveryLinkBody`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRecoveryLink {
    pub identity_id: Uuid,
    /// A Go duration (`1h`, `15m`); the revision's link lifespan if absent.
    pub expires_in: Option<String>,
}

/// `selfServiceRecoveryLink`.
#[derive(Debug, Serialize)]
pub struct RecoveryLink {
    pub recovery_link: String,
    pub expires_at: DateTime<Utc>,
}

/// What following a recovery link led to.
pub enum Recovered {
    /// Logged in: the session token and the settings flow to continue in.
    LoggedIn {
        session_token: String,
        session_expires_at: DateTime<Utc>,
        settings: Box<Flow>,
    },
    /// The token was unknown, used or expired: a new recovery flow saying so.
    Invalid(Box<Flow>),
}

/// The email field and submit button of the recovery and verification forms.
pub(crate) fn email_nodes(value: Option<&str>) -> Vec<UiNode> {
    vec![
        UiNode::input(
            LINK,
            "email",
            "email",
            value.map(|v| json!(v)),
            true,
            Some(UiText::info(text::LABEL_EMAIL, "Email")),
        ),
        method_button(LINK, LINK, UiText::info(text::LABEL_SUBMIT, "Submit")),
    ]
}

/// The address of a `method=link` submission of a recovery or verification
/// flow, normalized; `None` with Kratos' message on the `email` node when it
/// is left out.
pub(crate) fn link_email(flow: &mut Flow, body: &Value, kind: FlowKind) -> Result<Option<String>> {
    match field(body, "method") {
        Some(LINK) => {}
        Some(other) => {
            return Err(Error::bad_request(format!(
                "the {} method `{other}` is not supported; use `link`",
                kind.as_str()
            )));
        }
        None => return Err(Error::bad_request("the field `method` is missing")),
    }
    flow.ui.reset_messages();
    let email = field(body, "email").unwrap_or("").trim();
    flow.ui.set_value("email", json!(email));
    if email.is_empty() {
        flow.ui.node_error("email", UiText::missing("email"));
        return Ok(None);
    }
    Ok(Some(normalize_identifier(email)))
}

impl IdentityEngine {
    fn ensure_recovery_enabled(&self, tenant: &TenantCtx) -> Result<()> {
        if super::service::config(tenant).recovery.enabled {
            Ok(())
        } else {
            Err(Error::bad_request(
                "The recovery flow is disabled for this project.",
            ))
        }
    }

    pub(crate) fn link_lifespan(&self, tenant: &TenantCtx) -> std::time::Duration {
        super::service::config(tenant).methods.link_lifespan
    }

    /// `initializeSelfServiceRecoveryFlowWithoutBrowser` and `…ForBrowsers`.
    pub async fn init_recovery(&self, tenant: &TenantCtx, client: &Client) -> Result<Flow> {
        self.ensure_recovery_enabled(tenant)?;
        if let Some(token) = client.session_token.as_deref()
            && self.authenticate_session(tenant, token).await.is_ok()
        {
            return Err(session_already_available());
        }
        let mut flow = self.flow_for(tenant, FlowKind::Recovery, client, email_nodes(None));
        flow.state = Some("choose_method".to_owned());
        flow.active = Some(LINK.to_owned());
        self.run_before_hooks(tenant, FlowKind::Recovery, &flow, &client.request)
            .await?;
        self.store_flow(tenant, FlowKind::Recovery, None, &flow)
            .await?;
        Ok(flow)
    }

    pub async fn get_recovery_flow(&self, tenant: &TenantCtx, id: Uuid) -> Result<Flow> {
        Ok(self.load_flow(tenant, FlowKind::Recovery, id).await?.0)
    }

    /// `submitSelfServiceRecoveryFlow` with `method=link` and an email.
    pub async fn submit_recovery(
        &self,
        tenant: &TenantCtx,
        flow_id: Uuid,
        submission: &Submission,
    ) -> Result<Submitted<Flow>> {
        self.ensure_recovery_enabled(tenant)?;
        let (mut flow, _) = self.load_flow(tenant, FlowKind::Recovery, flow_id).await?;
        check_csrf(&flow, submission)?;
        let Some(address) = link_email(&mut flow, &submission.body, FlowKind::Recovery)? else {
            self.save_flow(tenant, &mut flow).await?;
            return Ok(Submitted::Invalid(Box::new(flow)));
        };
        let now = self.clock.now();
        let expires_at = now + chrono_duration(self.link_lifespan(tenant));
        // Read before the transaction: on SQLite a transaction that reads
        // and then writes can fail if another writer committed in between.
        let conn = &self.db.conn;
        let found =
            match identities::find_recovery_address(conn, tenant.project_id, &address).await? {
                Some((identity_id, _)) => identities::find(conn, tenant.project_id, identity_id)
                    .await?
                    .filter(|i| i.state == IdentityState::Active),
                None => None,
            };
        let txn = self.db.begin_write().await?;
        match &found {
            Some(identity) => {
                let token = new_token();
                tokens::insert(
                    &txn,
                    tenant.project_id,
                    NewToken {
                        kind: TokenKind::Recovery,
                        identity_id: identity.id,
                        address_id: None,
                        flow_id: flow.id,
                        token: &token,
                        expires_at,
                    },
                    now,
                )
                .await?;
                let url = self.recovery_url(tenant, flow.id, &token);
                let identity_json = self.public_identity(tenant, identity)?;
                self.queue_mail(
                    &txn,
                    tenant,
                    MailTemplate::RecoveryValid,
                    &address,
                    &model(&address, Some(("RecoveryURL", &url)), Some(identity_json)),
                    &[&token],
                )
                .await?;
            }
            // The same answer as for a known address, so the API reveals
            // nothing; the mail tells the owner of the address what happened.
            None => {
                self.queue_mail(
                    &txn,
                    tenant,
                    MailTemplate::RecoveryInvalid,
                    &address,
                    &model(&address, None, None),
                    &[],
                )
                .await?;
            }
        }
        flow.state = Some("sent_email".to_owned());
        flow.active = Some(LINK.to_owned());
        flow.ui.messages.push(UiText::info(
            text::RECOVERY_EMAIL_SENT,
            "An email containing a recovery link has been sent to the email address you provided.",
        ));
        flow.updated_at = now;
        super::store::update(&txn, tenant.project_id, &flow).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.wake_courier();
        Ok(Submitted::done(flow.clone(), flow))
    }

    fn recovery_url(&self, tenant: &TenantCtx, flow_id: Uuid, token: &str) -> String {
        format!(
            "{}/self-service/recovery?flow={flow_id}&token={token}",
            tenant.public_url
        )
    }

    /// Follows a recovery link: claims the token once, issues a fresh
    /// session and opens a settings flow for the browser.
    pub async fn use_recovery_token(
        &self,
        tenant: &TenantCtx,
        client: &Client,
        token: &str,
    ) -> Result<Recovered> {
        self.ensure_recovery_enabled(tenant)?;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let claimed =
            tokens::claim(&txn, TokenKind::Recovery, tenant.project_id, token, now).await?;
        let identity = match claimed {
            Some(claimed) => identities::find(&txn, tenant.project_id, claimed.identity_id)
                .await?
                .filter(|i| i.state == IdentityState::Active),
            None => None,
        };
        let Some(identity) = identity else {
            drop(txn);
            let mut flow = self.flow_for(tenant, FlowKind::Recovery, client, email_nodes(None));
            flow.state = Some("choose_method".to_owned());
            flow.ui.messages.push(UiText::error(
                text::RECOVERY_TOKEN_INVALID,
                "The recovery token is invalid or has already been used. Please retry the flow.",
                None,
            ));
            self.store_flow(tenant, FlowKind::Recovery, None, &flow)
                .await?;
            return Ok(Recovered::Invalid(Box::new(flow)));
        };
        let (session, session_token) = self
            .issue_session(&txn, tenant, &identity, "link_recovery")
            .await?;
        let mut settings = self.settings_flow_for(tenant, client, &identity)?;
        let minutes = super::service::config(tenant)
            .privileged_session_max_age
            .as_secs()
            / 60;
        settings.ui.messages.push(UiText {
            id: text::RECOVERY_SUCCESSFUL,
            text: format!("You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next {minutes}.00 minutes."),
            kind: "info".to_owned(),
            context: Some(json!({ "privileged_session_expires_at": now + chrono::Duration::minutes(minutes as i64) })),
        });
        super::store::insert(
            &txn,
            tenant.project_id,
            FlowKind::Settings,
            Some(identity.id),
            &settings,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        let hooks = self.after_hooks(tenant, FlowKind::Recovery, LINK);
        let event = HookEvent {
            tenant,
            flow: &settings,
            identity: Some(&identity),
            request: &client.request,
        };
        self.fire_ignored_web_hooks(&hooks, &event).await;
        Ok(Recovered::LoggedIn {
            session_token,
            session_expires_at: session.expires_at,
            settings: Box::new(settings),
        })
    }

    /// `adminCreateSelfServiceRecoveryLink`.
    pub async fn create_recovery_link(
        &self,
        tenant: &TenantCtx,
        new: NewRecoveryLink,
    ) -> Result<RecoveryLink> {
        self.ensure_recovery_enabled(tenant)?;
        let lifespan = match &new.expires_in {
            Some(text) => kernel::duration::parse_go_duration(text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "`expires_in` must be a duration such as 1h or 15m, got `{text}`"
                    ))
                })?,
            None => self.link_lifespan(tenant),
        };
        let identity = self.get_identity(tenant, new.identity_id).await?;
        let now = self.clock.now();
        let expires_at = now
            + chrono::Duration::from_std(lifespan)
                .map_err(|_| Error::bad_request("`expires_in` is too long"))?;
        let mut flow = self.new_flow(
            tenant,
            FlowKind::Recovery,
            format!("{}/admin/recovery/link", tenant.public_url),
            email_nodes(None),
        );
        flow.expires_at = expires_at;
        flow.state = Some("sent_email".to_owned());
        let token = new_token();
        let txn = self.db.begin_write().await?;
        super::store::insert(
            &txn,
            tenant.project_id,
            FlowKind::Recovery,
            Some(identity.id),
            &flow,
        )
        .await?;
        tokens::insert(
            &txn,
            tenant.project_id,
            NewToken {
                kind: TokenKind::Recovery,
                identity_id: identity.id,
                address_id: None,
                flow_id: flow.id,
                token: &token,
                expires_at,
            },
            now,
        )
        .await?;
        // The link carries the token: the event records only its expiry.
        let change = store::audit::Change::project(
            tenant.project_id,
            "identity.recovery_link.create",
            identity.id,
        )
        .diff(None, Some(&serde_json::json!({ "expires_at": expires_at })));
        store::audit::append(&txn, change, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(RecoveryLink {
            recovery_link: self.recovery_url(tenant, flow.id, &token),
            expires_at,
        })
    }
}

pub(crate) fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1))
}
