//! A request as exact bytes on a fresh loopback connection, so odd paths
//! (`..`, bad escapes, raw UTF-8) reach the server unnormalised, and a
//! dropped connection or a missing answer is seen as such.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One generated request.
#[derive(Clone, Debug)]
pub struct Raw {
    pub method: String,
    /// Path and query, sent as they are.
    pub target: String,
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method, self.target, self.host
        );
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if !self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// The request as a reproducer: the exact bytes (the body cut at 2 KB),
    /// and a curl command line (`host` carries the server's port).
    pub fn show(&self) -> String {
        let mut out = format!("{} http://{}{}\n", self.method, self.host, self.target);
        for (name, value) in &self.headers {
            let _ = writeln!(out, "{name}: {}", cut(value, 300));
        }
        let body = String::from_utf8_lossy(&self.body);
        let _ = writeln!(
            out,
            "body ({} bytes): {}",
            self.body.len(),
            cut(&body, 2000)
        );
        let port = self.host.rsplit(':').next().unwrap_or("80");
        let mut curl = format!(
            "curl -sS -i --path-as-is -X {} --connect-to {}:127.0.0.1:{port}",
            self.method, self.host
        );
        for (name, value) in &self.headers {
            let _ = write!(curl, " -H {}", quote(&format!("{name}: {value}")));
        }
        if !self.body.is_empty() {
            let _ = write!(curl, " --data-binary {}", quote(&body));
        }
        let _ = write!(
            curl,
            " {}",
            quote(&format!("http://{}{}", self.host, self.target))
        );
        let _ = write!(out, "reproduce: {}", cut(&curl, 4000));
        out
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or_default().trim();
            mime.ends_with("/json") || mime.ends_with("+json")
        })
    }
}

/// Sends `req` and reads one answer. An `Err` is a failure of the server:
/// no connection, a reset or close before a whole answer, or a timeout.
/// The request is written while the answer is read, so a server that
/// answers early (a 413 before the whole body) is not mistaken for one
/// that dropped the connection.
pub async fn send(addr: SocketAddr, req: &Raw, timeout: Duration) -> Result<Answer, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut reader, mut writer) = stream.split();
        let bytes = req.bytes();
        let write = async {
            let res = writer.write_all(&bytes).await;
            // The answer may come before the whole body was taken.
            res.err()
        };
        let read = async {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            loop {
                if let Some(answer) = parse(&buf, false)? {
                    return Ok(answer);
                }
                match reader.read(&mut chunk).await {
                    Ok(0) => {
                        if let Some(answer) = parse(&buf, true)? {
                            return Ok(answer);
                        }
                        return Err(format!(
                            "connection closed after {} bytes without a whole answer{}",
                            buf.len(),
                            shown(&buf)
                        ));
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) => {
                        return Err(format!(
                            "connection error after {} bytes: {e}{}",
                            buf.len(),
                            shown(&buf)
                        ));
                    }
                }
            }
        };
        let (write_error, answer) = tokio::join!(write, read);
        answer.map_err(|e| match write_error {
            Some(w) => format!("{e} (writing the request: {w})"),
            None => e,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

fn shown(buf: &[u8]) -> String {
    if buf.is_empty() {
        String::new()
    } else {
        format!(": {}", cut(&String::from_utf8_lossy(buf), 300))
    }
}

/// A whole answer in `buf`, `None` when more bytes are needed; `eof`:
/// the server closed the connection (a body without a length ends there).
fn parse(buf: &[u8], eof: bool) -> Result<Option<Answer>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &buf[end + 4..];
    if answer
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        return Ok(dechunk(rest).map(|body| {
            answer.body = body;
            answer
        }));
    }
    let length = match answer.header("content-length") {
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| format!("bad Content-Length {n:?}"))?,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        // No length: the body runs to the close.
        None if eof => rest.len(),
        None => return Ok(None),
    };
    if rest.len() < length {
        return Ok(None);
    }
    answer.body = rest[..length].to_vec();
    Ok(Some(answer))
}

/// A chunked body, `None` until its last chunk has arrived.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
