//! The NUL guard, run by the request-context middleware on every request
//! before any handler: a NUL character (U+0000) in the URL path, in a query
//! parameter, or in any string of a JSON or form body is a 400 naming where
//! it was. PostgreSQL refuses NUL in `text` and `jsonb` (a 500 there) while
//! SQLite stores it, so one check at the edge makes both databases answer
//! alike, for every route at once (project names, e-mails, traits,
//! metadata, flow submissions, tuple fields, ...).
//!
//! Bodies are not buffered twice: the payload is wrapped in a stream that
//! scans each chunk as the extractor pulls it (`kernel::text::NulScanner`)
//! and only when a NUL was seen drains the rest (bounded) to name the field,
//! then fails the body read. The extractor's own size limit still applies.

use actix_web::HttpMessage;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use futures_util::Stream;
use kernel::text::{BodyKind, NulScanner, json_nul_path, nul_error};
use kernel::{Error, Result};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// How much of a body is read to name the field once a NUL was seen; a
/// larger body is refused without the name (the extractors' limits are
/// lower anyway).
const MAX_NAMING_BYTES: usize = 4 << 20;

/// A NUL found in the body: the 400 to answer, whichever extractor read it.
#[derive(Debug, Clone, Default)]
pub struct NulFinding(Rc<RefCell<Option<Error>>>);

impl NulFinding {
    pub fn take(&self) -> Option<Error> {
        self.0.borrow_mut().take()
    }
}

/// The payload error carrying the finding (see `extract::json_error`).
#[derive(Debug)]
pub struct NulInBody(pub Error);

impl std::fmt::Display for NulInBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for NulInBody {}

/// Checks the path and the query, and wraps a JSON or form body in the
/// scanner. The returned finding is filled if the body holds a NUL.
pub fn guard(req: &mut ServiceRequest) -> Result<Option<NulFinding>> {
    // The path as sent: a NUL can only arrive percent-encoded.
    if req.path().contains("%00") {
        return Err(Error::bad_request(
            "the URL path contains a NUL character (%00), which is not allowed",
        ));
    }
    if let Some(key) = query_nul_key(req.query_string()) {
        return Err(Error::bad_request(format!(
            "query parameter `{key}` contains a NUL character (\\u0000), which is not allowed in any text"
        )));
    }
    let Some(kind) = body_kind(req) else {
        return Ok(None);
    };
    let finding = NulFinding::default();
    let inner = req.take_payload();
    let scanned = ScanStream {
        inner,
        kind,
        scanner: NulScanner::new(kind),
        kept: Vec::new(),
        kept_len: 0,
        finding: finding.clone(),
        done: false,
    };
    let boxed: Pin<Box<dyn Stream<Item = std::result::Result<Bytes, PayloadError>>>> =
        Box::pin(scanned);
    req.set_payload(Payload::from(boxed));
    Ok(Some(finding))
}

/// The key of the first query parameter holding a NUL (in key or value).
pub fn query_nul_key(query: &str) -> Option<String> {
    form_nul_field(query.as_bytes())
}

/// The field of a form body (or query) holding a NUL, if any.
pub fn form_nul_field(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', "\\u0000"))
}

/// JSON (or no content type, which the flow endpoints read as JSON) and
/// forms are scanned; other bodies (files, raw bytes) are not text.
fn body_kind(req: &ServiceRequest) -> Option<BodyKind> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.is_empty() || essence.ends_with("/json") || essence.ends_with("+json") {
        Some(BodyKind::Json)
    } else if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else {
        None
    }
}

struct ScanStream {
    inner: Payload,
    kind: BodyKind,
    scanner: NulScanner,
    kept: Vec<Bytes>,
    kept_len: usize,
    finding: NulFinding,
    done: bool,
}

impl ScanStream {
    /// The 400 for the body read so far (all of it, unless it was too long).
    fn refusal(&self, complete: bool) -> Error {
        let generic = || nul_error("a string in the request body");
        if !complete {
            return generic();
        }
        let body: Vec<u8> = self.kept.iter().flat_map(|c| c.iter().copied()).collect();
        let field = match self.kind {
            BodyKind::Json => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| json_nul_path(&v)),
            BodyKind::Form => form_nul_field(&body),
        };
        field.map(|f| nul_error(&f)).unwrap_or_else(generic)
    }

    fn fail(&mut self, complete: bool) -> Poll<Option<std::result::Result<Bytes, PayloadError>>> {
        self.done = true;
        let err = self.refusal(complete);
        *self.finding.0.borrow_mut() = Some(err.clone());
        self.kept.clear();
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            NulInBody(err),
        )))))
    }
}

impl Stream for ScanStream {
    type Item = std::result::Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    this.scanner.feed(&chunk);
                    this.kept_len += chunk.len();
                    this.kept.push(chunk.clone());
                    if !this.scanner.found() {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    // Keep reading (not handing chunks on) to name the field.
                    if this.kept_len > MAX_NAMING_BYTES {
                        return this.fail(false);
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
                Poll::Ready(None) => {
                    if this.scanner.found() {
                        return this.fail(true);
                    }
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}
