//! Promoting configuration from one project to another: a dry run answers
//! the patch, what is not copied and the warnings, and changes nothing;
//! the promotion copies the config but keeps the target's secrets and
//! URLs, is recorded in the audit log, and needs edit rights on both
//! projects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const LIFESPAN: &str = "/services/identity/config/selfservice/flows/login/lifespan";

async fn promote(
    server: &keyplane_server::RunningServer,
    token: &str,
    target: &str,
    body: Value,
) -> (u16, Value) {
    call(
        server,
        token,
        Method::POST,
        &format!("/projects/{target}/promote"),
        Some(body),
    )
    .await
}

async fn get(server: &keyplane_server::RunningServer, token: &str, path: &str) -> Value {
    let (status, body) = call(server, token, Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn staging_config_reaches_production_without_its_secrets_and_urls() {
    let (server, token, cp) = owner().await;
    let staging = create_project(&cp, "Staging").await;
    let production = create_project(&cp, "Production").await;
    let (s, p) = (staging.id.clone(), production.id.clone());
    let staging_url = format!(
        "http://{}.projects.localhost:{}",
        staging.slug,
        server.addr.port()
    );
    let production_url = format!(
        "http://{}.projects.localhost:{}",
        production.slug,
        server.addr.port()
    );
    let provider = |secret: &str| {
        json!({ "providers": [{ "id": "acme", "provider": "generic", "client_id": "kp",
            "client_secret": secret, "issuer_url": "https://id.example.com",
            "mapper_url": "base64://bG9jYWwgYyA9IHN0ZC5leHRWYXIoJ2NsYWltcycpOyB7IGlkZW50aXR5OiB7IHRyYWl0czogeyBlbWFpbDogYy5lbWFpbCB9IH0gfQ==",
            "scope": ["email"] }] })
    };
    patch_identity(
        &server,
        &token,
        &s,
        json!([
            { "op": "replace", "path": "/selfservice/flows/login/lifespan", "value": "2h" },
            { "op": "add", "path": "/courier", "value": { "smtp": {
                "connection_uri": "smtps://u:staging-smtp@mail.example.com:465" } } },
            { "op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true },
            { "op": "add", "path": "/selfservice/methods/oidc/config", "value": provider("staging-oidc") },
            { "op": "add", "path": "/selfservice/allowed_return_urls/-", "value": format!("{staging_url}/after") },
        ]),
    )
    .await;
    patch_identity(
        &server,
        &token,
        &p,
        json!([
            { "op": "add", "path": "/courier", "value": { "smtp": {
                "connection_uri": "smtps://u:production-smtp@mail.example.com:465" } } },
            { "op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true },
            { "op": "add", "path": "/selfservice/methods/oidc/config", "value": provider("production-oidc") },
        ]),
    )
    .await;
    let before = get(&server, &token, &format!("/projects/{p}")).await;

    // A dry run: the patch and what stays, nothing changed.
    let (status, dry) = promote(
        &server,
        &token,
        &p,
        json!({ "from_project": s, "dry_run": true }),
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert!(dry.get("project").is_none());
    let ops = dry["patch"].as_array().unwrap();
    assert!(
        ops.contains(&json!({ "op": "replace", "path": LIFESPAN, "value": "2h" })),
        "{dry}"
    );
    let text = dry.to_string();
    for secret in [
        "staging-smtp",
        "staging-oidc",
        "production-smtp",
        "production-oidc",
    ] {
        assert!(!text.contains(secret), "{secret}: {text}");
    }
    let listed: Vec<(String, String, String)> = dry["not_copied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["path"].as_str().unwrap().to_owned(),
                n["reason"].as_str().unwrap().to_owned(),
                n["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("/courier/smtp/connection_uri", "secret", "kept"),
        (
            "/selfservice/methods/oidc/config/providers/0/client_secret",
            "secret",
            "kept",
        ),
        ("/secrets/cookie/0", "secret", "kept"),
        (
            "/selfservice/default_browser_return_url",
            "source_url",
            "kept",
        ),
    ] {
        assert!(
            listed.iter().any(|(path, reason, outcome)| (
                path.as_str(),
                reason.as_str(),
                outcome.as_str()
            ) == expected),
            "{expected:?} not in {listed:?}"
        );
    }
    let unchanged = get(&server, &token, &format!("/projects/{p}")).await;
    assert_eq!(unchanged["revision_id"], before["revision_id"]);

    // The promotion itself.
    let (status, done) = promote(&server, &token, &p, json!({ "from_project": s })).await;
    assert_eq!(status, 200, "{done}");
    let after = &done["project"];
    assert_ne!(after["revision_id"], before["revision_id"]);
    let config = &after["services"]["identity"]["config"];
    assert_eq!(
        config.pointer("/selfservice/flows/login/lifespan").unwrap(),
        "2h"
    );
    assert_eq!(after["name"], "Production");
    // The owner sees production's own SMTP password, not staging's.
    assert_eq!(
        config.pointer("/courier/smtp/connection_uri").unwrap(),
        "smtps://u:production-smtp@mail.example.com:465"
    );
    let urls = config
        .pointer("/selfservice/allowed_return_urls")
        .unwrap()
        .to_string();
    assert!(!urls.contains(&staging_url), "{urls}");
    assert!(urls.contains(&format!("{production_url}/after")), "{urls}");
    // Production's provider secret is still its own: the stored revision
    // never holds staging's.
    let revisions = get(&server, &token, &format!("/projects/{p}/revisions")).await;
    assert!(!revisions.to_string().contains("staging-oidc"));

    // Recorded in the target's log.
    let log = get(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?action=project.promote"),
    )
    .await;
    assert_eq!(log["events"].as_array().unwrap().len(), 1, "{log}");
    server.stop().await;
}

#[tokio::test]
async fn promotion_needs_edit_rights_on_both_projects() {
    let (server, token, cp) = owner().await;
    let target = create_project(&cp, "Target").await;
    let source = create_project(&cp, "Source").await;
    let (t, s) = (target.id.clone(), source.id.clone());
    // Someone who owns another project but not the target, or the target
    // but not the source.
    let stranger = token_for(&server, "stranger@example.com").await;
    let theirs = create_project(&control_plane(&server, &stranger), "Theirs").await;
    let (status, _) = promote(&server, &stranger, &t, json!({ "from_project": theirs.id })).await;
    assert_eq!(status, 404);
    let (status, _) = promote(&server, &token, &t, json!({ "from_project": theirs.id })).await;
    assert_eq!(status, 404);
    // A revision of another project, an unknown project, itself, bad JSON.
    let their_revision =
        get(&server, &stranger, &format!("/projects/{}", theirs.id)).await["revision_id"].clone();
    for (body, expected) in [
        (
            json!({ "from_project": s, "revision_id": their_revision }),
            404,
        ),
        (json!({ "from_project": uuid::Uuid::new_v4() }), 404),
        (json!({ "from_project": t }), 400),
        (json!({ "from_project": s, "dry_run": "yes" }), 400),
    ] {
        let (status, err) = promote(&server, &token, &t, body.clone()).await;
        assert_eq!(status, expected, "{body}: {err}");
    }
    // An older revision of the source.
    let first = get(&server, &token, &format!("/projects/{s}")).await["revision_id"].clone();
    let (status, _) = call(
        &server,
        &token,
        Method::PATCH,
        &format!("/projects/{s}"),
        Some(json!([{ "op": "replace", "path": LIFESPAN, "value": "3h" }])),
    )
    .await;
    assert_eq!(status, 200);
    let (status, dry) = promote(
        &server,
        &token,
        &t,
        json!({ "from_project": s, "revision_id": first, "dry_run": true }),
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["from_revision"], first);
    assert_eq!(
        dry["patch"],
        json!([]),
        "the first revision equals the target's defaults"
    );
    server.stop().await;
}
