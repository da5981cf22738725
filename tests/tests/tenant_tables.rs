//! The tenant-scoped tables are what the schema says they are: every table
//! with an `nid` column is in `store::tenant_tables()` (so a purge reaches
//! it) and nothing else is. And the purge itself, table by table: two
//! projects with rows in every tenant table; purging one leaves it no row
//! anywhere and the other exactly the rows it had.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_server::RunningServer;
use keyplane_tests::statement;
use reqwest::Method;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use store::sea_orm::{ConnectionTrait, DatabaseBackend};

/// The tables with an `nid` column, read from the migrated schema.
pub async fn tables_with_an_nid(db: &store::Database) -> BTreeSet<String> {
    let sql = match db.conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.columns \
             WHERE column_name = 'nid' AND table_schema = current_schema()"
        }
        _ => {
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'nid'"
        }
    };
    let rows = db.conn.query_all_raw(statement(db, sql, [])).await.unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn every_table_with_an_nid_column_is_a_tenant_table() {
    let db = keyplane_tests::fresh_database(keyplane_tests::database_kind_from_env()).await;
    let from_schema = tables_with_an_nid(&db).await;
    let listed: BTreeSet<String> = store::tenant_table_names().into_iter().collect();
    assert_eq!(
        from_schema, listed,
        "store::tenant_tables() must list exactly the tables with an nid column"
    );
}

/// Rows of each tenant table that belong to `nid`.
async fn rows_by_table(server: &RunningServer, nid: &str) -> BTreeMap<String, i64> {
    let db = &server.services.db;
    let mut counts = BTreeMap::new();
    for table in store::tenant_table_names() {
        let nid = uuid::Uuid::parse_str(nid).unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE nid = $1");
        let row = db
            .conn
            .query_one_raw(statement(db, &sql, [nid.into()]))
            .await
            .unwrap()
            .unwrap();
        counts.insert(table, row.try_get_by_index::<i64>(0).unwrap());
    }
    counts
}

/// A project with rows in every tenant table, made through the APIs.
async fn populated_project(server: &RunningServer, owner: &str, name: &str) -> (String, String) {
    let (status, project) = call(
        server,
        owner,
        Method::POST,
        "/projects",
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let id = project["id"].as_str().unwrap().to_owned();
    let slug = project["slug"].as_str().unwrap().to_owned();
    set_namespaces(server, owner, &id, &["files"]).await;

    // Identity, credentials, identifiers, addresses, a session, flows, and
    // the verification mail with its token.
    let cfg = tenant(server, &slug);
    let email = format!("user@{slug}.example");
    let registered = sdk_register(&cfg, &email, "a long enough passphrase 42").await;
    sdk_login(&cfg, &email, "a long enough passphrase 42")
        .await
        .unwrap();
    // A recovery token.
    let (status, link) = tenant_call(
        server,
        &slug,
        owner,
        Method::POST,
        "/admin/recovery/link",
        Some(json!({ "identity_id": registered.identity.id })),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    // A stored flow error: a browser asking to return to a foreign site.
    let host = tenant_host(&slug);
    let browser = reqwest::Client::builder()
        .resolve(&host, server.addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{host}:{}", server.addr.port());
    let refused = browser
        .get(format!(
            "{base}/self-service/login/browser?return_to=https://elsewhere.example/"
        ))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_redirection(), "{}", refused.status());
    // A tuple (with its change and position) and, along the way, audit events.
    let (status, tuple) = tenant_call(
        server,
        &slug,
        owner,
        Method::PUT,
        "/admin/relation-tuples",
        Some(json!({ "namespace": "files", "object": "readme", "relation": "viewer", "subject_id": "alice" })),
    )
    .await;
    assert_eq!(status, 201, "{tuple}");
    (id, slug)
}

#[tokio::test]
async fn purging_a_project_empties_each_tenant_table_of_its_rows_and_only_its_rows() {
    let (server, owner, _) = owner().await;
    let (doomed, _) = populated_project(&server, &owner, "Doomed").await;
    let (kept, kept_slug) = populated_project(&server, &owner, "Kept").await;

    let before = rows_by_table(&server, &doomed).await;
    let empty: Vec<_> = before
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(t, _)| t.as_str())
        .collect();
    assert!(
        empty.is_empty(),
        "the fixture left no row in {empty:?}: {before:?}"
    );
    let kept_before = rows_by_table(&server, &kept).await;

    let (status, body) = call(
        &server,
        &owner,
        Method::DELETE,
        &format!("/projects/{doomed}"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");

    let after = rows_by_table(&server, &doomed).await;
    assert!(after.values().all(|n| *n == 0), "left behind: {after:?}");
    assert_eq!(rows_by_table(&server, &kept).await, kept_before);
    // And the kept project still works.
    let whoami = tenant_call(
        &server,
        &kept_slug,
        &owner,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(whoami.0, 200, "{}", whoami.1);
    server.stop().await;
}
