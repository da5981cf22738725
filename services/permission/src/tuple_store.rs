//! SQL for relation tuples. Every statement filters on the tenant's `nid`.

use crate::model::{Subject, SubjectSet, Tuple};
use crate::reader::{TupleReader, Want};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use store::entity::relation_tuples::{Column, Entity};
use store::sql;
use store::sqlite_reads::{Row, RowResult, SqliteReads};
use uuid::Uuid;

/// The columns a tuple is read from, in SELECT and RETURNING order. Rows
/// are read by position ([`at`]): a read by name would look the name up
/// (and, through `sql::get`, build it) for every cell on the walks' hot
/// path.
const READ: [Column; 8] = [
    Column::Seq,
    Column::NamespaceId,
    Column::Object,
    Column::Relation,
    Column::SubjectId,
    Column::SubjectSetNamespaceId,
    Column::SubjectSetObject,
    Column::SubjectSetRelation,
];

/// `column`'s position in [`READ`]; used in `const { }`, so a column that
/// is not read fails to compile.
const fn at(column: Column) -> usize {
    let mut i = 0;
    while READ[i] as usize != column as usize {
        i += 1;
    }
    i
}

/// How many usersets one level query names; above it a level takes more
/// than one query (one or two bound digests each, far below every
/// backend's parameter limit).
const USERSETS_PER_QUERY: usize = 1000;

/// How many subjects one backward level query names (a subject set binds
/// four values).
const SUBJECTS_PER_QUERY: usize = 250;

/// A query over tuples: every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TupleFilter {
    pub namespace: Option<i64>,
    pub object: Option<String>,
    pub relation: Option<String>,
    pub subject: Option<Subject>,
}

fn subject_condition(subject: &Subject) -> Condition {
    match subject {
        Subject::Id(id) => Condition::all().add(Expr::col(Column::SubjectId).eq(id.as_str())),
        Subject::Set(set) => Condition::all()
            .add(Expr::col(Column::SubjectSetNamespaceId).eq(set.namespace))
            .add(Expr::col(Column::SubjectSetObject).eq(set.object.as_str()))
            .add(Expr::col(Column::SubjectSetRelation).eq(set.relation.as_str())),
    }
}

fn filter_condition(nid: Uuid, filter: &TupleFilter) -> Condition {
    let mut cond = Condition::all().add(Expr::col(Column::Nid).eq(nid));
    if let Some(namespace) = filter.namespace {
        cond = cond.add(Expr::col(Column::NamespaceId).eq(namespace));
    }
    if let Some(object) = &filter.object {
        cond = cond.add(Expr::col(Column::Object).eq(object.as_str()));
    }
    if let Some(relation) = &filter.relation {
        cond = cond.add(Expr::col(Column::Relation).eq(relation.as_str()));
    }
    if let Some(subject) = &filter.subject {
        cond = cond.add(subject_condition(subject));
    }
    cond
}

fn select() -> SelectStatement {
    Query::select().columns(READ).from(Entity).to_owned()
}

/// The tuple of a row of the [`READ`] columns, `$get(row, position)`
/// reading one cell: one mapping for both readers, whose errors differ.
macro_rules! read_tuple {
    ($get:path, $row:expr) => {{
        let userset = SubjectSet {
            namespace: $get($row, const { at(Column::NamespaceId) })?,
            object: $get($row, const { at(Column::Object) })?,
            relation: $get($row, const { at(Column::Relation) })?,
        };
        let subject = match $get($row, const { at(Column::SubjectId) })? {
            Some(id) => Subject::Id(id),
            None => Subject::Set(SubjectSet {
                namespace: $get($row, const { at(Column::SubjectSetNamespaceId) })?,
                object: $get($row, const { at(Column::SubjectSetObject) })?,
                relation: $get($row, const { at(Column::SubjectSetRelation) })?,
            }),
        };
        Tuple { userset, subject }
    }};
}

/// A tuple and its `seq` from the pool's row.
fn from_row(row: &QueryResult) -> Result<(i64, Tuple)> {
    let seq = sql::get_at(row, const { at(Column::Seq) })?;
    Ok((seq, read_tuple!(sql::get_at, row)))
}

/// Inserts a tuple; inserting one that exists is a no-op. Whether it
/// inserted.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    tuple: &Tuple,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stmt = insert_statement(nid, tuple, now)?;
    let done = conn
        .execute_raw(conn.get_database_backend().build(&stmt))
        .await
        .map_err(sql::db_error)?;
    Ok(done.rows_affected() > 0)
}

