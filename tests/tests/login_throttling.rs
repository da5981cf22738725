//! Failed-login throttling (issue 20, point 4) on the server's default
//! settings: 5 free failures per identifier and 20 per client address, then
//! a back-off from 1 s doubling up to 15 min. The server runs on a manual
//! clock, so the delays are stepped over instead of slept through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{call, control_plane, create_project, tenant_client, tenant_host, token_for};
use kernel::clock::ManualClock;
use keyplane_server::RunningServer;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple 9";
const THROTTLED: u64 = 4000429;
const INVALID_CREDENTIALS: u64 = 4000006;

struct Setup {
    server: RunningServer,
    clock: ManualClock,
    token: String,
}

impl Setup {
    async fn new() -> Self {
        Self::with(keyplane_tests::test_settings().await).await
    }

    async fn with(settings: keyplane_server::Settings) -> Self {
        let clock = ManualClock::starting_now();
        let server = keyplane_tests::spawn_with_clock(settings, Arc::new(clock.clone())).await;
        let token = token_for(&server, "owner@example.com").await;
        Self {
            server,
            clock,
            token,
        }
    }

    /// A new project with `erin@example.com` registered: `(id, slug)`.
    async fn project(&self, name: &str) -> (String, String) {
        let project = create_project(&control_plane(&self.server, &self.token), name).await;
        let api = Api::new(&self.server, &project.slug);
        api.register("erin@example.com").await;
        (project.id, project.slug)
    }

