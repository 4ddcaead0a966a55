//! TOML configuration (schema v1, DESIGN.md): parsing, defaults, and validation with errors that
//! name the file, the key and the value. Secrets never live here: the file names env variables.
use crate::model::path::{PathId, Side};
use crate::model::weights::{Guard, Weights};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The demo's built-in configuration: the seed's three paths and their prices.
pub const DEMO_CONFIG: &str = include_str!("demo.toml");

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no config file at {path} — run `hybridtop demo` for the built-in demo, or `hybridtop init` to write an example config")]
    NotFound { path: PathBuf },
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
}

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
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct KubernetesConfig {
    pub context: Option<String>,
    pub namespaces: Vec<String>,
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
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub overlap: Duration,
    pub max_requests_per_minute: u32,
    /// How far back the first poll reads (default: `general.window`).
    #[serde(deserialize_with = "de_opt_duration")]
    pub lookback: Option<Duration>,
    /// Fetch span input/output (the `io` field group) for the span detail pane.
    pub fetch_io: bool,
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
            max_requests_per_minute: 20,
            lookback: None,
            fetch_io: true,
            timeout: Duration::from_secs(60),
        }
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
            max_sessions: 5000,
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
    /// Ring the terminal bell (BEL) once when a new critical alert appears.
    pub bell: bool,
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
            bell: false,
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
}

