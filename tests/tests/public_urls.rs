//! Every URL the server hands out works as given: the test resolves the
//! `*.localhost` hosts to loopback as browsers do (RFC 6761), follows each URL
//! exactly as the server wrote it — the project's config (UI URLs, return
//! URLs, the link method's base), flow actions and `request_url`s, a
//! session's schema URL, the logout URL, recovery and verification mail
//! links, `Link` paging headers, an invite link — and checks that it
//! answers from this server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{create_project, newest_mail, owner};
use keyplane_tests::get_json;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// A browser-like client: cookies kept, redirects followed by hand, and
/// the tenant's and the console's hosts resolved to loopback as browsers
/// resolve `*.localhost`. The port is the one in each URL.
fn browser(slug: &str) -> reqwest::Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    reqwest::Client::builder()
        .resolve(&format!("{slug}.projects.localhost"), loopback)
        .resolve("console.projects.localhost", loopback)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// GETs `url` as given and follows redirects (each `Location` as a
/// browser reads it) to the page at the end; panics unless every hop
/// answers from this server and the end is a 200. Returns the final URL
/// and body.
async fn follow(client: &reqwest::Client, url: &str) -> (String, String) {
    let (end, status, _, body) = follow_to_end(client, url).await;
    assert_eq!(status, StatusCode::OK, "{end}: {body}");
    (end, body)
}

/// Like [`follow`], whatever the last answer: `(url, status, content
/// type, body)`.
async fn follow_to_end(
    client: &reqwest::Client,
    url: &str,
) -> (String, StatusCode, String, String) {
    let mut url = url.to_owned();
    for _ in 0..8 {
        let res = client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url} does not answer: {e}"));
        assert!(
            res.headers().contains_key("x-request-id"),
            "{url} was not answered by Keyplane"
        );
        let status = res.status();
        if status.is_redirection() {
            // A relative Location is resolved as a browser does.
            let location = res.headers()[LOCATION].to_str().unwrap();
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(location)
                .unwrap()
                .to_string();
            continue;
        }
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = res.text().await.unwrap();
        return (url, status, content_type, body);
    }
    panic!("{url}: too many redirects");
}

/// Every absolute URL in a JSON document.
fn urls_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            out.push(s.clone())
        }
        Value::Array(items) => items.iter().for_each(|v| urls_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| urls_in(v, out)),
        _ => {}
    }
}

