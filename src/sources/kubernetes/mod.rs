//! The live Kubernetes source: EKS pods, KEDA ScaledObjects and their HPAs, watched (never
//! polled) through the client shared with the router backends (`router::kube_client`).
//!
//! - Pods: one watch per EKS path, in the path's namespace, narrowed by its `pod_selector`;
//!   each pod is attributed to that path.
//! - ScaledObjects (`keda.sh/v1alpha1`) and HPAs (`autoscaling/v2`): one watch each per
//!   namespace (`[kubernetes] namespaces` plus every namespace a path's ScaledObject lives in),
//!   joined per ScaledObject (see `keda`), attributed to a path by `paths.eks.scaled_object`.
//! - Each watch lists in pages, then watches from the list's resourceVersion with bookmarks,
//!   resumes after a watch ends, relists silently on 410 Gone, re-watches a stalled stream, and
//!   backs off (250 ms doubling to 30 s) on errors (see `watch`).
//! - One task owns the aggregated picture and sends `Update::Fleet` and `Update::Health`
//!   (see `aggregate`); a 403 or a missing CRD is named per resource while the rest keeps
//!   updating.
//!
//! Wiring: `from_config(&cfg)` → `Some(source)` when `[kubernetes]` is present; spawn it like
//! any `Source`. `check(&cfg)` gives `hybridtop check` its Kubernetes lines.
mod aggregate;
mod check;
mod json;
mod keda;
mod nodes;
mod plan;
mod pods;
mod quantity;
mod watch;

pub use check::{check, check_with};
pub use quantity::parse_quantity;

use crate::config::Config;
use crate::kube_client::KubeError;
use crate::kube_client::{self, KubeClient, WatchBackoff, WATCH_TIMEOUT_SECS};
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::sources::{Source, UpdateTx};
use aggregate::{Aggregator, Item};
use chrono::Utc;
use kube::api::{Api, DynamicObject};
use plan::{Plan, Resource};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use watch::{Signal, WatchJob};

/// A watch's conversion of one API object into the aggregator's item.
type Convert = Box<dyn Fn(&DynamicObject) -> Option<Item> + Send + Sync>;

/// Knobs with production defaults; tests shorten the timeouts.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Objects per list page (`limit`); large namespaces are listed in chunks.
    pub page_size: u32,
    /// Server-side timeout asked for on each watch (`timeoutSeconds`); it is then resumed.
    pub watch_timeout_secs: u32,
    /// A watch that delivers nothing at all (no event, no bookmark) for this long is considered
    /// dead and re-watched. Longer than `watch_timeout_secs`, so an idle but healthy watch ends
    /// on the server's timeout first.
    pub stall_timeout: Duration,
    /// How often `last_success` is re-sent while data keeps flowing.
    pub health_interval: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            page_size: 500,
            watch_timeout_secs: WATCH_TIMEOUT_SECS,
            stall_timeout: Duration::from_secs(u64::from(WATCH_TIMEOUT_SECS) + 15),
            health_interval: Duration::from_secs(1),
        }
    }
}

/// The Kubernetes source. Build it with [`from_config`].
#[derive(Clone, Debug)]
pub struct KubernetesSource {
    plan: Plan,
    kubeconfig: Option<Vec<PathBuf>>,
    tuning: Tuning,
}

/// The source for `cfg`, or `None` when `[kubernetes]` is absent (the source is disabled).
pub fn from_config(cfg: &Config) -> Option<KubernetesSource> {
    Some(KubernetesSource {
        plan: Plan::from_config(cfg)?,
        kubeconfig: None,
        tuning: Tuning::default(),
    })
}

impl KubernetesSource {
    /// Read these kubeconfig files instead of `KUBECONFIG` / `~/.kube/config`.
    pub fn with_kubeconfig(mut self, paths: Vec<PathBuf>) -> Self {
        self.kubeconfig = Some(paths);
        self
    }

    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }
}

impl Source for KubernetesSource {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(run(*self, tx))
    }
}

