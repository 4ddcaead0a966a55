//! The Langfuse source: reads observations (spans) of both sides from the Langfuse public API
//! and sends them as `Update::Observations`; the correlation engine joins them into sessions.
//!
//! - **API**: v2 observations (cursor pages of up to 1000, only the field groups the dashboard
//!   uses), or v1 traces + observations (page meta) for self-hosted Langfuse without v4 mode.
//!   `api = "auto"` starts with v2 and falls back to v1 for the rest of the run when v2 answers
//!   404.
//! - **Windows**: every request is bounded by `fromStartTime`/`toStartTime`. The first poll looks
//!   back `lookback` (default: the dashboard window); each next one starts `overlap` (default
//!   2 min) before the previous one ended, so observations that reach Langfuse late (ingestion lag)
//!   are still seen. Pages are followed to the end of the window. Observations are deduplicated
//!   by id: one is sent again only when its content changed (an end time arrived, say).
//! - **Budget**: at most `max_requests_per_minute` requests (default 20) in any minute, 429
//!   retries included; a 429's `Retry-After` is honoured. A poll that needs more requests than the
//!   budget allows simply takes longer.
//! - **Health**: `connecting` until the first poll, then `ok`, or `error` with what to do (keys
//!   rejected, URL unreachable, …); `stale` while a 429 makes it wait.
//! - **Secrets**: the secret key lives in a `SecretKey`, whose `Debug`/`Display` redact it.
pub mod api;
pub mod budget;
pub mod wire;

