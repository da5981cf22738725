//! Process settings: defaults < an optional file (`--config keyplane.yaml`)
//! < environment (`KEYPLANE_*`, nested keys joined with `__`, plus the
//! conventional `DATABASE_URL`, `REDIS_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`).
//! Loaded once and validated; a wrong key stops the start with its name.
//! Tenant config never lives here: it comes from the revision tables.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Yaml};
use kernel::public_url::TenantUrls;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub serve: ServeSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    /// Projects are served at `<slug>.<base_domain>`.
    pub base_domain: String,
    pub log: LogSettings,
    pub otel: OtelSettings,
    /// The identity engine: password hasher, breach checks.
    pub identity: identity::IdentitySettings,
    /// The console project (accounts) and the UI invite links open.
    pub console: controlplane::ConsoleSettings,
    /// Outgoing mail: sender, and where the file transport writes.
    pub courier: courier::CourierSettings,
    /// Web hook delivery: timeouts, the Jsonnet sandbox, the SSRF guard.
    pub webhook: webhook::WebHookSettings,
    /// Subscriptions: Stripe keys and prices (none: the built-in provider),
    /// grace period, sweep interval.
    pub billing: billing::BillingSettings,
    /// Custom hostnames: where CNAMEs are looked up, how often re-checked.
    pub hostnames: controlplane::hostname::service::HostnameSettings,
    /// Per-tenant rate limits (sized by each project's plan; off unless
    /// enabled or billing runs on Stripe).
    pub rate_limit: router::RateLimitSettings,
    /// Limits on what a JSON Patch (project config, identities) may build.
    pub json_patch: kernel::json_patch::PatchLimits,
    /// The keys that seal project secrets and queued mail's tokens at rest.
    pub encryption: crate::encryption::EncryptionSettings,
    /// How long the audit log keeps events (days), and how often it sweeps.
    pub audit_log: controlplane::audit_log::AuditLogSettings,
    /// How long the relation-tuple change feed keeps changes.
    pub permission: permission::feed::PermissionSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    pub host: String,
    pub port: u16,
    /// The permission engine's gRPC API (Keto's `v1alpha2` services); 0
    /// picks a free port.
    pub grpc_port: u16,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
    /// How long SIGTERM waits for in-flight requests before exiting.
    pub shutdown_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Peers (IP addresses) whose `X-Forwarded-Host` is believed.
    pub trusted_proxies: Vec<String>,
    /// The public base of every tenant URL, e.g.
    /// `https://projects.example.com` (its host is `base_domain`). Unset:
    /// `http://<base_domain>:<port>` for a `*.localhost` base domain,
    /// else `https://<base_domain>` (TLS terminated in front).
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://./data/keyplane.db` (default) or `postgres://...`.
    pub url: String,
    pub max_connections: u32,
    /// Run pending migrations when `serve` starts.
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Unset: in-process cache and bus (one replica).
    pub url: Option<String>,
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// An `EnvFilter` directive, e.g. `info` or `keyplane=debug,info`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtelSettings {
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`. Unset: no export.
    pub endpoint: Option<String>,
    pub service_name: String,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 4000,
            grpc_port: 4001,
            workers: 0,
            shutdown_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
            public_url: None,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/keyplane.db".into(),
            max_connections: 16,
            migrate_on_start: true,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

impl Default for OtelSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "keyplane".into(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            serve: ServeSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            base_domain: "projects.localhost".into(),
            log: LogSettings::default(),
            otel: OtelSettings::default(),
            identity: identity::IdentitySettings::default(),
            console: controlplane::ConsoleSettings::default(),
            courier: courier::CourierSettings::default(),
            webhook: webhook::WebHookSettings::default(),
            billing: billing::BillingSettings::default(),
            hostnames: Default::default(),
            rate_limit: router::RateLimitSettings::default(),
            json_patch: Default::default(),
            encryption: Default::default(),
            audit_log: Default::default(),
            permission: Default::default(),
        }
    }
}

/// A setting that stops the start, with the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings: {0}")]
    Parse(String),
    #[error("invalid setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The `KEYPLANE_*` variables as settings, nested keys joined with `__`.
/// `KEYPLANE_CONFIG_FILE` names the settings file (the CLI's `--config`),
/// it is not a setting itself.
pub fn keyplane_env() -> Env {
    Env::prefixed("KEYPLANE_")
        .ignore(&["config_file"])
        .split("__")
}

impl Settings {
    /// Loads defaults < file < the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, keyplane_env(), Env::raw())
    }

    /// Like `load`, with the environment providers given (for tests).
    pub fn load_from(
        file: Option<&Path>,
        keyplane_env: Env,
        raw_env: Env,
    ) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(SettingsError::Invalid {
                    key: "--config",
                    message: format!("{} does not exist", path.display()),
                });
            }
            figment = figment.merge(Yaml::file_exact(path));
        }
        let conventional = raw_env
            .only(&["DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"])
            .map(|key| match key.as_str().to_ascii_lowercase().as_str() {
                "database_url" => "database.url".into(),
                "redis_url" => "redis.url".into(),
                _ => "otel.endpoint".into(),
            });
        figment = figment.merge(conventional).merge(keyplane_env);
        let settings: Settings = figment
            .extract()
            .map_err(|e| SettingsError::Parse(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Where tenants are reached: `serve.public_url`, or derived from the
    /// base domain and the port actually listened on.
    pub fn tenant_urls(&self) -> TenantUrls {
        self.serve
            .public_url
            .as_deref()
            .and_then(|url| TenantUrls::parse(url, &self.base_domain).ok())
            .unwrap_or_else(|| TenantUrls::derived(&self.base_domain, self.serve.port))
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| SettingsError::Invalid {
            key,
            message: message.to_owned(),
        };
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if let Some(url) = &self.redis.url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        let domain = &self.base_domain;
        if domain.is_empty()
            || domain.starts_with('.')
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(invalid(
                "base_domain",
                "must be a DNS name such as projects.example.com",
            ));
        }
        if let Some(url) = &self.serve.public_url {
            TenantUrls::parse(url, &self.base_domain)
                .map_err(|message| invalid("serve.public_url", &message))?;
        }
        if let Err(message) = self.encryption.validate() {
            return Err(invalid("encryption", &message));
        }
        if let Err(message) = self.json_patch.validate() {
            return Err(invalid("json_patch", &message));
        }
        if let Err(message) = self.rate_limit.plans.validate() {
            return Err(invalid("rate_limit", &message));
        }
        if let Err(message) = self.identity.validate() {
            return Err(invalid("identity", &message));
        }
        if let Err(message) = self.console.validate() {
            return Err(invalid("console", &message));
        }
        if let Err(message) = self.courier.validate() {
            return Err(invalid("courier", &message));
        }
        if let Err(message) = self.webhook.validate() {
            return Err(invalid("webhook", &message));
        }
        if let Err(message) = self.billing.validate() {
            return Err(invalid("billing", &message));
        }
        if let Err(message) = self.hostnames.validate() {
            return Err(invalid("hostnames", &message));
        }
        if let Err(message) = self.audit_log.validate() {
            return Err(invalid("audit_log", &message));
        }
        if let Err(message) = self.permission.changes.validate() {
            return Err(invalid("permission.changes", &message));
        }
        if self.serve.body_limit_bytes < 1024 {
            return Err(invalid("serve.body_limit_bytes", "must be at least 1024"));
        }
        for proxy in &self.serve.trusted_proxies {
            if proxy.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid("serve.trusted_proxies", "must list IP addresses"));
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                "log.level",
                "is not a valid filter (try info or debug)",
            ));
        }
        if let Some(endpoint) = &self.otel.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "otel.endpoint",
                "must be an http:// or https:// URL",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)], file: Option<&Path>) -> Result<Settings, SettingsError> {
        // Providers read from a fake environment through figment's Jail.
        let mut out = None;
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            for (k, v) in vars {
                jail.set_env(k, v);
            }
            out = Some(Settings::load_from(file, keyplane_env(), Env::raw()));
            Ok(())
        });
        out.unwrap_or_else(|| Err(SettingsError::Parse("jail did not run".into())))
    }

    #[test]
    fn defaults_are_the_embedded_setup() -> Result<(), SettingsError> {
        let s = load(&[], None)?;
        assert_eq!(s.serve.port, 4000);
        assert_eq!(s.serve.host, "0.0.0.0");
        assert!(s.database.url.starts_with("sqlite://./data/"));
        assert!(s.redis.url.is_none());
        assert!(s.otel.endpoint.is_none());
        assert_eq!(s.base_domain, "projects.localhost");
        // Tenant URLs carry the port a browser must use; limits are off
        // without paid billing.
        assert_eq!(
            s.tenant_urls().for_slug("shop"),
            "http://shop.projects.localhost:4000"
        );
        assert_eq!(s.rate_limit.enabled, None);
        assert!(!s.rate_limit.enforced(s.billing.uses_stripe()));
        Ok(())
    }

    #[test]
    fn environment_overrides_file_and_conventional_names_work()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("kp-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("keyplane.yaml");
        std::fs::write(
            &file,
            "serve:\n  port: 5000\n  workers: 3\nbase_domain: p.example.com\n",
        )?;
        let s = load(
            &[
                ("KEYPLANE_SERVE__PORT", "6000"),
                // How the CLI finds the file; not a setting (so no
                // "unknown field" either).
                ("KEYPLANE_CONFIG_FILE", "/etc/keyplane/keyplane.yaml"),
                ("DATABASE_URL", "postgres://u@h/db"),
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ],
            Some(&file),
        )?;
        assert_eq!(s.serve.port, 6000, "env beats file");
        assert_eq!(s.serve.workers, 3, "file beats defaults");
        assert_eq!(s.base_domain, "p.example.com");
        assert_eq!(s.database.url, "postgres://u@h/db");
        assert_eq!(s.redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(s.otel.endpoint.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(
            s.tenant_urls().for_slug("shop"),
            "https://shop.p.example.com",
            "a public domain sits behind TLS"
        );
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }

    #[test]
    fn a_wrong_setting_names_its_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("KEYPLANE_SERVE__PORT", "not-a-port")], "serve.port"),
            (&[("KEYPLANE_SERVE__PROT", "1")], "prot"),
            (&[("DATABASE_URL", "mysql://x")], "database.url"),
            (&[("REDIS_URL", "http://x")], "redis.url"),
            (&[("KEYPLANE_BASE_DOMAIN", "bad domain")], "base_domain"),
            (
                &[(
                    "KEYPLANE_SERVE__PUBLIC_URL",
                    "https://elsewhere.example.com",
                )],
                "serve.public_url",
            ),
            (
                &[(
                    "KEYPLANE_RATE_LIMIT__PLANS__FREE__KRATOS_PUBLIC_LOW__BURST",
                    "0",
                )],
                "rate_limit",
            ),
            (&[("KEYPLANE_LOG__FORMAT", "xml")], "format"),
            (
                &[("KEYPLANE_WEBHOOK__JSONNET_TIMEOUT_MS", "5")],
                "jsonnet_timeout_ms",
            ),
        ];
        for (vars, key) in cases {
            match load(vars, None) {
                Ok(_) => panic!("{vars:?} was accepted"),
                Err(e) => assert!(
                    e.to_string().to_lowercase().contains(key),
                    "{e} does not name {key}"
                ),
            }
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = load(&[], Some(Path::new("/nonexistent/keyplane.yaml")));
        assert!(matches!(
            err,
            Err(SettingsError::Invalid {
                key: "--config",
                ..
            })
        ));
    }
}
