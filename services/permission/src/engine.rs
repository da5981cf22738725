//! The permission service: validates against the tenant's namespaces, owns
//! the transactions, and runs check and expand over the SQL reader. The
//! REST handlers and the gRPC services both call it.

use crate::api::{ExpandTree, RelationQuery, RelationTuplesPage};
use crate::changes::Snaptoken;
use crate::check_cache::{self, CheckCache};
use crate::limits;
use crate::model::{NamedSubjectSet, RelationTuple, Subject};
use crate::namespace::Namespaces;
use crate::positions::KnownPositions;
use crate::reader::TupleReader;
use crate::tuple_store::{self, SqlTuples, SqliteTuples, TupleFilter};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kernel::clock::SharedClock;
use kernel::ports::CacheBus;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use std::sync::Arc;
use store::Database;

/// Keto's default for `limit.max_read_depth` when a revision has none.
pub const DEFAULT_MAX_READ_DEPTH: u32 = 5;
pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

#[derive(Clone)]
pub struct PermissionEngine {
    pub(crate) db: Database,
    pub(crate) clock: SharedClock,
    cache: CheckCache,
    /// Positions as this replica knows them (used on PostgreSQL only).
    pub(crate) positions: KnownPositions,
    /// The bus of the shared cache: commits are announced on it.
    pub(crate) bus: Option<Arc<dyn CacheBus>>,
}

/// The depth of a check or expand, as Keto v0.9 computes it in
/// `CheckRelationTuple` / `BuildTree`: the request's depth unless it is 0 or
/// less (absent is 0) or above the revision's `limit.max_read_depth`, then
/// the limit. A request can lower the limit, never raise it.
pub fn effective_depth(limit: i64, requested: Option<i64>) -> u32 {
    // A revision always has a limit from 1 to 1000; the default covers a
    // row written before the column existed.
    let limit = u32::try_from(limit)
        .ok()
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_MAX_READ_DEPTH);
    match requested.map(u32::try_from) {
        Some(Ok(r)) if r > 0 && r <= limit => r,
        _ => limit,
    }
}

fn page_token(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{seq}"))
}

fn parse_page_token(token: &str) -> Result<i64> {
    let invalid = || Error::bad_request("the page_token is not one this server issued");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    std::str::from_utf8(&raw)
        .ok()
        .and_then(|s| s.strip_prefix("v1:"))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .ok_or_else(invalid)
}

