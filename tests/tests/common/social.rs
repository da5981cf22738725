//! A browser for social sign-in tests (reqwest with cookies, redirects
//! followed by hand) and a project whose `acme` provider is a real OpenID
//! provider (`keyplane_tests::oidc_provider`).

use super::*;
use base64::Engine as _;
use keyplane_server::RunningServer;
use keyplane_tests::oidc_provider::{Client, OidcProvider, follow_redirects_until};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

pub const SECRET: &str = "a-client-secret-of-some-length";
pub const MAPPER: &str =
    "local claims = std.extVar('claims');\n{ identity: { traits: { email: claims.email } } }";

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(server: &RunningServer, slug: &str) -> Self {
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

    pub fn callback_prefix(&self, provider: &str) -> String {
        format!(
            "{}/self-service/methods/oidc/callback/{provider}",
            self.base
        )
    }

    /// Starts a browser flow of `kind` and picks `provider`: where the
    /// tenant sends the browser (the provider's authorization URL).
    pub async fn choose(&self, kind: &str, provider: &str) -> String {
        let flow = self.flow(kind).await;
        assert!(
            node_values(&flow, "provider").iter().any(|p| p == provider),
            "one button per provider: {flow}"
        );
        let res = self
            .submit(&flow, &[("method", "oidc"), ("provider", provider)])
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            res.text().await.unwrap()
        );
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The provider's answer for `login_hint`, as the URL it redirects to.
    pub async fn answer(&self, authorize: &str, login_hint: &str, provider: &str) -> url::Url {
        let url = format!("{authorize}&login_hint={login_hint}");
        follow_redirects_until(&self.client, &url, &self.callback_prefix(provider)).await
    }

    /// Follows the callback: where the tenant sends the browser next.
    pub async fn callback(&self, url: &url::Url) -> String {
        let res = self.client.get(url.clone()).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            res.text().await.unwrap()
        );
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    pub async fn whoami(&self) -> (StatusCode, Value) {
        let res = self
            .client
            .get(format!("{}/sessions/whoami", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The messages of the flow a `/ui/<kind>?flow=` location shows.
    pub async fn messages(&self, location: &str) -> String {
        let (path, id) = location.split_once("?flow=").expect("a flow page");
        let kind = path.rsplit('/').next().unwrap();
        let res = self
            .client
            .get(format!("{}/self-service/{kind}/flows?id={id}", self.base))
            .send()
            .await
            .unwrap();
        let flow: Value = res.json().await.unwrap();
        flow["ui"]["messages"].to_string()
    }
}

/// A project whose `acme` provider is `provider`, with the e-mail mapper.
pub async fn project_with_provider(
    server: &RunningServer,
    token: &str,
    cp: &ory_client::apis::configuration::Configuration,
    name: &str,
    provider: &OidcProvider,
    mapper: &str,
) -> ory_client::models::Project {
    let project = create_project(cp, name).await;
    let mapper = format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(mapper)
    );
    patch_identity(
        server,
        token,
        &project.id,
        json!([
            {"op": "replace", "path": "/selfservice/methods/oidc/enabled", "value": true},
            {"op": "add", "path": "/selfservice/methods/oidc/config", "value": {"providers": [{
                "id": "acme", "provider": "generic", "client_id": format!("kp-{}", project.slug),
                "client_secret": SECRET, "issuer_url": provider.issuer, "mapper_url": mapper,
                "scope": ["email", "profile"]
            }]}},
        ]),
    )
    .await;
    project
}

pub fn client_for(server: &RunningServer, slug: &str) -> Client {
    let redirect = format!(
        "http://{}:{}/self-service/methods/oidc/callback/acme",
        tenant_host(slug),
        server.addr.port()
    );
    Client::new(&format!("kp-{slug}"), SECRET, &redirect)
}

/// A project (`name`, with `mapper`) and a running provider that knows
/// its client, with `accounts`: the project is made first, as the
/// provider must know the tenant's redirect URI, which holds the slug.
pub async fn project_and_provider(
    server: &RunningServer,
    token: &str,
    cp: &ory_client::apis::configuration::Configuration,
    name: &str,
    mapper: &str,
    accounts: &[keyplane_tests::oidc_provider::Account],
) -> (ory_client::models::Project, OidcProvider) {
    let placeholder = OidcProvider::start(&[], &[]).await;
    let project = project_with_provider(server, token, cp, name, &placeholder, mapper).await;
    let provider = OidcProvider::start(&[client_for(server, &project.slug)], accounts).await;
    patch_identity(
        server,
        token,
        &project.id,
        json!([{"op": "replace", "path": "/selfservice/methods/oidc/config/providers/0/issuer_url", "value": provider.issuer}]),
    )
    .await;
    (project, provider)
}

impl Browser {
    /// A browser flow of `kind` (`login`, `registration`, `settings`) as JSON.
    pub async fn flow(&self, kind: &str) -> Value {
        let res = self
            .client
            .get(format!("{}/self-service/{kind}/browser", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Posts `fields` (and the flow's anti-CSRF token) as the form of
    /// `flow`: the tenant's answer, redirects not followed.
    pub async fn submit(&self, flow: &Value, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = node_values(flow, "csrf_token").remove(0);
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(flow["ui"]["action"].as_str().unwrap())
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in with a password, as the login form would.
    pub async fn password_login(&self, email: &str, password: &str) {
        let flow = self.flow("login").await;
        let res = self
            .submit(
                &flow,
                &[
                    ("method", "password"),
                    ("identifier", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(self.whoami().await.0, 200);
    }

    /// Signs out (the browser's session cookie goes).
    pub async fn sign_out(&self) {
        let res = self
            .client
            .get(format!("{}/self-service/logout/browser", self.base))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        let res = self
            .client
            .get(body["logout_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(self.whoami().await.0, 401);
    }
}

/// The value of every node of `flow` named `name`.
pub fn node_values(flow: &Value, name: &str) -> Vec<String> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["attributes"]["name"] == name)
        .filter_map(|n| n["attributes"]["value"].as_str().map(str::to_owned))
        .collect()
}
