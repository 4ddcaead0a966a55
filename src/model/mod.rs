//! Domain model: no I/O. Paths, weights, windows, sketches, cost, correlation, state and the
//! snapshot views read.
pub mod path;
pub mod sanitize;
pub mod snapshot;
pub mod state;
pub mod update;
pub mod weights;
