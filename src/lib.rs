//! hybridtop: a terminal dashboard for a hybrid AgentCore + EKS LLM-agent platform.
pub mod action;
pub mod cli;
pub mod config;
pub mod model;
pub mod sources;
pub mod ui;

/// Entry point for the binary; returns the process exit code.
pub fn run() -> i32 {
    0
}
