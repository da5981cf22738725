//! Connecting to SQLite (the embedded default) or PostgreSQL, and running
//! the migrations in `migration/`.

use kernel::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::path::PathBuf;
use std::time::Duration;

/// How much of a SQLite file its connections map into memory (SQLite's
/// `mmap_size`; the file may be larger, the rest is read as before).
/// Every connection of the pool caches pages of its own, and after another
/// connection wrote, the pages it touches again are read anew: through
/// `read()` calls, a copy per 4 KiB page, unless they are mapped.
pub const MMAP_SIZE: i64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// A connected database and which kind it is.
#[derive(Debug, Clone)]
pub struct Database {
    pub conn: DatabaseConnection,
    pub kind: DatabaseKind,
    /// On a SQLite file: read-only connections for reads on the calling
    /// thread (`sqlite_reads`); None on PostgreSQL and in-memory SQLite.
    pub sqlite_reads: Option<std::sync::Arc<crate::sqlite_reads::SqliteReads>>,
}

impl Database {
    /// `SELECT 1`: what readiness checks.
    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await.map_err(Error::internal)
    }

    /// Begins a transaction that will write. On SQLite it takes the write
    /// lock at `BEGIN IMMEDIATE`: a deferred transaction that reads first
    /// and writes later fails at once with "database is locked" (no busy
    /// wait) when another connection committed in between, since WAL cannot
    /// upgrade its stale read snapshot; an immediate one waits for the lock
    /// within the busy timeout instead. PostgreSQL ignores the mode.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction> {
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
            .map_err(crate::sql::db_error)
    }

    /// Begins a read-only transaction that sees one snapshot of the data
    /// however long it lasts (an export reading page after page):
    /// repeatable read on PostgreSQL; on SQLite (WAL) every read
    /// transaction does, from its first read on.
    pub async fn begin_snapshot(&self) -> Result<DatabaseTransaction> {
        let options = match self.kind {
            DatabaseKind::Postgres => TransactionOptions {
                isolation_level: Some(sea_orm::IsolationLevel::RepeatableRead),
                access_mode: Some(sea_orm::AccessMode::ReadOnly),
                ..TransactionOptions::default()
            },
            DatabaseKind::Sqlite => TransactionOptions::default(),
        };
        self.conn
            .begin_with_options(options)
            .await
            .map_err(crate::sql::db_error)
    }
}

fn kind_of(url: &str) -> Result<DatabaseKind> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else {
        Err(Error::bad_request(format!(
            "database url must start with sqlite: or postgres://, got {:?}",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

/// The file of a SQLite file URL (`sqlite://./data/keyplane.db?mode=rwc`);
/// None for PostgreSQL and in-memory SQLite.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Creates the directory of a SQLite file URL so that the first start on a
/// fresh machine works.
fn ensure_sqlite_dir(url: &str) -> Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// Connects and, for SQLite, switches the file to WAL so readers never wait
/// for the writer.
pub async fn connect(url: &str, max_connections: u32) -> Result<Database> {
    let kind = kind_of(url)?;
    let mut url = url.to_owned();
    if kind == DatabaseKind::Sqlite {
        ensure_sqlite_dir(&url)?;
        if !url.contains("mode=") && !url.contains(":memory:") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
    }
    // None unless the URL names a SQLite file.
    let sqlite_reads = crate::sqlite_reads::SqliteReads::for_url(&url, max_connections as usize)
        .map(std::sync::Arc::new);
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // Ping only connections idle long enough to have been dropped by the
        // server or a proxy: pinging on every checkout (the default) adds a
        // round trip to every query of the hot paths.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if kind == DatabaseKind::Sqlite {
        // WAL so readers never wait for the writer; NORMAL sync is safe with
        // WAL and avoids an fsync per commit.
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("mmap_size", MMAP_SIZE.to_string())
        });
    }
    let conn = sea_orm::Database::connect(opts).await.map_err(|e| {
        Error::unavailable("cannot connect to the database").with_message(e.to_string())
    })?;
    Ok(Database {
        conn,
        kind,
        sqlite_reads,
    })
}

/// Applies pending migrations through a connection of its own, closed
/// before the returned pool opens. A pooled connection that loaded the
/// SQLite schema while a migration ran (a table created, its unique index
/// not yet) keeps that schema for new statements, and an `ON CONFLICT`
/// insert then fails with "does not match any UNIQUE constraint"; fresh
/// connections load the finished schema.
pub async fn connect_migrated(url: &str, max_connections: u32) -> Result<Database> {
    let migrator = connect(url, 1).await?;
    migrate_up(&migrator).await?;
    migrator.conn.close().await.map_err(Error::internal)?;
    connect(url, max_connections).await
}

pub async fn migrate_up(db: &Database) -> Result<()> {
    Migrator::up(&db.conn, None).await.map_err(Error::internal)
}

/// Reverts `steps` migrations (all of them when `None`).
pub async fn migrate_down(db: &Database, steps: Option<u32>) -> Result<()> {
    Migrator::down(&db.conn, steps)
        .await
        .map_err(Error::internal)
}

/// Every known migration and whether it is applied.
pub async fn migrate_status(db: &Database) -> Result<Vec<(String, bool)>> {
    let applied: Vec<String> = Migrator::get_applied_migrations(&db.conn)
        .await
        .map_err(Error::internal)?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_owned();
            let done = applied.contains(&name);
            (name, done)
        })
        .collect())
}

/// The SQLite journal mode currently in force, for tests and diagnostics.
pub async fn sqlite_journal_mode(db: &Database) -> Result<String> {
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .map_err(Error::internal)?
        .ok_or_else(|| Error::internal("no journal_mode row"))?;
    row.try_get_by_index::<String>(0).map_err(Error::internal)
}
