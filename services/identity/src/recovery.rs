//! `adminCreateSelfServiceRecoveryLink`: an admin mints a one-time recovery
//! link for an identity. The token is stored as a SHA-256 digest only and
//! is tied to a new recovery flow; following the link (which logs the user
//! in and sends them to settings) belongs to the browser flows.

use crate::engine::IdentityEngine;
use crate::flow::model::FlowKind;
use crate::session::service::{hash_token, new_token};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use http::ApiResult;
use http::tenant::TenantAdmin;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use store::sql;
use uuid::Uuid;

const DEFAULT_LINK_LIFESPAN: std::time::Duration = std::time::Duration::from_secs(3600);

/// `adminCreateSelfServiceRecoveryLinkBody`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRecoveryLink {
    pub identity_id: Uuid,
    /// A Go duration (`1h`, `15m`); the revision's link lifespan if absent.
    pub expires_in: Option<String>,
}

/// `selfServiceRecoveryLink`.
#[derive(Debug, Serialize)]
pub struct RecoveryLink {
    pub recovery_link: String,
    pub expires_at: DateTime<Utc>,
}

impl IdentityEngine {
    pub async fn create_recovery_link(
        &self,
        tenant: &TenantCtx,
        new: NewRecoveryLink,
    ) -> Result<RecoveryLink> {
        if !self.config_flag(tenant, "/selfservice/flows/recovery/enabled", true) {
            return Err(Error::bad_request(
                "The recovery flow is disabled for this project.",
            ));
        }
        let lifespan = match &new.expires_in {
            Some(text) => kernel::duration::parse_go_duration(text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "`expires_in` must be a duration such as 1h or 15m, got `{text}`"
                    ))
                })?,
            None => self.config_duration(
                tenant,
                "/selfservice/methods/link/config/lifespan",
                DEFAULT_LINK_LIFESPAN,
            ),
        };
        let identity = self.get_identity(tenant, new.identity_id).await?;
        let now = self.clock.now();
        let expires_at = now
            + chrono::Duration::from_std(lifespan)
                .map_err(|_| Error::bad_request("`expires_in` is too long"))?;
        let mut flow = self.new_flow(
            tenant,
            FlowKind::Recovery,
            format!("{}/admin/recovery/link", tenant.public_url),
            Vec::new(),
        );
        flow.expires_at = expires_at;
        flow.state = Some("sent_email".to_owned());
        let token = new_token();
        let txn = self.db.conn.begin().await.map_err(sql::db_error)?;
        crate::flow::store::insert(
            &txn,
            tenant.project_id,
            FlowKind::Recovery,
            Some(identity.id),
            &flow,
        )
        .await?;
        sql::insert(
            &txn,
            "selfservice_recovery_tokens",
            vec![
                ("id", Uuid::new_v4().into()),
                ("nid", tenant.project_id.into()),
                ("identity_id", identity.id.into()),
                ("flow_id", flow.id.into()),
                ("token_hash", hash_token(&token).into()),
                ("used", false.into()),
                ("expires_at", expires_at.into()),
                ("created_at", now.into()),
            ],
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(RecoveryLink {
            recovery_link: format!(
                "{}/self-service/recovery/link?flow={}&token={token}",
                tenant.public_url, flow.id
            ),
            expires_at,
        })
    }
}

pub async fn create_recovery_link(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    body: web::Json<NewRecoveryLink>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        engine
            .create_recovery_link(&tenant, body.into_inner())
            .await?,
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/recovery/link")
            .post(create_recovery_link)
            .wrap(actix_web::middleware::from_fn(http::tenant::admin_gate)),
    );
}
