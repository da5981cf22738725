//! Inviting, answering and cancelling invites.

use super::store as invites;
use super::{InvitePayload, InvitePreview, InviteStatus, InviteView};
use crate::access::{Action, Gate, Role};
use crate::account::Caller;
use crate::account::service::{AccountService, hash_token, normalize_email};
use crate::account::store as accounts;
use crate::member::service::seats_in_use;
use crate::member::store as members;
use crate::project::store as projects;
use crate::quota;
use chrono::Duration as ChronoDuration;
use courier::{Courier, OutgoingMail};
use kernel::clock::SharedClock;
use kernel::{Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;
use std::sync::Arc;
use store::audit::{self, Change};
use store::{Database, sql};
use uuid::Uuid;

/// How long an invite link works.
pub const INVITE_LIFESPAN: ChronoDuration = ChronoDuration::hours(6);

/// Where invite links point and whose outbox the mail goes to.
#[derive(Debug, Default)]
pub struct InviteMail {
    /// The console UI: links are `{ui_url}/invites/{id}?token=...`.
    pub ui_url: String,
    /// The console project's slug: its outbox holds the control plane's
    /// mail. Looked up when an invite is mailed, so the service needs
    /// nothing from the startup that creates the project.
    pub console_slug: String,
}

#[derive(Clone)]
pub struct InviteService {
    db: Database,
    gate: Gate,
    clock: SharedClock,
    accounts: AccountService,
    courier: Option<Courier>,
    mail: Arc<InviteMail>,
}

fn new_link_token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

impl InviteService {
    pub fn new(
        db: Database,
        gate: Gate,
        clock: SharedClock,
        accounts: AccountService,
        courier: Option<Courier>,
        mail: Arc<InviteMail>,
    ) -> Self {
        Self {
            db,
            gate,
            clock,
            accounts,
            courier,
            mail,
        }
    }

    /// `POST /projects/{id}/invites`: a pending invite and its e-mail, in
    /// one transaction, within the plan's seats.
    pub async fn create(
        &self,
        caller: Caller,
        project: Uuid,
        payload: InvitePayload,
    ) -> Result<InviteView> {
        caller.require_person()?;
        let (row, _) = self
            .gate
            .project(caller, project, Action::ManageInvites)
            .await?;
        let email = normalize_email(&payload.invitee_email)?;
        let owner_email = self.accounts.email_of(caller.account_id).await?;
        let console = crate::project::store::find_by_slug(&self.db.conn, &self.mail.console_slug)
            .await?
            .ok_or_else(|| {
                Error::unavailable(
                    "the console project does not exist yet; invites cannot be mailed",
                )
            })?
            .id;
        let now = self.clock.now();
        let token = new_link_token();
        let invite = InviteView {
            id: Uuid::now_v7(),
            project_id: project,
            owner_id: caller.account_id,
            owner_email,
            invitee_email: email.clone(),
            invitee_id: None,
            status: InviteStatus::Pending,
            created_at: now,
            updated_at: now,
            expires_at: now + INVITE_LIFESPAN,
        };
        let link = format!(
            "{}/invites/{}?token={token}",
            self.mail.ui_url.trim_end_matches('/'),
            invite.id
        );
        let mail = OutgoingMail {
            nid: console,
            template_type: "project_invite".to_owned(),
            recipient: email.clone(),
            subject: format!("You are invited to the project \"{}\"", row.name),
            body: format!(
                "Hi,\n\n{} invited you to join the project \"{}\" as a developer.\n\n\
                 Log in (or sign up) with this e-mail address, then open this link to accept:\n\n\
                 {link}\n\nThe link works once and expires at {} UTC.\n",
                invite.owner_email,
                row.name,
                invite.expires_at.format("%Y-%m-%d %H:%M"),
            ),
            html_body: None,
            secrets: vec![token.clone()],
        };

        let txn = self.db.begin_write().await?;
        // Serializes seat counting with other invites and removals.
        projects::touch(&txn, project, now).await?;
        if let Some(account) = accounts::find_account_id_by_email(&txn, &email).await?
            && members::role_of(&txn, project, account).await?.is_some()
        {
            return Err(Error::conflict(format!(
                "{email} is already a member of this project"
            )));
        }
        if invites::count_open(&txn, project, Some(&email), now).await? > 0 {
            return Err(Error::conflict(format!(
                "{email} already has a pending invite to this project"
            )));
        }
        let seats = quota::for_project(&txn, &row, now).await?.member_seats;
        let used = seats_in_use(&txn, project, now).await?;
        if used >= seats {
            return Err(Error::quota_exceeded(format!(
                "all {seats} member seats of this project's plan are taken (members and pending invites); \
                 remove a member, cancel an invite or upgrade the plan"
            )));
        }
        invites::insert(&txn, &invite, &hash_token(&token)).await?;
        let created =
            json!({ "invitee_email": invite.invitee_email, "expires_at": invite.expires_at });
        audit::append(
            &txn,
            Change::project(project, "invite.create", invite.id).diff(None, Some(&created)),
            now,
        )
        .await?;
        if let Some(courier) = &self.courier {
            courier.enqueue(&txn, &mail).await?;
        }
        txn.commit().await.map_err(sql::db_error)?;
        if let Some(courier) = &self.courier {
            courier.wake();
        }
        Ok(invite)
    }

    /// `GET /projects/{id}/invites`.
    pub async fn list_for_project(&self, caller: Caller, project: Uuid) -> Result<Vec<InviteView>> {
        self.gate
            .project(caller, project, Action::ListInvites)
            .await?;
        let now = self.clock.now();
        Ok(invites::list_for_project(&self.db.conn, project)
            .await?
            .into_iter()
            .map(|i| i.as_of(now))
            .collect())
    }

    /// `GET /invites`: the invites sent to the caller's address.
    pub async fn mine(&self, caller: Caller) -> Result<Vec<InviteView>> {
        caller.require_person()?;
        let email = self.accounts.email_of(caller.account_id).await?;
        let now = self.clock.now();
        Ok(invites::list_for_email(&self.db.conn, &email)
            .await?
            .into_iter()
            .map(|i| i.as_of(now))
            .collect())
    }

    /// `POST /invites/{id}/accept` (`accept`) or `/decline`: only the
    /// invitee, with the link's token, once, before it expires.
    pub async fn answer(
        &self,
        caller: Caller,
        id: Uuid,
        token: &str,
        accept: bool,
    ) -> Result<InviteView> {
        let invite = self.for_invitee(caller, id, token).await?;
        let now = self.clock.now();
        match invite.status_at(now) {
            InviteStatus::Pending => {}
            InviteStatus::Expired => {
                invites::transition(
                    &self.db.conn,
                    id,
                    InviteStatus::Pending,
                    InviteStatus::Expired,
                    None,
                    now,
                )
                .await?;
                return Err(Error::gone(
                    "the invite has expired; ask the project's owner for a new one",
                )
                .with_id("invite_expired"));
            }
            status => return Err(already_answered(status)),
        }
        let to = if accept {
            InviteStatus::Accepted
        } else {
            InviteStatus::Declined
        };
        let txn = self.db.begin_write().await?;
        projects::touch(&txn, invite.project_id, now).await?;
        if !invites::transition(
            &txn,
            id,
            InviteStatus::Pending,
            to,
            Some(caller.account_id),
            now,
        )
        .await?
        {
            // Answered between our read and this write: the link is used.
            let status = invites::find(&txn, id)
                .await?
                .map_or(InviteStatus::Cancelled, |(i, _)| i.status);
            return Err(already_answered(status));
        }
        if accept
            && members::role_of(&txn, invite.project_id, caller.account_id)
                .await?
                .is_none()
        {
            members::insert(
                &txn,
                invite.project_id,
                caller.account_id,
                Role::Developer,
                now,
            )
            .await?;
        }
        let action = if accept {
            "invite.accept"
        } else {
            "invite.decline"
        };
        let answered = Change::project(invite.project_id, action, id).diff(
            Some(&json!({ "status": InviteStatus::Pending.as_str() })),
            Some(&json!({ "status": to.as_str(), "invitee_id": caller.account_id })),
        );
        audit::append(&txn, answered, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(InviteView {
            status: to,
            invitee_id: Some(caller.account_id),
            updated_at: now,
            ..invite
        })
    }

    /// The invite as its invitee sees it through the link (the console
    /// UI's invite page), with the project's name; the same checks as
    /// [`Self::answer`]: only the invitee, with the link's token. Its status
    /// is as of now; the caller decides what a non-pending one means.
    pub async fn preview(&self, caller: Caller, id: Uuid, token: &str) -> Result<InvitePreview> {
        let invite = self.for_invitee(caller, id, token).await?;
        let project_name = projects::find(&self.db.conn, invite.project_id)
            .await?
            .map(|p| p.name)
            .ok_or_else(|| Error::not_found("there is no invite with this id"))?;
        Ok(InvitePreview {
            invite: invite.as_of(self.clock.now()),
            project_name,
        })
    }

    /// The invite `id` if `caller` is its invitee (by address) and `token`
    /// is its link's: what answering or seeing an invite requires.
    async fn for_invitee(&self, caller: Caller, id: Uuid, token: &str) -> Result<InviteView> {
        caller.require_person()?;
        let (invite, token_hash) = invites::find(&self.db.conn, id)
            .await?
            .ok_or_else(|| Error::not_found("there is no invite with this id"))?;
        let email = self.accounts.email_of(caller.account_id).await?;
        if email != invite.invitee_email {
            return Err(Error::forbidden(
                "this invite was sent to another e-mail address; log in with that address",
            )
            .with_id("invite_for_someone_else"));
        }
        if hash_token(token.trim()) != token_hash {
            return Err(
                Error::forbidden("the invite link is not valid").with_id("invite_link_invalid")
            );
        }
        Ok(invite)
    }

    /// `DELETE /projects/{id}/invites/{invite_id}`: cancels a pending invite.
    pub async fn cancel(&self, caller: Caller, project: Uuid, id: Uuid) -> Result<()> {
        self.gate
            .project(caller, project, Action::ManageInvites)
            .await?;
        let (invite, _) = invites::find(&self.db.conn, id)
            .await?
            .filter(|(i, _)| i.project_id == project)
            .ok_or_else(|| Error::not_found("the project has no invite with this id"))?;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        if invite.status_at(now) != InviteStatus::Pending
            || !invites::transition(
                &txn,
                id,
                InviteStatus::Pending,
                InviteStatus::Cancelled,
                None,
                now,
            )
            .await?
        {
            return Err(Error::conflict("only a pending invite can be cancelled"));
        }
        let cancelled = Change::project(project, "invite.cancel", id).diff(
            Some(&json!({ "status": InviteStatus::Pending.as_str() })),
            Some(&json!({ "status": InviteStatus::Cancelled.as_str() })),
        );
        audit::append(&txn, cancelled, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(())
    }
}

fn already_answered(status: InviteStatus) -> Error {
    Error::conflict(format!(
        "the invite is {}; an invite link works only once",
        status.as_str()
    ))
    .with_id("invite_used")
}
