//! The world the requests run in: a server with a project under test
//! (identities, a session, flows, tuples, an invite, a hostname, a plan),
//! a scratch project whose configuration the cases
//! rewrite, one they may purge, and a bystander project of another
//! account that must come out unchanged.

use super::cases::{Creds, Hosts};
use super::values::Known;
use crate::common::*;
use keyplane_server::RunningServer;
use keyplane_tests::dns_fake::FakeDns;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

pub struct World {
    pub server: RunningServer,
    _dns: FakeDns,
    pub known: Known,
    pub hosts: Hosts,
    pub creds: Creds,
    /// The project under test: `(id, slug, API key)`.
    pub tenant: (String, String, String),
    pub bystander: Bystander,
}

pub struct Bystander {
    account: String,
    project: String,
    slug: String,
    key: String,
    identity: String,
    session: String,
}

/// Someone calling the server: on the control plane (`slug` None) or a
/// project's host, with `token` (empty: none).
#[derive(Clone, Copy)]
struct Who<'a> {
    server: &'a RunningServer,
    slug: Option<&'a str>,
    token: &'a str,
}

impl Who<'_> {
    /// A JSON call that must answer `expect`.
    async fn must(&self, method: Method, path: &str, body: Option<Value>, expect: u16) -> Value {
        let (s, token) = (self.server, self.token);
        let (status, answer) = match self.slug {
            Some(slug) => tenant_call(s, slug, token, method.clone(), path, body).await,
            None => call(s, token, method.clone(), path, body).await,
        };
        assert_eq!(status, expect, "{method} {path}: {answer}");
        answer
    }

    async fn get(&self, path: &str) -> Value {
        self.must(Method::GET, path, None, 200).await
    }
}

fn on<'a>(server: &'a RunningServer, slug: Option<&'a str>, token: &'a str) -> Who<'a> {
    Who {
        server,
        slug,
        token,
    }
}

#[track_caller]
fn text(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => panic!("not a string: {value}"),
    }
}

/// A project of `account` with two namespaces and an API key:
/// `(id, slug, key)`.
async fn project(server: &RunningServer, account: &str, name: &str) -> (String, String, String) {
    let cp = on(server, None, account);
    let p = cp
        .must(
            Method::POST,
            "/projects",
            Some(json!({ "name": name })),
            201,
        )
        .await;
    let id = text(&p["id"]);
    let namespaces = json!([{ "op": "replace", "path": "/services/permission/config/namespaces",
        "value": [{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }] }]);
    cp.must(
        Method::PATCH,
        &format!("/projects/{id}"),
        Some(namespaces),
        200,
    )
    .await;
    let body = Some(json!({ "name": "fuzz" }));
    let key = cp
        .must(Method::POST, &format!("/projects/{id}/tokens"), body, 201)
        .await;
    (id, text(&p["slug"]), text(&key["value"]))
}

/// Signs `email` up on a project through the API flow: `(identity id,
/// session token, session id)`.
async fn register(server: &RunningServer, slug: &str, email: &str) -> (String, String, String) {
    let anyone = on(server, Some(slug), "");
    let flow = anyone.get("/self-service/registration/api").await;
    let body = json!({ "method": "password", "password": "correct horse battery staple 42",
        "traits": { "email": email } });
    let path = format!("/self-service/registration?flow={}", text(&flow["id"]));
    let ok = anyone.must(Method::POST, &path, Some(body), 200).await;
    let ids = (
        &ok["identity"]["id"],
        &ok["session_token"],
        &ok["session"]["id"],
    );
    (text(ids.0), text(ids.1), text(ids.2))
}

/// A tuple `files:<object>#viewer@<subject>`, written with `admin`.
async fn tuple(admin: Who<'_>, object: &str, subject: &str) {
    let t = json!({ "namespace": "files", "object": object, "relation": "viewer",
                    "subject_id": subject });
    admin
        .must(Method::PUT, "/admin/relation-tuples", Some(t), 201)
        .await;
}

