//! What the AWS sources (CloudWatch, Cost Explorer) share: the SDK configuration (aws-config's
//! default chain, `aws.region`, `aws.profile`, the standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` variables), timeouts and SDK retries, errors turned into messages
//! that say what to do, per-source jittered backoff, and the `hybridtop check` lines.
use crate::config::AwsConfig;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::sources::UpdateTx;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regex::Regex;
use std::error::Error as StdError;
use std::sync::LazyLock;
use std::time::Duration;

/// Cost Explorer has a single endpoint, in us-east-1, whatever the dashboard's region.
pub const COST_EXPLORER_REGION: &str = "us-east-1";
/// GetMetricData: $0.01 per 1,000 metric+stat pairs requested.
pub const USD_PER_METRIC_REQUESTED: f64 = 0.01 / 1000.0;
/// ListMetrics (and other CloudWatch "requests" APIs): $0.01 per 1,000 requests.
pub const USD_PER_CLOUDWATCH_REQUEST: f64 = 0.01 / 1000.0;
/// Cost Explorer: $0.01 per request, every page.
pub const USD_PER_COST_EXPLORER_REQUEST: f64 = 0.01;

/// Timeouts, SDK retries and the source-level backoff. The defaults suit production; tests
/// shrink them.
#[derive(Clone, Debug)]
pub struct AwsTuning {
    pub connect_timeout: Duration,
    /// One HTTP attempt.
    pub attempt_timeout: Duration,
    /// One operation, retries included.
    pub operation_timeout: Duration,
    /// SDK attempts per operation (standard mode: jittered exponential backoff on throttling,
    /// 5xx and transient errors).
    pub max_attempts: u32,
    pub initial_retry_backoff: Duration,
    /// After a failed refresh the source waits `backoff_base × 2^(n-1)` (jittered, at most
    /// `backoff_cap`) before trying again.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for AwsTuning {
    fn default() -> Self {
        AwsTuning {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
            operation_timeout: Duration::from_secs(45),
            max_attempts: 3,
            initial_retry_backoff: Duration::from_secs(1),
            backoff_base: Duration::from_secs(15),
            backoff_cap: Duration::from_secs(600),
        }
    }
}

impl AwsTuning {
    /// The defaults with `aws.timeout` per attempt (connect: at most 5 s; an operation: its
    /// attempts' worth), and a first retry after a failed refresh no later than the next
    /// regular refresh would have come (`interval`), doubling from there up to `backoff_cap`.
    pub fn for_source(
        aws: &AwsConfig,
        interval: Duration,
        backoff_base: Duration,
        backoff_cap: Duration,
    ) -> AwsTuning {
        let d = AwsTuning::default();
        let attempt = if aws.timeout.is_zero() {
            d.attempt_timeout
        } else {
            aws.timeout
        };
        AwsTuning {
            connect_timeout: d.connect_timeout.min(attempt),
            attempt_timeout: attempt,
            operation_timeout: attempt.saturating_mul(d.max_attempts.max(1)),
            backoff_base: backoff_base.min(interval).max(Duration::from_secs(1)),
            backoff_cap,
            ..d
        }
    }
}

/// Load the SDK configuration: the default credential chain (environment, profiles incl. SSO,
/// web identity, ECS/IMDS roles), `aws.region`, `aws.profile`, and the endpoint overrides from
/// the environment. The HTTPS client is rustls with ring — the crypto provider kube uses too —
/// built explicitly, so no second provider (aws-lc) is linked.
pub async fn sdk_config(aws: &AwsConfig, tuning: &AwsTuning) -> SdkConfig {
    crate::kube_client::install_crypto_provider();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(tuning.connect_timeout)
                .operation_attempt_timeout(tuning.attempt_timeout)
                .operation_timeout(tuning.operation_timeout)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(tuning.max_attempts.max(1))
                .with_initial_backoff(tuning.initial_retry_backoff),
        );
    if let Some(r) = aws.region.as_deref().filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = aws.profile.as_deref().filter(|p| !p.is_empty()) {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

pub fn cloudwatch_client(sdk: &SdkConfig) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(sdk)
}

