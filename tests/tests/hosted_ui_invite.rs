//! The console's invite page (`/ui/invites/{id}?token=` on the console
//! project's host, where `console.ui_url` points by default) in a real
//! browser: an owner invites bob, bob opens the mailed link as given, signs
//! up on the way, comes back, accepts, and is a DEVELOPER. Then every
//! refusal answers with its status: not signed in, another host, a forged
//! form, a bad token, another account, a used and an expired invite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper of the browser is used here.
use crate::common;
#[allow(dead_code)]
use crate::common::chrome;

use chrome::Chrome;
use common::{call, create_project, newest_mail, sign_up, tenant_client};
use keyplane_server::RunningServer;
use serde_json::{Value, json};

const BOB: &str = "bob@example.com";
const PASSWORD: &str = "bob's long passphrase";

/// Invites `email` to `project` as the owner; the mailed link.
async fn invite(server: &RunningServer, owner: &str, project: &str, email: &str) -> String {
    let (status, invite) = call(
        server,
        owner,
        reqwest::Method::POST,
        &format!("/projects/{project}/invites"),
        Some(json!({ "invitee_email": email })),
    )
    .await;
    assert_eq!(status, 201, "{invite}");
    let (_, body) = newest_mail(server, email).await.unwrap();
    body.split_whitespace()
        .find(|w| w.contains("/ui/invites/"))
        .expect("the mail links to the invite page")
        .to_owned()
}

/// The invite page at `url` (on whichever host it names) with a console
/// session: `(status, body)`; no redirects are followed.
async fn open(server: &RunningServer, url: &str, session: Option<&str>) -> (u16, String) {
    let parsed = url::Url::parse(url).unwrap();
    let client = reqwest::Client::builder()
        .resolve(parsed.host_str().unwrap(), server.addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.get(url);
    if let Some(session) = session {
        req = req.header("X-Session-Token", session);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location.unwrap_or(res.text().await.unwrap()))
}

/// A console session of `email`, signed in through the API flow.
async fn console_session(server: &RunningServer, email: &str, password: &str) -> String {
    let (client, base) = tenant_client(server, "console");
    let flow: Value = client
        .get(format!("{base}/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answer: Value = client
        .post(format!(
            "{base}/self-service/login?flow={}",
            flow["id"].as_str().unwrap()
        ))
        .json(&json!({"method": "password", "identifier": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["session_token"].as_str().unwrap().to_owned()
}

async fn role_of(server: &RunningServer, owner: &str, project: &str, email: &str) -> Value {
    let (status, members) = call(
        server,
        owner,
        reqwest::Method::GET,
        &format!("/projects/{project}/members"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{members}");
    members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .map_or(Value::Null, |m| m["role"].clone())
}

#[tokio::test]
async fn an_invitee_signs_up_from_the_mailed_link_and_accepts_in_chromium() {
    let clock = kernel::clock::ManualClock::starting_now();
    let server = keyplane_tests::spawn_with_clock(
        keyplane_tests::test_settings().await,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let owner = common::token_for(&server, "owner@example.com").await;
    let project = create_project(&common::control_plane(&server, &owner), "Acme Notes").await;
    let project_id = project.id.to_string();
    let link = invite(&server, &owner, &project_id, BOB).await;
    let console = format!("http://console.projects.localhost:{}", server.addr.port());
    assert!(
        link.starts_with(&format!("{console}/ui/invites/")) && link.contains("?token="),
        "{link}"
    );

    // Bob opens the link as mailed: not signed in, he is sent to sign in,
    // takes "sign up", and comes back to the invite.
    let chrome = Chrome::start("en-US,en").await;
    chrome.goto(&link).await;
    let at = chrome.path().await;
    assert!(at.starts_with("/ui/login?flow="), "{at}");
    chrome.click("a[href^='/ui/registration']").await;
    assert!(chrome.path().await.starts_with("/ui/registration?flow="));
    chrome.fill("#password-traits-email", BOB).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    assert_eq!(chrome.client.current_url().await.unwrap().as_str(), link);
    chrome.assert_accessible("invite").await;
    chrome.screenshot("invite").await;
    let main = chrome.text("main").await;
    for shown in [
        "Acme Notes",
        "owner@example.com",
        BOB,
        "waiting for your answer",
    ] {
        assert!(main.contains(shown), "{shown} not in {main}");
    }
    assert_eq!(
        role_of(&server, &owner, &project_id, BOB).await,
        Value::Null
    );

    // Accepting makes him a developer.
    chrome.click("#invite-accept").await;
    chrome.assert_accessible("invite accepted").await;
    chrome.screenshot("invite-accepted").await;
    assert!(chrome.text(".notices").await.contains("developer"));
    assert_eq!(chrome.text("#invite-status").await, "accepted");
    assert_eq!(
        role_of(&server, &owner, &project_id, BOB).await,
        "DEVELOPER"
    );

    // The link works once: opened again, it says so.
    chrome.goto(&link).await;
    assert!(chrome.text("[role=alert]").await.contains("already"));
    chrome.assert_accessible("invite used").await;
    chrome.screenshot("invite-used").await;
    chrome.quit().await;

    let bob = console_session(&server, BOB, PASSWORD).await;
    let (status, _) = open(&server, &link, Some(&bob)).await;
    assert_eq!(status, 409);

    // Not signed in: to sign in, coming back to this very page.
    let carol_link = invite(&server, &owner, &project_id, "carol@example.com").await;
    let (status, location) = open(&server, &carol_link, None).await;
    assert_eq!(status, 303);
    let back: String = url::form_urlencoded::byte_serialize(carol_link.as_bytes()).collect();
    assert_eq!(location, format!("/ui/login?return_to={back}"));

    // Another account, a bad token: refused with 403.
    let (status, body) = open(&server, &carol_link, Some(&bob)).await;
    assert_eq!(status, 403);
    assert!(body.contains("another e-mail address") && body.contains("id=\"sign-out\""));
    let (_, carol) = sign_up(&server, "carol@example.com").await;
    let forged = format!("{}x", carol_link);
    assert_eq!(open(&server, &forged, Some(&carol)).await.0, 403);

    // Only on the console's host; elsewhere there is no such page.
    let elsewhere = carol_link.replace("console.", &format!("{}.", project.slug));
    assert_eq!(open(&server, &elsewhere, Some(&carol)).await.0, 404);

    // A form without the anti-CSRF cookie is refused, and nothing changes.
    let (id, token) = common::invite_link(&carol_link);
    let (client, base) = tenant_client(&server, "console");
    let res = client
        .post(format!("{base}/ui/invites/{id}"))
        .header("X-Session-Token", &carol)
        .form(&[
            ("csrf_token", "forged"),
            ("token", &token),
            ("action", "accept"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(
        role_of(&server, &owner, &project_id, "carol@example.com").await,
        Value::Null
    );

    // Past its six hours the invite is gone.
    assert_eq!(open(&server, &carol_link, Some(&carol)).await.0, 200);
    clock.advance(chrono::Duration::hours(7));
    let (status, body) = open(&server, &carol_link, Some(&carol)).await;
    assert_eq!(status, 410);
    assert!(body.contains("expired"));
}
