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
    /// Why the stored weights are not a valid split (out of range, not an integer, a path
    /// missing, a sum other than 100), naming the value. Stored weights are untrusted input:
    /// they are shown flagged, and replacing them counts as the largest shift.
    pub invalid: Option<String>,
}

/// Who asked for a change, for the audit log and the `hybridtop.io/last-change` annotation.
/// `user` is the operating system's account for the process's uid; what the environment claims
/// (`$USER`, `$SUDO_USER`) is kept beside it, never in its place.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    pub user: String,
    pub host: String,
    pub uid: Option<u32>,
    /// `$SUDO_USER`: the account that ran sudo, when the process runs under it.
    pub sudo_user: Option<String>,
    /// `$USER` (or `$LOGNAME`) when it names someone else than `user`: a claim, not an identity.
    pub claimed_user: Option<String>,
}

impl Actor {
    pub fn current() -> Actor {
        use crate::model::sanitize::clean_owned;
        let uid = nix::unistd::getuid();
        let os_user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name);
        let env = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|v| clean_owned(&v))
                .filter(|v| !v.is_empty())
        };
        let claimed = env("USER").or_else(|| env("LOGNAME"));
        let user = os_user
            .map(|n| clean_owned(&n))
            .unwrap_or_else(|| format!("uid {uid}"));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| env("HOSTNAME"))
            .map(|h| clean_owned(&h))
            .unwrap_or_else(|| "unknown".into());
        Actor {
            claimed_user: claimed.filter(|c| *c != user),
            user,
            host,
            uid: Some(uid.as_raw()),
            sudo_user: env("SUDO_USER"),
        }
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
