//! Browser logout: `createSelfServiceLogoutFlowUrlForBrowsers` hands out a
//! logout token for the browser's session, and `submitSelfServiceLogoutFlow`
//! ends the session it names. The token is the session id plus an HMAC of
//! it under the project's cookie secret, so nothing is stored, it cannot be
//! forged or moved to another session or project, and rotating the secret
//! (`secrets.cookie`, newest first) keeps older tokens valid.

use super::store as sessions;
use crate::engine::IdentityEngine;
use hmac::{Hmac, Mac};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// `selfServiceLogoutUrl`.
#[derive(Debug, Serialize)]
pub struct LogoutUrl {
    pub logout_url: String,
    pub logout_token: String,
}

fn secrets(tenant: &TenantCtx) -> Vec<String> {
    tenant.config.identity_config.cookie_secrets.clone()
}

fn mac(secret: &str, nid: Uuid, session_id: Uuid) -> Result<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(Error::internal)?;
    mac.update(b"logout:");
    mac.update(nid.as_bytes());
    mac.update(session_id.as_bytes());
    Ok(mac)
}

fn invalid_token() -> Error {
    Error::unauthorized("The logout token is invalid or has expired.").with_id("session_inactive")
}

impl IdentityEngine {
    /// A logout URL for the browser's session.
    pub async fn logout_url(&self, tenant: &TenantCtx, session_token: &str) -> Result<LogoutUrl> {
        let (session, _) = self.authenticate_session(tenant, session_token).await?;
        let secret = secrets(tenant)
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("the project has no cookie secret"))?;
        let tag = mac(&secret, tenant.project_id, session.id)?
            .finalize()
            .into_bytes();
        let token = format!("{}{}", session.id.simple(), hex::encode(&tag[..16]));
        Ok(LogoutUrl {
            logout_url: format!("{}/self-service/logout?token={token}", tenant.public_url),
            logout_token: token,
        })
    }

    /// Ends the session a logout token names. An unknown, forged or already
    /// used token is 401.
    pub async fn logout_with_token(&self, tenant: &TenantCtx, token: &str) -> Result<()> {
        if token.len() != 64 || !token.is_ascii() {
            return Err(invalid_token());
        }
        let (id, tag) = token.split_at(32);
        let session_id = Uuid::parse_str(id).map_err(|_| invalid_token())?;
        let tag = hex::decode(tag).map_err(|_| invalid_token())?;
        let genuine = secrets(tenant).iter().any(|secret| {
            mac(secret, tenant.project_id, session_id)
                .map(|m| m.verify_truncated_left(&tag).is_ok())
                .unwrap_or(false)
        });
        if !genuine {
            return Err(invalid_token());
        }
        let session = sessions::find(&self.db.conn, tenant.project_id, session_id)
            .await?
            .filter(|s| s.active)
            .ok_or_else(invalid_token)?;
        self.revoke(tenant, session.identity_id, None, Some(session.id))
            .await?;
        Ok(())
    }

    /// Where a browser goes after logging out.
    pub fn after_logout_url(&self, tenant: &TenantCtx) -> String {
        let config = &tenant.config.identity_config;
        config
            .logout_return_url
            .clone()
            .or_else(|| config.default_browser_return_url.clone())
            .unwrap_or_else(|| format!("{}/", tenant.public_url))
    }
}
