//! An in-process Langfuse public API for integration tests, serving the shapes of
//! `reference/langfuse.md` over real HTTP on loopback:
//!
//! - `GET /api/public/v2/observations`: cursor pagination (`meta.cursor`, absent on the last
//!   page), newest first by startTime, `limit` default 50 / max 1000 (400 above),
//!   `fromStartTime` inclusive / `toStartTime` exclusive, `fields` groups (`core` always;
//!   default `core,basic`); fields of groups not requested are **absent**, optional fields that
//!   have no value are absent too, nullable core fields are `null`; every item carries unknown
//!   extra fields. Answers 404 when v2 is switched off (self-hosted without v4 mode).
//! - `GET /api/public/traces` and `GET /api/public/observations` (v1): `page` from 1, `limit`
//!   1–100, time filters, `{"data", "meta": {page, limit, totalItems, totalPages}}` plus a
//!   `_deprecation` object; trace `fields` (`core`, `io`, `scores`, `observations`, `metrics`,
//!   without `metrics` latency and totalCost are -1). 404 when v1 is switched off (Cloud after
//!   2026-11-16).
//! - `GET /api/public/health`.
//! - HTTP Basic auth (public key : secret key), 401 otherwise.
//! - Rate limiting: a per-window request limit answering 429 with `Retry-After`,
//!   `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`; or 429s injected for the
//!   next N requests.
//! - A request log (time, path, query, status) for counting and budget checks.
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

pub const PUBLIC_KEY: &str = "pk-lf-test-1234";
pub const SECRET_KEY: &str = "sk-lf-test-SECRET-5678";
pub const PROJECT_ID: &str = "clproj-hybrid";

/// A trace: what v1 returns as a trace and v2 joins into its observations.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    pub name: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub tags: Vec<String>,
    pub release: Option<String>,
}

/// An observation as the server stores it.
#[derive(Clone, Debug, Default)]
pub struct Obs {
    pub id: String,
    pub trace_id: String,
    pub kind: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub parent_observation_id: Option<String>,
    pub name: Option<String>,
    pub level: Option<String>,
    pub status_message: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub metadata: Option<Map<String, Value>>,
    pub model: Option<String>,
    /// e.g. `{"input": 400, "output": 150, "total": 550}`.
    pub usage_details: Option<Map<String, Value>>,
    pub cost_details: Option<Map<String, Value>>,
    pub total_cost: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub at: Instant,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: u16,
}

impl Logged {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
    pub retry_after_secs: u64,
}

struct Inner {
    traces: BTreeMap<String, Trace>,
    obs: BTreeMap<String, Obs>,
    v2: bool,
    v1: bool,
    keys: (String, String),
    rate: Option<RateLimit>,
    window_start: Option<Instant>,
    window_count: u32,
    inject_429: u32,
    inject_retry_after: u64,
    /// Every n-th request is answered 429 (with this Retry-After), however many came before.
    every_429: Option<(u64, u64)>,
    served: u64,
    trace_context: bool,
    log: Vec<Logged>,
}

pub struct LangfuseApiServer {
    inner: Arc<Mutex<Inner>>,
    addr: SocketAddr,
    rt: Option<Runtime>,
}

