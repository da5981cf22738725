//! `project_revisions` and its child tables. Revisions are immutable: they
//! are inserted whole and never updated; they go away only with their project.

use super::keys::{IDENTITY_KEYS, Kind};
use super::model::{
    HookRow, IdentitySchemaRow, KetoNamespaceRow, OidcProviderRow, RevisionContent,
};
use super::sealed::{self, Sealer};
use chrono::{DateTime, Utc};
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, Value};
use serde_json::Value as Json;
use store::sql;
use uuid::Uuid;

use sealed::{HOOKS, PROVIDERS, REVISIONS};
const SCHEMAS: &str = "project_revision_identity_schemas";
const NAMESPACES: &str = "project_revision_keto_namespaces";

/// A stored revision: its identity and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionMeta {
    pub id: Uuid,
    pub project_id: Uuid,
    pub created_at: DateTime<Utc>,
}

fn json_text(value: &Json) -> Value {
    Value::from(value.to_string())
}

fn scalar_value(kind: Kind, value: &Json) -> Result<Value> {
    Ok(match kind {
        Kind::Bool => Value::from(
            value
                .as_bool()
                .ok_or_else(|| Error::internal("bool column"))?,
        ),
        Kind::Int => Value::from(
            value
                .as_i64()
                .ok_or_else(|| Error::internal("int column"))?,
        ),
        Kind::StrList | Kind::Object => json_text(value),
        Kind::Str | Kind::Url | Kind::Duration | Kind::OneOf(_) => Value::from(
            value
                .as_str()
                .ok_or_else(|| Error::internal("text column"))?
                .to_owned(),
        ),
    })
}

/// A secret scalar as the text that is sealed: a list as its JSON.
fn scalar_text(kind: Kind, value: &Json) -> Result<String> {
    match kind {
        Kind::StrList | Kind::Object => Ok(value.to_string()),
        _ => value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::internal("text column")),
    }
}

fn child_columns(
    id: Uuid,
    revision_id: Uuid,
    position: usize,
    now: DateTime<Utc>,
) -> Vec<(&'static str, Value)> {
    vec![
        ("id", id.into()),
        ("project_revision_id", revision_id.into()),
        (
            "position",
            Value::from(i32::try_from(position).unwrap_or(i32::MAX)),
        ),
        ("created_at", now.into()),
        ("updated_at", now.into()),
    ]
}