/// The columns a tuple is inserted with, in [`row`]'s order.
const INSERT_COLUMNS: [Column; 11] = [
    Column::Nid,
    Column::TupleKey,
    Column::UsersetKey,
    Column::NamespaceId,
    Column::Object,
    Column::Relation,
    Column::SubjectId,
    Column::SubjectSetNamespaceId,
    Column::SubjectSetObject,
    Column::SubjectSetRelation,
    Column::CreatedAt,
];

/// The key whose duplicates an insert skips.
const KEY: [Column; 2] = [Column::Nid, Column::TupleKey];

/// The values of [`INSERT_COLUMNS`] for one tuple.
fn row(nid: Uuid, tuple: &Tuple, now: DateTime<Utc>) -> Vec<sea_orm::sea_query::Value> {
    let (subject_id, set) = match &tuple.subject {
        Subject::Id(id) => (Some(id.clone()), None),
        Subject::Set(set) => (None, Some(set)),
    };
    vec![
        nid.into(),
        tuple.key().into(),
        tuple.userset.key().into(),
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

/// The statement of [`insert`], for callers that run it with more.
pub fn insert_statement(
    nid: Uuid,
    tuple: &Tuple,
    now: DateTime<Utc>,
) -> Result<sea_orm::sea_query::InsertStatement> {
    let stmt = Query::insert()
        .into_table(Entity)
        .columns(INSERT_COLUMNS)
        .values(row(nid, tuple, now).into_iter().map(Into::into))
        .map_err(|e| Error::internal(format!("building tuple insert: {e}")))?
        .on_conflict(OnConflict::columns(KEY).do_nothing().to_owned())
        .to_owned();
    Ok(stmt)
}

/// Inserts many tuples with as few statements as the backends allow;
/// those that exist are skipped. The tuples that were inserted (for the
/// change feed).
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    tuples: &[Tuple],
    now: DateTime<Utc>,
) -> Result<Vec<Tuple>> {
    let rows = tuples.iter().map(|t| row(nid, t, now)).collect();
    sql::insert_many_returning(conn, Entity, &INSERT_COLUMNS, rows, Some(&KEY), &READ)
        .await?
        .iter()
        .map(|row| from_row(row).map(|(_, tuple)| tuple))
        .collect()
}

/// Deletes one tuple by its key; deleting an absent tuple is a no-op.
pub async fn delete<C: ConnectionTrait>(conn: &C, nid: Uuid, tuple: &Tuple) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::TupleKey).eq(tuple.key()))
        .to_owned();
    sql::delete(conn, &stmt).await
}

/// Deletes every tuple matching `filter`; returns them (for the change
/// feed).
pub async fn delete_matching<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    filter: &TupleFilter,
) -> Result<Vec<Tuple>> {
    let stmt = Query::delete()
        .from_table(Entity)
        .cond_where(filter_condition(nid, filter))
        .returning(Query::returning().columns(READ))
        .to_owned();
    conn.query_all_raw(conn.get_database_backend().build(&stmt))
        .await
        .map_err(sql::db_error)?
        .iter()
        .map(|row| from_row(row).map(|(_, tuple)| tuple))
        .collect()
}

