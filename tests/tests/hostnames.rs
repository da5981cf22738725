//! Custom hostnames: CRUD with its validation, CNAME verification against a
//! real DNS server on loopback (`keyplane_tests::dns_fake`), routing and
//! cookies on the custom host, CORS preflights allowed and refused, the
//! plan's custom-domain quota, and a second project claiming the host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_server::RunningServer;
use keyplane_tests::dns_fake::FakeDns;
use keyplane_tests::eventually;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn start(dns: &FakeDns) -> (RunningServer, String) {
    let mut settings = keyplane_tests::test_settings().await;
    settings.hostnames.dns.nameservers = vec![dns.addr().to_string()];
    settings.hostnames.dns.timeout_ms = 1_000;
    let server = keyplane_tests::spawn(settings).await;
    let owner = token_for(&server, "owner@example.com").await;
    (server, owner)
}

async fn put_on_plan(server: &RunningServer, owner: &str, project: &str, plan: &str) {
    let (_, me) = call(server, owner, Method::GET, "/me", None).await;
    let (status, body) = call(
        server,
        owner,
        Method::POST,
        "/subscriptions/mock",
        Some(json!({ "plan_or_price": plan, "identity_id": me["id"], "project_id": project })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// A client that sends `host` to the test server.
fn client_for(server: &RunningServer, host: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .resolve(host, server.addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (client, format!("http://{host}:{}", server.addr.port()))
}

/// The status of `GET /sessions/whoami` on `url`: 401 when a tenant
/// serves the host (no session sent), anything else when none does.
async fn whoami_status(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(format!("{url}/sessions/whoami"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_verified_hostname_serves_the_project_with_its_cookie_domain_and_cors() {
    let dns = FakeDns::start().await;
    let (server, owner) = start(&dns).await;
    let cp = control_plane(&server, &owner);
    let project = create_project(&cp, "custom host").await;
    let p = project.id.as_str();
    let base = format!("/projects/{p}/hostnames");

    // The free plan has no custom domain.
    let (status, quota) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/quotas/custom-domains"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        quota,
        json!({ "available_domains": 0, "used_domains": 0, "can_use": false })
    );
    let body = json!({
        "hostname": "Auth.Shop-Example.com",
        "cookie_domain": "shop-example.com",
        "cors_enabled": true,
        "cors_allowed_origins": ["https://www.shop-example.com", "https://*.apps.shop-example.com"]
    });
    let (status, err) = call(&server, &owner, Method::POST, &base, Some(body.clone())).await;
    assert_eq!(status, 402, "{err}");
    assert!(
        err["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("custom domains"),
        "{err}"
    );

    put_on_plan(&server, &owner, p, "start_up_monthly").await;
    let (status, created) = call(&server, &owner, Method::POST, &base, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    // The published SDK's models read the answers.
    let sdk: ory_client::models::CnameSettings = serde_json::from_value(created.clone()).unwrap();
    assert_eq!(sdk.hostname.as_deref(), Some("auth.shop-example.com"));
    assert_eq!(sdk.cookie_domain.as_deref(), Some("shop-example.com"));
    assert_eq!(created["hostname"], "auth.shop-example.com");
    assert_eq!(created["verification_status"], "pending");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, quota) = call(
        &server,
        &owner,
        Method::GET,
        &format!("/projects/{p}/quotas/custom-domains"),
        None,
    )
    .await;
    assert_eq!(
        quota,
        json!({ "available_domains": 1, "used_domains": 1, "can_use": false })
    );
    let sdk_quota: ory_client::models::QuotaCustomDomains = serde_json::from_value(quota).unwrap();
    assert_eq!(
        (
            sdk_quota.available_domains,
            sdk_quota.used_domains,
            sdk_quota.can_use
        ),
        (Some(1), Some(1), Some(false))
    );

    // Not served before it is verified.
    let (client, url) = client_for(&server, "auth.shop-example.com");
    assert_ne!(
        whoami_status(&client, &url).await,
        401,
        "an unverified host reaches no tenant"
    );

    // No record yet: still pending, saying what to do.
    let verify = format!("{base}/{id}/verify");
    let (status, checked) = call(&server, &owner, Method::POST, &verify, None).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["verification_status"], "pending");
    let expected = format!("{}.projects.localhost", project.slug);
    assert!(
        checked["verification_errors"][0]
            .as_str()
            .unwrap()
            .contains(&expected),
        "{checked}"
    );

    // A wrong CNAME: failed, naming what was found.
    dns.set_cname("auth.shop-example.com", "elsewhere.example.net");
    let (_, checked) = call(&server, &owner, Method::POST, &verify, None).await;
    assert_eq!(checked["verification_status"], "failed");
    assert!(
        checked["verification_errors"][0]
            .as_str()
            .unwrap()
            .contains("elsewhere.example.net"),
        "{checked}"
    );

    // The right one: active, routed, listed in the project's hosts.
    dns.set_cname(
        "auth.shop-example.com",
        &format!("{}.", expected.to_uppercase()),
    );
    let (_, checked) = call(&server, &owner, Method::POST, &verify, None).await;
    assert_eq!(checked["verification_status"], "active", "{checked}");
    assert_eq!(checked["verification_errors"], json!([]));
    let routed = eventually(Duration::from_secs(5), || async {
        whoami_status(&client, &url).await == 401
    })
    .await;
    assert!(
        routed.is_some(),
        "the custom host runs in the project's tenant"
    );
    let (_, projects) = call(&server, &owner, Method::GET, "/projects", None).await;
    assert!(
        projects[0]["hosts"]
            .as_array()
            .unwrap()
            .contains(&json!("auth.shop-example.com")),
        "{projects}"
    );

    // Sessions set there carry the cookie domain.
    let res = client
        .get(format!("{url}/self-service/login/browser"))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("csrf_token_") && c.contains("Domain=shop-example.com")),
        "{cookies:?}"
    );
    // Its flow URLs point at the custom host.
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, flow) = {
        let res = client
            .get(format!("{url}/self-service/login/browser"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200, "{flow} {location:?}");
    assert!(
        flow["ui"]["action"]
            .as_str()
            .unwrap()
            .starts_with("https://auth.shop-example.com/"),
        "{flow}"
    );
    // The slug host stays host-only.
    let (slug_client, slug_url) = client_for(&server, &tenant_host(&project.slug));
    let res = slug_client
        .get(format!("{slug_url}/self-service/login/browser"))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("Domain="))
    );

    // CORS: an allowed origin's preflight gets the headers, others none.
    let preflight = |origin: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .request(Method::OPTIONS, format!("{url}/sessions/whoami"))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "GET")
                .header("Access-Control-Request-Headers", "x-session-token")
                .send()
                .await
                .unwrap()
        }
    };
    let ok = preflight("https://www.shop-example.com").await;
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://www.shop-example.com"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    assert_eq!(
        ok.headers()["access-control-allow-headers"],
        "x-session-token"
    );
    let wildcard = preflight("https://eu.apps.shop-example.com").await;
    assert_eq!(
        wildcard.headers()["access-control-allow-origin"],
        "https://eu.apps.shop-example.com"
    );
    for refused in [
        "https://evil.example",
        "http://www.shop-example.com",
        "https://apps.shop-example.com",
    ] {
        let res = preflight(refused).await;
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{refused}"
        );
    }
    let res = client
        .get(format!("{url}/sessions/whoami"))
        .header("Origin", "https://www.shop-example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://www.shop-example.com"
    );

    // The CNAME disappears: the next check takes the host out of service.
    dns.remove("auth.shop-example.com");
    assert_eq!(
        server
            .services
            .control_plane
            .hostnames
            .check_all()
            .await
            .unwrap(),
        1
    );
    let (_, list) = call(&server, &owner, Method::GET, &base, None).await;
    assert_eq!(list[0]["verification_status"], "failed", "{list}");
    let gone = eventually(Duration::from_secs(5), || async {
        whoami_status(&client, &url).await != 401
    })
    .await;
    assert!(
        gone.is_some(),
        "a host that lost its CNAME is no longer served"
    );
    server.stop().await;
}

