//! The demo's simulated hybrid fleet: a model, not a random-number painter.
//!
//! One [`Simulator::step`] is one simulated second. It emits exactly the `Update`s the live
//! sources will (CloudWatch-like traffic and usage, Kubernetes-like fleet, Langfuse-like
//! observations, Cost Explorer-like billing, per-source health, router weights).
//!
//! The model, in short:
//! - **Arrivals**: Poisson per second, mean 240 requests/min shaped by a daily sinusoid (±30 %,
//!   peak 14:00 UTC of the simulated clock), times the scenario's multiplier. Each arrival is the
//!   next turn of a session that is ready for it, or starts a new session (1–4 turns, 2–8 s apart).
//! - **Routing**: every turn is routed independently by the current weights (so sessions hand off
//!   between sides); `set_weights` applies from the next arrival on.
//! - **Latency**: lognormal per model (Haiku p50 55 / p95 90 ms, Sonnet 110 / 180 ms, Qwen3 service
//!   22 / 45 ms). EKS requests queue in front of the *ready* pods: utilisation
//!   ρ = rate / (ready × `pod_capacity_rpm`) multiplies the service time by 1 + ρ¹⁰/(1 − ρ)
//!   (ρ capped at 0.95 — flat at KEDA's 75 % target, ~1/(1 − ρ) near saturation); above ρ = 1 a
//!   fluid backlog grows and adds its wait; once it holds 3 s of work the excess is shed as 5 s
//!   timeouts (errors). The client retries a timed-out request once, which adds load (the
//!   retries are traffic too) — and is why KEDA asks for more pods when ready pods are lost.
//! - **KEDA** (`fleet.rs`): polls every 30 s; metric = requests/min over the last minute plus
//!   requests waiting; desired = ceil(metric / (0.75 × capacity)), ±10 % tolerance, clamped to
//!   1..=8, scale-down stabilised over 300 s; pods go Pending (20–40 s on a free node, plus
//!   100–140 s when a new GPU node must be provisioned) → Running "loading model"
//!   (`model_load_time`) → Ready. Empty nodes are consolidated after 5 min.
//! - **Escalation**: 4 % of successful EKS answers have low confidence and escalate to the Sonnet
//!   path a few hundred ms later; the escalated call counts as that path's traffic too.
//! - **Throttling** (`agentcore-throttling`): throttled requests count in `throttles` and get the
//!   SDK's retry backoff (+200–1200 ms); 20 % of them exhaust their retries and also count in
//!   `errors`. Everything else on the path slows by up to 1.5×.
//!
//! Determinism: all randomness comes from seeded ChaCha8 streams (one per concern, so a scenario
//! changes nothing before its onset), no hash-map iteration reaches the output.
mod billing;
mod emit;
mod engine;
mod fleet;
mod mcp;
mod scenario;
mod serve;
mod source;
#[cfg(test)]
mod tests;
mod traces;

pub use scenario::{Scenario, Timeline, ONSET};
pub use source::SimulatorSource;

use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use crate::model::update::{
    FleetUpdate, Latency, Level, Observation, Pod, ScaledObject, SourceHealth, SourceName,
    SourceState, TrafficBatch, Update, UsageBatch, WeightsReport,
};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use fleet::{Fleet, QueueState, TIMEOUT_MS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use traces::{Family, SpanSpec, TraceCtx};

/// Mean arrivals per minute over a day.
const BASE_RPM: f64 = 240.0;
const DAILY_AMPLITUDE: f64 = 0.30;
const DAILY_PEAK_HOUR: f64 = 14.0;
const BASE_ERROR_RATE: f64 = 0.002;
const ESCALATION_RATE: f64 = 0.04;
const THROTTLE_FAIL_SHARE: f64 = 0.2;
/// Throttling on AgentCore paths other than the most-throttled one, relative to it.
const SECONDARY_THROTTLE: f64 = 0.4;
/// AgentCore runtime per request: 1 vCPU and 2 GB for ~1.5 s.
const AC_RUNTIME_S: f64 = 1.5;
const AC_VCPU: f64 = 1.0;
const AC_GB: f64 = 2.0;
const TOKEN_SIGMA: f64 = 0.35;
/// Sessions waiting longer than this for their next turn are closed.
const SESSION_IDLE_MS: i64 = 60_000;
const MAX_POOL: usize = 20_000;
/// Observations held back during a Langfuse outage (oldest dropped beyond this).
const MAX_WITHHELD: usize = 200_000;
/// Backfill is delivered in pages of this many observations.
const BACKFILL_PAGE: usize = 1000;
const FLEET_REFRESH_S: u64 = 10;
const CLOUDWATCH_EVERY_S: u64 = 60;
const LANGFUSE_EVERY_S: u64 = 10;
const USAGE_EVERY_S: u64 = 60;
const HOSTILE_SHARE: f64 = 0.05;
const LANGFUSE_STALE_MSG: &str = "GET /api/public/v2/observations: timed out after 30s (retrying)";
const LANGFUSE_ERROR_MSG: &str = "GET /api/public/v2/observations: 503 Service Unavailable";

/// Everything that determines a run (together with the `set_weights` calls).
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub scenario: Scenario,
    /// The simulated clock at elapsed 0.
    pub start: DateTime<Utc>,
    /// Paths, prices and EKS settings come from here.
    pub config: Config,
}

