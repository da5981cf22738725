//! The supported Kratos config keys: each is one column of
//! `project_revisions`, at one path of the Kratos config document.
//! Hooks, identity schemas and OIDC providers are child tables (see
//! `normalize.rs`); Keto's keys are handled there too.

/// How a key's value is checked and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// An absolute http(s) URL.
    Url,
    /// A Go duration such as `1h`, `15m` or `1h30m`.
    Duration,
    Bool,
    /// A non-negative integer.
    Int,
    /// A list of strings, stored as JSON text.
    StrList,
    /// A JSON object, stored as JSON text.
    Object,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub column: &'static str,
    pub path: &'static str,
    pub kind: Kind,
}

const SAME_SITE: Kind = Kind::OneOf(&["Strict", "Lax", "None"]);
const AAL: Kind = Kind::OneOf(&["aal1", "highest_available"]);
const THEME: Kind = Kind::OneOf(&["light", "dark", "auto"]);

macro_rules! keys {
    ($($column:literal => $path:literal : $kind:expr),* $(,)?) => {
        &[$(Key { column: $column, path: $path, kind: $kind }),*]
    };
}

pub const IDENTITY_KEYS: &[Key] = keys![
    "kratos_cookies_same_site" => "cookies.same_site": SAME_SITE,
    "kratos_courier_smtp_connection_uri" => "courier.smtp.connection_uri": Kind::Str,
    "kratos_courier_smtp_from_address" => "courier.smtp.from_address": Kind::Str,
    "kratos_courier_smtp_from_name" => "courier.smtp.from_name": Kind::Str,
    "kratos_courier_smtp_headers" => "courier.smtp.headers": Kind::Object,
    "kratos_courier_templates_recovery_invalid_email_body_html" => "courier.templates.recovery.invalid.email.body.html": Kind::Str,
    "kratos_courier_templates_recovery_invalid_email_body_plaintext" => "courier.templates.recovery.invalid.email.body.plaintext": Kind::Str,
    "kratos_courier_templates_recovery_invalid_email_subject" => "courier.templates.recovery.invalid.email.subject": Kind::Str,
    "kratos_courier_templates_recovery_valid_email_body_html" => "courier.templates.recovery.valid.email.body.html": Kind::Str,
    "kratos_courier_templates_recovery_valid_email_body_plaintext" => "courier.templates.recovery.valid.email.body.plaintext": Kind::Str,
    "kratos_courier_templates_recovery_valid_email_subject" => "courier.templates.recovery.valid.email.subject": Kind::Str,
    "kratos_courier_templates_verification_invalid_email_body_html" => "courier.templates.verification.invalid.email.body.html": Kind::Str,
    "kratos_courier_templates_verification_invalid_email_body_plaintext" => "courier.templates.verification.invalid.email.body.plaintext": Kind::Str,
    "kratos_courier_templates_verification_invalid_email_subject" => "courier.templates.verification.invalid.email.subject": Kind::Str,
    "kratos_courier_templates_verification_valid_email_body_html" => "courier.templates.verification.valid.email.body.html": Kind::Str,
    "kratos_courier_templates_verification_valid_email_body_plaintext" => "courier.templates.verification.valid.email.body.plaintext": Kind::Str,
    "kratos_courier_templates_verification_valid_email_subject" => "courier.templates.verification.valid.email.subject": Kind::Str,
    "kratos_secrets_cipher" => "secrets.cipher": Kind::StrList,
    "kratos_secrets_cookie" => "secrets.cookie": Kind::StrList,
    "kratos_secrets_default" => "secrets.default": Kind::StrList,
    "kratos_selfservice_allowed_return_urls" => "selfservice.allowed_return_urls": Kind::StrList,
    "kratos_selfservice_default_browser_return_url" => "selfservice.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_error_ui_url" => "selfservice.flows.error.ui_url": Kind::Url,
    "kratos_selfservice_flows_login_after_default_browser_return_url" => "selfservice.flows.login.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_login_after_oidc_default_browser_return_url" => "selfservice.flows.login.after.oidc.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_login_after_password_default_browser_return_url" => "selfservice.flows.login.after.password.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_login_after_webauthn_default_browser_return_url" => "selfservice.flows.login.after.webauthn.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_login_lifespan" => "selfservice.flows.login.lifespan": Kind::Duration,
    // Keyplane's, not Kratos': failed-login throttling (docs/identity.md).
    "kratos_selfservice_flows_login_throttle_enabled" => "selfservice.flows.login.throttle.enabled": Kind::Bool,
    "kratos_selfservice_flows_login_ui_url" => "selfservice.flows.login.ui_url": Kind::Url,
    "kratos_selfservice_flows_logout_after_default_browser_return_url" => "selfservice.flows.logout.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_recovery_after_default_browser_return_url" => "selfservice.flows.recovery.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_recovery_enabled" => "selfservice.flows.recovery.enabled": Kind::Bool,
    "kratos_selfservice_flows_recovery_lifespan" => "selfservice.flows.recovery.lifespan": Kind::Duration,
    "kratos_selfservice_flows_recovery_ui_url" => "selfservice.flows.recovery.ui_url": Kind::Url,
    "kratos_selfservice_flows_registration_after_default_browser_return_url" => "selfservice.flows.registration.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_registration_after_oidc_default_browser_return_url" => "selfservice.flows.registration.after.oidc.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_registration_after_password_default_browser_return_url" => "selfservice.flows.registration.after.password.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_registration_after_webauthn_default_browser_return_url" => "selfservice.flows.registration.after.webauthn.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_registration_enabled" => "selfservice.flows.registration.enabled": Kind::Bool,
    "kratos_selfservice_flows_registration_lifespan" => "selfservice.flows.registration.lifespan": Kind::Duration,
    "kratos_selfservice_flows_registration_ui_url" => "selfservice.flows.registration.ui_url": Kind::Url,
    "kratos_selfservice_flows_settings_after_default_browser_return_url" => "selfservice.flows.settings.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_settings_after_password_default_browser_return_url" => "selfservice.flows.settings.after.password.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_settings_after_profile_default_browser_return_url" => "selfservice.flows.settings.after.profile.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_settings_lifespan" => "selfservice.flows.settings.lifespan": Kind::Duration,
    "kratos_selfservice_flows_settings_privileged_session_max_age" => "selfservice.flows.settings.privileged_session_max_age": Kind::Duration,
    "kratos_selfservice_flows_settings_required_aal" => "selfservice.flows.settings.required_aal": AAL,
    "kratos_selfservice_flows_settings_ui_url" => "selfservice.flows.settings.ui_url": Kind::Url,
    "kratos_selfservice_flows_verification_after_default_browser_return_url" => "selfservice.flows.verification.after.default_browser_return_url": Kind::Url,
    "kratos_selfservice_flows_verification_enabled" => "selfservice.flows.verification.enabled": Kind::Bool,
    "kratos_selfservice_flows_verification_lifespan" => "selfservice.flows.verification.lifespan": Kind::Duration,
    "kratos_selfservice_flows_verification_ui_url" => "selfservice.flows.verification.ui_url": Kind::Url,
    "kratos_selfservice_methods_link_config_base_url" => "selfservice.methods.link.config.base_url": Kind::Url,
    "kratos_selfservice_methods_link_config_lifespan" => "selfservice.methods.link.config.lifespan": Kind::Duration,
    "kratos_selfservice_methods_link_enabled" => "selfservice.methods.link.enabled": Kind::Bool,
    "kratos_selfservice_methods_lookup_secret_enabled" => "selfservice.methods.lookup_secret.enabled": Kind::Bool,
    "kratos_selfservice_methods_oidc_config_base_redirect_uri" => "selfservice.methods.oidc.config.base_redirect_uri": Kind::Url,
    "kratos_selfservice_methods_oidc_enabled" => "selfservice.methods.oidc.enabled": Kind::Bool,
    "kratos_selfservice_methods_password_config_haveibeenpwned_enabled" => "selfservice.methods.password.config.haveibeenpwned_enabled": Kind::Bool,
    "kratos_selfservice_methods_password_config_identifier_similarity_check_enabled" => "selfservice.methods.password.config.identifier_similarity_check_enabled": Kind::Bool,
    "kratos_selfservice_methods_password_config_ignore_network_errors" => "selfservice.methods.password.config.ignore_network_errors": Kind::Bool,
    "kratos_selfservice_methods_password_config_max_breaches" => "selfservice.methods.password.config.max_breaches": Kind::Int,
    "kratos_selfservice_methods_password_config_min_password_length" => "selfservice.methods.password.config.min_password_length": Kind::Int,
    "kratos_selfservice_methods_password_enabled" => "selfservice.methods.password.enabled": Kind::Bool,
    "kratos_selfservice_methods_profile_enabled" => "selfservice.methods.profile.enabled": Kind::Bool,
    "kratos_selfservice_methods_totp_config_issuer" => "selfservice.methods.totp.config.issuer": Kind::Str,
    "kratos_selfservice_methods_totp_enabled" => "selfservice.methods.totp.enabled": Kind::Bool,
    "kratos_selfservice_methods_webauthn_config_passwordless" => "selfservice.methods.webauthn.config.passwordless": Kind::Bool,
    "kratos_selfservice_methods_webauthn_config_rp_display_name" => "selfservice.methods.webauthn.config.rp.display_name": Kind::Str,
    "kratos_selfservice_methods_webauthn_config_rp_icon" => "selfservice.methods.webauthn.config.rp.icon": Kind::Url,
    "kratos_selfservice_methods_webauthn_config_rp_id" => "selfservice.methods.webauthn.config.rp.id": Kind::Str,
    "kratos_selfservice_methods_webauthn_config_rp_origin" => "selfservice.methods.webauthn.config.rp.origin": Kind::Url,
    "kratos_selfservice_methods_webauthn_enabled" => "selfservice.methods.webauthn.enabled": Kind::Bool,
    "kratos_session_cookie_persistent" => "session.cookie.persistent": Kind::Bool,
    "kratos_session_cookie_same_site" => "session.cookie.same_site": SAME_SITE,
    "kratos_session_lifespan" => "session.lifespan": Kind::Duration,
    "kratos_session_whoami_required_aal" => "session.whoami.required_aal": AAL,
    // The hosted UI's branding (not Kratos'): a bad value is dropped with a
    // warning instead of refusing the change (`branding.rs`).
    "ui_default_locale" => "ui.default_locale": Kind::Str,
    "ui_favicon_url" => "ui.favicon_url": Kind::Str,
    "ui_logo_url" => "ui.logo_url": Kind::Str,
    "ui_primary_color" => "ui.primary_color": Kind::Str,
    "ui_product_name" => "ui.product_name": Kind::Str,
    "ui_theme" => "ui.theme": THEME,
];

