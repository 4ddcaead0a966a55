//! Which queries to ask for which path, with which metric names; and how their answers become an
//! `EngineReport`. Pure.
//!
//! Metric names are discovered, not assumed: vLLM renamed `vllm:gpu_cache_usage_perc` to
//! `vllm:kv_cache_usage_perc`, so each figure lists its candidates newest first and the first
//! name Prometheus knows for the path's series wins.
use super::decode::Sample;
use crate::domain::path::PathId;
use crate::model::engine::{EngineFigures, EngineReport, MetricNames, PodEngine};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// One figure of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Figure {
    Waiting,
    Running,
    KvCache,
    TokensPerS,
    TtftP95,
    E2eP95,
}

impl Figure {
    pub const ALL: [Figure; 6] = [
        Figure::Waiting,
        Figure::Running,
        Figure::KvCache,
        Figure::TokensPerS,
        Figure::TtftP95,
        Figure::E2eP95,
    ];

    /// Candidate names, newest first.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Figure::Waiting => &["vllm:num_requests_waiting"],
            Figure::Running => &["vllm:num_requests_running"],
            Figure::KvCache => &["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
            Figure::TokensPerS => &["vllm:generation_tokens_total", "vllm:generation_tokens"],
            Figure::TtftP95 => &["vllm:time_to_first_token_seconds"],
            Figure::E2eP95 => &["vllm:e2e_request_latency_seconds"],
        }
    }

    fn histogram(self) -> bool {
        matches!(self, Figure::TtftP95 | Figure::E2eP95)
    }
}

/// The names chosen for one path (`None`: Prometheus knows none of the candidates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub by_figure: BTreeMap<Figure, String>,
}

impl Names {
    pub fn get(&self, f: Figure) -> Option<&str> {
        self.by_figure.get(&f).map(String::as_str)
    }

    /// `kv_cache=vllm:kv_cache_usage_perc, …` for `check`.
    pub fn describe(&self) -> String {
        let kv = self.get(Figure::KvCache).unwrap_or("none");
        let found = self.by_figure.len();
        format!(
            "kv_cache={kv} ({found} of {} figures' metrics found)",
            Figure::ALL.len()
        )
    }
}

/// Pick each figure's name from what Prometheus has (`/api/v1/label/__name__/values`). A
/// histogram counts when its `_bucket` series exists.
pub fn choose(available: &[String]) -> Names {
    let has = |n: &str| available.iter().any(|a| a == n);
    let mut by_figure = BTreeMap::new();
    for f in Figure::ALL {
        let pick = f.candidates().iter().find(|c| {
            if f.histogram() {
                has(&format!("{c}_bucket"))
            } else {
                has(c)
            }
        });
        if let Some(c) = pick {
            by_figure.insert(f, (*c).to_string());
        }
    }
    Names { by_figure }
}

/// `60s` as PromQL writes a range.
pub fn range(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// One instant query of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub figure: Figure,
    pub metric: String,
    pub promql: String,
}

/// The queries for one path: one per figure whose metric was found.
pub fn queries(selector: &str, names: &Names, window: Duration) -> Vec<Query> {
    let sel = selector.trim();
    let w = range(window);
    Figure::ALL
        .iter()
        .filter_map(|&f| {
            let m = names.get(f)?;
            let promql = match f {
                Figure::Waiting | Figure::Running => format!("sum by (namespace, pod) ({m}{sel})"),
                Figure::KvCache => format!("max by (namespace, pod) ({m}{sel})"),
                Figure::TokensPerS => format!("sum(rate({m}{sel}[{w}]))"),
                Figure::TtftP95 | Figure::E2eP95 => {
                    format!("histogram_quantile(0.95, sum by (le) (rate({m}_bucket{sel}[{w}])))")
                }
            };
            Some(Query {
                figure: f,
                metric: m.to_string(),
                promql,
            })
        })
        .collect()
}

/// The note for a figure without data.
pub fn no_data(metric: &str, selector: &str) -> String {
    format!("no data for {metric} with {}", selector.trim())
}

