//! Requests and latency of a path from its traces: one root observation (no parent observation)
//! is one request, its latency is `end − start`, an ERROR level is an error. The State uses this
//! for EKS paths that no metric source (CloudWatch, the simulator) reports.
//!
//! Roots arrive more than once (the Langfuse source polls overlapping windows, and an observation
//! is re-sent when it changes), so each root id is counted once, the first time it is seen
//! finished. A root whose own tags and model match no path takes its trace's path, learned from
//! any other observation of the trace (over OpenTelemetry the root span seldom carries the
//! model); until then it waits. Memory is bounded by time (`prune`) and by count.
use crate::model::update::{Level, Observation};
use std::collections::HashMap;

/// At most this many ids are remembered in each map; the oldest go first beyond it.
const MAX_ENTRIES: usize = 200_000;

/// One counted request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RootRequest {
    /// Index of the path in config order.
    pub path: usize,
    pub start_ms: i64,
    pub latency_ms: Option<f64>,
    pub error: bool,
}

#[derive(Clone, Debug)]
struct Waiting {
    trace: Box<str>,
    start_ms: i64,
    latency_ms: Option<f64>,
    error: bool,
}

#[derive(Clone, Debug, Default)]
pub struct TraceTraffic {
    /// Trace id → (path, newest start seen).
    trace_paths: HashMap<Box<str>, (usize, i64)>,
    /// Root ids already counted → start.
    counted: HashMap<Box<str>, i64>,
    /// Finished roots whose path is not known yet.
    waiting: HashMap<Box<str>, Waiting>,
}

fn latency(o: &Observation) -> Option<f64> {
    let end = o.end?;
    let ms = (end - o.start).num_milliseconds();
    (ms >= 0).then_some(ms as f64)
}

impl TraceTraffic {
    pub fn new() -> TraceTraffic {
        TraceTraffic::default()
    }

    /// Learn trace paths from a batch and return the requests it completes. `attribute` gives an
    /// observation's own path (index in config order).
    pub fn ingest(
        &mut self,
        items: &[Observation],
        attribute: impl Fn(&Observation) -> Option<usize>,
    ) -> Vec<RootRequest> {
        let mut learned = false;
        for o in items {
            if let Some(p) = attribute(o) {
                let start = o.start.timestamp_millis();
                let e = self
                    .trace_paths
                    .entry(Box::from(o.trace_id.as_str()))
                    .or_insert((p, start));
                // The first path seen for a trace stays (a trace runs on one side).
                e.1 = e.1.max(start);
                learned = true;
            }
        }
        let mut out = Vec::new();
        for o in items {
            if o.parent_observation_id.is_some() || o.end.is_none() {
                continue;
            }
            if self.counted.contains_key(o.id.as_str()) {
                continue;
            }
            let start_ms = o.start.timestamp_millis();
            let error = o.level == Level::Error;
            let path =
                attribute(o).or_else(|| self.trace_paths.get(o.trace_id.as_str()).map(|&(p, _)| p));
            match path {
                Some(path) => {
                    self.waiting.remove(o.id.as_str());
                    self.counted.insert(Box::from(o.id.as_str()), start_ms);
                    out.push(RootRequest {
                        path,
                        start_ms,
                        latency_ms: latency(o),
                        error,
                    });
                }
                None => {
                    self.waiting.insert(
                        Box::from(o.id.as_str()),
                        Waiting {
                            trace: Box::from(o.trace_id.as_str()),
                            start_ms,
                            latency_ms: latency(o),
                            error,
                        },
                    );
                }
            }
        }
        if learned && !self.waiting.is_empty() {
            let ready: Vec<(Box<str>, usize)> = self
                .waiting
                .iter()
                .filter_map(|(id, w)| {
                    self.trace_paths
                        .get(&w.trace)
                        .map(|&(p, _)| (id.clone(), p))
                })
                .collect();
            for (id, path) in ready {
                if let Some(w) = self.waiting.remove(&id) {
                    out.push(RootRequest {
                        path,
                        start_ms: w.start_ms,
                        latency_ms: w.latency_ms,
                        error: w.error,
                    });
                    self.counted.insert(id, w.start_ms);
                }
            }
        }
        self.bound();
        out
    }

