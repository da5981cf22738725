//! The tenant's identity config, typed: read once from the Kratos-shaped
//! document when the tenant context is built (per revision), with one
//! default per key, durations parsed and the cipher box keyed. Everything
//! the identity engine reads of its config comes from here; this is the
//! only place that knows the document's paths.

use crate::duration::parse_go_duration;
use crate::sealed::SecretBox;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const FLOW_LIFESPAN: Duration = Duration::from_secs(3600);
const SESSION_LIFESPAN: Duration = Duration::from_secs(24 * 3600);
const LINK_LIFESPAN: Duration = Duration::from_secs(3600);
const PRIVILEGED_SESSION_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// An authenticator assurance level a session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Aal {
    Aal1,
    Aal2,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "aal1" => Some(Aal::Aal1),
            "aal2" => Some(Aal::Aal2),
            _ => None,
        }
    }
}

/// What a check of the session's AAL asks for (`required_aal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredAal {
    /// Any valid session.
    Aal1,
    /// The highest level the identity can reach: aal2 once it has a second
    /// factor.
    HighestAvailable,
}

impl RequiredAal {
    fn parse(text: Option<&str>, default: Self) -> Self {
        match text {
            Some("aal1") => RequiredAal::Aal1,
            Some("highest_available") => RequiredAal::HighestAvailable,
            _ => default,
        }
    }
}

/// Hooks and the return URL after a flow completed, overall and per method.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AfterConfig {
    pub default_browser_return_url: Option<String>,
    pub hooks: Vec<Value>,
    pub by_method: BTreeMap<String, MethodAfter>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodAfter {
    pub default_browser_return_url: Option<String>,
    pub hooks: Vec<Value>,
}

impl AfterConfig {
    /// The hooks after `method`: the method's own list if it has one, else
    /// the flow's.
    pub fn hooks_for(&self, method: &str) -> &[Value] {
        match self.by_method.get(method) {
            Some(specific) if !specific.hooks.is_empty() => &specific.hooks,
            _ => &self.hooks,
        }
    }

    /// The return URL after `method`, then the flow's.
    pub fn return_url_for(&self, method: Option<&str>) -> Option<&str> {
        method
            .and_then(|m| self.by_method.get(m))
            .and_then(|m| m.default_browser_return_url.as_deref())
            .or(self.default_browser_return_url.as_deref())
    }
}

/// `selfservice.flows.<flow>`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    pub enabled: bool,
    pub lifespan: Duration,
    pub ui_url: Option<String>,
    pub before_hooks: Vec<Value>,
    pub after: AfterConfig,
}

/// `selfservice.methods.password.config`: unset keys keep the policy's
/// own defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PasswordPolicyConfig {
    pub min_password_length: Option<u64>,
    pub identifier_similarity_check_enabled: Option<bool>,
    pub haveibeenpwned_enabled: Option<bool>,
    pub max_breaches: Option<u64>,
    pub ignore_network_errors: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TotpConfig {
    pub enabled: bool,
    /// The issuer authenticator apps show; the project's name when unset.
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebAuthnConfig {
    pub enabled: bool,
    pub passwordless: bool,
    /// The relying party id; the tenant's public host when unset.
    pub rp_id: Option<String>,
    pub rp_display_name: Option<String>,
    /// The origin ceremonies must come from; the tenant's public URL when
    /// unset.
    pub rp_origin: Option<String>,
}

/// One social sign-in provider (`selfservice.methods.oidc.config.providers[]`).
#[derive(Clone, PartialEq)]
pub struct OidcProviderConfig {
    /// The id in URLs and identifiers (`<id>:<subject>`).
    pub id: String,
    /// `generic`, `google`, `github`, ...
    pub provider: String,
    pub client_id: String,
    pub client_secret: String,
    pub issuer_url: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    /// The Jsonnet claims mapper (`base64://` or `https://`).
    pub mapper_url: Option<String>,
    pub scope: Vec<String>,
    /// What the sign-in button shows; the id when unset.
    pub label: Option<String>,
    /// OpenID Connect's `claims` request parameter (a JSON object).
    pub requested_claims: Option<Value>,
    /// `microsoft`: the tenant (`common`, `organizations`, `consumers` or a
    /// tenant id).
    pub microsoft_tenant: Option<String>,
    /// `apple`: the team that signs the client secret.
    pub apple_team_id: Option<String>,
    /// `apple`: the id (`kid`) of the private key.
    pub apple_private_key_id: Option<String>,
    /// `apple`: the P-256 private key (PEM, PKCS#8) that signs the client
    /// secret.
    pub apple_private_key: Option<String>,
}

impl std::fmt::Debug for OidcProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret and Apple's private key never go to a log.
        f.debug_struct("OidcProviderConfig")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("issuer_url", &self.issuer_url)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .field("microsoft_tenant", &self.microsoft_tenant)
            .field("apple_team_id", &self.apple_team_id)
            .field("apple_private_key_id", &self.apple_private_key_id)
            .finish_non_exhaustive()
    }
}

