//! HTTP to the Langfuse public API: Basic auth, the request budget, 429 `Retry-After`, bounded
//! response bodies, and errors that say what to do — never the secret key.
use super::LangfuseStats;
use crate::model::sanitize;
use crate::sources::budget::Budget;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Connect timeout and whole-request timeout (the default of `langfuse.timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Langfuse limits payloads to 5 MB; anything far larger is not a Langfuse answer.
const MAX_BODY: usize = 32 << 20;
/// 429s in a row before a request gives up (each retry waits its Retry-After and is budgeted).
const MAX_THROTTLED_RETRIES: u32 = 5;
/// A 429 without a usable Retry-After waits this long; a longer one is capped.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The Langfuse secret key. `Debug` and `Display` print a placeholder, so the key cannot reach
/// a log line, an error message, `check` output or a panic message by formatting.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(s: impl Into<String>) -> SecretKey {
        SecretKey(s.into())
    }
    /// For the Authorization header only.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What went wrong, worded for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// An environment variable the config names is not set.
    MissingKey {
        var: String,
    },
    BadBaseUrl {
        url: String,
        why: String,
    },
    /// No HTTP answer (DNS, refused, TLS, timeout).
    Unreachable {
        base: String,
        why: String,
    },
    /// 401/403.
    Rejected {
        base: String,
        status: u16,
        public_env: String,
        secret_env: String,
    },
    /// 404 on an endpoint the API version should have.
    NotFound {
        base: String,
        what: NotFound,
    },
    /// Still 429 after the retries.
    RateLimited {
        wait: Duration,
    },
    Http {
        status: u16,
        body: String,
    },
    Decode {
        what: &'static str,
        why: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotFound {
    V2,
    V1,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::MissingKey { var } => write!(
                f,
                "{var} is not set (the [langfuse] section names it for the API keys)"
            ),
            ApiError::BadBaseUrl { url, why } => write!(f, "base URL '{url}' is not usable: {why}"),
            ApiError::Unreachable { base, why } => write!(f, "cannot reach {base}: {why}"),
            ApiError::Rejected {
                base,
                status,
                public_env,
                secret_env,
            } => write!(
                f,
                "keys rejected by {base} (HTTP {status}): check {public_env} and {secret_env} \
                 belong to this project and host"
            ),
            ApiError::NotFound {
                base,
                what: NotFound::V2,
            } => write!(
                f,
                "{base} has no v2 observations API (HTTP 404; self-hosted Langfuse without v4 \
                 mode): set langfuse.api = \"v1\" or \"auto\""
            ),
            ApiError::NotFound {
                base,
                what: NotFound::V1,
            } => write!(
                f,
                "{base} has no v1 read API (HTTP 404; Langfuse Cloud removed it on 2026-11-16): \
                 set langfuse.api = \"v2\" or \"auto\""
            ),
            ApiError::RateLimited { wait } => write!(
                f,
                "rate limited by Langfuse (HTTP 429) after {MAX_THROTTLED_RETRIES} retries; \
                 next try in {} s",
                wait.as_secs()
            ),
            ApiError::Http { status, body } => {
                if body.is_empty() {
                    write!(f, "Langfuse answered HTTP {status}")
                } else {
                    write!(f, "Langfuse answered HTTP {status}: {body}")
                }
            }
            ApiError::Decode { what, why } => write!(f, "unexpected answer to {what}: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// `https://user:pass@host/x/` → `https://host/x` (credentials in a URL would end up in errors).
pub fn strip_userinfo(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return trimmed.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}{path}")
}

/// Validate a base URL: http(s), a host, no credentials, no query.
pub fn parse_base(url: &str) -> Result<String, ApiError> {
    let shown = strip_userinfo(url);
    let bad = |why: &str| ApiError::BadBaseUrl {
        url: sanitize::clean_owned(&shown),
        why: why.to_string(),
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "credentials belong in the key environment variables, not in the URL",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("no query or fragment, please"));
    }
    Ok(shown)
}

/// Called when a 429 makes the client wait (for a health message).
pub type OnThrottle = Box<dyn Fn(Duration) + Send + Sync>;

pub struct Api {
    http: reqwest::Client,
    base: String,
    public_key: String,
    secret: SecretKey,
    public_env: String,
    secret_env: String,
    pub budget: Budget,
    stats: Arc<LangfuseStats>,
    on_throttle: Option<OnThrottle>,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("public_key", &self.public_key)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// Keys, base URL and budget for one client.
#[derive(Clone, Debug)]
pub struct Access {
    pub base: String,
    pub public_key: String,
    pub secret: SecretKey,
    pub public_env: String,
    pub secret_env: String,
}

fn describe(e: &reqwest::Error) -> String {
    // The chain's innermost cause says the most (refused, DNS, certificate); the URL is left
    // out (the message names the base URL already).
    let mut inner: &dyn std::error::Error = e;
    while let Some(src) = inner.source() {
        inner = src;
    }
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("connection failed ({inner})")
    } else {
        inner.to_string()
    };
    sanitize::clean_owned(&what)
}