    /// Forget what started before `before_ms` (older than any window will accept again).
    pub fn prune(&mut self, before_ms: i64) {
        self.trace_paths.retain(|_, (_, t)| *t >= before_ms);
        self.counted.retain(|_, t| *t >= before_ms);
        self.waiting.retain(|_, w| w.start_ms >= before_ms);
    }

    /// (trace paths, counted roots, waiting roots) — for tests and diagnostics.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.trace_paths.len(),
            self.counted.len(),
            self.waiting.len(),
        )
    }

    fn bound(&mut self) {
        fn cut<V>(m: &mut HashMap<Box<str>, V>, t: impl Fn(&V) -> i64) {
            if m.len() <= MAX_ENTRIES {
                return;
            }
            let mut starts: Vec<i64> = m.values().map(&t).collect();
            let k = m.len() - MAX_ENTRIES * 3 / 4;
            let (_, &mut threshold, _) = starts.select_nth_unstable(k);
            m.retain(|_, v| t(v) > threshold);
        }
        cut(&mut self.trace_paths, |v| v.1);
        cut(&mut self.counted, |v| *v);
        cut(&mut self.waiting, |v| v.start_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::correlation::tests::{obs, t};

    fn root(id: &str, trace: &str, start: i64, dur: i64) -> Observation {
        let mut o = obs(id, trace, start);
        o.end = Some(t(start + dur));
        o
    }

    fn child(id: &str, trace: &str, start: i64, model: &str) -> Observation {
        let mut o = obs(id, trace, start);
        o.parent_observation_id = Some("r".into());
        o.model = Some(model.into());
        o
    }

    fn by_model(o: &Observation) -> Option<usize> {
        o.model
            .as_deref()
            .and_then(|m| (m == "qwen3-4b").then_some(0))
    }

    #[test]
    fn counts_each_root_once_and_learns_the_trace_path() {
        let mut tt = TraceTraffic::new();
        // The root arrives first without a path: it waits for its trace's generation.
        let out = tt.ingest(&[root("r1", "t1", 0, 40)], by_model);
        assert!(out.is_empty());
        assert_eq!(tt.sizes().2, 1);
        let out = tt.ingest(&[child("g1", "t1", 5, "qwen3-4b")], by_model);
        assert_eq!(
            out,
            vec![RootRequest {
                path: 0,
                start_ms: t(0).timestamp_millis(),
                latency_ms: Some(40.0),
                error: false
            }]
        );
        // Overlapping polls deliver it again: not counted twice.
        let again = tt.ingest(
            &[root("r1", "t1", 0, 40), child("g1", "t1", 5, "qwen3-4b")],
            by_model,
        );
        assert!(again.is_empty());
        // Same batch, child after root: counted at once. Unfinished roots wait for their end.
        let mut open = root("r2", "t2", 100, 0);
        open.end = None;
        let out = tt.ingest(&[open, child("g2", "t2", 101, "qwen3-4b")], by_model);
        assert!(out.is_empty());
        let mut err = root("r2", "t2", 100, 25);
        err.level = Level::Error;
        let out = tt.ingest(&[err], by_model);
        assert_eq!(out.len(), 1);
        assert!(out[0].error);
        // A trace that never reveals a path is never counted.
        assert!(tt.ingest(&[root("r3", "t3", 0, 1)], by_model).is_empty());
    }

    #[test]
    fn prune_forgets_old_entries() {
        let mut tt = TraceTraffic::new();
        tt.ingest(
            &[root("r1", "t1", 0, 1), child("g1", "t1", 0, "qwen3-4b")],
            by_model,
        );
        tt.ingest(&[root("r9", "t9", 0, 1)], by_model);
        assert_eq!(tt.sizes(), (1, 1, 1));
        tt.prune(t(1).timestamp_millis());
        assert_eq!(tt.sizes(), (0, 0, 0));
    }
}