/// Inserts a revision and its children, secrets sealed with `sbox`'s
/// current key; returns its id (a UUIDv7, so ids sort by creation).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    project_id: Uuid,
    content: &RevisionContent,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let mut columns: Vec<(&str, Value)> = vec![
        ("id", id.into()),
        ("project_id", project_id.into()),
        ("name", content.name.clone().into()),
        ("keto_read_max_depth", content.keto_read_max_depth.into()),
        (
            "keto_batch_check_max_size",
            content.keto_batch_check_max_size.into(),
        ),
        ("created_at", now.into()),
        ("updated_at", now.into()),
    ];
    let sealer = Sealer { sbox, project_id };
    for key in IDENTITY_KEYS {
        if let Some(value) = content.scalars.get(key.column) {
            let value = if sealed::is_sealed_scalar(key.column) {
                let text = scalar_text(key.kind, value)?;
                Value::from(sealer.seal(REVISIONS, key.column, &text))
            } else {
                scalar_value(key.kind, value)?
            };
            columns.push((key.column, value));
        }
    }
    sql::insert(conn, REVISIONS, columns).await?;

    for (i, hook) in content.hooks.iter().enumerate() {
        let hook = &sealer.seal_hook(hook);
        let mut c = child_columns(Uuid::now_v7(), id, i, now);
        c.extend([
            ("config_key", hook.config_key.clone().into()),
            ("hook", hook.hook.clone().into()),
            (
                "web_hook_config_url",
                hook.web_hook_config_url.clone().into(),
            ),
            (
                "web_hook_config_method",
                hook.web_hook_config_method.clone().into(),
            ),
            (
                "web_hook_config_body",
                hook.web_hook_config_body.clone().into(),
            ),
            (
                "web_hook_config_response_ignore",
                hook.web_hook_config_response_ignore.into(),
            ),
            (
                "web_hook_config_auth_type",
                hook.web_hook_config_auth_type.clone().into(),
            ),
            (
                "web_hook_config_auth_api_key_name",
                hook.web_hook_config_auth_api_key_name.clone().into(),
            ),
            (
                "web_hook_config_auth_api_key_value",
                hook.web_hook_config_auth_api_key_value.clone().into(),
            ),
            (
                "web_hook_config_auth_api_key_in",
                hook.web_hook_config_auth_api_key_in.clone().into(),
            ),
            (
                "web_hook_config_auth_basic_auth_user",
                hook.web_hook_config_auth_basic_auth_user.clone().into(),
            ),
            (
                "web_hook_config_auth_basic_auth_password",
                hook.web_hook_config_auth_basic_auth_password.clone().into(),
            ),
        ]);
        sql::insert(conn, HOOKS, c).await?;
    }
    for (i, schema) in content.identity_schemas.iter().enumerate() {
        let mut c = child_columns(Uuid::now_v7(), id, i, now);
        c.extend([
            ("import_id", schema.import_id.clone().into()),
            ("import_url", schema.import_url.clone().into()),
            ("preset", schema.preset.clone().into()),
            ("is_default", schema.is_default.into()),
        ]);
        sql::insert(conn, SCHEMAS, c).await?;
    }
    for (i, p) in content.oidc_providers.iter().enumerate() {
        let p = &sealer.seal_provider(p);
        let mut c = child_columns(Uuid::now_v7(), id, i, now);
        c.extend([
            ("provider_id", p.provider_id.clone().into()),
            ("provider", p.provider.clone().into()),
            ("client_id", p.client_id.clone().into()),
            ("client_secret", p.client_secret.clone().into()),
            ("issuer_url", p.issuer_url.clone().into()),
            ("auth_url", p.auth_url.clone().into()),
            ("token_url", p.token_url.clone().into()),
            ("mapper_url", p.mapper_url.clone().into()),
            (
                "scope",
                p.scope
                    .as_ref()
                    .map(|s| serde_json::json!(s).to_string())
                    .into(),
            ),
            (
                "requested_claims",
                p.requested_claims.as_ref().map(Json::to_string).into(),
            ),
            ("label", p.label.clone().into()),
            ("azure_tenant", p.azure_tenant.clone().into()),
            ("apple_team_id", p.apple_team_id.clone().into()),
            (
                "apple_private_key_id",
                p.apple_private_key_id.clone().into(),
            ),
            ("apple_private_key", p.apple_private_key.clone().into()),
        ]);
        sql::insert(conn, PROVIDERS, c).await?;
    }
    for (i, ns) in content.keto_namespaces.iter().enumerate() {
        let mut c = child_columns(Uuid::now_v7(), id, i, now);
        c.extend([
            ("namespace_id", ns.namespace_id.into()),
            ("name", ns.name.clone().into()),
        ]);
        sql::insert(conn, NAMESPACES, c).await?;
    }
    Ok(id)
}

fn parse_json(text: Option<String>, column: &str) -> Result<Option<Json>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| Error::internal(format!("column {column}: {e}")))
    })
    .transpose()
}

async fn children<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    columns: &[&str],
    revision_id: Uuid,
) -> Result<Vec<sea_orm::QueryResult>> {
    let mut select = Query::select();
    select
        .columns(columns.iter().map(|c| Alias::new(*c)))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("project_revision_id")).eq(revision_id))
        .order_by(Alias::new("position"), Order::Asc);
    sql::select_all(conn, &select).await
}

const FIXED_COLUMNS: [&str; 6] = [
    "id",
    "project_id",
    "name",
    "keto_read_max_depth",
    "keto_batch_check_max_size",
    "created_at",
];

