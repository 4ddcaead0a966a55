//! The AWS sources against real protocols on loopback, started by the tests themselves:
//! CloudWatch through the CBOR (Smithy RPC v2) server in `tests/support/cloudwatch.rs`, Cost
//! Explorer through moto (`tests/support/moto.rs`), both reached with the real SDK through
//! `AWS_ENDPOINT_URL_CLOUDWATCH` / `AWS_ENDPOINT_URL_COST_EXPLORER` and static test
//! credentials.
//!
//! The SDK reads the environment, which is process-wide: tests take a lock and set it up.
use crate::support;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use hybridtop::config::Config;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::model::update::{
    ApiSpend, BilledCost, CostClass, Coverage, Latency, SourceHealth, SourceName, SourceState,
    TrafficBatch, Update, UsageBatch,
};
use hybridtop::sources::aws::{AwsTuning, FailureKind};
use hybridtop::sources::cloudwatch::{CloudWatchPoller, CloudWatchSource, CloudWatchTuning};
use hybridtop::sources::cost_explorer::{CostExplorerSource, CostExplorerTuning};
use hybridtop::sources::Source;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use support::cloudwatch::{FakeCloudWatch, Fault, ListedMetric, MetricQuery};
use support::moto::Moto;
use tokio::sync::mpsc;

const AC: &str = "AWS/Bedrock-AgentCore";
const BR: &str = "AWS/Bedrock";
const DESIGN: &str = include_str!("../fixtures/design_config.toml");
const HAIKU_ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123";
const SONNET_ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_sonnet-XyZ789";
const HAIKU_MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const SONNET_MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

// ---------------------------------------------------------------------------------------------
// Environment

static LOCK: Mutex<()> = Mutex::new(());

/// Holds the environment lock and the temporary files the environment points at.
pub(super) struct Env {
    _lock: MutexGuard<'static, ()>,
    cache: tempfile::TempDir,
    aws_dir: tempfile::TempDir,
}

impl Env {
    fn cache_dir(&self) -> std::path::PathBuf {
        self.cache.path().join("hybridtop")
    }

    /// An AWS config with profile `oncall` holding static credentials, used instead of the
    /// environment's keys.
    fn use_profile_oncall(&self) {
        let cfg = self.aws_dir.path().join("config");
        std::fs::write(
            &cfg,
            "[profile oncall]\nregion = us-east-2\naws_access_key_id = AKIDONCALLTEST\naws_secret_access_key = oncall-test-secret\n",
        )
        .unwrap();
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }

    fn no_credentials(&self) {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }
}

