//! AgentCore beyond the runtimes (`[agentcore]`): Gateway tool targets, Identity token fetches
//! and Memory resources. The namespace is discovered, not assumed: ListMetrics is asked under
//! each spelling (`AWS/Bedrock-AgentCore`, `Bedrock-AgentCore`, `bedrock-agentcore`) and the
//! first that lists the resource's metrics holds its data. Discovery is I/O ([`discover`]); the
//! plan ([`build`]) and the decoding ([`minutes`]) are pure.
use super::plan::{sorted, Dims};
use crate::config::AgentcoreConfig;
use crate::model::agentcore::{
    AgentcoreBatch, IdentityMinute, MemoryMinute, Pct, ToolMinute, NAMESPACES,
};
use crate::model::sanitize::clean_owned;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsError;
use aws_sdk_cloudwatch::types::DimensionFilter;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

type CwError<E> = SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>;

/// At most this many metric+stat pairs per AgentCore fetch (the API-spend budget); series
/// beyond it are named in a warning, not silently dropped.
pub const MAX_QUERIES: usize = 120;
/// AgentCore extras are fetched at most this often (each fetch covers every minute since the
/// last; GetMetricData bills per metric, not per datapoint).
pub const MIN_INTERVAL_SECS: i64 = 180;

const COUNTS: [&str; 4] = ["Invocations", "Throttles", "SystemErrors", "UserErrors"];
const GATEWAY_LATENCIES: [&str; 3] = ["Latency", "Duration", "TargetExecutionTime"];
const GATEWAY_STATS: [&str; 3] = ["p50", "p90", "p99"];
const MEMORY_STATS: [&str; 2] = ["p50", "p99"];
pub const IDENTITY_SUCCESS: &str = "WorkloadAccessTokenFetchSuccess";
pub const IDENTITY_FAILURES: &str = "WorkloadAccessTokenFetchFailures";

/// A configured AgentCore resource beyond the runtimes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AcResource {
    Gateway(String),
    Memory(String),
    Identity,
}

impl AcResource {
    pub fn kind(&self) -> &'static str {
        match self {
            AcResource::Gateway(_) => "gateway",
            AcResource::Memory(_) => "memory",
            AcResource::Identity => "identity",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            AcResource::Gateway(a) => format!("gateway {a}"),
            AcResource::Memory(a) => format!("memory {a}"),
            AcResource::Identity => "identity token fetches".into(),
        }
    }
}

pub fn resources(cfg: Option<&AgentcoreConfig>) -> Vec<AcResource> {
    let Some(c) = cfg else { return Vec::new() };
    let mut out: Vec<AcResource> = Vec::new();
    let trimmed = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    for g in trimmed(&c.gateway_arns) {
        out.push(AcResource::Gateway(g));
    }
    for m in trimmed(&c.memory_arns) {
        out.push(AcResource::Memory(m));
    }
    if c.identity {
        out.push(AcResource::Identity);
    }
    out.dedup();
    out
}

