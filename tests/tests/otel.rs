//! With `otel.endpoint` set, spans are exported over OTLP/gRPC. A bare TCP
//! listener stands in for the collector: the exporter must connect and
//! speak HTTP/2 to it when the pipeline flushes. (Its own test binary,
//! because the tracing subscriber is process-global.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_server::{Settings, telemetry};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_to_the_configured_collector() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut settings = Settings::default();
    settings.otel.endpoint = Some(format!("http://{}", listener.local_addr().unwrap()));
    settings.log.level = "info".into();

    let accepted = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut preface = [0u8; 24];
        socket.read_exact(&mut preface).await.unwrap();
        preface
    });

    let guard = telemetry::init(&settings).unwrap();
    tracing::info_span!("exported-span", test = true).in_scope(|| tracing::info!("inside"));
    // Dropping the guard shuts the provider down, which flushes the batch.
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let preface = tokio::time::timeout(Duration::from_secs(10), accepted)
        .await
        .expect("the exporter never connected")
        .unwrap();
    assert_eq!(
        &preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "OTLP/gRPC speaks HTTP/2"
    );
}

#[test]
fn export_is_off_by_default() {
    assert!(Settings::default().otel.endpoint.is_none());
}