/// The Cost Explorer client, pinned to us-east-1 (`AWS_ENDPOINT_URL_COST_EXPLORER` still
/// applies).
pub fn cost_explorer_client(sdk: &SdkConfig) -> aws_sdk_costexplorer::Client {
    let conf = aws_sdk_costexplorer::config::Builder::from(sdk)
        .region(Region::new(COST_EXPLORER_REGION))
        .build();
    aws_sdk_costexplorer::Client::from_conf(conf)
}

/// What went wrong, as far as what to do next is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Missing, invalid or expired credentials: the operator must log in.
    Credentials,
    /// The credentials work but lack a permission.
    AccessDenied,
    Throttled,
    /// 5xx from the service.
    Server,
    Timeout,
    /// Connection refused, DNS, TLS.
    Network,
    /// An answer that could not be read.
    BadResponse,
    Other,
}

/// A failed AWS call, described for the operator. The message never carries secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl std::fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The profile error messages should name: `aws.profile`, else `AWS_PROFILE`.
pub fn profile_hint(aws: &AwsConfig) -> Option<String> {
    aws.profile
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
}

pub(super) fn login_hint(profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("aws sso login --profile {p}"),
        None => "aws sso login (or set aws.profile / AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".into(),
    }
}

const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
];
const ACCESS_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "NotAuthorized",
];
const THROTTLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];

/// Describe a failed SDK call. `action` is the IAM action the call needs (named when access is
/// denied); `service` names the service for connection and timeout messages.
pub fn describe<E>(
    err: &SdkError<E, HttpResponse>,
    service: &str,
    action: &str,
    profile: Option<&str>,
) -> AwsFailure
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let fail = |kind, message: String| AwsFailure {
        kind,
        message: scrub(&message),
    };
    // Credentials are resolved before the request is sent: their failure is a dispatch failure
    // with a `CredentialsError` somewhere in the chain.
    if let Some(ce) = find_credentials_error(err) {
        let detail = DisplayErrorContext(ce).to_string();
        let expired = detail.to_ascii_lowercase().contains("expired");
        let what = if expired {
            "credentials expired"
        } else {
            match ce {
                CredentialsError::CredentialsNotLoaded(_) => "no AWS credentials found",
                CredentialsError::ProviderTimedOut(_) => "timed out loading AWS credentials",
                CredentialsError::InvalidConfiguration(_) => {
                    "invalid AWS credentials configuration"
                }
                _ => "cannot load AWS credentials",
            }
        };
        return fail(
            FailureKind::Credentials,
            format!("{what} — {} ({})", login_hint(profile), short(&detail)),
        );
    }
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("");
            let msg = se.err().message().unwrap_or("");
            let said = if msg.is_empty() {
                code.to_string()
            } else {
                format!("{code}: {msg}")
            };
            if status < 300 {
                // A 2xx the SDK could not deserialise: the body was not what the protocol says.
                return fail(
                    FailureKind::BadResponse,
                    format!(
                        "unreadable answer from {service} to {action} (HTTP {status}: {})",
                        short(&DisplayErrorContext(err).to_string())
                    ),
                );
            }
            if CREDENTIAL_CODES.contains(&code) {
                let what = if code.starts_with("Expired") || msg.to_lowercase().contains("expired")
                {
                    "credentials expired"
                } else {
                    "credentials rejected"
                };
                fail(
                    FailureKind::Credentials,
                    format!("{what} — {} ({})", login_hint(profile), short(&said)),
                )
            } else if ACCESS_CODES.contains(&code) || status == 403 {
                fail(
                    FailureKind::AccessDenied,
                    format!(
                        "access denied: the credentials lack {action} — add it to the IAM policy ({})",
                        short(&said)
                    ),
                )
            } else if THROTTLE_CODES.contains(&code) || status == 429 {
                fail(
                    FailureKind::Throttled,
                    format!(
                        "{service} is throttling {action} ({}); backing off",
                        short(&said)
                    ),
                )
            } else if status >= 500 {
                fail(
                    FailureKind::Server,
                    format!(
                        "{service} server error HTTP {status} ({}); backing off",
                        short(&said)
                    ),
                )
            } else {
                fail(
                    FailureKind::Other,
                    format!("{action} failed: HTTP {status} {}", short(&said)),
                )
            }
        }
        SdkError::TimeoutError(_) => fail(
            FailureKind::Timeout,
            format!("{service} did not answer {action} in time (timeout); backing off"),
        ),
        SdkError::DispatchFailure(df) => {
            let detail = short(&DisplayErrorContext(err).to_string());
            if df.is_timeout() {
                fail(
                    FailureKind::Timeout,
                    format!("{service} did not answer {action} in time ({detail})"),
                )
            } else if df.is_io() {
                fail(
                    FailureKind::Network,
                    format!("cannot reach {service} ({detail})"),
                )
            } else {
                fail(
                    FailureKind::Other,
                    format!("{action} could not be sent ({detail})"),
                )
            }
        }
        SdkError::ResponseError(_) => fail(
            FailureKind::BadResponse,
            format!(
                "unreadable answer from {service} to {action} ({})",
                short(&DisplayErrorContext(err).to_string())
            ),
        ),
        SdkError::ConstructionFailure(_) => {
            let detail = short(&DisplayErrorContext(err).to_string());
            let hint = if detail.to_ascii_lowercase().contains("region") {
                " — set aws.region in the config, or AWS_REGION"
            } else {
                ""
            };
            fail(
                FailureKind::Other,
                format!("{action} request could not be built{hint} ({detail})"),
            )
        }
        _ => fail(
            FailureKind::Other,
            format!(
                "{action} failed ({})",
                short(&DisplayErrorContext(err).to_string())
            ),
        ),
    }
}

