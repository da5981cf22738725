//! The named providers: for each kind of `selfservice.methods.oidc.config.
//! providers[].provider`, how it is spoken to (OpenID Connect with
//! discovery, or plain OAuth2 and a user API), its endpoints, its default
//! scopes, and what its authorization URL needs besides the standard
//! parameters. The endpoints and claim sources are those of Ory Kratos
//! v0.10; the defaults are overridden by the provider's configuration, see
//! the module documentation of `provider`.

use kernel::identity_config::OidcProviderConfig;
use serde_json::Value;

/// The kinds the control plane accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Generic,
    Google,
    Microsoft,
    Apple,
    NetId,
    GitHub,
    GitLab,
    Discord,
    Slack,
    Facebook,
    Vk,
    Yandex,
    Auth0,
    Spotify,
    DingTalk,
    Patreon,
}

/// How the claims are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Discovery, then an ID token verified against the provider's keys.
    Oidc,
    /// A code exchanged for an access token, then the provider's user API.
    OAuth2,
}

/// What a kind is when nothing is overridden.
struct Defaults {
    protocol: Protocol,
    /// OIDC: the issuer. OAuth2: the base of the user API (and, for GitLab
    /// and Auth0, of every endpoint).
    base: Option<&'static str>,
    /// OAuth2: the endpoints (absolute, or relative to `base` when they
    /// start with `/`).
    auth: &'static str,
    token: &'static str,
    scopes: &'static [&'static str],
    /// Whether PKCE (S256) is sent: only where the provider is known to
    /// take it.
    pkce: bool,
}

const OIDC_SCOPES: &[&str] = &["email", "profile"];

impl Kind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "generic" => Self::Generic,
            "google" => Self::Google,
            "microsoft" => Self::Microsoft,
            "apple" => Self::Apple,
            "netid" => Self::NetId,
            "github" => Self::GitHub,
            "gitlab" => Self::GitLab,
            "discord" => Self::Discord,
            "slack" => Self::Slack,
            "facebook" => Self::Facebook,
            "vk" => Self::Vk,
            "yandex" => Self::Yandex,
            "auth0" => Self::Auth0,
            "spotify" => Self::Spotify,
            "dingtalk" => Self::DingTalk,
            "patreon" => Self::Patreon,
            _ => return None,
        })
    }

    fn defaults(self) -> Defaults {
        let oidc = |base: Option<&'static str>, scopes: &'static [&'static str], pkce| Defaults {
            protocol: Protocol::Oidc,
            base,
            auth: "",
            token: "",
            scopes,
            pkce,
        };
        let oauth2 = |base, auth, token, scopes, pkce| Defaults {
            protocol: Protocol::OAuth2,
            base: Some(base),
            auth,
            token,
            scopes,
            pkce,
        };
        match self {
            Self::Generic => oidc(None, OIDC_SCOPES, true),
            Self::Google => oidc(Some("https://accounts.google.com"), OIDC_SCOPES, true),
            // The issuer names the tenant: see `resolve`.
            Self::Microsoft => oidc(None, OIDC_SCOPES, true),
            // Apple documents neither PKCE nor a `profile` scope.
            Self::Apple => oidc(Some("https://appleid.apple.com"), &["email", "name"], false),
            Self::NetId => oidc(Some("https://broker.netid.de/"), OIDC_SCOPES, false),
            Self::GitHub => oauth2(
                "https://api.github.com",
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                &["user:email"],
                true,
            ),
            Self::GitLab => oauth2(
                "https://gitlab.com",
                "/oauth/authorize",
                "/oauth/token",
                &["openid", "email", "profile"],
                true,
            ),
            Self::Discord => oauth2(
                "https://discord.com/api",
                "https://discord.com/api/oauth2/authorize",
                "https://discord.com/api/oauth2/token",
                &["identify", "email"],
                false,
            ),
            // Slack's v1 "Sign in with Slack": its v2 renames `scope`.
            Self::Slack => oauth2(
                "https://slack.com/api",
                "https://slack.com/oauth/authorize",
                "https://slack.com/api/oauth.access",
                &["identity.basic", "identity.email", "identity.avatar"],
                false,
            ),
            Self::Facebook => oauth2(
                "https://graph.facebook.com",
                "https://facebook.com/dialog/oauth",
                "https://graph.facebook.com/oauth/access_token",
                &["email", "public_profile"],
                true,
            ),
            Self::Vk => oauth2(
                "https://api.vk.com/method",
                "https://oauth.vk.com/authorize",
                "https://oauth.vk.com/access_token",
                &["email"],
                false,
            ),
            Self::Yandex => oauth2(
                "https://login.yandex.ru",
                "https://oauth.yandex.com/authorize",
                "https://oauth.yandex.com/token",
                &["login:email", "login:info", "login:avatar"],
                true,
            ),
            // Auth0 has no default domain: `issuer_url` is required.
            Self::Auth0 => Defaults {
                base: None,
                ..oauth2(
                    "",
                    "/authorize",
                    "/oauth/token",
                    &["openid", "email", "profile"],
                    true,
                )
            },
            Self::Spotify => oauth2(
                "https://api.spotify.com/v1",
                "https://accounts.spotify.com/authorize",
                "https://accounts.spotify.com/api/token",
                &["user-read-email", "user-read-private"],
                true,
            ),
            // DingTalk's token endpoint takes JSON, not a form.
            Self::DingTalk => oauth2(
                "https://api.dingtalk.com",
                "https://login.dingtalk.com/oauth2/auth",
                "/v1.0/oauth2/userAccessToken",
                &["openid"],
                false,
            ),
            Self::Patreon => oauth2(
                "https://www.patreon.com/api/oauth2/v2",
                "https://www.patreon.com/oauth2/authorize",
                "https://www.patreon.com/api/oauth2/token",
                &["identity", "identity[email]"],
                false,
            ),
        }
    }
}

