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
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, IdenStatic};
use store::entity::project_revision_hooks as hooks;
use store::entity::project_revision_third_party_providers as providers;
use store::entity::project_revisions as revisions;
use store::sql;
use uuid::Uuid;

/// Revision scalars that are secrets (the SMTP URI carries a password).
pub const SEALED_SCALARS: [revisions::Column; 4] = [
    revisions::Column::KratosSecretsCipher,
    revisions::Column::KratosSecretsCookie,
    revisions::Column::KratosSecretsDefault,
    revisions::Column::KratosCourierSmtpConnectionUri,
];
pub const SEALED_HOOK_COLUMNS: [hooks::Column; 2] = [
    hooks::Column::WebHookConfigAuthApiKeyValue,
    hooks::Column::WebHookConfigAuthBasicAuthPassword,
];
pub const SEALED_PROVIDER_COLUMNS: [providers::Column; 2] = [
    providers::Column::ClientSecret,
    providers::Column::ApplePrivateKey,
];

pub(super) fn is_sealed_scalar(column: revisions::Column) -> bool {
    SEALED_SCALARS.iter().any(|c| c.as_str() == column.as_str())
}

/// Seals and opens one project's revision secrets.
pub(super) struct Sealer<'a> {
    pub sbox: &'a SecretBox,
    pub project_id: Uuid,
}

/// `table.column`, as the sealing context and messages name a column.
fn qualified<C: ColumnTrait>(column: C) -> String {
    format!("{}.{}", C::EntityName::default().as_str(), column.as_str())
}

impl Sealer<'_> {
    fn context<C: ColumnTrait>(&self, column: C) -> String {
        format!("{}@{}", qualified(column), self.project_id)
    }

    pub fn seal<C: ColumnTrait>(&self, column: C, plain: &str) -> String {
        self.sbox.seal(&self.context(column), plain)
    }

    pub fn open<C: ColumnTrait>(&self, column: C, stored: &str) -> Result<String> {
        self.sbox.open(&self.context(column), stored).map_err(|e| {
            Error::internal(format!(
                "{} of project {}: {e}",
                qualified(column),
                self.project_id
            ))
        })
    }

    fn seal_opt<C: ColumnTrait>(&self, column: C, plain: &Option<String>) -> Option<String> {
        plain.as_deref().map(|p| self.seal(column, p))
    }

    fn open_opt<C: ColumnTrait>(&self, column: C, stored: &mut Option<String>) -> Result<()> {
        if let Some(value) = stored {
            *value = self.open(column, value)?;
        }
        Ok(())
    }

    /// A copy of `hook` with its credentials sealed, for insert.
    pub fn seal_hook(&self, hook: &HookRow) -> HookRow {
        let [key_value, password] = SEALED_HOOK_COLUMNS;
        HookRow {
            web_hook_config_auth_api_key_value: self
                .seal_opt(key_value, &hook.web_hook_config_auth_api_key_value),
            web_hook_config_auth_basic_auth_password: self
                .seal_opt(password, &hook.web_hook_config_auth_basic_auth_password),
            ..hook.clone()
        }
    }

    pub fn open_hook(&self, hook: &mut HookRow) -> Result<()> {
        let [key_value, password] = SEALED_HOOK_COLUMNS;
        self.open_opt(key_value, &mut hook.web_hook_config_auth_api_key_value)?;
        self.open_opt(password, &mut hook.web_hook_config_auth_basic_auth_password)
    }

    /// A copy of `provider` with its client secret and key sealed.
    pub fn seal_provider(&self, provider: &OidcProviderRow) -> OidcProviderRow {
        let [secret, key] = SEALED_PROVIDER_COLUMNS;
        OidcProviderRow {
            client_secret: self.seal_opt(secret, &provider.client_secret),
            apple_private_key: self.seal_opt(key, &provider.apple_private_key),
            ..provider.clone()
        }
    }

    pub fn open_provider(&self, provider: &mut OidcProviderRow) -> Result<()> {
        let [secret, key] = SEALED_PROVIDER_COLUMNS;
        self.open_opt(secret, &mut provider.client_secret)?;
        self.open_opt(key, &mut provider.apple_private_key)
    }
}

/// Re-seals every revision secret that is plain text (written before
/// encryption at rest) or sealed with a key other than the current one;
/// returns how many values changed. Revisions are otherwise immutable: this
/// rewrites the same secret, never another. Idempotent, so an interrupted
/// rotation is simply run again.
pub async fn reseal_all<C: ConnectionTrait>(conn: &C, sbox: &SecretBox) -> Result<usize> {
    let mut changed = 0;
    changed += reseal_table(conn, sbox, revisions::Column::Id, None, &SEALED_SCALARS).await?;
    changed += reseal_table(
        conn,
        sbox,
        hooks::Column::Id,
        Some(hooks::Column::ProjectRevisionId),
        &SEALED_HOOK_COLUMNS,
    )
    .await?;
    changed += reseal_table(
        conn,
        sbox,
        providers::Column::Id,
        Some(providers::Column::ProjectRevisionId),
        &SEALED_PROVIDER_COLUMNS,
    )
    .await?;
    Ok(changed)
}

/// Re-seals `columns` of `id`'s table. A child table names the column
/// that points at its revision (`revision`): child rows reach their
/// project through the revision.
async fn reseal_table<C: ConnectionTrait, K: ColumnTrait>(
    conn: &C,
    sbox: &SecretBox,
    id: K,
    revision: Option<K>,
    columns: &[K],
) -> Result<usize> {
    let table = K::EntityName::default();
    // The row's id, its project, then `columns`: read by position.
    let mut select = Query::select();
    select
        .column((table, id))
        .column((revisions::Entity, revisions::Column::ProjectId))
        .from(table);
    if let Some(revision) = revision {
        select.inner_join(
            revisions::Entity,
            Expr::col((revisions::Entity, revisions::Column::Id)).equals((table, revision)),
        );
    }
    for column in columns {
        select.column((table, *column));
    }
    let mut changed = 0;
    for row in sql::select_all(conn, &select).await? {
        let row_id: Uuid = sql::get_at(&row, 0)?;
        let sealer = Sealer {
            sbox,
            project_id: sql::get_at(&row, 1)?,
        };
        let mut update = Query::update();
        update.table(table).and_where(Expr::col(id).eq(row_id));
        let mut any = false;
        for (i, column) in columns.iter().enumerate() {
            let Some(stored) = sql::get_at::<Option<String>>(&row, 2 + i)? else {
                continue;
            };
            if !sbox.needs_reseal(&stored) {
                continue;
            }
            let plain = sealer.open(*column, &stored)?;
            update.value(*column, sealer.seal(*column, &plain));
            any = true;
            changed += 1;
        }
        if any {
            sql::update(conn, &update).await?;
        }
    }
    Ok(changed)
}
