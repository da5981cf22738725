//! Running one hook: parse its config, load and render the body, send it.

use crate::config::{Auth, BodyEncoding, BodySource, HookConfig};
use crate::context::WebHookContext;
use crate::error::WebHookFailure;
use crate::guard::{GuardedResolver, check_literal_host};
use crate::render::{MAX_RENDERED_BYTES, WorkerCommand};
use crate::settings::WebHookSettings;
use crate::slots::{RenderSlots, worker_slots};
use kernel::{Error, Result};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The web hook runner: one HTTP client (connection pool) for every tenant.
#[derive(Clone)]
pub struct WebHooks {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    worker: WorkerCommand,
    request_timeout: Duration,
    allow_private: bool,
}

impl WebHooks {
    /// HTTPS needs a process-wide rustls crypto provider. The server installs
    /// ring at start; if none is installed yet, this installs ring itself
    /// rather than let the HTTP client panic.
    pub fn new(settings: &WebHookSettings) -> Result<Self> {
        settings.validate().map_err(Error::internal)?;
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // An error means another thread installed one first: just as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let request_timeout = Duration::from_millis(settings.request_timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout)
            // A redirect could lead to a private address the guard already
            // refused, and Kratos does not follow them for hooks either.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, around the guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private_networks,
            }))
            .user_agent(concat!("keyplane-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("building the web hook client: {e}")))?;
        let workers = worker_slots();
        let program = match &settings.jsonnet_worker {
            Some(path) => path.into(),
            None => std::env::current_exe()
                .map_err(|e| Error::internal(format!("locating the Jsonnet worker: {e}")))?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                worker: WorkerCommand {
                    program,
                    timeout: Duration::from_millis(settings.jsonnet_timeout_ms),
                    memory_mb: settings.jsonnet_memory_mb,
                    slots: RenderSlots::new(workers, settings.jsonnet_per_project(workers)),
                },
                request_timeout,
                allow_private: settings.allow_private_networks,
            }),
        })
    }

    /// Runs one `web_hook` hook of `project` with its Kratos `config`
    /// object. With `response.ignore` the hook runs in the background and
    /// this returns at once (a bad `config` is still reported); otherwise
    /// a transport error, timeout or non-2xx answer is an error.
    pub async fn run(
        &self,
        project: Uuid,
        config: &Value,
        ctx: &WebHookContext,
    ) -> std::result::Result<(), WebHookFailure> {
        let config = HookConfig::parse(config)?;
        let ctx = ctx.to_template_json();
        if config.ignore_response {
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(failure) = this.deliver(project, &config, &ctx).await {
                    tracing::warn!(host = config.url.host_str(), %failure, "web hook failed (its answer is ignored)");
                }
            });
            return Ok(());
        }
        self.deliver(project, &config, &ctx).await
    }

    async fn deliver(
        &self,
        project: Uuid,
        config: &HookConfig,
        ctx: &Value,
    ) -> std::result::Result<(), WebHookFailure> {
        let host = config.url.host_str().unwrap_or_default().to_owned();
        check_literal_host(&config.url, self.inner.allow_private)
            .map_err(|e| WebHookFailure::Delivery(format!("the target {e}")))?;
        let body = match &config.body {
            None => None,
            Some(source) => {
                let template = self.load_template(source).await?;
                let rendered = self.inner.worker.render(project, &template, ctx).await?;
                Some(encode_body(config.encoding, &rendered)?)
            }
        };

        let mut request = self
            .inner
            .client
            .request(config.method.clone(), config.url.clone());
        for (name, value) in &config.headers {
            request = request.header(name, value);
        }
        request = match &config.auth {
            Auth::None => request,
            Auth::ApiKeyHeader { name, value } => request.header(name, value),
            Auth::ApiKeyCookie { name, value } => {
                request.header(reqwest::header::COOKIE, format!("{name}={value}"))
            }
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        if let Some(body) = body {
            request = request.body(body);
        }
        tracing::debug!(%host, method = %config.method, "dispatching web hook");
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_failure(&host, e))?;
        let status = response.status();
        if !status.is_success() {
            tracing::info!(%host, status = status.as_u16(), "web hook rejected");
            return Err(WebHookFailure::Rejected {
                status: status.as_u16(),
            });
        }
        tracing::info!(%host, status = status.as_u16(), "web hook delivered");
        Ok(())
    }

    /// Runs an OIDC provider's claims mapper (`mapper_url`: `base64://` or
    /// `https://`, fetched through the guard) in the sandboxed worker, with
    /// the ID token's claims as `std.extVar('claims')`, as Kratos does.
    pub async fn map_claims(
        &self,
        project: Uuid,
        mapper_url: &str,
        claims: &Value,
    ) -> std::result::Result<Value, WebHookFailure> {
        let source = crate::config::parse_template_source(mapper_url, "mapper_url")?;
        let template = self.load_template(&source).await?;
        let vars = [("claims".to_owned(), claims.clone())].into();
        self.inner
            .worker
            .render_with_vars(project, &template, &Value::Null, vars)
            .await
    }

    /// The guarded HTTP client (no private addresses unless allowed, no
    /// redirects, no proxy), for other outbound calls a tenant's config
    /// points at: OIDC discovery, keys and token exchange.
    pub fn guarded_client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The guard's check of a URL whose host is an address literal (names
    /// are checked by the client's resolver): call it before each request.
    pub fn check_url(&self, url: &url::Url) -> std::result::Result<(), String> {
        check_literal_host(url, self.inner.allow_private)
    }

    /// The template text: inline, or fetched through the guarded client.
    async fn load_template(
        &self,
        source: &BodySource,
    ) -> std::result::Result<String, WebHookFailure> {
        let url = match source {
            BodySource::Inline(text) => return Ok(text.clone()),
            BodySource::Remote(url) => url,
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let failed =
            |m: String| WebHookFailure::Template(format!("fetching the template from {host}: {m}"));
        check_literal_host(url, self.inner.allow_private).map_err(&failed)?;
        let mut response = self
            .inner
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| failed(describe(e, self.inner.request_timeout)))?;
        if !response.status().is_success() {
            return Err(failed(format!(
                "HTTP status {}",
                response.status().as_u16()
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(describe(e, self.inner.request_timeout)))?
        {
            if bytes.len() + chunk.len() > MAX_RENDERED_BYTES {
                return Err(failed(format!("larger than {MAX_RENDERED_BYTES} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8(bytes).map_err(|_| failed("not UTF-8 text".into()))
    }

    fn transport_failure(&self, host: &str, e: reqwest::Error) -> WebHookFailure {
        WebHookFailure::Delivery(format!(
            "{host}: {}",
            describe(e, self.inner.request_timeout)
        ))
    }
}

/// A transport error as one line: the URL (which may carry credentials or
/// tokens) left out, the causes (e.g. the guard's refusal) kept.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn encode_body(
    encoding: BodyEncoding,
    rendered: &Value,
) -> std::result::Result<Vec<u8>, WebHookFailure> {
    match encoding {
        BodyEncoding::Json => serde_json::to_vec(rendered)
            .map_err(|e| WebHookFailure::Template(format!("encoding the body: {e}"))),
        BodyEncoding::Form => {
            // As Kratos: the template renders an object of strings.
            let fields = rendered.as_object().ok_or_else(|| {
                WebHookFailure::Template("a form body must render to an object".into())
            })?;
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in fields {
                let value = value.as_str().ok_or_else(|| {
                    WebHookFailure::Template(format!("form field `{key}` must render to a string"))
                })?;
                form.append_pair(key, value);
            }
            Ok(form.finish().into_bytes())
        }
    }
}
