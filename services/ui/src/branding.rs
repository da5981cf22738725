//! The project's look on every page: product name, logo, favicon, primary
//! colour, light or dark theme, default language.
//!
//! Read from the tenant's identity config under `ui` (see
//! docs/hosted-ui.md); each value is checked again here so a bad one
//! falls back to the default instead of reaching the page.

use kernel::tenant::TenantCtx;
use serde::Serialize;
use serde_json::Value;

/// The default primary colour (an accessible blue on white and on dark).
pub const DEFAULT_PRIMARY: &str = "#2457c5";

#[derive(Debug, Clone, Serialize)]
pub struct Branding {
    pub name: String,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub primary_color: String,
    /// `light`, `dark`, or `auto` (follow the browser).
    pub theme: String,
    pub default_locale: Option<String>,
}

/// `#rgb` or `#rrggbb`.
pub fn is_hex_colour(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An absolute `https://` URL (or `http://` on a `.localhost` host, for
/// development), or a `data:image/` URL: what a logo or favicon may be.
pub fn is_image_url(value: &str) -> bool {
    if value.starts_with("data:image/") {
        return true;
    }
    match url::Url::parse(value) {
        Ok(url) => {
            url.scheme() == "https"
                || (url.scheme() == "http"
                    && url
                        .host_str()
                        .is_some_and(|h| h == "localhost" || h.ends_with(".localhost")))
        }
        Err(_) => false,
    }
}

impl Branding {
    pub fn of(tenant: &TenantCtx) -> Self {
        let ui = tenant.config.identity.get("ui");
        let text = |key: &str| {
            ui.and_then(|u| u.get(key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            name: text("product_name").unwrap_or_else(|| tenant.name.clone()),
            logo_url: text("logo_url").filter(|u| is_image_url(u)),
            favicon_url: text("favicon_url").filter(|u| is_image_url(u)),
            primary_color: text("primary_color")
                .filter(|c| is_hex_colour(c))
                .unwrap_or_else(|| DEFAULT_PRIMARY.to_owned()),
            theme: text("theme")
                .filter(|t| matches!(t.as_str(), "light" | "dark" | "auto"))
                .unwrap_or_else(|| "auto".to_owned()),
            default_locale: text("default_locale"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_values_pass() {
        assert!(is_hex_colour("#fff") && is_hex_colour("#A1b2C3"));
        assert!(!is_hex_colour("red") && !is_hex_colour("#12345") && !is_hex_colour("#fff;x"));
        assert!(is_image_url("https://cdn.example.com/logo.svg"));
        assert!(is_image_url("http://app.localhost/logo.png"));
        assert!(!is_image_url("http://example.com/logo.png"));
        assert!(!is_image_url("javascript:alert(1)"));
    }
}
