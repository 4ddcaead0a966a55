//! The Langfuse source: reads observations (spans) of both sides from the Langfuse public API
//! and sends them as `Update::Observations`; the correlation engine joins them into sessions.
//!
//! - **API**: v2 observations (cursor pages of up to 1000, only the field groups the dashboard
//!   uses), or v1 traces + observations (page meta) for self-hosted Langfuse without v4 mode.
//!   `api = "auto"` starts with v2 and falls back to v1 for the rest of the run when v2 answers
//!   404.
//! - **Windows**: every request is bounded by `fromStartTime`/`toStartTime`. The first poll looks
//!   back `lookback` (default: the dashboard window); each next one starts an overlap before the
//!   previous one ended, so observations that reach Langfuse late (ingestion lag) are still
//!   seen: as late as they are measured to arrive (`overlap.rs`), between `min_overlap` (15 s)
//!   and `overlap` (2 min). Pages reach the app as they arrive (`Update::TraceProgress` says
//!   how far a pass has got); how far behind the present the complete data is shows as the
//!   source's lag. Pages are followed to the end of the window. Observations are deduplicated
//!   by id: one is sent again only when its content changed (an end time arrived, say).
//! - **Roots first** (`roots_first`, the default; v2): only each trace's root observation is
//!   polled (the `filter` parameter), which is all session figures need, at a fraction of the
//!   pages, and without `io`. The children come apart (`children.rs`, `traceId` filter): for a
//!   sample of sessions after each poll, while the budget has room, and at once for a waterfall
//!   the operator opens (`TraceDemand`, served between pages), input and output included.
//!   `Update::Waterfalls` says which traces are whole.
//! - **Budget**: at most `max_requests_per_minute` requests (default by `plan`: 20 for Hobby or
//!   unset, 60 Core, 600 Pro or self-hosted) in any minute, 429
//!   retries included; a 429's `Retry-After` is honoured. A poll that needs more requests than the
//!   budget allows simply takes longer.
//! - **Health**: `connecting` until the first poll, then `ok`, or `error` with what to do (keys
//!   rejected, URL unreachable, …); `stale` while a 429 makes it wait.
//! - **Secrets**: the secret key lives in a `SecretKey`, whose `Debug`/`Display` redact it.
pub mod api;
mod check;
pub mod children;
pub mod overlap;
mod poller;
pub mod wire;

pub use check::check;
use poller::*;

use crate::config::{Config, LangfuseApi};
use crate::model::update::{Observation, SourceHealth, SourceName, SourceState, Update};
use crate::sources::budget::Budget;
use crate::sources::{CheckLine, Source, UpdateTx};
use api::{Access, Api, ApiError, NotFound, SecretKey};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use wire::TraceInfo;

/// Langfuse Cloud's EU host, the SDKs' default.
pub const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";
/// v2 allows up to 1000 per page, v1 up to 100.
const V2_PAGE: u32 = 1000;
const V1_PAGE: u32 = 100;
/// Observations per `Update` (keeps one update, and one app-loop turn, small).
const CHUNK: usize = 2000;
/// A broken server could hand out cursors forever: no poll follows more pages than this.
const MAX_PAGES_PER_POLL: u32 = 10_000;
/// v1 trace details are kept this long after the trace started (long sessions).
const TRACE_CACHE_MS: i64 = 6 * 3600 * 1000;
const MAX_TRACE_CACHE: usize = 200_000;
/// The v2 field group with the trace's tags (newer servers only).
const TRACE_CONTEXT: &str = "trace_context";
/// Retry delay after errors: the interval, doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Which API answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V2,
    V1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V1 => "v1",
        }
    }
}

/// Counters readable while the source runs (tests, diagnostics, the report's numbers).
#[derive(Debug, Default)]
pub struct LangfuseStats {
    /// HTTP requests sent, retries included.
    pub requests: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
    /// Polls completed (every page of the window read).
    pub polls: AtomicU64,
    /// Requests of the last completed poll.
    pub last_poll_requests: AtomicU64,
    /// Observations sent (new or changed).
    pub sent: AtomicU64,
    /// Items of a page that did not parse.
    pub skipped: AtomicU64,
    /// 0 unknown, 1 v1, 2 v2.
    pub api: AtomicU64,
}

