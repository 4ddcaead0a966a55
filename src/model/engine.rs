//! vLLM engine figures of the EKS paths (queue, KV cache, TTFT and end-to-end p95, tokens/s),
//! as the Prometheus source (or the simulator) reports them in `Update::Engine`. The state keeps
//! the newest report per path; the derive shows it while it is fresh, and null once it is not.
//! Unknown is null, never 0.
use crate::domain::path::PathId;
use crate::model::redact::text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One EKS path's engine figures at one instant (`Update::Engine`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineReport {
    pub path: PathId,
    /// When Prometheus evaluated the queries (model time).
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: EngineFigures,
    #[serde(default)]
    pub metric_names: MetricNames,
    /// One figure each per pod (the `pod` label).
    #[serde(default)]
    pub pods: Vec<PodEngine>,
    /// What is missing and why, e.g. `no data for vllm:num_requests_waiting with {…}`.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The path's figures: sums over its pods, the fullest pod's KV cache, p95s from the summed
/// histogram buckets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineFigures {
    pub requests_waiting: Option<f64>,
    pub requests_running: Option<f64>,
    /// 0–1, the highest pod.
    pub kv_cache_usage: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub e2e_p95_ms: Option<f64>,
    pub generation_tokens_per_s: Option<f64>,
}

/// The metric names chosen for a path (vLLM renamed some between releases).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricNames {
    /// `vllm:kv_cache_usage_perc`, or the older `vllm:gpu_cache_usage_perc`.
    pub kv_cache: Option<String>,
}

/// One pod's engine figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodEngine {
    /// The `pod` label.
    pub pod: String,
    /// The `namespace` label, when the series has one.
    #[serde(default)]
    pub namespace: Option<String>,
    pub requests_waiting: Option<f64>,
    pub requests_running: Option<f64>,
    pub kv_cache_usage: Option<f64>,
}

/// `paths[].engine` in the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineView {
    #[serde(flatten)]
    pub figures: EngineFigures,
    pub metric_names: MetricNames,
    /// When the figures were evaluated (null before any).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Screen only: the KV cache against `[alerts] kv_cache_warn`/`_crit` (`kv_level`).
    #[serde(skip)]
    pub kv_level: u8,
}

/// `fleet.pods[].engine` in the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodEngineView {
    pub requests_waiting: Option<f64>,
    pub requests_running: Option<f64>,
    pub kv_cache_usage: Option<f64>,
    /// Screen only: as `EngineView::kv_level`.
    #[serde(skip)]
    pub kv_level: u8,
}

