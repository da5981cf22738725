//! The gRPC API, wire-compatible with Keto's
//! `ory.keto.relation_tuples.v1alpha2` (read, write, check, expand,
//! version), served by tonic on its own port. The tenant is chosen by the
//! HTTP/2 `:authority` (or `Host`) exactly as HTTP chooses it, and calls
//! need the same admin credentials (`authorization: Bearer <token>`).

use crate::api::{PatchAction, PatchDelta};
use crate::engine::PermissionEngine;
use crate::grpc_convert::{
    pb_subject, request_query, split_subject, tree_to_pb, tuple_from_pb, tuple_to_pb,
};
use crate::model::RelationTuple;
use kernel::ports::{TenantAdminAuth, TenantByHost};
use kernel::tenant::{ProjectState, TenantCtx};
use kernel::{Error, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use tonic::{Request, Response, Status};

#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod pb {
    tonic::include_proto!("ory.keto.relation_tuples.v1alpha2");
}

/// Keyplane's lookups (`keyplane.permission.v1`), served beside Keto's.
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod lookup_pb {
    tonic::include_proto!("keyplane.permission.v1");
}

use pb::check_service_server::{CheckService, CheckServiceServer};
use pb::expand_service_server::{ExpandService, ExpandServiceServer};
use pb::read_service_server::{ReadService, ReadServiceServer};
use pb::version_service_server::{VersionService, VersionServiceServer};
use pb::write_service_server::{WriteService, WriteServiceServer};

/// The host a gRPC request was sent to, copied from the HTTP request by a
/// layer (tonic hands handlers the extensions, not the URI).
#[derive(Debug, Clone)]
struct Authority(String);

fn record_authority(
    mut req: tonic::codegen::http::Request<tonic::body::Body>,
) -> tonic::codegen::http::Request<tonic::body::Body> {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(tonic::codegen::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    if let Some(authority) = authority {
        req.extensions_mut().insert(Authority(authority));
    }
    req
}

/// Maps a service error to a gRPC status; internal details stay in the log.
pub(crate) fn status(err: Error) -> Status {
    let text = err.reason.clone().unwrap_or_else(|| err.message.clone());
    match err.kind {
        ErrorKind::BadRequest | ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType => {
            Status::invalid_argument(text)
        }
        ErrorKind::Unauthorized => Status::unauthenticated(text),
        ErrorKind::Forbidden | ErrorKind::PaymentRequired => Status::permission_denied(text),
        ErrorKind::NotFound => Status::not_found(text),
        // Only the change feed answers Gone: its changes were pruned.
        ErrorKind::Gone => Status::failed_precondition(text),
        ErrorKind::Conflict => Status::already_exists(text),
        ErrorKind::TooManyRequests => Status::resource_exhausted(text),
        ErrorKind::ServiceUnavailable => Status::unavailable(text),
        _ => {
            tracing::error!(error = %err, internal = ?err.internal, "grpc call failed");
            Status::internal("an internal error occurred")
        }
    }
}

/// The permission engine behind all five gRPC services.
#[derive(Clone)]
pub struct GrpcApi {
    engine: PermissionEngine,
    tenants: Arc<dyn TenantByHost>,
    auth: Arc<dyn TenantAdminAuth>,
}

impl GrpcApi {
    pub fn new(
        engine: PermissionEngine,
        tenants: Arc<dyn TenantByHost>,
        auth: Arc<dyn TenantAdminAuth>,
    ) -> Self {
        Self {
            engine,
            tenants,
            auth,
        }
    }

    pub(crate) fn engine(&self) -> &PermissionEngine {
        &self.engine
    }

    /// The tenant of the request's authority, once the caller proved it may
    /// administer it.
    pub(crate) async fn tenant<T>(
        &self,
        req: &Request<T>,
        write: bool,
    ) -> Result<Arc<TenantCtx>, Status> {
        let host = req
            .extensions()
            .get::<Authority>()
            .map(|a| a.0.clone())
            .ok_or_else(|| Status::not_found("no project is served at this host"))?;
        let tenant = self
            .tenants
            .tenant_for_host(&host)
            .await
            .map_err(status)?
            .ok_or_else(|| Status::not_found(format!("no project is served at `{host}`")))?;
        if tenant.state == ProjectState::Halted {
            return Err(Status::unavailable(format!(
                "project `{}` is halted",
                tenant.slug
            )));
        }
        let bearer = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(http::tenant::parse_bearer)
            .ok_or_else(|| {
                Status::unauthenticated(
                    "send the project's admin token as `authorization: Bearer <token>` metadata",
                )
            })?;
        self.auth
            .authorize_tenant_admin(bearer, tenant.project_id, write)
            .await
            .map_err(status)?;
        Ok(tenant)
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), tonic::transport::Error> {
        tonic::transport::Server::builder()
            .layer(tower::util::MapRequestLayer::new(record_authority))
            .add_service(ReadServiceServer::new(self.clone()))
            .add_service(WriteServiceServer::new(self.clone()))
            .add_service(CheckServiceServer::new(self.clone()))
            .add_service(ExpandServiceServer::new(self.clone()))
            .add_service(lookup_pb::lookup_service_server::LookupServiceServer::new(
                self.clone(),
            ))
            .add_service(VersionServiceServer::new(self))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                shutdown,
            )
            .await
    }

    /// Binds `addr` and serves in the background until `shutdown` resolves.
    pub async fn spawn(
        self,
        addr: impl tokio::net::ToSocketAddrs,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(err) = self.serve(listener, shutdown).await {
                tracing::error!(error = %err, "the gRPC server stopped");
            }
        });
        tracing::info!(addr = %bound, "gRPC API is serving");
        Ok((bound, task))
    }
}

