//! Second factors through the official SDK and the API flows: TOTP linked
//! in settings with a code computed here, logout, password login at AAL1,
//! step up with a code to AAL2 on the same session, whoami with
//! `highest_available`; reused and stale codes refused; backup codes each
//! once; `refresh=true` re-authenticates the same session; admins see the
//! credential types without secrets and can remove a factor; a code of
//! tenant A never works in tenant B.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::second_factor::*;
use common::*;
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{
    SubmitSelfServiceLoginFlowBody as LoginBody, SubmitSelfServiceSettingsFlowBody as SettingsBody,
};
use serde_json::json;

const PASSWORD: &str = "a long and lonely passphrase";

async fn enable_second_factors(server: &keyplane_server::RunningServer, token: &str, id: &str) {
    patch_identity(
        server,
        token,
        id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/totp/enabled", "value": true},
            {"op": "replace", "path": "/selfservice/methods/lookup_secret/enabled", "value": true},
        ]),
    )
    .await;
}

async fn register(cfg: &Configuration, email: &str) -> (String, String) {
    let ok = sdk_register(cfg, email, PASSWORD).await;
    (ok.identity.id, ok.session_token.unwrap())
}

async fn password_login(
    cfg: &Configuration,
    email: &str,
) -> ory_client::models::SuccessfulSelfServiceLoginWithoutBrowser {
    sdk_login(cfg, email, PASSWORD).await.unwrap()
}

