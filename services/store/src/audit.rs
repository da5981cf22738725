//! `audit_events`: the append-only record of every change made through the
//! control plane or a tenant's admin APIs. A service appends its event in
//! the transaction of the change, so there is never a change without its
//! event or an event without its change. Who acted, the request id and the
//! client address come from the request context (`kernel::request`).
//!
//! What changed is an RFC 6902 patch from the document before to the
//! document after. Callers hand in documents with their secrets already
//! marked (the config's own secret markers); [`redact`] then blanks every
//! value under a key that names a secret, as a second line of defence.

use crate::sql::{self, col};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Order, Query, SelectStatement};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

const TABLE: &str = "audit_events";

/// What every redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// One change, before it is appended.
#[derive(Debug, Clone)]
pub struct Change {
    /// The project changed; none for an account's own change.
    pub nid: Option<Uuid>,
    /// The account whose own log (`/me/audit-log`) shows the event.
    pub account_id: Option<Uuid>,
    /// `project.update`, `identity.create`, ...
    pub action: &'static str,
    /// What was changed: an id, or `namespace:object#relation@subject`.
    pub target: String,
    pub diff: Value,
}

impl Change {
    /// A change of project `nid`.
    pub fn project(nid: Uuid, action: &'static str, target: impl ToString) -> Self {
        Self {
            nid: Some(nid),
            account_id: None,
            action,
            target: target.to_string(),
            diff: json!([]),
        }
    }

    /// A change of an account's own (tokens, its projects coming and going).
    pub fn account(account_id: Uuid, action: &'static str, target: impl ToString) -> Self {
        Self {
            nid: None,
            account_id: Some(account_id),
            action,
            target: target.to_string(),
            diff: json!([]),
        }
    }

    /// Also shown in the log of `account` (when there is one).
    pub fn for_account(mut self, account: Option<Uuid>) -> Self {
        self.account_id = account;
        self
    }

    /// The patch from `before` to `after` (none: the thing did not exist,
    /// or no longer does), with secrets redacted.
    pub fn diff(mut self, before: Option<&Value>, after: Option<&Value>) -> Self {
        let empty = json!({});
        let mut before = before.unwrap_or(&empty).clone();
        let mut after = after.unwrap_or(&empty).clone();
        redact(&mut before);
        redact(&mut after);
        self.diff = serde_json::to_value(json_patch::diff(&before, &after)).unwrap_or(json!([]));
        self
    }

    /// A diff made of the given operations (already free of secrets).
    pub fn with_patch(mut self, mut patch: Value) -> Self {
        redact(&mut patch);
        self.diff = patch;
        self
    }
}

/// Whether a key names a value that is never written to the log.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "private_key",
        "connection_uri",
        "hash",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Blanks every string under a key that names a secret, except values