impl Drop for LangfuseApiServer {
    fn drop(&mut self) {
        // Tests drop the server inside their own runtime, where a blocking drop would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl LangfuseApiServer {
    pub fn start() -> LangfuseApiServer {
        let inner = Arc::new(Mutex::new(Inner {
            traces: BTreeMap::new(),
            obs: BTreeMap::new(),
            v2: true,
            v1: true,
            keys: (PUBLIC_KEY.into(), SECRET_KEY.into()),
            rate: None,
            window_start: None,
            window_count: 0,
            inject_429: 0,
            inject_retry_after: 1,
            every_429: None,
            served: 0,
            trace_context: true,
            log: Vec::new(),
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("langfuse-api-test")
            .enable_all()
            .build()
            .expect("test server runtime");
        // Bound with std so that starting works inside a test's own runtime too.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let shared = inner.clone();
        rt.spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("tokio listener");
            accept_loop(listener, shared).await;
        });
        LangfuseApiServer {
            inner,
            addr,
            rt: Some(rt),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_trace(&self, t: Trace) {
        lock(&self.inner).traces.insert(t.id.clone(), t);
    }

    pub fn add_obs(&self, o: Obs) {
        lock(&self.inner).obs.insert(o.id.clone(), o);
    }

    /// Change a stored observation (an end time arriving, say).
    pub fn update_obs(&self, id: &str, f: impl FnOnce(&mut Obs)) {
        if let Some(o) = lock(&self.inner).obs.get_mut(id) {
            f(o);
        }
    }

    pub fn obs_count(&self) -> usize {
        lock(&self.inner).obs.len()
    }

    /// Serve the v2 observations endpoint (false: 404, like self-hosted without v4 mode).
    pub fn set_v2(&self, on: bool) {
        lock(&self.inner).v2 = on;
    }

    /// Know the `trace_context` field group (false: 400 for it, like servers before it).
    pub fn set_trace_context(&self, on: bool) {
        lock(&self.inner).trace_context = on;
    }

    /// Serve the v1 read endpoints (false: 404, like Langfuse Cloud after 2026-11-16).
    pub fn set_v1(&self, on: bool) {
        lock(&self.inner).v1 = on;
    }

    pub fn set_keys(&self, public: &str, secret: &str) {
        lock(&self.inner).keys = (public.into(), secret.into());
    }

    pub fn set_rate_limit(&self, r: Option<RateLimit>) {
        let mut g = lock(&self.inner);
        g.rate = r;
        g.window_start = None;
        g.window_count = 0;
    }

    /// Answer every `n`-th request from now on with 429 and `Retry-After: retry_after_secs`,
    /// starting with the very next one.
    pub fn set_429_every(&self, n: u64, retry_after_secs: u64) {
        let mut g = lock(&self.inner);
        let n = n.max(1);
        g.every_429 = Some((n, retry_after_secs));
        g.served = n - 1;
    }

    /// Answer the next `n` requests with 429 and `Retry-After: retry_after_secs`.
    pub fn inject_429(&self, n: u32, retry_after_secs: u64) {
        let mut g = lock(&self.inner);
        g.inject_429 = n;
        g.inject_retry_after = retry_after_secs;
    }

    pub fn log(&self) -> Vec<Logged> {
        lock(&self.inner).log.clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.inner).log.len()
    }

    /// The most requests that arrived within any span of `period`.
    pub fn max_in_any(&self, period: Duration) -> usize {
        let times: Vec<Instant> = self.log().iter().map(|l| l.at).collect();
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi].duration_since(times[lo]) >= period {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Mutex<Inner>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let inner = inner.clone();
                async move { Ok::<_, Infallible>(handle(&inner, req)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        headers: vec![],
    }
}

fn handle(inner: &Mutex<Inner>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    // Arrival time: what a server's rate limiter counts.
    let at = Instant::now();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut g = lock(inner);
    let r = route(&mut g, &path, &query, auth.as_deref());
    g.log.push(Logged {
        at,
        path,
        query,
        status: r.status,
    });
    drop(g);
    let mut b = Response::builder()
        .status(r.status)
        .header("content-type", "application/json");
    for (k, v) in r.headers {
        b = b.header(k, v);
    }
    b.body(Full::new(Bytes::from(r.body.to_string())))
        .expect("response")
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn time_param(q: &[(String, String)], k: &str) -> Result<Option<DateTime<Utc>>, Reply> {
    match param(q, k) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| reply(400, json!({"message": format!("invalid {k}: {v}")}))),
    }
}

fn route(g: &mut Inner, path: &str, q: &[(String, String)], auth: Option<&str>) -> Reply {
    if path == "/api/public/health" {
        return reply(200, json!({"status": "OK", "version": "3.test"}));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", g.keys.0, g.keys.1))
    );
    if auth != Some(expected.as_str()) {
        return reply(
            401,
            json!({"message": "Invalid credentials. Confirm that you've configured the correct host."}),
        );
    }
    if g.inject_429 > 0 {
        g.inject_429 -= 1;
        return throttled(g.inject_retry_after, 0);
    }
    if let Some((n, retry_after)) = g.every_429 {
        g.served += 1;
        if g.served.is_multiple_of(n) {
            return throttled(retry_after, 0);
        }
    }
    if let Some(rl) = g.rate {
        let now = Instant::now();
        let start = *g.window_start.get_or_insert(now);
        if now.duration_since(start) >= rl.window {
            g.window_start = Some(now);
            g.window_count = 0;
        }
        if g.window_count >= rl.max {
            return throttled(rl.retry_after_secs, rl.max);
        }
        g.window_count += 1;
    }
    let r = match path {
        "/api/public/v2/observations" if g.v2 => v2_observations(g, q),
        "/api/public/traces" if g.v1 => v1_traces(g, q),
        "/api/public/observations" if g.v1 => v1_observations(g, q),
        _ => Ok(reply(404, json!({"message": "Not Found"}))),
    };
    r.unwrap_or_else(|e| e)
}

fn throttled(retry_after: u64, limit: u32) -> Reply {
    let reset = Utc::now() + chrono::Duration::seconds(retry_after as i64);
    Reply {
        status: 429,
        body: json!({"message": "Rate limit exceeded"}),
        headers: vec![
            ("retry-after", retry_after.to_string()),
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            ("x-ratelimit-reset", reset.timestamp().to_string()),
        ],
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v);
    }
}

/// v2 returns input/output as raw strings.
fn raw_io(v: &Option<Value>) -> Option<Value> {
    v.as_ref().map(|v| match v {
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    })
}

fn v2_item(o: &Obs, t: Option<&Trace>, groups: &[&str]) -> Value {
    let has = |g: &str| groups.contains(&g);
    let mut m = Map::new();
    m.insert("id".into(), json!(o.id));
    m.insert("traceId".into(), json!(o.trace_id));
    m.insert("startTime".into(), json!(ts(o.start)));
    m.insert("endTime".into(), json!(o.end.map(ts)));
    m.insert("projectId".into(), json!(PROJECT_ID));
    m.insert("parentObservationId".into(), json!(o.parent_observation_id));
    m.insert("type".into(), json!(o.kind));
    // Unknown fields a newer server might send.
    m.insert("usagePricingTierName".into(), Value::Null);
    m.insert(
        "hybridtopTestExtra".into(),
        json!({"nested": [1, {"x": null}]}),
    );
    if has("basic") {
        put(&mut m, "name", o.name.clone().map(Value::from));
        put(
            &mut m,
            "level",
            Some(json!(o.level.clone().unwrap_or_else(|| "DEFAULT".into()))),
        );
        put(
            &mut m,
            "statusMessage",
            o.status_message.clone().map(Value::from),
        );
        m.insert("environment".into(), json!("production"));
        m.insert("bookmarked".into(), json!(false));
        m.insert("public".into(), json!(false));
        put(
            &mut m,
            "userId",
            t.and_then(|t| t.user_id.clone()).map(Value::from),
        );
        put(
            &mut m,
            "sessionId",
            t.and_then(|t| t.session_id.clone()).map(Value::from),
        );
    }
    if has("time") {
        m.insert("completionStartTime".into(), Value::Null);
        m.insert("createdAt".into(), json!(ts(o.start)));
        m.insert("updatedAt".into(), json!(ts(o.end.unwrap_or(o.start))));
    }
    if has("io") {
        put(&mut m, "input", raw_io(&o.input));
        put(&mut m, "output", raw_io(&o.output));
    }
    if has("metadata") {
        if let Some(md) = &o.metadata {
            // Values come back as strings, truncated to 200 characters.
            let vals: Map<String, Value> = md
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), json!(s.chars().take(200).collect::<String>()))
                })
                .collect();
            m.insert("metadata".into(), Value::Object(vals));
        }
    }
    if has("model") {
        put(&mut m, "model", o.model.clone().map(Value::from));
        if o.model.is_some() {
            m.insert("internalModelId".into(), json!("cm-internal-1"));
            m.insert("modelParameters".into(), json!({"temperature": "0.2"}));
            m.insert("inputPrice".into(), json!("0.000001"));
            m.insert("outputPrice".into(), json!("0.000005"));
            m.insert("totalPrice".into(), Value::Null);
        }
    }
    if has("usage") {
        put(
            &mut m,
            "usageDetails",
            o.usage_details.clone().map(Value::Object),
        );
        put(
            &mut m,
            "costDetails",
            o.cost_details.clone().map(Value::Object),
        );
        put(&mut m, "totalCost", o.total_cost.map(Value::from));
    }
    if has("metrics") {
        let lat = o
            .end
            .map(|e| (e - o.start).num_milliseconds() as f64 / 1000.0);
        m.insert("latency".into(), json!(lat));
        m.insert("timeToFirstToken".into(), Value::Null);
    }
    if has("trace_context") {
        if let Some(t) = t {
            m.insert("tags".into(), json!(t.tags));
            put(&mut m, "release", t.release.clone().map(Value::from));
            put(&mut m, "traceName", t.name.clone().map(Value::from));
        }
    }
    Value::Object(m)
}

