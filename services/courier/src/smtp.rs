//! SMTP delivery, configured the way Kratos reads
//! `courier.smtp.connection_uri`:
//!
//! - `smtp://user:pass@host:port/`: STARTTLS, and mandatory (a server that
//!   does not offer it fails the send rather than get the message in clear);
//!   `?disable_starttls=true` sends in clear (local relays, test sinks).
//! - `smtps://user:pass@host:port/`: implicit TLS from the first byte.
//! - `?skip_ssl_verify=true` accepts any certificate; `?server_name=` sets
//!   the name the certificate is checked against (default: the host).
//!
//! User and password are percent-decoded. Kratos has no default port (an
//! absent one dials port 0); we use the registered ones, 587 (submission)
//! for `smtp` and 465 for `smtps`, instead of failing every send.

use crate::transport::{MailTransport, SendError};
use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use url::{Host, Url};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain connection upgraded with STARTTLS, which must work.
    StartTls,
    /// `smtps://`: TLS from the start.
    Implicit,
    /// `smtp://…?disable_starttls=true`.
    None,
}

/// A parsed connection URI.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub skip_ssl_verify: bool,
    /// The name the server's certificate must carry.
    pub server_name: String,
    /// `(user, password)`, decoded; absent when the URI names no user.
    pub credentials: Option<(String, String)>,
}

// Hand-written so the password never reaches a log line through `{:?}`.
impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("skip_ssl_verify", &self.skip_ssl_verify)
            .field("server_name", &self.server_name)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// Go's `strconv.ParseBool`, which Kratos uses for the query flags; a value
/// it does not understand counts as false, as there.
fn flag(url: &Url, name: &str) -> bool {
    url.query_pairs().any(|(key, value)| {
        key == name && matches!(value.as_ref(), "1" | "t" | "T" | "true" | "TRUE" | "True")
    })
}

fn decode(part: &str, what: &str) -> Result<String, String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {what} is not UTF-8 once percent-decoded"))
}

/// Parses a connection URI. Errors never quote the URI, which may hold a
/// password.
pub fn parse(uri: &str) -> Result<SmtpTarget, String> {
    let url = Url::parse(uri.trim()).map_err(|e| format!("not a URI ({e})"))?;
    let security = match url.scheme() {
        "smtp" if flag(&url, "disable_starttls") => Security::None,
        "smtp" => Security::StartTls,
        "smtps" => Security::Implicit,
        other => {
            return Err(format!(
                "scheme `{other}` is not supported (use smtp:// or smtps://)"
            ));
        }
    };
    let host = match url.host() {
        Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return Err("the URI names no host".to_owned()),
    };
    let port = url.port().unwrap_or(match security {
        Security::Implicit => 465,
        Security::StartTls | Security::None => 587,
    });
    let credentials = if url.username().is_empty() {
        None
    } else {
        Some((
            decode(url.username(), "user")?,
            decode(url.password().unwrap_or_default(), "password")?,
        ))
    };
    let server_name = url
        .query_pairs()
        .find(|(key, value)| key == "server_name" && !value.is_empty())
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| host.clone());
    Ok(SmtpTarget {
        host,
        port,
        security,
        skip_ssl_verify: flag(&url, "skip_ssl_verify"),
        server_name,
        credentials,
    })
}

/// The URI with its password replaced, for logs and error messages.
pub fn redact(uri: &str) -> String {
    match Url::parse(uri.trim()) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(unparseable URI)".to_owned(),
    }
}

/// How long one SMTP step (connect, a command) may take, as in Kratos.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled lettre SMTP transport for one connection URI.
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    pub fn new(target: &SmtpTarget) -> Result<Self, String> {
        let tls_parameters = || {
            TlsParameters::builder(target.server_name.clone())
                // Go's InsecureSkipVerify, which Kratos sets, skips both the
                // chain and the name check; lettre splits them.
                .dangerous_accept_invalid_certs(target.skip_ssl_verify)
                .dangerous_accept_invalid_hostnames(target.skip_ssl_verify)
                .build()
                .map_err(|e| format!("TLS parameters: {e}"))
        };
        let tls = match target.security {
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Implicit => Tls::Wrapper(tls_parameters()?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
            .port(target.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &target.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            inner: builder.build(),
        })
    }

    pub fn from_uri(uri: &str) -> Result<Self, String> {
        Self::new(&parse(uri)?)
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        match self.inner.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer will not change on retry (Kratos abandons too);
            // anything else (refused, timeout, 4xx) may.
            Err(e) if e.is_permanent() => Err(SendError::permanent(e.to_string())),
            Err(e) => Err(SendError::transient(e.to_string())),
        }
    }
}

/// Keeps one transport per connection URI, so lettre's pool reuses
/// connections across messages and batches. Keyed by a hash of the URI;
/// the URI is kept next to it only to rule out a collision handing one
/// project's mail to another's server.
#[derive(Default)]
pub struct SmtpTransports {
    by_uri: Mutex<HashMap<u64, (String, Arc<SmtpTransport>)>>,
}

/// Past this many distinct URIs the cache starts over (it only saves
/// reconnects; old pools close when dropped).
const MAX_TRANSPORTS: usize = 256;

