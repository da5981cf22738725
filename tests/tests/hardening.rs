//! Issue 20's defects, each reproduced against a running server (SQLite
//! and PostgreSQL by `make test`): a JSON Patch that doubles the document
//! with every `copy`, paging offsets past i64, lifespans past Go's largest
//! duration. Each must be a 400 naming the problem, with nothing stored
//! and the server still answering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{call, create_project, owner, tenant_call};
use reqwest::Method;
use serde_json::{Value, json};

fn doubling_copies(from: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"op": "copy", "from": from, "path": format!("{from}/x{i}")}))
            .collect(),
    )
}

#[tokio::test]
async fn json_patch_amplification_is_refused_at_the_first_op_over_the_limit() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Amplify").await;
    let path = format!("/projects/{}", project.id);

    // The project config: 20 doubling copies (~1.9 KB of request).
    let (status, err) = call(
        &server,
        &token,
        Method::PATCH,
        &path,
        Some(doubling_copies("/services/identity/config", 20)),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let reason = err["error"]["reason"].as_str().unwrap();
    assert!(reason.contains("json_patch.max_document_bytes"), "{reason}");
    let (_, now) = call(&server, &token, Method::GET, &path, None).await;
    assert_eq!(
        now["revision_id"],
        project.revision_id.as_str(),
        "nothing stored"
    );

    // An identity: metadata_admin copied into itself 12 times.
    let slug = &project.slug;
    let (status, identity) = tenant_call(
        &server,
        slug,
        &token,
        Method::POST,
        "/admin/identities",
        Some(json!({
            "schema_id": "default",
            "traits": {"email": "meta@example.com"},
            "metadata_admin": {"notes": "n".repeat(2_000)}
        })),
    )
    .await;
    assert_eq!(status, 201, "{identity}");
    let id = identity["id"].as_str().unwrap();
    let (status, err) = tenant_call(
        &server,
        slug,
        &token,
        Method::PATCH,
        &format!("/admin/identities/{id}"),
        Some(doubling_copies("/metadata_admin", 12)),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let (_, stored) = tenant_call(
        &server,
        slug,
        &token,
        Method::GET,
        &format!("/admin/identities/{id}"),
        None,
    )
    .await;
    assert_eq!(stored["metadata_admin"], identity["metadata_admin"]);
    // An ordinary patch still works.
    let (status, patched) = tenant_call(
        &server,
        slug,
        &token,
        Method::PATCH,
        &format!("/admin/identities/{id}"),
        Some(json!([{"op": "add", "path": "/metadata_public", "value": {"plan": "pro"}}])),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["metadata_public"]["plan"], "pro");
    server.stop().await;
}

#[tokio::test]
async fn out_of_range_numbers_are_400s_naming_the_field() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Ranges").await;
    let slug = &project.slug;
    let (status, identity) = tenant_call(
        &server,
        slug,
        &token,
        Method::POST,
        "/admin/identities",
        Some(json!({"schema_id": "default", "traits": {"email": "r@example.com"}})),
    )
    .await;
    assert_eq!(status, 201);
    let id = identity["id"].as_str().unwrap();
    for path in [
        "/admin/identities".to_owned(),
        format!("/admin/identities/{id}/sessions"),
        "/schemas".to_owned(),
    ] {
        for page in ["9223372036854775807", "18446744073709551616", "-1"] {
            let (status, err) = tenant_call(
                &server,
                slug,
                &token,
                Method::GET,
                &format!("{path}?page={page}"),
                None,
            )
            .await;
            assert_eq!(status, 400, "{path}?page={page}: {err}");
            let reason = err["error"]["reason"].as_str().unwrap();
            assert!(reason.contains("`page`"), "{path}: {reason}");
        }
    }

    // Lifespans past Go's largest duration (int64 nanoseconds) are refused
    // by the config, so no later registration or login can overflow.
    let path = format!("/projects/{}", project.id);
    for lifespan in ["999999999999h", "9223372036854775808ns", "2562048h"] {
        for key in [
            "/services/identity/config/session/lifespan",
            "/services/identity/config/selfservice/flows/login/lifespan",
        ] {
            let (status, err) = call(
                &server,
                &token,
                Method::PATCH,
                &path,
                Some(json!([{"op": "replace", "path": key, "value": lifespan}])),
            )
            .await;
            assert_eq!(status, 400, "{key} = {lifespan}: {err}");
        }
    }
    // The longest Go duration is accepted, and flows still work with it.
    let (status, err) = call(
        &server,
        &token,
        Method::PATCH,
        &path,
        Some(json!([
            {"op": "replace", "path": "/services/identity/config/session/lifespan", "value": "2562047h"},
            {"op": "replace", "path": "/services/identity/config/selfservice/flows/login/lifespan", "value": "2562047h"}
        ])),
    )
    .await;
    assert_eq!(status, 200, "{err}");
    let tenant = |method, path: String, body| {
        let (server, token) = (&server, token.clone());
        async move { tenant_call(server, slug, &token, method, &path, body).await }
    };
    let (status, flow) = tenant(Method::GET, "/self-service/registration/api".into(), None).await;
    assert_eq!(status, 200, "{flow}");
    let body = json!({"method": "password", "password": "a long passphrase for ranges",
                      "traits": {"email": "long@example.com"}});
    let path = format!(
        "/self-service/registration?flow={}",
        flow["id"].as_str().unwrap()
    );
    let (status, registered) = tenant(Method::POST, path, Some(body)).await;
    assert_eq!(status, 200, "{registered}");
    let (status, login) = tenant(Method::GET, "/self-service/login/api".into(), None).await;
    assert_eq!(status, 200, "{login}");
    server.stop().await;
}

