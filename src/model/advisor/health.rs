//! Health before cost. A path is degraded while it has a critical alert (p95 or error rate over
//! the critical threshold), while an EKS path has fewer ready pods than its share needs, or
//! while the data it is judged on is stale. While any path is degraded the advisor never
//! recommends moving traffic toward it: it offers relief (traffic moved away, within the guard,
//! with its honest cost) or holds. Cost optimisation resumes once every path has been healthy
//! for `[advisor] resume_after`.
use super::*;
use crate::model::snapshot::{Severity, SourceStatus};
use crate::model::update::{SourceName, SourceState};

/// When each path was last seen degraded (model time), kept across derives by the `State`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DegradedHistory {
    pub last: BTreeMap<PathId, DateTime<Utc>>,
}

impl DegradedHistory {
    /// Remember the paths degraded at `now`; forget what is older than `keep`.
    pub fn note(&mut self, degraded: &[PathId], now: DateTime<Utc>, keep: Duration) {
        for id in degraded {
            self.last.insert(id.clone(), now);
        }
        let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        self.last
            .retain(|_, t| now.signed_duration_since(*t) <= keep && *t <= now);
    }
}

/// A degraded path and why, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Degraded {
    pub index: usize,
    pub id: PathId,
    pub why: String,
}

fn source_down(sources: &[SourceStatus], name: SourceName) -> Option<&SourceStatus> {
    sources
        .iter()
        .find(|s| s.name == name && matches!(s.state, SourceState::Stale | SourceState::Error))
}

/// The degraded paths of a snapshot, in config order.
/// `now` is the model's projection of the current split (the caller has it already).
pub fn degraded_paths(snap: &Snapshot, model: &CostModel, now: &Projection) -> Vec<Degraded> {
    let mut out = Vec::new();
    for (i, (m, p)) in model.paths.iter().zip(&now.paths).enumerate() {
        // Every critical alert of the path, in code order: alerts are listed newest first, and
        // when one began is not the same in a live run and its replay.
        let mut crit: Vec<_> = snap
            .alerts
            .iter()
            .filter(|a| a.severity == Severity::Crit && a.path.as_ref() == Some(&m.id))
            .collect();
        crit.sort_by(|a, b| a.code.cmp(&b.code));
        let why = if !crit.is_empty() {
            let msgs: Vec<&str> = crit.iter().map(|a| a.message.as_str()).collect();
            Some(format!("critical: {}", msgs.join(", ")))
        } else if let (PathCost::Eks(f), Some(pods)) = (&m.cost, p.pods) {
            (pods > f.ready_pods).then(|| {
                format!(
                    "{} of the {pods} pods its share needs are ready",
                    f.ready_pods
                )
            })
        } else {
            None
        };
        // The data it is judged on: CloudWatch for AgentCore, the cluster for EKS.
        let feed = match m.kind {
            Side::Agentcore => SourceName::Cloudwatch,
            Side::Eks => SourceName::Kubernetes,
        };
        let why = why.or_else(|| {
            source_down(&snap.sources, feed)
                .map(|s| format!("its data is {} ({})", s.state.as_str(), s.name.as_str()))
        });
        if let Some(why) = why {
            out.push(Degraded {
                index: i,
                id: m.id.clone(),
                why,
            });
        }
    }
    out
}