    fn wait(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

/// An API client of one tenant.
struct Api {
    client: reqwest::Client,
    base: String,
    /// Sent as `X-Forwarded-For`, as a proxy in front would.
    forwarded_for: Option<&'static str>,
}

impl Api {
    fn new(server: &RunningServer, slug: &str) -> Self {
        let (client, base) = tenant_client(server, slug);
        Self {
            client,
            base,
            forwarded_for: None,
        }
    }

    fn forwarded_for(server: &RunningServer, slug: &str, client: &'static str) -> Self {
        Self {
            forwarded_for: Some(client),
            ..Self::new(server, slug)
        }
    }

    async fn submit(&self, kind: &str, body: Value) -> (StatusCode, Value) {
        let flow: Value = self
            .client
            .get(format!("{}/self-service/{kind}/api", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut req = self.client.post(format!(
            "{}/self-service/{kind}?flow={}",
            self.base,
            flow["id"].as_str().unwrap()
        ));
        if let Some(client) = self.forwarded_for {
            req = req.header("X-Forwarded-For", format!("203.0.113.66, {client}"));
        }
        let res = req.json(&body).send().await.unwrap();
        (res.status(), res.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, email: &str) {
        let body = json!({"method": "password", "password": PASSWORD, "traits": {"email": email}});
        let (status, answer) = self.submit("registration", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    async fn login(&self, identifier: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({"method": "password", "identifier": identifier, "password": password});
        self.submit("login", body).await
    }

    /// A login answered with a session token.
    async fn logs_in(&self, identifier: &str) {
        let (status, answer) = self.login(identifier, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer["session_token"].is_string(), "{answer}");
    }

    /// A login refused with the one flow message `id` (a 400, the flow).
    async fn refused(&self, identifier: &str, password: &str, id: u64) -> Value {
        let (status, flow) = self.login(identifier, password).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{flow}");
        assert_eq!(flow["ui"]["messages"][0]["id"], id, "{flow}");
        assert!(flow["session_token"].is_null());
        flow["ui"]["messages"].clone()
    }

    /// `n` wrong passwords, each answered as invalid credentials.
    async fn fail(&self, identifier: &str, n: usize) {
        for _ in 0..n {
            self.refused(identifier, "wrong password!!", INVALID_CREDENTIALS)
                .await;
        }
    }
}

fn throttled_text(secs: u64) -> Value {
    let unit = if secs == 1 { "second" } else { "seconds" };
    json!([{
        "id": THROTTLED,
        "type": "error",
        "text": format!("Too many failed login attempts. Please try again in {secs} {unit}."),
        "context": {"retry_after_seconds": secs},
    }])
}

#[tokio::test]
async fn wrong_passwords_back_off_and_the_right_one_gets_in_after_the_delay() {
    let setup = Setup::new().await;
    let (_, slug) = setup.project("Throttled").await;
    let api = Api::new(&setup.server, &slug);

    api.fail("erin@example.com", 5).await;
    // Refused before the password is looked at: the right one too.
    let messages = api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    assert_eq!(messages, throttled_text(1));
    // The identifier is normalized as logins look it up.
    api.refused("  ERIN@example.com", PASSWORD, THROTTLED).await;
    setup.wait(1);
    api.logs_in("erin@example.com").await;

    // The success started the count over: five free failures again.
    api.fail("erin@example.com", 5).await;
    api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    setup.wait(1);
    api.fail("erin@example.com", 1).await;
    // The sixth failure doubled the delay.
    let messages = api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    assert_eq!(messages, throttled_text(2));
    setup.wait(1);
    api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    setup.wait(1);
    api.logs_in("erin@example.com").await;
    setup.server.stop().await;
}

#[tokio::test]
async fn unknown_identifiers_get_the_same_answers() {
    let setup = Setup::new().await;
    let (_, slug) = setup.project("Unknown").await;
    let api = Api::new(&setup.server, &slug);

    api.fail("erin@example.com", 5).await;
    api.fail("nobody@example.com", 5).await;
    let known = api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    let unknown = api.refused("nobody@example.com", PASSWORD, THROTTLED).await;
    assert_eq!(known, unknown, "nothing tells which account exists");
    setup.server.stop().await;
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_throttled() {
    let setup = Setup::new().await;
    let (_, slug) = setup.project("Spray").await;
    let api = Api::new(&setup.server, &slug);

    // One guess each at twenty accounts, from one address (the test's).
    for n in 0..20 {
        api.fail(&format!("user{n}@example.com"), 1).await;
    }
    let messages = api.refused("erin@example.com", PASSWORD, THROTTLED).await;
    assert_eq!(messages, throttled_text(1));
    setup.wait(1);
    api.logs_in("erin@example.com").await;
    // A success does not wipe out the address's failures: the next one
    // after the delay doubles it.
    setup.wait(1);
    api.fail("user20@example.com", 1).await;
    let messages = api.refused("user21@example.com", PASSWORD, THROTTLED).await;
    assert_eq!(messages, throttled_text(2));
    setup.server.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_counts_apart() {
    let mut settings = keyplane_tests::test_settings().await;
    settings.serve.trusted_proxies = vec!["127.0.0.1".into()];
    let setup = Setup::with(settings).await;
    let (_, slug) = setup.project("Proxied").await;
    let sprayer = Api::forwarded_for(&setup.server, &slug, "198.51.100.1");
    for n in 0..20 {
        sprayer.fail(&format!("user{n}@example.com"), 1).await;
    }
    sprayer
        .refused("erin@example.com", PASSWORD, THROTTLED)
        .await;
    // Another client behind the same proxy; the left-most entry, which
    // the client wrote itself, is the same and does not matter.
    Api::forwarded_for(&setup.server, &slug, "198.51.100.2")
        .logs_in("erin@example.com")
        .await;
    setup.server.stop().await;
}

#[tokio::test]
async fn a_project_can_turn_throttling_off() {
    let setup = Setup::new().await;
    let (id, slug) = setup.project("Unthrottled").await;
    let (status, body) = call(
        &setup.server,
        &setup.token,
        Method::PATCH,
        &format!("/projects/{id}"),
        Some(json!([{
            "op": "add",
            "path": "/services/identity/config/selfservice/flows/login/throttle",
            "value": {"enabled": false},
        }])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, project) = call(
        &setup.server,
        &setup.token,
        Method::GET,
        &format!("/projects/{id}"),
        None,
    )
    .await;
    assert_eq!(
        project["services"]["identity"]["config"]["selfservice"]["flows"]["login"]["throttle"],
        json!({"enabled": false}),
        "{project}"
    );

    let api = Api::new(&setup.server, &slug);
    api.fail("erin@example.com", 25).await;
    api.logs_in("erin@example.com").await;
    setup.server.stop().await;
}

#[tokio::test]
async fn another_project_is_not_affected() {
    let setup = Setup::new().await;
    let (_, throttled) = setup.project("One").await;
    let (_, other) = setup.project("Two").await;
    let (one, two) = (
        Api::new(&setup.server, &throttled),
        Api::new(&setup.server, &other),
    );

    one.fail("erin@example.com", 5).await;
    for n in 0..15 {
        one.fail(&format!("user{n}@example.com"), 1).await;
    }
    one.refused("erin@example.com", PASSWORD, THROTTLED).await;
    // Same identifier, same address, another project: counted apart.
    two.fail("erin@example.com", 1).await;
    two.logs_in("erin@example.com").await;
    setup.server.stop().await;
}

#[tokio::test]
async fn browser_logins_go_back_to_the_form_with_the_message() {
    let setup = Setup::new().await;
    let (_, slug) = setup.project("Browser").await;
    let host = tenant_host(&slug);
    let client = reqwest::Client::builder()
        .resolve(&host, setup.server.addr)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = format!("http://{host}:{}", setup.server.addr.port());
    let flow_of = |location: &str| location.rsplit("flow=").next().unwrap().to_owned();
    let login = |password: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let res = client
                .get(format!("{base}/self-service/login/browser"))
                .send()
                .await
                .unwrap();
            let id = flow_of(res.headers()[LOCATION].to_str().unwrap());
            let flow: Value = client
                .get(format!("{base}/self-service/login/flows?id={id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let csrf = flow["ui"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["attributes"]["name"] == "csrf_token")
                .and_then(|n| n["attributes"]["value"].as_str())
                .unwrap()
                .to_owned();
            let res = client
                .post(flow["ui"]["action"].as_str().unwrap())
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("identifier", "erin@example.com"),
                    ("password", password),
                    ("method", "password"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
            let flow: Value = client
                .get(format!(
                    "{base}/self-service/login/flows?id={}",
                    flow_of(&location)
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (location, flow["ui"]["messages"].clone())
        }
    };

    for _ in 0..5 {
        let (location, messages) = login("wrong password!!").await;
        assert!(location.contains("/ui/login?flow="), "{location}");
        assert_eq!(messages[0]["id"], INVALID_CREDENTIALS);
    }
    // Answered as a wrong password is: back to the form, the message on it.
    let (location, messages) = login(PASSWORD).await;
    assert!(location.contains("/ui/login?flow="), "{location}");
    assert_eq!(messages, throttled_text(1));
    setup.wait(1);
    let (location, _) = login(PASSWORD).await;
    assert!(location.ends_with("/ui/welcome"), "{location}");
    setup.server.stop().await;
}