#[derive(Default)]
struct Acc {
    requests: u64,
    errors: u64,
    throttles: u64,
    input_tokens: u64,
    output_tokens: u64,
    samples: Vec<f64>,
}

struct PathSim {
    id: PathId,
    side: Side,
    model: String,
    tag: String,
    mu: f64,
    sigma: f64,
    tok_in: f64,
    tok_out: f64,
    price_in: f64,
    price_out: f64,
    vcpu_price: f64,
    gb_price: f64,
    /// Relative throttling exposure (AgentCore).
    throttle_weight: f64,
    /// Index into `fleets` (EKS).
    fleet: Option<usize>,
    node_usd_per_hour: f64,
    pods_per_node: u32,
    acc: Acc,
    usage_vcpu_s: f64,
    usage_gb_s: f64,
}

impl PathSim {
    fn ac_cost_per_request(&self) -> f64 {
        self.tok_in / 1000.0 * self.price_in
            + self.tok_out / 1000.0 * self.price_out
            + AC_RUNTIME_S * (AC_VCPU * self.vcpu_price + AC_GB * self.gb_price) / 3600.0
    }
}

struct Session {
    id: String,
    seq: u64,
    turns_left: u8,
    ready_at: i64,
    had_ac: bool,
    had_eks: bool,
    /// Dual-write broken for this session (decided at its first AgentCore call).
    broken: Option<bool>,
}

/// A call that follows another one of the same turn.
enum FollowUp {
    /// Low-confidence EKS answer → the escalation target, with the EKS context.
    Escalation { context_tokens: u64 },
    /// The client retries a timed-out EKS request once, on the same path.
    Retry { path: usize },
}

struct PendingCall {
    start: i64,
    seq: u64,
    session: Session,
    what: FollowUp,
}

struct Rngs {
    arrivals: ChaCha8Rng,
    service: ChaCha8Rng,
    traces: ChaCha8Rng,
    fleet: ChaCha8Rng,
    scenario: ChaCha8Rng,
}

#[derive(Default)]
struct HealthTracker {
    emitted: Vec<SourceHealth>,
    cloudwatch_last: Option<DateTime<Utc>>,
    cost_explorer_last: Option<DateTime<Utc>>,
    langfuse_last: Option<DateTime<Utc>>,
    langfuse_ok: bool,
    prometheus_last: Option<DateTime<Utc>>,
}

/// The simulated hybrid fleet. See the module docs for the model.
pub struct Simulator {
    seed: u64,
    scenario: Scenario,
    start: DateTime<Utc>,
    start_unix_ms: i64,
    elapsed: u64,
    weights: Weights,
    weights_version: u64,
    weights_dirty: bool,
    /// Cumulative routing weights over `paths`.
    route_cum: Vec<f64>,
    paths: Vec<PathSim>,
    fleets: Vec<Fleet>,
    escalation_target: Option<usize>,
    rng: Rngs,
    pool: Vec<Session>,
    follow_ups: Vec<PendingCall>,
    session_counter: u64,
    session_mul: u64,
    session_add: u64,
    seq: u64,
    /// Observations not finished yet: (end rel ms, observation), in creation order.
    pending: Vec<(i64, Observation)>,
    /// Finished but not delivered (Langfuse outage).
    withheld: Vec<Observation>,
    health: HealthTracker,
    last_fleet: Option<(Vec<Pod>, Vec<ScaledObject>)>,
    last_nodes: Option<Vec<crate::model::update::GpuNode>>,
    last_fleet_emit: u64,
    orphan_count: u64,
    /// Routed (first-hop) requests per path; escalations and retries not included.
    routed: Vec<u64>,
    /// The simulated Prometheus source (vLLM engine figures).
    engine: engine::EngineSim,
    /// Gateway, Identity, Memory and the alarms (`mcp.rs`).
    mcp: mcp::McpSim,
}

fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(n);
    r
}

fn lognormal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    (mu + sigma * z).exp()
}

/// A token count with mean `mean` and a lognormal spread.
fn tokens(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    let mu = mean.max(1.0).ln() - TOKEN_SIGMA * TOKEN_SIGMA / 2.0;
    lognormal(rng, mu, TOKEN_SIGMA).round().max(1.0) as u64
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= rng.random::<f64>();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    match Poisson::new(lambda) {
        Ok(d) => d.sample(rng) as u64,
        Err(_) => lambda.round() as u64,
    }
}

fn round2(x: f64) -> f64 {
    fleet::round2(x)
}

/// Daily traffic shape at `t`: 1 ± 30 %, peak at 14:00 UTC.
fn daily_shape(t: DateTime<Utc>) -> f64 {
    let hod = t.timestamp().rem_euclid(86_400) as f64 / 3600.0;
    1.0 + DAILY_AMPLITUDE * (std::f64::consts::TAU * (hod - DAILY_PEAK_HOUR) / 24.0).cos()
}

impl Simulator {
    pub fn new(cfg: SimConfig, weights: Weights) -> Simulator {
        let SimConfig {
            seed,
            scenario,
            start,
            config,
        } = cfg;
        let rng = Rngs {
            arrivals: stream(seed, 1),
            service: stream(seed, 2),
            traces: stream(seed, 3),
            fleet: stream(seed, 4),
            scenario: stream(seed, 5),
        };
        let region = config
            .aws
            .as_ref()
            .and_then(|a| a.region.clone())
            .unwrap_or_else(|| "us-east-2".into());
        let mut paths: Vec<PathSim> = config
            .paths
            .iter()
            .map(|p| {
                let model = traces::model_name(p);
                let fam = traces::family(p.kind, &model);
                let (p50, p95, tok_in, tok_out) = traces::profile(fam);
                let ac = p.agentcore.clone().unwrap_or_default();
                let eks = p.eks.clone().unwrap_or_default();
                PathSim {
                    id: p.id.clone(),
                    side: p.kind,
                    model,
                    tag: format!("path:{}", p.id),
                    mu: p50.ln(),
                    sigma: (p95 / p50).ln() / 1.645,
                    tok_in,
                    tok_out,
                    price_in: ac.usd_per_1k_input_tokens,
                    price_out: ac.usd_per_1k_output_tokens,
                    vcpu_price: ac.usd_per_vcpu_hour,
                    gb_price: ac.usd_per_gb_hour,
                    throttle_weight: 0.0,
                    fleet: None,
                    node_usd_per_hour: eks.gpu_node_usd_per_hour,
                    pods_per_node: eks.pods_per_node.max(1),
                    acc: Acc::default(),
                    usage_vcpu_s: 0.0,
                    usage_gb_s: 0.0,
                }
            })
            .collect();

        // Throttling hits the Haiku-like path hardest (or the first AgentCore path).
        let families: Vec<Family> = paths
            .iter()
            .map(|p| traces::family(p.side, &p.model))
            .collect();
        let primary = (0..paths.len())
            .find(|&i| families[i] == Family::Haiku)
            .or_else(|| (0..paths.len()).find(|&i| paths[i].side == Side::Agentcore));
        for (i, p) in paths.iter_mut().enumerate() {
            if p.side == Side::Agentcore {
                p.throttle_weight = if Some(i) == primary {
                    1.0
                } else {
                    SECONDARY_THROTTLE
                };
            }
        }
        let escalation_target = (0..paths.len())
            .find(|&i| families[i] == Family::Sonnet)
            .or_else(|| {
                (0..paths.len())
                    .filter(|&i| paths[i].side == Side::Agentcore)
                    .max_by(|&a, &b| {
                        paths[a]
                            .price_out
                            .total_cmp(&paths[b].price_out)
                            .then(b.cmp(&a))
                    })
            });

        let mut sim = Simulator {
            seed,
            scenario,
            start,
            start_unix_ms: start.timestamp_millis(),
            elapsed: 0,
            weights: weights.clone(),
            weights_version: 0,
            weights_dirty: true,
            route_cum: Vec::new(),
            paths,
            fleets: Vec::new(),
            escalation_target,
            rng,
            pool: Vec::new(),
            follow_ups: Vec::new(),
            session_counter: 0,
            session_mul: 0,
            session_add: 0,
            seq: 0,
            pending: Vec::new(),
            withheld: Vec::new(),
            health: HealthTracker::default(),
            last_fleet: None,
            last_nodes: None,
            last_fleet_emit: 0,
            orphan_count: 0,
            routed: Vec::new(),
            engine: Default::default(),
            mcp: mcp::McpSim::new(&config, seed),
        };
        sim.routed = vec![0; sim.paths.len()];
        sim.rebuild_routes();
        sim.session_mul = sim.rng.traces.random::<u64>() | 1;
        sim.session_add = sim.rng.traces.random::<u64>();

        // One fleet per EKS path, sized for the traffic at the start.
        let total_rps = BASE_RPM * daily_shape(start);
        for (i, pc) in config.paths.iter().enumerate() {
            if pc.kind != Side::Eks {
                continue;
            }
            let eks = pc.eks.clone().unwrap_or_default();
            let so_name = eks
                .scaled_object
                .clone()
                .unwrap_or_else(|| pc.id.to_string());
            let share = sim.share(i);
            let f = Fleet::new(
                pc.id.clone(),
                &eks,
                &so_name,
                &region,
                total_rps * share,
                &mut sim.rng.fleet,
            );
            sim.paths[i].fleet = Some(sim.fleets.len());
            sim.fleets.push(f);
        }
        sim
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.start + ChronoDuration::seconds(self.elapsed as i64)
    }

