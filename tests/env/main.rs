//! The integration tests that change the process environment (AWS credential and endpoint
//! variables, `KUBECONFIG`, Langfuse key variables), in a binary of their own so they cannot race
//! the tests in `tests/it/` reading the environment. Within it, tests that set the same variable
//! hold one lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches and tests report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]

#[path = "../support/mod.rs"]
mod support;

mod agentcore_sources;
mod aws_sources;
mod kube_env;
mod langfuse_source;
mod router_k8s;

/// Held by every test that sets or reads `KUBECONFIG` through the environment.
pub static KUBECONFIG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The lock, even if a test that held it failed.
pub fn kubeconfig_lock() -> std::sync::MutexGuard<'static, ()> {
    KUBECONFIG_LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
