//! The vocabulary every layer speaks: the routing paths and their sides, and router weights with
//! the guard every change passes. Pure values with no dependency on the rest of the crate, so
//! config, model, sources, router and views can all use them without pointing back up
//! (ARCHITECTURE.md "Layers").
pub mod path;
pub mod weights;
