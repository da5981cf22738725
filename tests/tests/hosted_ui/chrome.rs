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
