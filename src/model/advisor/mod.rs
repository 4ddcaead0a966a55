//! The cost advisor: one cost model for "what would this split cost", used by the break-even
//! modes, the cost-optimal split and its recommendation here, and by the weights review dialog
//! (`model::preview`) — so a preview and a recommendation can never disagree.
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
//! - **Now and new** are both projections of this model (of the current and of the proposed
//!   split), so a delta is the effect of the change alone and a no-op is $0; the observed
//!   estimate is shown beside it, labelled, never subtracted. Month = 730 h, as everywhere.
//!
//! Health before cost (`health.rs`): while a path is degraded (critical alert, EKS short of ready
//! pods, stale data) the advisor never advises moving traffic toward it; it offers relief away
//! from it, within the guard and with its cost, or holds, and optimises again only once every
//! path has been healthy for `[advisor] resume_after`. The JSON says which: `advisor.mode`.
//!
//! Cost is separable by path (each path's $/h depends on its own weight only), so the optimal
//! split is an exact dynamic programme over integer weights: bounded by the router guard
//! (`min_of`/`max_of`), reachable in the editor's `step`s, EKS within capacity.
use super::fin;
use crate::config::{AdvisorConfig, AgentcorePath, Config, EksPath};
use crate::domain::path::{PathId, Side};
use crate::domain::weights::{Guard, Weights};
use crate::model::cost::{self, HOURS_PER_MONTH};
use crate::model::snapshot::{AdvisorMode, AdvisorModes, AdvisorView, Recommendation, Snapshot};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

mod cost_model;
mod health;
pub use cost_model::*;
pub use health::{degraded_paths, relief, Degraded, DegradedHistory};

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
    evaluate_with(snap, params, &DegradedHistory::default())
}

/// `evaluate`, knowing when each path was last degraded (to hold optimisation until every path
/// has been healthy for `[advisor] resume_after`).
pub fn evaluate_with(
    snap: &Snapshot,
    params: &AdvisorParams,
    history: &DegradedHistory,
) -> AdvisorView {
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
    // Health before cost: never advise moving traffic toward a degraded path.
    let degraded = degraded_paths(snap, &model, &now_proj);
    if !degraded.is_empty() {
        return relief_or_hold(view, &model, &ids, &current, &degraded, params);
    }
    if let Some(hold) = recently_degraded(history, snap.generated_at, params) {
        view.mode = AdvisorMode::Hold;
        view.reason = Some(hold);
        return view;
    }
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
    // The delta the operator will see: the model at the recommended split − the model at the
    // current one, so it is the effect of the change alone (the review dialog and `weights set
    // --dry-run` compute exactly this: `CostModel::delta_usd_per_month`).
    let now = now_proj
        .usd_per_hour
        .unwrap_or_else(|| model.comparable_usd_per_hour(&current));
    let Some(after) = after else {
        view.notes
            .push("the recommended split cannot be priced in full".into());
        return view;
    };
    let delta = fin((after - now) * HOURS_PER_MONTH);
    // A saving under the threshold is no advice, but the screen says why.
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

/// While a path is degraded: relief away from it within the guard, with its honest cost, or hold.
fn relief_or_hold(
    mut view: AdvisorView,
    model: &CostModel,
    ids: &[PathId],
    current: &[u32],
    degraded: &[Degraded],
    params: &AdvisorParams,
) -> AdvisorView {
    view.degraded = degraded.iter().map(|d| d.id.clone()).collect();
    let why: Vec<String> = degraded
        .iter()
        .map(|d| format!("{}: {}", d.id, d.why))
        .collect();
    let why = why.join("; ");
    let guard = &params.guard;
    let Some(to) = relief(model, current, degraded, guard) else {
        view.mode = AdvisorMode::Hold;
        view.reason = Some(format!(
            "hold: {why}; no healthy path can take its traffic within the guard"
        ));
        return view;
    };
    let from_w = Weights(ids.iter().cloned().zip(current.iter().copied()).collect());
    let to_w = Weights(ids.iter().cloned().zip(to.iter().copied()).collect());
    if guard.check(ids, Some(&from_w), &to_w, false).is_err() {
        view.mode = AdvisorMode::Hold;
        view.reason = Some(format!("hold: {why}; relief would break the guard"));
        return view;
    }
    let delta = model.delta_usd_per_month(&from_w, &to_w);
    let (mv, fi, ti, points) = describe_move(ids, current, &to);
    let worst = &degraded[0].id;
    let cost = delta.map_or_else(
        || "cost unknown".to_string(),
        |d| format!("{}/month", signed_usd0(d)),
    );
    let text = format!("relief: {mv}: {cost} while {worst} recovers");
    view.mode = AdvisorMode::Relief;
    view.reason = Some(format!("relief: {why}"));
    let to_f: Vec<f64> = to.iter().map(|&w| f64::from(w)).collect();
    view.recommendation = Some(Recommendation {
        from: ids[fi].clone(),
        to: ids[ti].clone(),
        points,
        weights: to_w,
        usd_per_month_delta: delta.unwrap_or(0.0),
        pods_needed: model.pods_needed(&to_f),
        partial: false,
        needs_force: false,
        text,
    });
    view
}

/// "hold" while a path recovered less than `resume_after` ago, saying when optimisation resumes.
fn recently_degraded(
    history: &DegradedHistory,
    now: DateTime<Utc>,
    params: &AdvisorParams,
) -> Option<String> {
    let resume = chrono::Duration::from_std(params.advisor.resume_after).ok()?;
    let (id, at) = history
        .last
        .iter()
        .filter(|(_, t)| **t <= now && now.signed_duration_since(**t) < resume)
        .max_by_key(|(_, t)| **t)?;
    let ago = now.signed_duration_since(*at);
    let left = resume - ago;
    Some(format!(
        "hold: {id} recovered {} ago; cost optimisation resumes in {}",
        short_duration(ago),
        short_duration(left)
    ))
}

fn short_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
