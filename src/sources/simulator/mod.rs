//! The demo's simulated hybrid fleet: a model, not a random-number painter.