#[tokio::test]
async fn hostnames_are_validated_unique_and_managed_by_owners_and_developers() {
    let dns = FakeDns::start().await;
    let (server, owner) = start(&dns).await;
    let cp = control_plane(&server, &owner);
    let first = create_project(&cp, "first").await;
    let second = create_project(&cp, "second").await;
    put_on_plan(&server, &owner, &first.id, "custom").await;
    put_on_plan(&server, &owner, &second.id, "custom").await;
    let base = format!("/projects/{}/hostnames", first.id);

    let too_many: Vec<String> = (0..51)
        .map(|i| format!("https://a{i}.example.com"))
        .collect();
    for (body, field) in [
        (json!({}), "hostname"),
        (json!({ "hostname": "not a host" }), "hostname"),
        (json!({ "hostname": "x.projects.localhost" }), "hostname"),
        (json!({ "hostname": "co.uk" }), "hostname"),
        (json!({ "hostname": "127.0.0.1" }), "hostname"),
        (
            json!({ "hostname": "auth.example.com", "cookie_domain": "other.com" }),
            "cookie_domain",
        ),
        (
            json!({ "hostname": "auth.example.co.uk", "cookie_domain": "co.uk" }),
            "cookie_domain",
        ),
        (
            json!({ "hostname": "auth.example.com", "cors_allowed_origins": ["*"] }),
            "cors_allowed_origins",
        ),
        (
            json!({ "hostname": "auth.example.com", "cors_allowed_origins": ["null"] }),
            "cors_allowed_origins",
        ),
        (
            json!({ "hostname": "auth.example.com", "cors_allowed_origins": ["http://app.example.com"] }),
            "cors_allowed_origins",
        ),
        (
            json!({ "hostname": "auth.example.com", "cors_allowed_origins": too_many }),
            "cors_allowed_origins",
        ),
    ] {
        let (status, err) = call(&server, &owner, Method::POST, &base, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["error"]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{body}: {err}"
        );
    }
    let (_, list) = call(&server, &owner, Method::GET, &base, None).await;
    assert_eq!(list, json!([]), "refusals store nothing");

    let (status, created) = call(
        &server,
        &owner,
        Method::POST,
        &base,
        Some(json!({ "hostname": "login.example.com" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["cookie_domain"], "login.example.com");
    assert_eq!(created["cors_enabled"], false);
    let id = created["id"].as_str().unwrap().to_owned();

    // Unique across projects.
    let (status, err) = call(
        &server,
        &owner,
        Method::POST,
        &format!("/projects/{}/hostnames", second.id),
        Some(json!({ "hostname": "LOGIN.example.com" })),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    // Another project's id does not reach this hostname.
    let (status, _) = call(
        &server,
        &owner,
        Method::DELETE,
        &format!("/projects/{}/hostnames/{id}", second.id),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // A developer manages hostnames; a viewer and a stranger may not.
    let (_, dev) = sign_up(&server, "dev@example.com").await;
    add_member(&server, &owner, &first.id, "dev@example.com", &dev).await;
    let (_, dev_me) = call(&server, &dev, Method::GET, "/me", None).await;
    let member_path = format!(
        "/projects/{}/members/{}",
        first.id,
        dev_me["id"].as_str().unwrap()
    );
    call(
        &server,
        &owner,
        Method::PUT,
        &member_path,
        Some(json!({ "role": "DEVELOPER" })),
    )
    .await;
    let (status, updated) = call(
        &server,
        &dev,
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "cors_enabled": true, "cors_allowed_origins": ["https://app.example.com"] })),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["cors_enabled"], true);
    assert_eq!(updated["hostname"], "login.example.com");
    call(
        &server,
        &owner,
        Method::PUT,
        &member_path,
        Some(json!({ "role": "VIEWER" })),
    )
    .await;
    let (status, _) = call(&server, &dev, Method::GET, &base, None).await;
    assert_eq!(status, 403);
    let stranger = token_for(&server, "stranger@example.com").await;
    let (status, _) = call(&server, &stranger, Method::GET, &base, None).await;
    assert_eq!(status, 404);

    // A new hostname starts verification again; deleting frees the name.
    dns.set_cname(
        "login.example.com",
        &format!("{}.projects.localhost", first.slug),
    );
    let (_, checked) = call(
        &server,
        &owner,
        Method::POST,
        &format!("{base}/{id}/verify"),
        None,
    )
    .await;
    assert_eq!(checked["verification_status"], "active");
    let (status, moved) = call(
        &server,
        &owner,
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "hostname": "signin.example.com" })),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["verification_status"], "pending");
    assert_eq!(moved["cookie_domain"], "signin.example.com");
    let (status, _) = call(
        &server,
        &owner,
        Method::DELETE,
        &format!("{base}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &server,
        &owner,
        Method::POST,
        &format!("/projects/{}/hostnames", second.id),
        Some(json!({ "hostname": "signin.example.com" })),
    )
    .await;
    assert_eq!(status, 201);
    server.stop().await;
}
