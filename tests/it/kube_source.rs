//! The live Kubernetes source against the fake kube-apiserver in `tests/support/`, over real
//! HTTP through a kubeconfig file: pods, KEDA ScaledObjects and HPAs in many states, changed
//! while the source runs, failures (403, 404, 410, restart, stall) and `check`.
//!
//! Every wait polls with a deadline; "within 2 s" is the product's promise for a change to show.
use crate::support;

use chrono::Utc;
use hybridtop::config::Config;
use hybridtop::model::snapshot::{Mode, Snapshot, SourceStatus};
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::model::update::{FleetUpdate, ProblemKind, SourceName, SourceState, Update};
use hybridtop::sources::kubernetes::{self, check_with, from_config, Tuning};
use hybridtop::sources::Source;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::kube_api::{KubeApiServer, KubeconfigFile, ResourceType};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NS: &str = "agents";
const LIVE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn config() -> Config {
    Config::from_toml(
        r#"
[general]
environment = "test"
[[paths]]
id = "eks-qwen3"
kind = "eks"
label = "EKS Qwen3-4B"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
gpu_node_usd_per_hour = 1.006
pods_per_node = 1
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[kubernetes]
namespaces = ["agents"]
"#,
        "test.toml",
    )
    .expect("config")
}

fn tuning() -> Tuning {
    Tuning {
        // Small pages so every list is chunked (limit + continue).
        page_size: 2,
        watch_timeout_secs: 30,
        stall_timeout: Duration::from_secs(30),
        health_interval: Duration::from_millis(100),
    }
}

fn pods_rt() -> ResourceType {
    ResourceType::pods()
}
fn so_rt() -> ResourceType {
    ResourceType::scaled_objects()
}
fn hpa_rt() -> ResourceType {
    ResourceType::hpas()
}

fn pod_json(name: &str, node: Option<&str>, status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "vllm-qwen3"}},
        "spec": {"nodeName": node, "containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.9"}]},
        "status": status,
    })
}

fn ready(restarts: u32) -> Value {
    json!({
        "phase": "Running",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "vllm", "ready": true, "restartCount": restarts, "state": {"running": {}}}],
    })
}

fn crash_oom(restarts: u32) -> Value {
    json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [{"name": "vllm", "ready": false, "restartCount": restarts,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=vllm"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}],
    })
}

fn image_pull() -> Value {
    json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "vllm", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"vllm/vllm-openai:v0.99\""}}}],
    })
}

fn unschedulable() -> Value {
    json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."}],
    })
}

fn probe_failing() -> Value {
    json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status: [vllm]"}],
        "containerStatuses": [{"name": "vllm", "ready": false, "restartCount": 0, "state": {"running": {}}}],
    })
}

fn evicted() -> Value {
    json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: ephemeral-storage."})
}

fn cond(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message})
}

fn so_json(name: &str, conditions: Vec<Value>) -> Value {
    json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": 1, "maxReplicaCount": 8,
            "triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "5"}},
                         {"type": "prometheus", "metadata": {"threshold": "10"}}],
        },
        "status": {"hpaName": format!("keda-hpa-{name}"), "conditions": conditions},
    })
}

fn healthy_conditions() -> Vec<Value> {
    vec![
        cond(
            "Ready",
            "True",
            "ScaledObjectReady",
            "ScaledObject is defined correctly and is ready for scaling",
        ),
        cond(
            "Active",
            "True",
            "ScalerActive",
            "Scaling is performed because triggers are active",
        ),
        cond(
            "Fallback",
            "False",
            "NoFallbackFound",
            "No fallbacks are active on this scaled object",
        ),
        cond(
            "Paused",
            "False",
            "ScaledObjectUnpaused",
            "ScaledObject is not paused",
        ),
    ]
}

fn hpa_json(so: &str, current: u32, desired: u32, value: &str) -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": format!("keda-hpa-{so}"), "namespace": NS,
                     "labels": {"scaledobject.keda.sh/name": so}},
        "spec": {"minReplicas": 1, "maxReplicas": 8, "metrics": [
            {"type": "External", "external": {
                "metric": {"name": "s1-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": so}}},
                "target": {"type": "AverageValue", "averageValue": "10"}}}]},
        "status": {
            "currentReplicas": current, "desiredReplicas": desired,
            "lastScaleTime": "2026-11-25T07:58:00Z",
            "currentMetrics": [{"type": "External", "external": {
                "metric": {"name": "s1-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": so}}},
                "current": {"averageValue": value}}}],
            "conditions": [
                cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
                cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count"),
                cond("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range"),
            ],
        },
    })
}

/// A small healthy fleet: two ready pods, the path's ScaledObject and its HPA.
fn seed_basic(server: &KubeApiServer) {
    server.create(
        &pods_rt(),
        pod_json("vllm-qwen3-a", Some("ip-10-0-1-23"), ready(0)),
    );
    server.create(
        &pods_rt(),
        pod_json("vllm-qwen3-b", Some("ip-10-0-2-41"), ready(1)),
    );
    server.create(&so_rt(), so_json("vllm-qwen3", healthy_conditions()));
    server.create(&hpa_rt(), hpa_json("vllm-qwen3", 2, 2, "553300m"));
}

// ---------------------------------------------------------------------------------------------
// Harness: the source feeding a `State`, as the app loop would.

struct Live {
    state: Arc<Mutex<State>>,
    log: Arc<Mutex<Vec<Update>>>,
    source: JoinHandle<()>,
    collector: JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.source.abort();
        self.collector.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    fn start(kc: &KubeconfigFile, tuning: Tuning) -> Live {
        let src = from_config(&config())
            .expect("[kubernetes] is configured")
            .with_kubeconfig(vec![kc.path.clone()])
            .with_tuning(tuning);
        Self::spawn(Box::new(src))
    }

    fn spawn(src: Box<dyn Source>) -> Live {
        let (tx, mut rx) = mpsc::channel(4096);
        let source = src.spawn(tx);
        let state = Arc::new(Mutex::new(State::new(&config(), Mode::Live)));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (state.clone(), log.clone());
        let collector = tokio::spawn(async move {
            while let Some(u) = rx.recv().await {
                lock(&l).push(u.clone());
                lock(&s).apply(u);
            }
        });
        Live {
            state,
            log,
            source,
            collector,
        }
    }

