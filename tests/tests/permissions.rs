//! The permission engine end to end with the official SDK (and plain HTTP
//! where the SDK cannot say it): create, list with paging, patch, delete,
//! check (direct, through subject sets, denied, depth), expand, bad input,
//! and tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::configuration::Configuration;
use ory_client::apis::{read_api, v0alpha2_api, write_api};
use ory_client::models::json_patch::OpEnum;
use ory_client::models::patch_delta::ActionEnum;
use ory_client::models::{InternalRelationTuple, JsonPatch, PatchDelta};
use serde_json::{Value, json};

/// Adds namespaces (and optionally a read depth) to a project's config.
async fn configure_permissions(
    cp: &Configuration,
    project_id: &str,
    namespaces: &[(i64, &str)],
    max_read_depth: Option<i64>,
) {
    let mut ops: Vec<JsonPatch> = namespaces
        .iter()
        .map(|(id, name)| {
            let mut op = JsonPatch::new(
                OpEnum::Add,
                "/services/permission/config/namespaces/-".into(),
            );
            op.value = Some(json!({ "id": id, "name": name }));
            op
        })
        .collect();
    if let Some(depth) = max_read_depth {
        let mut op = JsonPatch::new(OpEnum::Add, "/services/permission/config/limit".into());
        op.value = Some(json!({ "max_read_depth": depth }));
        ops.push(op);
    }
    v0alpha2_api::patch_project(cp, project_id, Some(ops))
        .await
        .unwrap();
}

fn admin(server: &keyplane_server::RunningServer, slug: &str, token: &str) -> Configuration {
    let mut config = tenant(server, slug);
    config.bearer_access_token = Some(token.to_owned());
    config
}

fn internal(text: &str) -> InternalRelationTuple {
    let q = relation_query(text);
    InternalRelationTuple {
        namespace: q.namespace.unwrap(),
        object: q.object.unwrap(),
        relation: q.relation.unwrap(),
        subject_id: q.subject_id,
        subject_set: q.subject_set,
    }
}

fn delta(action: ActionEnum, text: &str) -> PatchDelta {
    PatchDelta {
        action: Some(action),
        relation_tuple: Some(Box::new(internal(text))),
    }
}

fn text_of(t: &InternalRelationTuple) -> String {
    match (&t.subject_id, &t.subject_set) {
        (Some(id), _) => format!("{}:{}#{}@{id}", t.namespace, t.object, t.relation),
        (None, Some(s)) => format!(
            "{}:{}#{}@({}:{}#{})",
            t.namespace, t.object, t.relation, s.namespace, s.object, s.relation
        ),
        (None, None) => panic!("a tuple without a subject"),
    }
}

async fn create(admin: &Configuration, text: &str) {
    let created = write_api::create_relation_tuple(admin, Some(relation_query(text)))
        .await
        .unwrap();
    assert_eq!(created, relation_query(text));
}

async fn allowed(admin: &Configuration, text: &str, max_depth: Option<i64>) -> bool {
    let post = read_api::post_check(admin, max_depth, Some(relation_query(text)))
        .await
        .unwrap()
        .allowed;
    let q = relation_query(text);
    let set = q.subject_set.as_deref();
    let get = read_api::get_check(
        admin,
        q.namespace.as_deref(),
        q.object.as_deref(),
        q.relation.as_deref(),
        q.subject_id.as_deref(),
        set.map(|s| s.namespace.as_str()),
        set.map(|s| s.object.as_str()),
        set.map(|s| s.relation.as_str()),
        max_depth,
    )
    .await
    .unwrap()
    .allowed;
    assert_eq!(get, post, "GET and POST checks agree on {text}");
    post
}

/// One page of a namespace's tuples, optionally of one subject id.
async fn page(
    admin: &Configuration,
    namespace: &str,
    token: Option<&str>,
    page_size: Option<i64>,
    subject_id: Option<&str>,
) -> ory_client::models::GetRelationTuplesResponse {
    read_api::get_relation_tuples(
        admin,
        token,
        page_size,
        Some(namespace),
        None,
        None,
        subject_id,
        None,
        None,
        None,
    )
    .await
    .unwrap()
}

