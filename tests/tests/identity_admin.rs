//! The identity admin API end to end with the official SDK: create (with
//! imported credentials), get, list, update, patch, delete, duplicates,
//! and tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{
    AdminCreateIdentityBody, AdminCreateIdentityImportCredentialsPassword,
    AdminCreateIdentityImportCredentialsPasswordConfig, AdminIdentityImportCredentials,
    AdminUpdateIdentityBody, IdentityState, JsonPatch,
};
use serde_json::json;

fn with_password(
    email: &str,
    password: Option<&str>,
    hash: Option<&str>,
) -> AdminCreateIdentityBody {
    let mut body = AdminCreateIdentityBody::new("default".into(), json!({ "email": email }));
    let mut config = AdminCreateIdentityImportCredentialsPasswordConfig::new();
    config.password = password.map(str::to_owned);
    config.hashed_password = hash.map(str::to_owned);
    let mut pw = AdminCreateIdentityImportCredentialsPassword::new();
    pw.config = Some(Box::new(config));
    let mut creds = AdminIdentityImportCredentials::new();
    creds.password = Some(Box::new(pw));
    body.credentials = Some(Box::new(creds));
    body
}

use common::tenant_admin as admin;

#[tokio::test]
async fn identity_crud_with_the_sdk() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Identities").await;
    let admin = admin(&server, &project.slug, &token);

    let mut body = with_password("Alice@Example.com", Some("a long passphrase 42"), None);
    body.metadata_public = Some(json!({"plan": "gold"}));
    body.metadata_admin = Some(json!({"internal": 7}));
    let created = api::admin_create_identity(&admin, Some(body))
        .await
        .unwrap();
    assert_eq!(created.schema_id, "default");
    assert!(
        created.schema_url.ends_with("/schemas/default"),
        "{}",
        created.schema_url
    );
    assert_eq!(created.state, Some(IdentityState::Active));
    let addresses = created.verifiable_addresses.clone().unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].value, "alice@example.com");
    assert_eq!(addresses[0].status, "pending");
    assert!(!addresses[0].verified);
    assert_eq!(created.recovery_addresses.clone().unwrap().len(), 1);
    let creds = created.credentials.clone().unwrap();
    assert_eq!(
        creds["password"].identifiers.clone().unwrap(),
        vec!["alice@example.com"]
    );
    assert!(creds["password"].config.is_none(), "hashes are never shown");

    let fetched = api::admin_get_identity(&admin, &created.id, None)
        .await
        .unwrap();
    assert_eq!(fetched.metadata_admin, Some(json!({"internal": 7})));
    assert_eq!(fetched.traits, Some(json!({"email": "Alice@Example.com"})));

    // Duplicate identifier (case-insensitive) → 409.
    let dup = api::admin_create_identity(
        &admin,
        Some(with_password(
            "alice@example.com",
            Some("another passphrase 1"),
            None,
        )),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&dup), 409);

    // Invalid traits → 400 naming the field; nothing stored.
    let bad = AdminCreateIdentityBody::new("default".into(), json!({"email": "not-an-email"}));
    let err = api::admin_create_identity(&admin, Some(bad))
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert!(
        body_of(&err)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("/traits/email")
    );
    let unknown_schema = AdminCreateIdentityBody::new("nope".into(), json!({"email": "x@y.zz"}));
    assert_eq!(
        status_of(
            &api::admin_create_identity(&admin, Some(unknown_schema))
                .await
                .unwrap_err()
        ),
        400
    );

    // PUT replaces traits and state; the address follows the new email.
    let mut update = AdminUpdateIdentityBody::new(
        "default".into(),
        IdentityState::Inactive,
        json!({"email": "alice2@example.com"}),
    );
    update.metadata_public = Some(json!({"plan": "silver"}));
    let updated = api::admin_update_identity(&admin, &created.id, Some(update))
        .await
        .unwrap();
    assert_eq!(updated.state, Some(IdentityState::Inactive));
    assert_eq!(
        updated.verifiable_addresses.unwrap()[0].value,
        "alice2@example.com"
    );
    assert_eq!(
        updated.credentials.unwrap()["password"]
            .identifiers
            .clone()
            .unwrap(),
        vec!["alice2@example.com"]
    );
    assert_ne!(updated.state_changed_at, created.state_changed_at);

    // PATCH: traits may change, /id and /credentials may not.
    let patch = vec![JsonPatch::new(
        ory_client::models::json_patch::OpEnum::Replace,
        "/traits/email".into(),
    )];
    let mut patch = patch;
    patch[0].value = Some(json!("alice3@example.com"));
    let patched = api::admin_patch_identity(&admin, &created.id, Some(patch))
        .await
        .unwrap();
    assert_eq!(patched.traits, Some(json!({"email": "alice3@example.com"})));
    for path in ["/id", "/credentials/password", "/state_changed_at"] {
        let mut op = JsonPatch::new(ory_client::models::json_patch::OpEnum::Replace, path.into());
        op.value = Some(json!("x"));
        let err = api::admin_patch_identity(&admin, &created.id, Some(vec![op]))
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), 400, "{path}");
    }
    let mut bad_patch = JsonPatch::new(
        ory_client::models::json_patch::OpEnum::Replace,
        "/traits/email".into(),
    );
    bad_patch.value = Some(json!(12));
    assert_eq!(
        status_of(
            &api::admin_patch_identity(&admin, &created.id, Some(vec![bad_patch]))
                .await
                .unwrap_err()
        ),
        400
    );
    let still = api::admin_get_identity(&admin, &created.id, None)
        .await
        .unwrap();
    assert_eq!(
        still.traits,
        Some(json!({"email": "alice3@example.com"})),
        "a failed patch changes nothing"
    );

    // List with pagination headers.
    for i in 0..3 {
        api::admin_create_identity(
            &admin,
            Some(AdminCreateIdentityBody::new(
                "default".into(),
                json!({"email": format!("u{i}@example.com")}),
            )),
        )
        .await
        .unwrap();
    }
    let page = api::admin_list_identities(&admin, Some(2), Some(1))
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let (client, base) = tenant_client(&server, &project.slug);
    let res = client
        .get(format!("{base}/admin/identities?per_page=2&page=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-total-count"], "4");
    let link = res.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=1"),
        "{link}"
    );

    // Delete: 204, and 204 again when absent; then 404 on get.
    api::admin_delete_identity(&admin, &created.id)
        .await
        .unwrap();
    api::admin_delete_identity(&admin, &created.id)
        .await
        .unwrap();
    assert_eq!(
        status_of(
            &api::admin_get_identity(&admin, &created.id, None)
                .await
                .unwrap_err()
        ),
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_api_needs_the_owner_and_isolates_tenants() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "A").await;
    let b = create_project(&cp, "B").await;
    let admin_a = admin(&server, &a.slug, &token);
    let admin_b = admin(&server, &b.slug, &token);
    let alice = api::admin_create_identity(
        &admin_a,
        Some(with_password(
            "alice@example.com",
            Some("a long passphrase 42"),
            None,
        )),
    )
    .await
    .unwrap();

    // No token → 401; someone else's token → 404 (the project is not theirs).
    let anonymous = tenant(&server, &a.slug);
    assert_eq!(
        status_of(
            &api::admin_list_identities(&anonymous, None, None)
                .await
                .unwrap_err()
        ),
        401
    );
    let stranger = token_for(&server, "stranger@example.com").await;
    let stranger_admin = admin(&server, &a.slug, &stranger);
    assert_eq!(
        status_of(
            &api::admin_get_identity(&stranger_admin, &alice.id, None)
                .await
                .unwrap_err()
        ),
        404
    );

    // Tenant B sees nothing of tenant A, and may reuse the identifier.
    assert_eq!(
        status_of(
            &api::admin_get_identity(&admin_b, &alice.id, None)
                .await
                .unwrap_err()
        ),
        404
    );
    assert!(
        api::admin_list_identities(&admin_b, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let mut op = JsonPatch::new(
        ory_client::models::json_patch::OpEnum::Replace,
        "/traits/email".into(),
    );
    op.value = Some(json!("mallory@example.com"));
    assert_eq!(
        status_of(
            &api::admin_patch_identity(&admin_b, &alice.id, Some(vec![op]))
                .await
                .unwrap_err()
        ),
        404
    );
    api::admin_delete_identity(&admin_b, &alice.id)
        .await
        .unwrap();
    assert!(
        api::admin_get_identity(&admin_a, &alice.id, None)
            .await
            .is_ok(),
        "B's delete did not touch A"
    );
    api::admin_create_identity(
        &admin_b,
        Some(with_password(
            "alice@example.com",
            Some("a long passphrase 42"),
            None,
        )),
    )
    .await
    .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn imported_hashes_log_in_and_are_rehashed() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Imports").await;
    let admin = admin(&server, &project.slug, &token);
    let tenant_cfg = tenant(&server, &project.slug);

    let argon = identity::hash::PasswordHasher::new(&identity::hash::HasherSettings {
        algorithm: identity::hash::HashAlgorithm::Argon2id,
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Default::default()
    });
    let bcrypt = identity::hash::PasswordHasher::new(&identity::hash::HasherSettings {
        bcrypt_cost: 4,
        ..Default::default()
    });
    let cases = [
        (
            "argon@example.com",
            argon
                .hash(uuid::Uuid::nil(), "argon password 1".into())
                .await
                .unwrap(),
            "argon password 1",
        ),
        (
            "bcrypt@example.com",
            bcrypt
                .hash(uuid::Uuid::nil(), "bcrypt password 1".into())
                .await
                .unwrap(),
            "bcrypt password 1",
        ),
    ];
    for (email, hash, password) in &cases {
        let created =
            api::admin_create_identity(&admin, Some(with_password(email, None, Some(hash))))
                .await
                .unwrap();
        for attempt in 0..2 {
            let flow = api::initialize_self_service_login_flow_without_browser(
                &tenant_cfg,
                None,
                None,
                None,
            )
            .await
            .unwrap();
            let body = ory_client::models::SubmitSelfServiceLoginFlowBody::SubmitSelfServiceLoginFlowWithPasswordMethodBody {
                csrf_token: None,
                identifier: email.to_string(),
                password: password.to_string(),
                password_identifier: None,
            };
            let ok = api::submit_self_service_login_flow(&tenant_cfg, &flow.id, body, None, None)
                .await
                .unwrap_or_else(|e| panic!("{email} attempt {attempt}: {e:?}"));
            assert_eq!(ok.session.identity.id, created.id);
        }
        // The imported hash was replaced by one of the configured hasher
        // (bcrypt, cost 6 in the test settings).
        let stored = stored_password_hash(&server, &created.id).await;
        assert!(stored.starts_with("$2b$06$"), "{email}: {stored}");
    }
    // A hash in no supported format is refused.
    let err = api::admin_create_identity(
        &admin,
        Some(with_password("md5@example.com", None, Some("$md5$abc"))),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 400);
    server.stop().await;
}

async fn stored_password_hash(
    server: &keyplane_server::RunningServer,
    identity_id: &str,
) -> String {
    use sea_orm::ConnectionTrait;
    let db = &server.services.db;
    let id = uuid::Uuid::parse_str(identity_id).unwrap();
    let row = db
        .conn
        .query_one_raw(keyplane_tests::statement(
            db,
            "SELECT config FROM identity_credentials WHERE identity_id = $1 AND credential_type = 'password'",
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let config: String = row.try_get("", "config").unwrap();
    serde_json::from_str::<serde_json::Value>(&config).unwrap()["hashed_password"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn oidc_links_are_imported_and_shown_on_request() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "OIDC").await;
    let admin = admin(&server, &project.slug, &token);
    let (client, base) = tenant_client(&server, &project.slug);
    let body = json!({
        "schema_id": "default",
        "traits": {"email": "olga@example.com"},
        "credentials": {"oidc": {"config": {"providers": [{"provider": "github", "subject": "12345"}]}}}
    });
    let res = client
        .post(format!("{base}/admin/identities"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["credentials"]["oidc"]["identifiers"],
        json!(["github:12345"])
    );
    assert!(created["credentials"]["oidc"].get("config").is_none());
    let with = api::admin_get_identity(&admin, id, Some(vec!["oidc".into()]))
        .await
        .unwrap();
    let config = with.credentials.unwrap()["oidc"].config.clone().unwrap();
    assert_eq!(config["providers"][0]["subject"], "12345");
    // The same link on another identity is a duplicate.
    let mut again = body.clone();
    again["traits"]["email"] = json!("other@example.com");
    let res = client
        .post(format!("{base}/admin/identities"))
        .bearer_auth(&token)
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    // Unknown fields are refused, not ignored.
    let res = client
        .post(format!("{base}/admin/identities"))
        .bearer_auth(&token)
        .json(&json!({"schema_id": "default", "traits": {"email": "p@example.com"}, "nope": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn admins_create_recovery_links() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Recovery").await;
    let admin = admin(&server, &project.slug, &token);
    let identity = api::admin_create_identity(
        &admin,
        Some(AdminCreateIdentityBody::new(
            "default".into(),
            json!({"email": "rex@example.com"}),
        )),
    )
    .await
    .unwrap();
    let mut body =
        ory_client::models::AdminCreateSelfServiceRecoveryLinkBody::new(identity.id.clone());
    body.expires_in = Some("15m".into());
    let link = api::admin_create_self_service_recovery_link(&admin, Some(body))
        .await
        .unwrap();
    assert!(
        link.recovery_link
            .starts_with(&format!("http://{}.projects.localhost", project.slug))
            && link.recovery_link.contains("/self-service/recovery?flow=")
            && link.recovery_link.contains("&token="),
        "{}",
        link.recovery_link
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(link.expires_at.as_deref().unwrap()).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((13..=15).contains(&minutes), "{minutes}");
    // Unknown identity → 404; bad duration → 400; no token → 401.
    let missing = ory_client::models::AdminCreateSelfServiceRecoveryLinkBody::new(
        uuid::Uuid::new_v4().to_string(),
    );
    assert_eq!(
        status_of(
            &api::admin_create_self_service_recovery_link(&admin, Some(missing))
                .await
                .unwrap_err()
        ),
        404
    );
    let mut bad =
        ory_client::models::AdminCreateSelfServiceRecoveryLinkBody::new(identity.id.clone());
    bad.expires_in = Some("soon".into());
    assert_eq!(
        status_of(
            &api::admin_create_self_service_recovery_link(&admin, Some(bad))
                .await
                .unwrap_err()
        ),
        400
    );
    let anonymous = tenant(&server, &project.slug);
    let body = ory_client::models::AdminCreateSelfServiceRecoveryLinkBody::new(identity.id.clone());
    assert_eq!(
        status_of(
            &api::admin_create_self_service_recovery_link(&anonymous, Some(body))
                .await
                .unwrap_err()
        ),
        401
    );
    server.stop().await;
}
