//! SQL for identities and everything hanging off them. Every function takes
//! the tenant's `nid` and filters on it: an id of another tenant is simply
//! not found.

use super::model::{Credential, Identity, IdentityState, RecoveryAddress, VerifiableAddress};
use super::tables::{IdentityRows, of_identities, select};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, IdenStatic, Iterable, QueryResult};
use serde_json::Value;
use std::collections::HashMap;
use store::entity::{
    identities, identity_credential_identifiers as identifiers,
    identity_credentials as credentials, identity_recovery_addresses as recovery,
    identity_verifiable_addresses as verifiable, selfservice_flows, selfservice_recovery_tokens,
    sessions,
};
use store::sql;
use uuid::Uuid;

pub(crate) fn json_text(value: &Value) -> String {
    value.to_string()
}

fn parse_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("stored {what}: {e}")))
}

fn opt_json(text: Option<&str>, column: identities::Column) -> Result<Option<Value>> {
    text.map(|t| parse_json(t, column.as_str())).transpose()
}

/// Identities, read with [`identity_from_row`].
pub(crate) fn select_identities(nid: Uuid) -> SelectStatement {
    select(identities::Entity, identities::Column::iter(), nid)
}

pub(crate) fn identity_from_row(row: &QueryResult) -> Result<Identity> {
    use identities::Column;
    let m: identities::Model = sql::model(row)?;
    Ok(Identity {
        state: IdentityState::parse(&m.state)?,
        traits: parse_json(&m.traits, Column::Traits.as_str())?,
        metadata_public: opt_json(m.metadata_public.as_deref(), Column::MetadataPublic)?,
        metadata_admin: opt_json(m.metadata_admin.as_deref(), Column::MetadataAdmin)?,
        id: m.id,
        schema_id: m.schema_id,
        state_changed_at: m.state_changed_at,
        credentials: Vec::new(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        created_at: m.created_at,
        updated_at: m.updated_at,
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

/// Deletes the rows of identity `id` from `table`.
async fn delete_of_identity<C: ConnectionTrait, E: IdentityRows>(
    conn: &C,
    table: E,
    nid: Uuid,
    id: Uuid,
) -> Result<()> {
    let delete = Query::delete()
        .from_table(table)
        .and_where(Expr::col(E::NID).eq(nid))
        .and_where(Expr::col(E::IDENTITY_ID).eq(id))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(())
}

async fn delete_children<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<()> {
    // Identifiers before the credentials they point at.
    delete_of_identity(conn, identifiers::Entity, nid, id).await?;
    delete_of_identity(conn, credentials::Entity, nid, id).await?;
    delete_of_identity(conn, verifiable::Entity, nid, id).await?;
    delete_of_identity(conn, recovery::Entity, nid, id).await
}

/// Replaces the stored identity (row, credentials, addresses) with
/// `identity`; `false` when it does not exist in this tenant.
pub async fn replace<C: ConnectionTrait>(conn: &C, nid: Uuid, identity: &Identity) -> Result<bool> {
    use identities::{Column, Entity};
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::SchemaId, identity.schema_id.clone().into()),
            (Column::Traits, json_text(&identity.traits).into()),
            (Column::State, identity.state.as_str().to_owned().into()),
            (Column::StateChangedAt, identity.state_changed_at.into()),
            (
                Column::MetadataPublic,
                identity.metadata_public.as_ref().map(json_text).into(),
            ),
            (
                Column::MetadataAdmin,
                identity.metadata_admin.as_ref().map(json_text).into(),
            ),
            (Column::UpdatedAt, identity.updated_at.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(identity.id))
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
    delete_of_identity(conn, sessions::Entity, nid, id).await?;
    delete_of_identity(conn, selfservice_flows::Entity, nid, id).await?;
    delete_of_identity(conn, selfservice_recovery_tokens::Entity, nid, id).await?;
    let delete = Query::delete()
        .from_table(identities::Entity)
        .and_where(Expr::col(identities::Column::Nid).eq(nid))
        .and_where(Expr::col(identities::Column::Id).eq(id))
        .to_owned();
    Ok(sql::delete(conn, &delete).await? > 0)
}

pub async fn find<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<Option<Identity>> {
    let stmt = select_identities(nid)
        .and_where(Expr::col(identities::Column::Id).eq(id))
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
    let stmt = select_identities(nid)
        .order_by(identities::Column::CreatedAt, Order::Asc)
        .order_by(identities::Column::Id, Order::Asc)
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
    sql::count(conn, select(identities::Entity, [], nid)).await
}

/// The identity holding `identifier` for credential type `kind`.
pub async fn find_id_by_identifier<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    kind: &str,
    identifier: &str,
) -> Result<Option<Uuid>> {
    use identifiers::{Column, Entity};
    let stmt = select(Entity, [Column::IdentityId], nid)
        .and_where(Expr::col(Column::CredentialType).eq(kind))
        .and_where(Expr::col(Column::Identifier).eq(identifier))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some(sql::get(&row, Column::IdentityId)?)),
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

    let mut by_credential: HashMap<Uuid, Vec<String>> = HashMap::new();
    let columns = [
        identifiers::Column::IdentityCredentialId,
        identifiers::Column::Identifier,
    ];
    let stmt = of_identities(identifiers::Entity, columns, nid, &ids)
        .order_by(identifiers::Column::Identifier, Order::Asc)
        .to_owned();
    for row in &sql::select_all(conn, &stmt).await? {
        by_credential
            .entry(sql::get(row, identifiers::Column::IdentityCredentialId)?)
            .or_default()
            .push(sql::get(row, identifiers::Column::Identifier)?);
    }

    let stmt = of_identities(credentials::Entity, credentials::Column::iter(), nid, &ids)
        .order_by(credentials::Column::CredentialType, Order::Asc)
        .to_owned();
    for row in &sql::select_all(conn, &stmt).await? {
        let m: credentials::Model = sql::model(row)?;
        if let Some(&i) = index.get(&m.identity_id) {
            identities[i].credentials.push(Credential {
                identifiers: by_credential.remove(&m.id).unwrap_or_default(),
                config: parse_json(&m.config, "credential config")?,
                id: m.id,
                kind: m.credential_type,
                version: m.version,
                created_at: m.created_at,
                updated_at: m.updated_at,
            });
        }
    }

    let stmt = of_identities(verifiable::Entity, verifiable::Column::iter(), nid, &ids)
        .order_by(verifiable::Column::Value, Order::Asc)
        .to_owned();
    for row in &sql::select_all(conn, &stmt).await? {
        let m: verifiable::Model = sql::model(row)?;
        if let Some(&i) = index.get(&m.identity_id) {
            identities[i].verifiable_addresses.push(VerifiableAddress {
                id: m.id,
                value: m.value,
                verified: m.verified,
                via: m.via,
                status: m.status,
                verified_at: m.verified_at,
                created_at: m.created_at,
                updated_at: m.updated_at,
            });
        }
    }

    let stmt = of_identities(recovery::Entity, recovery::Column::iter(), nid, &ids)
        .order_by(recovery::Column::Value, Order::Asc)
        .to_owned();
    for row in &sql::select_all(conn, &stmt).await? {
        let m: recovery::Model = sql::model(row)?;
        if let Some(&i) = index.get(&m.identity_id) {
            identities[i].recovery_addresses.push(RecoveryAddress {
                id: m.id,
                value: m.value,
                via: m.via,
                created_at: m.created_at,
                updated_at: m.updated_at,
            });
        }
    }
    Ok(())
}

/// Updates one credential's config (a re-hash after login, a new
/// password), whatever it was. `version` is the config's format (as in
/// Kratos), not a revision: writers that must not lose a concurrent change
/// use `credential_store::swap_config`.
pub async fn update_credential_config<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    credential_id: Uuid,
    config: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use credentials::{Column, Entity};
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::Config, json_text(config).into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(credential_id))
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
    use recovery::{Column, Entity};
    let stmt = select(Entity, [Column::IdentityId, Column::Id], nid)
        .and_where(Expr::col(Column::Via).eq("email"))
        .and_where(Expr::col(Column::Value).eq(value))
        .to_owned();
    identity_and_address(conn, &stmt).await
}

