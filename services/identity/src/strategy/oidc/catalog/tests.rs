//! The catalogue against Kratos' endpoints, overrides and refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

pub(crate) fn config(kind: &str) -> OidcProviderConfig {
    OidcProviderConfig {
        id: format!("my-{kind}"),
        provider: kind.to_owned(),
        client_id: "client".to_owned(),
        client_secret: "secret".to_owned(),
        issuer_url: None,
        auth_url: None,
        token_url: None,
        mapper_url: None,
        scope: Vec::new(),
        label: None,
        requested_claims: None,
        microsoft_tenant: None,
        apple_team_id: None,
        apple_private_key_id: None,
        apple_private_key: None,
    }
}

fn endpoints(r: &Resolved) -> (&str, Option<&str>, Option<&str>) {
    (
        r.base.as_str(),
        r.auth_url.as_deref(),
        r.token_url.as_deref(),
    )
}

#[test]
fn oauth2_providers_have_kratos_endpoints() {
    let table = [
        (
            "github",
            "https://api.github.com",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
        ),
        (
            "gitlab",
            "https://gitlab.com",
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
        ),
        (
            "discord",
            "https://discord.com/api",
            "https://discord.com/api/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
        ),
        (
            "slack",
            "https://slack.com/api",
            "https://slack.com/oauth/authorize",
            "https://slack.com/api/oauth.access",
        ),
        (
            "facebook",
            "https://graph.facebook.com",
            "https://facebook.com/dialog/oauth",
            "https://graph.facebook.com/oauth/access_token",
        ),
        (
            "vk",
            "https://api.vk.com/method",
            "https://oauth.vk.com/authorize",
            "https://oauth.vk.com/access_token",
        ),
        (
            "yandex",
            "https://login.yandex.ru",
            "https://oauth.yandex.com/authorize",
            "https://oauth.yandex.com/token",
        ),
        (
            "spotify",
            "https://api.spotify.com/v1",
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
        ),
        (
            "dingtalk",
            "https://api.dingtalk.com",
            "https://login.dingtalk.com/oauth2/auth",
            "https://api.dingtalk.com/v1.0/oauth2/userAccessToken",
        ),
        (
            "patreon",
            "https://www.patreon.com/api/oauth2/v2",
            "https://www.patreon.com/oauth2/authorize",
            "https://www.patreon.com/api/oauth2/token",
        ),
    ];
    for (kind, base, auth, token) in table {
        let r = resolve(&config(kind)).unwrap();
        assert_eq!(r.protocol, Protocol::OAuth2, "{kind}");
        assert_eq!(endpoints(&r), (base, Some(auth), Some(token)), "{kind}");
        assert!(!r.scopes.is_empty(), "{kind} has default scopes");
    }
}

#[test]
fn oidc_providers_have_kratos_issuers() {
    for (kind, issuer) in [
        ("google", "https://accounts.google.com"),
        ("apple", "https://appleid.apple.com"),
        ("netid", "https://broker.netid.de/"),
    ] {
        let mut c = config(kind);
        c.apple_team_id = Some("T".into());
        c.apple_private_key_id = Some("K".into());
        c.apple_private_key = Some("PEM".into());
        let r = resolve(&c).unwrap();
        assert_eq!(r.protocol, Protocol::Oidc, "{kind}");
        assert_eq!(endpoints(&r), (issuer, None, None), "{kind}");
    }
    let mut ms = config("microsoft");
    ms.microsoft_tenant = Some("common".into());
    let r = resolve(&ms).unwrap();
    assert_eq!(r.base, "https://login.microsoftonline.com/common/v2.0");
    assert!(r.multi_tenant);
    ms.microsoft_tenant = Some("8eaef023-2b34-4da1-9baa-8bc8c9d6a490".into());
    let r = resolve(&ms).unwrap();
    assert_eq!(
        r.base,
        "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0"
    );
    assert!(!r.multi_tenant);
}

