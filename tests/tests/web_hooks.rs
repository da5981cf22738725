//! The revision's `web_hook` hooks around a real flow: a local HTTP receiver
//! gets the Jsonnet-rendered body with the configured auth, and a blocking
//! hook that fails keeps the registration from happening at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine as _;
use common::hook_receiver::{jsonnet, receiver};
use common::{call, create_project, owner, tenant};
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::SubmitSelfServiceRegistrationFlowBody as RegistrationBody;
use reqwest::Method;
use serde_json::{Value, json};

async fn set_registration_hooks(
    server: &keyplane_server::RunningServer,
    token: &str,
    project: &str,
    hooks: Value,
) {
    let (status, body) = call(
        server,
        token,
        Method::PATCH,
        &format!("/projects/{project}"),
        Some(json!([{
            "op": "replace",
            "path": "/services/identity/config/selfservice/flows/registration/after/password/hooks",
            "value": hooks,
        }])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn register(
    config: &ory_client::apis::configuration::Configuration,
    email: &str,
) -> Result<
    ory_client::models::SuccessfulSelfServiceRegistrationWithoutBrowser,
    ory_client::apis::Error<api::SubmitSelfServiceRegistrationFlowError>,
> {
    let flow = api::initialize_self_service_registration_flow_without_browser(config)
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "hooked passphrase 123".into(),
        traits: json!({ "email": email }),
    };
    api::submit_self_service_registration_flow(config, &flow.id, body, None).await
}

#[tokio::test]
async fn a_web_hook_gets_the_rendered_body_and_a_failing_one_stops_the_flow() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Hooked").await;
    let sdk = tenant(&server, &project.slug);
    let (url, seen) = receiver(200).await;
    set_registration_hooks(
        &server,
        &token,
        &project.id,
        json!([
            {"hook": "web_hook", "config": {
                "url": url, "method": "POST",
                "body": jsonnet("function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id, kind: 'signup' }"),
                "auth": {"type": "api_key", "config": {"name": "X-Hook-Key", "value": "s3cret-key", "in": "header"}}
            }},
            {"hook": "session"}
        ]),
    )
    .await;
    let ok = register(&sdk, "hooked@example.com").await.unwrap();
    assert!(ok.session_token.is_some());
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].head.starts_with("POST /hook"), "{}", got[0].head);
    assert!(
        got[0]
            .head
            .to_ascii_lowercase()
            .contains("x-hook-key: s3cret-key"),
        "{}",
        got[0].head
    );
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["email"], "hooked@example.com");
    assert_eq!(body["kind"], "signup");
    assert!(body["flow"].is_string());

    // Basic auth, and a receiver that refuses: the registration fails with a
    // message on the form and nobody is created.
    let (refusing, refused) = receiver(500).await;
    set_registration_hooks(
        &server,
        &token,
        &project.id,
        json!([
            {"hook": "web_hook", "config": {
                "url": refusing, "method": "POST",
                "body": jsonnet("function(ctx) { email: ctx.identity.traits.email }"),
                "auth": {"type": "basic_auth", "config": {"user": "kratos", "password": "hook-pass"}}
            }},
            {"hook": "session"}
        ]),
    )
    .await;
    let err = register(&sdk, "refused@example.com").await.unwrap_err();
    assert_eq!(common::status_of(&err), 400);
    let flow = common::body_of(&err);
    let text = flow["ui"]["messages"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("could not be completed"), "{flow}");
    let got = refused.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let basic = base64::engine::general_purpose::STANDARD.encode("kratos:hook-pass");
    assert!(
        got[0].head.to_ascii_lowercase().contains(&format!(
            "authorization: basic {}",
            basic.to_ascii_lowercase()
        )),
        "{}",
        got[0].head
    );
    let (status, list) = common::tenant_call(
        &server,
        &project.slug,
        &token,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["traits"]["email"].as_str())
        .collect();
    assert_eq!(emails, vec!["hooked@example.com"]);

    // An ignored hook's failure does not matter.
    set_registration_hooks(
        &server,
        &token,
        &project.id,
        json!([
            {"hook": "web_hook", "config": {
                "url": refusing, "method": "POST",
                "body": jsonnet("function(ctx) { id: ctx.identity.id }"),
                "response": {"ignore": true}
            }},
            {"hook": "session"}
        ]),
    )
    .await;
    register(&sdk, "ignored@example.com").await.unwrap();
}
