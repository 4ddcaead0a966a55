//! Phase advisor (seed, "Transition Trigger Metrics"), evaluated on projected-month values.
use crate::model::snapshot::{PhaseTrigger, PhaseView};

/// Inputs, all projected to a month where it applies.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseInputs {
    pub eks_has_traffic: bool,
    pub monthly_requests: f64,
    pub monthly_cost_usd: Option<f64>,
    pub p95_ms: Option<f64>,
    pub context_loss_rate: Option<f64>,
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

pub fn evaluate(i: &PhaseInputs) -> PhaseView {
    // Phase 1 = AgentCore only; as soon as an EKS path carries traffic the platform is in 2.
    let current = if i.eks_has_traffic { 2 } else { 1 };
    let req = Some(i.monthly_requests);
    PhaseView {
        current,
        triggers: vec![
            trigger("monthly_requests", req, 500_000.0, 2),
            trigger("monthly_cost_usd", i.monthly_cost_usd, 1_500.0, 2),
            trigger("p95_ms", i.p95_ms, 100.0, 2),
            trigger("monthly_requests", req, 1_500_000.0, 3),
            trigger("monthly_cost_usd", i.monthly_cost_usd, 3_000.0, 3),
            trigger("p95_ms", i.p95_ms, 200.0, 3),
            trigger("context_loss_rate", i.context_loss_rate, 0.05, 3),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        let v = evaluate(&PhaseInputs {
            eks_has_traffic: true,
            monthly_requests: 1_700_000.0,
            monthly_cost_usd: Some(1_500.0),
            p95_ms: None,
            context_loss_rate: Some(0.06),
        });
        assert_eq!(v.current, 2);
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
            ]
        );
        assert_eq!(evaluate(&PhaseInputs::default()).current, 1);
    }
}
