//! `State`: everything the app loop knows, owned by the app loop alone. Fed `Update`s, it derives
//! the `Snapshot` views read.
//!
//! Time is the model's own: `now` is the newest `Update::Clock` (virtual in demo and replay), or
//! the newest traffic time before any clock arrived. Nothing here reads the wall clock, and
//! nothing iterates a hash map into the output, so the same updates give byte-identical JSON.
use super::fin;
use crate::config::{AgentcorePath, AlertsConfig, Config, EksPath, RouterBackend};
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use crate::model::advisor::{self, AdvisorParams};
use crate::model::alerts::SinceTracker;
use crate::model::correlation::{self, Correlator};
use crate::model::cost;
use crate::model::fleet::Fleet;
use crate::model::health::Sources;
use crate::model::phase::{self, PhaseInputs};
use crate::model::quantile::{self, Sketch, WeightedQuantiles};
use crate::model::redact::{opt_text, text};
use crate::model::snapshot::{
    class_key, CostView, Mode, PathCost, PathHistory, PathView, Quantiles, RouterView, SessionRow,
    SessionsView, Snapshot, TrafficSource, SCHEMA,
};
use crate::model::trace_traffic::TraceTraffic;
use crate::model::update::{ApiSpend, BilledCost, SourceName, Update, WeightsReport};
use crate::model::window::{PathWindow, Timeline, WindowStats, HISTORY_POINTS};
use crate::model::{alerts, correlation::Rows};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sessions listed in the JSON (`sessions.recent`).
mod derive;

pub const RECENT_SESSIONS: usize = 20;
/// How often (model time) the correlator's retention sweep runs.
const SWEEP_EVERY_MS: i64 = 1_000;

/// What a derive needs beyond the data: the UI's open session, redaction and read-only flags.
#[derive(Clone, Debug, Default)]
pub struct DeriveOptions {
    pub selected_session: Option<String>,
    pub redact: bool,
    pub read_only: bool,
}

struct PathState {
    id: PathId,
    kind: Side,
    label: String,
    eks: EksPath,
    agentcore: AgentcorePath,
    window: PathWindow,
    /// Requests and latency from Langfuse root observations: used when no `Update::Traffic` for
    /// the path falls in the window, so a metric source and the traces never add up (the
    /// simulator reports traffic directly and wins). Meant for EKS paths, which no CloudWatch
    /// namespace covers; an AgentCore path without CloudWatch gets the same, its cost stays
    /// unknown (tokens and runtime usage are metric-source figures).
    traces: PathWindow,
    /// End of the newest `Update::Traffic` for this path.
    last_traffic_ms: Option<i64>,
    /// Traffic or usage was ever seen (cost is unknown, not zero, before).
    seen: bool,
    /// Paths fed by delayed metrics (CloudWatch): the span `[from, through)` reported so far, in
    /// ms. Their window ends at `through`, not at `now`, so data minutes old is not divided by
    /// minutes it never covered.
    cover: Option<(i64, i64)>,
    /// A source reports this path's session count.
    sessions_known: bool,
}

/// One path's window as the derive sees it: sums, the seconds they cover, and where the data
/// ends for a metrics-fed path.
struct PathAgg {
    stats: WindowStats,
    span_secs: Option<f64>,
    through_ms: Option<i64>,
    /// Metrics, or Langfuse root observations when a path has no metrics in the window.
    source: Option<TrafficSource>,
}

/// Session rows are the costly part of a derive; they are reused while nothing changed.
struct SessionCache {
    generation: u64,
    redact: bool,
    computed_ms: i64,
    valid_until_ms: i64,
    rows: Arc<Vec<SessionRow>>,
    last_activity_ms: Arc<Vec<i64>>,
}

/// The memory behind alert `since` and the advisor's hold. It is written only by `judge`, once
/// per bucket of data time, while updates are applied, never by a derive: a replay applies the
/// same updates, so it (and a seek, which rebuilds the state) ends up with the same memory and
/// shows the same `since` as the live run did, however often either one drew.
#[derive(Debug, Default)]
struct Judged {
    /// The bucket last judged.
    idx: Option<i64>,
    /// When (model time) it was judged: an alert seen since began after it.
    at: Option<DateTime<Utc>>,
    since: SinceTracker,
    /// When each path was last degraded, so the advisor holds until it has been healthy for
    /// `[advisor] resume_after`.
    degraded: advisor::DegradedHistory,
}