    pub fn elapsed_seconds(&self) -> u64 {
        self.elapsed
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Routes by these weights from the next request on; emits an `Update::Weights` on the next
    /// step. Paths the config does not know are ignored, missing ones get 0; if nothing is left,
    /// traffic is split evenly.
    pub fn set_weights(&mut self, w: Weights) {
        self.weights = w;
        self.weights_version += 1;
        self.weights_dirty = true;
        self.rebuild_routes();
    }

    fn rebuild_routes(&mut self) {
        let raw: Vec<f64> = self
            .paths
            .iter()
            .map(|p| f64::from(self.weights.get(&p.id).unwrap_or(0)))
            .collect();
        let even = raw.iter().sum::<f64>() <= 0.0;
        let mut acc = 0.0;
        self.route_cum = raw
            .iter()
            .map(|w| {
                acc += if even { 1.0 } else { *w };
                acc
            })
            .collect();
    }

    /// Routing share of path `i` under the current weights.
    fn share(&self, i: usize) -> f64 {
        let total = self.route_cum.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return 0.0;
        }
        let prev = if i == 0 { 0.0 } else { self.route_cum[i - 1] };
        (self.route_cum[i] - prev) / total
    }

    fn route(&mut self) -> Option<usize> {
        let total = self.route_cum.last().copied()?;
        let u = self.rng.arrivals.random::<f64>() * total;
        self.route_cum
            .iter()
            .position(|c| u < *c)
            .or(Some(self.route_cum.len() - 1))
    }

