//! API self-service flows and sessions with the official SDK: registration
//! → session → whoami → settings → login; wrong password, duplicates,
//! expired flows, revocation, logout, and cross-tenant tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{
    SubmitSelfServiceLoginFlowBody as LoginBody,
    SubmitSelfServiceRegistrationFlowBody as RegistrationBody,
    SubmitSelfServiceSettingsFlowBody as SettingsBody,
};
use serde_json::json;

async fn register(cfg: &Configuration, email: &str, password: &str) -> (String, String) {
    let flow = api::initialize_self_service_registration_flow_without_browser(cfg)
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: password.into(),
        traits: json!({ "email": email }),
    };
    let ok = api::submit_self_service_registration_flow(cfg, &flow.id, body, None)
        .await
        .unwrap();
    (
        ok.identity.id,
        ok.session_token.expect("the session hook issues a token"),
    )
}

async fn login(
    cfg: &Configuration,
    email: &str,
    password: &str,
) -> Result<String, serde_json::Value> {
    let flow = api::initialize_self_service_login_flow_without_browser(cfg, None, None, None)
        .await
        .unwrap();
    let body = LoginBody::SubmitSelfServiceLoginFlowWithPasswordMethodBody {
        csrf_token: None,
        identifier: email.into(),
        password: password.into(),
        password_identifier: None,
    };
    match api::submit_self_service_login_flow(cfg, &flow.id, body, None, None).await {
        Ok(ok) => Ok(ok.session_token.expect("API logins return a token")),
        Err(err) => {
            assert_eq!(status_of(&err), 400);
            Err(body_of(&err))
        }
    }
}

