//! One list-then-watch loop per watched resource, on kube-rs's `Api::list` / `Api::watch`.
//!
//! Why not `kube::runtime::watcher`: it swallows bookmarks and silent re-watches (the source
//! could not tell a quiet healthy cluster from a dead connection, so `last_success` would go
//! stale on a quiet cluster), and its dead-connection timeout is tied to the server-side watch
//! timeout. This loop keeps the same semantics — paginated list, watch from the list's
//! resourceVersion, resume from the last seen version when a watch ends, relist on 410 Gone
//! (and after a watch that ended at once without a single event: its answer may have been
//! unreadable) — and adds what the dashboard needs: every bookmark and every (re)started watch
//! is reported as a sign of life, a watch that goes silent for `stall_timeout` is dropped and
//! re-watched, and failures are classified (unreachable / forbidden / not installed / other) so
//! each can be shown where it belongs.
//!
//! Objects are converted to compact model values page by page (`convert`), so a 5,000-pod
//! namespace never sits in memory as full JSON.
use super::plan::WatchTarget;
use super::Tuning;
use crate::kube_client::{describe_auth_error, error_chain, WatchBackoff, REQUEST_TIMEOUT};
use futures_util::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use kube::runtime::utils::Backoff;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::time::{timeout, Instant};

/// What a failed request means for the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// Connection, timeout, credentials: the whole API is out of reach (source-level error).
    Unreachable,
    /// 403 on this resource: the rest keeps working.
    Forbidden,
    /// 404 on the resource type: the CRD / API version is not served (KEDA not installed).
    NotInstalled,
    /// Anything else on this resource (5xx, 429, unreadable data).
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

/// What one watch reports to the source's aggregator.
#[derive(Debug)]
pub enum Signal<T> {
    /// A complete (re)list: the whole current set for this watch.
    Listed(Vec<T>),
    Applied(T),
    /// The object with this name is gone.
    Deleted(String),
    /// A bookmark arrived or a watch (re)started: the connection is alive and current.
    Alive,
    Failed(Failure),
}

/// Classify a failed request on `t` (RBAC-style verb `verb`) against the API at `server`.
pub fn classify(e: &kube::Error, t: &WatchTarget, verb: &str, server: &str) -> Failure {
    let res = t.resource.rbac_name();
    let ns = &t.namespace;
    match e {
        kube::Error::Api(s) => {
            match s.code {
                403 => Failure {
                    class: FailureClass::Forbidden,
                    message: if t.resource.cluster_scoped() {
                        format!("forbidden: needs list and watch on {res} (cluster-wide); going on without")
                    } else {
                        format!("forbidden: needs list and watch on {res} in {ns}")
                    },
                },
                404 => Failure {
                    class: FailureClass::NotInstalled,
                    message: t.resource.not_installed(),
                },
                401 => Failure {
                    class: FailureClass::Unreachable,
                    message: format!(
                    "the Kubernetes API at {server} rejected the credentials (401 Unauthorized)"
                ),
                },
                code => Failure {
                    class: FailureClass::Other,
                    message: format!(
                        "the Kubernetes API at {server} answered {code} {} to {verb} {}{}",
                        s.reason,
                        t.describe(),
                        if s.message.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", s.message)
                        }
                    ),
                },
            }
        }
        kube::Error::Auth(a) => Failure {
            class: FailureClass::Unreachable,
            message: format!(
                "cannot get credentials for the Kubernetes API at {server}: {}",
                describe_auth_error(a, None)
            ),
        },
        kube::Error::SerdeError(x) => Failure {
            class: FailureClass::Other,
            message: format!(
                "unreadable answer from the Kubernetes API at {server} to {verb} {}: {x}",
                t.describe()
            ),
        },
        other => Failure {
            class: FailureClass::Unreachable,
            message: format!(
                "Kubernetes API unreachable at {server}: {}",
                error_chain(other)
            ),
        },
    }
}

fn unanswered(server: &str, what: Duration) -> Failure {
    Failure {
        class: FailureClass::Unreachable,
        message: format!(
            "Kubernetes API unreachable at {server}: no answer within {}s",
            what.as_secs()
        ),
    }
}

fn is_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 410)
}

/// Everything one watch loop needs.
pub struct WatchJob<T, F> {
    pub id: usize,
    pub target: WatchTarget,
    pub api: Api<DynamicObject>,
    pub server: String,
    pub tuning: Tuning,
    /// Object → model value; `None` drops it (no name).
    pub convert: F,
    pub tx: Sender<(usize, Signal<T>)>,
}

