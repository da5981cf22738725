//! The delivery worker: takes due messages from the outbox, sends them,
//! and records the outcome. Several replicas may run it at once: a message
//! is claimed by moving it from `queued` to `processing`, which only one of
//! them can do.

use crate::message::mailbox;
use crate::outbox::{self, OutgoingMail};
use crate::routes::MailRoutes;
use crate::smtp::{self, SmtpTransport, SmtpTransports};
use crate::transport::{FileTransport, MailTransport};
use kernel::clock::SharedClock;
use kernel::sealed::SecretBox;
use kernel::share::ProjectShares;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use store::Database;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// Process settings of the courier.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CourierSettings {
    /// The sender of mail whose project names none (the control plane's).
    pub from_address: String,
    pub from_name: String,
    /// The server-wide SMTP server (`smtp://…`, `smtps://…`, Kratos'
    /// connection URI forms) for projects that configure none; unset, mail
    /// goes to `file_dir`.
    pub smtp_url: Option<String>,
    /// Where the file transport writes `.eml` files.
    pub file_dir: String,
    /// How often the worker looks for due messages when nobody wakes it.
    pub poll_interval_ms: u64,
    /// Attempts before a message is abandoned.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; it doubles with each
    /// further one, up to an hour.
    pub retry_base_ms: u64,
    /// Let a project's own SMTP server (`courier.smtp.connection_uri`) be
    /// on a loopback, private or link-local address. Off: a tenant could
    /// otherwise make the server connect anywhere inside the operator's
    /// network (the web hooks' SSRF guard, for mail). The server-wide
    /// `smtp_url` is the operator's and never checked.
    pub allow_private_networks: bool,
    /// Messages being sent at once, all projects together.
    pub max_concurrent_sends: usize,
    /// Messages of one project being sent at once: a project whose SMTP
    /// server hangs, or that queued a flood, delays only its own mail.
    pub max_concurrent_sends_per_project: usize,
}

// Hand-written so `smtp_url`'s password stays out of logs.
impl std::fmt::Debug for CourierSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CourierSettings")
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .field("smtp_url", &self.smtp_url.as_deref().map(smtp::redact))
            .field("file_dir", &self.file_dir)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base_ms", &self.retry_base_ms)
            .field("allow_private_networks", &self.allow_private_networks)
            .field("max_concurrent_sends", &self.max_concurrent_sends)
            .field(
                "max_concurrent_sends_per_project",
                &self.max_concurrent_sends_per_project,
            )
            .finish()
    }
}

impl Default for CourierSettings {
    fn default() -> Self {
        Self {
            from_address: "no-reply@keyplane.localhost".to_owned(),
            from_name: "Keyplane".to_owned(),
            smtp_url: None,
            file_dir: "./data/mail".to_owned(),
            poll_interval_ms: 1000,
            max_attempts: 10,
            retry_base_ms: 1000,
            allow_private_networks: false,
            max_concurrent_sends: 16,
            max_concurrent_sends_per_project: 2,
        }
    }
}

