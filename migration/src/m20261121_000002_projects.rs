//! Projects and their immutable config revisions. Every supported Kratos
//! key is a nullable column of `project_revisions` (NULL = not set); hooks,
//! identity schemas, OIDC providers and Keto namespaces are child tables.
//! A project points at its current revision.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

type Column = fn(Alias) -> ColumnDef;

/// The scalar revision columns, frozen as of this migration.
const REVISION_COLUMNS: &[(&str, Column)] = &[
    ("kratos_cookies_same_site", string_null),
    ("kratos_courier_smtp_connection_uri", text_null),
    ("kratos_courier_smtp_from_address", text_null),
    ("kratos_courier_smtp_from_name", text_null),
    ("kratos_courier_smtp_headers", text_null),
    (
        "kratos_courier_templates_recovery_invalid_email_body_html",
        text_null,
    ),
    (
        "kratos_courier_templates_recovery_invalid_email_body_plaintext",
        text_null,
    ),
    (
        "kratos_courier_templates_recovery_invalid_email_subject",
        text_null,
    ),
    (
        "kratos_courier_templates_recovery_valid_email_body_html",
        text_null,
    ),
    (
        "kratos_courier_templates_recovery_valid_email_body_plaintext",
        text_null,
    ),
    (
        "kratos_courier_templates_recovery_valid_email_subject",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_invalid_email_body_html",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_invalid_email_body_plaintext",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_invalid_email_subject",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_valid_email_body_html",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_valid_email_body_plaintext",
        text_null,
    ),
    (
        "kratos_courier_templates_verification_valid_email_subject",
        text_null,
    ),
    ("kratos_secrets_cipher", text_null),
    ("kratos_secrets_cookie", text_null),
    ("kratos_secrets_default", text_null),
    ("kratos_selfservice_allowed_return_urls", text_null),
    ("kratos_selfservice_default_browser_return_url", text_null),
    ("kratos_selfservice_flows_error_ui_url", text_null),
    (
        "kratos_selfservice_flows_login_after_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_login_after_oidc_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_login_after_password_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_login_after_webauthn_default_browser_return_url",
        text_null,
    ),
    ("kratos_selfservice_flows_login_lifespan", string_null),
    ("kratos_selfservice_flows_login_ui_url", text_null),
    (
        "kratos_selfservice_flows_logout_after_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_recovery_after_default_browser_return_url",
        text_null,
    ),
    ("kratos_selfservice_flows_recovery_enabled", boolean_null),
    ("kratos_selfservice_flows_recovery_lifespan", string_null),
    ("kratos_selfservice_flows_recovery_ui_url", text_null),
    (
        "kratos_selfservice_flows_registration_after_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_registration_after_oidc_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_registration_after_password_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_registration_after_webauthn_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_registration_enabled",
        boolean_null,
    ),
    (
        "kratos_selfservice_flows_registration_lifespan",
        string_null,
    ),
    ("kratos_selfservice_flows_registration_ui_url", text_null),
    (
        "kratos_selfservice_flows_settings_after_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_settings_after_password_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_settings_after_profile_default_browser_return_url",
        text_null,
    ),
    ("kratos_selfservice_flows_settings_lifespan", string_null),
    (
        "kratos_selfservice_flows_settings_privileged_session_max_age",
        string_null,
    ),
    (
        "kratos_selfservice_flows_settings_required_aal",
        string_null,
    ),
    ("kratos_selfservice_flows_settings_ui_url", text_null),
    (
        "kratos_selfservice_flows_verification_after_default_browser_return_url",
        text_null,
    ),
    (
        "kratos_selfservice_flows_verification_enabled",
        boolean_null,
    ),
    (
        "kratos_selfservice_flows_verification_lifespan",
        string_null,
    ),
    ("kratos_selfservice_flows_verification_ui_url", text_null),
    ("kratos_selfservice_methods_link_config_base_url", text_null),
    (
        "kratos_selfservice_methods_link_config_lifespan",
        string_null,
    ),
    ("kratos_selfservice_methods_link_enabled", boolean_null),
    (
        "kratos_selfservice_methods_lookup_secret_enabled",
        boolean_null,
    ),
    (
        "kratos_selfservice_methods_oidc_config_base_redirect_uri",
        text_null,
    ),
    ("kratos_selfservice_methods_oidc_enabled", boolean_null),
    (
        "kratos_selfservice_methods_password_config_haveibeenpwned_enabled",
        boolean_null,
    ),
    (
        "kratos_selfservice_methods_password_config_identifier_similarity_check_enabled",
        boolean_null,
    ),
    (
        "kratos_selfservice_methods_password_config_ignore_network_errors",
        boolean_null,
    ),
    (
        "kratos_selfservice_methods_password_config_max_breaches",
        big_integer_null,
    ),
    (
        "kratos_selfservice_methods_password_config_min_password_length",
        big_integer_null,
    ),
    ("kratos_selfservice_methods_password_enabled", boolean_null),
    ("kratos_selfservice_methods_profile_enabled", boolean_null),
    ("kratos_selfservice_methods_totp_config_issuer", text_null),
    ("kratos_selfservice_methods_totp_enabled", boolean_null),
    (
        "kratos_selfservice_methods_webauthn_config_passwordless",
        boolean_null,
    ),
    (
        "kratos_selfservice_methods_webauthn_config_rp_display_name",
        text_null,
    ),
    (
        "kratos_selfservice_methods_webauthn_config_rp_icon",
        text_null,
    ),
    (
        "kratos_selfservice_methods_webauthn_config_rp_id",
        text_null,
    ),
    (
        "kratos_selfservice_methods_webauthn_config_rp_origin",
        text_null,
    ),
    ("kratos_selfservice_methods_webauthn_enabled", boolean_null),
    ("kratos_session_cookie_persistent", boolean_null),
    ("kratos_session_cookie_same_site", string_null),
    ("kratos_session_lifespan", string_null),
    ("kratos_session_whoami_required_aal", string_null),
];

