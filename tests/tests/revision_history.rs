//! Revisions as history: one revision as the config was then, the
//! difference between two (a JSON Patch the PATCH endpoint takes, and a
//! line per change), restoring an old revision as a new one; another
//! project's revision is not found; secrets never show in a difference,
//! a rotation shows as a changed marker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const LIFESPAN: &str = "/services/identity/config/selfservice/flows/login/lifespan";

async fn get(server: &keyplane_server::RunningServer, token: &str, path: &str) -> Value {
    let (status, body) = call(server, token, Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn a_revision_then_the_difference_and_a_restore() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "History").await;
    let p = project.id.clone();
    let first = get(&server, &token, &format!("/projects/{p}")).await["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, changed) = call(
        &server,
        &token,
        Method::PATCH,
        &format!("/projects/{p}"),
        Some(json!([
            {"op": "replace", "path": LIFESPAN, "value": "2h"},
            {"op": "replace", "path": "/services/identity/config/selfservice/methods/totp/enabled", "value": true},
        ])),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let second = changed["project"]["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The first revision, as it was.
    let old = get(&server, &token, &format!("/projects/{p}/revisions/{first}")).await;
    assert_eq!(old["current"], false);
    assert_eq!(
        old.pointer("/services/identity/config/selfservice/flows/login/lifespan")
            .unwrap(),
        "1h"
    );
    let now = get(
        &server,
        &token,
        &format!("/projects/{p}/revisions/{second}"),
    )
    .await;
    assert_eq!(now["current"], true);

    // The difference: the ops PATCH takes, and a line each.
    let diff = get(
        &server,
        &token,
        &format!("/projects/{p}/revisions/diff?from={first}&to={second}"),
    )
    .await;
    let ops = diff["patch"].as_array().unwrap();
    assert_eq!(ops.len(), 2, "{diff}");
    assert!(
        ops.iter()
            .any(|op| op == &json!({"op": "replace", "path": LIFESPAN, "value": "2h"})),
        "{diff}"
    );
    let summary = diff["summary"].to_string();
    assert!(
        summary.contains(r#"identity selfservice.flows.login.lifespan: \"1h\" → \"2h\""#),
        "{summary}"
    );
    // Without `to`: against the current revision, the same.
    let same = get(
        &server,
        &token,
        &format!("/projects/{p}/revisions/diff?from={first}"),
    )
    .await;
    assert_eq!(same["patch"], diff["patch"]);

    // Restore the first: a third revision, equal to the first.
    let (status, restored) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{p}/revisions/{first}/restore"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    let third = restored["project"]["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(third != first && third != second);
    assert_eq!(
        restored.pointer(&format!("/project{LIFESPAN}")).unwrap(),
        "1h"
    );
    let back = get(
        &server,
        &token,
        &format!("/projects/{p}/revisions/diff?from={first}&to={third}"),
    )
    .await;
    assert_eq!(back["patch"], json!([]), "{back}");
    let history = get(&server, &token, &format!("/projects/{p}/revisions")).await;
    assert_eq!(history.as_array().unwrap().len(), 3);

    // Another project's revision is not this project's: 404 everywhere.
    let other = create_project(&cp, "Elsewhere").await;
    let foreign = get(&server, &token, &format!("/projects/{}", other.id)).await["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        (Method::GET, format!("/projects/{p}/revisions/{foreign}")),
        (
            Method::GET,
            format!("/projects/{p}/revisions/diff?from={foreign}"),
        ),
        (
            Method::GET,
            format!("/projects/{p}/revisions/diff?from={first}&to={foreign}"),
        ),
        (
            Method::POST,
            format!("/projects/{p}/revisions/{foreign}/restore"),
        ),
    ] {
        let (status, body) = call(&server, &token, method, &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{p}/revisions/diff?from=not-a-uuid"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn secrets_show_in_a_difference_only_as_markers() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Secret History").await;
    let p = project.id.clone();
    let (_, viewer) = sign_up(&server, "viewer@example.com").await;
    add_member(&server, &token, &p, "viewer@example.com", &viewer).await;
    let (_, me) = call(&server, &viewer, Method::GET, "/me", None).await;
    let (status, _) = call(
        &server,
        &token,
        Method::PUT,
        &format!("/projects/{p}/members/{}", me["id"].as_str().unwrap()),
        Some(json!({ "role": "VIEWER" })),
    )
    .await;
    assert_eq!(status, 200);
    let first = get(&server, &token, &format!("/projects/{p}")).await["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie_secret = "a-brand-new-cookie-secret-of-32-chars!";
    let client_secret = "the-provider-client-secret";
    patch_identity(
        &server,
        &token,
        &p,
        json!([
            {"op": "add", "path": "/secrets/cookie/0", "value": cookie_secret},
            {"op": "add", "path": "/selfservice/methods/oidc/config", "value": {"providers": [{
                "id": "acme", "provider": "generic", "client_id": "c",
                "client_secret": client_secret, "issuer_url": "https://issuer.example.com"
            }]}},
        ]),
    )
    .await;
    let path = format!("/projects/{p}/revisions/diff?from={first}");
    let as_owner = get(&server, &token, &path).await.to_string();
    assert!(!as_owner.contains(client_secret), "{as_owner}");
    assert!(
        as_owner.contains(cookie_secret),
        "owners see the project's own secrets"
    );
    let as_viewer = get(&server, &viewer, &path).await;
    let text = as_viewer.to_string();
    assert!(
        !text.contains(client_secret) && !text.contains(cookie_secret),
        "{text}"
    );
    assert!(
        text.contains("[redacted]:"),
        "a rotation shows as a marker: {text}"
    );
    // The single revision shows them as GET /projects/{id} does.
    let current = get(
        &server,
        &viewer,
        &format!("/projects/{p}/revisions/{}", {
            get(&server, &token, &format!("/projects/{p}")).await["revision_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }),
    )
    .await
    .to_string();
    assert!(!current.contains(client_secret) && !current.contains(cookie_secret));
    server.stop().await;
}