pub struct State {
    mode: Mode,
    environment: String,
    read_only: bool,
    window: Duration,
    alerts: AlertsConfig,
    advisor: AdvisorParams,
    /// Each source's polling interval, for the stale alert.
    intervals: Vec<(SourceName, Duration)>,
    /// What the last bucket-boundary judgement saw (see `judge`).
    judged: Judged,
    tl: Timeline,
    clock_ms: Option<i64>,
    data_ms: Option<i64>,
    paths: Vec<PathState>,
    fleet: Fleet,
    sources: Sources,
    router_default: RouterView,
    router: Option<WeightsReport>,
    billed: Option<BilledCost>,
    api_spend: BTreeMap<SourceName, ApiSpend>,
    correlator: Correlator,
    trace_traffic: TraceTraffic,
    session_cache: Mutex<Option<SessionCache>>,
    last_sweep_ms: Option<i64>,
    stamped_idx: Option<i64>,
    dropped: u64,
    /// The span the trace source has read completely, `[from, through)` in ms.
    traces_cover: Option<(i64, i64)>,
    /// The trace source's pass in progress, until its `TracesCovered`.
    trace_progress: Option<crate::model::update::TraceProgress>,
    /// Roots-first polling: the traces read whole.
    waterfalls: crate::model::waterfalls::Waterfalls,
    /// vLLM engine figures per EKS path (Prometheus), and whether the source is configured.
    engines: crate::model::engine::Engines,
    engine_enabled: bool,
    agentcore: crate::model::agentcore::AgentcoreStore,
}

fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl State {
    pub fn new(config: &Config, mode: Mode) -> State {
        // The config was validated; should the rules still not compile, fall back to defaults
        // rather than refuse to start.
        let rules = config
            .correlation_rules()
            .or_else(|_| Config::default().correlation_rules());
        let correlator = match rules {
            Ok(r) => Correlator::new(&r, &config.paths),
            Err(_) => Correlator::inert(&config.paths),
        };
        let tl = Timeline::new(config.general.window);
        let paths = config
            .paths
            .iter()
            .map(|p| PathState {
                id: p.id.clone(),
                kind: p.kind,
                label: p.label().to_string(),
                eks: p.eks.clone().unwrap_or_default(),
                agentcore: p.agentcore.clone().unwrap_or_default(),
                window: PathWindow::new(&tl),
                traces: PathWindow::new(&tl),
                last_traffic_ms: None,
                seen: false,
                cover: None,
                sessions_known: false,
            })
            .collect();
        let router_default = match mode {
            Mode::Demo => RouterView {
                backend: "simulator".into(),
                target: None,
                weights: Weights::default(),
                version: None,
                invalid: None,
            },
            _ => {
                let r = config.router.as_ref();
                RouterView {
                    backend: match r.map(|r| r.backend) {
                        Some(RouterBackend::Httproute) => "httproute",
                        Some(RouterBackend::Configmap) => "configmap",
                        Some(RouterBackend::None) | None => "none",
                    }
                    .into(),
                    target: r.and_then(|r| match (&r.namespace, &r.name) {
                        (Some(ns), Some(n)) if r.backend != RouterBackend::None => {
                            Some(format!("{ns}/{n}"))
                        }
                        _ => None,
                    }),
                    weights: Weights::default(),
                    version: None,
                    invalid: None,
                }
            }
        };
        State {
            mode,
            environment: config.general.environment.clone(),
            read_only: config.general.read_only,
            window: config.general.window,
            alerts: config.alerts.clone(),
            advisor: AdvisorParams::from_config(config),
            intervals: source_intervals(config),
            judged: Judged::default(),
            tl,
            clock_ms: None,
            data_ms: None,
            paths,
            fleet: {
                let k = config.kubernetes.clone().unwrap_or_default();
                Fleet::new(k.max_events, k.scale_up_stuck_after)
            },
            sources: Sources::new(config, mode),
            router_default,
            router: None,
            billed: None,
            api_spend: BTreeMap::new(),
            correlator,
            trace_traffic: TraceTraffic::new(),
            session_cache: Mutex::new(None),
            last_sweep_ms: None,
            stamped_idx: None,
            dropped: 0,
            traces_cover: None,
            trace_progress: None,
            waterfalls: crate::model::waterfalls::Waterfalls::new(
                config.correlation.max_sessions.saturating_mul(4),
            ),
            engines: Default::default(),
            engine_enabled: config.prometheus.is_some(),
            agentcore: Default::default(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The correlation engine (read-only), e.g. for diagnostics.
    pub fn correlator(&self) -> &Correlator {
        &self.correlator
    }

    /// Updates that named an unknown path (ignored).
    /// Polling roots first: the raw ids of the traces of `session` (the id the UI shows) whose
    /// children have not been read. Empty when its waterfall is whole.
    pub fn unread_traces(&self, session: &str, redact: bool) -> Vec<String> {
        if !self.waterfalls.roots_only() {
            return Vec::new();
        }
        let mut ids = self.correlator.trace_ids(session, redact);
        ids.retain(|t| !self.waterfalls.is_whole(t));
        ids
    }

    pub fn dropped_updates(&self) -> u64 {
        self.dropped
    }

    fn now_ms(&self) -> i64 {
        self.clock_ms.or(self.data_ms).unwrap_or(0)
    }

    /// The newest `Update::Clock`, or before any, the newest traffic time.
    pub fn now(&self) -> DateTime<Utc> {
        correlation::ms_to_time(self.now_ms())
    }

    fn path_idx(&self, id: &PathId) -> Option<usize> {
        self.paths.iter().position(|p| p.id == *id)
    }

    /// Ingest one update. Never panics on odd data: unknown paths and out-of-order times are
    /// tolerated.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Clock { now } => {
                let n = to_ms(now);
                if self.clock_ms.is_none_or(|c| n > c) {
                    self.clock_ms = Some(n);
                    self.advance();
                }
            }
            Update::Traffic(b) => {
                let Some(i) = self.path_idx(&b.path) else {
                    self.dropped += 1;
                    return;
                };
                self.note_data(to_ms(b.end).max(to_ms(b.start)));
                let s = to_ms(b.start).min(to_ms(b.end));
                // A metrics-fed path keeps its own start (its coverage); its backfill must not
                // make the other paths' start-up rates look diluted.
                if self.paths[i].cover.is_none() {
                    self.tl.first_data_ms = Some(self.tl.first_data_ms.map_or(s, |f| f.min(s)));
                }
                let p = &mut self.paths[i];
                p.window.add_traffic(&self.tl, &b);
                let end = to_ms(b.end).max(to_ms(b.start));
                p.last_traffic_ms = Some(p.last_traffic_ms.map_or(end, |l| l.max(end)));
                p.seen = true;
            }
            Update::Usage(u) => {
                let Some(i) = self.path_idx(&u.path) else {
                    self.dropped += 1;
                    return;
                };
                if self.paths[i].kind != Side::Agentcore {
                    self.dropped += 1;
                    return;
                }
                self.note_data(to_ms(u.end).max(to_ms(u.start)));
                let p = &mut self.paths[i];
                let usd = cost::agentcore_usage_usd(&p.agentcore, u.vcpu_hours, u.gb_hours);
                p.window
                    .add_usage(&self.tl, to_ms(u.start), to_ms(u.end), usd);
                p.seen = true;
            }
            Update::Fleet(f) => {
                self.fleet.apply(f, correlation::ms_to_time(self.now_ms()));
                self.stamp_nodes();
            }
            Update::Observations { items } => {
                self.count_roots(&items);
                self.correlator.ingest_batch(items);
            }
            Update::Health(h) => self.sources.apply(h),
            Update::Weights(w) => self.router = Some(w),
            Update::Billed(b) => {
                if self.billed.as_ref().is_none_or(|old| b.as_of >= old.as_of) {
                    self.billed = Some(b);
                }
            }
            Update::Coverage(c) => {
                let Some(i) = self.path_idx(&c.path) else {
                    self.dropped += 1;
                    return;
                };
                let (a, b) = (to_ms(c.start), to_ms(c.end));
                let (s, e) = (a.min(b), a.max(b));
                self.note_data(e);
                let p = &mut self.paths[i];
                p.cover = Some(p.cover.map_or((s, e), |(f, t)| (f.min(s), t.max(e))));
                if let Some(n) = c.sessions {
                    p.window.add_sessions(&self.tl, s, e, n as f64);
                    p.sessions_known = true;
                }
                // A covered period with no traffic is a real zero: cost is known from here on.
                p.seen = true;
            }
            Update::ApiSpend(a) => {
                self.api_spend.insert(a.source, a);
            }
            Update::Engine(r) => {
                if self.path_idx(&r.path).is_none() {
                    self.dropped += 1;
                    return;
                }
                self.engines.apply(r);
            }
            Update::TraceProgress(p) => self.trace_progress = Some(p),
            Update::Waterfalls(w) => self.waterfalls.apply(w),
            Update::TracesCovered { from, through } => {
                self.trace_progress = None;
                let (a, b) = (to_ms(from), to_ms(through));
                let (f, t) = (a.min(b), a.max(b));
                self.traces_cover = Some(
                    self.traces_cover
                        .map_or((f, t), |(cf, ct)| (cf.min(f), ct.max(t))),
                );
            }
            Update::Agentcore(b) => {
                self.note_data(to_ms(b.end));
                let w = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
                self.agentcore.apply(b, w);
            }
            Update::Alarms(r) => self.agentcore.apply_alarms(r),
        }
    }

    /// The window as each path sees it: up to `now`, or for a metrics-fed path the window's
    /// length ending where its data ends.
    fn path_aggs(&self) -> Vec<PathAgg> {
        let covered = self.tl.covered_secs();
        self.paths
            .iter()
            .map(|p| match p.cover {
                None => {
                    let (w, source) = self.traffic_window(p);
                    // Traces divide by the span their source read, empty stretches included.
                    let span = match (source, self.traces_covered_secs()) {
                        (Some(TrafficSource::Traces), Some(c)) => Some(c),
                        _ => covered,
                    };
                    PathAgg {
                        stats: w.aggregate(&self.tl),
                        span_secs: span,
                        through_ms: None,
                        source,
                    }
                }
                Some((from, through)) => match self.tl.covered_window(from, through) {
                    Some((first, last, span)) => PathAgg {
                        stats: p.window.aggregate_range(&self.tl, first, last),
                        span_secs: Some(span),
                        through_ms: Some(through),
                        source: Some(TrafficSource::Metrics),
                    },
                    None => PathAgg {
                        stats: WindowStats::default(),
                        span_secs: None,
                        through_ms: Some(through),
                        source: Some(TrafficSource::Metrics),
                    },
                },
            })
            .collect()
    }

    /// Seconds of the window the trace source has read completely (`Update::TracesCovered`),
    /// up to `now`; floored at one second like `Timeline::covered_secs`.
    fn traces_covered_secs(&self) -> Option<f64> {
        let (from, through) = self.traces_cover?;
        let start = (self.tl.window_first_idx() * self.tl.bucket_ms).max(from);
        let end = through.min(self.tl.now_ms);
        (end > start).then(|| ((end - start).max(1000)) as f64 / 1000.0)
    }

    /// Data time moves `now` only until a clock has been seen.
    fn note_data(&mut self, t: i64) {
        if self.data_ms.is_none_or(|d| t > d) {
            self.data_ms = Some(t);
            if self.clock_ms.is_none() {
                self.advance();
            }
        }
    }

    fn advance(&mut self) {
        let now = self.now_ms();
        self.tl.now_ms = now;
        let idx = self.tl.now_idx();
        if self.stamped_idx != Some(idx) {
            self.stamp_nodes();
        }
        if self.judged.idx != Some(idx) {
            self.judge(idx);
        }
        if self.last_sweep_ms.is_none_or(|l| now - l >= SWEEP_EVERY_MS) {
            self.last_sweep_ms = Some(now);
            self.correlator.sweep(correlation::ms_to_time(now));
            // Roots older than the ring can never be counted again: forget them.
            let horizon = (self.tl.now_idx() + 1 - self.tl.ring_len) * self.tl.bucket_ms;
            self.trace_traffic.prune(horizon);
        }
    }

    /// Root observations as requests (see `PathState::traces`).
    fn count_roots(&mut self, items: &[crate::model::update::Observation]) {
        let corr = &self.correlator;
        let requests = self.trace_traffic.ingest(items, |o| corr.attribute(o));
        for r in requests {
            // Before any clock, a root's time is data time (as traffic's is): counted once, it
            // must land in a bucket the timeline accepts.
            self.note_data(r.start_ms);
            let Some(p) = self.paths.get_mut(r.path) else {
                continue;
            };
            p.traces
                .add_request(&self.tl, r.start_ms, r.latency_ms, r.error);
            // Rates divide by the span since the first data: a trace-only path has data too.
            if self.tl.accepts(self.tl.idx(r.start_ms)) {
                let f = self
                    .tl
                    .first_data_ms
                    .map_or(r.start_ms, |f| f.min(r.start_ms));
                self.tl.first_data_ms = Some(f);
            }
        }
    }

    /// Which window gives a path's rate and latency: its metrics while any fall in the window,
    /// else its traces when they hold requests.
    fn traffic_window<'a>(&self, p: &'a PathState) -> (&'a PathWindow, Option<TrafficSource>) {
        let from = self.tl.window_first_idx() * self.tl.bucket_ms;
        let metrics = p.last_traffic_ms.is_some_and(|t| t >= from);
        if !metrics && p.traces.has_requests(&self.tl) {
            return (&p.traces, Some(TrafficSource::Traces));
        }
        let src = p.last_traffic_ms.map(|_| TrafficSource::Metrics);
        (&p.window, src)
    }

    /// Judge the state once per bucket of data time: remember which alerts are on and since
    /// when, and which paths are degraded. A derive reads this memory and never writes it.
    fn judge(&mut self, idx: i64) {
        let snap = self.snapshot(&DeriveOptions::default());
        self.judged.since.note(&snap.alerts);
        let keep = self.advisor.advisor.resume_after;
        self.judged
            .degraded
            .note(&snap.advisor.degraded, snap.generated_at, keep);
        self.judged.idx = Some(idx);
        self.judged.at = Some(snap.generated_at);
    }

    /// Record each EKS path's GPU nodes in the current bucket (for the $/h sparkline).
    fn stamp_nodes(&mut self) {
        if !self.fleet.is_known() {
            return;
        }
        let now = self.tl.now_ms;
        self.stamped_idx = Some(self.tl.now_idx());
        for p in self.paths.iter_mut().filter(|p| p.kind == Side::Eks) {
            let n = self.fleet.nodes_in_use(&p.id, p.eks.pods_per_node);
            p.window.note_nodes(&self.tl, now, f64::from(n));
        }
    }
}

/// Each source's polling interval (Kubernetes watches confirm themselves once a minute).
fn source_intervals(config: &Config) -> Vec<(SourceName, Duration)> {
    let aws = config.aws.clone().unwrap_or_default();
    let langfuse = config.langfuse.clone().unwrap_or_default();
    vec![
        (SourceName::Cloudwatch, aws.cloudwatch_interval),
        (SourceName::CostExplorer, aws.cost_explorer_interval),
        (SourceName::Kubernetes, Duration::from_secs(60)),
        (SourceName::Langfuse, langfuse.interval),
        (
            SourceName::Collector,
            crate::model::health::COLLECTOR_INTERVAL,
        ),
        (
            SourceName::Prometheus,
            config.prometheus.clone().unwrap_or_default().interval,
        ),
        (SourceName::Otlp, crate::model::health::OTLP_HEARTBEAT),
    ]
}

#[cfg(test)]
mod tests;
