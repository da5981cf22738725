//! Tenant rate limits (docs/billing.md): off by default (the rest of the
//! suite runs so, as a new user's server does); when turned on, the free
//! plan's buckets let a person and an SDK test run through untouched, a
//! burst above a bucket is refused and refills, and a better plan lifts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use kernel::rate_limit::BucketLimit;
use reqwest::Method;
use serde_json::{Value, json};

/// The free plan's default figures with limits on: what a developer does
/// in their first minutes — an SDK-style run of about 80 calls over the
/// public, admin and permission APIs as fast as one client sends them —
/// never meets a 429.
#[tokio::test]
async fn the_free_plan_lets_an_sdk_run_through() {
    let mut settings = keyplane_tests::test_settings().await;
    settings.rate_limit.enabled = Some(true);
    let server = keyplane_tests::spawn(settings).await;
    let owner = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &owner);
    let project = create_project(&cp, "quick").await;
    let (status, _) = call(
        &server,
        &owner,
        Method::PATCH,
        &format!("/projects/{}", project.id),
        Some(
            json!([{"op": "add", "path": "/services/permission/config/namespaces/-",
                     "value": {"id": 1, "name": "files"}}]),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (client, base) = tenant_client(&server, &project.slug);
    let mut statuses = Vec::new();
    for i in 0..10 {
        let steps: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, "/self-service/login/api".into(), None),
            (Method::GET, "/self-service/registration/api".into(), None),
            (Method::GET, "/schemas".into(), None),
            (Method::GET, "/sessions/whoami".into(), None),
            (
                Method::POST,
                "/admin/identities".into(),
                Some(json!({"schema_id": "default",
                            "traits": {"email": format!("user{i}@example.com")}})),
            ),
            (Method::GET, "/admin/identities".into(), None),
            (
                Method::PUT,
                "/admin/relation-tuples".into(),
                Some(
                    json!({"namespace": "files", "object": "doc", "relation": "viewer",
                            "subject_id": format!("user{i}")}),
                ),
            ),
            (
                Method::GET,
                format!(
                    "/relation-tuples/check/openapi?namespace=files&object=doc&relation=viewer&subject_id=user{i}"
                ),
                None,
            ),
        ];
        for (method, path, body) in steps {
            let mut req = client
                .request(method, format!("{base}{path}"))
                .bearer_auth(&owner);
            if let Some(body) = body {
                req = req.json(&body);
            }
            statuses.push((path, req.send().await.unwrap().status().as_u16()));
        }
    }
    assert_eq!(statuses.len(), 80);
    let throttled: Vec<_> = statuses.iter().filter(|(_, s)| *s == 429).collect();
    assert!(throttled.is_empty(), "{throttled:?}");
    server.stop().await;
}

/// With limits turned on, the plan sizes each bucket: a burst above the
/// bucket is refused with 429 and `Retry-After`, the bucket refills at its
/// sustained rate, and a better plan lifts the limit at once. The free
/// plan's figure is set small here (every figure is a setting) so the test
/// needs no flood.
#[tokio::test]
async fn the_plan_sizes_the_tenant_rate_limits() {
    let mut settings = keyplane_tests::test_settings().await;
    settings.rate_limit.enabled = Some(true);
    settings.rate_limit.plans.free.kratos_public_low = BucketLimit::new(60, 5);
    let server = keyplane_tests::spawn(settings).await;
    let owner = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &owner);
    let project = create_project(&cp, "limits").await;
    let (client, base) = tenant_client(&server, &project.slug);
    let init_login = || {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/self-service/login/api"))
                .send()
                .await
                .unwrap()
        }
    };
    // A bucket of 5: five at once pass, the sixth is refused.
    for n in 1..=5 {
        assert_eq!(init_login().await.status(), 200, "request {n} of the burst");
    }
    let refused = init_login().await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429, "{body}");
    assert_eq!(body["error"]["id"], "rate_limit_exceeded", "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("kratos-public-low"),
        "{body}"
    );
    // Other buckets are counted apart; health probes never.
    for _ in 0..20 {
        let res = client
            .get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let whoami = client
        .get(format!("{base}/sessions/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        whoami.status(),
        401,
        "kratos-public-high has its own bucket"
    );
    // One token a second: after a second one more passes, then none.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(init_login().await.status(), 200, "refilled");
    assert_eq!(init_login().await.status(), 429, "only one token back");

    // The custom plan's bucket (default figures) takes a burst of 30.
    let me = call(&server, &owner, Method::GET, "/me", None).await.1;
    let (status, _) = call(
        &server,
        &owner,
        Method::POST,
        "/subscriptions/mock",
        Some(
            json!({ "plan_or_price": "custom", "identity_id": me["id"], "project_id": project.id }),
        ),
    )
    .await;
    assert_eq!(status, 201);
    for n in 1..=30 {
        assert_eq!(init_login().await.status(), 200, "request {n} on custom");
    }
    server.stop().await;
}
