//! The `Tenant` extractor: the tenant context the router attached to the
//! request. Tenant handlers take it; a route without it is not a tenant route.

use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use kernel::Error;
use kernel::tenant::TenantCtx;
use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Tenant(pub Arc<TenantCtx>);

impl Deref for Tenant {
    type Target = TenantCtx;
    fn deref(&self) -> &TenantCtx {
        &self.0
    }
}

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Arc<TenantCtx>>()
                .cloned()
                .map(Tenant)
                .ok_or_else(|| ApiError(Error::not_found("no project is served at this host"))),
        )
    }
}

/// The bearer token of `Authorization: Bearer <token>`, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    parse_bearer(value)
}

/// The token of an `Authorization` value `Bearer <token>` (any case of the
/// scheme), if it is one and the token is not empty. Shared with transports
/// that are not actix (the gRPC API reads it from metadata).
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The wiring of `TenantAdminAuth` as app data.
pub type AdminAuthData = actix_web::web::Data<std::sync::Arc<dyn kernel::ports::TenantAdminAuth>>;

/// A tenant admin call (identities, sessions, relation tuples): the tenant
/// context plus proof that the bearer token may administer this project.
#[derive(Debug, Clone)]
pub struct TenantAdmin(pub Arc<TenantCtx>);

impl Deref for TenantAdmin {
    type Target = TenantCtx;
    fn deref(&self) -> &TenantCtx {
        &self.0
    }
}

/// GET and HEAD read; every other method writes.
fn writes(req: &HttpRequest) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD)
}

/// Left in the request by [`admin_gate`] once its credential is checked.
#[derive(Debug, Clone, Copy)]
struct AdminChecked {
    write: bool,
}

/// The already checked tenant admin context, when [`admin_gate`] ran.
fn checked(req: &HttpRequest, write: bool) -> Option<TenantAdmin> {
    let ok = req
        .extensions()
        .get::<AdminChecked>()
        .is_some_and(|c| c.write || !write);
    ok.then(|| req.extensions().get::<Arc<TenantCtx>>().cloned())
        .flatten()
        .map(TenantAdmin)
}

async fn gate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
    write: bool,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    authorize_admin(req.request(), write).await?;
    req.extensions_mut().insert(AdminChecked { write });
    next.call(req).await
}

/// Resource middleware of the tenant admin APIs: checks the credential
/// before any extractor reads the query or body. Actix polls a handler's
/// extractors together and answers with the first failure, so without this
/// a caller with no access could get a validation error (400) where the
/// answer must be 401/403/404.
pub async fn admin_gate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let write = writes(req.request());
    gate(req, next, write).await
}

/// As [`admin_gate`], for resources that only read whatever their method
/// (permission checks sent as POST).
pub async fn admin_gate_read<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    gate(req, next, false).await
}

impl FromRequest for TenantAdmin {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let write = writes(req);
        match checked(req, write) {
            Some(admin) => Box::pin(std::future::ready(Ok(admin))),
            None => authorize_admin(req, write),
        }
    }
}

/// A tenant admin call that only reads whatever its method (a permission
/// check sent as POST): viewers and read-only keys may make it.
#[derive(Debug, Clone)]
pub struct TenantAdminRead(pub Arc<TenantCtx>);

impl Deref for TenantAdminRead {
    type Target = TenantCtx;
    fn deref(&self) -> &TenantCtx {
        &self.0
    }
}

impl FromRequest for TenantAdminRead {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(admin) = checked(req, false) {
            return Box::pin(std::future::ready(Ok(TenantAdminRead(admin.0))));
        }
        let admin = authorize_admin(req, false);
        Box::pin(async move { Ok(TenantAdminRead(admin.await?.0)) })
    }
}

fn authorize_admin(
    req: &HttpRequest,
    write: bool,
) -> futures_util::future::LocalBoxFuture<'static, Result<TenantAdmin, ApiError>> {
    let tenant = req.extensions().get::<Arc<TenantCtx>>().cloned();
    let token = bearer_token(req).map(str::to_owned);
    let auth = req.app_data::<AdminAuthData>().cloned();
    Box::pin(async move {
        let tenant = tenant
            .ok_or_else(|| ApiError(Error::not_found("no project is served at this host")))?;
        let auth =
            auth.ok_or_else(|| ApiError(Error::internal("tenant admin auth is not wired")))?;
        let token = token.ok_or_else(|| {
            ApiError(Error::unauthorized(
                "send the project owner's access token as `Authorization: Bearer <token>`",
            ))
        })?;
        auth.authorize_tenant_admin(&token, tenant.project_id, write)
            .await?;
        Ok(TenantAdmin(tenant))
    })
}