/// already marked (`[redacted]…`: the config's markers keep telling a
/// rotation apart without the value).
pub fn redact(value: &mut Value) {
    fn blank(value: &mut Value) {
        match value {
            Value::String(s) if !s.starts_with(REDACTED) => *s = REDACTED.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(blank),
            Value::Object(map) => map.values_mut().for_each(blank),
            _ => {}
        }
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if secret_key(key) {
                    blank(child);
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => {
            // A patch operation names its target in `path`: the value of an
            // operation on a secret's path is a secret too.
            for item in items.iter_mut() {
                let on_secret = item
                    .get("path")
                    .and_then(Value::as_str)
                    .and_then(|p| p.rsplit('/').next())
                    .is_some_and(secret_key);
                if on_secret && let Some(v) = item.get_mut("value") {
                    blank(v);
                }
                redact(item);
            }
        }
        _ => {}
    }
}

/// Appends `change` as done now by the request's actor.
pub async fn append<C: ConnectionTrait>(conn: &C, change: Change, at: DateTime<Utc>) -> Result<()> {
    // What PostgreSQL keeps: page cursors (microseconds) then match rows
    // exactly on either database.
    let at = chrono::SubsecRound::trunc_subsecs(at, 6);
    let actor = kernel::request::current_actor();
    let context = kernel::request::current();
    sql::insert(
        conn,
        TABLE,
        vec![
            ("id", Uuid::now_v7().into()),
            ("nid", change.nid.into()),
            ("account_id", change.account_id.into()),
            ("created_at", at.into()),
            ("actor_type", actor.kind().into()),
            ("actor_id", actor.id().into()),
            ("actor_name", actor.name().to_owned().into()),
            ("actor_account_id", actor.account_id().into()),
            (
                "request_id",
                context.as_ref().map(|c| c.request_id.clone()).into(),
            ),
            (
                "client_ip",
                context
                    .as_ref()
                    .and_then(|c| c.client_ip)
                    .map(|ip| ip.to_string())
                    .into(),
            ),
            ("action", change.action.into()),
            ("target", change.target.into()),
            ("diff", change.diff.to_string().into()),
        ],
    )
    .await
}

/// One event as the log shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
    pub actor: EventActor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    pub action: String,
    pub target: String,
    /// RFC 6902 operations from before to after.
    pub diff: Value,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventActor {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
}

/// Whose log, and which of its events.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub nid: Option<Uuid>,
    pub account_id: Option<Uuid>,
    /// The actor's id, account id or name (an e-mail or key name), exactly.
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub target: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Where a page starts: just after this event (by insertion sequence),
/// newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    pub fn encode(&self) -> String {
        format!("s{}", self.0)
    }

    pub fn decode(token: &str) -> Result<Self> {
        token
            .strip_prefix('s')
            .and_then(|n| n.parse().ok())
            .filter(|n: &i64| *n > 0)
            .map(Cursor)
            .ok_or_else(|| {
                Error::bad_request("`page_token` is not a token this API gave out")
                    .with_id("invalid_page_token")
            })
    }
}

fn escape_like(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn select(filter: &Filter) -> SelectStatement {
    let mut select = Query::select();
    select.columns(
        [
            "seq",
            "id",
            "nid",
            "created_at",
            "actor_type",
            "actor_id",
            "actor_name",
            "actor_account_id",
            "request_id",
            "client_ip",
            "action",
            "target",
            "diff",
        ]
        .map(col),
    );
    select.from(col(TABLE));
    if let Some(nid) = filter.nid {
        select.and_where(Expr::col(col("nid")).eq(nid));
    }
    if let Some(account) = filter.account_id {
        select.and_where(Expr::col(col("account_id")).eq(account));
    }
    if let Some(actor) = &filter.actor {
        let by_name = Expr::col(col("actor_name")).eq(actor.clone());
        select.and_where(match Uuid::parse_str(actor) {
            Ok(id) => by_name
                .or(Expr::col(col("actor_id")).eq(id))
                .or(Expr::col(col("actor_account_id")).eq(id)),
            Err(_) => by_name,
        });
    }
    if let Some(prefix) = &filter.action_prefix {
        select.and_where(
            Expr::col(col("action")).like(LikeExpr::new(escape_like(prefix)).escape('\\')),
        );
    }
    if let Some(target) = &filter.target {
        select.and_where(Expr::col(col("target")).eq(target.clone()));
    }
    if let Some(since) = filter.since {
        select.and_where(Expr::col(col("created_at")).gte(since));
    }
    if let Some(until) = filter.until {
        select.and_where(Expr::col(col("created_at")).lt(until));
    }
    select.to_owned()
}

fn from_row(row: &sea_orm::QueryResult) -> Result<(i64, Event)> {
    let diff: String = sql::get(row, "diff")?;
    let event = Event {
        id: sql::get(row, "id")?,
        time: sql::get(row, "created_at")?,
        project_id: sql::get(row, "nid")?,
        actor: EventActor {
            kind: sql::get(row, "actor_type")?,
            id: sql::get(row, "actor_id")?,
            name: sql::get(row, "actor_name")?,
            account_id: sql::get(row, "actor_account_id")?,
        },
        request_id: sql::get(row, "request_id")?,
        client_ip: sql::get(row, "client_ip")?,
        action: sql::get(row, "action")?,
        target: sql::get(row, "target")?,
        diff: serde_json::from_str(&diff).map_err(Error::internal)?,
    };
    Ok((sql::get(row, "seq")?, event))
}

/// Up to `limit` events matching `filter`, newest first, after `cursor`;
/// and the cursor of the next page when there may be one.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<Event>, Option<Cursor>)> {
    let mut select = select(filter);
    if let Some(Cursor(seq)) = cursor {
        // Below the cursor in the index's order: each page is one range
        // scan of `(nid, seq)`, whatever the log's size.
        select.and_where(Expr::col(col("seq")).lt(seq));
    }
    select.order_by(col("seq"), Order::Desc).limit(limit + 1);
    let rows = sql::select_all(conn, &select).await?;
    let mut events = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let next = if events.len() as u64 > limit {
        events.truncate(limit as usize);
        events.last().map(|(seq, _)| Cursor(*seq))
    } else {
        None
    };
    Ok((events.into_iter().map(|(_, e)| e).collect(), next))
}

