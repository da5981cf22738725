//! `courier_messages`: queued → processing → sent, or back to queued with a
//! later `next_attempt_at` after a failure, until `abandoned`.

use crate::sealing;
use chrono::{DateTime, Utc};
use kernel::Result;
use kernel::sealed::SecretBox;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, Iterable};
use store::entity::courier_messages::{Column, Entity, Model};
use store::sql;
use uuid::Uuid;

pub const QUEUED: &str = "queued";
pub const PROCESSING: &str = "processing";
pub const SENT: &str = "sent";
pub const ABANDONED: &str = "abandoned";

/// A message to send, as the caller renders it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The project the message belongs to (the console project for mail the
    /// control plane sends).
    pub nid: Uuid,
    /// What kind of message it is, e.g. `project_invite`.
    pub template_type: String,
    pub recipient: String,
    pub subject: String,
    /// Plain text; always sent.
    pub body: String,
    /// An HTML alternative: with it the message is `multipart/alternative`
    /// (plain text first, so clients that prefer HTML pick the last part).
    pub html_body: Option<String>,
    /// Tokens that appear in the text (a link's token, a code): stored
    /// sealed, never in the outbox's text (`sealing`).
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("nid", &self.nid)
            .field("template_type", &self.template_type)
            .field("recipient", &self.recipient)
            .field("subject", &self.subject)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .finish_non_exhaustive()
    }
}

/// A stored message: its text with `[redacted:N]` where its secrets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMail {
    pub id: Uuid,
    pub mail: OutgoingMail,
    pub status: String,
    pub send_count: i32,
    /// The secrets, sealed; cleared once the message is sent or abandoned.
    pub sealed_secrets: Option<String>,
}

/// Queues `mail`, its secrets sealed with `sbox`; run it inside the
/// transaction of the change it reports.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    mail: &OutgoingMail,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let (mail, sealed) = sealing::seal(sbox, id, mail);
    let mail = &mail;
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::Id, id.into()),
            (Column::Nid, mail.nid.into()),
            (Column::TemplateType, mail.template_type.clone().into()),
            (Column::Recipient, mail.recipient.clone().into()),
            (Column::Subject, mail.subject.clone().into()),
            (Column::Body, mail.body.clone().into()),
            (Column::HtmlBody, mail.html_body.clone().into()),
            (Column::SealedSecrets, sealed.into()),
            (Column::Status, QUEUED.to_owned().into()),
            (Column::SendCount, 0i32.into()),
            (Column::NextAttemptAt, now.into()),
            (Column::CreatedAt, now.into()),
            (Column::UpdatedAt, now.into()),
        ],
    )
    .await?;
    Ok(id)
}

fn from_model(m: Model) -> StoredMail {
    StoredMail {
        id: m.id,
        mail: OutgoingMail {
            nid: m.nid,
            template_type: m.template_type,
            recipient: m.recipient,
            subject: m.subject,
            body: m.body,
            html_body: m.html_body,
            secrets: Vec::new(),
        },
        status: m.status,
        send_count: m.send_count,
        sealed_secrets: m.sealed_secrets,
    }
}

/// Every row of `stmt` (all of the table's columns) as a stored message.
async fn select_mail<C: ConnectionTrait>(
    conn: &C,
    stmt: &sea_orm::sea_query::SelectStatement,
) -> Result<Vec<StoredMail>> {
    sql::select_all(conn, stmt)
        .await?
        .iter()
        .map(|row| sql::model(row).map(from_model))
        .collect()
}

/// Projects that have queued messages due at `now`.
pub async fn due_projects<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>> {
    let stmt = Query::select()
        .distinct()
        .column(Column::Nid)
        .from(Entity)
        .and_where(Expr::col(Column::Status).eq(QUEUED))
        .and_where(Expr::col(Column::NextAttemptAt).lte(now))
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| sql::get(row, Column::Nid))
        .collect()
}

