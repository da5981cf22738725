//! The `Caller` extractor: `Authorization: Bearer <token>` → account.

use super::Caller;
use crate::ControlPlane;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use http::ApiError;
use kernel::Error;

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = http::tenant::bearer_token(req).map(str::to_owned);
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
