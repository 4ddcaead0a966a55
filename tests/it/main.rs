//! The integration tests, one binary: a clean build links the AWS SDK and the kube stack once
//! rather than once per file. Every module here leaves the process environment alone, so the
//! tests can share the process; those that change it live in `tests/env/`.
//!
//! Servers they run against live in `tests/support/`: a CloudWatch that speaks CBOR, a
//! kube-apiserver, the Langfuse public API, moto for Cost Explorer, and a fault proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches and tests report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]

#[path = "../support/mod.rs"]
mod support;

mod advisor;
mod cli;
mod deploy;
mod editor_flow;
mod eks_why;
mod faults;
mod hostile;
mod kube_source;
mod layers;
mod live_snapshot;
mod mcp_scenario;
mod otlp;
mod prometheus_source;
mod pty;
mod record_replay;
mod team;
mod themes;
mod views;
mod weights_cli;
