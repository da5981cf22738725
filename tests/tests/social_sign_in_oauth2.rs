//! Social sign-in with the named OAuth2-only providers (no ID token: the
//! claims come from the provider's user API), against a local stub that
//! speaks the shapes of GitHub (`/login/oauth/*`, `/user`, `/user/emails`)
//! and Discord (`/api/oauth2/*`, `/api/users/@me`). Each provider is
//! configured by its kind with `auth_url`, `token_url` and `issuer_url`
//! (the base of its user API) pointing at the stub. A browser registers
//! through GitHub (the e-mail from `/user/emails`, the primary one), signs
//! in again from another browser as the same identity, and registers
//! through Discord; a provider missing what its kind needs is refused when
//! chosen, with `oidc_provider_failed`. A named OpenID Connect kind
//! (`google`) follows its overridden issuer to the real OpenID provider of
//! `social_sign_in.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine as _;
use common::social::{Browser, node_values, project_and_provider};
use common::*;
use keyplane_tests::oauth2_stub::{CLIENT_ID, SECRET, Stub, start_stub};
use keyplane_tests::oidc_provider::Account;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The mapper checks the claims' shape (a failed `assert` fails the
/// sign-in) and takes the e-mail.
const MAPPER: &str = "local claims = std.extVar('claims');
assert std.length(claims.sub) > 0 : 'no sub';
assert claims.email_verified : 'unverified e-mail';
{ identity: { traits: { email: claims.email } } }";

/// Signs in (or up) as `person` at `provider`: where the tenant sends the
/// browser after the provider's answer.
async fn sign_in(browser: &Browser, kind: &str, provider: &str, person: &str) -> String {
    let authorize = browser.choose(kind, provider).await;
    let answer = browser.answer(&authorize, person, provider).await;
    browser.callback(&answer).await
}

/// Submits `provider`'s button on a new login flow, asking for JSON.
async fn submit_as_api(browser: &Browser, provider: &str) -> (StatusCode, String) {
    let flow = browser.flow("login").await;
    let csrf = node_values(&flow, "csrf_token").remove(0);
    let res = browser
        .client
        .post(format!(
            "{}/self-service/login?flow={}",
            browser.base,
            flow["id"].as_str().unwrap()
        ))
        .header("Accept", "application/json")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("method", "oidc"),
            ("provider", provider),
        ])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The `github` and `discord` providers of a project, pointed at the stub.
fn providers(stub: &Stub) -> Value {
    let mapper = format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(MAPPER)
    );
    let base = &stub.base;
    json!([
        {"id": "gh", "provider": "github", "client_id": CLIENT_ID, "client_secret": SECRET,
         "issuer_url": base, "auth_url": format!("{base}/login/oauth/authorize"),
         "token_url": format!("{base}/login/oauth/access_token"), "mapper_url": mapper,
         "scope": ["read:user", "user:email"]},
        {"id": "dc", "provider": "discord", "client_id": CLIENT_ID, "client_secret": SECRET,
         "issuer_url": format!("{base}/api"), "auth_url": format!("{base}/api/oauth2/authorize"),
         "token_url": format!("{base}/api/oauth2/token"), "mapper_url": mapper},
        {"id": "ms", "provider": "microsoft", "client_id": CLIENT_ID, "client_secret": SECRET},
    ])
}

