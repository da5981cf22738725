//! The projects API end to end, through the official Ory SDK.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{body_of, control_plane, status_of, tenant_client, token_for};
use keyplane_tests::{client, spawn_default};
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{
    JsonPatch, ProjectServiceIdentity, ProjectServicePermission, ProjectServices, UpdateProject,
    json_patch::OpEnum,
};
use serde_json::{Value, json};

fn op(op: OpEnum, path: &str, value: Option<Value>) -> JsonPatch {
    JsonPatch {
        from: None,
        op,
        path: path.to_owned(),
        value,
    }
}

/// The Ory Kratos email-password quickstart config (kratos.yml), as JSON.
fn kratos_quickstart() -> Value {
    serde_json::from_str(include_str!("../fixtures/kratos-quickstart.json")).unwrap()
}

async fn revision_count(server: &keyplane_server::RunningServer, token: &str, id: &str) -> usize {
    client()
        .get(format!("{}/projects/{id}/revisions", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn create_list_get_with_a_working_default_config() {
    let (server, _, cp) = common::owner().await;

    let project = common::create_project(&cp, "My App").await;
    assert_eq!(project.name, "My App");
    let parts: Vec<_> = project.slug.split('-').collect();
    assert_eq!(parts.len(), 3, "two words and a suffix: {}", project.slug);
    assert!(
        project
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    let identity = &project.services.identity.as_ref().unwrap().config;
    assert_eq!(identity["identity"]["schemas"][0]["url"], "preset://email");
    assert_eq!(
        identity["selfservice"]["methods"]["password"]["enabled"],
        true
    );
    assert_eq!(
        identity["selfservice"]["flows"]["registration"]["after"]["password"]["hooks"][0]["hook"],
        "session"
    );
    assert_eq!(
        identity["selfservice"]["flows"]["recovery"]["enabled"],
        true
    );
    assert_eq!(
        identity["selfservice"]["flows"]["verification"]["enabled"],
        true
    );
    assert_eq!(identity["selfservice"]["methods"]["link"]["enabled"], true);
    assert_eq!(identity["session"]["lifespan"], "24h");
    assert_eq!(
        identity["selfservice"]["flows"]["login"]["ui_url"],
        format!(
            "http://{}.projects.localhost:{}/ui/login",
            project.slug,
            server.addr.port()
        ),
        "the default UI URLs carry the port the server listens on"
    );
    assert_eq!(identity["secrets"]["cookie"][0].as_str().unwrap().len(), 32);
    let permission = &project.services.permission.as_ref().unwrap().config;
    assert_eq!(permission["namespaces"], json!([]));

    let second = common::create_project(&cp, "Other").await;
    assert_ne!(second.slug, project.slug);
    assert_ne!(
        second.services.identity.as_ref().unwrap().config["secrets"],
        project.services.identity.as_ref().unwrap().config["secrets"],
        "secrets are fresh per project"
    );

    let list = api::list_projects(&cp).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, project.id);
    assert_eq!(
        list[0].hosts,
        vec![format!("{}.projects.localhost", project.slug)]
    );

    let got = api::get_project(&cp, &project.id).await.unwrap();
    assert_eq!(got.revision_id, project.revision_id);
    assert_eq!(got.services.identity.as_ref().unwrap().config, *identity);
    server.stop().await;
}

#[tokio::test]
async fn update_with_the_kratos_quickstart_config() {
    let (server, _, cp) = common::owner().await;
    let project = common::create_project(&cp, "qs").await;

    let mut services = ProjectServices::new();
    services.identity = Some(Box::new(ProjectServiceIdentity::new(kratos_quickstart())));
    services.permission = Some(Box::new(ProjectServicePermission::new(
        json!({ "namespaces": [{ "id": 0, "name": "files" }], "limit": { "max_read_depth": 3 }, "serve": { "read": { "port": 4466 } } }),
    )));
    let updated = api::update_project(
        &cp,
        &project.id,
        Some(UpdateProject::new("quickstart".into(), services)),
    )
    .await
    .unwrap();
    let messages: Vec<String> = updated
        .warnings
        .iter()
        .filter_map(|w| w.message.clone())
        .collect();
    for key in [
        "dsn",
        "serve",
        "log",
        "ciphers",
        "hashers",
        "identity.schemas.0.url",
    ] {
        assert!(
            messages
                .iter()
                .any(|m| m.contains(&format!("services.identity.config.{key}`"))),
            "no warning for {key}: {messages:#?}"
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.contains("services.permission.config.serve"))
    );
    assert_ne!(updated.project.revision_id, project.revision_id);
    assert_eq!(updated.project.name, "quickstart");

    let got = api::get_project(&cp, &project.id).await.unwrap();
    let identity = &got.services.identity.as_ref().unwrap().config;
    assert_eq!(identity["selfservice"]["flows"]["login"]["lifespan"], "10m");
    assert_eq!(
        identity["selfservice"]["flows"]["settings"]["privileged_session_max_age"],
        "15m"
    );
    assert_eq!(
        identity["secrets"]["cookie"],
        json!(["PLEASE-CHANGE-ME-I-AM-VERY-INSECURE"])
    );
    assert_eq!(
        identity["courier"]["smtp"]["connection_uri"],
        "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true"
    );
    assert!(identity.get("dsn").is_none() && identity.get("serve").is_none());
    assert_eq!(identity["identity"]["schemas"][0]["url"], "preset://email");
    let permission = &got.services.permission.as_ref().unwrap().config;
    assert_eq!(
        permission["namespaces"],
        json!([{ "id": 0, "name": "files" }])
    );
    assert_eq!(permission["limit"]["max_read_depth"], 3);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_update_is_a_400_naming_the_key_and_changes_nothing() {
    let (server, token, cp) = common::owner().await;
    let project = common::create_project(&cp, "p").await;
    let before = revision_count(&server, &token, &project.id).await;

    for (config, key) in [
        (
            json!({ "selfservice": { "flows": { "login": { "lifespan": 5 } } } }),
            "selfservice.flows.login.lifespan",
        ),
        (
            json!({ "selfservice": { "flows": { "login": { "shoe_size": 44 } } } }),
            "selfservice.flows.login.shoe_size",
        ),
    ] {
        let mut services = ProjectServices::new();
        services.identity = Some(Box::new(ProjectServiceIdentity::new(config)));
        let err = api::update_project(
            &cp,
            &project.id,
            Some(UpdateProject::new("x".into(), services)),
        )
        .await
        .unwrap_err();
        assert_eq!(status_of(&err), 400);
        let body = body_of(&err);
        assert!(
            body["error"]["reason"].as_str().unwrap().contains(key),
            "{body}"
        );
    }
    let got = api::get_project(&cp, &project.id).await.unwrap();
    assert_eq!(got.revision_id, project.revision_id, "nothing changed");
    assert_eq!(got.name, "p");
    assert_eq!(
        revision_count(&server, &token, &project.id).await,
        before,
        "no revision was written"
    );
    server.stop().await;
}

#[tokio::test]
async fn patch_with_and_without_warnings_and_a_failing_test_op() {
    let (server, token, cp) = common::owner().await;
    let project = common::create_project(&cp, "p").await;

    let clean = api::patch_project(
        &cp,
        &project.id,
        Some(vec![
            op(
                OpEnum::Test,
                "/services/identity/config/session/lifespan",
                Some(json!("24h")),
            ),
            op(
                OpEnum::Replace,
                "/services/identity/config/session/lifespan",
                Some(json!("72h")),
            ),
            op(
                OpEnum::Add,
                "/services/identity/config/selfservice/methods/totp/config",
                Some(json!({ "issuer": "Acme" })),
            ),
            op(OpEnum::Replace, "/name", Some(json!("renamed"))),
            op(
                OpEnum::Add,
                "/services/permission/config/namespaces/-",
                Some(json!({ "id": 1, "name": "docs" })),
            ),
        ]),
    )
    .await
    .unwrap();
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    let identity = &clean.project.services.identity.as_ref().unwrap().config;
    assert_eq!(identity["session"]["lifespan"], "72h");
    assert_eq!(
        identity["selfservice"]["methods"]["totp"]["config"]["issuer"],
        "Acme"
    );
    assert_eq!(clean.project.name, "renamed");
    assert_eq!(
        clean.project.services.permission.as_ref().unwrap().config["namespaces"][0]["name"],
        "docs"
    );

    let warned = api::patch_project(
        &cp,
        &project.id,
        Some(vec![
            op(
                OpEnum::Add,
                "/services/identity/config/cookies/domain",
                Some(json!("example.org")),
            ),
            op(
                OpEnum::Remove,
                "/services/identity/config/selfservice/methods/totp/config",
                None,
            ),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(warned.warnings.len(), 1);
    assert!(
        warned.warnings[0]
            .message
            .as_deref()
            .unwrap()
            .contains("cookies.domain")
    );
    let identity = &warned.project.services.identity.as_ref().unwrap().config;
    assert!(
        identity["cookies"].get("domain").is_none(),
        "dropped, not stored"
    );
    assert!(
        identity["selfservice"]["methods"]["totp"]
            .get("config")
            .is_none()
    );

    let before = revision_count(&server, &token, &project.id).await;
    let err = api::patch_project(
        &cp,
        &project.id,
        Some(vec![
            op(
                OpEnum::Replace,
                "/services/identity/config/session/lifespan",
                Some(json!("1h")),
            ),
            op(
                OpEnum::Test,
                "/services/identity/config/session/lifespan",
                Some(json!("999h")),
            ),
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert_eq!(
        revision_count(&server, &token, &project.id).await,
        before,
        "a failing op writes no revision"
    );
    let got = api::get_project(&cp, &project.id).await.unwrap();
    assert_eq!(
        got.services.identity.as_ref().unwrap().config["session"]["lifespan"],
        "72h"
    );

    let err = api::patch_project(
        &cp,
        &project.id,
        Some(vec![op(OpEnum::Replace, "/id", Some(json!("x")))]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        status_of(&err),
        400,
        "only /name and /services/... can be patched"
    );
    let err = api::patch_project(
        &cp,
        &project.id,
        Some(vec![op(
            OpEnum::Replace,
            "/services/identity/config/session/lifespan",
            Some(json!(12)),
        )]),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert!(
        body_of(&err)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("session.lifespan")
    );
    server.stop().await;
}

#[tokio::test]
async fn concurrent_patches_on_one_revision_one_wins_one_conflicts() {
    let (server, token, cp) = common::owner().await;
    let project = common::create_project(&cp, "p").await;
    let url = format!(
        "{}/projects/{}/revision/{}",
        server.url(),
        project.id,
        project.revision_id
    );
    let patch = |lifespan: &str| json!([{ "op": "replace", "path": "/services/identity/config/session/lifespan", "value": lifespan }]);
    let http = client();
    let (a, b) = tokio::join!(
        http.patch(&url)
            .bearer_auth(&token)
            .json(&patch("2h"))
            .send(),
        http.patch(&url)
            .bearer_auth(&token)
            .json(&patch("3h"))
            .send(),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "exactly one wins");
    let (winner, loser) = if a.status() == 200 { (a, b) } else { (b, a) };
    let loser_body: Value = loser.json().await.unwrap();
    assert_eq!(loser_body["error"]["code"], 409);
    let winner_body: Value = winner.json().await.unwrap();
    let won =
        winner_body["project"]["services"]["identity"]["config"]["session"]["lifespan"].clone();

    let got = api::get_project(&cp, &project.id).await.unwrap();
    assert_eq!(
        got.services.identity.as_ref().unwrap().config["session"]["lifespan"],
        won,
        "no lost update"
    );
    assert_eq!(
        revision_count(&server, &token, &project.id).await,
        2,
        "the loser wrote nothing"
    );

    // The stale revision stays stale.
    let stale = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&patch("4h"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    // A revision the project never had is not found, whether made up or
    // another project's.
    let other = common::create_project(&cp, "other").await;
    for unknown in [uuid::Uuid::now_v7().to_string(), other.revision_id.clone()] {
        let url = format!(
            "{}/projects/{}/revision/{unknown}",
            server.url(),
            project.id
        );
        let answer = http
            .patch(&url)
            .bearer_auth(&token)
            .json(&patch("4h"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{unknown}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], 404);
    }
    // The current one works.
    let current = format!(
        "{}/projects/{}/revision/{}",
        server.url(),
        project.id,
        got.revision_id
    );
    let ok = http
        .patch(&current)
        .bearer_auth(&token)
        .json(&patch("4h"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn purge_removes_everything_and_the_host_goes_dark() {
    let (server, _, cp) = common::owner().await;
    let project = common::create_project(&cp, "doomed").await;
    let keep = common::create_project(&cp, "kept").await;
    let (tenant, base) = tenant_client(&server, &project.slug);
    assert_eq!(
        tenant
            .get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    api::purge_project(&cp, &project.id).await.unwrap();
    assert_eq!(
        status_of(&api::get_project(&cp, &project.id).await.unwrap_err()),
        404
    );
    let list = api::list_projects(&cp).await.unwrap();
    assert_eq!(
        list.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![keep.id.clone()]
    );
    let res = tenant
        .get(format!("{base}/health/alive"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "the purged project's host answers 404");
    assert_eq!(
        status_of(&api::purge_project(&cp, &project.id).await.unwrap_err()),
        404
    );

    use sea_orm::{ConnectionTrait, Statement};
    let db = &server.services.db;
    for table in [
        "project_revisions",
        "project_revision_hooks",
        "project_revision_identity_schemas",
    ] {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE {} IN (SELECT id FROM project_revisions WHERE project_id NOT IN (SELECT id FROM projects)) OR {} IS NULL",
            if table == "project_revisions" {
                "id"
            } else {
                "project_revision_id"
            },
            if table == "project_revisions" {
                "id"
            } else {
                "project_revision_id"
            },
        );
        let row = db
            .conn
            .query_one_raw(Statement::from_string(db.conn.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get_by_index::<i64>(0).unwrap(),
            0,
            "{table} has orphans"
        );
    }
    // The other project is untouched.
    assert_eq!(
        api::get_project(&cp, &keep.id).await.unwrap().revision_id,
        keep.revision_id
    );
    server.stop().await;
}

#[tokio::test]
async fn callers_need_a_token_and_see_only_their_projects() {
    let server = spawn_default().await;
    let alice = token_for(&server, "alice@example.com").await;
    let bob = token_for(&server, "bob@example.com").await;
    let as_alice = control_plane(&server, &alice);
    let as_bob = control_plane(&server, &bob);
    let project = common::create_project(&as_alice, "alice's").await;

    let http = client();
    let res = http
        .get(format!("{}/projects", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);
    let res = http
        .get(format!("{}/projects", server.url()))
        .bearer_auth("kp_pat_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    assert!(api::list_projects(&as_bob).await.unwrap().is_empty());
    assert_eq!(
        status_of(&api::get_project(&as_bob, &project.id).await.unwrap_err()),
        404
    );
    let patch = Some(vec![op(OpEnum::Replace, "/name", Some(json!("bob's now")))]);
    assert_eq!(
        status_of(
            &api::patch_project(&as_bob, &project.id, patch)
                .await
                .unwrap_err()
        ),
        404
    );
    assert_eq!(
        status_of(&api::purge_project(&as_bob, &project.id).await.unwrap_err()),
        404
    );
    let res = http
        .get(format!(
            "{}/projects/{}/revisions",
            server.url(),
            project.id
        ))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        api::get_project(&as_alice, &project.id).await.unwrap().name,
        "alice's",
        "untouched"
    );

    // Bad bodies on the real API: JSON errors, never 500.
    let res = http
        .post(format!("{}/projects", server.url()))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = http
        .post(format!("{}/projects", server.url()))
        .bearer_auth(&alice)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = http
        .post(format!("{}/projects", server.url()))
        .bearer_auth(&alice)
        .json(&json!({ "name": "x".repeat(2 * 1024 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = http
        .post(format!("{}/projects", server.url()))
        .bearer_auth(&alice)
        .json(&json!({ "name": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = http
        .get(format!("{}/projects/not-a-uuid", server.url()))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    server.stop().await;
}
