//! Social sign-in in the hosted UI, in Chromium, against a real OpenID
//! provider (panva's `oidc-provider`): the sign-up page shows the
//! provider's button, the browser goes to the provider and comes back
//! signed up; signed out, the sign-in page's button signs it in again. A
//! password account links the provider on the settings page and unlinks
//! it; claims without the e-mail end on the form that completes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
#[allow(dead_code)]
use crate::common::chrome;

use base64::Engine as _;
use chrome::Chrome;
use common::{create_project, owner, patch_identity, sdk_register, tenant, tenant_host};
use keyplane_tests::oidc_provider::{Account, Client, OidcProvider};
use serde_json::json;

const MAPPER: &str =
    "local claims = std.extVar('claims');\n{ identity: { traits: { email: claims.email } } }";

async fn page(chrome: &Chrome, path: &str, shot: &str) {
    let at = chrome.path().await;
    assert!(at.starts_with(path), "expected {path}, at {at}");
    chrome.assert_accessible(shot).await;
    chrome.screenshot(shot).await;
}

/// A project `name` whose `acme` provider ("Acme ID", the e-mail mapper)
/// is a running OpenID provider with `accounts`; the tenant's base URL.
async fn acme_project(
    server: &keyplane_server::RunningServer,
    token: &str,
    cp: &ory_client::apis::configuration::Configuration,
    name: &str,
    accounts: &[Account],
) -> (ory_client::models::Project, String, OidcProvider) {
    let project = create_project(cp, name).await;
    let base = format!(
        "http://{}:{}",
        tenant_host(&project.slug),
        server.addr.port()
    );
    let redirect = format!("{base}/self-service/methods/oidc/callback/acme");
    let provider = OidcProvider::start(
        &[Client::new(
            "acme-client",
            "a-client-secret-of-length",
            &redirect,
        )],
        accounts,
    )
    .await;
    patch_identity(
        server,
        token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/oidc/config", "value": {"providers": [{
                "id": "acme", "provider": "generic", "label": "Acme ID",
                "client_id": "acme-client", "client_secret": "a-client-secret-of-length",
                "issuer_url": provider.issuer, "mapper_url": mapper(MAPPER)
            }]}},
        ]),
    )
    .await;
    (project, base, provider)
}

fn mapper(source: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(source)
    )
}

#[tokio::test]
async fn a_person_signs_up_and_in_with_a_provider_in_chromium() {
    let (server, token, cp) = owner().await;
    let (_project, base, _provider) = acme_project(
        &server,
        &token,
        &cp,
        "Acme Social",
        &[Account::new("dana", "dana@example.com")],
    )
    .await;
    let chrome = Chrome::start("en-US,en").await;

    chrome.goto(&format!("{base}/ui/registration")).await;
    page(&chrome, "/ui/registration?flow=", "registration-social").await;
    let button = chrome.text("#oidc-provider").await;
    assert!(button.contains("Acme ID"), "{button}");
    chrome.click("#oidc-provider").await;
    // The provider signs the account in without a page of its own (the
    // test peer's non-interactive login) and sends the browser back.
    page(&chrome, "/ui/welcome", "social-welcome").await;
    assert!(chrome.text("main").await.contains("dana@example.com"));

    chrome.click("#sign-out").await;
    page(&chrome, "/ui/login?flow=", "login-social").await;
    assert!(chrome.text("#oidc-provider").await.contains("Acme ID"));
    chrome.click("#oidc-provider").await;
    page(&chrome, "/ui/welcome", "social-welcome-again").await;
    chrome.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn a_person_links_a_provider_in_the_settings_and_completes_missing_traits() {
    let (server, token, cp) = owner().await;
    let (project, base, _provider) = acme_project(
        &server,
        &token,
        &cp,
        "Acme Linking",
        &[
            Account::new("gina", "gina@example.com"),
            Account::new("hal", "hal@example.com"),
        ],
    )
    .await;
    sdk_register(
        &tenant(&server, &project.slug),
        "gina@example.com",
        "gina's long passphrase",
    )
    .await;
    let chrome = Chrome::start("en-US,en").await;

    chrome.goto(&format!("{base}/ui/login")).await;
    page(&chrome, "/ui/login?flow=", "login-social").await;
    chrome
        .fill("#password-identifier", "gina@example.com")
        .await;
    chrome
        .fill("#password-password", "gina's long passphrase")
        .await;
    chrome.click("#password-method").await;
    page(&chrome, "/ui/welcome", "social-password-welcome").await;

    chrome.goto(&format!("{base}/ui/settings")).await;
    page(&chrome, "/ui/settings?flow=", "settings-social-link").await;
    assert!(chrome.text("#oidc-link").await.contains("Link Acme ID"));
    chrome.click("#oidc-link").await;
    page(&chrome, "/ui/settings?flow=", "settings-social-linked").await;
    assert!(chrome.text("main").await.contains("saved"));
    assert!(chrome.text("#oidc-unlink").await.contains("Unlink Acme ID"));
    chrome.click("#oidc-unlink").await;
    page(&chrome, "/ui/settings?flow=", "settings-social-unlinked").await;
    assert!(chrome.exists("#oidc-link").await);

    // A mapper that gives no e-mail: the registration form asks for it.
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([{"op": "replace", "path": "/selfservice/methods/oidc/config/providers/0/mapper_url",
                "value": mapper("{ identity: { traits: {} } }")}]),
    )
    .await;
    chrome.quit().await;
    let chrome = Chrome::start("en-US,en").await;
    chrome.goto(&format!("{base}/ui/registration")).await;
    page(&chrome, "/ui/registration?flow=", "registration-social").await;
    chrome.click("#oidc-provider").await;
    page(
        &chrome,
        "/ui/registration?flow=",
        "registration-social-complete",
    )
    .await;
    assert!(chrome.exists("#oidc-traits-email").await);
    chrome.fill("#oidc-traits-email", "hal@example.com").await;
    chrome.click("#oidc-provider").await;
    page(&chrome, "/ui/welcome", "social-completed-welcome").await;
    assert!(chrome.text("main").await.contains("hal@example.com"));
    chrome.quit().await;
    server.stop().await;
}
