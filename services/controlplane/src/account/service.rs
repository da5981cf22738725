//! Accounts and API tokens: creating them, and authenticating callers by a
//! token or a console session.

use super::store::{self as accounts, TokenRow};
use super::{AccountView, ActiveProject, ApiTokenView, Caller, Credential, NewApiToken};
use kernel::clock::SharedClock;
use kernel::ports::{BusEvent, CacheBus, ConsoleIdentities};
use kernel::request::Actor;
use kernel::{Error, ErrorKind, Result};
use moka::future::Cache;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use store::audit::{self, Change};
use store::sql;
use uuid::Uuid;

/// Personal access tokens start with this, project API keys with
/// [`PROJECT_KEY_PREFIX`], so a leaked one is recognizable (and secret
/// scanners can find them).
pub const PERSONAL_TOKEN_PREFIX: &str = "ory_pat_";
pub const PROJECT_KEY_PREFIX: &str = "ory_apikey_";
/// Tokens issued before the prefixes above; still accepted.
const LEGACY_TOKEN_PREFIX: &str = "kp_pat_";

/// Announced (payload: the token's digest) when a token is revoked, so
/// every replica drops it from its cache at once.
pub const TOKEN_REVOKED_TOPIC: &str = "controlplane.token_revoked";

/// The stored form of a token: hex SHA-256. Tokens carry 238 bits of
/// randomness, so a fast hash is enough (no offline guessing is possible).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token(prefix: &str) -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{prefix}{random}")
}

fn is_api_token(token: &str) -> bool {
    [
        PERSONAL_TOKEN_PREFIX,
        PROJECT_KEY_PREFIX,
        LEGACY_TOKEN_PREFIX,
    ]
    .iter()
    .any(|p| token.starts_with(p))
}

fn invalid_token() -> Error {
    Error::unauthorized("the access token is not valid")
}

pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_ascii_lowercase();
    let valid = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && (domain == "localhost"
                    || (domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')))
        });
    if !valid {
        return Err(Error::bad_request(format!(
            "`{email}` is not an e-mail address"
        )));
    }
    Ok(email)
}

#[derive(Clone)]
struct CachedToken {
    caller: Caller,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who the audit log names for the token's changes.
    actor: Actor,
}

impl CachedToken {
    /// The caller, unless the token has expired by `now`; names it as this
    /// request's actor.
    fn unexpired(self, now: chrono::DateTime<chrono::Utc>) -> Result<Caller> {
        match self.expires_at {
            Some(at) if at <= now => Err(invalid_token()),
            _ => {
                kernel::request::identify(self.actor);
                Ok(self.caller)
            }
        }
    }
}

/// A token as its audit event records it: never its value.
fn token_audit(row: &TokenRow) -> serde_json::Value {
    serde_json::json!({ "name": row.name, "expires_at": row.expires_at })
}

#[derive(Clone)]
pub struct AccountService {
    db: store::Database,
    clock: SharedClock,
    bus: Arc<dyn CacheBus>,
    /// The console project's identities: the people behind accounts.
    console: Arc<dyn ConsoleIdentities>,
    /// token digest → caller, so the hot path skips the database. Revocation
    /// removes entries on every replica through the bus; the TTL bounds a
    /// missed announcement.
    tokens: Cache<String, CachedToken>,
    /// console identity → account: accounts are never re-keyed.
    accounts_by_identity: Cache<Uuid, Uuid>,
}

