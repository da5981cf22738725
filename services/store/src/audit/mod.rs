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
//! Reading the log: [`log`].

mod log;

pub use log::{Cursor, Event, EventActor, Filter, list, sweep};

use crate::entity::audit_events::{Column, Entity};
use crate::sql;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, Query, Value as SqlValue};
use serde_json::{Value, json};
use uuid::Uuid;

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

/// Whether a key names a secret value: exactly one of the names secrets
/// go by, or one ending like them. Exact, so that what merely mentions a
/// word (`selfservice.methods.password`, `token_url`, `tokenizer`) still
/// shows in a diff.
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
    .contains(&key.as_str())
        || ["_password", "_secret", "_token", "_private_key", "_hash"]
            .iter()
            .any(|end| key.ends_with(end))
}

/// Blanks the strings (and lists of strings) under a key that names a
/// secret, except values already marked (`[redacted]…`: the config's
/// markers keep telling a rotation apart without the value). An object
/// under such a key is searched like any other, never blanked whole: a
/// container named `password` (a login method's settings, an identity's
/// password credential) holds settings worth seeing and secrets of its own
/// names.
pub fn redact(value: &mut Value) {
    fn blank(value: &mut Value) {
        match value {
            Value::String(s) if !s.starts_with(REDACTED) => *s = REDACTED.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(blank),
            Value::Object(_) => redact(value),
            _ => {}
        }
    }
    /// Kratos' `secrets` (cookie, cipher, default lists): all of it.
    fn blank_all(value: &mut Value) {
        match value {
            Value::String(s) if !s.starts_with(REDACTED) => *s = REDACTED.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(blank_all),
            Value::Object(map) => map.values_mut().for_each(blank_all),
            _ => {}
        }
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "secrets" {
                    blank_all(child);
                } else if secret_key(key) {
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

/// The columns of `change`'s row, as done at `at` by the request's actor.
fn row(change: Change, at: DateTime<Utc>) -> Vec<(Column, SqlValue)> {
    // What PostgreSQL keeps, so a row reads back as it was written.
    let at = chrono::SubsecRound::trunc_subsecs(at, 6);
    let actor = kernel::request::current_actor();
    let context = kernel::request::current();
    vec![
        (Column::Id, Uuid::now_v7().into()),
        (Column::Nid, change.nid.into()),
        (Column::AccountId, change.account_id.into()),
        (Column::CreatedAt, at.into()),
        (Column::ActorType, actor.kind().into()),
        (Column::ActorId, actor.id().into()),
        (Column::ActorName, actor.name().to_owned().into()),
        (Column::ActorAccountId, actor.account_id().into()),
        (
            Column::RequestId,
            context.as_ref().map(|c| c.request_id.clone()).into(),
        ),
        (
            Column::ClientIp,
            context
                .as_ref()
                .and_then(|c| c.client_ip)
                .map(|ip| ip.to_string())
                .into(),
        ),
        (Column::Action, change.action.into()),
        (Column::Target, change.target.into()),
        (Column::Diff, change.diff.to_string().into()),
    ]
}

/// Appends `change` as done now by the request's actor.
pub async fn append<C: ConnectionTrait>(conn: &C, change: Change, at: DateTime<Utc>) -> Result<()> {
    sql::insert(conn, Entity, row(change, at)).await
}

/// Runs `write` (one INSERT, UPDATE or DELETE without RETURNING) and
/// appends `change` when it changed any row, in one statement; whether it
/// changed any.
///
/// Through sqlx every statement is a round trip (on SQLite to the
/// driver's thread), and that round trip, not the row, is most of what an
/// event costs, so the event rides with the write: on SQLite as a second
/// statement of the same call (`INSERT … SELECT … WHERE changes() > 0`),
/// on PostgreSQL as a data-modifying CTE (`WITH w AS (… RETURNING 1)
/// INSERT … SELECT … WHERE EXISTS (SELECT 1 FROM w)`). Inside the caller's
/// transaction either way.
pub async fn execute_with_event<C, S>(
    conn: &C,
    write: &S,
    change: Change,
    at: DateTime<Utc>,
) -> Result<bool>
where
    C: ConnectionTrait,
    S: sea_orm::StatementBuilder,
{
    let backend = conn.get_database_backend();
    let write = backend.build(write);
    let sqlite = backend == sea_orm::DbBackend::Sqlite;
    let (columns, values): (Vec<_>, Vec<_>) = row(change, at).into_iter().unzip();
    let mut event = Query::insert();
    event
        .into_table(Entity)
        .columns(columns)
        .select_from(
            Query::select()
                .exprs(values.into_iter().map(Expr::val))
                .and_where(Expr::cust(if sqlite {
                    "changes() > 0"
                } else {
                    "EXISTS (SELECT 1 FROM w)"
                }))
                .to_owned(),
        )
        .map_err(|e| Error::internal(format!("building the audit insert: {e}")))?;
    let event = backend.build(&event);
    let mut values = write.values.map(|v| v.0).unwrap_or_default();
    let offset = values.len();
    values.extend(event.values.map(|v| v.0).unwrap_or_default());
    let sql = if sqlite {
        format!("{}; {}", write.sql, event.sql)
    } else {
        format!(
            "WITH w AS ({} RETURNING 1) {}",
            write.sql,
            shift_placeholders(&event.sql, offset)
        )
    };
    let done = conn
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await
        .map_err(sql::db_error)?
        .rows_affected();
    // SQLite counts both statements' rows, PostgreSQL the event's alone:
    // either way nonzero exactly when the write changed something.
    Ok(done > 0)
}

/// `$n` placeholders renumbered as `$(n + by)`: the event's statement
/// follows the write's parameters in a PostgreSQL CTE.
fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
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
            "secrets": { "cookie": ["c0"] },
            "marked": { "secret": "[redacted]:abcd1234" },
            "list": [{ "session_token": "tok" }],
        });
        redact(&mut doc);
        assert_eq!(doc["traits"]["email"], "a@example.com");
        assert_eq!(doc["credentials"]["password"]["hashed_password"], REDACTED);
        assert_eq!(doc["client_secret"], REDACTED);
        assert_eq!(doc["secrets"]["cookie"][0], REDACTED);
        assert_eq!(doc["marked"]["secret"], "[redacted]:abcd1234");
        assert_eq!(doc["list"][0]["session_token"], REDACTED);
    }

    #[test]
    fn settings_named_like_secrets_still_show() {
        let mut doc = json!({
            "selfservice": {
                "methods": { "password": { "config": { "min_password_length": 10 } } },
                "flows": { "registration": { "after": { "password": { "hooks": [
                    { "hook": "web_hook", "config": { "url": "https://hooks.example.com/new" } }
                ] } } } }
            },
            "session": { "whoami": { "tokenizer": { "templates": { "jwt": { "ttl": "1m" } } } } },
            "oidc": { "token_url": "https://id.example.com/token" },
        });
        let before = doc.clone();
        redact(&mut doc);
        assert_eq!(doc, before);
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
    fn placeholders_shift_past_the_writes() {
        assert_eq!(
            shift_placeholders("INSERT INTO t (a, b) SELECT $1, $2 WHERE x", 11),
            "INSERT INTO t (a, b) SELECT $12, $13 WHERE x"
        );
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
}
