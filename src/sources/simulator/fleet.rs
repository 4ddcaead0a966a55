//! One EKS path's fleet: GPU nodes, vLLM pods, the KEDA ScaledObject that sizes them, and the
//! queue in front of the ready pods.
//!
//! Times are milliseconds since the simulation start (`rel` ms); views convert them to UTC.
use crate::config::EksPath;
use crate::domain::path::PathId;
use crate::model::update::{Condition, GpuNode, KubeEvent, Pod, ScaledObject};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};

/// KEDA polls its trigger this often.
pub(super) const KEDA_POLL_S: u64 = 30;
/// HPA scale-down stabilisation window (KEDA cooldown).
const SCALE_DOWN_WINDOW_S: u64 = 300;
/// HPA tolerance: no change while the metric is within ±10 % of the target.
const HPA_TOLERANCE: f64 = 0.10;
const MIN_REPLICAS: u32 = 1;
const MAX_REPLICAS: u32 = 8;
/// KEDA targets this share of a pod's capacity.
const TARGET_UTILISATION: f64 = 0.75;
/// Requests time out after this long.
pub(super) const TIMEOUT_MS: f64 = 5000.0;
/// The queue holds at most this much work (ms of service at current capacity) before it sheds.
const MAX_WAIT_MS: f64 = 3000.0;
/// Queueing-model "servers" per pod: vLLM batches, so waiting only dominates near saturation.
/// The factor on service time is 1 + ρ^C / (1 − ρ): ≈1/(1 − ρ) near saturation (M/M/1), flat at
/// the ~70 % utilisation KEDA aims for.
const QUEUE_C: i32 = 10;
const RHO_CAP: f64 = 0.95;
/// EWMA time constant (s) of the arrival rate the queue sees.
const EWMA_TAU_S: f64 = 20.0;
/// Empty nodes are removed (Karpenter consolidation) after this long.
const NODE_CONSOLIDATE_MS: i64 = 300_000;

/// What a request arriving this second meets.
#[derive(Clone, Copy, Debug)]
pub(super) struct QueueState {
    /// Ready capacity in requests per second (0 when no pod is ready).
    pub capacity_per_s: f64,
    /// Multiplier on the service time.
    pub factor: f64,
    /// Backlog wait in ms.
    pub wait_ms: f64,
    /// Share of arrivals shed (time out) because the backlog is full.
    pub overflow: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    /// Pending, no node fits: waits for a new node.
    Unschedulable,
    /// Pending on a node: image pull / container start.
    Creating {
        until: i64,
    },
    /// Running, loading the model weights; not ready.
    Loading {
        until: i64,
    },
    Ready,
    /// Its node vanished: phase Unknown until evicted.
    Lost {
        evict_at: i64,
    },
}

#[derive(Clone, Debug)]
struct SimPod {
    name: String,
    created_ms: i64,
    node: Option<String>,
    stage: Stage,
    restarts: u32,
}

#[derive(Clone, Debug)]
struct Node {
    name: String,
    /// Provisioning until then.
    ready_at: i64,
    empty_since: Option<i64>,
    /// When its NodeClaim was launched (rel ms).
    launched_ms: i64,
}

/// An event as the simulator makes it (rel ms), turned into a `KubeEvent` when emitted.
#[derive(Clone, Debug)]
struct SimEvent {
    warning: bool,
    reason: &'static str,
    kind: &'static str,
    name: String,
    message: String,
    object: String,
    count: u32,
    first_ms: i64,
    at_ms: i64,
}

pub(super) struct Fleet {
    pub path: PathId,
    namespace: String,
    name: String,
    rs_hash: String,
    region: String,
    pods_per_node: u32,
    capacity_rpm: f64,
    target_rpm: f64,
    model_load_ms: i64,
    pods: Vec<SimPod>,
    nodes: Vec<Node>,
    /// Deployment replicas as set by the autoscaler.
    replicas: u32,
    /// (second, recommendation) over the scale-down window.
    recs: VecDeque<(u64, u32)>,
    last_scale_ms: i64,
    ring: [f64; 60],
    ring_pos: usize,
    ewma_rpm: f64,
    backlog: f64,
    metric_total: f64,
    used_names: BTreeSet<String>,
    /// Events since the last `take_events`.
    events: Vec<SimEvent>,
    /// How many times each recurring event object has fired (name → (count, first ms)).
    recurring: std::collections::BTreeMap<String, (u32, i64)>,
    /// The HPA cannot read its metric since then (`keda-stuck`): KEDA still says Ready.
    stuck_since_ms: Option<i64>,
}