fn child_table(name: &str, columns: Vec<ColumnDef>) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table(Alias::new(name))
        .col(uuid(Alias::new("id")).primary_key())
        .col(uuid(Alias::new("project_revision_id")))
        .col(integer(Alias::new("position")));
    for column in columns {
        table.col(column);
    }
    table
        .col(timestamp_with_time_zone(Alias::new("created_at")))
        .col(timestamp_with_time_zone(Alias::new("updated_at")))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_revision"))
                .from(Alias::new(name), Alias::new("project_revision_id"))
                .to(Alias::new("project_revisions"), Alias::new("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

const CHILD_TABLES: &[&str] = &[
    "project_revision_hooks",
    "project_revision_identity_schemas",
    "project_revision_third_party_providers",
    "project_revision_keto_namespaces",
];

fn a(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a("projects"))
                    .col(uuid(a("id")).primary_key())
                    .col(string_uniq(a("slug")))
                    .col(string(a("name")))
                    .col(string(a("state")))
                    .col(uuid(a("owner_account_id")))
                    .col(uuid_null(a("current_revision_id")))
                    .col(uuid_null(a("subscription_id")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_projects_owner")
                            .from(a("projects"), a("owner_account_id"))
                            .to(a("accounts"), a("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_owner")
                    .table(a("projects"))
                    .col(a("owner_account_id"))
                    .to_owned(),
            )
            .await?;

        let mut revisions = Table::create();
        revisions
            .table(a("project_revisions"))
            .col(uuid(a("id")).primary_key())
            .col(uuid(a("project_id")))
            .col(string(a("name")))
            .col(big_integer_null(a("keto_read_max_depth")));
        for (name, column) in REVISION_COLUMNS {
            revisions.col(column(a(name)));
        }
        revisions
            .col(timestamp_with_time_zone(a("created_at")))
            .col(timestamp_with_time_zone(a("updated_at")))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_project_revisions_project")
                    .from(a("project_revisions"), a("project_id"))
                    .to(a("projects"), a("id"))
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(revisions.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_project_revisions_project")
                    .table(a("project_revisions"))
                    .col(a("project_id"))
                    .col(a("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(child_table(
                "project_revision_hooks",
                vec![
                    string(a("config_key")),
                    string(a("hook")),
                    text_null(a("web_hook_config_url")),
                    string_null(a("web_hook_config_method")),
                    text_null(a("web_hook_config_body")),
                    boolean_null(a("web_hook_config_response_ignore")),
                    string_null(a("web_hook_config_auth_type")),
                    string_null(a("web_hook_config_auth_api_key_name")),
                    text_null(a("web_hook_config_auth_api_key_value")),
                    string_null(a("web_hook_config_auth_api_key_in")),
                    string_null(a("web_hook_config_auth_basic_auth_user")),
                    text_null(a("web_hook_config_auth_basic_auth_password")),
                ],
            ))
            .await?;
        manager
            .create_table(child_table(
                "project_revision_identity_schemas",
                vec![
                    string(a("import_id")),
                    text_null(a("import_url")),
                    string_null(a("preset")),
                    boolean(a("is_default")),
                ],
            ))
            .await?;
        manager
            .create_table(child_table(
                "project_revision_third_party_providers",
                vec![
                    string(a("provider_id")),
                    string(a("provider")),
                    text_null(a("client_id")),
                    text_null(a("client_secret")),
                    text_null(a("issuer_url")),
                    text_null(a("auth_url")),
                    text_null(a("token_url")),
                    text_null(a("mapper_url")),
                    text_null(a("scope")),
                    text_null(a("requested_claims")),
                    text_null(a("label")),
                    string_null(a("azure_tenant")),
                    string_null(a("apple_team_id")),
                    string_null(a("apple_private_key_id")),
                    text_null(a("apple_private_key")),
                ],
            ))
            .await?;
        manager
            .create_table(child_table(
                "project_revision_keto_namespaces",
                vec![big_integer(a("namespace_id")), string(a("name"))],
            ))
            .await?;
        for table in CHILD_TABLES {
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{table}_revision"))
                        .table(a(table))
                        .col(a("project_revision_id"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in CHILD_TABLES
            .iter()
            .chain(&["project_revisions", "projects"])
        {
            manager
                .drop_table(Table::drop().table(a(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
