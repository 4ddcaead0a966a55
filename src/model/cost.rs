//! Cost formulas (ARCHITECTURE.md "Definitions" → "Cost"). Pure functions so every view, export and check uses
//! the same arithmetic.
use crate::config::{AgentcorePath, EksPath};

pub const HOURS_PER_MONTH: f64 = 730.0;

/// AgentCore token cost per hour: tokens seen over `span_secs`, priced per 1k, scaled to an hour.
pub fn agentcore_tokens_usd_per_hour(
    prices: &AgentcorePath,
    input_tokens: f64,
    output_tokens: f64,
    span_secs: f64,
) -> Option<f64> {
    if !(span_secs.is_finite() && span_secs > 0.0) {
        return None;
    }
    let usd = input_tokens / 1000.0 * prices.usd_per_1k_input_tokens
        + output_tokens / 1000.0 * prices.usd_per_1k_output_tokens;
    finite(usd / span_secs * 3600.0)
}

/// AgentCore runtime usage (vCPU-hours and GB-hours) priced in dollars.
pub fn agentcore_usage_usd(prices: &AgentcorePath, vcpu_hours: f64, gb_hours: f64) -> f64 {
    let v =
        vcpu_hours.max(0.0) * prices.usd_per_vcpu_hour + gb_hours.max(0.0) * prices.usd_per_gb_hour;
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// Runtime usage as an hourly rate over the seconds the usage intervals covered.
pub fn usage_usd_per_hour(usage_usd: f64, covered_secs: f64) -> Option<f64> {
    if !(covered_secs.is_finite() && covered_secs > 0.0) {
        return None;
    }
    finite(usage_usd / covered_secs * 3600.0)
}

/// EKS: GPU nodes in use × the node price.
pub fn eks_usd_per_hour(prices: &EksPath, nodes_in_use: u32) -> f64 {
    f64::from(nodes_in_use) * prices.gpu_node_usd_per_hour
}

/// AgentCore $ per request: its tokens at the path's prices plus the runtime it holds
/// (`runtime_s` seconds of `vcpu` vCPUs and `gb` GB).
pub fn agentcore_usd_per_request(
    prices: &AgentcorePath,
    input_tokens: f64,
    output_tokens: f64,
    runtime_s: f64,
    vcpu: f64,
    gb: f64,
) -> f64 {
    let tokens = input_tokens.max(0.0) / 1000.0 * prices.usd_per_1k_input_tokens
        + output_tokens.max(0.0) / 1000.0 * prices.usd_per_1k_output_tokens;
    let hours = runtime_s.max(0.0) / 3600.0;
    let v = tokens + agentcore_usage_usd(prices, hours * vcpu, hours * gb);
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// Pods KEDA runs for `rpm` requests/min at `per_pod_rpm` per pod (its target): ⌈rpm / target⌉,
/// never fewer than `min_pods`.
pub fn eks_pods_for(rpm: f64, per_pod_rpm: f64, min_pods: u32) -> u32 {
    if !(rpm.is_finite() && rpm > 0.0) {
        return min_pods;
    }
    let per = if per_pod_rpm.is_finite() && per_pod_rpm > 0.0 {
        per_pod_rpm
    } else {
        return min_pods.max(1);
    };
    // A hair of slack so 90.000000001 rpm at 45/pod is 2 pods, not 3.
    let pods = (rpm / per - 1e-9).ceil().clamp(1.0, f64::from(u32::MAX));
    (pods as u32).max(min_pods)
}

/// EKS $/h for `pods` pods: whole GPU nodes of `pods_per_node` pods each.
pub fn eks_fleet_usd_per_hour(pods: u32, pods_per_node: u32, node_usd_per_hour: f64) -> f64 {
    let nodes = pods.div_ceil(pods_per_node.max(1));
    let v = f64::from(nodes) * node_usd_per_hour;
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

/// `usd_per_hour / (rpm × 60) × 1000`; `None` when there are no requests.
pub fn usd_per_1k_requests(usd_per_hour: Option<f64>, rpm: f64) -> Option<f64> {
    let usd = usd_per_hour?;
    if !(rpm.is_finite() && rpm > 0.0) {
        return None;
    }
    finite(usd / (rpm * 60.0) * 1000.0)
}

pub fn projected_month(usd_per_hour: Option<f64>) -> Option<f64> {
    usd_per_hour.and_then(|u| finite(u * HOURS_PER_MONTH))
}

/// Projected monthly requests: rpm × 60 × 730.
pub fn monthly_requests(rpm: f64) -> f64 {
    let v = rpm * 60.0 * HOURS_PER_MONTH;
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

pub fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn hand_computed() {
        let sonnet = AgentcorePath {
            usd_per_1k_input_tokens: 0.003,
            usd_per_1k_output_tokens: 0.015,
            usd_per_vcpu_hour: 0.0895,
            usd_per_gb_hour: 0.00945,
            ..AgentcorePath::default()
        };
        // 300 s window: 600k input, 120k output tokens → $1.80 + $1.80 = $3.60 per 5 min
        // → $43.20/h.
        let h = agentcore_tokens_usd_per_hour(&sonnet, 600_000.0, 120_000.0, 300.0).unwrap();
        assert!(close(h, 43.2), "{h}");
        // 2 vCPU-hours + 4 GB-hours → 0.179 + 0.0378 = $0.2168, over a 60 s interval → $13.008/h.
        let u = agentcore_usage_usd(&sonnet, 2.0, 4.0);
        assert!(close(u, 0.2168));
        assert!(close(usage_usd_per_hour(u, 60.0).unwrap(), 13.008));
        assert_eq!(usage_usd_per_hour(1.0, 0.0), None);
        // EKS: 3 nodes at $1.006 → $3.018/h; at 300 rpm → 3.018 / 18000 × 1000 = $0.16767/1k.
        let eks = EksPath::default();
        let e = eks_usd_per_hour(&eks, 3);
        assert!(close(e, 3.018));
        assert!(close(
            usd_per_1k_requests(Some(e), 300.0).unwrap(),
            3.018 / 18.0
        ));
        assert!(close(projected_month(Some(e)).unwrap(), 3.018 * 730.0));
        assert_eq!(usd_per_1k_requests(Some(e), 0.0), None);
        assert_eq!(usd_per_1k_requests(None, 10.0), None);
        assert!(close(monthly_requests(300.0), 13_140_000.0));
        assert_eq!(agentcore_tokens_usd_per_hour(&sonnet, 1.0, 1.0, 0.0), None);
        assert_eq!(monthly_requests(f64::INFINITY), 0.0);
    }
}
