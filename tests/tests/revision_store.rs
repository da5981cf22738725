//! The revision store on SQLite and PostgreSQL: every supported key (and
//! every child table) survives a write and a read, and one project's
//! revisions are invisible to another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use controlplane::revision::keys::{IDENTITY_KEYS, Kind};
use controlplane::revision::model::{
    HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow, RevisionContent,
};
use controlplane::revision::store as revisions;
use keyplane_tests::fresh_database;
use serde_json::json;
use store::DatabaseKind;
use uuid::Uuid;

fn full_revision(tag: &str) -> RevisionContent {
    let mut content = RevisionContent {
        name: format!("project {tag}"),
        ..RevisionContent::default()
    };
    for (i, key) in IDENTITY_KEYS.iter().enumerate() {
        let value = match key.kind {
            Kind::Str => json!(format!("{tag}-{i} ünïcode ✓")),
            Kind::Url => json!(format!("https://{tag}.example.com/{i}")),
            Kind::Duration => json!(format!("{}m", i + 1)),
            Kind::Bool => json!(i % 2 == 0),
            Kind::Int => json!(i * 1000),
            Kind::StrList => json!([tag, format!("{i}")]),
            Kind::Object => json!({ "X-Tag": tag }),
            Kind::OneOf(options) => json!(options[i % options.len()]),
        };
        content.scalars.insert(key.column.to_owned(), value);
    }
    content.hooks = vec![
        HookRow {
            config_key: "registration.after.password.hooks".into(),
            hook: "session".into(),
            ..HookRow::default()
        },
        HookRow {
            config_key: "settings.after.hooks".into(),
            hook: "web_hook".into(),
            web_hook_config_url: Some(format!("https://{tag}.example.com/hook")),
            web_hook_config_method: Some("POST".into()),
            web_hook_config_body: Some("base64://e30=".into()),
            web_hook_config_response_ignore: Some(true),
            web_hook_config_auth_type: Some("basic_auth".into()),
            web_hook_config_auth_basic_auth_user: Some("u".into()),
            web_hook_config_auth_basic_auth_password: Some("p".into()),
            ..HookRow::default()
        },
    ];
    content.identity_schemas = vec![
        IdentitySchemaRow {
            import_id: "a".into(),
            preset: Some("email".into()),
            is_default: false,
            import_url: None,
        },
        IdentitySchemaRow {
            import_id: "b".into(),
            import_url: Some("base64://e30=".into()),
            preset: None,
            is_default: true,
        },
    ];
    content.oidc_providers = vec![OidcProviderRow {
        provider_id: "google".into(),
        provider: "google".into(),
        client_id: Some(tag.into()),
        client_secret: Some("s".into()),
        scope: Some(vec!["email".into(), "profile".into()]),
        requested_claims: Some(json!({ "id_token": { "email": null } })),
        ..OidcProviderRow::default()
    }];
    content.keto_namespaces = vec![
        KetoNamespaceRow {
            namespace_id: 0,
            name: "files".into(),
        },
        KetoNamespaceRow {
            namespace_id: 3,
            name: "groups".into(),
        },
    ];
    content.keto_read_max_depth = Some(9);
    content
}

async fn insert_project(db: &store::Database, id: Uuid, slug: &str) {
    use sea_orm::{ConnectionTrait, Statement};
    let owner = Uuid::now_v7();
    let now = chrono::Utc::now();
    let backend = db.conn.get_database_backend();
    db.conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match db.kind {
                DatabaseKind::Sqlite => "INSERT INTO accounts (id, email, name, created_at, updated_at) VALUES (?, ?, '', ?, ?)",
                DatabaseKind::Postgres => "INSERT INTO accounts (id, email, name, created_at, updated_at) VALUES ($1, $2, '', $3, $4)",
            },
            [owner.into(), format!("{slug}@example.com").into(), now.into(), now.into()],
        ))
        .await
        .unwrap();
    db.conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match db.kind {
                DatabaseKind::Sqlite => "INSERT INTO projects (id, slug, name, state, owner_account_id, created_at, updated_at) VALUES (?, ?, 'p', 'running', ?, ?, ?)",
                DatabaseKind::Postgres => "INSERT INTO projects (id, slug, name, state, owner_account_id, created_at, updated_at) VALUES ($1, $2, 'p', 'running', $3, $4, $5)",
            },
            [id.into(), slug.to_owned().into(), owner.into(), now.into(), now.into()],
        ))
        .await
        .unwrap();
}

async fn suite(kind: DatabaseKind) {
    let db = fresh_database(kind).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    insert_project(&db, a, "a").await;
    insert_project(&db, b, "b").await;

    let content_a = full_revision("a");
    let rev_a1 = revisions::insert(&db.conn, a, &content_a, chrono::Utc::now())
        .await
        .unwrap();
    let (meta, read) = revisions::find(&db.conn, rev_a1).await.unwrap().unwrap();
    assert_eq!(meta.project_id, a);
    assert_eq!(
        read.scalars.len(),
        IDENTITY_KEYS.len(),
        "every key is stored"
    );
    assert_eq!(read, content_a, "write then read is the identity");

    let rev_a2 = revisions::insert(
        &db.conn,
        a,
        &RevisionContent {
            name: "second".into(),
            ..content_a.clone()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let rev_b = revisions::insert(&db.conn, b, &full_revision("b"), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        revisions::list_ids(&db.conn, a).await.unwrap(),
        vec![rev_a2, rev_a1],
        "newest first"
    );

    // Isolation: b's history holds only b's revision, and deleting a's
    // revisions leaves b's whole.
    assert_eq!(revisions::list_ids(&db.conn, b).await.unwrap(), vec![rev_b]);
    revisions::delete_for_project(&db.conn, a).await.unwrap();
    assert!(revisions::list_ids(&db.conn, a).await.unwrap().is_empty());
    assert!(revisions::find(&db.conn, rev_a1).await.unwrap().is_none());
    let (_, still_b) = revisions::find(&db.conn, rev_b).await.unwrap().unwrap();
    assert_eq!(
        still_b,
        full_revision("b"),
        "a second tenant's data is untouched"
    );
}

#[tokio::test]
async fn revision_store_on_sqlite() {
    suite(DatabaseKind::Sqlite).await;
}

#[tokio::test]
async fn revision_store_on_postgres() {
    suite(DatabaseKind::Postgres).await;
}
