//! Check as one recursive query. On PostgreSQL every statement is a network
//! round trip, so the whole walk in one statement beats one statement per
//! level; on a SQLite file it saves building and binding a level's `IN`
//! list and carrying every row of a level into Rust and back
//! (`docs/benchmarks.md` has all of them measured). The answer is exactly
//! the breadth-first walk's (`check.rs`, compared on random graphs in
//! `tests/tests/permission_lookups.rs`): `walk` holds every userset reachable from the queried
//! one through subject sets, with the number of tuples read to reach it;
//! sets are followed only below the depth, and the subject must be among
//! the tuples of a userset within it. `UNION` drops repeated rows, and
//! `depth` bounds the rest, so cycles end.

use crate::model::{Subject, Tuple};
use kernel::Result;
use sea_orm::{ConnectionTrait, DbBackend, IdenStatic, Statement, Value};
use std::sync::LazyLock;
use store::entity::relation_tuples::{Column, Entity};
use store::sql;
use store::sqlite_reads::SqliteReads;
use uuid::Uuid;

/// The statement for a subject matched by `condition`, written with `$N`
/// placeholders and a plain `JOIN`; SQLite's version differs in both (see
/// [`sql_for`]). The answer is the one column of its one row.
fn walk(condition: &str) -> String {
    let tuples = Entity.as_str();
    let [
        nid,
        namespace_id,
        object,
        relation,
        subject_id,
        set_namespace_id,
        set_object,
        set_relation,
    ] = [
        Column::Nid,
        Column::NamespaceId,
        Column::Object,
        Column::Relation,
        Column::SubjectId,
        Column::SubjectSetNamespaceId,
        Column::SubjectSetObject,
        Column::SubjectSetRelation,
    ]
    .map(|c| c.as_str());
    // `walk` names its columns after the tuple's, so the joins read alike.
    let userset_of_walk = format!(
        "t.{nid} = $1 AND t.{namespace_id} = w.{namespace_id} \
         AND t.{object} = w.{object} AND t.{relation} = w.{relation}"
    );
    format!(
        "WITH RECURSIVE walk({namespace_id}, {object}, {relation}, depth) AS ( \
            SELECT CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT), 1 \
        UNION \
            SELECT t.{set_namespace_id}, t.{set_object}, t.{set_relation}, w.depth + 1 \
            FROM walk w JOIN {tuples} t ON {userset_of_walk} \
            WHERE t.{subject_id} IS NULL AND w.depth < $5 \
        ) \
        SELECT EXISTS ( \
            SELECT 1 FROM walk w JOIN {tuples} t ON {userset_of_walk} \
            WHERE {condition})"
    )
}

/// The statement's text for one backend and the query's kind of subject,
/// built once: checks are a hot path.
fn sql_for(backend: DbBackend, subject: &Subject) -> &'static str {
    static TEXTS: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
        let by_id = format!("t.{} = $6", Column::SubjectId.as_str());
        let by_set = format!(
            "t.{} IS NULL AND t.{} = $6 AND t.{} = $7 AND t.{} = $8",
            Column::SubjectId.as_str(),
            Column::SubjectSetNamespaceId.as_str(),
            Column::SubjectSetObject.as_str(),
            Column::SubjectSetRelation.as_str(),
        );
        [by_id, by_set].map(|condition| {
            let sql = walk(&condition);
            // SQLite: numbered `?N`, since it numbers `$N` by first
            // appearance instead. And `CROSS JOIN`, which SQLite takes as
            // "loop over the walk, look each userset up": left to choose,
            // its planner (3.50) reads every subject-set tuple of the tenant
            // through the subject index for each level (`subject_id IS
            // NULL` looks like an equality to it), 2 ms instead of 0.2 ms on
            // the 200-parent fixture.
            let sqlite = sql
                .replace('$', "?")
                .replace("FROM walk w JOIN", "FROM walk w CROSS JOIN");
            [sql, sqlite]
        })
    });
    let by = match subject {
        Subject::Id(_) => 0,
        Subject::Set(_) => 1,
    };
    let dialect = usize::from(backend == DbBackend::Sqlite);
    &TEXTS[by][dialect]
}

fn values(nid: Uuid, query: &Tuple, max_depth: u32) -> Vec<Value> {
    let mut values: Vec<Value> = vec![
        nid.into(),
        query.userset.namespace.into(),
        query.userset.object.clone().into(),
        query.userset.relation.clone().into(),
        i64::from(max_depth).into(),
    ];
    match &query.subject {
        Subject::Id(id) => values.push(id.clone().into()),
        Subject::Set(set) => {
            values.push(set.namespace.into());
            values.push(set.object.clone().into());
            values.push(set.relation.clone().into());
        }
    }
    values
}

/// Whether `query.subject` is in `query.userset` within `max_depth` levels,
/// in one statement through the pool (the engine uses it on PostgreSQL).
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    query: &Tuple,
    max_depth: u32,
) -> Result<bool> {
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        sql_for(backend, &query.subject),
        values(nid, query, max_depth),
    );
    let row = conn
        .query_one_raw(statement)
        .await
        .map_err(sql::db_error)?
        .ok_or_else(|| kernel::Error::internal("the check query returned no row"))?;
    sql::get_at(&row, 0)
}

/// [`check`] on a SQLite file, read on the calling thread (the engine uses
/// it there).
pub fn check_sqlite(reads: &SqliteReads, nid: Uuid, query: &Tuple, max_depth: u32) -> Result<bool> {
    let sql = sql_for(DbBackend::Sqlite, &query.subject);
    let rows = reads.query(sql, values(nid, query, max_depth), |row| {
        row.get::<_, bool>(0)
    })?;
    rows.first()
        .copied()
        .ok_or_else(|| kernel::Error::internal("the check query returned no row"))
}
