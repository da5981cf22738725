//! The `Tenant` extractor: the tenant context the router attached to the
//! request. Tenant handlers take it; a route without it is not a tenant route.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::Method;
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

impl FromRequest for TenantAdmin {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// GET and HEAD read; every other method writes.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let write = !matches!(*req.method(), Method::GET | Method::HEAD);
        authorize_admin(req, write)
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