/// Every tuple of a namespace, page by page.
async fn list_all(admin: &Configuration, namespace: &str, page_size: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let current = page(admin, namespace, token.as_deref(), Some(page_size), None).await;
        seen.extend(current.relation_tuples.unwrap().iter().map(text_of));
        match current.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn tuples_check_and_expand_with_the_sdk() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Permissions").await;
    configure_permissions(&cp, &project.id, &[(1, "files"), (2, "groups")], None).await;
    let admin = admin(&server, &project.slug, &token);

    create(&admin, "files:readme#viewer@alice").await;
    create(&admin, "files:readme#viewer@alice").await; // idempotent
    create(&admin, "files:readme#viewer@(groups:eng#member)").await;
    create(&admin, "groups:eng#member@bob").await;
    create(&admin, "groups:eng#member@(groups:backend#member)").await;
    create(&admin, "groups:backend#member@carol").await;

    // Check: direct, through one and two subject sets, denied.
    assert!(allowed(&admin, "files:readme#viewer@alice", None).await);
    assert!(allowed(&admin, "files:readme#viewer@bob", None).await);
    assert!(allowed(&admin, "files:readme#viewer@carol", None).await);
    assert!(!allowed(&admin, "files:readme#viewer@mallory", None).await);
    assert!(!allowed(&admin, "files:readme#owner@alice", None).await);
    assert!(allowed(&admin, "files:readme#viewer@(groups:eng#member)", None).await);
    // A request depth can lower the limit: carol is two sets away, so her
    // tuple is the third level (Keto v0.9 reads `max-depth` levels).
    assert!(!allowed(&admin, "files:readme#viewer@carol", Some(2)).await);
    assert!(allowed(&admin, "files:readme#viewer@carol", Some(3)).await);

    // The mirror endpoints answer in the status too (the SDK's versions send
    // no query, so plain HTTP here).
    let (client, base) = tenant_client(&server, &project.slug);
    for (subject, status) in [("alice", 200), ("mallory", 403)] {
        let url = format!(
            "{base}/relation-tuples/check?namespace=files&object=readme&relation=viewer&subject_id={subject}"
        );
        let res = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), status, "GET mirror for {subject}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["allowed"], status == 200);
        let res = client
            .post(format!("{base}/relation-tuples/check"))
            .bearer_auth(&token)
            .json(&relation_query(&format!("files:readme#viewer@{subject}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "POST mirror for {subject}");
    }

    // Expand.
    let tree = read_api::get_expand(&admin, "files", "readme", "viewer", None)
        .await
        .unwrap();
    let tree = serde_json::to_value(tree).unwrap();
    assert_eq!(
        tree,
        json!({
            "type": "union",
            "subject_set": {"namespace": "files", "object": "readme", "relation": "viewer"},
            "children": [
                {"type": "leaf", "subject_id": "alice"},
                {"type": "union",
                 "subject_set": {"namespace": "groups", "object": "eng", "relation": "member"},
                 "children": [
                    {"type": "leaf", "subject_id": "bob"},
                    {"type": "union",
                     "subject_set": {"namespace": "groups", "object": "backend", "relation": "member"},
                     "children": [{"type": "leaf", "subject_id": "carol"}]}
                 ]}
            ]
        })
    );
    let shallow = read_api::get_expand(&admin, "files", "readme", "viewer", Some(2))
        .await
        .unwrap();
    let children = shallow.children.unwrap();
    assert_eq!(children.len(), 2);
    assert!(
        children[1].children.is_none(),
        "depth 2 stops at the children"
    );

    // Patch: atomic insert + delete.
    write_api::patch_relation_tuples(
        &admin,
        Some(vec![
            delta(ActionEnum::Insert, "files:readme#viewer@dave"),
            delta(ActionEnum::Delete, "files:readme#viewer@alice"),
        ]),
    )
    .await
    .unwrap();
    assert!(allowed(&admin, "files:readme#viewer@dave", None).await);
    assert!(!allowed(&admin, "files:readme#viewer@alice", None).await);

    // A patch with one bad delta changes nothing.
    let err = write_api::patch_relation_tuples(
        &admin,
        Some(vec![
            delta(ActionEnum::Insert, "files:readme#viewer@erin"),
            delta(ActionEnum::Delete, "files:readme#viewer@dave"),
            delta(ActionEnum::Insert, "nope:readme#viewer@erin"),
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 404);
    assert!(
        body_of(&err).to_string().contains("nope"),
        "{}",
        body_of(&err)
    );
    assert!(!allowed(&admin, "files:readme#viewer@erin", None).await);
    assert!(allowed(&admin, "files:readme#viewer@dave", None).await);

    // Delete by query.
    write_api::delete_relation_tuples(
        &admin,
        Some("groups"),
        Some("eng"),
        None,
        None,
        None,
        None,
        None,
    )
    .await
    .unwrap();
    assert!(!allowed(&admin, "files:readme#viewer@bob", None).await);
    assert_eq!(
        list_all(&admin, "groups", 10).await,
        vec!["groups:backend#member@carol"]
    );
}

#[tokio::test]
async fn pages_are_stable_while_tuples_change() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Paging").await;
    configure_permissions(&cp, &project.id, &[(1, "files")], None).await;
    let admin = admin(&server, &project.slug, &token);
    let tuples: Vec<String> = (0..25)
        .map(|i| format!("files:doc{i:02}#viewer@user{i:02}"))
        .collect();
    write_api::patch_relation_tuples(
        &admin,
        Some(
            tuples
                .iter()
                .map(|t| delta(ActionEnum::Insert, t))
                .collect(),
        ),
    )
    .await
    .unwrap();

    let first = page(&admin, "files", None, Some(10), None).await;
    let mut seen: Vec<String> = first.relation_tuples.unwrap().iter().map(text_of).collect();
    assert_eq!(seen, tuples[..10]);
    // Between pages: one tuple already seen is deleted, one not yet seen is
    // deleted, and a new one arrives. The rest of the walk is unaffected.
    write_api::patch_relation_tuples(
        &admin,
        Some(vec![
            delta(ActionEnum::Delete, &tuples[3]),
            delta(ActionEnum::Delete, &tuples[15]),
            delta(ActionEnum::Insert, "files:new#viewer@late"),
        ]),
    )
    .await
    .unwrap();
    let mut token_next = first.next_page_token.unwrap();
    let mut pages = 1;
    while !token_next.is_empty() {
        let next = page(&admin, "files", Some(&token_next), Some(10), None).await;
        seen.extend(next.relation_tuples.unwrap().iter().map(text_of));
        token_next = next.next_page_token.unwrap_or_default();
        pages += 1;
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = tuples
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 15)
        .map(|(_, t)| t.clone())
        .collect();
    expected.push("files:new#viewer@late".into());
    assert_eq!(seen, expected, "no tuple skipped, none twice");

    // A filter on the subject narrows the list.
    let only = page(&admin, "files", None, None, Some("user07")).await;
    assert_eq!(
        only.relation_tuples
            .unwrap()
            .iter()
            .map(text_of)
            .collect::<Vec<_>>(),
        vec!["files:doc07#viewer@user07"]
    );
    assert_eq!(only.next_page_token.unwrap(), "");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Bad input").await;
    configure_permissions(&cp, &project.id, &[(1, "files")], Some(2)).await;
    let admin = admin(&server, &project.slug, &token);
    let (client, base) = tenant_client(&server, &project.slug);

    // Unknown namespace: named in the error, on writes and reads.
    let err = write_api::create_relation_tuple(&admin, Some(relation_query("docs:a#viewer@x")))
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 404);
    assert!(
        body_of(&err)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("docs")
    );
    let err = read_api::get_expand(&admin, "docs", "a", "viewer", None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 404);

    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "PUT",
            "/admin/relation-tuples",
            json!({"namespace": "files", "object": "a", "relation": "r"}),
        ),
        (
            "PUT",
            "/admin/relation-tuples",
            json!({"namespace": "files", "object": "a", "relation": "r", "subject_id": "x",
            "subject_set": {"namespace": "files", "object": "b", "relation": "r"}}),
        ),
        (
            "PUT",
            "/admin/relation-tuples",
            json!({"object": "a", "relation": "r", "subject_id": "x"}),
        ),
        ("PUT", "/admin/relation-tuples", json!("not an object")),
        (
            "PATCH",
            "/admin/relation-tuples",
            json!([{"action": "upsert", "relation_tuple": {}}]),
        ),
        (
            "PATCH",
            "/admin/relation-tuples",
            json!([{"action": "insert"}]),
        ),
        ("DELETE", "/admin/relation-tuples", Value::Null),
        (
            "GET",
            "/relation-tuples?namespace=files&page_token=forged",
            Value::Null,
        ),
        (
            "GET",
            "/relation-tuples?namespace=files&page_size=-1",
            Value::Null,
        ),
        (
            "GET",
            "/relation-tuples?namespace=files&subject_set.namespace=files",
            Value::Null,
        ),
        (
            "GET",
            "/relation-tuples/check/openapi?namespace=files&object=a&relation=r",
            Value::Null,
        ),
        (
            "GET",
            "/relation-tuples/expand?namespace=files",
            Value::Null,
        ),
        (
            "GET",
            "/relation-tuples/check/openapi?namespace=files&object=a&relation=r&subject_id=x&max-depth=deep",
            Value::Null,
        ),
    ];
    for (method, path, body) in cases {
        let mut req = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token);
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 400, "{method} {path} {body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], 400, "{err}");
    }

    // The revision's depth (2 here) caps a deeper request.
    create(&admin, "files:a#viewer@(files:b#viewer)").await;
    create(&admin, "files:b#viewer@(files:c#viewer)").await;
    create(&admin, "files:c#viewer@(files:d#viewer)").await;
    create(&admin, "files:d#viewer@zoe").await;
    assert!(!allowed(&admin, "files:b#viewer@zoe", Some(10)).await);
    assert!(allowed(&admin, "files:c#viewer@zoe", Some(10)).await);

    // No token, or a stranger's: refused.
    let res = client
        .get(format!("{base}/relation-tuples?namespace=files"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let stranger = token_for(&server, "stranger@example.com").await;
    let res = client
        .get(format!("{base}/relation-tuples?namespace=files"))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn tenants_never_see_each_others_tuples_or_namespaces() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "Tenant A").await;
    let b = create_project(&cp, "Tenant B").await;
    configure_permissions(&cp, &a.id, &[(1, "files"), (2, "groups")], None).await;
    configure_permissions(&cp, &b.id, &[(1, "files")], None).await;
    let admin_a = admin(&server, &a.slug, &token);
    let admin_b = admin(&server, &b.slug, &token);

    create(&admin_a, "files:secret#viewer@alice").await;
    create(&admin_a, "groups:eng#member@alice").await;
    assert!(allowed(&admin_a, "files:secret#viewer@alice", None).await);

    // Same namespace name and id in B: none of A's tuples.
    assert!(!allowed(&admin_b, "files:secret#viewer@alice", None).await);
    assert!(list_all(&admin_b, "files", 100).await.is_empty());
    let tree = read_api::get_expand(&admin_b, "files", "secret", "viewer", None)
        .await
        .unwrap();
    assert!(tree.children.is_none());
    // A's other namespace does not exist in B.
    let err = read_api::get_check(
        &admin_b,
        Some("groups"),
        Some("eng"),
        Some("member"),
        Some("alice"),
        None,
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 404);
    // Deleting everything in B's namespace leaves A's tuples.
    write_api::delete_relation_tuples(&admin_b, Some("files"), None, None, None, None, None, None)
        .await
        .unwrap();
    assert!(allowed(&admin_a, "files:secret#viewer@alice", None).await);
    assert_eq!(list_all(&admin_a, "files", 100).await.len(), 1);

    // Purging A deletes its tuples from the table; B is untouched.
    create(&admin_b, "files:kept#viewer@bob").await;
    v0alpha2_api::purge_project(&cp, &a.id).await.unwrap();
    let rows_of = |project: &str| {
        let nid: uuid::Uuid = project.parse().unwrap();
        let db = server.services.db.clone();
        async move {
            use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
            let query = Query::select()
                .from(Alias::new("relation_tuples"))
                .and_where(Expr::col(Alias::new("nid")).eq(nid))
                .to_owned();
            store::sql::count(&db.conn, query).await.unwrap()
        }
    };
    assert_eq!(rows_of(&a.id).await, 0);
    assert_eq!(rows_of(&b.id).await, 1);
}
