//! The NUL guard on request bodies (`kernel::text::NulScanner`, driven by
//! `http::input::guard`'s stream wrapper): a state machine carried across
//! chunk boundaries, so the answer must not depend on where the network
//! split the body.
//!
//! Input: the first byte picks JSON or form and how many of the following
//! bytes are chunk lengths; the rest is the body. Differential checks:
//! - the scanner fed in those chunks, and byte by byte, agrees with the
//!   scanner fed the whole body at once;
//! - that answer is the truth: a form body holds a NUL exactly when its
//!   decoded fields do, and a JSON body that parses holds one exactly
//!   when a string or key of the parsed document does (or, the document
//!   keeping only the last value of a repeated key, an earlier one did);
//! - the production stream (the request's payload wrapped by `guard`)
//!   passes a clean body through unchanged in the same chunks, and fails a
//!   body with a NUL with the 400 naming the field.

#![no_main]

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use futures_util::Stream;
use http::input::{NulInBody, form_nul_field, guard};
use kernel::text::{BodyKind, NulScanner, json_nul_path, nul_error};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Parses only when no object of the JSON text repeats a key.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without repeated keys")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(A::Error::custom("a repeated key"));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

fn chunks<'a>(lengths: &[u8], mut body: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    for &len in lengths {
        let (chunk, rest) = body.split_at(usize::from(len).min(body.len()));
        out.push(chunk);
        body = rest;
    }
    out.push(body);
    out
}

/// The body as the request's payload, through the guard's wrapper.
/// `None` when the guard did not wrap it; else the chunks it passed on and
/// the error it ended with, if any, and the finding it recorded.
fn through_guard(
    kind: BodyKind,
    pieces: &[&[u8]],
) -> (Vec<Bytes>, Option<PayloadError>, Option<kernel::Error>) {
    let content_type = match kind {
        BodyKind::Json => "application/json; charset=utf-8",
        BodyKind::Form => "application/x-www-form-urlencoded",
    };
    let mut req = TestRequest::post()
        .uri("/self-service/registration?flow=1")
        .insert_header((CONTENT_TYPE, content_type))
        .to_srv_request();
    let items: Vec<Result<Bytes, PayloadError>> = pieces
        .iter()
        .map(|p| Ok(Bytes::copy_from_slice(p)))
        .collect();
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::iter(items));
    req.set_payload(Payload::from(stream));
    let finding = match guard(&mut req) {
        Ok(Some(finding)) => finding,
        Ok(None) => panic!("{content_type} is not scanned"),
        Err(e) => panic!("the guard refused a clean URL: {e}"),
    };
    let mut payload = req.take_payload();
    let mut cx = Context::from_waker(Waker::noop());
    let mut passed = Vec::new();
    let mut error = None;
    loop {
        match Pin::new(&mut payload).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(chunk))) => passed.push(chunk),
            Poll::Ready(Some(Err(e))) => {
                error = Some(e);
                break;
            }
            Poll::Ready(None) => break,
            Poll::Pending => panic!("a ready stream is pending"),
        }
    }
    (passed, error, finding.take())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let kind = if mode & 1 == 0 {
        BodyKind::Json
    } else {
        BodyKind::Form
    };
    let cuts = usize::from(mode >> 1).min(rest.len());
    let (lengths, body) = rest.split_at(cuts);
    let pieces = chunks(lengths, body);

    let mut whole = NulScanner::new(kind);
    let once = whole.feed(body);
    assert_eq!(once, whole.found());

    let mut chunked = NulScanner::new(kind);
    for piece in &pieces {
        chunked.feed(piece);
    }
    assert_eq!(chunked.found(), once, "{kind:?} split as {pieces:?}");

    let mut bytewise = NulScanner::new(kind);
    for b in body {
        bytewise.feed(std::slice::from_ref(b));
    }
    assert_eq!(bytewise.found(), once, "{kind:?} byte by byte");

    // What the decoders see.
    let field = match kind {
        BodyKind::Form => {
            let field = form_nul_field(body);
            assert_eq!(field.is_some(), once, "form {body:?}: {field:?}");
            field
        }
        BodyKind::Json => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => {
                let path = json_nul_path(&value);
                if path.is_some() {
                    assert!(once, "the scanner missed the NUL at {path:?} of {value}");
                } else if once {
                    // Of a repeated key the parsed document keeps the last
                    // value: a NUL in an earlier one is refused all the same.
                    assert!(
                        serde_json::from_slice::<UniqueKeys>(body).is_err(),
                        "the scanner found a NUL that {value} does not hold"
                    );
                }
                path
            }
            Err(_) => None,
        },
    };

    let (passed, error, finding) = through_guard(kind, &pieces);
    let passed: Vec<u8> = passed.iter().flat_map(|c| c.iter().copied()).collect();
    if once {
        let Some(error) = error else {
            panic!("a body with a NUL was passed on: {body:?}");
        };
        let Some(finding) = finding else {
            panic!("a NUL was refused without a finding: {body:?}");
        };
        assert!(
            body.starts_with(&passed),
            "the guard passed on bytes that are not the body's"
        );
        assert_eq!(finding.status(), 400);
        if let Some(field) = field {
            assert_eq!(
                finding.to_string(),
                nul_error(&field).to_string(),
                "{body:?}"
            );
        }
        let PayloadError::Io(io) = error else {
            panic!("not the guard's error: {error:?}");
        };
        assert!(
            io.get_ref().is_some_and(|inner| inner.is::<NulInBody>()),
            "not the guard's error: {io:?}"
        );
    } else {
        assert!(error.is_none(), "a clean body failed: {error:?}");
        assert!(finding.is_none());
        assert_eq!(passed, body, "a clean body was changed");
    }
});