/// The shared client for the plan's context, from explicit files or the environment.
async fn connect(plan: &Plan, kubeconfig: Option<&[PathBuf]>) -> Result<KubeClient, KubeError> {
    match kubeconfig {
        Some(paths) => kube_client::connect_with_kubeconfig(paths, plan.context.as_deref()).await,
        None => kube_client::connect(Some(&check::client_config(plan))).await,
    }
}

fn health(state: SourceState, error: Option<String>) -> Update {
    Update::Health(health_of(state, error))
}

fn health_of(state: SourceState, error: Option<String>) -> SourceHealth {
    SourceHealth {
        source: SourceName::Kubernetes,
        state,
        last_success: None,
        error,
        permanent: false,
    }
}

/// Aborts the watch tasks when the source ends (its channel closed or it was dropped).
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

async fn run(src: KubernetesSource, tx: UpdateTx) {
    // Both rustls providers may be linked (ring here, aws-lc-rs from the AWS SDK): choose one
    // before any client is built, or building it panics.
    kube_client::install_crypto_provider();
    if tx
        .send(health(SourceState::Connecting, None))
        .await
        .is_err()
    {
        return;
    }
    let mut backoff = WatchBackoff::new();
    let client = loop {
        match connect(&src.plan, src.kubeconfig.as_deref()).await {
            Ok(c) => break c,
            Err(e) => {
                // A missing kubeconfig or an expired SSO session can be fixed while we run:
                // keep trying, gently.
                // For a one-shot snapshot, a kubeconfig or context that is wrong, or RBAC that
                // says no, will not fix itself within the wait.
                let permanent = matches!(e, KubeError::Invalid(_) | KubeError::Forbidden(_));
                let u = Update::Health(SourceHealth {
                    permanent,
                    ..health_of(SourceState::Error, Some(e.to_string()))
                });
                if tx.send(u).await.is_err() {
                    return;
                }
                let d = backoff
                    .next()
                    .unwrap_or(WatchBackoff::MAX)
                    .max(Duration::from_secs(1));
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(d) => {}
                }
            }
        }
    };
    let targets = src.plan.targets(&client.default_namespace);
    let (itx, mut irx) = mpsc::channel::<(usize, Signal<Item>)>(1024);
    let mut tasks = Tasks(Vec::with_capacity(targets.len()));
    for (id, t) in targets.iter().enumerate() {
        let api: Api<DynamicObject> = Plan::api(&client.client, t);
        let (target, server, tuning, tx) = (
            t.clone(),
            client.server.clone(),
            src.tuning.clone(),
            itx.clone(),
        );
        // One watch job per target; only the conversion differs.
        let job = |convert: Convert| {
            tokio::spawn(
                WatchJob {
                    id,
                    target,
                    api,
                    server,
                    tuning,
                    convert,
                    tx,
                }
                .run(),
            )
        };
        let handle = match t.resource {
            Resource::Pods => {
                let path = t.path.clone();
                job(Box::new(move |o| {
                    pods::pod_from(o, path.as_ref(), Utc::now()).map(Item::Pod)
                }))
            }
            Resource::ScaledObjects => job(Box::new(|o| keda::so_from(o).map(Item::So))),
            Resource::Hpas => job(Box::new(|o| keda::hpa_from(o).map(Item::Hpa))),
            Resource::Events => job(Box::new(|o| {
                nodes::event_from(o, Utc::now()).map(|e| Item::Event(Box::new(e)))
            })),
            Resource::Nodes => job(Box::new(|o| nodes::node_from(o).map(Item::Node))),
            Resource::NodeClaims => job(Box::new(|o| {
                nodes::claim_from(o).map(|(n, node)| Item::Claim(n, node))
            })),
        };
        tasks.0.push(handle);
    }
    drop(itx);
    let mut agg = Aggregator::new(src.plan.clone(), targets);
    let mut tick = tokio::time::interval(src.tuning.health_interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            m = irx.recv() => {
                let Some((id, signal)) = m else { return };
                for u in agg.on(id, signal, Utc::now()) {
                    if tx.send(u).await.is_err() {
                        return;
                    }
                }
            }
            _ = tick.tick() => {
                if let Some(u) = agg.heartbeat() {
                    if tx.send(u).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
