//! List objects, list subjects and batch check over HTTP on a running
//! server: answers equal the official SDK's single checks, pages, depth,
//! the project's batch limit (default and configured), bad input, and a
//! second tenant with the same names that never shows through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::configuration::Configuration;
use ory_client::apis::{read_api, v0alpha2_api, write_api};
use ory_client::models::JsonPatch;
use ory_client::models::json_patch::OpEnum;
use reqwest::Method;
use serde_json::{Value, json};

const TUPLES: &[&str] = &[
    "files:readme#viewer@(groups:eng#member)",
    "files:plan#viewer@alice",
    "files:secret#viewer@(groups:ops#member)",
    "files:plan#owner@carol",
    "groups:eng#member@alice",
    "groups:eng#member@(groups:ops#member)",
    "groups:ops#member@bob",
    // A cycle: ops and eng contain each other.
    "groups:ops#member@(groups:eng#member)",
];

/// Sets the project's whole permission config.
async fn set_permission_config(cp: &Configuration, project_id: &str, config: Value) {
    let mut op = JsonPatch::new(OpEnum::Replace, "/services/permission/config".into());
    op.value = Some(config);
    v0alpha2_api::patch_project(cp, project_id, Some(vec![op]))
        .await
        .unwrap();
}

fn namespaces() -> Value {
    json!([{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }])
}

/// A project with the namespaces and `TUPLES` written through the SDK.
async fn project_with_tuples(
    server: &keyplane_server::RunningServer,
    cp: &Configuration,
    token: &str,
    name: &str,
) -> ory_client::models::Project {
    let project = create_project(cp, name).await;
    set_permission_config(cp, &project.id, json!({ "namespaces": namespaces() })).await;
    let admin = tenant_admin(server, &project.slug, token);
    for text in TUPLES {
        write_api::create_relation_tuple(&admin, Some(relation_query(text)))
            .await
            .unwrap();
    }
    project
}

async fn allowed(admin: &Configuration, text: &str, max_depth: Option<i64>) -> bool {
    read_api::post_check(admin, max_depth, Some(relation_query(text)))
        .await
        .unwrap()
        .allowed
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Every item of a lookup, following `next_page_token`.
async fn all_pages(
    server: &keyplane_server::RunningServer,
    slug: &str,
    token: &str,
    path_and_query: &str,
    field: &str,
) -> Vec<String> {
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let path = format!("{path_and_query}&page_size=2&page_token={page_token}");
        let (status, body) = tenant_call(server, slug, token, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let page = strings(&body[field]);
        assert!(page.len() <= 2, "{body}");
        items.extend(page);
        page_token = body["next_page_token"].as_str().unwrap().to_owned();
        if page_token.is_empty() {
            return items;
        }
    }
}

#[tokio::test]
async fn lookups_answer_as_checks_do() {
    let (server, token, cp) = owner().await;
    let project = project_with_tuples(&server, &cp, &token, "Lookups").await;
    let slug = project.slug.as_str();
    let admin = tenant_admin(&server, slug, &token);

    let objects_of = |subject: &'static str| {
        format!("/relation-tuples/list-objects?namespace=files&relation=viewer&{subject}")
    };
    for (subject, query, expected) in [
        (
            "alice",
            "subject_id=alice",
            vec!["plan", "readme", "secret"],
        ),
        ("bob", "subject_id=bob", vec!["readme", "secret"]),
        ("carol", "subject_id=carol", vec![]),
        (
            "(groups:ops#member)",
            "subject_set.namespace=groups&subject_set.object=ops&subject_set.relation=member",
            vec!["readme", "secret"],
        ),
    ] {
        let listed = all_pages(&server, slug, &token, &objects_of(query), "objects").await;
        assert_eq!(listed, expected, "objects {subject} may view");
        // The same answers, checked one by one with the SDK.
        for object in ["plan", "readme", "secret"] {
            let check = format!("files:{object}#viewer@{subject}");
            assert_eq!(
                allowed(&admin, &check, None).await,
                expected.contains(&object),
                "{check}"
            );
        }
    }
    // Depth counts tuples along the chain, as for a check.
    let (status, body) = tenant_call(
        &server,
        slug,
        &token,
        Method::GET,
        &format!("{}&max-depth=1", objects_of("subject_id=alice")),
        None,
    )
    .await;
    assert_eq!(
        (status, strings(&body["objects"])),
        (200, vec!["plan".into()])
    );
    assert!(!allowed(&admin, "files:readme#viewer@alice", Some(1)).await);
    assert_eq!(
        (body["namespace"].as_str(), body["relation"].as_str()),
        (Some("files"), Some("viewer"))
    );

    let subjects = all_pages(
        &server,
        slug,
        &token,
        "/relation-tuples/list-subjects?namespace=files&object=readme&relation=viewer",
        "subject_ids",
    )
    .await;
    assert_eq!(subjects, ["alice", "bob"]);
    for (user, expected) in [("alice", true), ("bob", true), ("carol", false)] {
        assert_eq!(
            allowed(&admin, &format!("files:readme#viewer@{user}"), None).await,
            expected
        );
    }
}

