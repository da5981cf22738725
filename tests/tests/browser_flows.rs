//! Browser self-service flows end to end, with a cookie-keeping client that
//! does not follow redirects (so every 303 is checked): registration, login,
//! settings and logout; the anti-CSRF checks; `return_to` allow-listing;
//! recovery and verification by e-mailed link; and the login hooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{create_project, newest_mail, owner, patch_identity, tenant_host};
use keyplane_server::RunningServer;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// A browser: keeps cookies, never follows redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(server: &RunningServer, slug: &str) -> Self {
        let host = tenant_host(slug);
        let client = reqwest::Client::builder()
            .resolve(&host, server.addr)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            client,
            base: format!("http://{host}:{}", server.addr.port()),
        }
    }

    /// A URL the tenant handed out is followed exactly as given (it must
    /// name this server's host and port); a plain path goes to the tenant.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            assert!(
                path.starts_with(&format!("{}/", self.base)),
                "{path} is not on the tenant's public URL {}",
                self.base
            );
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(self.url(path))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Starts a browser flow: a 303 to the UI with `?flow=`; returns the
    /// flow (read back as JSON) and its anti-CSRF token.
    async fn start(&self, kind: &str, query: &str) -> (Value, String) {
        let res = self
            .get(&format!("/self-service/{kind}/browser{query}"))
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{kind}");
        let location = location(&res);
        assert!(
            location.contains(&format!("/ui/{kind}?flow=")),
            "{location}"
        );
        let id = location.rsplit("flow=").next().unwrap().to_owned();
        let (status, flow) = self
            .get_json(&format!("/self-service/{kind}/flows?id={id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{flow}");
        assert_eq!(flow["type"], "browser");
        let csrf = csrf_of(&flow);
        assert!(csrf.len() >= 32);
        (flow, csrf)
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

fn csrf_of(flow: &Value) -> String {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .unwrap()
        .to_owned()
}

fn message_ids(flow: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = flow["ui"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    for node in flow["ui"]["nodes"].as_array().unwrap() {
        for m in node["messages"].as_array().unwrap() {
            ids.extend(m["id"].as_u64());
        }
    }
    ids
}

const PASSWORD: &str = "correct horse battery staple 9";

async fn register(browser: &Browser, email: &str) -> reqwest::Response {
    let (flow, csrf) = browser.start("registration", "").await;
    browser
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf),
                ("traits.email", email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await
}

async fn login(browser: &Browser, email: &str, password: &str) -> reqwest::Response {
    let (flow, csrf) = browser.start("login", "").await;
    browser
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf),
                ("identifier", email),
                ("password", password),
                ("method", "password"),
            ],
        )
        .await
}

async fn whoami(browser: &Browser) -> (StatusCode, Value) {
    browser.get_json("/sessions/whoami").await
}

