//! SQL for identities and everything hanging off them. Every function takes
//! the tenant's `nid` and filters on it: an id of another tenant is simply
//! not found.

use super::model::{Credential, Identity, IdentityState, RecoveryAddress, VerifiableAddress};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::Value;
use std::collections::HashMap;
use store::sql::{self, col};
use uuid::Uuid;

pub(crate) const IDENTITIES: &str = "identities";
pub(crate) const CREDENTIALS: &str = "identity_credentials";
pub(crate) const IDENTIFIERS: &str = "identity_credential_identifiers";
pub(crate) const VERIFIABLE: &str = "identity_verifiable_addresses";
pub(crate) const RECOVERY: &str = "identity_recovery_addresses";

pub(crate) fn json_text(value: &Value) -> String {
    value.to_string()
}

fn parse_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("stored {what}: {e}")))
}

fn opt_json(row: &QueryResult, column: &'static str) -> Result<Option<Value>> {
    sql::get::<Option<String>>(row, column)?
        .map(|t| parse_json(&t, column))
        .transpose()
}

pub(crate) fn select(table: &str, columns: &[&str], nid: Uuid) -> SelectStatement {
    Query::select()
        .columns(columns.iter().map(|c| col(c)))
        .from(col(table))
        .and_where(Expr::col(col("nid")).eq(nid))
        .to_owned()
}

pub(crate) const IDENTITY_COLUMNS: &[&str] = &[
    "id",
    "schema_id",
    "traits",
    "state",
    "state_changed_at",
    "metadata_public",
    "metadata_admin",
    "created_at",
    "updated_at",
];

pub(crate) fn identity_from_row(row: &QueryResult) -> Result<Identity> {
    let traits: String = sql::get(row, "traits")?;
    let state: String = sql::get(row, "state")?;
    Ok(Identity {
        id: sql::get(row, "id")?,
        schema_id: sql::get(row, "schema_id")?,
        state: IdentityState::parse(&state)?,
        state_changed_at: sql::get(row, "state_changed_at")?,
        traits: parse_json(&traits, "traits")?,
        metadata_public: opt_json(row, "metadata_public")?,
        metadata_admin: opt_json(row, "metadata_admin")?,
        credentials: Vec::new(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        created_at: sql::get(row, "created_at")?,
        updated_at: sql::get(row, "updated_at")?,
    })
}

/// Inserts an identity with its credentials and addresses.
pub async fn insert<C: ConnectionTrait>(conn: &C, nid: Uuid, identity: &Identity) -> Result<()> {
    super::bulk_store::insert_many(conn, nid, std::slice::from_ref(identity)).await
}

/// Inserts one credential of an identity with its identifiers.
pub async fn insert_credential<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    credential: &Credential,
) -> Result<()> {
    super::bulk_store::insert_credential_rows(conn, nid, &[(identity_id, credential)]).await
}

