//! Scenarios: what goes wrong, and when. Every scenario runs [`ONSET`] seconds of steady state
//! first, then plays onset → peak → recovery inside the first 30 simulated minutes.
//!
//! All intensities here are pure functions of `t`, the simulated second a step starts at
//! (`elapsed_seconds()` before the step), so the same second always means the same stage.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Seconds of steady state before any scenario starts (6 simulated minutes).
pub const ONSET: u64 = 360;

/// Which incident the simulator plays.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Nothing happens: the daily traffic shape and KEDA keeping up with it.
    #[default]
    Steady,
    /// About half of the EKS GPU nodes disappear; pods go Unknown, are replaced, wait for new
    /// nodes and the model load, then the path recovers.
    EksNodeLoss,
    /// AgentCore throttles Haiku (and some Sonnet), peaking at ~25 % of requests.
    AgentcoreThrottling,
    /// Arrivals ramp to 2.2× over 2 minutes and hold for 8; KEDA catches up with its delays
    /// (2.2× keeps the EKS path below saturation at maxReplicas 8 × 60 rpm, so it settles).
    TrafficSpike,
    /// Langfuse stops answering: traces go stale, then error; backfilled on recovery.
    LangfuseOutage,
    /// The dual-write memory sync fails for a rising share of sessions: orphaned EKS spans.
    /// Also carries hostile (terminal-control) strings in some span names and status messages.
    ContextLoss,
    /// KEDA's HPA cannot read its external metric while the ScaledObject still says Ready:
    /// traffic climbs 1.8× and the EKS side does not scale until the metric comes back.
    KedaStuck,
    /// The in-VPC MCP tool target behind the AgentCore Gateway (PrivateLink into EKS) slows:
    /// its TargetExecutionTime rises, AgentCore p95 follows, a CloudWatch alarm fires.
    McpPrivatelinkDegraded,
}

/// Stage boundaries of a scenario in simulated seconds since the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The incident starts.
    pub onset: u64,
    /// The incident is at its worst from here…
    pub peak_start: u64,
    /// …until here.
    pub peak_end: u64,
    /// The cause is gone (the symptoms may take a little longer, e.g. KEDA scale-down).
    pub recovered: u64,
}

impl Scenario {
    pub const NAMES: [&'static str; 8] = [
        "steady",
        "eks-node-loss",
        "agentcore-throttling",
        "traffic-spike",
        "langfuse-outage",
        "context-loss",
        "keda-stuck",
        "mcp-privatelink-degraded",
    ];