impl LangfuseStats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
    pub fn last_poll_requests(&self) -> u64 {
        self.last_poll_requests.load(Ordering::Relaxed)
    }
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
    pub fn api(&self) -> Option<ApiVersion> {
        match self.api.load(Ordering::Relaxed) {
            1 => Some(ApiVersion::V1),
            2 => Some(ApiVersion::V2),
            _ => None,
        }
    }
}

/// Where the base URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseUrlFrom {
    Config,
    LangfuseBaseUrl,
    LangfuseHost,
    Default,
}

impl BaseUrlFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            BaseUrlFrom::Config => "langfuse.base_url",
            BaseUrlFrom::LangfuseBaseUrl => "LANGFUSE_BASE_URL",
            BaseUrlFrom::LangfuseHost => "LANGFUSE_HOST",
            BaseUrlFrom::Default => "default",
        }
    }
}

fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The base URL as configured: `langfuse.base_url`, else `LANGFUSE_BASE_URL`, else
/// `LANGFUSE_HOST`, else Langfuse Cloud (EU). Not validated (see `api::parse_base`).
pub fn configured_base_url(cfg: &Config) -> (String, BaseUrlFrom) {
    let from_cfg = cfg
        .langfuse
        .as_ref()
        .and_then(|l| l.base_url.clone())
        .filter(|u| !u.trim().is_empty());
    if let Some(u) = from_cfg {
        return (u, BaseUrlFrom::Config);
    }
    if let Some(u) = env_nonempty("LANGFUSE_BASE_URL") {
        return (u, BaseUrlFrom::LangfuseBaseUrl);
    }
    if let Some(u) = env_nonempty("LANGFUSE_HOST") {
        return (u, BaseUrlFrom::LangfuseHost);
    }
    (DEFAULT_BASE_URL.to_string(), BaseUrlFrom::Default)
}

/// The Langfuse web UI's base URL for trace links (`o` in the Traces view): `None` when
/// `[langfuse]` is absent or the URL is unusable.
pub fn web_base_url(cfg: &Config) -> Option<String> {
    cfg.langfuse.as_ref()?;
    api::parse_base(&configured_base_url(cfg).0).ok()
}

/// Everything the source needs, resolved from the config and the environment once.
#[derive(Clone, Debug)]
struct Settings {
    access: Result<Access, ApiError>,
    api: LangfuseApi,
    interval: Duration,
    overlap: Duration,
    min_overlap: Duration,
    adaptive_overlap: bool,
    lookback: Duration,
    max_per_period: u32,
    period: Duration,
    parent_key: String,
    fetch_io: bool,
    roots_first: bool,
    /// One request, body included (`langfuse.timeout`).
    timeout: Duration,
}

fn resolve_access(cfg: &Config) -> Result<Access, ApiError> {
    let lf = cfg.langfuse.clone().unwrap_or_default();
    let base = api::parse_base(&configured_base_url(cfg).0)?;
    let key = |var: &str| {
        env_nonempty(var).ok_or_else(|| ApiError::MissingKey {
            var: var.to_string(),
        })
    };
    let public_key = key(&lf.public_key_env)?;
    let secret = SecretKey::new(key(&lf.secret_key_env)?);
    Ok(Access {
        base,
        public_key,
        secret,
        public_env: lf.public_key_env,
        secret_env: lf.secret_key_env,
    })
}

/// Polls Langfuse and sends `Update::Observations` and `Update::Health` (`SourceName::Langfuse`).
#[derive(Debug)]
pub struct LangfuseSource {
    settings: Settings,
    stats: Arc<LangfuseStats>,
    demands: Option<crate::sources::DemandRx>,
}

/// What ends the wait between polls.
enum Wake {
    Poll,
    Closed,
    Demand(Option<crate::sources::TraceDemand>),
}

