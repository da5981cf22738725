//! SQL for moving a tenant's identities in bulk (export and import): pages
//! in id order, and many identities written with one statement per table.
//! Like the rest of the store, every statement names the tenant's `nid`.

use super::model::{Credential, Identity};
use super::store::{identity_from_row, json_text, load_children, select_identities};
use super::tables::select;
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, Value};
use store::entity::{
    identities, identity_credential_identifiers as identifiers,
    identity_credentials as credentials, identity_recovery_addresses as recovery,
    identity_verifiable_addresses as verifiable,
};
use store::sql;
use uuid::Uuid;

/// Up to `limit` identities with their credentials and addresses, in id
/// order, after `after` (keyset paging: stable and index-served however
/// deep the page).
pub async fn page_after<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Identity>> {
    let mut stmt = select_identities(nid)
        .order_by(identities::Column::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(after) = after {
        stmt.and_where(Expr::col(identities::Column::Id).gt(after));
    }
    let mut identities = sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(identity_from_row)
        .collect::<Result<Vec<_>>>()?;
    load_children(conn, nid, &mut identities).await?;
    Ok(identities)
}

/// Which of `ids` are identities of this tenant already.
pub async fn existing<C: ConnectionTrait>(conn: &C, nid: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use identities::{Column, Entity};
    let stmt = select(Entity, [Column::Id], nid)
        .and_where(Expr::col(Column::Id).is_in(ids.iter().copied()))
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| sql::get(row, Column::Id))
        .collect()
}

/// Whether any of `ids` is used by an identity of another tenant: ids are
/// unique per server, so such an identity cannot keep its id here.
/// Answers only yes or no, never whose.
pub async fn any_used_elsewhere<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    ids: &[Uuid],
) -> Result<Option<Uuid>> {
    if ids.is_empty() {
        return Ok(None);
    }
    use identities::{Column, Entity};
    let stmt = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::Id).is_in(ids.iter().copied()))
        .and_where(Expr::col(Column::Nid).ne(nid))
        .limit(1)
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some(sql::get(&row, Column::Id)?)),
        None => Ok(None),
    }
}

/// How many credentials of `kind` the tenant's identities have.
pub async fn count_credentials<C: ConnectionTrait>(conn: &C, nid: Uuid, kind: &str) -> Result<u64> {
    let stmt = select(credentials::Entity, [], nid)
        .and_where(Expr::col(credentials::Column::CredentialType).eq(kind))
        .to_owned();
    sql::count(conn, stmt).await
}

/// Inserts `identities` with their credentials, identifiers and addresses:
/// one multi-row statement per table (an identifier or id that exists
/// fails the whole call, so run it in a transaction).
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identities: &[Identity],
) -> Result<()> {
    use identities::{Column, Entity};
    let rows = identities
        .iter()
        .map(|identity| {
            vec![
                identity.id.into(),
                nid.into(),
                identity.schema_id.clone().into(),
                json_text(&identity.traits).into(),
                identity.state.as_str().to_owned().into(),
                identity.state_changed_at.into(),
                identity.metadata_public.as_ref().map(json_text).into(),
                identity.metadata_admin.as_ref().map(json_text).into(),
                identity.created_at.into(),
                identity.updated_at.into(),
            ]
        })
        .collect();
    let columns = [
        Column::Id,
        Column::Nid,
        Column::SchemaId,
        Column::Traits,
        Column::State,
        Column::StateChangedAt,
        Column::MetadataPublic,
        Column::MetadataAdmin,
        Column::CreatedAt,
        Column::UpdatedAt,
    ];
    sql::insert_many(conn, Entity, &columns, rows, None).await?;
    insert_children(conn, nid, identities).await
}

/// The credentials, identifiers and addresses of `identities`, whose rows
/// exist.
pub(crate) async fn insert_children<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identities: &[Identity],
) -> Result<()> {
    insert_credentials(conn, nid, identities).await?;
    insert_addresses(conn, nid, identities).await
}

async fn insert_credentials<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identities: &[Identity],
) -> Result<()> {
    let owned: Vec<(Uuid, &Credential)> = identities
        .iter()
        .flat_map(|identity| identity.credentials.iter().map(|c| (identity.id, c)))
        .collect();
    insert_credential_rows(conn, nid, &owned).await
}

/// Credentials (each with its identity's id) and their identifiers.
pub(crate) async fn insert_credential_rows<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    owned: &[(Uuid, &Credential)],
) -> Result<()> {
    let mut credential_rows: Vec<Vec<Value>> = Vec::new();
    let mut identifier_rows: Vec<Vec<Value>> = Vec::new();
    for &(identity_id, credential) in owned {
        credential_rows.push(vec![
            credential.id.into(),
            nid.into(),
            identity_id.into(),
            credential.kind.clone().into(),
            json_text(&credential.config).into(),
            credential.version.into(),
            credential.created_at.into(),
            credential.updated_at.into(),
        ]);
        for identifier in &credential.identifiers {
            identifier_rows.push(vec![
                Uuid::new_v4().into(),
                nid.into(),
                identity_id.into(),
                credential.id.into(),
                credential.kind.clone().into(),
                identifier.clone().into(),
            ]);
        }
    }
    {
        use credentials::{Column, Entity};
        let columns = [
            Column::Id,
            Column::Nid,
            Column::IdentityId,
            Column::CredentialType,
            Column::Config,
            Column::Version,
            Column::CreatedAt,
            Column::UpdatedAt,
        ];
        sql::insert_many(conn, Entity, &columns, credential_rows, None).await?;
    }
    {
        use identifiers::{Column, Entity};
        let columns = [
            Column::Id,
            Column::Nid,
            Column::IdentityId,
            Column::IdentityCredentialId,
            Column::CredentialType,
            Column::Identifier,
        ];
        sql::insert_many(conn, Entity, &columns, identifier_rows, None).await?;
    }
    Ok(())
}

async fn insert_addresses<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identities: &[Identity],
) -> Result<()> {
    let mut verifiable_rows: Vec<Vec<Value>> = Vec::new();
    let mut recovery_rows: Vec<Vec<Value>> = Vec::new();
    for identity in identities {
        for address in &identity.verifiable_addresses {
            verifiable_rows.push(vec![
                address.id.into(),
                nid.into(),
                identity.id.into(),
                address.via.clone().into(),
                address.value.clone().into(),
                address.verified.into(),
                address.verified_at.into(),
                address.status.clone().into(),
                address.created_at.into(),
                address.updated_at.into(),
            ]);
        }
        for address in &identity.recovery_addresses {
            recovery_rows.push(vec![
                address.id.into(),
                nid.into(),
                identity.id.into(),
                address.via.clone().into(),
                address.value.clone().into(),
                address.created_at.into(),
                address.updated_at.into(),
            ]);
        }
    }
    {
        use verifiable::{Column, Entity};
        let columns = [
            Column::Id,
            Column::Nid,
            Column::IdentityId,
            Column::Via,
            Column::Value,
            Column::Verified,
            Column::VerifiedAt,
            Column::Status,
            Column::CreatedAt,
            Column::UpdatedAt,
        ];
        sql::insert_many(conn, Entity, &columns, verifiable_rows, None).await?;
    }
    {
        use recovery::{Column, Entity};
        let columns = [
            Column::Id,
            Column::Nid,
            Column::IdentityId,
            Column::Via,
            Column::Value,
            Column::CreatedAt,
            Column::UpdatedAt,
        ];
        sql::insert_many(conn, Entity, &columns, recovery_rows, None).await?;
    }
    Ok(())
}
