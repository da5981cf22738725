//! The revision columns that hold secrets, sealed at rest with the
//! server's encryption keys (`kernel::sealed`): a database dump or backup
//! shows none of a project's cookie/cipher secrets, SMTP password, web-hook
//! credentials or OIDC client secrets. Each value is sealed for its table,
//! column and project, so a ciphertext moved to another project's row does
//! not open. The store seals on insert and opens on read; nothing outside
//! the store sees a sealed value.

use super::model::{HookRow, OidcProviderRow};
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use store::sql;
use uuid::Uuid;

pub(super) const REVISIONS: &str = "project_revisions";
pub(super) const HOOKS: &str = "project_revision_hooks";
pub(super) const PROVIDERS: &str = "project_revision_third_party_providers";

/// Revision scalars that are secrets (the SMTP URI carries a password).
pub const SEALED_SCALARS: [&str; 4] = [
    "kratos_secrets_cipher",
    "kratos_secrets_cookie",
    "kratos_secrets_default",
    "kratos_courier_smtp_connection_uri",
];
pub const SEALED_HOOK_COLUMNS: [&str; 2] = [
    "web_hook_config_auth_api_key_value",
    "web_hook_config_auth_basic_auth_password",
];
pub const SEALED_PROVIDER_COLUMNS: [&str; 2] = ["client_secret", "apple_private_key"];

pub(super) fn is_sealed_scalar(column: &str) -> bool {
    SEALED_SCALARS.contains(&column)
}

/// Seals and opens one project's revision secrets.
pub(super) struct Sealer<'a> {
    pub sbox: &'a SecretBox,
    pub project_id: Uuid,
}

fn context(table: &str, column: &str, project_id: Uuid) -> String {
    format!("{table}.{column}@{project_id}")
}

impl Sealer<'_> {
    pub fn seal(&self, table: &str, column: &str, plain: &str) -> String {
        self.sbox
            .seal(&context(table, column, self.project_id), plain)
    }

    pub fn open(&self, table: &str, column: &str, stored: &str) -> Result<String> {
        self.sbox
            .open(&context(table, column, self.project_id), stored)
            .map_err(|e| {
                Error::internal(format!(
                    "{table}.{column} of project {}: {e}",
                    self.project_id
                ))
            })
    }

    fn seal_opt(&self, table: &str, column: &str, plain: &Option<String>) -> Option<String> {
        plain.as_deref().map(|p| self.seal(table, column, p))
    }

    fn open_opt(&self, table: &str, column: &str, stored: &mut Option<String>) -> Result<()> {
        if let Some(value) = stored {
            *value = self.open(table, column, value)?;
        }
        Ok(())
    }

    /// A copy of `hook` with its credentials sealed, for insert.
    pub fn seal_hook(&self, hook: &HookRow) -> HookRow {
        let [key_value, password] = SEALED_HOOK_COLUMNS;
        HookRow {
            web_hook_config_auth_api_key_value: self.seal_opt(
                HOOKS,
                key_value,
                &hook.web_hook_config_auth_api_key_value,
            ),
            web_hook_config_auth_basic_auth_password: self.seal_opt(
                HOOKS,
                password,
                &hook.web_hook_config_auth_basic_auth_password,
            ),
            ..hook.clone()
        }
    }

    pub fn open_hook(&self, hook: &mut HookRow) -> Result<()> {
        let [key_value, password] = SEALED_HOOK_COLUMNS;
        self.open_opt(
            HOOKS,
            key_value,
            &mut hook.web_hook_config_auth_api_key_value,
        )?;
        self.open_opt(
            HOOKS,
            password,
            &mut hook.web_hook_config_auth_basic_auth_password,
        )
    }

    /// A copy of `provider` with its client secret and key sealed.
    pub fn seal_provider(&self, provider: &OidcProviderRow) -> OidcProviderRow {
        let [secret, key] = SEALED_PROVIDER_COLUMNS;
        OidcProviderRow {
            client_secret: self.seal_opt(PROVIDERS, secret, &provider.client_secret),
            apple_private_key: self.seal_opt(PROVIDERS, key, &provider.apple_private_key),
            ..provider.clone()
        }
    }

    pub fn open_provider(&self, provider: &mut OidcProviderRow) -> Result<()> {
        let [secret, key] = SEALED_PROVIDER_COLUMNS;
        self.open_opt(PROVIDERS, secret, &mut provider.client_secret)?;
        self.open_opt(PROVIDERS, key, &mut provider.apple_private_key)
    }
}

/// Re-seals every revision secret that is plain text (written before
/// encryption at rest) or sealed with a key other than the current one;
/// returns how many values changed. Revisions are otherwise immutable: this
/// rewrites the same secret, never another. Idempotent, so an interrupted
/// rotation is simply run again.
pub async fn reseal_all<C: ConnectionTrait>(conn: &C, sbox: &SecretBox) -> Result<usize> {
    let mut changed = 0;
    changed += reseal_table(conn, sbox, REVISIONS, &SEALED_SCALARS).await?;
    changed += reseal_table(conn, sbox, HOOKS, &SEALED_HOOK_COLUMNS).await?;
    changed += reseal_table(conn, sbox, PROVIDERS, &SEALED_PROVIDER_COLUMNS).await?;
    Ok(changed)
}

async fn reseal_table<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    table: &str,
    columns: &[&str],
) -> Result<usize> {
    let a = Alias::new;
    // Child rows reach their project through the revision.
    let mut select = Query::select();
    select.expr_as(Expr::col((a(table), a("id"))), a("row_id"));
    if table == REVISIONS {
        select
            .expr_as(Expr::col((a(table), a("project_id"))), a("owner"))
            .from(a(table));
    } else {
        select
            .expr_as(Expr::col((a(REVISIONS), a("project_id"))), a("owner"))
            .from(a(table))
            .inner_join(
                a(REVISIONS),
                Expr::col((a(REVISIONS), a("id"))).equals((a(table), a("project_revision_id"))),
            );
    }
    for column in columns {
        select.column((a(table), a(column)));
    }
    let mut changed = 0;
    for row in sql::select_all(conn, &select).await? {
        let row_id: Uuid = sql::get(&row, "row_id")?;
        let sealer = Sealer {
            sbox,
            project_id: sql::get(&row, "owner")?,
        };
        let mut update = Query::update();
        update
            .table(a(table))
            .and_where(Expr::col(a("id")).eq(row_id));
        let mut any = false;
        for (i, column) in columns.iter().enumerate() {
            let Some(stored) = sql::get_at::<Option<String>>(&row, 2 + i)? else {
                continue;
            };
            if !sbox.needs_reseal(&stored) {
                continue;
            }
            let plain = sealer.open(table, column, &stored)?;
            update.value(a(column), sealer.seal(table, column, &plain));
            any = true;
            changed += 1;
        }
        if any {
            sql::update(conn, &update).await?;
        }
    }
    Ok(changed)
}
