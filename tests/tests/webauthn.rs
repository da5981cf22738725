//! WebAuthn through the official SDK and the API flows, with a software
//! authenticator (webauthn-authenticator-rs' SoftPasskey) in the place of
//! the browser and its key: a key added in settings steps a password
//! session up to AAL2 (the same session) and is removed again; with
//! `passwordless` on, registration with traits and a key and a login in two
//! steps, where an unknown identifier and one without keys read alike;
//! malformed answers and unknown keys are 400s with the flow; an answer
//! made for one tenant never works in another. The stored key is sealed.

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
use serde_json::{Value, json};
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PASSWORD: &str = "a long and lonely passphrase";

async fn enable_webauthn(
    server: &keyplane_server::RunningServer,
    token: &str,
    id: &str,
    passwordless: bool,
) {
    patch_identity(
        server,
        token,
        id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/webauthn/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/webauthn/config", "value": {"passwordless": passwordless}},
            {"op": "add", "path": "/selfservice/flows/registration/after/webauthn", "value": {"hooks": [{"hook": "session"}]}},
        ]),
    )
    .await;
}

/// Registers with a password: `(identity id, session token, session id)`.
async fn register(cfg: &Configuration, email: &str) -> (String, String, String) {
    let ok = sdk_register(cfg, email, PASSWORD).await;
    (
        ok.identity.id,
        ok.session_token.unwrap(),
        ok.session.unwrap().id,
    )
}

async fn password_login(
    cfg: &Configuration,
    email: &str,
) -> ory_client::models::SuccessfulSelfServiceLoginWithoutBrowser {
    sdk_login(cfg, email, PASSWORD).await.unwrap()
}

fn find_node<'a>(flow: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"][key] == value)
}

fn node<'a>(flow: &'a Value, key: &str, value: &str) -> &'a Value {
    find_node(flow, key, value).unwrap_or_else(|| panic!("no node with {key}={value} in {flow}"))
}