fn limit_param(q: &[(String, String)], default: usize, max: usize) -> Result<usize, Reply> {
    match param(q, "limit") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(reply(
                400,
                json!({"message": format!("limit must be between 1 and {max}")}),
            )),
        },
    }
}

fn in_range(t: DateTime<Utc>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
}

/// The v2 `filter` parameter (a JSON array of conditions, which takes precedence over the query
/// filters): `startTime` datetimes (`>=`, `>`, `<`, `<=`), `parentObservationId` `is null` /
/// `is not null` and `traceId` `any of` (stringOptions), as the public API documents them.
/// Anything else is a 400.
struct Filter {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    roots: Option<bool>,
    traces: Option<Vec<String>>,
}

fn filter_param(q: &[(String, String)]) -> Result<Option<Filter>, Reply> {
    let Some(raw) = param(q, "filter") else {
        return Ok(None);
    };
    let bad = |m: String| reply(400, json!({"message": format!("invalid filter: {m}")}));
    let conds: Vec<Value> = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
    let mut f = Filter {
        from: None,
        to: None,
        roots: None,
        traces: None,
    };
    for c in conds {
        let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
        match (
            s("type").as_str(),
            s("column").as_str(),
            s("operator").as_str(),
        ) {
            ("datetime", "startTime", op) => {
                let t = DateTime::parse_from_rfc3339(&s("value"))
                    .map_err(|e| bad(e.to_string()))?
                    .with_timezone(&Utc);
                match op {
                    ">=" => f.from = Some(t),
                    ">" => f.from = Some(t + chrono::Duration::milliseconds(1)),
                    "<" => f.to = Some(t),
                    "<=" => f.to = Some(t + chrono::Duration::milliseconds(1)),
                    other => return Err(bad(format!("operator {other}"))),
                }
            }
            ("stringOptions", "traceId", "any of") => {
                let ids = c["value"]
                    .as_array()
                    .ok_or_else(|| bad("traceId: value must be an array".into()))?;
                f.traces = Some(
                    ids.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| bad("traceId: values must be strings".into()))?,
                );
            }
            ("null", "parentObservationId", "is null") => f.roots = Some(true),
            ("null", "parentObservationId", "is not null") => f.roots = Some(false),
            (t, col, op) => return Err(bad(format!("unsupported condition {t} {col} {op}"))),
        }
    }
    Ok(Some(f))
}

