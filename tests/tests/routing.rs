//! Host routing: `<slug>.<base_domain>` runs in that project's tenant
//! context; anything else reaches the control plane.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{control_plane, tenant_client, token_for};
use kernel::tenant::ProjectState;
use keyplane_tests::{client, fresh_database_url, redis_url, spawn, spawn_default, test_settings};
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{CreateProjectBody, JsonPatch, json_patch::OpEnum};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::DatabaseKind;

/// The id of the first identity schema the tenant serves ("" for none).
async fn first_schema_id(server: &impl common::Served, slug: &str) -> String {
    common::default_schema_id(&common::tenant(server, slug))
        .await
        .unwrap_or_default()
}

fn use_username_schema() -> Vec<JsonPatch> {
    vec![JsonPatch {
        from: None,
        op: OpEnum::Replace,
        path: "/services/identity/config/identity".into(),
        value: Some(
            json!({ "default_schema_id": "users", "schemas": [{ "id": "users", "url": "preset://username" }] }),
        ),
    }]
}

#[tokio::test]
async fn a_tenant_host_serves_the_tenant_and_nothing_else() {
    let server = spawn_default().await;
    let token = token_for(&server, "o@example.com").await;
    let cp = control_plane(&server, &token);
    let project = common::create_project(&cp, "t").await;
    let (http, base) = tenant_client(&server, &project.slug);

    for path in ["/health/alive", "/health/ready", "/version"] {
        assert_eq!(
            http.get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    // Kratos v0.10 shapes: `[{id, schema}]` and the raw JSON Schema. (The
    // SDK's models for these two describe a cloud blob object instead, so
    // they are called with plain HTTP here.)
    let schemas: Value = http
        .get(format!("{base}/schemas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schemas.as_array().unwrap().len(), 1);
    assert_eq!(schemas[0]["id"], "default");
    assert_eq!(
        schemas[0]["schema"]["properties"]["traits"]["properties"]["email"]["format"],
        "email"
    );
    let schema: Value = http
        .get(format!("{base}/schemas/default"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        schema["properties"]["traits"]["properties"]["email"]["format"],
        "email"
    );
    let missing = http
        .get(format!("{base}/schemas/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Control-plane routes do not exist on a tenant host.
    let res = http
        .get(format!("{base}/projects"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);

    // And the tenant's routes do not exist on the control plane.
    let res = client()
        .get(format!("{}/schemas", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_halted_projects_get_json_errors() {
    let server = spawn_default().await;
    let (http, base) = tenant_client(&server, "no-such-project-0000000000");
    let res = http
        .get(format!("{base}/health/alive"))
        .header("x-request-id", "r-404")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["request"], "r-404");

    let token = token_for(&server, "o@example.com").await;
    let project = api::create_project(
        &control_plane(&server, &token),
        Some(CreateProjectBody::new("h".into())),
    )
    .await
    .unwrap();
    let (http, base) = tenant_client(&server, &project.slug);
    assert_eq!(
        http.get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let id = project.id.parse().unwrap();
    server
        .services
        .control_plane
        .projects
        .set_state(id, ProjectState::Halted)
        .await
        .unwrap();
    let res = http
        .get(format!("{base}/health/alive"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
    server
        .services
        .control_plane
        .projects
        .set_state(id, ProjectState::Running)
        .await
        .unwrap();
    assert_eq!(
        http.get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn each_host_serves_its_own_project_and_changes_apply_at_once() {
    let server = spawn_default().await;
    let token = token_for(&server, "o@example.com").await;
    let cp = control_plane(&server, &token);
    let a = common::create_project(&cp, "a").await;
    let b = common::create_project(&cp, "b").await;
    // Warm both tenant caches.
    assert_eq!(first_schema_id(&server, &a.slug).await, "default");
    assert_eq!(first_schema_id(&server, &b.slug).await, "default");

    api::patch_project(&cp, &a.id, Some(use_username_schema()))
        .await
        .unwrap();
    assert_eq!(
        first_schema_id(&server, &a.slug).await,
        "users",
        "the new revision is used right away"
    );
    assert_eq!(
        first_schema_id(&server, &b.slug).await,
        "default",
        "the other project is untouched"
    );
    server.stop().await;
}

#[tokio::test]
async fn forwarded_host_counts_only_from_trusted_proxies() {
    for trusted in [true, false] {
        let mut settings = test_settings().await;
        if trusted {
            settings.serve.trusted_proxies = vec!["127.0.0.1".into()];
        }
        let server = spawn(settings).await;
        let token = token_for(&server, "o@example.com").await;
        let project = api::create_project(
            &control_plane(&server, &token),
            Some(CreateProjectBody::new("f".into())),
        )
        .await
        .unwrap();
        let res = client()
            .get(format!("{}/schemas", server.url()))
            .header(
                "x-forwarded-host",
                format!("{}.projects.localhost", project.slug),
            )
            .send()
            .await
            .unwrap();
        let expected = if trusted { 200 } else { 404 };
        assert_eq!(res.status(), expected, "trusted = {trusted}");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_second_process_uses_a_new_revision_within_a_second() {
    // Two servers, as two replicas would be: one PostgreSQL database, one Redis.
    let url = fresh_database_url(DatabaseKind::Postgres).await;
    let prefix = format!("kptest-{}", uuid::Uuid::new_v4().simple());
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let mut settings = test_settings().await;
        keyplane_tests::use_database(&mut settings, url.clone());
        settings.redis.url = Some(redis_url());
        settings.redis.prefix = Some(prefix.clone());
        replicas.push(spawn(settings).await);
    }
    let (writer, reader) = (&replicas[0], &replicas[1]);
    let token = token_for(writer, "o@example.com").await;
    let cp = control_plane(writer, &token);
    let project = common::create_project(&cp, "replicated").await;
    assert_eq!(
        first_schema_id(reader, &project.slug).await,
        "default",
        "the reader has the context cached"
    );
    // Let the reader's Redis subscription settle before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let committed = Instant::now();
    api::patch_project(&cp, &project.id, Some(use_username_schema()))
        .await
        .unwrap();
    let mut seen = None;
    while committed.elapsed() < Duration::from_secs(1) {
        if first_schema_id(reader, &project.slug).await == "users" {
            seen = Some(committed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.expect("the second replica did not use the new revision within 1 s");
    eprintln!("second replica used the new revision after {seen:?}");
    for replica in replicas {
        replica.stop().await;
    }
}
