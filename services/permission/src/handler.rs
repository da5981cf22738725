//! The REST API (Keto v0.9 paths): writes under `/admin/relation-tuples`,
//! reads, check and expand under `/relation-tuples`. Every route needs the
//! project's admin credentials (`TenantAdmin`). Query strings are read as
//! Keto reads them (`KetoQuery`); each handler reads only the keys its Keto
//! counterpart reads.

use crate::api::{BatchCheckBody, BatchCheckResponse, CheckResponse, PatchDelta, RelationQuery};
use crate::engine::PermissionEngine;
use crate::params::KetoQuery;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use http::tenant::{TenantAdmin, TenantAdminRead, admin_gate, admin_gate_read};

/// The response header carrying a write's snaptoken (REST writes have no
/// body of their own to carry it, and `PUT` answers Keto's tuple).
pub const SNAPTOKEN_HEADER: &str = "Keyplane-Snaptoken";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/relation-tuples")
            .put(create)
            .patch(patch)
            .delete(delete)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/relation-tuples")
            .get(list)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/relation-tuples/check")
            .get(check_mirror_get)
            .post(check_mirror_post)
            .wrap(from_fn(admin_gate_read)),
    )
    .service(
        web::resource("/relation-tuples/check/openapi")
            .get(check_get)
            .post(check_post)
            .wrap(from_fn(admin_gate_read)),
    )
    .service(
        web::resource("/relation-tuples/expand")
            .get(expand)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/relation-tuples/batch/check")
            .post(batch_check)
            .wrap(from_fn(admin_gate_read)),
    )
    .service(
        web::resource("/relation-tuples/list-objects")
            .get(list_objects)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/relation-tuples/list-subjects")
            .get(list_subjects)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/relation-tuples/changes")
            .get(changes)
            .wrap(from_fn(admin_gate)),
    );
}

async fn create(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    let (tuple, token) = engine
        .create(&tenant, body.into_inner().into_tuple()?)
        .await?;
    let location = location_of(&tuple);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .insert_header((SNAPTOKEN_HEADER, token.encode()))
        .json(tuple))
}

/// `/relation-tuples?namespace=..&object=..`: where the created tuple is listed.
fn location_of(tuple: &crate::model::RelationTuple) -> String {
    let mut url = url_form(&[
        ("namespace", Some(&tuple.namespace)),
        ("object", Some(&tuple.object)),
        ("relation", Some(&tuple.relation)),
        ("subject_id", tuple.subject_id.as_ref()),
        (
            "subject_set.namespace",
            tuple.subject_set.as_ref().map(|s| &s.namespace),
        ),
        (
            "subject_set.object",
            tuple.subject_set.as_ref().map(|s| &s.object),
        ),
        (
            "subject_set.relation",
            tuple.subject_set.as_ref().map(|s| &s.relation),
        ),
    ]);
    url.insert_str(0, "/relation-tuples?");
    url
}

fn url_form(pairs: &[(&str, Option<&String>)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if let Some(value) = value {
            out.append_pair(key, value);
        }
    }
    out.finish()
}

async fn patch(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    body: web::Json<Vec<PatchDelta>>,
) -> ApiResult<HttpResponse> {
    let token = engine.patch(&tenant, body.into_inner()).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SNAPTOKEN_HEADER, token.encode()))
        .finish())
}

async fn delete(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    let (_, token) = engine
        .delete_matching(&tenant, &query.relation_query()?)
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SNAPTOKEN_HEADER, token.encode()))
        .finish())
}

async fn list(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    engine.require_fresh(&tenant, query.snaptoken()?).await?;
    let page = engine
        .list(
            &tenant,
            &query.relation_query()?,
            query.page_size()?,
            query.page_token(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Runs a check of `body` (POST) or of the query's tuple keys (GET);
/// `mirror` puts the answer in the status too (200/403).
async fn run_check(
    tenant: &kernel::tenant::TenantCtx,
    engine: &PermissionEngine,
    params: &KetoQuery,
    body: Option<RelationQuery>,
    mirror: bool,
) -> ApiResult<HttpResponse> {
    // Keto parses `max-depth` before the tuple; a POST's depth comes from
    // the query too (its body is a tuple).
    let max_depth = params.max_depth()?;
    let query = match body {
        Some(body) => body,
        None => params.relation_query()?,
    };
    engine.require_fresh(tenant, params.snaptoken()?).await?;
    let (allowed, at) = engine
        .check_at(tenant, &query.into_tuple()?, max_depth)
        .await?;
    let status = if mirror && !allowed {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    // The position the answer is at least as fresh as, like a write's.
    Ok(HttpResponse::build(status)
        .insert_header((SNAPTOKEN_HEADER, at.encode()))
        .json(CheckResponse { allowed }))
}

async fn check_get(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    run_check(&tenant, &engine, &query, None, false).await
}

async fn check_post(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    run_check(&tenant, &engine, &query, Some(body.into_inner()), false).await
}

async fn check_mirror_get(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    run_check(&tenant, &engine, &query, None, true).await
}

async fn check_mirror_post(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    run_check(&tenant, &engine, &query, Some(body.into_inner()), true).await
}

async fn expand(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    let max_depth = query.max_depth()?;
    let root = query.subject_set()?;
    engine.require_fresh(&tenant, query.snaptoken()?).await?;
    let tree = engine.expand(&tenant, &root, max_depth).await?;
    Ok(HttpResponse::Ok().json(tree))
}

/// Keyplane's (and later Keto's) batch check: `{"tuples": [...]}` with
/// `max-depth` in the query, as for a single check.
async fn batch_check(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
    body: web::Json<BatchCheckBody>,
) -> ApiResult<HttpResponse> {
    let max_depth = query.max_depth()?;
    engine.require_fresh(&tenant, query.snaptoken()?).await?;
    let results = engine
        .batch_check(&tenant, body.into_inner().tuples, max_depth)
        .await?;
    Ok(HttpResponse::Ok().json(BatchCheckResponse { results }))
}

async fn list_objects(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    engine.require_fresh(&tenant, query.snaptoken()?).await?;
    let page = engine
        .list_objects(&tenant, &query.relation_query()?, query.lookup_params()?)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn list_subjects(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    engine.require_fresh(&tenant, query.snaptoken()?).await?;
    let page = engine
        .list_subjects(&tenant, &query.subject_set()?, query.lookup_params()?)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The change feed, long-polled: `since`, `page_size`, `wait` (seconds).
async fn changes(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    let request = crate::feed::FeedRequest {
        since: query.since()?,
        page_size: query.page_size()?,
        wait: query.wait()?,
    };
    let page = engine.changes(&tenant, request).await?;
    Ok(HttpResponse::Ok().json(page))
}
