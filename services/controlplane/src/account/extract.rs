//! The `Caller` extractor: `Authorization: Bearer <token>` → account.

use super::Caller;
use crate::ControlPlane;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use http::ApiError;
use kernel::Error;

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let cp = req.app_data::<web::Data<ControlPlane>>().cloned();
        Box::pin(async move {
            let cp =
                cp.ok_or_else(|| ApiError(Error::internal("control plane is not configured")))?;
            let token = token.ok_or_else(|| {
                ApiError(Error::unauthorized(
                    "send an access token as `Authorization: Bearer <token>`",
                ))
            })?;
            Ok(cp.accounts.authenticate(&token).await?)
        })
    }
}