fn find_credentials_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a CredentialsError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = cur {
        if let Some(ce) = e.downcast_ref::<CredentialsError>() {
            return Some(ce);
        }
        depth += 1;
        if depth > 16 {
            break;
        }
        cur = e.source();
    }
    None
}

/// At most 300 characters of a detail, on one line.
pub(super) fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 300 {
        let mut t: String = one.chars().take(299).collect();
        t.push('…');
        t
    } else {
        one
    }
}

static SECRETISH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Access key ids, and long base64 runs (secret keys are 40, session tokens hundreds).
    Regex::new(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b|[A-Za-z0-9/+=]{40,}").ok()
});

/// Mask anything that looks like a key or token before it reaches a log, the screen or a
/// snapshot. Error texts from AWS should not carry any; this makes sure.
pub fn scrub(s: &str) -> String {
    match SECRETISH.as_ref() {
        Some(re) => re.replace_all(s, "[redacted]").into_owned(),
        None => s.to_string(),
    }
}

/// Jittered exponential backoff for one source: each failure doubles the delay (from `base`, at
/// most `cap`), and the delay actually used is drawn from its upper half so that several
/// dashboards hitting the same throttled account do not retry in lock-step.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        // Seeded from the clock and the process: different dashboards draw different jitter.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        Backoff {
            base: base.max(Duration::from_millis(1)),
            cap: cap.max(base),
            failures: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The upper bound of the next delay (before jitter).
    pub fn ceiling(&self) -> Duration {
        let exp = self.failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// Record a failure and return how long to wait.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceil = self.ceiling();
        let f: f64 = self.rng.random_range(0.5..=1.0);
        ceil.mul_f64(f)
    }
}

/// A health update for an AWS source.
pub fn health(
    source: SourceName,
    state: SourceState,
    last_success: Option<DateTime<Utc>>,
    error: Option<String>,
) -> Update {
    Update::Health(SourceHealth {
        source,
        state,
        last_success,
        error,
        permanent: false,
    })
}

/// An error health update: permanent when waiting will not fix it (the operator must log in or
/// be granted a permission), so `snapshot --wait` stops waiting for the source.
pub fn failed(source: SourceName, kind: FailureKind, message: String) -> Update {
    Update::Health(SourceHealth {
        source,
        state: SourceState::Error,
        last_success: None,
        error: Some(message),
        permanent: matches!(kind, FailureKind::Credentials | FailureKind::AccessDenied),
    })
}