/// One project's queued messages due at `now`, oldest first.
pub async fn due_for_project<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<StoredMail>> {
    let stmt = Query::select()
        .columns(Column::iter())
        .from(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Status).eq(QUEUED))
        .and_where(Expr::col(Column::NextAttemptAt).lte(now))
        .order_by(Column::NextAttemptAt, Order::Asc)
        .limit(limit)
        .to_owned();
    select_mail(conn, &stmt).await
}

/// The messages of one project, newest first (tests and support read the
/// outbox through this).
pub async fn list_for_project<C: ConnectionTrait>(conn: &C, nid: Uuid) -> Result<Vec<StoredMail>> {
    let stmt = Query::select()
        .columns(Column::iter())
        .from(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .order_by(Column::CreatedAt, Order::Desc)
        .order_by(Column::Id, Order::Desc)
        .to_owned();
    select_mail(conn, &stmt).await
}

/// Moves a message of tenant `nid` from `from` to `to` status; false when
/// another worker moved it first (which is how replicas share the outbox
/// without locks). Like every write here, scoped by `nid` as well as the
/// id: no id reaches another tenant's mail.
pub async fn transition<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stmt = Query::update()
        .table(Entity)
        .value(Column::Status, to)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(id))
        .and_where(Expr::col(Column::Status).eq(from))
        .to_owned();
    Ok(sql::update(conn, &stmt).await? == 1)
}

/// Records a failed attempt: queued again for `retry_at`, or abandoned
/// (and then its sealed secrets are dropped: nothing will send it again).
pub async fn record_failure<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut stmt = Query::update();
    stmt.table(Entity)
        .value(
            Column::Status,
            if retry_at.is_some() {
                QUEUED
            } else {
                ABANDONED
            },
        )
        .value(Column::LastError, error)
        .value(Column::SendCount, Expr::col(Column::SendCount).add(1))
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(id));
    match retry_at {
        Some(at) => stmt.value(Column::NextAttemptAt, at),
        None => stmt.value(Column::SealedSecrets, Option::<String>::None),
    };
    sql::update(conn, &stmt).await?;
    Ok(())
}

/// Records a delivery; the message's secrets are dropped with it, so the
/// outbox keeps the mail with its tokens redacted.
pub async fn record_sent<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let stmt = Query::update()
        .table(Entity)
        .value(Column::Status, SENT)
        .value(Column::SealedSecrets, Option::<String>::None)
        .value(Column::SendCount, Expr::col(Column::SendCount).add(1))
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    sql::update(conn, &stmt).await?;
    Ok(())
}

/// Puts back messages a crashed worker left `processing` since `before`.
pub async fn requeue_stale<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let stmt = Query::update()
        .table(Entity)
        .value(Column::Status, QUEUED)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Status).eq(PROCESSING))
        .and_where(Expr::col(Column::UpdatedAt).lt(before))
        .to_owned();
    sql::update(conn, &stmt).await
}

/// Re-seals the secrets of unsent messages that are sealed with a key other
/// than `sbox`'s current one (key rotation); returns how many changed.
pub async fn reseal<C: ConnectionTrait>(conn: &C, sbox: &SecretBox) -> Result<usize> {
    let stmt = Query::select()
        .columns([Column::Id, Column::Nid, Column::SealedSecrets])
        .from(Entity)
        .and_where(Expr::col(Column::SealedSecrets).is_not_null())
        .to_owned();
    let mut changed = 0;
    for row in sql::select_all(conn, &stmt).await? {
        let (id, nid): (Uuid, Uuid) = (sql::get(&row, Column::Id)?, sql::get(&row, Column::Nid)?);
        let stored: String = sql::get(&row, Column::SealedSecrets)?;
        if let Some(resealed) = sealing::reseal(sbox, nid, id, &stored)? {
            let update = Query::update()
                .table(Entity)
                .value(Column::SealedSecrets, resealed)
                .and_where(Expr::col(Column::Id).eq(id))
                .and_where(Expr::col(Column::SealedSecrets).eq(stored))
                .to_owned();
            changed += usize::from(sql::update(conn, &update).await? == 1);
        }
    }
    Ok(changed)
}
