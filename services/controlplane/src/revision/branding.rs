//! The hosted UI's branding section, `services.identity.config.ui`:
//! `product_name`, `logo_url`, `favicon_url`, `primary_color`, `theme`,
//! `default_locale`. Each is a column of `project_revisions` (`keys.rs`).
//!
//! Unlike Kratos' keys, a bad value here does not refuse the change: the
//! pages still work with the default, so the value is dropped with a
//! warning naming it (code [`WARNING_INVALID_VALUE`]). The UI checks each
//! value again when it renders (`services/ui/src/branding.rs`).

use serde_json::Value;

/// The longest product name shown in the page header.
const MAX_PRODUCT_NAME: usize = 100;
/// The longest logo or favicon URL (a `data:` URL carries the image).
const MAX_IMAGE_URL: usize = 64 * 1024;

/// `#rgb` or `#rrggbb`.
fn is_hex_colour(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `https://` with a host, `http://` on a `localhost` host (development),
/// or `data:image/…`.
fn is_image_url(value: &str) -> bool {
    if value.starts_with("data:image/") {
        return true;
    }
    url::Url::parse(value).is_ok_and(|url| match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url
            .host_str()
            .is_some_and(|h| h == "localhost" || h.ends_with(".localhost")),
        _ => false,
    })
}

/// A language tag such as `de` or `pt-BR`.
fn is_locale(value: &str) -> bool {
    let mut parts = value.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// What is wrong with `value` at `path` (below the identity config), when
/// `path` is a branding key and the value cannot be used; None otherwise.
pub fn problem(path: &str, value: &Value) -> Option<&'static str> {
    let key = path.strip_prefix("ui.")?;
    let Some(text) = value.as_str() else {
        return Some("must be a string");
    };
    let ok = match key {
        "product_name" => !text.trim().is_empty() && text.chars().count() <= MAX_PRODUCT_NAME,
        "logo_url" | "favicon_url" => text.len() <= MAX_IMAGE_URL && is_image_url(text),
        "primary_color" => is_hex_colour(text),
        "theme" => matches!(text, "light" | "dark" | "auto"),
        "default_locale" => is_locale(text),
        _ => return None,
    };
    if ok {
        return None;
    }
    Some(match key {
        "product_name" => "must be a name of 1 to 100 characters",
        "logo_url" | "favicon_url" => {
            "must be an https:// URL (http:// only on localhost) or a data:image/ URL, at most 64 KiB"
        }
        "primary_color" => "must be a colour written #rgb or #rrggbb",
        "theme" => "must be light, dark or auto",
        _ => "must be a language tag such as en or de-AT",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn good_values_pass_and_bad_ones_are_named() {
        for (path, value) in [
            ("ui.product_name", json!("Acme")),
            ("ui.logo_url", json!("https://cdn.example.com/logo.svg")),
            ("ui.logo_url", json!("data:image/png;base64,iVBORw0KGgo=")),
            (
                "ui.favicon_url",
                json!("http://app.localhost:4000/favicon.ico"),
            ),
            ("ui.primary_color", json!("#0a7")),
            ("ui.primary_color", json!("#00AA77")),
            ("ui.theme", json!("dark")),
            ("ui.default_locale", json!("de-AT")),
            ("selfservice.flows.login.ui_url", json!(42)),
        ] {
            assert_eq!(problem(path, &value), None, "{path} {value}");
        }
        for (path, value) in [
            ("ui.product_name", json!("  ")),
            ("ui.product_name", json!(7)),
            ("ui.logo_url", json!("http://example.com/logo.png")),
            ("ui.logo_url", json!("javascript:alert(1)")),
            ("ui.favicon_url", json!("/favicon.ico")),
            ("ui.primary_color", json!("red")),
            ("ui.primary_color", json!("#12345")),
            ("ui.primary_color", json!("#fff;}body{")),
            ("ui.theme", json!("sepia")),
            ("ui.default_locale", json!("english please")),
        ] {
            assert!(problem(path, &value).is_some(), "{path} {value}");
        }
    }
}
