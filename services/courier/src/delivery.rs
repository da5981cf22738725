//! One delivery pass. Messages are sent concurrently, each project within
//! its share: a project whose SMTP server hangs (up to the SMTP timeout per
//! message) or that queued thousands of messages holds at most
//! `courier.max_concurrent_sends_per_project` sends at once, and its other
//! messages wait in the outbox, while every other project's mail goes out.
//! A pass starts sends and returns; each finished send wakes the worker, so
//! a project's next message starts as soon as one of its places is free.

use crate::message::{mailbox, render};
use crate::outbox::{self, PROCESSING, QUEUED, StoredMail};
use crate::routes::{MailRoute, MailRoutes};
use crate::sealing;
use crate::transport::{MailTransport, SendError};
use crate::worker::Courier;
use chrono::Duration as ChronoDuration;
use kernel::Result;
use std::sync::Arc;
use uuid::Uuid;

/// A message left `processing` this long belongs to a worker that died.
const STALE_AFTER: ChronoDuration = ChronoDuration::minutes(5);
/// Projects with due mail looked at per pass.
const PROJECTS_PER_PASS: u64 = 1000;
const MAX_BACKOFF_MS: u64 = 3_600_000;

impl Courier {
    /// The wait before attempt `n + 1`: base·2^n, at most an hour.
    pub(crate) fn backoff(base_ms: u64, send_count: i32) -> ChronoDuration {
        let factor = 1u64 << send_count.clamp(0, 40);
        let ms = base_ms.saturating_mul(factor).min(MAX_BACKOFF_MS);
        ChronoDuration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// Starts sending due messages, as many as the free places allow (each
    /// project within its share); returns how many were started.
    pub async fn deliver_due(&self, routes: &dyn MailRoutes) -> Result<usize> {
        let conn = &self.db.conn;
        let now = self.clock.now();
        outbox::requeue_stale(conn, now - STALE_AFTER, now).await?;
        let mut started = 0;
        let limit = u64::try_from(self.shares.share()).unwrap_or(u64::MAX);
        'projects: for nid in outbox::due_projects(conn, now, PROJECTS_PER_PASS).await? {
            // Read once per project and pass, when a message of it starts:
            // a config change reaches the next attempt, and a project's
            // flood costs one lookup a pass, not one a message.
            let mut route: Option<std::result::Result<MailRoute, SendError>> = None;
            for mail in outbox::due_for_project(conn, nid, now, limit).await? {
                let Some(place) = self.shares.try_enter(nid).await else {
                    // The project's share is busy: the rest waits queued.
                    continue 'projects;
                };
                let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                    break 'projects;
                };
                if !outbox::transition(conn, mail.mail.nid, mail.id, QUEUED, PROCESSING, now)
                    .await?
                {
                    continue; // another replica took it
                }
                let route = match &route {
                    Some(known) => known.clone(),
                    None => route.insert(Self::route(routes, nid).await).clone(),
                };
                let courier = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = courier.deliver(&mail, route).await {
                        tracing::warn!(message_id = %mail.id, error = %e, "courier: outcome not recorded");
                    }
                    drop((place, slot));
                    courier.wake();
                });
                started += 1;
            }
        }
        Ok(started)
    }

    /// Sends one claimed message over `route` (or fails it with the
    /// reason the route could not be read) and records the outcome.
    async fn deliver(
        &self,
        mail: &StoredMail,
        route: std::result::Result<MailRoute, SendError>,
    ) -> Result<()> {
        let conn = &self.db.conn;
        let outcome = match route {
            Ok(route) => self.attempt(mail, &route).await,
            Err(error) => Err(error),
        };
        let now = self.clock.now();
        match outcome {
            Ok(()) => outbox::record_sent(conn, mail.mail.nid, mail.id, now).await,
            Err(error) => {
                let attempts = mail.send_count + 1;
                let retry_at = (!error.permanent && attempts < self.settings.max_attempts)
                    .then(|| now + Self::backoff(self.settings.retry_base_ms, mail.send_count));
                tracing::warn!(
                    message_id = %mail.id,
                    nid = %mail.mail.nid,
                    attempts,
                    permanent = error.permanent,
                    error = %error.message,
                    "mail delivery failed"
                );
                outbox::record_failure(conn, mail.mail.nid, mail.id, &error.message, retry_at, now)
                    .await
            }
        }
    }

    /// The project's route, read when its mail is sent: a config change
    /// reaches the next attempt (so a fixed SMTP setting gets waiting mail
    /// out).
    async fn route(
        routes: &dyn MailRoutes,
        nid: Uuid,
    ) -> std::result::Result<MailRoute, SendError> {
        routes
            .route(nid)
            .await
            .map(Option::unwrap_or_default)
            .map_err(|e| SendError::transient(format!("project mail settings: {e}")))
    }

    async fn attempt(
        &self,
        mail: &StoredMail,
        route: &MailRoute,
    ) -> std::result::Result<(), SendError> {
        let from = mailbox(
            route
                .from_address
                .as_deref()
                .unwrap_or(&self.settings.from_address),
            route
                .from_name
                .as_deref()
                .unwrap_or(&self.settings.from_name),
        )
        .map_err(SendError::transient)?;
        // A message that cannot be rendered, or a project URI that cannot be
        // parsed, fails like a refused connection: it waits for a retry, by
        // which time the project's owner may have fixed the config.
        let opened = sealing::open(
            &self.sealing,
            mail.id,
            &mail.mail,
            mail.sealed_secrets.as_deref(),
        )
        .map_err(|e| SendError::transient(e.to_string()))?;
        let message =
            render(&opened, mail.id, from, &route.headers).map_err(SendError::transient)?;
        let transport = match &route.connection_uri {
            Some(uri) => self
                .smtp
                .get(uri, self.settings.allow_private_networks)
                .await
                .map_err(|e| SendError::transient(format!("courier.smtp.connection_uri: {e}")))?
                as Arc<dyn MailTransport>,
            None => self.default_transport.clone(),
        };
        transport.send(message).await
    }
}
