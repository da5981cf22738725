//! SIGTERM drains in-flight requests: the real `keyplane` binary gets a
//! SIGTERM while a request body is still arriving; the request completes,
//! new connections are refused, and the process exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::{KeyplaneProcess, Served, keyplane_run, process_env};
use std::time::Duration;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let dir = std::env::temp_dir().join(format!("kp-drain-{}", uuid::Uuid::new_v4().simple()));
    let env = process_env(&format!("sqlite://{}/keyplane.db", dir.display()), None);
    keyplane_run(&env, &["migrate", "up"]);
    let token = keyplane_run(&env, &["token", "create", "--email", "drain@example.com"]);
    let mut server = KeyplaneProcess::serve(&env, &[]).await;
    let base = server.url();
    let http = reqwest::Client::new();

    // A body that arrives in three pieces over ~1.5 s.
    let pieces = vec![r#"{"na"#, r#"me": "drai"#, r#"ned"}"#];
    let body = futures_util::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(piece.as_bytes()))
    });
    use futures_util::StreamExt;
    let request = http
        .post(format!("{base}/projects"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");

    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was not dropped");
    assert_eq!(
        res.status(),
        201,
        "the in-flight request completed after SIGTERM"
    );
    let status = server.wait().await;
    assert!(status.success(), "clean exit after draining: {status:?}");
    assert!(
        http.get(format!("{base}/health/alive"))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
    let _ = std::fs::remove_dir_all(dir);
}
