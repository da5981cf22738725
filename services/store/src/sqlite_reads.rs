//! Reads of a SQLite file on the calling thread, for the hottest read paths
//! (the permission engine's walks: one query per level, several levels per
//! check).
//!
//! Why beside sea-orm: sqlx runs each SQLite connection on a worker thread
//! of its own, so every statement is two cross-thread hand-offs. Measured in
//! `benches/check.rs`, `SELECT 1` through it costs ~30–40 µs here, which
//! made a three-level check ≥ 120 µs before any work; on the calling thread
//! a cached statement of the level's shape takes a few µs. SQLite in WAL
//! mode lets these read-only connections run beside sqlx's writer and never
//! wait for it (they read the last committed state at statement start), so
//! writes and transactions stay with sea-orm.
//!
//! Reads here block the async worker for their duration: fine for indexed
//! lookups served from the page cache (microseconds), which is all they are
//! used for.

use kernel::{Error, Result};
pub use rusqlite::Row;
use rusqlite::{Connection, OpenFlags, ToSql, types::Value as SqliteValue};

/// What mapping one row gives.
pub type RowResult<T> = rusqlite::Result<T>;
use sea_orm::sea_query::{SelectStatement, SqliteQueryBuilder, Value};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Read-only connections to one SQLite file, reused across calls.
pub struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteReads {
    /// For a SQLite *file* URL (`sqlite://path?…`, `sqlite:path`); None for
    /// in-memory databases, which other connections cannot see.
    pub fn for_url(url: &str, max_idle: usize) -> Option<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path.contains(":memory:") || query.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::unavailable("cannot open the database").with_message(e.to_string()))?;
        // Only a WAL checkpoint's brief lock can make a reader wait.
        conn.busy_timeout(Duration::from_secs(1))
            .map_err(Error::internal)?;
        // As the pool's connections (`db::MMAP_SIZE`): a page another
        // connection wrote is then not copied in by a `read()` call.
        conn.pragma_update(None, "mmap_size", crate::db::MMAP_SIZE)
            .map_err(Error::internal)?;
        Ok(conn)
    }

    /// Runs `stmt` and maps each row; statements are prepared once per
    /// connection and cached.
    pub fn select<T>(
        &self,
        stmt: &SelectStatement,
        map: impl FnMut(&Row<'_>) -> RowResult<T>,
    ) -> Result<Vec<T>> {
        let (sql, values) = stmt.build(SqliteQueryBuilder);
        self.query(&sql, values.0, map)
    }

    /// Runs a statement written in SQL (`?N` placeholders) and maps each
    /// row: for what sea-query cannot build, such as a recursive query.
    pub fn query<T>(
        &self,
        sql: &str,
        values: Vec<Value>,
        mut map: impl FnMut(&Row<'_>) -> RowResult<T>,
    ) -> Result<Vec<T>> {
        let params = values
            .into_iter()
            .map(to_sqlite)
            .collect::<Result<Vec<_>>>()?;
        let conn = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.pop()
        };
        let conn = match conn {
            Some(conn) => conn,
            None => self.open()?,
        };
        let rows = (|| {
            let mut prepared = conn.prepare_cached(sql)?;
            let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
            let mapped = prepared.query_map(refs.as_slice(), |row| map(row))?;
            mapped.collect::<rusqlite::Result<Vec<T>>>()
        })()
        .map_err(|e| Error::internal(format!("sqlite read: {e}")));
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
        rows
    }
}

/// A bound value as SQLite stores what sqlx binds: uuids as 16-byte blobs,
/// booleans as integers.
fn to_sqlite(value: Value) -> Result<SqliteValue> {
    Ok(match value {
        Value::Bool(v) => v.map_or(SqliteValue::Null, |b| SqliteValue::Integer(b.into())),
        Value::Int(v) => v.map_or(SqliteValue::Null, |n| SqliteValue::Integer(n.into())),
        Value::BigInt(v) => v.map_or(SqliteValue::Null, SqliteValue::Integer),
        Value::String(v) => v.map_or(SqliteValue::Null, SqliteValue::Text),
        Value::Bytes(v) => v.map_or(SqliteValue::Null, SqliteValue::Blob),
        Value::Uuid(v) => v.map_or(SqliteValue::Null, |u| {
            SqliteValue::Blob(u.as_bytes().to_vec())
        }),
        other => {
            return Err(Error::internal(format!(
                "sqlite read: no binding for {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_urls_get_direct_reads() {
        assert!(SqliteReads::for_url("sqlite://./data/keyplane.db?mode=rwc", 4).is_some());
        assert!(SqliteReads::for_url("sqlite:/tmp/x.db", 4).is_some());
        assert!(SqliteReads::for_url("sqlite::memory:", 4).is_none());
        assert!(SqliteReads::for_url("sqlite://file.db?mode=memory", 4).is_none());
        assert!(SqliteReads::for_url("postgres://u@h/db", 4).is_none());
    }
}
