//! What a weight change would do at current volumes: $/month per path and in total, and whether
//! the EKS side has the ready pods for its new share. Pure: computed from the snapshot the
//! operator is looking at, so the preview and the screen agree.
use crate::config::Config;
use crate::model::path::{PathId, Side};
use crate::model::snapshot::Snapshot;
use crate::model::weights::Weights;
use std::time::Duration;

/// KEDA scales EKS paths to keep pods at this share of their capacity (the demo's target too).
pub const EKS_TARGET_UTILISATION: f64 = 0.75;
const HOURS_PER_MONTH: f64 = 730.0;

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

pub fn preview(snap: &Snapshot, cfg: &Config, from: &Weights, to: &Weights) -> Preview {
    let total_rpm: f64 = snap.paths.iter().map(|p| p.requests_per_minute).sum();
    let mut out = Preview::default();
    let mut now_sum = Some(0.0);
    let mut after_sum = Some(0.0);
    for p in &snap.paths {
        let w_from = from.get(&p.id).unwrap_or(0);
        let w_to = to.get(&p.id).unwrap_or(0);
        let rpm_after = total_rpm * f64::from(w_to) / 100.0;
        let usd_h_now = p.cost.usd_per_hour;
        let usd_h_after = match p.kind {
            Side::Agentcore => p
                .cost
                .usd_per_1k_requests
                .map(|per_1k| per_1k * rpm_after * 60.0 / 1000.0)
                .or_else(|| (rpm_after == 0.0).then_some(0.0)),
            Side::Eks => {
                let eks = cfg
                    .path(&p.id)
                    .and_then(|c| c.eks.clone())
                    .unwrap_or_default();
                let per_pod = per_pod_target(snap, &p.id, eks.pod_capacity_rpm);
                let needed = if rpm_after <= 0.0 {
                    0
                } else {
                    (rpm_after / per_pod).ceil().max(1.0) as u32
                };
                let ready = p.ready_pods.unwrap_or(0);
                out.eks.push(EksCapacity {
                    id: p.id.clone(),
                    ready_pods: ready,
                    pods_needed: needed,
                    model_load: eks.model_load_time,
                });
                if needed > ready {
                    out.notes.push(format!(
                        "{} needs {} more pod{}; expect higher p95 until KEDA scales, about {}",
                        p.id,
                        needed - ready,
                        if needed - ready == 1 { "" } else { "s" },
                        humanize(eks.model_load_time + Duration::from_secs(30)),
                    ));
                }
                // Nodes are whole: at least the pods KEDA keeps, however small the share.
                let pods = needed.max(1);
                let nodes = pods.div_ceil(eks.pods_per_node.max(1));
                Some(f64::from(nodes) * eks.gpu_node_usd_per_hour)
            }
        };
        let m_now = usd_h_now.map(|h| h * HOURS_PER_MONTH);
        let m_after = usd_h_after.map(|h| h * HOURS_PER_MONTH);
        now_sum = now_sum.zip(m_now).map(|(a, b)| a + b);
        after_sum = after_sum.zip(m_after).map(|(a, b)| a + b);
        out.paths.push(PathPreview {
            id: p.id.clone(),
            label: p.label.clone(),
            kind: p.kind,
            from: w_from,
            to: w_to,
            rpm_now: p.requests_per_minute,
            rpm_after,
            usd_month_now: m_now,
            usd_month_after: m_after,
            p95_now: p.latency_ms.p95,
        });
    }
    out.total_now = now_sum;
    out.total_after = after_sum;
    if total_rpm <= 0.0 {
        out.notes
            .push("no traffic in the window: cost effects are unknown".into());
    }
    out
}

/// Requests/min one pod takes before KEDA adds another: the ScaledObject's target when known.
fn per_pod_target(snap: &Snapshot, id: &PathId, capacity_rpm: f64) -> f64 {
    snap.fleet
        .scaled_objects
        .iter()
        .find(|s| s.scaled_object.path.as_ref() == Some(id))
        .and_then(|s| s.scaled_object.metric_target)
        .filter(|t| t.is_finite() && *t > 0.0)
        .unwrap_or(capacity_rpm * EKS_TARGET_UTILISATION)
        .max(1e-6)
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
