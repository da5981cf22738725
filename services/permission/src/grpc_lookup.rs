//! `keyplane.permission.v1.LookupService`: list objects, list subjects
//! and batch check over gRPC, on the same port, tenant choice and
//! credentials as Keto's services (see `grpc`). Proto3 cannot tell an
//! empty string from an absent one, so an empty namespace, relation or
//! object is "missing" (a clear `INVALID_ARGUMENT`), never a lookup of "".

use crate::api::RelationQuery;
use crate::changes::{Operation, Snaptoken};
use crate::engine::{MAX_PAGE_SIZE, PermissionEngine};
use crate::feed::{ChangesPage, FeedRequest, MAX_WAIT_SECS};
use crate::grpc::lookup_pb::lookup_service_server::LookupService;
use crate::grpc::lookup_pb::tuple_change::Operation as PbOperation;
use crate::grpc::lookup_pb::{
    BatchCheckRequest, BatchCheckResponse, BatchCheckResult, ChangesBatch, ListObjectsRequest,
    ListObjectsResponse, ListSubjectsRequest, ListSubjectsResponse, TupleChange,
    WatchChangesRequest,
};
use crate::grpc::{GrpcApi, status};
use crate::grpc_convert::{split_subject, tuple_from_pb, tuple_to_pb};
use crate::lookup::LookupParams;
use crate::model::NamedSubjectSet;
use futures_util::{Stream, StreamExt};
use kernel::tenant::TenantCtx;
use std::pin::Pin;
use std::sync::Arc;
use tonic::{Request, Response, Status};

fn given(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn required(text: String, field: &str) -> Result<String, Status> {
    given(text).ok_or_else(|| Status::invalid_argument(format!("`{field}` is required")))
}

fn params(max_depth: i32, page_size: i32, page_token: &str) -> LookupParams<'_> {
    LookupParams {
        max_depth: Some(i64::from(max_depth)),
        page_size: Some(i64::from(page_size)),
        page_token: Some(page_token),
    }
}

fn batch_of(page: ChangesPage) -> ChangesBatch {
    ChangesBatch {
        changes: page
            .changes
            .into_iter()
            .map(|change| TupleChange {
                operation: match change.operation {
                    Operation::Insert => PbOperation::Insert,
                    Operation::Delete => PbOperation::Delete,
                }
                .into(),
                relation_tuple: Some(tuple_to_pb(change.relation_tuple)),
                snaptoken: change.snaptoken,
            })
            .collect(),
        snaptoken: page.snaptoken,
    }
}

/// Where a watch stands: the next read starts after `after`.
struct Watch {
    engine: PermissionEngine,
    tenant: Arc<TenantCtx>,
    after: Snaptoken,
    failed: bool,
}

impl Watch {
    /// The next non-empty batch (long-polling until there is one), or the
    /// error that ends the stream.
    async fn next(mut self) -> Option<(Result<ChangesBatch, Status>, Watch)> {
        if self.failed {
            return None;
        }
        loop {
            let request = FeedRequest {
                since: Some(self.after),
                page_size: Some(MAX_PAGE_SIZE as i64),
                wait: Some(MAX_WAIT_SECS),
            };
            match self.engine.changes(&self.tenant, request).await {
                Ok(page) if page.resume == self.after => continue,
                Ok(page) => {
                    self.after = page.resume;
                    return Some((Ok(batch_of(page)), self));
                }
                Err(err) => {
                    self.failed = true;
                    return Some((Err(status(err)), self));
                }
            }
        }
    }
}

#[tonic::async_trait]
impl LookupService for GrpcApi {
    type WatchChangesStream =
        Pin<Box<dyn Stream<Item = Result<ChangesBatch, Status>> + Send + 'static>>;

    async fn watch_changes(
        &self,
        req: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let since = Snaptoken::parse_optional(Some(&req.into_inner().since)).map_err(status)?;
        // The first read answers at once, so a bad `since` fails the call
        // itself; what it found is the stream's first message.
        let first = self
            .engine()
            .changes(
                &tenant,
                FeedRequest {
                    since,
                    page_size: Some(MAX_PAGE_SIZE as i64),
                    wait: Some(0),
                },
            )
            .await
            .map_err(status)?;
        let watch = Watch {
            engine: self.engine().clone(),
            tenant,
            after: first.resume,
            failed: false,
        };
        let head = (!first.changes.is_empty()).then(|| Ok(batch_of(first)));
        let rest = futures_util::stream::unfold(watch, Watch::next);
        Ok(Response::new(Box::pin(
            futures_util::stream::iter(head).chain(rest),
        )))
    }

    async fn list_objects(
        &self,
        req: Request<ListObjectsRequest>,
    ) -> Result<Response<ListObjectsResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        let (subject_id, subject_set) = split_subject(req.subject);
        let query = RelationQuery {
            namespace: given(req.namespace),
            object: None,
            relation: given(req.relation),
            subject_id,
            subject_set,
        };
        let page = self
            .engine()
            .list_objects(
                &tenant,
                &query,
                params(req.max_depth, req.page_size, &req.page_token),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(ListObjectsResponse {
            objects: page.objects,
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_subjects(
        &self,
        req: Request<ListSubjectsRequest>,
    ) -> Result<Response<ListSubjectsResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        let root = NamedSubjectSet {
            namespace: required(req.namespace, "namespace")?,
            object: required(req.object, "object")?,
            relation: required(req.relation, "relation")?,
        };
        let page = self
            .engine()
            .list_subjects(
                &tenant,
                &root,
                params(req.max_depth, req.page_size, &req.page_token),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(ListSubjectsResponse {
            subject_ids: page.subject_ids,
            next_page_token: page.next_page_token,
        }))
    }

    async fn batch_check(
        &self,
        req: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        let tuples = req
            .tuples
            .into_iter()
            .map(|tuple| {
                let tuple = tuple_from_pb(tuple);
                RelationQuery {
                    namespace: Some(tuple.namespace),
                    object: Some(tuple.object),
                    relation: Some(tuple.relation),
                    subject_id: tuple.subject_id,
                    subject_set: tuple.subject_set,
                }
            })
            .collect();
        let results = self
            .engine()
            .batch_check(&tenant, tuples, Some(i64::from(req.max_depth)))
            .await
            .map_err(status)?;
        Ok(Response::new(BatchCheckResponse {
            results: results
                .into_iter()
                .map(|r| BatchCheckResult {
                    allowed: r.allowed,
                    error: r.error.unwrap_or_default(),
                })
                .collect(),
        }))
    }
}
