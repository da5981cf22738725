//! A real OpenID provider for the social sign-in tests: panva's certified
//! `oidc-provider` (npm, pinned in `tests/oidc/package-lock.json`) run by
//! Node.js as `tests/oidc/provider.js`, on a free loopback port. Login is
//! not interactive: the provider logs in the account named by the
//! authorization request's `login_hint` (else the first or default account)
//! and consents to everything, so a plain HTTP client with a cookie store
//! follows its redirects to the client's `redirect_uri`. Test modes make it
//! issue bad ID tokens (expired, signed by a key its JWKS does not publish,
//! a wrong nonce, any claim overridden) or deny every login.
//!
//! ```ignore
//! let idp = OidcProvider::start(
//!     &[Client::new("kp", "secret", "http://127.0.0.1:4433/callback")],
//!     &[Account::new("alice", "alice@example.com").claim("name", "Alice")],
//! )
//! .await;
//! idp.set_mode(&Mode { expired_id_token: true, ..Mode::default() }).await;
//! ```
//!
//! The npm packages are installed on first use (`npm ci`, under a file lock
//! so parallel tests and test binaries don't race) when `.ci/services` has
//! not installed them already.

use serde_json::{Map, Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// A confidential client registered at the provider.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: AuthMethod,
}

impl Client {
    /// A `client_secret_basic` client with one redirect URI.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
        }
    }

    /// The same client, authenticating with `client_secret_post`.
    pub fn post(mut self) -> Self {
        self.token_endpoint_auth_method = AuthMethod::ClientSecretPost;
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
            "token_endpoint_auth_method": self.token_endpoint_auth_method.as_str(),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        })
    }
}

/// An account of the provider: its `sub` and claims (`email`,
/// `email_verified`, `name`, `given_name`, `family_name`, … any standard
/// profile claim), handed out for the scopes a client asks.
#[derive(Debug, Clone)]
pub struct Account {
    pub sub: String,
    pub claims: Map<String, Value>,
}

impl Account {
    /// An account with a verified `email`.
    pub fn new(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            claims: Map::new(),
        }
        .claim("email", email)
        .claim("email_verified", true)
    }

    /// The same account with one more (or another) claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut object = self.claims.clone();
        object.insert("sub".into(), self.sub.clone().into());
        Value::Object(object)
    }
}

/// What the provider does wrong, on purpose. `Mode::default()` is a
/// well-behaved provider. The ID token modes apply to the token endpoint's
/// responses.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// ID tokens whose `exp` is an hour in the past (`iat` two hours).
    pub expired_id_token: bool,
    /// ID tokens signed by a key the JWKS does not publish; the header
    /// keeps the published `kid`, so only the signature check catches it.
    pub foreign_key: bool,
    /// ID tokens whose `nonce` is not the one of the authorization request.
    pub wrong_nonce: bool,
    /// Claims merged into ID tokens last (a wrong `aud` or `iss`,
    /// `email_verified: false`, …).
    pub id_token_claims: Option<Map<String, Value>>,
    /// Every login ends with `error=access_denied` at the redirect URI.
    pub deny: bool,
}

impl Mode {
    fn to_json(&self) -> Value {
        json!({
            "expired_id_token": self.expired_id_token,
            "foreign_key": self.foreign_key,
            "wrong_nonce": self.wrong_nonce,
            "id_token_claims": self.id_token_claims,
            "deny": self.deny,
        })
    }
}

/// A running `tests/oidc/provider.js`; killed when dropped (and it exits by
/// itself when this process dies: its stdin closes).
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`, the `iss` of its tokens.
    pub issuer: String,
    pub port: u16,
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl OidcProvider {
    /// Starts a provider with these clients and accounts; the default
    /// account (no `login_hint`) is the first.
    pub async fn start(clients: &[Client], accounts: &[Account]) -> Self {
        Self::start_with_config(json!({
            "clients": clients.iter().map(Client::to_json).collect::<Vec<_>>(),
            "accounts": accounts.iter().map(Account::to_json).collect::<Vec<_>>(),
        }))
        .await
    }

    /// Starts a provider with a raw `provider.js` configuration (see its
    /// header: `port` (default 0: a free one), `clients` with any client
    /// metadata, `accounts`, `default_account`, `mode`).
    pub async fn start_with_config(config: Value) -> Self {
        tokio::task::spawn_blocking(move || Self::start_blocking(&config))
            .await
            .unwrap()
    }

    fn start_blocking(config: &Value) -> Self {
        let dir = oidc_dir();
        crate::npm::ensure_node_modules(&dir);
        let mut child = Command::new("node")
            .arg(dir.join("provider.js"))
            .arg(config.to_string())
            .env(
                "OIDC_PROVIDER_PORT",
                config["port"].as_u64().unwrap_or(0).to_string(),
            )
            .env("OIDC_PROVIDER_EXIT_ON_STDIN_EOF", "1")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be installed (see .ci/services)");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        // The READY line comes on a thread of its own, so a provider that
        // hangs fails the test after a while instead of blocking it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|line| line.strip_prefix("READY ").map(str::to_owned));
            let _ = tx.send(ready);
            // Drain the rest, so the pipe never fills up.
            for line in lines.map_while(Result::ok) {
                eprintln!("[oidc-provider] {line}");
            }
        });
        let ready = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(ready)) => ready,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tests/oidc/provider.js did not print READY: {other:?}");
            }
        };
        let ready: Value = serde_json::from_str(&ready).unwrap();
        Self {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            port: u16::try_from(ready["port"].as_u64().unwrap()).unwrap(),
            child,
            _stdin: stdin,
        }
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// Replaces the provider's test mode (`Mode::default()` puts it right).
    pub async fn set_mode(&self, mode: &Mode) {
        self.post_test("mode", &mode.to_json()).await;
    }

    /// Adds accounts, or replaces those with the same `sub`.
    pub async fn add_accounts(&self, accounts: &[Account]) {
        let list: Vec<Value> = accounts.iter().map(Account::to_json).collect();
        self.post_test("accounts", &Value::Array(list)).await;
    }

    async fn post_test(&self, what: &str, body: &Value) {
        let url = format!("{}/__test/{what}", self.issuer);
        let response = crate::client()
            .post(&url)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert!(
            response.status().is_success(),
            "POST {url}: {}",
            response.status()
        );
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/oidc`, wherever the workspace is.
pub fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Follows redirects from `start` (GET, with `http`'s cookie store, which
/// must not follow redirects itself) until one points under `stop_prefix`,
/// and returns that URL without requesting it: the provider's answer at a
/// client's `redirect_uri`. Panics on a non-redirect or after 20 hops.
pub async fn follow_redirects_until(
    http: &reqwest::Client,
    start: &str,
    stop_prefix: &str,
) -> url::Url {
    let mut next = url::Url::parse(start).unwrap();
    for _ in 0..20 {
        if next.as_str().starts_with(stop_prefix) {
            return next;
        }
        let response = http
            .get(next.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {next}: {e}"));
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location.filter(|_| status.is_redirection()) else {
            let body = response.text().await.unwrap_or_default();
            panic!("GET {next}: {status} without a redirect: {body}");
        };
        next = next.join(&location).unwrap();
    }
    panic!("more than 20 redirects from {start}");
}

/// The header and the claims of a compact JWT (no signature check).
pub fn jwt_parts(jwt: &str) -> (Value, Value) {
    use base64::Engine as _;
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|e| panic!("JWT part {part:?}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    };
    let mut parts = jwt.split('.');
    let header = decode(parts.next().unwrap());
    let claims = decode(parts.next().expect("a compact JWT"));
    (header, claims)
}
