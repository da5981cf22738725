//! A real browser for the hosted UI tests: Debian's Chromium, driven over
//! WebDriver by its chromedriver (installed by `.ci/services`), one
//! chromedriver and one fresh profile per test. Also axe-core (vendored
//! from the npm registry in `tests/fixtures/axe-core`) and screenshots.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = include_str!("../../fixtures/axe-core/axe.min.js");

pub struct Chrome {
    pub client: Client,
    driver: Child,
    /// `http://127.0.0.1:<port>` of the chromedriver, for the extension
    /// commands fantoccini has no method for (virtual authenticators).
    #[allow(dead_code)] // only the WebAuthn tests use it
    driver_url: String,
    _profile: PathBuf,
}

impl Chrome {
    /// A headless Chromium whose `Accept-Language` is `languages`.
    pub async fn start(languages: &str) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: `bash .ci/services` installs chromium and chromium-driver"
            );
        }
        let port = keyplane_tests::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir()
            .join("keyplane-tests")
            .join(format!("chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                // Without the background-networking flags Chromium keeps
                // calling Google's hosts, which this closed network refuses.
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1024,1000", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--lang={}", languages.split(',').next().unwrap_or("en")),
                ],
                "prefs": { "intl.accept_languages": languages },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        driver,
                        driver_url: url,
                        _profile: profile,
                    };
                }
                Err(err) => last_error = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last_error}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.unwrap();
        element.attr(name).await.unwrap()
    }

    /// Types into the field `css` (cleared first).
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        element.clear().await.unwrap();
        element.send_keys(value).await.unwrap();
    }

    /// Clicks `css`, which leads to another page, and waits until that
    /// page has loaded: WebDriver does not wait for a click's navigation,
    /// and the old document says "complete" until it is replaced, so the
    /// old one is marked first.
    pub async fn click(&self, css: &str) {
        self.client
            .execute("window.__keyplaneOldPage = true;", vec![])
            .await
            .unwrap();
        self.toggle(css).await;
        for _ in 0..200 {
            let state = self
                .client
                .execute(
                    "return window.__keyplaneOldPage ? 'old' : document.readyState",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            if state == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} led to no new page");
    }

    /// Clicks `css` on this page (a checkbox).
    pub async fn toggle(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Runs axe-core on the page; panics on any serious or critical
    /// violation, naming the rule and the elements.
    pub async fn assert_accessible(&self, page: &str) {
        self.client
            .execute(&format!("{AXE}\nreturn typeof axe;"), vec![])
            .await
            .unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ')) }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', nodes: [String(e)] }]));",
                vec![],
            )
            .await
            .unwrap();
        let serious: Vec<&Value> = result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(serious.is_empty(), "axe on {page}: {serious:#?}");
    }

    /// A PNG of the viewport, into `UI_SCREENSHOTS_DIR` (the docs use
    /// `docs/ui`) or a temporary directory.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::env::var("UI_SCREENSHOTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir().join("keyplane-tests").join("ui"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The page is at most `width` CSS pixels wide (nothing scrolls
    /// sideways).
    pub async fn assert_fits(&self, width: u64) {
        let scroll = self
            .client
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .unwrap();
        assert!(
            scroll.as_u64().unwrap() <= width,
            "the page is {scroll}px wide at {width}px"
        );
    }
}

/// Virtual authenticators (W3C WebAuthn §11, which chromedriver
/// implements): WebDriver extension commands sent straight to the driver
/// with the session's id, as fantoccini's `issue_cmd` would need the `http`
/// crate's types. Only the WebAuthn tests use these.
#[allow(dead_code)]
impl Chrome {
    async fn extension(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let session = self.client.session_id().await.unwrap().expect("a session");
        let url = format!("{}/session/{session}/{path}", self.driver_url);
        let mut request = reqwest::Client::new().request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        answer["value"].clone()
    }

    /// Adds a virtual authenticator with `options` (`protocol`,
    /// `transport`, `hasResidentKey`, `hasUserVerification`,
    /// `isUserVerified`, ...; it consents by itself); its id.
    pub async fn add_virtual_authenticator(&self, options: Value) -> String {
        let mut options = options;
        options["isUserConsenting"] = json!(true);
        let id = self
            .extension(
                reqwest::Method::POST,
                "webauthn/authenticator",
                Some(options),
            )
            .await;
        id.as_str().expect("an authenticator id").to_owned()
    }

    /// A USB security key for a second factor: no resident keys, no user
    /// verification.
    pub async fn add_security_key(&self) -> String {
        self.add_virtual_authenticator(json!({
            "protocol": "ctap2", "transport": "usb", "hasResidentKey": false,
            "hasUserVerification": false, "isUserVerified": false,
        }))
        .await
    }

    /// A platform authenticator for passkeys: resident keys, and the user
    /// verified (a fingerprint, say).
    pub async fn add_platform_authenticator(&self) -> String {
        self.add_virtual_authenticator(json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
        }))
        .await
    }

    /// The credentials the authenticator `id` holds (`credentialId`,
    /// `isResidentCredential`, `rpId`, `userHandle`, `signCount`, ...).
    pub async fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        let path = format!("webauthn/authenticator/{id}/credentials");
        let list = self.extension(reqwest::Method::GET, &path, None).await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// Whether the authenticator `id` verifies its user from now on.
    pub async fn set_user_verified(&self, id: &str, verified: bool) {
        let path = format!("webauthn/authenticator/{id}/uv");
        self.extension(
            reqwest::Method::POST,
            &path,
            Some(json!({ "isUserVerified": verified })),
        )
        .await;
    }

    pub async fn remove_virtual_authenticator(&self, id: &str) {
        let path = format!("webauthn/authenticator/{id}");
        self.extension(reqwest::Method::DELETE, &path, None).await;
    }

    /// Clicks `css`, a button whose script leads to another page (a
    /// WebAuthn trigger: the ceremony, then the form sent), and waits for
    /// that page; panics with the alert the script raised, if any.
    pub async fn click_script(&self, css: &str) {
        self.client
            .execute("window.__keyplaneOldPage = true;", vec![])
            .await
            .unwrap();
        self.toggle(css).await;
        for _ in 0..200 {
            match self
                .client
                .execute(
                    "return window.__keyplaneOldPage ? 'old' : document.readyState",
                    vec![],
                )
                .await
            {
                Ok(state) if state == "complete" => return,
                Ok(_) => {}
                // chromedriver dismisses an alert and names it in the error
                // of the next command.
                Err(err) => panic!("clicking {css}: {err}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let at = self.path().await;
        let text = self.text("main").await;
        panic!("clicking {css} led to no new page (at {at}: {text})");
    }
}

impl Chrome {
    /// Ends the browser session (Chromium exits), then the driver.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // The browser goes with its driver's session; the driver is ours.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