fn v2_observations(g: &Inner, q: &[(String, String)]) -> Result<Reply, Reply> {
    let g_trace_context = g.trace_context;
    let limit = limit_param(q, 50, 1000)?;
    let filter = filter_param(q)?;
    let (from, to, roots, traces) = match &filter {
        Some(f) => (f.from, f.to, f.roots, f.traces.clone()),
        None => (
            time_param(q, "fromStartTime")?,
            time_param(q, "toStartTime")?,
            None,
            None,
        ),
    };
    let fields = param(q, "fields").unwrap_or("core,basic");
    let mut groups: Vec<&str> = fields.split(',').map(str::trim).collect();
    groups.push("core");
    let known = [
        "core",
        "basic",
        "time",
        "io",
        "metadata",
        "model",
        "usage",
        "prompt",
        "metrics",
        "trace_context",
    ];
    let unknown = |g: &str| !known.contains(&g) || (g == "trace_context" && !g_trace_context);
    if let Some(bad) = groups.iter().find(|g| unknown(g)) {
        return Err(reply(
            400,
            json!({"message": format!("Invalid fields: unknown field group '{bad}'")}),
        ));
    }
    // Keyset cursor over (startTime desc, id desc).
    let after: Option<(i64, String)> = match param(q, "cursor") {
        None => None,
        Some(c) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c)
                .map_err(|_| reply(400, json!({"message": "invalid cursor"})))?;
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|_| reply(400, json!({"message": "invalid cursor"})))?;
            Some((
                v["lastStartTime"].as_i64().unwrap_or(i64::MAX),
                v["lastId"].as_str().unwrap_or("").to_string(),
            ))
        }
    };
    let mut items: Vec<&Obs> = g
        .obs
        .values()
        .filter(|o| in_range(o.start, from, to))
        .filter(|o| roots.is_none_or(|r| o.parent_observation_id.is_none() == r))
        .filter(|o| traces.as_ref().is_none_or(|t| t.contains(&o.trace_id)))
        .collect();
    items.sort_by(|a, b| {
        (b.start.timestamp_millis(), &b.id).cmp(&(a.start.timestamp_millis(), &a.id))
    });
    let items: Vec<&Obs> = items
        .into_iter()
        .filter(|o| match &after {
            None => true,
            Some((ms, id)) => (o.start.timestamp_millis(), &o.id) < (*ms, id),
        })
        .collect();
    let page: Vec<&Obs> = items.iter().take(limit).copied().collect();
    let more = items.len() > limit;
    let data: Vec<Value> = page
        .iter()
        .map(|o| v2_item(o, g.traces.get(&o.trace_id), &groups))
        .collect();
    let mut meta = Map::new();
    if more {
        if let Some(last) = page.last() {
            let c = json!({"lastStartTime": last.start.timestamp_millis(), "lastId": last.id});
            meta.insert(
                "cursor".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(c.to_string())),
            );
        }
    }
    Ok(reply(
        200,
        json!({"data": data, "meta": Value::Object(meta)}),
    ))
}