const POD_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn rand_suffix(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| POD_ALPHABET[rng.random_range(0..POD_ALPHABET.len())] as char)
        .collect()
}

impl Fleet {
    pub fn new(
        path: PathId,
        eks: &EksPath,
        scaled_object: &str,
        region: &str,
        initial_rpm: f64,
        rng: &mut ChaCha8Rng,
    ) -> Fleet {
        let capacity_rpm = if eks.pod_capacity_rpm.is_finite() && eks.pod_capacity_rpm > 0.0 {
            eks.pod_capacity_rpm
        } else {
            60.0
        };
        let model_load_ms = i64::try_from(eks.model_load_time.as_millis()).unwrap_or(90_000);
        let mut f = Fleet {
            path,
            namespace: eks.namespace.clone(),
            name: scaled_object.to_string(),
            rs_hash: rand_suffix(rng, 5),
            region: region.to_string(),
            pods_per_node: eks.pods_per_node.max(1),
            capacity_rpm,
            target_rpm: capacity_rpm * TARGET_UTILISATION,
            model_load_ms,
            pods: Vec::new(),
            nodes: Vec::new(),
            replicas: 1,
            recs: VecDeque::new(),
            last_scale_ms: -rng.random_range(600_000..7_200_000),
            ring: [initial_rpm / 60.0; 60],
            ring_pos: 0,
            ewma_rpm: initial_rpm,
            backlog: 0.0,
            metric_total: initial_rpm,
            used_names: BTreeSet::new(),
            events: Vec::new(),
            recurring: std::collections::BTreeMap::new(),
            stuck_since_ms: None,
        };
        f.replicas = f.clamp((initial_rpm / f.target_rpm).ceil());
        f.recs.push_back((0, f.replicas));
        // The fleet has been up for a while: pods ready on their nodes.
        for i in 0..f.replicas {
            if i % f.pods_per_node == 0 {
                let name = f.new_node_name(rng);
                let ready_at = -rng.random_range(3_600_000..86_400_000);
                f.nodes.push(Node {
                    name,
                    ready_at,
                    empty_since: None,
                    launched_ms: ready_at - 120_000,
                });
            }
            let node = f.nodes.last().map(|n| n.name.clone());
            let name = f.new_pod_name(rng);
            f.pods.push(SimPod {
                name,
                created_ms: -rng.random_range(1_800_000..36_000_000),
                node,
                stage: Stage::Ready,
                restarts: 0,
            });
        }
        f
    }

    fn clamp(&self, v: f64) -> u32 {
        if !v.is_finite() {
            return MAX_REPLICAS;
        }
        (v.max(0.0) as u32).clamp(MIN_REPLICAS, MAX_REPLICAS)
    }

    fn new_pod_name(&mut self, rng: &mut ChaCha8Rng) -> String {
        loop {
            let n = format!("{}-{}-{}", self.name, self.rs_hash, rand_suffix(rng, 5));
            if self.used_names.insert(n.clone()) {
                return n;
            }
        }
    }

    fn new_node_name(&mut self, rng: &mut ChaCha8Rng) -> String {
        loop {
            let n = format!(
                "ip-10-0-{}-{}.{}.compute.internal",
                rng.random_range(1..=3),
                rng.random_range(2..=254),
                self.region
            );
            if self.used_names.insert(n.clone()) {
                return n;
            }
        }
    }

    pub fn ready_pods(&self) -> u32 {
        self.pods.iter().filter(|p| p.stage == Stage::Ready).count() as u32
    }

    #[cfg(test)]
    pub fn desired(&self) -> u32 {
        self.replicas
    }

    fn capacity_per_s(&self) -> f64 {
        f64::from(self.ready_pods()) * self.capacity_rpm / 60.0
    }

    fn max_backlog(&self) -> f64 {
        self.capacity_per_s() * MAX_WAIT_MS / 1000.0
    }