impl SmtpTransports {
    /// The transport of a project's connection URI. Its host is resolved
    /// here and the connection made to the address found (the certificate
    /// is still checked against the name), so the address checked is the
    /// one connected to: without `allow_private`, a loopback, private or
    /// link-local server is refused, and DNS cannot swap one in later.
    pub async fn get(&self, uri: &str, allow_private: bool) -> Result<Arc<SmtpTransport>, String> {
        let mut target = parse(uri)?;
        let address = resolve(&target.host, target.port, allow_private).await?;
        target.host = address.ip().to_string();
        // Keyed by URI and address: a server that moves gets a new pool.
        let cache_key = format!("{uri}\n{address}");
        let mut hasher = DefaultHasher::new();
        cache_key.hash(&mut hasher);
        let key = hasher.finish();
        let mut map = self.by_uri.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, transport)) = map.get(&key)
            && *cached == cache_key
        {
            return Ok(transport.clone());
        }
        let transport = Arc::new(SmtpTransport::new(&target)?);
        if map.len() >= MAX_TRANSPORTS {
            map.clear();
        }
        map.insert(key, (cache_key, transport.clone()));
        Ok(transport)
    }
}

/// The first address of `host` a project's mail may go to.
async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<SocketAddr, String> {
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let mut refused = false;
    for address in addresses {
        if allow_private || !kernel::net::is_private(address.ip()) {
            return Ok(address);
        }
        refused = true;
    }
    Err(if refused {
        format!(
            "`{host}` is a loopback, private or link-local address, which a project's SMTP server may not be (courier.allow_private_networks)"
        )
    } else {
        format!("`{host}` has no address")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn smtp_is_mandatory_starttls_with_decoded_credentials() {
        let target = parse("smtp://me%40example.com:p%40ss%2Fw0rd@mail.example.com:2525/").unwrap();
        assert_eq!(target.security, Security::StartTls);
        assert_eq!(target.host, "mail.example.com");
        assert_eq!(target.port, 2525);
        assert_eq!(target.server_name, "mail.example.com");
        assert!(!target.skip_ssl_verify);
        assert_eq!(
            target.credentials,
            Some(("me@example.com".to_owned(), "p@ss/w0rd".to_owned()))
        );
        assert!(!format!("{target:?}").contains("w0rd"));
    }

    #[test]
    fn flags_and_default_ports() {
        let plain = parse("smtp://127.0.0.1:1025/?disable_starttls=true").unwrap();
        assert_eq!(plain.security, Security::None);
        assert_eq!(plain.credentials, None);
        assert_eq!(parse("smtp://mail.example.com").unwrap().port, 587);
        // Go's ParseBool: anything else is false.
        let unsure = parse("smtp://mail.example.com/?disable_starttls=yes").unwrap();
        assert_eq!(unsure.security, Security::StartTls);

        let tls =
            parse("smtps://u:p@mail.example.com/?skip_ssl_verify=true&server_name=mx.example.com")
                .unwrap();
        assert_eq!(tls.security, Security::Implicit);
        assert_eq!(tls.port, 465);
        assert!(tls.skip_ssl_verify);
        assert_eq!(tls.server_name, "mx.example.com");
        assert_eq!(parse("smtp://[::1]:25").unwrap().host, "::1");
    }

    #[test]
    fn bad_uris_are_refused_without_quoting_them() {
        for bad in [
            "http://user:secret@mail.example.com",
            "smtp:///nohost",
            "not a uri secret",
            "smtp://user:%FF%FEsecret@mail.example.com",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(!error.contains("secret"), "{bad}: {error}");
        }
        assert!(
            parse("http://mail.example.com")
                .unwrap_err()
                .contains("http")
        );
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("smtps://me:secret@mail.example.com:465/?skip_ssl_verify=true"),
            "smtps://me:***@mail.example.com:465/?skip_ssl_verify=true"
        );
        assert_eq!(redact("smtp://mail.example.com"), "smtp://mail.example.com");
    }

    #[tokio::test]
    async fn transports_are_cached_per_uri() {
        let transports = SmtpTransports::default();
        let get = |uri: &'static str| transports.get(uri, true);
        let a = get("smtp://127.0.0.1:1/?disable_starttls=true")
            .await
            .unwrap();
        let b = get("smtp://127.0.0.1:1/?disable_starttls=true")
            .await
            .unwrap();
        let c = get("smtp://127.0.0.1:2/?disable_starttls=true")
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(get("ftp://127.0.0.1").await.is_err());
    }

    #[tokio::test]
    async fn a_project_server_on_a_private_address_is_refused() {
        let transports = SmtpTransports::default();
        for uri in [
            "smtp://127.0.0.1:2525/",
            "smtp://localhost:25/",
            "smtps://[::1]:465/",
            "smtp://10.1.2.3/",
            "smtp://169.254.169.254/",
        ] {
            let error = transports.get(uri, false).await.err().unwrap_or_default();
            assert!(
                error.contains("courier.allow_private_networks"),
                "{uri}: {error}"
            );
        }
        assert!(transports.get("smtp://127.0.0.1:2525/", true).await.is_ok());
        // A public literal address is allowed (nothing is connected yet).
        assert!(
            transports
                .get("smtp://93.184.216.34:25/", false)
                .await
                .is_ok()
        );
    }
}
