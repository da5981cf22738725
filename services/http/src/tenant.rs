//! The `Tenant` extractor: the tenant context the router attached to the
//! request. Tenant handlers take it; a route without it is not a tenant route.

use crate::error::ApiError;
use actix_web::dev::Payload;
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
