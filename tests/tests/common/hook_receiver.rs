//! A web hook receiver for tests: a tiny HTTP/1.1 server on loopback that
//! records what it gets and answers every request with one status.

use base64::Engine as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the receiver got: head (request line and headers) and body.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    pub body: String,
}

/// A tiny HTTP/1.1 receiver on loopback answering every request with
/// `status`; returns its URL and what it received.
pub async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_owned();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + length {
                            let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length])
                                .to_string();
                            log.lock().unwrap().push(Received { head, body });
                            let answer = format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                            );
                            let _ = socket.write_all(answer.as_bytes()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, seen)
}

pub fn jsonnet(source: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(source)
    )
}
