//! The change feed's storage and the snaptokens built on it.
//!
//! Every write that inserts or deletes tuples records one row per tuple in
//! `relation_tuple_changes`, in its own transaction, numbered by the
//! tenant's **position**: `record` first bumps the tenant's row in
//! `relation_tuple_positions` (an upsert that locks the row until the
//! transaction ends; SQLite serializes writers anyway), so two writes of one
//! tenant take their numbers in the order they commit, and a reader that
//! has seen position `p` will never later find a change numbered below `p`
//! appear. A snaptoken is a position made opaque: "everything up to here".
//!
//! Retention (`prune`) deletes changes older than the window and raises the
//! tenant's `pruned_through`, so a feed resumed from before it is told so
//! (410) instead of silently missing changes.

use crate::model::{Subject, SubjectSet, Tuple};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query, Value};
use sea_orm::{ConnectionTrait, DeriveIden, IdenStatic, Iterable};
use serde::Serialize;
use store::entity::relation_tuple_changes::{self as changes, Column};
use store::entity::relation_tuple_positions as positions;
use store::sql;
use store::sqlite_reads::SqliteReads;
use uuid::Uuid;

/// The columns a change is recorded with, in [`change_row`]'s order.
const CHANGE_COLUMNS: [Column; 11] = [
    Column::Nid,
    Column::Position,
    Column::Operation,
    Column::NamespaceId,
    Column::Object,
    Column::Relation,
    Column::SubjectId,
    Column::SubjectSetNamespaceId,
    Column::SubjectSetObject,
    Column::SubjectSetRelation,
    Column::CreatedAt,
];

/// `relation_tuple_changes` as aliased inside [`prune`]'s cutoff subquery.
#[derive(DeriveIden)]
struct Older;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Delete,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Delete => "delete",
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub position: i64,
    pub operation: Operation,
    pub tuple: Tuple,
    pub at: DateTime<Utc>,
}

/// A tenant's write position, as clients hold it: opaque, versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Snaptoken(pub i64);

impl Snaptoken {
    const PREFIX: &'static str = "kp1:";

    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}{}", Self::PREFIX, self.0))
    }

    /// A token this server issued; anything else is a 400.
    pub fn parse(text: &str) -> Result<Snaptoken> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.strip_prefix(Self::PREFIX).map(str::to_owned))
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(Snaptoken)
            .ok_or_else(|| Error::bad_request("the snaptoken is not one this server issued"))
    }

    /// An optional token from a query string or message ("" is absent).
    pub fn parse_optional(text: Option<&str>) -> Result<Option<Snaptoken>> {
        text.filter(|t| !t.is_empty())
            .map(Snaptoken::parse)
            .transpose()
    }
}

/// Records `changes` (already applied, in order) for tenant `nid` and
/// returns the position of the last one. Nothing to record takes no
/// position (and no lock).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    changes: &[(Operation, &Tuple)],
    now: DateTime<Utc>,
) -> Result<Option<Snaptoken>> {
    let Ok(count) = i64::try_from(changes.len()) else {
        return Err(Error::internal("too many changes in one write"));
    };
    if count == 0 {
        return Ok(None);
    }
    let bump = Query::insert()
        .into_table(positions::Entity)
        .columns([
            positions::Column::Nid,
            positions::Column::Position,
            positions::Column::PrunedThrough,
        ])
        .values([nid.into(), count.into(), 0i64.into()])
        .map_err(|e| Error::internal(format!("building position bump: {e}")))?
        .on_conflict(
            OnConflict::column(positions::Column::Nid)
                .value(
                    positions::Column::Position,
                    Expr::col((positions::Entity, positions::Column::Position)).add(count),
                )
                .to_owned(),
        )
        .returning_col(positions::Column::Position)
        .to_owned();
    let row = conn
        .query_one_raw(conn.get_database_backend().build(&bump))
        .await
        .map_err(sql::db_error)?
        .ok_or_else(|| Error::internal("the position bump returned no row"))?;
    let last: i64 = sql::get(&row, positions::Column::Position)?;
    let first = last - count + 1;
    let rows = changes
        .iter()
        .zip(first..)
        .map(|((operation, tuple), position)| change_row(nid, position, *operation, tuple, now))
        .collect();
    sql::insert_many(conn, changes::Entity, &CHANGE_COLUMNS, rows, None).await?;
    Ok(Some(Snaptoken(last)))
}

fn change_row(
    nid: Uuid,
    position: i64,
    operation: Operation,
    tuple: &Tuple,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let (subject_id, set) = match &tuple.subject {
        Subject::Id(id) => (Some(id.clone()), None),
        Subject::Set(set) => (None, Some(set)),
    };
    vec![
        nid.into(),
        position.into(),
        operation.as_str().into(),
        tuple.userset.namespace.into(),
        tuple.userset.object.clone().into(),
        tuple.userset.relation.clone().into(),
        subject_id.into(),
        set.map(|s| s.namespace).into(),
        set.map(|s| s.object.clone()).into(),
        set.map(|s| s.relation.clone()).into(),
        now.into(),
    ]
}

