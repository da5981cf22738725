//! Accounts are identities of the console project; personal access tokens
//! and project API keys; revocation seen by another server process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_tests::{eventually, fresh_database_url, redis_url, spawn_default};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use store::DatabaseKind;

#[tokio::test]
async fn people_sign_up_through_the_console_project_and_use_the_control_plane() {
    let server = spawn_default().await;
    let (identity_id, session) = sign_up(&server, "Ann@Example.com").await;

    // The console session works as a bearer, as X-Session-Token and as the
    // console project's cookie.
    let (status, me) = call(&server, &session, Method::GET, "/me", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], identity_id.as_str());
    assert_eq!(me["email"], "ann@example.com");
    let client = keyplane_tests::client();
    let by_header = client
        .get(format!("{}/me", server.url()))
        .header("X-Session-Token", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let by_cookie = client
        .get(format!("{}/me", server.url()))
        .header("Cookie", format!("ory_session_console={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    // The SDK, authenticated by the session, creates and lists projects.
    let cp = control_plane(&server, &session);
    let project = create_project(&cp, "ann's app").await;
    let listed = ory_client::apis::v0alpha2_api::list_projects(&cp)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, project.id);

    // `keyplane token create` for the same address: the same account.
    let pat = token_for(&server, "ann@example.com").await;
    assert!(pat.starts_with("ory_pat_"), "{pat}");
    let (_, me_by_pat) = call(&server, &pat, Method::GET, "/me", None).await;
    assert_eq!(me_by_pat["id"], identity_id.as_str());

    // A token for a new address creates its console identity, so the person
    // can later recover the account and log in to the console.
    let bob = token_for(&server, "bob@example.com").await;
    let (_, bob_me) = call(&server, &bob, Method::GET, "/me", None).await;
    let (status, identity) = tenant_call(
        &server,
        "console",
        &bob,
        Method::GET,
        &format!("/admin/identities/{}", bob_me["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        status, 404,
        "nobody administers the console project: {identity}"
    );
    let console = server
        .services
        .tenants
        .resolve("console")
        .await
        .unwrap()
        .unwrap();
    let found = server
        .services
        .identity
        .find_identity_by_password_identifier(&console, "bob@example.com")
        .await
        .unwrap();
    assert!(found.is_none(), "a token-only account has no password yet");
    let stored = server
        .services
        .identity
        .get_identity(&console, bob_me["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.traits["email"], "bob@example.com");

    // Logging out ends control-plane access too.
    let (console_client, console_base) = tenant_client(&server, "console");
    let res = console_client
        .delete(format!("{console_base}/self-service/logout/api"))
        .json(&json!({ "session_token": session }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, err) = call(&server, &session, Method::GET, "/me", None).await;
    assert_eq!(status, 401, "{err}");
    let (status, _) = call(&server, "ory_pat_notatoken", Method::GET, "/me", None).await;
    assert_eq!(status, 401);
    let (status, _) = call(&server, "not-a-session", Method::GET, "/projects", None).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn active_project_is_remembered_per_account() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "active").await;
    let (status, active) = call(
        &server,
        &token,
        Method::GET,
        "/console/active-project",
        None,
    )
    .await;
    assert_eq!((status, active), (200, json!({})));
    let (status, set) = call(
        &server,
        &token,
        Method::PUT,
        "/console/active-project",
        Some(json!({ "project_id": project.id })),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let (_, active) = call(
        &server,
        &token,
        Method::GET,
        "/console/active-project",
        None,
    )
    .await;
    assert_eq!(active["project_id"], project.id.as_str());
    // Someone else's project can not be made active.
    let other = token_for(&server, "other@example.com").await;
    let (status, _) = call(
        &server,
        &other,
        Method::PUT,
        "/console/active-project",
        Some(json!({ "project_id": project.id })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        &other,
        Method::PUT,
        "/console/active-project",
        Some(json!({ "project_id": "not-a-uuid" })),
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn project_api_keys_work_only_on_their_project_and_die_when_revoked() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "project a").await;
    let b = create_project(&cp, "project b").await;

    let (status, key) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{}/tokens", a.id),
        Some(json!({ "name": "ci" })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let value = key["value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("ory_apikey_"));
    assert_eq!(key["project_id"], a.id.as_str());
    assert_eq!(key["name"], "ci");

    // Listed without the value; stored only as a digest.
    let (_, listed) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{}/tokens", a.id),
        None,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("value").is_none(), "{listed}");
    {
        use store::sea_orm::{ConnectionTrait, Statement};
        let db = &server.services.db;
        let rows = db
            .conn
            .query_all_raw(Statement::from_string(
                db.conn.get_database_backend(),
                "SELECT token_hash FROM api_tokens",
            ))
            .await
            .unwrap();
        for row in rows {
            let hash: String = row.try_get("", "token_hash").unwrap();
            assert!(!hash.contains(&value) && hash.len() == 64);
        }
    }

    // On its project: tenant admin APIs and control-plane reads.
    let (status, _) = tenant_call(
        &server,
        &a.slug,
        &value,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, created) = tenant_call(
        &server,
        &a.slug,
        &value,
        Method::POST,
        "/admin/identities",
        Some(json!({ "schema_id": "default", "traits": { "email": "u@example.com" } })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = call(
        &server,
        &value,
        Method::GET,
        &format!("/projects/{}", a.id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, listed) = call(&server, &value, Method::GET, "/projects", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "only its own project");

    // Not a person: no config changes, no projects, no /me.
    let (status, err) = call(
        &server,
        &value,
        Method::PATCH,
        &format!("/projects/{}", a.id),
        Some(json!([{ "op": "replace", "path": "/name", "value": "x" }])),
    )
    .await;
    assert_eq!(status, 403, "{err}");
    let (status, _) = call(
        &server,
        &value,
        Method::POST,
        "/projects",
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&server, &value, Method::GET, "/me", None).await;
    assert_eq!(status, 403);

    // Project A's key on project B: refused on both APIs.
    let (status, _) = tenant_call(
        &server,
        &b.slug,
        &value,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        &value,
        Method::GET,
        &format!("/projects/{}", b.id),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Bad input.
    for body in [
        json!({ "name": "" }),
        json!({ "name": "x", "expires_at": "2001-01-01T00:00:00Z" }),
        json!({ "nome": "x" }),
    ] {
        let (status, err) = call(
            &server,
            &token,
            Method::POST,
            &format!("/projects/{}/tokens", a.id),
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["error"]["message"].is_string() || err["message"].is_string(),
            "{err}"
        );
    }

    // Revoked: refused at once.
    let id = key["id"].as_str().unwrap();
    let (status, _) = call(
        &server,
        &token,
        Method::DELETE,
        &format!("/projects/{}/tokens/{id}", a.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = tenant_call(
        &server,
        &a.slug,
        &value,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &server,
        &token,
        Method::DELETE,
        &format!("/projects/{}/tokens/{id}", a.id),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // An expiring key stops working when it expires.
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (_, short) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{}/tokens", a.id),
        Some(json!({ "name": "short", "expires_at": expires })),
    )
    .await;
    let short = short["value"].as_str().unwrap().to_owned();
    let (status, _) = tenant_call(
        &server,
        &a.slug,
        &short,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let expired = eventually(Duration::from_secs(5), || async {
        tenant_call(
            &server,
            &a.slug,
            &short,
            Method::GET,
            "/admin/identities",
            None,
        )
        .await
        .0 == 401
    })
    .await;
    assert!(expired.is_some(), "the expired key still worked");
    server.stop().await;
}

/// The real binary, as a second replica on the same PostgreSQL and Redis.
struct Replica {
    child: std::process::Child,
    port: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_binary(database: &str, prefix: &str) -> Replica {
    let port = keyplane_tests::free_port();
    let mail = std::env::temp_dir().join(format!("kp-replica-{}", uuid::Uuid::new_v4().simple()));
    let child = std::process::Command::new(keyplane_tests::keyplane_binary())
        .arg("serve")
        .env("KEYPLANE_DATABASE__URL", database)
        .env(
            "KEYPLANE_ENCRYPTION__KEYS",
            format!("[{}]", keyplane_tests::POSTGRES_ENCRYPTION_KEY),
        )
        .env("KEYPLANE_REDIS__URL", redis_url())
        .env("KEYPLANE_REDIS__PREFIX", prefix)
        .env("KEYPLANE_SERVE__PORT", port.to_string())
        .env("KEYPLANE_SERVE__GRPC_PORT", "0")
        .env("KEYPLANE_SERVE__HOST", "127.0.0.1")
        .env("KEYPLANE_COURIER__FILE_DIR", mail)
        .env("KEYPLANE_LOG__LEVEL", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("build the binary first (make test does)");
    Replica { child, port }
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_another_server_process_within_a_second() {
    let url = fresh_database_url(DatabaseKind::Postgres).await;
    let prefix = format!("kptest-{}", uuid::Uuid::new_v4().simple());
    let mut settings = keyplane_tests::test_settings().await;
    keyplane_tests::use_database(&mut settings, url.clone());
    settings.redis.url = Some(redis_url());
    settings.redis.prefix = Some(prefix.clone());
    let one = keyplane_tests::spawn(settings).await;
    let replica = start_binary(&url, &prefix);
    let token = token_for(&one, "o@example.com").await;
    let project = create_project(&control_plane(&one, &token), "two processes").await;
    let (_, key) = call(
        &one,
        &token,
        Method::POST,
        &format!("/projects/{}/tokens", project.id),
        Some(json!({ "name": "k" })),
    )
    .await;
    let key = key["value"].as_str().unwrap().to_owned();

    let client = reqwest::Client::builder()
        .resolve(
            &tenant_host(&project.slug),
            ([127, 0, 0, 1], replica.port).into(),
        )
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url_two = format!(
        "http://{}:{}/admin/identities",
        tenant_host(&project.slug),
        replica.port
    );
    let status_two = || async {
        match client.get(&url_two).bearer_auth(&key).send().await {
            Ok(res) => res.status().as_u16(),
            Err(_) => 0,
        }
    };
    // The second process answers (and caches the key).
    assert!(
        eventually(Duration::from_secs(30), || async {
            status_two().await == 200
        })
        .await
        .is_some(),
        "the second process did not accept the key"
    );
    for _ in 0..3 {
        assert_eq!(status_two().await, 200);
    }

    let id = call(
        &one,
        &token,
        Method::GET,
        &format!("/projects/{}/tokens", project.id),
        None,
    )
    .await
    .1[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = std::time::Instant::now();
    let (status, _) = call(
        &one,
        &token,
        Method::DELETE,
        &format!("/projects/{}/tokens/{id}", project.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let refused = eventually(Duration::from_secs(1), || async {
        status_two().await == 401
    })
    .await;
    let refused = refused.expect("the other process still accepted the revoked key after 1 s");
    eprintln!(
        "the second process refused the revoked key {:?} after revocation",
        revoked.elapsed().min(refused)
    );
    drop(replica);
    one.stop().await;
}
