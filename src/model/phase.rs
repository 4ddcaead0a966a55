//! Phase advisor (seed, "Transition Trigger Metrics" and "Success Metrics"), evaluated on
//! projected-month values.
//!
//! Triggers keep the contract's shape: `met` is `value > threshold`. The configured facts are
//! numbers too: `custom_model_needed` is 1 or 0 (threshold 0), `team_k8s_capability` is the
//! level none 0 / beginner 1 / intermediate 2 / advanced 3, and the seed's "Beginner" (Phase 2)
//! and "Intermediate+" (Phase 3) become thresholds 0 and 1.
use crate::config::TeamCapability;
use crate::model::snapshot::{PhaseTrigger, PhaseView, SuccessMetric};

/// Phase 1 → 2.
pub const P2_MONTHLY_REQUESTS: f64 = 500_000.0;
pub const P2_MONTHLY_COST_USD: f64 = 1_500.0;
pub const P2_P95_MS: f64 = 100.0;
/// Phase 2 → 3.
pub const P3_MONTHLY_REQUESTS: f64 = 1_500_000.0;
pub const P3_MONTHLY_COST_USD: f64 = 3_000.0;
pub const P3_P95_MS: f64 = 200.0;
pub const P3_CONTEXT_LOSS_RATE: f64 = 0.05;
/// Success metrics (Phase 3).
pub const COST_REDUCTION_MIN: f64 = 0.40;
pub const COST_REDUCTION_MAX: f64 = 0.60;
pub const P95_IMPROVEMENT_MIN: f64 = 0.20;
pub const CONTEXT_CONSISTENCY_MIN: f64 = 0.95;
pub const AVAILABILITY_MIN: f64 = 0.999;

/// Inputs, all projected to a month where it applies.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseInputs {
    pub eks_has_traffic: bool,
    pub monthly_requests: f64,
    pub monthly_cost_usd: Option<f64>,
    pub p95_ms: Option<f64>,
    pub context_loss_rate: Option<f64>,
    pub custom_model_needed: bool,
    pub team: TeamCapability,
    /// `[advisor] current_phase`.
    pub configured_phase: Option<u8>,
    /// Hybrid sessions and hand-offs between the sides in the window (Phase 3's cross-routing).
    pub hybrid_sessions: u64,
    pub handoffs: u64,
    /// The AgentCore-only baseline for the cost reduction ($/month, the advisor's mode).
    pub agentcore_only_usd_per_month: Option<f64>,
    /// p95 over the AgentCore paths' requests (the "AgentCore standalone" latency).
    pub agentcore_p95_ms: Option<f64>,
    /// Failed requests / all requests over the window.
    pub error_rate: Option<f64>,
}

fn trigger(metric: &str, value: Option<f64>, threshold: f64, toward: u8) -> PhaseTrigger {
    let value = value.filter(|v| v.is_finite());
    PhaseTrigger {
        metric: metric.into(),
        value,
        threshold,
        met: value.is_some_and(|v| v > threshold),
        toward_phase: toward,
    }
}

fn success(
    metric: &str,
    value: Option<f64>,
    target: f64,
    target_max: Option<f64>,
    baseline: Option<f64>,
    actual: Option<f64>,
) -> SuccessMetric {
    let value = value.filter(|v| v.is_finite());
    SuccessMetric {
        metric: metric.into(),
        value,
        target,
        target_max,
        // A hair of tolerance: 1 − 80/100 is 0.19999999999999996, and that meets 20 %.
        met: value.is_some_and(|v| v >= target - 1e-9),
        baseline: baseline.filter(|v| v.is_finite()),
        actual: actual.filter(|v| v.is_finite()),
    }
}

/// `1 − actual / baseline` when the baseline is positive.
fn reduction(baseline: Option<f64>, actual: Option<f64>) -> Option<f64> {
    match (baseline, actual) {
        (Some(b), Some(a)) if b > 0.0 && b.is_finite() && a.is_finite() => Some(1.0 - a / b),
        _ => None,
    }
}

