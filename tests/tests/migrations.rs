//! Every migration is reversible: up → down (all) → up on SQLite and on
//! PostgreSQL, with the schema checked at each step; and every migration
//! only expands the schema, so two versions can run side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::fresh_database_url;
use sea_orm::{ConnectionTrait, Statement};
use store::{DatabaseKind, connect, migrate_down, migrate_status, migrate_up};

async fn table_names(db: &store::Database) -> Vec<String> {
    let sql = match db.kind {
        DatabaseKind::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        DatabaseKind::Postgres => {
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        }
    };
    db.conn
        .query_all_raw(Statement::from_string(db.conn.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .filter(|name| name != "seaql_migrations")
        .collect()
}

async fn up_down_up(kind: DatabaseKind) {
    // One connection, as `store::connect_migrated` migrates: on SQLite in
    // WAL mode a second pooled connection's read snapshot can still show a
    // table or index another connection dropped.
    let db = connect(&fresh_database_url(kind).await, 1).await.unwrap();
    assert!(table_names(&db).await.is_empty());

    migrate_up(&db).await.unwrap();
    let after_up = table_names(&db).await;
    assert!(after_up.contains(&"accounts".to_owned()), "{after_up:?}");
    assert!(
        migrate_status(&db)
            .await
            .unwrap()
            .iter()
            .all(|(_, applied)| *applied)
    );

    let count = migrate_status(&db).await.unwrap().len() as u32;
    migrate_down(&db, Some(count)).await.unwrap();
    assert!(
        table_names(&db).await.is_empty(),
        "down must remove every table"
    );
    assert!(
        migrate_status(&db)
            .await
            .unwrap()
            .iter()
            .all(|(_, applied)| !*applied)
    );

    migrate_up(&db).await.unwrap();
    assert_eq!(
        table_names(&db).await,
        after_up,
        "up after down restores the same schema"
    );
    // Running up again is a no-op.
    migrate_up(&db).await.unwrap();
}

#[tokio::test]
async fn migrations_are_reversible_on_sqlite() {
    up_down_up(DatabaseKind::Sqlite).await;
}

#[tokio::test]
async fn migrations_are_reversible_on_postgres() {
    up_down_up(DatabaseKind::Postgres).await;
}

#[tokio::test]
async fn migrations_step_down_one_at_a_time() {
    for kind in [DatabaseKind::Sqlite, DatabaseKind::Postgres] {
        // One connection, as `store::connect_migrated` migrates (see above).
        let db = connect(&fresh_database_url(kind).await, 1).await.unwrap();
        migrate_up(&db).await.unwrap();
        let total = migrate_status(&db).await.unwrap().len();
        for remaining in (0..total).rev() {
            migrate_down(&db, Some(1)).await.unwrap();
            let applied = migrate_status(&db)
                .await
                .unwrap()
                .iter()
                .filter(|(_, a)| *a)
                .count();
            assert_eq!(applied, remaining);
        }
        migrate_up(&db).await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    let dir = std::env::temp_dir().join(format!("kp-wal-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}/nested/keyplane.db", dir.display());
    let db = connect(&url, 2).await.unwrap();
    assert!(
        dir.join("nested/keyplane.db").exists(),
        "the directory and file are created"
    );
    assert_eq!(store::db::sqlite_journal_mode(&db).await.unwrap(), "wal");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn unsupported_database_urls_are_refused() {
    let err = connect("mysql://root@127.0.0.1/test", 1).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("sqlite"));
}

/// Every column of every table: `(table, column) → (type, nullable, has default)`.
type Columns = std::collections::BTreeMap<(String, String), (String, bool, bool)>;

async fn columns(db: &store::Database) -> Columns {
    let sql = match db.kind {
        DatabaseKind::Sqlite => {
            "SELECT m.name, p.name, p.type, p.\"notnull\" = 0, p.dflt_value IS NOT NULL \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'seaql_migrations'"
        }
        DatabaseKind::Postgres => {
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES', \
             column_default IS NOT NULL FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'"
        }
    };
    db.conn
        .query_all_raw(Statement::from_string(db.conn.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                (
                    row.try_get_by_index::<String>(0).unwrap(),
                    row.try_get_by_index::<String>(1).unwrap(),
                ),
                (
                    row.try_get_by_index::<String>(2).unwrap(),
                    row.try_get_by_index::<bool>(3).unwrap(),
                    row.try_get_by_index::<bool>(4).unwrap(),
                ),
            )
        })
        .collect()
}

/// Zero-downtime upgrades need every migration to be expand-only: while a
/// rolling update runs, version N still reads and writes the schema N+1
/// migrated. So no migration drops or retypes a column or table the one
/// before it had, and a column it adds to an existing table must be
/// nullable or have a default (N's inserts do not know it).
#[tokio::test]
async fn every_migration_only_expands_the_schema() {
    for kind in [DatabaseKind::Sqlite, DatabaseKind::Postgres] {
        let db = connect(&fresh_database_url(kind).await, 1).await.unwrap();
        migrate_up(&db).await.unwrap();
        let names: Vec<String> = migrate_status(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        // Schemas after each migration, newest first, by stepping down.
        let mut schemas = vec![columns(&db).await];
        for _ in 0..names.len() {
            migrate_down(&db, Some(1)).await.unwrap();
            schemas.push(columns(&db).await);
        }
        schemas.reverse();
        for (step, name) in names.iter().enumerate() {
            let (before, after) = (&schemas[step], &schemas[step + 1]);
            let old_tables: std::collections::BTreeSet<&String> =
                before.keys().map(|(table, _)| table).collect();
            for (column, shape) in before {
                assert_eq!(
                    after.get(column),
                    Some(shape),
                    "{kind:?}: {name} drops or changes {column:?}, which the previous version uses"
                );
            }
            for ((table, column), (_, nullable, has_default)) in after {
                let added = !before.contains_key(&(table.clone(), column.clone()));
                if added && old_tables.contains(table) {
                    assert!(
                        *nullable || *has_default,
                        "{kind:?}: {name} adds NOT NULL {table}.{column} without a default; the previous version's inserts would fail"
                    );
                }
            }
        }
    }
}