/// Loads a revision's content and metadata, if it exists, its secrets
/// opened with `sbox`.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    revision_id: Uuid,
) -> Result<Option<(RevisionMeta, RevisionContent)>> {
    let mut select = Query::select();
    select
        .columns(FIXED_COLUMNS.map(Alias::new))
        .columns(IDENTITY_KEYS.iter().map(|k| Alias::new(k.column)))
        .from(Alias::new(REVISIONS))
        .and_where(Expr::col(Alias::new("id")).eq(revision_id));
    let Some(row) = sql::select_one(conn, &select).await? else {
        return Ok(None);
    };
    let meta = RevisionMeta {
        id: sql::get(&row, "id")?,
        project_id: sql::get(&row, "project_id")?,
        created_at: sql::get(&row, "created_at")?,
    };
    let mut content = RevisionContent {
        name: sql::get(&row, "name")?,
        keto_read_max_depth: sql::get(&row, "keto_read_max_depth")?,
        keto_batch_check_max_size: sql::get(&row, "keto_batch_check_max_size")?,
        ..RevisionContent::default()
    };
    // Scalars are read by position: several column names are longer than
    // PostgreSQL's 63-byte identifier limit (see `sql::get_at`).
    let sealer = Sealer {
        sbox,
        project_id: meta.project_id,
    };
    for (i, key) in IDENTITY_KEYS.iter().enumerate() {
        let at = FIXED_COLUMNS.len() + i;
        if sealed::is_sealed_scalar(key.column) {
            if let Some(stored) = sql::get_at::<Option<String>>(&row, at)? {
                let text = sealer.open(REVISIONS, key.column, &stored)?;
                let value = match key.kind {
                    Kind::StrList | Kind::Object => parse_json(Some(text), key.column)?,
                    _ => Some(Json::from(text)),
                };
                content
                    .scalars
                    .extend(value.map(|v| (key.column.to_owned(), v)));
            }
            continue;
        }
        let value = match key.kind {
            Kind::Bool => sql::get_at::<Option<bool>>(&row, at)?.map(Json::from),
            Kind::Int => sql::get_at::<Option<i64>>(&row, at)?.map(Json::from),
            Kind::StrList | Kind::Object => parse_json(sql::get_at(&row, at)?, key.column)?,
            Kind::Str | Kind::Url | Kind::Duration | Kind::OneOf(_) => {
                sql::get_at::<Option<String>>(&row, at)?.map(Json::from)
            }
        };
        if let Some(value) = value {
            content.scalars.insert(key.column.to_owned(), value);
        }
    }

    const HOOK_COLUMNS: &[&str] = &[
        "config_key",
        "hook",
        "web_hook_config_url",
        "web_hook_config_method",
        "web_hook_config_body",
        "web_hook_config_response_ignore",
        "web_hook_config_auth_type",
        "web_hook_config_auth_api_key_name",
        "web_hook_config_auth_api_key_value",
        "web_hook_config_auth_api_key_in",
        "web_hook_config_auth_basic_auth_user",
        "web_hook_config_auth_basic_auth_password",
    ];
    for r in children(conn, HOOKS, HOOK_COLUMNS, revision_id).await? {
        let mut hook = HookRow {
            config_key: sql::get(&r, "config_key")?,
            hook: sql::get(&r, "hook")?,
            web_hook_config_url: sql::get(&r, "web_hook_config_url")?,
            web_hook_config_method: sql::get(&r, "web_hook_config_method")?,
            web_hook_config_body: sql::get(&r, "web_hook_config_body")?,
            web_hook_config_response_ignore: sql::get(&r, "web_hook_config_response_ignore")?,
            web_hook_config_auth_type: sql::get(&r, "web_hook_config_auth_type")?,
            web_hook_config_auth_api_key_name: sql::get(&r, "web_hook_config_auth_api_key_name")?,
            web_hook_config_auth_api_key_value: sql::get(&r, "web_hook_config_auth_api_key_value")?,
            web_hook_config_auth_api_key_in: sql::get(&r, "web_hook_config_auth_api_key_in")?,
            web_hook_config_auth_basic_auth_user: sql::get(
                &r,
                "web_hook_config_auth_basic_auth_user",
            )?,
            web_hook_config_auth_basic_auth_password: sql::get(
                &r,
                "web_hook_config_auth_basic_auth_password",
            )?,
        };
        sealer.open_hook(&mut hook)?;
        content.hooks.push(hook);
    }
    for r in children(
        conn,
        SCHEMAS,
        &["import_id", "import_url", "preset", "is_default"],
        revision_id,
    )
    .await?
    {
        content.identity_schemas.push(IdentitySchemaRow {
            import_id: sql::get(&r, "import_id")?,
            import_url: sql::get(&r, "import_url")?,
            preset: sql::get(&r, "preset")?,
            is_default: sql::get(&r, "is_default")?,
        });
    }
    const PROVIDER_COLUMNS: &[&str] = &[
        "provider_id",
        "provider",
        "client_id",
        "client_secret",
        "issuer_url",
        "auth_url",
        "token_url",
        "mapper_url",
        "scope",
        "requested_claims",
        "label",
        "azure_tenant",
        "apple_team_id",
        "apple_private_key_id",
        "apple_private_key",
    ];
    for r in children(conn, PROVIDERS, PROVIDER_COLUMNS, revision_id).await? {
        let scope = parse_json(sql::get(&r, "scope")?, "scope")?
            .map(|v| serde_json::from_value::<Vec<String>>(v).map_err(Error::internal))
            .transpose()?;
        let mut provider = OidcProviderRow {
            provider_id: sql::get(&r, "provider_id")?,
            provider: sql::get(&r, "provider")?,
            client_id: sql::get(&r, "client_id")?,
            client_secret: sql::get(&r, "client_secret")?,
            issuer_url: sql::get(&r, "issuer_url")?,
            auth_url: sql::get(&r, "auth_url")?,
            token_url: sql::get(&r, "token_url")?,
            mapper_url: sql::get(&r, "mapper_url")?,
            scope,
            requested_claims: parse_json(sql::get(&r, "requested_claims")?, "requested_claims")?,
            label: sql::get(&r, "label")?,
            azure_tenant: sql::get(&r, "azure_tenant")?,
            apple_team_id: sql::get(&r, "apple_team_id")?,
            apple_private_key_id: sql::get(&r, "apple_private_key_id")?,
            apple_private_key: sql::get(&r, "apple_private_key")?,
        };
        sealer.open_provider(&mut provider)?;
        content.oidc_providers.push(provider);
    }
    for r in children(conn, NAMESPACES, &["namespace_id", "name"], revision_id).await? {
        content.keto_namespaces.push(KetoNamespaceRow {
            namespace_id: sql::get(&r, "namespace_id")?,
            name: sql::get(&r, "name")?,
        });
    }
    Ok(Some((meta, content)))
}