/// `selfservice.methods`.
#[derive(Debug, Clone, PartialEq)]
pub struct Methods {
    pub password: bool,
    pub password_policy: PasswordPolicyConfig,
    pub profile: bool,
    pub link: bool,
    pub link_lifespan: Duration,
    pub totp: TotpConfig,
    pub lookup_secret: bool,
    pub webauthn: WebAuthnConfig,
    pub oidc: bool,
    pub oidc_providers: Vec<OidcProviderConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    pub lifespan: Duration,
    pub cookie_persistent: bool,
    pub cookie_same_site: Option<String>,
    pub whoami_required_aal: RequiredAal,
}

/// The typed identity config of one revision.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    pub default_browser_return_url: Option<String>,
    pub allowed_return_urls: Vec<String>,
    pub error_ui_url: Option<String>,
    pub login: FlowConfig,
    pub registration: FlowConfig,
    pub settings: FlowConfig,
    pub recovery: FlowConfig,
    pub verification: FlowConfig,
    pub logout_return_url: Option<String>,
    pub privileged_session_max_age: Duration,
    pub settings_required_aal: RequiredAal,
    /// The per-project switch of failed-login throttling.
    pub login_throttle: bool,
    pub methods: Methods,
    pub session: SessionConfig,
    /// `cookies.same_site`: of the anti-CSRF cookie.
    pub cookies_same_site: Option<String>,
    /// `secrets.cookie`: the first signs, all verify.
    pub cookie_secrets: Vec<String>,
    /// `secrets.cipher` as a box: the first key seals, every key opens.
    /// None when the project has no usable cipher secret (each shorter than
    /// 32 characters), and then nothing can be sealed with it.
    pub cipher: Option<Arc<SecretBox>>,
    courier_templates: Value,
}

impl PartialEq for IdentityConfig {
    fn eq(&self, other: &Self) -> bool {
        // Everything is derived from the document; comparing the parts that
        // are plain data is enough (the box is built from cipher secrets).
        self.login == other.login
            && self.registration == other.registration
            && self.settings == other.settings
            && self.recovery == other.recovery
            && self.verification == other.verification
            && self.methods == other.methods
            && self.session == other.session
            && self.cookie_secrets == other.cookie_secrets
            && self.courier_templates == other.courier_templates
            && self.allowed_return_urls == other.allowed_return_urls
            && self.cipher.is_some() == other.cipher.is_some()
    }
}

/// Reads the document by dotted path.
struct Doc<'a>(&'a Value);

