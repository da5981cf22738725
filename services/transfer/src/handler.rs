//! HTTP handlers of export and import. The query is parsed after the
//! caller's access is checked (a stranger gets 404 whatever it sends).

use crate::{ARCHIVE_KEY_HEADER, TransferService};
use actix_web::http::header::{CONTENT_DISPOSITION, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use controlplane::account::Caller;
use http::ApiResult;
use uuid::Uuid;

/// The archive's media type: one JSON document per line.
pub const NDJSON: &str = "application/x-ndjson";

fn archive_key(headers: &HeaderMap) -> Result<Option<&str>, kernel::Error> {
    headers
        .get(ARCHIVE_KEY_HEADER)
        .map(|value| {
            value.to_str().map_err(|_| {
                kernel::Error::bad_request(format!("{ARCHIVE_KEY_HEADER} must be text"))
            })
        })
        .transpose()
}

pub async fn export(
    transfer: web::Data<TransferService>,
    caller: Caller,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = archive_key(req.headers())?;
    let stream = transfer.export(caller, *id, key).await?;
    Ok(HttpResponse::Ok()
        .content_type(NDJSON)
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"keyplane-{}.ndjson\"", *id),
        ))
        .streaming(stream))
}

pub async fn import(
    transfer: web::Data<TransferService>,
    caller: Caller,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let key = archive_key(req.headers())?;
    let options = transfer
        .import_options(caller, *id, req.query_string())
        .await?;
    let report = transfer.import(caller, *id, options, key, body).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/projects/{project_id}/export").get(export))
        .service(web::resource("/projects/{project_id}/import").post(import));
}