/// Send, or report that the app loop has gone (the source then stops).
pub async fn send(tx: &UpdateTx, u: Update) -> bool {
    tx.send(u).await.is_ok()
}

/// Sleep, or return false early when the app loop has gone.
pub async fn sleep_or_closed(tx: &UpdateTx, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = tx.closed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_follows_the_timeout_and_a_short_interval() {
        let aws = AwsConfig {
            timeout: Duration::from_secs(2),
            ..AwsConfig::default()
        };
        let t = AwsTuning::for_source(
            &aws,
            Duration::from_secs(5),
            Duration::from_secs(15),
            Duration::from_secs(600),
        );
        assert_eq!(t.attempt_timeout, Duration::from_secs(2));
        assert_eq!(t.connect_timeout, Duration::from_secs(2));
        assert_eq!(t.operation_timeout, Duration::from_secs(6));
        assert_eq!(t.backoff_base, Duration::from_secs(5));
        let t = AwsTuning::for_source(
            &AwsConfig::default(),
            Duration::from_secs(60),
            Duration::from_secs(15),
            Duration::from_secs(600),
        );
        let d = AwsTuning::default();
        assert_eq!(t.attempt_timeout, d.attempt_timeout);
        assert_eq!(t.connect_timeout, d.connect_timeout);
        assert_eq!(t.operation_timeout, d.operation_timeout);
        assert_eq!(t.backoff_base, d.backoff_base);
    }

    #[test]
    fn backoff_grows_jittered_and_capped() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(60));
        let d1 = b.next_delay();
        assert!(
            d1 >= Duration::from_secs(5) && d1 <= Duration::from_secs(10),
            "{d1:?}"
        );
        let d2 = b.next_delay();
        assert!(
            d2 >= Duration::from_secs(10) && d2 <= Duration::from_secs(20),
            "{d2:?}"
        );
        for _ in 0..40 {
            assert!(b.next_delay() <= Duration::from_secs(60));
        }
        assert_eq!(b.ceiling(), Duration::from_secs(60));
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.ceiling(), Duration::from_secs(10));
    }

    fn ce_error(
        status: u16,
        code: &str,
    ) -> SdkError<
        aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageError,
        HttpResponse,
    > {
        use aws_sdk_costexplorer::error::ErrorMetadata;
        use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageError;
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("User: arn:aws:iam::123456789012:user/x is not authorized")
            .build();
        let raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(GetCostAndUsageError::generic(meta), raw)
    }

    #[test]
    fn service_errors_are_described_for_the_operator() {
        let d = |status, code| {
            describe(
                &ce_error(status, code),
                "Cost Explorer",
                "ce:GetCostAndUsage",
                Some("oncall"),
            )
        };
        let f = d(400, "AccessDeniedException");
        assert_eq!(f.kind, FailureKind::AccessDenied);
        assert!(
            f.message.contains("lack ce:GetCostAndUsage"),
            "{}",
            f.message
        );
        let f = d(400, "LimitExceededException");
        assert_eq!(f.kind, FailureKind::Throttled);
        assert!(f.message.contains("backing off"));
        let f = d(400, "ExpiredTokenException");
        assert_eq!(f.kind, FailureKind::Credentials);
        assert!(f
            .message
            .starts_with("credentials expired — aws sso login --profile oncall"));
        let f = d(400, "UnrecognizedClientException");
        assert!(
            f.message.starts_with("credentials rejected —"),
            "{}",
            f.message
        );
        assert_eq!(d(503, "ServiceUnavailable").kind, FailureKind::Server);
        assert_eq!(d(400, "ValidationException").kind, FailureKind::Other);
        assert_eq!(d(200, "").kind, FailureKind::BadResponse);
    }

    #[test]
    fn scrub_masks_keys_and_tokens() {
        let s =
            scrub("key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ok");
        assert!(!s.contains("AKIAIOSFODNN7EXAMPLE"), "{s}");
        assert!(!s.contains("wJalrXUtnFEMI"), "{s}");
        assert!(s.ends_with(" ok"));
        let arn = "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123";
        assert_eq!(scrub(arn), arn);
    }
}
