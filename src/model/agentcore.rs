//! AgentCore beyond the runtime: Gateway (MCP) tool targets, Identity token fetches, Memory
//! resources, and the CloudWatch alarms that page on-call. The sources send one
//! [`AgentcoreBatch`] per settled minute and one [`AlarmsReport`] per refresh; the store keeps
//! the minutes of one window and derives [`AgentcoreView`] and [`AlarmView`]s. Pure, no clock.
use crate::domain::path::PathId;
use crate::model::redact::text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The AgentCore namespace spellings AWS's own pages use; ListMetrics decides which holds data.
pub const NAMESPACES: [&str; 3] = [
    "AWS/Bedrock-AgentCore",
    "Bedrock-AgentCore",
    "bedrock-agentcore",
];

/// Percentiles as published (`p50`, `p90`, `p99`), in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pct {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

/// One Gateway target over one minute. Strings are remote data (cleaned on the way in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolMinute {
    /// The Gateway (its ARN or configured name).
    pub gateway: String,
    /// The target: the part of the tool name before `___`, else the tool name.
    pub target: String,
    /// Served from inside the EKS VPC (`[agentcore] in_vpc_targets`): a PrivateLink hop.
    pub in_vpc: bool,
    pub invocations: u64,
    /// `SystemErrors` (5xx).
    pub server_errors: u64,
    /// `UserErrors` (4xx but 429). Not named `user_…`: a redacted recording masks such names.
    pub client_errors: u64,
    pub throttles: u64,
    pub latency_ms: Pct,
    pub duration_ms: Pct,
    pub target_execution_ms: Pct,
}

/// Identity token fetches over one minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityMinute {
    pub successes: u64,
    /// Failures by `ExceptionType` as published.
    pub failures: BTreeMap<String, u64>,
}

/// One Memory resource over one minute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryMinute {
    pub resource: String,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub latency_ms: Pct,
}

/// Everything AgentCore published for `[start, end)` (one minute).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentcoreBatch {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The namespace spelling that held the data.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub tools: Vec<ToolMinute>,
    #[serde(default)]
    pub identity: Option<IdentityMinute>,
    #[serde(default)]
    pub memory: Vec<MemoryMinute>,
}

/// A CloudWatch alarm as DescribeAlarms reports it (raw remote strings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub name: String,
    /// `ALARM` | `INSUFFICIENT_DATA` | `OK`
    pub state: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    pub namespace: Option<String>,
    pub metric: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<(String, String)>,
}

/// The alarms chosen by `[aws] alarm_prefixes`, complete as of one refresh.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmsReport {
    pub alarms: Vec<Alarm>,
    /// Alarms DescribeAlarms reported in the pages read.
    pub total: u64,
    /// More pages existed than the bound allows.
    #[serde(default)]
    pub truncated: bool,
    /// Why alarms cannot be read (denied), when they cannot.
    #[serde(default)]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Snapshot view

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolView {
    pub gateway: String,
    pub target: String,
    pub in_vpc: bool,
    pub invocations: u64,
    /// System + user errors.
    pub errors: u64,
    pub throttles: u64,
    pub latency_ms: Pct,
    pub duration_ms: Pct,
    pub target_execution_ms: Pct,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityView {
    pub successes: u64,
    pub failures: u64,
    pub failure_rate: Option<f64>,
    pub failures_by_type: BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPct {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    pub resource: String,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub latency_ms: MemoryPct,
}

/// `snapshot.agentcore`: the window ending at the newest minute reported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentcoreView {
    /// Slowest first (TargetExecutionTime p90, then Latency p90), then most failing.
    pub tools: Vec<ToolView>,
    pub identity: Option<IdentityView>,
    pub memory: Vec<MemoryView>,
    pub namespace: Option<String>,
    pub data_through: Option<DateTime<Utc>>,
    /// One line: where an AgentCore slowdown comes from, when a tool target explains it.
    pub verdict: Option<String>,
}

impl AgentcoreView {
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.identity.is_none() && self.memory.is_empty()
    }
}

/// `snapshot.alarms[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmView {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    /// The path whose metric the alarm watches (namespace and dimensions match its resource).
    pub path: Option<PathId>,
}

/// `snapshot.alarm_scan`: how many alarms were read, and whether reading them works.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmScan {
    pub total: u64,
    pub shown: u64,
    pub truncated: bool,
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Store

