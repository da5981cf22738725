//! The role matrix: every control-plane endpoint (and the tenant admin
//! APIs) for an OWNER, a DEVELOPER, a VIEWER, a project API key and an
//! outsider, as a table of expected statuses. Members join through the real
//! invite flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Who calls, in the order of the expected statuses in each row.
const WHO: [&str; 5] = ["owner", "developer", "viewer", "project key", "outsider"];

struct Row {
    method: Method,
    /// `{p}` is the project id, `{x}` a random id.
    path: &'static str,
    body: Option<Value>,
    /// On the tenant host instead of the control plane.
    tenant: bool,
    expect: [u16; 5],
}

fn row(method: Method, path: &'static str, body: Option<Value>, expect: [u16; 5]) -> Row {
    Row {
        method,
        path,
        body,
        tenant: false,
        expect,
    }
}

#[tokio::test]
async fn every_endpoint_for_every_role() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "matrix").await;
    let p = project.id.clone();
    let (_, developer) = sign_up(&server, "dev@example.com").await;
    let (_, viewer) = sign_up(&server, "viewer@example.com").await;
    let outsider = token_for(&server, "outsider@example.com").await;
    add_member(&server, &owner, &p, "dev@example.com", &developer).await;
    add_member(&server, &owner, &p, "viewer@example.com", &viewer).await;
    let (_, me) = call(&server, &viewer, Method::GET, "/me", None).await;
    let (status, members) = call(
        &server,
        &owner,
        Method::PUT,
        &format!("/projects/{p}/members/{}", me["id"].as_str().unwrap()),
        Some(json!({ "role": "VIEWER" })),
    )
    .await;
    assert_eq!(status, 200, "{members}");
    let (_, key) = call(
        &server,
        &owner,
        Method::POST,
        &format!("/projects/{p}/tokens"),
        Some(json!({ "name": "matrix" })),
    )
    .await;
    let key = key["value"].as_str().unwrap().to_owned();
    let callers = [&owner, &developer, &viewer, &key, &outsider];
    let (status, patched) = call(
        &server,
        &owner,
        Method::PATCH,
        &format!("/projects/{p}"),
        Some(
            json!([{ "op": "add", "path": "/services/permission/config/namespaces",
                      "value": [{ "id": 1, "name": "files" }] }]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let revision = patched["project"]["revision_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tuple = json!({ "namespace": "files", "object": "readme", "relation": "viewer", "subject_id": "ann" });

    // Rows whose body is invalid on purpose show that access is decided
    // before input is read (400 = allowed in, 403 = role refused).
    let bad_invite = Some(json!({ "invitee_email": "not an address" }));
    let rows = vec![
        row(
            Method::GET,
            "/projects/{p}",
            None,
            [200, 200, 200, 200, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/revisions",
            None,
            [200, 200, 200, 200, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/revisions/{r}",
            None,
            [200, 200, 200, 200, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/revisions/diff?from={r}",
            None,
            [200, 200, 200, 200, 404],
        ),
        row(
            Method::POST,
            "/projects/{p}/revisions/{r}/restore",
            None,
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/access",
            None,
            [200, 200, 200, 200, 404],
        ),
        // Onto itself: allowed in, then refused for what it asks (400).
        Row {
            body: Some(json!({ "from_project": p.as_str() })),
            ..row(
                Method::POST,
                "/projects/{p}/promote",
                None,
                [400, 400, 403, 403, 404],
            )
        },
        // Password hashes and second factors leave: owners only.
        row(
            Method::GET,
            "/projects/{p}/export",
            None,
            [200, 403, 403, 403, 404],
        ),
        // Allowed in, then refused for the empty archive (400).
        row(
            Method::POST,
            "/projects/{p}/import?mode=merge",
            None,
            [400, 400, 403, 403, 404],
        ),
        // The log names members: people of the project only.
        row(
            Method::GET,
            "/projects/{p}/audit-log",
            None,
            [200, 200, 200, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/audit-log?page_token=garbage",
            None,
            [400, 400, 400, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/quotas/members",
            None,
            [200, 200, 200, 200, 404],
        ),
        row(
            Method::PATCH,
            "/projects/{p}",
            Some(json!([{ "op": "replace", "path": "/name", "value": "matrix" }])),
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::PUT,
            "/projects/{p}",
            Some(json!({ "name": "matrix", "services": {} })),
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/members",
            None,
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::PUT,
            "/projects/{p}/members/{x}",
            Some(json!({ "role": "VIEWER" })),
            [404, 403, 403, 403, 404],
        ),
        row(
            Method::DELETE,
            "/projects/{p}/members/{x}",
            None,
            [404, 403, 403, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/invites",
            None,
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::POST,
            "/projects/{p}/invites",
            bad_invite,
            [400, 403, 403, 403, 404],
        ),
        row(
            Method::DELETE,
            "/projects/{p}/invites/{x}",
            None,
            [404, 403, 403, 403, 404],
        ),
        row(
            Method::GET,
            "/projects/{p}/tokens",
            None,
            [200, 200, 403, 403, 404],
        ),
        row(
            Method::POST,
            "/projects/{p}/tokens",
            Some(json!({ "name": "" })),
            [400, 400, 403, 403, 404],
        ),
        row(
            Method::DELETE,
            "/projects/{p}/tokens/{x}",
            None,
            [404, 404, 403, 403, 404],
        ),
        Row {
            tenant: true,
            ..row(
                Method::GET,
                "/admin/identities",
                None,
                [200, 200, 200, 200, 404],
            )
        },
        Row {
            tenant: true,
            ..row(
                Method::POST,
                "/admin/identities",
                Some(json!({})),
                [400, 400, 403, 400, 404],
            )
        },
        Row {
            tenant: true,
            ..row(
                Method::DELETE,
                "/admin/identities/{x}",
                None,
                // Deleting an absent identity is idempotent (204).
                [204, 204, 403, 204, 404],
            )
        },
        // A check sent as POST only reads: viewers may.
        Row {
            tenant: true,
            ..row(
                Method::POST,
                "/relation-tuples/check/openapi",
                Some(tuple.clone()),
                [200, 200, 200, 200, 404],
            )
        },
        Row {
            tenant: true,
            ..row(
                Method::PUT,
                "/admin/relation-tuples",
                Some(tuple.clone()),
                [201, 201, 403, 201, 404],
            )
        },
        // Account-level endpoints: people only.
        row(Method::GET, "/me", None, [200, 200, 200, 403, 200]),
        row(
            Method::GET,
            "/me/audit-log",
            None,
            [200, 200, 200, 403, 200],
        ),
        row(Method::GET, "/invites", None, [200, 200, 200, 403, 200]),
        row(
            Method::GET,
            "/console/active-project",
            None,
            [200, 200, 200, 403, 200],
        ),
        row(
            Method::POST,
            "/projects",
            Some(json!({ "name": "" })),
            [400, 400, 400, 403, 400],
        ),
        // Purge last: only the owner may.
        row(
            Method::DELETE,
            "/projects/{p}",
            None,
            [204, 403, 403, 403, 404],
        ),
    ];

    let mut failures = Vec::new();
    for r in &rows {
        let path = r
            .path
            .replace("{p}", &p)
            .replace("{r}", &revision)
            .replace("{x}", &uuid::Uuid::new_v4().to_string());
        // The purge row runs the owner last, so the others see the project.
        let order: Vec<usize> = if r.method == Method::DELETE && r.path == "/projects/{p}" {
            vec![1, 2, 3, 4, 0]
        } else {
            (0..5).collect()
        };
        for i in order {
            let (status, body) = if r.tenant {
                tenant_call(
                    &server,
                    &project.slug,
                    callers[i],
                    r.method.clone(),
                    &path,
                    r.body.clone(),
                )
                .await
            } else {
                call(&server, callers[i], r.method.clone(), &path, r.body.clone()).await
            };
            if status != r.expect[i] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {status} {body}",
                    r.method, r.path, WHO[i], r.expect[i]
                ));
            }
            if status == 403 {
                assert!(
                    body["error"]["reason"].is_string(),
                    "a 403 says why: {body}"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

#[tokio::test]
async fn access_answers_what_the_caller_may_do() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "access").await;
    let (_, dev) = sign_up(&server, "dev@example.com").await;
    add_member(&server, &owner, &project.id, "dev@example.com", &dev).await;
    let (_, mine) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{}/access", project.id),
        None,
    )
    .await;
    assert!(
        mine.as_object().unwrap().values().all(|v| v == true),
        "{mine}"
    );
    let (_, theirs) = call(
        &server,
        &dev,
        Method::GET,
        &format!("/projects/{}/access", project.id),
        None,
    )
    .await;
    assert_eq!(theirs["update_project"], true);
    assert_eq!(theirs["purge_project"], false);
    assert_eq!(theirs["manage_invites"], false);
    assert_eq!(theirs["write_tenant"], true);
    server.stop().await;
}

#[tokio::test]
async fn removing_members_and_the_last_owner() {
    let (server, owner, cp) = owner().await;
    let project = create_project(&cp, "members").await;
    let p = project.id.clone();
    let (dev_id, dev) = sign_up(&server, "dev@example.com").await;
    add_member(&server, &owner, &p, "dev@example.com", &dev).await;

    // The SDK lists members.
    let members = ory_client::apis::v0alpha2_api::get_project_members(&cp, &p)
        .await
        .unwrap();
    let emails: Vec<_> = members.iter().filter_map(|m| m.email.clone()).collect();
    assert_eq!(emails, ["owner@example.com", "dev@example.com"]);
    let (_, raw) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/members"),
        None,
    )
    .await;
    assert_eq!(raw[1]["role"], "DEVELOPER");
    assert_eq!(raw[0]["role"], "OWNER");

    // The developer may use the tenant admin APIs until removed.
    let (status, _) = tenant_call(
        &server,
        &project.slug,
        &dev,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);

    // The last owner can not be removed or demoted.
    let owner_id = raw[0]["id"].as_str().unwrap().to_owned();
    let err = ory_client::apis::v0alpha2_api::remove_project_member(&cp, &p, &owner_id)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    let (status, _) = call(
        &server,
        &owner,
        Method::PUT,
        &format!("/projects/{p}/members/{owner_id}"),
        Some(json!({ "role": "DEVELOPER" })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &server,
        &owner,
        Method::PUT,
        &format!("/projects/{p}/members/{dev_id}"),
        Some(json!({ "role": "ADMIN" })),
    )
    .await;
    assert_eq!(status, 400);

    // Removal: 204, the invite becomes `removed`, access ends at once.
    ory_client::apis::v0alpha2_api::remove_project_member(&cp, &p, &dev_id)
        .await
        .unwrap();
    let (_, invites) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/invites"),
        None,
    )
    .await;
    assert_eq!(invites[0]["status"], "removed", "{invites}");
    let (status, _) = tenant_call(
        &server,
        &project.slug,
        &dev,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(&server, &dev, Method::GET, &format!("/projects/{p}"), None).await;
    assert_eq!(status, 404);
    let err = ory_client::apis::v0alpha2_api::remove_project_member(&cp, &p, &dev_id)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 404);
    server.stop().await;
}
