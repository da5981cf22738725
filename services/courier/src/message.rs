//! Turning a stored message into a MIME message.

use crate::outbox::OutgoingMail;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Headers the courier writes itself. Extra headers may not replace them:
/// a project must not be able to reroute mail (`To`, `Bcc`) or break the
/// MIME structure through its config.
const RESERVED: [&str; 11] = [
    "from",
    "to",
    "cc",
    "bcc",
    "sender",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// The sender, from an address and an optional display name.
pub fn mailbox(address: &str, name: &str) -> Result<Mailbox, String> {
    let email = address
        .trim()
        .parse()
        .map_err(|e| format!("from address `{address}`: {e}"))?;
    let name = name.trim();
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_owned()),
        email,
    ))
}

/// Renders `mail` from `from` with the extra `headers`; plain text alone,
/// or `multipart/alternative` when there is an HTML body.
pub fn render(
    mail: &OutgoingMail,
    message_id: Uuid,
    from: Mailbox,
    headers: &BTreeMap<String, String>,
) -> Result<Message, String> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        // One id per outbox row: a retry is the same message to receivers
        // (and tests find a delivered `.eml` by it).
        .message_id(Some(format!("<{message_id}@keyplane.outbox>")))
        .subject(mail.subject.clone());
    for (name, value) in headers {
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        // RFC 5322 field names: printable ASCII without `:`. lettre only
        // rules out spaces and colons, and a CR or LF would inject headers.
        if !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err(format!(
                "header name `{}` is not valid",
                name.escape_debug()
            ));
        }
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|e| format!("header name `{name}`: {e}"))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    match &mail.html_body {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.body.clone(),
            html.clone(),
        )),
        // Declared as UTF-8 text: without a Content-Type, readers assume
        // US-ASCII and garble names and links with other characters.
        None => builder.singlepart(SinglePart::plain(mail.body.clone())),
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn mail(html_body: Option<&str>) -> OutgoingMail {
        OutgoingMail {
            nid: Uuid::nil(),
            template_type: "test".to_owned(),
            recipient: "bob@example.com".to_owned(),
            subject: "Hello".to_owned(),
            body: "plain words".to_owned(),
            html_body: html_body.map(str::to_owned),
            secrets: Vec::new(),
        }
    }

    fn formatted(message: &Message) -> String {
        String::from_utf8(message.formatted()).unwrap()
    }

    #[test]
    fn html_makes_a_multipart_alternative_with_plain_text_first() {
        let from = mailbox("acme@example.com", "Acme Team").unwrap();
        let eml = formatted(
            &render(
                &mail(Some("<p>html words</p>")),
                Uuid::nil(),
                from,
                &BTreeMap::new(),
            )
            .unwrap(),
        );
        assert!(
            eml.contains("Content-Type: multipart/alternative;"),
            "{eml}"
        );
        let plain = eml.find("Content-Type: text/plain").unwrap();
        let html = eml.find("Content-Type: text/html").unwrap();
        assert!(plain < html, "{eml}");
        assert!(eml.contains("plain words") && eml.contains("<p>html words</p>"));
        assert!(
            eml.contains("From: \"Acme Team\" <acme@example.com>"),
            "{eml}"
        );
    }

    #[test]
    fn plain_only_without_html() {
        let from = mailbox("acme@example.com", "").unwrap();
        let eml = formatted(&render(&mail(None), Uuid::nil(), from, &BTreeMap::new()).unwrap());
        assert!(!eml.contains("multipart"), "{eml}");
        assert!(eml.contains("Content-Type: text/plain"), "{eml}");
        assert!(eml.contains("From: acme@example.com"), "{eml}");
    }

    #[test]
    fn extra_headers_are_added_but_cannot_reroute() {
        let from = mailbox("acme@example.com", "Acme").unwrap();
        let headers = BTreeMap::from([
            ("X-Tenant".to_owned(), "acme".to_owned()),
            ("Bcc".to_owned(), "spy@example.com".to_owned()),
            ("subject".to_owned(), "Other".to_owned()),
        ]);
        let message = render(&mail(None), Uuid::nil(), from, &headers).unwrap();
        let eml = formatted(&message);
        assert!(eml.contains("X-Tenant: acme"), "{eml}");
        assert!(
            !eml.contains("spy@example.com") && !eml.contains("Other"),
            "{eml}"
        );
        assert_eq!(message.envelope().to().len(), 1);

        for name in ["Bad Name", "X-A\r\nBcc", ""] {
            let bad = BTreeMap::from([(name.to_owned(), "x".to_owned())]);
            let from = mailbox("acme@example.com", "Acme").unwrap();
            assert!(
                render(&mail(None), Uuid::nil(), from, &bad).is_err(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn a_bad_sender_is_an_error() {
        assert!(mailbox("not an address", "x").is_err());
    }
}