use crate::config::{Config, LangfuseApi};
use crate::model::update::{Observation, SourceHealth, SourceName, SourceState, Update};
use crate::sources::{CheckLine, Source, UpdateTx};
use api::{Access, Api, ApiError, NotFound, SecretKey};
use budget::Budget;
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
    lookback: Duration,
    max_per_period: u32,
    period: Duration,
    parent_key: String,
    fetch_io: bool,
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
                lookback: lf.lookback.unwrap_or(cfg.general.window),
                max_per_period: lf.max_requests_per_minute,
                period: Duration::from_secs(60),
                parent_key: cfg.correlation.parent_metadata_key.clone(),
                fetch_io: lf.fetch_io,
                timeout: lf.timeout,
            },
            stats: Arc::new(LangfuseStats::default()),
        })
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
        let LangfuseSource { settings, stats } = self;
        let health = |state: SourceState, last: Option<DateTime<Utc>>, error: Option<String>| {
            Update::Health(SourceHealth {
                source: SourceName::Langfuse,
                state,
                last_success: last,
                error,
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
                let _ = tx
                    .send(health(SourceState::Error, None, Some(e.to_string())))
                    .await;
                return;
            }
        };
        let budget = Budget::new(settings.max_per_period, settings.period);
        let mut api = match Api::with_timeout(access, budget, stats.clone(), settings.timeout) {
            Ok(a) => a,
            Err(e) => {
                let _ = tx
                    .send(health(SourceState::Error, None, Some(e.to_string())))
                    .await;
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
            }));
        }));
        let mut poller = Poller::new(&settings);
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
            stats
                .sent
                .fetch_add(outcome.items.len() as u64, Ordering::Relaxed);
            for chunk in outcome.items.chunks(CHUNK) {
                let u = Update::Observations {
                    items: chunk.to_vec(),
                };
                if tx.send(u).await.is_err() {
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
                    settings.interval
                }
                Some(e) => {
                    tracing::warn!("langfuse: {e}");
                    if tx
                        .send(health(SourceState::Error, None, Some(e.to_string())))
                        .await
                        .is_err()
                    {
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
            tokio::select! {
                _ = tokio::time::sleep_until(started + delay) => {}
                _ = tx.closed() => return,
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

/// What one poll produced: new or changed observations, and the error that cut it short.
#[derive(Debug, Default)]
struct Outcome {
    items: Vec<Observation>,
    skipped: u64,
    error: Option<ApiError>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn content_hash(o: &Observation) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match serde_json::to_vec(o) {
        Ok(bytes) => bytes.hash(&mut h),
        // Cannot happen for plain data; hash the id so the observation is sent once.
        Err(_) => o.id.hash(&mut h),
    }
    h.finish()
}

/// The polling state: API version, the next window's start, what was sent, v1 trace details.
struct Poller {
    mode: LangfuseApi,
    version: Option<ApiVersion>,
    lookback: Duration,
    overlap: Duration,
    parent_key: String,
    fields: String,
    next_from: Option<DateTime<Utc>>,
    /// id → (start ms, content hash) of what was sent and may still be fetched again.
    sent: HashMap<String, (i64, u64)>,
    traces: HashMap<String, TraceInfo>,
}

impl Poller {
    fn new(s: &Settings) -> Poller {
        // Only the groups the dashboard shows: names, levels, session and user (basic), the
        // model, tokens and cost (usage), the parent reference (metadata), the trace's tags
        // (trace_context) and, for the span detail, input/output (io).
        let mut fields = String::from("core,basic,model,usage,metadata,trace_context");
        if s.fetch_io {
            fields.push_str(",io");
        }
        Poller {
            mode: s.api,
            version: match s.api {
                LangfuseApi::V2 => Some(ApiVersion::V2),
                LangfuseApi::V1 => Some(ApiVersion::V1),
                LangfuseApi::Auto => None,
            },
            lookback: s.lookback,
            overlap: s.overlap,
            parent_key: s.parent_key.clone(),
            fields,
            next_from: None,
            sent: HashMap::new(),
            traces: HashMap::new(),
        }
    }

    fn window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let back = chrono::Duration::from_std(self.lookback).unwrap_or(chrono::Duration::MAX);
        let first = now.checked_sub_signed(back).unwrap_or(now);
        (self.next_from.unwrap_or(first).min(now), now)
    }

    /// Fetch `[from, now)` completely, then move the window on.
    async fn poll(&mut self, api: &mut Api, now: DateTime<Utc>) -> Outcome {
        let (from, to) = self.window(now);
        let mut out = Outcome::default();
        let result = match self.version {
            Some(ApiVersion::V2) => self.poll_v2(api, from, to, &mut out).await,
            Some(ApiVersion::V1) => self.poll_v1(api, from, to, &mut out).await,
            None => match self.poll_v2(api, from, to, &mut out).await {
                Err(ApiError::NotFound {
                    what: NotFound::V2, ..
                }) if self.mode == LangfuseApi::Auto => {
                    tracing::info!(
                        "langfuse: {} has no v2 observations API (404); using v1",
                        api.base()
                    );
                    self.version = Some(ApiVersion::V1);
                    self.poll_v1(api, from, to, &mut out).await
                }
                other => {
                    if other.is_ok() {
                        self.version = Some(ApiVersion::V2);
                    }
                    other
                }
            },
        };
        match result {
            Ok(()) => {
                // The next window starts `overlap` before this one ended (never earlier than
                // this one started): late arrivals are fetched again, dedupe drops repeats.
                let back =
                    chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::MAX);
                let next = to.checked_sub_signed(back).unwrap_or(from).max(from);
                self.next_from = Some(next);
                let cut = next.timestamp_millis();
                self.sent.retain(|_, (start, _)| *start >= cut);
            }
            Err(e) => out.error = Some(e),
        }
        out
    }

    /// Keep what is new or changed; remember it.
    fn take(&mut self, items: Vec<Observation>, out: &mut Outcome) {
        for o in items {
            let h = content_hash(&o);
            let start = o.start.timestamp_millis();
            match self.sent.get(&o.id) {
                Some(&(_, old)) if old == h => {}
                _ => {
                    self.sent.insert(o.id.clone(), (start, h));
                    out.items.push(o);
                }
            }
        }
    }

    async fn poll_v2(
        &mut self,
        api: &mut Api,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<(), ApiError> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_POLL {
            let mut q = vec![
                ("fields", self.fields.clone()),
                ("limit", V2_PAGE.to_string()),
                ("fromStartTime", ts(from)),
                ("toStartTime", ts(to)),
            ];
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let answer = api
                .get("/api/public/v2/observations", &q, "v2 observations")
                .await;
            let answer = match answer {
                // Servers older than the `trace_context` group refuse it (400): ask without it
                // from now on (paths then come from models; tags are lost) rather than fail
                // every poll.
                Err(ApiError::Http { status: 400, body })
                    if body.contains(TRACE_CONTEXT) && self.fields.contains(TRACE_CONTEXT) =>
                {
                    tracing::warn!(
                        "langfuse: the server does not know the `{TRACE_CONTEXT}` field group \
                         ({body}); polling without trace tags"
                    );
                    self.fields = self
                        .fields
                        .split(',')
                        .filter(|g| *g != TRACE_CONTEXT)
                        .collect::<Vec<_>>()
                        .join(",");
                    continue;
                }
                other => other?,
            };
            let v = answer.ok_or(ApiError::NotFound {
                base: api.base().to_string(),
                what: NotFound::V2,
            })?;
            let page: wire::V2Page = serde_json::from_value(v).map_err(|e| ApiError::Decode {
                what: "v2 observations",
                why: e.to_string(),
            })?;
            let (items, skipped) = wire::observations(&page.data, &self.parent_key, &self.traces);
            out.skipped += skipped;
            self.take(items, out);
            match page.meta.cursor.filter(|c| !c.is_empty()) {
                // A repeated cursor would loop forever.
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    async fn poll_v1(
        &mut self,
        api: &mut Api,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<(), ApiError> {
        // Traces first: v1 observations carry neither sessionId nor tags nor a link.
        let mut page = 1u32;
        while page <= MAX_PAGES_PER_POLL {
            let q = vec![
                ("page", page.to_string()),
                ("limit", V1_PAGE.to_string()),
                ("fromTimestamp", ts(from)),
                ("toTimestamp", ts(to)),
                ("orderBy", "timestamp.desc".to_string()),
                ("fields", "core".to_string()),
            ];
            let p = self
                .v1_page(api, "/api/public/traces", &q, "v1 traces")
                .await?;
            let (traces, skipped) = wire::traces(&p.data);
            out.skipped += skipped;
            let n = p.data.len();
            self.traces.extend(traces);
            if n == 0 || p.meta.total_pages.is_none_or(|t| u64::from(page) >= t) {
                break;
            }
            page += 1;
        }
        let horizon = from.timestamp_millis().saturating_sub(TRACE_CACHE_MS);
        self.traces.retain(|_, t| t.at_ms >= horizon);
        if self.traces.len() > MAX_TRACE_CACHE {
            // Keep the newest.
            let mut at: Vec<i64> = self.traces.values().map(|t| t.at_ms).collect();
            let k = at.len() - MAX_TRACE_CACHE;
            let (_, &mut cut, _) = at.select_nth_unstable(k);
            self.traces.retain(|_, t| t.at_ms > cut);
        }
        let mut page = 1u32;
        while page <= MAX_PAGES_PER_POLL {
            let q = vec![
                ("page", page.to_string()),
                ("limit", V1_PAGE.to_string()),
                ("fromStartTime", ts(from)),
                ("toStartTime", ts(to)),
            ];
            let p = self
                .v1_page(api, "/api/public/observations", &q, "v1 observations")
                .await?;
            let (items, skipped) = wire::observations(&p.data, &self.parent_key, &self.traces);
            out.skipped += skipped;
            let n = p.data.len();
            self.take(items, out);
            if n == 0 || p.meta.total_pages.is_none_or(|t| u64::from(page) >= t) {
                break;
            }
            page += 1;
        }
        Ok(())
    }

    async fn v1_page(
        &mut self,
        api: &mut Api,
        path: &str,
        q: &[(&str, String)],
        what: &'static str,
    ) -> Result<wire::V1Page, ApiError> {
        let v = api
            .get(path, q, what)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                base: api.base().to_string(),
                what: NotFound::V1,
            })?;
        serde_json::from_value(v).map_err(|e| ApiError::Decode {
            what,
            why: e.to_string(),
        })
    }
}

/// `hybridtop check`, the Langfuse part: the base URL, the keys, whether the host answers and
/// accepts them, and which API version it speaks. At most three requests; no secret in the
/// output.
pub async fn check(cfg: &Config) -> Vec<CheckLine> {
    let line = |check: &str, ok: bool, detail: String| CheckLine {
        source: "langfuse",
        check: check.to_string(),
        ok,
        detail: crate::model::sanitize::clean_owned(&detail),
    };
    let Some(lf) = cfg.langfuse.as_ref() else {
        return vec![line(
            "configured",
            true,
            "no [langfuse] section: the source is disabled".into(),
        )];
    };
    let mut out = Vec::new();
    let (raw, from) = configured_base_url(cfg);
    let base = match api::parse_base(&raw) {
        Ok(b) => {
            out.push(line(
                "base URL",
                true,
                format!("{b} (from {})", from.as_str()),
            ));
            b
        }
        Err(e) => {
            out.push(line(
                "base URL",
                false,
                format!("{e} (from {})", from.as_str()),
            ));
            return out;
        }
    };
    let mut missing = Vec::new();
    for var in [&lf.public_key_env, &lf.secret_key_env] {
        if env_nonempty(var).is_none() {
            missing.push(var.as_str());
        }
    }
    if !missing.is_empty() {
        out.push(line(
            "keys",
            false,
            format!("{} not set in the environment", missing.join(" and ")),
        ));
        return out;
    }
    out.push(line(
        "keys",
        true,
        format!("{} and {} are set", lf.public_key_env, lf.secret_key_env),
    ));
    let access = match resolve_access(cfg) {
        Ok(a) => a,
        Err(e) => {
            out.push(line("keys", false, e.to_string()));
            return out;
        }
    };
    let stats = Arc::new(LangfuseStats::default());
    let mut api = match Api::new(access, Budget::new(3, Duration::from_secs(60)), stats) {
        Ok(a) => a,
        Err(e) => {
            out.push(line("reachable", false, e.to_string()));
            return out;
        }
    };
    // One small, bounded request per API version.
    let now = Utc::now();
    let from = now - chrono::Duration::minutes(1);
    let try_v2 = lf.api != LangfuseApi::V1;
    let mut answered: Option<ApiVersion> = None;
    let mut v2_missing = false;
    if try_v2 {
        let q = vec![
            ("fields", "core".to_string()),
            ("limit", "1".to_string()),
            ("fromStartTime", ts(from)),
            ("toStartTime", ts(now)),
        ];
        match api
            .get("/api/public/v2/observations", &q, "v2 observations")
            .await
        {
            Ok(Some(_)) => answered = Some(ApiVersion::V2),
            Ok(None) => v2_missing = true,
            Err(e) => return fail(out, e, &base, line),
        }
    }
    if answered.is_none()
        && (lf.api == LangfuseApi::V1 || (lf.api == LangfuseApi::Auto && v2_missing))
    {
        let q = vec![
            ("limit", "1".to_string()),
            ("page", "1".to_string()),
            ("fromTimestamp", ts(from)),
            ("toTimestamp", ts(now)),
            ("fields", "core".to_string()),
        ];
        match api.get("/api/public/traces", &q, "v1 traces").await {
            Ok(Some(_)) => answered = Some(ApiVersion::V1),
            Ok(None) => {}
            Err(e) => return fail(out, e, &base, line),
        }
    }
    out.push(line("reachable", true, format!("{base} answered")));
    out.push(line(
        "keys accepted",
        true,
        "the API accepted the keys".into(),
    ));
    match answered {
        Some(ApiVersion::V2) => out.push(line(
            "API version",
            true,
            "v2 observations (cursor pages)".into(),
        )),
        Some(ApiVersion::V1) => out.push(line(
            "API version",
            true,
            if v2_missing {
                "v1 traces + observations (v2 answered 404: self-hosted without v4 mode)".into()
            } else {
                "v1 traces + observations".into()
            },
        )),
        None => out.push(line(
            "API version",
            false,
            match lf.api {
                LangfuseApi::V2 => ApiError::NotFound {
                    base: base.clone(),
                    what: NotFound::V2,
                }
                .to_string(),
                _ => ApiError::NotFound {
                    base: base.clone(),
                    what: NotFound::V1,
                }
                .to_string(),
            },
        )),
    }
    out
}

fn fail(
    mut out: Vec<CheckLine>,
    e: ApiError,
    base: &str,
    line: impl Fn(&str, bool, String) -> CheckLine,
) -> Vec<CheckLine> {
    match e {
        ApiError::Rejected { .. } => {
            out.push(line("reachable", true, format!("{base} answered")));
            out.push(line("keys accepted", false, e.to_string()));
        }
        ApiError::Unreachable { .. } => out.push(line("reachable", false, e.to_string())),
        other => {
            out.push(line("reachable", true, format!("{base} answered")));
            out.push(line("API version", false, other.to_string()));
        }
    }
    out
}
