//! Security keys and passkeys in the hosted UI, in Chromium with a virtual
//! authenticator (WebDriver's WebAuthn extension): the pages' trigger
//! buttons run the engine's script (`/.well-known/ory/webauthn.js`), which
//! asks the authenticator and sends the form. A person adds a security key
//! in settings and is asked for it after the password at the next sign-in;
//! with `passwordless` on, a person signs up with an address and a passkey
//! and signs in with it in two steps. Every page is checked with axe and
//! photographed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
#[allow(dead_code)]
use crate::common::chrome;

use chrome::Chrome;
use common::{create_project, owner, patch_identity, tenant_host};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

async fn page(chrome: &Chrome, path: &str, shot: &str) {
    let at = chrome.path().await;
    assert!(at.starts_with(path), "expected {path}, at {at}");
    chrome.assert_accessible(shot).await;
    chrome.screenshot(shot).await;
}

/// A project with WebAuthn on (`passwordless` or as a second factor) and
/// the hosted UI's base URL.
async fn project(
    server: &keyplane_server::RunningServer,
    token: &str,
    cp: &ory_client::apis::configuration::Configuration,
    name: &str,
    passwordless: bool,
) -> String {
    let project = create_project(cp, name).await;
    patch_identity(
        server,
        token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/webauthn/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/webauthn/config", "value": {"passwordless": passwordless}},
            {"op": "add", "path": "/selfservice/flows/registration/after/webauthn", "value": {"hooks": [{"hook": "session"}]}},
        ]),
    )
    .await;
    format!(
        "http://{}:{}",
        tenant_host(&project.slug),
        server.addr.port()
    )
}

#[tokio::test]
async fn a_person_adds_a_security_key_and_is_asked_for_it_at_sign_in_in_chromium() {
    let (server, token, cp) = owner().await;
    let base = project(&server, &token, &cp, "Acme Keys", false).await;
    let chrome = Chrome::start("en-US,en").await;
    let authenticator = chrome.add_security_key().await;
    let email = "ada@example.com";

    chrome.goto(&format!("{base}/ui/registration")).await;
    chrome.fill("#password-traits-email", email).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/welcome", "webauthn-welcome").await;

    // Settings: a name for the key, then the button that asks for it.
    chrome.goto(&format!("{base}/ui/settings")).await;
    page(&chrome, "/ui/settings?flow=", "settings-webauthn").await;
    assert!(
        chrome
            .exists(r#"script[src$="/.well-known/ory/webauthn.js"]"#)
            .await
    );
    assert!(!chrome.exists("#webauthn-webauthn-remove").await);
    let trigger = "#webauthn-webauthn-register-trigger";
    assert_eq!(
        chrome.attr(trigger, "type").await.as_deref(),
        Some("button")
    );
    assert!(!chrome.text(trigger).await.trim().is_empty());
    chrome
        .fill("#webauthn-webauthn-register-displayname", "Blue key")
        .await;
    chrome.click_script(trigger).await;
    page(&chrome, "/ui/settings?flow=", "settings-webauthn-added").await;
    assert!(
        chrome.text(".notices").await.contains("saved"),
        "{}",
        chrome.text("main").await
    );
    let remove = chrome.text("#webauthn-webauthn-remove").await;
    assert!(remove.contains("Blue key"), "{remove}");
    let keys = chrome.authenticator_credentials(&authenticator).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let host = base.split("://").nth(1).unwrap().split(':').next().unwrap();
    assert_eq!(
        keys[0]["rpId"], host,
        "the relying party is the tenant host"
    );

    // Signing in with the password goes on to the key.
    chrome.goto(&format!("{base}/ui/welcome")).await;
    chrome.click("#sign-out").await;
    page(&chrome, "/ui/login?flow=", "webauthn-login").await;
    chrome.fill("#password-identifier", email).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/login?flow=", "login-security-key").await;
    assert!(!chrome.exists("#password-password").await);
    chrome
        .click_script("#webauthn-webauthn-login-trigger")
        .await;
    page(&chrome, "/ui/welcome", "webauthn-welcome-again").await;
    assert!(chrome.text("main").await.contains(email));
    let keys = chrome.authenticator_credentials(&authenticator).await;
    assert!(
        keys[0]["signCount"].as_u64().unwrap() >= 2,
        "used twice: {keys:?}"
    );

    // The key is removed again in settings.
    chrome.goto(&format!("{base}/ui/settings")).await;
    chrome.click("#webauthn-webauthn-remove").await;
    page(&chrome, "/ui/settings?flow=", "settings-webauthn-removed").await;
    assert!(!chrome.exists("#webauthn-webauthn-remove").await);
    chrome.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn a_person_signs_up_and_in_with_a_passkey_only_in_chromium() {
    let (server, token, cp) = owner().await;
    let base = project(&server, &token, &cp, "Acme Passkeys", true).await;
    let chrome = Chrome::start("en-US,en").await;
    let authenticator = chrome.add_platform_authenticator().await;
    let email = "grace@example.com";

    chrome.goto(&format!("{base}/ui/registration")).await;
    page(&chrome, "/ui/registration?flow=", "passkey-registration").await;
    chrome.fill("#webauthn-traits-email", email).await;
    chrome
        .fill("#webauthn-webauthn-register-displayname", "Laptop")
        .await;
    chrome
        .click_script("#webauthn-webauthn-register-trigger")
        .await;
    page(&chrome, "/ui/welcome", "passkey-welcome").await;
    assert!(chrome.text("main").await.contains(email));
    let keys = chrome.authenticator_credentials(&authenticator).await;
    assert_eq!(keys.len(), 1, "{keys:?}");

    // Signing in: the address first, then the passkey.
    chrome.click("#sign-out").await;
    page(&chrome, "/ui/login?flow=", "passkey-login").await;
    chrome.fill("#webauthn-identifier", email).await;
    chrome.click("#webauthn-method").await;
    page(&chrome, "/ui/login?flow=", "passkey-login-key").await;
    chrome
        .click_script("#webauthn-webauthn-login-trigger")
        .await;
    page(&chrome, "/ui/welcome", "passkey-welcome-again").await;
    assert!(chrome.text("main").await.contains(email));
    chrome.quit().await;
    server.stop().await;
}
