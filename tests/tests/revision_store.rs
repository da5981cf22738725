//! The revision store on SQLite and PostgreSQL: every supported key (and
//! every child table) survives a write and a read, and one project's
//! revisions are invisible to another. Secrets are sealed at rest: the
//! stored columns hold no plain text, a sealed value copied into another
//! project's row does not open there, and a key rotation re-seals them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use controlplane::revision::keys::{IDENTITY_KEYS, Kind};
use controlplane::revision::model::{
    HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow, RevisionContent,
};
use controlplane::revision::store as revisions;
use kernel::sealed::SecretBox;
use keyplane_tests::{fresh_database, statement};
use serde_json::json;
use store::DatabaseKind;
use store::sea_orm::ConnectionTrait;
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
        content.scalars.insert(key.column_name().to_owned(), value);
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

fn key_box(keys: &[&str]) -> SecretBox {
    SecretBox::new(keys).unwrap()
}

const OLD_KEY: &str = "revision-store-test-key-number-one-0001";
const NEW_KEY: &str = "revision-store-test-key-number-two-0002";

async fn suite(kind: DatabaseKind) {
    let db = fresh_database(kind).await;
    let sbox = &key_box(&[OLD_KEY]);
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    insert_project(&db, a, "a").await;
    insert_project(&db, b, "b").await;

    let content_a = full_revision("a");
    let rev_a1 = revisions::insert(&db.conn, sbox, a, &content_a, chrono::Utc::now())
        .await
        .unwrap();
    let (meta, read) = revisions::find(&db.conn, sbox, rev_a1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.project_id, a);
    assert_eq!(
        read.scalars.len(),
        IDENTITY_KEYS.len(),
        "every key is stored"
    );
    assert_eq!(read, content_a, "write then read is the identity");

    let rev_a2 = revisions::insert(
        &db.conn,
        sbox,
        a,
        &RevisionContent {
            name: "second".into(),
            ..content_a.clone()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let rev_b = revisions::insert(&db.conn, sbox, b, &full_revision("b"), chrono::Utc::now())
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
    assert!(
        revisions::find(&db.conn, sbox, rev_a1)
            .await
            .unwrap()
            .is_none()
    );
    let (_, still_b) = revisions::find(&db.conn, sbox, rev_b)
        .await
        .unwrap()
        .unwrap();
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

/// The stored text of `column` in revision `id`'s row of `table` (`id` for
/// the revision table itself, `project_revision_id` for its children).
async fn stored(db: &store::Database, table: &str, column: &str, key: &str, id: Uuid) -> String {
    let sql = format!("SELECT {column} FROM {table} WHERE {key} = $1 AND {column} IS NOT NULL");
    let row = db
        .conn
        .query_one_raw(statement(db, &sql, [id.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", column).unwrap()
}

const SEALED: [(&str, &str, &str); 7] = [
    ("project_revisions", "kratos_secrets_cookie", "id"),
    ("project_revisions", "kratos_secrets_cipher", "id"),
    ("project_revisions", "kratos_secrets_default", "id"),
    (
        "project_revisions",
        "kratos_courier_smtp_connection_uri",
        "id",
    ),
    (
        "project_revision_hooks",
        "web_hook_config_auth_basic_auth_password",
        "project_revision_id",
    ),
    (
        "project_revision_third_party_providers",
        "client_secret",
        "project_revision_id",
    ),
    (
        "project_revision_third_party_providers",
        "client_id",
        "project_revision_id",
    ),
];

async fn sealed_suite(kind: DatabaseKind) {
    let db = fresh_database(kind).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    insert_project(&db, a, "a").await;
    insert_project(&db, b, "b").await;
    let old = key_box(&[OLD_KEY]);
    let now = chrono::Utc::now();
    let rev_a = revisions::insert(&db.conn, &old, a, &full_revision("a"), now)
        .await
        .unwrap();
    let rev_b = revisions::insert(&db.conn, &old, b, &full_revision("b"), now)
        .await
        .unwrap();

    // At rest: the secret columns hold sealed text, never the secret; a
    // column that is no secret (the client id) is stored as it is.
    for (table, column, key) in SEALED {
        let text = stored(&db, table, column, key, rev_a).await;
        if column == "client_id" {
            assert_eq!(text, "a");
        } else {
            assert!(SecretBox::is_sealed(&text), "{table}.{column}: {text}");
        }
    }

    // Isolation: a's sealed cookie secret copied into b's row does not open
    // as b's (sealed for a's project), so the read fails rather than hand
    // b a's secret; a's own revision still reads.
    let a_cookie = stored(
        &db,
        "project_revisions",
        "kratos_secrets_cookie",
        "id",
        rev_a,
    )
    .await;
    let b_cookie = stored(
        &db,
        "project_revisions",
        "kratos_secrets_cookie",
        "id",
        rev_b,
    )
    .await;
    let set = |value: String| {
        statement(
            &db,
            "UPDATE project_revisions SET kratos_secrets_cookie = $1 WHERE id = $2",
            [value.into(), rev_b.into()],
        )
    };
    db.conn.execute_raw(set(a_cookie)).await.unwrap();
    assert!(revisions::find(&db.conn, &old, rev_b).await.is_err());
    db.conn.execute_raw(set(b_cookie)).await.unwrap();

    // Rows from before encryption at rest (plain text) still read, and
    // are sealed by the rotation below.
    db.conn
        .execute_raw(statement(
            &db,
            "UPDATE project_revision_third_party_providers SET client_secret = 'legacy' \
             WHERE project_revision_id = $1",
            [rev_b.into()],
        ))
        .await
        .unwrap();
    let (_, read_b) = revisions::find(&db.conn, &old, rev_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read_b.oidc_providers[0].client_secret.as_deref(),
        Some("legacy")
    );

    // Rotation: new key first, old one still listed; everything is
    // re-sealed once (a second run has nothing to do), after which the new
    // key alone opens every revision, unchanged.
    let rotating = key_box(&[NEW_KEY, OLD_KEY]);
    let changed = controlplane::revision::sealed::reseal_all(&db.conn, &rotating)
        .await
        .unwrap();
    assert_eq!(
        changed, 12,
        "six secrets in each revision, b's legacy one too"
    );
    assert_eq!(
        controlplane::revision::sealed::reseal_all(&db.conn, &rotating)
            .await
            .unwrap(),
        0
    );
    let new = key_box(&[NEW_KEY]);
    let (_, read_a) = revisions::find(&db.conn, &new, rev_a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_a, full_revision("a"));
    let (_, read_b) = revisions::find(&db.conn, &new, rev_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read_b.oidc_providers[0].client_secret.as_deref(),
        Some("legacy")
    );
    assert!(revisions::find(&db.conn, &old, rev_a).await.is_err());
}

#[tokio::test]
async fn revision_secrets_are_sealed_on_sqlite() {
    sealed_suite(DatabaseKind::Sqlite).await;
}

#[tokio::test]
async fn revision_secrets_are_sealed_on_postgres() {
    sealed_suite(DatabaseKind::Postgres).await;
}
