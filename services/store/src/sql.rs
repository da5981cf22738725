//! Thin helpers over sea-query for the stores: build a statement for the
//! connection's backend, run it, and map database errors to `kernel::Error`
//! (unique violations become 409s; everything else is internal).

use kernel::{Error, Result};
use sea_orm::sea_query::{
    Asterisk, DeleteStatement, Expr, Func, InsertStatement, IntoIden, OnConflict, Query,
    SelectStatement, UpdateStatement, Value,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, IdenStatic, QueryResult, SqlErr};

/// Maps a database error: a unique-constraint violation is a conflict the
/// caller can act on; anything else is an internal error (logged, not sent).
pub fn db_error(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Error::conflict("a resource with that identifier already exists")
        }
        _ => Error::internal(err),
    }
}

/// `INSERT INTO table (cols...) VALUES (...)`.
///
/// Every helper here names tables and columns by `IdenStatic`: the `Entity`
/// and `Column` types of `crate::entity` have it, strings do not, so a
/// store cannot spell a name by hand.
fn insert_statement<T: IdenStatic, I: IdenStatic>(
    table: T,
    columns: Vec<(I, Value)>,
) -> Result<InsertStatement> {
    let table = table.into_iden();
    let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let mut insert = Query::insert();
    insert
        .into_table(table.clone())
        .columns(names)
        .values(values.into_iter().map(Into::into))
        .map_err(|e| Error::internal(format!("building insert into {table}: {e}")))?;
    Ok(insert)
}

pub async fn insert<C: ConnectionTrait, T: IdenStatic, I: IdenStatic>(
    conn: &C,
    table: T,
    columns: Vec<(I, Value)>,
) -> Result<()> {
    let stmt = insert_statement(table, columns)?;
    conn.execute_raw(conn.get_database_backend().build(&stmt))
        .await
        .map_err(db_error)?;
    Ok(())
}

/// `INSERT … ON CONFLICT (key) DO NOTHING`; returns how many rows were
/// inserted (0: the key existed). For inserts where a duplicate is
/// expected: on PostgreSQL a failed INSERT would abort the transaction.
pub async fn insert_or_ignore<C: ConnectionTrait, T: IdenStatic, I: IdenStatic>(
    conn: &C,
    table: T,
    columns: Vec<(I, Value)>,
    key: I,
) -> Result<u64> {
    let mut stmt = insert_statement(table, columns)?;
    stmt.on_conflict(OnConflict::column(key).do_nothing().to_owned());
    let res = conn
        .execute_raw(conn.get_database_backend().build(&stmt))
        .await
        .map_err(db_error)?;
    Ok(res.rows_affected())
}

/// Most bind parameters one multi-row INSERT carries: below SQLite's
/// 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;
/// Most rows one INSERT carries. The driver keeps prepared statements per
/// connection, and a statement's compiled form grows with its rows: a
/// fixed, modest size is prepared once and stays small (5,000-row inserts
/// held over 100 MiB of cached statements).
const MAX_ROWS_PER_STATEMENT: usize = 100;

/// The multi-row INSERTs of [`insert_many`]: as few statements as the
/// parameter limit allows, each of at most `MAX_ROWS_PER_STATEMENT` rows.
fn insert_statements<T: IdenStatic, I: IdenStatic>(
    table: T,
    columns: &[I],
    rows: Vec<Vec<Value>>,
    ignore_conflicts_on: Option<&[I]>,
) -> Result<Vec<InsertStatement>> {
    let table = table.into_iden();
    let per_statement =
        (MAX_PARAMS_PER_STATEMENT / columns.len().max(1)).clamp(1, MAX_ROWS_PER_STATEMENT);
    let mut statements = Vec::with_capacity(rows.len().div_ceil(per_statement));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut stmt = Query::insert();
        stmt.into_table(table.clone())
            .columns(columns.iter().copied());
        for row in rows.by_ref().take(per_statement) {
            stmt.values(row.into_iter().map(Into::into))
                .map_err(|e| Error::internal(format!("building insert into {table}: {e}")))?;
        }
        if let Some(key) = ignore_conflicts_on {
            stmt.on_conflict(
                OnConflict::columns(key.iter().copied())
                    .do_nothing()
                    .to_owned(),
            );
        }
        statements.push(stmt);
    }
    Ok(statements)
}