/// A project's revision ids, newest first.
pub async fn list_ids<C: ConnectionTrait>(conn: &C, project_id: Uuid) -> Result<Vec<Uuid>> {
    let mut select = Query::select();
    select
        .column(Alias::new("id"))
        .from(Alias::new(REVISIONS))
        .and_where(Expr::col(Alias::new("project_id")).eq(project_id))
        .order_by(Alias::new("created_at"), Order::Desc)
        .order_by(Alias::new("id"), Order::Desc);
    sql::select_all(conn, &select)
        .await?
        .iter()
        .map(|r| sql::get(r, "id"))
        .collect()
}

/// Removes every revision of a project with its children. Children are
/// deleted explicitly rather than trusting ON DELETE CASCADE, which SQLite
/// enforces only with foreign keys switched on.
pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project_id: Uuid) -> Result<()> {
    let revision_ids = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(REVISIONS))
        .and_where(Expr::col(Alias::new("project_id")).eq(project_id))
        .to_owned();
    for table in [HOOKS, SCHEMAS, PROVIDERS, NAMESPACES] {
        let delete = Query::delete()
            .from_table(Alias::new(table))
            .and_where(
                Expr::col(Alias::new("project_revision_id")).in_subquery(revision_ids.clone()),
            )
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    let delete = Query::delete()
        .from_table(Alias::new(REVISIONS))
        .and_where(Expr::col(Alias::new("project_id")).eq(project_id))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(())
}
