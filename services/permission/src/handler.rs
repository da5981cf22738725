//! The REST API (Keto v0.9 paths): writes under `/admin/relation-tuples`,
//! reads, check and expand under `/relation-tuples`. Every route needs the
//! project's admin credentials (`TenantAdmin`). Query strings are read as
//! Keto reads them (`KetoQuery`); each handler reads only the keys its Keto
//! counterpart reads.

use crate::api::{CheckResponse, PatchDelta, RelationQuery};
use crate::engine::PermissionEngine;
use crate::params::KetoQuery;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use http::tenant::{TenantAdmin, TenantAdminRead, admin_gate, admin_gate_read};

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
    );
}

async fn create(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    let tuple = engine
        .create(&tenant, body.into_inner().into_tuple()?)
        .await?;
    let location = location_of(&tuple);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
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
    engine.patch(&tenant, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn delete(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    engine
        .delete_matching(&tenant, &query.relation_query()?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
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

/// Runs a check; `mirror` puts the answer in the status too (200/403).
async fn run_check(
    tenant: &kernel::tenant::TenantCtx,
    engine: &PermissionEngine,
    query: RelationQuery,
    max_depth: Option<i64>,
    mirror: bool,
) -> ApiResult<HttpResponse> {
    let allowed = engine
        .check(tenant, &query.into_tuple()?, max_depth)
        .await?;
    let status = if mirror && !allowed {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(CheckResponse { allowed }))
}

async fn check_get(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    // Keto parses `max-depth` before the tuple.
    let max_depth = query.max_depth()?;
    run_check(&tenant, &engine, query.relation_query()?, max_depth, false).await
}

async fn check_post(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    // The body is a tuple; the depth comes from the query, as in Keto.
    let max_depth = query.max_depth()?;
    run_check(&tenant, &engine, body.into_inner(), max_depth, false).await
}

async fn check_mirror_get(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    let max_depth = query.max_depth()?;
    run_check(&tenant, &engine, query.relation_query()?, max_depth, true).await
}

async fn check_mirror_post(
    tenant: TenantAdminRead,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
    body: web::Json<RelationQuery>,
) -> ApiResult<HttpResponse> {
    let max_depth = query.max_depth()?;
    run_check(&tenant, &engine, body.into_inner(), max_depth, true).await
}

async fn expand(
    tenant: TenantAdmin,
    engine: web::Data<PermissionEngine>,
    query: KetoQuery,
) -> ApiResult<HttpResponse> {
    let max_depth = query.max_depth()?;
    let root = query.subject_set()?;
    let tree = engine.expand(&tenant, &root, max_depth).await?;
    Ok(HttpResponse::Ok().json(tree))
}
