//! The demo's weight store: the simulator routes by whatever is written here.
