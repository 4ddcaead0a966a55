//! The config schema: every section and key with its default (ARCHITECTURE.md "Contracts" →
//! "Config"). Plain serde structs; what a value may be is checked in `validate`.
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Guard;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// Durations are written back the way they are read (`5m`, `1h 30m`), so a config section
/// serialised into a recording's header deserialises to the same values on replay.
fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// Longest duration any setting accepts. Windows, intervals and retention are turned into
/// millisecond and bucket arithmetic; a window of a few billion years overflowed it (found by the
/// `config_parse` fuzz target). A recording's header reads its durations through here too.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// `90s`, `5m`, `6h`, `1h30m`, `250ms`; more than zero, at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration like 30s, 5m or 6h ({e})"))?;
    if d.is_zero() {
        return Err(format!("'{s}' must be longer than zero"));
    }
    if d > MAX_DURATION {
        return Err(format!("'{s}' is longer than a year"));
    }
    Ok(d)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub general: General,
    pub paths: Vec<PathConfig>,
    pub aws: Option<AwsConfig>,
    pub kubernetes: Option<KubernetesConfig>,
    pub langfuse: Option<LangfuseConfig>,
    /// vLLM engine metrics (queue, KV cache, TTFT) of the EKS paths.
    pub prometheus: Option<PrometheusConfig>,
    /// The OTLP/HTTP trace receiver (spans pushed by an OpenTelemetry Collector).
    pub otlp: Option<OtlpConfig>,
    /// AgentCore Gateway tools, Identity and Memory (read by the CloudWatch source).
    pub agentcore: Option<AgentcoreConfig>,
    pub router: Option<RouterConfig>,
    pub correlation: CorrelationConfig,
    pub alerts: AlertsConfig,
    pub advisor: AdvisorConfig,
    /// Action name → keys, e.g. `quit = ["q", "ctrl-c"]`.
    pub keys: BTreeMap<String, Vec<String>>,
    pub ui: UiConfig,
    /// Keys the parser did not recognise (reported as warnings, not errors).
    #[serde(skip)]
    pub unknown_keys: Vec<String>,
    /// Where this config came from, for error messages.
    #[serde(skip)]
    pub origin: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct General {
    pub environment: String,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub window: Duration,
    pub read_only: bool,
}