#[tokio::test]
async fn batch_check_answers_in_order_within_the_project_limit() {
    let (server, token, cp) = owner().await;
    let project = project_with_tuples(&server, &cp, &token, "Batch").await;
    let slug = project.slug.as_str();
    let batch = |texts: &[&str]| {
        let tuples: Vec<Value> = texts
            .iter()
            .map(|t| serde_json::to_value(relation_query(t)).unwrap())
            .collect();
        json!({ "tuples": tuples })
    };
    let texts = [
        "files:secret#viewer@alice",
        "files:plan#viewer@bob",
        "files:readme#viewer@bob",
        "folders:x#viewer@bob",
    ];
    let (status, body) = tenant_call(
        &server,
        slug,
        &token,
        Method::POST,
        "/relation-tuples/batch/check",
        Some(batch(&texts)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let admin = tenant_admin(&server, slug, &token);
    for (text, result) in texts.iter().zip(results).take(3) {
        assert_eq!(
            result["allowed"],
            json!(allowed(&admin, text, None).await),
            "{text}"
        );
        assert!(result.get("error").is_none(), "{result}");
    }
    // The unknown namespace answers with its error; the others still count.
    assert_eq!(results[3]["allowed"], json!(false));
    assert!(
        results[3]["error"].as_str().unwrap().contains("folders"),
        "{body}"
    );
    // Depth from the query, as for a single check.
    let (_, body) = tenant_call(
        &server,
        slug,
        &token,
        Method::POST,
        "/relation-tuples/batch/check?max-depth=1",
        Some(batch(&[
            "files:secret#viewer@alice",
            "files:plan#viewer@alice",
        ])),
    )
    .await;
    assert_eq!(
        body["results"],
        json!([{ "allowed": false }, { "allowed": true }])
    );

    // Keto's default limit is 10 tuples; the project can raise it.
    let eleven = vec!["files:plan#viewer@alice"; 11];
    let send = |body: Value| {
        tenant_call(
            &server,
            slug,
            &token,
            Method::POST,
            "/relation-tuples/batch/check",
            Some(body),
        )
    };
    let (status, body) = send(batch(&eleven)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_batch_check_size"),
        "{body}"
    );
    set_permission_config(
        &cp,
        &project.id,
        json!({ "namespaces": namespaces(), "limit": { "max_batch_check_size": 20 } }),
    )
    .await;
    let (status, body) = send(batch(&eleven)).await;
    assert_eq!(
        (status, body["results"].as_array().unwrap().len()),
        (200, 11),
        "{body}"
    );
    let shown = v0alpha2_api::get_project(&cp, &project.id).await.unwrap();
    let config = serde_json::to_value(shown.services.permission.unwrap().config).unwrap();
    assert_eq!(
        config["limit"]["max_batch_check_size"],
        json!(20),
        "{config}"
    );
    // An empty batch is an empty answer.
    let (status, body) = send(json!({ "tuples": [] })).await;
    assert_eq!((status, body), (200, json!({ "results": [] })));
}

#[tokio::test]
async fn bad_lookups_are_clear_4xx_and_tenants_stay_apart() {
    let (server, token, cp) = owner().await;
    let a = project_with_tuples(&server, &cp, &token, "Tenant A").await;
    // B: the same namespaces, one tuple that would add to every answer.
    let b = create_project(&cp, "Tenant B").await;
    set_permission_config(&cp, &b.id, json!({ "namespaces": namespaces() })).await;
    let admin_b = tenant_admin(&server, &b.slug, &token);
    write_api::create_relation_tuple(&admin_b, Some(relation_query("files:other#viewer@alice")))
        .await
        .unwrap();
    let get = |slug: String, bearer: String, path: &'static str| {
        let server = &server;
        async move { tenant_call(server, &slug, &bearer, Method::GET, path, None).await }
    };

    let (status, body) = get(
        a.slug.clone(),
        token.clone(),
        "/relation-tuples/list-objects?namespace=files&relation=viewer&subject_id=alice",
    )
    .await;
    assert_eq!(
        (status, strings(&body["objects"])),
        (200, vec!["plan".into(), "readme".into(), "secret".into()])
    );
    let (_, body) = get(
        b.slug.clone(),
        token.clone(),
        "/relation-tuples/list-objects?namespace=files&relation=viewer&subject_id=alice",
    )
    .await;
    assert_eq!(strings(&body["objects"]), ["other"]);
    let (_, body) = get(
        b.slug.clone(),
        token.clone(),
        "/relation-tuples/list-subjects?namespace=files&object=readme&relation=viewer",
    )
    .await;
    assert_eq!(body["subject_ids"], json!([]));

    // Another account's token on A's host: the project is not there for it.
    let stranger = token_for(&server, "stranger@example.com").await;
    let (status, _) = get(
        a.slug.clone(),
        stranger,
        "/relation-tuples/list-objects?namespace=files&relation=viewer&subject_id=alice",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = get(
        a.slug.clone(),
        String::new(),
        "/relation-tuples/list-subjects?namespace=files&object=readme&relation=viewer",
    )
    .await;
    assert_eq!(status, 401);

    for (path, status, says) in [
        (
            "/relation-tuples/list-objects?namespace=files&subject_id=alice",
            400,
            "relation",
        ),
        (
            "/relation-tuples/list-objects?namespace=files&relation=viewer",
            400,
            "subject",
        ),
        (
            "/relation-tuples/list-objects?namespace=files&object=x&relation=viewer&subject_id=a",
            400,
            "object",
        ),
        (
            "/relation-tuples/list-objects?namespace=nope&relation=viewer&subject_id=a",
            404,
            "nope",
        ),
        (
            "/relation-tuples/list-objects?namespace=files&relation=viewer&subject_id=a&page_token=zz",
            400,
            "page_token",
        ),
        (
            "/relation-tuples/list-objects?namespace=files&relation=viewer&subject_id=a&max-depth=x",
            400,
            "max-depth",
        ),
        (
            "/relation-tuples/list-subjects?namespace=files&relation=viewer",
            400,
            "object",
        ),
        (
            "/relation-tuples/list-subjects?namespace=files&object=x&relation=viewer&page_size=-1",
            400,
            "page_size",
        ),
    ] {
        let (got, body) = get(a.slug.clone(), token.clone(), path).await;
        assert_eq!(got, status, "{path}: {body}");
        let text = body["error"].to_string();
        assert!(text.contains(says), "{path}: {body}");
    }
    let (status, body) = tenant_call(
        &server,
        &a.slug,
        &token,
        Method::POST,
        "/relation-tuples/batch/check",
        Some(json!({ "tuples": "files:plan#viewer@alice" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