/// The options a trigger button hands the script (`window.f(<json>)`).
fn options<T: serde::de::DeserializeOwned>(flow: &Value, trigger: &str, function: &str) -> T {
    let onclick = node(flow, "name", trigger)["attributes"]["onclick"]
        .as_str()
        .unwrap();
    let json = onclick
        .strip_prefix(&format!("window.{function}("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected onclick {onclick}"));
    serde_json::from_str(json).unwrap()
}

/// The origin the browser would be at: the tenant's public URL, where the
/// script node loads from.
fn origin(flow: &Value) -> Url {
    let script = node(flow, "id", "webauthn_script");
    assert_eq!(script["type"], "script");
    let src = script["attributes"]["src"].as_str().unwrap();
    assert!(src.ends_with("/.well-known/ory/webauthn.js"), "{src}");
    assert!(
        script["attributes"]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
    let mut url = Url::parse(src).unwrap();
    url.set_path("");
    url
}

/// The authenticator's answer to a flow's registration options, as the
/// script posts it (made at `at`, or the flow's own origin).
fn attest(key: &mut SoftPasskey, flow: &Value, at: Option<Url>) -> String {
    let ccr: CreationChallengeResponse = options(
        flow,
        "webauthn_register_trigger",
        "__oryWebAuthnRegistration",
    );
    let answer = key
        .perform_register(at.unwrap_or_else(|| origin(flow)), ccr.public_key, 60_000)
        .unwrap();
    serde_json::to_string(&answer).unwrap()
}

/// The authenticator's answer to a flow's login challenge.
fn assert_with(key: &mut SoftPasskey, flow: &Value, at: Option<Url>) -> String {
    let rcr: RequestChallengeResponse =
        options(flow, "webauthn_login_trigger", "__oryWebAuthnLogin");
    let answer = key
        .perform_auth(at.unwrap_or_else(|| origin(flow)), rcr.public_key, 60_000)
        .unwrap();
    serde_json::to_string(&answer).unwrap()
}

fn settings_body(
    register: Option<String>,
    name: Option<&str>,
    remove: Option<&str>,
) -> SettingsBody {
    SettingsBody::SubmitSelfServiceSettingsFlowWithWebAuthnMethodBody {
        csrf_token: None,
        webauthn_register: register,
        webauthn_register_displayname: name.map(str::to_owned),
        webauthn_remove: remove.map(str::to_owned),
    }
}

fn login_body(identifier: &str, answer: Option<String>) -> LoginBody {
    LoginBody::SubmitSelfServiceLoginFlowWithWebAuthnMethodBody {
        csrf_token: None,
        identifier: identifier.into(),
        webauthn_login: answer,
    }
}

async fn settings_flow(cfg: &Configuration, token: &str) -> Value {
    let flow = api::initialize_self_service_settings_flow_without_browser(cfg, Some(token))
        .await
        .unwrap();
    serde_json::to_value(&flow).unwrap()
}

/// Submits a settings flow: `Ok(flow)` or `Err(the 400's flow)`.
async fn submit_settings(
    cfg: &Configuration,
    token: &str,
    flow: &Value,
    body: SettingsBody,
) -> Result<Value, Value> {
    let id = flow["id"].as_str().unwrap();
    match api::submit_self_service_settings_flow(cfg, id, body, Some(token), None).await {
        Ok(flow) => Ok(serde_json::to_value(&flow).unwrap()),
        Err(err) => {
            assert_eq!(status_of(&err), 400, "{}", body_of(&err));
            Err(body_of(&err))
        }
    }
}

/// Adds a key in settings; the flow after.
async fn add_key(cfg: &Configuration, token: &str, key: &mut SoftPasskey, name: &str) -> Value {
    let flow = settings_flow(cfg, token).await;
    let answer = attest(key, &flow, None);
    let done = submit_settings(
        cfg,
        token,
        &flow,
        settings_body(Some(answer), Some(name), None),
    )
    .await
    .unwrap();
    assert_eq!(done["state"], "success", "{done}");
    done
}

/// Submits a login flow: the success, or the 400's flow.
async fn submit_login(
    cfg: &Configuration,
    flow_id: &str,
    token: Option<&str>,
    body: LoginBody,
) -> Result<ory_client::models::SuccessfulSelfServiceLoginWithoutBrowser, Value> {
    match api::submit_self_service_login_flow(cfg, flow_id, body, token, None).await {
        Ok(ok) => Ok(ok),
        Err(err) => {
            assert_eq!(status_of(&err), 400, "{}", body_of(&err));
            Err(body_of(&err))
        }
    }
}

async fn aal2_flow(cfg: &Configuration, token: &str) -> Value {
    let flow = api::initialize_self_service_login_flow_without_browser(
        cfg,
        None,
        Some("aal2"),
        Some(token),
    )
    .await
    .unwrap();
    serde_json::to_value(&flow).unwrap()
}

fn aal(session: &ory_client::models::Session) -> String {
    format!("{:?}", session.authenticator_assurance_level.unwrap()).to_lowercase()
}

fn message_ids(flow: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = flow["ui"]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    for node in flow["ui"]["nodes"].as_array().unwrap() {
        ids.extend(
            node["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_u64().unwrap()),
        );
    }
    ids
}

async fn stored_webauthn_config(
    server: &keyplane_server::RunningServer,
    identity_id: &str,
) -> Value {
    use sea_orm::ConnectionTrait;
    let db = &server.services.db;
    let id = uuid::Uuid::parse_str(identity_id).unwrap();
    let row = db
        .conn
        .query_one_raw(keyplane_tests::statement(
            db,
            "SELECT config FROM identity_credentials WHERE identity_id = $1 AND credential_type = 'webauthn'",
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let config: String = row.try_get("", "config").unwrap();
    serde_json::from_str(&config).unwrap()
}

#[tokio::test]
async fn a_key_added_in_settings_steps_a_session_up_and_can_be_removed() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Security keys").await;
    enable_webauthn(&server, &owner_token, &project.id, false).await;
    let cfg = tenant(&server, &project.slug);
    let (identity_id, token, session_id) = register(&cfg, "kim@example.com").await;
    // A security key without user verification (a plain U2F-style key).
    let mut key = SoftPasskey::new(false);

    let flow = settings_flow(&cfg, &token).await;
    assert_eq!(
        node(&flow, "name", "webauthn_register_trigger")["meta"]["label"]["id"],
        1050012
    );
    assert_eq!(
        node(&flow, "name", "webauthn_register_displayname")["meta"]["label"]["id"],
        1050013
    );
    assert_eq!(
        node(&flow, "name", "webauthn_register")["attributes"]["type"],
        "hidden"
    );
    // Malformed answers are the flow back with a message, not a 500; the
    // flow then offers a new challenge.
    let bad = submit_settings(
        &cfg,
        &token,
        &flow,
        settings_body(Some("{not json".into()), None, None),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&bad).contains(&4000001), "{bad}");
    let stale = attest(&mut key, &flow, None);
    let replayed = submit_settings(&cfg, &token, &bad, settings_body(Some(stale), None, None))
        .await
        .unwrap_err();
    assert!(
        replayed.to_string().contains("could not be registered"),
        "{replayed}"
    );
    let answer = attest(&mut key, &replayed, None);
    let done = submit_settings(
        &cfg,
        &token,
        &replayed,
        settings_body(Some(answer), Some("My key"), None),
    )
    .await
    .unwrap();
    assert_eq!(done["state"], "success");
    let remove = node(&done, "name", "webauthn_remove");
    assert_eq!(remove["meta"]["label"]["id"], 1050018);
    assert_eq!(remove["meta"]["label"]["context"]["display_name"], "My key");
    let key_id = remove["attributes"]["value"].as_str().unwrap().to_owned();

    // Stored in Kratos' shape, the verifier's record sealed.
    let stored = stored_webauthn_config(&server, &identity_id).await;
    let credential = &stored["credentials"][0];
    assert_eq!(credential["display_name"], "My key");
    assert_eq!(credential["is_passwordless"], false);
    assert!(
        credential["public_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty()),
        "{stored}"
    );
    let sealed = credential["webauthn_rs"].as_str().unwrap();
    assert!(
        !sealed.contains("cred_id") && !sealed.contains("counter"),
        "sealed: {sealed}"
    );
    assert!(stored["user_handle"].is_string());
    // Admins see the type, never the config.
    let admin = tenant_admin(&server, &project.slug, &owner_token);
    let seen = api::admin_get_identity(&admin, &identity_id, Some(vec!["webauthn".into()]))
        .await
        .unwrap();
    let credentials = serde_json::to_value(seen.credentials.unwrap()).unwrap();
    assert!(
        credentials["webauthn"].is_object() && credentials["webauthn"]["config"].is_null(),
        "{credentials}"
    );

    // Set up on this session, the key counts as used on it (as in Kratos).
    let me = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert_eq!(
        (me.id.as_str(), aal(&me).as_str()),
        (session_id.as_str(), "aal2")
    );

    // The key counts: whoami asks a new password session for AAL2.
    patch_identity(
        &server,
        &owner_token,
        &project.id,
        json!([{"op": "replace", "path": "/session/whoami/required_aal", "value": "highest_available"}]),
    )
    .await;
    let fresh = password_login(&cfg, "kim@example.com").await;
    let (token, session_id) = (fresh.session_token.unwrap(), fresh.session.id);
    let err = api::to_session(&cfg, Some(&token), None).await.unwrap_err();
    assert_eq!(body_of(&err)["error"]["id"], "session_aal2_required");

    // Step up with the key: the same session, at AAL2.
    let login = aal2_flow(&cfg, &token).await;
    assert_eq!(
        node(&login, "name", "webauthn_login_trigger")["meta"]["label"]["id"],
        1010008
    );
    let flow_id = login["id"].as_str().unwrap().to_owned();
    let bad = submit_login(
        &cfg,
        &flow_id,
        Some(&token),
        login_body("", Some("[]".into())),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&bad).contains(&4000001), "{bad}");
    let answer = assert_with(&mut key, &bad, None);
    let ok = submit_login(
        &cfg,
        &flow_id,
        Some(&token),
        login_body("", Some(answer.clone())),
    )
    .await
    .unwrap();
    assert_eq!(ok.session_token.as_deref(), Some(token.as_str()));
    assert_eq!(aal(&ok.session), "aal2");
    assert_eq!(ok.session.id, session_id, "the same session");
    let methods: Vec<String> = ok
        .session
        .authentication_methods
        .clone()
        .unwrap()
        .iter()
        .map(|m| format!("{:?}", m.method.unwrap()).to_lowercase())
        .collect();
    assert_eq!(methods, ["password", "webauthn"]);
    let me = api::to_session(&cfg, Some(&token), None).await.unwrap();
    assert_eq!(me.identity.id, identity_id);
    assert_eq!(aal(&me), "aal2");
    let counted = stored_webauthn_config(&server, &identity_id).await["credentials"][0]["authenticator"]["sign_count"].as_u64();
    assert!(counted > Some(0), "the counter moved on: {counted:?}");

    // The same answer again, to the same flow or a new session's, is refused.
    let again = submit_login(
        &cfg,
        &flow_id,
        Some(&token),
        login_body("", Some(answer.clone())),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&again).contains(&4000008), "{again}");
    let other = password_login(&cfg, "kim@example.com")
        .await
        .session_token
        .unwrap();
    let other_flow = aal2_flow(&cfg, &other).await;
    let replay = submit_login(
        &cfg,
        other_flow["id"].as_str().unwrap(),
        Some(&other),
        login_body("", Some(answer)),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&replay).contains(&4000008), "{replay}");

    // Remove: an unknown key is a 400; the key itself goes.
    let flow = settings_flow(&cfg, &token).await;
    let unknown = submit_settings(
        &cfg,
        &token,
        &flow,
        settings_body(None, None, Some("abcdef")),
    )
    .await
    .unwrap_err();
    assert!(
        unknown.to_string().contains("which does not exist"),
        "{unknown}"
    );
    let done = submit_settings(
        &cfg,
        &token,
        &flow,
        settings_body(None, None, Some(&key_id)),
    )
    .await
    .unwrap();
    assert!(
        find_node(&done, "name", "webauthn_remove").is_none(),
        "{done}"
    );
    let me = api::to_session(&cfg, Some(&other), None).await.unwrap();
    assert_eq!(aal(&me), "aal1", "without a key aal1 is the highest");
    server.stop().await;
}

#[tokio::test]
async fn passwordless_registration_and_login_in_two_steps() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Passkeys").await;
    enable_webauthn(&server, &owner_token, &project.id, true).await;
    let cfg = tenant(&server, &project.slug);
    // Passwordless keys must verify the user (PIN, biometrics).
    let mut key = SoftPasskey::new(true);

    let flow = api::initialize_self_service_registration_flow_without_browser(&cfg)
        .await
        .unwrap();
    let flow = serde_json::to_value(&flow).unwrap();
    assert_eq!(
        node(&flow, "name", "webauthn_register_trigger")["meta"]["label"]["id"],
        1040004
    );
    node(&flow, "name", "traits.email");
    let answer = attest(&mut key, &flow, None);
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithWebAuthnMethodBody {
        csrf_token: None,
        traits: json!({ "email": "Pia@Example.com" }),
        webauthn_register: Some(answer),
        webauthn_register_displayname: Some("Laptop".into()),
    };
    let registered =
        api::submit_self_service_registration_flow(&cfg, flow["id"].as_str().unwrap(), body, None)
            .await
            .unwrap();
    let session = registered.session.unwrap();
    assert_eq!(aal(&session), "aal1");
    let identity_id = registered.identity.id.clone();
    let stored = stored_webauthn_config(&server, &identity_id).await;
    assert_eq!(stored["credentials"][0]["is_passwordless"], true);
    assert_eq!(stored["credentials"][0]["display_name"], "Laptop");

    // A password account without keys, for comparison.
    register(&cfg, "pat@example.com").await;

    // Step one: the identifier. Unknown, or known without keys: alike.
    let login = |cfg: Configuration| async move {
        let flow = api::initialize_self_service_login_flow_without_browser(&cfg, None, None, None)
            .await
            .unwrap();
        serde_json::to_value(&flow).unwrap()
    };
    let first = login(cfg.clone()).await;
    assert_eq!(
        node(&first, "value", "webauthn")["meta"]["label"]["id"],
        1010001
    );
    node(&first, "name", "identifier");
    let mut answers = Vec::new();
    for identifier in ["nobody@example.com", "pat@example.com"] {
        let flow = login(cfg.clone()).await;
        let refused = submit_login(
            &cfg,
            flow["id"].as_str().unwrap(),
            None,
            login_body(identifier, None),
        )
        .await
        .unwrap_err();
        answers.push(refused["ui"]["messages"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0]["id"], 4000015, "{}", answers[0]);

    // Known: the flow offers a challenge over the identity's keys.
    let mut last = None;
    let mut counts = Vec::new();
    for round in 0..2 {
        let flow = login(cfg.clone()).await;
        let flow_id = flow["id"].as_str().unwrap().to_owned();
        let offered = submit_login(&cfg, &flow_id, None, login_body("pia@example.com", None))
            .await
            .unwrap_err();
        assert_eq!(offered["ui"]["messages"][0]["id"], 1010012, "{offered}");
        assert_eq!(
            node(&offered, "name", "webauthn_login_trigger")["meta"]["label"]["id"],
            1010013
        );
        assert_eq!(
            node(&offered, "name", "identifier")["attributes"]["value"],
            "pia@example.com"
        );
        let answer = assert_with(&mut key, &offered, None);
        let ok = submit_login(
            &cfg,
            &flow_id,
            None,
            login_body("pia@example.com", Some(answer.clone())),
        )
        .await
        .unwrap();
        assert_eq!(ok.session.identity.id, identity_id, "round {round}");
        assert_eq!(aal(&ok.session), "aal1");
        last = Some((ok.session_token.unwrap(), answer));
        let stored = stored_webauthn_config(&server, &identity_id).await;
        counts.push(
            stored["credentials"][0]["authenticator"]["sign_count"]
                .as_u64()
                .unwrap(),
        );
    }
    let (token, answer) = last.unwrap();
    assert!(
        counts[0] < counts[1],
        "the counter moves on with each login: {counts:?}"
    );

    // An old answer does not log in again, even after a fresh first step.
    let flow = login(cfg.clone()).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    submit_login(&cfg, &flow_id, None, login_body("pia@example.com", None))
        .await
        .unwrap_err();
    let replay = submit_login(
        &cfg,
        &flow_id,
        None,
        login_body("pia@example.com", Some(answer)),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&replay).contains(&4000008), "{replay}");

    // The only way in cannot be removed.
    let settings = settings_flow(&cfg, &token).await;
    let key_id = node(&settings, "name", "webauthn_remove")["attributes"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = submit_settings(
        &cfg,
        &token,
        &settings,
        settings_body(None, None, Some(&key_id)),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("lock you out"), "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn an_answer_for_one_tenant_never_works_in_another() {
    let (server, owner_token, cp) = owner().await;
    let a = create_project(&cp, "Tenant A").await;
    let b = create_project(&cp, "Tenant B").await;
    let (cfg_a, cfg_b) = (tenant(&server, &a.slug), tenant(&server, &b.slug));
    for project in [&a, &b] {
        enable_webauthn(&server, &owner_token, &project.id, false).await;
    }
    let (_, token_a, _) = register(&cfg_a, "same@example.com").await;
    let (_, token_b, _) = register(&cfg_b, "same@example.com").await;
    // One key, set up in both tenants.
    let mut key = SoftPasskey::new(false);
    let settings_a = add_key(&cfg_a, &token_a, &mut key, "a").await;
    add_key(&cfg_b, &token_b, &mut key, "b").await;
    let origin_a = origin(&settings_a);
    // Setting the key up made those sessions AAL2: new AAL1 ones.
    let login_a = password_login(&cfg_a, "same@example.com")
        .await
        .session_token
        .unwrap();
    let login_b = password_login(&cfg_b, "same@example.com")
        .await
        .session_token
        .unwrap();

    // A registration made on A's origin is not one for B.
    let flow_b = settings_flow(&cfg_b, &token_b).await;
    let relayed = attest(&mut key, &flow_b, Some(origin_a.clone()));
    let refused = submit_settings(
        &cfg_b,
        &token_b,
        &flow_b,
        settings_body(Some(relayed), None, None),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("could not be registered"),
        "{refused}"
    );

    // An answer to A's challenge does not step up B's session.
    let flow_a = aal2_flow(&cfg_a, &login_a).await;
    let for_a = assert_with(&mut key, &flow_a, None);
    let flow_b = aal2_flow(&cfg_b, &login_b).await;
    let flow_b_id = flow_b["id"].as_str().unwrap().to_owned();
    let refused = submit_login(
        &cfg_b,
        &flow_b_id,
        Some(&login_b),
        login_body("", Some(for_a.clone())),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&refused).contains(&4000008), "{refused}");
    // Nor does B's challenge answered on A's origin (a phishing relay).
    let relayed = assert_with(&mut key, &refused, Some(origin_a));
    let refused = submit_login(
        &cfg_b,
        &flow_b_id,
        Some(&login_b),
        login_body("", Some(relayed)),
    )
    .await
    .unwrap_err();
    assert!(message_ids(&refused).contains(&4000008), "{refused}");
    // B's own challenge, answered on B, does; A's answer still works in A.
    let genuine = assert_with(&mut key, &refused, None);
    let ok = submit_login(
        &cfg_b,
        &flow_b_id,
        Some(&login_b),
        login_body("", Some(genuine)),
    )
    .await
    .unwrap();
    assert_eq!(aal(&ok.session), "aal2");
    let ok = submit_login(
        &cfg_a,
        flow_a["id"].as_str().unwrap(),
        Some(&login_a),
        login_body("", Some(for_a)),
    )
    .await
    .unwrap();
    assert_eq!(aal(&ok.session), "aal2");
    server.stop().await;
}
