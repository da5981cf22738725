//! Creating accounts and tokens, and authenticating bearer tokens.

use super::Caller;
use super::store as accounts;
use kernel::clock::SharedClock;
use kernel::{Error, Result};
use moka::future::Cache;
use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::TransactionTrait;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// Personal access tokens start with this, so leaked ones are recognizable.
pub const TOKEN_PREFIX: &str = "kp_pat_";

/// The stored form of a token: hex SHA-256. Tokens carry 238 bits of
/// randomness, so a fast hash is enough (no offline guessing is possible).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Clone)]
pub struct AccountService {
    db: store::Database,
    clock: SharedClock,
    /// token hash → account, so the hot path skips the database. Short TTL:
    /// token revocation (a later issue) also invalidates it.
    token_cache: Cache<String, Uuid>,
}

impl AccountService {
    pub fn new(db: store::Database, clock: SharedClock) -> Self {
        let token_cache = Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(30))
            .build();
        Self {
            db,
            clock,
            token_cache,
        }
    }

    /// Creates the account if needed and a new token for it; returns the
    /// token in plain text, the only time it is ever visible.
    pub async fn create_token(&self, email: &str, name: &str) -> Result<(Uuid, String)> {
        let email = email.trim().to_ascii_lowercase();
        if !email.contains('@') || email.len() > 320 {
            return Err(Error::bad_request("email must be an e-mail address"));
        }
        let token = format!(
            "{TOKEN_PREFIX}{}",
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(40)
                .map(char::from)
                .collect::<String>()
        );
        let now = self.clock.now();
        let txn = self.db.conn.begin().await.map_err(store::sql::db_error)?;
        let account_id = match accounts::find_account_id_by_email(&txn, &email).await? {
            Some(id) => id,
            None => accounts::insert_account(&txn, &email, now).await?,
        };
        accounts::insert_token(&txn, account_id, name, &hash_token(&token), now).await?;
        txn.commit().await.map_err(store::sql::db_error)?;
        Ok((account_id, token))
    }

    /// The caller a bearer token belongs to; 401 when it is unknown.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let hash = hash_token(token);
        if let Some(account_id) = self.token_cache.get(&hash).await {
            return Ok(Caller { account_id });
        }
        match accounts::find_account_id_by_token_hash(&self.db.conn, &hash).await? {
            Some(account_id) => {
                self.token_cache.insert(hash, account_id).await;
                Ok(Caller { account_id })
            }
            None => Err(Error::unauthorized("the access token is not valid")),
        }
    }
}
