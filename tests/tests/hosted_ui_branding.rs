//! Branding per project (`services.identity.config.ui`): set by a JSON
//! Patch of the project config, shown in the project view, and on the
//! hosted UI's pages in Chromium; a bad value is dropped with a warning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper of the browser is used here.
use crate::common;
#[allow(dead_code)]
use crate::common::chrome;

use base64::Engine as _;
use chrome::Chrome;
use common::{call, create_project, owner};
use serde_json::{Value, json};

/// A small square logo in the brand's colour, as a `data:` URL (nothing
/// is fetched from the network).
fn logo() -> String {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" rx="8" fill="#0a77aa"/><circle cx="20" cy="20" r="9" fill="#fff"/></svg>"##;
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

#[tokio::test]
async fn branding_is_set_by_patch_shown_in_the_project_and_on_the_login_page_in_chromium() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Acme Notes").await;
    let path = format!("/projects/{}", project.id);
    let (status, body) = call(
        &server,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(
            json!([{ "op": "add", "path": "/services/identity/config/ui", "value": {
            "product_name": "Acme Cloud",
            "logo_url": logo(),
            "favicon_url": logo(),
            "primary_color": "#0a77aa",
            "theme": "light",
            "default_locale": "de"
        } }]),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["warnings"], json!([]), "{body}");

    // The project view assembles the section back from the revision.
    let (status, view) = call(&server, &token, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let ui = &view["services"]["identity"]["config"]["ui"];
    assert_eq!(ui["product_name"], "Acme Cloud");
    assert_eq!(ui["primary_color"], "#0a77aa");
    assert_eq!(ui["theme"], "light");
    assert_eq!(ui["default_locale"], "de");
    assert_eq!(ui["logo_url"], logo().as_str());

    // The login page shows it: name, logo, colour, theme, favicon.
    let base = format!(
        "http://{}:{}",
        common::tenant_host(&project.slug),
        server.addr.port()
    );
    let chrome = Chrome::start("en-US,en").await;
    chrome.goto(&format!("{base}/ui/login")).await;
    assert!(chrome.path().await.starts_with("/ui/login?flow="));
    assert_eq!(chrome.text("header .product").await, "Acme Cloud");
    assert!(chrome.client.title().await.unwrap().ends_with("Acme Cloud"));
    let looks = chrome
        .client
        .execute(
            "const logo = document.querySelector('header img.logo');
             return {
               button: getComputedStyle(document.querySelector('#password-method')).backgroundColor,
               logo: logo && logo.complete && logo.naturalWidth,
               theme: document.documentElement.dataset.theme,
               icon: document.querySelector('link[rel=icon]').href.slice(0, 15),
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(looks["button"], "rgb(10, 119, 170)", "{looks}");
    assert_eq!(looks["logo"], 40, "{looks}");
    assert_eq!(looks["theme"], "light");
    assert_eq!(looks["icon"], "data:image/svg+");
    chrome.assert_accessible("branded login").await;
    chrome.screenshot("login-branded").await;

    // A browser asking for no language the UI has gets the default locale.
    let german = Chrome::start("fr-FR,fr").await;
    german.goto(&format!("{base}/ui/login")).await;
    assert_eq!(german.text("h1").await, "Anmelden");
    german.quit().await;
    chrome.quit().await;

    // A bad colour is dropped with a warning naming it; the change goes
    // through, and the page falls back to the default colour.
    let (status, body) = call(
        &server,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(json!([
            { "op": "replace", "path": "/services/identity/config/ui/primary_color", "value": "red" },
            { "op": "replace", "path": "/services/identity/config/ui/product_name", "value": "Acme 2" }
        ])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let warnings = body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{body}");
    assert_eq!(warnings[0]["code"], 3);
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("services.identity.config.ui.primary_color"),
        "{body}"
    );
    let ui = &body["project"]["services"]["identity"]["config"]["ui"];
    assert_eq!(ui["product_name"], "Acme 2");
    assert_eq!(ui.get("primary_color"), None, "{ui}");
    let (_, view) = call(&server, &token, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        view["services"]["identity"]["config"]["ui"].get("primary_color"),
        None::<&Value>
    );
}
