//! The router a config describes, connected, for the commands that read or write it.
use super::CliError;
use crate::config::{Config, RouterBackend};
use crate::kube_client;
use crate::router::store::Router;
use crate::router::{KubeRouter, StoreError};

/// The router the config describes, connected.
pub async fn connect(cfg: &Config) -> Result<Router, CliError> {
    match cfg.router.as_ref().map(|r| r.backend) {
        None | Some(RouterBackend::None) => {
            return Err(CliError::invalid(format!(
                "{}: no router is configured ([router] backend = \"configmap\" or \"httproute\")",
                cfg.origin
            )))
        }
        Some(_) => {}
    }
    let kc = kube_client::connect(cfg.kubernetes.as_ref())
        .await
        .map_err(|e| store_error(e.into()))?;
    let k = KubeRouter::from_config(cfg, &kc).map_err(store_error)?;
    Ok(Router::Kube(Box::new(k)))
}

pub fn store_error(e: StoreError) -> CliError {
    let code = match e {
        StoreError::Invalid(_) => super::EXIT_INVALID,
        StoreError::Conflict { .. } => super::EXIT_CONFLICT,
        _ => super::EXIT_RUNTIME,
    };
    CliError {
        code,
        message: e.to_string(),
    }
}