pub(crate) fn page_size(requested: Option<i64>) -> Result<u64> {
    match requested {
        None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n < 0 => Err(Error::bad_request("page_size must be positive")),
        Some(n) => Ok(u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

impl PermissionEngine {
    pub fn new(db: Database, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            cache: CheckCache::default(),
            positions: KnownPositions::default(),
            bus: None,
        }
    }

    /// Check answers shared with the other replicas through `bus` (Redis),
    /// which also carries the positions of their commits (`positions`).
    /// The announcements are heard once `spawn_background` runs.
    pub fn with_shared_cache(mut self, bus: Arc<dyn CacheBus>) -> Self {
        self.cache = CheckCache::shared(bus.clone());
        self.bus = Some(bus);
        self
    }

    /// The tenant's write position now (its snaptoken), read exactly: on a
    /// SQLite file on the calling thread, like the walks.
    pub(crate) async fn position(&self, nid: uuid::Uuid) -> Result<i64> {
        let position = match &self.db.sqlite_reads {
            Some(reads) => return crate::changes::position_direct(reads, nid),
            None => crate::changes::positions(&self.db.conn, nid).await?.0,
        };
        self.positions.exact(nid, position);
        Ok(position)
    }

    /// The position a check without a snaptoken is answered at: exact on
    /// SQLite; on PostgreSQL the one this replica knows, which saves a
    /// round trip per check (see `positions`). A stale one is read again
    /// beside the checks: measured, a read waited on by a hot check now and
    /// then took 1-2 s (docs/benchmarks.md).
    async fn check_position(&self, nid: uuid::Uuid) -> Result<i64> {
        if self.db.sqlite_reads.is_some() {
            return self.position(nid).await;
        }
        match self.positions.get(nid) {
            Some(known) => {
                if !known.recent && self.positions.claim_refresh(nid) {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(error) = this.position(nid).await {
                            this.positions.refresh_failed(nid);
                            tracing::warn!(%error, "reading a tenant's write position");
                        }
                    });
                }
                Ok(known.position)
            }
            None => self.position(nid).await,
        }
    }

    /// A write committed at `position`: known here at once, and announced
    /// to the other replicas when they share a bus.
    pub async fn committed(&self, nid: uuid::Uuid, position: i64) {
        self.positions.exact(nid, position);
        if let Some(bus) = &self.bus {
            KnownPositions::announce(bus.as_ref(), nid, position).await;
        }
    }

    pub(crate) fn filter(namespaces: Namespaces<'_>, query: &RelationQuery) -> Result<TupleFilter> {
        Ok(TupleFilter {
            namespace: query
                .namespace
                .as_deref()
                .map(|n| namespaces.id(n))
                .transpose()?,
            object: query.object.clone(),
            relation: query.relation.clone(),
            subject: match (&query.subject_id, &query.subject_set) {
                (Some(id), _) => Some(Subject::Id(id.clone())),
                (None, Some(set)) => Some(Subject::Set(namespaces.subject_set(set)?)),
                (None, None) => None,
            },
        })
    }

    /// `GET /relation-tuples`: one page, keyed on insertion order, so tuples
    /// written or deleted meanwhile never shift what the next page holds.
    pub async fn list(
        &self,
        tenant: &TenantCtx,
        query: &RelationQuery,
        requested_size: Option<i64>,
        token: Option<&str>,
    ) -> Result<RelationTuplesPage> {
        limits::check_query(query)?;
        let namespaces = Namespaces(&tenant.config.namespaces);
        let filter = Self::filter(namespaces, query)?;
        let size = page_size(requested_size)?;
        let after = match token.filter(|t| !t.is_empty()) {
            Some(token) => parse_page_token(token)?,
            None => 0,
        };
        let mut rows =
            tuple_store::list(&self.db.conn, tenant.project_id, &filter, after, size + 1).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let next_page_token = match (more, rows.last()) {
            (true, Some((seq, _))) => page_token(*seq),
            _ => String::new(),
        };
        Ok(RelationTuplesPage {
            relation_tuples: rows
                .iter()
                .filter_map(|(_, tuple)| namespaces.named(tuple))
                .collect(),
            next_page_token,
        })
    }

    /// The reader of a tenant's tuples: on a SQLite file, reads on the
    /// calling thread; otherwise through the pool.
    pub(crate) fn reader<'a>(&'a self, tenant: &TenantCtx) -> Box<dyn TupleReader + 'a> {
        let nid = tenant.project_id;
        match &self.db.sqlite_reads {
            Some(reads) => Box::new(SqliteTuples { reads, nid }),
            None => Box::new(SqlTuples {
                conn: &self.db.conn,
                nid,
            }),
        }
    }

    /// Is the tuple's subject in its userset, directly or through subject sets?
    pub async fn check(
        &self,
        tenant: &TenantCtx,
        tuple: &RelationTuple,
        max_depth: Option<i64>,
    ) -> Result<bool> {
        Ok(self.check_at(tenant, tuple, max_depth).await?.0)
    }

    /// [`Self::check`], with the position the answer is at least as fresh
    /// as (gRPC answers it as `CheckResponse.snaptoken`).
    pub async fn check_at(
        &self,
        tenant: &TenantCtx,
        tuple: &RelationTuple,
        max_depth: Option<i64>,
    ) -> Result<(bool, Snaptoken)> {
        limits::check_tuple(tuple)?;
        let resolved = Namespaces(&tenant.config.namespaces).tuple(tuple)?;
        let depth = effective_depth(tenant.config.max_read_depth, max_depth);
        // Read before the walk: the walk then sees at least this position,
        // so the answer is at least as fresh as it (see `check_cache`).
        let position = self.check_position(tenant.project_id).await?;
        let key = check_cache::key(tenant.project_id, position, depth, &resolved.key());
        if let Some(allowed) = self.cache.get(&key).await {
            return Ok((allowed, Snaptoken(position)));
        }
        // The whole walk in one recursive statement: on PostgreSQL, where
        // every statement is a round trip, 2.9-7.8 times faster than one
        // statement per level; on a SQLite file, read on this thread, 2.7-5.2
        // times faster than the level walk (docs/benchmarks.md).
        let allowed = match &self.db.sqlite_reads {
            Some(reads) => crate::cte::check_sqlite(reads, tenant.project_id, &resolved, depth)?,
            None => crate::cte::check(&self.db.conn, tenant.project_id, &resolved, depth).await?,
        };
        self.cache.put(key, allowed).await;
        Ok((allowed, Snaptoken(position)))
    }

    pub async fn expand(
        &self,
        tenant: &TenantCtx,
        root: &NamedSubjectSet,
        max_depth: Option<i64>,
    ) -> Result<ExpandTree> {
        limits::check_set("", root)?;
        let namespaces = Namespaces(&tenant.config.namespaces);
        let root = namespaces.subject_set(root)?;
        let depth = effective_depth(tenant.config.max_read_depth, max_depth);
        let tree = crate::expand::expand(self.reader(tenant).as_ref(), &root, depth).await?;
        ExpandTree::from_tree(&tree, namespaces)
            .ok_or_else(|| Error::internal("the expanded root lost its namespace"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_forgeries() {
        assert_eq!(parse_page_token(&page_token(42)).unwrap(), 42);
        assert!(parse_page_token("42").is_err());
        assert!(parse_page_token(&URL_SAFE_NO_PAD.encode("v1:-3")).is_err());
        assert!(parse_page_token("!!").is_err());
    }

    #[test]
    fn depth_is_keto_s_global_or_the_lower_request() {
        // (limit, requested, effective): Keto's `restDepth <= 0 ||
        // globalMaxDepth < restDepth` takes the limit.
        for (limit, requested, want) in [
            (5, None, 5),
            (5, Some(0), 5),
            (5, Some(-1), 5),
            (5, Some(i64::MIN), 5),
            (5, Some(1), 1),
            (5, Some(4), 4),
            (5, Some(5), 5),
            (5, Some(6), 5),
            (5, Some(i64::MAX), 5),
            (2, Some(3), 2),
            (1000, Some(999), 999),
            (0, None, DEFAULT_MAX_READ_DEPTH),
        ] {
            assert_eq!(
                effective_depth(limit, requested),
                want,
                "{limit} {requested:?}"
            );
        }
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(0)).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(7)).unwrap(), 7);
        assert_eq!(page_size(Some(1_000_000)).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(Some(-1)).is_err());
    }
}