impl Default for AdvisorConfig {
    fn default() -> Self {
        AdvisorConfig {
            custom_model_needed: false,
            team_k8s_capability: TeamCapability::Beginner,
            current_phase: None,
            escalation_rate: 0.0,
            escalation_path: None,
            escalation_context_tokens: 0.0,
            eks_target_utilisation: crate::model::advisor::EKS_TARGET_UTILISATION,
            min_saving_usd_per_month: 50.0,
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

impl Config {
    /// Parse and validate TOML text. `origin` names the file in every error.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
            file: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        let mut cfg: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                file: origin.to_string(),
                message: e.to_string().trim().to_string(),
            })?;
        cfg.unknown_keys = unknown;
        cfg.origin = origin.to_string();
        if cfg.paths.is_empty() {
            cfg.paths = Config::demo().paths;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        Config::from_toml(&text, &path.display().to_string())
    }

    /// The built-in demo configuration. It is part of the binary and tested, so it always parses.
    pub fn demo() -> Config {
        let de = match toml::Deserializer::parse(DEMO_CONFIG) {
            Ok(de) => de,
            Err(_) => return Config::default(),
        };
        let mut cfg: Config = Deserialize::deserialize(de).unwrap_or_default();
        cfg.origin = "built-in demo config".into();
        cfg
    }

    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.origin.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = Vec::<&PathId>::new();
        for (i, p) in self.paths.iter().enumerate() {
            let key = format!("paths[{i}].id");
            if p.id.as_str().is_empty()
                || !p
                    .id
                    .as_str()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(self.invalid(
                    key,
                    format!("'{}' is not a slug (letters, digits, - _ .)", p.id),
                ));
            }
            if seen.contains(&&p.id) {
                return Err(self.invalid(key, format!("path id '{}' is used twice", p.id)));
            }
            seen.push(&p.id);
            if let Some(eks) = &p.eks {
                if eks.pods_per_node == 0 {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.pods_per_node"),
                        "must be at least 1",
                    ));
                }
                if !eks.gpu_node_usd_per_hour.is_finite() || eks.gpu_node_usd_per_hour < 0.0 {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.gpu_node_usd_per_hour"),
                        "must be a non-negative number",
                    ));
                }
            }
            if let Some(ac) = &p.agentcore {
                for (k, v) in [
                    ("usd_per_1k_input_tokens", ac.usd_per_1k_input_tokens),
                    ("usd_per_1k_output_tokens", ac.usd_per_1k_output_tokens),
                    ("usd_per_vcpu_hour", ac.usd_per_vcpu_hour),
                    ("usd_per_gb_hour", ac.usd_per_gb_hour),
                ] {
                    if !v.is_finite() || v < 0.0 {
                        return Err(self.invalid(
                            format!("paths[{i}].agentcore.{k}"),
                            format!("{v} must be a non-negative number"),
                        ));
                    }
                }
            }
        }
        self.correlation_rules()?;
        if let Some(lf) = &self.langfuse {
            if lf.max_requests_per_minute == 0 {
                return Err(self.invalid(
                    "langfuse.max_requests_per_minute",
                    "must be at least 1 (Langfuse Hobby allows 30 per minute)",
                ));
            }
        }
        if let Some(r) = &self.router {
            let g = &r.guard;
            if g.step == 0 || g.step > 100 {
                return Err(
                    self.invalid("router.guard.step", format!("{} must be 1..=100", g.step))
                );
            }
            for (name, map) in [("min", &g.min), ("max", &g.max)] {
                for (id, v) in map {
                    if !self.path_ids().contains(id) {
                        return Err(self.invalid(
                            format!("router.guard.{name}.{id}"),
                            format!("unknown path id '{id}' (paths: {})", self.path_list()),
                        ));
                    }
                    if *v > 100 {
                        return Err(self.invalid(
                            format!("router.guard.{name}.{id}"),
                            format!("{v} is over 100"),
                        ));
                    }
                }
            }
            let guard = g.guard();
            let ids = self.path_ids();
            let min_sum: u32 = ids.iter().map(|id| guard.min_of(id)).sum();
            let max_sum: u32 = ids.iter().map(|id| guard.max_of(id)).sum();
            if min_sum > 100 || max_sum < 100 {
                return Err(self.invalid(
                    "router.guard",
                    format!("no weights can satisfy these bounds (mins sum to {min_sum}, maxes to {max_sum})"),
                ));
            }
            for id in ids.iter() {
                if guard.min_of(id) > guard.max_of(id) {
                    return Err(self.invalid(format!("router.guard.min.{id}"), "is above its max"));
                }
            }
            if r.backend != RouterBackend::None {
                if r.namespace.as_deref().unwrap_or("").is_empty() {
                    return Err(self.invalid("router.namespace", "is required for this backend"));
                }
                if r.name.as_deref().unwrap_or("").is_empty() {
                    return Err(self.invalid("router.name", "is required for this backend"));
                }
            }
            if r.backend == RouterBackend::Httproute {
                let Some(h) = &r.httproute else {
                    return Err(self.invalid(
                        "router.httproute",
                        "backend = \"httproute\" needs a [router.httproute] section with backend_refs",
                    ));
                };
                for id in h.backend_refs.keys() {
                    if !ids.contains(id) {
                        return Err(self.invalid(
                            format!("router.httproute.backend_refs.{id}"),
                            format!("unknown path id '{id}' (paths: {})", self.path_list()),
                        ));
                    }
                }
                for id in ids.iter() {
                    if !h.backend_refs.contains_key(id) {
                        return Err(self.invalid(
                            "router.httproute.backend_refs",
                            format!("path '{id}' has no backendRef name"),
                        ));
                    }
                }
            }
        }
        self.validate_alerts()?;
        self.validate_advisor()?;
        for (pattern, colour) in &self.ui.environment_colors {
            if crate::ui::theme::colour_from_str(colour).is_none() {
                return Err(self.invalid(
                    format!("ui.environment_colors.\"{pattern}\""),
                    format!("'{colour}' is not a colour (a name like red, \"#rrggbb\" or 0-255)"),
                ));
            }
        }
        for (action, keys) in &self.keys {
            if keys.is_empty() {
                return Err(self.invalid(format!("keys.{action}"), "needs at least one key"));
            }
        }
        Ok(())
    }

    fn validate_alerts(&self) -> Result<(), ConfigError> {
        let a = &self.alerts;
        let check = |key: String, v: f64| -> Result<(), ConfigError> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(self.invalid(key, format!("{v} must be a non-negative number")))
            }
        };
        let pairs = |prefix: &str, t: &PathThresholds| -> Result<(), ConfigError> {
            for (k, v) in [
                ("p95_ms_warn", t.p95_ms_warn),
                ("p95_ms_crit", t.p95_ms_crit),
                ("error_rate_warn", t.error_rate_warn),
                ("error_rate_crit", t.error_rate_crit),
                ("throttles_per_minute_warn", t.throttles_per_minute_warn),
                ("throttles_per_minute_crit", t.throttles_per_minute_crit),
            ] {
                check(format!("{prefix}{k}"), v)?;
            }
            for (w, c, name) in [
                (t.p95_ms_warn, t.p95_ms_crit, "p95_ms"),
                (t.error_rate_warn, t.error_rate_crit, "error_rate"),
                (
                    t.throttles_per_minute_warn,
                    t.throttles_per_minute_crit,
                    "throttles_per_minute",
                ),
            ] {
                if w > c {
                    return Err(self.invalid(
                        format!("{prefix}{name}_warn"),
                        format!("{w} is above {name}_crit ({c})"),
                    ));
                }
            }
            Ok(())
        };
        pairs("alerts.", &a.for_path(&PathId::from("")))?;
        for id in a.paths.keys() {
            if !self.path_ids().contains(id) {
                return Err(self.invalid(
                    format!("alerts.paths.{id}"),
                    format!("unknown path id '{id}' (paths: {})", self.path_list()),
                ));
            }
            pairs(&format!("alerts.paths.{id}."), &a.for_path(id))?;
        }
        check("alerts.context_loss_warn".into(), a.context_loss_warn)?;
        check("alerts.context_loss_crit".into(), a.context_loss_crit)?;
        if a.context_loss_warn > a.context_loss_crit {
            return Err(self.invalid(
                "alerts.context_loss_warn",
                format!("{} is above context_loss_crit", a.context_loss_warn),
            ));
        }
        if let Some(b) = a.budget_usd_per_hour {
            check("alerts.budget_usd_per_hour".into(), b)?;
        }
        if !(a.budget_crit_ratio.is_finite() && a.budget_crit_ratio >= 1.0) {
            return Err(self.invalid(
                "alerts.budget_crit_ratio",
                format!("{} must be 1 or more", a.budget_crit_ratio),
            ));
        }
        if a.stale_intervals == 0 {
            return Err(self.invalid("alerts.stale_intervals", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_advisor(&self) -> Result<(), ConfigError> {
        let a = &self.advisor;
        if let Some(p) = a.current_phase {
            if !(1..=3).contains(&p) {
                return Err(self.invalid(
                    "advisor.current_phase",
                    format!("{p} is not a phase (1, 2 or 3)"),
                ));
            }
        }
        if !(a.escalation_rate.is_finite() && (0.0..=1.0).contains(&a.escalation_rate)) {
            return Err(self.invalid(
                "advisor.escalation_rate",
                format!("{} must be a share between 0 and 1", a.escalation_rate),
            ));
        }
        if let Some(id) = &a.escalation_path {
            match self.path(id) {
                None => {
                    return Err(self.invalid(
                        "advisor.escalation_path",
                        format!("unknown path id '{id}' (paths: {})", self.path_list()),
                    ))
                }
                Some(p) if p.kind != Side::Agentcore => {
                    return Err(self.invalid(
                        "advisor.escalation_path",
                        format!("'{id}' is not an AgentCore path"),
                    ))
                }
                Some(_) => {}
            }
        }
        if !(a.eks_target_utilisation.is_finite()
            && a.eks_target_utilisation > 0.0
            && a.eks_target_utilisation <= 1.0)
        {
            return Err(self.invalid(
                "advisor.eks_target_utilisation",
                format!(
                    "{} must be a share above 0, at most 1",
                    a.eks_target_utilisation
                ),
            ));
        }
        if !(a.escalation_context_tokens.is_finite() && a.escalation_context_tokens >= 0.0) {
            return Err(self.invalid(
                "advisor.escalation_context_tokens",
                format!(
                    "{} must be a non-negative number",
                    a.escalation_context_tokens
                ),
            ));
        }
        if !(a.min_saving_usd_per_month.is_finite() && a.min_saving_usd_per_month >= 0.0) {
            return Err(self.invalid(
                "advisor.min_saving_usd_per_month",
                format!(
                    "{} must be a non-negative number",
                    a.min_saving_usd_per_month
                ),
            ));
        }
        Ok(())
    }

    pub fn path_ids(&self) -> Vec<PathId> {
        self.paths.iter().map(|p| p.id.clone()).collect()
    }

    fn path_list(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn path(&self, id: &PathId) -> Option<&PathConfig> {
        self.paths.iter().find(|p| &p.id == id)
    }

    pub fn guard(&self) -> Guard {
        self.router
            .as_ref()
            .map(|r| r.guard.guard())
            .unwrap_or_default()
    }

    pub fn correlation_rules(&self) -> Result<CorrelationRules, ConfigError> {
        let c = &self.correlation;
        let compile = |key: &str, re: &str, need_session: bool| -> Result<Regex, ConfigError> {
            let r = Regex::new(re).map_err(|e| {
                self.invalid(
                    format!("correlation.{key}"),
                    format!("'{re}' is not a valid regex: {e}"),
                )
            })?;
            if need_session && !r.capture_names().any(|n| n == Some("session")) {
                return Err(self.invalid(
                    format!("correlation.{key}"),
                    format!("'{re}' needs a named group (?P<session>…)"),
                ));
            }
            Ok(r)
        };
        Ok(CorrelationRules {
            session_id: compile("session_id", &c.session_id, true)?,
            agentcore_trace: compile("agentcore_trace", &c.agentcore_trace, true)?,
            eks_trace: compile("eks_trace", &c.eks_trace, false)?,
            parent_metadata_key: c.parent_metadata_key.clone(),
            context_grace: c.context_grace,
            retention: c.retention,
            max_sessions: c.max_sessions.max(1),
            max_spans_per_session: c.max_spans_per_session.max(1),
        })
    }

    /// The demo's starting weights: the seed's 70/20/10 when the paths are the seed's, otherwise
    /// an even split that satisfies the guard.
    pub fn default_weights(&self) -> Weights {
        let ids = self.path_ids();
        let seed: [(&str, u32); 3] = [
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ];
        if ids.len() == 3 && seed.iter().all(|(k, _)| ids.contains(&PathId::from(*k))) {
            return Weights::from_pairs(seed);
        }
        let n = ids.len().max(1) as u32;
        let mut w: Vec<(PathId, u32)> = ids.iter().map(|id| (id.clone(), 100 / n)).collect();
        let rest = 100 - (100 / n) * n;
        for item in w.iter_mut().take(rest as usize) {
            item.1 += 1;
        }
        Weights::from_pairs(w)
    }
}

/// Default config location: `$HYBRIDTOP_CONFIG`, else `$XDG_CONFIG_HOME/hybridtop/config.toml`.
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HYBRIDTOP_CONFIG") {
        return PathBuf::from(p);
    }
    config_dir().join("config.toml")
}

pub fn config_dir() -> PathBuf {
    xdg_dir("XDG_CONFIG_HOME", ".config", dirs::config_dir).join("hybridtop")
}

pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state", dirs::state_dir).join("hybridtop")
}

