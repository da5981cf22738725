//! Web hooks against a real HTTP receiver on 127.0.0.1 and the real Jsonnet
//! worker binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use webhook::{WebHookContext, WebHookFailure, WebHookSettings, WebHooks};

/// The project every hook here runs for.
const PROJECT: uuid::Uuid = uuid::Uuid::from_u128(1);

/// One request as the receiver saw it.
#[derive(Debug)]
struct Received {
    method: String,
    path: String,
    /// Lower-cased names.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP/1.1 receiver written by hand: records each request (before it
/// answers), waits `delay`, then answers `status` with `answer` as body.
async fn receiver(
    status: u16,
    delay: Duration,
    answer: &'static str,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let head_end = loop {
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let mut start = lines.next().unwrap().split(' ');
                let method = start.next().unwrap().to_owned();
                let path = start.next().unwrap().to_owned();
                let headers: BTreeMap<String, String> = lines
                    .filter_map(|l| l.split_once(": "))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                    .collect();
                let length: usize = headers
                    .get("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = buf[head_end..].to_vec();
                while body.len() < length {
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                let _ = tx.send(Received {
                    method,
                    path,
                    headers,
                    body,
                });
                tokio::time::sleep(delay).await;
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (base, rx)
}

fn settings() -> WebHookSettings {
    WebHookSettings {
        request_timeout_ms: 5_000,
        jsonnet_timeout_ms: 2_000,
        jsonnet_memory_mb: 256,
        jsonnet_max_concurrent_per_project: None,
        jsonnet_worker: Some(env!("CARGO_BIN_EXE_keyplane-jsonnet-worker").to_owned()),
        allow_private_networks: true,
    }
}

fn hooks(settings: &WebHookSettings) -> WebHooks {
    WebHooks::new(settings).unwrap()
}

fn ctx() -> WebHookContext {
    let mut headers = BTreeMap::new();
    headers.insert("User-Agent".to_owned(), vec!["test-agent".to_owned()]);
    headers.insert("Cookie".to_owned(), vec!["ory_session=secret".to_owned()]);
    WebHookContext {
        flow: json!({"id": "f1", "type": "api"}),
        identity: Some(json!({"id": "i1", "traits": {"email": "ada@example.com"}})),
        request_headers: headers,
        request_method: "POST".into(),
        request_url: "https://acme.projects.example.com/self-service/registration?flow=f1".into(),
    }
}

fn b64(template: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(template)
    )
}

const TEMPLATE: &str = "function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id, \
    method: ctx.request_method, agent: ctx.request_headers['User-Agent'][0], \
    has_cookie: std.objectHas(ctx.request_headers, 'Cookie') }";

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the receiver saw nothing")
        .unwrap()
}

#[tokio::test]
async fn the_rendered_body_arrives_with_basic_auth() {
    let (base, mut rx) = receiver(200, Duration::ZERO, "").await;
    let config = json!({
        "url": format!("{base}/hook"),
        "method": "POST",
        "body": b64(TEMPLATE),
        "auth": {"type": "basic_auth", "config": {"user": "hook-user", "password": "hook-pass"}},
    });
    hooks(&settings())
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hook");
    assert_eq!(got.headers["content-type"], "application/json");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("hook-user:hook-pass")
    );
    assert_eq!(got.headers["authorization"], expected);
    assert_eq!(
        got.json(),
        json!({"email": "ada@example.com", "flow": "f1", "method": "POST",
               "agent": "test-agent", "has_cookie": false})
    );
}

#[tokio::test]
async fn api_keys_go_in_a_header_or_a_cookie() {
    let (base, mut rx) = receiver(204, Duration::ZERO, "").await;
    let webhooks = hooks(&settings());
    let template = b64("{ flow: std.extVar('ctx').flow.id }");
    let header = json!({
        "url": format!("{base}/h"), "method": "PUT", "body": template,
        "auth": {"type": "api_key", "config": {"name": "X-Api-Key", "value": "k-123", "in": "header"}},
    });
    webhooks.run(PROJECT, &header, &ctx()).await.unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.method, "PUT");
    assert_eq!(got.headers["x-api-key"], "k-123");
    assert_eq!(got.json(), json!({"flow": "f1"}));

    let cookie = json!({
        "url": format!("{base}/c"), "method": "POST", "body": template,
        "auth": {"type": "api_key", "config": {"name": "hook_key", "value": "c-456", "in": "cookie"}},
    });
    webhooks.run(PROJECT, &cookie, &ctx()).await.unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.headers["cookie"], "hook_key=c-456");
    assert!(!got.headers.contains_key("x-api-key"));
}

#[tokio::test]
async fn an_ignored_response_returns_at_once_and_still_delivers() {
    // The receiver answers only after a minute, past the 5 s request
    // timeout: a run that waited would take 5 s (and fail). The bound sits
    // just under that, far from the few milliseconds a run takes, because a
    // 1 s bound failed on a busy 2-core machine.
    let (base, mut rx) = receiver(500, Duration::from_secs(60), "").await;
    let config = json!({
        "url": format!("{base}/bg"), "method": "POST", "body": b64(TEMPLATE),
        "response": {"ignore": true},
    });
    let started = Instant::now();
    hooks(&settings())
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "run waited {:?}",
        started.elapsed()
    );
    let got = next(&mut rx).await;
    assert_eq!(got.json()["email"], "ada@example.com");
}

