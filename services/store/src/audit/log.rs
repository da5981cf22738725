//! Reading the audit log: a project's or an account's events, newest
//! first, in keyset pages on the insertion sequence; and the retention
//! sweep.

use crate::entity::audit_events::{Column, Entity, Model};
use crate::sql;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, Iterable};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

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
    select.columns(Column::iter()).from(Entity);
    if let Some(nid) = filter.nid {
        select.and_where(Expr::col(Column::Nid).eq(nid));
    }
    if let Some(account) = filter.account_id {
        select.and_where(Expr::col(Column::AccountId).eq(account));
    }
    if let Some(actor) = &filter.actor {
        let by_name = Expr::col(Column::ActorName).eq(actor.clone());
        select.and_where(match Uuid::parse_str(actor) {
            Ok(id) => by_name
                .or(Expr::col(Column::ActorId).eq(id))
                .or(Expr::col(Column::ActorAccountId).eq(id)),
            Err(_) => by_name,
        });
    }
    if let Some(prefix) = &filter.action_prefix {
        select.and_where(
            Expr::col(Column::Action).like(LikeExpr::new(escape_like(prefix)).escape('\\')),
        );
    }
    if let Some(target) = &filter.target {
        select.and_where(Expr::col(Column::Target).eq(target.clone()));
    }
    if let Some(since) = filter.since {
        select.and_where(Expr::col(Column::CreatedAt).gte(since));
    }
    if let Some(until) = filter.until {
        select.and_where(Expr::col(Column::CreatedAt).lt(until));
    }
    select.to_owned()
}

fn from_row(row: &sea_orm::QueryResult) -> Result<(i64, Event)> {
    let m: Model = sql::model(row)?;
    let event = Event {
        id: m.id,
        time: m.created_at,
        project_id: m.nid,
        actor: EventActor {
            kind: m.actor_type,
            id: m.actor_id,
            name: m.actor_name,
            account_id: m.actor_account_id,
        },
        request_id: m.request_id,
        client_ip: m.client_ip,
        action: m.action,
        target: m.target,
        diff: serde_json::from_str(&m.diff).map_err(Error::internal)?,
    };
    Ok((m.seq, event))
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
        select.and_where(Expr::col(Column::Seq).lt(seq));
    }
    select.order_by(Column::Seq, Order::Desc).limit(limit + 1);
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
        .column(Column::Seq)
        .from(Entity)
        .order_by(Column::Seq, Order::Asc)
        .limit(batch)
        .to_owned();
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Seq).in_subquery(oldest))
        .and_where(Expr::col(Column::CreatedAt).lt(before))
        .to_owned();
    sql::delete(conn, &delete).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
