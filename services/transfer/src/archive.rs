//! The archive: NDJSON, one record per line, each tagged by `kind`, in
//! this order: `header`, `config`, `identity_schema`*, `identity`*,
//! `relation_tuple`*, `end`. The `end` line counts what came before it,
//! so a cut-short archive is told apart from a complete one.

use actix_web::web::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use controlplane::project::service::PortableConfig;
use futures_util::{Stream, StreamExt};
use identity::identity::portable::PortableIdentity;
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use permission::model::RelationTuple;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub const FORMAT: &str = "keyplane-export";
pub const VERSION: u32 = 1;
/// The longest line read: an identity with many keys and large traits
/// stays far below it; anything longer is not an archive of ours.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// What the header seals with the archive key, so a wrong key is refused
/// at line 1 rather than at the first second factor.
const KEY_CHECK_CONTEXT: &str = "keyplane-archive.key-check";
const KEY_CHECK_TEXT: &str = "keyplane archive key";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Config(PortableConfig),
    IdentitySchema(IdentitySchema),
    Identity(Box<PortableIdentity>),
    RelationTuple(RelationTuple),
    End(Counts),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub project: SourceProject,
    pub revision_id: Uuid,
    pub exported_at: DateTime<Utc>,
    /// Present when second factors are sealed with an archive key: a
    /// known text sealed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_key_check: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceProject {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySchema {
    pub id: String,
    pub url: String,
}

/// The `end` line: how many records of each kind the archive holds, and
/// the credentials the export left out, by type.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub identities: u64,
    pub relation_tuples: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub left_out: BTreeMap<String, u64>,
}

impl Counts {
    pub fn leave_out(&mut self, kinds: Vec<String>) {
        for kind in kinds {
            *self.left_out.entry(kind).or_default() += 1;
        }
    }
}

/// The archive key from its header text (at least 32 characters).
pub fn archive_key(text: &str) -> Result<SecretBox> {
    SecretBox::new(&[text]).map_err(|e| {
        Error::bad_request(format!("Keyplane-Archive-Key: {e}")).with_id("archive_key_invalid")
    })
}

pub fn key_check(key: &SecretBox) -> String {
    key.seal(KEY_CHECK_CONTEXT, KEY_CHECK_TEXT)
}

/// Whether `key` is the one the archive's second factors are sealed with.
pub fn key_matches(key: &SecretBox, check: &str) -> bool {
    key.open(KEY_CHECK_CONTEXT, check)
        .is_ok_and(|text| text == KEY_CHECK_TEXT)
}

/// One record as a line.
pub fn line(record: &Record, out: &mut Vec<u8>) -> Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(Error::internal)?;
    out.push(b'\n');
    Ok(())
}

/// An error at line `number` of the archive.
pub fn at_line(number: u64, reason: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("line {number}: {reason}"))
        .with_id("archive_invalid")
        .with_details(serde_json::json!({ "line": number }))
}

/// Splits a byte stream (a request body) into numbered lines without
/// holding more than one line and one chunk.
pub struct Lines<S> {
    body: S,
    buffer: BytesMut,
    number: u64,
    finished: bool,
    /// Bytes read so far (progress).
    pub bytes: u64,
}

impl<S, E> Lines<S>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    pub fn new(body: S) -> Self {
        Self {
            body,
            buffer: BytesMut::new(),
            number: 0,
            finished: false,
            bytes: 0,
        }
    }

    /// The number of the last line returned.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The next line that is not blank, with its number; None at the end.
    pub async fn next(&mut self) -> Result<Option<(u64, Bytes)>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line = self.buffer.split_to(end + 1).freeze();
                line.truncate(end);
                self.number += 1;
                if line.last() == Some(&b'\r') {
                    line.truncate(line.len() - 1);
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some((self.number, line)));
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(at_line(
                    self.number + 1,
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                ));
            }
            if self.finished {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                // A last line without its newline.
                self.buffer.extend_from_slice(b"\n");
                continue;
            }
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    self.bytes += chunk.len() as u64;
                    self.buffer.extend_from_slice(&chunk);
                }
                Some(Err(e)) => {
                    return Err(Error::bad_request(format!(
                        "the archive could not be read after line {}: {e}",
                        self.number
                    )));
                }
                None => self.finished = true,
            }
        }
    }
}

/// Parses line `number` as a record.
pub fn parse(number: u64, line: &[u8]) -> Result<Record> {
    serde_json::from_slice(line).map_err(|e| at_line(number, e))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn body(
        chunks: &[&str],
    ) -> impl Stream<Item = std::result::Result<Bytes, String>> + Unpin + use<> {
        stream::iter(
            chunks
                .iter()
                .map(|c| Ok(Bytes::from(c.to_string())))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn lines_are_numbered_across_chunks_blank_lines_counted_not_returned() {
        let mut lines = Lines::new(body(&["{\"a\":", "1}\n\n", "{\"b\":2}\r\n{\"c\"", ":3}"]));
        let mut seen = Vec::new();
        while let Some((n, line)) = lines.next().await.expect("reads") {
            seen.push((n, String::from_utf8(line.to_vec()).expect("utf-8")));
        }
        assert_eq!(
            seen,
            vec![
                (1, "{\"a\":1}".to_owned()),
                (3, "{\"b\":2}".to_owned()),
                (4, "{\"c\":3}".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn an_overlong_line_is_refused_with_its_number() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let mut lines = Lines::new(body(&["{}\n", &long]));
        assert_eq!(lines.next().await.expect("first").map(|l| l.0), Some(1));
        let error = lines.next().await.expect_err("too long");
        assert!(error.reason.unwrap_or_default().starts_with("line 2:"));
    }

    #[test]
    fn records_round_trip_and_unknown_fields_are_refused() {
        let line = br#"{"kind":"identity_schema","id":"default","url":"preset://email"}"#;
        assert!(matches!(parse(1, line), Ok(Record::IdentitySchema(_))));
        let extra = br#"{"kind":"identity_schema","id":"d","url":"u","color":"red"}"#;
        let error = parse(7, extra).expect_err("unknown field");
        assert!(error.reason.unwrap_or_default().starts_with("line 7:"));
        let error = parse(8, br#"{"kind":"spaceship"}"#).expect_err("unknown kind");
        assert!(error.reason.unwrap_or_default().contains("spaceship"));
    }

    #[test]
    fn the_key_check_tells_the_right_key_from_another() {
        let key = archive_key(&"k".repeat(40)).expect("key");
        let other = archive_key(&"o".repeat(40)).expect("key");
        let check = key_check(&key);
        assert!(key_matches(&key, &check));
        assert!(!key_matches(&other, &check));
        assert!(archive_key("short").is_err());
    }
}
