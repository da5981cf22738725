//! Social sign-in beyond the first sign-in, against a real OpenID provider
//! (`keyplane_tests::oidc_provider`): a password account links the
//! provider in its settings and signs in with it; unlinks it again; an
//! account whose only way in is the provider cannot unlink it; a provider
//! account linked elsewhere is not linked twice; claims that lack a
//! required trait end on the registration form, filled with what the
//! provider gave, and the person completes it; the control plane shows the
//! provider's client secret only as set; web hooks run for social sign-up
//! and sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::hook_receiver::{jsonnet, receiver};
use common::social::{Browser, MAPPER, SECRET, node_values, project_and_provider};
use common::*;
use keyplane_tests::oidc_provider::Account;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "dave's long passphrase";

/// Submits `fields` on a new settings flow: where the tenant sends the
/// browser.
async fn settings_submit(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let flow = browser.flow("settings").await;
    let res = browser.submit(&flow, fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn link_sign_in_with_and_unlink_a_provider_in_the_settings() {
    let (server, token, cp) = owner().await;
    let (project, provider) = project_and_provider(
        &server,
        &token,
        &cp,
        "Linking",
        MAPPER,
        &[
            Account::new("dave-at-acme", "dave@example.com"),
            Account::new("erin-at-acme", "erin@example.com"),
        ],
    )
    .await;
    let cfg = tenant(&server, &project.slug);
    sdk_register(&cfg, "dave@example.com", PASSWORD).await;

    // Signed in with the password: the settings offer to link the provider.
    let dave = Browser::new(&server, &project.slug);
    dave.password_login("dave@example.com", PASSWORD).await;
    let flow = dave.flow("settings").await;
    assert_eq!(node_values(&flow, "link"), ["acme"], "{flow}");
    assert!(node_values(&flow, "unlink").is_empty());
    let (_, session) = dave.whoami().await;
    let dave_id = session["identity"]["id"].as_str().unwrap().to_owned();

    // Link: off to the provider and back to the settings, saved.
    let authorize = settings_submit(&dave, &[("method", "oidc"), ("link", "acme")]).await;
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    let answer = dave.answer(&authorize, "dave-at-acme", "acme").await;
    let next = dave.callback(&answer).await;
    assert!(next.contains("/ui/settings?flow="), "{next}");
    let messages = dave.messages(&next).await;
    assert!(messages.contains("1050001"), "{messages}");

    // Signed out, the provider signs dave in: the same identity.
    dave.sign_out().await;
    let authorize = dave.choose("login", "acme").await;
    let answer = dave.answer(&authorize, "dave-at-acme", "acme").await;
    assert!(dave.callback(&answer).await.ends_with("/ui/welcome"));
    let (_, session) = dave.whoami().await;
    assert_eq!(session["identity"]["id"], dave_id.as_str());

    // The password is still there, so the provider may be unlinked. The
    // session is recent (privileged) because the sign-in just happened.
    let flow = dave.flow("settings").await;
    assert_eq!(node_values(&flow, "unlink"), ["acme"], "{flow}");
    assert!(node_values(&flow, "link").is_empty());

    // Erin signs up with the provider; the provider is her only way in.
    let erin = Browser::new(&server, &project.slug);
    let authorize = erin.choose("registration", "acme").await;
    let answer = erin.answer(&authorize, "erin-at-acme", "acme").await;
    assert!(erin.callback(&answer).await.ends_with("/ui/welcome"));
    let flow = erin.flow("settings").await;
    assert!(node_values(&flow, "unlink").is_empty(), "{flow}");
    let next = settings_submit(&erin, &[("method", "oidc"), ("unlink", "acme")]).await;
    let messages = erin.messages(&next).await;
    assert!(
        messages.contains("last remaining first factor"),
        "{messages}"
    );

    // Dave unlinks, and then tries to link erin's provider account (in a
    // browser without the provider's session for dave): it is hers.
    let next = settings_submit(&dave, &[("method", "oidc"), ("unlink", "acme")]).await;
    assert!(dave.messages(&next).await.contains("1050001"));
    let dave = Browser::new(&server, &project.slug);
    dave.password_login("dave@example.com", PASSWORD).await;
    let authorize = settings_submit(&dave, &[("method", "oidc"), ("link", "acme")]).await;
    let answer = dave.answer(&authorize, "erin-at-acme", "acme").await;
    let next = dave.callback(&answer).await;
    assert!(next.contains("/ui/settings?flow="), "{next}");
    let messages = dave.messages(&next).await;
    assert!(messages.contains("4000007"), "{messages}");

    // Unlinked: the provider's dave is a new subject again, whose address
    // belongs to dave's password account: not taken over.
    let dave = Browser::new(&server, &project.slug);
    let authorize = dave.choose("login", "acme").await;
    let answer = dave.answer(&authorize, "dave-at-acme", "acme").await;
    let next = dave.callback(&answer).await;
    assert!(dave.messages(&next).await.contains("4000007"), "{next}");
    assert_eq!(dave.whoami().await.0, 401);

    // The control plane shows the client secret only as set.
    let (status, body) = call(
        &server,
        &token,
        reqwest::Method::GET,
        &format!("/projects/{}", project.id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(!text.contains(SECRET), "the client secret leaked: {text}");
    let shown = &body["services"]["identity"]["config"]["selfservice"]["methods"]["oidc"]["config"]
        ["providers"][0];
    assert_eq!(shown["client_secret"], "[redacted]", "{shown}");
    // Nor does the history of revisions show it.
    let (status, history) = call(
        &server,
        &token,
        reqwest::Method::GET,
        &format!("/projects/{}/revisions", project.id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !history.to_string().contains(SECRET),
        "the client secret leaked in the revisions"
    );
    server.stop().await;
}

#[tokio::test]
async fn claims_without_a_required_trait_are_completed_on_the_registration_form() {
    let (server, token, cp) = owner().await;
    // The mapper gives no e-mail, which the default schema requires.
    let mapper = "local claims = std.extVar('claims');\n{ identity: { traits: {} } }";
    let (project, _provider) = project_and_provider(
        &server,
        &token,
        &cp,
        "Completing",
        mapper,
        &[Account::new("frank-at-acme", "frank@example.com")],
    )
    .await;

    // Started on the sign-in page: a new subject goes on to registration.
    let frank = Browser::new(&server, &project.slug);
    let authorize = frank.choose("login", "acme").await;
    let answer = frank.answer(&authorize, "frank-at-acme", "acme").await;
    let next = frank.callback(&answer).await;
    assert!(next.contains("/ui/registration?flow="), "{next}");
    let id = next.split("?flow=").nth(1).unwrap();
    let res = frank
        .client
        .get(format!(
            "{}/self-service/registration/flows?id={id}",
            frank.base
        ))
        .send()
        .await
        .unwrap();
    let flow: Value = res.json().await.unwrap();
    let nodes = flow["ui"]["nodes"].as_array().unwrap();
    let email = nodes
        .iter()
        .find(|n| n["attributes"]["name"] == "traits.email")
        .expect("the e-mail field to complete");
    assert_eq!(email["group"], "oidc");
    assert!(!email["messages"].as_array().unwrap().is_empty(), "{email}");
    let button = nodes
        .iter()
        .find(|n| n["attributes"]["name"] == "provider")
        .unwrap();
    assert_eq!(button["meta"]["label"]["id"], 1040003);
    assert!(
        nodes.iter().all(|n| n["attributes"]["name"] != "password"),
        "only the form to complete: {flow}"
    );

    // Completed: back through the provider, registered with the address.
    let res = frank
        .submit(
            &flow,
            &[
                ("method", "oidc"),
                ("provider", "acme"),
                ("traits.email", "frank@example.com"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let answer = frank.answer(&authorize, "frank-at-acme", "acme").await;
    let next = frank.callback(&answer).await;
    if !next.ends_with("/ui/welcome") {
        panic!("{next}: {}", frank.messages(&next).await);
    }
    let (status, session) = frank.whoami().await;
    assert_eq!(status, 200);
    assert_eq!(session["identity"]["traits"]["email"], "frank@example.com");
    server.stop().await;
}

#[tokio::test]
async fn web_hooks_run_for_social_sign_up_and_sign_in() {
    let (server, token, cp) = owner().await;
    let (project, _provider) = project_and_provider(
        &server,
        &token,
        &cp,
        "Hooked Social",
        MAPPER,
        &[Account::new("ivy-at-acme", "ivy@example.com")],
    )
    .await;
    let (told, seen) = receiver(200).await;
    let (refusing, refused) = receiver(500).await;
    let hook = |url: &str, kind: &str| {
        json!({"hook": "web_hook", "config": {
            "url": url, "method": "POST",
            "body": jsonnet(&format!(
                "function(ctx) {{ email: ctx.identity.traits.email, kind: '{kind}' }}"
            )),
        }})
    };
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/flows/registration/after/oidc",
             "value": {"hooks": [hook(&told, "sign-up"), {"hook": "session"}]}},
            {"op": "add", "path": "/selfservice/flows/login/after",
             "value": {"oidc": {"hooks": [hook(&refusing, "sign-in")]}}},
        ]),
    )
    .await;

    // Sign-up: the hook is told, with the mapped traits.
    let ivy = Browser::new(&server, &project.slug);
    let authorize = ivy.choose("registration", "acme").await;
    let answer = ivy.answer(&authorize, "ivy-at-acme", "acme").await;
    assert!(ivy.callback(&answer).await.ends_with("/ui/welcome"));
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["email"], "ivy@example.com");
    assert_eq!(body["kind"], "sign-up");

    // Sign-in: a blocking hook that fails keeps the session from being
    // issued; the person sees the message on the sign-in page. (The answer
    // comes as a form post here, as Apple's `form_post` sends it: the
    // tenant turns it into the same GET, where the browser's `SameSite`
    // cookies come along.)
    let again = Browser::new(&server, &project.slug);
    let authorize = again.choose("login", "acme").await;
    let answer = again.answer(&authorize, "ivy-at-acme", "acme").await;
    let posted: Vec<(String, String)> = answer.query_pairs().into_owned().collect();
    let res = again
        .client
        .post(answer.as_str().split('?').next().unwrap())
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let get = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(url::Url::parse(&get).unwrap(), answer);
    let next = again.callback(&answer).await;
    assert!(next.contains("/ui/login?flow="), "{next}");
    assert!(
        again
            .messages(&next)
            .await
            .contains("could not be completed")
    );
    assert_eq!(again.whoami().await.0, 401);
    assert_eq!(refused.lock().unwrap().len(), 1);
    server.stop().await;
}
