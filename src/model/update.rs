//! `Update`: the only thing sources send to the app loop. Plain owned data, serde-serialisable,
//! so a recording is just this stream with timestamps.
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Update {
    /// The source's clock moved on (virtual time in demo and replay, wall time live).
    Clock { now: DateTime<Utc> },
    /// Traffic seen on one path over `[start, end)`.
    Traffic(TrafficBatch),
    /// AgentCore runtime resource usage over an interval (billed per vCPU-hour and GB-hour).
    Usage(UsageBatch),
    /// Pods and KEDA ScaledObjects.
    Fleet(FleetUpdate),
    /// Langfuse-style observations (spans) from either side.
    Observations { items: Vec<Observation> },
    /// A source's health changed or was re-confirmed.
    Health(SourceHealth),
    /// The router's current weights, as its backend reports them.
    Weights(WeightsReport),
    /// Billed cost from Cost Explorer.
    Billed(BilledCost),
    /// A metrics source (CloudWatch) has reported `path` over `[start, end)`: counts there are
    /// final, and a period with no datapoint is a real zero. CloudWatch data lands minutes after
    /// the fact, so the model computes such a path's rates over the span covered instead of up
    /// to `now` (which would understate them). Sent before the `Traffic` of the same period.
    Coverage(Coverage),
    /// What the dashboard itself spends on one source's API calls.
    ApiSpend(ApiSpend),
    /// A trace source (Langfuse) has read every observation that started in `[from, through)`:
    /// a stretch of it without traces is a known zero. Rates from traces divide by this span,
    /// not by the time since the first trace. Sent after the observations it covers.
    TracesCovered {
        from: DateTime<Utc>,
        through: DateTime<Utc>,
    },
    /// A trace source is part-way through reading its window: what it has read so far. Pages
    /// are delivered as they arrive; the next `TracesCovered` ends the catching up.
    TraceProgress(TraceProgress),
    /// Which traces a trace source has read whole. Polling roots first reads only each trace's
    /// root; the children of a sample of sessions, and of any waterfall an operator opens, are
    /// fetched apart and listed here once they have arrived.
    Waterfalls(WaterfallReport),
    /// vLLM engine figures of one EKS path (Prometheus): queue, KV cache, TTFT, tokens/s.
    Engine(crate::model::engine::EngineReport),
    /// AgentCore Gateway tool targets, Identity token fetches and Memory over one settled
    /// minute (`model::agentcore`).
    Agentcore(crate::model::agentcore::AgentcoreBatch),
    /// The CloudWatch alarms chosen by `[aws] alarm_prefixes`, complete as of one refresh.
    Alarms(crate::model::agentcore::AlarmsReport),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceProgress {
    pub source: SourceName,
    /// Observations read so far in this pass over the window.
    pub read: u64,
    /// About how many the window holds (from the last complete pass), when known.
    #[serde(default)]
    pub expected: Option<u64>,
    /// The start of the window being read.
    pub from: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaterfallReport {
    pub source: SourceName,
    /// The source polls roots only: a trace not listed in any report shows its root alone.
    pub roots_only: bool,
    /// Traces whose every observation has now been sent (input and output included when the
    /// operator asked).
    #[serde(default)]
    pub whole: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub path: PathId,
    pub source: SourceName,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// AgentCore sessions created in the period (`SessionCount`), when the source knows.
    #[serde(default)]
    pub sessions: Option<u64>,
}

/// The dashboard's own AWS bill for one source: GetMetricData is $0.01 per 1,000 metric+stat
/// pairs requested, Cost Explorer $0.01 per request (every page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiSpend {
    pub source: SourceName,
    /// Steady-state rate at the source's current cadence.
    pub usd_per_hour: f64,
    /// Spent since the source started (start-up discovery and backfill included).
    pub usd_total: f64,
    /// Metric+stat pairs requested so far (CloudWatch).
    #[serde(default)]
    pub metrics_requested: u64,
    /// API requests sent so far (every page counts).
    #[serde(default)]
    pub requests: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrafficBatch {
    pub path: PathId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub requests: u64,
    pub errors: u64,
    pub throttles: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency: Latency,
}

/// Latency as a source can give it: raw samples (simulator, traces) or pre-computed
/// percentiles (CloudWatch extended statistics).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Latency {
    None,
    Samples { ms: Vec<f64> },
    Quantiles { p50: f64, p95: f64, p99: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageBatch {
    pub path: PathId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub vcpu_hours: f64,
    pub gb_hours: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FleetUpdate {
    /// The complete fleet as of now (simulator ticks, a relist).
    Replace {
        pods: Vec<Pod>,
        scaled_objects: Vec<ScaledObject>,
    },
    PodUpsert {
        pod: Pod,
    },
    PodDelete {
        namespace: String,
        name: String,
    },
    ScaledObjectUpsert {
        scaled_object: ScaledObject,
    },
    ScaledObjectDelete {
        namespace: String,
        name: String,
    },
    /// The complete list of resources that cannot be watched right now (forbidden, not
    /// installed, failing), replacing the previous list. Empty when everything is watched.
    Problems {
        problems: Vec<FleetProblem>,
    },
    /// Kubernetes events as they were seen (new ones and re-counted ones); the model
    /// de-duplicates them and keeps a bounded number.
    Events {
        events: Vec<KubeEvent>,
    },
    /// The complete list of GPU nodes the paths' pods run or wait on (NodeClaims still launching
    /// included), replacing the previous one.
    Nodes {
        nodes: Vec<GpuNode>,
    },
}

/// A GPU node, or a Karpenter NodeClaim that will become one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuNode {
    pub name: String,
    /// The node is Ready (false: not ready, or a NodeClaim still launching).
    pub ready: bool,
    /// `status.allocatable["nvidia.com/gpu"]`.
    pub gpus_allocatable: u32,
    /// GPUs requested by the pods on it.
    pub gpus_used: u32,
    /// When its NodeClaim was created (how long "waiting for a GPU node" has lasted).
    pub launched_at: Option<DateTime<Utc>>,
    /// The NodeClaim behind it, if Karpenter made it.
    pub claim: Option<String>,
    /// The path whose pods run or wait on it.
    pub path: Option<PathId>,
}

/// One Kubernetes event (`events.k8s.io/v1`, or `v1` Event) about a watched object. Strings are
/// raw remote data: sanitised before display.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KubeEvent {
    /// `Normal` | `Warning`
    #[serde(rename = "type")]
    pub kind_of: String,
    pub reason: String,
    /// The kind of the object it is about (`Pod`, `ScaledObject`, `HorizontalPodAutoscaler`,
    /// `Node`, `NodeClaim`).
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub message: String,
    /// How many times this Event object has occurred (its own cumulative count).
    pub count: u32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The Event object's own name: re-reports of one object are re-counts, not new events.
    #[serde(default)]
    pub object: String,
    /// The path the object belongs to, when known.
    #[serde(default)]
    pub path: Option<PathId>,
}

/// One watched resource that cannot be read right now, shown where its data would be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetProblem {
    /// As RBAC names it: `pods`, `scaledobjects.keda.sh`, `horizontalpodautoscalers.autoscaling`.
    pub resource: String,
    pub namespace: String,
    pub kind: ProblemKind,
    /// What is wrong and what would fix it, e.g. `forbidden: needs list and watch on
    /// scaledobjects.keda.sh in agents`.
    pub message: String,
    /// When this problem was first seen.
    pub since: DateTime<Utc>,
    /// The paths whose data this hides (a path's pods; the paths whose ScaledObject lives in
    /// that namespace).
    #[serde(default)]
    pub paths: Vec<PathId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// 403: RBAC does not allow list/watch.
    Forbidden,
    /// 404 on the resource type: the CRD (KEDA) or API version is not served.
    NotInstalled,
    /// Any other answer (5xx, 429, unreadable data).
    Error,
}

/// A Kubernetes status condition as reported (`type`, `status` True/False/Unknown, `reason`,
/// `message`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// `lastTransitionTime`: since when the condition has held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

impl ScaledObject {
    /// Current/desired replicas come from the HPA KEDA drives (or a paused-replicas count);
    /// without either they are unknown, not zero.
    pub fn replicas_known(&self) -> bool {
        self.hpa_name.is_some() || (self.paused && self.desired_replicas > 0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    /// Pending | Running | Succeeded | Failed | Unknown
    pub phase: String,
    pub ready: bool,
    pub ready_containers: u32,
    pub total_containers: u32,
    pub restarts: u32,
    pub node: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Why the pod is not ready (CrashLoopBackOff, Unschedulable, loading model…).
    pub reason: Option<String>,
    pub path: Option<PathId>,
    /// Detail for `reason` (the scheduler's or kubelet's message), when there is one.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaledObject {
    pub namespace: String,
    pub name: String,
    /// `Kind/name` of the scale target.
    pub target: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub current_replicas: u32,
    pub desired_replicas: u32,
    pub ready: bool,
    pub active: bool,
    pub paused: bool,
    pub fallback: bool,
    pub triggers: Vec<String>,
    pub failing_triggers: u32,
    pub metric_value: Option<f64>,
    pub metric_target: Option<f64>,
    pub last_scale: Option<DateTime<Utc>>,
    /// Human-readable reason for a non-ready / fallback state.
    pub message: Option<String>,
    pub path: Option<PathId>,
    /// KEDA's own conditions (Ready, Active, Fallback, Paused, …) with reasons, as reported.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The HPA KEDA drives for this ScaledObject (`keda-hpa-<name>`), when one was found.
    #[serde(default)]
    pub hpa_name: Option<String>,
    /// The HPA's conditions (AbleToScale, ScalingActive, ScalingLimited).
    #[serde(default)]
    pub hpa_conditions: Vec<Condition>,
    /// Metric names whose `status.health` is `Failing` (the count is `failing_triggers`).
    #[serde(default)]
    pub failing_trigger_names: Vec<String>,
    /// The external metric `metric_value`/`metric_target` describe (e.g. `s0-aws-sqs-queue`).
    #[serde(default)]
    pub metric_name: Option<String>,
    /// Paused by the `autoscaling.keda.sh/paused` annotation (`paused` also counts the
    /// condition): a Paused=True condition without it is stuck.
    #[serde(default)]
    pub paused_annotation: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Debug,
    Default,
    Warning,
    Error,
}

/// One observation (span, generation, event) in Langfuse terms. Strings are raw remote data:
/// sanitise before display.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub id: String,
    pub trace_id: String,
    /// Langfuse sessionId, e.g. `hybrid-s-42`.
    pub session_id: Option<String>,
    pub parent_observation_id: Option<String>,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub model: Option<String>,
    pub tags: Vec<String>,
    /// The value of `metadata[correlation.parent_metadata_key]`, e.g. `ac-s-42`.
    pub parent_ref: Option<String>,
    pub level: Level,
    pub status_message: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Set by a source that knows the side for certain; otherwise derived from the path/trace id.
    pub side: Option<Side>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub html_path: Option<String>,
    /// Langfuse userId of the trace (can name a person: masked entirely under `--redact`).
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceName {
    Cloudwatch,
    CostExplorer,
    Kubernetes,
    Langfuse,
    Prometheus,
    /// The OTLP/HTTP receiver (spans pushed to the dashboard).
    Otlp,
    Replay,
    /// Team mode: the collector whose stream a viewer reads.
    Collector,
}

impl SourceName {
    /// The polled sources every live dashboard lists (the OTLP receiver only when configured).
    pub const LIVE: [SourceName; 5] = [
        SourceName::Cloudwatch,
        SourceName::CostExplorer,
        SourceName::Kubernetes,
        SourceName::Langfuse,
        SourceName::Prometheus,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Cloudwatch => "cloudwatch",
            SourceName::CostExplorer => "cost_explorer",
            SourceName::Kubernetes => "kubernetes",
            SourceName::Langfuse => "langfuse",
            SourceName::Prometheus => "prometheus",
            SourceName::Otlp => "otlp",
            SourceName::Replay => "replay",
            SourceName::Collector => "collector",
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Ok,
    Stale,
    Error,
    Connecting,
    Disabled,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Ok => "ok",
            SourceState::Stale => "stale",
            SourceState::Error => "error",
            SourceState::Connecting => "connecting",
            SourceState::Disabled => "disabled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub source: SourceName,
    pub state: SourceState,
    /// When the source last delivered data successfully.
    pub last_success: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// The failure will not fix itself (credentials, permissions, configuration, not found):
    /// `snapshot --wait` stops waiting for this source. A rate limit or an outage is not.
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightsReport {
    /// `simulator` | `configmap` | `httproute`
    pub backend: String,
    /// `namespace/name` of the router object, if any.
    pub target: Option<String>,
    pub weights: Weights,
    /// Opaque version (Kubernetes resourceVersion) for optimistic concurrency.
    pub version: Option<String>,
    /// Why the stored weights are not a valid split, if they are not (`WeightsRead::invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
}

/// Cost classes the bill is split into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostClass {
    Agentcore,
    Eks,
    Other,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BilledCost {
    pub as_of: DateTime<Utc>,
    pub month_to_date: BTreeMap<CostClass, f64>,
    /// Daily figures for the last 14 days, oldest first.
    pub daily: Vec<DailyCost>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyCost {
    pub date: NaiveDate,
    pub class: CostClass,
    pub usd: f64,
}