#[tokio::test]
async fn an_error_status_is_rejected() {
    let (base, _rx) = receiver(500, Duration::ZERO, "oops").await;
    let config = json!({"url": format!("{base}/x"), "body": b64("{}")});
    let err = hooks(&settings())
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap_err();
    assert_eq!(err, WebHookFailure::Rejected { status: 500 });
    assert!(err.to_string().contains("500"));
}

#[tokio::test]
async fn a_slow_target_times_out() {
    let (base, _rx) = receiver(200, Duration::from_secs(5), "").await;
    // Only the request may time out here: rendering gets room to spare
    // when other sandbox tests load the box.
    let webhooks = hooks(&WebHookSettings {
        request_timeout_ms: 300,
        jsonnet_timeout_ms: 30_000,
        ..settings()
    });
    let config = json!({"url": format!("{base}/slow"), "body": b64("{}")});
    let started = Instant::now();
    let err = webhooks.run(PROJECT, &config, &ctx()).await.unwrap_err();
    assert!(
        matches!(&err, WebHookFailure::Delivery(m) if m.contains("300 ms")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_body_template_can_be_fetched_over_http() {
    let (base, mut rx) =
        receiver(200, Duration::ZERO, "function(ctx) { id: ctx.identity.id }").await;
    let config = json!({"url": format!("{base}/hook"), "body": format!("{base}/body.jsonnet")});
    hooks(&settings())
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap();
    let fetch = next(&mut rx).await;
    assert_eq!(
        (fetch.method.as_str(), fetch.path.as_str()),
        ("GET", "/body.jsonnet")
    );
    let hook = next(&mut rx).await;
    assert_eq!(hook.json(), json!({"id": "i1"}));
}

async fn template_failure(template: &str, settings: &WebHookSettings) -> (String, Duration) {
    let (base, mut rx) = receiver(200, Duration::ZERO, "").await;
    let config = json!({"url": format!("{base}/x"), "body": b64(template)});
    let started = Instant::now();
    let err = hooks(settings)
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        rx.try_recv().is_err(),
        "nothing is sent after a template failure"
    );
    match err {
        WebHookFailure::Template(m) => (m, elapsed),
        other => panic!("{template}: {other:?}"),
    }
}

#[tokio::test]
async fn runaway_templates_are_stopped_quickly() {
    let settings = WebHookSettings {
        jsonnet_timeout_ms: 1_000,
        ..settings()
    };
    for template in [
        "local f(x) = f(x + 1); f(0)",
        // Stays within the evaluator's stack limit: only the deadline or the
        // CPU limit ends it.
        "std.foldl(function(acc, i) acc + i, std.range(0, 2000000000), 0)",
    ] {
        let (message, elapsed) = template_failure(template, &settings).await;
        assert!(
            elapsed < Duration::from_secs(3),
            "{template} ran {elapsed:?}: {message}"
        );
    }
}

#[tokio::test]
async fn a_memory_bomb_is_stopped() {
    // The deadline is generous: what must stop the bomb is the memory
    // limit (the message says so), and building 128 MB of string in a
    // debug build on a loaded 2-core CI box can take seconds.
    let settings = WebHookSettings {
        jsonnet_memory_mb: 128,
        jsonnet_timeout_ms: 30_000,
        ..settings()
    };
    let bomb =
        "local dbl(s, n) = if n == 0 then s else dbl(s + s, n - 1); std.length(dbl('x', 28))";
    let (message, elapsed) = template_failure(bomb, &settings).await;
    assert!(message.contains("memory"), "{message}");
    assert!(elapsed < Duration::from_secs(30));
}

#[tokio::test]
async fn a_template_error_is_reported() {
    let (message, _) = template_failure("error 'no email'", &settings()).await;
    assert!(message.contains("no email"), "{message}");
    let (message, _) = template_failure("import 'secrets.libsonnet'", &settings()).await;
    assert!(!message.is_empty());
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let (base, mut rx) = receiver(200, Duration::ZERO, "").await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let guarded = hooks(&WebHookSettings {
        allow_private_networks: false,
        ..settings()
    });
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::1]:{port}/x"),
    ] {
        let config = json!({"url": url, "body": b64("{}")});
        let err = guarded.run(PROJECT, &config, &ctx()).await.unwrap_err();
        assert!(matches!(err, WebHookFailure::Delivery(_)), "{url}: {err:?}");
    }
    // The template URL is guarded too.
    let config =
        json!({"url": "https://hooks.example.com/x", "body": format!("http://127.0.0.1:{port}/t")});
    let err = guarded.run(PROJECT, &config, &ctx()).await.unwrap_err();
    assert!(matches!(err, WebHookFailure::Template(_)), "{err:?}");
    assert!(rx.try_recv().is_err(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_bad_config_fails_even_when_the_answer_is_ignored() {
    let config = json!({"url": "https://hooks.example.com/x", "body": "file:///etc/passwd", "response": {"ignore": true}});
    let err = hooks(&settings())
        .run(PROJECT, &config, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(err, WebHookFailure::InvalidConfig(_)), "{err:?}");
}