#[tokio::test]
async fn register_whoami_change_password_and_log_in() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Flows").await;
    let cfg = tenant(&server, &project.slug);

    let (identity_id, token) =
        register(&cfg, "carol@example.com", "correct horse battery staple").await;
    let session = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert_eq!(session.identity.id, identity_id);
    assert_eq!(session.active, Some(true));
    assert!(
        session.identity.credentials.is_none(),
        "whoami never shows credentials"
    );
    let methods = session.authentication_methods.unwrap();
    assert_eq!(
        methods[0]
            .method
            .map(|m| format!("{m:?}"))
            .unwrap_or_default()
            .to_lowercase(),
        "password"
    );

    // whoami also answers to `Authorization: Bearer` and sets the identity header.
    let (client, base) = tenant_client(&server, &project.slug);
    let res = client
        .get(format!("{base}/sessions/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-kratos-authenticated-identity-id"],
        identity_id.as_str()
    );
    let res = client
        .get(format!("{base}/sessions/whoami"))
        .header("X-Session-Token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["id"], "session_inactive");
    // …and to the project's own session cookie (and no other project's name).
    let cookie = format!("ory_session_{}={token}", project.slug.replace('-', ""));
    let res = client
        .get(format!("{base}/sessions/whoami"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("{base}/sessions/whoami"))
        .header("Cookie", format!("ory_session_other={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Settings: change the password, then only the new one works.
    let flow = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&token))
        .await
        .unwrap();
    assert_eq!(flow.identity.id, identity_id);
    let weak = SettingsBody::SubmitSelfServiceSettingsFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "short".into(),
    };
    let err = api::submit_self_service_settings_flow(&cfg, &flow.id, weak, Some(&token), None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert!(
        body_of(&err).to_string().contains("4000005"),
        "policy violation on the password node"
    );
    let change = SettingsBody::SubmitSelfServiceSettingsFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "a brand new passphrase 9".into(),
    };
    let done = api::submit_self_service_settings_flow(&cfg, &flow.id, change, Some(&token), None)
        .await
        .unwrap();
    assert_eq!(format!("{:?}", done.state).to_lowercase(), "success");
    assert!(
        login(&cfg, "carol@example.com", "correct horse battery staple")
            .await
            .is_err()
    );
    let new_token = login(&cfg, "carol@example.com", "a brand new passphrase 9")
        .await
        .unwrap();
    assert_ne!(new_token, token);

    // Profile: change the email trait; the login identifier follows.
    let flow = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&new_token))
        .await
        .unwrap();
    let profile = SettingsBody::SubmitSelfServiceSettingsFlowWithProfileMethodBody {
        csrf_token: None,
        traits: json!({"email": "carol.new@example.com"}),
    };
    api::submit_self_service_settings_flow(&cfg, &flow.id, profile, Some(&new_token), None)
        .await
        .unwrap();
    let me = api::to_session(&cfg, Some(&new_token), None).await.unwrap();
    assert_eq!(
        me.identity.traits,
        Some(json!({"email": "carol.new@example.com"})),
        "whoami sees the change at once"
    );
    assert!(
        login(&cfg, "carol.new@example.com", "a brand new passphrase 9")
            .await
            .is_ok()
    );

    // Another identity cannot read carol's settings flow.
    let (_, dave) = register(&cfg, "dave@example.com", "dave's long passphrase").await;
    let err = api::get_self_service_settings_flow(&cfg, &flow.id, Some(&dave), None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 403);
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_duplicates_and_missing_fields() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Errors").await;
    let cfg = tenant(&server, &project.slug);
    register(&cfg, "erin@example.com", "erin's long passphrase").await;

    let err = login(&cfg, "erin@example.com", "wrong password!!")
        .await
        .unwrap_err();
    assert_eq!(err["ui"]["messages"][0]["id"], 4000006);
    let err = login(&cfg, "nobody@example.com", "wrong password!!")
        .await
        .unwrap_err();
    assert_eq!(
        err["ui"]["messages"][0]["id"], 4000006,
        "unknown identifiers look the same"
    );

    let flow = api::initialize_self_service_registration_flow_without_browser(&cfg)
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "another long passphrase".into(),
        traits: json!({"email": "ERIN@example.com"}),
    };
    let err = api::submit_self_service_registration_flow(&cfg, &flow.id, body, None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert_eq!(body_of(&err)["ui"]["messages"][0]["id"], 4000007);

    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "another long passphrase".into(),
        traits: json!({}),
    };
    let err = api::submit_self_service_registration_flow(&cfg, &flow.id, body, None)
        .await
        .unwrap_err();
    let flow_json = body_of(&err);
    let email_node = flow_json["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "traits.email")
        .unwrap()
        .clone();
    assert_eq!(email_node["messages"][0]["id"], 4000002, "{flow_json}");

    // Unknown flow → 404; malformed body → 400, never 500.
    let (client, base) = tenant_client(&server, &project.slug);
    let res = client
        .get(format!(
            "{base}/self-service/login/flows?id={}",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client
        .post(format!("{base}/self-service/login?flow={}", flow.id))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn expired_flows_answer_410_and_errors_are_stored() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Expiry").await;
    let mut op = ory_client::models::JsonPatch::new(
        ory_client::models::json_patch::OpEnum::Replace,
        "/services/identity/config/selfservice/flows/login/lifespan".into(),
    );
    op.value = Some(json!("1ms"));
    api::patch_project(&cp, &project.id, Some(vec![op]))
        .await
        .unwrap();
    let cfg = tenant(&server, &project.slug);
    let flow = api::initialize_self_service_login_flow_without_browser(&cfg, None, None, None)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let err = api::get_self_service_login_flow(&cfg, &flow.id, None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 410);
    assert_eq!(body_of(&err)["error"]["id"], "self_service_flow_expired");
    let body = LoginBody::SubmitSelfServiceLoginFlowWithPasswordMethodBody {
        csrf_token: None,
        identifier: "x@example.com".into(),
        password: "whatever password".into(),
        password_identifier: None,
    };
    let err = api::submit_self_service_login_flow(&cfg, &flow.id, body, None, None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 410);

    let stub = api::get_self_service_error(&cfg, "stub:500").await.unwrap();
    assert_eq!(stub.id, "stub:500");
    let (client, base) = tenant_client(&server, &project.slug);
    let res = client
        .get(format!(
            "{base}/self-service/errors?id={}",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn sessions_are_listed_revoked_and_logged_out() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Sessions").await;
    let cfg = tenant(&server, &project.slug);
    let (identity_id, first) = register(&cfg, "frank@example.com", "frank's long passphrase").await;
    let second = login(&cfg, "frank@example.com", "frank's long passphrase")
        .await
        .unwrap();
    let third = login(&cfg, "frank@example.com", "frank's long passphrase")
        .await
        .unwrap();

    let others = api::list_sessions(&cfg, Some(&first), None, None, None)
        .await
        .unwrap();
    assert_eq!(others.len(), 2, "the other two sessions");
    let second_id = api::to_session(&cfg, Some(&second), None).await.unwrap().id;
    let first_id = api::to_session(&cfg, Some(&first), None).await.unwrap().id;

    // Revoke one other session; the current one cannot be revoked this way.
    let (client, base) = tenant_client(&server, &project.slug);
    let res = client
        .delete(format!("{base}/sessions/{second_id}"))
        .header("X-Session-Token", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        status_of(
            &api::to_session(&cfg, Some(&second), None)
                .await
                .unwrap_err()
        ),
        401,
        "revoked at once, cache included"
    );
    let res = client
        .delete(format!("{base}/sessions/{first_id}"))
        .header("X-Session-Token", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Revoke all others.
    let revoked = api::revoke_sessions(&cfg, Some(&first), None)
        .await
        .unwrap();
    assert_eq!(revoked.count, Some(1));
    assert_eq!(
        status_of(&api::to_session(&cfg, Some(&third), None).await.unwrap_err()),
        401
    );
    assert!(api::to_session(&cfg, Some(&first), None).await.is_ok());

    // Admin: list (with the active filter), extend, delete all.
    let mut admin = tenant(&server, &project.slug);
    admin.bearer_access_token = Some(token.clone());
    let all = api::admin_list_identity_sessions(&admin, &identity_id, None, None, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let active = api::admin_list_identity_sessions(&admin, &identity_id, None, None, Some(true))
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    let extended = api::admin_extend_session(&admin, &first_id).await.unwrap();
    assert_eq!(extended.id, first_id);

    // API logout ends the session.
    let fourth = login(&cfg, "frank@example.com", "frank's long passphrase")
        .await
        .unwrap();
    api::submit_self_service_logout_flow_without_browser(
        &cfg,
        ory_client::models::SubmitSelfServiceLogoutFlowWithoutBrowserBody::new(fourth.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        status_of(
            &api::to_session(&cfg, Some(&fourth), None)
                .await
                .unwrap_err()
        ),
        401
    );

    api::admin_delete_identity_sessions(&admin, &identity_id)
        .await
        .unwrap();
    assert_eq!(
        status_of(&api::to_session(&cfg, Some(&first), None).await.unwrap_err()),
        401
    );
    server.stop().await;
}

#[tokio::test]
async fn tokens_and_ids_of_one_tenant_mean_nothing_in_another() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "Tenant A").await;
    let b = create_project(&cp, "Tenant B").await;
    let cfg_a = tenant(&server, &a.slug);
    let cfg_b = tenant(&server, &b.slug);
    let (identity_a, token_a) =
        register(&cfg_a, "grace@example.com", "grace's long passphrase").await;
    assert!(api::to_session(&cfg_a, Some(&token_a), None).await.is_ok());
    assert_eq!(
        status_of(
            &api::to_session(&cfg_b, Some(&token_a), None)
                .await
                .unwrap_err()
        ),
        401
    );
    assert_eq!(
        status_of(
            &api::list_sessions(&cfg_b, Some(&token_a), None, None, None)
                .await
                .unwrap_err()
        ),
        401
    );
    // The same email registers independently in B; A's password does not log in there.
    assert!(
        login(&cfg_b, "grace@example.com", "grace's long passphrase")
            .await
            .is_err()
    );
    let mut admin_b = tenant(&server, &b.slug);
    admin_b.bearer_access_token = Some(token.clone());
    assert_eq!(
        status_of(
            &api::admin_list_identity_sessions(&admin_b, &identity_a, None, None, None)
                .await
                .unwrap_err()
        ),
        404
    );
    // A flow id of A is unknown in B.
    let flow_a = api::initialize_self_service_login_flow_without_browser(&cfg_a, None, None, None)
        .await
        .unwrap();
    assert_eq!(
        status_of(
            &api::get_self_service_login_flow(&cfg_b, &flow_a.id, None)
                .await
                .unwrap_err()
        ),
        404
    );
    server.stop().await;
}
