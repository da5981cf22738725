//! The audit log: every change through the control plane and the tenant
//! admin APIs leaves one event (who, from where, which request, what
//! changed), reads leave none; the log pages newest first with filters,
//! is readable by the project's people only, holds no secret, goes with
//! its project, and keeps events for the retention period.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::v0alpha2_api as api;
use reqwest::Method;
use serde_json::{Value, json};
use store::sea_orm::ConnectionTrait;

async fn log(server: &keyplane_server::RunningServer, token: &str, path: &str) -> Value {
    let (status, body) = call(server, token, Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn control_plane_changes_are_recorded_with_who_where_and_what() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Audited").await;
    let p = project.id.clone();
    // A change with the caller's request id.
    let res = keyplane_tests::client()
        .patch(format!("{}/projects/{p}", server.url()))
        .bearer_auth(&token)
        .header("X-Request-Id", "audit-req-1")
        .json(&json!([{ "op": "replace",
            "path": "/services/identity/config/selfservice/flows/login/lifespan", "value": "2h" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Reads leave nothing.
    for path in [format!("/projects/{p}"), format!("/projects/{p}/revisions")] {
        log(&server, &token, &path).await;
    }
    let page = log(&server, &token, &format!("/projects/{p}/audit-log")).await;
    assert_eq!(
        actions(&page),
        ["project.patch", "project.create"],
        "{page}"
    );
    let patch = &page["events"][0];
    assert_eq!(patch["request_id"], "audit-req-1");
    assert_eq!(patch["client_ip"], "127.0.0.1");
    assert_eq!(patch["target"], p.as_str());
    assert_eq!(patch["actor"]["type"], "api_key", "{patch}");
    assert_eq!(patch["actor"]["name"], "test");
    assert_eq!(
        patch["diff"],
        json!([{ "op": "replace",
            "path": "/services/identity/config/selfservice/flows/login/lifespan", "value": "2h" }])
    );

    // API keys, a hostname-free project's members and invites: one event each.
    let (status, key) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{p}/tokens"),
        Some(json!({ "name": "ci" })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key_id = key["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &server,
        &token,
        Method::DELETE,
        &format!("/projects/{p}/tokens/{key_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, session) = sign_up(&server, "dev@example.com").await;
    add_member(&server, &token, &p, "dev@example.com", &session).await;
    let page = log(&server, &token, &format!("/projects/{p}/audit-log")).await;
    assert_eq!(
        actions(&page),
        [
            "invite.accept",
            "invite.create",
            "api_key.delete",
            "api_key.create",
            "project.patch",
            "project.create"
        ],
        "{page}"
    );
    // The invitee accepted with a console session: named by address.
    let accepted = &page["events"][0];
    assert_eq!(accepted["actor"]["type"], "account");
    assert_eq!(accepted["actor"]["name"], "dev@example.com");

    // Filters: action prefix, target, actor, time range.
    let only = log(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?action=api_key."),
    )
    .await;
    assert_eq!(actions(&only), ["api_key.delete", "api_key.create"]);
    let by_target = log(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?target={key_id}"),
    )
    .await;
    assert_eq!(actions(&by_target), ["api_key.delete", "api_key.create"]);
    let by_actor = log(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?actor=dev@example.com"),
    )
    .await;
    assert_eq!(actions(&by_actor), ["invite.accept"]);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let none = log(
        &server,
        &token,
        &format!(
            "/projects/{p}/audit-log?since={}",
            url::form_urlencoded::byte_serialize(future.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(actions(&none), Vec::<String>::new());

    // Keyset pages: two at a time, newest first, no event twice.
    let mut seen = Vec::new();
    let mut path = format!("/projects/{p}/audit-log?page_size=2");
    loop {
        let page = log(&server, &token, &path).await;
        seen.extend(actions(&page));
        match page["next_page_token"].as_str() {
            Some(next) => path = format!("/projects/{p}/audit-log?page_size=2&page_token={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen.first().unwrap(), "invite.accept");
    assert_eq!(seen.last().unwrap(), "project.create");

    // The account's own log: the project it created.
    let mine = log(&server, &token, "/me/audit-log").await;
    assert!(
        actions(&mine).contains(&"project.create".to_owned()),
        "{mine}"
    );
    assert!(
        actions(&mine).contains(&"api_key.create".to_owned()),
        "{mine}"
    );

    // Bad queries are 400s naming the problem.
    for query in [
        "page_size=0",
        "page_token=nope",
        "since=yesterday",
        "colour=red",
    ] {
        let (status, err) = call(
            &server,
            &token,
            Method::GET,
            &format!("/projects/{p}/audit-log?{query}"),
            None,
        )
        .await;
        assert_eq!(status, 400, "{query}: {err}");
    }
    server.stop().await;
}

#[tokio::test]
async fn tenant_admin_changes_are_recorded_and_reads_are_not() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Tenant audit").await;
    let p = project.id.clone();
    let admin = tenant_admin(&server, &project.slug, &token);
    let identity = api::admin_create_identity(
        &admin,
        Some(ory_client::models::AdminCreateIdentityBody::new(
            "default".into(),
            json!({ "email": "ada@example.com" }),
        )),
    )
    .await
    .unwrap();
    let id = identity.id.clone();
    api::admin_get_identity(&admin, &id, None).await.unwrap();
    api::admin_list_identities(&admin, None, None)
        .await
        .unwrap();
    let (status, _) = tenant_call(
        &server,
        &project.slug,
        &token,
        Method::PATCH,
        &format!("/admin/identities/{id}"),
        Some(json!([{ "op": "replace", "path": "/state", "value": "inactive" }])),
    )
    .await;
    assert_eq!(status, 200);
    api::admin_create_self_service_recovery_link(
        &admin,
        Some(ory_client::models::AdminCreateSelfServiceRecoveryLinkBody::new(id.clone())),
    )
    .await
    .unwrap();
    api::admin_delete_identity_sessions(&admin, &id)
        .await
        .unwrap();
    // Permissions: a namespace, a tuple written twice (once a change), a
    // patch, a delete.
    patch_namespaces(&server, &token, &p).await;
    let tuple = json!({ "namespace": "files", "object": "readme", "relation": "view", "subject_id": "ada" });
    for _ in 0..2 {
        let (status, body) = tenant_call(
            &server,
            &project.slug,
            &token,
            Method::PUT,
            "/admin/relation-tuples",
            Some(tuple.clone()),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = tenant_call(
        &server,
        &project.slug,
        &token,
        Method::DELETE,
        "/admin/relation-tuples?namespace=files&object=readme",
        None,
    )
    .await;
    assert_eq!(status, 204);
    api::admin_delete_identity(&admin, &id).await.unwrap();

    let page = log(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?action=identity."),
    )
    .await;
    assert_eq!(
        actions(&page),
        [
            "identity.delete",
            "identity.sessions.delete",
            "identity.recovery_link.create",
            "identity.patch",
            "identity.create"
        ],
        "{page}"
    );
    let patched = &page["events"][3];
    assert_eq!(patched["target"], id.as_str());
    assert!(
        patched["diff"]
            .as_array()
            .unwrap()
            .contains(&json!({ "op": "replace", "path": "/state", "value": "inactive" })),
        "{patched}"
    );
    let tuples = log(
        &server,
        &token,
        &format!("/projects/{p}/audit-log?action=relation_tuple."),
    )
    .await;
    assert_eq!(
        actions(&tuples),
        ["relation_tuple.delete", "relation_tuple.create"],
        "{tuples}"
    );
    assert_eq!(tuples["events"][1]["target"], "files:readme#view@ada");
    server.stop().await;
}

async fn patch_namespaces(server: &keyplane_server::RunningServer, token: &str, p: &str) {
    let (status, body) = call(
        server,
        token,
        Method::PATCH,
        &format!("/projects/{p}"),
        Some(
            json!([{ "op": "add", "path": "/services/permission/config/namespaces",
            "value": [{ "id": 1, "name": "files" }] }]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Every secret kind a change can carry, then a search of every stored
/// event for each value.
#[tokio::test]
async fn no_secret_reaches_the_log() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Secrets").await;
    let p = project.id.clone();
    patch_identity(
        &server,
        &token,
        &p,
        json!([
            { "op": "replace", "path": "/secrets/cookie", "value": ["audit-cookie-secret-0123456789ab"] },
            { "op": "add", "path": "/courier", "value": { "smtp": {
                "connection_uri": "smtps://mailer:audit-smtp-pass@mail.example.com:465" } } },
            { "op": "add", "path": "/selfservice/flows/login/after", "value": { "hooks": [
                { "hook": "web_hook", "config": { "url": "https://hooks.example.com/a", "method": "POST",
                  "auth": { "type": "api_key", "config": { "name": "X-Key", "value": "audit-hook-key", "in": "header" } } } }
            ] } },
            { "op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true },
            { "op": "add", "path": "/selfservice/methods/oidc/config", "value": { "providers": [{
                "id": "acme", "provider": "generic", "client_id": "kp", "client_secret": "audit-oidc-secret",
                "issuer_url": "https://id.example.com", "mapper_url": "base64://bG9jYWwgYyA9IHN0ZC5leHRWYXIoJ2NsYWltcycpOyB7IGlkZW50aXR5OiB7IHRyYWl0czogeyBlbWFpbDogYy5lbWFpbCB9IH0gfQ==",
                "scope": ["email"] }] } },
        ]),
    )
    .await;
    let (_, key) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{p}/tokens"),
        Some(json!({ "name": "secret-test" })),
    )
    .await;
    let key_value = key["value"].as_str().unwrap().to_owned();
    let hash = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
    let mut created = Vec::new();
    for (email, credentials) in [
        (
            "plain@example.com",
            json!({ "password": { "config": { "password": "audit-plain-password-9" } } }),
        ),
        (
            "hashed@example.com",
            json!({ "password": { "config": { "hashed_password": hash } } }),
        ),
    ] {
        let (status, body) = tenant_call(
            &server,
            &project.slug,
            &key_value,
            Method::POST,
            "/admin/identities",
            Some(json!({ "schema_id": "default", "traits": { "email": email }, "credentials": credentials })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        created.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, link) = tenant_call(
        &server,
        &project.slug,
        &key_value,
        Method::POST,
        "/admin/recovery/link",
        Some(json!({ "identity_id": created[0] })),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let link_token = link["recovery_link"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let (status, invite) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{p}/invites"),
        Some(json!({ "invitee_email": "friend@example.com" })),
    )
    .await;
    assert_eq!(status, 201, "{invite}");
    let (_, mail) = newest_mail(&server, "friend@example.com").await.unwrap();
    let (_, invite_token) = invite_link(&mail);

    let db = &server.services.db;
    let rows = db
        .conn
        .query_all_raw(keyplane_tests::statement(
            db,
            "SELECT actor_name, request_id, client_ip, action, target, diff FROM audit_events",
            [],
        ))
        .await
        .unwrap();
    let mut stored = String::new();
    for row in &rows {
        for column in [
            "actor_name",
            "request_id",
            "client_ip",
            "action",
            "target",
            "diff",
        ] {
            let value: Option<String> = row.try_get("", column).unwrap();
            stored.push_str(&value.unwrap_or_default());
            stored.push('\n');
        }
    }
    assert!(rows.len() >= 7, "{stored}");
    for secret in [
        "audit-cookie-secret-0123456789ab",
        "audit-smtp-pass",
        "audit-hook-key",
        "audit-oidc-secret",
        &key_value,
        "audit-plain-password-9",
        hash,
        &link_token,
        &invite_token,
    ] {
        assert!(
            !stored.contains(secret),
            "{secret} is in the log:\n{stored}"
        );
    }
    // What changed still shows: the secrets' markers, the identity's traits.
    assert!(stored.contains("[redacted]"), "{stored}");
    assert!(stored.contains("plain@example.com"), "{stored}");
    server.stop().await;
}

#[tokio::test]
async fn the_log_is_its_projects_alone_and_goes_with_it() {
    let (server, token, cp) = owner().await;
    let mine = create_project(&cp, "Mine").await;
    let other_owner = token_for(&server, "other@example.com").await;
    let theirs = create_project(&control_plane(&server, &other_owner), "Theirs").await;
    let (_, key) = call(
        &server,
        &other_owner,
        Method::POST,
        &format!("/projects/{}/tokens", theirs.id),
        Some(json!({ "name": "theirs" })),
    )
    .await;
    let their_key = key["value"].as_str().unwrap();
    let (status, created) = tenant_call(
        &server,
        &theirs.slug,
        their_key,
        Method::POST,
        "/admin/identities",
        Some(json!({ "schema_id": "default", "traits": { "email": "x@example.com" } })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    // Neither another owner nor the other project's key reads my log, and
    // my log holds none of their events, whatever the filter.
    for caller in [other_owner.as_str(), their_key] {
        let (status, _) = call(
            &server,
            caller,
            Method::GET,
            &format!("/projects/{}/audit-log", mine.id),
            None,
        )
        .await;
        assert!(status == 404 || status == 403, "{status}");
    }
    let target = created["id"].as_str().unwrap();
    let probe = log(
        &server,
        &token,
        &format!("/projects/{}/audit-log?target={target}", mine.id),
    )
    .await;
    assert_eq!(actions(&probe), Vec::<String>::new());
    let other_me = log(&server, &other_owner, "/me/audit-log").await;
    assert!(
        other_me["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"] != mine.id.as_str()),
        "{other_me}"
    );

    // Purged: its events go, the purge stays in the purger's own log.
    let (status, _) = call(
        &server,
        &other_owner,
        Method::DELETE,
        &format!("/projects/{}", theirs.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let filter = store::audit::Filter {
        nid: Some(theirs.id.parse().unwrap()),
        ..Default::default()
    };
    let (left, _) = store::audit::list(&server.services.db.conn, &filter, None, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?} outlived their project");
    let other_me = log(&server, &other_owner, "/me/audit-log").await;
    assert_eq!(actions(&other_me)[0], "project.purge", "{other_me}");
    assert_eq!(other_me["events"][0]["target"], theirs.id.as_str());
    // My project's log is untouched.
    let page = log(&server, &token, &format!("/projects/{}/audit-log", mine.id)).await;
    assert_eq!(actions(&page), ["project.create"]);
    server.stop().await;
}

#[tokio::test]
async fn events_past_the_retention_period_are_swept() {
    let clock = kernel::clock::ManualClock::starting_now();
    let server = keyplane_tests::spawn_with_clock(
        keyplane_tests::test_settings().await,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let token = token_for(&server, "owner@example.com").await;
    let project = create_project(&control_plane(&server, &token), "Old").await;
    let path = format!("/projects/{}/audit-log", project.id);
    let sweep = || server.services.control_plane.audit_log.sweep();
    // The default keeps 90 days.
    clock.advance(chrono::Duration::days(89));
    assert_eq!(sweep().await.unwrap(), 0);
    patch_namespaces(&server, &token, &project.id).await;
    clock.advance(chrono::Duration::days(2));
    // Everything of day one (the console's own start, the token, the
    // project's creation) is 91 days old; the patch of day 89 stays.
    assert!(sweep().await.unwrap() >= 2);
    assert_eq!(sweep().await.unwrap(), 0);
    let page = log(&server, &token, &path).await;
    assert_eq!(actions(&page), ["project.patch"]);
    let mine = log(&server, &token, "/me/audit-log").await;
    assert_eq!(actions(&mine), Vec::<String>::new(), "{mine}");
    server.stop().await;
}
