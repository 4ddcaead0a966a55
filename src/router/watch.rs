//! Watching one router object: a kube-rs watcher with a `metadata.name=` field selector, turned
//! into `Update::Weights` on every new resourceVersion.
use crate::kube_client::{WatchBackoff, WATCH_TIMEOUT_SECS};
use crate::model::update::{Update, WeightsReport};
use crate::router::{StoreError, WeightsRead};
use futures_util::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

/// Spawn a task that watches the object `name` through `api` and sends each new state that
/// `parse` accepts. Errors (a 403, the server gone, a 410 before its relist) are logged and
/// retried with [`WatchBackoff`]; the task ends when the receiver of `tx` is dropped.
pub fn spawn_object_watch<F>(
    api: Api<DynamicObject>,
    name: String,
    parse: F,
    tx: Sender<Update>,
) -> JoinHandle<()>
where
    F: Fn(&DynamicObject) -> Result<WeightsRead, StoreError> + Send + 'static,
{
    tokio::spawn(async move {
        let cfg = watcher::Config::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(WATCH_TIMEOUT_SECS);
        let stream = watcher::watcher(api, cfg).backoff(WatchBackoff::new());
        let mut stream = std::pin::pin!(stream);
        let mut last_version: Option<String> = None;
        loop {
            let ev = tokio::select! {
                _ = tx.closed() => return,
                ev = stream.next() => ev,
            };
            match ev {
                None => return,
                Some(Ok(Event::Apply(o) | Event::InitApply(o))) => {
                    let version = o.metadata.resource_version.clone();
                    if version.is_some() && version == last_version {
                        continue;
                    }
                    match parse(&o) {
                        Ok(read) => {
                            last_version = version;
                            let update = Update::Weights(WeightsReport {
                                backend: read.backend.to_string(),
                                target: read.target,
                                weights: read.weights,
                                version: read.version,
                                invalid: read.invalid,
                            });
                            if tx.send(update).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(object = %name, error = %e, "router object changed but its weights cannot be read");
                        }
                    }
                }
                Some(Ok(Event::Delete(_))) => {
                    last_version = None;
                    tracing::warn!(object = %name, "router object was deleted");
                }
                Some(Ok(Event::Init | Event::InitDone)) => {}
                Some(Err(e)) => {
                    tracing::warn!(object = %name, error = %e, "router watch error; retrying");
                }
            }
        }
    })
}
