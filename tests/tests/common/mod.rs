//! Shared by the end-to-end test files: the official SDK pointed at an
//! in-process server, as a control-plane caller or as a tenant's client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use keyplane_server::RunningServer;
use ory_client::apis::configuration::Configuration;
use std::time::Duration;

/// A new account's token on this server's database.
pub async fn token_for(server: &RunningServer, email: &str) -> String {
    server
        .services
        .control_plane
        .accounts
        .create_token(email, "test")
        .await
        .unwrap()
        .1
}

/// The SDK as a control-plane caller with `token`.
pub fn control_plane(server: &RunningServer, token: &str) -> Configuration {
    let mut config = Configuration::new();
    config.base_path = server.url();
    config.bearer_access_token = Some(token.to_owned());
    config.client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    config
}

/// The host a project is served at, on this test server.
pub fn tenant_host(slug: &str) -> String {
    format!("{slug}.projects.localhost")
}

/// A reqwest client that resolves the tenant host to the test server, so
/// requests carry the real `Host` header as in production.
pub fn tenant_client(server: &RunningServer, slug: &str) -> (reqwest::Client, String) {
    let host = tenant_host(slug);
    let client = reqwest::Client::builder()
        .resolve(&host, server.addr)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (client, format!("http://{host}:{}", server.addr.port()))
}

/// The SDK as a client of one tenant.
pub fn tenant(server: &RunningServer, slug: &str) -> Configuration {
    let (client, base) = tenant_client(server, slug);
    let mut config = Configuration::new();
    config.base_path = base;
    config.client = client;
    config
}

/// The HTTP status of an SDK error (panics on transport errors).
pub fn status_of<T: std::fmt::Debug>(err: &ory_client::apis::Error<T>) -> u16 {
    match err {
        ory_client::apis::Error::ResponseError(r) => r.status.as_u16(),
        other => panic!("not an HTTP error: {other:?}"),
    }
}

/// The Ory error body of an SDK error.
pub fn body_of<T: std::fmt::Debug>(err: &ory_client::apis::Error<T>) -> serde_json::Value {
    match err {
        ory_client::apis::Error::ResponseError(r) => serde_json::from_str(&r.content).unwrap(),
        other => panic!("not an HTTP error: {other:?}"),
    }
}

/// A fresh server and an account on it: `(server, token, SDK config)`.
pub async fn owner() -> (RunningServer, String, Configuration) {
    let server = keyplane_tests::spawn_default().await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    (server, token, cp)
}

/// Creates a project through the SDK.
pub async fn create_project(cp: &Configuration, name: &str) -> ory_client::models::Project {
    ory_client::apis::v0alpha2_api::create_project(
        cp,
        Some(ory_client::models::CreateProjectBody::new(name.into())),
    )
    .await
    .unwrap()
}
