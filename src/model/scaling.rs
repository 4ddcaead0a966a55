//! Scaling truth: one plain verdict per ScaledObject — why the EKS side is (not) scaling — and
//! the contradictions between what KEDA, its HPA and the pods say. Pure: it reads the fleet the
//! model holds (ScaledObject with its HPA's conditions, the path's pods, its events, the GPU
//! nodes being launched) and the time.
use crate::model::events::EventRow;
use crate::model::update::{Condition, Pod, ScaledObject};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What the verdict reads besides the ScaledObject.
pub struct Inputs<'a> {
    pub pods: &'a [&'a Pod],
    /// The newest FailedScheduling event about the path's pods.
    pub failed_scheduling: Option<&'a EventRow>,
    /// GPU nodes being launched for the path (NodeClaims not yet ready), with the oldest's start.
    pub launching_nodes: Option<(u32, DateTime<Utc>)>,
    /// Since when desired replicas have been above current (kept by the fleet).
    pub desired_above_since: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// Desired above current for longer than this is a contradiction.
    pub stuck_after: Duration,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    pub verdict: String,
    pub contradictions: Vec<String>,
}

/// `4m`, `1h05m`, `30s`.
pub fn age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn find<'a>(cs: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    cs.iter().find(|c| c.kind == kind)
}

fn is(cs: &[Condition], kind: &str, status: &str) -> bool {
    find(cs, kind).is_some_and(|c| c.status == status)
}

fn held(c: &Condition, now: DateTime<Utc>) -> String {
    match c.since {
        Some(t) => format!(" for {}", age(now - t)),
        None => String::new(),
    }
}

