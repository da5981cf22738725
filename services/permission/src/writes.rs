//! The writes of the permission engine: each in one transaction with its
//! audit event and its change-feed rows, each answering the snaptoken of
//! the tenant's position after it (the position before it when it changed
//! nothing).

use crate::api::{PatchAction, PatchDelta, RelationQuery};
use crate::changes::{self, Operation, Snaptoken};
use crate::engine::PermissionEngine;
use crate::limits;
use crate::model::{RelationTuple, Tuple};
use crate::namespace::Namespaces;
use crate::tuple_store;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use store::audit::{self, Change};
use store::sql::db_error;
use uuid::Uuid;

/// The token after a write: the position of its last change, else the
/// tenant's position as it stands.
async fn token_after<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    recorded: Option<Snaptoken>,
) -> Result<Snaptoken> {
    match recorded {
        Some(token) => Ok(token),
        None => Ok(Snaptoken(changes::positions(conn, nid).await?.0)),
    }
}

impl PermissionEngine {
    /// `PUT /admin/relation-tuples`: inserts (idempotently) and returns the tuple.
    pub async fn create(
        &self,
        tenant: &TenantCtx,
        tuple: RelationTuple,
    ) -> Result<(RelationTuple, Snaptoken)> {
        limits::check_tuple(&tuple)?;
        let resolved = Namespaces(&tenant.config.namespaces).tuple(&tuple)?;
        let nid = tenant.project_id;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        // Writing a tuple that exists changes nothing: no event, no change.
        let change = Change::project(nid, "relation_tuple.create", &tuple).with_patch(
            json!([{ "op": "add", "path": "/relation_tuples/-", "value": tuple.to_string() }]),
        );
        let insert = tuple_store::insert_statement(nid, &resolved, now)?;
        let inserted = audit::execute_with_event(&txn, &insert, change, now).await?;
        let recorded = if inserted {
            changes::record(&txn, nid, &[(Operation::Insert, &resolved)], now).await?
        } else {
            None
        };
        let token = token_after(&txn, nid, recorded).await?;
        txn.commit().await.map_err(db_error)?;
        self.committed(nid, token.0).await;
        Ok((tuple, token))
    }

    /// `PATCH /admin/relation-tuples`: every delta is validated first, then
    /// all are applied in one transaction: all or nothing.
    pub async fn patch(&self, tenant: &TenantCtx, deltas: Vec<PatchDelta>) -> Result<Snaptoken> {
        let namespaces = Namespaces(&tenant.config.namespaces);
        let mut planned: Vec<(PatchAction, Tuple)> = Vec::with_capacity(deltas.len());
        let mut recorded = Vec::with_capacity(deltas.len());
        for (index, delta) in deltas.into_iter().enumerate() {
            let at = |e: Error| {
                let reason = e.reason.clone().unwrap_or_else(|| e.message.clone());
                e.with_reason(format!("delta {index}: {reason}"))
            };
            let action = delta.action.ok_or_else(|| {
                at(Error::bad_request(
                    "`action` is required (insert or delete)",
                ))
            })?;
            let tuple = delta
                .relation_tuple
                .ok_or_else(|| at(Error::bad_request("`relation_tuple` is required")))?;
            limits::check_tuple(&tuple).map_err(at)?;
            recorded.push(match action {
                PatchAction::Insert => json!({ "op": "add", "path": "/relation_tuples/-", "value": tuple.to_string() }),
                PatchAction::Delete => json!({ "op": "remove", "path": "/relation_tuples", "value": tuple.to_string() }),
            });
            planned.push((action, namespaces.tuple(&tuple).map_err(at)?));
        }
        let nid = tenant.project_id;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let mut effective = Vec::with_capacity(planned.len());
        let mut applied = Vec::with_capacity(planned.len());
        for ((action, tuple), op) in planned.iter().zip(recorded) {
            let (changed, operation) = match action {
                PatchAction::Insert => (
                    tuple_store::insert(&txn, nid, tuple, now).await?,
                    Operation::Insert,
                ),
                PatchAction::Delete => (
                    tuple_store::delete(&txn, nid, tuple).await? > 0,
                    Operation::Delete,
                ),
            };
            if changed {
                effective.push(op);
                applied.push((operation, tuple));
            }
        }
        if !effective.is_empty() {
            let change = Change::project(nid, "relation_tuple.patch", "relation-tuples")
                .with_patch(Value::Array(effective));
            audit::append(&txn, change, now).await?;
        }
        let recorded = changes::record(&txn, nid, &applied, now).await?;
        let token = token_after(&txn, nid, recorded).await?;
        txn.commit().await.map_err(db_error)?;
        self.committed(nid, token.0).await;
        Ok(token)
    }

    /// `DELETE /admin/relation-tuples`: every tuple matching the query. An
    /// empty query is refused rather than taken to mean "everything".
    pub async fn delete_matching(
        &self,
        tenant: &TenantCtx,
        query: &RelationQuery,
    ) -> Result<(u64, Snaptoken)> {
        if query.is_empty() {
            return Err(Error::bad_request(
                "give at least one of namespace, object, relation, subject_id or subject_set.* to delete by",
            ));
        }
        limits::check_query(query)?;
        let filter = Self::filter(Namespaces(&tenant.config.namespaces), query)?;
        let nid = tenant.project_id;
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let deleted = tuple_store::delete_matching(&txn, nid, &filter).await?;
        let count = deleted.len() as u64;
        // The event names the query and the count; the feed has each tuple.
        if count > 0 {
            let change = Change::project(nid, "relation_tuple.delete", "relation-tuples")
                .with_patch(json!([{ "op": "remove", "path": "/relation_tuples", "query": query, "count": count }]));
            audit::append(&txn, change, now).await?;
        }
        let applied: Vec<(Operation, &Tuple)> =
            deleted.iter().map(|t| (Operation::Delete, t)).collect();
        let recorded = changes::record(&txn, nid, &applied, now).await?;
        let token = token_after(&txn, nid, recorded).await?;
        txn.commit().await.map_err(db_error)?;
        self.committed(nid, token.0).await;
        Ok((count, token))
    }

    /// A read that names a snaptoken is answered from data at least that
    /// fresh. Every read goes to the one database every replica writes to,
    /// after the write that issued the token committed, so it is; what is
    /// left to refuse is a token this project never reached (another
    /// project's, or made up), which would promise what cannot be known.
    pub async fn require_fresh(&self, tenant: &TenantCtx, token: Option<Snaptoken>) -> Result<()> {
        let Some(token) = token else {
            return Ok(());
        };
        // Known to have reached it here: the check that follows answers
        // at that position or later (`check_position`).
        if self.positions.reached(tenant.project_id, token.0).is_some() {
            return Ok(());
        }
        let position = self.position(tenant.project_id).await?;
        if token.0 > position {
            return Err(Error::bad_request(
                "the snaptoken is ahead of this project's writes: it was issued for another project",
            ));
        }
        Ok(())
    }
}
