//! The cost advisor: one cost model for "what would this split cost", used by the break-even
//! modes, the cost-optimal split and its recommendation here, and by the weights review dialog
//! (`router::preview`) — so a preview and a recommendation can never disagree.
//!
//! The model, from the snapshot's own numbers:
//! - **Volume**: the routed requests/min `T` = all requests in the window minus the escalations
//!   the model attributes to EKS (`[advisor] escalation_rate` × EKS requests). A path with weight
//!   `w` gets `T × w / 100`; the escalation path also gets `escalation_rate` × the EKS requests.
//! - **AgentCore**: linear. $/request = the path's `usd_per_1k_requests` / 1000 over the window,
//!   i.e. its current token mix and runtime usage. A path with no requests in the window has no
//!   price: its weight is kept as it is.
//! - **EKS**: a step function. Pods = ⌈rpm / per-pod target⌉ (KEDA's target: `pod_capacity_rpm`
//!   × `[advisor] eks_target_utilisation`; not the ScaledObject's `metric_target`, whose unit is
//!   the trigger's — queue length, rate, … — not requests/min), never below the ScaledObject's
//!   `min_replicas` (1 when unknown), at most `max_replicas`; nodes = ⌈pods / pods_per_node⌉;
//!   $/h = nodes × `gpu_node_usd_per_hour`. Each EKS request also carries its escalation's
//!   AgentCore cost.
//! - **Now** is the snapshot's estimate (what the operator sees and will compare with); the
//!   alternatives are projections. Month = 730 h, as everywhere.
//!
//! Cost is separable by path (each path's $/h depends on its own weight only), so the optimal
//! split is an exact dynamic programme over integer weights: bounded by the router guard
//! (`min_of`/`max_of`), reachable in the editor's `step`s, EKS within capacity.
use super::fin;
use crate::config::{AdvisorConfig, AgentcorePath, Config, EksPath};
use crate::domain::path::{PathId, Side};
use crate::domain::weights::{Guard, Weights};
use crate::model::cost::{self, HOURS_PER_MONTH};
use crate::model::snapshot::{AdvisorModes, AdvisorView, Recommendation, Snapshot};
use std::collections::BTreeMap;
use std::time::Duration;

/// Ties between splits of equal cost go to the one closest to the current split: each point
/// moved costs this much ($/h) in the optimisation only.
const MOVE_PENALTY: f64 = 1e-9;

/// What the advisor needs from the configuration.
#[derive(Clone, Debug, Default)]
pub struct AdvisorParams {
    pub guard: Guard,
    pub advisor: AdvisorConfig,
    /// Per EKS path: prices and capacity.
    pub eks: BTreeMap<PathId, EksPath>,
    /// Per AgentCore path: prices (an escalation's context is priced at its target's).
    pub agentcore: BTreeMap<PathId, AgentcorePath>,
}

impl AdvisorParams {
    pub fn from_config(cfg: &Config) -> AdvisorParams {
        AdvisorParams {
            guard: cfg.guard(),
            advisor: cfg.advisor.clone(),
            eks: cfg
                .paths
                .iter()
                .filter(|p| p.kind == Side::Eks)
                .map(|p| (p.id.clone(), p.eks.clone().unwrap_or_default()))
                .collect(),
            agentcore: cfg
                .paths
                .iter()
                .filter(|p| p.kind == Side::Agentcore)
                .map(|p| (p.id.clone(), p.agentcore.clone().unwrap_or_default()))
                .collect(),
        }
    }
}

/// An EKS path's fleet as the cost model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct EksFleet {
    pub node_usd_per_hour: f64,
    pub pods_per_node: u32,
    /// Requests/min per pod at the KEDA target.
    pub per_pod_rpm: f64,
    pub min_pods: u32,
    pub max_pods: Option<u32>,
    pub ready_pods: u32,
    pub model_load: Duration,
}

impl EksFleet {
    /// Pods KEDA would run for `rpm` (not capped at `max_pods`: the caller checks capacity).
    pub fn pods_for(&self, rpm: f64) -> u32 {
        cost::eks_pods_for(rpm, self.per_pod_rpm, self.min_pods)
    }

    pub fn usd_per_hour(&self, rpm: f64) -> f64 {
        let pods = self.pods_for(rpm);
        cost::eks_fleet_usd_per_hour(pods, self.pods_per_node, self.node_usd_per_hour)
    }

