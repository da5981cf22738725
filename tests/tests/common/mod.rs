//! Shared by the end-to-end test files: the official SDK pointed at an
//! in-process server, as a control-plane caller or as a tenant's client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod chrome;
pub mod hook_receiver;
pub mod second_factor;
pub mod social;

use keyplane_server::RunningServer;
pub use keyplane_tests::Served;
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
pub fn control_plane(server: &impl Served, token: &str) -> Configuration {
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
pub fn tenant_client(server: &impl Served, slug: &str) -> (reqwest::Client, String) {
    let host = tenant_host(slug);
    let client = reqwest::Client::builder()
        .resolve(&host, server.addr())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (client, format!("http://{host}:{}", server.addr().port()))
}

/// The SDK as a client of one tenant.
pub fn tenant(server: &impl Served, slug: &str) -> Configuration {
    let (client, base) = tenant_client(server, slug);
    let mut config = Configuration::new();
    config.base_path = base;
    config.client = client;
    config
}

/// The SDK as the project owner on the tenant's admin API.
pub fn tenant_admin(server: &impl Served, slug: &str, token: &str) -> Configuration {
    let mut config = tenant(server, slug);
    config.bearer_access_token = Some(token.to_owned());
    config
}

/// Registers `email` with `password` through the SDK's API flow.
pub async fn sdk_register(
    cfg: &Configuration,
    email: &str,
    password: &str,
) -> ory_client::models::SuccessfulSelfServiceRegistrationWithoutBrowser {
    use ory_client::apis::v0alpha2_api as api;
    let flow = api::initialize_self_service_registration_flow_without_browser(cfg)
        .await
        .unwrap();
    let body = ory_client::models::SubmitSelfServiceRegistrationFlowBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: password.into(),
        traits: serde_json::json!({ "email": email }),
    };
    api::submit_self_service_registration_flow(cfg, &flow.id, body, None)
        .await
        .unwrap()
}

/// Logs `email` in with `password` through the SDK's API flow.
pub async fn sdk_login(
    cfg: &Configuration,
    email: &str,
    password: &str,
) -> Result<
    ory_client::models::SuccessfulSelfServiceLoginWithoutBrowser,
    ory_client::apis::Error<ory_client::apis::v0alpha2_api::SubmitSelfServiceLoginFlowError>,
> {
    use ory_client::apis::v0alpha2_api as api;
    let flow = api::initialize_self_service_login_flow_without_browser(cfg, None, None, None)
        .await
        .unwrap();
    let body = ory_client::models::SubmitSelfServiceLoginFlowBody::SubmitSelfServiceLoginFlowWithPasswordMethodBody {
        csrf_token: None,
        identifier: email.into(),
        password: password.into(),
        password_identifier: None,
    };
    api::submit_self_service_login_flow(cfg, &flow.id, body, None, None).await
}

/// The id of the first identity schema a tenant serves (its default);
/// None when the request fails or the tenant serves none (e.g. it is not
/// routable yet).
pub async fn default_schema_id(tenant: &Configuration) -> Option<String> {
    let res = tenant
        .client
        .get(format!("{}/schemas", tenant.base_path))
        .send()
        .await
        .ok()?;
    let schemas: serde_json::Value = res.json().await.ok()?;
    schemas[0]["id"].as_str().map(str::to_owned)
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

/// Signs up through the console project's own registration flow (the way
/// people get an account); returns `(account id, session token)`.
pub async fn sign_up(server: &RunningServer, email: &str) -> (String, String) {
    use ory_client::models::SubmitSelfServiceRegistrationFlowBody as RegistrationBody;
    let console = tenant(server, "console");
    let flow =
        ory_client::apis::v0alpha2_api::initialize_self_service_registration_flow_without_browser(
            &console,
        )
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "console passphrase 42".into(),
        traits: serde_json::json!({ "email": email }),
    };
    let ok = ory_client::apis::v0alpha2_api::submit_self_service_registration_flow(
        &console, &flow.id, body, None,
    )
    .await
    .unwrap();
    (ok.identity.id, ok.session_token.unwrap())
}