/// One resource as ListMetrics found it: the namespace spelling holding its metrics (none
/// under any) and its `(metric, dims)` series.
pub type Found = (AcResource, Option<&'static str>, Vec<(String, Dims)>);

/// What ListMetrics found per resource.
#[derive(Clone, Debug, Default)]
pub struct AcDiscovery {
    pub found: Vec<Found>,
}

/// ListMetrics for one resource under one namespace, all pages (bounded).
async fn list(
    client: &aws_sdk_cloudwatch::Client,
    ns: &str,
    r: &AcResource,
) -> Result<(Vec<(String, Dims)>, u64), CwError<ListMetricsError>> {
    let names: Vec<Option<&str>> = match r {
        AcResource::Identity => vec![Some(IDENTITY_SUCCESS), Some(IDENTITY_FAILURES)],
        _ => vec![None],
    };
    let mut out = Vec::new();
    let mut calls = 0;
    for name in names {
        let mut token: Option<String> = None;
        for _ in 0..20 {
            let mut req = client
                .list_metrics()
                .namespace(ns)
                .set_metric_name(name.map(str::to_string))
                .set_next_token(token.take());
            if let AcResource::Gateway(arn) | AcResource::Memory(arn) = r {
                req = req.dimensions(
                    DimensionFilter::builder()
                        .name("Resource")
                        .value(arn)
                        .build(),
                );
            }
            let resp = req.send().await?;
            calls += 1;
            for m in resp.metrics() {
                let Some(metric) = m.metric_name() else {
                    continue;
                };
                let dims: Dims = m
                    .dimensions()
                    .iter()
                    .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                    .collect();
                out.push((metric.to_string(), sorted(dims)));
            }
            match resp.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok((out, calls))
}

/// Each resource under each spelling until one lists its metrics. Returns the discovery and the
/// ListMetrics requests made (billed).
pub async fn discover(
    client: &aws_sdk_cloudwatch::Client,
    cfg: Option<&AgentcoreConfig>,
) -> Result<(AcDiscovery, u64), (CwError<ListMetricsError>, u64)> {
    let mut d = AcDiscovery::default();
    let mut calls = 0u64;
    for r in resources(cfg) {
        let mut hit = (None, Vec::new());
        for ns in NAMESPACES {
            let (found, n) = list(client, ns, &r).await.map_err(|e| (e, calls + 1))?;
            calls += n;
            if !found.is_empty() {
                hit = (Some(ns), found);
                break;
            }
        }
        d.found.push((r, hit.0, hit.1));
    }
    Ok((d, calls))
}

/// What one query's values are.
#[derive(Clone, Debug, PartialEq)]
pub struct AcQuery {
    pub id: String,
    pub namespace: &'static str,
    pub metric: String,
    pub dims: Dims,
    pub stat: &'static str,
    /// Index into [`AcPlan::resources`].
    pub res: usize,
}

#[derive(Clone, Debug, Default)]
pub struct AcPlan {
    pub resources: Vec<(AcResource, Option<&'static str>)>,
    pub queries: Vec<AcQuery>,
    pub in_vpc: BTreeSet<String>,
    pub warnings: Vec<String>,
}

impl AcPlan {
    /// The spelling that held data: the first resource's that found any.
    pub fn namespace(&self) -> Option<&'static str> {
        self.resources.iter().find_map(|(_, ns)| *ns)
    }
}

/// The target a tool belongs to: MCP tool names are `target___tool`.
pub fn target_of(name: &str) -> &str {
    name.split_once("___").map_or(name, |(t, _)| t)
}

fn dim<'a>(d: &'a Dims, k: &str) -> Option<&'a str> {
    d.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// The smallest dimension sets listed for `metric` (the per-resource aggregate), all of them
/// when several have that size; `need` must be among the dimensions.
fn smallest(found: &[(String, Dims)], metric: &str, need: Option<&str>) -> Vec<Dims> {
    let c: BTreeSet<Dims> = found
        .iter()
        .filter(|(m, d)| m == metric && need.is_none_or(|n| dim(d, n).is_some()))
        .map(|(_, d)| d.clone())
        .collect();
    let Some(min) = c.iter().map(Vec::len).min() else {
        return Vec::new();
    };
    c.into_iter().filter(|d| d.len() == min).collect()
}

pub fn build(cfg: Option<&AgentcoreConfig>, d: &AcDiscovery) -> AcPlan {
    let mut plan = AcPlan {
        in_vpc: cfg
            .map(|c| {
                c.in_vpc_targets
                    .iter()
                    .map(|s| s.trim().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        ..AcPlan::default()
    };
    let mut wanted: Vec<(usize, &'static str, String, Dims, &'static str)> = Vec::new();
    for (ri, (r, ns, found)) in d.found.iter().enumerate() {
        plan.resources.push((r.clone(), *ns));
        let Some(ns) = *ns else {
            plan.warnings.push(format!(
                "{}: no metrics under any of {} — check the ARN and aws.region (or it had no traffic in two weeks)",
                r.describe(),
                NAMESPACES.join(", ")
            ));
            continue;
        };
        let mut q = |metric: &str, dims: &Dims, stat: &'static str| {
            wanted.push((ri, ns, metric.to_string(), dims.clone(), stat));
        };
        match r {
            AcResource::Gateway(_) => {
                // Per tool: every series that names one (`Name`), each metric it lists.
                let series: BTreeSet<&Dims> = found
                    .iter()
                    .filter(|(_, d)| dim(d, "Name").is_some())
                    .map(|(_, d)| d)
                    .collect();
                if series.is_empty() {
                    plan.warnings.push(format!(
                        "{}: metrics in {ns} but none per tool (Name dimension)",
                        r.describe()
                    ));
                }
                for dims in series {
                    let listed = |m: &str| found.iter().any(|(x, d)| x == m && d == dims);
                    for m in COUNTS.iter().filter(|m| listed(m)) {
                        q(m, dims, "Sum");
                    }
                    for m in GATEWAY_LATENCIES.iter().filter(|m| listed(m)) {
                        for s in GATEWAY_STATS {
                            q(m, dims, s);
                        }
                    }
                }
            }
            AcResource::Memory(_) => {
                for m in COUNTS {
                    for dims in smallest(found, m, None) {
                        q(m, &dims, "Sum");
                    }
                }
                for dims in smallest(found, "Latency", None) {
                    for s in MEMORY_STATS {
                        q("Latency", &dims, s);
                    }
                }
            }
            AcResource::Identity => {
                for dims in smallest(found, IDENTITY_SUCCESS, None) {
                    q(IDENTITY_SUCCESS, &dims, "Sum");
                }
                for dims in smallest(found, IDENTITY_FAILURES, Some("ExceptionType")) {
                    q(IDENTITY_FAILURES, &dims, "Sum");
                }
            }
        }
    }
    if wanted.len() > MAX_QUERIES {
        plan.warnings.push(format!(
            "AgentCore: {} metric series found, {MAX_QUERIES} queried (the API-spend bound); {} left out",
            wanted.len(),
            wanted.len() - MAX_QUERIES
        ));
        wanted.truncate(MAX_QUERIES);
    }
    plan.queries = wanted
        .into_iter()
        .enumerate()
        .map(|(i, (res, namespace, metric, dims, stat))| AcQuery {
            id: format!("a{i}"),
            namespace,
            metric,
            dims,
            stat,
            res,
        })
        .collect();
    plan
}

/// Datapoints per query id.
pub type Results = HashMap<String, Vec<(i64, f64)>>;

fn count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x.round() as u64
    } else {
        0
    }
}

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Weighted sums for the three percentiles.
#[derive(Default)]
struct Acc([f64; 3], [f64; 3]);

impl Acc {
    fn add(&mut self, i: usize, v: f64, w: f64) {
        self.0[i] += v * w;
        self.1[i] += w;
    }
    fn pct(&self) -> Pct {
        let g = |i: usize| (self.1[i] > 0.0).then(|| self.0[i] / self.1[i]);
        Pct {
            p50: g(0),
            p90: g(1),
            p99: g(2),
        }
    }
}

fn stat_idx(stat: &str) -> Option<usize> {
    match stat {
        "p50" => Some(0),
        "p90" => Some(1),
        "p99" => Some(2),
        _ => None,
    }
}

/// One [`AgentcoreBatch`] per minute of `[start, end)` that has any datapoint. Counts are summed
/// over series; percentiles are averaged over a target's (or memory's) series weighted by the
/// invocations of the same series that minute (1 when it has none).
pub fn minutes(plan: &AcPlan, results: &Results, start: i64, end: i64) -> Vec<AgentcoreBatch> {
    // (query, minute) → value
    let at = |q: &AcQuery, t: i64| -> Option<f64> {
        results
            .get(&q.id)?
            .iter()
            .find(|(s, _)| *s == t)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
    };
    let mut out = Vec::new();
    let mut m = start;
    while m < end {
        let mut any = false;
        let mut tools: BTreeMap<(usize, String), (ToolMinute, [Acc; 3])> = BTreeMap::new();
        let mut memory: BTreeMap<usize, (MemoryMinute, Acc)> = BTreeMap::new();
        let mut identity: Option<IdentityMinute> = None;
        let invocations = |res: usize, dims: &Dims| -> f64 {
            plan.queries
                .iter()
                .find(|q| q.res == res && q.metric == "Invocations" && q.dims == *dims)
                .and_then(|q| at(q, m))
                .filter(|w| *w > 0.0)
                .unwrap_or(1.0)
        };
        for q in &plan.queries {
            let Some(v) = at(q, m) else { continue };
            any = true;
            let (r, _) = &plan.resources[q.res];
            match r {
                AcResource::Gateway(arn) => {
                    let name = dim(&q.dims, "Name").unwrap_or("");
                    let target = clean_owned(target_of(name));
                    let e = tools.entry((q.res, target.clone())).or_insert_with(|| {
                        (
                            ToolMinute {
                                gateway: clean_owned(arn),
                                in_vpc: plan.in_vpc.contains(&target),
                                target,
                                invocations: 0,
                                server_errors: 0,
                                client_errors: 0,
                                throttles: 0,
                                latency_ms: Pct::default(),
                                duration_ms: Pct::default(),
                                target_execution_ms: Pct::default(),
                            },
                            Default::default(),
                        )
                    });
                    match (q.metric.as_str(), stat_idx(q.stat)) {
                        ("Invocations", _) => e.0.invocations += count(v),
                        ("Throttles", _) => e.0.throttles += count(v),
                        ("SystemErrors", _) => e.0.server_errors += count(v),
                        ("UserErrors", _) => e.0.client_errors += count(v),
                        (metric, Some(i)) => {
                            let k = match metric {
                                "Latency" => 0,
                                "Duration" => 1,
                                _ => 2,
                            };
                            e.1[k].add(i, v, invocations(q.res, &q.dims));
                        }
                        _ => {}
                    }
                }
                AcResource::Memory(arn) => {
                    let e = memory.entry(q.res).or_insert_with(|| {
                        (
                            MemoryMinute {
                                resource: clean_owned(arn),
                                invocations: 0,
                                errors: 0,
                                throttles: 0,
                                latency_ms: Pct::default(),
                            },
                            Acc::default(),
                        )
                    });
                    match (q.metric.as_str(), stat_idx(q.stat)) {
                        ("Invocations", _) => e.0.invocations += count(v),
                        ("Throttles", _) => e.0.throttles += count(v),
                        ("SystemErrors" | "UserErrors", _) => e.0.errors += count(v),
                        ("Latency", Some(i)) => e.1.add(i, v, invocations(q.res, &q.dims)),
                        _ => {}
                    }
                }
                AcResource::Identity => {
                    let e = identity.get_or_insert_with(IdentityMinute::default);
                    if q.metric == IDENTITY_SUCCESS {
                        e.successes += count(v);
                    } else {
                        let kind = clean_owned(dim(&q.dims, "ExceptionType").unwrap_or("unknown"));
                        *e.failures.entry(kind).or_insert(0) += count(v);
                    }
                }
            }
        }
        if any {
            out.push(AgentcoreBatch {
                start: ts(m),
                end: ts(m + 60),
                namespace: plan.namespace().map(str::to_string),
                tools: tools
                    .into_values()
                    .map(|(mut t, acc)| {
                        t.latency_ms = acc[0].pct();
                        t.duration_ms = acc[1].pct();
                        t.target_execution_ms = acc[2].pct();
                        t
                    })
                    .collect(),
                identity,
                memory: memory
                    .into_values()
                    .map(|(mut mm, acc)| {
                        mm.latency_ms = acc.pct();
                        mm
                    })
                    .collect(),
            });
        }
        m += 60;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(pairs: &[(&str, &str)]) -> Dims {
        sorted(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn plan_queries_per_tool_and_warns_on_missing_spelling() {
        let cfg = AgentcoreConfig {
            gateway_arns: vec!["arn:gw".into()],
            memory_arns: vec!["arn:mem".into()],
            identity: true,
            in_vpc_targets: vec!["crm".into()],
        };
        let tool = |n: &str| {
            d(&[
                ("Method", "tools/call"),
                ("Name", n),
                ("Operation", "InvokeGateway"),
                ("Protocol", "MCP"),
                ("Resource", "arn:gw"),
            ])
        };
        let mut gw = Vec::new();
        for n in ["crm___lookup", "crm___update", "search___web"] {
            for m in COUNTS.iter().chain(GATEWAY_LATENCIES.iter()) {
                gw.push((m.to_string(), tool(n)));
            }
        }
        gw.push(("Invocations".into(), d(&[("Resource", "arn:gw")])));
        let disc = AcDiscovery {
            found: vec![
                (
                    AcResource::Gateway("arn:gw".into()),
                    Some("Bedrock-AgentCore"),
                    gw,
                ),
                (AcResource::Memory("arn:mem".into()), None, vec![]),
                (
                    AcResource::Identity,
                    Some("Bedrock-AgentCore"),
                    vec![
                        (
                            IDENTITY_SUCCESS.into(),
                            d(&[
                                ("Operation", "GetWorkloadAccessToken"),
                                ("WorkloadIdentity", "w"),
                            ]),
                        ),
                        (
                            IDENTITY_FAILURES.into(),
                            d(&[
                                ("ExceptionType", "ValidationException"),
                                ("Operation", "GetWorkloadAccessToken"),
                                ("WorkloadIdentity", "w"),
                            ]),
                        ),
                    ],
                ),
            ],
        };
        let p = build(Some(&cfg), &disc);
        assert_eq!(
            p.queries.len(),
            3 * 13 + 2,
            "13 per tool series, 2 identity"
        );
        assert_eq!(p.namespace(), Some("Bedrock-AgentCore"));
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("memory arn:mem") && w.contains("bedrock-agentcore")),
            "{:?}",
            p.warnings
        );
        // Two tools of target crm fold into one row, in-VPC.
        let mut r = Results::new();
        for q in &p.queries {
            let v = match (q.metric.as_str(), q.stat) {
                ("Invocations", _) => {
                    if dim(&q.dims, "Name") == Some("crm___update") {
                        30.0
                    } else {
                        10.0
                    }
                }
                ("TargetExecutionTime", "p90") => {
                    if dim(&q.dims, "Name") == Some("crm___update") {
                        900.0
                    } else {
                        100.0
                    }
                }
                (IDENTITY_FAILURES, _) => 4.0,
                (IDENTITY_SUCCESS, _) => 96.0,
                _ => 1.0,
            };
            r.insert(q.id.clone(), vec![(60, v)]);
        }
        let b = minutes(&p, &r, 0, 180);
        assert_eq!(b.len(), 1);
        let crm = b[0].tools.iter().find(|t| t.target == "crm").unwrap();
        assert!(crm.in_vpc);
        assert_eq!(crm.invocations, 40);
        assert!(
            (crm.target_execution_ms.p90.unwrap() - (10.0 * 100.0 + 30.0 * 900.0) / 40.0).abs()
                < 1e-9
        );
        let i = b[0].identity.as_ref().unwrap();
        assert_eq!((i.successes, i.failures["ValidationException"]), (96, 4));
    }

    #[test]
    fn the_contract_keys_parse_with_their_defaults() {
        let c = crate::config::Config::from_toml(
            r#"
[agentcore]
gateway_arns = ["arn:gw", " "]
memory_arns = ["arn:mem"]
in_vpc_targets = ["crm-lookup"]
[aws]
alarm_prefixes = ["hybrid-"]
"#,
            "t.toml",
        )
        .unwrap();
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        let a = c.agentcore.as_ref().unwrap();
        assert!(a.identity, "identity defaults to true");
        assert_eq!(
            resources(Some(a)),
            vec![
                AcResource::Gateway("arn:gw".into()),
                AcResource::Memory("arn:mem".into()),
                AcResource::Identity
            ]
        );
        assert_eq!(c.aws.unwrap().alarm_prefixes, vec!["hybrid-".to_string()]);
        // `init` writes them, commented.
        let example = include_str!("../../config/example_config.toml");
        for k in [
            "gateway_arns",
            "memory_arns",
            "identity = true",
            "in_vpc_targets",
            "alarm_prefixes",
        ] {
            assert!(example.contains(&format!("# {k}")), "{k}");
        }
    }

    #[test]
    fn the_worst_case_spend_stays_within_budget() {
        // The reference config's runtimes and Cost Explorer ($0.0166/h), every AgentCore query
        // the bound allows every 3 minutes, and every DescribeAlarms page a minute.
        let reference = (24.0 * 60.0 + 4.0 * 12.0) * 0.00001 + 0.01 / 6.0;
        let agentcore = MAX_QUERIES as f64 * 3600.0 / MIN_INTERVAL_SECS as f64 * 0.00001;
        let alarms = super::super::alarms::MAX_PAGES as f64 * 60.0 * 0.00001;
        let total = reference + agentcore + alarms;
        assert!(total <= 0.05, "${total}/h");
        assert!((total - 0.046_56).abs() < 1e-4, "{total}");
    }

    #[test]
    fn too_many_series_are_bounded_with_a_warning() {
        let mut gw = Vec::new();
        for n in 0..20 {
            for m in COUNTS.iter().chain(GATEWAY_LATENCIES.iter()) {
                gw.push((
                    m.to_string(),
                    d(&[("Name", &format!("t{n}")), ("Resource", "g")]),
                ));
            }
        }
        let disc = AcDiscovery {
            found: vec![(
                AcResource::Gateway("g".into()),
                Some("AWS/Bedrock-AgentCore"),
                gw,
            )],
        };
        let p = build(None, &disc);
        assert_eq!(p.queries.len(), MAX_QUERIES);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("260 metric series found")),
            "{:?}",
            p.warnings
        );
    }
}
