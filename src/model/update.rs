//! `Update`: the only thing sources send to the app loop. Plain owned data, serde-serialisable,
//! so a recording is just this stream with timestamps.
use crate::model::path::{PathId, Side};
use crate::model::weights::Weights;
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
    Replay,
}

impl SourceName {
    pub const LIVE: [SourceName; 4] = [
        SourceName::Cloudwatch,
        SourceName::CostExplorer,
        SourceName::Kubernetes,
        SourceName::Langfuse,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Cloudwatch => "cloudwatch",
            SourceName::CostExplorer => "cost_explorer",
            SourceName::Kubernetes => "kubernetes",
            SourceName::Langfuse => "langfuse",
            SourceName::Replay => "replay",
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