/// The tenant's position now and how far its feed was pruned: `(0, 0)`
/// before its first change.
pub async fn positions<C: ConnectionTrait>(conn: &C, nid: Uuid) -> Result<(i64, i64)> {
    let stmt = Query::select()
        .columns(positions::Column::iter())
        .from(positions::Entity)
        .and_where(Expr::col(positions::Column::Nid).eq(nid))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => {
            let m: positions::Model = sql::model(&row)?;
            Ok((m.position, m.pruned_through))
        }
        None => Ok((0, 0)),
    }
}

/// The tenant's position, read on the calling thread from a SQLite file.
pub fn position_direct(reads: &SqliteReads, nid: Uuid) -> Result<i64> {
    let stmt = Query::select()
        .column(positions::Column::Position)
        .from(positions::Entity)
        .and_where(Expr::col(positions::Column::Nid).eq(nid))
        .to_owned();
    // By position: the one column selected (a name would be looked up).
    let found = reads.select(&stmt, |row| row.get::<_, i64>(0))?;
    Ok(found.first().copied().unwrap_or(0))
}

fn from_model(m: changes::Model) -> Result<Change> {
    let operation = match m.operation.as_str() {
        "insert" => Operation::Insert,
        "delete" => Operation::Delete,
        other => return Err(Error::internal(format!("unknown change `{other}`"))),
    };
    let subject = match m.subject_id {
        Some(id) => Subject::Id(id),
        None => Subject::Set(SubjectSet {
            namespace: required(m.subject_set_namespace_id, Column::SubjectSetNamespaceId)?,
            object: required(m.subject_set_object, Column::SubjectSetObject)?,
            relation: required(m.subject_set_relation, Column::SubjectSetRelation)?,
        }),
    };
    Ok(Change {
        position: m.position,
        operation,
        tuple: Tuple {
            userset: SubjectSet {
                namespace: m.namespace_id,
                object: m.object,
                relation: m.relation,
            },
            subject,
        },
        at: m.created_at,
    })
}

/// A subject set's part, which the schema lets be NULL (for subject ids).
fn required<T>(value: Option<T>, column: Column) -> Result<T> {
    value.ok_or_else(|| Error::internal(format!("column {}: NULL", column.as_str())))
}

/// Up to `limit` changes of tenant `nid` after position `after`, in order.
pub async fn since<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    after: i64,
    limit: u64,
) -> Result<Vec<Change>> {
    let stmt = Query::select()
        .columns(Column::iter())
        .from(changes::Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Position).gt(after))
        .order_by(Column::Position, Order::Asc)
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| from_model(sql::model(row)?))
        .collect()
}

/// Deletes every change recorded before `before`, raising each tenant's
/// `pruned_through` to the last position deleted; how many were deleted.
pub async fn prune<C: ConnectionTrait>(conn: &C, before: DateTime<Utc>) -> Result<u64> {
    // Per tenant: the highest position recorded before the cutoff.
    let cutoff = Query::select()
        .expr(Expr::col((Older, Column::Position)).max())
        .from_as(changes::Entity, Older)
        .and_where(
            Expr::col((Older, Column::Nid)).equals((positions::Entity, positions::Column::Nid)),
        )
        .and_where(Expr::col((Older, Column::CreatedAt)).lt(before))
        .to_owned();
    let raise = Query::update()
        .table(positions::Entity)
        .value(
            positions::Column::PrunedThrough,
            Expr::expr(Func::coalesce([
                Expr::SubQuery(None, Box::new(cutoff.into())),
                Expr::col((positions::Entity, positions::Column::PrunedThrough)),
            ])),
        )
        .to_owned();
    sql::update(conn, &raise).await?;
    let pruned_through = Query::select()
        .column((positions::Entity, positions::Column::PrunedThrough))
        .from(positions::Entity)
        .and_where(
            Expr::col((positions::Entity, positions::Column::Nid))
                .equals((changes::Entity, Column::Nid)),
        )
        .to_owned();
    let delete = Query::delete()
        .from_table(changes::Entity)
        .and_where(
            Expr::col((changes::Entity, Column::Position))
                .lte(Expr::SubQuery(None, Box::new(pruned_through.into()))),
        )
        .to_owned();
    sql::delete(conn, &delete).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn snaptokens_round_trip_and_reject_forgeries() {
        assert_eq!(
            Snaptoken::parse(&Snaptoken(42).encode()).unwrap(),
            Snaptoken(42)
        );
        assert_eq!(Snaptoken::parse_optional(Some("")).unwrap(), None);
        assert_eq!(Snaptoken::parse_optional(None).unwrap(), None);
        for forged in [
            "42",
            "!!",
            &URL_SAFE_NO_PAD.encode("kp1:-1"),
            &URL_SAFE_NO_PAD.encode("v1:4"),
        ] {
            assert!(Snaptoken::parse(forged).is_err(), "{forged}");
        }
    }
}