    fn snapshot(&self) -> Snapshot {
        let mut st = lock(&self.state);
        st.apply(Update::Clock { now: Utc::now() });
        st.snapshot(&DeriveOptions::default())
    }

    fn updates(&self) -> Vec<Update> {
        lock(&self.log).clone()
    }

    async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        ok: impl Fn(&Snapshot) -> bool,
    ) -> Snapshot {
        let deadline = Instant::now() + within;
        loop {
            let s = self.snapshot();
            if ok(&s) {
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{what}: not within {within:?}\npods: {:?}\nscaled objects: {:?}\nproblems: {:?}\nkubernetes: {:?}",
                    pod_names(&s),
                    s.fleet.scaled_objects.iter().map(|x| &x.scaled_object.name).collect::<Vec<_>>(),
                    s.fleet.problems,
                    kube_status(&s)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait for the first full sync (health ok).
    async fn synced(&self) -> Snapshot {
        self.wait_for("first sync", Duration::from_secs(10), |s| {
            kube_status(s).state == SourceState::Ok
        })
        .await
    }
}

fn kube_status(s: &Snapshot) -> SourceStatus {
    s.sources
        .iter()
        .find(|x| x.name == SourceName::Kubernetes)
        .cloned()
        .expect("kubernetes is an enabled source")
}

fn pod_names(s: &Snapshot) -> Vec<String> {
    s.fleet.pods.iter().map(|p| p.pod.name.clone()).collect()
}

fn has_pod(s: &Snapshot, name: &str) -> bool {
    s.fleet.pods.iter().any(|p| p.pod.name == name)
}

fn pod<'a>(s: &'a Snapshot, name: &str) -> &'a hybridtop::model::update::Pod {
    &s.fleet
        .pods
        .iter()
        .find(|p| p.pod.name == name)
        .unwrap_or_else(|| panic!("pod {name} in {:?}", pod_names(s)))
        .pod
}

fn so<'a>(s: &'a Snapshot, name: &str) -> &'a hybridtop::model::update::ScaledObject {
    &s.fleet
        .scaled_objects
        .iter()
        .find(|x| x.scaled_object.name == name)
        .unwrap_or_else(|| panic!("ScaledObject {name}"))
        .scaled_object
}

fn screen(s: &Snapshot, view: hybridtop::ui::state::View, w: u16, h: u16) -> String {
    let ui = hybridtop::ui::state::UiState {
        view,
        ..Default::default()
    };
    let theme = hybridtop::ui::theme::Theme::default();
    hybridtop::ui::buffer_text(&hybridtop::export::render(s, &ui, &theme, w, h))
}

// ---------------------------------------------------------------------------------------------
// What the API serves, computed independently of the source's mapping.

type PodRow = (String, bool, u32, Option<String>);

