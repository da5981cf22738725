//! The supported Kratos config keys: each is one column of
//! `project_revisions`, at one path of the Kratos config document.
//! Hooks, identity schemas and OIDC providers are child tables (see
//! `normalize.rs`); Keto's keys are handled there too.

use sea_orm::IdenStatic;
use store::entity::project_revisions::Column;

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
    pub column: Column,
    pub path: &'static str,
    pub kind: Kind,
}

impl Key {
    /// The column's name: what `RevisionContent::scalars` is keyed by.
    pub fn column_name(&self) -> &'static str {
        self.column.as_str()
    }
}

const SAME_SITE: Kind = Kind::OneOf(&["Strict", "Lax", "None"]);
const AAL: Kind = Kind::OneOf(&["aal1", "highest_available"]);
const THEME: Kind = Kind::OneOf(&["light", "dark", "auto"]);

macro_rules! keys {
    ($($column:ident => $path:literal : $kind:expr),* $(,)?) => {
        &[$(Key { column: Column::$column, path: $path, kind: $kind }),*]
    };
}

pub const IDENTITY_KEYS: &[Key] = keys![
    KratosCookiesSameSite => "cookies.same_site": SAME_SITE,
    KratosCourierSmtpConnectionUri => "courier.smtp.connection_uri": Kind::Str,
    KratosCourierSmtpFromAddress => "courier.smtp.from_address": Kind::Str,
    KratosCourierSmtpFromName => "courier.smtp.from_name": Kind::Str,
    KratosCourierSmtpHeaders => "courier.smtp.headers": Kind::Object,
    KratosCourierTemplatesRecoveryInvalidEmailBodyHtml => "courier.templates.recovery.invalid.email.body.html": Kind::Str,
    KratosCourierTemplatesRecoveryInvalidEmailBodyPlaintext => "courier.templates.recovery.invalid.email.body.plaintext": Kind::Str,
    KratosCourierTemplatesRecoveryInvalidEmailSubject => "courier.templates.recovery.invalid.email.subject": Kind::Str,
    KratosCourierTemplatesRecoveryValidEmailBodyHtml => "courier.templates.recovery.valid.email.body.html": Kind::Str,
    KratosCourierTemplatesRecoveryValidEmailBodyPlaintext => "courier.templates.recovery.valid.email.body.plaintext": Kind::Str,
    KratosCourierTemplatesRecoveryValidEmailSubject => "courier.templates.recovery.valid.email.subject": Kind::Str,
    KratosCourierTemplatesVerificationInvalidEmailBodyHtml => "courier.templates.verification.invalid.email.body.html": Kind::Str,
    KratosCourierTemplatesVerificationInvalidEmailBodyPlaintext => "courier.templates.verification.invalid.email.body.plaintext": Kind::Str,
    KratosCourierTemplatesVerificationInvalidEmailSubject => "courier.templates.verification.invalid.email.subject": Kind::Str,
    KratosCourierTemplatesVerificationValidEmailBodyHtml => "courier.templates.verification.valid.email.body.html": Kind::Str,
    KratosCourierTemplatesVerificationValidEmailBodyPlaintext => "courier.templates.verification.valid.email.body.plaintext": Kind::Str,
    KratosCourierTemplatesVerificationValidEmailSubject => "courier.templates.verification.valid.email.subject": Kind::Str,
    KratosSecretsCipher => "secrets.cipher": Kind::StrList,
    KratosSecretsCookie => "secrets.cookie": Kind::StrList,
    KratosSecretsDefault => "secrets.default": Kind::StrList,
    KratosSelfserviceAllowedReturnUrls => "selfservice.allowed_return_urls": Kind::StrList,
    KratosSelfserviceDefaultBrowserReturnUrl => "selfservice.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsErrorUiUrl => "selfservice.flows.error.ui_url": Kind::Url,
    KratosSelfserviceFlowsLoginAfterDefaultBrowserReturnUrl => "selfservice.flows.login.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsLoginAfterOidcDefaultBrowserReturnUrl => "selfservice.flows.login.after.oidc.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsLoginAfterPasswordDefaultBrowserReturnUrl => "selfservice.flows.login.after.password.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsLoginAfterWebauthnDefaultBrowserReturnUrl => "selfservice.flows.login.after.webauthn.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsLoginLifespan => "selfservice.flows.login.lifespan": Kind::Duration,
    // Keyplane's, not Kratos': failed-login throttling (docs/identity.md).
    KratosSelfserviceFlowsLoginThrottleEnabled => "selfservice.flows.login.throttle.enabled": Kind::Bool,
    KratosSelfserviceFlowsLoginUiUrl => "selfservice.flows.login.ui_url": Kind::Url,
    KratosSelfserviceFlowsLogoutAfterDefaultBrowserReturnUrl => "selfservice.flows.logout.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRecoveryAfterDefaultBrowserReturnUrl => "selfservice.flows.recovery.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRecoveryEnabled => "selfservice.flows.recovery.enabled": Kind::Bool,
    KratosSelfserviceFlowsRecoveryLifespan => "selfservice.flows.recovery.lifespan": Kind::Duration,
    KratosSelfserviceFlowsRecoveryUiUrl => "selfservice.flows.recovery.ui_url": Kind::Url,
    KratosSelfserviceFlowsRegistrationAfterDefaultBrowserReturnUrl => "selfservice.flows.registration.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRegistrationAfterOidcDefaultBrowserReturnUrl => "selfservice.flows.registration.after.oidc.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRegistrationAfterPasswordDefaultBrowserReturnUrl => "selfservice.flows.registration.after.password.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRegistrationAfterWebauthnDefaultBrowserReturnUrl => "selfservice.flows.registration.after.webauthn.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsRegistrationEnabled => "selfservice.flows.registration.enabled": Kind::Bool,
    KratosSelfserviceFlowsRegistrationLifespan => "selfservice.flows.registration.lifespan": Kind::Duration,
    KratosSelfserviceFlowsRegistrationUiUrl => "selfservice.flows.registration.ui_url": Kind::Url,
    KratosSelfserviceFlowsSettingsAfterDefaultBrowserReturnUrl => "selfservice.flows.settings.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsSettingsAfterPasswordDefaultBrowserReturnUrl => "selfservice.flows.settings.after.password.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsSettingsAfterProfileDefaultBrowserReturnUrl => "selfservice.flows.settings.after.profile.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsSettingsLifespan => "selfservice.flows.settings.lifespan": Kind::Duration,
    KratosSelfserviceFlowsSettingsPrivilegedSessionMaxAge => "selfservice.flows.settings.privileged_session_max_age": Kind::Duration,
    KratosSelfserviceFlowsSettingsRequiredAal => "selfservice.flows.settings.required_aal": AAL,
    KratosSelfserviceFlowsSettingsUiUrl => "selfservice.flows.settings.ui_url": Kind::Url,
    KratosSelfserviceFlowsVerificationAfterDefaultBrowserReturnUrl => "selfservice.flows.verification.after.default_browser_return_url": Kind::Url,
    KratosSelfserviceFlowsVerificationEnabled => "selfservice.flows.verification.enabled": Kind::Bool,
    KratosSelfserviceFlowsVerificationLifespan => "selfservice.flows.verification.lifespan": Kind::Duration,
    KratosSelfserviceFlowsVerificationUiUrl => "selfservice.flows.verification.ui_url": Kind::Url,
    KratosSelfserviceMethodsLinkConfigBaseUrl => "selfservice.methods.link.config.base_url": Kind::Url,
    KratosSelfserviceMethodsLinkConfigLifespan => "selfservice.methods.link.config.lifespan": Kind::Duration,
    KratosSelfserviceMethodsLinkEnabled => "selfservice.methods.link.enabled": Kind::Bool,
    KratosSelfserviceMethodsLookupSecretEnabled => "selfservice.methods.lookup_secret.enabled": Kind::Bool,
    KratosSelfserviceMethodsOidcConfigBaseRedirectUri => "selfservice.methods.oidc.config.base_redirect_uri": Kind::Url,
    KratosSelfserviceMethodsOidcEnabled => "selfservice.methods.oidc.enabled": Kind::Bool,
    KratosSelfserviceMethodsPasswordConfigHaveibeenpwnedEnabled => "selfservice.methods.password.config.haveibeenpwned_enabled": Kind::Bool,
    KratosSelfserviceMethodsPasswordConfigIdentifierSimilarityCheckEnabled => "selfservice.methods.password.config.identifier_similarity_check_enabled": Kind::Bool,
    KratosSelfserviceMethodsPasswordConfigIgnoreNetworkErrors => "selfservice.methods.password.config.ignore_network_errors": Kind::Bool,
    KratosSelfserviceMethodsPasswordConfigMaxBreaches => "selfservice.methods.password.config.max_breaches": Kind::Int,
    KratosSelfserviceMethodsPasswordConfigMinPasswordLength => "selfservice.methods.password.config.min_password_length": Kind::Int,
    KratosSelfserviceMethodsPasswordEnabled => "selfservice.methods.password.enabled": Kind::Bool,
    KratosSelfserviceMethodsProfileEnabled => "selfservice.methods.profile.enabled": Kind::Bool,
    KratosSelfserviceMethodsTotpConfigIssuer => "selfservice.methods.totp.config.issuer": Kind::Str,
    KratosSelfserviceMethodsTotpEnabled => "selfservice.methods.totp.enabled": Kind::Bool,
    KratosSelfserviceMethodsWebauthnConfigPasswordless => "selfservice.methods.webauthn.config.passwordless": Kind::Bool,
    KratosSelfserviceMethodsWebauthnConfigRpDisplayName => "selfservice.methods.webauthn.config.rp.display_name": Kind::Str,
    KratosSelfserviceMethodsWebauthnConfigRpIcon => "selfservice.methods.webauthn.config.rp.icon": Kind::Url,
    KratosSelfserviceMethodsWebauthnConfigRpId => "selfservice.methods.webauthn.config.rp.id": Kind::Str,
    KratosSelfserviceMethodsWebauthnConfigRpOrigin => "selfservice.methods.webauthn.config.rp.origin": Kind::Url,
    KratosSelfserviceMethodsWebauthnEnabled => "selfservice.methods.webauthn.enabled": Kind::Bool,
    KratosSessionCookiePersistent => "session.cookie.persistent": Kind::Bool,
    KratosSessionCookieSameSite => "session.cookie.same_site": SAME_SITE,
    KratosSessionLifespan => "session.lifespan": Kind::Duration,
    KratosSessionWhoamiRequiredAal => "session.whoami.required_aal": AAL,
    // The hosted UI's branding (not Kratos'): a bad value is dropped with a
    // warning instead of refusing the change (`branding.rs`).
    UiDefaultLocale => "ui.default_locale": Kind::Str,
    UiFaviconUrl => "ui.favicon_url": Kind::Str,
    UiLogoUrl => "ui.logo_url": Kind::Str,
    UiPrimaryColor => "ui.primary_color": Kind::Str,
    UiProductName => "ui.product_name": Kind::Str,
    UiTheme => "ui.theme": THEME,
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

/// The key stored in the column named `column` (the names that key
/// `RevisionContent::scalars`).
pub fn key_by_column(column: &str) -> Option<&'static Key> {
    IDENTITY_KEYS.iter().find(|k| k.column_name() == column)
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
        let columns: HashSet<_> = IDENTITY_KEYS.iter().map(Key::column_name).collect();
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