    pub const ALL: [Scenario; 8] = [
        Scenario::Steady,
        Scenario::EksNodeLoss,
        Scenario::AgentcoreThrottling,
        Scenario::TrafficSpike,
        Scenario::LangfuseOutage,
        Scenario::ContextLoss,
        Scenario::KedaStuck,
        Scenario::McpPrivatelinkDegraded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::EksNodeLoss => "eks-node-loss",
            Scenario::AgentcoreThrottling => "agentcore-throttling",
            Scenario::TrafficSpike => "traffic-spike",
            Scenario::LangfuseOutage => "langfuse-outage",
            Scenario::ContextLoss => "context-loss",
            Scenario::KedaStuck => "keda-stuck",
            Scenario::McpPrivatelinkDegraded => "mcp-privatelink-degraded",
        }
    }

    /// One line for help texts.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::Steady => "steady state: daily traffic shape, KEDA keeping up",
            Scenario::EksNodeLoss => {
                "half the EKS GPU nodes are lost at 6 min; new nodes + model load, recovered ~11 min"
            }
            Scenario::AgentcoreThrottling => {
                "AgentCore throttles Haiku (and some Sonnet) from 6 min, ~25 % at 10-14 min, gone by 20 min"
            }
            Scenario::TrafficSpike => {
                "arrivals ramp to 2.2x over 2 min at 6 min, hold 8 min; KEDA scales with its delays"
            }
            Scenario::LangfuseOutage => {
                "Langfuse unreachable from 6 min (stale, then 503 errors); backfilled at 20 min"
            }
            Scenario::ContextLoss => {
                "dual-write failures orphan EKS spans from 6 min (peak ~40 %), gone by 25 min; hostile span names"
            }
            Scenario::KedaStuck => {
                "the HPA cannot read KEDA's metric from 6 min while the ScaledObject says Ready; traffic 1.8x, no scale-up until 20 min"
            }
            Scenario::McpPrivatelinkDegraded => {
                "the in-VPC MCP target (PrivateLink) slows from 6 min, peak 9-15 min; AgentCore p95 follows, an alarm fires; gone by 18 min"
            }
        }
    }

    /// Stage boundaries, or `None` for `steady`.
    pub fn timeline(self) -> Option<Timeline> {
        let (peak_start, peak_end, recovered) = match self {
            Scenario::Steady => return None,
            // Pods Unknown at 360, replaced (Unschedulable) at 400, new nodes ~520, loaded ~640.
            Scenario::EksNodeLoss => (400, 640, 660),
            Scenario::AgentcoreThrottling => (600, 840, 1200),
            Scenario::TrafficSpike => (480, 960, 1080),
            // Stale 360..480, Error 480..1200, backfill at 1200.
            Scenario::LangfuseOutage => (LANGFUSE_ERROR_AT, 1200, LANGFUSE_RECOVERY_AT),
            Scenario::ContextLoss => (720, 1080, 1500),
            Scenario::KedaStuck => (480, 1200, 1320),
            Scenario::McpPrivatelinkDegraded => (540, 900, 1080),
        };
        Some(Timeline {
            onset: ONSET,
            peak_start,
            peak_end,
            recovered,
        })
    }

    /// 0 → 1 → 0 intensity of the incident at second `t` (linear ramps).
    pub(super) fn intensity(self, t: u64) -> f64 {
        match self.timeline() {
            None => 0.0,
            Some(tl) => trapezoid(t, tl.onset, tl.peak_start, tl.peak_end, tl.recovered),
        }
    }

    /// Multiplier on the arrival rate.
    pub(super) fn traffic_multiplier(self, t: u64) -> f64 {
        match self {
            Scenario::TrafficSpike => 1.0 + (SPIKE_MULTIPLIER - 1.0) * self.intensity(t),
            Scenario::KedaStuck => 1.0 + (STUCK_MULTIPLIER - 1.0) * self.intensity(t),
            _ => 1.0,
        }
    }

    /// Share of requests AgentCore throttles on the most-throttled path (Haiku).
    pub(super) fn throttle_share(self, t: u64) -> f64 {
        match self {
            Scenario::AgentcoreThrottling => THROTTLE_PEAK * self.intensity(t),
            _ => 0.0,
        }
    }

    /// Share of sessions whose AgentCore side never lands in Langfuse (dual-write failure).
    pub(super) fn context_loss_share(self, t: u64) -> f64 {
        match self {
            Scenario::ContextLoss => CONTEXT_LOSS_PEAK * self.intensity(t),
            _ => 0.0,
        }
    }

    /// Is the Langfuse outage on at second `t`?
    pub(super) fn langfuse_down(self, t: u64) -> bool {
        self == Scenario::LangfuseOutage && (ONSET..LANGFUSE_RECOVERY_AT).contains(&t)
    }

    /// Is KEDA's metric unreadable at second `t` (`keda-stuck`)?
    pub(super) fn keda_stuck(self, t: u64) -> bool {
        self == Scenario::KedaStuck && (ONSET..KEDA_RECOVERY_AT).contains(&t)
    }

    /// Extra TargetExecutionTime (ms) of the in-VPC MCP target at second `t`.
    pub(super) fn mcp_extra_ms(self, t: u64) -> f64 {
        match self {
            Scenario::McpPrivatelinkDegraded => MCP_EXTRA_PEAK_MS * self.intensity(t),
            _ => 0.0,
        }
    }

    /// Hostile strings are mixed into traces while the context-loss incident is on.
    pub(super) fn hostile_strings(self, t: u64) -> bool {
        self == Scenario::ContextLoss && self.intensity(t) > 0.0
    }
}

pub(super) const SPIKE_MULTIPLIER: f64 = 2.2;
pub(super) const STUCK_MULTIPLIER: f64 = 1.8;
/// `keda-stuck`: the metric is readable again from here.
pub(super) const KEDA_RECOVERY_AT: u64 = 1200;
pub(super) const THROTTLE_PEAK: f64 = 0.25;
pub(super) const MCP_EXTRA_PEAK_MS: f64 = 900.0;
pub(super) const CONTEXT_LOSS_PEAK: f64 = 0.40;
pub(super) const LANGFUSE_ERROR_AT: u64 = 480;
pub(super) const LANGFUSE_RECOVERY_AT: u64 = 1200;
/// Seconds a pod on a lost node stays `Unknown` before it is evicted and replaced.
pub(super) const NODE_LOST_EVICTION_S: i64 = 40;

fn trapezoid(t: u64, a: u64, b: u64, c: u64, d: u64) -> f64 {
    let t = t as f64;
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    if t < a || t >= d {
        0.0
    } else if t < b {
        (t - a) / (b - a).max(1.0)
    } else if t < c {
        1.0
    } else {
        (d - t) / (d - c).max(1.0)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// Accepts the names in [`Scenario::NAMES`], case-insensitively, `_` for `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == norm)
            .ok_or_else(|| {
                format!(
                    "unknown scenario '{}' (valid: {})",
                    s.escape_debug(),
                    Scenario::NAMES.join(", ")
                )
            })
    }
}