/// The minutes of one window, keyed by start (ms), and the newest alarm report.
#[derive(Clone, Debug, Default)]
pub struct AgentcoreStore {
    minutes: BTreeMap<i64, AgentcoreBatch>,
    namespace: Option<String>,
    alarms: Option<AlarmsReport>,
}

/// What links an alarm to a path: the path's runtime ARN and model id.
pub struct PathKeys<'a> {
    pub id: &'a PathId,
    pub runtime_arn: Option<&'a str>,
    pub model_id: Option<&'a str>,
}

/// Invocation-weighted average of per-minute percentiles.
#[derive(Default)]
struct WAvg([f64; 3], [f64; 3]);

impl WAvg {
    fn add(&mut self, p: &Pct, w: u64) {
        let w = (w.max(1)) as f64;
        for (i, v) in [p.p50, p.p90, p.p99].into_iter().enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                self.0[i] += v * w;
                self.1[i] += w;
            }
        }
    }
    fn get(&self) -> Pct {
        let g = |i: usize| (self.1[i] > 0.0).then(|| self.0[i] / self.1[i]);
        Pct {
            p50: g(0),
            p90: g(1),
            p99: g(2),
        }
    }
}

impl AgentcoreStore {
    pub fn apply(&mut self, b: AgentcoreBatch, window_ms: i64) {
        let k = b.start.timestamp_millis();
        if b.namespace.is_some() {
            self.namespace = b.namespace.clone();
        }
        self.minutes.insert(k, b);
        let newest = self.minutes.keys().next_back().copied().unwrap_or(k);
        // Keep one window (and a minute) behind the newest minute.
        let keep = newest - window_ms - 60_000;
        self.minutes = self.minutes.split_off(&keep);
    }

    pub fn apply_alarms(&mut self, r: AlarmsReport) {
        self.alarms = Some(r);
    }

    pub fn view(&self, window_ms: i64, redact: bool) -> AgentcoreView {
        let Some(through) = self.minutes.values().map(|b| b.end).max() else {
            return AgentcoreView::default();
        };
        let from = through.timestamp_millis() - window_ms;
        let mins = self
            .minutes
            .values()
            .filter(|b| b.start.timestamp_millis() >= from);
        let mut tools: BTreeMap<(String, String), (ToolView, WAvg, WAvg, WAvg)> = BTreeMap::new();
        let mut identity: Option<IdentityView> = None;
        let mut memory: BTreeMap<String, (MemoryView, WAvg)> = BTreeMap::new();
        for b in mins {
            for t in &b.tools {
                let e = tools
                    .entry((t.gateway.clone(), t.target.clone()))
                    .or_insert_with(|| {
                        (
                            ToolView {
                                gateway: text(&t.gateway, redact),
                                target: text(&t.target, redact),
                                ..ToolView::default()
                            },
                            WAvg::default(),
                            WAvg::default(),
                            WAvg::default(),
                        )
                    });
                e.0.in_vpc |= t.in_vpc;
                e.0.invocations += t.invocations;
                e.0.errors += t.server_errors + t.client_errors;
                e.0.throttles += t.throttles;
                e.1.add(&t.latency_ms, t.invocations);
                e.2.add(&t.duration_ms, t.invocations);
                e.3.add(&t.target_execution_ms, t.invocations);
            }
            if let Some(i) = &b.identity {
                let v = identity.get_or_insert_with(IdentityView::default);
                v.successes += i.successes;
                for (k, n) in &i.failures {
                    v.failures += n;
                    *v.failures_by_type.entry(text(k, redact)).or_insert(0) += n;
                }
            }
            for m in &b.memory {
                let e = memory.entry(m.resource.clone()).or_insert_with(|| {
                    (
                        MemoryView {
                            resource: text(&m.resource, redact),
                            ..MemoryView::default()
                        },
                        WAvg::default(),
                    )
                });
                e.0.invocations += m.invocations;
                e.0.errors += m.errors;
                e.0.throttles += m.throttles;
                e.1.add(&m.latency_ms, m.invocations);
            }
        }
        if let Some(v) = identity.as_mut() {
            let n = v.successes + v.failures;
            v.failure_rate = (n > 0).then(|| v.failures as f64 / n as f64);
        }
        let mut tools: Vec<ToolView> = tools
            .into_values()
            .map(|(mut t, l, d, x)| {
                t.latency_ms = l.get();
                t.duration_ms = d.get();
                t.target_execution_ms = x.get();
                t
            })
            .collect();
        let slow = |t: &ToolView| {
            t.target_execution_ms
                .p90
                .or(t.latency_ms.p90)
                .unwrap_or(0.0)
        };
        tools.sort_by(|a, b| {
            slow(b)
                .total_cmp(&slow(a))
                .then((b.errors + b.throttles).cmp(&(a.errors + a.throttles)))
                .then(a.target.cmp(&b.target))
        });
        let memory = memory
            .into_values()
            .map(|(mut m, l)| {
                let p = l.get();
                m.latency_ms = MemoryPct {
                    p50: p.p50,
                    p99: p.p99,
                };
                m
            })
            .collect();
        let mut v = AgentcoreView {
            tools,
            identity,
            memory,
            namespace: self.namespace.clone(),
            data_through: Some(through),
            verdict: None,
        };
        v.verdict = verdict(&v);
        v
    }

