//! The operational surface of a real server: health, version, metrics,
//! request ids, JSON errors for unknown routes and methods, and Redis
//! outages that must not stop the server from serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::{
    PrivateRedis, client, eventually, free_port, spawn, spawn_default, test_settings,
};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn health_version_and_metrics() {
    let server = spawn_default().await;
    let http = client();
    let alive = http
        .get(format!("{}/health/alive", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    assert_eq!(alive.json::<Value>().await.unwrap()["status"], "ok");

    let ready = http
        .get(format!("{}/health/ready", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let version: Value = http
        .get(format!("{}/version", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));

    let metrics = http
        .get(format!("{}/metrics/prometheus", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"http_requests_total{method="GET",route="/health/alive",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    server.stop().await;
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_echoed() {
    let server = spawn_default().await;
    let http = client();
    let res = http
        .get(format!("{}/health/alive", server.url()))
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");

    let res = http
        .get(format!("{}/health/alive", server.url()))
        .send()
        .await
        .unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&made).is_ok(),
        "a fresh id is a UUID: {made}"
    );

    let res = http
        .get(format!("{}/no/such/route", server.url()))
        .header("X-Request-Id", "err-req-1")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["request"], "err-req-1",
        "errors carry the request id"
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_ory_json_errors() {
    let server = spawn_default().await;
    let http = client();
    let res = http
        .get(format!("{}/does-not-exist", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "Not Found");
    assert!(body["error"]["message"].is_string());

    let res = http
        .delete(format!("{}/health/alive", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 405);
    server.stop().await;
}

#[tokio::test]
async fn a_redis_that_never_answers_leaves_the_server_serving_but_not_ready() {
    let mut settings = test_settings().await;
    settings.redis.url = Some(format!("redis://127.0.0.1:{}", free_port()));
    let server = spawn(settings).await;
    let http = client();
    let alive = http
        .get(format!("{}/health/alive", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    let ready = http
        .get(format!("{}/health/ready", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert!(body["errors"]["redis"].is_string(), "{body}");
    assert!(
        body["errors"].get("database").is_none(),
        "the database is fine: {body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_redis_outage_mid_test_is_survived_and_healed() {
    let mut redis = PrivateRedis::start().await;
    let mut settings = test_settings().await;
    settings.redis.url = Some(redis.url());
    let server = spawn(settings).await;
    let http = client();
    let ready_url = format!("{}/health/ready", server.url());
    assert_eq!(http.get(&ready_url).send().await.unwrap().status(), 200);

    redis.stop();
    let alive = http
        .get(format!("{}/health/alive", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200, "requests still succeed without Redis");
    assert_eq!(http.get(&ready_url).send().await.unwrap().status(), 503);

    redis.restart().await;
    let healed = eventually(Duration::from_secs(10), || {
        let http = http.clone();
        let url = ready_url.clone();
        async move {
            http.get(&url)
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(
        healed.is_some(),
        "readiness comes back by itself when Redis does"
    );
    server.stop().await;
}