pub fn cache_dir() -> PathBuf {
    xdg_dir("XDG_CACHE_HOME", ".cache", dirs::cache_dir).join("hybridtop")
}

fn xdg_dir(var: &str, home_rel: &str, fallback: fn() -> Option<PathBuf>) -> PathBuf {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(home_rel);
    }
    fallback().unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_parses_and_validates() {
        let cfg = Config::from_toml(DEMO_CONFIG, "demo.toml").unwrap();
        assert_eq!(cfg.paths.len(), 3);
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        assert_eq!(
            cfg.default_weights().to_text(),
            "eks-qwen3=70 agentcore-haiku=20 agentcore-sonnet=10"
        );
        assert_eq!(Config::demo().paths.len(), 3);
    }

    #[test]
    fn design_example_parses() {
        let text = include_str!("../tests/fixtures/design_config.toml");
        let cfg = Config::from_toml(text, "design.toml").unwrap();
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        assert_eq!(cfg.general.window, Duration::from_secs(300));
        assert_eq!(cfg.guard().min_of(&"agentcore-sonnet".into()), 5);
    }

    fn err(text: &str) -> String {
        Config::from_toml(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_key_and_value() {
        let e = err("[correlation]\nsession_id = '(unclosed'\n");
        assert!(
            e.contains("t.toml") && e.contains("correlation.session_id") && e.contains("(unclosed"),
            "{e}"
        );
        let e = err("[correlation]\nsession_id = '^hybrid-(.+)$'\n");
        assert!(e.contains("named group"), "{e}");
        let e = err("[general]\nwindow = 'soon'\n");
        assert!(e.contains("soon") && e.contains("window"), "{e}");
        let e = err("[router]\nbackend='httproute'\nnamespace='a'\nname='r'\n[router.httproute]\nbackend_refs={ nope = 'x' }\n");
        assert!(e.contains("router.httproute.backend_refs.nope"), "{e}");
        let e = err("[router]\nbackend='none'\n[router.guard]\nmin = { eks-qwen3 = 60, agentcore-haiku = 60 }\n");
        assert!(e.contains("router.guard") && e.contains("120"), "{e}");
        let e = err("[[paths]]\nid='a'\nkind='eks'\n[[paths]]\nid='a'\nkind='agentcore'\n");
        assert!(e.contains("paths[1].id") && e.contains("twice"), "{e}");
        let e = err("[[paths]]\nid='a'\nkind='gpu'\n");
        assert!(e.contains("gpu"), "{e}");
        let e = err("not toml = = 1");
        assert!(e.contains("t.toml"), "{e}");
    }

    #[test]
    fn unknown_keys_are_collected_not_fatal() {
        let cfg = Config::from_toml("[general]\nenvironmnet = 'x'\n", "t.toml").unwrap();
        assert_eq!(cfg.unknown_keys, vec!["general.environmnet".to_string()]);
    }

    #[test]
    fn advisor_and_alert_keys() {
        let cfg = Config::from_toml(
            "[advisor]\ncurrent_phase = 3\ncustom_model_needed = true\n\
             team_k8s_capability = 'advanced'\nescalation_rate = 0.04\n\
             escalation_path = 'agentcore-sonnet'\nescalation_context_tokens = 550\n\
             eks_target_utilisation = 0.8\nmin_saving_usd_per_month = 100\n\
             [alerts]\nbudget_usd_per_hour = 40\nbudget_crit_ratio = 2\nstale_intervals = 5\n\
             bell = true\n[alerts.paths.eks-qwen3]\np95_ms_warn = 60\np95_ms_crit = 120\n",
            "t.toml",
        )
        .unwrap();
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        let a = &cfg.advisor;
        assert_eq!(a.current_phase, Some(3));
        assert!(a.custom_model_needed);
        assert_eq!(a.team_k8s_capability, TeamCapability::Advanced);
        assert_eq!(a.escalation_path, Some(PathId::from("agentcore-sonnet")));
        assert_eq!(a.eks_target_utilisation, 0.8);
        let t = cfg.alerts.for_path(&PathId::from("eks-qwen3"));
        assert_eq!(
            (t.p95_ms_warn, t.p95_ms_crit, t.error_rate_crit),
            (60.0, 120.0, 0.05)
        );
        let t = cfg.alerts.for_path(&PathId::from("agentcore-haiku"));
        assert_eq!((t.p95_ms_warn, t.p95_ms_crit), (100.0, 200.0));
        assert_eq!(cfg.alerts.budget_usd_per_hour, Some(40.0));
        assert!(cfg.alerts.bell);
        // Defaults: bell off, beginner team, no escalation modelled.
        let d = Config::default();
        assert!(!d.alerts.bell);
        assert_eq!(d.advisor.team_k8s_capability, TeamCapability::Beginner);
        assert_eq!(d.advisor.escalation_rate, 0.0);
        // The example config and the demo config carry the keys and parse.
        let ex = Config::from_toml(crate::commands::init::EXAMPLE, "example.toml").unwrap();
        assert!(ex.unknown_keys.is_empty(), "{:?}", ex.unknown_keys);
        assert_eq!(Config::demo().advisor.escalation_rate, 0.04);
        for (text, key) in [
            ("[advisor]\ncurrent_phase = 4\n", "advisor.current_phase"),
            ("[advisor]\nteam_k8s_capability = 'guru'\n", "guru"),
            (
                "[advisor]\nescalation_rate = 1.5\n",
                "advisor.escalation_rate",
            ),
            (
                "[advisor]\nescalation_path = 'eks-qwen3'\n",
                "not an AgentCore path",
            ),
            (
                "[advisor]\nescalation_path = 'nope'\n",
                "advisor.escalation_path",
            ),
            (
                "[advisor]\neks_target_utilisation = 0\n",
                "advisor.eks_target_utilisation",
            ),
            ("[alerts]\np95_ms_warn = 300\n", "alerts.p95_ms_warn"),
            (
                "[alerts]\nbudget_crit_ratio = 0.5\n",
                "alerts.budget_crit_ratio",
            ),
            ("[alerts]\nstale_intervals = 0\n", "alerts.stale_intervals"),
            ("[alerts]\nerror_rate_crit = -1\n", "alerts.error_rate_crit"),
            (
                "[alerts.paths.nope]\np95_ms_warn = 1\n",
                "alerts.paths.nope",
            ),
        ] {
            let e = err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn request_timeouts_default_and_parse() {
        let c = Config::from_toml("[aws]\n[langfuse]\n", "t.toml").unwrap();
        assert_eq!(c.aws.unwrap().timeout, Duration::from_secs(15));
        assert_eq!(c.langfuse.unwrap().timeout, Duration::from_secs(60));
        let c = Config::from_toml(
            "[aws]\ntimeout = \"3s\"\n[langfuse]\ntimeout = \"2s\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.aws.unwrap().timeout, Duration::from_secs(3));
        assert_eq!(c.langfuse.unwrap().timeout, Duration::from_secs(2));
        assert!(err("[aws]\ntimeout = \"0s\"\n").contains("timeout"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(21600));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("x").is_err());
        assert_eq!(parse_duration("365d").unwrap(), MAX_DURATION);
        assert!(parse_duration("366d").is_err());
    }

    #[test]
    fn absurd_window_is_an_error_not_an_overflow() {
        // Found by the `config_parse` fuzz target: the window's bucket arithmetic overflowed.
        for w in ["500000000000y", "300000000y", "18446744073709551615s"] {
            let text = format!("[general]\nwindow = \"{w}\"\n");
            let e = Config::from_toml(&text, "c.toml").unwrap_err().to_string();
            assert!(e.contains("longer than a year"), "{w}: {e}");
        }
    }
}