impl LangfuseSource {
    /// `None` when the config has no `[langfuse]` section (the source is disabled). Reads the
    /// base URL and the keys from the environment now; a missing key or a bad URL is reported as
    /// the source's health once it runs, not here.
    pub fn from_config(cfg: &Config) -> Option<LangfuseSource> {
        let lf = cfg.langfuse.as_ref()?;
        Some(LangfuseSource {
            settings: Settings {
                access: resolve_access(cfg),
                api: lf.api,
                interval: lf.interval,
                overlap: lf.overlap,
                min_overlap: lf.min_overlap,
                adaptive_overlap: lf.adaptive_overlap,
                lookback: lf.lookback.unwrap_or(cfg.general.window),
                max_per_period: lf.budget_per_minute(),
                period: Duration::from_secs(60),
                parent_key: cfg.correlation.parent_metadata_key.clone(),
                fetch_io: lf.fetch_io,
                roots_first: lf.roots_first,
                timeout: lf.timeout,
            },
            stats: Arc::new(LangfuseStats::default()),
            demands: None,
        })
    }

    /// Serve the app's asks for whole traces (opened waterfalls) from this channel.
    pub fn with_demands(mut self, rx: crate::sources::DemandRx) -> Self {
        self.demands = Some(rx);
        self
    }

    /// The keys and base URL resolved (a demand-only source is wired only then).
    pub fn has_access(&self) -> bool {
        self.settings.access.is_ok()
    }