/// Microsoft's tenants that stand for many: their issuer is per token.
const MICROSOFT_MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// A provider's configuration with the defaults of its kind filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub kind: Kind,
    pub protocol: Protocol,
    /// OIDC: the issuer to discover. OAuth2: the base of the user API.
    pub base: String,
    /// OAuth2: always set. OIDC: set when overriding the discovered one.
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub scopes: Vec<String>,
    pub pkce: bool,
    /// Parameters the authorization URL carries besides the standard ones.
    pub auth_params: Vec<(String, String)>,
    /// Microsoft's `common`, `organizations` or `consumers`: the token's
    /// issuer follows its `tid`.
    pub multi_tenant: bool,
}

fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{}{path}", base.trim_end_matches('/'))
    } else {
        path.to_owned()
    }
}

fn present(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// Fills in the defaults of the provider's kind; a provider missing what
/// its kind needs is refused, with what is missing.
pub fn resolve(provider: &OidcProviderConfig) -> Result<Resolved, String> {
    let kind = Kind::parse(&provider.provider)
        .ok_or_else(|| format!("the provider kind `{}` is not supported", provider.provider))?;
    let defaults = kind.defaults();
    let mut multi_tenant = false;
    let default_base = match kind {
        Kind::Microsoft => {
            let tenant = provider
                .microsoft_tenant
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or("a `microsoft` provider needs `microsoft_tenant`")?;
            multi_tenant = MICROSOFT_MULTI_TENANT.contains(&tenant);
            Some(format!("https://login.microsoftonline.com/{tenant}/v2.0"))
        }
        _ => defaults.base.map(str::to_owned),
    };
    let base = provider
        .issuer_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or(default_base)
        .ok_or_else(|| format!("a `{}` provider needs `issuer_url`", provider.provider))?;
    if kind == Kind::Apple {
        for (key, value) in [
            ("apple_team_id", &provider.apple_team_id),
            ("apple_private_key_id", &provider.apple_private_key_id),
            ("apple_private_key", &provider.apple_private_key),
        ] {
            if !present(value) {
                return Err(format!("an `apple` provider needs `{key}`"));
            }
        }
    }

    let configured: Vec<String> = if provider.scope.is_empty() {
        defaults.scopes.iter().map(|s| (*s).to_owned()).collect()
    } else {
        provider.scope.clone()
    };
    let mut auth_params = Vec::new();
    let scopes = match defaults.protocol {
        // openidconnect adds `openid` itself; Google refuses
        // `offline_access` (it has `access_type=offline` instead, and
        // sign-in keeps no refresh token anyway).
        Protocol::Oidc => configured
            .iter()
            .filter(|s| s.as_str() != "openid")
            .filter(|s| !(kind == Kind::Google && s.as_str() == "offline_access"))
            .cloned()
            .collect(),
        Protocol::OAuth2 => configured,
    };
    if defaults.protocol == Protocol::Oidc
        && let Some(claims) = provider.requested_claims.as_ref().filter(|c| is_request(c))
    {
        auth_params.push(("claims".to_owned(), claims.to_string()));
    }
    match kind {
        // Apple answers with a form POST when asked for the e-mail or name.
        Kind::Apple if scopes.iter().any(|s| s == "email" || s == "name") => {
            auth_params.push(("response_mode".to_owned(), "form_post".to_owned()));
        }
        Kind::Discord => auth_params.push(("prompt".to_owned(), "none".to_owned())),
        Kind::DingTalk => auth_params.push(("prompt".to_owned(), "consent".to_owned())),
        _ => {}
    }

    let overridden = |value: &Option<String>| value.clone().filter(|u| !u.trim().is_empty());
    let (auth_url, token_url) = match defaults.protocol {
        Protocol::Oidc => (
            overridden(&provider.auth_url),
            overridden(&provider.token_url),
        ),
        Protocol::OAuth2 => (
            Some(overridden(&provider.auth_url).unwrap_or_else(|| join(&base, defaults.auth))),
            Some(overridden(&provider.token_url).unwrap_or_else(|| join(&base, defaults.token))),
        ),
    };
    Ok(Resolved {
        kind,
        protocol: defaults.protocol,
        base,
        auth_url,
        token_url,
        scopes,
        pkce: defaults.pkce,
        auth_params,
        multi_tenant,
    })
}

fn is_request(claims: &Value) -> bool {
    claims.as_object().is_some_and(|m| !m.is_empty())
}

#[cfg(test)]
pub(super) mod tests;
