//! Social sign-in against a real OpenID provider (panva's `oidc-provider`
//! under Node.js, `keyplane_tests::oidc_provider`): a browser (reqwest with
//! cookies, redirects followed by hand) registers with the provider, signs
//! in again, and is refused for a tampered state, a wrong nonce, an expired
//! ID token, one signed by a foreign key, a failing mapper, and an address
//! that belongs to a password account; two tenants with the same provider
//! subject stay apart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::social::{Browser, MAPPER, client_for, project_with_provider};
use common::*;
use keyplane_tests::oidc_provider::{Account, Mode, OidcProvider};
use serde_json::json;

#[tokio::test]
async fn register_sign_in_again_and_every_refusal() {
    let (server, token, cp) = owner().await;
    // The provider must know the tenant's redirect URI: the slug comes
    // from the project's name, so the project is made first.
    let provider = OidcProvider::start(&[], &[]).await;
    let project = project_with_provider(&server, &token, &cp, "Social", &provider, MAPPER).await;
    let provider = OidcProvider::start(
        &[client_for(&server, &project.slug)],
        &[
            Account::new("alice", "alice@example.com"),
            Account::new("bob", "bob@example.com"),
        ],
    )
    .await;
    // The project's provider now points at the provider that knows it.
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([{"op": "replace", "path": "/selfservice/methods/oidc/config/providers/0/issuer_url", "value": provider.issuer}]),
    )
    .await;

    // A new subject registers and is signed in.
    let browser = Browser::new(&server, &project.slug);
    let authorize = browser.choose("registration", "acme").await;
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="));
    let answer = browser.answer(&authorize, "alice", "acme").await;
    let next = browser.callback(&answer).await;
    if !next.ends_with("/ui/welcome") {
        panic!("{next}: {}", browser.messages(&next).await);
    }
    let (status, session) = browser.whoami().await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["identity"]["traits"]["email"], "alice@example.com");
    let alice = session["identity"]["id"].as_str().unwrap().to_owned();
    let methods = session["authentication_methods"].to_string();
    assert!(methods.contains("oidc"), "{methods}");

    // The same subject signs in again, from another browser: the same identity.
    let other = Browser::new(&server, &project.slug);
    let authorize = other.choose("login", "acme").await;
    let answer = other.answer(&authorize, "alice", "acme").await;
    assert!(other.callback(&answer).await.ends_with("/ui/welcome"));
    let (_, again) = other.whoami().await;
    assert_eq!(again["identity"]["id"], alice.as_str());

    // The answer is used once: replayed, it matches no flow any more.
    let replay = other.callback(&answer).await;
    assert!(replay.contains("/ui/error?id="), "{replay}");

    // A tampered state, or the answer taken to another browser, is refused.
    let third = Browser::new(&server, &project.slug);
    let authorize = third.choose("login", "acme").await;
    let answer = third.answer(&authorize, "alice", "acme").await;
    let mut tampered = answer.clone();
    let pairs: Vec<(String, String)> = answer
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    assert!(third.callback(&tampered).await.contains("/ui/error?id="));
    let stranger = Browser::new(&server, &project.slug);
    assert!(stranger.callback(&answer).await.contains("/ui/error?id="));
    assert_eq!(stranger.whoami().await.0, 401);

    // ID tokens the tenant must not trust: each ends on the flow's page
    // with a message, signed out.
    for (mode, what) in [
        (
            Mode {
                wrong_nonce: true,
                ..Mode::default()
            },
            "nonce",
        ),
        (
            Mode {
                expired_id_token: true,
                ..Mode::default()
            },
            "expired",
        ),
        (
            Mode {
                foreign_key: true,
                ..Mode::default()
            },
            "signature",
        ),
    ] {
        provider.set_mode(&mode).await;
        let browser = Browser::new(&server, &project.slug);
        let authorize = browser.choose("login", "acme").await;
        let answer = browser.answer(&authorize, "alice", "acme").await;
        let next = browser.callback(&answer).await;
        assert!(next.contains("/ui/login?flow="), "{what}: {next}");
        let messages = browser.messages(&next).await;
        assert!(messages.contains("ID token"), "{what}: {messages}");
        assert_eq!(browser.whoami().await.0, 401, "{what}");
    }
    provider.set_mode(&Mode::default()).await;

    // An address that belongs to a password account is not taken over.
    let cfg = tenant(&server, &project.slug);
    sdk_register(&cfg, "bob@example.com", "bob's long passphrase").await;
    let browser = Browser::new(&server, &project.slug);
    let authorize = browser.choose("registration", "acme").await;
    let answer = browser.answer(&authorize, "bob", "acme").await;
    let next = browser.callback(&answer).await;
    assert!(next.contains("/ui/registration?flow="), "{next}");
    assert!(browser.messages(&next).await.contains("4000007"));
    assert_eq!(browser.whoami().await.0, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_mapper_and_two_tenants_with_one_subject() {
    let (server, token, cp) = owner().await;
    let placeholder = OidcProvider::start(&[], &[]).await;
    let a = project_with_provider(&server, &token, &cp, "Tenant A", &placeholder, MAPPER).await;
    let b = project_with_provider(&server, &token, &cp, "Tenant B", &placeholder, MAPPER).await;
    let broken = project_with_provider(
        &server,
        &token,
        &cp,
        "Broken",
        &placeholder,
        "error 'no mapping today'",
    )
    .await;
    let provider = OidcProvider::start(
        &[
            client_for(&server, &a.slug),
            client_for(&server, &b.slug),
            client_for(&server, &broken.slug),
        ],
        &[Account::new("carol", "carol@example.com")],
    )
    .await;
    for project in [&a, &b, &broken] {
        patch_identity(
            &server,
            &token,
            &project.id,
            json!([{"op": "replace", "path": "/selfservice/methods/oidc/config/providers/0/issuer_url", "value": provider.issuer}]),
        )
        .await;
    }

    let mut ids = Vec::new();
    for project in [&a, &b] {
        let browser = Browser::new(&server, &project.slug);
        let authorize = browser.choose("registration", "acme").await;
        let answer = browser.answer(&authorize, "carol", "acme").await;
        assert!(browser.callback(&answer).await.ends_with("/ui/welcome"));
        let (_, session) = browser.whoami().await;
        ids.push(session["identity"]["id"].as_str().unwrap().to_owned());
        // The session of one tenant means nothing in the other.
        let elsewhere = Browser::new(&server, if project.id == a.id { &b.slug } else { &a.slug });
        assert_eq!(elsewhere.whoami().await.0, 401);
    }
    assert_ne!(
        ids[0], ids[1],
        "the same subject is a different identity per tenant"
    );

    let browser = Browser::new(&server, &broken.slug);
    let authorize = browser.choose("registration", "acme").await;
    let answer = browser.answer(&authorize, "carol", "acme").await;
    let next = browser.callback(&answer).await;
    assert!(next.contains("/ui/registration?flow="), "{next}");
    assert!(browser.messages(&next).await.contains("mapper"));
    assert_eq!(browser.whoami().await.0, 401);
    server.stop().await;
}