    /// Serve demands only: no polls, no health (a team-mode viewer asks Langfuse for the
    /// waterfalls it opens with its own keys; the collector's stream carries everything else).
    /// Ends when the demand channel or the update channel closes.
    pub fn spawn_demand_only(self, tx: UpdateTx) -> Option<JoinHandle<()>> {
        let LangfuseSource {
            settings,
            stats,
            demands,
        } = self;
        let mut rx = demands?;
        let access = settings.access.clone().ok()?;
        Some(tokio::spawn(async move {
            let budget = Budget::new(settings.max_per_period, settings.period);
            let mut api = match Api::with_timeout(access, budget, stats, settings.timeout) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("langfuse (waterfalls on demand): {e}");
                    return;
                }
            };
            let mut poller = Poller::new(&Settings {
                roots_first: true,
                ..settings
            });
            poller.version = Some(ApiVersion::V2);
            poller.sink = Some(tx.clone());
            loop {
                let d = tokio::select! {
                    d = rx.recv() => d,
                    _ = tx.closed() => return,
                };
                match d {
                    Some(d) => poller.serve(&mut api, d).await,
                    None => return,
                }
            }
        }))
    }

    /// Counters shared with the running source.
    pub fn stats(&self) -> Arc<LangfuseStats> {
        self.stats.clone()
    }

    /// Count the budget over `period` instead of a minute (tests compress time with this).
    pub fn with_budget_period(mut self, period: Duration) -> Self {
        self.settings.period = period;
        self
    }

    async fn run(self, tx: UpdateTx) {
        let LangfuseSource {
            settings,
            stats,
            demands,
        } = self;
        let health = |state: SourceState, last: Option<DateTime<Utc>>, error: Option<String>| {
            Update::Health(SourceHealth {
                source: SourceName::Langfuse,
                state,
                last_success: last,
                error,
                permanent: false,
            })
        };
        // A failure that waiting will not fix: keys, base URL, an API that is not there.
        let failed_for_good = |e: &ApiError| {
            Update::Health(SourceHealth {
                source: SourceName::Langfuse,
                state: SourceState::Error,
                last_success: None,
                error: Some(e.to_string()),
                permanent: matches!(
                    e,
                    ApiError::MissingKey { .. }
                        | ApiError::BadBaseUrl { .. }
                        | ApiError::Rejected { .. }
                        | ApiError::NotFound { .. }
                ),
            })
        };
        if tx
            .send(health(SourceState::Connecting, None, None))
            .await
            .is_err()
        {
            return;
        }
        let access = match settings.access.clone() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("langfuse: {e}");
                let _ = tx.send(failed_for_good(&e)).await;
                return;
            }
        };
        let budget = Budget::new(settings.max_per_period, settings.period);
        let mut api = match Api::with_timeout(access, budget, stats.clone(), settings.timeout) {
            Ok(a) => a,
            Err(e) => {
                let _ = tx.send(failed_for_good(&e)).await;
                return;
            }
        };
        let throttle_tx = tx.clone();
        api.on_throttle(Box::new(move |wait| {
            // Best effort: a full channel only delays the message to the next poll's health.
            let _ = throttle_tx.try_send(Update::Health(SourceHealth {
                source: SourceName::Langfuse,
                state: SourceState::Stale,
                last_success: None,
                error: Some(format!(
                    "rate limited by Langfuse (HTTP 429): waiting {} s as Retry-After asks",
                    wait.as_secs_f64().ceil() as u64
                )),
                permanent: false,
            }));
        }));
        let mut poller = Poller::new(&settings);
        // Pages reach the app as they arrive: a large window shows up progressively.
        poller.sink = Some(tx.clone());
        poller.demands = demands;
        let mut backoff = settings.interval;
        loop {
            let started = tokio::time::Instant::now();
            let now = Utc::now();
            let before = stats.requests();
            // A poll may wait a minute for the budget: stop at once when the app goes away.
            let outcome = tokio::select! {
                o = poller.poll(&mut api, now) => o,
                _ = tx.closed() => return,
            };
            stats.skipped.fetch_add(outcome.skipped, Ordering::Relaxed);
            if let Some(v) = poller.version {
                stats.api.store(
                    match v {
                        ApiVersion::V1 => 1,
                        ApiVersion::V2 => 2,
                    },
                    Ordering::Relaxed,
                );
            }
            stats.sent.fetch_add(
                outcome.delivered + outcome.items.len() as u64,
                Ordering::Relaxed,
            );
            if !poller::send_observations(&tx, &outcome.items).await {
                return;
            }
            if let Some((from, through)) = outcome.covered {
                if tx
                    .send(Update::TracesCovered { from, through })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let delay = match outcome.error {
                None => {
                    stats.polls.fetch_add(1, Ordering::Relaxed);
                    stats
                        .last_poll_requests
                        .store(stats.requests() - before, Ordering::Relaxed);
                    backoff = settings.interval;
                    if tx
                        .send(health(SourceState::Ok, Some(now), None))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if settings.roots_first {
                        let report = Update::Waterfalls(crate::model::update::WaterfallReport {
                            source: SourceName::Langfuse,
                            roots_only: poller.roots_only(),
                            whole: Vec::new(),
                        });
                        if tx.send(report).await.is_err() {
                            return;
                        }
                        let mut sample = poller::Outcome::default();
                        tokio::select! {
                            _ = poller.read_sample(&mut api, &mut sample) => {}
                            _ = tx.closed() => return,
                        }
                        stats.sent.fetch_add(sample.delivered, Ordering::Relaxed);
                    }
                    settings.interval
                }
                Some(e) => {
                    tracing::warn!("langfuse: {e}");
                    if tx.send(failed_for_good(&e)).await.is_err() {
                        return;
                    }
                    let d = match e {
                        // Keys do not fix themselves quickly: ask less often.
                        ApiError::Rejected { .. } => settings.interval.max(Duration::from_secs(60)),
                        ApiError::RateLimited { wait } => wait.max(settings.interval),
                        _ => backoff,
                    };
                    backoff = (backoff * 2).min(MAX_BACKOFF).max(settings.interval);
                    d
                }
            };
            // Between polls an opened waterfall is served at once.
            loop {
                let next = async {
                    match poller.demands.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                };
                let wake = tokio::select! {
                    _ = tokio::time::sleep_until(started + delay) => Wake::Poll,
                    _ = tx.closed() => Wake::Closed,
                    d = next => Wake::Demand(d),
                };
                match wake {
                    Wake::Poll => break,
                    Wake::Closed => return,
                    Wake::Demand(Some(d)) => poller.serve(&mut api, d).await,
                    // The app dropped its end: nothing more will be asked.
                    Wake::Demand(None) => poller.demands = None,
                }
            }
        }
    }
}

impl Source for LangfuseSource {
    fn name(&self) -> &'static str {
        "langfuse"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(self.run(tx))
    }
}