    /// The alarms to show (ALARM first, then INSUFFICIENT_DATA; newest first), each linked to
    /// the path whose resource its dimensions name.
    pub fn alarms(
        &self,
        paths: &[PathKeys<'_>],
        redact: bool,
    ) -> (Vec<AlarmView>, Option<AlarmScan>) {
        let Some(r) = &self.alarms else {
            return (Vec::new(), None);
        };
        let mut out: Vec<AlarmView> = r
            .alarms
            .iter()
            .filter(|a| a.state == "ALARM" || a.state == "INSUFFICIENT_DATA")
            .map(|a| AlarmView {
                name: text(&a.name, redact),
                state: text(&a.state, false),
                reason: text(&a.reason, redact),
                since: a.since,
                path: link(a, paths),
            })
            .collect();
        out.sort_by(|a, b| {
            (b.state == "ALARM")
                .cmp(&(a.state == "ALARM"))
                .then(b.since.cmp(&a.since))
                .then(a.name.cmp(&b.name))
        });
        let scan = AlarmScan {
            total: r.total,
            shown: out.len() as u64,
            truncated: r.truncated,
            error: r.error.as_deref().map(|e| text(e, false)),
        };
        (out, Some(scan))
    }
}

/// The path an alarm watches: an AgentCore namespace with a dimension value equal to the
/// path's runtime ARN, or `AWS/Bedrock` with `ModelId` equal to its model id.
fn link(a: &Alarm, paths: &[PathKeys<'_>]) -> Option<PathId> {
    let ns = a.namespace.as_deref()?;
    let agentcore = NAMESPACES.iter().any(|n| n.eq_ignore_ascii_case(ns));
    paths
        .iter()
        .find(|p| {
            if agentcore {
                p.runtime_arn
                    .is_some_and(|arn| a.dimensions.iter().any(|(_, v)| v == arn))
            } else if ns == "AWS/Bedrock" {
                p.model_id
                    .is_some_and(|m| a.dimensions.iter().any(|(k, v)| k == "ModelId" && v == m))
            } else {
                false
            }
        })
        .map(|p| p.id.clone())
}

/// A tool target explains an AgentCore slowdown when its TargetExecutionTime p90 passes this.
pub const TOOL_SLOW_MS: f64 = 250.0;
/// Identity failure rate that reads as OAuth propagation failing (with at least this many).
pub const IDENTITY_FAILURE_WARN: f64 = 0.05;
pub const IDENTITY_FAILURE_CRIT: f64 = 0.20;
pub const IDENTITY_MIN_FAILURES: u64 = 5;

/// `200`, `2.5`: as people write numbers.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn verdict(v: &AgentcoreView) -> Option<String> {
    let t = v.tools.first()?;
    let p90 = t.target_execution_ms.p90.filter(|p| *p > TOOL_SLOW_MS)?;
    let share = match (
        t.target_execution_ms.p90,
        t.latency_ms.p90.or(t.duration_ms.p90),
    ) {
        (Some(x), Some(l)) if l > 0.0 => {
            format!(
                ", {}% of its gateway latency",
                num((x / l * 100.0).min(100.0).round())
            )
        }
        _ => String::new(),
    };
    Some(if t.in_vpc {
        format!(
            "AgentCore slowdown comes from in-VPC MCP target {} (PrivateLink): TargetExecutionTime p90 {} ms{share}",
            t.target,
            num(p90.round())
        )
    } else {
        format!(
            "AgentCore slowdown comes from MCP target {}: TargetExecutionTime p90 {} ms{share}",
            t.target,
            num(p90.round())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    fn tool(target: &str, in_vpc: bool, inv: u64, x: f64) -> ToolMinute {
        ToolMinute {
            gateway: "gw".into(),
            target: target.into(),
            in_vpc,
            invocations: inv,
            server_errors: 1,
            client_errors: 0,
            throttles: 0,
            latency_ms: Pct {
                p50: Some(x / 2.0),
                p90: Some(x + 20.0),
                p99: Some(x * 2.0),
            },
            duration_ms: Pct::default(),
            target_execution_ms: Pct {
                p50: Some(x / 2.0),
                p90: Some(x),
                p99: Some(x * 2.0),
            },
        }
    }

    #[test]
    fn window_sums_weights_and_names_the_in_vpc_target() {
        let mut s = AgentcoreStore::default();
        for m in 0..10 {
            let slow = if m >= 7 { 900.0 } else { 40.0 };
            s.apply(
                AgentcoreBatch {
                    start: at(m * 60),
                    end: at(m * 60 + 60),
                    namespace: Some("Bedrock-AgentCore".into()),
                    tools: vec![
                        tool("crm\u{1b}[31m", true, 10, slow),
                        tool("search", false, 30, 50.0),
                    ],
                    identity: Some(IdentityMinute {
                        successes: 90,
                        failures: BTreeMap::from([("ValidationException".to_string(), 10)]),
                    }),
                    memory: vec![],
                },
                300_000,
            );
        }
        let v = s.view(300_000, false);
        assert_eq!(v.tools.len(), 2);
        let t = &v.tools[0];
        assert_eq!(t.target, "crm", "the escape sequence dropped");
        assert!(t.in_vpc);
        assert_eq!(t.invocations, 50, "five minutes of the window");
        assert_eq!(t.errors, 5);
        // 3 minutes at 900, 2 at 40, equal weights.
        assert!(
            (t.target_execution_ms.p90.unwrap() - (3.0 * 900.0 + 2.0 * 40.0) / 5.0).abs() < 1e-9
        );
        let i = v.identity.as_ref().unwrap();
        assert_eq!((i.successes, i.failures), (450, 50));
        assert!((i.failure_rate.unwrap() - 0.1).abs() < 1e-12);
        assert!(v
            .verdict
            .as_deref()
            .unwrap()
            .contains("in-VPC MCP target crm (PrivateLink)"));
        let a = crate::model::alerts::agentcore(&v, 200.0);
        assert!(a.iter().any(|a| a.code == "tool_slow"));
        assert!(a
            .iter()
            .any(|a| a.code == "identity_failures"
                && a.message.starts_with("OAuth propagation failing")));
    }

    #[test]
    fn alarms_link_to_paths_by_dimensions() {
        let mut s = AgentcoreStore::default();
        let alarm = |name: &str, state: &str, ns: &str, dims: &[(&str, &str)]| Alarm {
            name: name.into(),
            state: state.into(),
            reason: "Threshold Crossed\u{7}".into(),
            since: Some(at(100)),
            namespace: Some(ns.into()),
            metric: Some("Latency".into()),
            dimensions: dims
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        s.apply_alarms(AlarmsReport {
            alarms: vec![
                alarm(
                    "a-insufficient",
                    "INSUFFICIENT_DATA",
                    "AWS/Bedrock",
                    &[("ModelId", "m1")],
                ),
                alarm(
                    "b-p95",
                    "ALARM",
                    "bedrock-agentcore",
                    &[("Resource", "arn:rt")],
                ),
                alarm(
                    "c-ok",
                    "OK",
                    "AWS/Bedrock-AgentCore",
                    &[("Resource", "arn:rt")],
                ),
                alarm("d-other", "ALARM", "AWS/EC2", &[("Resource", "arn:rt")]),
            ],
            total: 4,
            truncated: false,
            error: None,
        });
        let id = PathId::new("p1");
        let keys = [PathKeys {
            id: &id,
            runtime_arn: Some("arn:rt"),
            model_id: Some("m1"),
        }];
        let (v, scan) = s.alarms(&keys, false);
        let names: Vec<(&str, Option<&str>)> = v
            .iter()
            .map(|a| (a.name.as_str(), a.path.as_ref().map(|p| p.as_str())))
            .collect();
        assert_eq!(
            names,
            vec![
                ("b-p95", Some("p1")),
                ("d-other", None),
                ("a-insufficient", Some("p1"))
            ]
        );
        assert_eq!(v[0].reason, "Threshold Crossed");
        assert_eq!(scan.unwrap().shown, 3);
    }
}
