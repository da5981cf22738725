//! The single-use link tokens of recovery and verification, stored as
//! SHA-256 digests. A token is claimed with one conditional UPDATE, so two
//! clicks racing on the same link cannot both succeed.

use crate::session::service::hash_token;
use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::sea_query::{Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, EntityTrait};
use store::entity::{
    selfservice_recovery_tokens as recovery, selfservice_verification_tokens as verification,
};
use store::sql;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Recovery,
    Verification,
}

/// The columns the two token tables share; verification tokens also name
/// the address they verify.
trait TokenTable: EntityTrait {
    const ID: Self::Column;
    const NID: Self::Column;
    const IDENTITY_ID: Self::Column;
    const FLOW_ID: Self::Column;
    const TOKEN_HASH: Self::Column;
    const USED: Self::Column;
    const EXPIRES_AT: Self::Column;
    const CREATED_AT: Self::Column;
}

// Each table through its own entity's columns, though they share names.
macro_rules! token_table {
    ($table:ident) => {
        impl TokenTable for $table::Entity {
            const ID: $table::Column = $table::Column::Id;
            const NID: $table::Column = $table::Column::Nid;
            const IDENTITY_ID: $table::Column = $table::Column::IdentityId;
            const FLOW_ID: $table::Column = $table::Column::FlowId;
            const TOKEN_HASH: $table::Column = $table::Column::TokenHash;
            const USED: $table::Column = $table::Column::Used;
            const EXPIRES_AT: $table::Column = $table::Column::ExpiresAt;
            const CREATED_AT: $table::Column = $table::Column::CreatedAt;
        }
    };
}

token_table!(recovery);
token_table!(verification);

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
    match token.kind {
        TokenKind::Recovery => insert_into(conn, recovery::Entity, nid, &token, now, None).await,
        TokenKind::Verification => {
            let address = (
                verification::Column::VerifiableAddressId,
                token.address_id.into(),
            );
            insert_into(conn, verification::Entity, nid, &token, now, Some(address)).await
        }
    }
}

async fn insert_into<C: ConnectionTrait, T: TokenTable>(
    conn: &C,
    table: T,
    nid: Uuid,
    token: &NewToken<'_>,
    now: DateTime<Utc>,
    address: Option<(T::Column, Value)>,
) -> Result<()> {
    let mut values = vec![
        (T::ID, Uuid::new_v4().into()),
        (T::NID, nid.into()),
        (T::IDENTITY_ID, token.identity_id.into()),
        (T::FLOW_ID, token.flow_id.into()),
        (T::TOKEN_HASH, hash_token(token.token).into()),
        (T::USED, false.into()),
        (T::EXPIRES_AT, token.expires_at.into()),
        (T::CREATED_AT, now.into()),
    ];
    values.extend(address);
    sql::insert(conn, table, values).await
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
    match kind {
        TokenKind::Recovery => claim_in(conn, recovery::Entity, None, nid, digest, now).await,
        TokenKind::Verification => {
            let address = Some(verification::Column::VerifiableAddressId);
            claim_in(conn, verification::Entity, address, nid, digest, now).await
        }
    }
}

/// [`claim`] in `table`, reading the `address` column too if it has one.
async fn claim_in<C: ConnectionTrait, T: TokenTable>(
    conn: &C,
    table: T,
    address: Option<T::Column>,
    nid: Uuid,
    digest: String,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>> {
    // Write first: on SQLite a transaction that reads and then writes can
    // fail when another writer committed in between; taking the write lock
    // with the claim itself waits for it instead.
    let claim = Query::update()
        .table(table)
        .value(T::USED, true)
        .and_where(Expr::col(T::NID).eq(nid))
        .and_where(Expr::col(T::TOKEN_HASH).eq(digest.clone()))
        .and_where(Expr::col(T::USED).eq(false))
        .and_where(Expr::col(T::EXPIRES_AT).gt(now))
        .to_owned();
    if sql::update(conn, &claim).await? != 1 {
        return Ok(None);
    }
    let mut columns = vec![T::IDENTITY_ID, T::FLOW_ID];
    columns.extend(address);
    let find = Query::select()
        .columns(columns)
        .from(table)
        .and_where(Expr::col(T::NID).eq(nid))
        .and_where(Expr::col(T::TOKEN_HASH).eq(digest))
        .to_owned();
    let Some(row) = sql::select_one(conn, &find).await? else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        identity_id: sql::get(&row, T::IDENTITY_ID)?,
        address_id: address.map(|c| sql::get(&row, c)).transpose()?,
        flow_id: sql::get(&row, T::FLOW_ID)?,
    }))
}