/// Relief: move traffic away from the degraded paths to healthy ones, within the guard (bounds,
/// step, the shift limit). An EKS path short of pods gives up what its ready pods cannot serve;
/// any other degraded path up to the shift limit. Healthy AgentCore paths take it first (they
/// scale without waiting for nodes), cheapest first; a healthy EKS path only up to what its ready
/// pods can serve. `None` when no healthy path can take anything.
pub fn relief(
    model: &CostModel,
    current: &[u32],
    degraded: &[Degraded],
    guard: &Guard,
) -> Option<Vec<u32>> {
    let n = current.len();
    let step = guard.step.max(1);
    let down = |x: u32| x / step * step;
    let is_degraded = |i: usize| degraded.iter().any(|d| d.index == i);
    let cur_f: Vec<f64> = current.iter().map(|&w| f64::from(w)).collect();
    let now = model.project_with(&cur_f, true);
    // What each degraded path should give up, within its lower bound.
    let mut give: Vec<u32> = vec![0; n];
    for d in degraded {
        let i = d.index;
        let room = current[i].saturating_sub(guard.min_of(&model.paths[i].id));
        let want = match (&model.paths[i].cost, now.paths[i].pods) {
            (PathCost::Eks(f), Some(pods)) if pods > f.ready_pods => {
                // Keep the share its ready pods can serve, rounded down to the step.
                let serve = f64::from(current[i]) * f64::from(f.ready_pods) / f64::from(pods);
                current[i].saturating_sub(down(serve.floor() as u32))
            }
            _ => guard.max_shift_per_apply,
        };
        give[i] = down(want.min(room));
    }
    let budget = down(guard.max_shift_per_apply).min(give.iter().sum());
    if budget == 0 {
        return None;
    }
    // Destinations: healthy AgentCore paths, cheapest first, then a healthy EKS path up to what
    // its ready pods can serve without new nodes.
    let mut dest: Vec<(usize, f64)> = (0..n)
        .filter(|&i| !is_degraded(i))
        .filter_map(|i| match &model.paths[i].cost {
            PathCost::Agentcore {
                usd_per_request: Some(c),
            } => Some((i, *c)),
            PathCost::Agentcore {
                usd_per_request: None,
            } => None,
            PathCost::Eks(_) => Some((i, f64::MAX)),
        })
        .collect();
    dest.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut add = vec![0u32; n];
    let mut placed = 0;
    for (i, _) in dest {
        let mut cap = down(guard.max_of(&model.paths[i].id).saturating_sub(current[i]));
        if let (PathCost::Eks(f), Some(pods)) = (&model.paths[i].cost, now.paths[i].pods) {
            let spare_pods = f.ready_pods.saturating_sub(pods);
            let points = if current[i] > 0 && pods > 0 {
                f64::from(spare_pods) * f64::from(current[i]) / f64::from(pods)
            } else {
                0.0
            };
            cap = cap.min(down(points.floor().max(0.0) as u32));
        }
        add[i] = cap.min(budget - placed);
        placed += add[i];
        if placed == budget {
            break;
        }
    }
    if placed == 0 {
        return None;
    }
    let mut out = current.to_vec();
    let mut take = placed;
    for (o, g) in out.iter_mut().zip(&give) {
        let t = (*g).min(take);
        *o -= t;
        take -= t;
    }
    for (o, a) in out.iter_mut().zip(&add) {
        *o += a;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::snapshot::demo_snapshot;
    use crate::model::state::DeriveOptions;
    use crate::sources::simulator::Scenario;
    use proptest::prelude::*;

    fn fixture() -> &'static (Snapshot, AdvisorParams) {
        static F: std::sync::OnceLock<(Snapshot, AdvisorParams)> = std::sync::OnceLock::new();
        F.get_or_init(|| {
            let snap = demo_snapshot(11, Scenario::EksNodeLoss, 600, &DeriveOptions::default());
            (snap, AdvisorParams::from_config(&Config::demo()))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// For any split and any set of degraded paths: relief passes the guard, never adds
        /// traffic to a degraded path, and never touches a healthy path's share downward.
        #[test]
        fn relief_keeps_the_guard_and_points_away_from_trouble(
            a in 0u32..=20, b in 0u32..=20, mask in 1u8..8,
        ) {
            let (snap, params) = fixture();
            let model = CostModel::from_snapshot(snap, params);
            let (a, b) = (a * 5, (b * 5).min(100 - a * 5));
            let current = vec![a, b, 100 - a - b];
            let degraded: Vec<Degraded> = (0..3)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| Degraded { index: i, id: model.paths[i].id.clone(), why: "test".into() })
                .collect();
            let ids: Vec<PathId> = model.paths.iter().map(|p| p.id.clone()).collect();
            if let Some(to) = relief(&model, &current, &degraded, &params.guard) {
                prop_assert_eq!(to.iter().sum::<u32>(), 100);
                for d in &degraded {
                    prop_assert!(to[d.index] <= current[d.index], "{:?} -> {:?}", current, to);
                }
                for i in 0..3 {
                    if !degraded.iter().any(|d| d.index == i) {
                        prop_assert!(to[i] >= current[i]);
                    }
                }
                let from_w = Weights(ids.iter().cloned().zip(current.iter().copied()).collect());
                let to_w = Weights(ids.iter().cloned().zip(to.iter().copied()).collect());
                // Within bounds and the shift limit (a start outside the bounds is the guard's
                // own refusal, not relief's).
                if params.guard.check(&ids, None, &from_w, true).is_ok() {
                    prop_assert!(
                        params.guard.check(&ids, Some(&from_w), &to_w, false).is_ok(),
                        "{:?} -> {:?}", current, to
                    );
                }
            }
        }
    }
}