/// Deletes those of the `batch` first events (by sequence, which follows
/// time) that are older than `before`; how many it deleted. Fewer than
/// `batch` means the old end of the log is done. The sequence is the
/// table's key, so no index on time is needed (nor paid for by writes).
pub async fn sweep<C: ConnectionTrait>(conn: &C, before: DateTime<Utc>, batch: u64) -> Result<u64> {
    let oldest = Query::select()
        .column(col("seq"))
        .from(col(TABLE))
        .order_by(col("seq"), Order::Asc)
        .limit(batch)
        .to_owned();
    let delete = Query::delete()
        .from_table(col(TABLE))
        .and_where(Expr::col(col("seq")).in_subquery(oldest))
        .and_where(Expr::col(col("created_at")).lt(before))
        .to_owned();
    sql::delete(conn, &delete).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_blanked_wherever_their_key_says_so() {
        let mut doc = json!({
            "traits": { "email": "a@example.com" },
            "credentials": { "password": { "hashed_password": "$2b$12$abc" } },
            "client_secret": "s3cret",
            "marked": { "secret": "[redacted]:abcd1234" },
            "list": [{ "session_token": "tok" }],
        });
        redact(&mut doc);
        assert_eq!(doc["traits"]["email"], "a@example.com");
        assert_eq!(doc["credentials"]["password"]["hashed_password"], REDACTED);
        assert_eq!(doc["client_secret"], REDACTED);
        assert_eq!(doc["marked"]["secret"], "[redacted]:abcd1234");
        assert_eq!(doc["list"][0]["session_token"], REDACTED);
    }

    #[test]
    fn a_patch_on_a_secret_path_loses_its_value() {
        let mut patch = json!([
            { "op": "replace", "path": "/config/client_secret", "value": "s3cret" },
            { "op": "replace", "path": "/name", "value": "kept" },
        ]);
        redact(&mut patch);
        assert_eq!(patch[0]["value"], REDACTED);
        assert_eq!(patch[1]["value"], "kept");
    }

    #[test]
    fn a_diff_lists_only_what_changed() {
        let change = Change::project(Uuid::nil(), "identity.update", "x").diff(
            Some(&json!({ "state": "active", "traits": { "email": "a@x" } })),
            Some(&json!({ "state": "inactive", "traits": { "email": "a@x" } })),
        );
        assert_eq!(
            change.diff,
            json!([{ "op": "replace", "path": "/state", "value": "inactive" }])
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_a_400() {
        let cursor = Cursor(1_234_567);
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "s", "s0", "s-4", "12", "sabc"] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().kind,
                kernel::ErrorKind::BadRequest
            );
        }
    }

    #[test]
    fn like_wildcards_in_a_prefix_are_literal() {
        assert_eq!(escape_like("project_x%"), "project\\_x\\%%");
    }
}