/// `Retry-After: <seconds>` or an HTTP date.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let d = at.signed_duration_since(chrono::Utc::now()).to_std().ok()?;
    Some(d)
}

impl Api {
    pub fn new(access: Access, budget: Budget, stats: Arc<LangfuseStats>) -> Result<Api, ApiError> {
        Api::with_timeout(access, budget, stats, REQUEST_TIMEOUT)
    }

    /// [`Api::new`] with `timeout` for each request, body included (connect: at most 10 s).
    pub fn with_timeout(
        access: Access,
        budget: Budget,
        stats: Arc<LangfuseStats>,
        timeout: Duration,
    ) -> Result<Api, ApiError> {
        crate::kube_client::install_crypto_provider();
        let timeout = if timeout.is_zero() {
            REQUEST_TIMEOUT
        } else {
            timeout
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("hybridtop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Unreachable {
                base: access.base.clone(),
                why: format!("cannot set up the HTTP client: {}", describe(&e)),
            })?;
        Ok(Api {
            http,
            base: access.base,
            public_key: access.public_key,
            secret: access.secret,
            public_env: access.public_env,
            secret_env: access.secret_env,
            budget,
            stats,
            on_throttle: None,
        })
    }

    pub fn on_throttle(&mut self, f: OnThrottle) {
        self.on_throttle = Some(f);
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` under the base URL. `Ok(None)` is a 404 (the caller knows what it means).
    pub async fn get(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        what: &'static str,
    ) -> Result<Option<Value>, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut throttled = 0u32;
        loop {
            self.budget.acquire().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .get(&url)
                .basic_auth(&self.public_key, Some(self.secret.expose()))
                .query(query)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    return Err(ApiError::Unreachable {
                        base: self.base.clone(),
                        why: describe(&e),
                    })
                }
            };
            let status = resp.status().as_u16();
            match status {
                200..=299 => {
                    let body = read_body(resp).await.map_err(|why| ApiError::Decode {
                        what,
                        why: sanitize::clean_owned(&why),
                    })?;
                    return serde_json::from_slice(&body)
                        .map(Some)
                        .map_err(|e| ApiError::Decode {
                            what,
                            why: sanitize::clean_owned(&e.to_string()),
                        });
                }
                429 => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = retry_after(resp.headers())
                        .unwrap_or(DEFAULT_RETRY_AFTER)
                        .min(MAX_RETRY_AFTER);
                    self.budget.defer_until(Instant::now() + wait);
                    tracing::warn!(
                        "langfuse: HTTP 429 on {what}; waiting {:.1} s as Retry-After asks",
                        wait.as_secs_f64()
                    );
                    throttled += 1;
                    if throttled > MAX_THROTTLED_RETRIES {
                        return Err(ApiError::RateLimited { wait });
                    }
                    if let Some(f) = &self.on_throttle {
                        f(wait);
                    }
                }
                401 | 403 => {
                    return Err(ApiError::Rejected {
                        base: self.base.clone(),
                        status,
                        public_env: self.public_env.clone(),
                        secret_env: self.secret_env.clone(),
                    })
                }
                404 => return Ok(None),
                _ => {
                    let body = read_body(resp).await.unwrap_or_default();
                    return Err(ApiError::Http {
                        status,
                        body: snippet(&body),
                    });
                }
            }
        }
    }
}

/// The first 200 characters of an error body, cleaned (a JSON `message` when there is one).
/// Public for the fuzz target: error bodies are remote bytes that end up on screen.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let msg = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.into_owned());
    let clean = sanitize::clean_owned(msg.trim());
    match clean.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_BODY {
                    return Err(format!("response larger than {} MB", MAX_BODY >> 20));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(describe(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats() {
        let s = SecretKey::new("sk-lf-very-secret");
        assert!(!format!("{s:?} {s} {s:#?}").contains("very-secret"));
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base("https://us.cloud.langfuse.com/").unwrap(),
            "https://us.cloud.langfuse.com"
        );
        assert_eq!(
            parse_base("http://10.0.0.5:3000/langfuse").unwrap(),
            "http://10.0.0.5:3000/langfuse"
        );
        let e = parse_base("https://pk-lf-1:sk-lf-2@cloud.langfuse.com").unwrap_err();
        assert!(!e.to_string().contains("sk-lf-2"), "{e}");
        assert!(e.to_string().contains("credentials"), "{e}");
        assert!(parse_base("ftp://x").is_err());
        assert!(parse_base("not a url").is_err());
        assert_eq!(strip_userinfo("https://a:b@h/p/"), "https://h/p");
    }

    #[test]
    fn retry_after_forms() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        h.insert(
            reqwest::header::RETRY_AFTER,
            later.to_rfc2822().parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_bodies_are_cleaned_and_short() {
        let s = snippet(b"{\"message\":\"bad \\u001b[31mthing\"}");
        assert_eq!(s, "bad thing");
        let long = "x".repeat(500);
        assert_eq!(snippet(long.as_bytes()).chars().count(), 201);
    }
}
