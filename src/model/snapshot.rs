//! `Snapshot`: the view model. Derived from `State`; the only thing views and exports read.
//! Serialises to the `hybridtop.snapshot.v1` JSON schema (ARCHITECTURE.md "Contracts" → "Snapshot JSON"); bulky detail is skipped.
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use crate::model::update::{
    CostClass, DailyCost, FleetProblem, GpuNode, Level, Pod, ScaledObject, SourceName, SourceState,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const SCHEMA: &str = "hybridtop.snapshot.v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Demo,
    Replay,
    /// A viewer fed by a collector through a Redis stream (team mode).
    Attach,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Demo => "demo",
            Mode::Replay => "replay",
            Mode::Attach => "attach",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema: String,
    pub generated_at: DateTime<Utc>,
    pub mode: Mode,
    pub environment: String,
    pub window_seconds: u64,
    pub read_only: bool,
    pub redacted: bool,
    pub sources: Vec<SourceStatus>,
    pub router: RouterView,
    pub paths: Vec<PathView>,
    pub fleet: FleetView,
    pub sessions: SessionsView,
    pub cost: CostView,
    pub alerts: Vec<Alert>,
    pub phase: PhaseView,
    /// Break-even modes and the cost-optimal split (the seed's cost tables, live).
    #[serde(default)]
    pub advisor: AdvisorView,
    /// AgentCore Gateway tools, Identity and Memory (`model::agentcore`).
    #[serde(default)]
    pub agentcore: crate::model::agentcore::AgentcoreView,
    /// Firing CloudWatch alarms (ALARM, then INSUFFICIENT_DATA), linked to paths.
    #[serde(default)]
    pub alarms: Vec<crate::model::agentcore::AlarmView>,
    /// How many alarms were read; null without `[aws] alarm_prefixes`.
    #[serde(default)]
    pub alarm_scan: Option<crate::model::agentcore::AlarmScan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: SourceName,
    pub state: SourceState,
    pub last_success: Option<DateTime<Utc>>,
    pub age_seconds: Option<f64>,
    pub error: Option<String>,
    /// True when the figures come from the simulator rather than the real service.
    #[serde(default)]
    pub simulated: bool,
    /// The failure will not fix itself (credentials, permissions, configuration): present only
    /// when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permanent: bool,
    /// A trace source: how far behind the present its complete data is (now minus the end of
    /// the last window it read whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// Its polling interval, for judging the lag (the Overview shows a lag above it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    /// A trace source part-way through its window (its figures are partial until it is done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catching_up: Option<CatchingUp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatchingUp {
    pub read: u64,
    #[serde(default)]
    pub expected: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterView {
    pub backend: String,
    pub target: Option<String>,
    pub weights: Weights,
    pub version: Option<String>,
    /// The stored weights are not a valid split: why, naming the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathCost {
    pub usd_per_hour: Option<f64>,
    pub usd_per_1k_requests: Option<f64>,
    pub projected_usd_per_month: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathView {
    pub id: PathId,
    pub kind: Side,
    pub label: String,
    /// The router's configured percent (null when the router's weights are unknown).
    pub weight: Option<u32>,
    pub requests_per_minute: f64,
    pub observed_share: f64,
    /// The split over the last minute only: it follows a weight change quickly, where the
    /// window's share moves over the whole window.
    #[serde(default)]
    pub observed_share_1m: f64,
    pub error_rate: Option<f64>,
    pub throttles_per_minute: f64,
    pub latency_ms: Quantiles,
    pub cost: PathCost,
    /// Where the rate, error rate and latency come from: `metrics` (CloudWatch or the
    /// simulator's traffic), `traces` (Langfuse root observations, for a path no metric source
    /// reports in the window — typically EKS), or null before either.
    #[serde(default)]
    pub traffic_source: Option<TrafficSource>,
    /// EKS paths only: ready pods and the replicas KEDA wants.
    pub ready_pods: Option<u32>,
    pub desired_pods: Option<u32>,
    /// AgentCore sessions created per minute (CloudWatch `SessionCount`); null when unknown.
    #[serde(default)]
    pub sessions_per_minute: Option<f64>,
    /// Paths fed by delayed metrics (CloudWatch): the end of the span their window covers —
    /// the figures describe the window ending here, not at `generated_at`.
    #[serde(default)]
    pub data_through: Option<DateTime<Utc>>,
    /// EKS paths: vLLM engine figures from Prometheus (absent without `[prometheus]` or data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::model::engine::EngineView>,
    /// Per-bucket history for sparklines, oldest first (not in the JSON).
    #[serde(skip)]
    pub history: PathHistory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrafficSource {
    Metrics,
    Traces,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathHistory {
    pub requests_per_minute: Vec<f64>,
    pub observed_share: Vec<f64>,
    pub p95_ms: Vec<f64>,
    pub usd_per_hour: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    pub pods: Vec<PodView>,
    pub scaled_objects: Vec<ScaledObjectView>,
    /// Watched resources that cannot be read right now (403, KEDA not installed, …): the views
    /// name them where that data would be, while the rest keeps updating.
    #[serde(default)]
    pub problems: Vec<FleetProblem>,
    /// Kubernetes events about the watched objects, de-duplicated, newest first (at most
    /// `EVENTS_IN_JSON` in the JSON; the screen has them all).
    /// Shared with the model's cache: ten thousand events are not copied at every derive.
    #[serde(
        default,
        serialize_with = "newest_events",
        deserialize_with = "events_arc"
    )]
    pub events: Arc<Vec<EventView>>,
    /// GPU nodes the paths' pods run or wait on, NodeClaims still launching included.
    #[serde(default)]
    pub nodes: Vec<GpuNode>,
}

/// Events the JSON carries (the newest).
pub const EVENTS_IN_JSON: usize = 200;

fn newest_events<S: serde::Serializer>(e: &Arc<Vec<EventView>>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(e.iter().take(EVENTS_IN_JSON))
}

fn events_arc<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<Vec<EventView>>, D::Error> {
    Vec::<EventView>::deserialize(d).map(Arc::new)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// `Normal` | `Warning`
    #[serde(rename = "type")]
    pub kind_of: String,
    pub reason: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub message: String,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default)]
    pub path: Option<PathId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodView {
    #[serde(flatten)]
    pub pod: Pod,
    pub age_seconds: f64,
    /// vLLM engine figures of this pod (Prometheus), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::model::engine::PodEngineView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaledObjectView {
    #[serde(flatten)]
    pub scaled_object: ScaledObject,
    /// One plain line: why it is (not) scaling.
    #[serde(default)]
    pub verdict: String,
    /// What KEDA, its HPA and the pods say that cannot all be true.
    #[serde(default)]
    pub contradictions: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionsView {
    pub total: u64,
    pub hybrid: u64,
    pub escalated: u64,
    pub handoffs: u64,
    pub orphaned: u64,
    pub context_loss_rate: Option<f64>,
    /// Observations in the window that no correlation rule could give a session key.
    #[serde(default)]
    pub unsessioned: u64,
    /// Polling roots first: how many sessions of the window have whole waterfalls (children
    /// fetched for a sample, or on demand). Every other figure here is from all the roots.
    /// Absent when every observation is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waterfalls: Option<WaterfallCoverage>,
    /// `correlation.max_sessions`, when it pushed out sessions active in the window: every
    /// figure above is then at least what it says (raise the cap to count them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped_at: Option<usize>,
    /// The newest sessions (a bounded number) for the JSON.
    pub recent: Vec<SessionRow>,
    /// Every retained session, newest first (screen only).
    #[serde(skip)]
    pub all: Arc<Vec<SessionRow>>,
    /// Spans of the session the UI has open (screen only).
    #[serde(skip)]
    pub detail: Option<SessionDetail>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaterfallCoverage {
    /// Sessions whose every trace was read whole.
    pub whole: u64,
    /// Sessions active in the window.
    pub sessions: u64,
}

impl WaterfallCoverage {
    /// "1 in N": the sample's rate, rounded (None while no session is whole).
    pub fn one_in(&self) -> Option<u64> {
        (self.whole > 0).then(|| ((self.sessions as f64 / self.whole as f64).round() as u64).max(1))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub session_id: String,
    pub sides: Vec<Side>,
    pub paths: Vec<PathId>,
    pub spans: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub cost_usd: Option<f64>,
    pub escalated: bool,
    pub handoffs: u32,
    pub orphan_spans: u32,
    pub errors: u32,
    pub hybrid: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub spans: Vec<SpanView>,
    /// Polling roots first, and this session's children have not all arrived: the waterfall
    /// shows roots only (for now).
    #[serde(default)]
    pub roots_only: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    pub id: String,
    pub trace_id: String,
    pub parent_observation_id: Option<String>,
    pub name: String,
    pub side: Option<Side>,
    pub path: Option<PathId>,
    /// Offset from the session start.
    pub start_ms: f64,
    pub duration_ms: Option<f64>,
    pub model: Option<String>,
    pub level: Level,
    pub status_message: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// This span starts a hand-off (its side differs from the previous span's).
    pub handoff: bool,
    /// EKS→AgentCore change of side: the escalation point.
    pub escalation: bool,
    /// Declared parent that never appeared (e.g. `ac-s-42`).
    pub orphan_parent: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub html_path: Option<String>,
    /// The trace's userId (`user-***` when redacted).
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostView {
    /// By class plus `total`; null until Cost Explorer answered.
    pub billed_month_to_date_usd: Option<BTreeMap<String, f64>>,
    pub billed_as_of: Option<DateTime<Utc>>,
    pub estimated_usd_per_hour: Option<f64>,
    pub projected_usd_per_month: Option<f64>,
    pub dashboard_api_usd_per_hour: Option<f64>,
    /// The dashboard's AWS API spend since it started (discovery and backfill included).
    #[serde(default)]
    pub dashboard_api_usd_total: Option<f64>,
    /// Billed month-to-date at its pace (MTD / hours elapsed in the month at `billed_as_of`
    /// × 730), by class plus `total`: the billed counterpart of `projected_usd_per_month`.
    #[serde(default)]
    pub billed_projected_usd_per_month: Option<BTreeMap<String, f64>>,
    #[serde(skip)]
    pub daily: Vec<DailyCost>,
}

impl CostView {
    pub fn billed_total(&self) -> Option<f64> {
        self.billed_month_to_date_usd
            .as_ref()
            .and_then(|m| m.get("total").copied())
    }
}

/// Convenience to key billed figures by class name.
pub fn class_key(c: CostClass) -> &'static str {
    match c {
        CostClass::Agentcore => "agentcore",
        CostClass::Eks => "eks",
        CostClass::Other => "other",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Crit,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub severity: Severity,
    pub code: String,
    pub path: Option<PathId>,
    pub message: String,
    /// When this alert (at any severity) began; kept while it lasts.
    pub since: Option<DateTime<Utc>>,
    /// The source a source alert is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceName>,
}

impl Alert {
    /// Identity across derives: one alert per code, path and source, whatever its severity.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.code,
            self.path.as_ref().map(|p| p.as_str()).unwrap_or(""),
            self.source.map(|s| s.as_str()).unwrap_or("")
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseView {
    pub current: u8,
    pub triggers: Vec<PhaseTrigger>,
    /// `current` comes from `[advisor] current_phase` rather than the traffic.
    #[serde(default)]
    pub configured: bool,
    /// The phase the listed triggers lead to next (null in phase 3).
    #[serde(default)]
    pub next: Option<u8>,
    /// The seed's Phase 3 success metrics, measured.
    #[serde(default)]
    pub success_metrics: Vec<SuccessMetric>,
}

/// One of the seed's success metrics. `met` is `value >= target`; `baseline` and `actual` are
/// what `value` was computed from (see each metric's doc in `model::phase`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuccessMetric {
    pub metric: String,
    pub value: Option<f64>,
    pub target: f64,
    /// Upper end of a target range (cost reduction: 40–60 %).
    pub target_max: Option<f64>,
    pub met: bool,
    pub baseline: Option<f64>,
    pub actual: Option<f64>,
}

/// $/month of the whole platform under each routing mode, at the window's monthly volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvisorModes {
    /// Every request on AgentCore (EKS traffic to the cheapest AgentCore path).
    pub agentcore_only: Option<f64>,
    /// Every request on EKS (spread like the EKS paths' current weights), no escalations.
    pub eks_only: Option<f64>,
    /// The estimate now (`cost.projected_usd_per_month`).
    pub current: Option<f64>,
    /// The cost-optimal split (`optimal_weights`), as the cost model projects it.
    pub optimal: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The path giving up the most points, and the one gaining the most.
    pub from: PathId,
    pub to: PathId,
    /// Points moved in total (sum of |Δ| / 2).
    pub points: u32,
    /// The weights to apply.
    pub weights: Weights,
    /// Modelled $/month at the recommended split − modelled $/month at the current one
    /// (negative: a saving); the same figure the weights review states.
    pub usd_per_month_delta: f64,
    /// EKS pods needed beyond the ready ones (0 when there are enough).
    pub pods_needed: u32,
    /// Within `max_shift_per_apply`, but the optimal split is further away.
    pub partial: bool,
    /// Beyond `max_shift_per_apply` (EKS over capacity by more than one shift can fix): applying
    /// it needs the force confirmation.
    #[serde(default)]
    pub needs_force: bool,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvisorView {
    /// The volume the modes are computed at: requests/min × 60 × 730.
    pub monthly_requests: f64,
    /// The split the advice starts from: `router` (its weights) or `observed` (shares, when the
    /// router's weights are unknown).
    pub split_basis: String,
    pub current_weights: Weights,
    pub modes: AdvisorModes,
    pub optimal_weights: Option<Weights>,
    /// Requests/min the EKS paths can take at the KEDA target (max replicas); null if unknown.
    pub eks_capacity_rpm: Option<f64>,
    /// Monthly volume above which one EKS pod costs less than the cheapest AgentCore path.
    pub break_even_monthly_requests: Option<f64>,
    pub recommendation: Option<Recommendation>,
    /// Why there is no recommendation, or what the model could not price.
    pub notes: Vec<String>,
    /// Health before cost: `optimise` (every path healthy long enough), `relief` (the
    /// recommendation moves traffic away from a degraded path) or `hold` (no change now).
    #[serde(default)]
    pub mode: AdvisorMode,
    /// Why the advisor is in its mode, in words (empty when optimising).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The paths degraded now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<PathId>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvisorMode {
    #[default]
    Optimise,
    Relief,
    Hold,
}

impl AdvisorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisorMode::Optimise => "optimise",
            AdvisorMode::Relief => "relief",
            AdvisorMode::Hold => "hold",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTrigger {
    pub metric: String,
    pub value: Option<f64>,
    pub threshold: f64,
    pub met: bool,
    pub toward_phase: u8,
}
