//! `/subscriptions`, `/stripe/customer` and `/billing/webhooks/stripe`.

use super::model::{CreateSubscription, ProvisionMockSubscription, UpdateSubscription};
use crate::ControlPlane;
use crate::account::Caller;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use kernel::Error;
use uuid::Uuid;

async fn create_subscription(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    body: web::Json<CreateSubscription>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(cp.billing.create(caller, body.into_inner()).await?))
}

async fn get_subscription(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.billing.get(caller, *id).await?))
}

async fn update_subscription(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<UpdateSubscription>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.billing.update(caller, *id, body.into_inner()).await?))
}

async fn provision_mock_subscription(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    body: web::Json<ProvisionMockSubscription>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(cp.billing.provision_mock(caller, body.into_inner()).await?))
}

async fn stripe_customer(cp: web::Data<ControlPlane>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.billing.customer(caller).await?))
}

/// Stripe signs the exact bytes it sends, so the body is read raw.
async fn stripe_webhook(
    cp: web::Data<ControlPlane>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let payload = std::str::from_utf8(&body)
        .map_err(|_| Error::bad_request("the webhook body is not UTF-8"))?;
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let outcome = cp.billing.handle_webhook(payload, signature).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "received": true,
        "replayed": outcome == super::service::WebhookOutcome::Replayed,
    })))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/subscriptions").post(create_subscription))
        .service(web::resource("/subscriptions/mock").post(provision_mock_subscription))
        .service(
            web::resource("/subscriptions/{subscription_id}")
                .get(get_subscription)
                .put(update_subscription),
        )
        .service(web::resource("/stripe/customer").get(stripe_customer))
        .service(web::resource("/billing/webhooks/stripe").post(stripe_webhook));
}
