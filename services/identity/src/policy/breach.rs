//! Client of the Pwned Passwords range API
//! (`GET {base}/range/{first 5 hex digits of SHA-1}`), with a cache of
//! range responses.

use std::sync::Arc;
use std::time::Duration;

use kernel::{Error, Result};
use sha1::{Digest as _, Sha1};

/// Where Have I Been Pwned serves the range API.
pub const DEFAULT_BASE_URL: &str = "https://api.pwnedpasswords.com";

/// How long a range response is reused (as Kratos caches hashes).
const CACHE_TTL: Duration = Duration::from_secs(60 * 60);
/// Cache capacity in suffix entries; a range holds roughly 800 to 1,000
/// (padded responses ~1,000), 48 bytes each: about 10 MB in all.
const CACHE_MAX_ENTRIES: u64 = 200_000;
/// Real range responses are ~40 KB; anything far larger is refused.
const MAX_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

/// Hex digits of a SHA-1 after the 5-digit prefix.
const SUFFIX_LEN: usize = 35;

type Suffix = [u8; SUFFIX_LEN];
/// One range response: (upper-case suffix, breach count), sorted by suffix.
type Range = Arc<Vec<(Suffix, u64)>>;

/// Looks passwords up in the breach corpus. Cheap to clone.
#[derive(Clone)]
pub struct BreachChecker {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    /// Base URL without a trailing slash.
    base: String,
    cache: moka::future::Cache<String, Range>,
}

impl std::fmt::Debug for BreachChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachChecker")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl BreachChecker {
    /// A client of the range API under `base_url` (e.g. [`DEFAULT_BASE_URL`]
    /// or a self-hosted mirror); `timeout` bounds each request.
    ///
    /// HTTPS needs a process-wide rustls crypto provider. The server installs
    /// ring at start; if none is installed yet, this installs ring itself
    /// rather than let the HTTP client panic.
    pub fn new(base_url: url::Url, timeout: Duration) -> Result<Self> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // An error means another thread installed one first: just as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("keyplane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("building the breach check client: {e}")))?;
        let cache = moka::future::Cache::builder()
            .max_capacity(CACHE_MAX_ENTRIES)
            .weigher(|_prefix: &String, range: &Range| {
                u32::try_from(range.len()).unwrap_or(u32::MAX).max(1)
            })
            .time_to_live(CACHE_TTL)
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                base: base_url.as_str().trim_end_matches('/').to_owned(),
                cache,
            }),
        })
    }

    /// A client of the public API at [`DEFAULT_BASE_URL`].
    pub fn pwnedpasswords(timeout: Duration) -> Result<Self> {
        let url = url::Url::parse(DEFAULT_BASE_URL).map_err(Error::internal)?;
        Self::new(url, timeout)
    }

    /// How many breaches the corpus lists `password` in (0 if none). `Err`
    /// with a description when the range could not be fetched or parsed.
    pub async fn breach_count(&self, password: &str) -> Result<u64, String> {
        let digest = hex::encode_upper(Sha1::digest(password.as_bytes()));
        let (prefix, suffix) = digest.split_at(5);
        let suffix: Suffix = suffix
            .as_bytes()
            .try_into()
            .map_err(|_| "unexpected SHA-1 length".to_owned())?;
        let range = self
            .inner
            .cache
            .try_get_with(prefix.to_owned(), self.fetch_range(prefix))
            .await
            .map_err(|e| (*e).clone())?;
        Ok(range
            .binary_search_by(|(s, _)| s.cmp(&suffix))
            .ok()
            .and_then(|i| range.get(i))
            .map_or(0, |(_, count)| *count))
    }

    async fn fetch_range(&self, prefix: &str) -> Result<Range, String> {
        let url = format!("{}/range/{prefix}", self.inner.base);
        let mut response = self
            .inner
            .client
            .get(&url)
            // Pads the response with zero-count entries, so its size does not
            // hint at the prefix.
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "GET {url}: unexpected status code {}",
                response.status()
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(format!(
                    "GET {url}: response larger than {MAX_RESPONSE_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let body = std::str::from_utf8(&body).map_err(|_| format!("GET {url}: not UTF-8"))?;
        parse_range(body).map(Arc::new)
    }
}

/// Parses `SUFFIX:COUNT` lines. A line without a count counts once, as
/// Kratos reads it; lines whose suffix is not 35 hex digits are skipped.
pub(super) fn parse_range(body: &str) -> Result<Vec<(Suffix, u64)>, String> {
    let mut entries = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (suffix, count) = match line.split_once(':') {
            Some((suffix, count)) => {
                let count = count
                    .trim()
                    .parse()
                    .map_err(|_| format!("range response has a malformed count in {line:?}"))?;
                (suffix.trim(), count)
            }
            None => (line, 1),
        };
        let Ok(mut suffix) = Suffix::try_from(suffix.as_bytes()) else {
            continue;
        };
        if !suffix.iter().all(u8::is_ascii_hexdigit) {
            continue;
        }
        suffix.make_ascii_uppercase();
        entries.push((suffix, count));
    }
    entries.sort_unstable_by_key(|(suffix, _)| *suffix);
    Ok(entries)
}
