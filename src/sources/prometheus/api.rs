//! HTTP to a Prometheus query API: auth (none, a bearer token from the environment, SigV4 for
//! Amazon Managed Service for Prometheus), the request budget, timeouts, bounded bodies, and
//! errors that say what to do — never the token or the credentials.
use super::decode::{self, DecodeError, Sample};
use crate::config::{PrometheusAuth, PrometheusConfig};
use crate::model::sanitize;
use crate::sources::budget::Budget;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::fmt;
use std::time::{Duration, SystemTime};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A query answer for a few dozen series is kilobytes; anything far larger is not one.
const MAX_BODY: usize = 8 << 20;

/// The bearer token: `Debug` and `Display` print a placeholder.
#[derive(Clone)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How requests are authorised.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(Token),
    Sigv4 {
        region: String,
        credentials: SharedCredentialsProvider,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("none"),
            Auth::Bearer(_) => f.write_str("bearer(<redacted>)"),
            Auth::Sigv4 { region, .. } => write!(f, "sigv4({region})"),
        }
    }
}

impl Auth {
    pub fn as_str(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Bearer(_) => "bearer",
            Auth::Sigv4 { .. } => "sigv4",
        }
    }
}

/// What went wrong, worded for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromError {
    MissingToken {
        var: String,
    },
    BadUrl {
        url: String,
        why: String,
    },
    NoRegion {
        url: String,
    },
    Credentials {
        why: String,
    },
    Unreachable {
        base: String,
        why: String,
    },
    Rejected {
        base: String,
        status: u16,
        auth: &'static str,
    },
    Http {
        base: String,
        status: u16,
        body: String,
    },
    Decode(DecodeError),
}

impl fmt::Display for PromError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromError::MissingToken { var } => write!(
                f,
                "{var} is not set (auth = \"bearer\" reads the token from it; [prometheus] bearer_token_env)"
            ),
            PromError::BadUrl { url, why } => write!(f, "prometheus.url '{url}' is not usable: {why}"),
            PromError::NoRegion { url } => write!(
                f,
                "no AWS region for SigV4: '{url}' names none and the AWS default chain has none (set AWS_REGION)"
            ),
            PromError::Credentials { why } => {
                write!(f, "no AWS credentials for SigV4 from the default chain: {why}")
            }
            PromError::Unreachable { base, why } => write!(f, "cannot reach {base}: {why}"),
            PromError::Rejected { base, status, auth } => write!(
                f,
                "{base} refused the request (HTTP {status}, auth = \"{auth}\"): check the token or the IAM permission aps:QueryMetrics"
            ),
            PromError::Http { base, status, body } => {
                write!(f, "{base} answered HTTP {status}: {body}")
            }
            PromError::Decode(e) => e.fmt(f),
        }
    }
}

impl PromError {
    /// Waiting will not fix it: configuration, credentials, permissions.
    pub fn permanent(&self) -> bool {
        matches!(
            self,
            PromError::MissingToken { .. }
                | PromError::BadUrl { .. }
                | PromError::NoRegion { .. }
                | PromError::Rejected { .. }
        )
    }
}

/// The region of an Amazon Managed Service for Prometheus URL
/// (`https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-…`).
pub fn region_from_url(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = host.strip_prefix("aps-workspaces.")?;
    let region = rest.split('.').next()?;
    (!region.is_empty() && rest[region.len()..].starts_with(".amazonaws.com"))
        .then(|| region.to_string())
}

pub fn parse_base(raw: &str) -> Result<reqwest::Url, PromError> {
    let bad = |why: String| PromError::BadUrl {
        url: sanitize::clean_owned(raw),
        why,
    };
    let mut u = reqwest::Url::parse(raw.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must be http:// or https://".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(
            "must not carry credentials (use auth = \"bearer\")".into()
        ));
    }
    let path = u.path().trim_end_matches('/').to_string();
    u.set_path(&path);
    u.set_query(None);
    Ok(u)
}

/// Resolve the configured auth: read the token, or load the AWS region and credentials.
pub async fn resolve_auth(cfg: &PrometheusConfig, base: &reqwest::Url) -> Result<Auth, PromError> {
    match cfg.auth {
        PrometheusAuth::None => Ok(Auth::None),
        PrometheusAuth::Bearer => std::env::var(&cfg.bearer_token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Auth::Bearer(Token(t.trim().to_string())))
            .ok_or_else(|| PromError::MissingToken {
                var: cfg.bearer_token_env.clone(),
            }),
        PrometheusAuth::Sigv4 => {
            let aws = crate::config::AwsConfig::default();
            let sdk = crate::sources::aws::sdk_config(&aws, &Default::default()).await;
            let region = region_from_url(base)
                .or_else(|| sdk.region().map(|r| r.to_string()))
                .ok_or_else(|| PromError::NoRegion {
                    url: base.to_string(),
                })?;
            let credentials = sdk
                .credentials_provider()
                .ok_or_else(|| PromError::Credentials {
                    why: "no provider".into(),
                })?;
            Ok(Auth::Sigv4 {
                region,
                credentials,
            })
        }
    }
}

/// A client for one Prometheus API.
pub struct Api {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
    budget: Budget,
    /// Requests sent (tests and check read it).
    pub requests: u64,
}