fn page_param(q: &[(String, String)]) -> Result<usize, Reply> {
    match param(q, "page") {
        None => Ok(1),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| reply(400, json!({"message": "page must be >= 1"}))),
    }
}

fn v1_page(data: Vec<Value>, page: usize, limit: usize, total: usize) -> Value {
    json!({
        "data": data,
        "meta": {"page": page, "limit": limit, "totalItems": total,
                 "totalPages": total.div_ceil(limit)},
        "_deprecation": {"message": "v1 read endpoints are deprecated; use /api/public/v2/observations"}
    })
}

fn v1_traces(g: &Inner, q: &[(String, String)]) -> Result<Reply, Reply> {
    let page = page_param(q)?;
    let limit = limit_param(q, 50, 100)?;
    let from = time_param(q, "fromTimestamp")?;
    let to = time_param(q, "toTimestamp")?;
    let fields = param(q, "fields").unwrap_or("core,io,scores,observations,metrics");
    let groups: Vec<&str> = fields.split(',').map(str::trim).collect();
    let mut items: Vec<&Trace> = g
        .traces
        .values()
        .filter(|t| in_range(t.timestamp, from, to))
        .collect();
    items.sort_by(|a, b| (b.timestamp, &b.id).cmp(&(a.timestamp, &a.id)));
    let total = items.len();
    let data: Vec<Value> = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|t| {
            let mut m = Map::new();
            m.insert("id".into(), json!(t.id));
            m.insert("timestamp".into(), json!(ts(t.timestamp)));
            m.insert("name".into(), json!(t.name));
            m.insert("sessionId".into(), json!(t.session_id));
            m.insert("userId".into(), json!(t.user_id));
            m.insert("release".into(), json!(t.release));
            m.insert("version".into(), Value::Null);
            m.insert("metadata".into(), json!({}));
            m.insert("tags".into(), json!(t.tags));
            m.insert("public".into(), json!(false));
            m.insert("environment".into(), json!("production"));
            m.insert(
                "htmlPath".into(),
                json!(format!("/project/{PROJECT_ID}/traces/{}", t.id)),
            );
            m.insert("externalId".into(), Value::Null);
            m.insert("projectId".into(), json!(PROJECT_ID));
            m.insert("bookmarked".into(), json!(false));
            m.insert("createdAt".into(), json!(ts(t.timestamp)));
            m.insert("updatedAt".into(), json!(ts(t.timestamp)));
            if groups.contains(&"io") {
                m.insert("input".into(), Value::Null);
                m.insert("output".into(), Value::Null);
            }
            if groups.contains(&"scores") {
                m.insert("scores".into(), json!([]));
            }
            if groups.contains(&"observations") {
                let ids: Vec<&String> = g
                    .obs
                    .values()
                    .filter(|o| o.trace_id == t.id)
                    .map(|o| &o.id)
                    .collect();
                m.insert("observations".into(), json!(ids));
            }
            let (lat, cost) = if groups.contains(&"metrics") {
                (json!(0.5), json!(0.001))
            } else {
                (json!(-1), json!(-1))
            };
            m.insert("latency".into(), lat);
            m.insert("totalCost".into(), cost);
            Value::Object(m)
        })
        .collect();
    Ok(reply(200, v1_page(data, page, limit, total)))
}

