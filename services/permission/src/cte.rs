//! Check as one recursive query, for PostgreSQL: where every statement is a
//! network round trip, the whole walk in one statement beats one statement
//! per level (`docs/benchmarks.md` has both measured). The answer is
//! exactly the breadth-first walk's (`check.rs`): `walk` holds every
//! userset reachable from the queried one through subject sets, with the
//! number of tuples read to reach it; sets are followed only below the
//! depth, and the subject must be among the tuples of a userset within it.
//! `UNION` drops repeated rows, and `depth` bounds the rest, so cycles end.

use crate::model::{Subject, Tuple};
use kernel::Result;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use store::sql;
use uuid::Uuid;

const WALK: &str = "WITH RECURSIVE walk(namespace_id, object, relation, depth) AS ( \
        SELECT CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT), 1 \
    UNION \
        SELECT t.subject_set_namespace_id, t.subject_set_object, t.subject_set_relation, w.depth + 1 \
        FROM walk w JOIN relation_tuples t \
          ON t.nid = $1 AND t.namespace_id = w.namespace_id \
         AND t.object = w.object AND t.relation = w.relation \
        WHERE t.subject_id IS NULL AND w.depth < $5 \
    ) \
    SELECT EXISTS ( \
        SELECT 1 FROM walk w JOIN relation_tuples t \
          ON t.nid = $1 AND t.namespace_id = w.namespace_id \
         AND t.object = w.object AND t.relation = w.relation \
        WHERE ";

/// Whether `query.subject` is in `query.userset` within `max_depth` levels,
/// in one statement (PostgreSQL only).
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    query: &Tuple,
    max_depth: u32,
) -> Result<bool> {
    let mut values: Vec<Value> = vec![
        nid.into(),
        query.userset.namespace.into(),
        query.userset.object.clone().into(),
        query.userset.relation.clone().into(),
        i64::from(max_depth).into(),
    ];
    let subject = match &query.subject {
        Subject::Id(id) => {
            values.push(id.clone().into());
            "t.subject_id = $6"
        }
        Subject::Set(set) => {
            values.push(set.namespace.into());
            values.push(set.object.clone().into());
            values.push(set.relation.clone().into());
            "t.subject_id IS NULL AND t.subject_set_namespace_id = $6 \
             AND t.subject_set_object = $7 AND t.subject_set_relation = $8"
        }
    };
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("{WALK}{subject}) AS allowed"),
        values,
    );
    let row = conn
        .query_one_raw(statement)
        .await
        .map_err(sql::db_error)?
        .ok_or_else(|| kernel::Error::internal("the check query returned no row"))?;
    sql::get(&row, "allowed")
}