impl Api {
    pub fn new(
        base: reqwest::Url,
        auth: Auth,
        budget: Budget,
        timeout: Duration,
    ) -> Result<Api, PromError> {
        crate::kube_client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("hybridtop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PromError::Unreachable {
                base: base.to_string(),
                why: format!("cannot set up the HTTP client: {}", describe(&e)),
            })?;
        Ok(Api {
            http,
            base,
            auth,
            budget,
            requests: 0,
        })
    }

    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    fn url(&self, api_path: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let mut u = self.base.clone();
        let path = format!("{}{api_path}", self.base.path().trim_end_matches('/'));
        u.set_path(&path);
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query.iter().copied());
        }
        u
    }

    /// GET within the budget; the body of a 2xx, or of a 4xx/5xx carrying the API's error JSON.
    async fn get(&mut self, api_path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, PromError> {
        let url = self.url(api_path, query);
        self.budget.acquire().await;
        self.requests += 1;
        let mut req = self.http.get(url.clone());
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.bearer_auth(&t.0),
            Auth::Sigv4 {
                region,
                credentials,
            } => {
                for (k, v) in sign(url.as_str(), region, credentials).await? {
                    req = req.header(k, v);
                }
            }
        }
        let base = self.base.to_string();
        let resp = req.send().await.map_err(|e| PromError::Unreachable {
            base: base.clone(),
            why: describe(&e),
        })?;
        let status = resp.status().as_u16();
        let body = read_body(resp)
            .await
            .map_err(|why| PromError::Unreachable {
                base: base.clone(),
                why,
            })?;
        if status == 401 || status == 403 {
            return Err(PromError::Rejected {
                base,
                status,
                auth: self.auth.as_str(),
            });
        }
        if (200..300).contains(&status) {
            return Ok(body);
        }
        // 400/422/503 from Prometheus carry `{"status":"error",…}`: its words are the best.
        match decode::query(&body) {
            Err(DecodeError::Api { error_type, error }) => {
                Err(PromError::Decode(DecodeError::Api {
                    error_type: format!("{error_type} (HTTP {status})"),
                    error,
                }))
            }
            _ => Err(PromError::Http {
                base,
                status,
                body: sanitize::clean_owned(&String::from_utf8_lossy(&body[..body.len().min(200)])),
            }),
        }
    }

    /// Metric names of the series `selector` matches (`/api/v1/label/__name__/values`).
    pub async fn names(&mut self, selector: &str) -> Result<Vec<String>, PromError> {
        let body = self
            .get(
                "/api/v1/label/__name__/values",
                &[("match[]", selector.trim())],
            )
            .await?;
        decode::names(&body).map_err(PromError::Decode)
    }

    /// One instant query at `time` (Unix seconds).
    pub async fn query(&mut self, promql: &str, time: f64) -> Result<Vec<Sample>, PromError> {
        let t = format!("{time:.3}");
        let body = self
            .get("/api/v1/query", &[("query", promql), ("time", &t)])
            .await?;
        decode::query(&body).map_err(PromError::Decode)
    }
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(format!("answer larger than {} MiB", MAX_BODY >> 20));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// SigV4 headers for a GET of `url` (service `aps`), from the default credential chain.
async fn sign(
    url: &str,
    region: &str,
    credentials: &SharedCredentialsProvider,
) -> Result<Vec<(String, String)>, PromError> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let creds = credentials
        .provide_credentials()
        .await
        .map_err(|e| PromError::Credentials {
            why: sanitize::clean_owned(&e.to_string()),
        })?;
    let identity: aws_smithy_runtime_api::client::identity::Identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("aps")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| PromError::Credentials { why: e.to_string() })?
        .into();
    let req = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| PromError::Credentials {
            why: format!("cannot sign the request: {e}"),
        })?;
    let (instructions, _sig) = sign(req, &params)
        .map_err(|e| PromError::Credentials {
            why: format!("cannot sign the request: {e}"),
        })?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn describe(e: &reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amp_region_and_base_paths() {
        let u =
            parse_base("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/").unwrap();
        assert_eq!(region_from_url(&u).as_deref(), Some("eu-west-1"));
        assert_eq!(u.path(), "/workspaces/ws-1");
        assert_eq!(
            region_from_url(&parse_base("http://127.0.0.1:9090").unwrap()),
            None
        );
        assert!(parse_base("ftp://x").is_err());
        assert!(parse_base("http://u:p@x")
            .unwrap_err()
            .to_string()
            .contains("credentials"));
        assert!(!format!("{:?}", Auth::Bearer(Token("s3cret".into()))).contains("s3cret"));
    }

    #[tokio::test]
    async fn a_bearer_token_is_sent_and_never_shown() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let body = "{\"status\":\"error\",\"errorType\":\"unauthorized\",\"error\":\"no\"}";
            let _ = write!(
                s,
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        let base = parse_base(&format!("http://127.0.0.1:{port}")).unwrap();
        let auth = Auth::Bearer(Token("tok-SECRET-123".into()));
        let budget = Budget::new(10, Duration::from_secs(60));
        let mut api = Api::new(base, auth, budget, Duration::from_secs(5)).unwrap();
        let e = api.query("up", 1.0).await.unwrap_err();
        let req = server.join().unwrap();
        assert!(
            req.contains("authorization: Bearer tok-SECRET-123"),
            "{req}"
        );
        assert!(
            matches!(e, PromError::Rejected { status: 401, .. }),
            "{e:?}"
        );
        assert!(e.permanent());
        assert!(!e.to_string().contains("SECRET") && !format!("{e:?}").contains("SECRET"));
    }

    #[tokio::test]
    async fn sigv4_signs_with_the_aps_service() {
        let creds =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "t");
        let p = SharedCredentialsProvider::new(creds);
        let h = sign(
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query?query=up",
            "us-east-1",
            &p,
        )
        .await
        .unwrap();
        let auth = h
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(auth.contains("/us-east-1/aps/aws4_request"), "{auth}");
        assert!(!auth.contains("secret"));
        assert!(h.iter().any(|(k, _)| k == "x-amz-date"));
    }
}