async fn delete_children<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<()> {
    for table in [IDENTIFIERS, CREDENTIALS, VERIFIABLE, RECOVERY] {
        let delete = Query::delete()
            .from_table(col(table))
            .and_where(Expr::col(col("nid")).eq(nid))
            .and_where(Expr::col(col("identity_id")).eq(id))
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    Ok(())
}

/// Replaces the stored identity (row, credentials, addresses) with
/// `identity`; `false` when it does not exist in this tenant.
pub async fn replace<C: ConnectionTrait>(conn: &C, nid: Uuid, identity: &Identity) -> Result<bool> {
    let update = Query::update()
        .table(col(IDENTITIES))
        .values([
            (col("schema_id"), identity.schema_id.clone().into()),
            (col("traits"), json_text(&identity.traits).into()),
            (col("state"), identity.state.as_str().to_owned().into()),
            (col("state_changed_at"), identity.state_changed_at.into()),
            (
                col("metadata_public"),
                identity.metadata_public.as_ref().map(json_text).into(),
            ),
            (
                col("metadata_admin"),
                identity.metadata_admin.as_ref().map(json_text).into(),
            ),
            (col("updated_at"), identity.updated_at.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(identity.id))
        .to_owned();
    if sql::update(conn, &update).await? == 0 {
        return Ok(false);
    }
    delete_children(conn, nid, identity.id).await?;
    super::bulk_store::insert_children(conn, nid, std::slice::from_ref(identity)).await?;
    Ok(true)
}

/// Deletes an identity and everything of it (sessions included);
/// `false` when there was none.
pub async fn delete<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<bool> {
    delete_children(conn, nid, id).await?;
    for table in [
        "sessions",
        "selfservice_flows",
        "selfservice_recovery_tokens",
    ] {
        let delete = Query::delete()
            .from_table(col(table))
            .and_where(Expr::col(col("nid")).eq(nid))
            .and_where(Expr::col(col("identity_id")).eq(id))
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    let delete = Query::delete()
        .from_table(col(IDENTITIES))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    Ok(sql::delete(conn, &delete).await? > 0)
}

pub async fn find<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<Option<Identity>> {
    let stmt = select(IDENTITIES, IDENTITY_COLUMNS, nid)
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &stmt).await? else {
        return Ok(None);
    };
    let mut identities = vec![identity_from_row(&row)?];
    load_children(conn, nid, &mut identities).await?;
    Ok(identities.pop())
}

/// A page of identities, oldest first (stable while identities are added).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    offset: u64,
    limit: u64,
) -> Result<Vec<Identity>> {
    let stmt = select(IDENTITIES, IDENTITY_COLUMNS, nid)
        .order_by(col("created_at"), Order::Asc)
        .order_by(col("id"), Order::Asc)
        .offset(offset)
        .limit(limit)
        .to_owned();
    let mut identities = sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(identity_from_row)
        .collect::<Result<Vec<_>>>()?;
    load_children(conn, nid, &mut identities).await?;
    Ok(identities)
}

pub async fn count<C: ConnectionTrait>(conn: &C, nid: Uuid) -> Result<u64> {
    sql::count(conn, select(IDENTITIES, &[], nid)).await
}

/// The identity holding `identifier` for credential type `kind`.
pub async fn find_id_by_identifier<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    kind: &str,
    identifier: &str,
) -> Result<Option<Uuid>> {
    let stmt = select(IDENTIFIERS, &["identity_id"], nid)
        .and_where(Expr::col(col("credential_type")).eq(kind))
        .and_where(Expr::col(col("identifier")).eq(identifier))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some(sql::get(&row, "identity_id")?)),
        None => Ok(None),
    }
}