impl CourierSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        mailbox(&self.from_address, &self.from_name)
            .map_err(|e| format!("courier.from_address: {e}"))?;
        if let Some(url) = &self.smtp_url {
            smtp::parse(url).map_err(|e| format!("courier.smtp_url: {e}"))?;
        }
        if self.max_attempts < 1 {
            return Err("courier.max_attempts: must be at least 1".to_owned());
        }
        if self.max_concurrent_sends < 1 {
            return Err("courier.max_concurrent_sends: must be at least 1".to_owned());
        }
        if !(1..=self.max_concurrent_sends).contains(&self.max_concurrent_sends_per_project) {
            return Err(
                "courier.max_concurrent_sends_per_project: must be between 1 and max_concurrent_sends"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The transport for projects without their own SMTP server.
    pub fn default_transport(&self) -> std::result::Result<Arc<dyn MailTransport>, String> {
        Ok(match &self.smtp_url {
            Some(url) => Arc::new(
                SmtpTransport::from_uri(url).map_err(|e| format!("courier.smtp_url: {e}"))?,
            ),
            None => Arc::new(
                FileTransport::new(&self.file_dir)
                    .map_err(|e| format!("courier.file_dir `{}`: {e}", self.file_dir))?,
            ),
        })
    }
}

/// Sends what the outbox holds. Cheap to clone.
#[derive(Clone)]
pub struct Courier {
    pub(crate) db: Database,
    pub(crate) clock: SharedClock,
    pub(crate) default_transport: Arc<dyn MailTransport>,
    pub(crate) smtp: Arc<SmtpTransports>,
    pub(crate) settings: CourierSettings,
    wake: Arc<Notify>,
    /// Seals the tokens of queued mail (`sealing`).
    pub(crate) sealing: Arc<SecretBox>,
    /// Sends in flight, all projects (`delivery`).
    pub(crate) slots: Arc<Semaphore>,
    /// Each project's share of them.
    pub(crate) shares: ProjectShares,
}

impl Courier {
    /// A courier sending through `default_transport` unless a project's
    /// route names its own SMTP server.
    pub fn new(
        db: Database,
        clock: SharedClock,
        default_transport: Arc<dyn MailTransport>,
        settings: CourierSettings,
        sealing: Arc<SecretBox>,
    ) -> Result<Self> {
        settings.validate().map_err(Error::internal)?;
        Ok(Self {
            sealing,
            slots: Arc::new(Semaphore::new(settings.max_concurrent_sends)),
            shares: ProjectShares::new(settings.max_concurrent_sends_per_project),
            db,
            clock,
            default_transport,
            smtp: Arc::default(),
            settings,
            wake: Arc::new(Notify::new()),
        })
    }

    /// A courier with the transport the settings choose: `smtp_url`, or
    /// `.eml` files under `file_dir`.
    pub fn from_settings(
        db: Database,
        clock: SharedClock,
        settings: CourierSettings,
        sealing: Arc<SecretBox>,
    ) -> Result<Self> {
        let transport = settings.default_transport().map_err(Error::internal)?;
        Self::new(db, clock, transport, settings, sealing)
    }

    /// Queues `mail` inside `conn`'s transaction (the change it reports),
    /// its secrets sealed; call [`Courier::wake`] after the commit.
    pub async fn enqueue<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        mail: &OutgoingMail,
    ) -> Result<Uuid> {
        outbox::enqueue(conn, &self.sealing, mail, self.clock.now()).await
    }

    /// Re-seals unsent messages' secrets with the current key (rotation).
    pub async fn reseal(&self) -> Result<usize> {
        outbox::reseal(&self.db.conn, &self.sealing).await
    }

    /// Asks the worker to look at the outbox now (after a commit that
    /// queued mail), instead of at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs the worker until the process ends, sending each project's mail
    /// where `routes` says. The routes come from the control plane, which
    /// holds this courier to queue and wake: they are given here, once both
    /// exist, rather than at construction.
    pub fn spawn_worker(&self, routes: Arc<dyn MailRoutes>) {
        let courier = self.clone();
        let interval = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        tokio::spawn(async move {
            loop {
                if let Err(e) = courier.deliver_due(routes.as_ref()).await {
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::Duration as ChronoDuration;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(Courier::backoff(1000, 0), ChronoDuration::seconds(1));
        assert_eq!(Courier::backoff(1000, 3), ChronoDuration::seconds(8));
        assert_eq!(Courier::backoff(50, 2), ChronoDuration::milliseconds(200));
        assert_eq!(Courier::backoff(1000, 40), ChronoDuration::hours(1));
        assert_eq!(Courier::backoff(u64::MAX, 1), ChronoDuration::hours(1));
    }

    #[test]
    fn settings_name_the_bad_key_without_the_password() {
        let mut settings = CourierSettings {
            smtp_url: Some("smtps://me:secret@mail.example.com".to_owned()),
            ..CourierSettings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
        assert!(!format!("{settings:?}").contains("secret"));
        settings.smtp_url = Some("http://me:secret@mail.example.com".to_owned());
        let error = settings.validate().unwrap_err();
        assert!(
            error.starts_with("courier.smtp_url:") && !error.contains("secret"),
            "{error}"
        );
    }
}
