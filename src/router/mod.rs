//! The router's weights: where they live (`WeightStore` backends), the guard every change passes,
//! and the audit trail. Backends are an enum, not trait objects, so async methods stay plain.
pub mod audit;
pub mod simulator;
pub mod store;
pub mod task;

// Kubernetes weight stores (configmap, httproute) and the shared kube client.
pub mod configmap;
pub mod httproute;
pub mod kube_object;
pub mod kube_router;
pub mod watch;

pub use crate::kube_client::KubeClient;
pub use kube_router::KubeRouter;

use crate::domain::weights::Weights;
use thiserror::Error;

/// What a backend reports: the weights, and the version to write against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsRead {
    /// `simulator` | `configmap` | `httproute`
    pub backend: &'static str,
    /// `namespace/name` of the router object (None for the simulator).
    pub target: Option<String>,
    pub weights: Weights,
    /// Kubernetes `metadata.resourceVersion`; a counter for the simulator.
    pub version: Option<String>,
}

/// Who asked for a change, for the audit log and the `hybridtop.io/last-change` annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

impl Actor {
    pub fn current() -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".into());
        Actor { user, host }
    }
}

/// A write: already checked by the guard before it reaches a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRequest {
    pub from: Weights,
    pub to: Weights,
    /// The version the change was computed against: the write must fail with `Conflict` if the
    /// stored object changed since.
    pub expected_version: Option<String>,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub actor: Actor,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The weights changed since they were read; nothing was written.
    #[error("the router's weights changed since they were read (now {}); nothing was written", .current.weights.to_text())]
    Conflict { current: Box<WeightsRead> },
    /// RBAC says no: the message names the verb, resource and namespace.
    #[error("{0}")]
    Forbidden(String),
    /// Connection, TLS, timeout, credentials.
    #[error("{0}")]
    Unreachable(String),
    /// The object exists but doesn't hold what the config says (missing key, rule, backendRef).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}

impl From<crate::kube_client::KubeError> for StoreError {
    fn from(e: crate::kube_client::KubeError) -> Self {
        use crate::kube_client::KubeError as K;
        match e {
            K::Forbidden(m) => StoreError::Forbidden(m),
            K::Unreachable(m) => StoreError::Unreachable(m),
            K::Invalid(m) => StoreError::Invalid(m),
            K::Other(m) => StoreError::Other(m),
        }
    }
}