/// Fills credentials and addresses of `identities` with one query per table.
pub(crate) async fn load_children<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identities: &mut [Identity],
) -> Result<()> {
    if identities.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = identities.iter().map(|i| i.id).collect();
    let index: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let of = |mut stmt: SelectStatement| {
        stmt.and_where(Expr::col(col("identity_id")).is_in(ids.clone()))
            .to_owned()
    };

    let mut by_credential: HashMap<Uuid, Vec<String>> = HashMap::new();
    let identifier_rows = sql::select_all(
        conn,
        &of(select(
            IDENTIFIERS,
            &["identity_credential_id", "identifier"],
            nid,
        ))
        .order_by(col("identifier"), Order::Asc)
        .to_owned(),
    )
    .await?;
    for row in &identifier_rows {
        by_credential
            .entry(sql::get(row, "identity_credential_id")?)
            .or_default()
            .push(sql::get(row, "identifier")?);
    }

    let credential_rows = sql::select_all(
        conn,
        &of(select(
            CREDENTIALS,
            &[
                "id",
                "identity_id",
                "credential_type",
                "config",
                "version",
                "created_at",
                "updated_at",
            ],
            nid,
        ))
        .order_by(col("credential_type"), Order::Asc)
        .to_owned(),
    )
    .await?;
    for row in &credential_rows {
        let identity_id: Uuid = sql::get(row, "identity_id")?;
        let id: Uuid = sql::get(row, "id")?;
        let config: String = sql::get(row, "config")?;
        if let Some(&i) = index.get(&identity_id) {
            identities[i].credentials.push(Credential {
                id,
                kind: sql::get(row, "credential_type")?,
                identifiers: by_credential.remove(&id).unwrap_or_default(),
                config: parse_json(&config, "credential config")?,
                version: sql::get(row, "version")?,
                created_at: sql::get(row, "created_at")?,
                updated_at: sql::get(row, "updated_at")?,
            });
        }
    }

    let verifiable_rows = sql::select_all(
        conn,
        &of(select(
            VERIFIABLE,
            &[
                "id",
                "identity_id",
                "via",
                "value",
                "verified",
                "verified_at",
                "status",
                "created_at",
                "updated_at",
            ],
            nid,
        ))
        .order_by(col("value"), Order::Asc)
        .to_owned(),
    )
    .await?;
    for row in &verifiable_rows {
        let identity_id: Uuid = sql::get(row, "identity_id")?;
        if let Some(&i) = index.get(&identity_id) {
            identities[i].verifiable_addresses.push(VerifiableAddress {
                id: sql::get(row, "id")?,
                value: sql::get(row, "value")?,
                verified: sql::get(row, "verified")?,
                via: sql::get(row, "via")?,
                status: sql::get(row, "status")?,
                verified_at: sql::get(row, "verified_at")?,
                created_at: sql::get(row, "created_at")?,
                updated_at: sql::get(row, "updated_at")?,
            });
        }
    }

    let recovery_rows = sql::select_all(
        conn,
        &of(select(
            RECOVERY,
            &[
                "id",
                "identity_id",
                "via",
                "value",
                "created_at",
                "updated_at",
            ],
            nid,
        ))
        .order_by(col("value"), Order::Asc)
        .to_owned(),
    )
    .await?;
    for row in &recovery_rows {
        let identity_id: Uuid = sql::get(row, "identity_id")?;
        if let Some(&i) = index.get(&identity_id) {
            identities[i].recovery_addresses.push(RecoveryAddress {
                id: sql::get(row, "id")?,
                value: sql::get(row, "value")?,
                via: sql::get(row, "via")?,
                created_at: sql::get(row, "created_at")?,
                updated_at: sql::get(row, "updated_at")?,
            });
        }
    }
    Ok(())
}

/// Updates one credential's config (a re-hash after login, a new
/// password); `version` moves on so concurrent writers notice.
pub async fn update_credential_config<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    credential_id: Uuid,
    config: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let update = Query::update()
        .table(col(CREDENTIALS))
        .values([
            (col("config"), json_text(config).into()),
            (col("updated_at"), now.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(credential_id))
        .to_owned();
    sql::update(conn, &update).await?;
    Ok(())
}

/// The identity and address id of the recovery address `value` (`via` email).
pub async fn find_recovery_address<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    value: &str,
) -> Result<Option<(Uuid, Uuid)>> {
    find_address(conn, RECOVERY, nid, value).await
}

/// The identity and address id of the verifiable address `value`.
pub async fn find_verifiable_address<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    value: &str,
) -> Result<Option<(Uuid, Uuid)>> {
    find_address(conn, VERIFIABLE, nid, value).await
}

async fn find_address<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    nid: Uuid,
    value: &str,
) -> Result<Option<(Uuid, Uuid)>> {
    let stmt = select(table, &["identity_id", "id"], nid)
        .and_where(Expr::col(col("via")).eq("email"))
        .and_where(Expr::col(col("value")).eq(value))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some((
            sql::get(&row, "identity_id")?,
            sql::get(&row, "id")?,
        ))),
        None => Ok(None),
    }
}

/// Marks a verifiable address verified (`status` `completed`); the
/// identity's cached sessions must be dropped by the caller.
pub async fn mark_address_verified<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    address_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stmt = Query::update()
        .table(col(VERIFIABLE))
        .values([
            (col("verified"), true.into()),
            (col("verified_at"), now.into()),
            (col("status"), "completed".into()),
            (col("updated_at"), now.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(address_id))
        .to_owned();
    Ok(sql::update(conn, &stmt).await? == 1)
}

/// A verification mail went out to a still pending address: `sent`.
pub async fn mark_address_sent<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    address_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let stmt = Query::update()
        .table(col(VERIFIABLE))
        .values([
            (col("status"), "sent".into()),
            (col("updated_at"), now.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(address_id))
        .and_where(Expr::col(col("verified")).eq(false))
        .to_owned();
    sql::update(conn, &stmt).await?;
    Ok(())
}
