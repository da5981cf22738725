//! The single-use link tokens of recovery and verification, stored as
//! SHA-256 digests. A token is claimed with one conditional UPDATE, so two
//! clicks racing on the same link cannot both succeed.

use crate::session::service::hash_token;
use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use store::sql::{self, col};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Recovery,
    Verification,
}

impl TokenKind {
    fn table(self) -> &'static str {
        match self {
            TokenKind::Recovery => "selfservice_recovery_tokens",
            TokenKind::Verification => "selfservice_verification_tokens",
        }
    }
}

/// A token to store: for a recovery, the identity; for a verification, the
/// identity and the address it verifies.
pub struct NewToken<'a> {
    pub kind: TokenKind,
    pub identity_id: Uuid,
    pub address_id: Option<Uuid>,
    pub flow_id: Uuid,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    token: NewToken<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut values = vec![
        ("id", Uuid::new_v4().into()),
        ("nid", nid.into()),
        ("identity_id", token.identity_id.into()),
        ("flow_id", token.flow_id.into()),
        ("token_hash", hash_token(token.token).into()),
        ("used", false.into()),
        ("expires_at", token.expires_at.into()),
        ("created_at", now.into()),
    ];
    if token.kind == TokenKind::Verification {
        values.push(("verifiable_address_id", token.address_id.into()));
    }
    sql::insert(conn, token.kind.table(), values).await
}

/// A claimed token: whose it is and (verification) which address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub identity_id: Uuid,
    pub address_id: Option<Uuid>,
    pub flow_id: Option<Uuid>,
}

/// Uses `token` once: `None` if it is unknown, used, expired or of another
/// tenant.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    kind: TokenKind,
    nid: Uuid,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>> {
    let digest = hash_token(token);
    // Write first: on SQLite a transaction that reads and then writes can
    // fail when another writer committed in between; taking the write lock
    // with the claim itself waits for it instead.
    let claim = Query::update()
        .table(col(kind.table()))
        .value(col("used"), true)
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("token_hash")).eq(digest.clone()))
        .and_where(Expr::col(col("used")).eq(false))
        .and_where(Expr::col(col("expires_at")).gt(now))
        .to_owned();
    if sql::update(conn, &claim).await? != 1 {
        return Ok(None);
    }
    let mut columns = vec![col("identity_id"), col("flow_id")];
    if kind == TokenKind::Verification {
        columns.push(col("verifiable_address_id"));
    }
    let find = Query::select()
        .columns(columns)
        .from(col(kind.table()))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("token_hash")).eq(digest))
        .to_owned();
    let Some(row) = sql::select_one(conn, &find).await? else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        identity_id: sql::get(&row, "identity_id")?,
        address_id: if kind == TokenKind::Verification {
            sql::get(&row, "verifiable_address_id")?
        } else {
            None
        },
        flow_id: sql::get(&row, "flow_id")?,
    }))
}
