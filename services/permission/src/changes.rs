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
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;
use store::sql::{self, col};
use store::sqlite_reads::SqliteReads;
use uuid::Uuid;

const CHANGES: &str = "relation_tuple_changes";
const POSITIONS: &str = "relation_tuple_positions";
const CHANGE_COLUMNS: [&str; 11] = [
    "nid",
    "position",
    "operation",
    "namespace_id",
    "object",
    "relation",
    "subject_id",
    "subject_set_namespace_id",
    "subject_set_object",
    "subject_set_relation",
    "created_at",
];

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
        .into_table(col(POSITIONS))
        .columns([col("nid"), col("position"), col("pruned_through")])
        .values([nid.into(), count.into(), 0i64.into()])
        .map_err(|e| Error::internal(format!("building position bump: {e}")))?
        .on_conflict(
            OnConflict::column(col("nid"))
                .value(
                    col("position"),
                    Expr::col((col(POSITIONS), col("position"))).add(count),
                )
                .to_owned(),
        )
        .returning_col(col("position"))
        .to_owned();
    let row = conn
        .query_one_raw(conn.get_database_backend().build(&bump))
        .await
        .map_err(sql::db_error)?
        .ok_or_else(|| Error::internal("the position bump returned no row"))?;
    let last: i64 = sql::get(&row, "position")?;
    let first = last - count + 1;
    let rows = changes
        .iter()
        .zip(first..)
        .map(|((operation, tuple), position)| change_row(nid, position, *operation, tuple, now))
        .collect();
    sql::insert_many(conn, CHANGES, &CHANGE_COLUMNS, rows, None).await?;
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
        .columns([col("position"), col("pruned_through")])
        .from(col(POSITIONS))
        .and_where(Expr::col(col("nid")).eq(nid))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok((
            sql::get(&row, "position")?,
            sql::get(&row, "pruned_through")?,
        )),
        None => Ok((0, 0)),
    }
}

/// The tenant's position, read on the calling thread from a SQLite file.
pub fn position_direct(reads: &SqliteReads, nid: Uuid) -> Result<i64> {
    let stmt = Query::select()
        .column(col("position"))
        .from(col(POSITIONS))
        .and_where(Expr::col(col("nid")).eq(nid))
        .to_owned();
    let found = reads.select(&stmt, |row| row.get::<_, i64>("position"))?;
    Ok(found.first().copied().unwrap_or(0))
}

fn from_row(row: &QueryResult) -> Result<Change> {
    let operation = match sql::get::<String>(row, "operation")?.as_str() {
        "insert" => Operation::Insert,
        "delete" => Operation::Delete,
        other => return Err(Error::internal(format!("unknown change `{other}`"))),
    };
    let subject_id: Option<String> = sql::get(row, "subject_id")?;
    let subject = match subject_id {
        Some(id) => Subject::Id(id),
        None => Subject::Set(SubjectSet {
            namespace: sql::get(row, "subject_set_namespace_id")?,
            object: sql::get(row, "subject_set_object")?,
            relation: sql::get(row, "subject_set_relation")?,
        }),
    };
    Ok(Change {
        position: sql::get(row, "position")?,
        operation,
        tuple: Tuple {
            userset: SubjectSet {
                namespace: sql::get(row, "namespace_id")?,
                object: sql::get(row, "object")?,
                relation: sql::get(row, "relation")?,
            },
            subject,
        },
        at: sql::get(row, "created_at")?,
    })
}

/// Up to `limit` changes of tenant `nid` after position `after`, in order.
pub async fn since<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    after: i64,
    limit: u64,
) -> Result<Vec<Change>> {
    let stmt = Query::select()
        .columns(CHANGE_COLUMNS[1..].iter().map(|c| col(c)))
        .from(col(CHANGES))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("position")).gt(after))
        .order_by(col("position"), Order::Asc)
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Deletes every change recorded before `before`, raising each tenant's
/// `pruned_through` to the last position deleted; how many were deleted.
pub async fn prune<C: ConnectionTrait>(conn: &C, before: DateTime<Utc>) -> Result<u64> {
    // Per tenant: the highest position recorded before the cutoff.
    let cutoff = Query::select()
        .expr(Expr::col((col("c"), col("position"))).max())
        .from_as(col(CHANGES), col("c"))
        .and_where(Expr::col((col("c"), col("nid"))).equals((col(POSITIONS), col("nid"))))
        .and_where(Expr::col((col("c"), col("created_at"))).lt(before))
        .to_owned();
    let raise = Query::update()
        .table(col(POSITIONS))
        .value(
            col("pruned_through"),
            Expr::expr(Func::coalesce([
                Expr::SubQuery(None, Box::new(cutoff.into())),
                Expr::col((col(POSITIONS), col("pruned_through"))),
            ])),
        )
        .to_owned();
    sql::update(conn, &raise).await?;
    let pruned_through = Query::select()
        .column((col(POSITIONS), col("pruned_through")))
        .from(col(POSITIONS))
        .and_where(Expr::col((col(POSITIONS), col("nid"))).equals((col(CHANGES), col("nid"))))
        .to_owned();
    let delete = Query::delete()
        .from_table(col(CHANGES))
        .and_where(
            Expr::col((col(CHANGES), col("position")))
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
