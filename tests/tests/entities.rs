//! The sea-orm entities (`store::entity`) are the schema the migrations
//! build: one entity per table, the same columns, each with a type its
//! `Model` field can decode and the same nullability. Stores name tables
//! and columns only through the entities, so this test is what turns a
//! column renamed in a migration into a failure before any request does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::statement;
use std::collections::{BTreeMap, BTreeSet};
use store::sea_orm::{ColumnType, ConnectionTrait, DatabaseBackend};

/// A column as the database describes it: its declared type and whether
/// it takes NULL.
#[derive(Debug)]
struct DbColumn {
    db_type: String,
    nullable: bool,
}

/// Every table and column of the migrated schema (the migration
/// bookkeeping table aside).
async fn schema(db: &store::Database) -> BTreeMap<String, BTreeMap<String, DbColumn>> {
    let sql = match db.conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name::text, column_name::text, data_type::text, \
             (is_nullable = 'YES') FROM information_schema.columns \
             WHERE table_schema = current_schema()"
        }
        _ => {
            "SELECT m.name, p.name, p.type, (p.\"notnull\" = 0 AND p.pk = 0) \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
    };
    let mut tables: BTreeMap<String, BTreeMap<String, DbColumn>> = BTreeMap::new();
    for row in db.conn.query_all_raw(statement(db, sql, [])).await.unwrap() {
        let table: String = row.try_get_by_index(0).unwrap();
        if table == "seaql_migrations" {
            continue;
        }
        let column: String = row.try_get_by_index(1).unwrap();
        let db_type: String = row.try_get_by_index(2).unwrap();
        let nullable: bool = row.try_get_by_index(3).unwrap();
        tables.entry(table).or_default().insert(
            column,
            DbColumn {
                db_type: db_type.to_lowercase(),
                nullable,
            },
        );
    }
    tables
}

/// Whether a column declared as `db_type` decodes into the Rust type the
/// entity gave it (`column_type` is what sea-orm derives from that type).
fn decodes(column_type: &ColumnType, db_type: &str) -> bool {
    let text =
        db_type == "text" || db_type.starts_with("varchar") || db_type == "character varying";
    match column_type {
        ColumnType::Uuid => db_type == "uuid" || db_type == "uuid_text",
        ColumnType::String(_) | ColumnType::Text => text,
        ColumnType::Integer => db_type == "integer",
        // SQLite has one INTEGER (64-bit); PostgreSQL tells them apart.
        ColumnType::BigInteger => db_type == "bigint" || db_type == "integer",
        ColumnType::Boolean => db_type == "boolean",
        ColumnType::TimestampWithTimeZone => {
            db_type == "timestamp with time zone" || db_type == "timestamp_with_timezone_text"
        }
        _ => false,
    }
}

#[tokio::test]
async fn every_table_has_an_entity_with_its_columns_types_and_nullability() {
    let db = keyplane_tests::fresh_database(keyplane_tests::database_kind_from_env()).await;
    let schema = schema(&db).await;
    // PostgreSQL keeps the first 63 bytes of a longer name (several
    // `project_revisions` columns): the migrations and the entities spell
    // them in full, and both backends accept the full name in statements.
    let postgres = db.conn.get_database_backend() == DatabaseBackend::Postgres;
    let as_stored = |name: &str| -> String {
        if postgres && name.len() > 63 {
            name[..63].to_owned()
        } else {
            name.to_owned()
        }
    };
    let entities = store::entity::all();

    let entity_tables: BTreeSet<&str> = entities.iter().map(|e| e.name).collect();
    let schema_tables: BTreeSet<&str> = schema.keys().map(String::as_str).collect();
    assert_eq!(
        entity_tables, schema_tables,
        "one entity per table of the migrated schema"
    );

    let mut mismatches = Vec::new();
    for entity in &entities {
        let columns = &schema[entity.name];
        let declared: BTreeSet<String> =
            entity.columns.iter().map(|(n, ..)| as_stored(n)).collect();
        let migrated: BTreeSet<String> = columns.keys().cloned().collect();
        if declared != migrated {
            mismatches.push(format!(
                "{}: entity columns {declared:?} != schema columns {migrated:?}",
                entity.name
            ));
            continue;
        }
        for (name, column_type, nullable) in &entity.columns {
            let column = &columns[&as_stored(name)];
            if !decodes(column_type, &column.db_type) {
                mismatches.push(format!(
                    "{}.{name}: entity type {column_type:?}, schema type {}",
                    entity.name, column.db_type
                ));
            }
            if *nullable != column.nullable {
                mismatches.push(format!(
                    "{}.{name}: entity nullable {nullable}, schema nullable {}",
                    entity.name, column.nullable
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// The check itself fails on a mismatch: a text column is not a UUID, an
/// `i32` field cannot hold PostgreSQL's `bigint`.
#[test]
fn a_type_the_field_cannot_decode_is_a_mismatch() {
    assert!(!decodes(&ColumnType::Uuid, "text"));
    assert!(!decodes(&ColumnType::Integer, "bigint"));
    assert!(!decodes(&ColumnType::Boolean, "integer"));
    assert!(decodes(&ColumnType::BigInteger, "integer"));
}
