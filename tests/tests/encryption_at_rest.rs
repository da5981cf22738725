//! Secrets at rest, as an operator meets them: a project's cookie/cipher
//! secrets and SMTP password are stored sealed (the database holds none of
//! them in plain text), the documented key rotation (`keyplane encryption
//! rotate` with the new key first, then the old key dropped) keeps every
//! project readable, and recovery/verification mail keeps no token in the
//! outbox once delivered. On SQLite with the default settings (a key file
//! made next to the database) and on PostgreSQL (keys from the settings).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_server::RunningServer;
use keyplane_tests::{keyplane_run, statement};
use reqwest::Method;
use serde_json::{Value, json};
use store::sea_orm::ConnectionTrait;

const SMTP_URI: &str = "smtps://mailer:pa55-w0rd-at-rest@mail.example.com:465/";

async fn project_config(server: &RunningServer, token: &str, id: &str) -> Value {
    let (status, project) =
        call(server, token, Method::GET, &format!("/projects/{id}"), None).await;
    assert_eq!(status, 200, "{project}");
    project["services"]["identity"]["config"].clone()
}

/// Every revision's stored secret columns, as text.
async fn stored_secret_columns(server: &RunningServer) -> Vec<String> {
    let db = &server.services.db;
    let rows = db
        .conn
        .query_all_raw(statement(
            db,
            "SELECT kratos_secrets_cookie, kratos_secrets_cipher, kratos_secrets_default, \
             kratos_courier_smtp_connection_uri FROM project_revisions",
            [],
        ))
        .await
        .unwrap();
    let mut texts = Vec::new();
    for row in rows {
        for column in [
            "kratos_secrets_cookie",
            "kratos_secrets_cipher",
            "kratos_secrets_default",
            "kratos_courier_smtp_connection_uri",
        ] {
            texts.extend(row.try_get::<Option<String>>("", column).unwrap());
        }
    }
    texts
}

/// The keys this server seals with: the settings' or its key file's.
fn keys_of(server: &RunningServer) -> Vec<String> {
    let settings = &server.services.settings;
    if !settings.encryption.keys.is_empty() {
        return settings.encryption.keys.clone();
    }
    let file = settings
        .encryption
        .key_file_for(&settings.database.url)
        .expect("SQLite has a key file");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn project_secrets_are_sealed_at_rest_and_survive_a_key_rotation() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Sealed").await;
    let (status, body) = call(
        &server,
        &token,
        Method::PATCH,
        &format!("/projects/{}", project.id),
        Some(json!([{
            "op": "add",
            "path": "/services/identity/config/courier",
            "value": { "smtp": { "connection_uri": SMTP_URI } },
        }])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let config = project_config(&server, &token, &project.id).await;
    let cookie = config["secrets"]["cookie"][0].as_str().unwrap().to_owned();
    assert_eq!(cookie.len(), 32, "owners see the secret: {config}");
    assert_eq!(config["courier"]["smtp"]["connection_uri"], SMTP_URI);

    // At rest: sealed, and neither the secret nor the password shows.
    let stored = stored_secret_columns(&server).await;
    assert!(!stored.is_empty());
    for text in &stored {
        assert!(text.starts_with("kp1$"), "{text}");
        assert!(!text.contains(&cookie) && !text.contains("pa55"), "{text}");
    }

    // Rotation as docs/security.md tells it: new key first, old kept,
    // `keyplane encryption rotate`, then the old key removed.
    let old_keys = keys_of(&server);
    let new_key = keyplane_run(&[], &["encryption", "generate-key"]);
    assert_eq!(new_key.len(), 43, "{new_key}");
    let database_url = server.services.settings.database.url.clone();
    let mut settings = (*server.services.settings).clone();
    server.stop().await;
    let both = format!("[{new_key},{}]", old_keys.join(","));
    let env = vec![
        ("KEYPLANE_DATABASE__URL".to_owned(), database_url.clone()),
        ("KEYPLANE_ENCRYPTION__KEYS".to_owned(), both),
    ];
    let out = keyplane_run(&env, &["encryption", "rotate"]);
    assert!(out.starts_with("re-sealed "), "{out}");
    let again = keyplane_run(&env, &["encryption", "rotate"]);
    assert!(
        again.starts_with("re-sealed 0 project config secret(s)"),
        "{again}"
    );

    settings.encryption.keys = vec![new_key];
    settings.serve.port = 0;
    settings.serve.grpc_port = 0;
    let server = keyplane_tests::spawn(settings).await;
    let config = project_config(&server, &token, &project.id).await;
    assert_eq!(config["secrets"]["cookie"][0], cookie.as_str());
    assert_eq!(config["courier"]["smtp"]["connection_uri"], SMTP_URI);
}

#[tokio::test]
async fn delivered_mail_keeps_no_token_in_the_outbox() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Mail").await;
    let (status, body) = tenant_call(
        &server,
        &project.slug,
        &token,
        Method::POST,
        "/admin/identities",
        Some(json!({ "schema_id": "default", "traits": { "email": "rita@example.com" } })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (client, base) = tenant_client(&server, &project.slug);
    let flow: Value =
        keyplane_tests::get_json(&client, &format!("{base}/self-service/recovery/api")).await;
    let res = client
        .post(flow["ui"]["action"].as_str().unwrap())
        .json(&json!({ "method": "link", "email": "rita@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let mail = newest_delivered(&server, "rita@example.com").await.unwrap();
    let token = mail
        .text
        .split_whitespace()
        .find_map(|w| w.split_once("token=").map(|(_, t)| t.to_owned()))
        .unwrap_or_else(|| panic!("no token in: {}", mail.text));
    assert!(token.len() >= 32 && !token.contains("redacted"), "{token}");

    // The file is written just before the outcome is recorded.
    let db = &server.services.db;
    let outbox_row = || async {
        db.conn
            .query_one_raw(statement(
                db,
                "SELECT subject, body, html_body, sealed_secrets, status FROM courier_messages \
                 WHERE recipient = $1",
                ["rita@example.com".into()],
            ))
            .await
            .unwrap()
            .unwrap()
    };
    let sent = keyplane_tests::eventually(std::time::Duration::from_secs(10), || async {
        outbox_row().await.try_get::<String>("", "status").unwrap() == "sent"
    })
    .await;
    assert!(sent.is_some());
    let row = outbox_row().await;
    assert_eq!(
        row.try_get::<Option<String>>("", "sealed_secrets").unwrap(),
        None
    );
    let body: String = row.try_get("", "body").unwrap();
    let html: String = row.try_get("", "html_body").unwrap();
    assert!(body.contains("token=[redacted:0]"), "{body}");
    for text in [&body, &html] {
        assert!(!text.contains(&token), "the outbox kept the token: {text}");
    }

    // The delivered link still works: it is the token of a live flow.
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("token="))
        .unwrap();
    let res = tenant_client(&server, &project.slug)
        .0
        .get(link)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
}