/// Answers of one path's queries → its report. A figure whose query returned no series is null
/// and noted; a figure whose metric Prometheus does not know is null and noted too.
pub fn report(
    path: &PathId,
    selector: &str,
    at: DateTime<Utc>,
    names: &Names,
    answers: &[(Query, Vec<Sample>)],
) -> EngineReport {
    let mut figures = EngineFigures::default();
    let mut notes = Vec::new();
    let mut pods: BTreeMap<(Option<String>, String), PodEngine> = BTreeMap::new();
    for f in Figure::ALL {
        if names.get(f).is_none() {
            notes.push(no_data(&f.candidates().join(" or "), selector));
        }
    }
    for (q, samples) in answers {
        if samples.is_empty() {
            notes.push(no_data(&q.metric, selector));
            continue;
        }
        let values = samples.iter().filter_map(|s| s.value);
        let (sum, max) = values.fold((None::<f64>, None::<f64>), |(s, m), v| {
            (
                Some(s.unwrap_or(0.0) + v),
                Some(m.map_or(v, |m: f64| m.max(v))),
            )
        });
        match q.figure {
            Figure::Waiting => figures.requests_waiting = sum,
            Figure::Running => figures.requests_running = sum,
            Figure::KvCache => figures.kv_cache_usage = max,
            Figure::TokensPerS => figures.generation_tokens_per_s = sum,
            Figure::TtftP95 => figures.ttft_p95_ms = max.map(|s| s * 1000.0),
            Figure::E2eP95 => figures.e2e_p95_ms = max.map(|s| s * 1000.0),
        }
        if matches!(
            q.figure,
            Figure::Waiting | Figure::Running | Figure::KvCache
        ) {
            for s in samples {
                let Some(pod) = s.labels.get("pod") else {
                    continue;
                };
                let ns = s.labels.get("namespace").cloned();
                let e = pods
                    .entry((ns.clone(), pod.clone()))
                    .or_insert_with(|| PodEngine {
                        pod: pod.clone(),
                        namespace: ns,
                        ..Default::default()
                    });
                match q.figure {
                    Figure::Waiting => e.requests_waiting = s.value,
                    Figure::Running => e.requests_running = s.value,
                    _ => e.kv_cache_usage = s.value,
                }
            }
        }
    }
    EngineReport {
        path: path.clone(),
        at,
        figures,
        metric_names: MetricNames {
            kv_cache: names.get(Figure::KvCache).map(str::to_string),
        },
        pods: pods.into_values().collect(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SEL: &str = r#"{namespace="agents",app="vllm-qwen3"}"#;

    fn all_new() -> Vec<String> {
        [
            "up",
            "vllm:num_requests_waiting",
            "vllm:num_requests_running",
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "vllm:generation_tokens_total",
            "vllm:time_to_first_token_seconds_bucket",
            "vllm:time_to_first_token_seconds_sum",
            "vllm:e2e_request_latency_seconds_bucket",
        ]
        .map(String::from)
        .to_vec()
    }

    fn sample(pod: &str, v: Option<f64>) -> Sample {
        Sample {
            labels: [
                ("pod".to_string(), pod.to_string()),
                ("namespace".into(), "agents".into()),
            ]
            .into_iter()
            .collect(),
            value: v,
        }
    }

    #[test]
    fn newest_name_wins_old_name_is_the_fallback() {
        let n = choose(&all_new());
        assert_eq!(n.get(Figure::KvCache), Some("vllm:kv_cache_usage_perc"));
        assert_eq!(n.by_figure.len(), 6);
        let old: Vec<String> = all_new()
            .into_iter()
            .filter(|s| s != "vllm:kv_cache_usage_perc")
            .collect();
        assert_eq!(
            choose(&old).get(Figure::KvCache),
            Some("vllm:gpu_cache_usage_perc")
        );
        // A histogram needs its buckets.
        let no_buckets = vec!["vllm:time_to_first_token_seconds_sum".to_string()];
        assert_eq!(choose(&no_buckets).get(Figure::TtftP95), None);
    }

    #[test]
    fn queries_carry_the_selector_and_window() {
        let q = queries(SEL, &choose(&all_new()), Duration::from_secs(60));
        assert_eq!(q.len(), 6);
        assert_eq!(
            q[0].promql,
            format!("sum by (namespace, pod) (vllm:num_requests_waiting{SEL})")
        );
        assert_eq!(
            q[4].promql,
            format!("histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{SEL}[60s])))")
        );
        assert_eq!(
            q[3].promql,
            format!("sum(rate(vllm:generation_tokens_total{SEL}[60s]))")
        );
        assert!(queries(SEL, &Names::default(), Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn report_sums_maxes_and_notes_missing_data() {
        let names = choose(&all_new());
        let q = queries(SEL, &names, Duration::from_secs(60));
        let at = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap();
        let answers = vec![
            (
                q[0].clone(),
                vec![sample("a", Some(2.0)), sample("b", Some(3.0))],
            ),
            (
                q[1].clone(),
                vec![sample("a", Some(1.0)), sample("b", None)],
            ),
            (
                q[2].clone(),
                vec![sample("a", Some(0.4)), sample("b", Some(0.93))],
            ),
            (q[3].clone(), vec![]),
            (
                q[4].clone(),
                vec![Sample {
                    labels: BTreeMap::new(),
                    value: Some(0.25),
                }],
            ),
            (
                q[5].clone(),
                vec![Sample {
                    labels: BTreeMap::new(),
                    value: None,
                }],
            ),
        ];
        let r = report(&PathId::new("eks"), SEL, at, &names, &answers);
        assert_eq!(r.figures.requests_waiting, Some(5.0));
        assert_eq!(r.figures.requests_running, Some(1.0));
        assert_eq!(r.figures.kv_cache_usage, Some(0.93));
        assert_eq!(
            r.figures.generation_tokens_per_s, None,
            "no series is null, not 0"
        );
        assert_eq!(r.figures.ttft_p95_ms, Some(250.0));
        assert_eq!(r.figures.e2e_p95_ms, None, "NaN is null");
        assert_eq!(
            r.notes,
            vec![format!(
                "no data for vllm:generation_tokens_total with {SEL}"
            )]
        );
        assert_eq!(r.pods.len(), 2);
        assert_eq!(r.pods[1].kv_cache_usage, Some(0.93));
        assert_eq!(r.pods[1].requests_running, None);
        assert_eq!(
            r.metric_names.kv_cache.as_deref(),
            Some("vllm:kv_cache_usage_perc")
        );
        // Nothing found at all: every figure null and noted.
        let r = report(&PathId::new("eks"), SEL, at, &Names::default(), &[]);
        assert_eq!(r.figures, EngineFigures::default());
        assert_eq!(r.notes.len(), 6);
        assert!(r.notes[2].contains("vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc"));
    }
}