/// Up to `limit` tuples matching `filter` inserted after `after_seq`, oldest
/// first, each with its `seq` (the page cursor).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    filter: &TupleFilter,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<(i64, Tuple)>> {
    let stmt = select()
        .cond_where(filter_condition(nid, filter))
        .and_where(Expr::col(Column::Seq).gt(after_seq))
        .order_by(Column::Seq, Order::Asc)
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The tuples of one level of a walk, by digest (`IN` lists on the
/// `(nid, userset_key, subject_id)` and `(nid, tuple_key)` indexes). `nid`
/// is repeated inside each branch of the `OR` so SQLite can serve each
/// branch from its own index.
fn level_condition(nid: Uuid, usersets: &[SubjectSet], want: Want<'_>) -> Condition {
    let userset_keys = || usersets.iter().map(SubjectSet::key);
    let of_usersets = || {
        Condition::all()
            .add(Expr::col(Column::Nid).eq(nid))
            .add(Expr::col(Column::UsersetKey).is_in(userset_keys()))
    };
    let exact = |subject: &Subject| {
        let keys = usersets.iter().map(|userset| {
            Tuple {
                userset: userset.clone(),
                subject: subject.clone(),
            }
            .key()
        });
        Condition::all()
            .add(Expr::col(Column::Nid).eq(nid))
            .add(Expr::col(Column::TupleKey).is_in(keys))
    };
    let sets = || of_usersets().add(Expr::col(Column::SubjectId).is_null());
    match want {
        Want::Everything => of_usersets(),
        Want::Exactly(subject) => exact(subject),
        // A set subject is among the sets already.
        Want::SetsAnd(Subject::Set(_)) => sets(),
        Want::SetsAnd(subject @ Subject::Id(_)) => Condition::any().add(sets()).add(exact(subject)),
    }
}

/// The statement of one level's read (ordered by insertion for expand).
fn level_statement(nid: Uuid, usersets: &[SubjectSet], want: Want<'_>) -> SelectStatement {
    let mut stmt = select()
        .cond_where(level_condition(nid, usersets, want))
        .to_owned();
    // Expand lists children in insertion order; a check needs no order.
    if matches!(want, Want::Everything) {
        stmt.order_by(Column::Seq, Order::Asc);
    }
    stmt
}

/// The tuples whose subject is one of `subjects`: subject ids through one
/// `IN` list on `(nid, subject_id, …)`, subject sets one branch each on
/// `(nid, subject_set_object, …)`, `nid` repeated in every branch so each
/// is served from its index.
fn by_subjects_statement(nid: Uuid, subjects: &[Subject]) -> SelectStatement {
    let ids: Vec<&str> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Id(id) => Some(id.as_str()),
            Subject::Set(_) => None,
        })
        .collect();
    let mut any = Condition::any();
    if !ids.is_empty() {
        any = any.add(
            Condition::all()
                .add(Expr::col(Column::Nid).eq(nid))
                .add(Expr::col(Column::SubjectId).is_in(ids)),
        );
    }
    for subject in subjects.iter().filter(|s| matches!(s, Subject::Set(_))) {
        any = any.add(
            Condition::all()
                .add(Expr::col(Column::Nid).eq(nid))
                .add(subject_condition(subject)),
        );
    }
    select().cond_where(any).to_owned()
}

/// `TupleReader` over the database, for one tenant.
pub struct SqlTuples<'c, C> {
    pub conn: &'c C,
    pub nid: Uuid,
}

#[async_trait]
impl<C: ConnectionTrait + Send + Sync> TupleReader for SqlTuples<'_, C> {
    async fn read_level(&self, usersets: &[SubjectSet], want: Want<'_>) -> Result<Vec<Tuple>> {
        let mut found = Vec::new();
        for chunk in usersets.chunks(USERSETS_PER_QUERY) {
            let stmt = level_statement(self.nid, chunk, want);
            for row in sql::select_all(self.conn, &stmt).await? {
                let (_, tuple) = from_row(&row)?;
                // A set subject of `SetsAnd` is matched here, not in SQL.
                if want.matches(&tuple.subject) {
                    found.push(tuple);
                }
            }
        }
        Ok(found)
    }

    async fn read_by_subjects(&self, subjects: &[Subject]) -> Result<Vec<Tuple>> {
        let mut found = Vec::new();
        for chunk in subjects.chunks(SUBJECTS_PER_QUERY) {
            let stmt = by_subjects_statement(self.nid, chunk);
            for row in sql::select_all(self.conn, &stmt).await? {
                found.push(from_row(&row)?.1);
            }
        }
        Ok(found)
    }
}

/// `TupleReader` over a SQLite file, read on the calling thread (see
/// `store::sqlite_reads`): the same statements as `SqlTuples`, without
/// the driver's two thread hand-offs per level.
pub struct SqliteTuples<'r> {
    pub reads: &'r SqliteReads,
    pub nid: Uuid,
}

fn from_sqlite_row(row: &Row<'_>) -> RowResult<Tuple> {
    Ok(read_tuple!(Row::get, row))
}

#[async_trait]
impl TupleReader for SqliteTuples<'_> {
    async fn read_level(&self, usersets: &[SubjectSet], want: Want<'_>) -> Result<Vec<Tuple>> {
        let mut found = Vec::new();
        for chunk in usersets.chunks(USERSETS_PER_QUERY) {
            let stmt = level_statement(self.nid, chunk, want);
            let rows = self.reads.select(&stmt, from_sqlite_row)?;
            // A set subject of `SetsAnd` is matched here, not in SQL.
            found.extend(rows.into_iter().filter(|t| want.matches(&t.subject)));
        }
        Ok(found)
    }

    async fn read_by_subjects(&self, subjects: &[Subject]) -> Result<Vec<Tuple>> {
        let mut found = Vec::new();
        for chunk in subjects.chunks(SUBJECTS_PER_QUERY) {
            let stmt = by_subjects_statement(self.nid, chunk);
            found.extend(self.reads.select(&stmt, from_sqlite_row)?);
        }
        Ok(found)
    }
}
