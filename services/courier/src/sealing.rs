//! The tokens in queued mail. A recovery, verification or invite link is
//! as good as a password until it is used or expires, and the token tables
//! keep only its hash; the outbox must not keep it in plain text either.
//!
//! At enqueue each secret the caller names is cut out of the subject and
//! bodies and replaced by a marker (`[redacted:0]`, ...); the secrets
//! themselves are stored sealed with the server's encryption key next to the
//! message. The worker opens them and puts them back only in the message it
//! hands to the transport, for every attempt; once the message is sent or
//! abandoned the sealed column is cleared, so what the outbox keeps is the
//! mail with `[redacted:N]` where the link's token was.

use crate::outbox::OutgoingMail;
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use uuid::Uuid;

fn marker(i: usize) -> String {
    format!("[redacted:{i}]")
}

fn context(nid: Uuid, message_id: Uuid) -> String {
    format!("courier_messages.sealed_secrets@{nid}/{message_id}")
}

/// `mail` with its secrets cut out, and the secrets sealed for the message
/// `message_id` (None when it has none).
pub(crate) fn seal(
    sbox: &SecretBox,
    message_id: Uuid,
    mail: &OutgoingMail,
) -> (OutgoingMail, Option<String>) {
    let secrets: Vec<&String> = mail.secrets.iter().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return (mail.clone(), None);
    }
    let cut = |text: &str| {
        secrets
            .iter()
            .enumerate()
            .fold(text.to_owned(), |text, (i, secret)| {
                text.replace(secret.as_str(), &marker(i))
            })
    };
    let redacted = OutgoingMail {
        subject: cut(&mail.subject),
        body: cut(&mail.body),
        html_body: mail.html_body.as_deref().map(cut),
        secrets: Vec::new(),
        ..mail.clone()
    };
    // A JSON list of strings cannot fail to serialize.
    let list = serde_json::to_string(&secrets).unwrap_or_default();
    let sealed = sbox.seal(&context(mail.nid, message_id), &list);
    (redacted, Some(sealed))
}

/// The message as it is to be sent: the markers replaced by the secrets.
pub(crate) fn open(
    sbox: &SecretBox,
    message_id: Uuid,
    mail: &OutgoingMail,
    sealed: Option<&str>,
) -> Result<OutgoingMail> {
    let Some(sealed) = sealed else {
        return Ok(mail.clone());
    };
    let list = sbox
        .open(&context(mail.nid, message_id), sealed)
        .map_err(|e| Error::internal(format!("the message's sealed tokens: {e}")))?;
    let secrets: Vec<String> = serde_json::from_str(&list)
        .map_err(|e| Error::internal(format!("the message's sealed tokens: {e}")))?;
    // Highest index first, so `[redacted:1]` is not taken for a prefix of
    // `[redacted:10]`.
    let put_back = |text: &str| {
        secrets
            .iter()
            .enumerate()
            .rev()
            .fold(text.to_owned(), |text, (i, secret)| {
                text.replace(&marker(i), secret)
            })
    };
    Ok(OutgoingMail {
        subject: put_back(&mail.subject),
        body: put_back(&mail.body),
        html_body: mail.html_body.as_deref().map(put_back),
        secrets: Vec::new(),
        ..mail.clone()
    })
}

/// `stored` sealed again with the current key, when it was sealed with an
/// older one.
pub(crate) fn reseal(
    sbox: &SecretBox,
    nid: Uuid,
    message_id: Uuid,
    stored: &str,
) -> Result<Option<String>> {
    if !sbox.needs_reseal(stored) {
        return Ok(None);
    }
    let context = context(nid, message_id);
    let list = sbox
        .open(&context, stored)
        .map_err(|e| Error::internal(format!("message {message_id}'s sealed tokens: {e}")))?;
    Ok(Some(sbox.seal(&context, &list)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sbox() -> SecretBox {
        SecretBox::new(&["a-test-key-of-more-than-32-characters"]).unwrap()
    }

    fn mail() -> OutgoingMail {
        OutgoingMail {
            nid: Uuid::now_v7(),
            template_type: "recovery_valid".into(),
            recipient: "a@example.com".into(),
            subject: "Recover".into(),
            body: "Open https://x/r?flow=1&token=TOKEN123 now".into(),
            html_body: Some("<a href=\"https://x/r?flow=1&amp;token=TOKEN123\">x</a>".into()),
            secrets: vec!["TOKEN123".into()],
        }
    }

    #[test]
    fn the_stored_mail_has_no_token_and_the_sent_one_has_it_back() {
        let (id, sbox, mail) = (Uuid::now_v7(), sbox(), mail());
        let (stored, sealed) = seal(&sbox, id, &mail);
        assert!(!stored.body.contains("TOKEN123"));
        assert!(stored.body.contains("token=[redacted:0]"));
        assert!(!stored.html_body.as_deref().unwrap().contains("TOKEN123"));
        assert!(!sealed.as_deref().unwrap().contains("TOKEN123"));
        let sent = open(&sbox, id, &stored, sealed.as_deref()).unwrap();
        assert_eq!(sent.body, mail.body);
        assert_eq!(sent.html_body, mail.html_body);
        // Sealed for this message: another message's row cannot use it.
        assert!(open(&sbox, Uuid::now_v7(), &stored, sealed.as_deref()).is_err());
        // Without its secrets (cleared after delivery) it stays redacted.
        assert_eq!(open(&sbox, id, &stored, None).unwrap().body, stored.body);
    }

    #[test]
    fn mail_without_secrets_is_stored_as_it_is() {
        let mail = OutgoingMail {
            secrets: vec![],
            ..mail()
        };
        let (stored, sealed) = seal(&sbox(), Uuid::now_v7(), &mail);
        assert_eq!((stored, sealed), (mail, None));
    }

    #[test]
    fn many_secrets_are_put_back_each_in_its_place() {
        let secrets: Vec<String> = (0..12).map(|i| format!("S{i:02}x")).collect();
        let mail = OutgoingMail {
            body: secrets.join(" "),
            secrets: secrets.clone(),
            ..mail()
        };
        let (id, sbox) = (Uuid::now_v7(), sbox());
        let (stored, sealed) = seal(&sbox, id, &mail);
        assert!(secrets.iter().all(|s| !stored.body.contains(s.as_str())));
        assert_eq!(
            open(&sbox, id, &stored, sealed.as_deref()).unwrap().body,
            mail.body
        );
    }
}