#[tokio::test]
async fn totp_link_logout_step_up_and_whoami_at_the_highest_level() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Second factor").await;
    enable_second_factors(&server, &owner_token, &project.id).await;
    let cfg = tenant(&server, &project.slug);
    let (identity_id, token) = register(&cfg, "tess@example.com").await;
    let app = link_totp(&cfg, &token).await;

    // Log out, log in with the password: AAL1.
    api::submit_self_service_logout_flow_without_browser(
        &cfg,
        ory_client::models::SubmitSelfServiceLogoutFlowWithoutBrowserBody::new(token.clone()),
    )
    .await
    .unwrap();
    let login = password_login(&cfg, "tess@example.com").await;
    let token = login.session_token.unwrap();
    assert_eq!(aal(&login.session), "aal1");

    // Whoami asks for the highest level the identity can reach (the
    // default of a new project).
    let err = api::to_session(&cfg, Some(&token), None).await.unwrap_err();
    assert_eq!(status_of(&err), 403);
    let body = body_of(&err);
    assert_eq!(body["error"]["id"], "session_aal2_required");
    assert!(
        body["redirect_browser_to"]
            .as_str()
            .unwrap()
            .ends_with("/self-service/login/browser?aal=aal2"),
        "{body}"
    );
    // The settings flow requires it by default too.
    let err = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 403);

    // The code that confirmed the link is spent; an old one is stale.
    let confirmed = app.generate(now()).to_string();
    let refused = step_up(&cfg, &token, totp_login_body(confirmed))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("4000008"), "{refused}");
    let stale = app.generate(now() - 120).to_string();
    assert!(step_up(&cfg, &token, totp_login_body(stale)).await.is_err());

    // The next step's code (accepted one step ahead) steps up this session.
    let next = app.generate(now() + 30).to_string();
    let session = step_up(&cfg, &token, totp_login_body(next.clone()))
        .await
        .unwrap();
    assert_eq!(session.id, login.session.id, "the same session");
    assert_eq!(aal(&session), "aal2");
    let methods: Vec<String> = session
        .authentication_methods
        .unwrap()
        .iter()
        .map(|m| format!("{:?}", m.method.unwrap()).to_lowercase())
        .collect();
    assert_eq!(methods, ["password", "totp"]);
    let me = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert_eq!(me.identity.id, identity_id);
    assert_eq!(aal(&me), "aal2");

    // The same code again, in a new session, is refused.
    let second = password_login(&cfg, "tess@example.com")
        .await
        .session_token
        .unwrap();
    let reused = step_up(&cfg, &second, totp_login_body(next))
        .await
        .unwrap_err();
    assert!(reused.to_string().contains("4000008"), "{reused}");

    // An admin sees the credential type, never its secret, and can remove it.
    let admin = tenant_admin(&server, &project.slug, &owner_token);
    let seen = api::admin_get_identity(&admin, &identity_id, Some(vec!["totp".into()]))
        .await
        .unwrap();
    let credentials = serde_json::to_value(seen.credentials.unwrap()).unwrap();
    assert!(credentials["totp"].is_object(), "{credentials}");
    assert!(credentials["totp"]["config"].is_null(), "{credentials}");
    let (status, _) = tenant_call(
        &server,
        &project.slug,
        &owner_token,
        reqwest::Method::DELETE,
        &format!("/admin/identities/{identity_id}/credentials/totp"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let me = api::to_session(&cfg, Some(&second), None).await.unwrap();
    assert_eq!(
        aal(&me),
        "aal1",
        "without a second factor aal1 is the highest"
    );
    server.stop().await;
}

#[tokio::test]
async fn backup_codes_each_work_once_and_show_as_used() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Backup codes").await;
    enable_second_factors(&server, &owner_token, &project.id).await;
    let cfg = tenant(&server, &project.slug);
    let (_, token) = register(&cfg, "bo@example.com").await;

    let flow = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&token))
        .await
        .unwrap();
    let lookup = |regenerate, reveal, confirm| {
        SettingsBody::SubmitSelfServiceSettingsFlowWithLookupMethodBody {
            csrf_token: None,
            lookup_secret_confirm: confirm,
            lookup_secret_disable: None,
            lookup_secret_regenerate: regenerate,
            lookup_secret_reveal: reveal,
        }
    };
    let shown = api::submit_self_service_settings_flow(
        &cfg,
        &flow.id,
        lookup(Some(true), None, None),
        Some(&token),
        None,
    )
    .await
    .unwrap();
    let shown = serde_json::to_value(&shown).unwrap();
    let codes: Vec<String> =
        node(&shown, "id", "lookup_secret_codes")["attributes"]["text"]["context"]["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["text"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(codes.len(), 12);
    api::submit_self_service_settings_flow(
        &cfg,
        &flow.id,
        lookup(None, None, Some(true)),
        Some(&token),
        None,
    )
    .await
    .unwrap();
    let token = password_login(&cfg, "bo@example.com")
        .await
        .session_token
        .unwrap();

    let lookup_login =
        |code: &str| LoginBody::SubmitSelfServiceLoginFlowWithLookupSecretMethodBody {
            csrf_token: None,
            lookup_secret: code.to_owned(),
        };
    let wrong = step_up(&cfg, &token, lookup_login("notacode"))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("4000016"), "{wrong}");
    let session = step_up(&cfg, &token, lookup_login(&codes[0]))
        .await
        .unwrap();
    assert_eq!(aal(&session), "aal2");
    let other = password_login(&cfg, "bo@example.com")
        .await
        .session_token
        .unwrap();
    let used = step_up(&cfg, &other, lookup_login(&codes[0]))
        .await
        .unwrap_err();
    assert!(used.to_string().contains("4000012"), "{used}");
    assert!(step_up(&cfg, &other, lookup_login(&codes[1])).await.is_ok());

    // Reveal lists the codes' state: two used, ten not; never the codes.
    let flow = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&other))
        .await
        .unwrap();
    let revealed = api::submit_self_service_settings_flow(
        &cfg,
        &flow.id,
        lookup(None, Some(true), None),
        Some(&other),
        None,
    )
    .await
    .unwrap();
    let revealed = serde_json::to_value(&revealed).unwrap();
    let list = node(&revealed, "id", "lookup_secret_codes");
    let secrets = list["attributes"]["text"]["context"]["secrets"]
        .as_array()
        .unwrap();
    assert_eq!(secrets.iter().filter(|s| s["id"] == 1050014).count(), 2);
    for code in &codes {
        assert!(
            !list.to_string().contains(code.as_str()),
            "a stored code is never shown again"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn refresh_re_authenticates_the_same_session() {
    let (server, _owner, cp) = owner().await;
    let project = create_project(&cp, "Refresh").await;
    let cfg = tenant(&server, &project.slug);
    let (_, token) = register(&cfg, "ray@example.com").await;
    let before = api::to_session(&cfg, Some(&token), None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let err =
        api::initialize_self_service_login_flow_without_browser(&cfg, None, None, Some(&token))
            .await
            .unwrap_err();
    assert_eq!(body_of(&err)["error"]["id"], "session_already_available");
    let flow = api::initialize_self_service_login_flow_without_browser(
        &cfg,
        Some(true),
        None,
        Some(&token),
    )
    .await
    .unwrap();
    let json = serde_json::to_value(&flow).unwrap();
    assert_eq!(
        node(&json, "name", "identifier")["attributes"]["value"],
        "ray@example.com"
    );
    let body = LoginBody::SubmitSelfServiceLoginFlowWithPasswordMethodBody {
        csrf_token: None,
        identifier: "ray@example.com".into(),
        password: PASSWORD.into(),
        password_identifier: None,
    };
    let ok = api::submit_self_service_login_flow(&cfg, &flow.id, body, Some(&token), None)
        .await
        .unwrap();
    assert_eq!(ok.session.id, before.id, "the same session");
    assert_eq!(ok.session_token.as_deref(), Some(token.as_str()));
    let after = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert!(
        after.authenticated_at > before.authenticated_at,
        "{:?} → {:?}",
        before.authenticated_at,
        after.authenticated_at
    );
    assert_eq!(after.authentication_methods.unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_code_of_one_tenant_never_works_in_another() {
    let (server, owner_token, cp) = owner().await;
    let a = create_project(&cp, "Tenant A").await;
    let b = create_project(&cp, "Tenant B").await;
    let (cfg_a, cfg_b) = (tenant(&server, &a.slug), tenant(&server, &b.slug));
    for project in [&a, &b] {
        enable_second_factors(&server, &owner_token, &project.id).await;
    }
    let (_, token_a) = register(&cfg_a, "same@example.com").await;
    let (_, token_b) = register(&cfg_b, "same@example.com").await;
    let app_a = link_totp(&cfg_a, &token_a).await;
    let _app_b = link_totp(&cfg_b, &token_b).await;

    // New sessions at AAL1 in both.
    let token_a = password_login(&cfg_a, "same@example.com")
        .await
        .session_token
        .unwrap();
    let token_b = password_login(&cfg_b, "same@example.com")
        .await
        .session_token
        .unwrap();
    // A's session token means nothing in B.
    let err = api::initialize_self_service_login_flow_without_browser(
        &cfg_b,
        None,
        Some("aal2"),
        Some(&token_a),
    )
    .await
    .unwrap_err();
    assert_eq!(status_of(&err), 401);
    // A's app's code does not step up B's session.
    let code = app_a.generate(now() + 30).to_string();
    assert!(
        step_up(&cfg_b, &token_b, totp_login_body(code.clone()))
            .await
            .is_err()
    );
    // …while it does in A.
    assert!(
        step_up(&cfg_a, &token_a, totp_login_body(code))
            .await
            .is_ok()
    );
    server.stop().await;
}

#[tokio::test]
async fn with_whoami_at_aal1_a_second_factor_is_optional() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Optional factor").await;
    enable_second_factors(&server, &owner_token, &project.id).await;
    patch_identity(
        &server,
        &owner_token,
        &project.id,
        json!([{"op": "replace", "path": "/session/whoami/required_aal", "value": "aal1"}]),
    )
    .await;
    let cfg = tenant(&server, &project.slug);
    let (_, token) = register(&cfg, "opal@example.com").await;
    link_totp(&cfg, &token).await;
    let login = password_login(&cfg, "opal@example.com").await;
    let token = login.session_token.unwrap();
    let me = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert_eq!(aal(&me), "aal1", "an AAL1 session is enough for whoami");
    // Settings still ask for the second factor (their own default).
    let err = api::initialize_self_service_settings_flow_without_browser(&cfg, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(body_of(&err)["error"]["id"], "session_aal2_required");
    server.stop().await;
}