/// Point the SDK at the test endpoints (an unreachable loopback port for a service the test
/// does not serve, so nothing ever leaves the machine) with static test credentials.
pub(super) fn env(cw: Option<&str>, ce: Option<&str>) -> Env {
    let lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let cache = tempfile::tempdir().unwrap();
    let aws_dir = tempfile::tempdir().unwrap();
    std::fs::write(aws_dir.path().join("config"), "").unwrap();
    std::fs::write(aws_dir.path().join("credentials"), "").unwrap();
    let nowhere = "http://127.0.0.1:9";
    for (k, v) in [
        (
            "AWS_CONFIG_FILE",
            aws_dir.path().join("config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            aws_dir.path().join("credentials").display().to_string(),
        ),
        ("AWS_ACCESS_KEY_ID", "AKIDHYBRIDTOPTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "hybridtop-test-secret".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.unwrap_or(nowhere).into()),
        (
            "AWS_ENDPOINT_URL_COST_EXPLORER",
            ce.unwrap_or(nowhere).into(),
        ),
        ("XDG_CACHE_HOME", cache.path().display().to_string()),
    ] {
        std::env::set_var(k, v);
    }
    for k in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        std::env::remove_var(k);
    }
    Env {
        _lock: lock,
        cache,
        aws_dir,
    }
}

fn design() -> Config {
    Config::from_toml(DESIGN, "design.toml").unwrap()
}

/// Short timeouts and backoff so failure tests take seconds.
pub(super) fn fast_aws() -> AwsTuning {
    AwsTuning {
        connect_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(3),
        operation_timeout: Duration::from_secs(8),
        max_attempts: 3,
        initial_retry_backoff: Duration::from_millis(50),
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(2),
    }
}

fn cw_tuning(cfg: &Config) -> CloudWatchTuning {
    CloudWatchTuning {
        aws: fast_aws(),
        ..CloudWatchTuning::from_config(cfg)
    }
}

// ---------------------------------------------------------------------------------------------
// Known CloudWatch data

/// Which configured resource a query is about: 1 haiku, 2 sonnet, 3 a third path.
fn path_k(q: &MetricQuery) -> Option<f64> {
    let id = q.dim("Resource").or(q.dim("ModelId"))?;
    if id.contains("haiku") {
        Some(1.0)
    } else if id.contains("sonnet") {
        Some(2.0)
    } else if id.contains("third") {
        Some(3.0)
    } else {
        None
    }
}

/// The datapoints the fake serves: a function of the resource, metric, stat and minute, so
/// expected figures can be computed independently.
fn value(q: &MetricQuery, t: i64) -> Option<f64> {
    let k = path_k(q)?;
    let m = (t / 60).rem_euclid(5) as f64;
    let v = match (q.namespace.as_str(), q.metric.as_str(), q.stat.as_str()) {
        (AC, "Invocations", "Sum") => 60.0 * k + 6.0 * m,
        (AC, "Throttles", "Sum") => k,
        // No datapoint at all in some minutes (CloudWatch sends none for zero).
        (AC, "SystemErrors", "Sum") if m > 0.0 => m,
        (AC, "UserErrors", "Sum") => 1.0,
        (AC, "SessionCount", "Sum") => 10.0 * k,
        (AC, "Latency", "p50") => 40.0 * k + m,
        (AC, "Latency", "p95") => 90.0 * k + 5.0 * m,
        (AC, "Latency", "p99") => 150.0 * k + 9.0 * m,
        // Per 5-minute period.
        (AC, "CPUUsed-vCPUHours", "Sum") => 0.05 * k,
        (AC, "MemoryUsed-GBHours", "Sum") => 0.2 * k,
        (BR, "Invocations", "Sum") => 70.0 * k,
        (BR, "InputTokenCount", "Sum") => 2000.0 * k * (m + 1.0),
        (BR, "OutputTokenCount", "Sum") => 400.0 * k * (m + 1.0),
        (BR, "InvocationThrottles", "Sum") if m == 3.0 => 2.0,
        _ => return None,
    };
    Some(v)
}

fn q(ns: &str, metric: &str, stat: &str, dims: &[(&str, &str)]) -> MetricQuery {
    let mut d: Vec<(String, String)> = dims
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    d.sort();
    MetricQuery {
        id: "x".into(),
        namespace: ns.into(),
        metric: metric.into(),
        dims: d,
        stat: stat.into(),
        period: 60,
    }
}

/// What ListMetrics lists for a runtime and its model.
fn listed_for(arn: &str, model: &str) -> Vec<ListedMetric> {
    let mut v = Vec::new();
    for m in [
        "Invocations",
        "Throttles",
        "SystemErrors",
        "UserErrors",
        "SessionCount",
        "Latency",
        "TotalErrors",
    ] {
        v.push(ListedMetric::new(AC, m, &[("Resource", arn)]));
    }
    for m in ["CPUUsed-vCPUHours", "MemoryUsed-GBHours"] {
        v.push(ListedMetric::new(
            AC,
            m,
            &[("Resource", arn), ("Service", "AgentCore.Runtime")],
        ));
    }
    for m in [
        "Invocations",
        "InputTokenCount",
        "OutputTokenCount",
        "InvocationThrottles",
        "InvocationLatency",
    ] {
        v.push(ListedMetric::new(BR, m, &[("ModelId", model)]));
    }
    v
}

fn fake_cloudwatch() -> FakeCloudWatch {
    let cw = FakeCloudWatch::start(Arc::new(value));
    let mut listed = listed_for(HAIKU_ARN, HAIKU_MODEL);
    listed.extend(listed_for(SONNET_ARN, SONNET_MODEL));
    cw.set_listed(listed);
    cw
}

/// Expected figures for one path over the window `[through - 300, through)`, computed from
/// [`value`] alone.
struct Expected {
    rpm: f64,
    error_rate: f64,
    throttles_per_minute: f64,
    p95: f64,
    usd_per_hour: f64,
    sessions_per_minute: f64,
}

fn expected(k: f64, arn: &str, model: &str, through: i64, prices: (f64, f64)) -> Expected {
    let (mut inv, mut err, mut thr, mut p95w, mut tin, mut tout, mut sess) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let rt = |metric: &str, stat: &str, t: i64| {
        value(&q(AC, metric, stat, &[("Resource", arn)]), t).unwrap_or(0.0)
    };
    let md = |metric: &str, t: i64| {
        value(&q(BR, metric, "Sum", &[("ModelId", model)]), t).unwrap_or(0.0)
    };
    let mut t = through - 300;
    while t < through {
        let i = rt("Invocations", "Sum", t);
        inv += i;
        err += rt("SystemErrors", "Sum", t) + rt("UserErrors", "Sum", t);
        thr += rt("Throttles", "Sum", t) + md("InvocationThrottles", t);
        p95w += i * rt("Latency", "p95", t);
        tin += md("InputTokenCount", t);
        tout += md("OutputTokenCount", t);
        sess += rt("SessionCount", "Sum", t);
        t += 60;
    }
    let tokens_per_hour = (tin / 1000.0 * prices.0 + tout / 1000.0 * prices.1) * 3600.0 / 300.0;
    // Usage: constant per 5-minute period → per hour × 12.
    let usage_per_hour = (0.05 * k * 0.0895 + 0.2 * k * 0.00945) * 12.0;
    Expected {
        rpm: inv / 5.0,
        error_rate: err / inv,
        throttles_per_minute: thr / 5.0,
        p95: p95w / inv,
        usd_per_hour: tokens_per_hour + usage_per_hour,
        sessions_per_minute: sess / 5.0,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

// ---------------------------------------------------------------------------------------------
// Update helpers

async fn recv_until(
    rx: &mut mpsc::Receiver<Update>,
    timeout: Duration,
    mut done: impl FnMut(&[Update]) -> bool,
) -> Vec<Update> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut got = Vec::new();
    while !done(&got) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => got.push(u),
            Ok(None) => break,
            Err(_) => panic!(
                "timed out after {timeout:?}; updates so far: {:#?}",
                got.iter()
                    .filter(|u| matches!(u, Update::Health(_)))
                    .collect::<Vec<_>>()
            ),
        }
    }
    got
}

fn healths(u: &[Update], src: SourceName) -> Vec<&SourceHealth> {
    u.iter()
        .filter_map(|u| match u {
            Update::Health(h) if h.source == src => Some(h),
            _ => None,
        })
        .collect()
}

fn has_health(u: &[Update], src: SourceName, state: SourceState) -> bool {
    healths(u, src).iter().any(|h| h.state == state)
}