/// The request context of a write (the audit log's request id, client
/// address and, once authenticated, the caller): the caller's
/// `x-request-id` when it is a sane token, else a new one.
fn request_context<T>(req: &Request<T>) -> std::sync::Arc<kernel::request::RequestContext> {
    let id = req
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| kernel::request::is_sane_request_id(s))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    kernel::request::RequestContext::new(id, req.remote_addr().map(|a| a.ip()))
}

/// A write's snaptoken in the response metadata (`keyplane-snaptoken`):
/// Keto's delete response has no field for it.
fn with_snaptoken<T>(res: &mut Response<T>, token: &str) {
    if let Ok(value) = token.parse() {
        res.metadata_mut().insert("keyplane-snaptoken", value);
    }
}

/// A request's `snaptoken` field ("" is none), checked as REST checks it.
pub(crate) async fn require_fresh(
    engine: &PermissionEngine,
    tenant: &TenantCtx,
    token: &str,
) -> Result<(), Status> {
    let token = crate::changes::Snaptoken::parse_optional(Some(token)).map_err(status)?;
    engine.require_fresh(tenant, token).await.map_err(status)
}

#[tonic::async_trait]
impl ReadService for GrpcApi {
    async fn list_relation_tuples(
        &self,
        req: Request<pb::ListRelationTuplesRequest>,
    ) -> Result<Response<pb::ListRelationTuplesResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        require_fresh(&self.engine, &tenant, &req.snaptoken).await?;
        #[allow(deprecated)]
        let query = request_query(
            req.relation_query,
            req.query
                .map(|q| (q.namespace, q.object, q.relation, q.subject)),
        );
        let page = self
            .engine
            .list(
                &tenant,
                &query,
                Some(i64::from(req.page_size)),
                Some(req.page_token.as_str()),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListRelationTuplesResponse {
            relation_tuples: page.relation_tuples.into_iter().map(tuple_to_pb).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}

#[tonic::async_trait]
impl WriteService for GrpcApi {
    async fn transact_relation_tuples(
        &self,
        req: Request<pb::TransactRelationTuplesRequest>,
    ) -> Result<Response<pb::TransactRelationTuplesResponse>, Status> {
        use pb::relation_tuple_delta::Action;
        let context = request_context(&req);
        kernel::request::scope(context, async move {
            let tenant = self.tenant(&req, true).await?;
            let deltas: Vec<PatchDelta> = req
                .into_inner()
                .relation_tuple_deltas
                .into_iter()
                .map(|delta| PatchDelta {
                    action: match Action::try_from(delta.action) {
                        Ok(Action::Insert) => Some(PatchAction::Insert),
                        Ok(Action::Delete) => Some(PatchAction::Delete),
                        _ => None,
                    },
                    relation_tuple: delta.relation_tuple.map(tuple_from_pb),
                })
                .collect();
            let count = deltas.len();
            let token = self
                .engine
                .patch(&tenant, deltas)
                .await
                .map_err(status)?
                .encode();
            // One token per delta, as the field is documented; they commit
            // together, so each is the write's.
            let mut res = Response::new(pb::TransactRelationTuplesResponse {
                snaptokens: vec![token.clone(); count],
            });
            with_snaptoken(&mut res, &token);
            Ok(res)
        })
        .await
    }

    async fn delete_relation_tuples(
        &self,
        req: Request<pb::DeleteRelationTuplesRequest>,
    ) -> Result<Response<pb::DeleteRelationTuplesResponse>, Status> {
        let context = request_context(&req);
        kernel::request::scope(context, async move {
            let tenant = self.tenant(&req, true).await?;
            let req = req.into_inner();
            #[allow(deprecated)]
            let query = request_query(
                req.relation_query,
                req.query
                    .map(|q| (q.namespace, q.object, q.relation, q.subject)),
            );
            let (_, token) = self
                .engine
                .delete_matching(&tenant, &query)
                .await
                .map_err(status)?;
            let mut res = Response::new(pb::DeleteRelationTuplesResponse {});
            with_snaptoken(&mut res, &token.encode());
            Ok(res)
        })
        .await
    }
}

#[tonic::async_trait]
impl CheckService for GrpcApi {
    async fn check(
        &self,
        req: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        require_fresh(&self.engine, &tenant, &req.snaptoken).await?;
        // Newer clients send `tuple`; Keto v0.9's own client the fields 1-4.
        #[allow(deprecated)]
        let tuple = match req.tuple {
            Some(tuple) => tuple_from_pb(tuple),
            None => {
                let (subject_id, subject_set) = split_subject(req.subject);
                RelationTuple {
                    namespace: req.namespace,
                    object: req.object,
                    relation: req.relation,
                    subject_id,
                    subject_set,
                }
            }
        };
        let (allowed, at) = self
            .engine
            .check_at(&tenant, &tuple, Some(i64::from(req.max_depth)))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CheckResponse {
            allowed,
            snaptoken: at.encode(),
        }))
    }
}

