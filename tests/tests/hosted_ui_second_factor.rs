//! Second factors in the hosted UI, in Chromium: a person links an
//! authenticator app by the QR code page (the code typed is computed here
//! from the secret shown), signs out and in, is taken on to the
//! authenticator page by itself, and then saves backup codes. Every page is
//! checked with axe and photographed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
#[allow(dead_code)]
use crate::common::chrome;

use chrome::Chrome;
use common::{create_project, owner, patch_identity, tenant_host};
use serde_json::json;

const EMAIL: &str = "grace@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn page(chrome: &Chrome, path: &str, shot: &str) {
    let at = chrome.path().await;
    assert!(at.starts_with(path), "expected {path}, at {at}");
    chrome.assert_accessible(shot).await;
    chrome.screenshot(shot).await;
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_person_links_an_authenticator_and_is_asked_for_it_at_sign_in_in_chromium() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Acme Vault").await;
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/totp/enabled", "value": true},
            {"op": "replace", "path": "/selfservice/methods/lookup_secret/enabled", "value": true},
        ]),
    )
    .await;
    let base = format!(
        "http://{}:{}",
        tenant_host(&project.slug),
        server.addr.port()
    );
    let chrome = Chrome::start("en-US,en").await;

    chrome.goto(&format!("{base}/ui/registration")).await;
    chrome.fill("#password-traits-email", EMAIL).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/welcome", "2fa-welcome").await;

    // Settings show the QR code and the secret for apps that cannot scan.
    chrome.goto(&format!("{base}/ui/settings")).await;
    page(&chrome, "/ui/settings?flow=", "settings-totp").await;
    let src = chrome.attr("#totp-totp-qr", "src").await.unwrap();
    assert!(src.starts_with("data:image/png;base64,"), "{src}");
    let secret = chrome.text("#totp-totp-secret-key code").await;
    let app = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret.trim()).unwrap())
        .with_account_name("grace")
        .build()
        .unwrap();
    chrome.fill("#totp-totp-code", "123456").await;
    chrome.click("#totp-method").await;
    page(&chrome, "/ui/settings?flow=", "settings-totp-wrong").await;
    assert!(chrome.exists("#totp-totp-code-messages .msg.error").await);
    chrome
        .fill("#totp-totp-code", &app.generate(now()).to_string())
        .await;
    chrome.click("#totp-method").await;
    page(&chrome, "/ui/settings?flow=", "settings-totp-linked").await;
    assert!(chrome.text(".notices").await.contains("saved"));
    assert!(
        chrome.exists("#totp-totp-unlink").await,
        "the app can be unlinked"
    );

    // Signing in with the password goes on to the authenticator page.
    chrome.goto(&format!("{base}/ui/welcome")).await;
    chrome.click("#sign-out").await;
    page(&chrome, "/ui/login?flow=", "2fa-login").await;
    chrome.fill("#password-identifier", EMAIL).await;
    chrome.fill("#password-password", PASSWORD).await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/login?flow=", "login-second-factor").await;
    assert!(chrome.exists("#totp-totp-code").await);
    chrome
        .fill("#totp-totp-code", &app.generate(now() + 30).to_string())
        .await;
    chrome.click("#totp-method").await;
    page(&chrome, "/ui/welcome", "2fa-welcome-again").await;

    // Backup codes: shown once, saved when confirmed.
    chrome.goto(&format!("{base}/ui/settings")).await;
    chrome
        .click("#lookup-secret-lookup-secret-regenerate")
        .await;
    page(&chrome, "/ui/settings?flow=", "settings-backup-codes").await;
    let codes = chrome.text("#lookup-secret-lookup-secret-codes ul").await;
    assert_eq!(
        codes.split_whitespace().filter(|w| w.len() == 8).count(),
        12,
        "{codes}"
    );
    chrome.click("#lookup-secret-lookup-secret-confirm").await;
    page(&chrome, "/ui/settings?flow=", "settings-backup-codes-saved").await;
    assert!(chrome.text(".notices").await.contains("saved"));
    chrome.quit().await;
    server.stop().await;
}