/// The identity and address id of the verifiable address `value`.
pub async fn find_verifiable_address<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    value: &str,
) -> Result<Option<(Uuid, Uuid)>> {
    use verifiable::{Column, Entity};
    let stmt = select(Entity, [Column::IdentityId, Column::Id], nid)
        .and_where(Expr::col(Column::Via).eq("email"))
        .and_where(Expr::col(Column::Value).eq(value))
        .to_owned();
    identity_and_address(conn, &stmt).await
}

/// Runs an address lookup that selects the identity's id, then the
/// address's: read by position, as it serves both address tables.
async fn identity_and_address<C: ConnectionTrait>(
    conn: &C,
    stmt: &SelectStatement,
) -> Result<Option<(Uuid, Uuid)>> {
    match sql::select_one(conn, stmt).await? {
        Some(row) => Ok(Some((sql::get_at(&row, 0)?, sql::get_at(&row, 1)?))),
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
    use verifiable::{Column, Entity};
    let stmt = Query::update()
        .table(Entity)
        .values([
            (Column::Verified, true.into()),
            (Column::VerifiedAt, now.into()),
            (Column::Status, "completed".into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(address_id))
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
    use verifiable::{Column, Entity};
    let stmt = Query::update()
        .table(Entity)
        .values([
            (Column::Status, "sent".into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(address_id))
        .and_where(Expr::col(Column::Verified).eq(false))
        .to_owned();
    sql::update(conn, &stmt).await?;
    Ok(())
}