pub async fn build() -> World {
    let dns = FakeDns::start().await;
    let mut settings = keyplane_tests::test_settings().await;
    settings.hostnames.dns.nameservers = vec![dns.addr().to_string()];
    settings.hostnames.dns.timeout_ms = 500;
    let server = keyplane_tests::spawn(settings).await;
    let owner = token_for(&server, "owner@example.com").await;
    let other = token_for(&server, "bystander@example.com").await;
    let s = &server;
    let cp = on(s, None, &owner);

    let (a, a_slug, a_key) = project(s, &owner, "Fuzz").await;
    let (c, c_slug, c_key) = project(s, &owner, "Scratch").await;
    let (d, _, _) = project(s, &owner, "Doomed").await;
    let (b, b_slug, b_key) = project(s, &other, "Bystander").await;

    let post = |path: String, body: Value| async move {
        cp.must(Method::POST, &path, Some(body), 201).await
    };
    let spare = post(format!("/projects/{a}/tokens"), json!({ "name": "spare" })).await;
    let me = cp.get("/me").await;
    let plan = json!({ "plan_or_price": "start_up_monthly", "identity_id": me["id"],
                       "project_id": a });
    let sub = post("/subscriptions/mock".into(), plan).await;
    let host = json!({ "hostname": "auth.fuzz-example.com", "cookie_domain": "fuzz-example.com" });
    let hostname = post(format!("/projects/{a}/hostnames"), host).await;
    let invitee = json!({ "invitee_email": "invitee@example.com" });
    let invite = post(format!("/projects/{a}/invites"), invitee).await;
    let members = cp.get(&format!("/projects/{a}/members")).await;
    let revisions = cp.get(&format!("/projects/{c}/revisions")).await;

    let (ada, session, session_id) = register(s, &a_slug, "ada@example.com").await;
    let admin = on(s, Some(&a_slug), &a_key);
    let bob = json!({ "schema_id": "default", "traits": { "email": "bob@example.com" } });
    let created = admin
        .must(Method::POST, "/admin/identities", Some(bob), 201)
        .await;
    tuple(admin, "readme", "ann").await;
    let mut known: Known = HashMap::new();
    let mut put = |role: &str, values: Vec<String>| {
        known.insert(role.to_owned(), values);
    };
    put("project", vec![a.clone()]);
    put("scratch", vec![c]);
    put("doomed", vec![d]);
    put("token_id", vec![text(&spare["id"])]);
    put("subscription_id", vec![text(&sub["id"])]);
    put("hostname_id", vec![text(&hostname["id"])]);
    put("invite_id", vec![text(&invite["id"])]);
    let members = members.as_array().unwrap().iter();
    put("member_id", members.map(|m| text(&m["id"])).collect());
    put("revision_id", vec![text(&revisions[0]["id"])]);
    put("identity", vec![ada, text(&created["id"])]);
    put("session", vec![session_id]);
    put("session_token", vec![session.clone()]);
    put("schema", vec!["default".into()]);
    put(
        "email",
        vec!["ada@example.com".into(), "bob@example.com".into()],
    );
    for kind in ["login", "registration", "recovery", "verification"] {
        let flow = on(s, Some(&a_slug), "")
            .get(&format!("/self-service/{kind}/api"))
            .await;
        put(&format!("flow:{kind}"), vec![text(&flow["id"])]);
    }
    let (client, base) = tenant_client(s, &a_slug);
    let settings = client.get(format!("{base}/self-service/settings/api"));
    let flow: Value = settings
        .header("X-Session-Token", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    put("flow:settings", vec![text(&flow["id"])]);

    let (b_identity, b_session, _) = register(s, &b_slug, "carol@example.com").await;
    tuple(on(s, Some(&b_slug), &b_key), "readme", "ann").await;
    let port = s.addr.port();
    let hosts = Hosts {
        tenant: format!("{}:{port}", tenant_host(&a_slug)),
        scratch: format!("{}:{port}", tenant_host(&c_slug)),
        console: format!("{}:{port}", tenant_host("console")),
        unknown: format!("{}:{port}", tenant_host("no-such-project-0000000000")),
        control_plane: format!("127.0.0.1:{port}"),
    };
    let creds = Creds {
        owner: owner.clone(),
        keys: HashMap::from([
            (hosts.tenant.clone(), a_key.clone()),
            (hosts.scratch.clone(), c_key.clone()),
        ]),
        session,
        wrong: vec![
            "nonsense".into(),
            b_key.clone(),
            b_session.clone(),
            other.clone(),
            format!("kp_{}", uuid::Uuid::new_v4().simple()),
            String::new(),
            "x".repeat(6000),
        ],
    };
    World {
        server,
        _dns: dns,
        known,
        hosts,
        creds,
        tenant: (a, a_slug, a_key),
        bystander: Bystander {
            account: other,
            project: b,
            slug: b_slug,
            key: b_key,
            identity: b_identity,
            session: b_session,
        },
    }
}

impl World {
    /// What the bystander project holds: identities, sessions, tuples,
    /// configuration, keys and members.
    pub async fn bystander_state(&self) -> Value {
        let b = &self.bystander;
        let s = &self.server;
        let tenant = |path: String| async move {
            tenant_call(s, &b.slug, &b.key, Method::GET, &path, None).await
        };
        let cp = |path: String| async move { call(s, &b.account, Method::GET, &path, None).await };
        let (client, base) = tenant_client(s, &b.slug);
        let whoami = client
            .get(format!("{base}/sessions/whoami"))
            .header("X-Session-Token", &b.session)
            .send()
            .await
            .unwrap();
        json!({
            "identities": tenant("/admin/identities".into()).await,
            "sessions": tenant(format!("/admin/identities/{}/sessions", b.identity)).await,
            "tuples": tenant("/relation-tuples?namespace=files".into()).await,
            "whoami": whoami.status().as_u16(),
            "project": cp(format!("/projects/{}", b.project)).await,
            "revisions": cp(format!("/projects/{}/revisions", b.project)).await,
            "tokens": cp(format!("/projects/{}/tokens", b.project)).await,
            "members": cp(format!("/projects/{}/members", b.project)).await,
        })
    }

    /// The server still serves: health on both sides, and an identity and
    /// a tuple written and read back on the project under test.
    pub async fn still_works(&self) {
        let s = &self.server;
        let (_, slug, key) = &self.tenant;
        for path in ["/health/alive", "/health/ready"] {
            let (status, body) = call(s, "", Method::GET, path, None).await;
            assert_eq!(status, 200, "after the run: {path}: {body}");
            let (status, body) = tenant_call(s, slug, "", Method::GET, path, None).await;
            assert_eq!(status, 200, "after the run: tenant {path}: {body}");
        }
        let admin = on(s, Some(slug), key);
        let after = json!({ "schema_id": "default", "traits": { "email": "after@example.com" } });
        let created = admin
            .must(Method::POST, "/admin/identities", Some(after), 201)
            .await;
        let read = admin
            .get(&format!("/admin/identities/{}", text(&created["id"])))
            .await;
        assert_eq!(read["traits"]["email"], "after@example.com");
        tuple(admin, "after", "zed").await;
        let check =
            "/relation-tuples/check?namespace=files&object=after&relation=viewer&subject_id=zed";
        let allowed = admin.get(check).await;
        assert_eq!(allowed["allowed"], true, "after the run: {allowed}");
    }
}
