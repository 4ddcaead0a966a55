//! The cost model behind the advisor and the weights preview: each path's cost per request
//! (per token on AgentCore, per GPU node-hour on EKS), the EKS fleet a split needs, and the
//! cheapest split the guard allows. Modelled figures, never observed ones.
use super::*;

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
    pub(super) fn escalation_usd(&self) -> Option<(Escalation, f64)> {
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

    pub(super) fn usd_per_request(&self, i: usize) -> Option<f64> {
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

    /// The modelled effect of moving from `from` to `to`, in $/month (`None` when either split
    /// cannot be priced): the one delta the editor, the advisor and `weights set` state.
    pub fn delta_usd_per_month(&self, from: &Weights, to: &Weights) -> Option<f64> {
        let now = self.project(from).usd_per_month()?;
        let after = self.project(to).usd_per_month()?;
        Some(after - now)
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
    pub(super) fn cheapest_agentcore(&self) -> Option<(usize, f64)> {
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
    pub(super) fn candidates(&self, current: &[u32], guard: &Guard) -> Vec<Vec<u32>> {
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
    pub(super) fn comparable_usd_per_hour(&self, w: &[u32]) -> f64 {
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