#[tokio::test]
async fn github_and_discord_register_and_sign_in_again() {
    let (server, token, cp) = owner().await;
    let stub = start_stub().await;
    let project = create_project(&cp, "Social OAuth2").await;
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/oidc/config", "value": {"providers": providers(&stub)}},
        ]),
    )
    .await;

    // A new GitHub user registers and is signed in, with the primary
    // address of `/user/emails`.
    let browser = Browser::new(&server, &project.slug);
    let next = sign_in(&browser, "registration", "gh", "octocat").await;
    assert!(
        next.ends_with("/ui/welcome"),
        "{next}: {}",
        browser.messages(&next).await
    );
    let (status, session) = browser.whoami().await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["identity"]["traits"]["email"], "octo@example.com");
    let octo = session["identity"]["id"].as_str().unwrap().to_owned();
    {
        let s = stub.state.lock().unwrap();
        let first = &s.token_requests[0];
        assert!(
            first.contains_key("code_verifier"),
            "GitHub gets PKCE: {first:?}"
        );
    }

    // Signed out, the same GitHub id signs in again as the same identity,
    // in this browser and in another one.
    browser.sign_out().await;
    let next = sign_in(&browser, "login", "gh", "octocat").await;
    assert!(next.ends_with("/ui/welcome"), "{next}");
    assert_eq!(browser.whoami().await.1["identity"]["id"], octo.as_str());
    let other = Browser::new(&server, &project.slug);
    assert_eq!(other.whoami().await.0, 401);
    let next = sign_in(&other, "login", "gh", "octocat").await;
    assert!(
        next.ends_with("/ui/welcome"),
        "{next}: {}",
        other.messages(&next).await
    );
    let (_, again) = other.whoami().await;
    assert_eq!(again["identity"]["id"], octo.as_str());

    // A Discord user registers (no PKCE for Discord), a new identity.
    let third = Browser::new(&server, &project.slug);
    let next = sign_in(&third, "registration", "dc", "nelly").await;
    assert!(
        next.ends_with("/ui/welcome"),
        "{next}: {}",
        third.messages(&next).await
    );
    let (_, nelly) = third.whoami().await;
    assert_eq!(nelly["identity"]["traits"]["email"], "nelly@example.com");
    assert_ne!(nelly["identity"]["id"], octo.as_str());
    {
        let s = stub.state.lock().unwrap();
        let last = s.token_requests.last().unwrap();
        assert!(!last.contains_key("code_verifier"), "{last:?}");
    }

    // A microsoft provider without a tenant is refused when chosen, by
    // name, never with a server error.
    let fourth = Browser::new(&server, &project.slug);
    let (status, body) = submit_as_api(&fourth, "ms").await;
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(
        body.contains("oidc_provider_failed") && body.contains("microsoft_tenant"),
        "{body}"
    );
    server.stop().await;
}

/// A provider's answer that fails the code exchange ends on the flow's page
/// with a message, signed out.
#[tokio::test]
async fn a_wrong_client_secret_is_a_message_on_the_flow() {
    let (server, token, cp) = owner().await;
    let stub = start_stub().await;
    let project = create_project(&cp, "Wrong Secret").await;
    let mut list = providers(&stub);
    list[0]["client_secret"] = json!("not-the-secret");
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/oidc/config", "value": {"providers": list}},
        ]),
    )
    .await;
    let browser = Browser::new(&server, &project.slug);
    let next = sign_in(&browser, "registration", "gh", "octocat").await;
    assert!(next.contains("/ui/registration?flow="), "{next}");
    let messages = browser.messages(&next).await;
    assert!(messages.contains("bad client credentials"), "{messages}");
    assert_eq!(browser.whoami().await.0, 401);
    server.stop().await;
}

/// A named OpenID Connect kind (`google`) with its issuer overridden is
/// discovered there: nonce, PKCE and the claims request in the URL, the ID
/// token verified, the person registered.
#[tokio::test]
async fn a_named_openid_kind_follows_its_overridden_issuer() {
    let (server, token, cp) = owner().await;
    let (project, provider) = project_and_provider(
        &server,
        &token,
        &cp,
        "Named OIDC",
        common::social::MAPPER,
        &[Account::new("gina", "gina@example.com")],
    )
    .await;
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/oidc/config/providers/0/provider", "value": "google"},
            {"op": "add", "path": "/selfservice/methods/oidc/config/providers/0/requested_claims",
             "value": {"id_token": {"email": {"essential": true}}}},
        ]),
    )
    .await;
    let browser = Browser::new(&server, &project.slug);
    let authorize = browser.choose("registration", "acme").await;
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    for part in ["nonce=", "code_challenge_method=S256", "claims="] {
        assert!(authorize.contains(part), "{part}: {authorize}");
    }
    let answer = browser.answer(&authorize, "gina", "acme").await;
    let next = browser.callback(&answer).await;
    assert!(
        next.ends_with("/ui/welcome"),
        "{next}: {}",
        browser.messages(&next).await
    );
    let (_, session) = browser.whoami().await;
    assert_eq!(session["identity"]["traits"]["email"], "gina@example.com");
    server.stop().await;
}