impl AccountService {
    pub fn new(
        db: store::Database,
        bus: Arc<dyn CacheBus>,
        clock: SharedClock,
        console: Arc<dyn ConsoleIdentities>,
    ) -> Self {
        Self {
            db,
            clock,
            bus,
            console,
            tokens: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
            accounts_by_identity: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }

    /// The console project's session cookie name.
    pub fn session_cookie(&self) -> String {
        self.console.session_cookie()
    }

    /// The account for an e-mail address: the existing one, or a new one
    /// backed by a (new or existing) console identity.
    pub async fn ensure_account(&self, email: &str) -> Result<Uuid> {
        let email = normalize_email(email)?;
        if let Some(id) = accounts::find_account_id_by_email(&self.db.conn, &email).await? {
            return Ok(id);
        }
        let identity = self.console.ensure(&email).await?;
        self.account_for_identity(identity.id, &identity.email)
            .await
    }

    /// The account of a console identity, created on first sight (people
    /// who signed up through the console's registration flow).
    async fn account_for_identity(&self, identity: Uuid, email: &str) -> Result<Uuid> {
        if let Some(account) = self.accounts_by_identity.get(&identity).await {
            return Ok(account);
        }
        let email = email.trim().to_ascii_lowercase();
        let account = if accounts::find_account(&self.db.conn, identity)
            .await?
            .is_some()
        {
            identity
        } else if let Some(id) = accounts::find_account_id_by_email(&self.db.conn, &email).await? {
            id
        } else {
            match accounts::insert_account(&self.db.conn, identity, &email, self.clock.now()).await
            {
                Ok(()) => identity,
                // Two first requests at once: the other one created it.
                Err(e) if e.kind == ErrorKind::Conflict => {
                    accounts::find_account_id_by_email(&self.db.conn, &email)
                        .await?
                        .ok_or(e)?
                }
                Err(e) => return Err(e),
            }
        };
        self.accounts_by_identity.insert(identity, account).await;
        Ok(account)
    }

    /// Creates the account if needed and a personal access token for it;
    /// returns the token in plain text, the only time it is ever visible.
    pub async fn create_token(&self, email: &str, name: &str) -> Result<(Uuid, String)> {
        let account_id = self.ensure_account(email).await?;
        let token = new_token(PERSONAL_TOKEN_PREFIX);
        let row = TokenRow {
            id: Uuid::now_v7(),
            account_id,
            project_id: None,
            name: name.to_owned(),
            created_at: self.clock.now(),
            expires_at: None,
        };
        let txn = self.db.begin_write().await?;
        accounts::insert_token(&txn, &row, &hash_token(&token)).await?;
        audit::append(
            &txn,
            Change::account(account_id, "token.create", row.id)
                .diff(None, Some(&token_audit(&row))),
            row.created_at,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok((account_id, token))
    }

    /// A new API key of `project` (access already checked).
    pub async fn create_project_key(
        &self,
        caller: Caller,
        project: Uuid,
        new: NewApiToken,
    ) -> Result<ApiTokenView> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(Error::bad_request("`name` must be 1 to 256 characters"));
        }
        let now = self.clock.now();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::bad_request("`expires_at` must be in the future"));
        }
        let token = new_token(PROJECT_KEY_PREFIX);
        let row = TokenRow {
            id: Uuid::now_v7(),
            account_id: caller.account_id,
            project_id: Some(project),
            name: name.to_owned(),
            created_at: now,
            expires_at: new.expires_at,
        };
        let txn = self.db.begin_write().await?;
        accounts::insert_token(&txn, &row, &hash_token(&token)).await?;
        audit::append(
            &txn,
            Change::project(project, "api_key.create", row.id)
                .for_account(Some(caller.account_id))
                .diff(None, Some(&token_audit(&row))),
            now,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(token_view(&row, Some(token)))
    }

    pub async fn list_project_keys(&self, project: Uuid) -> Result<Vec<ApiTokenView>> {
        Ok(accounts::list_project_tokens(&self.db.conn, project)
            .await?
            .iter()
            .map(|row| token_view(row, None))
            .collect())
    }

    /// Revokes a project's key; it stops working on every replica at once.
    pub async fn revoke_project_key(&self, project: Uuid, token: Uuid) -> Result<()> {
        let txn = self.db.begin_write().await?;
        let hash = accounts::delete_project_token(&txn, project, token)
            .await?
            .ok_or_else(|| Error::not_found("the project has no API key with this id"))?;
        audit::append(
            &txn,
            Change::project(project, "api_key.delete", token),
            self.clock.now(),
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.forget_tokens(vec![hash]).await;
        Ok(())
    }

    /// Drops revoked tokens from this replica's cache and tells the others.
    pub async fn forget_tokens(&self, hashes: Vec<String>) {
        for hash in hashes {
            self.tokens.invalidate(&hash).await;
            self.bus
                .publish(BusEvent {
                    topic: TOKEN_REVOKED_TOPIC.to_owned(),
                    payload: hash,
                })
                .await;
        }
    }

    /// A revocation announced by any replica.
    pub async fn on_token_revoked(&self, hash: &str) {
        self.tokens.invalidate(hash).await;
    }

    /// The caller behind a bearer value: an API token, else a console
    /// session token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller> {
        if is_api_token(bearer) {
            self.authenticate_token(bearer).await
        } else {
            self.authenticate_session(bearer).await
        }
    }

    async fn authenticate_token(&self, token: &str) -> Result<Caller> {
        let hash = hash_token(token);
        let now = self.clock.now();
        if let Some(hit) = self.tokens.get(&hash).await {
            return hit.unexpired(now);
        }
        let row = accounts::find_token_by_hash(&self.db.conn, &hash)
            .await?
            .ok_or_else(invalid_token)?;
        let entry = CachedToken {
            caller: Caller {
                account_id: row.account_id,
                via: match row.project_id {
                    Some(project) => Credential::ProjectKey(project),
                    None => Credential::PersonalToken,
                },
            },
            expires_at: row.expires_at,
            actor: Actor::ApiKey {
                id: row.id,
                name: row.name,
                account_id: row.account_id,
            },
        };
        self.tokens.insert(hash, entry.clone()).await;
        entry.unexpired(now)
    }

    /// The account behind a console session (token or cookie value).
    pub async fn authenticate_session(&self, session: &str) -> Result<Caller> {
        let identity = self
            .console
            .identity_for_session(session)
            .await?
            .ok_or_else(|| {
                Error::unauthorized("the session is not valid; log in to the console again")
                    .with_id("session_inactive")
            })?;
        let account_id = self
            .account_for_identity(identity.id, &identity.email)
            .await?;
        kernel::request::identify(Actor::Account {
            id: account_id,
            email: identity.email,
        });
        Ok(Caller {
            account_id,
            via: Credential::Session,
        })
    }

    async fn account(&self, account: Uuid) -> Result<(AccountView, Option<Uuid>)> {
        accounts::find_account(&self.db.conn, account)
            .await?
            .ok_or_else(invalid_token)
    }

    /// `GET /me`.
    pub async fn me(&self, caller: Caller) -> Result<AccountView> {
        caller.require_person()?;
        Ok(self.account(caller.account_id).await?.0)
    }

    pub async fn email_of(&self, account: Uuid) -> Result<String> {
        Ok(self.account(account).await?.0.email)
    }

    /// `GET /console/active-project`.
    pub async fn active_project(&self, caller: Caller) -> Result<ActiveProject> {
        caller.require_person()?;
        Ok(ActiveProject {
            project_id: self.account(caller.account_id).await?.1,
        })
    }

    /// `PUT /console/active-project` (the caller's kind and its access to
    /// the project already checked by `ControlPlane::set_active_project`).
    pub async fn set_active_project(
        &self,
        caller: Caller,
        project: Option<Uuid>,
    ) -> Result<ActiveProject> {
        let txn = self.db.begin_write().await?;
        accounts::set_active_project(&txn, caller.account_id, project, self.clock.now()).await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(ActiveProject {
            project_id: project,
        })
    }
}

fn token_view(row: &TokenRow, value: Option<String>) -> ApiTokenView {
    ApiTokenView {
        id: row.id,
        name: row.name.clone(),
        owner_id: row.account_id,
        project_id: row.project_id,
        value,
        created_at: row.created_at,
        expires_at: row.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_recognized() {
        let pat = new_token(PERSONAL_TOKEN_PREFIX);
        let key = new_token(PROJECT_KEY_PREFIX);
        assert!(is_api_token(&pat) && is_api_token(&key));
        assert!(is_api_token("kp_pat_abc"));
        assert!(!is_api_token("aBcD1234session"));
        assert_ne!(hash_token(&pat), hash_token(&key));
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ").ok().as_deref(),
            Some("ann@example.com")
        );
        for bad in ["", "ann", "@example.com", "ann@nodot"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
