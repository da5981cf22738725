//! Text from a request, checked before it can reach a database.
//!
//! PostgreSQL refuses a NUL character (U+0000) in `text` and in `jsonb`
//! strings (`invalid byte sequence 0x00`, `unsupported Unicode escape
//! sequence`), while SQLite stores it; and a B-tree index row is at most
//! about 2.7 KB on PostgreSQL. So the same input must be refused the same
//! way on both, before any SQL: a NUL is never accepted in a string, and
//! fields that are indexed have a length limit in bytes. Both failures are
//! 400s naming the field.

use crate::{Error, Result};
use serde_json::Value;

/// The message of a NUL found in `field`.
pub fn nul_error(field: &str) -> Error {
    Error::bad_request(format!(
        "`{field}` contains a NUL character (\\u0000), which is not allowed in any text"
    ))
}

/// Refuses a NUL anywhere in `value`.
pub fn check_no_nul(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(nul_error(field));
    }
    Ok(())
}

/// Refuses a NUL, and more than `max_bytes` bytes of UTF-8.
pub fn check_text(field: &str, value: &str, max_bytes: usize) -> Result<()> {
    check_no_nul(field, value)?;
    if value.len() > max_bytes {
        return Err(Error::bad_request(format!(
            "`{field}` is {} bytes long; at most {max_bytes} are allowed",
            value.len()
        )));
    }
    Ok(())
}

/// The path (`traits.email`, `[0].relation_tuple.object`) of the first
/// string or object key holding a NUL in a JSON document, if any.
pub fn json_nul_path(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                let found = key.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| {
        if path.is_empty() {
            "(the body)".to_owned()
        } else {
            path
        }
    })
}

/// What a streamed body is scanned as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// JSON text: a NUL can only be the escape `\u0000` (a raw NUL byte is
    /// not valid JSON, which the parser refuses anyway).
    Json,
    /// `application/x-www-form-urlencoded`: `%00`, or a raw NUL byte.
    Form,
}

/// Finds a NUL in a body fed in chunks of any size, without buffering it:
/// a small state machine carried across chunk boundaries.
#[derive(Debug, Clone)]
pub struct NulScanner {
    kind: BodyKind,
    state: u8,
    found: bool,
}

impl NulScanner {
    pub fn new(kind: BodyKind) -> Self {
        Self {
            kind,
            state: 0,
            found: false,
        }
    }

    pub fn found(&self) -> bool {
        self.found
    }

    /// Feeds the next bytes; true once a NUL was seen.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.found {
                break;
            }
            self.state = match self.kind {
                // 0 text, 1 after `\`, 2..=5 after `\u` and (state - 2) zeros.
                BodyKind::Json => match (self.state, b) {
                    (0, b'\\') => 1,
                    (1, b'u') => 2,
                    (2..=4, b'0') => self.state + 1,
                    (5, b'0') => {
                        self.found = true;
                        0
                    }
                    _ => 0,
                },
                // 0 text, 1 after `%`, 2 after `%0`.
                BodyKind::Form => match (self.state, b) {
                    (_, 0) => {
                        self.found = true;
                        0
                    }
                    (0, b'%') => 1,
                    (1, b'0') => 2,
                    (2, b'0') => {
                        self.found = true;
                        0
                    }
                    (_, b'%') => 1,
                    _ => 0,
                },
            };
        }
        self.found
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn text_checks_name_the_field() {
        assert!(check_text("object", "readme", 8).is_ok());
        let err = check_text("object", "a\0b", 8).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("`object`"), "{err}");
        let err = check_text("relation", "123456789", 8).unwrap_err();
        assert!(err.to_string().contains("9 bytes"), "{err}");
        // Bytes, not characters: four 2-byte letters are 8 bytes.
        assert!(check_text("r", "éééé", 8).is_ok());
        assert!(check_text("r", "ééééé", 8).is_err());
    }

    #[test]
    fn json_paths_of_nuls() {
        assert_eq!(json_nul_path(&json!({"a": ["x", {"b": "y"}]})), None);
        assert_eq!(
            json_nul_path(&json!({"traits": {"email": "a\u{0}@x.com"}})).as_deref(),
            Some("traits.email")
        );
        assert_eq!(
            json_nul_path(&json!([{"relation_tuple": {"object": "\u{0}"}}])).as_deref(),
            Some("[0].relation_tuple.object")
        );
        assert_eq!(
            json_nul_path(&json!({"a\u{0}": 1})).as_deref(),
            Some("a\\u0000")
        );
        assert_eq!(
            json_nul_path(&json!("\u{0}")).as_deref(),
            Some("(the body)")
        );
    }

    fn scan(kind: BodyKind, chunks: &[&str]) -> bool {
        let mut scanner = NulScanner::new(kind);
        for chunk in chunks {
            scanner.feed(chunk.as_bytes());
        }
        scanner.found()
    }

    #[test]
    fn json_scanner_finds_the_escape_across_chunks() {
        assert!(scan(BodyKind::Json, &[r#"{"a":"\u0000"}"#]));
        assert!(scan(BodyKind::Json, &[r#"{"a":"\u0"#, r#"000"}"#]));
        assert!(scan(BodyKind::Json, &[r#"{"a":"\"#, r#"u0000"}"#]));
        assert!(scan(BodyKind::Json, &[r#"{"a":"\\\u0000"}"#]));
        // An escaped backslash followed by the letters u0000 is text.
        assert!(!scan(BodyKind::Json, &[r#"{"a":"\\u0000"}"#]));
        assert!(!scan(BodyKind::Json, &[r#"{"a":"\\"#, r#"u0000"}"#]));
        assert!(!scan(BodyKind::Json, &[r#"{"a":"\u0001\u00e9"}"#]));
    }

    #[test]
    fn form_scanner_finds_percent_zero_zero() {
        assert!(scan(BodyKind::Form, &["a=b%00c"]));
        assert!(scan(BodyKind::Form, &["a=b%", "00"]));
        assert!(scan(BodyKind::Form, &["a=b%%00"]));
        assert!(scan(BodyKind::Form, &["a=\0"]));
        assert!(!scan(BodyKind::Form, &["a=b%0A%20"]));
    }
}
