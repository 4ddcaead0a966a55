//! What a weight change would do at current volumes: $/month per path and in total, and whether
//! the EKS side has the ready pods for its new share. Pure: computed from the snapshot the
//! operator is looking at, with the advisor's cost model (`model::advisor::CostModel`) — the
//! same projection the Cost view's recommendation states, so the two never disagree.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::domain::weights::Weights;
use crate::model::advisor::{AdvisorParams, CostModel, PathCost};
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
    pub usd_month_now: Option<f64>,
    pub usd_month_after: Option<f64>,
    pub p95_now: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EksCapacity {
    pub id: PathId,
    pub ready_pods: u32,
    pub pods_needed: u32,
    pub model_load: Duration,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Preview {
    pub paths: Vec<PathPreview>,
    pub total_now: Option<f64>,
    pub total_after: Option<f64>,
    pub eks: Vec<EksCapacity>,
    /// Plain-language consequences, e.g. "eks-qwen3 needs 2 more pods; …".
    pub notes: Vec<String>,
}

impl Preview {
    /// After − now, $/month (the figure a recommendation states).
    pub fn delta_usd_per_month(&self) -> Option<f64> {
        self.total_after.zip(self.total_now).map(|(a, n)| a - n)
    }
}

pub fn preview(snap: &Snapshot, cfg: &Config, from: &Weights, to: &Weights) -> Preview {
    let model = CostModel::from_snapshot(snap, &AdvisorParams::from_config(cfg));
    let after = model.project(to);
    let mut out = Preview::default();
    for ((p, m), a) in snap.paths.iter().zip(&model.paths).zip(&after.paths) {
        if let (PathCost::Eks(f), Some(needed)) = (&m.cost, a.pods) {
            let ready = f.ready_pods;
            out.eks.push(EksCapacity {
                id: p.id.clone(),
                ready_pods: ready,
                pods_needed: needed,
                model_load: f.model_load,
            });
            if needed > ready {
                out.notes.push(format!(
                    "{} needs {} more pod{}; expect higher p95 until KEDA scales, about {}",
                    p.id,
                    needed - ready,
                    if needed - ready == 1 { "" } else { "s" },
                    humanize(f.model_load + Duration::from_secs(30)),
                ));
            }
            if let Some(cap) = f.capacity_rpm().filter(|c| a.rpm > *c) {
                out.notes.push(format!(
                    "{} over capacity: {:.0} req/min > {:.0} at max replicas",
                    p.id, a.rpm, cap
                ));
            }
        }
        out.paths.push(PathPreview {
            id: p.id.clone(),
            label: p.label.clone(),
            kind: p.kind,
            from: from.get(&p.id).unwrap_or(0),
            to: to.get(&p.id).unwrap_or(0),
            rpm_now: p.requests_per_minute,
            rpm_after: a.rpm,
            usd_month_now: p.cost.usd_per_hour.map(|h| h * HOURS_PER_MONTH),
            usd_month_after: a.usd_per_hour.map(|h| h * HOURS_PER_MONTH),
            p95_now: p.latency_ms.p95,
        });
    }
    out.total_now = model.now_usd_per_hour().map(|h| h * HOURS_PER_MONTH);
    out.total_after = after.usd_per_month();
    if model.routed_rpm <= 0.0 {
        out.notes
            .push("no traffic in the window: cost effects are unknown".into());
    }
    out
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

    #[test]
    fn humanized_load_time() {
        assert_eq!(humanize(Duration::from_secs(120)), "2m");
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(45)), "45s");
    }
}
