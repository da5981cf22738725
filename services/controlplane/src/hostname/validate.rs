//! The rules a custom hostname's settings must follow; each violation is a
//! 400 naming the field.

use kernel::{Error, Result};

/// At most this many CORS origins per hostname.
pub const MAX_CORS_ORIGINS: usize = 50;

fn invalid(field: &str, reason: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("{field}: {reason}")).with_details(serde_json::json!({
        "field": field,
    }))
}

/// Whether `name` is a DNS name we can serve: lower-case labels of letters,
/// digits and inner hyphens, at least two labels, not an IP address.
fn is_dns_name(name: &str) -> bool {
    if name.len() > 253 || !name.contains('.') {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    // An all-digit last label would make it an IPv4 address.
    labels_ok
        && name
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// A public suffix (`com`, `co.uk`, `github.io`): nobody may claim it, or
/// set cookies for it.
fn is_public_suffix(name: &str) -> bool {
    psl::suffix_str(name).is_some_and(|suffix| suffix == name)
}

/// Normalizes and checks a hostname: lower case, no trailing dot.
pub fn hostname(raw: &str, base_domain: &str) -> Result<String> {
    let name = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if !is_dns_name(&name) {
        return Err(invalid(
            "hostname",
            format!("`{raw}` is not a valid DNS name (e.g. auth.example.com)"),
        ));
    }
    let base = base_domain.to_ascii_lowercase();
    if name == base || name.ends_with(&format!(".{base}")) {
        return Err(invalid(
            "hostname",
            format!("`{name}` is under this service's own domain `{base}`"),
        ));
    }
    if is_public_suffix(&name) {
        return Err(invalid("hostname", format!("`{name}` is a public suffix")));
    }
    Ok(name)
}

/// Checks a cookie domain for `hostname` (default: the hostname itself).
pub fn cookie_domain(raw: Option<&str>, hostname: &str) -> Result<String> {
    let Some(raw) = raw.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(hostname.to_owned());
    };
    let domain = raw
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if !is_dns_name(&domain) {
        return Err(invalid(
            "cookie_domain",
            format!("`{raw}` is not a valid DNS name"),
        ));
    }
    if domain != hostname && !hostname.ends_with(&format!(".{domain}")) {
        return Err(invalid(
            "cookie_domain",
            format!("`{domain}` is neither `{hostname}` nor a parent domain of it"),
        ));
    }
    if is_public_suffix(&domain) {
        return Err(invalid(
            "cookie_domain",
            format!("`{domain}` is a public suffix: browsers refuse cookies for it"),
        ));
    }
    Ok(domain)
}

/// Checks the CORS allow-list: `https://` origins (host and optional port,
/// nothing else), a leading `*.` label allowed, no `*`, no `null`.
pub fn cors_origins(origins: &[String]) -> Result<Vec<String>> {
    const FIELD: &str = "cors_allowed_origins";
    if origins.len() > MAX_CORS_ORIGINS {
        return Err(invalid(
            FIELD,
            format!("at most {MAX_CORS_ORIGINS} origins are allowed"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(origins.len());
    for origin in origins {
        let origin = origin.trim().to_ascii_lowercase();
        if origin == "*" || origin == "null" {
            return Err(invalid(
                FIELD,
                format!("`{origin}` is not allowed: list the origins"),
            ));
        }
        let Some(rest) = origin.strip_prefix("https://") else {
            return Err(invalid(
                FIELD,
                format!("`{origin}` must be an https:// origin"),
            ));
        };
        // The wildcard is checked as a label of its own, then the rest as
        // a plain origin.
        let (wildcard, host_port) = match rest.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let parsed = url::Url::parse(&format!("https://{host_port}"));
        let valid = match &parsed {
            Ok(url) => {
                url.path() == "/"
                    && !host_port.ends_with('/')
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.username().is_empty()
                    && url
                        .host_str()
                        .is_some_and(|h| is_dns_name(h) && !(wildcard && is_public_suffix(h)))
            }
            Err(_) => false,
        };
        if !valid || host_port.contains('*') {
            return Err(invalid(
                FIELD,
                format!(
                    "`{origin}` is not an origin (https://host[:port], optionally https://*.host)"
                ),
            ));
        }
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "projects.keyplane.example";

    #[test]
    fn hostnames_must_be_dns_names_outside_our_domain_and_not_public_suffixes() {
        assert_eq!(
            hostname("Auth.Example.COM.", BASE).ok().as_deref(),
            Some("auth.example.com")
        );
        for bad in [
            "example",
            "-a.example.com",
            "a_b.example.com",
            "1.2.3.4",
            "a..example.com",
            "x.projects.keyplane.example",
            "projects.keyplane.example",
            "co.uk",
            "github.io",
            "",
        ] {
            let err = hostname(bad, BASE)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("hostname"), "{bad}: {err}");
        }
    }

    #[test]
    fn cookie_domains_are_the_host_or_a_parent_and_not_public() {
        let host = "auth.shop.example.co.uk";
        assert_eq!(cookie_domain(None, host).ok().as_deref(), Some(host));
        assert_eq!(
            cookie_domain(Some(".Example.co.uk"), host).ok().as_deref(),
            Some("example.co.uk")
        );
        for bad in [
            "co.uk",
            "other.example.co.uk",
            "hop.auth.shop.example.co.uk",
            "bad domain",
        ] {
            let err = cookie_domain(Some(bad), host)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("cookie_domain"), "{bad}: {err}");
        }
    }

    #[test]
    fn cors_origins_are_https_origins_with_at_most_a_leading_wildcard() {
        let ok = cors_origins(&[
            "https://app.example.com".into(),
            "https://*.example.com".into(),
            "https://app.example.com:8443".into(),
            "HTTPS://APP.example.com".into(),
        ]);
        assert_eq!(ok.map(|v| v.len()).ok(), Some(3));
        for bad in [
            "*",
            "null",
            "http://app.example.com",
            "https://app.example.com/path",
            "https://app.example.com/",
            "https://a.*.example.com",
            "https://*.com",
            "https://user@app.example.com",
            "app.example.com",
        ] {
            let err = cors_origins(&[bad.to_owned()])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("cors_allowed_origins"), "{bad}: {err}");
        }
        let many: Vec<String> = (0..51)
            .map(|i| format!("https://a{i}.example.com"))
            .collect();
        assert!(cors_origins(&many).is_err());
    }
}