impl<'a> Doc<'a> {
    fn at(&self, path: &str) -> Option<&'a Value> {
        path.split('.').try_fold(self.0, |node, key| node.get(key))
    }
    fn flag(&self, path: &str, default: bool) -> bool {
        self.at(path).and_then(Value::as_bool).unwrap_or(default)
    }
    fn text(&self, path: &str) -> Option<String> {
        self.at(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
    fn uint(&self, path: &str) -> Option<u64> {
        self.at(path).and_then(Value::as_u64)
    }
    fn duration(&self, path: &str, default: Duration) -> Duration {
        self.at(path)
            .and_then(Value::as_str)
            .and_then(parse_go_duration)
            .unwrap_or(default)
    }
    fn list(&self, path: &str) -> Vec<Value> {
        self.at(path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
    fn strings(&self, path: &str) -> Vec<String> {
        self.list(path)
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn flow(&self, name: &str) -> FlowConfig {
        let base = format!("selfservice.flows.{name}");
        let after = format!("{base}.after");
        let by_method = self
            .at(&after)
            .and_then(Value::as_object)
            .map(|methods| {
                methods
                    .iter()
                    .filter(|(_, v)| v.is_object())
                    .map(|(method, _)| {
                        let path = format!("{after}.{method}");
                        let method_after = MethodAfter {
                            default_browser_return_url: self
                                .text(&format!("{path}.default_browser_return_url")),
                            hooks: self.list(&format!("{path}.hooks")),
                        };
                        (method.clone(), method_after)
                    })
                    .collect()
            })
            .unwrap_or_default();
        FlowConfig {
            enabled: self.flag(&format!("{base}.enabled"), true),
            lifespan: self.duration(&format!("{base}.lifespan"), FLOW_LIFESPAN),
            ui_url: self.text(&format!("{base}.ui_url")),
            before_hooks: self.list(&format!("{base}.before.hooks")),
            after: AfterConfig {
                default_browser_return_url: self
                    .text(&format!("{after}.default_browser_return_url")),
                hooks: self.list(&format!("{after}.hooks")),
                by_method,
            },
        }
    }
}

/// A provider entry; one without an id or client id is skipped (the
/// revision store refuses those when written).
fn oidc_provider(entry: &Value) -> Option<OidcProviderConfig> {
    let doc = Doc(entry);
    Some(OidcProviderConfig {
        id: doc.text("id")?,
        provider: doc.text("provider").unwrap_or_else(|| "generic".to_owned()),
        client_id: doc.text("client_id")?,
        client_secret: doc.text("client_secret").unwrap_or_default(),
        issuer_url: doc.text("issuer_url"),
        auth_url: doc.text("auth_url"),
        token_url: doc.text("token_url"),
        mapper_url: doc.text("mapper_url"),
        scope: doc.strings("scope"),
        label: doc.text("label"),
        requested_claims: doc
            .at("requested_claims")
            .filter(|v| v.is_object())
            .cloned(),
        microsoft_tenant: doc.text("microsoft_tenant"),
        apple_team_id: doc.text("apple_team_id"),
        apple_private_key_id: doc.text("apple_private_key_id"),
        apple_private_key: doc.text("apple_private_key"),
    })
}

impl IdentityConfig {
    /// Reads the identity document; missing or mistyped keys take their
    /// defaults (the revision store validated the document when written).
    pub fn from_document(document: &Value) -> Self {
        let doc = Doc(document);
        let cipher_secrets: Vec<String> = doc
            .strings("secrets.cipher")
            .into_iter()
            .filter(|s| s.chars().count() >= crate::sealed::MIN_KEY_LEN)
            .collect();
        let cipher = if cipher_secrets.is_empty() {
            None
        } else {
            SecretBox::new(&cipher_secrets).ok().map(Arc::new)
        };
        Self {
            default_browser_return_url: doc.text("selfservice.default_browser_return_url"),
            allowed_return_urls: doc.strings("selfservice.allowed_return_urls"),
            error_ui_url: doc.text("selfservice.flows.error.ui_url"),
            login: doc.flow("login"),
            registration: doc.flow("registration"),
            settings: doc.flow("settings"),
            recovery: doc.flow("recovery"),
            verification: doc.flow("verification"),
            logout_return_url: doc.text("selfservice.flows.logout.after.default_browser_return_url"),
            privileged_session_max_age: doc.duration(
                "selfservice.flows.settings.privileged_session_max_age",
                PRIVILEGED_SESSION_MAX_AGE,
            ),
            settings_required_aal: RequiredAal::parse(
                doc.text("selfservice.flows.settings.required_aal").as_deref(),
                RequiredAal::HighestAvailable,
            ),
            login_throttle: doc.flag("selfservice.flows.login.throttle.enabled", true),
            methods: Methods {
                password: doc.flag("selfservice.methods.password.enabled", true),
                password_policy: PasswordPolicyConfig {
                    min_password_length: doc
                        .uint("selfservice.methods.password.config.min_password_length"),
                    identifier_similarity_check_enabled: doc
                        .at("selfservice.methods.password.config.identifier_similarity_check_enabled")
                        .and_then(Value::as_bool),
                    haveibeenpwned_enabled: doc
                        .at("selfservice.methods.password.config.haveibeenpwned_enabled")
                        .and_then(Value::as_bool),
                    max_breaches: doc.uint("selfservice.methods.password.config.max_breaches"),
                    ignore_network_errors: doc
                        .at("selfservice.methods.password.config.ignore_network_errors")
                        .and_then(Value::as_bool),
                },
                profile: doc.flag("selfservice.methods.profile.enabled", true),
                link: doc.flag("selfservice.methods.link.enabled", true),
                link_lifespan: doc.duration("selfservice.methods.link.config.lifespan", LINK_LIFESPAN),
                totp: TotpConfig {
                    enabled: doc.flag("selfservice.methods.totp.enabled", false),
                    issuer: doc.text("selfservice.methods.totp.config.issuer"),
                },
                lookup_secret: doc.flag("selfservice.methods.lookup_secret.enabled", false),
                webauthn: WebAuthnConfig {
                    enabled: doc.flag("selfservice.methods.webauthn.enabled", false),
                    passwordless: doc.flag("selfservice.methods.webauthn.config.passwordless", false),
                    rp_id: doc.text("selfservice.methods.webauthn.config.rp.id"),
                    rp_display_name: doc.text("selfservice.methods.webauthn.config.rp.display_name"),
                    rp_origin: doc.text("selfservice.methods.webauthn.config.rp.origin"),
                },
                oidc: doc.flag("selfservice.methods.oidc.enabled", false),
                oidc_providers: doc
                    .list("selfservice.methods.oidc.config.providers")
                    .iter()
                    .filter_map(oidc_provider)
                    .collect(),
            },
            session: SessionConfig {
                lifespan: doc.duration("session.lifespan", SESSION_LIFESPAN),
                cookie_persistent: doc.flag("session.cookie.persistent", true),
                cookie_same_site: doc.text("session.cookie.same_site"),
                whoami_required_aal: RequiredAal::parse(
                    doc.text("session.whoami.required_aal").as_deref(),
                    RequiredAal::Aal1,
                ),
            },
            cookies_same_site: doc.text("cookies.same_site"),
            cookie_secrets: doc.strings("secrets.cookie"),
            cipher,
            courier_templates: doc.at("courier.templates").cloned().unwrap_or(Value::Null),
        }
    }

    /// A configured mail template part (`courier.templates.<flow>.<validity>
    /// .email.<part>`, `part` like `subject` or `body.html`).
    pub fn mail_template(&self, flow: &str, validity: &str, part: &str) -> Option<&str> {
        Doc(&self.courier_templates)
            .at(&format!("{flow}.{validity}.email.{part}"))
            .and_then(Value::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_document_takes_every_default() {
        let config = IdentityConfig::from_document(&json!({}));
        assert!(config.registration.enabled);
        assert_eq!(config.login.lifespan, FLOW_LIFESPAN);
        assert_eq!(config.session.lifespan, SESSION_LIFESPAN);
        assert!(config.methods.password && !config.methods.totp.enabled);
        assert_eq!(config.settings_required_aal, RequiredAal::HighestAvailable);
        assert_eq!(config.session.whoami_required_aal, RequiredAal::Aal1);
        assert!(config.cipher.is_none());
    }

    #[test]
    fn keys_are_read_where_the_document_has_them() {
        let config = IdentityConfig::from_document(&json!({
            "secrets": {"cipher": ["short", "a-cipher-secret-of-thirty-two-chars!"]},
            "session": {"lifespan": "2h", "whoami": {"required_aal": "highest_available"}},
            "selfservice": {
                "methods": {"totp": {"enabled": true, "config": {"issuer": "Acme"}}},
                "flows": {"login": {"lifespan": "bogus", "after": {
                    "hooks": [{"hook": "a"}],
                    "password": {"hooks": [{"hook": "b"}], "default_browser_return_url": "https://x/"}
                }}}
            },
            "courier": {"templates": {"recovery": {"valid": {"email": {"subject": "Hi"}}}}}
        }));
        assert_eq!(config.session.lifespan, Duration::from_secs(7200));
        assert_eq!(
            config.login.lifespan, FLOW_LIFESPAN,
            "a malformed duration keeps the default"
        );
        assert_eq!(
            config.session.whoami_required_aal,
            RequiredAal::HighestAvailable
        );
        assert_eq!(config.methods.totp.issuer.as_deref(), Some("Acme"));
        assert_eq!(
            config.login.after.hooks_for("password"),
            &[json!({"hook": "b"})]
        );
        assert_eq!(
            config.login.after.hooks_for("totp"),
            &[json!({"hook": "a"})]
        );
        assert_eq!(
            config.login.after.return_url_for(Some("password")),
            Some("https://x/")
        );
        assert_eq!(
            config.mail_template("recovery", "valid", "subject"),
            Some("Hi")
        );
        let cipher = config.cipher.expect("the long secret keys the box");
        let sealed = cipher.seal("ctx", "seed");
        assert_eq!(cipher.open("ctx", &sealed).as_deref(), Ok("seed"));
    }

    #[test]
    fn providers_are_read_with_their_provider_specific_keys() {
        let config = IdentityConfig::from_document(&json!({
            "selfservice": {"methods": {"oidc": {"enabled": true, "config": {"providers": [
                {"id": "ms", "provider": "microsoft", "client_id": "c1", "client_secret": "s1",
                 "microsoft_tenant": "common", "scope": ["email", ""],
                 "requested_claims": {"id_token": {"email": null}}},
                {"id": "apple", "provider": "apple", "client_id": "c2",
                 "apple_team_id": "TEAM", "apple_private_key_id": "KID",
                 "apple_private_key": "-----BEGIN PRIVATE KEY-----\nsecret-key\n-----END PRIVATE KEY-----",
                 "requested_claims": "not an object"},
                {"id": "plain", "client_id": "c3", "auth_url": "https://a/", "token_url": "https://t/"},
                {"id": "no-client"}
            ]}}}}
        }));
        let providers = &config.methods.oidc_providers;
        assert_eq!(providers.len(), 3, "one without a client id is skipped");
        let ms = &providers[0];
        assert_eq!(ms.provider, "microsoft");
        assert_eq!(ms.microsoft_tenant.as_deref(), Some("common"));
        assert_eq!(ms.scope, vec!["email".to_owned()]);
        assert_eq!(
            ms.requested_claims,
            Some(json!({"id_token": {"email": null}}))
        );
        let apple = &providers[1];
        assert_eq!(apple.apple_team_id.as_deref(), Some("TEAM"));
        assert_eq!(apple.apple_private_key_id.as_deref(), Some("KID"));
        assert!(apple.apple_private_key.is_some());
        assert_eq!(
            apple.requested_claims, None,
            "only an object is a claims request"
        );
        let plain = &providers[2];
        assert_eq!(plain.provider, "generic", "the default kind");
        assert_eq!(plain.client_secret, "");
        assert_eq!(plain.auth_url.as_deref(), Some("https://a/"));
        assert_eq!(plain.token_url.as_deref(), Some("https://t/"));

        let debug = format!("{providers:?}");
        assert!(debug.contains("TEAM") && debug.contains("KID"));
        assert!(!debug.contains("s1"), "no client secret: {debug}");
        assert!(!debug.contains("secret-key"), "no private key: {debug}");
    }
}
