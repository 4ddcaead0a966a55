//! Domain model: no I/O. Paths, weights, windows, sketches, cost, correlation, state and the
//! snapshot views read.
pub mod advisor;
pub mod agentcore;
pub mod alerts;
pub mod correlation;
pub mod cost;
pub mod editor;
pub mod engine;
pub mod events;
pub mod fleet;
pub mod health;
pub mod phase;
pub mod preview;
pub mod quantile;
pub mod redact;
pub mod sanitize;
pub mod scaling;
pub mod snapshot;
pub mod state;
pub mod trace_traffic;
pub mod update;
pub mod waterfalls;
pub mod window;

/// A figure fit to show or sum: non-finite (NaN, ±∞ from a division by a zero span) becomes 0.
pub fn fin(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}