fn traffic(u: &[Update]) -> Vec<&TrafficBatch> {
    u.iter()
        .filter_map(|u| match u {
            Update::Traffic(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn spend(u: &[Update], src: SourceName) -> Option<&ApiSpend> {
    u.iter().rev().find_map(|u| match u {
        Update::ApiSpend(a) if a.source == src => Some(a),
        _ => None,
    })
}

fn billed(u: &[Update]) -> Option<&BilledCost> {
    u.iter().rev().find_map(|u| match u {
        Update::Billed(b) => Some(b),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// CloudWatch

#[tokio::test]
async fn cloudwatch_one_call_per_refresh_and_stats_map_to_paths() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let tuning = cw_tuning(&cfg);
    let mut p = CloudWatchPoller::new(&cfg, &tuning).await;
    p.discover().await.expect("discovery");
    let lists = cw.calls("ListMetrics");
    assert_eq!(lists.len(), 4, "one ListMetrics per runtime and model");
    assert!(lists.iter().all(|l| l.signed), "SigV4-signed");
    assert!(p.warning_text().is_none(), "{:?}", p.warning_text());

    let now = Utc::now();
    let u = p.refresh(now).await.expect("refresh");
    let gmd = cw.calls("GetMetricData");
    assert_eq!(gmd.len(), 1, "one HTTP call for every path (≤ 500 queries)");
    let queries = &gmd[0].queries;
    assert_eq!(queries.len(), 2 * 12 + 2 * 2, "12 per path + usage");
    assert!(queries.len() <= 500);
    let p95s: Vec<&MetricQuery> = queries
        .iter()
        .filter(|q| q.metric == "Latency" && q.stat == "p95")
        .collect();
    assert_eq!(p95s.len(), 2);
    assert!(queries
        .iter()
        .filter(|q| q.namespace == BR)
        .all(|q| q.dim("ModelId").is_some() && q.period == 60));
    assert!(queries
        .iter()
        .filter(|q| q.metric.starts_with("CPUUsed"))
        .all(|q| q.period == 300 && q.dim("Service") == Some("AgentCore.Runtime")));

    // Backfill: the minutes since the history span ago, each final, up to now - settle.
    let through = {
        let t = now.timestamp() - 120;
        t - t.rem_euclid(60)
    };
    let covs: Vec<&Coverage> = u
        .iter()
        .filter_map(|u| match u {
            Update::Coverage(c) => Some(c),
            _ => None,
        })
        .collect();
    // The ring reaches 20 minutes back; the newest minute is 2–3 minutes old.
    assert!(covs.len() >= 2 * 17, "{} minutes covered", covs.len());
    assert_eq!(
        covs.iter().map(|c| c.end.timestamp()).max(),
        Some(through),
        "the newest minute is {through}"
    );
    // Stats land on the right path, minute by minute.
    for b in traffic(&u) {
        let (k, arn, model) = match b.path.as_str() {
            "agentcore-haiku" => (1.0, HAIKU_ARN, HAIKU_MODEL),
            "agentcore-sonnet" => (2.0, SONNET_ARN, SONNET_MODEL),
            other => panic!("unexpected path {other}"),
        };
        let t = b.start.timestamp();
        assert_eq!(b.end.timestamp() - t, 60, "stamped with its own minute");
        let rt = |m: &str, s: &str| value(&q(AC, m, s, &[("Resource", arn)]), t).unwrap_or(0.0);
        let md = |m: &str| value(&q(BR, m, "Sum", &[("ModelId", model)]), t).unwrap_or(0.0);
        assert_eq!(b.requests as f64, rt("Invocations", "Sum"), "{b:?}");
        assert_eq!(
            b.errors as f64,
            rt("SystemErrors", "Sum") + rt("UserErrors", "Sum")
        );
        assert_eq!(
            b.throttles as f64,
            rt("Throttles", "Sum") + md("InvocationThrottles")
        );
        assert_eq!(b.input_tokens as f64, md("InputTokenCount"));
        assert_eq!(b.output_tokens as f64, md("OutputTokenCount"));
        assert_eq!(
            b.latency,
            Latency::Quantiles {
                p50: rt("Latency", "p50"),
                p95: rt("Latency", "p95"),
                p99: rt("Latency", "p99"),
            }
        );
        assert!(k > 0.0);
    }
    let usage: Vec<&UsageBatch> = u
        .iter()
        .filter_map(|u| match u {
            Update::Usage(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(
        usage.len(),
        2 * 12,
        "an hour of 5-minute periods per runtime"
    );
    let sonnet_usage: f64 = usage
        .iter()
        .filter(|b| b.path.as_str() == "agentcore-sonnet")
        .map(|b| b.vcpu_hours)
        .sum();
    assert!(close(sonnet_usage, 12.0 * 0.1), "{sonnet_usage}");

    // The next refresh a minute later: one more call, traffic only, the one new minute.
    let u2 = p
        .refresh(now + chrono::Duration::seconds(60))
        .await
        .unwrap();
    let gmd = cw.calls("GetMetricData");
    assert_eq!(gmd.len(), 2);
    assert_eq!(
        gmd[1].queries.len(),
        24,
        "usage waits for its slower cadence"
    );
    assert_eq!(
        (gmd[1].start, gmd[1].end),
        (Some(through), Some(through + 60))
    );
    assert_eq!(
        u2.iter()
            .filter(|u| matches!(u, Update::Coverage(_)))
            .count(),
        2
    );
    // Nothing new settled: no call at all.
    let u3 = p
        .refresh(now + chrono::Duration::seconds(61))
        .await
        .unwrap();
    assert!(u3.is_empty());
    assert_eq!(cw.calls("GetMetricData").len(), 2);
    // What it cost: 28 + 24 metric+stat pairs, and 4 ListMetrics requests.
    match p.spend() {
        Update::ApiSpend(a) => {
            assert_eq!(a.metrics_requested, 52);
            assert_eq!(a.requests, 4 + 2);
            assert!(close(a.usd_total, 52.0 * 0.00001 + 4.0 * 0.00001));
            assert!(close(a.usd_per_hour, (24.0 * 60.0 + 4.0 * 12.0) * 0.00001));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cloudwatch_paginates_past_500_queries() {
    let cw = FakeCloudWatch::start(Arc::new(|_: &MetricQuery, _| Some(1.0)));
    let _env = env(Some(&cw.url()), None);
    let mut text = String::new();
    for i in 0..45 {
        text.push_str(&format!(
            "[[paths]]\nid = \"ac-{i}\"\nkind = \"agentcore\"\n[paths.agentcore]\nruntime_arn = \"arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/r{i}\"\nmodel_id = \"model-{i}\"\n"
        ));
    }
    text.push_str("[aws]\nregion = \"us-east-2\"\n");
    let cfg = Config::from_toml(&text, "many.toml").unwrap();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.unwrap();
    let u = p.refresh(Utc::now()).await.expect("refresh");
    let gmd = cw.calls("GetMetricData");
    let sizes: Vec<usize> = gmd.iter().map(|c| c.queries.len()).collect();
    assert_eq!(
        sizes,
        vec![500, 45 * 14 - 500],
        "split at the 500-query limit"
    );
    let mut ids: Vec<&str> = gmd
        .iter()
        .flat_map(|c| c.queries.iter().map(|q| q.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 45 * 14, "every query once");
    assert_eq!(
        traffic(&u)
            .iter()
            .map(|b| b.path.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        45
    );
    // A plan of this size costs what it says.
    match p.spend() {
        Update::ApiSpend(a) => assert_eq!(a.metrics_requested, 630),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cloudwatch_throttling_is_retried() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.unwrap();
    cw.push_faults([Fault::Throttle, Fault::Throttle]);
    let u = p
        .refresh(Utc::now())
        .await
        .expect("retried past throttling");
    assert_eq!(
        cw.calls("GetMetricData").len(),
        3,
        "two throttled, one answered"
    );
    assert!(!traffic(&u).is_empty());
}

#[tokio::test]
async fn cloudwatch_5xx_backs_off_reports_error_and_recovers() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    cw.set_always_on("GetMetricData", Some(Fault::ServerError));
    let mut tuning = cw_tuning(&cfg);
    // One attempt per refresh, so each call is one refresh and the gaps are the source's backoff.
    tuning.aws.max_attempts = 1;
    tuning.aws.backoff_base = Duration::from_millis(100);
    tuning.aws.backoff_cap = Duration::from_secs(5);
    let src = CloudWatchSource::from_config(&cfg)
        .unwrap()
        .with_tuning(tuning);
    let (tx, mut rx) = mpsc::channel(100_000);
    let task = Box::new(src).spawn(tx);
    let start = Instant::now();
    let mut errors = Vec::new();
    while cw.calls("GetMetricData").len() < 6 && start.elapsed() < Duration::from_secs(15) {
        if let Ok(Some(Update::Health(h))) =
            tokio::time::timeout(Duration::from_millis(50), rx.recv()).await
        {
            errors.push(h);
        }
    }
    let calls = cw.calls("GetMetricData");
    assert!(calls.len() >= 6, "{} calls", calls.len());
    let gaps: Vec<f64> = calls
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    // Jittered exponential: each delay is in [½, 1] × base × 2^(n-1), so two steps on it is
    // strictly longer whatever the jitter.
    for i in 0..gaps.len() - 2 {
        assert!(gaps[i + 2] > gaps[i], "gaps grow: {gaps:?}");
    }
    assert!(gaps[0] >= 0.045, "{gaps:?}");
    let err = errors
        .iter()
        .find(|h| h.state == SourceState::Error)
        .expect("an error state");
    let msg = err.error.as_deref().unwrap_or("");
    assert!(
        msg.contains("server error") && msg.contains("500") && msg.contains("backing off"),
        "{msg}"
    );
    // The service recovers: so does the source.
    cw.set_always_on("GetMetricData", None);
    let got = recv_until(&mut rx, Duration::from_secs(15), |u| {
        has_health(u, SourceName::Cloudwatch, SourceState::Ok)
    })
    .await;
    assert!(!traffic(&got).is_empty());
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test]
async fn cloudwatch_slow_server_times_out() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let mut tuning = cw_tuning(&cfg);
    tuning.aws.attempt_timeout = Duration::from_millis(300);
    tuning.aws.operation_timeout = Duration::from_millis(900);
    let mut p = CloudWatchPoller::new(&cfg, &tuning).await;
    p.discover().await.unwrap();
    cw.set_always_on("GetMetricData", Some(Fault::Slow(Duration::from_secs(5))));
    let t0 = Instant::now();
    let err = p.refresh(Utc::now()).await.expect_err("times out");
    // The answer would take 5 s: ending well before it is the timeout at work (the bound leaves
    // a loaded machine four seconds of slack over the 0.9 s operation timeout).
    assert!(
        t0.elapsed() < Duration::from_millis(4_500),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(err.kind, FailureKind::Timeout, "{err:?}");
    assert!(err.message.contains("in time"), "{}", err.message);
    // Through the source: an error state, not a hang or a panic.
    let src = CloudWatchSource::from_config(&cfg)
        .unwrap()
        .with_tuning(tuning);
    let (tx, mut rx) = mpsc::channel(10_000);
    let task = Box::new(src).spawn(tx);
    let got = recv_until(&mut rx, Duration::from_secs(10), |u| {
        has_health(u, SourceName::Cloudwatch, SourceState::Error)
    })
    .await;
    assert!(healths(&got, SourceName::Cloudwatch)
        .iter()
        .any(|h| h.error.as_deref().is_some_and(|e| e.contains("timeout"))));
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    cw.set_always(None);
}

#[tokio::test]
async fn cloudwatch_garbage_body_is_an_error_state() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.unwrap();
    cw.set_always_on("GetMetricData", Some(Fault::Garbage));
    let err = p.refresh(Utc::now()).await.expect_err("garbage");
    assert_eq!(err.kind, FailureKind::BadResponse, "{err:?}");
    assert!(err.message.contains("unreadable answer"), "{}", err.message);
    // Into the model and out of the snapshot: no control characters survive.
    let mut state = State::new(&cfg, Mode::Live);
    state.apply(Update::Health(SourceHealth {
        source: SourceName::Cloudwatch,
        state: SourceState::Error,
        last_success: None,
        error: Some(format!("{}\x1b[31m", err.message)),
        permanent: false,
    }));
    let snap = state.snapshot(&DeriveOptions::default());
    let s = snap
        .sources
        .iter()
        .find(|s| s.name == SourceName::Cloudwatch)
        .unwrap();
    assert_eq!(s.state, SourceState::Error);
    assert!(!s.error.as_deref().unwrap().chars().any(|c| c.is_control()));
}

#[tokio::test]
async fn cloudwatch_access_denied_names_the_action() {
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.unwrap();
    cw.set_always_on("GetMetricData", Some(Fault::AccessDenied));
    let err = p.refresh(Utc::now()).await.expect_err("denied");
    assert_eq!(err.kind, FailureKind::AccessDenied);
    assert!(
        err.message.contains("cloudwatch:GetMetricData"),
        "{}",
        err.message
    );
    // ListMetrics denied: the documented dimensions, with a visible warning.
    cw.set_always_on("ListMetrics", Some(Fault::AccessDenied));
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.expect("denied ListMetrics is not fatal");
    assert!(p
        .warning_text()
        .is_some_and(|w| w.contains("cloudwatch:ListMetrics")));
    cw.set_always(None);
    assert!(!traffic(&p.refresh(Utc::now()).await.unwrap()).is_empty());
}

#[tokio::test]
async fn cloudwatch_expired_and_missing_credentials_say_what_to_run() {
    let cw = fake_cloudwatch();
    let env = env(Some(&cw.url()), None);
    env.use_profile_oncall();
    let mut cfg = design();
    cfg.aws.as_mut().unwrap().profile = Some("oncall".into());
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.expect("profile credentials work");
    cw.set_always(Some(Fault::ExpiredToken));
    let err = p.refresh(Utc::now()).await.expect_err("expired");
    assert_eq!(err.kind, FailureKind::Credentials);
    assert!(
        err.message
            .starts_with("credentials expired — aws sso login --profile oncall"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("oncall-test-secret"));
    cw.set_always(None);
    // No credentials anywhere.
    env.no_credentials();
    let cfg = design();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    let err = p.discover().await.expect_err("no credentials");
    assert_eq!(err.kind, FailureKind::Credentials, "{err:?}");
    assert!(
        err.message
            .starts_with("no AWS credentials found — aws sso login"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn cloudwatch_resource_without_metrics_is_a_visible_warning() {
    let cw = FakeCloudWatch::start(Arc::new(value));
    cw.set_listed(listed_for(HAIKU_ARN, HAIKU_MODEL)); // nothing for sonnet
    let _env = env(Some(&cw.url()), None);
    let cfg = design();
    let src = CloudWatchSource::from_config(&cfg)
        .unwrap()
        .with_tuning(cw_tuning(&cfg));
    let (tx, mut rx) = mpsc::channel(10_000);
    let task = Box::new(src).spawn(tx);
    let got = recv_until(&mut rx, Duration::from_secs(15), |u| {
        has_health(u, SourceName::Cloudwatch, SourceState::Ok)
    })
    .await;
    let h = healths(&got, SourceName::Cloudwatch)
        .into_iter()
        .find(|h| h.state == SourceState::Ok)
        .unwrap();
    let w = h.error.as_deref().unwrap_or("");
    assert!(
        w.starts_with("warning:") && w.contains(SONNET_ARN) && w.contains(SONNET_MODEL),
        "{w}"
    );
    assert!(!w.contains(HAIKU_ARN), "{w}");
    // …and the state shows it in the snapshot.
    let mut state = State::new(&cfg, Mode::Live);
    for u in got {
        state.apply(u);
    }
    let snap = state.snapshot(&DeriveOptions::default());
    let s = snap
        .sources
        .iter()
        .find(|s| s.name == SourceName::Cloudwatch)
        .unwrap();
    assert!(s
        .error
        .as_deref()
        .is_some_and(|e| e.contains("found no metrics")));
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

// ---------------------------------------------------------------------------------------------
// Cost Explorer (moto)

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap()
}

/// Seeded bill: per day of the last 20, a fixed set of SERVICE lines.
fn bill_lines() -> Vec<(&'static str, f64, CostClass)> {
    vec![
        ("Amazon Bedrock", 3.25, CostClass::Agentcore),
        ("Amazon Bedrock AgentCore", 1.5, CostClass::Agentcore),
        (
            "Claude Haiku 4.5 (Amazon Bedrock Edition)",
            7.125,
            CostClass::Agentcore,
        ),
        (
            "Amazon Elastic Compute Cloud - Compute",
            24.0,
            CostClass::Eks,
        ),
        ("EC2 - Other", 2.5, CostClass::Eks),
        (
            "Amazon Elastic Container Service for Kubernetes",
            2.4,
            CostClass::Eks,
        ),
        ("Amazon Simple Storage Service", 0.75, CostClass::Other),
        ("AmazonCloudWatch", 0.5, CostClass::Other),
    ]
}

/// Amount on day `d` for a line (varies by day so sums are not just multiples).
fn amount(base: f64, d: NaiveDate) -> f64 {
    base * (1.0 + f64::from(d.day() % 3) * 0.25)
}

fn seeded_days(today: NaiveDate) -> Vec<NaiveDate> {
    (0..20)
        .map(|i| today.checked_sub_days(Days::new(i)).unwrap())
        .collect()
}

fn ce_result(today: NaiveDate, key_of: impl Fn(&str) -> String) -> Value {
    let results: Vec<Value> = seeded_days(today)
        .into_iter()
        .rev()
        .map(|d| {
            let groups: Vec<Value> = bill_lines()
                .iter()
                .map(|(name, base, _)| {
                    json!({"Keys": [key_of(name)],
                           "Metrics": {"UnblendedCost": {"Amount": format!("{:.6}", amount(*base, d)), "Unit": "USD"}}})
                })
                .collect();
            json!({"TimePeriod": {"Start": d.to_string(), "End": d.succ_opt().unwrap().to_string()},
                   "Total": {}, "Groups": groups, "Estimated": d == today})
        })
        .collect();
    json!({"ResultsByTime": results, "DimensionValueAttributes": [],
           "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

/// Month-to-date by class, computed from the seeded lines alone.
fn expected_mtd(today: NaiveDate) -> std::collections::BTreeMap<CostClass, f64> {
    let mut m = std::collections::BTreeMap::new();
    for c in [CostClass::Agentcore, CostClass::Eks, CostClass::Other] {
        m.insert(c, 0.0);
    }
    for d in seeded_days(today) {
        if d < first_of_month(today) {
            continue;
        }
        for (_, base, class) in bill_lines() {
            *m.get_mut(&class).unwrap() += (amount(base, d) * 1e6).round() / 1e6;
        }
    }
    m
}

fn ce_tuning(env: &Env, cfg: &Config) -> CostExplorerTuning {
    CostExplorerTuning {
        aws: fast_aws(),
        cache_dir: env.cache_dir(),
        ..CostExplorerTuning::from_config(cfg)
    }
}

async fn run_ce_until_billed(
    src: CostExplorerSource,
    timeout: Duration,
) -> (
    Vec<Update>,
    tokio::task::JoinHandle<()>,
    mpsc::Receiver<Update>,
) {
    let (tx, mut rx) = mpsc::channel(10_000);
    let task = Box::new(src).spawn(tx);
    let got = recv_until(&mut rx, timeout, |u| {
        billed(u).is_some()
            && has_health(u, SourceName::CostExplorer, SourceState::Ok)
            && spend(u, SourceName::CostExplorer).is_some()
    })
    .await;
    (got, task, rx)
}

#[tokio::test]
async fn cost_explorer_classifies_and_sums_month_to_date() {
    let moto = Moto::start();
    let env = env(None, Some(&moto.url()));
    let today = Utc::now().date_naive();
    moto.seed_cost_and_usage(vec![ce_result(today, |s| s.to_string())]);
    let cfg = design();
    let src = CostExplorerSource::from_config(&cfg)
        .unwrap()
        .with_tuning(ce_tuning(&env, &cfg));
    let (got, task, rx) = run_ce_until_billed(src, Duration::from_secs(20)).await;
    let b = billed(&got).unwrap();
    let want = expected_mtd(today);
    for (class, usd) in &want {
        assert!(
            close(b.month_to_date[class], *usd),
            "{class:?}: {} vs {usd}",
            b.month_to_date[class]
        );
    }
    assert!(b.month_to_date[&CostClass::Agentcore] > 0.0);
    // Daily: 14 days × 3 classes, oldest first, ending today.
    assert_eq!(b.daily.len(), 42);
    assert_eq!(b.daily.last().unwrap().date, today);
    let d0 = today;
    let agentcore_today: f64 = b
        .daily
        .iter()
        .filter(|x| x.date == d0 && x.class == CostClass::Agentcore)
        .map(|x| x.usd)
        .sum();
    assert!(close(
        agentcore_today,
        [3.25, 1.5, 7.125].iter().map(|b| amount(*b, d0)).sum()
    ));
    // The request: DAILY UnblendedCost by SERVICE, from the earlier of the month's start and
    // 13 days ago, to tomorrow; through the us-east-1 endpoint.
    let reqs = moto.cost_and_usage_requests();
    assert_eq!(reqs.len(), 1);
    let body: Value = {
        use std::io::Read;
        let raw = reqs[0]["body"].as_str().unwrap();
        let bytes = if reqs[0]["body_encoded"].as_bool() == Some(true) {
            base64_decode(raw)
        } else {
            raw.as_bytes().to_vec()
        };
        let mut s = String::new();
        bytes.as_slice().read_to_string(&mut s).unwrap();
        serde_json::from_str(&s).unwrap()
    };
    assert_eq!(body["Granularity"], "DAILY");
    assert_eq!(body["Metrics"], json!(["UnblendedCost"]));
    assert_eq!(
        body["GroupBy"],
        json!([{"Type": "DIMENSION", "Key": "SERVICE"}])
    );
    let start = first_of_month(today).min(today.checked_sub_days(Days::new(13)).unwrap());
    assert_eq!(body["TimePeriod"]["Start"], start.to_string());
    assert_eq!(
        body["TimePeriod"]["End"],
        today.succ_opt().unwrap().to_string()
    );
    let auth = reqs[0]["headers"]["Authorization"].as_str().unwrap();
    assert!(auth.contains("/us-east-1/ce/aws4_request"), "{auth}");
    // Spend: one request so far; one every 6 h.
    let s = spend(&got, SourceName::CostExplorer).unwrap();
    assert_eq!(s.requests, 1);
    assert!(close(s.usd_total, 0.01));
    assert!(close(s.usd_per_hour, 0.01 / 6.0));
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = T.iter().position(|x| *x == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn cost_explorer_cache_second_refresh_sends_no_request() {
    let moto = Moto::start();
    let env = env(None, Some(&moto.url()));
    let today = Utc::now().date_naive();
    moto.seed_cost_and_usage(vec![ce_result(today, |s| s.to_string())]);
    let cfg = design();
    let src = CostExplorerSource::from_config(&cfg)
        .unwrap()
        .with_tuning(ce_tuning(&env, &cfg));
    let cache_file = src.cache_path();
    let (got, task, rx) = run_ce_until_billed(src, Duration::from_secs(20)).await;
    let first = billed(&got).unwrap().clone();
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    assert_eq!(moto.cost_and_usage_requests().len(), 1);
    assert!(cache_file.exists(), "{}", cache_file.display());
    assert!(cache_file.starts_with(env.cache_dir()));

    // A restarted dashboard inside the interval: the cached figures at once, with their age,
    // and no request.
    let src = CostExplorerSource::from_config(&cfg)
        .unwrap()
        .with_tuning(ce_tuning(&env, &cfg));
    let (got, task, mut rx) = run_ce_until_billed(src, Duration::from_secs(5)).await;
    assert_eq!(
        moto.cost_and_usage_requests().len(),
        1,
        "answered from the cache, not by a request"
    );
    let again = billed(&got).unwrap();
    assert_eq!(again, &first, "same figures, same as_of");
    let h = healths(&got, SourceName::CostExplorer)
        .into_iter()
        .find(|h| h.state == SourceState::Ok)
        .unwrap();
    assert_eq!(h.last_success, Some(first.as_of), "the age is the cache's");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    while let Ok(u) = rx.try_recv() {
        assert!(!matches!(u, Update::Billed(_)), "no second answer: {u:?}");
    }
    assert_eq!(
        moto.cost_and_usage_requests().len(),
        1,
        "the second refresh sent no request"
    );
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test]
async fn cost_explorer_corrupt_cache_is_ignored_with_a_warning() {
    let moto = Moto::start();
    let env = env(None, Some(&moto.url()));
    let today = Utc::now().date_naive();
    moto.seed_cost_and_usage(vec![ce_result(today, |s| s.to_string())]);
    let cfg = design();
    let src = CostExplorerSource::from_config(&cfg)
        .unwrap()
        .with_tuning(ce_tuning(&env, &cfg));
    let cache_file = src.cache_path();
    std::fs::create_dir_all(cache_file.parent().unwrap()).unwrap();
    std::fs::write(
        &cache_file,
        b"{\"version\":1,\"rows\":[{\"usd\": \x00garbage",
    )
    .unwrap();
    let (got, task, rx) = run_ce_until_billed(src, Duration::from_secs(20)).await;
    let first = healths(&got, SourceName::CostExplorer)[0];
    assert_eq!(first.state, SourceState::Connecting);
    let w = first.error.as_deref().unwrap_or("");
    assert!(
        w.contains("corrupt cache file") && w.contains(&cache_file.display().to_string()),
        "{w}"
    );
    // Not trusted: the figures came from Cost Explorer, and the file is good again.
    assert_eq!(moto.cost_and_usage_requests().len(), 1);
    let b = billed(&got).unwrap();
    assert!(close(
        b.month_to_date[&CostClass::Eks],
        expected_mtd(today)[&CostClass::Eks]
    ));
    let text = std::fs::read_to_string(&cache_file).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok());
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test]
async fn cost_explorer_groups_by_cost_tag() {
    let moto = Moto::start();
    let env = env(None, Some(&moto.url()));
    let today = Utc::now().date_naive();
    // Tag values are path ids: haiku and sonnet are AgentCore, qwen3 is EKS, untagged other.
    let tag_of = |name: &str| -> String {
        let v = if name.contains("Bedrock") {
            if name.contains("Claude") {
                "agentcore-haiku"
            } else {
                "agentcore-sonnet"
            }
        } else if name.contains("Compute") || name.contains("EC2") || name.contains("Kubernetes") {
            "eks-qwen3"
        } else {
            ""
        };
        format!("hybrid-path${v}")
    };
    moto.seed_cost_and_usage(vec![ce_result(today, tag_of)]);
    let mut cfg = design();
    cfg.aws.as_mut().unwrap().cost_tag = Some("hybrid-path".into());
    let src = CostExplorerSource::from_config(&cfg)
        .unwrap()
        .with_tuning(ce_tuning(&env, &cfg));
    let (got, task, rx) = run_ce_until_billed(src, Duration::from_secs(20)).await;
    let b = billed(&got).unwrap();
    let want = expected_mtd(today);
    for (class, usd) in &want {
        assert!(close(b.month_to_date[class], *usd), "{class:?}");
    }
    let reqs = moto.cost_and_usage_requests();
    let raw = reqs[0]["body"].as_str().unwrap();
    let body = String::from_utf8(base64_decode(raw)).unwrap_or_else(|_| raw.to_string());
    assert!(
        body.contains("\"Type\":\"TAG\"") && body.contains("\"Key\":\"hybrid-path\""),
        "{body}"
    );
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

// ---------------------------------------------------------------------------------------------
// check

#[tokio::test]
async fn check_lines_for_credentials_resources_and_permissions() {
    let moto = Moto::start();
    let cw = FakeCloudWatch::start(Arc::new(value));
    cw.set_listed(listed_for(HAIKU_ARN, HAIKU_MODEL)); // sonnet's resources are missing
    let env = env(Some(&cw.url()), Some(&moto.url()));
    let cfg = design();
    let lines = hybridtop::sources::aws_check::check_with(&cfg, &fast_aws()).await;
    let show: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {} {} — {}", l.source, l.ok, l.check, l.detail))
        .collect();
    assert_eq!(lines.len(), 1 + 4 + 1 + 1, "{show:#?}");
    assert!(
        lines[0].ok && lines[0].check == "credentials resolvable",
        "{show:#?}"
    );
    let found: Vec<(String, bool)> = lines
        .iter()
        .filter(|l| l.check.starts_with("ListMetrics finds"))
        .map(|l| (l.check.clone(), l.ok))
        .collect();
    assert_eq!(
        found,
        vec![
            (format!("ListMetrics finds runtime {HAIKU_ARN}"), true),
            (format!("ListMetrics finds model {HAIKU_MODEL}"), true),
            (format!("ListMetrics finds runtime {SONNET_ARN}"), false),
            (format!("ListMetrics finds model {SONNET_MODEL}"), false),
        ]
    );
    assert!(lines
        .iter()
        .any(|l| l.check == "GetMetricData permitted" && l.ok));
    assert!(lines
        .iter()
        .any(|l| l.source == "cost_explorer" && l.check == "GetCostAndUsage permitted" && l.ok));
    // Denied: the line names the IAM action.
    cw.set_always_on("GetMetricData", Some(Fault::AccessDenied));
    let lines = hybridtop::sources::aws_check::check_with(&cfg, &fast_aws()).await;
    let l = lines
        .iter()
        .find(|l| l.check == "GetMetricData permitted")
        .unwrap();
    assert!(
        !l.ok && l.detail.contains("cloudwatch:GetMetricData"),
        "{}",
        l.detail
    );
    // No credentials: one failing line that says what to run, and nothing else is tried.
    env.no_credentials();
    let lines = hybridtop::sources::aws_check::check_with(&cfg, &fast_aws()).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        !lines[0].ok && lines[0].detail.contains("aws sso login"),
        "{:?}",
        lines[0]
    );
    // No [aws]: disabled, said once.
    let mut none = design();
    none.aws = None;
    let lines = hybridtop::sources::aws_check::check(&none).await;
    assert_eq!(lines.len(), 1);
    assert!(lines[0].detail.contains("disabled"));
    assert!(CloudWatchSource::from_config(&none).is_none());
    assert!(CostExplorerSource::from_config(&none).is_none());
}

// ---------------------------------------------------------------------------------------------
// Acceptance: a snapshot from the reference config (tests/fixtures/design_config.toml)

/// Start both sources as the live dashboard would, feed the model until each has answered,
/// and derive the snapshot.
async fn live_snapshot(cfg: &Config, env: &Env) -> (Value, Vec<Update>) {
    let mut state = State::new(cfg, Mode::Live);
    state.apply(Update::Clock { now: Utc::now() });
    let (tx, mut rx) = mpsc::channel(100_000);
    let cw = CloudWatchSource::from_config(cfg).expect("[aws] present");
    let ce = CostExplorerSource::from_config(cfg)
        .expect("[aws] present")
        .with_tuning(ce_tuning(env, cfg));
    let sources: Vec<Box<dyn Source>> = vec![Box::new(cw), Box::new(ce)];
    let tasks: Vec<_> = sources.into_iter().map(|s| s.spawn(tx.clone())).collect();
    drop(tx);
    let got = recv_until(&mut rx, Duration::from_secs(30), |u| {
        has_health(u, SourceName::Cloudwatch, SourceState::Ok)
            && spend(u, SourceName::Cloudwatch).is_some()
            && has_health(u, SourceName::CostExplorer, SourceState::Ok)
            && spend(u, SourceName::CostExplorer).is_some()
    })
    .await;
    for u in got.iter().cloned() {
        state.apply(u);
    }
    state.apply(Update::Clock { now: Utc::now() });
    let snap = state.snapshot(&DeriveOptions::default());
    drop(rx);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    (serde_json::to_value(&snap).unwrap(), got)
}

#[tokio::test]
async fn acceptance_snapshot_from_design_config_matches_the_data() {
    let moto = Moto::start();
    let cw = fake_cloudwatch();
    let env = env(Some(&cw.url()), Some(&moto.url()));
    let today = Utc::now().date_naive();
    moto.seed_cost_and_usage(vec![ce_result(today, |s| s.to_string())]);
    let cfg = design();
    let (snap, _) = live_snapshot(&cfg, &env).await;

    let sources: Vec<(String, String)> = snap["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        sources.contains(&("cloudwatch".into(), "ok".into())),
        "{sources:?}"
    );
    assert!(
        sources.contains(&("cost_explorer".into(), "ok".into())),
        "{sources:?}"
    );

    let paths = snap["paths"].as_array().unwrap();
    for (id, k, arn, model, prices) in [
        (
            "agentcore-haiku",
            1.0,
            HAIKU_ARN,
            HAIKU_MODEL,
            (0.001, 0.005),
        ),
        (
            "agentcore-sonnet",
            2.0,
            SONNET_ARN,
            SONNET_MODEL,
            (0.003, 0.015),
        ),
    ] {
        let p = paths.iter().find(|p| p["id"] == id).unwrap();
        let through: DateTime<Utc> =
            serde_json::from_value(p["data_through"].clone()).expect("data_through");
        let now = Utc::now().timestamp();
        let lag = now - through.timestamp();
        assert!((120..=240).contains(&lag), "data through {lag} s ago");
        let want = expected(k, arn, model, through.timestamp(), prices);
        let got = |f: &str| p[f].as_f64().unwrap_or(f64::NAN);
        assert!(
            close(got("requests_per_minute"), want.rpm),
            "{id} rpm {} vs {}",
            p["requests_per_minute"],
            want.rpm
        );
        assert!(
            close(got("error_rate"), want.error_rate),
            "{id} error_rate {} vs {}",
            p["error_rate"],
            want.error_rate
        );
        assert!(
            close(got("throttles_per_minute"), want.throttles_per_minute),
            "{id} throttles"
        );
        assert!(
            close(got("sessions_per_minute"), want.sessions_per_minute),
            "{id} sessions"
        );
        let p95 = p["latency_ms"]["p95"].as_f64().unwrap();
        assert!(close(p95, want.p95), "{id} p95 {p95} vs {}", want.p95);
        let usd = p["cost"]["usd_per_hour"].as_f64().unwrap();
        assert!(
            close(usd, want.usd_per_hour),
            "{id} $/h {usd} vs {}",
            want.usd_per_hour
        );
        assert!(close(
            p["cost"]["usd_per_1k_requests"].as_f64().unwrap(),
            want.usd_per_hour / (want.rpm * 60.0) * 1000.0
        ));
        assert!(close(
            p["cost"]["projected_usd_per_month"].as_f64().unwrap(),
            want.usd_per_hour * 730.0
        ));
    }
    // The EKS path has no source here: unknown, not invented.
    let eks = paths.iter().find(|p| p["id"] == "eks-qwen3").unwrap();
    assert_eq!(eks["cost"]["usd_per_hour"], Value::Null);
    assert_eq!(eks["latency_ms"]["p95"], Value::Null);

    // Billed month-to-date by class, and its time.
    let want = expected_mtd(today);
    let billed = &snap["cost"]["billed_month_to_date_usd"];
    for (class, key) in [
        (CostClass::Agentcore, "agentcore"),
        (CostClass::Eks, "eks"),
        (CostClass::Other, "other"),
    ] {
        assert!(
            close(billed[key].as_f64().unwrap(), want[&class]),
            "{key}: {} vs {}",
            billed[key],
            want[&class]
        );
    }
    assert!(close(
        billed["total"].as_f64().unwrap(),
        want.values().sum()
    ));
    assert!(snap["cost"]["billed_as_of"].is_string());
    // The dashboard's own spend at default intervals: 24 metric+stat pairs a minute, 4 usage
    // pairs every 5 minutes, one Cost Explorer request every 6 hours.
    let api = snap["cost"]["dashboard_api_usd_per_hour"].as_f64().unwrap();
    let want_api = (24.0 * 60.0 + 4.0 * 12.0) * 0.00001 + 0.01 / 6.0;
    assert!(close(api, want_api), "{api} vs {want_api}");
    assert!(api <= 0.05);
}

#[tokio::test]
async fn dashboard_api_spend_with_three_agentcore_paths_is_within_budget() {
    let moto = Moto::start();
    let cw = FakeCloudWatch::start(Arc::new(value));
    let env = env(Some(&cw.url()), Some(&moto.url()));
    moto.seed_cost_and_usage(vec![ce_result(Utc::now().date_naive(), |s| s.to_string())]);
    let mut text = String::new();
    for (id, name) in [("a1", "haiku"), ("a2", "sonnet"), ("a3", "third")] {
        text.push_str(&format!(
            "[[paths]]\nid = \"{id}\"\nkind = \"agentcore\"\n[paths.agentcore]\nruntime_arn = \"arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/{name}-1\"\nmodel_id = \"model-{name}\"\n"
        ));
    }
    text.push_str("[aws]\nregion = \"us-east-2\"\n"); // default intervals: 60 s and 6 h
    let cfg = Config::from_toml(&text, "three.toml").unwrap();
    let (snap, got) = live_snapshot(&cfg, &env).await;
    let api = snap["cost"]["dashboard_api_usd_per_hour"].as_f64().unwrap();
    let cw_spend = spend(&got, SourceName::Cloudwatch).unwrap();
    assert!(close(
        cw_spend.usd_per_hour,
        (36.0 * 60.0 + 6.0 * 12.0) * 0.00001
    ));
    assert!(api <= 0.05, "${api}/h");
    assert!(close(api, 0.02232 + 0.01 / 6.0), "{api}");
    assert!(snap["cost"]["dashboard_api_usd_total"].as_f64().unwrap() > 0.01);
}

// ---------------------------------------------------------------------------------------------
// One rustls crypto provider for kube and the AWS SDK

#[tokio::test]
async fn kube_and_aws_clients_share_one_crypto_provider() {
    use support::kube_api::KubeApiServer;
    let cw = fake_cloudwatch();
    let _env = env(Some(&cw.url()), None);
    // The AWS SDK first (as the dashboard may start it first), then kube: neither panics.
    let cfg = design();
    let mut p = CloudWatchPoller::new(&cfg, &cw_tuning(&cfg)).await;
    p.discover().await.unwrap();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    let api = KubeApiServer::start();
    let kc = api.kubeconfig();
    let client =
        hybridtop::kube_client::connect_with_kubeconfig(std::slice::from_ref(&kc.path), None)
            .await
            .expect("kube client");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.client.clone(), "agents");
    pods.list(&Default::default()).await.expect("kube list");
    assert!(!traffic(&p.refresh(Utc::now()).await.unwrap()).is_empty());
    // And the binary, with both linked, starts.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args([
            "snapshot",
            "--demo",
            "--sim-seconds",
            "5",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
