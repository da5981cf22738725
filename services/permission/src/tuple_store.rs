//! SQL for relation tuples. Every statement filters on the tenant's `nid`.

use crate::model::{Subject, SubjectSet, Tuple};
use crate::reader::{TupleReader, Want};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use store::sql::{self, col};
use store::sqlite_reads::SqliteReads;
use uuid::Uuid;

const TUPLES: &str = "relation_tuples";
const COLUMNS: &[&str] = &[
    "seq",
    "namespace_id",
    "object",
    "relation",
    "subject_id",
    "subject_set_namespace_id",
    "subject_set_object",
    "subject_set_relation",
];

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
        Subject::Id(id) => Condition::all().add(Expr::col(col("subject_id")).eq(id.as_str())),
        Subject::Set(set) => Condition::all()
            .add(Expr::col(col("subject_set_namespace_id")).eq(set.namespace))
            .add(Expr::col(col("subject_set_object")).eq(set.object.as_str()))
            .add(Expr::col(col("subject_set_relation")).eq(set.relation.as_str())),
    }
}

fn filter_condition(nid: Uuid, filter: &TupleFilter) -> Condition {
    let mut cond = Condition::all().add(Expr::col(col("nid")).eq(nid));
    if let Some(namespace) = filter.namespace {
        cond = cond.add(Expr::col(col("namespace_id")).eq(namespace));
    }
    if let Some(object) = &filter.object {
        cond = cond.add(Expr::col(col("object")).eq(object.as_str()));
    }
    if let Some(relation) = &filter.relation {
        cond = cond.add(Expr::col(col("relation")).eq(relation.as_str()));
    }
    if let Some(subject) = &filter.subject {
        cond = cond.add(subject_condition(subject));
    }
    cond
}

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.iter().map(|c| col(c)))
        .from(col(TUPLES))
        .to_owned()
}

fn from_row(row: &QueryResult) -> Result<(i64, Tuple)> {
    let userset = SubjectSet {
        namespace: sql::get(row, "namespace_id")?,
        object: sql::get(row, "object")?,
        relation: sql::get(row, "relation")?,
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
    Ok((sql::get(row, "seq")?, Tuple { userset, subject }))
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
const INSERT_COLUMNS: [&str; 11] = [
    "nid",
    "tuple_key",
    "userset_key",
    "namespace_id",
    "object",
    "relation",
    "subject_id",
    "subject_set_namespace_id",
    "subject_set_object",
    "subject_set_relation",
    "created_at",
];

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
        .into_table(col(TUPLES))
        .columns(INSERT_COLUMNS.map(col))
        .values(row(nid, tuple, now).into_iter().map(Into::into))
        .map_err(|e| Error::internal(format!("building tuple insert: {e}")))?
        .on_conflict(
            OnConflict::columns([col("nid"), col("tuple_key")])
                .do_nothing()
                .to_owned(),
        )
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
    sql::insert_many_returning(
        conn,
        TUPLES,
        &INSERT_COLUMNS,
        rows,
        Some(&["nid", "tuple_key"]),
        COLUMNS,
    )
    .await?
    .iter()
    .map(|row| from_row(row).map(|(_, tuple)| tuple))
    .collect()
}

/// Deletes one tuple by its key; deleting an absent tuple is a no-op.
pub async fn delete<C: ConnectionTrait>(conn: &C, nid: Uuid, tuple: &Tuple) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(col(TUPLES))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("tuple_key")).eq(tuple.key()))
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
        .from_table(col(TUPLES))
        .cond_where(filter_condition(nid, filter))
        .returning(Query::returning().columns(COLUMNS.iter().map(|c| col(c))))
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
        .and_where(Expr::col(col("seq")).gt(after_seq))
        .order_by(col("seq"), Order::Asc)
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
            .add(Expr::col(col("nid")).eq(nid))
            .add(Expr::col(col("userset_key")).is_in(userset_keys()))
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
            .add(Expr::col(col("nid")).eq(nid))
            .add(Expr::col(col("tuple_key")).is_in(keys))
    };
    let sets = || of_usersets().add(Expr::col(col("subject_id")).is_null());
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
        stmt.order_by(col("seq"), Order::Asc);
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
                .add(Expr::col(col("nid")).eq(nid))
                .add(Expr::col(col("subject_id")).is_in(ids)),
        );
    }
    for subject in subjects.iter().filter(|s| matches!(s, Subject::Set(_))) {
        any = any.add(
            Condition::all()
                .add(Expr::col(col("nid")).eq(nid))
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

fn from_sqlite_row(row: &store::sqlite_reads::Row<'_>) -> store::sqlite_reads::RowResult<Tuple> {
    let userset = SubjectSet {
        namespace: row.get("namespace_id")?,
        object: row.get("object")?,
        relation: row.get("relation")?,
    };
    let subject = match row.get::<_, Option<String>>("subject_id")? {
        Some(id) => Subject::Id(id),
        None => Subject::Set(SubjectSet {
            namespace: row.get("subject_set_namespace_id")?,
            object: row.get("subject_set_object")?,
            relation: row.get("subject_set_relation")?,
        }),
    };
    Ok(Tuple { userset, subject })
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
