//! The hosted UI (`/ui/…`) in a real browser: Debian's Chromium over
//! WebDriver, on a fresh project with default settings. A person signs up,
//! signs out and in, changes settings, recovers the account and verifies
//! the address by the mailed links, and revokes another session; axe-core
//! runs on every page, and every page is photographed
//! (`UI_SCREENSHOTS_DIR=docs/ui` refreshes the documentation's pictures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::common::chrome;

use chrome::Chrome;
use common::{create_project, owner, tenant_client, tenant_host};
use keyplane_server::RunningServer;
use serde_json::{Value, json};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "another long passphrase 42";

fn base(server: &RunningServer, slug: &str) -> String {
    format!("http://{}:{}", tenant_host(slug), server.addr.port())
}

/// The newest link containing `path` in any mail to `to`, as delivered
/// (the outbox keeps the tokens redacted).
async fn latest_link(server: &RunningServer, to: &str, path: &str) -> Option<String> {
    for id in common::mail_ids(server, to).await {
        let mail = common::delivered(server, id).await?;
        if let Some(link) = mail.text.split_whitespace().find(|w| w.contains(path)) {
            return Some(link.to_owned());
        }
    }
    None
}

/// Waits for a mailed link containing `path` other than `not` (the page
/// answers as soon as the mail is queued).
async fn fresh_link(server: &RunningServer, to: &str, path: &str, not: Option<&str>) -> String {
    for _ in 0..50 {
        if let Some(link) = latest_link(server, to, path).await
            && Some(link.as_str()) != not
        {
            return link;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail to {to} with {path}");
}

/// A second session of the same person, signed in by an API client.
async fn api_session(server: &RunningServer, slug: &str, password: &str) -> String {
    let (client, base) = tenant_client(server, slug);
    let flow: Value = client
        .get(format!("{base}/self-service/login/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = flow["id"].as_str().unwrap();
    let answer: Value = client
        .post(format!("{base}/self-service/login?flow={id}"))
        .json(&json!({"method": "password", "identifier": EMAIL, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

async fn whoami_status(server: &RunningServer, slug: &str, token: &str) -> u16 {
    let (client, base) = tenant_client(server, slug);
    client
        .get(format!("{base}/sessions/whoami"))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Checks the page is `path`, accessible, and photographs it.
async fn page(chrome: &Chrome, path: &str, shot: &str) {
    let at = chrome.path().await;
    assert!(at.starts_with(path), "expected {path}, at {at}");
    chrome.assert_accessible(shot).await;
    chrome.screenshot(shot).await;
}

#[tokio::test]
async fn a_person_signs_up_in_and_out_recovers_verifies_and_revokes_in_chromium() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Acme Notes").await;
    let base = base(&server, &project.slug);
    let chrome = Chrome::start("en-US,en").await;

    // Registration: the page starts its own flow, and a too-short
    // password is refused at the password field.
    chrome.goto(&format!("{base}/ui/registration")).await;
    page(&chrome, "/ui/registration?flow=", "registration").await;
    chrome.fill("#password-traits-email", EMAIL).await;
    chrome.fill("#password-password", "short").await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/registration?flow=", "registration-error").await;
    assert_eq!(
        chrome
            .attr("#password-password", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert!(
        chrome
            .exists("#password-password-messages .msg.error")
            .await
    );
    assert!(
        chrome
            .exists("#error-summary a[href='#password-password']")
            .await
    );
    // The address typed before is kept.
    assert_eq!(
        chrome
            .attr("#password-traits-email", "value")
            .await
            .as_deref(),
        Some(EMAIL)
    );
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;

    // Welcome: who am I, with a sign-out button.
    page(&chrome, "/ui/welcome", "welcome").await;
    assert!(chrome.text("main").await.contains(EMAIL));
    chrome.click("#sign-out").await;

    // Sign-out lands on the login page; a wrong password is a form error.
    page(&chrome, "/ui/login?flow=", "login").await;
    chrome.fill("#password-identifier", EMAIL).await;
    chrome.fill("#password-password", "not the password").await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/login?flow=", "login-error").await;
    assert!(chrome.text("#error-summary").await.contains("wrong"));
    chrome.fill("#password-identifier", EMAIL).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/welcome", "welcome-again").await;

    // Settings: the profile and the password, each its own form.
    chrome.goto(&format!("{base}/ui/settings")).await;
    page(&chrome, "/ui/settings?flow=", "settings").await;
    chrome.click("#profile-method").await;
    assert!(chrome.text(".notices").await.contains("saved"));
    chrome.fill("#password-password", NEW_PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/settings?flow=", "settings-saved").await;
    assert!(chrome.text(".notices").await.contains("saved"));

    // Recovery by the mailed link, from the login page's link, signed out.
    chrome.goto(&format!("{base}/ui/welcome")).await;
    chrome.click("#sign-out").await;
    chrome.click("a[href^='/ui/recovery']").await;
    page(&chrome, "/ui/recovery?flow=", "recovery").await;
    chrome.fill("#link-email", EMAIL).await;
    chrome.click("#link-method").await;
    page(&chrome, "/ui/recovery?flow=", "recovery-sent").await;
    assert!(chrome.text(".notices").await.contains("recovery link"));
    let link = fresh_link(&server, EMAIL, "/self-service/recovery?", None).await;
    chrome.goto(&link).await;
    page(&chrome, "/ui/settings?flow=", "recovery-settings").await;
    assert!(chrome.text(".notices").await.contains("set a new password"));
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    assert!(chrome.text(".notices").await.contains("saved"));

    // Verification by the mailed link (registration sent one already; a
    // new one is asked for on the page).
    let first = latest_link(&server, EMAIL, "/self-service/verification?").await;
    chrome.goto(&format!("{base}/ui/verification")).await;
    page(&chrome, "/ui/verification?flow=", "verification").await;
    chrome.fill("#link-email", EMAIL).await;
    chrome.click("#link-method").await;
    assert!(chrome.text(".notices").await.contains("verification link"));
    let link = fresh_link(
        &server,
        EMAIL,
        "/self-service/verification?",
        first.as_deref(),
    )
    .await;
    chrome.goto(&link).await;
    page(&chrome, "/ui/verification?flow=", "verification-done").await;
    assert!(chrome.text(".notices").await.contains("verified"));

    // Sessions: another device's session is listed and revoked here.
    let other = api_session(&server, &project.slug, PASSWORD).await;
    assert_eq!(whoami_status(&server, &project.slug, &other).await, 200);
    chrome.goto(&format!("{base}/ui/sessions")).await;
    page(&chrome, "/ui/sessions", "sessions").await;
    chrome.click("button[id^='revoke-']:not(#revoke-all)").await;
    page(&chrome, "/ui/sessions?revoked=one", "sessions-revoked").await;
    assert_eq!(whoami_status(&server, &project.slug, &other).await, 401);
    chrome.goto(&format!("{base}/ui/welcome")).await;
    assert!(chrome.text("main").await.contains("verified"));

    // A refused return_to is shown on the error page.
    chrome
        .goto(&format!(
            "{base}/self-service/login/browser?refresh=true&return_to=https://evil.example.com/"
        ))
        .await;
    page(&chrome, "/ui/error?id=", "error").await;
    assert!(chrome.text("main").await.contains("not allowed"));

    // At 360 px nothing scrolls sideways.
    chrome.client.set_window_size(360, 800).await.unwrap();
    chrome.goto(&format!("{base}/ui/welcome")).await;
    page(&chrome, "/ui/welcome", "welcome-narrow").await;
    chrome.assert_fits(360).await;
    chrome.quit().await;
}

/// A schema with nested, numeric, boolean and enum traits.
fn person_schema() -> String {
    use base64::Engine as _;
    let schema = json!({
        "$id": "https://example.com/person.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": { "traits": {
            "type": "object",
            "properties": {
                "email": { "type": "string", "format": "email", "title": "E-Mail",
                    "ory.sh/kratos": { "credentials": { "password": { "identifier": true } },
                        "verification": { "via": "email" }, "recovery": { "via": "email" } } },
                "name": { "type": "object", "properties": {
                    "first": { "type": "string", "title": "Vorname" },
                    "last": { "type": "string", "title": "Nachname" } } },
                "age": { "type": "integer", "title": "Alter" },
                "newsletter": { "type": "boolean", "title": "Newsletter" },
                "plan": { "type": "string", "enum": ["basis", "profi"], "title": "Tarif" }
            },
            "required": ["email"],
            "additionalProperties": false
        } }
    });
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(schema.to_string())
    )
}

#[tokio::test]
async fn german_pages_custom_traits_and_escaped_values_in_chromium() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Acme Notizen").await;
    let (status, body) = common::call(
        &server,
        &token,
        reqwest::Method::PATCH,
        &format!("/projects/{}", project.id),
        Some(
            json!([{ "op": "replace", "path": "/services/identity/config/identity",
            "value": { "default_schema_id": "person",
                "schemas": [{ "id": "person", "url": person_schema() }] } }]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let base = base(&server, &project.slug);
    let chrome = Chrome::start("de-DE,de").await;

    // Every trait renders as the input its type asks for, in German.
    chrome.goto(&format!("{base}/ui/registration")).await;
    page(&chrome, "/ui/registration?flow=", "registration-de").await;
    assert_eq!(chrome.text("h1").await, "Konto erstellen");
    for (id, kind) in [
        ("#password-traits-email", "email"),
        ("#password-traits-name-first", "text"),
        ("#password-traits-age", "number"),
        ("#password-traits-newsletter", "checkbox"),
        ("#password-password", "password"),
    ] {
        assert_eq!(chrome.attr(id, "type").await.as_deref(), Some(kind), "{id}");
    }
    // An enum is a choice of its values (left unchosen: optional).
    assert!(
        chrome
            .exists("select#password-traits-plan option[value=profi]")
            .await
    );
    // A trait value is shown as text, never run as markup.
    let name = "<script>document.title='pwned'</script>";
    chrome.fill("#password-traits-email", EMAIL).await;
    chrome.fill("#password-traits-name-first", name).await;
    chrome.fill("#password-traits-age", "36").await;
    chrome.toggle("#password-traits-newsletter").await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/welcome", "welcome-de").await;
    assert_eq!(chrome.text("h1").await, "Willkommen");
    assert!(chrome.text("main").await.contains(name));
    assert!(!chrome.client.title().await.unwrap().contains("pwned"));

    // Messages from the identity engine come from the German catalogue.
    chrome.click("#sign-out").await;
    page(&chrome, "/ui/login?flow=", "login-de").await;
    chrome.fill("#password-identifier", EMAIL).await;
    chrome
        .fill("#password-password", "falsch falsch falsch")
        .await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/login?flow=", "login-error-de").await;
    assert!(
        chrome
            .text("#error-summary")
            .await
            .contains("Anmeldedaten sind falsch"),
        "{}",
        chrome.text("#error-summary").await
    );
    chrome.quit().await;
}

#[tokio::test]
async fn an_expired_flow_starts_again_in_chromium() {
    let clock = kernel::clock::ManualClock::starting_now();
    let server = keyplane_tests::spawn_with_clock(
        keyplane_tests::test_settings().await,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let token = common::token_for(&server, "owner@example.com").await;
    let project = create_project(&common::control_plane(&server, &token), "Expiry").await;
    let base = base(&server, &project.slug);
    let chrome = Chrome::start("en").await;
    chrome.goto(&format!("{base}/ui/login")).await;
    let first = chrome.path().await;
    assert!(first.starts_with("/ui/login?flow="), "{first}");

    // The form outlives its flow (default lifespan 1h): sending it starts
    // a new flow instead of failing.
    clock.advance(chrono::Duration::hours(2));
    chrome.fill("#password-identifier", EMAIL).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    let second = chrome.path().await;
    assert!(
        second.starts_with("/ui/login?flow=") && second != first,
        "{second}"
    );

    // So does opening a page of an expired flow.
    clock.advance(chrono::Duration::hours(2));
    chrome.goto(&format!("{base}{second}")).await;
    let third = chrome.path().await;
    assert!(
        third.starts_with("/ui/login?flow=") && third != second,
        "{third}"
    );
    chrome.assert_accessible("login (restarted)").await;
    chrome.quit().await;
}