#[tokio::test]
async fn imported_hashes_past_the_cost_bounds_are_refused_at_import() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Imports").await;
    let import = |hash: &'static str| {
        let (server, token, slug) = (&server, token.clone(), project.slug.clone());
        async move {
            tenant_call(
                server,
                &slug,
                &token,
                Method::POST,
                "/admin/identities",
                Some(json!({
                    "schema_id": "default",
                    "traits": {"email": "imported@example.com"},
                    "credentials": {"password": {"config": {"hashed_password": hash}}}
                })),
            )
            .await
        }
    };
    for hash in [
        "$2b$31$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$2b$04$EGdrhbKUv8Oc9vGiXX0HQPxSg445d458Muh7DAHskb6QbtCvdxcie",
        "$pbkdf2-sha256$i=10000000,l=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
        "$scrypt$ln=20,r=8,p=16$c2FsdA$YWJjZGVmZ2hpamtsbW5vcA",
    ] {
        let (status, err) = import(hash).await;
        assert_eq!(status, 400, "{hash}: {err}");
        assert!(
            err["error"]["reason"]
                .as_str()
                .unwrap()
                .starts_with("The hashed password"),
            "{err}"
        );
    }
    // Nothing was stored; a hash within bounds imports.
    let (status, created) =
        import("$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie").await;
    assert_eq!(status, 201, "{created}");
    server.stop().await;
}

