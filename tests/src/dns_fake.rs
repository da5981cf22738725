//! A tiny authoritative DNS server on loopback for hostname-verification
//! tests: names with a CNAME or an A record, everything else NXDOMAIN, and
//! SERVFAIL on demand. It serves UDP and TCP on the same port, since the
//! resolver is configured with both and falls back to TCP on truncation.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// Long on purpose: a resolver that cached answers would keep serving a
/// removed record, which the tests must catch.
const TTL: u32 = 3600;

enum Entry {
    /// The target exactly as set (case and trailing dot kept).
    Cname(String),
    A(Ipv4Addr),
}

#[derive(Default)]
struct Zone {
    /// By lower-case name without the trailing dot.
    names: Mutex<HashMap<String, Entry>>,
    servfail: AtomicBool,
    queries: AtomicUsize,
}

pub struct FakeDns {
    addr: SocketAddr,
    zone: Arc<Zone>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeDns {
    /// Binds UDP and TCP on one free loopback port and starts answering.
    pub async fn start() -> Self {
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        let zone = Arc::new(Zone::default());
        let tasks = vec![
            tokio::spawn(serve_udp(udp, zone.clone())),
            tokio::spawn(serve_tcp(tcp, zone.clone())),
        ];
        Self { addr, zone, tasks }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `name` gets a CNAME to `target` (replacing any record of `name`);
    /// `target` is served as written, so tests can use odd case and a
    /// trailing dot.
    pub fn set_cname(&self, name: &str, target: &str) {
        self.names()
            .insert(key(name), Entry::Cname(target.to_owned()));
    }

    /// `name` gets an A record (replacing any record of `name`).
    pub fn set_a(&self, name: &str, ip: Ipv4Addr) {
        self.names().insert(key(name), Entry::A(ip));
    }

    /// `name` no longer exists (NXDOMAIN).
    pub fn remove(&self, name: &str) {
        self.names().remove(&key(name));
    }

    /// While on, every query gets SERVFAIL.
    pub fn set_servfail(&self, on: bool) {
        self.zone.servfail.store(on, Ordering::SeqCst);
    }

    /// Queries received so far, over UDP and TCP.
    pub fn queries(&self) -> usize {
        self.zone.queries.load(Ordering::SeqCst)
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.zone.names.lock().unwrap()
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A UDP socket and a TCP listener on the same free port (a port free for
/// UDP may be taken for TCP, hence the retries).
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

async fn serve_udp(socket: UdpSocket, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(reply) = answer(&zone, &buf[..len]) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, zone: Arc<Zone>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_tcp_connection(stream, zone.clone()));
    }
}

/// DNS over TCP: each message is preceded by its length (two bytes, big
/// endian), and a client may send several on one connection.
async fn serve_tcp_connection(mut stream: TcpStream, zone: Arc<Zone>) {
    loop {
        let Ok(len) = stream.read_u16().await else {
            return;
        };
        let mut query = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let Some(reply) = answer(&zone, &query) else {
            return;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_u16(reply_len).await.is_err() || stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The encoded reply to one encoded query; None for garbage (dropped, as a
/// server would).
fn answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    zone.queries.fetch_add(1, Ordering::SeqCst);
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_queries(request.queries.iter().cloned());
    if zone.servfail.load(Ordering::SeqCst) {
        response.metadata.response_code = ResponseCode::ServFail;
        return response.to_vec().ok();
    }
    let Some(question) = request.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response.to_vec().ok();
    };
    let owner = question.name().clone();
    let names = zone.names.lock().unwrap();
    match names.get(&key(&owner.to_ascii())) {
        None => response.metadata.response_code = ResponseCode::NXDomain,
        // A CNAME answers every type at its name (a real server would
        // then chase the target; nothing here needs that).
        Some(Entry::Cname(target)) => {
            let target = Name::from_ascii(target).ok()?;
            response.add_answer(Record::from_rdata(owner, TTL, RData::CNAME(CNAME(target))));
        }
        Some(Entry::A(ip)) if question.query_type() == RecordType::A => {
            response.add_answer(Record::from_rdata(owner, TTL, RData::A(A(*ip))));
        }
        // The name exists, just not with the type asked: NOERROR, no answer.
        Some(Entry::A(_)) => {}
    }
    drop(names);
    response.to_vec().ok()
}