impl Default for General {
    fn default() -> Self {
        General {
            environment: "default".into(),
            window: Duration::from_secs(300),
            read_only: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PathConfig {
    pub id: PathId,
    pub kind: Side,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub eks: Option<EksPath>,
    #[serde(default)]
    pub agentcore: Option<AgentcorePath>,
    #[serde(default)]
    pub langfuse: Option<LangfusePath>,
    /// EKS paths: the label matchers of the path's vLLM series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusPath>,
    /// Which pushed spans (`[otlp]`) belong to this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp: Option<OtlpPath>,
}

impl PathConfig {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(self.id.as_str())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct EksPath {
    pub namespace: String,
    pub pod_selector: Option<String>,
    pub scaled_object: Option<String>,
    pub gpu_node_usd_per_hour: f64,
    pub pods_per_node: u32,
    /// How long a new pod takes to load the model and turn ready (used for previews).
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub model_load_time: Duration,
    /// Requests per minute one ready pod serves before queueing dominates.
    pub pod_capacity_rpm: f64,
}

impl Default for EksPath {
    fn default() -> Self {
        EksPath {
            namespace: "default".into(),
            pod_selector: None,
            scaled_object: None,
            gpu_node_usd_per_hour: 1.006,
            pods_per_node: 1,
            model_load_time: Duration::from_secs(90),
            pod_capacity_rpm: 60.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AgentcorePath {
    pub runtime_arn: Option<String>,
    pub model_id: Option<String>,
    pub usd_per_1k_input_tokens: f64,
    pub usd_per_1k_output_tokens: f64,
    pub usd_per_vcpu_hour: f64,
    pub usd_per_gb_hour: f64,
}

impl Default for AgentcorePath {
    fn default() -> Self {
        AgentcorePath {
            runtime_arn: None,
            model_id: None,
            usd_per_1k_input_tokens: 0.001,
            usd_per_1k_output_tokens: 0.005,
            usd_per_vcpu_hour: 0.0895,
            usd_per_gb_hour: 0.00945,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LangfusePath {
    pub tags: Vec<String>,
    pub models: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub cloudwatch_interval: Duration,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub cost_explorer_interval: Duration,
    pub cost_tag: Option<String>,
    /// One HTTP attempt (the SDK makes up to 3 per refresh); the connect timeout is the
    /// smaller of this and 5 s.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Alarms to show, by name prefix (DescribeAlarms `AlarmNamePrefix`).
    pub alarm_prefixes: Vec<String>,
}

/// `[agentcore]`: what beyond the runtimes the CloudWatch source reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AgentcoreConfig {
    /// Gateways whose tool metrics are read (ARNs; the `Resource` dimension).
    pub gateway_arns: Vec<String>,
    /// Memory resources (ARNs).
    pub memory_arns: Vec<String>,
    /// Read the Identity token-fetch metrics.
    pub identity: bool,
    /// Gateway target names served from inside the EKS VPC (PrivateLink).
    pub in_vpc_targets: Vec<String>,
}

impl Default for AgentcoreConfig {
    fn default() -> Self {
        AgentcoreConfig {
            gateway_arns: Vec::new(),
            memory_arns: Vec::new(),
            identity: true,
            in_vpc_targets: Vec::new(),
        }
    }
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: None,
            profile: None,
            cloudwatch_interval: Duration::from_secs(60),
            cost_explorer_interval: Duration::from_secs(6 * 3600),
            cost_tag: None,
            timeout: Duration::from_secs(15),
            alarm_prefixes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KubernetesConfig {
    pub context: Option<String>,
    pub namespaces: Vec<String>,
    /// Kubernetes events kept (de-duplicated rows; the least recently seen go first).
    pub max_events: usize,
    /// Desired replicas above current for longer than this is flagged as a contradiction.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub scale_up_stuck_after: Duration,
    /// Label selector of the GPU nodes (`""`: nodes and NodeClaims are not watched).
    pub gpu_node_selector: String,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            context: None,
            namespaces: Vec::new(),
            max_events: 2000,
            scale_up_stuck_after: Duration::from_secs(300),
            gpu_node_selector: "nvidia.com/gpu.present=true".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LangfuseConfig {
    pub base_url: Option<String>,
    pub public_key_env: String,
    pub secret_key_env: String,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub interval: Duration,
    pub api: LangfuseApi,
    /// The most each poll re-reads before the previous one's end (and what it re-reads until
    /// the lateness of arrivals has been measured).
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub overlap: Duration,
    /// Re-read only as far back as observations are measured to arrive late (p99 + 25 %),
    /// between `min_overlap` and `overlap`; false: always `overlap`.
    pub adaptive_overlap: bool,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub min_overlap: Duration,
    /// The organisation's Langfuse plan: sets the default request budget.
    pub plan: Option<LangfusePlan>,
    /// Requests per minute this dashboard may spend (overrides the plan's default).
    pub max_requests_per_minute: Option<u32>,
    /// How far back the first poll reads (default: `general.window`).
    #[serde(deserialize_with = "de_opt_duration")]
    pub lookback: Option<Duration>,
    /// Fetch span input/output (the `io` field group) for the span detail pane: with
    /// `roots_first`, only for the waterfalls an operator opens; otherwise in every poll.
    pub fetch_io: bool,
    /// Poll only the root observation of each trace (v2): session figures from a fraction of
    /// the pages. Children are read for a sample of sessions and for opened waterfalls.
    pub roots_first: bool,
    /// One request, body included; the connect timeout is the smaller of this and 10 s.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub timeout: Duration,
}

impl Default for LangfuseConfig {
    fn default() -> Self {
        LangfuseConfig {
            base_url: None,
            public_key_env: "LANGFUSE_PUBLIC_KEY".into(),
            secret_key_env: "LANGFUSE_SECRET_KEY".into(),
            interval: Duration::from_secs(10),
            api: LangfuseApi::Auto,
            overlap: Duration::from_secs(120),
            adaptive_overlap: true,
            min_overlap: Duration::from_secs(15),
            plan: None,
            max_requests_per_minute: None,
            lookback: None,
            fetch_io: true,
            roots_first: true,
            timeout: Duration::from_secs(60),
        }
    }
}

/// `[prometheus]`: a Prometheus-compatible query API (Prometheus itself, or an Amazon Managed
/// Service for Prometheus workspace) that scrapes the vLLM pods.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PrometheusConfig {
    /// Base URL: `http://127.0.0.1:9090`, or the AMP workspace URL
    /// (`https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-…`).
    pub url: String,
    pub auth: PrometheusAuth,
    /// The environment variable holding the bearer token (`auth = "bearer"`).
    pub bearer_token_env: String,
    #[serde(deserialize_with = "de_duration")]
    pub interval: Duration,
    /// `rate()` and `histogram_quantile()` look back this far.
    #[serde(deserialize_with = "de_duration")]
    pub rate_window: Duration,
    /// One request, body included.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    pub max_requests_per_minute: u32,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            url: "http://127.0.0.1:9090".into(),
            auth: PrometheusAuth::None,
            bearer_token_env: "PROMETHEUS_TOKEN".into(),
            interval: Duration::from_secs(15),
            rate_window: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            max_requests_per_minute: 120,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrometheusAuth {
    #[default]
    None,
    Bearer,
    Sigv4,
}

/// `[paths.otlp]`: spans whose resource `service.name` is one of `services`, else whose
/// `gen_ai.request.model` contains one of `models`, belong to the path.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OtlpPath {
    pub services: Vec<String>,
    pub models: Vec<String>,
}

/// `[otlp]`: an OTLP/HTTP receiver for traces (`POST /v1/traces`, protobuf or JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OtlpConfig {
    /// `host:port` to listen on (`0.0.0.0:4318` in a pod).
    pub listen: String,
    /// A larger body is refused (413).
    pub max_body_bytes: usize,
    /// Spans waiting for the dashboard; beyond it senders get 429 with Retry-After.
    pub max_queued_spans: usize,
    /// The variable holding a bearer token senders must present.
    pub bearer_token_env: Option<String>,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            listen: "127.0.0.1:4318".into(),
            max_body_bytes: 4 * 1024 * 1024,
            max_queued_spans: 100_000,
            bearer_token_env: None,
        }
    }
}

/// `[paths.prometheus]` of an EKS path.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PrometheusPath {
    /// `{namespace="agents",app="vllm-qwen3"}`.
    pub selector: String,
}

/// Langfuse Cloud's plans (their general API limit is per organisation: Hobby 30/min, Core
/// 100/min, Pro 1,000/min) and self-hosted Langfuse (no limit but the server's own capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LangfusePlan {
    Hobby,
    Core,
    Pro,
    SelfHosted,
}

impl LangfuseConfig {
    /// The request budget: `max_requests_per_minute`, else about two thirds of the plan's
    /// organisation-wide limit (the platform's own API calls share it), else 20.
    pub fn budget_per_minute(&self) -> u32 {
        self.max_requests_per_minute.unwrap_or(match self.plan {
            None | Some(LangfusePlan::Hobby) => 20,
            Some(LangfusePlan::Core) => 60,
            Some(LangfusePlan::Pro) => 600,
            Some(LangfusePlan::SelfHosted) => 600,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangfuseApi {
    V2,
    V1,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouterBackend {
    Httproute,
    Configmap,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RouterConfig {
    pub backend: RouterBackend,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub httproute: Option<HttpRouteConfig>,
    #[serde(default)]
    pub configmap: Option<ConfigMapConfig>,
    #[serde(default)]
    pub guard: GuardConfig,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpRouteConfig {
    pub rule: usize,
    pub backend_refs: BTreeMap<PathId, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ConfigMapConfig {
    pub key: String,
}

impl Default for ConfigMapConfig {
    fn default() -> Self {
        ConfigMapConfig {
            key: "weights.json".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GuardConfig {
    pub step: u32,
    pub max_shift_per_apply: u32,
    pub min: BTreeMap<PathId, u32>,
    pub max: BTreeMap<PathId, u32>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        let g = Guard::default();
        GuardConfig {
            step: g.step,
            max_shift_per_apply: g.max_shift_per_apply,
            min: g.min,
            max: g.max,
        }
    }
}

impl GuardConfig {
    pub fn guard(&self) -> Guard {
        Guard {
            step: self.step,
            max_shift_per_apply: self.max_shift_per_apply,
            min: self.min.clone(),
            max: self.max.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CorrelationConfig {
    pub session_id: String,
    pub agentcore_trace: String,
    pub eks_trace: String,
    pub parent_metadata_key: String,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub context_grace: Duration,
    /// How long finished sessions are kept for the Traces view.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub retention: Duration,
    /// At most this many sessions are kept, oldest dropped first.
    pub max_sessions: usize,
    /// At most this many spans per session are kept.
    pub max_spans_per_session: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            session_id: r"^hybrid-(?P<session>.+)$".into(),
            agentcore_trace: r"^ac-(?P<session>.+)-(?P<ts>\d+)$".into(),
            eks_trace: r"^eks-(?P<pod>.+)-(?P<trace>[0-9a-f]+)$".into(),
            parent_metadata_key: "parent".into(),
            context_grace: Duration::from_secs(120),
            retention: Duration::from_secs(1800),
            max_sessions: 20_000,
            max_spans_per_session: 200,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AlertsConfig {
    pub p95_ms_warn: f64,
    pub p95_ms_crit: f64,
    pub error_rate_warn: f64,
    pub error_rate_crit: f64,
    pub context_loss_warn: f64,
    /// Context loss this high is critical: the dual-write is failing for many sessions.
    pub context_loss_crit: f64,
    pub throttles_per_minute_warn: f64,
    /// Throttling this heavy is critical (requests are failing after their retries).
    pub throttles_per_minute_crit: f64,
    /// Estimated spend (all paths) above this many dollars per hour warns; unset: no cost alert.
    pub budget_usd_per_hour: Option<f64>,
    /// …and above `budget_usd_per_hour × budget_crit_ratio` it is critical.
    pub budget_crit_ratio: f64,
    /// A source whose last answer is older than this many of its polling intervals alerts.
    pub stale_intervals: u32,
    /// A path's p95 and error-rate alerts wait until its window holds this many requests: one
    /// failure among the first dozen requests after start-up is not an incident.
    pub min_requests: u32,
    /// Ring the terminal bell (BEL) once when a new critical alert appears.
    pub bell: bool,
    /// vLLM KV-cache usage (0–1, the fullest pod) that warns, and that is critical.
    pub kv_cache_warn: f64,
    pub kv_cache_crit: f64,
    /// Per-path overrides: `[alerts.paths.eks-qwen3] p95_ms_warn = 60`.
    pub paths: BTreeMap<PathId, PathAlerts>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            p95_ms_warn: 100.0,
            p95_ms_crit: 200.0,
            error_rate_warn: 0.01,
            error_rate_crit: 0.05,
            context_loss_warn: 0.05,
            context_loss_crit: 0.20,
            throttles_per_minute_warn: 1.0,
            throttles_per_minute_crit: 30.0,
            budget_usd_per_hour: None,
            budget_crit_ratio: 1.5,
            stale_intervals: 3,
            min_requests: 30,
            bell: false,
            kv_cache_warn: 0.8,
            kv_cache_crit: 0.9,
            paths: BTreeMap::new(),
        }
    }
}

/// One path's thresholds where they differ from the `[alerts]` defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct PathAlerts {
    pub p95_ms_warn: Option<f64>,
    pub p95_ms_crit: Option<f64>,
    pub error_rate_warn: Option<f64>,
    pub error_rate_crit: Option<f64>,
    pub throttles_per_minute_warn: Option<f64>,
    pub throttles_per_minute_crit: Option<f64>,
}

/// The thresholds that apply to one path, overrides resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathThresholds {
    pub p95_ms_warn: f64,
    pub p95_ms_crit: f64,
    pub error_rate_warn: f64,
    pub error_rate_crit: f64,
    pub throttles_per_minute_warn: f64,
    pub throttles_per_minute_crit: f64,
}

impl AlertsConfig {
    pub fn for_path(&self, id: &PathId) -> PathThresholds {
        let o = self.paths.get(id).cloned().unwrap_or_default();
        PathThresholds {
            p95_ms_warn: o.p95_ms_warn.unwrap_or(self.p95_ms_warn),
            p95_ms_crit: o.p95_ms_crit.unwrap_or(self.p95_ms_crit),
            error_rate_warn: o.error_rate_warn.unwrap_or(self.error_rate_warn),
            error_rate_crit: o.error_rate_crit.unwrap_or(self.error_rate_crit),
            throttles_per_minute_warn: o
                .throttles_per_minute_warn
                .unwrap_or(self.throttles_per_minute_warn),
            throttles_per_minute_crit: o
                .throttles_per_minute_crit
                .unwrap_or(self.throttles_per_minute_crit),
        }
    }
}

/// The team's Kubernetes experience (seed, "Transition Trigger Metrics": Phase 2 is fine for a
/// beginner team, Phase 3 wants intermediate or better).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamCapability {
    None,
    #[default]
    Beginner,
    Intermediate,
    Advanced,
}

impl TeamCapability {
    /// The level as the phase trigger reports it: none 0, beginner 1, intermediate 2, advanced 3.
    pub fn level(self) -> u8 {
        match self {
            TeamCapability::None => 0,
            TeamCapability::Beginner => 1,
            TeamCapability::Intermediate => 2,
            TeamCapability::Advanced => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TeamCapability::None => "none",
            TeamCapability::Beginner => "beginner",
            TeamCapability::Intermediate => "intermediate",
            TeamCapability::Advanced => "advanced",
        }
    }
}

/// `[advisor]`: facts the data cannot show, and how the cost advisor models the router.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AdvisorConfig {
    /// A fine-tuned or domain-specific model is needed (a phase trigger).
    pub custom_model_needed: bool,
    pub team_k8s_capability: TeamCapability,
    /// The phase the platform is in, when the team says so (otherwise inferred: 1 while no EKS
    /// path carries traffic, else 2 — Phase 3's dual-write memory and cross-routing are
    /// organisational facts the metrics cannot prove).
    pub current_phase: Option<u8>,
    /// Share of EKS answers escalated to AgentCore (pattern b, low confidence): moving traffic to
    /// EKS moves this share of it to `escalation_path` too, which the cost model charges.
    pub escalation_rate: f64,
    /// Where escalations go (an AgentCore path id); unset: escalations are not modelled.
    pub escalation_path: Option<PathId>,
    /// Input tokens an escalation carries on top of a plain request to `escalation_path`: the
    /// EKS exchange it forwards as context. Priced at that path's input-token price.
    pub escalation_context_tokens: f64,
    /// KEDA's target as a share of a pod's capacity (`paths.eks.pod_capacity_rpm`): a pod takes
    /// `pod_capacity_rpm × eks_target_utilisation` requests/min before KEDA adds another.
    pub eks_target_utilisation: f64,
    /// Recommend a shift only when it saves at least this much per month (noise in a 5-minute
    /// window must not make the advice flap).
    pub min_saving_usd_per_month: f64,
    /// Health before cost: after a path was last degraded, cost optimisation waits this long
    /// (the advisor holds meanwhile).
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub resume_after: Duration,
}

/// KEDA scales EKS paths to keep pods at this share of their capacity (the demo's target too):
/// the default of `[advisor] eks_target_utilisation`.
pub const EKS_TARGET_UTILISATION: f64 = 0.75;

impl Default for AdvisorConfig {
    fn default() -> Self {
        AdvisorConfig {
            custom_model_needed: false,
            team_k8s_capability: TeamCapability::Beginner,
            current_phase: None,
            escalation_rate: 0.0,
            escalation_path: None,
            escalation_context_tokens: 0.0,
            eks_target_utilisation: EKS_TARGET_UTILISATION,
            min_saving_usd_per_month: 50.0,
            resume_after: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    pub theme: Option<String>,
    pub ascii: Option<bool>,
    #[serde(deserialize_with = "de_opt_duration")]
    pub refresh: Option<Duration>,
    /// Environment name pattern → header colour, e.g. `{ "prod-*" = "red" }`.
    pub environment_colors: BTreeMap<String, String>,
    /// Slow links: redraw at most every 5 s (keys still answer at once).
    pub low_bandwidth: Option<bool>,
    /// Mouse capture for click-to-select and scrolling (off by default: it breaks selecting text).
    pub mouse: Option<bool>,
}

/// The correlation rules compiled once.
#[derive(Debug, Clone)]
pub struct CorrelationRules {
    pub session_id: Regex,
    pub agentcore_trace: Regex,
    pub eks_trace: Regex,
    pub parent_metadata_key: String,
    pub context_grace: Duration,
    pub retention: Duration,
    pub max_sessions: usize,
    pub max_spans_per_session: usize,
}
