//! SIGTERM drains in-flight requests: the real `keyplane` binary gets a
//! SIGTERM while a request body is still arriving; the request completes,
//! new connections are refused, and the process exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::free_port;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let bin = keyplane_tests::keyplane_binary();
    assert!(
        bin.exists(),
        "build the binary first (cargo test --workspace does): {}",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("kp-drain-{}", uuid::Uuid::new_v4().simple()));
    let db = format!("sqlite://{}/keyplane.db", dir.display());
    let port = free_port();
    let env = |cmd: &mut Command| {
        cmd.env("KEYPLANE_DATABASE__URL", &db)
            .env("KEYPLANE_SERVE__PORT", port.to_string())
            .env("KEYPLANE_SERVE__GRPC_PORT", "0")
            .env("KEYPLANE_COURIER__FILE_DIR", dir.join("mail"))
            .env("KEYPLANE_SERVE__HOST", "127.0.0.1")
            .env("KEYPLANE_LOG__LEVEL", "warn")
            .env("KEYPLANE_RATE_LIMIT__ENABLED", "false")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL");
    };
    let mut create = Command::new(&bin);
    env(&mut create);
    let out = create
        .args(["token", "create", "--email", "drain@example.com"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let mut serve = Command::new(&bin);
    env(&mut serve);
    let mut child = serve
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/health/alive"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up, "server did not start");

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
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was not dropped");
    assert_eq!(
        res.status(),
        201,
        "the in-flight request completed after SIGTERM"
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
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