pub fn evaluate(i: &PhaseInputs) -> PhaseView {
    // Phase 1 = AgentCore only; as soon as an EKS path carries traffic the platform is in 2.
    // Phase 3 (dual-write memory, cross-routing) shows in the data as hybrid sessions handing
    // off between the sides with a measured context-loss rate, at the transition table's volume
    // and cost; `[advisor] current_phase` still overrides.
    let phase3 = i.eks_has_traffic
        && i.hybrid_sessions > 0
        && i.handoffs > 0
        && i.context_loss_rate.is_some()
        && i.monthly_requests > P3_MONTHLY_REQUESTS
        && i.monthly_cost_usd.is_some_and(|c| c > P3_MONTHLY_COST_USD);
    let inferred = if phase3 {
        3
    } else if i.eks_has_traffic {
        2
    } else {
        1
    };
    let current = i.configured_phase.filter(|p| (1..=3).contains(p));
    let req = Some(i.monthly_requests);
    let custom = Some(if i.custom_model_needed { 1.0 } else { 0.0 });
    let team = Some(f64::from(i.team.level()));
    let triggers = vec![
        trigger("monthly_requests", req, P2_MONTHLY_REQUESTS, 2),
        trigger(
            "monthly_cost_usd",
            i.monthly_cost_usd,
            P2_MONTHLY_COST_USD,
            2,
        ),
        trigger("p95_ms", i.p95_ms, P2_P95_MS, 2),
        trigger("monthly_requests", req, P3_MONTHLY_REQUESTS, 3),
        trigger(
            "monthly_cost_usd",
            i.monthly_cost_usd,
            P3_MONTHLY_COST_USD,
            3,
        ),
        trigger("p95_ms", i.p95_ms, P3_P95_MS, 3),
        trigger(
            "context_loss_rate",
            i.context_loss_rate,
            P3_CONTEXT_LOSS_RATE,
            3,
        ),
        // "Fine-tuning needed" (→ 2), "Domain-specific SLM needed" (→ 3).
        trigger("custom_model_needed", custom, 0.0, 2),
        trigger("team_k8s_capability", team, 0.0, 2),
        trigger("custom_model_needed", custom, 0.0, 3),
        trigger("team_k8s_capability", team, 1.0, 3),
    ];
    let availability = i.error_rate.map(|e| 1.0 - e.clamp(0.0, 1.0));
    let success_metrics = vec![
        // Cost reduction vs AgentCore only: baseline = the AgentCore-only mode, actual = the
        // estimate now ($/month).
        success(
            "cost_reduction",
            reduction(i.agentcore_only_usd_per_month, i.monthly_cost_usd),
            COST_REDUCTION_MIN,
            Some(COST_REDUCTION_MAX),
            i.agentcore_only_usd_per_month,
            i.monthly_cost_usd,
        ),
        // p95 improvement vs AgentCore standalone: baseline = p95 of the AgentCore paths,
        // actual = p95 of all requests (ms).
        success(
            "p95_improvement",
            reduction(i.agentcore_p95_ms, i.p95_ms),
            P95_IMPROVEMENT_MIN,
            None,
            i.agentcore_p95_ms,
            i.p95_ms,
        ),
        // Session context consistency = 1 − context loss rate; actual = the loss rate.
        success(
            "context_consistency",
            i.context_loss_rate.map(|c| 1.0 - c.clamp(0.0, 1.0)),
            CONTEXT_CONSISTENCY_MIN,
            None,
            None,
            i.context_loss_rate,
        ),
        // Availability = 1 − error rate over all requests; actual = the error rate.
        success(
            "availability",
            availability,
            AVAILABILITY_MIN,
            None,
            None,
            i.error_rate,
        ),
    ];
    let current_phase = current.unwrap_or(inferred);
    PhaseView {
        current: current_phase,
        triggers,
        configured: current.is_some(),
        next: (current_phase < 3).then_some(current_phase + 1),
        success_metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PhaseInputs {
        PhaseInputs {
            eks_has_traffic: true,
            monthly_requests: 1_700_000.0,
            monthly_cost_usd: Some(1_500.0),
            p95_ms: None,
            context_loss_rate: Some(0.06),
            ..PhaseInputs::default()
        }
    }

    #[test]
    fn phase_3_is_inferred_from_the_data_and_configuration_overrides() {
        let hybrid = PhaseInputs {
            eks_has_traffic: true,
            monthly_requests: 2_000_000.0,
            monthly_cost_usd: Some(4_000.0),
            context_loss_rate: Some(0.01),
            hybrid_sessions: 40,
            handoffs: 55,
            ..base()
        };
        assert_eq!(evaluate(&hybrid).current, 3);
        assert_eq!(evaluate(&hybrid).next, None);
        // Each piece of evidence is needed.
        for v in [
            PhaseInputs {
                handoffs: 0,
                ..hybrid
            },
            PhaseInputs {
                hybrid_sessions: 0,
                ..hybrid
            },
            PhaseInputs {
                context_loss_rate: None,
                ..hybrid
            },
            PhaseInputs {
                monthly_requests: 1_000_000.0,
                ..hybrid
            },
            PhaseInputs {
                monthly_cost_usd: Some(2_000.0),
                ..hybrid
            },
        ] {
            assert_eq!(evaluate(&v).current, 2, "{v:?}");
        }
        assert_eq!(
            evaluate(&PhaseInputs {
                configured_phase: Some(2),
                ..hybrid
            })
            .current,
            2
        );
    }

    #[test]
    fn triggers() {
        let v = evaluate(&base());
        assert_eq!(v.current, 2);
        assert_eq!(v.next, Some(3));
        assert!(!v.configured);
        let met: Vec<(&str, u8, bool)> = v
            .triggers
            .iter()
            .map(|t| (t.metric.as_str(), t.toward_phase, t.met))
            .collect();
        assert_eq!(
            met,
            [
                ("monthly_requests", 2, true),
                ("monthly_cost_usd", 2, false), // equal is not over
                ("p95_ms", 2, false),           // unknown is not met
                ("monthly_requests", 3, true),
                ("monthly_cost_usd", 3, false),
                ("p95_ms", 3, false),
                ("context_loss_rate", 3, true),
                ("custom_model_needed", 2, false),
                ("team_k8s_capability", 2, true), // beginner is enough for Phase 2
                ("custom_model_needed", 3, false),
                ("team_k8s_capability", 3, false), // …but not for Phase 3
            ]
        );
        assert_eq!(evaluate(&PhaseInputs::default()).current, 1);
    }

    /// Every numeric trigger at, just below and just above its threshold: `met` only above.
    #[test]
    fn at_below_and_above_each_threshold() {
        let cases: [(&str, u8, f64); 7] = [
            ("monthly_requests", 2, P2_MONTHLY_REQUESTS),
            ("monthly_cost_usd", 2, P2_MONTHLY_COST_USD),
            ("p95_ms", 2, P2_P95_MS),
            ("monthly_requests", 3, P3_MONTHLY_REQUESTS),
            ("monthly_cost_usd", 3, P3_MONTHLY_COST_USD),
            ("p95_ms", 3, P3_P95_MS),
            ("context_loss_rate", 3, P3_CONTEXT_LOSS_RATE),
        ];
        for (metric, toward, threshold) in cases {
            let eps = threshold * 1e-6;
            for (v, want) in [
                (threshold - eps, false),
                (threshold, false),
                (threshold + eps, true),
            ] {
                let mut i = PhaseInputs::default();
                match metric {
                    "monthly_requests" => i.monthly_requests = v,
                    "monthly_cost_usd" => i.monthly_cost_usd = Some(v),
                    "p95_ms" => i.p95_ms = Some(v),
                    _ => i.context_loss_rate = Some(v),
                }
                let view = evaluate(&i);
                let t = view
                    .triggers
                    .iter()
                    .find(|t| t.metric == metric && t.toward_phase == toward)
                    .unwrap();
                assert_eq!(t.threshold, threshold);
                assert_eq!(t.value, Some(v));
                assert_eq!(t.met, want, "{metric} → {toward} at {v}");
            }
        }
    }

    #[test]
    fn configured_facts_and_phase() {
        let find = |v: &PhaseView, m: &str, p: u8| {
            v.triggers
                .iter()
                .find(|t| t.metric == m && t.toward_phase == p)
                .map(|t| (t.value, t.met))
                .unwrap()
        };
        for (team, to2, to3) in [
            (TeamCapability::None, false, false),
            (TeamCapability::Beginner, true, false),
            (TeamCapability::Intermediate, true, true),
            (TeamCapability::Advanced, true, true),
        ] {
            let v = evaluate(&PhaseInputs {
                team,
                ..PhaseInputs::default()
            });
            let lvl = Some(f64::from(team.level()));
            assert_eq!(find(&v, "team_k8s_capability", 2), (lvl, to2), "{team:?}");
            assert_eq!(find(&v, "team_k8s_capability", 3), (lvl, to3), "{team:?}");
        }
        for (needed, met) in [(false, false), (true, true)] {
            let v = evaluate(&PhaseInputs {
                custom_model_needed: needed,
                ..PhaseInputs::default()
            });
            assert_eq!(find(&v, "custom_model_needed", 2).1, met);
            assert_eq!(find(&v, "custom_model_needed", 3).1, met);
        }
        let v = evaluate(&PhaseInputs {
            configured_phase: Some(3),
            ..PhaseInputs::default()
        });
        assert_eq!((v.current, v.configured, v.next), (3, true, None));
        let v = evaluate(&PhaseInputs {
            configured_phase: Some(9),
            ..PhaseInputs::default()
        });
        assert_eq!(
            (v.current, v.configured),
            (1, false),
            "out of range ignored"
        );
    }

    #[test]
    fn success_metrics() {
        let v = evaluate(&PhaseInputs {
            monthly_cost_usd: Some(5_000.0),
            agentcore_only_usd_per_month: Some(10_000.0),
            p95_ms: Some(80.0),
            agentcore_p95_ms: Some(100.0),
            context_loss_rate: Some(0.04),
            error_rate: Some(0.002),
            ..PhaseInputs::default()
        });
        let m: Vec<(&str, Option<f64>, bool)> = v
            .success_metrics
            .iter()
            .map(|s| {
                (
                    s.metric.as_str(),
                    s.value.map(|x| (x * 1e6).round() / 1e6),
                    s.met,
                )
            })
            .collect();
        assert_eq!(
            m,
            [
                ("cost_reduction", Some(0.5), true),
                ("p95_improvement", Some(0.2), true), // exactly the target is met
                ("context_consistency", Some(0.96), true),
                ("availability", Some(0.998), false),
            ]
        );
        assert_eq!(v.success_metrics[0].target_max, Some(0.6));
        assert_eq!(v.success_metrics[0].baseline, Some(10_000.0));
        assert_eq!(v.success_metrics[1].actual, Some(80.0));
        // Just below each target is not met.
        let v = evaluate(&PhaseInputs {
            monthly_cost_usd: Some(6_000.1),
            agentcore_only_usd_per_month: Some(10_000.0),
            p95_ms: Some(80.1),
            agentcore_p95_ms: Some(100.0),
            context_loss_rate: Some(0.0501),
            error_rate: Some(0.00101),
            ..PhaseInputs::default()
        });
        assert!(v.success_metrics.iter().all(|s| !s.met), "{v:?}");
        // Unknown inputs: null values, not met; a zero baseline gives no ratio.
        let v = evaluate(&PhaseInputs {
            agentcore_only_usd_per_month: Some(0.0),
            monthly_cost_usd: Some(1.0),
            ..PhaseInputs::default()
        });
        assert!(v
            .success_metrics
            .iter()
            .all(|s| s.value.is_none() && !s.met));
    }
}