/// The project's Kratos secrets sign the tenant's cookies: only owners see
/// them. Developers, viewers and project keys see a placeholder per
/// secret, and a developer's GET-modify-PUT round trip keeps them.
#[tokio::test]
async fn project_secrets_are_shown_to_owners_only_and_write_only_to_others() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Secrets").await;
    let p = project.id.clone();
    let (_, developer) = common::sign_up(&server, "dev@example.com").await;
    let (_, viewer) = common::sign_up(&server, "viewer@example.com").await;
    common::add_member(&server, &owner_token, &p, "dev@example.com", &developer).await;
    common::add_member(&server, &owner_token, &p, "viewer@example.com", &viewer).await;
    let (_, me) = call(&server, &viewer, Method::GET, "/me", None).await;
    let (status, _) = call(
        &server,
        &owner_token,
        Method::PUT,
        &format!("/projects/{p}/members/{}", me["id"].as_str().unwrap()),
        Some(json!({ "role": "VIEWER" })),
    )
    .await;
    assert_eq!(status, 200);
    let (_, key) = call(
        &server,
        &owner_token,
        Method::POST,
        &format!("/projects/{p}/tokens"),
        Some(json!({ "name": "ci" })),
    )
    .await;
    let key = key["value"].as_str().unwrap().to_owned();
    let path = format!("/projects/{p}");
    let secrets = |view: &Value| view["services"]["identity"]["config"]["secrets"].clone();

    let (_, owned) = call(&server, &owner_token, Method::GET, &path, None).await;
    let real = secrets(&owned);
    let cookie = real["cookie"][0].as_str().unwrap().to_owned();
    assert_eq!(cookie.len(), 32, "{real}");
    for (who, token) in [
        ("developer", &developer),
        ("viewer", &viewer),
        ("key", &key),
    ] {
        let (status, seen) = call(&server, token, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{who}");
        assert_eq!(
            secrets(&seen),
            json!({"cookie": ["[redacted]"], "cipher": ["[redacted]"], "default": ["[redacted]"]}),
            "{who}"
        );
        assert!(!seen.to_string().contains(&cookie), "{who}");
    }

    // A developer's round trip: change the session lifespan, send the rest
    // back as seen. The secrets stay; the answer is redacted too.
    let (_, mut seen) = call(&server, &developer, Method::GET, &path, None).await;
    seen["services"]["identity"]["config"]["session"]["lifespan"] = json!("48h");
    let body = json!({"name": seen["name"], "services": seen["services"]});
    let (status, updated) = call(&server, &developer, Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{updated}");
    assert!(!updated.to_string().contains(&cookie));
    let (_, after) = call(&server, &owner_token, Method::GET, &path, None).await;
    assert_eq!(secrets(&after), real, "unchanged");
    assert_eq!(
        after["services"]["identity"]["config"]["session"]["lifespan"],
        "48h"
    );
    // A placeholder where no secret is set is refused, nothing stored.
    let (status, err) = call(
        &server,
        &developer,
        Method::PATCH,
        &path,
        Some(
            json!([{"op": "add", "path": "/services/identity/config/secrets/cookie/-",
                     "value": "[redacted]"}]),
        ),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    // A developer may rotate: a new secret in front of the old one.
    let (status, rotated) = call(
        &server,
        &developer,
        Method::PATCH,
        &path,
        Some(
            json!([{"op": "add", "path": "/services/identity/config/secrets/cookie/0",
                     "value": "a-new-cookie-secret-of-32-chars!"}]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let (_, after) = call(&server, &owner_token, Method::GET, &path, None).await;
    assert_eq!(
        secrets(&after)["cookie"],
        json!(["a-new-cookie-secret-of-32-chars!", cookie])
    );

    // The SMTP password and a web hook's key are write-only too.
    let (status, body) = call(
        &server,
        &owner_token,
        Method::PATCH,
        &path,
        Some(json!([
            {"op": "add", "path": "/services/identity/config/courier",
             "value": {"smtp": {"connection_uri": "smtps://mailer:smtp-password-1@mail.example.com:465"}}},
            {"op": "add", "path": "/services/identity/config/selfservice/flows/login/after",
             "value": {"hooks": [{"hook": "web_hook", "config": {
                 "url": "https://hooks.example.com/login", "method": "POST",
                 "auth": {"type": "api_key", "config": {"name": "X-Key", "value": "hook-key-1", "in": "header"}}
             }}]}},
        ])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for (who, token) in [
        ("developer", &developer),
        ("viewer", &viewer),
        ("key", &key),
    ] {
        let (_, seen) = call(&server, token, Method::GET, &path, None).await;
        let text = seen.to_string();
        assert!(
            !text.contains("smtp-password-1") && !text.contains("hook-key-1"),
            "{who}: {text}"
        );
    }
    // Nor can a patch read a secret into a place the caller sees: copy,
    // move and test of a secret are refused, nothing stored.
    for op in [
        json!({"op": "copy", "from": "/services/identity/config/secrets/cookie/0", "path": "/name"}),
        json!({"op": "move", "from": "/services/identity/config/courier/smtp", "path": "/name"}),
        json!({"op": "test", "path": "/services/identity/config/secrets/cookie/0", "value": cookie}),
    ] {
        let (status, err) =
            call(&server, &developer, Method::PATCH, &path, Some(json!([op]))).await;
        assert_eq!(status, 400, "{op}: {err}");
    }
    let (_, unchanged) = call(&server, &owner_token, Method::GET, &path, None).await;
    assert_eq!(unchanged["name"], after["name"]);
    server.stop().await;
}

/// A schema whose identifier has no `maxLength` (a project may write one):
/// the identifier's index row must still fit PostgreSQL's B-tree limit
/// (2704 bytes), so an oversized identifier or address is a 400 naming the
/// trait on both databases, not a 500 from the index.
#[tokio::test]
async fn identifiers_longer_than_their_index_allows_are_400s_naming_the_trait() {
    use base64::Engine;
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Long ids").await;
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": { "traits": { "type": "object", "properties": {
            "username": { "type": "string", "ory.sh/kratos": {
                "credentials": { "password": { "identifier": true } } } },
            "email": { "type": "string", "ory.sh/kratos": {
                "recovery": { "via": "email" }, "verification": { "via": "email" } } }
        } } }
    });
    let url = format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(schema.to_string())
    );
    let (status, body) = call(
        &server,
        &token,
        Method::PATCH,
        &format!("/projects/{}", project.id),
        Some(
            json!([{ "op": "replace", "path": "/services/identity/config/identity",
            "value": { "default_schema_id": "long", "schemas": [{ "id": "long", "url": url }] } }]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let create = |traits: Value| {
        let (server, slug, token) = (&server, project.slug.clone(), token.clone());
        async move {
            tenant_call(
                server,
                &slug,
                &token,
                Method::POST,
                "/admin/identities",
                Some(json!({ "schema_id": "long", "traits": traits,
                    "credentials": { "password": { "config": { "password": "a long enough passphrase 42" } } } })),
            )
            .await
        }
    };
    // Random text: PostgreSQL compresses index rows, so a repeated letter
    // would fit.
    let noise = |len: usize| {
        let mut text = String::new();
        while text.len() < len {
            text.push_str(&uuid::Uuid::new_v4().simple().to_string());
        }
        text.truncate(len);
        text
    };
    for (traits, field) in [
        (json!({ "username": noise(5000) }), "username"),
        (
            json!({ "username": "ok", "email": format!("{}@example.com", noise(5000)) }),
            "email",
        ),
    ] {
        let (status, err) = create(traits).await;
        let shown: String = err.to_string().chars().take(400).collect();
        assert_eq!(status, 400, "{shown}");
        let reason = err["error"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
            + err["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.contains(field) && reason.contains("1024"), "{shown}");
    }
    // At the limit it is stored, and nothing was half-written before.
    let (status, body) = create(json!({ "username": noise(1024) })).await;
    let shown: String = body.to_string().chars().take(400).collect();
    assert_eq!(status, 201, "{shown}");
    let (status, list) = tenant_call(
        &server,
        &project.slug,
        &token,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

/// Concurrent read-then-write transactions: on SQLite a deferred
/// transaction that read first failed at once with "database is locked"
/// (a 500) when another connection wrote in between; write transactions
/// now take the lock at BEGIN and wait their turn. Found by
/// `no_server_errors`; the same calls on PostgreSQL.
#[tokio::test]
async fn concurrent_identity_writes_never_answer_500() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Busy").await;
    let slug = project.slug.as_str();
    let mut ids = Vec::new();
    for i in 0..24 {
        let (status, body) = tenant_call(
            &server,
            slug,
            &token,
            Method::POST,
            "/admin/identities",
            Some(json!({ "schema_id": "default", "traits": { "email": format!("c{i}@example.com") } })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let calls = ids.iter().enumerate().map(|(i, id)| {
        let (server, token) = (&server, &token);
        async move {
            let put = tenant_call(
                server,
                slug,
                token,
                Method::PUT,
                &format!("/admin/identities/{id}"),
                Some(json!({ "schema_id": "default", "state": "active",
                    "traits": { "email": format!("new{i}@example.com") } })),
            )
            .await;
            let sessions = tenant_call(
                server,
                slug,
                token,
                Method::DELETE,
                &format!("/admin/identities/{id}/sessions"),
                None,
            )
            .await;
            let delete = tenant_call(
                server,
                slug,
                token,
                Method::DELETE,
                &format!("/admin/identities/{id}"),
                None,
            )
            .await;
            [put, sessions, delete]
        }
    });
    for answers in futures_util::future::join_all(calls).await {
        for (status, body) in answers {
            assert!(status < 500, "{status} {body}");
        }
    }
    let (_, list) = tenant_call(
        &server,
        slug,
        &token,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}