    /// Requests/min the fleet takes at its target with every replica KEDA may run.
    pub fn capacity_rpm(&self) -> Option<f64> {
        self.max_pods.map(|m| f64::from(m) * self.per_pod_rpm)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathCost {
    /// $/request; `None` when the window has no requests to price it from.
    Agentcore {
        usd_per_request: Option<f64>,
    },
    Eks(EksFleet),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathModel {
    pub id: PathId,
    pub kind: Side,
    pub rpm_now: f64,
    /// The snapshot's estimate now.
    pub usd_per_hour_now: Option<f64>,
    pub cost: PathCost,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Escalation {
    pub rate: f64,
    /// Index of the AgentCore path escalations go to.
    pub target: usize,
    /// $ an escalation costs on top of a plain request to the target (its forwarded context).
    pub extra_usd: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CostModel {
    pub paths: Vec<PathModel>,
    /// First-hop requests/min the router splits.
    pub routed_rpm: f64,
    pub escalation: Option<Escalation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathProjection {
    pub id: PathId,
    pub rpm: f64,
    pub usd_per_hour: Option<f64>,
    /// EKS: the pods KEDA would run.
    pub pods: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub paths: Vec<PathProjection>,
    pub usd_per_hour: Option<f64>,
}

impl Projection {
    pub fn usd_per_month(&self) -> Option<f64> {
        cost::projected_month(self.usd_per_hour)
    }
}

impl CostModel {
    /// The model of the platform the snapshot shows.
    pub fn from_snapshot(snap: &Snapshot, params: &AdvisorParams) -> CostModel {
        let paths: Vec<PathModel> = snap
            .paths
            .iter()
            .map(|p| {
                let cost = match p.kind {
                    Side::Agentcore => PathCost::Agentcore {
                        usd_per_request: p
                            .cost
                            .usd_per_1k_requests
                            .map(|v| v / 1000.0)
                            .filter(|v| v.is_finite() && *v >= 0.0),
                    },
                    Side::Eks => {
                        let cfg = params.eks.get(&p.id).cloned().unwrap_or_default();
                        let so = snap
                            .fleet
                            .scaled_objects
                            .iter()
                            .map(|s| &s.scaled_object)
                            .find(|s| {
                                s.path.as_ref() == Some(&p.id)
                                    || (s.path.is_none()
                                        && s.namespace == cfg.namespace
                                        && cfg.scaled_object.as_deref() == Some(s.name.as_str()))
                            });
                        let per_pod_rpm =
                            cfg.pod_capacity_rpm * params.advisor.eks_target_utilisation;
                        PathCost::Eks(EksFleet {
                            node_usd_per_hour: fin(cfg.gpu_node_usd_per_hour.max(0.0)),
                            pods_per_node: cfg.pods_per_node.max(1),
                            per_pod_rpm: if per_pod_rpm.is_finite() && per_pod_rpm > 0.0 {
                                per_pod_rpm
                            } else {
                                1.0
                            },
                            // KEDA keeps at least one pod unless the ScaledObject says otherwise.
                            min_pods: so.map(|s| s.min_replicas).unwrap_or(1),
                            max_pods: so.map(|s| s.max_replicas).filter(|m| *m > 0),
                            ready_pods: p.ready_pods.unwrap_or(0),
                            model_load: cfg.model_load_time,
                        })
                    }
                };
                PathModel {
                    id: p.id.clone(),
                    kind: p.kind,
                    rpm_now: fin(p.requests_per_minute.max(0.0)),
                    usd_per_hour_now: p.cost.usd_per_hour.filter(|v| v.is_finite()),
                    cost,
                }
            })
            .collect();
        let a = &params.advisor;
        let escalation = a
            .escalation_path
            .as_ref()
            .and_then(|id| paths.iter().position(|p| &p.id == id))
            .filter(|&i| paths[i].kind == Side::Agentcore)
            .filter(|_| a.escalation_rate > 0.0 && a.escalation_rate.is_finite())
            .map(|target| {
                let price_in = params
                    .agentcore
                    .get(&paths[target].id)
                    .map_or(0.0, |p| p.usd_per_1k_input_tokens);
                Escalation {
                    rate: a.escalation_rate.min(1.0),
                    target,
                    extra_usd: fin(a.escalation_context_tokens.max(0.0) / 1000.0 * price_in),
                }
            });
        CostModel::new(paths, escalation)
    }

    /// A model from its parts; the routed volume is what the paths carry now, escalations out.
    /// The escalation target's window price mixes plain requests and escalations: the plain
    /// price is what remains once the escalations' extra is taken out.
    pub fn new(mut paths: Vec<PathModel>, escalation: Option<Escalation>) -> CostModel {
        let total: f64 = paths.iter().map(|p| p.rpm_now).sum();
        let eks: f64 = paths
            .iter()
            .filter(|p| p.kind == Side::Eks)
            .map(|p| p.rpm_now)
            .sum();
        let escalated = escalation.map_or(0.0, |e| e.rate * eks);
        if let Some(e) = escalation {
            if let Some(t) = paths.get_mut(e.target) {
                let share = if t.rpm_now > 0.0 {
                    (escalated / t.rpm_now).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if let PathCost::Agentcore {
                    usd_per_request: Some(c),
                } = &mut t.cost
                {
                    *c = fin((*c - e.extra_usd * share).max(0.0));
                }
            }
        }
        CostModel {
            paths,
            routed_rpm: fin((total - escalated).max(0.0)),
            escalation,
        }
    }

    /// $ per escalation: a plain request to the target plus the forwarded context.
    fn escalation_usd(&self) -> Option<(Escalation, f64)> {
        let e = self.escalation?;
        let c = self.usd_per_request(e.target)?;
        Some((e, c + e.extra_usd))
    }

    /// Weights in path order (a path the map lacks gets 0).
    pub fn weights_vec(&self, w: &Weights) -> Vec<f64> {
        self.paths
            .iter()
            .map(|p| f64::from(w.get(&p.id).unwrap_or(0)))
            .collect()
    }

    fn usd_per_request(&self, i: usize) -> Option<f64> {
        match &self.paths[i].cost {
            PathCost::Agentcore { usd_per_request } => *usd_per_request,
            PathCost::Eks(_) => None,
        }
    }

    /// $/h that follows from path `i` carrying weight `w` (percent): its own cost, and for an
    /// EKS path the AgentCore cost of its escalations. Sums to the projection's total, and
    /// depends on `w` alone — which is what makes the optimum exact. `None`: cannot be priced.
    pub fn path_usd_per_hour(&self, i: usize, w: f64, escalations: bool) -> Option<f64> {
        let rpm = self.routed_rpm * w / 100.0;
        match &self.paths[i].cost {
            PathCost::Agentcore { usd_per_request } => {
                if rpm <= 0.0 {
                    Some(0.0)
                } else {
                    usd_per_request.map(|c| fin(c * rpm * 60.0))
                }
            }
            PathCost::Eks(f) => {
                let own = f.usd_per_hour(rpm);
                // An escalation target with no price is not charged (the advisor says so).
                let esc = match self.escalation_usd().filter(|_| escalations) {
                    Some((e, c)) if rpm > 0.0 => c * e.rate * rpm * 60.0,
                    _ => 0.0,
                };
                Some(fin(own + esc))
            }
        }
    }

    /// Requests/min per path at `weights` (escalations included on their target).
    pub fn rpm_at(&self, weights: &[f64], escalations: bool) -> Vec<f64> {
        let mut rpm: Vec<f64> = weights
            .iter()
            .map(|w| self.routed_rpm * w / 100.0)
            .collect();
        if let Some(e) = self.escalation.filter(|_| escalations) {
            let eks: f64 = self
                .paths
                .iter()
                .zip(&rpm)
                .filter(|(p, _)| p.kind == Side::Eks)
                .map(|(_, r)| r)
                .sum();
            if let Some(r) = rpm.get_mut(e.target) {
                *r += e.rate * eks;
            }
        }
        rpm
    }

    /// What `weights` (percent per path, in path order) would cost per path and in total.
    pub fn project_with(&self, weights: &[f64], escalations: bool) -> Projection {
        let rpm = self.rpm_at(weights, escalations);
        let esc = self.escalation_usd().filter(|_| escalations);
        let mut total = Some(0.0);
        let mut out = Vec::with_capacity(self.paths.len());
        for (i, p) in self.paths.iter().enumerate() {
            let w = weights.get(i).copied().unwrap_or(0.0);
            let (usd, pods) = match &p.cost {
                PathCost::Agentcore { usd_per_request } => (
                    if rpm[i] <= 0.0 {
                        Some(0.0)
                    } else {
                        // Its own requests at the plain price, escalations with their context.
                        let own = self.routed_rpm * w / 100.0;
                        usd_per_request.map(|c| match esc {
                            Some((e, ce)) if e.target == i => {
                                fin(c * own * 60.0 + ce * (rpm[i] - own).max(0.0) * 60.0)
                            }
                            _ => fin(c * rpm[i] * 60.0),
                        })
                    },
                    None,
                ),
                PathCost::Eks(f) => (Some(f.usd_per_hour(rpm[i])), Some(f.pods_for(rpm[i]))),
            };
            // The total is the sum of the separable path costs (escalations on the EKS side).
            let part = self.path_usd_per_hour(i, w, escalations);
            total = total.zip(part).map(|(a, b)| a + b);
            out.push(PathProjection {
                id: p.id.clone(),
                rpm: rpm[i],
                usd_per_hour: usd,
                pods,
            });
        }
        Projection {
            paths: out,
            usd_per_hour: total.map(fin),
        }
    }

    pub fn project(&self, weights: &Weights) -> Projection {
        self.project_with(&self.weights_vec(weights), true)
    }

    /// The estimate now: the sum of the snapshot's per-path $/h (unknown if any is).
    pub fn now_usd_per_hour(&self) -> Option<f64> {
        self.paths
            .iter()
            .try_fold(0.0, |acc, p| p.usd_per_hour_now.map(|v| acc + v))
            .map(fin)
    }

    /// EKS capacity at the KEDA target over all EKS paths (unknown if any path's max is).
    pub fn eks_capacity_rpm(&self) -> Option<f64> {
        let mut total = 0.0;
        let mut any = false;
        for p in &self.paths {
            if let PathCost::Eks(f) = &p.cost {
                total += f.capacity_rpm()?;
                any = true;
            }
        }
        any.then_some(total)
    }

    /// The cheapest priced AgentCore path.
    fn cheapest_agentcore(&self) -> Option<(usize, f64)> {
        (0..self.paths.len())
            .filter_map(|i| self.usd_per_request(i).map(|c| (i, c)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
    }

    /// Everything on AgentCore: the EKS share goes to the cheapest priced AgentCore path, and
    /// no GPU fleet runs at all.
    pub fn agentcore_only(&self, current: &[f64]) -> Option<f64> {
        let (cheap, _) = self.cheapest_agentcore()?;
        let mut w = current.to_vec();
        let mut moved = 0.0;
        for (i, p) in self.paths.iter().enumerate() {
            if p.kind == Side::Eks {
                moved += w[i];
                w[i] = 0.0;
            }
        }
        w[cheap] += moved;
        let p = self.project_with(&w, false);
        let mut total = 0.0;
        for (m, pp) in self.paths.iter().zip(&p.paths) {
            if m.kind == Side::Agentcore {
                total += pp.usd_per_hour?;
            }
        }
        cost::projected_month(Some(fin(total)))
    }

    /// Everything on EKS, spread like the EKS paths' current weights (evenly if they have
    /// none); no AgentCore to escalate to, capacity not capped (it is the hypothetical).
    pub fn eks_only(&self, current: &[f64]) -> Option<f64> {
        let eks: Vec<usize> = (0..self.paths.len())
            .filter(|&i| self.paths[i].kind == Side::Eks)
            .collect();
        if eks.is_empty() {
            return None;
        }
        let sum: f64 = eks.iter().map(|&i| current[i]).sum();
        let mut w = vec![0.0; self.paths.len()];
        for &i in &eks {
            w[i] = if sum > 0.0 {
                current[i] / sum * 100.0
            } else {
                100.0 / eks.len() as f64
            };
        }
        self.project_with(&w, false).usd_per_month()
    }

    /// Monthly volume above which one EKS pod is cheaper than sending its requests to the
    /// cheapest AgentCore path (escalations charged). `None` when it never is, at these prices.
    pub fn break_even_monthly_requests(&self) -> Option<f64> {
        let (_, c_ac) = self.cheapest_agentcore()?;
        let esc = self.escalation_usd().map_or(0.0, |(e, c)| c * e.rate);
        let saving = c_ac - esc;
        let mut best: Option<f64> = None;
        for p in &self.paths {
            let PathCost::Eks(f) = &p.cost else { continue };
            if saving <= 0.0 {
                continue;
            }
            let pod_month = f.node_usd_per_hour * HOURS_PER_MONTH;
            let v = pod_month / saving;
            // Beyond a full pod's volume the comparison no longer holds for one pod.
            let full = f.per_pod_rpm * 60.0 * HOURS_PER_MONTH;
            if v.is_finite() && v <= full {
                best = Some(best.map_or(v, |b: f64| b.min(v)));
            }
        }
        best
    }

    /// Weights each path may take: within the guard's bounds, a whole number of `step`s from
    /// the current weight (or at a bound), and for EKS within capacity. A path that cannot be
    /// priced keeps its weight.
    fn candidates(&self, current: &[u32], guard: &Guard) -> Vec<Vec<u32>> {
        let step = guard.step.max(1);
        self.paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cur = current[i];
                let priced = match &p.cost {
                    PathCost::Agentcore { usd_per_request } => usd_per_request.is_some(),
                    PathCost::Eks(_) => true,
                };
                if !priced || self.routed_rpm <= 0.0 {
                    return vec![cur];
                }
                let (lo, hi) = (guard.min_of(&p.id), guard.max_of(&p.id));
                let cap = match &p.cost {
                    PathCost::Eks(f) => f.capacity_rpm(),
                    PathCost::Agentcore { .. } => None,
                };
                (lo..=hi)
                    .filter(|&w| {
                        w == lo
                            || w == hi
                            || w == cur
                            || (i64::from(w) - i64::from(cur)) % i64::from(step) == 0
                    })
                    .filter(|&w| {
                        cap.is_none_or(|c| self.routed_rpm * f64::from(w) / 100.0 <= c + 1e-9)
                    })
                    .collect()
            })
            .collect()
    }

    /// The cheapest split (integer percent per path, summing to 100) the guard and capacity
    /// allow, moving at most `max_shift` points (sum of |Δ| / 2) when given. `None`: no split
    /// satisfies the constraints.
    pub fn optimal(
        &self,
        current: &[u32],
        guard: &Guard,
        max_shift: Option<u32>,
    ) -> Option<Vec<u32>> {
        let n = self.paths.len();
        if n == 0 || current.len() != n {
            return None;
        }
        let cands = self.candidates(current, guard);
        // Cost of each candidate (unpriced paths are frozen: their cost is a constant).
        let cost: Vec<Vec<f64>> = cands
            .iter()
            .enumerate()
            .map(|(i, ws)| {
                ws.iter()
                    .map(|&w| {
                        self.path_usd_per_hour(i, f64::from(w), true).unwrap_or(0.0)
                            + MOVE_PENALTY * f64::from(w.abs_diff(current[i]))
                    })
                    .collect()
            })
            .collect();
        // Budget of Σ|Δ| (twice the shift); unbounded is 200.
        let budget = max_shift.map_or(200, |m| (2 * m).min(200)) as usize;
        let track_moves = max_shift.is_some_and(|m| m < 100);
        let width = if track_moves { budget + 1 } else { 1 };
        let idx = |s: usize, u: usize| s * width + u;
        const INF: f64 = f64::INFINITY;
        let mut dp = vec![INF; 101 * width];
        dp[idx(0, 0)] = 0.0;
        // choice[i][state] = candidate index that reached `state` after path i.
        let mut choice: Vec<Vec<u16>> = Vec::with_capacity(n);
        for i in 0..n {
            let mut next = vec![INF; 101 * width];
            let mut pick = vec![u16::MAX; 101 * width];
            for s in 0..=100usize {
                for u in 0..width {
                    let base = dp[idx(s, u)];
                    if base == INF {
                        continue;
                    }
                    for (k, &w) in cands[i].iter().enumerate() {
                        let s2 = s + w as usize;
                        if s2 > 100 {
                            continue;
                        }
                        let u2 = if track_moves {
                            u + w.abs_diff(current[i]) as usize
                        } else {
                            0
                        };
                        if u2 >= width {
                            continue;
                        }
                        let c = base + cost[i][k];
                        let j = idx(s2, u2);
                        if c < next[j] {
                            next[j] = c;
                            pick[j] = k as u16;
                        }
                    }
                }
            }
            dp = next;
            choice.push(pick);
        }
        // Best final state with sum 100.
        let (mut best_u, mut best) = (usize::MAX, INF);
        for u in 0..width {
            if dp[idx(100, u)] < best {
                best = dp[idx(100, u)];
                best_u = u;
            }
        }
        if best == INF {
            return None;
        }
        // Walk back.
        let mut out = vec![0u32; n];
        let (mut s, mut u) = (100usize, best_u);
        for i in (0..n).rev() {
            let k = choice[i][idx(s, u)] as usize;
            let w = cands[i][k];
            out[i] = w;
            s -= w as usize;
            if track_moves {
                u -= w.abs_diff(current[i]) as usize;
            }
        }
        Some(out)
    }

    /// Every EKS path within its capacity at these weights.
    pub fn within_capacity(&self, w: &[u32]) -> bool {
        self.paths.iter().zip(w).all(|(p, &w)| match &p.cost {
            PathCost::Eks(f) => f
                .capacity_rpm()
                .is_none_or(|c| self.routed_rpm * f64::from(w) / 100.0 <= c + 1e-9),
            PathCost::Agentcore { .. } => true,
        })
    }

    /// $/h of integer weights, for comparing splits (unpriced paths count as 0: they are frozen).
    fn comparable_usd_per_hour(&self, w: &[u32]) -> f64 {
        (0..self.paths.len())
            .map(|i| {
                self.path_usd_per_hour(i, f64::from(w[i]), true)
                    .unwrap_or(0.0)
            })
            .sum()
    }

    /// EKS pods needed beyond the ready ones at `weights`.
    pub fn pods_needed(&self, weights: &[f64]) -> u32 {
        let p = self.project_with(weights, true);
        self.paths
            .iter()
            .zip(&p.paths)
            .map(|(m, pp)| match (&m.cost, pp.pods) {
                (PathCost::Eks(f), Some(pods)) => pods.saturating_sub(f.ready_pods),
                _ => 0,
            })
            .sum()
    }
}

/// Integer percent from shares by largest remainder (the split when the router's weights are
/// unknown).
fn shares_to_percent(shares: &[f64]) -> Vec<u32> {
    let total: f64 = shares.iter().filter(|s| s.is_finite() && **s > 0.0).sum();
    if total <= 0.0 {
        return vec![0; shares.len()];
    }
    let raw: Vec<f64> = shares
        .iter()
        .map(|s| {
            if s.is_finite() && *s > 0.0 {
                s / total * 100.0
            } else {
                0.0
            }
        })
        .collect();
    let mut out: Vec<u32> = raw.iter().map(|r| r.floor() as u32).collect();
    let mut left = 100u32.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| {
        (raw[b] - raw[b].floor())
            .total_cmp(&(raw[a] - raw[a].floor()))
            .then(a.cmp(&b))
    });
    for i in order {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// `$12,345` (whole dollars).
pub fn usd0(v: f64) -> String {
    let r = fin(v).abs().round() as u64;
    let digits = r.to_string();
    let mut s = String::with_capacity(digits.len() + 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    format!("${s}")
}

/// `-$1,240` / `+$310`.
pub fn signed_usd0(v: f64) -> String {
    let sign = if v.round() < 0.0 { "-" } else { "+" };
    format!("{sign}{}", usd0(v))
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "move 15 points from agentcore-haiku to eks-qwen3", or with several paths on one side,
/// "move 25 points to eks-qwen3 (20 from agentcore-haiku, 5 from agentcore-sonnet)".
fn describe_move(ids: &[PathId], from: &[u32], to: &[u32]) -> (String, usize, usize, u32) {
    let mut losers: Vec<(usize, u32)> = Vec::new();
    let mut gainers: Vec<(usize, u32)> = Vec::new();
    for i in 0..ids.len() {
        if to[i] < from[i] {
            losers.push((i, from[i] - to[i]));
        } else if to[i] > from[i] {
            gainers.push((i, to[i] - from[i]));
        }
    }
    let points: u32 =
        (losers.iter().map(|l| l.1).sum::<u32>() + gainers.iter().map(|g| g.1).sum::<u32>()) / 2;
    // Biggest first; ties in path order.
    losers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    gainers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (Some(&(fi, _)), Some(&(ti, _))) = (losers.first(), gainers.first()) else {
        return (String::from("keep the current split"), 0, 0, 0);
    };
    let pts = plural(points, "point", "points");
    let list = |v: &[(usize, u32)], word: &str| -> String {
        v.iter()
            .map(|(i, d)| format!("{d} {word} {}", ids[*i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = match (losers.len(), gainers.len()) {
        (1, 1) => format!("move {pts} from {} to {}", ids[fi], ids[ti]),
        (_, 1) => format!("move {pts} to {} ({})", ids[ti], list(&losers, "from")),
        (1, _) => format!("move {pts} from {} ({})", ids[fi], list(&gainers, "to")),
        _ => format!(
            "move {pts}: {} → {}",
            losers
                .iter()
                .map(|(i, d)| format!("{} -{d}", ids[*i]))
                .collect::<Vec<_>>()
                .join(", "),
            gainers
                .iter()
                .map(|(i, d)| format!("{} +{d}", ids[*i]))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    (text, fi, ti, points)
}

/// The advisor's view of a snapshot: break-even modes, the optimal split, a recommendation.
pub fn evaluate(snap: &Snapshot, params: &AdvisorParams) -> AdvisorView {
    let model = CostModel::from_snapshot(snap, params);
    let total_rpm: f64 = snap.paths.iter().map(|p| p.requests_per_minute).sum();
    let mut view = AdvisorView {
        monthly_requests: cost::monthly_requests(total_rpm),
        ..AdvisorView::default()
    };
    let ids: Vec<PathId> = model.paths.iter().map(|p| p.id.clone()).collect();
    if ids.is_empty() {
        view.notes.push("no paths are configured".into());
        return view;
    }
    // The split the advice starts from.
    let router = &snap.router.weights;
    let (current, basis): (Vec<u32>, &str) =
        if !router.is_empty() && ids.iter().all(|id| router.get(id).is_some()) {
            (
                ids.iter().map(|id| router.get(id).unwrap_or(0)).collect(),
                "router",
            )
        } else {
            let shares: Vec<f64> = snap.paths.iter().map(|p| p.observed_share).collect();
            (shares_to_percent(&shares), "observed")
        };
    view.split_basis = basis.into();
    view.current_weights = Weights(ids.iter().cloned().zip(current.iter().copied()).collect());
    let cur_f: Vec<f64> = current.iter().map(|&w| f64::from(w)).collect();
    view.eks_capacity_rpm = model.eks_capacity_rpm();
    view.break_even_monthly_requests = model.break_even_monthly_requests();
    view.modes = AdvisorModes {
        agentcore_only: model.agentcore_only(&cur_f),
        eks_only: model.eks_only(&cur_f),
        current: snap.cost.projected_usd_per_month,
        optimal: None,
    };
    if model.routed_rpm <= 0.0 {
        view.notes
            .push("no traffic in the window: nothing to optimise".into());
        return view;
    }
    if current.iter().sum::<u32>() != 100 {
        view.notes.push(format!(
            "the current split sums to {}, not 100: no recommendation",
            current.iter().sum::<u32>()
        ));
        return view;
    }
    for (i, p) in model.paths.iter().enumerate() {
        if let PathCost::Agentcore {
            usd_per_request: None,
        } = p.cost
        {
            if current[i] > 0 || p.rpm_now <= 0.0 {
                view.notes.push(format!(
                    "{}: no requests priced in the window, its weight is kept",
                    p.id
                ));
            }
        }
    }
    if let Some(e) = model.escalation {
        if model.usd_per_request(e.target).is_none() {
            view.notes.push(format!(
                "escalations to {} cannot be priced: not charged",
                ids[e.target]
            ));
        }
    }
    // EKS fleets running fewer pods than their traffic needs: the estimate now is low.
    let now_proj = model.project_with(&cur_f, true);
    for (m, p) in model.paths.iter().zip(&now_proj.paths) {
        if let (PathCost::Eks(f), Some(pods)) = (&m.cost, p.pods) {
            if pods > f.ready_pods {
                view.notes.push(format!(
                    "{}: {} pods ready, its traffic needs {pods}: the estimate rises as KEDA scales",
                    m.id, f.ready_pods
                ));
            }
        }
    }
    let guard = &params.guard;
    let Some(optimal) = model.optimal(&current, guard, None) else {
        view.notes
            .push("no split satisfies the guard bounds and EKS capacity at this volume".into());
        return view;
    };
    let opt_f: Vec<f64> = optimal.iter().map(|&w| f64::from(w)).collect();
    view.modes.optimal = model.project_with(&opt_f, true).usd_per_month();
    view.optimal_weights = Some(Weights(
        ids.iter().cloned().zip(optimal.iter().copied()).collect(),
    ));
    let shift = |w: &[u32]| -> u32 {
        w.iter()
            .zip(&current)
            .map(|(a, b)| a.abs_diff(*b))
            .sum::<u32>()
            / 2
    };
    // A recommendation must be appliable without --force: within the guard's shift limit.
    let max_shift = guard.max_shift_per_apply;
    // When no split within the limit is feasible (EKS over capacity by more than the limit
    // can fix), the optimum itself is the advice, flagged as needing the force confirmation.
    let (rec, partial, beyond_limit) = if shift(&optimal) <= max_shift {
        (optimal.clone(), false, false)
    } else {
        match model.optimal(&current, guard, Some(max_shift)) {
            Some(r) => (r, true, false),
            None => (optimal.clone(), false, true),
        }
    };
    let saving_h = model.comparable_usd_per_hour(&current) - model.comparable_usd_per_hour(&rec);
    let saving_month = saving_h * HOURS_PER_MONTH;
    // Over capacity now: moving off EKS is advice even when it costs more.
    let over_capacity = !model.within_capacity(&current);
    if rec == current {
        view.notes
            .push("the current split is the cheapest the guard and EKS capacity allow".into());
        return view;
    }
    if !over_capacity && saving_month < params.advisor.min_saving_usd_per_month {
        view.notes.push(format!(
            "the cheapest split saves {}/month, under the {}/month worth a change",
            usd0(saving_month.max(0.0)),
            usd0(params.advisor.min_saving_usd_per_month)
        ));
        return view;
    }
    let rec_f: Vec<f64> = rec.iter().map(|&w| f64::from(w)).collect();
    let after = model.project_with(&rec_f, true).usd_per_hour;
    // The delta the operator will see: projected after − the estimate now (the review dialog
    // computes exactly this, from the same model).
    let now = model
        .now_usd_per_hour()
        .unwrap_or_else(|| model.comparable_usd_per_hour(&current));
    let Some(after) = after else {
        view.notes
            .push("the recommended split cannot be priced in full".into());
        return view;
    };
    let delta = fin((after - now) * HOURS_PER_MONTH);
    // The saving is stated against the estimate now; when the fleet runs fewer pods than its
    // traffic needs, that estimate will rise by itself, and a shift that saves against the
    // model can still cost more than today's figure: no advice then, but say why.
    if !over_capacity && delta > -params.advisor.min_saving_usd_per_month {
        view.notes.push(format!(
            "the cheapest split would change the estimate by {}/month: no shift worth making",
            signed_usd0(delta)
        ));
        return view;
    }
    let pods_needed = model.pods_needed(&rec_f);
    let (mv, fi, ti, points) = describe_move(&ids, &current, &rec);
    let mut text = format!("{mv}: {}/month", signed_usd0(delta));
    if pods_needed > 0 {
        text.push_str(&format!(
            "; needs {pods_needed} more {}",
            if pods_needed == 1 { "pod" } else { "pods" }
        ));
    }
    if over_capacity {
        text.push_str("; brings EKS within its capacity");
    }
    if beyond_limit {
        text.push_str(&format!(
            " (beyond the {max_shift}-point shift limit: confirm twice, or --force)"
        ));
    }
    if partial {
        text.push_str(&format!(
            " (the shift limit is {max_shift} points: review again after)"
        ));
    }
    view.recommendation = Some(Recommendation {
        from: ids[fi].clone(),
        to: ids[ti].clone(),
        points,
        weights: Weights(ids.iter().cloned().zip(rec.iter().copied()).collect()),
        usd_per_month_delta: delta,
        pods_needed,
        partial,
        needs_force: beyond_limit,
        text,
    });
    view
}

#[cfg(test)]
mod tests;
