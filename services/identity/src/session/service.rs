//! Issuing, checking, listing and revoking sessions.

use super::cache::CachedWhoami;
use super::model::{AuthenticationMethod, RevokedSessions, Session, SessionView};
use super::store::{self as sessions, SessionFilter};
use crate::engine::IdentityEngine;
use crate::identity::service::identity_not_found;
use crate::identity::store as identities;
use crate::identity::{Exposure, Identity, IdentityState};
use chrono::Duration as ChronoDuration;
use kernel::identity_config::{Aal, RequiredAal};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use std::time::Duration;
use store::sql;
use uuid::Uuid;

/// A session token: 32 random alphanumerics, as Kratos issues them.
pub fn new_token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// What is stored of a token: its SHA-256 digest (tokens are random and
/// long, so a fast digest is enough; a leaked table reveals no token).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Kratos' `session_inactive` 401.
pub fn no_active_session() -> Error {
    Error::unauthorized("No active session was found in this request.")
        .with_id("session_inactive")
        .with_message("request does not have a valid authentication session")
}

/// The answer of whoami: the rendered session and whose it is.
pub struct Whoami {
    pub identity_id: Uuid,
    pub body: String,
}

fn chrono(d: Duration) -> ChronoDuration {
    ChronoDuration::from_std(d).unwrap_or(ChronoDuration::days(1))
}

impl IdentityEngine {
    pub(crate) fn session_lifespan(&self, tenant: &TenantCtx) -> Duration {
        tenant.config.identity_config.session.lifespan
    }