fn served_pods(server: &KubeApiServer) -> BTreeMap<String, PodRow> {
    server
        .list(&pods_rt(), Some(NS))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "vllm-qwen3")
        .map(|p| {
            let st = &p["status"];
            let ready = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let restarts = st["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c["restartCount"].as_u64().unwrap_or(0) as u32)
                .sum();
            (
                p["metadata"]["name"].as_str().unwrap_or("").to_string(),
                (
                    st["phase"].as_str().unwrap_or("Unknown").to_string(),
                    ready,
                    restarts,
                    p["spec"]["nodeName"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

fn shown_pods(s: &Snapshot) -> BTreeMap<String, PodRow> {
    s.fleet
        .pods
        .iter()
        .map(|p| {
            let p = &p.pod;
            (
                p.name.clone(),
                (p.phase.clone(), p.ready, p.restarts, p.node.clone()),
            )
        })
        .collect()
}

/// (ready, active, fallback, paused, current, desired) per ScaledObject, from the served
/// ScaledObject and the HPA named in its status.
type SoRow = (bool, bool, bool, bool, u32, u32);

fn served_sos(server: &KubeApiServer) -> BTreeMap<String, SoRow> {
    let hpas: BTreeMap<String, Value> = server
        .list(&hpa_rt(), Some(NS))
        .into_iter()
        .map(|h| (h["metadata"]["name"].as_str().unwrap_or("").to_string(), h))
        .collect();
    server
        .list(&so_rt(), Some(NS))
        .into_iter()
        .map(|o| {
            let c = |k: &str| {
                o["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == k && c["status"] == "True")
            };
            let ann = &o["metadata"]["annotations"];
            let paused = c("Paused")
                || ann["autoscaling.keda.sh/paused"] == "true"
                || !ann["autoscaling.keda.sh/paused-replicas"].is_null();
            let h = o["status"]["hpaName"].as_str().and_then(|n| hpas.get(n));
            let n = |v: Option<&Value>, k: &str| {
                v.and_then(|h| h["status"][k].as_u64()).unwrap_or(0) as u32
            };
            let desired = match h {
                Some(_) => n(h, "desiredReplicas"),
                None => ann["autoscaling.keda.sh/paused-replicas"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            };
            (
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                (
                    c("Ready"),
                    c("Active"),
                    c("Fallback"),
                    paused,
                    n(h, "currentReplicas"),
                    desired,
                ),
            )
        })
        .collect()
}

fn shown_sos(s: &Snapshot) -> BTreeMap<String, SoRow> {
    s.fleet
        .scaled_objects
        .iter()
        .map(|x| {
            let o = &x.scaled_object;
            (
                o.name.clone(),
                (
                    o.ready,
                    o.active,
                    o.fallback,
                    o.paused,
                    o.current_replicas,
                    o.desired_replicas,
                ),
            )
        })
        .collect()
}

fn matches_server(s: &Snapshot, server: &KubeApiServer) -> bool {
    shown_pods(s) == served_pods(server) && shown_sos(s) == served_sos(server)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_appear_change_and_disappear_live() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    // Not this path's: another app, and the right label in another namespace.
    let mut other = pod_json("redis-0", Some("ip-10-0-9-9"), ready(0));
    other["metadata"]["labels"] = json!({"app": "redis"});
    server.create(&pods_rt(), other);
    let mut elsewhere = pod_json("vllm-qwen3-batch", None, ready(0));
    elsewhere["metadata"]["namespace"] = json!("batch");
    server.create(&pods_rt(), elsewhere);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());

    let s = live.synced().await;
    assert_eq!(pod_names(&s), ["vllm-qwen3-a", "vllm-qwen3-b"]);
    let a = pod(&s, "vllm-qwen3-a");
    assert!(a.ready);
    assert_eq!(a.path.as_ref().map(|p| p.as_str()), Some("eks-qwen3"));
    assert_eq!(a.node.as_deref(), Some("ip-10-0-1-23"));
    // The list was chunked (page size 2) and filtered by the path's selector on the server.
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/namespaces/agents/pods" && !r.is_watch())
        .collect();
    assert!(lists
        .iter()
        .all(|r| r.param("labelSelector").as_deref() == Some("app=vllm-qwen3")));
    assert!(lists
        .iter()
        .all(|r| r.param("limit").as_deref() == Some("2")));

    // Appears.
    server.create(&pods_rt(), pod_json("vllm-qwen3-c", None, unschedulable()));
    let s = live
        .wait_for("new pod appears", LIVE, |s| has_pod(s, "vllm-qwen3-c"))
        .await;
    let c = pod(&s, "vllm-qwen3-c");
    assert_eq!(c.phase, "Pending");
    assert_eq!(c.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(
        c.message.as_deref(),
        Some("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.")
    );

    // Changes: a's container crashes (OOM), b restarts once more.
    server.patch(
        &pods_rt(),
        NS,
        "vllm-qwen3-a",
        json!({"status": crash_oom(3)}),
    );
    let s = live
        .wait_for("pod a crash-loops", LIVE, |s| !pod(s, "vllm-qwen3-a").ready)
        .await;
    let a = pod(&s, "vllm-qwen3-a");
    assert_eq!(a.reason.as_deref(), Some("CrashLoopBackOff (OOMKilled)"));
    assert_eq!(a.restarts, 3);

    // Disappears.
    server.delete(&pods_rt(), NS, "vllm-qwen3-b");
    live.wait_for("pod b disappears", LIVE, |s| !has_pod(s, "vllm-qwen3-b"))
        .await;
    // A pod that stops matching the selector leaves too (the server sends DELETED).
    server.patch(
        &pods_rt(),
        NS,
        "vllm-qwen3-c",
        json!({"metadata": {"labels": {"app": "something-else"}}}),
    );
    let s = live
        .wait_for("relabelled pod leaves", LIVE, |s| {
            !has_pod(s, "vllm-qwen3-c")
        })
        .await;
    assert_eq!(pod_names(&s), ["vllm-qwen3-a"]);
    assert!(matches_server(&s, &server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keda_conditions_map_to_states() {
    let server = KubeApiServer::start();
    server.create(&so_rt(), so_json("vllm-qwen3", healthy_conditions()));
    server.create(&hpa_rt(), hpa_json("vllm-qwen3", 3, 4, "553300m"));
    let mut fb = healthy_conditions();
    fb[2] = cond(
        "Fallback",
        "True",
        "FallbackExists",
        "At least one trigger is falling back on this scaled object",
    );
    let mut v = so_json("sqs-fallback", fb);
    v["spec"]["fallback"] = json!({"failureThreshold": 3, "replicas": 6});
    v["status"]["health"] = json!({
        "s0-aws-sqs-queue": {"numberOfFailures": 5, "status": "Failing"},
        "s1-prometheus": {"numberOfFailures": 0, "status": "Happy"},
    });
    server.create(&so_rt(), v);
    let mut broken = healthy_conditions();
    broken[0] = cond(
        "Ready",
        "False",
        "ScaledObjectCheckFailed",
        "ScaledObject doesn't have correct scaleTargetRef specification",
    );
    broken[1] = cond(
        "Active",
        "False",
        "ScalerNotActive",
        "Scaling is not performed because triggers are not active",
    );
    server.create(&so_rt(), so_json("broken", broken));
    let mut paused = so_json("paused", healthy_conditions());
    paused["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused-replicas": "2"});
    paused["status"]["hpaName"] = Value::Null;
    server.create(&so_rt(), paused);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("four ScaledObjects", Duration::from_secs(10), |s| {
            s.fleet.scaled_objects.len() == 4
        })
        .await;

    let ok = so(&s, "vllm-qwen3");
    assert!(ok.ready && ok.active && !ok.fallback && !ok.paused);
    assert_eq!(ok.path.as_ref().map(|p| p.as_str()), Some("eks-qwen3"));
    assert_eq!(ok.triggers, ["aws-sqs-queue", "prometheus"]);
    assert_eq!(ok.message, None);
    assert_eq!(ok.conditions.len(), 4);
    assert_eq!(ok.conditions[1].reason.as_deref(), Some("ScalerActive"));

    let f = so(&s, "sqs-fallback");
    assert!(f.fallback && f.ready);
    assert_eq!(f.failing_triggers, 1);
    assert_eq!(f.failing_trigger_names, ["s0-aws-sqs-queue"]);
    assert_eq!(f.message.as_deref(), Some("failing: s0-aws-sqs-queue"));
    assert_eq!(f.path, None);

    let b = so(&s, "broken");
    assert!(!b.ready && !b.active);
    assert_eq!(
        b.message.as_deref(),
        Some("ScaledObjectCheckFailed: ScaledObject doesn't have correct scaleTargetRef specification")
    );

    let p = so(&s, "paused");
    assert!(p.paused);
    assert_eq!(p.desired_replicas, 2);
    assert_eq!(
        p.message.as_deref(),
        Some("paused at 2 replicas by annotation")
    );

    // A condition flips while it runs.
    server.patch(
        &so_rt(),
        NS,
        "broken",
        json!({"status": {"conditions": healthy_conditions()}}),
    );
    live.wait_for("broken turns ready", LIVE, |s| so(s, "broken").ready)
        .await;
    assert!(matches_server(&live.snapshot(), &server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_joins_by_hpa_name_and_selector_label() {
    let server = KubeApiServer::start();
    // Joined by status.hpaName (the HPA has a non-default name and no label).
    let mut so1 = so_json("vllm-qwen3", healthy_conditions());
    so1["status"]["hpaName"] = json!("custom-hpa");
    server.create(&so_rt(), so1);
    let mut h1 = hpa_json("vllm-qwen3", 3, 4, "553300m");
    h1["metadata"]["name"] = json!("custom-hpa");
    h1["metadata"]["labels"] = json!({});
    server.create(&hpa_rt(), h1);
    // Joined only through the external metric selector label.
    let mut so2 = so_json("agent-queue", healthy_conditions());
    so2["status"]["hpaName"] = Value::Null;
    server.create(&so_rt(), so2);
    let mut h2 = hpa_json("agent-queue", 1, 1, "1.5k");
    h2["metadata"]["name"] = json!("queue-autoscaler");
    h2["metadata"]["labels"] = json!({});
    server.create(&hpa_rt(), h2);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("both joined", Duration::from_secs(10), |s| {
            s.fleet.scaled_objects.len() == 2
                && s.fleet
                    .scaled_objects
                    .iter()
                    .all(|x| x.scaled_object.hpa_name.is_some())
        })
        .await;
    let a = so(&s, "vllm-qwen3");
    assert_eq!(a.hpa_name.as_deref(), Some("custom-hpa"));
    assert_eq!((a.current_replicas, a.desired_replicas), (3, 4));
    assert_eq!(a.metric_name.as_deref(), Some("s1-prometheus"));
    assert_eq!(a.metric_value, Some(553.3));
    assert_eq!(a.metric_target, Some(10.0));
    assert_eq!(
        a.last_scale.map(|t| t.to_rfc3339()),
        Some("2026-11-25T07:58:00+00:00".to_string())
    );
    let kinds: Vec<&str> = a.hpa_conditions.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["AbleToScale", "ScalingActive", "ScalingLimited"]);
    let q = so(&s, "agent-queue");
    assert_eq!(q.hpa_name.as_deref(), Some("queue-autoscaler"));
    assert_eq!(q.metric_value, Some(1500.0));

    // The path's summary reads the joined numbers: ready pods vs KEDA's desired replicas.
    let eks = s
        .paths
        .iter()
        .find(|p| p.id.as_str() == "eks-qwen3")
        .unwrap();
    assert_eq!(eks.desired_pods, Some(4));

    // The HPA changes: the ScaledObject follows; ScalingLimited becomes the headline.
    server.patch(
        &hpa_rt(),
        NS,
        "custom-hpa",
        json!({"status": {"desiredReplicas": 8, "currentMetrics": [{"type": "External", "external": {
            "metric": {"name": "s1-prometheus"}, "current": {"averageValue": "120"}}}],
            "conditions": [
                cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
                cond("ScalingActive", "True", "ValidMetricFound", "ok"),
                cond("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count"),
            ]}}),
    );
    let s = live
        .wait_for("HPA change joins in", LIVE, |s| {
            so(s, "vllm-qwen3").desired_replicas == 8
        })
        .await;
    let a = so(&s, "vllm-qwen3");
    assert_eq!(a.metric_value, Some(120.0));
    assert_eq!(
        a.message.as_deref(),
        Some("HPA ScalingLimited=True: TooManyReplicas: the desired replica count is more than the maximum replica count")
    );
    // HPA gone: the ScaledObject stays, says so.
    server.delete(&hpa_rt(), NS, "queue-autoscaler");
    let s = live
        .wait_for("HPA deletion joins in", LIVE, |s| {
            so(s, "agent-queue").hpa_name.is_none()
        })
        .await;
    assert_eq!(
        so(&s, "agent-queue").message.as_deref(),
        Some("no HPA found (keda-hpa-agent-queue)")
    );
}

#[test]
fn quantity_parsing() {
    use kubernetes::parse_quantity;
    assert_eq!(parse_quantity("553300m"), Some(553.3));
    assert_eq!(parse_quantity("1.5k"), Some(1500.0));
    assert_eq!(parse_quantity("2Gi"), Some(2_147_483_648.0));
    assert_eq!(parse_quantity("1e3"), Some(1000.0));
    assert_eq!(parse_quantity("12Mi"), Some(12.0 * 1024.0 * 1024.0));
    assert_eq!(parse_quantity("7"), Some(7.0));
    assert_eq!(parse_quantity("bogus"), None);
    assert_eq!(parse_quantity("1.5kk"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_and_missing_resources_are_named_while_pods_keep_updating() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    server.forbid("list", "scaledobjects.keda.sh");
    server.forbid("watch", "scaledobjects.keda.sh");
    server.unregister("autoscaling", "horizontalpodautoscalers");
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("both problems named", Duration::from_secs(10), |s| {
            s.fleet.problems.len() == 2
        })
        .await;
    // The source is up (pods flow); the problems are per resource.
    assert_eq!(kube_status(&s).state, SourceState::Ok);
    assert_eq!(pod_names(&s), ["vllm-qwen3-a", "vllm-qwen3-b"]);
    let forbidden = s
        .fleet
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Forbidden)
        .expect("403 named");
    assert_eq!(
        forbidden.message,
        "forbidden: needs list and watch on scaledobjects.keda.sh in agents"
    );
    let missing = s
        .fleet
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::NotInstalled)
        .expect("404 named");
    assert_eq!(missing.resource, "horizontalpodautoscalers.autoscaling");
    assert!(missing.message.starts_with("autoscaling/v2 not served"));

    // On screen where the data would be: the Fleet view and the Overview's fleet panel.
    let fleet = screen(&s, hybridtop::ui::state::View::Fleet, 200, 50);
    assert!(
        fleet.contains("forbidden: needs list and watch on scaledobjects.keda.sh in agents"),
        "{fleet}"
    );
    assert!(fleet.contains("autoscaling/v2 not served"), "{fleet}");
    let overview = screen(&s, hybridtop::ui::state::View::Overview, 200, 50);
    assert!(
        overview.contains("forbidden: needs list and watch"),
        "{overview}"
    );

    // Pods keep updating meanwhile.
    server.create(
        &pods_rt(),
        pod_json("vllm-qwen3-new", Some("ip-10-0-3-17"), ready(0)),
    );
    live.wait_for("pods still update", LIVE, |s| has_pod(s, "vllm-qwen3-new"))
        .await;

    // Permission granted: the ScaledObject arrives and the 403 is gone, without a restart.
    server.clear_injections();
    let s = live
        .wait_for("403 recovers", Duration::from_secs(10), |s| {
            s.fleet.scaled_objects.len() == 1 && s.fleet.problems.len() == 1
        })
        .await;
    assert_eq!(s.fleet.problems[0].kind, ProblemKind::NotInstalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keda_not_installed_then_installed() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    server.unregister("keda.sh", "scaledobjects");
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        // The problem can reach the model a moment before the health that follows it.
        .wait_for("KEDA missing is named", Duration::from_secs(10), |s| {
            !s.fleet.problems.is_empty() && kube_status(s).state == SourceState::Ok
        })
        .await;
    assert_eq!(s.fleet.problems[0].kind, ProblemKind::NotInstalled);
    assert_eq!(s.fleet.problems[0].resource, "scaledobjects.keda.sh");
    assert!(s.fleet.problems[0]
        .message
        .starts_with("KEDA not installed"));
    assert_eq!(kube_status(&s).state, SourceState::Ok);
    assert_eq!(s.fleet.pods.len(), 2);
    let overview = screen(&s, hybridtop::ui::state::View::Overview, 80, 24);
    assert!(overview.contains("KEDA not installed"), "{overview}");

    server.register(ResourceType::scaled_objects());
    let s = live
        .wait_for("KEDA installed later", Duration::from_secs(10), |s| {
            s.fleet.problems.is_empty() && s.fleet.scaled_objects.len() == 1
        })
        .await;
    assert_eq!(so(&s, "vllm-qwen3").desired_replicas, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relists_silently_after_410() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    live.synced().await;
    let pod_lists = |server: &KubeApiServer| {
        server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/api/v1/namespaces/agents/pods" && !r.is_watch())
            .filter(|r| r.param("continue").is_none())
            .count()
    };
    let before = pod_lists(&server);
    // Every open watch gets ERROR 410 Expired; history is compacted, so only a relist works.
    server.expire_watches();
    server.delete(&pods_rt(), NS, "vllm-qwen3-b");
    server.create(
        &pods_rt(),
        pod_json("vllm-qwen3-d", Some("ip-10-0-1-23"), ready(0)),
    );
    let s = live
        .wait_for("state after relist", LIVE, |s| matches_server(s, &server))
        .await;
    assert_eq!(pod_names(&s), ["vllm-qwen3-a", "vllm-qwen3-d"]);
    assert!(pod_lists(&server) > before, "the source relisted");
    // Silent: never an error, never a problem.
    for u in live.updates() {
        match u {
            Update::Health(h) => assert_ne!(h.state, SourceState::Error, "{h:?}"),
            Update::Fleet(FleetUpdate::Problems { problems }) => {
                panic!("410 surfaced as a problem: {problems:?}")
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_restarts() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live.synced().await;
    let before = kube_status(&s).last_success.expect("last success");

    server.stop();
    let s = live
        .wait_for("unreachable is an error", Duration::from_secs(10), |s| {
            kube_status(s).state == SourceState::Error
        })
        .await;
    let err = kube_status(&s).error.unwrap_or_default();
    assert!(
        err.starts_with(&format!("Kubernetes API unreachable at {}", server.url())),
        "{err}"
    );
    // The last data stays on screen, and its age is known for "last data … ago".
    assert_eq!(s.fleet.pods.len(), 2);
    assert!(kube_status(&s).age_seconds.is_some());
    let fleet = screen(&s, hybridtop::ui::state::View::Fleet, 200, 50);
    assert!(fleet.contains("Kubernetes API unreachable at"), "{fleet}");
    assert!(fleet.contains("last data"), "{fleet}");

    // Changes while it is down show once it is back.
    server.delete(&pods_rt(), NS, "vllm-qwen3-a");
    server.create(&pods_rt(), pod_json("vllm-qwen3-e", None, image_pull()));
    server.restart();
    let s = live
        .wait_for("back and current", Duration::from_secs(10), |s| {
            kube_status(s).state == SourceState::Ok && matches_server(s, &server)
        })
        .await;
    assert!(kube_status(&s).last_success.unwrap() > before);
    assert_eq!(
        pod(&s, "vllm-qwen3-e").reason.as_deref(),
        Some("ImagePullBackOff")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watch_is_dropped_and_rewatched() {
    let server = KubeApiServer::start();
    server.set_bookmark_interval(Duration::from_millis(200));
    seed_basic(&server);
    let kc = server.kubeconfig();
    let stall = Duration::from_millis(1500);
    let live = Live::start(
        &kc,
        Tuning {
            stall_timeout: stall,
            ..tuning()
        },
    );
    live.synced().await;
    let watches = |server: &KubeApiServer| {
        server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/api/v1/namespaces/agents/pods" && r.is_watch())
            .count()
    };
    // Healthy watches get bookmarks every 200 ms: nothing is re-watched while they flow.
    tokio::time::sleep(stall + Duration::from_millis(500)).await;
    let steady = watches(&server);
    server.stall_open_watches();
    let stalled_at = Instant::now();
    server.create(&pods_rt(), pod_json("vllm-qwen3-late", None, ready(0)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !has_pod(&live.snapshot(), "vllm-qwen3-late"),
        "the stalled watch must not deliver"
    );
    live.wait_for("re-watched after the stall", stall + LIVE, |s| {
        has_pod(s, "vllm-qwen3-late")
    })
    .await;
    // The stall clock starts at the last bookmark, at most 200 ms before the stall began.
    assert!(stalled_at.elapsed() >= stall - Duration::from_millis(200));
    assert!(watches(&server) > steady, "a new watch was opened");
    assert_eq!(kube_status(&live.snapshot()).state, SourceState::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_keep_last_success_fresh_on_a_quiet_cluster() {
    let server = KubeApiServer::start();
    server.set_bookmark_interval(Duration::from_millis(200));
    seed_basic(&server);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let first = kube_status(&live.synced().await).last_success.unwrap();
    // Nothing changes on the server; bookmarks alone must move last_success.
    let s = live
        .wait_for("last_success advances without events", LIVE, |s| {
            kube_status(s)
                .last_success
                .is_some_and(|t| t > first + chrono::Duration::milliseconds(500))
        })
        .await;
    assert_eq!(kube_status(&s).state, SourceState::Ok);
    // Health is re-sent at most per heartbeat, not per bookmark or event.
    let healths = live
        .updates()
        .iter()
        .filter(|u| matches!(u, Update::Health(_)))
        .count();
    assert!(healths < 40, "{healths} health updates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_matches_what_the_api_serves_while_it_changes() {
    let server = KubeApiServer::start();
    let p = pods_rt();
    server.create(
        &p,
        pod_json("vllm-qwen3-ready-1", Some("ip-10-0-1-23"), ready(0)),
    );
    server.create(
        &p,
        pod_json("vllm-qwen3-ready-2", Some("ip-10-0-2-41"), ready(2)),
    );
    server.create(
        &p,
        pod_json("vllm-qwen3-crash", Some("ip-10-0-2-41"), crash_oom(7)),
    );
    server.create(
        &p,
        pod_json("vllm-qwen3-pull", Some("ip-10-0-3-88"), image_pull()),
    );
    server.create(&p, pod_json("vllm-qwen3-pending", None, unschedulable()));
    server.create(
        &p,
        pod_json("vllm-qwen3-probe", Some("ip-10-0-1-23"), probe_failing()),
    );
    server.create(
        &p,
        pod_json("vllm-qwen3-evicted", Some("ip-10-0-4-4"), evicted()),
    );
    server.create(&so_rt(), so_json("vllm-qwen3", healthy_conditions()));
    server.create(&hpa_rt(), hpa_json("vllm-qwen3", 5, 6, "14200m"));
    let mut fb = healthy_conditions();
    fb[2] = cond("Fallback", "True", "FallbackExists", "falling back");
    let mut fbo = so_json("sqs-fallback", fb);
    fbo["status"]["health"] =
        json!({"s0-aws-sqs-queue": {"numberOfFailures": 5, "status": "Failing"}});
    server.create(&so_rt(), fbo);
    server.create(&hpa_rt(), hpa_json("sqs-fallback", 6, 6, "0"));
    let mut off = healthy_conditions();
    off[0] = cond("Ready", "False", "TriggerError", "Error getting metric");
    server.create(&so_rt(), so_json("broken", off));
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("matches the API", Duration::from_secs(10), |s| {
            kube_status(s).state == SourceState::Ok && matches_server(s, &server)
        })
        .await;
    let reasons: BTreeMap<String, Option<String>> = s
        .fleet
        .pods
        .iter()
        .map(|p| (p.pod.name.clone(), p.pod.reason.clone()))
        .collect();
    let want = |n: &str| reasons.get(n).cloned().flatten();
    assert_eq!(want("vllm-qwen3-ready-1"), None);
    assert_eq!(
        want("vllm-qwen3-crash").as_deref(),
        Some("CrashLoopBackOff (OOMKilled)")
    );
    assert_eq!(want("vllm-qwen3-pull").as_deref(), Some("ImagePullBackOff"));
    assert_eq!(want("vllm-qwen3-pending").as_deref(), Some("Unschedulable"));
    assert_eq!(
        want("vllm-qwen3-probe").as_deref(),
        Some("ContainersNotReady")
    );
    assert_eq!(want("vllm-qwen3-evicted").as_deref(), Some("Evicted"));

    // The path's numbers: 2 ready of 6 desired; GPU nodes = distinct nodes of Running pods
    // (ip-10-0-1-23, ip-10-0-2-41) × $1.006.
    let eks = s
        .paths
        .iter()
        .find(|p| p.id.as_str() == "eks-qwen3")
        .unwrap();
    assert_eq!(eks.ready_pods, Some(2));
    assert_eq!(eks.desired_pods, Some(6));
    let usd = eks.cost.usd_per_hour.expect("EKS cost known");
    assert!((usd - 2.0 * 1.006).abs() < 1e-9, "{usd}");

    // The JSON's fleet section says the same.
    let j = serde_json::to_value(&s).unwrap();
    let names: Vec<&str> = j["fleet"]["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 7);
    let crash = j["fleet"]["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "vllm-qwen3-crash")
        .unwrap();
    assert_eq!(crash["restarts"], 7);
    assert_eq!(crash["ready"], false);
    assert_eq!(crash["path"], "eks-qwen3");
    assert_eq!(crash["node"], "ip-10-0-2-41");
    let sos = j["fleet"]["scaled_objects"].as_array().unwrap();
    let main = sos.iter().find(|o| o["name"] == "vllm-qwen3").unwrap();
    assert_eq!(main["target"], "Deployment/vllm-qwen3");
    assert_eq!(main["desired_replicas"], 6);
    assert_eq!(main["triggers"], json!(["aws-sqs-queue", "prometheus"]));
    assert_eq!(main["metric_value"], 14.2);
    assert_eq!(main["path"], "eks-qwen3");
    assert_eq!(j["fleet"]["problems"], json!([]));

    // Change many things at once while it runs; all of it shows within 2 s.
    server.delete(&p, NS, "vllm-qwen3-ready-2");
    server.patch(&p, NS, "vllm-qwen3-crash", json!({"status": ready(8)}));
    server.create(&p, pod_json("vllm-qwen3-scale-up", None, unschedulable()));
    server.patch(
        &p,
        NS,
        "vllm-qwen3-pending",
        json!({"spec": {"nodeName": "ip-10-0-5-5"}, "status": probe_failing()}),
    );
    server.patch(
        &hpa_rt(),
        NS,
        "keda-hpa-vllm-qwen3",
        json!({"status": {"currentReplicas": 6, "desiredReplicas": 8}}),
    );
    server.patch(
        &so_rt(),
        NS,
        "broken",
        json!({"status": {"conditions": healthy_conditions()}}),
    );
    server.delete(&so_rt(), NS, "sqs-fallback");
    let mut paused = so_json("paused-later", healthy_conditions());
    paused["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused": "true"});
    server.create(&so_rt(), paused);
    let s = live
        .wait_for("changes match the API", LIVE, |s| {
            matches_server(s, &server)
        })
        .await;
    assert!(so(&s, "paused-later").paused);
    assert_eq!(so(&s, "vllm-qwen3").desired_replicas, 8);
    assert!(pod(&s, "vllm-qwen3-crash").ready);
    assert_eq!(pod(&s, "vllm-qwen3-crash").restarts, 8);
    let fleet = screen(&s, hybridtop::ui::state::View::Fleet, 200, 50);
    for name in [
        "vllm-qwen3-scale-up",
        "vllm-qwen3-crash",
        "paused-later",
        "broken",
    ] {
        assert!(fleet.contains(name), "{name} on screen:\n{fleet}");
    }
    assert!(fleet.contains("Unschedulable"), "{fleet}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_strings_are_sanitised() {
    let server = KubeApiServer::start();
    let mut st = crash_oom(1);
    st["containerStatuses"][0]["state"]["waiting"] = json!({
        "reason": "CrashLoopBackOff\u{1b}[2J",
        "message": "boom\u{1b}]52;c;ZXZpbA==\u{7}\nsecond line\u{202e}",
    });
    server.create(
        &pods_rt(),
        pod_json("vllm-qwen3-evil", Some("ip-10-0-1-23"), st),
    );
    let mut o = so_json("vllm-qwen3", healthy_conditions());
    o["status"]["conditions"][0] = cond("Ready", "False", "Bad\u{1b}[31m", "red\u{9b}1m text");
    server.create(&so_rt(), o);
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("hostile objects arrive", Duration::from_secs(10), |s| {
            has_pod(s, "vllm-qwen3-evil") && s.fleet.scaled_objects.len() == 1
        })
        .await;
    let p = pod(&s, "vllm-qwen3-evil");
    assert_eq!(p.reason.as_deref(), Some("CrashLoopBackOff (OOMKilled)"));
    assert_eq!(p.message.as_deref(), Some("boom second line"));
    let j = serde_json::to_string(&s.fleet).unwrap();
    assert!(
        !j.contains("\\u001b")
            && !j.contains('\u{1b}')
            && !j.contains('\u{9b}')
            && !j.contains('\u{202e}'),
        "{j}"
    );
    assert_eq!(
        so(&s, "vllm-qwen3").message.as_deref(),
        Some("Bad: red text")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_pods_sync_in_pages_and_stay_live() {
    let server = KubeApiServer::start();
    for i in 0..5_000 {
        let (node, status) = match i % 10 {
            0 => (None, unschedulable()),
            1 => (
                Some(format!("ip-10-1-{}-{}", i / 250, i % 250)),
                crash_oom(i % 9),
            ),
            _ => (Some(format!("ip-10-1-{}-{}", i / 250, i % 250)), ready(0)),
        };
        server.create(
            &pods_rt(),
            pod_json(&format!("vllm-qwen3-{i:05}"), node.as_deref(), status),
        );
    }
    let kc = server.kubeconfig();
    let live = Live::start(
        &kc,
        Tuning {
            page_size: 500,
            ..tuning()
        },
    );
    let s = live
        .wait_for("5,000 pods", Duration::from_secs(60), |s| {
            s.fleet.pods.len() == 5_000
        })
        .await;
    assert_eq!(s.fleet.pods.iter().filter(|p| !p.pod.ready).count(), 1_000);
    let pages = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/namespaces/agents/pods" && !r.is_watch())
        .count();
    assert!(pages >= 10, "{pages} list pages of 500");
    server.delete(&pods_rt(), NS, "vllm-qwen3-00042");
    live.wait_for("still live at 5,000", LIVE, |s| {
        s.fleet.pods.len() == 4_999 && !has_pod(s, "vllm-qwen3-00042")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_kubeconfig_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let src = from_config(&config())
        .unwrap()
        .with_kubeconfig(vec![missing.clone()]);
    let live = Live::spawn(Box::new(src));
    let s = live
        .wait_for("error", Duration::from_secs(5), |s| {
            kube_status(s).state == SourceState::Error
        })
        .await;
    let err = kube_status(&s).error.unwrap();
    assert!(
        err.starts_with(&format!("no kubeconfig at {}", missing.display())),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_lines_name_what_is_missing() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    let kc = server.kubeconfig();
    let files = vec![kc.path.clone()];
    let lines = check_with(&config(), Some(&files)).await;
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} | {}",
                if l.ok { "ok " } else { "BAD" },
                l.check,
                l.detail
            )
        })
        .collect();
    assert!(
        lines.iter().all(|l| l.ok && l.source == "kubernetes"),
        "{text:#?}"
    );
    let checks: Vec<&str> = lines.iter().map(|l| l.check.as_str()).collect();
    assert_eq!(
        checks,
        [
            "kubeconfig context",
            "server reachable",
            "list pods in agents (app=vllm-qwen3)",
            "watch pods in agents (app=vllm-qwen3)",
            "list scaledobjects.keda.sh in agents",
            "watch scaledobjects.keda.sh in agents",
            "list horizontalpodautoscalers.autoscaling in agents",
            "watch horizontalpodautoscalers.autoscaling in agents",
            "list events.events.k8s.io in agents",
            "watch events.events.k8s.io in agents",
            "list nodes (nvidia.com/gpu.present=true)",
            "watch nodes (nvidia.com/gpu.present=true)",
            "list nodeclaims.karpenter.sh",
            "watch nodeclaims.karpenter.sh",
            "ScaledObject agents/vllm-qwen3 (path eks-qwen3)",
        ]
    );
    assert_eq!(
        lines[0].detail,
        format!("context 'test' → {}", server.url())
    );
    assert!(lines[1].detail.contains("v1.33.0"), "{}", lines[1].detail);
    assert_eq!(lines[2].detail, "allowed (2 found)");

    // Watch forbidden on ScaledObjects; HPAs not served.
    server.forbid("watch", "scaledobjects.keda.sh");
    server.unregister("autoscaling", "horizontalpodautoscalers");
    let lines = check_with(&config(), Some(&files)).await;
    let by = |c: &str| lines.iter().find(|l| l.check == c).unwrap().clone();
    let w = by("watch scaledobjects.keda.sh in agents");
    assert!(!w.ok);
    assert!(
        w.detail
            .starts_with("forbidden: needs watch on scaledobjects.keda.sh in agents"),
        "{}",
        w.detail
    );
    assert!(by("list scaledobjects.keda.sh in agents").ok);
    let h = by("list horizontalpodautoscalers.autoscaling in agents");
    assert!(
        !h.ok && h.detail.starts_with("autoscaling/v2 not served"),
        "{}",
        h.detail
    );
    assert!(!by("watch horizontalpodautoscalers.autoscaling in agents").ok);
    assert!(by("list pods in agents (app=vllm-qwen3)").ok);

    // KEDA missing and the path's ScaledObject absent.
    server.clear_injections();
    server.unregister("keda.sh", "scaledobjects");
    let lines = check_with(&config(), Some(&files)).await;
    let l = lines
        .iter()
        .find(|l| l.check == "list scaledobjects.keda.sh in agents")
        .unwrap();
    assert!(
        !l.ok && l.detail.starts_with("KEDA not installed"),
        "{}",
        l.detail
    );
    server.register(ResourceType::scaled_objects());
    server.delete(&so_rt(), NS, "vllm-qwen3");
    let lines = check_with(&config(), Some(&files)).await;
    let l = lines.last().unwrap();
    assert_eq!(l.check, "ScaledObject agents/vllm-qwen3 (path eks-qwen3)");
    assert!(!l.ok && l.detail.starts_with("not found"), "{}", l.detail);

    // Server down: the reachability line names the URL and the checks stop there.
    server.stop();
    let lines = check_with(&config(), Some(&files)).await;
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].ok);
    assert!(!lines[1].ok);
    assert!(
        lines[1]
            .detail
            .starts_with(&format!("Kubernetes API unreachable at {}", server.url())),
        "{}",
        lines[1].detail
    );

    // No kubeconfig at all; and a path without a pod selector.
    let missing = vec![kc.dir.path().join("missing")];
    let lines = check_with(&config(), Some(&missing)).await;
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].ok && lines[0].detail.starts_with("no kubeconfig at"));
    server.restart();
    let cfg = Config::from_toml(
        "[[paths]]\nid = \"eks-x\"\nkind = \"eks\"\n[paths.eks]\nnamespace = \"agents\"\n[kubernetes]\nnamespaces = [\"agents\"]\n",
        "t.toml",
    )
    .unwrap();
    let lines = check_with(&cfg, Some(&files)).await;
    let l = lines
        .iter()
        .find(|l| l.check == "pods of path eks-x")
        .unwrap();
    assert!(!l.ok && l.detail.contains("pod_selector"));
    let disabled = check_with(&Config::default(), Some(&files)).await;
    assert_eq!(disabled.len(), 1);
    assert!(disabled[0].ok && disabled[0].detail.contains("disabled"));
}

fn event_json(name: &str, kind: &str, about: &str, reason: &str, note: &str, count: u32) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "agents"},
        "type": "Warning", "reason": reason, "note": note,
        "regarding": {"kind": kind, "name": about, "namespace": "agents"},
        "eventTime": (Utc::now() - chrono::Duration::seconds(240)).to_rfc3339(),
        "series": {"count": count, "lastObservedTime": Utc::now().to_rfc3339()}
    })
}

/// Events, GPU nodes and NodeClaims as the API serves them: the events arrive de-duplicated,
/// attributed to the path and sanitised; the node waiting on a launching NodeClaim is counted in
/// the verdict; a re-count of the same Event object is not added twice; and when RBAC forbids
/// nodes, that is said once and the rest goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_nodes_and_nodeclaims_explain_the_wait() {
    let server = KubeApiServer::start();
    seed_basic(&server);
    server.create(&pods_rt(), pod_json("vllm-qwen3-c", None, unschedulable()));
    server.create(
        &ResourceType::events(),
        event_json(
            "vllm-qwen3-c.1",
            "Pod",
            "vllm-qwen3-c",
            "FailedScheduling",
            "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.\u{1b}]0;owned\u{7}",
            3,
        ),
    );
    server.create(
        &ResourceType::nodes(),
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": "ip-10-0-1-23", "labels": {"nvidia.com/gpu.present": "true"}},
               "status": {"allocatable": {"nvidia.com/gpu": "1"},
                          "conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    server.create(
        &ResourceType::node_claims(),
        json!({"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
               "metadata": {"name": "gpu-x7k2p",
                            "creationTimestamp": (Utc::now() - chrono::Duration::seconds(90)).to_rfc3339()},
               "spec": {"resources": {"requests": {"nvidia.com/gpu": "1"}}},
               "status": {"conditions": [{"type": "Launched", "status": "True"}]}}),
    );
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("events and nodes", Duration::from_secs(10), |s| {
            !s.fleet.events.is_empty() && s.fleet.nodes.iter().any(|n| !n.ready)
        })
        .await;
    let e = &s.fleet.events[0];
    assert_eq!(
        (e.reason.as_str(), e.kind.as_str(), e.count),
        ("FailedScheduling", "Pod", 3)
    );
    assert_eq!(e.path.as_ref().map(|p| p.as_str()), Some("eks-qwen3"));
    assert!(
        !e.message.contains('\u{1b}') && e.message.ends_with("nvidia.com/gpu."),
        "{e:?}"
    );
    let ready: Vec<_> = s.fleet.nodes.iter().filter(|n| n.ready).collect();
    assert_eq!(ready.len(), 1);
    assert_eq!((ready[0].gpus_allocatable, ready[0].gpus_used), (1, 1));
    let claim = s.fleet.nodes.iter().find(|n| !n.ready).unwrap();
    assert_eq!(claim.claim.as_deref(), Some("gpu-x7k2p"));
    let v = &s.fleet.scaled_objects[0].verdict;
    assert!(
        v.contains("1 pod waiting for a GPU node")
            && v.contains("(FailedScheduling)")
            && v.contains("1 node launching"),
        "{v}"
    );
    // The same Event object seen again with a higher count: re-counted, not added.
    let mut again = event_json(
        "vllm-qwen3-c.1",
        "Pod",
        "vllm-qwen3-c",
        "FailedScheduling",
        "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        5,
    );
    again["metadata"]["resourceVersion"] = json!(null);
    server.update(&ResourceType::events(), again);
    let s = live
        .wait_for("re-counted", Duration::from_secs(10), |s| {
            s.fleet.events.first().is_some_and(|e| e.count == 5)
        })
        .await;
    assert_eq!(s.fleet.events.len(), 1);

    // Nodes forbidden: said once, cluster-wide, and the rest keeps updating.
    let server = KubeApiServer::start();
    seed_basic(&server);
    server.forbid("list", "nodes");
    server.forbid("watch", "nodes");
    let kc = server.kubeconfig();
    let live = Live::start(&kc, tuning());
    let s = live
        .wait_for("nodes forbidden", Duration::from_secs(10), |s| {
            kube_status(s).state == SourceState::Ok && !s.fleet.problems.is_empty()
        })
        .await;
    assert_eq!(s.fleet.problems.len(), 1, "{:?}", s.fleet.problems);
    assert!(
        s.fleet.problems[0]
            .message
            .contains("needs list and watch on nodes (cluster-wide); going on without"),
        "{:?}",
        s.fleet.problems
    );
    assert_eq!(pod_names(&s).len(), 2);
}