fn node_value(flow: &Value, name: &str) -> String {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == name)
        .and_then(|n| n["attributes"]["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The first link in a mail body that starts with `prefix`.
fn link_in(body: &str, prefix: &str) -> String {
    body.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("no link to {prefix} in {body}"))
        .to_owned()
}

const PASSWORD: &str = "a long and unguessable passphrase 7";

#[tokio::test]
async fn every_url_the_server_hands_out_answers_as_given() {
    let (server, owner_token, cp) = owner().await;
    let project = create_project(&cp, "Links").await;
    let public = format!(
        "http://{}.projects.localhost:{}",
        project.slug,
        server.addr.port()
    );
    let client = browser(&project.slug);

    // The project's config: UI URLs, return URLs, the link method's base.
    let mut config_urls = Vec::new();
    urls_in(
        &project.services.identity.as_ref().unwrap().config,
        &mut config_urls,
    );
    assert!(config_urls.len() >= 8, "{config_urls:?}");
    for url in &config_urls {
        assert!(url.starts_with(&public), "{url} is not on {public}");
        if url.ends_with("/ui/error") {
            // Opened without an error id: the error page says there is
            // nothing to show (404), as a page, not an API error.
            let (end, status, content_type, _) = follow_to_end(&client, url).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{end}");
            assert!(
                content_type.starts_with("text/html"),
                "{end}: {content_type}"
            );
        } else {
            follow(&client, url).await;
        }
    }

    // An API registration: the flow's action as given, the identity's
    // schema URL as given.
    let flow: Value = get_json(&client, &format!("{public}/self-service/registration/api")).await;
    follow(&client, flow["request_url"].as_str().unwrap()).await;
    let action = flow["ui"]["action"].as_str().unwrap();
    assert!(action.starts_with(&public), "{action}");
    let registered: Value = client
        .post(action)
        .json(&json!({"method": "password", "password": PASSWORD,
                      "traits": {"email": "ada@example.com"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema_url = registered["identity"]["schema_url"].as_str().unwrap();
    let (_, schema) = follow(&client, schema_url).await;
    assert!(schema.contains("\"traits\""), "{schema}");

    // A browser login: start, post the form to the action as given, land
    // where the redirect says.
    let started = client
        .get(format!("{public}/self-service/login/browser"))
        .send()
        .await
        .unwrap();
    let ui = started.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(ui.starts_with(&format!("{public}/ui/login?flow=")), "{ui}");
    follow(&client, &ui).await;
    let id = ui.rsplit("flow=").next().unwrap();
    let flow: Value = get_json(
        &client,
        &format!("{public}/self-service/login/flows?id={id}"),
    )
    .await;
    let csrf = node_value(&flow, "csrf_token");
    let res = client
        .post(flow["ui"]["action"].as_str().unwrap())
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("method", "password"),
            ("identifier", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let landed = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, welcome) = follow(&client, &landed).await;
    assert!(welcome.contains("ada@example.com"), "signed in: {welcome}");

    // Logout: the URL the server hands out, then where it sends the browser.
    let logout: Value = client
        .get(format!("{public}/self-service/logout/browser"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logout_url = logout["logout_url"].as_str().unwrap();
    assert!(logout_url.starts_with(&public), "{logout_url}");
    follow(&client, logout_url).await;
    let whoami = client
        .get(format!("{public}/sessions/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::UNAUTHORIZED, "signed out");

    // Recovery and verification links in the mails.
    for (kind, subject_word) in [("recovery", "recover"), ("verification", "verif")] {
        let flow: Value = get_json(&client, &format!("{public}/self-service/{kind}/api")).await;
        let res = client
            .post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "link", "email": "ada@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{kind}");
        let (subject, body) = newest_mail(&server, "ada@example.com").await.unwrap();
        assert!(
            subject.to_lowercase().contains(subject_word),
            "{kind}: {subject}"
        );
        let link = link_in(&body, &public);
        follow(&browser(&project.slug), &link).await;
    }

    // Paging links of the admin API.
    for email in ["bea@example.com", "cy@example.com"] {
        let res = client
            .post(format!("{public}/admin/identities"))
            .bearer_auth(&owner_token)
            .json(&json!({"schema_id": "default", "traits": {"email": email}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let page = client
        .get(format!("{public}/admin/identities?per_page=1"))
        .bearer_auth(&owner_token)
        .send()
        .await
        .unwrap();
    let links = page.headers()["link"].to_str().unwrap().to_owned();
    for link in links.split(',') {
        let url = link
            .trim()
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap();
        assert!(url.starts_with(&public), "{url}");
        let res = client
            .get(url)
            .bearer_auth(&owner_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
    }

    // An invite link points at the console's own host and port.
    let (status, invite) = common::call(
        &server,
        &owner_token,
        reqwest::Method::POST,
        &format!("/projects/{}/invites", project.id),
        Some(json!({ "invitee_email": "dev@example.com" })),
    )
    .await;
    assert_eq!(status, 201, "{invite}");
    let (_, body) = newest_mail(&server, "dev@example.com").await.unwrap();
    let console = format!(
        "http://console.projects.localhost:{}/ui/",
        server.addr.port()
    );
    let link = link_in(&body, &console);
    let res = client.get(&link).send().await.unwrap();
    assert!(
        res.headers().contains_key("x-request-id") && !res.status().is_server_error(),
        "{link}: {}",
        res.status()
    );
    server.stop().await;
}