/// 0 below `warn` (or unknown), 1 from `warn`, 2 from `crit`.
pub fn kv_level(v: Option<f64>, warn: f64, crit: f64) -> u8 {
    match v.filter(|v| v.is_finite()) {
        Some(v) if v >= crit => 2,
        Some(v) if v >= warn => 1,
        _ => 0,
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

impl EngineFigures {
    fn cleaned(&self) -> EngineFigures {
        EngineFigures {
            requests_waiting: finite(self.requests_waiting),
            requests_running: finite(self.requests_running),
            kv_cache_usage: finite(self.kv_cache_usage),
            ttft_p95_ms: finite(self.ttft_p95_ms),
            e2e_p95_ms: finite(self.e2e_p95_ms),
            generation_tokens_per_s: finite(self.generation_tokens_per_s),
        }
    }
}

/// The newest report per path.
#[derive(Clone, Debug, Default)]
pub struct Engines {
    by_path: BTreeMap<PathId, EngineReport>,
}

impl Engines {
    pub fn apply(&mut self, r: EngineReport) {
        if self.by_path.get(&r.path).is_none_or(|old| r.at >= old.at) {
            self.by_path.insert(r.path.clone(), r);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    fn fresh(&self, path: &PathId, now: DateTime<Utc>, max_age_ms: i64) -> Option<&EngineReport> {
        self.by_path
            .get(path)
            .filter(|r| (now - r.at).num_milliseconds() <= max_age_ms)
    }

    /// A path's view: figures while the report is younger than `max_age_ms`, else nulls (the
    /// names and notes stay, so the screen can still say what is measured).
    pub fn view(
        &self,
        path: &PathId,
        now: DateTime<Utc>,
        max_age_ms: i64,
        redact: bool,
    ) -> EngineView {
        let Some(r) = self.by_path.get(path) else {
            return EngineView::default();
        };
        let fresh = self.fresh(path, now, max_age_ms).is_some();
        EngineView {
            figures: if fresh {
                r.figures.cleaned()
            } else {
                EngineFigures::default()
            },
            metric_names: MetricNames {
                kv_cache: r.metric_names.kv_cache.as_deref().map(|s| text(s, false)),
            },
            at: Some(r.at),
            notes: r.notes.iter().map(|n| text(n, redact)).collect(),
            kv_level: 0,
        }
    }

    /// One pod's figures from its path's fresh report (matched by the `pod` label, and the
    /// namespace when the series carries one).
    pub fn pod(
        &self,
        path: Option<&PathId>,
        namespace: &str,
        name: &str,
        now: DateTime<Utc>,
        max_age_ms: i64,
    ) -> Option<PodEngineView> {
        let matches = |p: &&PodEngine| {
            p.pod == name && p.namespace.as_deref().is_none_or(|ns| ns == namespace)
        };
        let found = match path {
            Some(id) => self
                .fresh(id, now, max_age_ms)
                .and_then(|r| r.pods.iter().find(matches)),
            None => self
                .by_path
                .keys()
                .filter_map(|id| self.fresh(id, now, max_age_ms))
                .find_map(|r| r.pods.iter().find(matches)),
        }?;
        Some(PodEngineView {
            requests_waiting: finite(found.requests_waiting),
            requests_running: finite(found.requests_running),
            kv_cache_usage: finite(found.kv_cache_usage),
            kv_level: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
    }

    fn report(s: i64, waiting: Option<f64>) -> EngineReport {
        EngineReport {
            path: PathId::new("eks"),
            at: at(s),
            figures: EngineFigures {
                requests_waiting: waiting,
                kv_cache_usage: Some(f64::NAN),
                ..Default::default()
            },
            metric_names: MetricNames {
                kv_cache: Some("vllm:kv_cache_usage_perc".into()),
            },
            pods: vec![PodEngine {
                pod: "p1".into(),
                namespace: Some("agents".into()),
                requests_waiting: Some(2.0),
                ..Default::default()
            }],
            notes: vec![],
        }
    }

    #[test]
    fn newest_fresh_report_wins_and_expires_to_null() {
        let mut e = Engines::default();
        let id = PathId::new("eks");
        e.apply(report(10, Some(3.0)));
        e.apply(report(5, Some(9.0)));
        let v = e.view(&id, at(20), 60_000, false);
        assert_eq!(v.figures.requests_waiting, Some(3.0));
        assert_eq!(v.figures.kv_cache_usage, None, "NaN is unknown");
        assert_eq!(
            v.metric_names.kv_cache.as_deref(),
            Some("vllm:kv_cache_usage_perc")
        );
        let old = e.view(&id, at(200), 60_000, false);
        assert_eq!(old.figures, EngineFigures::default());
        assert_eq!(
            e.pod(Some(&id), "agents", "p1", at(20), 60_000)
                .and_then(|p| p.requests_waiting),
            Some(2.0)
        );
        assert!(e.pod(Some(&id), "other", "p1", at(20), 60_000).is_none());
        assert!(e.pod(None, "agents", "p1", at(200), 60_000).is_none());
        assert_eq!(
            e.view(&PathId::new("x"), at(0), 1, false),
            EngineView::default()
        );
    }

    #[test]
    fn report_round_trips_as_a_recording_line_would() {
        let mut r = report(1, Some(4.0));
        r.figures.kv_cache_usage = Some(0.875);
        r.notes
            .push("no data for vllm:generation_tokens_total with {app=\"x\"}".into());
        let u = crate::model::update::Update::Engine(r.clone());
        let j = serde_json::to_string(&u).unwrap();
        assert!(j.starts_with(r#"{"kind":"engine","path":"eks""#), "{j}");
        let back: crate::model::update::Update = serde_json::from_str(&j).unwrap();
        assert_eq!(back, u);
        // Unknown figures are written as null and read back as unknown.
        r.figures.kv_cache_usage = Some(f64::NAN);
        let j = serde_json::to_string(&crate::model::update::Update::Engine(r)).unwrap();
        assert!(j.contains(r#""kv_cache_usage":null"#), "{j}");
    }
}
