//! Domain model: no I/O. Paths, weights, windows, sketches, cost, correlation, state and the
//! snapshot views read.
pub mod advisor;
pub mod alerts;
pub mod correlation;
pub mod cost;
pub mod fleet;
pub mod health;
pub mod path;
pub mod phase;
pub mod quantile;
pub mod redact;
pub mod sanitize;
pub mod snapshot;
pub mod state;
pub mod trace_traffic;
pub mod update;
pub mod weights;
pub mod window;
