//! The Kubernetes weight stores behind one enum: built from `[router]`, read, write, and watch
//! the router object so outside changes show up live.
use crate::config::{Config, RouterBackend};
use crate::domain::path::PathId;
use crate::kube_client::KubeClient;
use crate::model::update::Update;
use crate::router::configmap::ConfigMapStore;
use crate::router::httproute::HttpRouteStore;
use crate::router::kube_object::RouterObject;
use crate::router::watch::spawn_object_watch;
use crate::router::{StoreError, WeightsRead, WriteRequest};
use indexmap::IndexMap;
use kube::api::DynamicObject;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub enum KubeRouter {
    ConfigMap(ConfigMapStore),
    HttpRoute(HttpRouteStore),
}

impl KubeRouter {
    /// The store `[router]` describes. `Invalid` when the section is missing, the backend is
    /// `none`, or a required key is absent.
    pub fn from_config(cfg: &Config, kc: &KubeClient) -> Result<KubeRouter, StoreError> {
        let Some(r) = cfg.router.as_ref() else {
            return Err(StoreError::Invalid(
                "the config has no [router] section: no router weights to read or write".into(),
            ));
        };
        let namespace = r
            .namespace
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| StoreError::Invalid("router.namespace is not set".into()));
        let name = r
            .name
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| StoreError::Invalid("router.name is not set".into()));
        let paths: Vec<PathId> = cfg.path_ids();
        match r.backend {
            RouterBackend::None => Err(StoreError::Invalid(
                "router.backend is \"none\": no router weights to read or write".into(),
            )),
            RouterBackend::Configmap => {
                let key = r
                    .configmap
                    .as_ref()
                    .map(|c| c.key.clone())
                    .unwrap_or_else(|| "weights.json".to_string());
                Ok(KubeRouter::ConfigMap(ConfigMapStore::new(
                    kc, namespace?, name?, &key, paths,
                )))
            }
            RouterBackend::Httproute => {
                let Some(h) = r.httproute.as_ref() else {
                    return Err(StoreError::Invalid(
                        "router.backend is \"httproute\" but there is no [router.httproute] section"
                            .into(),
                    ));
                };
                let mut refs = IndexMap::new();
                for p in paths {
                    let Some(n) = h.backend_refs.get(&p) else {
                        return Err(StoreError::Invalid(format!(
                            "router.httproute.backend_refs has no backendRef name for path '{p}'"
                        )));
                    };
                    refs.insert(p, n.clone());
                }
                Ok(KubeRouter::HttpRoute(HttpRouteStore::new(
                    kc, namespace?, name?, h.rule, refs,
                )))
            }
        }
    }

    /// `configmap` | `httproute`
    pub fn backend(&self) -> &'static str {
        match self {
            KubeRouter::ConfigMap(_) => crate::router::configmap::BACKEND,
            KubeRouter::HttpRoute(_) => crate::router::httproute::BACKEND,
        }
    }

    pub fn object(&self) -> &RouterObject {
        match self {
            KubeRouter::ConfigMap(s) => s.object(),
            KubeRouter::HttpRoute(s) => s.object(),
        }
    }

    /// `namespace/name` of the router object.
    pub fn target(&self) -> String {
        self.object().target()
    }

    pub async fn read(&self) -> Result<WeightsRead, StoreError> {
        match self {
            KubeRouter::ConfigMap(s) => s.read().await,
            KubeRouter::HttpRoute(s) => s.read().await,
        }
    }

    pub async fn write(&self, req: &WriteRequest) -> Result<WeightsRead, StoreError> {
        match self {
            KubeRouter::ConfigMap(s) => s.write(req).await,
            KubeRouter::HttpRoute(s) => s.write(req).await,
        }
    }

    /// The weights an object of this store's kind holds.
    pub fn parse(&self, o: &DynamicObject) -> Result<WeightsRead, StoreError> {
        match self {
            KubeRouter::ConfigMap(s) => s.parse(o),
            KubeRouter::HttpRoute(s) => s.parse(o),
        }
    }

    /// Watch the router object (field selector `metadata.name=`) and send
    /// `Update::Weights` whenever its resourceVersion changes, starting with the current state.
    /// Survives 410 Gone (relist) and reconnects with backoff; ends when `tx` is closed.
    pub fn watch(&self, tx: Sender<Update>) -> JoinHandle<()> {
        let me = self.clone();
        spawn_object_watch(
            self.object().api().clone(),
            self.object().name.clone(),
            move |o| me.parse(o),
            tx,
        )
    }
}