fn unschedulable(p: &Pod) -> bool {
    p.phase == "Pending"
        && p.reason
            .as_deref()
            .is_some_and(|r| r.contains("Unschedulable") || r.contains("FailedScheduling"))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

pub fn judge(so: &ScaledObject, i: &Inputs) -> Verdict {
    let now = i.now;
    let (cur, want) = (so.current_replicas, so.desired_replicas);
    let hpa_active = find(&so.hpa_conditions, "ScalingActive");
    let cannot_read = hpa_active.filter(|c| c.status == "False");
    let pending: Vec<&&Pod> = i.pods.iter().filter(|p| unschedulable(p)).collect();
    let loading = i
        .pods
        .iter()
        .filter(|p| p.phase == "Running" && !p.ready)
        .count();
    let paused_cond = find(&so.conditions, "Paused").filter(|c| c.is_true());

    let verdict = if let Some(c) = paused_cond {
        format!(
            "paused{} ({})",
            held(c, now),
            c.reason.as_deref().unwrap_or("Paused=True")
        )
    } else if so.paused {
        "paused by annotation".to_string()
    } else if !so.replicas_known() {
        // No HPA to say how many replicas there are: unknown, never "steady at 0".
        format!(
            "replicas unknown: {}",
            so.message
                .as_deref()
                .unwrap_or("no HPA found for this ScaledObject")
        )
    } else if let Some(c) = cannot_read {
        let why = match c.reason.as_deref() {
            Some("FailedGetExternalMetric")
            | Some("FailedGetObjectMetric")
            | Some("FailedGetPodsMetric")
            | Some("FailedGetResourceMetric") => "HPA cannot read the metric",
            _ => "HPA scaling is not active",
        };
        format!(
            "not scaling: {why} ({}){}",
            c.reason.as_deref().unwrap_or("ScalingActive=False"),
            held(c, now)
        )
    } else if so.fallback {
        format!(
            "fallback active: {want} replicas while the trigger fails{}",
            if so.failing_trigger_names.is_empty() {
                String::new()
            } else {
                format!(" ({})", so.failing_trigger_names.join(", "))
            }
        )
    } else {
        let ready = i
            .pods
            .iter()
            .filter(|p| p.ready && p.phase == "Running")
            .count() as u32;
        let capped = want >= so.max_replicas
            && so.max_replicas > 0
            && (is(&so.hpa_conditions, "ScalingLimited", "True")
                || so
                    .metric_value
                    .zip(so.metric_target)
                    .is_some_and(|(v, t)| v > t));
        // Where the replicas stand: the pods that serve are the ready ones.
        let head = if capped {
            format!("capped at max {}", so.max_replicas)
        } else if want > ready && (want > cur || !pending.is_empty() || loading > 0) {
            format!("scaling up {ready}→{want}")
        } else if want < cur {
            format!("scaling down {cur}→{want}")
        } else {
            format!("steady at {cur}")
        };
        if !pending.is_empty() {
            let oldest = pending.iter().map(|p| p.created_at).min();
            let waited = oldest
                .map(|t| format!(" for {}", age(now - t)))
                .unwrap_or_default();
            let mut s = format!(
                "{head}: {} waiting for a GPU node{waited}",
                plural(pending.len(), "pod", "pods")
            );
            if i.failed_scheduling.is_some() {
                s.push_str(" (FailedScheduling)");
            }
            if let Some((n, t)) = i.launching_nodes {
                s.push_str(&format!(
                    "; {} launching for {}",
                    plural(n as usize, "node", "nodes"),
                    age(now - t)
                ));
            }
            if loading > 0 {
                s.push_str(&format!(
                    "; {} loading the model",
                    plural(loading, "pod", "pods")
                ));
            }
            s
        } else if loading > 0 {
            format!(
                "{head}: {} loading the model",
                plural(loading, "pod", "pods")
            )
        } else if want > cur {
            let since = i
                .desired_above_since
                .map(|t| format!(" for {}", age(now - t)))
                .unwrap_or_default();
            format!("{head}{since}")
        } else {
            head
        }
    };

    let mut contradictions = Vec::new();
    if so.ready {
        if let Some(c) = cannot_read {
            contradictions.push(format!(
                "ScaledObject Ready=True but its HPA has ScalingActive=False ({}){}",
                c.reason.as_deref().unwrap_or("no reason"),
                held(c, now)
            ));
        }
    }
    if let Some(c) = paused_cond {
        if !so.paused_annotation {
            contradictions.push(format!(
                "Paused=True{} but the paused annotation is gone",
                held(c, now)
            ));
        }
    }
    if let Some(t) = i.desired_above_since {
        let stuck = chrono::Duration::from_std(i.stuck_after).unwrap_or(chrono::Duration::MAX);
        if want > cur && now - t > stuck {
            contradictions.push(format!(
                "desired {want} > current {cur} for {} (longer than {})",
                age(now - t),
                age(stuck)
            ));
        }
    }
    if so.fallback && so.failing_triggers == 0 {
        contradictions
            .push("Fallback=True but no trigger is failing (fallback not cleared)".into());
    }
    if !so.active && !so.paused {
        if let (Some(v), Some(t)) = (so.metric_value, so.metric_target) {
            if v > t && is(&so.conditions, "Active", "False") {
                contradictions.push(format!(
                    "Active=False but the metric ({}) is above its target ({})",
                    crate::model::alerts::num(v),
                    crate::model::alerts::num(t)
                ));
            }
        }
    }
    Verdict {
        verdict,
        contradictions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    fn cond(kind: &str, status: &str, reason: Option<&str>, since: Option<i64>) -> Condition {
        Condition {
            kind: kind.into(),
            status: status.into(),
            reason: reason.map(str::to_string),
            message: None,
            since: since.map(at),
        }
    }

    fn so(cur: u32, want: u32) -> ScaledObject {
        let mut s = crate::model::fleet::tests::so("vllm", want, Some("eks-qwen3"));
        s.current_replicas = cur;
        s.desired_replicas = want;
        s.min_replicas = 1;
        s.max_replicas = 8;
        s.ready = true;
        s.active = true;
        s.conditions = vec![
            cond("Ready", "True", None, Some(0)),
            cond("Active", "True", None, Some(0)),
        ];
        s.hpa_conditions = vec![
            cond("AbleToScale", "True", Some("ReadyForNewScale"), Some(0)),
            cond("ScalingActive", "True", Some("ValidMetricFound"), Some(0)),
        ];
        s
    }

    fn pod(name: &str, phase: &str, ready: bool, reason: Option<&str>) -> Pod {
        Pod {
            namespace: "agents".into(),
            name: name.into(),
            phase: phase.into(),
            ready,
            ready_containers: u32::from(ready),
            total_containers: 1,
            restarts: 0,
            node: None,
            created_at: at(0),
            reason: reason.map(str::to_string),
            path: Some("eks-qwen3".into()),
            message: None,
        }
    }

    fn inputs<'a>(pods: &'a [&'a Pod], since: Option<i64>) -> Inputs<'a> {
        Inputs {
            pods,
            failed_scheduling: None,
            launching_nodes: None,
            desired_above_since: since.map(at),
            now: at(600),
            stuck_after: Duration::from_secs(300),
        }
    }

    #[test]
    fn waiting_for_a_gpu_node_says_how_many_and_how_long() {
        let mut a = pod("a", "Pending", false, Some("Unschedulable"));
        a.created_at = at(360);
        let mut b = pod("b", "Pending", false, Some("Unschedulable"));
        b.created_at = at(380);
        let c = pod("c", "Running", true, None);
        let pods = [&a, &b, &c];
        let mut i = inputs(&pods, Some(360));
        i.launching_nodes = Some((2, at(420)));
        let v = judge(&so(3, 5), &i);
        assert_eq!(
            v.verdict,
            "scaling up 1→5: 2 pods waiting for a GPU node for 4m; 2 nodes launching for 3m"
        );
        // The Deployment already counts the pending pods (current 5): still waiting on nodes.
        let v = judge(&so(5, 5), &i);
        assert_eq!(
            v.verdict,
            "scaling up 1→5: 2 pods waiting for a GPU node for 4m; 2 nodes launching for 3m"
        );
        assert!(v.contradictions.is_empty(), "{v:?}");
        // Longer than stuck_after: flagged.
        let v = judge(&so(3, 5), &inputs(&pods, Some(0)));
        assert_eq!(
            v.contradictions,
            ["desired 5 > current 3 for 10m (longer than 5m)"]
        );
    }

    #[test]
    fn an_hpa_that_cannot_read_its_metric_contradicts_ready() {
        let mut s = so(2, 2);
        s.hpa_conditions[1] = cond(
            "ScalingActive",
            "False",
            Some("FailedGetExternalMetric"),
            Some(300),
        );
        let v = judge(&s, &inputs(&[], None));
        assert_eq!(
            v.verdict,
            "not scaling: HPA cannot read the metric (FailedGetExternalMetric) for 5m"
        );
        assert_eq!(
            v.contradictions,
            ["ScaledObject Ready=True but its HPA has ScalingActive=False (FailedGetExternalMetric) for 5m"]
        );
    }

    #[test]
    fn paused_capped_fallback_and_steady() {
        let mut s = so(2, 2);
        s.conditions
            .push(cond("Paused", "True", Some("ScaledObjectPaused"), Some(0)));
        s.paused = true;
        let v = judge(&s, &inputs(&[], None));
        assert_eq!(v.verdict, "paused for 10m (ScaledObjectPaused)");
        assert_eq!(
            v.contradictions,
            ["Paused=True for 10m but the paused annotation is gone"]
        );
        let mut s = so(8, 8);
        s.hpa_conditions.push(cond(
            "ScalingLimited",
            "True",
            Some("TooManyReplicas"),
            None,
        ));
        assert_eq!(judge(&s, &inputs(&[], None)).verdict, "capped at max 8");
        let mut s = so(2, 4);
        s.fallback = true;
        let v = judge(&s, &inputs(&[], None));
        assert!(
            v.verdict.starts_with("fallback active: 4 replicas"),
            "{v:?}"
        );
        assert_eq!(
            v.contradictions,
            ["Fallback=True but no trigger is failing (fallback not cleared)"]
        );
        let r = [
            pod("r1", "Running", true, None),
            pod("r2", "Running", true, None),
            pod("r3", "Running", true, None),
        ];
        let rs: Vec<&Pod> = r.iter().collect();
        assert_eq!(judge(&so(3, 3), &inputs(&rs, None)).verdict, "steady at 3");
        let l = pod("l", "Running", false, Some("loading model"));
        assert_eq!(
            judge(&so(3, 3), &inputs(&[&r[0], &r[1], &l], None)).verdict,
            "scaling up 2→3: 1 pod loading the model"
        );
        assert_eq!(
            judge(&so(5, 3), &inputs(&[], None)).verdict,
            "scaling down 5→3"
        );
        // Without its HPA the replicas are unknown, not "steady at 0".
        let mut s = so(0, 0);
        s.hpa_name = None;
        s.hpa_conditions.clear();
        s.message = Some("no HPA found (keda-hpa-vllm)".into());
        assert_eq!(
            judge(&s, &inputs(&[], None)).verdict,
            "replicas unknown: no HPA found (keda-hpa-vllm)"
        );
    }
}
