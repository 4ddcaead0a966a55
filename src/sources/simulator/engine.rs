//! The simulated Prometheus source: vLLM engine figures of each EKS path, as `Update::Engine`
//! every `ENGINE_EVERY_S`, made from the fleet's queue model.
//!
//! The engine sees load the moment it arrives: KV-cache use and the waiting queue follow a fast
//! average of the arrivals (a few seconds), while request latency follows the queue's slower
//! one. So in `traffic-spike` and `eks-node-loss` the queue and the KV cache climb before p95
//! does — the leading signal an on-call engineer watches for.
use super::*;
use crate::model::engine::{EngineFigures, EngineReport, MetricNames, PodEngine};

/// The live source's default interval.
pub(super) const ENGINE_EVERY_S: u64 = 15;
/// Time constant (s) of the arrival rate the engine sees.
const FAST_TAU_S: f64 = 6.0;
/// Running sequences per pod at full utilisation (continuous batching).
const BATCH: f64 = 16.0;
/// KV-cache use of an idle pod; full at this utilisation.
const KV_IDLE: f64 = 0.10;
const KV_FULL_RHO: f64 = 0.95;
/// Waiting requests per pod as utilisation nears saturation: QUEUE_SCALE × ρ⁴ / (1 − ρ).
const QUEUE_SCALE: f64 = 0.6;
const TTFT_BASE_MS: f64 = 35.0;

#[derive(Default)]
pub(super) struct EngineSim {
    /// Per fleet: fast EWMA of arrivals per second, and the EKS latency samples since the last
    /// report.
    fast_rps: Vec<f64>,
    samples: Vec<Vec<f64>>,
    tokens: Vec<u64>,
}

fn kv_of(rho: f64) -> f64 {
    (KV_IDLE + (1.0 - KV_IDLE) * (rho / KV_FULL_RHO).powi(3)).clamp(0.0, 0.99)
}

fn p95(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * 0.95).floor() as usize;
    v.get(i).copied()
}

impl Simulator {
    /// Note one second of an EKS path's traffic (before its `Traffic` update is sent).
    pub(super) fn engine_note(&mut self, fleet: usize, requests: u64, tokens: u64, ms: &[f64]) {
        let e = &mut self.engine;
        if e.fast_rps.len() <= fleet {
            e.fast_rps.resize(fleet + 1, f64::NAN);
            e.samples.resize(fleet + 1, Vec::new());
            e.tokens.resize(fleet + 1, 0);
        }
        let a = requests as f64;
        let alpha = 1.0 - (-1.0 / FAST_TAU_S).exp();
        let r = &mut e.fast_rps[fleet];
        *r = if r.is_nan() { a } else { *r + (a - *r) * alpha };
        e.samples[fleet].extend_from_slice(ms);
        e.tokens[fleet] += tokens;
    }

    /// Every `ENGINE_EVERY_S`: one report per EKS path.
    pub(super) fn engine_updates(&mut self, e: u64, now: DateTime<Utc>, out: &mut Vec<Update>) {
        if e != 1 && !e.is_multiple_of(ENGINE_EVERY_S) {
            return;
        }
        for (i, f) in self.fleets.iter().enumerate() {
            let (namespace, pods, q, backlog, demand) = f.engine_inputs();
            let ready = pods.iter().filter(|p| p.1).count();
            let fast = self
                .engine
                .fast_rps
                .get(i)
                .copied()
                .filter(|v| v.is_finite());
            let samples = self
                .engine
                .samples
                .get_mut(i)
                .map(std::mem::take)
                .unwrap_or_default();
            let tokens = self
                .engine
                .tokens
                .get_mut(i)
                .map(std::mem::take)
                .unwrap_or(0);
            let secs = if e == 1 { 1.0 } else { ENGINE_EVERY_S as f64 };
            let mut report = EngineReport {
                path: f.path.clone(),
                at: now,
                figures: EngineFigures::default(),
                metric_names: MetricNames {
                    kv_cache: Some("vllm:kv_cache_usage_perc".into()),
                },
                pods: Vec::new(),
                notes: Vec::new(),
            };
            if ready == 0 || q.capacity_per_s <= 0.0 {
                report.notes.push(format!(
                    "no data for vllm:num_requests_waiting with {{namespace=\"{namespace}\"}}"
                ));
                out.push(Update::Engine(report));
                continue;
            }
            let n = ready as f64;
            // The engine sees the arrivals of the last few seconds (blended with the queue's
            // slower average, so a burst of a few requests does not read as an incident).
            let rps = 0.5 * fast.unwrap_or(demand) + 0.5 * demand;
            let rho = rps / q.capacity_per_s;
            let rc = rho.clamp(0.0, 0.97);
            let queue_per_pod = QUEUE_SCALE * rc.powi(4) / (1.0 - rc) + backlog / n;
            let running_per_pod = BATCH * rho.min(1.0);
            let kv = kv_of(rho);
            let mut max_kv: f64 = 0.0;
            let (mut waiting, mut running) = (0.0, 0.0);
            for (k, (name, is_ready)) in pods.iter().enumerate() {
                // A little spread between pods: the router is not perfectly even.
                let skew = [0.0, 0.03, -0.03][k % 3];
                let (w, r, c) = if *is_ready {
                    (
                        (queue_per_pod * (1.0 + skew * 4.0)).round().max(0.0),
                        (running_per_pod * (1.0 + skew)).round().max(0.0),
                        fleet::round2((kv + skew).clamp(0.0, 0.99)),
                    )
                } else {
                    // Loading the model: the server answers, nothing is scheduled yet.
                    (0.0, 0.0, 0.0)
                };
                waiting += w;
                running += r;
                max_kv = max_kv.max(c);
                report.pods.push(PodEngine {
                    pod: name.clone(),
                    namespace: Some(namespace.clone()),
                    requests_waiting: Some(w),
                    requests_running: Some(r),
                    kv_cache_usage: Some(c),
                });
            }
            let e2e = p95(samples);
            report.figures = EngineFigures {
                requests_waiting: Some(waiting),
                requests_running: Some(running),
                kv_cache_usage: Some(max_kv),
                ttft_p95_ms: Some(fleet::round2(TTFT_BASE_MS * q.factor + q.wait_ms)),
                e2e_p95_ms: e2e.map(fleet::round2),
                generation_tokens_per_s: Some(fleet::round2(tokens as f64 / secs)),
            };
            out.push(Update::Engine(report));
        }
    }
}