/// `INSERT INTO table (columns) VALUES (...), (...), ...` for many rows,
/// as few statements as the parameter limit allows (bulk loads: one
/// statement instead of one per row). With `ignore_conflicts_on`, rows
/// whose key exists are skipped. Returns how many rows were inserted.
pub async fn insert_many<C: ConnectionTrait, T: IdenStatic, I: IdenStatic>(
    conn: &C,
    table: T,
    columns: &[I],
    rows: Vec<Vec<Value>>,
    ignore_conflicts_on: Option<&[I]>,
) -> Result<u64> {
    let mut inserted = 0;
    for stmt in insert_statements(table, columns, rows, ignore_conflicts_on)? {
        let done = conn
            .execute_raw(conn.get_database_backend().build(&stmt))
            .await
            .map_err(db_error)?;
        inserted += done.rows_affected();
    }
    Ok(inserted)
}

/// [`insert_many`], answering the `returning` columns of the rows it
/// inserted (those skipped on a conflict are not returned).
pub async fn insert_many_returning<C: ConnectionTrait, T: IdenStatic, I: IdenStatic>(
    conn: &C,
    table: T,
    columns: &[I],
    rows: Vec<Vec<Value>>,
    ignore_conflicts_on: Option<&[I]>,
    returning: &[I],
) -> Result<Vec<QueryResult>> {
    let mut inserted = Vec::new();
    for mut stmt in insert_statements(table, columns, rows, ignore_conflicts_on)? {
        stmt.returning(Query::returning().columns(returning.iter().copied()));
        inserted.extend(
            conn.query_all_raw(conn.get_database_backend().build(&stmt))
                .await
                .map_err(db_error)?,
        );
    }
    Ok(inserted)
}

/// Runs an UPDATE and returns how many rows it changed.
pub async fn update<C: ConnectionTrait>(conn: &C, stmt: &UpdateStatement) -> Result<u64> {
    let res = conn
        .execute_raw(conn.get_database_backend().build(stmt))
        .await
        .map_err(db_error)?;
    Ok(res.rows_affected())
}

/// Runs a DELETE and returns how many rows it removed.
pub async fn delete<C: ConnectionTrait>(conn: &C, stmt: &DeleteStatement) -> Result<u64> {
    let res = conn
        .execute_raw(conn.get_database_backend().build(stmt))
        .await
        .map_err(db_error)?;
    Ok(res.rows_affected())
}

pub async fn select_all<C: ConnectionTrait>(
    conn: &C,
    stmt: &SelectStatement,
) -> Result<Vec<QueryResult>> {
    conn.query_all_raw(conn.get_database_backend().build(stmt))
        .await
        .map_err(db_error)
}

pub async fn select_one<C: ConnectionTrait>(
    conn: &C,
    stmt: &SelectStatement,
) -> Result<Option<QueryResult>> {
    conn.query_one_raw(conn.get_database_backend().build(stmt))
        .await
        .map_err(db_error)
}

/// `SELECT COUNT(*)` over `query`'s FROM and WHERE (its select list is
/// replaced by the count).
pub async fn count<C: ConnectionTrait>(conn: &C, mut query: SelectStatement) -> Result<u64> {
    query.clear_selects().expr(Func::count(Expr::col(Asterisk)));
    let n: i64 = match select_one(conn, &query).await? {
        Some(row) => get_at(&row, 0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// `clock`'s now, to the microsecond: what PostgreSQL keeps, so an answer
/// built from a row just written equals the row read back later.
pub fn now_as_stored(clock: &dyn kernel::clock::Clock) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    clock.now().trunc_subsecs(6)
}

/// Reads a column (an entity's `Column`), mapping a decoding failure to an
/// internal error.
pub fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: impl IdenStatic) -> Result<T> {
    let column = column.as_str();
    row.try_get::<T>("", column)
        .map_err(|e| Error::internal(format!("column {column}: {e}")))
}

/// Reads a whole row into an entity's `Model` (or any typed row).
pub fn model<M: FromQueryResult>(row: &QueryResult) -> Result<M> {
    M::from_query_result(row, "").map_err(|e| Error::internal(format!("reading a row: {e}")))
}

/// Reads a column by its position in the SELECT list. Used where column
/// names may exceed PostgreSQL's 63-byte identifier limit: PostgreSQL
/// truncates such names (consistently, so they still work in statements),
/// but the result then carries the truncated name.
pub fn get_at<T: sea_orm::TryGetable>(row: &QueryResult, index: usize) -> Result<T> {
    row.try_get_by_index::<T>(index)
        .map_err(|e| Error::internal(format!("column #{index}: {e}")))
}
