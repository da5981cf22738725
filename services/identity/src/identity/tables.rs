//! The tables of the identity store as its statements filter them: every
//! row is one tenant's (`nid`), and most belong to one identity
//! (`identity_id`). The filters name each table's own entity columns.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use store::entity::TenantEntity;
use store::entity::{
    identity_credential_identifiers as identifiers, identity_credentials as credentials,
    identity_recovery_addresses as recovery, identity_verifiable_addresses as verifiable,
    selfservice_flows, selfservice_recovery_tokens, sessions,
};
use uuid::Uuid;

/// A table of rows that belong to one identity (`identity_id`).
pub(crate) trait IdentityRows: TenantEntity {
    const IDENTITY_ID: Self::Column;
}

// Each table through its own entity's columns, though they share names.
macro_rules! identity_rows {
    ($($table:ident),* $(,)?) => {$(
        impl IdentityRows for $table::Entity {
            const IDENTITY_ID: $table::Column = $table::Column::IdentityId;
        }
    )*};
}

identity_rows![
    credentials,
    identifiers,
    verifiable,
    recovery,
    sessions,
    selfservice_flows,
    selfservice_recovery_tokens,
];

/// `columns` of the tenant's rows of `table`.
pub(crate) fn select<E: TenantEntity>(
    table: E,
    columns: impl IntoIterator<Item = E::Column>,
    nid: Uuid,
) -> SelectStatement {
    Query::select()
        .columns(columns)
        .from(table)
        .and_where(Expr::col(E::NID).eq(nid))
        .to_owned()
}

/// The rows of `table` that belong to any of `ids`.
pub(crate) fn of_identities<E: IdentityRows>(
    table: E,
    columns: impl IntoIterator<Item = E::Column>,
    nid: Uuid,
    ids: &[Uuid],
) -> SelectStatement {
    select(table, columns, nid)
        .and_where(Expr::col(E::IDENTITY_ID).is_in(ids.iter().copied()))
        .to_owned()
}
