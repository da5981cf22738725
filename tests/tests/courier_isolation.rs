//! One project's mail cannot hold up another's: project A points its SMTP
//! settings at a server that accepts connections and never answers (each
//! attempt hangs until the SMTP timeout) and queues a flood; project B's
//! message is delivered while A's first attempts are still hanging, and A
//! never has more than its share of sends in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use courier::OutgoingMail;
use keyplane_server::RunningServer;
use keyplane_tests::statement;
use reqwest::Method;
use serde_json::json;
use std::net::TcpListener;
use store::sea_orm::ConnectionTrait;
use uuid::Uuid;

/// A TCP server that accepts and then says nothing, holding every socket.
fn silent_smtp_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

async fn queue(server: &RunningServer, nid: Uuid, recipient: &str) -> Uuid {
    let courier = &server.services.courier;
    let id = courier
        .enqueue(
            &server.services.db.conn,
            &OutgoingMail {
                nid,
                template_type: "test".into(),
                recipient: recipient.into(),
                subject: format!("to {recipient}"),
                body: "words".into(),
                html_body: None,
                secrets: Vec::new(),
            },
        )
        .await
        .unwrap();
    courier.wake();
    id
}

/// `(status, last_error)` of each of `nid`'s messages.
async fn rows(server: &RunningServer, nid: Uuid) -> Vec<(String, Option<String>)> {
    let db = &server.services.db;
    db.conn
        .query_all_raw(statement(
            db,
            "SELECT status, last_error FROM courier_messages WHERE nid = $1",
            [nid.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("", "status").unwrap(),
                r.try_get("", "last_error").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_project_with_a_hanging_smtp_server_delays_only_its_own_mail() {
    let mut settings = keyplane_tests::test_settings().await;
    // A's SMTP server is on loopback, which the default refuses outright;
    // this test needs it reached (and hanging).
    settings.courier.allow_private_networks = true;
    let share = settings.courier.max_concurrent_sends_per_project;
    let server = keyplane_tests::spawn(settings).await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let a = create_project(&cp, "Hanging").await;
    let b = create_project(&cp, "Healthy").await;
    let silent = silent_smtp_server();
    let (status, body) = call(
        &server,
        &token,
        Method::PATCH,
        &format!("/projects/{}", a.id),
        Some(json!([{
            "op": "add",
            "path": "/services/identity/config/courier",
            "value": { "smtp": {
                "connection_uri": format!("smtp://127.0.0.1:{silent}/?disable_starttls=true")
            } },
        }])),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let a_id: Uuid = a.id.parse().unwrap();
    for i in 0..12 {
        queue(&server, a_id, &format!("a{i}@example.com")).await;
    }
    // A's share is taken by hanging sends; the rest of its flood waits.
    let busy = keyplane_tests::eventually(std::time::Duration::from_secs(10), || async {
        rows(&server, a_id)
            .await
            .iter()
            .filter(|(s, _)| s == "processing")
            .count()
            == share
    })
    .await;
    assert!(busy.is_some(), "{:?}", rows(&server, a_id).await);

    let b_message = queue(&server, b.id.parse().unwrap(), "b@example.com").await;
    assert!(
        delivered(&server, b_message).await.is_some(),
        "B's mail was not delivered"
    );

    // B went out while A's first attempts were still hanging: none of A's
    // messages has failed yet, and A never had more than its share going.
    let a_rows = rows(&server, a_id).await;
    assert!(
        a_rows.iter().all(|(_, error)| error.is_none()),
        "{a_rows:?}"
    );
    let processing = a_rows.iter().filter(|(s, _)| s == "processing").count();
    let queued = a_rows.iter().filter(|(s, _)| s == "queued").count();
    assert_eq!((processing, queued), (share, 12 - share), "{a_rows:?}");
}