    /// Issues a new session for `identity`, signed in with `method` (a
    /// first factor, so AAL1), returning it with its token.
    pub(crate) async fn issue_session<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantCtx,
        identity: &Identity,
        method: &str,
    ) -> Result<(Session, String)> {
        let now = self.clock.now();
        let session = Session {
            id: Uuid::new_v4(),
            identity_id: identity.id,
            active: true,
            aal: Aal::Aal1.as_str().to_owned(),
            authentication_methods: vec![AuthenticationMethod {
                method: method.to_owned(),
                aal: Aal::Aal1.as_str().to_owned(),
                completed_at: now,
            }],
            issued_at: now,
            authenticated_at: now,
            expires_at: now + chrono(self.session_lifespan(tenant)),
        };
        let token = new_token();
        sessions::insert(conn, tenant.project_id, &session, &hash_token(&token)).await?;
        Ok((session, token))
    }

    /// Records on `session` a login completed with `method` at `aal` (a
    /// refresh, or a step up with a second factor): the same session and
    /// token, now authenticated now, at the higher of its levels.
    pub(crate) async fn record_authentication(
        &self,
        tenant: &TenantCtx,
        mut session: Session,
        method: &str,
        aal: Aal,
    ) -> Result<Session> {
        let now = self.clock.now();
        session.authentication_methods.push(AuthenticationMethod {
            method: method.to_owned(),
            aal: aal.as_str().to_owned(),
            completed_at: now,
        });
        let current = Aal::parse(&session.aal).unwrap_or(Aal::Aal1);
        session.aal = current.max(aal).as_str().to_owned();
        session.authenticated_at = now;
        let txn = self.db.begin_write().await?;
        if !sessions::set_authentication(&txn, tenant.project_id, &session, now).await? {
            return Err(no_active_session());
        }
        txn.commit().await.map_err(sql::db_error)?;
        // Cached whoami answers show the old level: drop them everywhere.
        self.forget_identity_sessions(tenant, session.identity_id)
            .await?;
        Ok(session)
    }

    pub(crate) fn session_view(
        &self,
        tenant: &TenantCtx,
        session: &Session,
        identity: &Identity,
    ) -> SessionView {
        let url = self.schema_url(tenant, &identity.schema_id);
        SessionView {
            id: session.id,
            active: session.is_valid(self.clock.now()),
            expires_at: session.expires_at,
            authenticated_at: session.authenticated_at,
            authenticator_assurance_level: session.aal.clone(),
            authentication_methods: session.authentication_methods.clone(),
            issued_at: session.issued_at,
            identity: identity.view(&url, Exposure::Public, &[]),
        }
    }

    /// The valid session behind `token` and its (active) identity.
    pub async fn authenticate_session(
        &self,
        tenant: &TenantCtx,
        token: &str,
    ) -> Result<(Session, Identity)> {
        let session =
            sessions::find_by_token_hash(&self.db.conn, tenant.project_id, &hash_token(token))
                .await?
                .filter(|s| s.is_valid(self.clock.now()))
                .ok_or_else(no_active_session)?;
        let identity = identities::find(&self.db.conn, tenant.project_id, session.identity_id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(no_active_session)?;
        Ok((session, identity))
    }

    /// `toSession`: from the cache when it can, else the database (and then
    /// cached). Only answers that met the revision's AAL requirement are
    /// cached, and every change of an identity's credentials drops its
    /// cached answers, so a hit under the same revision still meets it.
    pub async fn whoami(&self, tenant: &TenantCtx, token: &str) -> Result<Whoami> {
        let digest = hash_token(token);
        let required_highest = tenant.config.identity_config.session.whoami_required_aal
            == RequiredAal::HighestAvailable;
        if let Some(hit) = self.sessions.get(tenant.project_id, &digest).await
            && hit.revision_id == tenant.revision_id
        {
            return Ok(Whoami {
                identity_id: hit.identity_id,
                body: hit.body.clone(),
            });
        }
        let (session, identity) = self.authenticate_session(tenant, token).await?;
        if required_highest {
            self.ensure_highest_aal(tenant, &session, &identity)?;
        }
        let body = serde_json::to_string(&self.session_view(tenant, &session, &identity))
            .map_err(Error::internal)?;
        self.sessions
            .put(
                tenant.project_id,
                &digest,
                CachedWhoami {
                    session_id: session.id,
                    identity_id: identity.id,
                    expires_at: session.expires_at,
                    aal: session.aal.clone(),
                    revision_id: tenant.revision_id,
                    body: body.clone(),
                },
            )
            .await;
        Ok(Whoami {
            identity_id: identity.id,
            body,
        })
    }

    /// `listSessions`: the caller's other sessions.
    pub async fn list_my_sessions(
        &self,
        tenant: &TenantCtx,
        token: &str,
        page: u64,
        per_page: u64,
    ) -> Result<(Vec<SessionView>, u64)> {
        let (current, identity) = self.authenticate_session(tenant, token).await?;
        let filter = SessionFilter {
            active: Some(true),
            except: Some(current.id),
        };
        self.list_sessions_of(tenant, &identity, filter, page, per_page)
            .await
    }

    async fn list_sessions_of(
        &self,
        tenant: &TenantCtx,
        identity: &Identity,
        filter: SessionFilter,
        page: u64,
        per_page: u64,
    ) -> Result<(Vec<SessionView>, u64)> {
        let conn = &self.db.conn;
        let total =
            sessions::count_for_identity(conn, tenant.project_id, identity.id, filter).await?;
        let list = sessions::list_for_identity(
            conn,
            tenant.project_id,
            identity.id,
            filter,
            page.saturating_mul(per_page),
            per_page,
        )
        .await?;
        Ok((
            list.iter()
                .map(|s| self.session_view(tenant, s, identity))
                .collect(),
            total,
        ))
    }

    /// `revokeSession`: one of the caller's other sessions.
    pub async fn revoke_my_session(&self, tenant: &TenantCtx, token: &str, id: Uuid) -> Result<()> {
        let (current, identity) = self.authenticate_session(tenant, token).await?;
        if current.id == id {
            return Err(Error::bad_request(
                "You tried to revoke the session you are using; log out instead.",
            ));
        }
        self.revoke(tenant, identity.id, None, Some(id)).await?;
        Ok(())
    }

    /// `revokeSessions`: all of the caller's sessions but the current one.
    pub async fn revoke_my_other_sessions(
        &self,
        tenant: &TenantCtx,
        token: &str,
    ) -> Result<RevokedSessions> {
        let (current, identity) = self.authenticate_session(tenant, token).await?;
        let count = self
            .revoke(tenant, identity.id, Some(current.id), None)
            .await?;
        Ok(RevokedSessions { count })
    }

    /// Logout with a token (`submitSelfServiceLogoutFlowWithoutBrowser`).
    pub async fn logout_token(&self, tenant: &TenantCtx, token: &str) -> Result<()> {
        let session = sessions::find_by_token_hash(&self.db.conn, tenant.project_id, &hash_token(token))
            .await?
            .filter(|s| s.active)
            .ok_or_else(|| {
                Error::forbidden(
                    "The provided Ory Session Token could not be found, is invalid, or otherwise malformed.",
                )
            })?;
        self.revoke(tenant, session.identity_id, None, Some(session.id))
            .await?;
        Ok(())
    }

    /// Deactivates sessions of an identity and drops them from every cache.
    pub(crate) async fn revoke(
        &self,
        tenant: &TenantCtx,
        identity_id: Uuid,
        except: Option<Uuid>,
        only: Option<Uuid>,
    ) -> Result<u64> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let filter = SessionFilter {
            active: Some(true),
            except,
        };
        let hashes =
            sessions::token_hashes(&txn, tenant.project_id, identity_id, filter, only).await?;
        let count =
            sessions::deactivate(&txn, tenant.project_id, identity_id, except, only, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.sessions.forget(tenant.project_id, &hashes).await;
        Ok(count)
    }

    /// Drops every cached answer of an identity (its traits or state changed).
    pub(crate) async fn forget_identity_sessions(
        &self,
        tenant: &TenantCtx,
        identity_id: Uuid,
    ) -> Result<()> {
        let hashes =
            sessions::all_token_hashes(&self.db.conn, tenant.project_id, identity_id).await?;
        self.sessions.forget(tenant.project_id, &hashes).await;
        Ok(())
    }

    pub async fn admin_list_sessions(
        &self,
        tenant: &TenantCtx,
        identity_id: Uuid,
        active: Option<bool>,
        page: u64,
        per_page: u64,
    ) -> Result<(Vec<SessionView>, u64)> {
        let identity = self.get_identity(tenant, identity_id).await?;
        let filter = SessionFilter {
            active,
            except: None,
        };
        self.list_sessions_of(tenant, &identity, filter, page, per_page)
            .await
    }

    /// Deletes all sessions of an identity (`adminDeleteIdentitySessions`).
    pub async fn admin_delete_sessions(&self, tenant: &TenantCtx, identity_id: Uuid) -> Result<()> {
        let txn = self.db.begin_write().await?;
        identities::find(&txn, tenant.project_id, identity_id)
            .await?
            .ok_or_else(identity_not_found)?;
        let hashes = sessions::all_token_hashes(&txn, tenant.project_id, identity_id).await?;
        let revoked = sessions::delete_for_identity(&txn, tenant.project_id, identity_id).await?;
        let change = store::audit::Change::project(
            tenant.project_id,
            "identity.sessions.delete",
            identity_id,
        )
        .with_patch(serde_json::json!([{ "op": "remove", "path": "/sessions", "count": revoked }]));
        store::audit::append(&txn, change, self.clock.now()).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.sessions.forget(tenant.project_id, &hashes).await;
        Ok(())
    }

    /// `adminExtendSession`: the session now lives a full lifespan from now.
    pub async fn admin_extend_session(&self, tenant: &TenantCtx, id: Uuid) -> Result<SessionView> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let mut session = sessions::find(&txn, tenant.project_id, id)
            .await?
            .ok_or_else(identity_not_found)?;
        if !session.active {
            return Err(Error::not_found("the session is not active"));
        }
        session.expires_at = now + chrono(self.session_lifespan(tenant));
        sessions::set_expiry(&txn, tenant.project_id, id, session.expires_at, now).await?;
        let identity = identities::find(&txn, tenant.project_id, session.identity_id)
            .await?
            .ok_or_else(identity_not_found)?;
        let change = store::audit::Change::project(tenant.project_id, "session.extend", id)
            .with_patch(serde_json::json!([
                { "op": "replace", "path": "/expires_at", "value": session.expires_at }
            ]));
        store::audit::append(&txn, change, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.forget_identity_sessions(tenant, identity.id).await?;
        Ok(self.session_view(tenant, &session, &identity))
    }
}

impl IdentityEngine {
    /// Refuses an AAL1 session of an identity that has a second factor
    /// (`required_aal: highest_available`): Kratos' 403
    /// `session_aal2_required`, telling browsers where to step up.
    pub(crate) fn ensure_highest_aal(
        &self,
        tenant: &TenantCtx,
        session: &Session,
        identity: &Identity,
    ) -> Result<()> {
        let reached = Aal::parse(&session.aal).unwrap_or(Aal::Aal1);
        let config = &tenant.config.identity_config;
        if reached >= crate::strategy::highest_available(config, identity) {
            return Ok(());
        }
        let redirect = format!("{}/self-service/login/browser?aal=aal2", tenant.public_url);
        Err(Error::forbidden(
            "This session does not meet the required authenticator assurance level.",
        )
        .with_id("session_aal2_required")
        .with_message("Session does not fulfill the requested Authenticator Assurance Level")
        .with_reason(
            "An authenticator assurance level of aal2 is required: sign in with a second factor.",
        )
        .with_details(serde_json::json!({ "redirect_browser_to": redirect })))
    }
}
