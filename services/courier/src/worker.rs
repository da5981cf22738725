//! The delivery worker: takes due messages from the outbox, sends them,
//! and records the outcome. Several replicas may run it at once: a message
//! is claimed by moving it from `queued` to `processing`, which only one of
//! them can do.

use crate::outbox::{self, PROCESSING, QUEUED, StoredMail};
use crate::transport::MailTransport;
use chrono::Duration as ChronoDuration;
use kernel::clock::SharedClock;
use kernel::{Error, Result};
use lettre::Message;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use store::Database;
use tokio::sync::Notify;

/// Process settings of the courier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CourierSettings {
    /// The sender of the control plane's mail.
    pub from_address: String,
    pub from_name: String,
    /// Where the file transport writes `.eml` files.
    pub file_dir: String,
    /// How often the worker looks for due messages when nobody wakes it.
    pub poll_interval_ms: u64,
    /// Attempts before a message is abandoned.
    pub max_attempts: i32,
}

impl Default for CourierSettings {
    fn default() -> Self {
        Self {
            from_address: "no-reply@keyplane.localhost".to_owned(),
            from_name: "Keyplane".to_owned(),
            file_dir: "./data/mail".to_owned(),
            poll_interval_ms: 1000,
            max_attempts: 10,
        }
    }
}

impl CourierSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.mailbox().map(|_| ())
    }

    fn mailbox(&self) -> std::result::Result<Mailbox, String> {
        format!("{} <{}>", self.from_name, self.from_address)
            .parse()
            .map_err(|e| format!("courier.from_address: {e}"))
    }
}

/// Sends what the outbox holds. Cheap to clone.
#[derive(Clone)]
pub struct Courier {
    db: Database,
    clock: SharedClock,
    transport: Arc<dyn MailTransport>,
    from: Mailbox,
    settings: CourierSettings,
    wake: Arc<Notify>,
}

/// A message left `processing` this long belongs to a worker that died.
const STALE_AFTER: ChronoDuration = ChronoDuration::minutes(5);
const BATCH: u64 = 50;

impl Courier {
    pub fn new(
        db: Database,
        clock: SharedClock,
        transport: Arc<dyn MailTransport>,
        settings: CourierSettings,
    ) -> Result<Self> {
        let from = settings.mailbox().map_err(Error::internal)?;
        Ok(Self {
            db,
            clock,
            transport,
            from,
            settings,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Asks the worker to look at the outbox now (after a commit that
    /// queued mail), instead of at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The wait before attempt `n + 1`: 2^n seconds, at most an hour.
    fn backoff(send_count: i32) -> ChronoDuration {
        ChronoDuration::seconds(1i64 << send_count.clamp(0, 12)).min(ChronoDuration::hours(1))
    }

    fn render(&self, mail: &StoredMail) -> std::result::Result<Message, String> {
        let to: Mailbox = mail
            .mail
            .recipient
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.mail.subject.clone())
            .body(mail.mail.body.clone())
            .map_err(|e| e.to_string())
    }

    /// Delivers every due message once; returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize> {
        let conn = &self.db.conn;
        let now = self.clock.now();
        outbox::requeue_stale(conn, now - STALE_AFTER, now).await?;
        let mut sent = 0;
        for mail in outbox::due(conn, now, BATCH).await? {
            if !outbox::transition(conn, mail.id, QUEUED, PROCESSING, now).await? {
                continue;
            }
            let outcome = match self.render(&mail) {
                Ok(message) => self.transport.send(message).await,
                Err(e) => Err(e),
            };
            let now = self.clock.now();
            match outcome {
                Ok(()) => {
                    outbox::record_sent(conn, mail.id, now).await?;
                    sent += 1;
                }
                Err(error) => {
                    let attempts = mail.send_count + 1;
                    let retry_at = (attempts < self.settings.max_attempts)
                        .then(|| now + Self::backoff(mail.send_count));
                    tracing::warn!(message_id = %mail.id, attempts, %error, "mail delivery failed");
                    outbox::record_failure(conn, mail.id, &error, retry_at, now).await?;
                }
            }
        }
        Ok(sent)
    }

    /// Runs the worker until the process ends.
    pub fn spawn_worker(&self) {
        let courier = self.clone();
        let interval = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        tokio::spawn(async move {
            loop {
                if let Err(e) = courier.deliver_due().await {
                    tracing::warn!(error = %e, "courier: could not read the outbox");
                }
                tokio::select! {
                    _ = courier.wake.notified() => {}
                    _ = tokio::time::sleep(interval) => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(Courier::backoff(0), ChronoDuration::seconds(1));
        assert_eq!(Courier::backoff(3), ChronoDuration::seconds(8));
        assert_eq!(Courier::backoff(40), ChronoDuration::hours(1));
    }
}
