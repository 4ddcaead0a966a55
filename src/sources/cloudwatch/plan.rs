//! What to ask CloudWatch for: the configured resources (AgentCore runtimes, Bedrock models),
//! the dimension sets ListMetrics found for them, and the GetMetricData queries built from both.
//! Pure: no I/O, so the mapping from config to queries is unit-tested.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use std::collections::{BTreeMap, BTreeSet};

pub const AGENTCORE_NS: &str = "AWS/Bedrock-AgentCore";
pub const BEDROCK_NS: &str = "AWS/Bedrock";
/// AgentCore publishes 1-minute batches: a shorter period buys nothing.
pub const PERIOD_SECS: i64 = 60;
/// Resource usage arrives late and in bursts; 5-minute periods are plenty.
pub const USAGE_PERIOD_SECS: i64 = 300;
/// GetMetricData takes at most 500 queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// A configured thing CloudWatch has metrics for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Runtime { arn: String },
    Model { id: String },
}

impl Resource {
    pub fn namespace(&self) -> &'static str {
        match self {
            Resource::Runtime { .. } => AGENTCORE_NS,
            Resource::Model { .. } => BEDROCK_NS,
        }
    }

    /// The dimension that identifies the resource (what ListMetrics filters on).
    pub fn key_dim(&self) -> (&'static str, &str) {
        match self {
            Resource::Runtime { arn } => ("Resource", arn),
            Resource::Model { id } => ("ModelId", id),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Resource::Runtime { arn } => format!("runtime {arn}"),
            Resource::Model { id } => format!("model {id}"),
        }
    }
}

/// Dimensions as `(name, value)`, sorted by name (CloudWatch matches the set exactly).
pub type Dims = Vec<(String, String)>;

pub fn sorted(mut d: Dims) -> Dims {
    d.sort();
    d
}

/// What ListMetrics returned per resource: `(metric name, dimensions)`.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub found: BTreeMap<Resource, Vec<(String, Dims)>>,
}

/// What a query's values mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Invocations,
    Throttles,
    SystemErrors,
    UserErrors,
    Sessions,
    LatencyP50,
    LatencyP95,
    LatencyP99,
    ModelInvocations,
    InputTokens,
    OutputTokens,
    ModelThrottles,
    ModelClientErrors,
    ModelServerErrors,
    ModelLatencyP50,
    ModelLatencyP95,
    ModelLatencyP99,
    VcpuHours,
    GbHours,
}

struct Spec {
    metric: &'static str,
    stat: &'static str,
    field: Field,
}

const fn spec(metric: &'static str, stat: &'static str, field: Field) -> Spec {
    Spec {
        metric,
        stat,
        field,
    }
}

/// Per AgentCore runtime, every refresh.
const RUNTIME: &[Spec] = &[
    spec("Invocations", "Sum", Field::Invocations),
    spec("Throttles", "Sum", Field::Throttles),
    spec("SystemErrors", "Sum", Field::SystemErrors),
    spec("UserErrors", "Sum", Field::UserErrors),
    spec("SessionCount", "Sum", Field::Sessions),
    spec("Latency", "p50", Field::LatencyP50),
    spec("Latency", "p95", Field::LatencyP95),
    spec("Latency", "p99", Field::LatencyP99),
];
/// Per Bedrock model, every refresh.
const MODEL: &[Spec] = &[
    spec("Invocations", "Sum", Field::ModelInvocations),
    spec("InputTokenCount", "Sum", Field::InputTokens),
    spec("OutputTokenCount", "Sum", Field::OutputTokens),
    spec("InvocationThrottles", "Sum", Field::ModelThrottles),
];
/// A path with a model but no runtime takes its errors and latency from the model.
const MODEL_ONLY: &[Spec] = &[
    spec("InvocationClientErrors", "Sum", Field::ModelClientErrors),
    spec("InvocationServerErrors", "Sum", Field::ModelServerErrors),
    spec("InvocationLatency", "p50", Field::ModelLatencyP50),
    spec("InvocationLatency", "p95", Field::ModelLatencyP95),
    spec("InvocationLatency", "p99", Field::ModelLatencyP99),
];
/// Per runtime, on the slower usage cadence.
const USAGE: &[Spec] = &[
    spec("CPUUsed-vCPUHours", "Sum", Field::VcpuHours),
    spec("MemoryUsed-GBHours", "Sum", Field::GbHours),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    Traffic,
    Usage,
}

