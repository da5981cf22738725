//! The `Caller` extractor: `Authorization: Bearer <token or session>`, then
//! `X-Session-Token`, then the console project's session cookie.

use super::Caller;
use crate::ControlPlane;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use http::ApiError;
use kernel::Error;

/// What the request presented.
enum Presented {
    Bearer(String),
    Session(String),
}

fn presented(req: &HttpRequest, cp: &ControlPlane) -> Option<Presented> {
    if let Some(token) = http::tenant::bearer_token(req) {
        return Some(Presented::Bearer(token.to_owned()));
    }
    if let Some(token) = req
        .headers()
        .get("X-Session-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some(Presented::Session(token.to_owned()));
    }
    let cookie = cp.accounts.session_cookie();
    req.cookie(&cookie)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .map(Presented::Session)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let cp = req.app_data::<web::Data<ControlPlane>>().cloned();
        let presented = cp.as_ref().and_then(|cp| presented(req, cp));
        Box::pin(async move {
            let cp =
                cp.ok_or_else(|| ApiError(Error::internal("control plane is not configured")))?;
            let caller = match presented {
                Some(Presented::Bearer(token)) => cp.accounts.authenticate(&token).await?,
                Some(Presented::Session(token)) => cp.accounts.authenticate_session(&token).await?,
                None => {
                    return Err(ApiError(Error::unauthorized(
                        "send an access token as `Authorization: Bearer <token>`, or a console session",
                    )));
                }
            };
            Ok(caller)
        })
    }
}