    /// The queue as a request arriving this second meets it.
    pub fn queue_state(&self) -> QueueState {
        let cap = self.capacity_per_s();
        if cap <= 0.0 {
            return QueueState {
                capacity_per_s: 0.0,
                factor: 1.0,
                wait_ms: TIMEOUT_MS,
                overflow: 1.0,
            };
        }
        let rho = self.ewma_rpm / (cap * 60.0);
        let rc = rho.clamp(0.0, RHO_CAP);
        let factor = 1.0 + rc.powi(QUEUE_C) / (1.0 - rc);
        let wait_ms = self.backlog / cap * 1000.0;
        let demand = self.ewma_rpm / 60.0;
        let overflow = if self.backlog >= self.max_backlog() - 1e-9 && demand > cap {
            1.0 - cap / demand
        } else {
            0.0
        };
        QueueState {
            capacity_per_s: cap,
            factor,
            wait_ms,
            overflow,
        }
    }

    /// Account this second's arrivals: rate window, EWMA, fluid backlog.
    pub fn end_second(&mut self, arrivals: u64) {
        let a = arrivals as f64;
        self.ring[self.ring_pos] = a;
        self.ring_pos = (self.ring_pos + 1) % self.ring.len();
        let alpha = 1.0 - (-1.0 / EWMA_TAU_S).exp();
        self.ewma_rpm += (a * 60.0 - self.ewma_rpm) * alpha;
        let cap = self.capacity_per_s();
        self.backlog = if cap <= 0.0 {
            0.0
        } else {
            (self.backlog + self.ewma_rpm / 60.0 - cap).clamp(0.0, self.max_backlog())
        };
    }

    /// A ready pod to name in a trace id (any pod when none is ready).
    pub fn pick_pod(&self, rng: &mut ChaCha8Rng) -> String {
        let ready: Vec<&SimPod> = self
            .pods
            .iter()
            .filter(|p| p.stage == Stage::Ready)
            .collect();
        if !ready.is_empty() {
            return ready[rng.random_range(0..ready.len())].name.clone();
        }
        match self.pods.first() {
            Some(p) => p.name.clone(),
            None => self.name.clone(),
        }
    }

