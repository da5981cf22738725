//! Mail as the recipient gets it: the `.eml` files the courier's file
//! transport writes. The outbox keeps tokens redacted (`[redacted:0]`), so
//! a test that follows a link must read the delivered message, found by
//! the `Message-ID` the courier gives each outbox row.

use base64::Engine;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// A delivered message: its decoded subject and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub subject: String,
    pub text: String,
    /// The whole file, undecoded.
    pub raw: String,
}

/// Waits (up to 20 s) for the outbox message `id` to be delivered into
/// `dir` and returns it.
pub async fn delivered(dir: &Path, id: Uuid) -> Option<Delivered> {
    let needle = format!("<{id}@keyplane.outbox>");
    for _ in 0..400 {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let Ok(raw) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                if raw.contains(&needle) {
                    return Some(parse(&raw));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Splits a MIME entity into its (unfolded, lower-cased name) headers and
/// its body.
fn split(entity: &str) -> (Vec<(String, String)>, &str) {
    let entity = entity.trim_start_matches(['\r', '\n']);
    let (head, body) = entity
        .split_once("\r\n\r\n")
        .or_else(|| entity.split_once("\n\n"))
        .unwrap_or((entity, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    match header(headers, "content-transfer-encoding")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("quoted-printable") => String::from_utf8(
            quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_default(),
        )
        .unwrap_or_default(),
        Some("base64") => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .unwrap_or_default()
        }
        _ => body.replace("\r\n", "\n"),
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), as lettre
/// writes non-ASCII subjects.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    for word in value.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
                let bytes = match encoding.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?,
                    "q" => quoted_printable::decode(
                        text.replace('_', " ").as_bytes(),
                        quoted_printable::ParseMode::Robust,
                    )
                    .ok()?,
                    _ => return None,
                };
                String::from_utf8(bytes).ok()
            });
        match decoded {
            // Adjacent encoded words join without the space between them.
            Some(text) => out.push_str(&text),
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
    }
    out
}

/// The subject and the plain-text part of a message.
pub fn parse(raw: &str) -> Delivered {
    let (headers, body) = split(raw);
    let subject = decode_words(header(&headers, "subject").unwrap_or_default());
    let content_type = header(&headers, "content-type").unwrap_or("text/plain");
    let text = match content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    {
        Some(boundary) => {
            let delimiter = format!("--{}", boundary.trim_matches('"'));
            body.split(delimiter.as_str())
                .map(split)
                .find(|(h, _)| {
                    header(h, "content-type").is_some_and(|t| t.starts_with("text/plain"))
                })
                .map(|(h, b)| decode_body(&h, b))
                .unwrap_or_default()
        }
        None => decode_body(&headers, body),
    };
    Delivered {
        subject,
        text,
        raw: raw.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn multipart_quoted_printable_and_encoded_subjects_are_decoded() {
        let raw = "Subject: =?utf-8?b?R3LDvMOfZQ==?= und mehr\r\n\
                   Content-Type: multipart/alternative;\r\n boundary=\"XyZ\"\r\n\r\n\
                   --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Link: https://x/r?flow=3D1&token=3Dabc=\r\ndef\r\n\
                   --XyZ\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--XyZ--\r\n";
        let mail = parse(raw);
        assert_eq!(mail.subject, "Grüße und mehr");
        assert!(
            mail.text.contains("https://x/r?flow=1&token=abcdef"),
            "{}",
            mail.text
        );
    }
}