#[tonic::async_trait]
impl ExpandService for GrpcApi {
    async fn expand(
        &self,
        req: Request<pb::ExpandRequest>,
    ) -> Result<Response<pb::ExpandResponse>, Status> {
        let tenant = self.tenant(&req, false).await?;
        let req = req.into_inner();
        require_fresh(&self.engine, &tenant, &req.snaptoken).await?;
        let tree = match split_subject(req.subject) {
            (_, Some(set)) => tree_to_pb(
                self.engine
                    .expand(&tenant, &set, Some(i64::from(req.max_depth)))
                    .await
                    .map_err(status)?,
            ),
            // A subject id expands to itself, as in Keto.
            (Some(id), None) => {
                crate::limits::check_subject_id(&id).map_err(status)?;
                pb::SubjectTree {
                    node_type: pb::NodeType::Leaf.into(),
                    subject: pb_subject(Some(id), None),
                    children: Vec::new(),
                }
            }
            (None, None) => return Err(Status::invalid_argument("`subject` is required")),
        };
        Ok(Response::new(pb::ExpandResponse { tree: Some(tree) }))
    }
}

#[tonic::async_trait]
impl VersionService for GrpcApi {
    async fn get_version(
        &self,
        _req: Request<pb::GetVersionRequest>,
    ) -> Result<Response<pb::GetVersionResponse>, Status> {
        Ok(Response::new(pb::GetVersionResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }
}
