//! `courier_messages`: queued → processing → sent, or back to queued with a
//! later `next_attempt_at` after a failure, until `abandoned`.

use crate::sealing;
use chrono::{DateTime, Utc};
use kernel::Result;
use kernel::sealed::SecretBox;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use store::sql::{self, col};
use uuid::Uuid;

const TABLE: &str = "courier_messages";

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
        TABLE,
        vec![
            ("id", id.into()),
            ("nid", mail.nid.into()),
            ("template_type", mail.template_type.clone().into()),
            ("recipient", mail.recipient.clone().into()),
            ("subject", mail.subject.clone().into()),
            ("body", mail.body.clone().into()),
            ("html_body", mail.html_body.clone().into()),
            ("sealed_secrets", sealed.into()),
            ("status", QUEUED.to_owned().into()),
            ("send_count", 0i32.into()),
            ("next_attempt_at", now.into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await?;
    Ok(id)
}

const COLUMNS: [&str; 11] = [
    "id",
    "nid",
    "template_type",
    "recipient",
    "subject",
    "body",
    "html_body",
    "status",
    "send_count",
    "created_at",
    "sealed_secrets",
];

fn from_row(row: &sea_orm::QueryResult) -> Result<StoredMail> {
    Ok(StoredMail {
        id: sql::get(row, "id")?,
        mail: OutgoingMail {
            nid: sql::get(row, "nid")?,
            template_type: sql::get(row, "template_type")?,
            recipient: sql::get(row, "recipient")?,
            subject: sql::get(row, "subject")?,
            body: sql::get(row, "body")?,
            html_body: sql::get(row, "html_body")?,
            secrets: Vec::new(),
        },
        status: sql::get(row, "status")?,
        send_count: sql::get(row, "send_count")?,
        sealed_secrets: sql::get(row, "sealed_secrets")?,
    })
}

/// Projects that have queued messages due at `now`.
pub async fn due_projects<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>> {
    let stmt = Query::select()
        .distinct()
        .column(col("nid"))
        .from(col(TABLE))
        .and_where(Expr::col(col("status")).eq(QUEUED))
        .and_where(Expr::col(col("next_attempt_at")).lte(now))
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| sql::get(row, "nid"))
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
        .columns(COLUMNS.map(col))
        .from(col(TABLE))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("status")).eq(QUEUED))
        .and_where(Expr::col(col("next_attempt_at")).lte(now))
        .order_by(col("next_attempt_at"), Order::Asc)
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The messages of one project, newest first (tests and support read the
/// outbox through this).
pub async fn list_for_project<C: ConnectionTrait>(conn: &C, nid: Uuid) -> Result<Vec<StoredMail>> {
    let stmt = Query::select()
        .columns(COLUMNS.map(col))
        .from(col(TABLE))
        .and_where(Expr::col(col("nid")).eq(nid))
        .order_by(col("created_at"), Order::Desc)
        .order_by(col("id"), Order::Desc)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Moves a message from `from` to `to` status; false when another worker
/// moved it first (which is how replicas share the outbox without locks).
pub async fn transition<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stmt = Query::update()
        .table(col(TABLE))
        .value(col("status"), to)
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("status")).eq(from))
        .to_owned();
    Ok(sql::update(conn, &stmt).await? == 1)
}

/// Records a failed attempt: queued again for `retry_at`, or abandoned
/// (and then its sealed secrets are dropped: nothing will send it again).
pub async fn record_failure<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut stmt = Query::update();
    stmt.table(col(TABLE))
        .value(
            col("status"),
            if retry_at.is_some() {
                QUEUED
            } else {
                ABANDONED
            },
        )
        .value(col("last_error"), error)
        .value(col("send_count"), Expr::col(col("send_count")).add(1))
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(id));
    match retry_at {
        Some(at) => stmt.value(col("next_attempt_at"), at),
        None => stmt.value(col("sealed_secrets"), Option::<String>::None),
    };
    sql::update(conn, &stmt).await?;
    Ok(())
}

/// Records a delivery; the message's secrets are dropped with it, so the
/// outbox keeps the mail with its tokens redacted.
pub async fn record_sent<C: ConnectionTrait>(conn: &C, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let stmt = Query::update()
        .table(col(TABLE))
        .value(col("status"), SENT)
        .value(col("sealed_secrets"), Option::<String>::None)
        .value(col("send_count"), Expr::col(col("send_count")).add(1))
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(id))
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
        .table(col(TABLE))
        .value(col("status"), QUEUED)
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("status")).eq(PROCESSING))
        .and_where(Expr::col(col("updated_at")).lt(before))
        .to_owned();
    sql::update(conn, &stmt).await
}

/// Re-seals the secrets of unsent messages that are sealed with a key other
/// than `sbox`'s current one (key rotation); returns how many changed.
pub async fn reseal<C: ConnectionTrait>(conn: &C, sbox: &SecretBox) -> Result<usize> {
    let stmt = Query::select()
        .columns(["id", "nid", "sealed_secrets"].map(col))
        .from(col(TABLE))
        .and_where(Expr::col(col("sealed_secrets")).is_not_null())
        .to_owned();
    let mut changed = 0;
    for row in sql::select_all(conn, &stmt).await? {
        let (id, nid): (Uuid, Uuid) = (sql::get(&row, "id")?, sql::get(&row, "nid")?);
        let stored: String = sql::get(&row, "sealed_secrets")?;
        if let Some(resealed) = sealing::reseal(sbox, nid, id, &stored)? {
            let update = Query::update()
                .table(col(TABLE))
                .value(col("sealed_secrets"), resealed)
                .and_where(Expr::col(col("id")).eq(id))
                .and_where(Expr::col(col("sealed_secrets")).eq(stored))
                .to_owned();
            changed += usize::from(sql::update(conn, &update).await? == 1);
        }
    }
    Ok(changed)
}
