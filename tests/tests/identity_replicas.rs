//! Sessions across replicas, and the breach check against a local
//! haveibeenpwned range server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_tests::{fresh_database_url, redis_url, spawn, test_settings};
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::SubmitSelfServiceRegistrationFlowBody as RegistrationBody;
use serde_json::json;
use sha1::{Digest, Sha1};
use std::time::{Duration, Instant};
use store::DatabaseKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_revoked_session_is_refused_by_another_replica_within_a_second() {
    let url = fresh_database_url(DatabaseKind::Postgres).await;
    let prefix = format!("kptest-{}", uuid::Uuid::new_v4().simple());
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let mut settings = test_settings().await;
        keyplane_tests::use_database(&mut settings, url.clone());
        settings.redis.url = Some(redis_url());
        settings.redis.prefix = Some(prefix.clone());
        replicas.push(spawn(settings).await);
    }
    let (one, two) = (&replicas[0], &replicas[1]);
    let token = token_for(one, "o@example.com").await;
    let project = create_project(&control_plane(one, &token), "replicated sessions").await;
    let (cfg_one, cfg_two) = (tenant(one, &project.slug), tenant(two, &project.slug));

    let flow = api::initialize_self_service_registration_flow_without_browser(&cfg_one)
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "replicated passphrase 1".into(),
        traits: json!({"email": "rita@example.com"}),
    };
    let ok = api::submit_self_service_registration_flow(&cfg_one, &flow.id, body, None)
        .await
        .unwrap();
    let session_token = ok.session_token.unwrap();
    // Both replicas now hold the session in their whoami caches.
    for cfg in [&cfg_one, &cfg_two] {
        for _ in 0..3 {
            api::to_session(cfg, Some(&session_token), None)
                .await
                .unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let revoked = Instant::now();
    api::submit_self_service_logout_flow_without_browser(
        &cfg_one,
        ory_client::models::SubmitSelfServiceLogoutFlowWithoutBrowserBody::new(
            session_token.clone(),
        ),
    )
    .await
    .unwrap();
    let mut refused = None;
    while revoked.elapsed() < Duration::from_secs(1) {
        if api::to_session(&cfg_two, Some(&session_token), None)
            .await
            .is_err()
        {
            refused = Some(revoked.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = refused.expect("the second replica still accepted the revoked session after 1 s");
    eprintln!("second replica refused the revoked session after {refused:?}");
    for replica in replicas {
        replica.stop().await;
    }
}

/// A k-anonymity range server that knows one breached password.
async fn range_server(breached: &str, count: u64) -> String {
    let digest = hex::encode_upper(Sha1::digest(breached.as_bytes()));
    let (prefix, suffix) = digest.split_at(5);
    let body = format!("0000000000000000000000000000000000A:3\r\n{suffix}:{count}\r\n");
    let prefix = prefix.to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            let prefix = prefix.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let response_body = if request.contains(&format!("/range/{prefix}")) {
                    body
                } else {
                    String::new()
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{response_body}",
                    response_body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn registration_refuses_a_breached_password() {
    let mut settings = test_settings().await;
    settings.identity.haveibeenpwned_url = range_server("breached passphrase 1", 42).await;
    let server = spawn(settings).await;
    let token = token_for(&server, "o@example.com").await;
    let project = create_project(&control_plane(&server, &token), "breaches").await;
    let cfg = tenant(&server, &project.slug);
    let register = |password: &'static str| {
        let cfg = cfg.clone();
        async move {
            let flow = api::initialize_self_service_registration_flow_without_browser(&cfg)
                .await
                .unwrap();
            let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
                csrf_token: None,
                password: password.into(),
                traits: json!({"email": format!("{}@example.com", password.len())}),
            };
            api::submit_self_service_registration_flow(&cfg, &flow.id, body, None).await
        }
    };
    let err = register("breached passphrase 1").await.unwrap_err();
    assert_eq!(status_of(&err), 400);
    let flow = body_of(&err);
    let password_node = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "password")
        .unwrap()
        .clone();
    assert_eq!(password_node["messages"][0]["id"], 4000005, "{flow}");
    assert!(
        password_node["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("data breaches")
    );
    register("a clean passphrase of mine").await.unwrap();
    server.stop().await;
}