enum Next {
    Relist,
    Rewatch,
}

impl<T, F> WatchJob<T, F>
where
    T: Send + 'static,
    F: Fn(&DynamicObject) -> Option<T> + Send + 'static,
{
    async fn send(&self, s: Signal<T>) -> bool {
        self.tx.send((self.id, s)).await.is_ok()
    }

    /// Sleep for the next backoff step; false when the aggregator is gone.
    async fn pause(&self, backoff: &mut WatchBackoff) -> bool {
        let d = backoff.next().unwrap_or(WatchBackoff::MAX);
        tokio::select! {
            _ = self.tx.closed() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// All pages of the list; a continue token that expired (410) restarts the list once.
    async fn list_all(&self) -> Result<(Vec<T>, String), Failure> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut restarted = false;
        loop {
            let mut lp = ListParams::default().limit(self.tuning.page_size.max(1));
            if let Some(sel) = &self.target.selector {
                lp = lp.labels(sel);
            }
            lp.continue_token = token.clone();
            match timeout(REQUEST_TIMEOUT, self.api.list(&lp)).await {
                Err(_) => return Err(unanswered(&self.server, REQUEST_TIMEOUT)),
                Ok(Err(e)) if is_gone(&e) && token.is_some() && !restarted => {
                    // The snapshot behind the continue token was compacted: start over.
                    items.clear();
                    token = None;
                    restarted = true;
                }
                Ok(Err(e)) => return Err(classify(&e, &self.target, "list", &self.server)),
                Ok(Ok(list)) => {
                    items.extend(list.items.iter().filter_map(&self.convert));
                    token = list.metadata.continue_.filter(|c| !c.is_empty());
                    if token.is_none() {
                        let rv = list.metadata.resource_version.filter(|v| !v.is_empty());
                        return match rv {
                            Some(rv) => Ok((items, rv)),
                            None => Err(Failure {
                                class: FailureClass::Other,
                                message: format!(
                                    "the Kubernetes API at {} listed {} without a resourceVersion",
                                    self.server,
                                    self.target.describe()
                                ),
                            }),
                        };
                    }
                }
            }
        }
    }

    /// One watch call from `rv` until it ends, stalls, fails or asks for a relist.
    async fn watch_once(&self, rv: &mut String, backoff: &mut WatchBackoff) -> Option<Next> {
        let mut wp = WatchParams::default().timeout(self.tuning.watch_timeout_secs.max(1));
        if let Some(sel) = &self.target.selector {
            wp = wp.labels(sel);
        }
        let started = Instant::now();
        let stream = match timeout(REQUEST_TIMEOUT, self.api.watch(&wp, rv)).await {
            Err(_) => {
                if !self
                    .send(Signal::Failed(unanswered(&self.server, REQUEST_TIMEOUT)))
                    .await
                {
                    return None;
                }
                return self.pause(backoff).await.then_some(Next::Rewatch);
            }
            Ok(Err(e)) if is_gone(&e) => return Some(Next::Relist),
            Ok(Err(e)) => {
                let f = classify(&e, &self.target, "watch", &self.server);
                if !self.send(Signal::Failed(f)).await {
                    return None;
                }
                return self.pause(backoff).await.then_some(Next::Rewatch);
            }
            Ok(Ok(s)) => s,
        };
        if !self.send(Signal::Alive).await {
            return None;
        }
        let mut stream = std::pin::pin!(stream);
        let mut got_any = false;
        loop {
            let next = tokio::select! {
                _ = self.tx.closed() => return None,
                n = timeout(self.tuning.stall_timeout, stream.next()) => n,
            };
            let ev = match next {
                Err(_) => {
                    // Not a byte (not even a bookmark) for too long: the connection is dead
                    // without having said so. Drop it and resume from the last version.
                    tracing::warn!(watch = %self.target.describe(), "watch stalled; re-watching");
                    return Some(Next::Rewatch);
                }
                Ok(None) => {
                    // A watch that ends without a single event (not even a bookmark) well before
                    // its server-side timeout is suspect: the answer may have been unreadable
                    // (kube drops a line it cannot parse at the end of a stream) or the server
                    // is in trouble. Relist after a pause: a list says plainly whether the data
                    // can be read, and a watch that ends at once, again and again, must not spin.
                    let early = Duration::from_secs(u64::from(self.tuning.watch_timeout_secs)) / 2;
                    if !got_any && started.elapsed() < early.max(Duration::from_secs(1)) {
                        return self.pause(backoff).await.then_some(Next::Relist);
                    }
                    return Some(Next::Rewatch);
                }
                Ok(Some(Ok(ev))) => ev,
                Ok(Some(Err(e))) => {
                    if is_gone(&e) {
                        return Some(Next::Relist);
                    }
                    let f = classify(&e, &self.target, "watch", &self.server);
                    if !self.send(Signal::Failed(f)).await {
                        return None;
                    }
                    return self.pause(backoff).await.then_some(Next::Rewatch);
                }
            };
            got_any = true;
            backoff.reset();
            let sent = match ev {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                    if let Some(v) = o
                        .metadata
                        .resource_version
                        .as_ref()
                        .filter(|v| !v.is_empty())
                    {
                        rv.clone_from(v);
                    }
                    match (self.convert)(&o) {
                        Some(item) => self.send(Signal::Applied(item)).await,
                        None => true,
                    }
                }
                WatchEvent::Deleted(o) => {
                    if let Some(v) = o
                        .metadata
                        .resource_version
                        .as_ref()
                        .filter(|v| !v.is_empty())
                    {
                        rv.clone_from(v);
                    }
                    match o.metadata.name {
                        Some(name) => self.send(Signal::Deleted(name)).await,
                        None => true,
                    }
                }
                WatchEvent::Bookmark(b) => {
                    if !b.metadata.resource_version.is_empty() {
                        rv.clone_from(&b.metadata.resource_version);
                    }
                    self.send(Signal::Alive).await
                }
                // 410 Gone: the version we resume from was compacted. Relist, silently.
                WatchEvent::Error(s) if s.code == 410 => return Some(Next::Relist),
                WatchEvent::Error(s) => {
                    let f = classify(&kube::Error::Api(s), &self.target, "watch", &self.server);
                    if !self.send(Signal::Failed(f)).await {
                        return None;
                    }
                    return self.pause(backoff).await.then_some(Next::Rewatch);
                }
            };
            if !sent {
                return None;
            }
        }
    }

    /// List, then watch and re-watch until a relist is needed; forever, until the aggregator
    /// goes away.
    pub async fn run(self) {
        let mut backoff = WatchBackoff::new();
        loop {
            let (items, mut rv) = match self.list_all().await {
                Ok(x) => x,
                Err(f) => {
                    if !self.send(Signal::Failed(f)).await || !self.pause(&mut backoff).await {
                        return;
                    }
                    continue;
                }
            };
            if !self.send(Signal::Listed(items)).await {
                return;
            }
            backoff.reset();
            loop {
                match self.watch_once(&mut rv, &mut backoff).await {
                    None => return,
                    Some(Next::Rewatch) => continue,
                    Some(Next::Relist) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::kubernetes::plan::Resource;
    use kube::core::Status;

    fn target(resource: Resource) -> WatchTarget {
        WatchTarget {
            resource,
            namespace: "agents".into(),
            selector: None,
            path: None,
        }
    }

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        let mut s = Status::failure(message, reason);
        s.code = code;
        kube::Error::Api(s.boxed())
    }

    #[test]
    fn failures_say_what_is_missing() {
        let url = "https://k8s.example:6443";
        let f = classify(
            &api_error(403, "Forbidden", "scaledobjects.keda.sh is forbidden"),
            &target(Resource::ScaledObjects),
            "list",
            url,
        );
        assert_eq!(f.class, FailureClass::Forbidden);
        assert_eq!(
            f.message,
            "forbidden: needs list and watch on scaledobjects.keda.sh in agents"
        );
        let f = classify(
            &api_error(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
            &target(Resource::ScaledObjects),
            "list",
            url,
        );
        assert_eq!(f.class, FailureClass::NotInstalled);
        assert!(f.message.starts_with("KEDA not installed"), "{}", f.message);
        let f = classify(
            &api_error(401, "Unauthorized", "Unauthorized"),
            &target(Resource::Pods),
            "list",
            url,
        );
        assert_eq!(f.class, FailureClass::Unreachable);
        assert!(f.message.contains(url));
        let f = classify(
            &api_error(500, "InternalError", "etcdserver: request timed out"),
            &target(Resource::Hpas),
            "watch",
            url,
        );
        assert_eq!(f.class, FailureClass::Other);
        assert_eq!(
            f.message,
            "the Kubernetes API at https://k8s.example:6443 answered 500 InternalError to watch horizontalpodautoscalers.autoscaling in agents: etcdserver: request timed out"
        );
        assert!(is_gone(&api_error(410, "Expired", "too old")));
        assert!(!is_gone(&api_error(409, "Conflict", "")));
    }
}