/// Keys a hosted project cannot set: the platform owns them. Each one found
/// in an update is dropped with a warning naming it. A key matches when it
/// equals an entry or lies below it.
pub const HOSTED_ONLY: &[&str] = &[
    "serve",
    "dsn",
    "log",
    "tracing",
    "dev",
    "sqa",
    "sqa-opt-out",
    "watch-courier",
    "expose-metrics-port",
    "hashers",
    "ciphers",
    "database",
    "clients",
    "feature_flags",
    "oauth2_provider",
    "cookies.domain",
    "cookies.path",
    "cookies.name",
    "session.cookie.domain",
    "session.cookie.path",
    "session.cookie.name",
    "courier.template_override_path",
    "courier.smtp.local_name",
];

/// The same for the permission (Keto) config.
pub const PERMISSION_HOSTED_ONLY: &[&str] = &[
    "serve",
    "dsn",
    "log",
    "tracing",
    "dev",
    "sqa",
    "sqa-opt-out",
    "profiling",
    "clients",
];

pub fn key_by_path(path: &str) -> Option<&'static Key> {
    IDENTITY_KEYS.iter().find(|k| k.path == path)
}

pub fn key_by_column(column: &str) -> Option<&'static Key> {
    IDENTITY_KEYS.iter().find(|k| k.column == column)
}

pub fn is_hosted_only(path: &str, list: &[&str]) -> bool {
    list.iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn columns_and_paths_are_unique() {
        let columns: HashSet<_> = IDENTITY_KEYS.iter().map(|k| k.column).collect();
        let paths: HashSet<_> = IDENTITY_KEYS.iter().map(|k| k.path).collect();
        assert_eq!(columns.len(), IDENTITY_KEYS.len());
        assert_eq!(paths.len(), IDENTITY_KEYS.len());
    }

    #[test]
    fn no_supported_key_is_hosted_only() {
        for key in IDENTITY_KEYS {
            assert!(!is_hosted_only(key.path, HOSTED_ONLY), "{}", key.path);
        }
    }

    #[test]
    fn hosted_only_matches_whole_segments() {
        assert!(is_hosted_only("serve.public.port", HOSTED_ONLY));
        assert!(is_hosted_only("cookies.domain", HOSTED_ONLY));
        assert!(!is_hosted_only("cookies.same_site", HOSTED_ONLY));
        assert!(!is_hosted_only("server", HOSTED_ONLY));
    }
}