    fn at(&self, rel_ms: i64) -> DateTime<Utc> {
        self.start + ChronoDuration::milliseconds(rel_ms)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Advance one simulated second; return the updates it produced (first: `Update::Clock`).
    pub fn step(&mut self) -> Vec<Update> {
        let t = self.elapsed;
        let t0 = (t as i64) * 1000;
        let t1 = t0 + 1000;
        self.elapsed += 1;
        let e = self.elapsed;
        let now = self.now();
        let mut out = Vec::with_capacity(12);
        out.push(Update::Clock { now });

        if self.weights_dirty {
            self.weights_dirty = false;
            out.push(Update::Weights(WeightsReport {
                backend: "simulator".into(),
                target: None,
                weights: self.weights.clone(),
                version: Some(self.weights_version.to_string()),
                invalid: None,
            }));
        }
        if e == 1 {
            out.push(Update::Billed(self.billed()));
        }

        // Scenario events.
        if self.scenario == Scenario::KedaStuck {
            let stuck = self.scenario.keda_stuck(t).then_some(t0);
            for f in &mut self.fleets {
                f.set_stuck(stuck);
            }
        }
        if self.scenario == Scenario::EksNodeLoss && t == ONSET {
            for f in &mut self.fleets {
                f.lose_nodes(
                    t0,
                    scenario::NODE_LOST_EVICTION_S * 1000,
                    &mut self.rng.scenario,
                );
            }
        }

        // This second's arrivals and the follow-up calls falling due, in time order.
        let queues: Vec<QueueState> = self.fleets.iter().map(Fleet::queue_state).collect();
        let rate = BASE_RPM / 60.0 * daily_shape(self.at(t0)) * self.scenario.traffic_multiplier(t);
        let mut offsets: Vec<i64> = if self.paths.is_empty() {
            Vec::new()
        } else {
            let n = poisson(&mut self.rng.arrivals, rate);
            (0..n)
                .map(|_| self.rng.arrivals.random_range(0..1000))
                .collect()
        };
        offsets.sort_unstable();
        self.pool.retain(|s| s.ready_at >= t0 - SESSION_IDLE_MS);
        let mut next = 0;
        loop {
            let arrival = offsets.get(next).map(|o| t0 + o);
            let due = self
                .follow_ups
                .iter()
                .enumerate()
                .filter(|(_, x)| x.start < t1)
                .min_by_key(|(_, x)| (x.start, x.seq))
                .map(|(i, x)| (i, x.start));
            match (arrival, due) {
                (None, None) => break,
                (Some(a), Some((i, s))) if s < a => self.run_follow_up(i, t, &queues),
                (None, Some((i, _))) => self.run_follow_up(i, t, &queues),
                (Some(a), _) => {
                    next += 1;
                    self.arrival(a, t, &queues);
                }
            }
        }

        // Queue accounting and the fleet's own clock.
        for f in 0..self.fleets.len() {
            let n: u64 = self
                .paths
                .iter()
                .filter(|p| p.fleet == Some(f))
                .map(|p| p.acc.requests)
                .sum();
            self.fleets[f].end_second(n);
            self.fleets[f].tick(t, t1, &mut self.rng.fleet);
        }

        self.health_updates(e, t, now, &mut out);

        let start = self.at(t0);
        let mut engine_notes = Vec::new();
        for p in &mut self.paths {
            let acc = std::mem::take(&mut p.acc);
            if let Some(f) = p.fleet {
                engine_notes.push((f, acc.requests, acc.output_tokens, acc.samples.clone()));
            }
            out.push(Update::Traffic(TrafficBatch {
                path: p.id.clone(),
                start,
                end: now,
                requests: acc.requests,
                errors: acc.errors,
                throttles: acc.throttles,
                input_tokens: acc.input_tokens,
                output_tokens: acc.output_tokens,
                latency: Latency::Samples { ms: acc.samples },
            }));
        }

        if e.is_multiple_of(USAGE_EVERY_S) {
            let from = now - ChronoDuration::seconds(USAGE_EVERY_S as i64);
            for p in self.paths.iter_mut().filter(|p| p.side == Side::Agentcore) {
                out.push(Update::Usage(UsageBatch {
                    path: p.id.clone(),
                    start: from,
                    end: now,
                    vcpu_hours: p.usage_vcpu_s / 3600.0,
                    gb_hours: p.usage_gb_s / 3600.0,
                }));
                p.usage_vcpu_s = 0.0;
                p.usage_gb_s = 0.0;
            }
        }

        for (f, requests, tokens, ms) in engine_notes {
            self.engine_note(f, requests, tokens, &ms);
        }
        self.engine_updates(e, now, &mut out);
        self.fleet_update(e, t1, &mut out);
        self.deliver_observations(t, t1, &mut out);
        if e.is_multiple_of(CLOUDWATCH_EVERY_S) {
            self.agentcore_updates(t, now, &mut out);
        }
        out
    }

    // ---- test hooks ------------------------------------------------------------------------

    #[cfg(test)]
    fn routed(&self) -> &[u64] {
        &self.routed
    }

    #[cfg(test)]
    fn fleet_stats(&self) -> Vec<(u32, u32, usize)> {
        self.fleets
            .iter()
            .map(|f| (f.ready_pods(), f.desired(), f.node_count()))
            .collect()
    }
}