#[test]
fn overrides_win() {
    let mut c = config("github");
    c.issuer_url = Some("http://127.0.0.1:4000".into());
    c.auth_url = Some("http://127.0.0.1:4000/login/oauth/authorize".into());
    c.token_url = Some("http://127.0.0.1:4000/login/oauth/access_token".into());
    c.scope = vec!["read:user".into()];
    let r = resolve(&c).unwrap();
    assert_eq!(
        endpoints(&r),
        (
            "http://127.0.0.1:4000",
            Some("http://127.0.0.1:4000/login/oauth/authorize"),
            Some("http://127.0.0.1:4000/login/oauth/access_token")
        )
    );
    assert_eq!(r.scopes, vec!["read:user".to_owned()]);

    // GitLab and Auth0 derive every endpoint from the base.
    let mut c = config("gitlab");
    c.issuer_url = Some("https://git.example.com/".into());
    let r = resolve(&c).unwrap();
    assert_eq!(
        endpoints(&r),
        (
            "https://git.example.com/",
            Some("https://git.example.com/oauth/authorize"),
            Some("https://git.example.com/oauth/token")
        )
    );
    let mut c = config("auth0");
    c.issuer_url = Some("https://acme.eu.auth0.com".into());
    let r = resolve(&c).unwrap();
    assert_eq!(
        endpoints(&r),
        (
            "https://acme.eu.auth0.com",
            Some("https://acme.eu.auth0.com/authorize"),
            Some("https://acme.eu.auth0.com/oauth/token")
        )
    );

    let mut c = config("google");
    c.issuer_url = Some("http://127.0.0.1:5000".into());
    c.token_url = Some("http://127.0.0.1:5000/t".into());
    let r = resolve(&c).unwrap();
    assert_eq!(
        endpoints(&r),
        (
            "http://127.0.0.1:5000",
            None,
            Some("http://127.0.0.1:5000/t")
        )
    );
}

#[test]
fn authorization_parameters_follow_the_kind() {
    let mut apple = config("apple");
    apple.apple_team_id = Some("T".into());
    apple.apple_private_key_id = Some("K".into());
    apple.apple_private_key = Some("PEM".into());
    apple.requested_claims = Some(json!({"id_token": {"email": null}}));
    let r = resolve(&apple).unwrap();
    assert!(!r.pkce);
    assert!(
        r.auth_params
            .contains(&("response_mode".into(), "form_post".into()))
    );
    assert!(
        r.auth_params
            .contains(&("claims".into(), r#"{"id_token":{"email":null}}"#.into()))
    );
    apple.scope = vec!["openid".into()];
    let r = resolve(&apple).unwrap();
    assert!(r.scopes.is_empty(), "openidconnect adds openid itself");
    assert!(!r.auth_params.iter().any(|(k, _)| k == "response_mode"));

    let mut google = config("google");
    google.scope = vec!["openid".into(), "email".into(), "offline_access".into()];
    assert_eq!(resolve(&google).unwrap().scopes, vec!["email".to_owned()]);

    let mut github = config("github");
    github.requested_claims = Some(json!({"id_token": {}}));
    let r = resolve(&github).unwrap();
    assert!(r.auth_params.is_empty(), "no claims request without OIDC");
    assert!(r.pkce);
    assert_eq!(
        resolve(&config("discord")).unwrap().auth_params,
        vec![("prompt".to_owned(), "none".to_owned())]
    );
}

#[test]
fn misconfigured_providers_are_refused_by_name() {
    let err = resolve(&config("microsoft")).unwrap_err();
    assert!(err.contains("microsoft_tenant"), "{err}");
    let mut apple = config("apple");
    apple.apple_team_id = Some("T".into());
    apple.apple_private_key_id = Some("K".into());
    let err = resolve(&apple).unwrap_err();
    assert!(err.contains("apple_private_key"), "{err}");
    let err = resolve(&config("auth0")).unwrap_err();
    assert!(err.contains("issuer_url"), "{err}");
    let err = resolve(&config("generic")).unwrap_err();
    assert!(err.contains("issuer_url"), "{err}");
    let err = resolve(&config("myspace")).unwrap_err();
    assert!(err.contains("not supported"), "{err}");
}