/// A request with reqwest: `(status, JSON body or Null)`.
async fn send(
    client: reqwest::Client,
    url: String,
    token: &str,
    method: reqwest::Method,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A control-plane call with reqwest: `(status, JSON body or Null)`.
pub async fn call(
    server: &impl Served,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", server.url());
    send(keyplane_tests::client(), url, token, method, body).await
}

/// Sets a project's Keto namespaces (ids from 1, in order) with a JSON
/// Patch through the control plane.
pub async fn set_namespaces(server: &impl Served, token: &str, project: &str, names: &[&str]) {
    let namespaces: Vec<serde_json::Value> = names
        .iter()
        .zip(1..)
        .map(|(name, id)| serde_json::json!({ "id": id, "name": name }))
        .collect();
    let patch = serde_json::json!([{ "op": "replace",
        "path": "/services/permission/config/namespaces", "value": namespaces }]);
    let (status, body) = call(
        server,
        token,
        reqwest::Method::PATCH,
        &format!("/projects/{project}"),
        Some(patch),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Patches a project's identity config: JSON Patch ops whose paths are
/// relative to `/services/identity/config`.
pub async fn patch_identity(
    server: &RunningServer,
    token: &str,
    project: &str,
    ops: serde_json::Value,
) {
    let ops: Vec<serde_json::Value> = ops
        .as_array()
        .expect("an array of ops")
        .iter()
        .map(|op| {
            let mut op = op.clone();
            let path = format!("/services/identity/config{}", op["path"].as_str().unwrap());
            op["path"] = serde_json::json!(path);
            op
        })
        .collect();
    let (status, body) = call(
        server,
        token,
        reqwest::Method::PATCH,
        &format!("/projects/{project}"),
        Some(serde_json::json!(ops)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A tenant admin call with reqwest on the project's host.
pub async fn tenant_call(
    server: &impl Served,
    slug: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let (client, base) = tenant_client(server, slug);
    send(client, format!("{base}{path}"), token, method, body).await
}

/// The newest message to `recipient` as delivered: `(subject, plain text)`.
pub async fn newest_mail(server: &RunningServer, recipient: &str) -> Option<(String, String)> {
    let mail = newest_delivered(server, recipient).await?;
    Some((mail.subject, mail.text))
}

/// The newest message queued for `recipient`, as delivered (waits for the
/// courier). The outbox itself keeps only the redacted text.
pub async fn newest_delivered(
    server: &RunningServer,
    recipient: &str,
) -> Option<keyplane_tests::mail::Delivered> {
    let id = *mail_ids(server, recipient).await.first()?;
    let mail = delivered(server, id).await;
    assert!(
        mail.is_some(),
        "message {id} to {recipient} was not delivered"
    );
    mail
}

/// The outbox ids of the messages to `recipient`, newest first.
pub async fn mail_ids(server: &RunningServer, recipient: &str) -> Vec<uuid::Uuid> {
    use store::sea_orm::ConnectionTrait;
    let db = &server.services.db;
    db.conn
        .query_all_raw(keyplane_tests::statement(
            db,
            "SELECT id FROM courier_messages WHERE recipient = $1 \
             ORDER BY created_at DESC, id DESC",
            [recipient.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "id").unwrap())
        .collect()
}

/// Outbox message `id` as the courier delivered it into the server's mail
/// directory (waits for the delivery).
pub async fn delivered(
    server: &RunningServer,
    id: uuid::Uuid,
) -> Option<keyplane_tests::mail::Delivered> {
    let dir = std::path::PathBuf::from(&server.services.settings.courier.file_dir);
    keyplane_tests::mail::delivered(&dir, id).await
}

/// The invite id and token from an invite e-mail's link.
pub fn invite_link(body: &str) -> (String, String) {
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/invites/") && w.contains("?token="))
        .expect("the mail carries the invite link");
    let (path, token) = link.split_once("?token=").unwrap();
    let id = path.rsplit('/').next().unwrap();
    (id.to_owned(), token.to_owned())
}

/// Invites `email` to `project` as `owner` and accepts the invite as
/// `invitee` (a session or token of that address), with the mailed link.
pub async fn add_member(
    server: &RunningServer,
    owner: &str,
    project: &str,
    email: &str,
    invitee: &str,
) {
    let (status, invite) = call(
        server,
        owner,
        reqwest::Method::POST,
        &format!("/projects/{project}/invites"),
        Some(serde_json::json!({ "invitee_email": email })),
    )
    .await;
    assert_eq!(status, 201, "{invite}");
    let (_, body) = newest_mail(server, email).await.unwrap();
    let (id, token) = invite_link(&body);
    assert_eq!(invite["id"], id.as_str());
    let (status, accepted) = call(
        server,
        invitee,
        reqwest::Method::POST,
        &format!("/invites/{id}/accept"),
        Some(serde_json::json!({ "token": token })),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
}

/// A gRPC channel to the server's gRPC port whose `:authority` is the
/// tenant's host (`tenant_host(slug)`), as Keto clients reach a tenant.
pub async fn grpc_channel(server: &RunningServer, host: &str) -> tonic::transport::Channel {
    let port = server.grpc_addr.port();
    tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .origin(format!("http://{host}:{port}").parse().unwrap())
        .connect()
        .await
        .unwrap()
}

/// A relation tuple in Keto's text form (`ns:object#relation@subject`, the
/// subject a set as `(ns:object#relation)`) as the SDK's query.
pub fn relation_query(text: &str) -> ory_client::models::RelationQuery {
    let tuple: permission::model::RelationTuple = text.parse().unwrap();
    ory_client::models::RelationQuery {
        namespace: Some(tuple.namespace),
        object: Some(tuple.object),
        relation: Some(tuple.relation),
        subject_id: tuple.subject_id,
        subject_set: tuple.subject_set.map(|s| {
            Box::new(ory_client::models::SubjectSet::new(
                s.namespace,
                s.object,
                s.relation,
            ))
        }),
    }
}