fn v1_observations(g: &Inner, q: &[(String, String)]) -> Result<Reply, Reply> {
    let page = page_param(q)?;
    let limit = limit_param(q, 50, 100)?;
    let from = time_param(q, "fromStartTime")?;
    let to = time_param(q, "toStartTime")?;
    let mut items: Vec<&Obs> = g
        .obs
        .values()
        .filter(|o| in_range(o.start, from, to))
        .filter(|o| param(q, "traceId").is_none_or(|t| t == o.trace_id))
        .collect();
    items.sort_by(|a, b| (b.start, &b.id).cmp(&(a.start, &a.id)));
    let total = items.len();
    let data: Vec<Value> = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| {
            let mut m = Map::new();
            m.insert("id".into(), json!(o.id));
            m.insert("traceId".into(), json!(o.trace_id));
            m.insert("type".into(), json!(o.kind));
            m.insert("name".into(), json!(o.name));
            m.insert("startTime".into(), json!(ts(o.start)));
            m.insert("endTime".into(), json!(o.end.map(ts)));
            m.insert("completionStartTime".into(), Value::Null);
            m.insert("model".into(), json!(o.model));
            m.insert("modelParameters".into(), json!({}));
            m.insert("input".into(), json!(o.input));
            m.insert("output".into(), json!(o.output));
            m.insert(
                "metadata".into(),
                o.metadata.clone().map_or(json!({}), Value::Object),
            );
            m.insert(
                "level".into(),
                json!(o.level.clone().unwrap_or_else(|| "DEFAULT".into())),
            );
            m.insert("statusMessage".into(), json!(o.status_message));
            m.insert("parentObservationId".into(), json!(o.parent_observation_id));
            m.insert(
                "usageDetails".into(),
                o.usage_details.clone().map_or(json!({}), Value::Object),
            );
            m.insert(
                "costDetails".into(),
                o.cost_details.clone().map_or(json!({}), Value::Object),
            );
            m.insert("calculatedTotalCost".into(), json!(o.total_cost));
            m.insert(
                "latency".into(),
                json!(o
                    .end
                    .map(|e| (e - o.start).num_milliseconds() as f64 / 1000.0)),
            );
            m.insert("timeToFirstToken".into(), Value::Null);
            m.insert("environment".into(), json!("production"));
            m.insert("promptId".into(), Value::Null);
            m.insert("unit".into(), json!("TOKENS"));
            Value::Object(m)
        })
        .collect();
    Ok(reply(200, v1_page(data, page, limit, total)))
}