    /// About half the GPU nodes vanish; their pods go Unknown until evicted.
    pub fn lose_nodes(&mut self, now: i64, evict_after_ms: i64, rng: &mut ChaCha8Rng) {
        let mut candidates: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].ready_at <= now)
            .collect();
        let k = candidates.len().div_ceil(2);
        let mut lost = BTreeSet::new();
        for _ in 0..k {
            let j = rng.random_range(0..candidates.len());
            lost.insert(candidates.swap_remove(j));
        }
        let lost_names: BTreeSet<String> =
            lost.iter().map(|&i| self.nodes[i].name.clone()).collect();
        let mut i = 0;
        self.nodes.retain(|_| {
            let keep = !lost.contains(&i);
            i += 1;
            keep
        });
        let mut lost_pods = Vec::new();
        for p in &mut self.pods {
            if p.node.as_ref().is_some_and(|n| lost_names.contains(n)) {
                p.stage = Stage::Lost {
                    evict_at: now + evict_after_ms,
                };
                lost_pods.push(p.name.clone());
            }
        }
        for n in &lost_names {
            self.event(
                true,
                "NodeNotReady",
                "Node",
                n,
                "Node is not ready".into(),
                now,
                false,
            );
        }
        for p in &lost_pods {
            self.event(
                true,
                "NodeNotReady",
                "Pod",
                p,
                "Node is not ready".into(),
                now,
                false,
            );
        }
    }

    /// `keda-stuck`: from `now` the HPA cannot read its external metric (and KEDA still says
    /// Ready); `None` ends it.
    pub fn set_stuck(&mut self, now: Option<i64>) {
        match now {
            Some(t) => {
                self.stuck_since_ms.get_or_insert(t);
            }
            None => self.stuck_since_ms = None,
        }
    }

    /// Record an event. A `recurring` one is the same Event object firing again (its count
    /// grows); others are new objects.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        warning: bool,
        reason: &'static str,
        kind: &'static str,
        name: &str,
        message: String,
        now: i64,
        recurring: bool,
    ) {
        let object = format!("{name}.{}", reason.to_ascii_lowercase());
        let (count, first_ms) = if recurring {
            let e = self.recurring.entry(object.clone()).or_insert((0, now));
            e.0 += 1;
            *e
        } else {
            (1, now)
        };
        self.events.push(SimEvent {
            warning,
            reason,
            kind,
            name: name.to_string(),
            message,
            object,
            count,
            first_ms,
            at_ms: now,
        });
    }

    /// The events since the last call, as Kubernetes would list them.
    pub fn take_events(&mut self, start: DateTime<Utc>) -> Vec<KubeEvent> {
        let at = |ms: i64| start + ChronoDuration::milliseconds(ms);
        std::mem::take(&mut self.events)
            .into_iter()
            .map(|e| KubeEvent {
                kind_of: if e.warning { "Warning" } else { "Normal" }.into(),
                reason: e.reason.into(),
                kind: e.kind.into(),
                namespace: if e.kind == "Node" || e.kind == "NodeClaim" {
                    String::new()
                } else {
                    self.namespace.clone()
                },
                name: e.name,
                message: e.message,
                count: e.count,
                first_seen: at(e.first_ms),
                last_seen: at(e.at_ms),
                object: e.object,
                path: Some(self.path.clone()),
            })
            .collect()
    }

    /// The GPU nodes this path's pods run or wait on, NodeClaims still launching included.
    pub fn nodes_view(&self, start: DateTime<Utc>, now: i64) -> Vec<GpuNode> {
        self.nodes
            .iter()
            .map(|n| GpuNode {
                name: n.name.clone(),
                ready: n.ready_at <= now,
                gpus_allocatable: self.pods_per_node,
                gpus_used: self
                    .pods
                    .iter()
                    .filter(|p| p.node.as_deref() == Some(n.name.as_str()))
                    .count() as u32,
                launched_at: Some(start + ChronoDuration::milliseconds(n.launched_ms)),
                claim: Some(n.name.clone()),
                path: Some(self.path.clone()),
            })
            .collect()
    }

    /// Advance to `now` (rel ms) at the end of second `t`: lifecycle, KEDA, scheduling, nodes.
    pub fn tick(&mut self, t: u64, now: i64, rng: &mut ChaCha8Rng) {
        // Lifecycle transitions, each at its own time.
        let load = self.model_load_ms;
        for p in &mut self.pods {
            loop {
                match p.stage {
                    Stage::Creating { until } if until <= now => {
                        p.stage = Stage::Loading {
                            until: until + load + rng.random_range(0..10_000),
                        };
                    }
                    Stage::Loading { until } if until <= now => p.stage = Stage::Ready,
                    _ => break,
                }
            }
        }
        self.pods
            .retain(|p| !matches!(p.stage, Stage::Lost { evict_at } if evict_at <= now));

        // KEDA: poll the metric, recommend, stabilise scale-down. Stuck, the HPA cannot read
        // the metric and the replicas stay where they are.
        if (t + 1).is_multiple_of(KEDA_POLL_S) {
            if self.stuck_since_ms.is_some() {
                let hpa = format!("keda-hpa-{}", self.name);
                let ns = self.namespace.clone();
                let so = self.name.clone();
                self.event(
                    true,
                    "FailedGetExternalMetric",
                    "HorizontalPodAutoscaler",
                    &hpa,
                    format!("unable to get external metric {ns}/s0-prometheus/&LabelSelector{{MatchLabels:map[string]string{{scaledobject.keda.sh/name: {so},}},MatchExpressions:[]LabelSelectorRequirement{{}},}}: unable to fetch metrics from external metrics API: the server is currently unable to handle the request (get s0-prometheus.external.metrics.k8s.io)"),
                    now,
                    true,
                );
                self.event(
                    true,
                    "KEDAScalerFailed",
                    "ScaledObject",
                    &so,
                    "error inspecting prometheus metrics: Get \"http://prometheus.monitoring:9090/api/v1/query\": context deadline exceeded".into(),
                    now,
                    true,
                );
            } else {
                self.keda_poll(t + 1, now);
            }
            self.recurring_pod_events(now);
        }

        // ReplicaSet: match the pod count to the replicas.
        while (self.pods.len() as u32) < self.replicas {
            let name = self.new_pod_name(rng);
            self.pods.push(SimPod {
                name,
                created_ms: now,
                node: None,
                stage: Stage::Unschedulable,
                restarts: 0,
            });
        }
        while (self.pods.len() as u32) > self.replicas {
            let Some(victim) = self.scale_down_victim() else {
                break;
            };
            self.pods.remove(victim);
        }

        // Scheduler: pending pods onto ready nodes with a free GPU.
        for i in 0..self.pods.len() {
            if self.pods[i].stage != Stage::Unschedulable {
                continue;
            }
            if let Some(node) = self.free_node(now) {
                self.pods[i].node = Some(node);
                self.pods[i].stage = Stage::Creating {
                    until: now + rng.random_range(20_000..40_000),
                };
            }
        }

        // Node autoscaler: enough provisioning slots for the pods still waiting.
        let waiting = self
            .pods
            .iter()
            .filter(|p| p.stage == Stage::Unschedulable)
            .count() as u32;
        let provisioning = self.nodes.iter().filter(|n| n.ready_at > now).count() as u32;
        let slots = provisioning * self.pods_per_node;
        if waiting > slots {
            let need = (waiting - slots).div_ceil(self.pods_per_node);
            for _ in 0..need {
                let name = self.new_node_name(rng);
                self.event(
                    false,
                    "Launched",
                    "NodeClaim",
                    &name,
                    "Status condition transitioned, Type: Launched, Status: True, Reason: Launched"
                        .into(),
                    now,
                    false,
                );
                self.nodes.push(Node {
                    name,
                    ready_at: now + rng.random_range(100_000..140_000),
                    empty_since: None,
                    launched_ms: now,
                });
            }
        }

        // Consolidation: ready nodes empty for a while go away.
        let mut used: BTreeSet<&str> = BTreeSet::new();
        for p in &self.pods {
            if let Some(n) = &p.node {
                used.insert(n.as_str());
            }
        }
        let mut removed = Vec::new();
        for n in &mut self.nodes {
            if n.ready_at > now || used.contains(n.name.as_str()) {
                n.empty_since = None;
                continue;
            }
            let since = *n.empty_since.get_or_insert(now);
            if now - since >= NODE_CONSOLIDATE_MS {
                removed.push(n.name.clone());
            }
        }
        if !removed.is_empty() {
            self.nodes.retain(|n| !removed.contains(&n.name));
        }
    }

    fn keda_poll(&mut self, t: u64, now: i64) {
        let rate_rpm: f64 = self.ring.iter().sum();
        // The trigger query: request rate plus requests waiting in the vLLM queues.
        self.metric_total = rate_rpm + self.backlog;
        let current = self.replicas.max(1);
        let ratio = self.metric_total / (f64::from(current) * self.target_rpm);
        let rec = if (ratio - 1.0).abs() <= HPA_TOLERANCE {
            current
        } else {
            self.clamp((self.metric_total / self.target_rpm).ceil())
        };
        self.recs.push_back((t, rec));
        while self
            .recs
            .front()
            .is_some_and(|(s, _)| s + SCALE_DOWN_WINDOW_S < t)
        {
            self.recs.pop_front();
        }
        let target = if rec >= self.replicas {
            rec
        } else {
            // Scale down only to the highest recommendation in the window.
            self.recs
                .iter()
                .map(|(_, r)| *r)
                .max()
                .unwrap_or(rec)
                .min(self.replicas)
        };
        if target != self.replicas {
            let hpa = format!("keda-hpa-{}", self.name);
            let why = if target > self.replicas {
                "above"
            } else {
                "below"
            };
            self.event(
                false,
                "SuccessfulRescale",
                "HorizontalPodAutoscaler",
                &hpa,
                format!("New size: {target}; reason: external metric s0-prometheus {why} target"),
                now,
                false,
            );
            self.replicas = target;
            self.last_scale_ms = now;
        }
    }

    /// What the scheduler and the kubelet keep saying about pods that are not ready.
    fn recurring_pod_events(&mut self, now: i64) {
        let ready_nodes = self.ready_nodes(now);
        let waiting: Vec<String> = self
            .pods
            .iter()
            .filter(|p| p.stage == Stage::Unschedulable)
            .map(|p| p.name.clone())
            .collect();
        let loading: Vec<String> = self
            .pods
            .iter()
            .filter(|p| matches!(p.stage, Stage::Loading { .. }))
            .map(|p| p.name.clone())
            .collect();
        for p in waiting {
            self.event(
                true,
                "FailedScheduling",
                "Pod",
                &p,
                format!("0/{ready_nodes} nodes are available: {ready_nodes} Insufficient nvidia.com/gpu. preemption: 0/{ready_nodes} nodes are available: {ready_nodes} No preemption victims found for incoming pod."),
                now,
                true,
            );
        }
        for p in loading {
            self.event(
                true,
                "Unhealthy",
                "Pod",
                &p,
                "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                now,
                true,
            );
        }
    }

    /// ReplicaSet deletion order: unscheduled, then unknown, then starting, then the newest ready.
    fn scale_down_victim(&self) -> Option<usize> {
        let rank = |s: &Stage| match s {
            Stage::Unschedulable => 0,
            Stage::Lost { .. } => 1,
            Stage::Creating { .. } => 2,
            Stage::Loading { .. } => 3,
            Stage::Ready => 4,
        };
        (0..self.pods.len()).min_by(|&a, &b| {
            let (pa, pb) = (&self.pods[a], &self.pods[b]);
            rank(&pa.stage)
                .cmp(&rank(&pb.stage))
                .then(pb.created_ms.cmp(&pa.created_ms))
                .then(b.cmp(&a))
        })
    }

    fn free_node(&self, now: i64) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| n.ready_at <= now)
            .find(|n| {
                let on = self
                    .pods
                    .iter()
                    .filter(|p| p.node.as_deref() == Some(n.name.as_str()))
                    .count() as u32;
                on < self.pods_per_node
            })
            .map(|n| n.name.clone())
    }

    fn ready_nodes(&self, now: i64) -> usize {
        self.nodes.iter().filter(|n| n.ready_at <= now).count()
    }

    pub fn pods_view(&self, start: DateTime<Utc>, now: i64) -> Vec<Pod> {
        let ready_nodes = self.ready_nodes(now);
        self.pods
            .iter()
            .map(|p| {
                let (phase, ready, reason) = match p.stage {
                    Stage::Unschedulable => (
                        "Pending",
                        false,
                        Some(format!(
                            "Unschedulable: 0/{ready_nodes} nodes available: insufficient nvidia.com/gpu"
                        )),
                    ),
                    Stage::Creating { .. } => ("Pending", false, Some("ContainerCreating".into())),
                    Stage::Loading { .. } => ("Running", false, Some("loading model".into())),
                    Stage::Ready => ("Running", true, None),
                    Stage::Lost { .. } => ("Unknown", false, Some("node lost".into())),
                };
                Pod {
                    namespace: self.namespace.clone(),
                    name: p.name.clone(),
                    phase: phase.to_string(),
                    ready,
                    ready_containers: u32::from(ready),
                    total_containers: 1,
                    restarts: p.restarts,
                    node: p.node.clone(),
                    created_at: start + ChronoDuration::milliseconds(p.created_ms),
                    reason,
                    path: Some(self.path.clone()),
                    message: None,
                }
            })
            .collect()
    }

    pub fn scaled_object_view(&self, start: DateTime<Utc>) -> ScaledObject {
        let current = self.pods.len() as u32;
        let at = |ms: i64| Some(start + ChronoDuration::milliseconds(ms));
        let cond =
            |kind: &str, status: &str, reason: &str, message: Option<String>, since| Condition {
                kind: kind.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message,
                since,
            };
        let up = at(-86_400_000);
        let stuck = self.stuck_since_ms;
        let hpa_conditions = vec![
            cond("AbleToScale", "True", "ReadyForNewScale", None, up),
            match stuck {
                Some(t) => cond(
                    "ScalingActive",
                    "False",
                    "FailedGetExternalMetric",
                    Some("the HPA was unable to compute the replica count: unable to get external metric s0-prometheus".into()),
                    at(t),
                ),
                None => cond("ScalingActive", "True", "ValidMetricFound", None, up),
            },
            cond("ScalingLimited", "False", "DesiredWithinRange", None, up),
        ];
        let conditions = vec![
            cond("Ready", "True", "ScaledObjectReady", None, up),
            cond(
                "Active",
                if self.metric_total > 0.0 {
                    "True"
                } else {
                    "False"
                },
                "ScalerActive",
                None,
                up,
            ),
            cond("Fallback", "False", "NoFallbackFound", None, up),
            cond("Paused", "False", "ScaledObjectNotPaused", None, up),
        ];
        ScaledObject {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            target: format!("Deployment/{}", self.name),
            min_replicas: MIN_REPLICAS,
            max_replicas: MAX_REPLICAS,
            current_replicas: current,
            desired_replicas: self.replicas,
            ready: true,
            active: self.metric_total > 0.0,
            paused: false,
            fallback: false,
            triggers: vec!["prometheus".into()],
            failing_triggers: 0,
            // Stuck: the HPA cannot read it, so it has no current value.
            metric_value: stuck
                .is_none()
                .then(|| round2(self.metric_total / f64::from(current.max(1)))),
            metric_target: Some(round2(self.target_rpm)),
            last_scale: Some(start + ChronoDuration::milliseconds(self.last_scale_ms)),
            message: None,
            path: Some(self.path.clone()),
            conditions,
            // The model scales through an HPA as KEDA does; its numbers are known.
            hpa_name: Some(format!("keda-hpa-{}", self.name)),
            hpa_conditions,
            failing_trigger_names: Vec::new(),
            metric_name: None,
            paused_annotation: false,
        }
    }

    /// Nodes in service (for cost): ready or provisioning.
    #[cfg(test)]
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn target_rpm(&self) -> f64 {
        self.target_rpm
    }

    pub fn capacity_rpm(&self) -> f64 {
        self.capacity_rpm
    }

    /// What the engine figures (`engine.rs`) are made of: the pods with their readiness, the
    /// queue as it stands, the backlog in requests, the smoothed demand in requests/s.
    pub fn engine_inputs(&self) -> (String, Vec<(String, bool)>, QueueState, f64, f64) {
        let pods = self
            .pods
            .iter()
            .filter(|p| matches!(p.stage, Stage::Ready | Stage::Loading { .. }))
            .map(|p| (p.name.clone(), p.stage == Stage::Ready))
            .collect();
        (
            self.namespace.clone(),
            pods,
            self.queue_state(),
            self.backlog,
            self.ewma_rpm / 60.0,
        )
    }
}

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Replicas KEDA settles on for a rate (used for billing estimates).
pub(super) fn replicas_for(rate_rpm: f64, capacity_rpm: f64) -> u32 {
    let target = capacity_rpm * TARGET_UTILISATION;
    if target.is_nan() || target <= 0.0 || !rate_rpm.is_finite() {
        return MIN_REPLICAS;
    }
    ((rate_rpm / target).ceil().max(0.0) as u32).clamp(MIN_REPLICAS, MAX_REPLICAS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn fleet(rpm: f64) -> (Fleet, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let eks = EksPath::default();
        let f = Fleet::new(
            PathId::from("eks"),
            &eks,
            "vllm-qwen3",
            "us-east-2",
            rpm,
            &mut rng,
        );
        (f, rng)
    }

    fn stages(f: &Fleet) -> Vec<&'static str> {
        f.pods
            .iter()
            .map(|p| match p.stage {
                Stage::Unschedulable => "unschedulable",
                Stage::Creating { .. } => "creating",
                Stage::Loading { .. } => "loading",
                Stage::Ready => "ready",
                Stage::Lost { .. } => "lost",
            })
            .collect()
    }

    #[test]
    fn queue_is_flat_at_target_and_sheds_beyond_capacity() {
        let (mut f, _) = fleet(168.0);
        assert_eq!(f.ready_pods(), 4);
        let q = f.queue_state();
        // ρ = 168 / 240 = 0.7: the service time grows by under 10 %.
        assert!(
            (q.factor - (1.0 + 0.7f64.powi(10) / 0.3)).abs() < 1e-9,
            "{q:?}"
        );
        assert!(q.factor < 1.1 && q.wait_ms == 0.0 && q.overflow == 0.0);
        // 5 req/s against 4 req/s of capacity: the backlog fills to 3 s, then 20 % is shed.
        for _ in 0..180 {
            f.end_second(5);
        }
        let q = f.queue_state();
        assert!((q.wait_ms - MAX_WAIT_MS).abs() < 1.0, "{q:?}");
        assert!((q.overflow - 0.2).abs() < 0.03, "{q:?}");
        assert!((q.factor - (1.0 + RHO_CAP.powi(QUEUE_C) / (1.0 - RHO_CAP))).abs() < 1e-9);
        // Load drops: the backlog drains.
        for _ in 0..120 {
            f.end_second(2);
        }
        let q = f.queue_state();
        assert_eq!((q.wait_ms, q.overflow), (0.0, 0.0));
    }

    #[test]
    fn scale_up_waits_for_nodes_and_model_load_and_scale_down_for_the_cooldown() {
        let (mut f, mut rng) = fleet(168.0);
        let mut seen = BTreeSet::new();
        let mut all_ready_at = None;
        // 300 rpm: KEDA wants ceil(300 / 45) = 7.
        for t in 0..600u64 {
            f.end_second(5);
            f.tick(t, (t as i64 + 1) * 1000, &mut rng);
            seen.extend(stages(&f));
            if t == 29 {
                // The 1-minute rate window is half old traffic at the first poll.
                assert_eq!(f.desired(), 6, "first poll at 30 s");
                let view = f.pods_view(Utc::now(), 30_000);
                let pending: Vec<&Pod> = view.iter().filter(|p| p.phase == "Pending").collect();
                assert_eq!(pending.len(), 2);
                assert!(pending.iter().all(|p| p.node.is_none()
                    && p.reason.as_deref()
                        == Some(
                            "Unschedulable: 0/4 nodes available: insufficient nvidia.com/gpu"
                        )));
            }
            if t < 29 {
                assert_eq!(f.desired(), 4);
            }
            if t == 59 {
                assert_eq!(f.desired(), 7, "second poll at 60 s");
            }
            if all_ready_at.is_none() && f.ready_pods() == 7 {
                all_ready_at = Some(t);
            }
        }
        for s in ["unschedulable", "creating", "loading", "ready"] {
            assert!(seen.contains(s), "{s} never seen");
        }
        // New node 100-140 s + container 20-40 s + model 90-100 s after the poll at 60 s.
        let at = all_ready_at.expect("never fully ready");
        assert!((60 + 210..=60 + 280).contains(&at), "all ready at {at}");
        assert_eq!(f.node_count(), 7);
        let so = f.scaled_object_view(Utc::now());
        assert_eq!((so.current_replicas, so.desired_replicas), (7, 7));

        // Load falls to 120 rpm: desired 3, but only after the 300 s window.
        let mut down_at = None;
        for t in 600..1500u64 {
            f.end_second(2);
            f.tick(t, (t as i64 + 1) * 1000, &mut rng);
            if down_at.is_none() && f.desired() < 7 {
                down_at = Some(t);
            }
        }
        let d = down_at.expect("never scaled down");
        assert!(d >= 600 + 300, "scaled down at {d}");
        assert_eq!(f.desired(), 3);
        assert_eq!(f.ready_pods(), 3);
        // Empty nodes are consolidated after 5 minutes.
        assert_eq!(f.node_count(), 3);
    }

    #[test]
    fn lost_nodes_take_their_pods_and_get_replaced() {
        let (mut f, mut rng) = fleet(168.0);
        f.lose_nodes(0, 40_000, &mut rng);
        assert_eq!(f.ready_pods(), 2);
        assert_eq!(f.node_count(), 2);
        let view = f.pods_view(Utc::now(), 0);
        assert_eq!(
            view.iter()
                .filter(|p| p.phase == "Unknown" && p.reason.as_deref() == Some("node lost"))
                .count(),
            2
        );
        for t in 0..60u64 {
            f.end_second(2);
            f.tick(t, (t as i64 + 1) * 1000, &mut rng);
        }
        // Evicted at 40 s and replaced by pods waiting for new nodes.
        let st = stages(&f);
        assert_eq!(st.iter().filter(|s| **s == "lost").count(), 0);
        assert_eq!(
            st.iter().filter(|s| **s == "unschedulable").count(),
            2,
            "{st:?}"
        );
        assert_eq!(f.node_count(), 4, "two nodes provisioning");
    }
}
