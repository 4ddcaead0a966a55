//! What a weight change would do at current volumes: $/month per path and in total, and whether
//! the EKS side has the ready pods for its new share. Pure: computed from the snapshot the
//! operator is looking at, with the advisor's cost model (`model::advisor::CostModel`).
//!
//! "Now" and "new" are both the model's projection (of the current and of the proposed split),
//! so the delta is the effect of the change alone: a no-op is exactly $0, and the Cost view's
//! recommendation, this preview and `weights set --dry-run` state the same delta for the same
//! change. The observed cost (from metrics) is carried beside it, labelled, never subtracted.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use crate::model::advisor::{signed_usd0, usd0, AdvisorParams, CostModel, PathCost, Projection};
use crate::model::cost::HOURS_PER_MONTH;
use crate::model::snapshot::Snapshot;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct PathPreview {
    pub id: PathId,
    pub label: String,
    pub kind: Side,
    pub from: u32,
    pub to: u32,
    pub rpm_now: f64,
    pub rpm_after: f64,
    /// Modelled, at the current split.
    pub usd_month_now: Option<f64>,
    /// Modelled, at the proposed split.
    pub usd_month_after: Option<f64>,
    /// Observed (the live estimate from metrics), for reference; not part of the delta.
    pub usd_month_observed: Option<f64>,
    pub p95_now: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EksCapacity {
    pub id: PathId,
    pub ready_pods: u32,
    /// What the current share needs (a shortage here exists whatever is proposed).
    pub pods_needed_now: u32,
    /// What the proposed share needs.
    pub pods_needed: u32,
    /// Whether the proposal changes this path's weight.
    pub changed: bool,
    pub model_load: Duration,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Preview {
    pub paths: Vec<PathPreview>,
    /// Modelled $/month at the current split.
    pub total_now: Option<f64>,
    /// Modelled $/month at the proposed split.
    pub total_after: Option<f64>,
    /// Observed $/month now (the live estimate from metrics), shown beside, never subtracted.
    pub total_observed: Option<f64>,
    pub eks: Vec<EksCapacity>,
    /// Plain-language consequences, e.g. "eks-qwen3 needs 2 more pods; …".
    pub notes: Vec<String>,
}

impl Preview {
    /// Modelled after − modelled now, $/month (the figure a recommendation states).
    pub fn delta_usd_per_month(&self) -> Option<f64> {
        self.total_after.zip(self.total_now).map(|(a, n)| a - n)
    }

    /// The preview as plain lines, for `weights set --dry-run`: the modelled totals and delta
    /// (the editor's and the recommendation's figure), each path, the observed figure beside
    /// it, and the notes.
    pub fn lines(&self) -> Vec<String> {
        let money = |v: Option<f64>| v.map_or_else(|| "unknown".to_string(), usd0);
        let mut out = vec![match self.delta_usd_per_month() {
            Some(d) => format!(
                "modelled at current volumes: {} → {}/month ({}/month)",
                money(self.total_now),
                money(self.total_after),
                signed_usd0(d)
            ),
            None => "modelled at current volumes: cost unknown".to_string(),
        }];
        for p in &self.paths {
            out.push(format!(
                "  {:<20} {:>3}% → {:>3}%  {} → {}/month",
                p.id.as_str(),
                p.from,
                p.to,
                money(p.usd_month_now),
                money(p.usd_month_after)
            ));
        }
        out.push(format!(
            "observed now {}/month, from metrics (not part of the change)",
            money(self.total_observed)
        ));
        out.extend(self.notes.iter().cloned());
        out
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The modelled effect of moving from `from` to `to`, in $/month (`None` when either split
/// cannot be priced). The one delta the editor, the advisor and `weights set` state.
pub fn delta_usd_per_month(model: &CostModel, from: &Weights, to: &Weights) -> Option<f64> {
    model.delta_usd_per_month(from, to)
}

pub fn preview(snap: &Snapshot, cfg: &Config, from: &Weights, to: &Weights) -> Preview {
    let model = CostModel::from_snapshot(snap, &AdvisorParams::from_config(cfg));
    let now = model.project(from);
    let after = model.project(to);
    let mut out = Preview::default();
    for (((p, m), n), a) in snap
        .paths
        .iter()
        .zip(&model.paths)
        .zip(&now.paths)
        .zip(&after.paths)
    {
        let (w_from, w_to) = (from.get(&p.id).unwrap_or(0), to.get(&p.id).unwrap_or(0));
        if let (PathCost::Eks(f), Some(needed), Some(needed_now)) = (&m.cost, a.pods, n.pods) {
            let ready = f.ready_pods;
            let changed = w_from != w_to;
            out.eks.push(EksCapacity {
                id: p.id.clone(),
                ready_pods: ready,
                pods_needed_now: needed_now,
                pods_needed: needed,
                changed,
                model_load: f.model_load,
            });
            if needed_now > ready {
                let short = needed_now - ready;
                out.notes.push(format!(
                    "{} is already {short} pod{} short at {w_from}%",
                    p.id,
                    plural(short)
                ));
            }
            if changed && needed > ready.max(needed_now) {
                let more = needed - ready.max(needed_now);
                out.notes.push(format!(
                    "{} needs {more} more pod{} for {w_to}%; expect higher p95 until KEDA scales, about {}",
                    p.id,
                    plural(more),
                    humanize(f.model_load + Duration::from_secs(30)),
                ));
            }
            if let Some(cap) = f.capacity_rpm() {
                if n.rpm > cap {
                    out.notes.push(format!(
                        "{} is already over capacity: {:.0} req/min > {:.0} at max replicas",
                        p.id, n.rpm, cap
                    ));
                } else if a.rpm > cap {
                    out.notes.push(format!(
                        "{} over capacity at {w_to}%: {:.0} req/min > {:.0} at max replicas",
                        p.id, a.rpm, cap
                    ));
                }
            }
        }
        out.paths.push(PathPreview {
            id: p.id.clone(),
            label: p.label.clone(),
            kind: p.kind,
            from: w_from,
            to: w_to,
            rpm_now: n.rpm,
            rpm_after: a.rpm,
            usd_month_now: month(n.usd_per_hour),
            usd_month_after: month(a.usd_per_hour),
            usd_month_observed: month(p.cost.usd_per_hour),
            p95_now: p.latency_ms.p95,
        });
    }
    out.total_now = total(&now);
    out.total_after = total(&after);
    out.total_observed = model.now_usd_per_hour().map(|h| h * HOURS_PER_MONTH);
    if model.routed_rpm <= 0.0 {
        out.notes
            .push("no traffic in the window: cost effects are unknown".into());
    }
    out
}

fn month(per_hour: Option<f64>) -> Option<f64> {
    per_hour.map(|h| h * HOURS_PER_MONTH)
}

fn total(p: &Projection) -> Option<f64> {
    p.usd_per_month()
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::snapshot::demo_snapshot;
    use crate::model::state::DeriveOptions;
    use crate::sources::simulator::Scenario;

    #[test]
    fn moving_to_eks_beyond_ready_pods_says_so_and_costs_follow_volume() {
        let snap = demo_snapshot(7, Scenario::Steady, 600, &DeriveOptions::default());
        let cfg = Config::demo();
        let from = cfg.default_weights();
        let to = Weights::from_pairs([
            ("eks-qwen3", 95),
            ("agentcore-haiku", 0),
            ("agentcore-sonnet", 5),
        ]);
        let p = preview(&snap, &cfg, &from, &to);
        let eks = &p.eks[0];
        assert!(eks.pods_needed > eks.ready_pods, "{eks:?}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("more pod") && n.contains("KEDA")),
            "{:?}",
            p.notes
        );
        let haiku = p
            .paths
            .iter()
            .find(|x| x.id.as_str() == "agentcore-haiku")
            .unwrap();
        assert_eq!(haiku.usd_month_after, Some(0.0));
        // AgentCore cost scales with its requests: half the share, half the cost.
        let half = Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        let q = preview(&snap, &cfg, &from, &half);
        let s_now = q.paths[2].usd_month_now.unwrap();
        let s_after = q.paths[2].usd_month_after.unwrap();
        let rpm_ratio = q.paths[2].rpm_after / q.paths[2].rpm_now;
        assert!(
            (s_after / s_now - rpm_ratio).abs() < 0.01,
            "{s_now} {s_after} {rpm_ratio}"
        );
        assert!(p.total_after.is_some() && p.total_now.is_some());
    }

    fn weights3(a: u32, b: u32) -> Weights {
        let (a, b) = (a.min(100), b.min(100 - a.min(100)));
        Weights::from_pairs([
            ("eks-qwen3", a),
            ("agentcore-haiku", b),
            ("agentcore-sonnet", 100 - a - b),
        ])
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// One model at both ends: A→B is −(B→A), a no-op is exactly zero, and the preview's
        /// total delta is that same figure.
        #[test]
        fn the_delta_is_antisymmetric_and_zero_for_no_ops(
            a1 in 0u32..=100, b1 in 0u32..=100, a2 in 0u32..=100, b2 in 0u32..=100,
            pick in 0usize..3,
        ) {
            let snaps = snapshots();
            let snap = &snaps[pick];
            let cfg = Config::demo();
            let model = CostModel::from_snapshot(snap, &AdvisorParams::from_config(&cfg));
            let (x, y) = (weights3(a1, b1), weights3(a2, b2));
            let xy = delta_usd_per_month(&model, &x, &y);
            let yx = delta_usd_per_month(&model, &y, &x);
            if let (Some(xy), Some(yx)) = (xy, yx) {
                proptest::prop_assert!((xy + yx).abs() <= 1e-6 * xy.abs().max(1.0), "{xy} {yx}");
            }
            proptest::prop_assert_eq!(delta_usd_per_month(&model, &x, &x).unwrap_or(0.0), 0.0);
            let p = preview(snap, &cfg, &x, &y);
            proptest::prop_assert_eq!(p.delta_usd_per_month(), xy);
        }
    }

    fn snapshots() -> &'static [Snapshot] {
        static SNAPS: std::sync::OnceLock<Vec<Snapshot>> = std::sync::OnceLock::new();
        SNAPS.get_or_init(|| {
            [
                (Scenario::Steady, 600),
                (Scenario::EksNodeLoss, 900),
                (Scenario::TrafficSpike, 900),
            ]
            .into_iter()
            .map(|(s, t)| demo_snapshot(11, s, t, &DeriveOptions::default()))
            .collect()
        })
    }

    #[test]
    fn humanized_load_time() {
        assert_eq!(humanize(Duration::from_secs(120)), "2m");
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(45)), "45s");
    }
}