/// The link in the newest mail to `to` that contains `path`.
async fn mailed_link(server: &RunningServer, to: &str, path: &str) -> (String, String) {
    let (subject, body) = newest_mail(server, to).await.expect("a mail");
    let link = body
        .split_whitespace()
        .find(|w| w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in: {body}"))
        .to_owned();
    (subject, link)
}

#[tokio::test]
async fn register_log_in_change_settings_and_log_out_in_a_browser() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Browser").await;
    let browser = Browser::new(&server, &project.slug);

    let res = register(&browser, "ada@example.com").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).ends_with("/ui/welcome"),
        "{}",
        location(&res)
    );
    let cookies: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("ory_session_"))
        .expect("the session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        session.contains("Max-Age="),
        "persistent by default: {session}"
    );
    let (status, me) = whoami(&browser).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["identity"]["traits"]["email"], "ada@example.com");

    // Signed in: opening login goes straight to the default return URL.
    let res = browser.get("/self-service/login/browser").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("/ui/welcome"));
    // An SPA asking for JSON is told why instead.
    let (status, body) = browser.get_json("/self-service/login/browser").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["id"], "session_already_available");
    // `refresh=true` re-authenticates.
    let (flow, _) = browser.start("login", "?refresh=true").await;
    assert_eq!(flow["refresh"], true);

    // Settings: a new password through the form, back to the UI with the flow.
    let (flow, csrf) = browser.start("settings", "").await;
    let res = browser
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf),
                ("password", "an entirely new passphrase 7"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).contains(&format!(
        "/ui/settings?flow={}",
        flow["id"].as_str().unwrap()
    )));
    let (_, flow) = browser
        .get_json(&format!(
            "/self-service/settings/flows?id={}",
            flow["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(flow["state"], "success");

    // Logout: a URL for this session, then the session ends and the cookie goes.
    let (status, logout) = browser.get_json("/self-service/logout/browser").await;
    assert_eq!(status, StatusCode::OK, "{logout}");
    let url = logout["logout_url"].as_str().unwrap();
    assert!(url.contains("/self-service/logout?token="));
    // A forged token does nothing.
    let forged = format!(
        "{}{}",
        &logout["logout_token"].as_str().unwrap()[..32],
        "0".repeat(32)
    );
    let res = browser
        .get(&format!("/self-service/logout?token={forged}"))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&browser).await.0, StatusCode::OK);
    let res = browser.get(url).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("/ui/login"));
    assert_eq!(whoami(&browser).await.0, StatusCode::UNAUTHORIZED);

    // Login with the new password; a wrong one goes back to the UI with the
    // same flow and the Kratos message on it.
    let res = login(&browser, "ada@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = location(&res);
    assert!(back.contains("/ui/login?flow="), "{back}");
    let id = back.rsplit("flow=").next().unwrap();
    let (_, flow) = browser
        .get_json(&format!("/self-service/login/flows?id={id}"))
        .await;
    assert!(message_ids(&flow).contains(&4000006), "{flow}");
    let res = login(&browser, "ada@example.com", "an entirely new passphrase 7").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("/ui/welcome"));
    assert_eq!(whoami(&browser).await.0, StatusCode::OK);

    // An SPA logs in with JSON: 200, the session and the cookie, no token.
    let spa = Browser::new(&server, &project.slug);
    let (status, flow) = spa.get_json("/self-service/login/browser").await;
    assert_eq!(status, StatusCode::OK);
    let res = spa
        .client
        .post(spa.url(flow["ui"]["action"].as_str().unwrap()))
        .header(ACCEPT, "application/json")
        .json(&json!({
            "csrf_token": csrf_of(&flow),
            "identifier": "ada@example.com",
            "password": "an entirely new passphrase 7",
            "method": "password",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["session"]["id"].is_string() && body.get("session_token").is_none(),
        "{body}"
    );
    assert_eq!(whoami(&spa).await.0, StatusCode::OK);

    // The WebAuthn helper script is served.
    let res = browser.get("/.well-known/ory/webauthn.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("__oryWebAuthnLogin"));
}

#[tokio::test]
async fn submissions_without_the_matching_anti_csrf_token_are_refused() {
    let (server, _token, cp) = owner().await;
    let project = create_project(&cp, "Csrf").await;
    let browser = Browser::new(&server, &project.slug);
    let (flow, csrf) = browser.start("registration", "").await;
    let action = flow["ui"]["action"].as_str().unwrap().to_owned();
    let form = |token: &'static str| {
        vec![
            ("csrf_token", token),
            ("traits.email", "eve@example.com"),
            ("password", PASSWORD),
            ("method", "password"),
        ]
    };

    // No token in the body, a wrong token, and the right token from a
    // browser without the cookie: all 403 with Kratos' error.
    for (client, body) in [
        (&browser, form("")),
        (&browser, form("not-the-token-of-this-browser-000000000")),
    ] {
        let res = client.post_form(&action, &body).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"]["id"], "security_csrf_violation", "{error}");
    }
    let stranger = Browser::new(&server, &project.slug);
    let res = stranger
        .post_form(
            &action,
            &[
                ("csrf_token", csrf.as_str()),
                ("traits.email", "eve@example.com"),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The header form of the token works for SPAs; nothing was created by
    // the refused attempts, so the address is still free.
    let res = browser
        .client
        .post(browser.url(&action))
        .header("X-CSRF-Token", &csrf)
        .header(ACCEPT, "application/json")
        .json(&json!({"traits": {"email": "eve@example.com"}, "password": PASSWORD, "method": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );

    // API flows carry no cookie and need no token.
    let api = common::tenant(&server, &project.slug);
    let flow = ory_client::apis::v0alpha2_api::initialize_self_service_login_flow_without_browser(
        &api, None, None, None,
    )
    .await
    .unwrap();
    assert_eq!(flow._type, "api");
}

#[tokio::test]
async fn return_to_must_be_on_the_allow_list() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Return").await;
    let browser = Browser::new(&server, &project.slug);

    // Outside the list: 400 for JSON clients, the error UI for browsers.
    let (status, body) = browser
        .get_json("/self-service/login/browser?return_to=https://evil.example.net/steal")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["id"], "self_service_flow_return_to_forbidden",
        "{body}"
    );
    let res = browser
        .get("/self-service/registration/browser?return_to=https://evil.example.net/")
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let error_ui = location(&res);
    assert!(error_ui.contains("/ui/error?id="), "{error_ui}");
    let id = error_ui.rsplit("id=").next().unwrap();
    let (status, error) = browser
        .get_json(&format!("/self-service/errors?id={id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error["error"]["code"], 400, "{error}");

    // A wildcard entry allows subdomains, and the browser lands there.
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([{"op": "add", "path": "/selfservice/allowed_return_urls/-", "value": "https://*.example.com"}]),
    )
    .await;
    let (flow, csrf) = browser
        .start("registration", "?return_to=https://app.example.com/after")
        .await;
    assert_eq!(flow["return_to"], "https://app.example.com/after");
    let res = browser
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf),
                ("traits.email", "ret@example.com"),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(location(&res), "https://app.example.com/after");
    let (status, _) = browser
        .get_json("/self-service/login/browser?return_to=https://example.com.evil.net/")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn verification_and_recovery_by_link() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Links").await;
    let browser = Browser::new(&server, &project.slug);
    let res = register(&browser, "lin@example.com").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Registration sent a verification mail; its link verifies the address.
    let (subject, link) =
        mailed_link(&server, "lin@example.com", "/self-service/verification?").await;
    assert_eq!(subject, "Please verify your email address");
    let res = browser.get(&link).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let shown = location(&res);
    assert!(shown.contains("/ui/verification?flow="), "{shown}");
    let id = shown.rsplit("flow=").next().unwrap();
    let (_, flow) = browser
        .get_json(&format!("/self-service/verification/flows?id={id}"))
        .await;
    assert_eq!(flow["state"], "passed_challenge", "{flow}");
    assert!(message_ids(&flow).contains(&1080002));
    let (_, me) = whoami(&browser).await;
    let address = &me["identity"]["verifiable_addresses"][0];
    assert_eq!(address["verified"], true, "{me}");
    assert_eq!(address["status"], "completed");
    assert!(address["verified_at"].is_string());
    // The link works once.
    let res = browser.get(&link).await;
    let again = location(&res);
    let id = again.rsplit("flow=").next().unwrap();
    let (_, flow) = browser
        .get_json(&format!("/self-service/verification/flows?id={id}"))
        .await;
    assert!(message_ids(&flow).contains(&4070006), "{flow}");

    // Recovery: the same answer for a known and an unknown address; the
    // unknown one gets the "invalid" mail.
    let stranger = Browser::new(&server, &project.slug);
    let mut answers = Vec::new();
    for email in ["lin@example.com", "nobody@example.com"] {
        let (flow, csrf) = stranger.start("recovery", "").await;
        let res = stranger
            .client
            .post(stranger.url(flow["ui"]["action"].as_str().unwrap()))
            .header(ACCEPT, "application/json")
            .json(&json!({"csrf_token": csrf, "email": email, "method": "link"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let flow: Value = res.json().await.unwrap();
        answers.push((flow["state"].clone(), message_ids(&flow)));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, "sent_email");
    let (subject, _) = newest_mail(&server, "nobody@example.com").await.unwrap();
    assert_eq!(subject, "Account access attempted");
    let (subject, link) = mailed_link(&server, "lin@example.com", "/self-service/recovery?").await;
    assert_eq!(subject, "Recover access to your account");

    // The token means nothing on another project's host.
    let other = create_project(&cp, "Other").await;
    let elsewhere = Browser::new(&server, &other.slug);
    let query = &link[link.find("/self-service/recovery?").unwrap()..];
    let res = elsewhere.get(query).await;
    assert!(
        location(&res).contains("/ui/recovery?flow="),
        "{}",
        location(&res)
    );
    assert_eq!(whoami(&elsewhere).await.0, StatusCode::UNAUTHORIZED);

    // Following the link signs the stranger's browser in and opens settings.
    let res = stranger.get(&link).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let settings = location(&res);
    assert!(settings.contains("/ui/settings?flow="), "{settings}");
    let (status, me) = whoami(&stranger).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["identity"]["traits"]["email"], "lin@example.com");
    let id = settings.rsplit("flow=").next().unwrap();
    let (_, flow) = stranger
        .get_json(&format!("/self-service/settings/flows?id={id}"))
        .await;
    assert!(message_ids(&flow).contains(&1060001), "{flow}");
    let res = stranger
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf_of(&flow)),
                ("password", "recovered passphrase 31"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let fresh = Browser::new(&server, &project.slug);
    let res = login(&fresh, "lin@example.com", "recovered passphrase 31").await;
    assert!(location(&res).ends_with("/ui/welcome"));
    // The link is single use.
    let res = Browser::new(&server, &project.slug).get(&link).await;
    assert!(location(&res).contains("/ui/recovery?flow="));

    // Custom templates from the revision, with Kratos' variables.
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([
            {"op": "add", "path": "/courier", "value": {"templates": {"recovery": {"valid": {"email": {
                "subject": "Reset for {{ .To }}",
                "body": {"plaintext": "Hello {{ .Identity.traits.email }}: {{ .RecoveryURL }}", "html": "<a href=\"{{ .RecoveryURL }}\">reset</a>"}
            }}}}}}
        ]),
    )
    .await;
    let anonymous = Browser::new(&server, &project.slug);
    let (flow, csrf) = anonymous.start("recovery", "").await;
    let _ = anonymous
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", &csrf),
                ("email", "lin@example.com"),
                ("method", "link"),
            ],
        )
        .await;
    let (subject, body) = newest_mail(&server, "lin@example.com").await.unwrap();
    assert_eq!(subject, "Reset for lin@example.com");
    assert!(body.starts_with("Hello lin@example.com: http://"), "{body}");

    // An admin-made recovery link works the same way, once.
    let (status, made) = common::tenant_call(
        &server,
        &project.slug,
        &token,
        Method::POST,
        "/admin/recovery/link",
        Some(json!({"identity_id": me["identity"]["id"], "expires_in": "10m"})),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let admin_link = made["recovery_link"].as_str().unwrap().to_owned();
    let helped = Browser::new(&server, &project.slug);
    let res = helped.get(&admin_link).await;
    assert!(
        location(&res).contains("/ui/settings?flow="),
        "{}",
        location(&res)
    );
    assert_eq!(whoami(&helped).await.0, StatusCode::OK);
    let res = Browser::new(&server, &project.slug).get(&admin_link).await;
    assert!(location(&res).contains("/ui/recovery?flow="));
}

#[tokio::test]
async fn login_hooks_require_a_verified_address_and_revoke_other_sessions() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Hooks").await;
    patch_identity(
        &server,
        &token,
        &project.id,
        json!([{"op": "add", "path": "/selfservice/flows/login/after", "value": {"password": {"hooks": [
            {"hook": "require_verified_address"}, {"hook": "revoke_active_sessions"}
        ]}}}]),
    )
    .await;
    let first = Browser::new(&server, &project.slug);
    register(&first, "hook@example.com").await;

    // Not verified yet: the form comes back with Kratos' 4000010.
    let other = Browser::new(&server, &project.slug);
    let res = login(&other, "hook@example.com", PASSWORD).await;
    let back = location(&res);
    assert!(back.contains("/ui/login?flow="), "{back}");
    let id = back.rsplit("flow=").next().unwrap();
    let (_, flow) = other
        .get_json(&format!("/self-service/login/flows?id={id}"))
        .await;
    assert!(message_ids(&flow).contains(&4000010), "{flow}");

    let (_, link) = mailed_link(&server, "hook@example.com", "/self-service/verification?").await;
    first.get(&link).await;
    let res = login(&other, "hook@example.com", PASSWORD).await;
    assert!(location(&res).ends_with("/ui/welcome"));
    // The registration session was revoked by the new login.
    assert_eq!(whoami(&other).await.0, StatusCode::OK);
    assert_eq!(whoami(&first).await.0, StatusCode::UNAUTHORIZED);
}