/// One GetMetricData query: a metric+stat pair (what CloudWatch bills).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `q0`, `q1`, … (must start with a lower-case letter).
    pub id: String,
    pub namespace: &'static str,
    pub metric: &'static str,
    pub dims: Dims,
    pub stat: &'static str,
    pub period: i64,
    /// Index into [`Plan::resources`].
    pub resource: usize,
    pub field: Field,
    /// Which of the resource's dimension sets for this metric (several are summed).
    pub set: usize,
    pub cadence: Cadence,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathPlan {
    pub path: PathId,
    pub runtime: Option<usize>,
    pub model: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub resources: Vec<Resource>,
    pub paths: Vec<PathPlan>,
    pub traffic: Vec<Query>,
    pub usage: Vec<Query>,
    /// Visible warnings (a configured resource CloudWatch has no metrics for, …).
    pub warnings: Vec<String>,
}

/// The distinct resources the config names, in config order.
pub fn resources(cfg: &Config) -> Vec<Resource> {
    let mut out: Vec<Resource> = Vec::new();
    for p in cfg.paths.iter().filter(|p| p.kind == Side::Agentcore) {
        let Some(ac) = &p.agentcore else { continue };
        let rt = ac
            .runtime_arn
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|arn| Resource::Runtime { arn: arn.into() });
        let md = ac
            .model_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| Resource::Model { id: id.into() });
        for r in [rt, md].into_iter().flatten() {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The dimension sets to query for one metric of one resource: those ListMetrics found that
/// have the fewest dimensions (the per-resource aggregate); several of equal size (one per
/// endpoint, say) are all queried and summed. When ListMetrics found none, the documented set.
fn dim_sets(found: Option<&Vec<(String, Dims)>>, metric: &str, default: &Dims) -> Vec<Dims> {
    let cands: BTreeSet<Dims> = found
        .into_iter()
        .flatten()
        .filter(|(m, _)| m == metric)
        .map(|(_, d)| sorted(d.clone()))
        .collect();
    let Some(min) = cands.iter().map(|d| d.len()).min() else {
        return vec![default.clone()];
    };
    cands.into_iter().filter(|d| d.len() == min).collect()
}

/// Build the queries. `discovery` is `None` when ListMetrics could not be used (the documented
/// dimensions are queried then).
pub fn build(cfg: &Config, discovery: Option<&Discovery>) -> Plan {
    let resources = resources(cfg);
    let idx = |r: &Resource| resources.iter().position(|x| x == r);
    let mut plan = Plan {
        resources: resources.clone(),
        ..Plan::default()
    };
    let mut model_only: BTreeSet<usize> = BTreeSet::new();
    for p in cfg.paths.iter().filter(|p| p.kind == Side::Agentcore) {
        let ac = p.agentcore.as_ref();
        let runtime = ac
            .and_then(|a| a.runtime_arn.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|arn| idx(&Resource::Runtime { arn: arn.into() }));
        let model = ac
            .and_then(|a| a.model_id.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|id| idx(&Resource::Model { id: id.into() }));
        if runtime.is_none() && model.is_none() {
            plan.warnings.push(format!(
                "path {}: no agentcore.runtime_arn or model_id configured — no CloudWatch data for it",
                p.id
            ));
            continue;
        }
        if runtime.is_none() {
            if let Some(m) = model {
                model_only.insert(m);
            }
        }
        plan.paths.push(PathPlan {
            path: p.id.clone(),
            runtime,
            model,
        });
    }
    let mut n = 0usize;
    let mut push = |plan: &mut Plan, ri: usize, r: &Resource, specs: &[Spec], cadence| {
        let (k, v) = r.key_dim();
        let found = discovery.and_then(|d| d.found.get(r));
        for s in specs {
            let default = match s.field {
                Field::VcpuHours | Field::GbHours => sorted(vec![
                    (k.into(), v.into()),
                    ("Service".into(), "AgentCore.Runtime".into()),
                ]),
                _ => vec![(k.into(), v.into())],
            };
            for (set, dims) in dim_sets(found, s.metric, &default).into_iter().enumerate() {
                let q = Query {
                    id: format!("q{n}"),
                    namespace: r.namespace(),
                    metric: s.metric,
                    dims,
                    stat: s.stat,
                    period: match cadence {
                        Cadence::Traffic => PERIOD_SECS,
                        Cadence::Usage => USAGE_PERIOD_SECS,
                    },
                    resource: ri,
                    field: s.field,
                    set,
                    cadence,
                };
                n += 1;
                match cadence {
                    Cadence::Traffic => plan.traffic.push(q),
                    Cadence::Usage => plan.usage.push(q),
                }
            }
        }
    };
    for (ri, r) in resources.iter().enumerate() {
        if !plan
            .paths
            .iter()
            .any(|p| p.runtime == Some(ri) || p.model == Some(ri))
        {
            continue;
        }
        if let Some(d) = discovery {
            if d.found.get(r).is_none_or(|v| v.is_empty()) {
                plan.warnings.push(format!(
                    "{}: ListMetrics found no metrics in {} — check the id and aws.region (or it had no traffic in two weeks); querying the documented dimensions",
                    r.describe(),
                    r.namespace()
                ));
            }
        }
        match r {
            Resource::Runtime { .. } => {
                push(&mut plan, ri, r, RUNTIME, Cadence::Traffic);
                push(&mut plan, ri, r, USAGE, Cadence::Usage);
            }
            Resource::Model { .. } => {
                push(&mut plan, ri, r, MODEL, Cadence::Traffic);
                if model_only.contains(&ri) {
                    push(&mut plan, ri, r, MODEL_ONLY, Cadence::Traffic);
                }
            }
        }
    }
    if discovery.is_none() && !plan.paths.is_empty() {
        plan.warnings.push(
            "ListMetrics not permitted (cloudwatch:ListMetrics): querying the documented dimensions"
                .into(),
        );
    }
    plan
}

/// Steady-state GetMetricData spend in $/h: metric+stat pairs per call × calls per hour.
pub fn usd_per_hour(plan: &Plan, interval_secs: f64, usage_interval_secs: f64) -> f64 {
    let per_hour = |n: usize, every: f64| {
        if every > 0.0 {
            n as f64 * 3600.0 / every
        } else {
            0.0
        }
    };
    (per_hour(plan.traffic.len(), interval_secs) + per_hour(plan.usage.len(), usage_interval_secs))
        * crate::sources::aws::USD_PER_METRIC_REQUESTED
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::from_toml(
            include_str!("../../../tests/fixtures/design_config.toml"),
            "design.toml",
        )
        .unwrap()
    }

    #[test]
    fn resources_and_queries_from_design_config() {
        let c = cfg();
        let plan = build(&c, None);
        assert_eq!(plan.resources.len(), 4);
        assert_eq!(plan.paths.len(), 2);
        // Per path: 8 runtime + 4 model metric+stat pairs; usage 2 per runtime.
        assert_eq!(plan.traffic.len(), 24);
        assert_eq!(plan.usage.len(), 4);
        let ids: BTreeSet<&str> = plan
            .traffic
            .iter()
            .chain(&plan.usage)
            .map(|q| q.id.as_str())
            .collect();
        assert_eq!(ids.len(), 28, "ids are unique");
        let p95 = plan
            .traffic
            .iter()
            .find(|q| q.field == Field::LatencyP95)
            .unwrap();
        assert_eq!(p95.stat, "p95");
        assert_eq!(p95.namespace, AGENTCORE_NS);
        assert_eq!(
            p95.dims,
            vec![(
                "Resource".to_string(),
                "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123"
                    .to_string()
            )]
        );
        let u = &plan.usage[0];
        assert_eq!(u.dims.len(), 2);
        assert_eq!(u.period, USAGE_PERIOD_SECS);
        assert!(plan.warnings.iter().any(|w| w.contains("ListMetrics")));
        // Default intervals: 24 × 60 + 4 × 12 pairs per hour.
        let usd = usd_per_hour(&plan, 60.0, 300.0);
        assert!(
            (usd - (24.0 * 60.0 + 4.0 * 12.0) * 0.00001).abs() < 1e-12,
            "{usd}"
        );
    }

    #[test]
    fn discovered_dimension_sets_are_used_and_missing_ones_warned() {
        let c = cfg();
        let rs = resources(&c);
        let mut d = Discovery::default();
        let arn = match &rs[0] {
            Resource::Runtime { arn } => arn.clone(),
            _ => unreachable!(),
        };
        let ep = |name: &str| {
            vec![
                ("Resource".to_string(), arn.clone()),
                ("Name".to_string(), name.to_string()),
            ]
        };
        d.found.insert(
            rs[0].clone(),
            vec![
                ("Invocations".into(), ep("a::DEFAULT")),
                ("Invocations".into(), ep("a::prod")),
                ("Latency".into(), ep("a::DEFAULT")),
                (
                    "Latency".into(),
                    vec![
                        ("Resource".to_string(), arn.clone()),
                        ("Name".to_string(), "a::DEFAULT".to_string()),
                        ("Operation".to_string(), "InvokeAgentRuntime".to_string()),
                    ],
                ),
            ],
        );
        let plan = build(&c, Some(&d));
        let inv: Vec<&Query> = plan
            .traffic
            .iter()
            .filter(|q| q.resource == 0 && q.field == Field::Invocations)
            .collect();
        assert_eq!(inv.len(), 2, "one query per endpoint dimension set");
        assert_eq!((inv[0].set, inv[1].set), (0, 1));
        assert_eq!(inv[0].dims[0].0, "Name", "sorted by name");
        let lat: Vec<&Query> = plan
            .traffic
            .iter()
            .filter(|q| q.resource == 0 && q.field == Field::LatencyP95)
            .collect();
        assert_eq!(lat.len(), 1, "the smallest set wins");
        assert_eq!(lat[0].dims.len(), 2);
        // Throttles were not listed: the documented dimension.
        let thr = plan
            .traffic
            .iter()
            .find(|q| q.resource == 0 && q.field == Field::Throttles)
            .unwrap();
        assert_eq!(thr.dims, vec![("Resource".to_string(), arn.clone())]);
        // The other three resources had nothing: one warning each.
        assert_eq!(
            plan.warnings
                .iter()
                .filter(|w| w.contains("found no metrics"))
                .count(),
            3,
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn model_only_path_and_shared_models() {
        let c = Config::from_toml(
            r#"
[[paths]]
id = "a"
kind = "agentcore"
[paths.agentcore]
model_id = "m1"
[[paths]]
id = "b"
kind = "agentcore"
[paths.agentcore]
runtime_arn = "arn:rt"
model_id = "m1"
[[paths]]
id = "c"
kind = "agentcore"
[[paths]]
id = "e"
kind = "eks"
"#,
            "t.toml",
        )
        .unwrap();
        let plan = build(&c, None);
        assert_eq!(
            plan.resources,
            vec![
                Resource::Model { id: "m1".into() },
                Resource::Runtime {
                    arn: "arn:rt".into()
                }
            ]
        );
        assert_eq!(plan.paths.len(), 2);
        assert!(plan.warnings.iter().any(|w| w.contains("path c")));
        // m1 once (shared), with the model-only extras because path a has no runtime.
        assert_eq!(
            plan.traffic.iter().filter(|q| q.resource == 0).count(),
            4 + 5
        );
        assert_eq!(plan.traffic.iter().filter(|q| q.resource == 1).count(), 8);
    }
}
