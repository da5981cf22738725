//! Second factors through the official SDK: an authenticator app linked
//! in a settings flow (the code computed here, as the app would), and a
//! session stepped up with a code.

use super::{body_of, status_of};
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::{
    SubmitSelfServiceLoginFlowBody as LoginBody, SubmitSelfServiceSettingsFlowBody as SettingsBody,
};
use serde_json::Value;

/// The node of a flow whose attributes carry `key` = `value`.
pub fn node<'a>(flow: &'a Value, key: &str, value: &str) -> &'a Value {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"][key] == value)
        .unwrap_or_else(|| panic!("no node with {key}={value} in {flow}"))
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Links an authenticator app in settings; the app, as the test holds it.
pub async fn link_totp(cfg: &Configuration, token: &str) -> totp_rs::Totp {
    let flow = api::initialize_self_service_settings_flow_without_browser(cfg, Some(token))
        .await
        .unwrap();
    let json = serde_json::to_value(&flow).unwrap();
    let qr = node(&json, "id", "totp_qr");
    assert!(
        qr["attributes"]["src"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,"),
        "the QR code is a PNG data URL"
    );
    let secret = node(&json, "id", "totp_secret_key")["attributes"]["text"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .with_account_name("test")
        .build()
        .unwrap();
    let wrong = SettingsBody::SubmitSelfServiceSettingsFlowWithTotpMethodBody {
        csrf_token: None,
        totp_code: Some("000000".into()),
        totp_unlink: None,
    };
    let err = api::submit_self_service_settings_flow(cfg, &flow.id, wrong, Some(token), None)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert!(
        body_of(&err).to_string().contains("4000008"),
        "{}",
        body_of(&err)
    );
    let confirm = SettingsBody::SubmitSelfServiceSettingsFlowWithTotpMethodBody {
        csrf_token: None,
        totp_code: Some(app.generate(now()).to_string()),
        totp_unlink: None,
    };
    let done = api::submit_self_service_settings_flow(cfg, &flow.id, confirm, Some(token), None)
        .await
        .unwrap();
    assert_eq!(format!("{:?}", done.state).to_lowercase(), "success");
    let done = serde_json::to_value(&done).unwrap();
    node(&done, "name", "totp_unlink");
    // Proving the app on this session counts as using it here.
    let me = api::to_session(cfg, Some(token), None).await.unwrap();
    assert_eq!(aal(&me), "aal2");
    app
}

pub fn totp_login_body(code: String) -> LoginBody {
    LoginBody::SubmitSelfServiceLoginFlowWithTotpMethodBody {
        csrf_token: None,
        totp_code: code,
    }
}

/// Steps the session of `token` up with `body`: the result, or the error
/// body of a 400.
pub async fn step_up(
    cfg: &Configuration,
    token: &str,
    body: LoginBody,
) -> Result<ory_client::models::Session, Value> {
    let flow = api::initialize_self_service_login_flow_without_browser(
        cfg,
        None,
        Some("aal2"),
        Some(token),
    )
    .await
    .unwrap();
    match api::submit_self_service_login_flow(cfg, &flow.id, body, Some(token), None).await {
        Ok(ok) => {
            assert_eq!(ok.session_token.as_deref(), Some(token), "the same token");
            Ok(*ok.session)
        }
        Err(err) => {
            assert_eq!(status_of(&err), 400, "{}", body_of(&err));
            Err(body_of(&err))
        }
    }
}

pub fn aal(session: &ory_client::models::Session) -> String {
    format!("{:?}", session.authenticator_assurance_level.unwrap()).to_lowercase()
}
