//! The source's own picture of the cluster, fed by every watch, and the `Update`s it owes the
//! app: no I/O here, so every rule is unit-tested.
//!
//! - Nothing fleet-related is sent until every watch has either listed or failed once; then a
//!   `Replace` of the whole fleet (so `hybridtop snapshot` never sees pods without their
//!   ScaledObjects). After that: a `Replace` after each relist (a relist can hide deletions),
//!   upserts/deletes for single events, and ScaledObjects re-joined whenever an HPA changes.
//! - Per-resource failures (403, 404, other) become `FleetUpdate::Problems`, sent when the list
//!   changes; an unreachable API is a source-level `error` instead.
//! - Health: `connecting` until the first sync, `error` while the API is unreachable (or nothing
//!   at all can be read), else `ok`; `last_success` moves with every event, list, bookmark and
//!   started watch, and is re-sent at most once per heartbeat.
use super::keda::{hpa_for, join, HpaRaw, SoRaw};
use super::plan::{Plan, Resource, WatchTarget};
use super::watch::{Failure, FailureClass, Signal};
use crate::domain::path::PathId;
use crate::model::update::{
    FleetProblem, FleetUpdate, GpuNode, KubeEvent, Pod, ProblemKind, ScaledObject, SourceHealth,
    SourceName, SourceState, Update,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A converted object from one of the watches.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Pod(Pod),
    So(SoRaw),
    Hpa(HpaRaw),
    /// Passed on, never stored: the model keeps a bounded, de-duplicated store.
    Event(Box<KubeEvent>),
    Node(GpuNode),
    /// A NodeClaim, and the node it became (if it has one yet).
    Claim(GpuNode, Option<String>),
}

impl Item {
    fn name(&self) -> &str {
        match self {
            Item::Pod(p) => &p.name,
            Item::So(s) => &s.name,
            Item::Hpa(h) => &h.name,
            Item::Event(e) => &e.object,
            Item::Node(n) => &n.name,
            Item::Claim(c, _) => c.claim.as_deref().unwrap_or(&c.name),
        }
    }
}

type Key = (String, String);

/// What a signal means beyond its own watch.
enum Follow {
    Listed,
    Failed,
    /// A pod upserted, a pod gone, or (neither) a ScaledObject/HPA changed.
    Changed {
        pod: Option<Box<Pod>>,
        gone: Option<String>,
    },
    Nothing,
}

struct Slot {
    target: WatchTarget,
    /// Objects of this watch by name.
    store: BTreeMap<String, Item>,
    /// Listed or failed at least once.
    attempted: bool,
    /// Listed at least once.
    ever_ok: bool,
    failure: Option<(Failure, DateTime<Utc>)>,
}

impl Slot {
    /// A watch failed: keep when the failure began (an unchanged one is logged once).
    fn fail(&mut self, f: super::watch::Failure, now: DateTime<Utc>) {
        let since = match &self.failure {
            Some((old, since)) if *old == f => *since,
            _ => now,
        };
        if self.failure.as_ref().map(|(o, _)| o) != Some(&f) {
            tracing::warn!(watch = %self.target.describe(), error = %f.message, "kubernetes watch failed");
        }
        self.failure = Some((f, since));
        self.attempted = true;
    }
}

pub struct Aggregator {
    plan: Plan,
    slots: Vec<Slot>,
    synced: bool,
    sent_sos: BTreeMap<Key, ScaledObject>,
    sent_problems: Option<Vec<FleetProblem>>,
    last_success: Option<DateTime<Utc>>,
    sent_health: Option<(SourceState, Option<String>)>,
    sent_success: Option<DateTime<Utc>>,
    sent_nodes: Option<Vec<GpuNode>>,
    /// Events seen before the first sync, held until the pods they are about are known (bounded:
    /// the newest `MAX_PENDING_EVENTS`).
    pending_events: Vec<KubeEvent>,
}

const MAX_PENDING_EVENTS: usize = 10_000;

/// Paths by pod and by node (with the pods on it), and a path with a pod waiting for a node.
#[derive(Default)]
struct PathIndex<'a> {
    pods: std::collections::HashMap<(&'a str, &'a str), &'a PathId>,
    nodes: std::collections::HashMap<&'a str, (u32, &'a PathId)>,
    waiting: Option<&'a PathId>,
}

impl Aggregator {
    pub fn new(plan: Plan, targets: Vec<WatchTarget>) -> Aggregator {
        Aggregator {
            plan,
            slots: targets
                .into_iter()
                .map(|target| Slot {
                    target,
                    store: BTreeMap::new(),
                    attempted: false,
                    ever_ok: false,
                    failure: None,
                })
                .collect(),
            synced: false,
            sent_sos: BTreeMap::new(),
            sent_problems: None,
            last_success: None,
            sent_health: None,
            sent_success: None,
            sent_nodes: None,
            pending_events: Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Apply one watch's signal; returns the updates to send, in order.
    pub fn on(&mut self, id: usize, signal: Signal<Item>, now: DateTime<Utc>) -> Vec<Update> {
        let mut out = Vec::new();
        let Some(slot) = self.slots.get_mut(id) else {
            return out;
        };
        let ns = slot.target.namespace.clone();
        let resource = slot.target.resource;
        // Events pass through, attributed to a path; nothing of them is kept here.
        if resource == Resource::Events {
            let answered = !matches!(signal, Signal::Failed(_));
            let events: Vec<KubeEvent> = match signal {
                Signal::Listed(items) => items,
                Signal::Applied(item) => vec![item],
                Signal::Deleted(_) | Signal::Alive => Vec::new(),
                Signal::Failed(f) => {
                    if let Some(slot) = self.slots.get_mut(id) {
                        slot.fail(f, now);
                    }
                    Vec::new()
                }
            }
            .into_iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(*e),
                _ => None,
            })
            .collect();
            if answered {
                if let Some(slot) = self.slots.get_mut(id) {
                    slot.failure = None;
                    slot.attempted = true;
                    slot.ever_ok = true;
                }
                self.last_success = Some(now);
            }
            if !self.synced {
                // Attributed once the pods they are about have been listed.
                self.pending_events.extend(events);
                let over = self.pending_events.len().saturating_sub(MAX_PENDING_EVENTS);
                self.pending_events.drain(..over);
                self.try_sync(&mut out);
            } else if !events.is_empty() {
                out.push(self.events_update(events));
            }
            if let Some(p) = self.problems_update() {
                out.push(p);
            }
            if let Some(h) = self.health_update(false) {
                out.push(h);
            }
            return out;
        }
        // First the slot's own bookkeeping, then what it means for the rest.
        let follow = match signal {
            Signal::Listed(items) => {
                slot.store = items
                    .into_iter()
                    .map(|i| (i.name().to_string(), i))
                    .collect();
                slot.attempted = true;
                slot.ever_ok = true;
                slot.failure = None;
                self.last_success = Some(now);
                Follow::Listed
            }
            Signal::Applied(item) => {
                slot.failure = None;
                self.last_success = Some(now);
                let pod = match &item {
                    Item::Pod(p) => Some(Box::new(p.clone())),
                    _ => None,
                };
                slot.store.insert(item.name().to_string(), item);
                Follow::Changed { pod, gone: None }
            }
            Signal::Deleted(name) => {
                slot.failure = None;
                self.last_success = Some(now);
                slot.store.remove(&name);
                Follow::Changed {
                    pod: None,
                    gone: (resource == Resource::Pods).then_some(name),
                }
            }
            Signal::Alive => {
                slot.failure = None;
                self.last_success = Some(now);
                Follow::Nothing
            }
            Signal::Failed(f) => {
                slot.fail(f, now);
                Follow::Failed
            }
        };
        match follow {
            Follow::Listed if self.synced => out.push(self.replace()),
            Follow::Listed | Follow::Failed => {
                if !self.synced {
                    self.try_sync(&mut out);
                }
            }
            Follow::Changed { .. } if !self.synced => {}
            Follow::Changed { pod: Some(pod), .. } => {
                out.push(Update::Fleet(FleetUpdate::PodUpsert { pod: *pod }));
            }
            Follow::Changed {
                gone: Some(name), ..
            } => out.push(self.pod_gone(&ns, name)),
            Follow::Changed { .. }
                if matches!(resource, Resource::Nodes | Resource::NodeClaims) => {}
            Follow::Changed { .. } => self.rejoin(&ns, &mut out),
            Follow::Nothing => {}
        }
        // Pods decide GPUs in use and attribution; ScaledObject and HPA changes cannot move them.
        let nodes_matter = matches!(
            resource,
            Resource::Pods | Resource::Nodes | Resource::NodeClaims
        );
        if self.synced && nodes_matter {
            if let Some(n) = self.nodes_update() {
                out.push(n);
            }
        }
        if let Some(p) = self.problems_update() {
            out.push(p);
        }
        if let Some(h) = self.health_update(false) {
            out.push(h);
        }
        out
    }

    /// The pods of every pod watch.
    fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.slots
            .iter()
            .filter(|s| s.target.resource == Resource::Pods)
            .flat_map(|s| s.store.values())
            .filter_map(|i| match i {
                Item::Pod(p) => Some(p),
                _ => None,
            })
    }

    /// Which path each pod and each node belongs to, and the path waiting for a node: built
    /// once per batch of events or per node refresh, never per object.
    fn path_index(&self) -> PathIndex<'_> {
        let mut ix = PathIndex::default();
        for p in self.pods() {
            let Some(path) = p.path.as_ref() else {
                continue;
            };
            ix.pods
                .insert((p.namespace.as_str(), p.name.as_str()), path);
            match p.node.as_deref() {
                Some(n) => {
                    let e = ix.nodes.entry(n).or_insert((0, path));
                    e.0 += 1;
                }
                None if p.phase == "Pending" => {
                    ix.waiting.get_or_insert(path);
                }
                None => {}
            }
        }
        ix
    }

    /// Which path an event is about: its pod's, its ScaledObject's (or that one's HPA), its
    /// node's pods', or — a NodeClaim — the path waiting for a node.
    fn event_path(&self, e: &KubeEvent, ix: &PathIndex) -> Option<PathId> {
        let node = |n: &str| ix.nodes.get(n).map(|(_, p)| (*p).clone());
        match e.kind.as_str() {
            "Pod" => ix
                .pods
                .get(&(e.namespace.as_str(), e.name.as_str()))
                .map(|p| (*p).clone()),
            "ScaledObject" => self.plan.so_path(&e.namespace, &e.name).cloned(),
            "HorizontalPodAutoscaler" => e
                .name
                .strip_prefix("keda-hpa-")
                .and_then(|so| self.plan.so_path(&e.namespace, so))
                .cloned(),
            "Node" => node(&e.name),
            "NodeClaim" => self
                .slots
                .iter()
                .flat_map(|s| s.store.values())
                .find_map(|i| match i {
                    Item::Claim(c, Some(n)) if c.claim.as_deref() == Some(e.name.as_str()) => {
                        node(n)
                    }
                    _ => None,
                })
                .or_else(|| ix.waiting.cloned()),
            _ => None,
        }
    }

    /// GPU nodes with their paths and GPUs in use, and NodeClaims not yet (matching) nodes.
    fn gpu_nodes(&self) -> Vec<GpuNode> {
        let ix = self.path_index();
        let mut nodes: BTreeMap<String, GpuNode> = BTreeMap::new();
        let items = || self.slots.iter().flat_map(|s| s.store.values());
        for item in items() {
            if let Item::Node(n) = item {
                nodes.insert(n.name.clone(), n.clone());
            }
        }
        for item in items() {
            if let Item::Claim(c, node) = item {
                if !node.as_ref().is_some_and(|n| nodes.contains_key(n)) {
                    let mut c = c.clone();
                    c.path = ix.waiting.cloned();
                    nodes.insert(c.name.clone(), c);
                }
            }
        }
        for n in nodes.values_mut() {
            if let Some((used, path)) = ix.nodes.get(n.name.as_str()) {
                n.gpus_used = *used;
                n.path = Some((*path).clone());
            }
        }
        // Only the nodes that matter to a path: the others are someone else's GPUs.
        nodes.into_values().filter(|n| n.path.is_some()).collect()
    }

    fn nodes_update(&mut self) -> Option<Update> {
        if !self
            .slots
            .iter()
            .any(|s| matches!(s.target.resource, Resource::Nodes | Resource::NodeClaims))
        {
            return None;
        }
        let now = self.gpu_nodes();
        if self.sent_nodes.as_ref() == Some(&now) {
            return None;
        }
        if self.sent_nodes.is_none() && now.is_empty() {
            // No GPU node was ever seen: nothing to say.
            self.sent_nodes = Some(now);
            return None;
        }
        self.sent_nodes = Some(now.clone());
        Some(Update::Fleet(FleetUpdate::Nodes { nodes: now }))
    }

    /// Called on the heartbeat: re-send health if `last_success` moved since it was last sent.
    pub fn heartbeat(&mut self) -> Option<Update> {
        self.health_update(true)
    }

    fn events_update(&self, events: Vec<KubeEvent>) -> Update {
        let ix = self.path_index();
        let events = events
            .into_iter()
            .map(|mut e| {
                e.path = self.event_path(&e, &ix);
                e
            })
            .collect();
        Update::Fleet(FleetUpdate::Events { events })
    }

    fn try_sync(&mut self, out: &mut Vec<Update>) {
        // The fleet picture is pods, ScaledObjects and HPAs; events and nodes add to it as they
        // come and never hold it back.
        let core = |s: &&Slot| {
            matches!(
                s.target.resource,
                Resource::Pods | Resource::ScaledObjects | Resource::Hpas
            )
        };
        if self.slots.iter().filter(core).all(|s| s.attempted) {
            self.synced = true;
            out.push(self.replace());
            let held = std::mem::take(&mut self.pending_events);
            if !held.is_empty() {
                out.push(self.events_update(held));
            }
        }
    }

    /// Every pod of every pod watch; where two paths' selectors overlap the later path wins.
    fn all_pods(&self) -> Vec<Pod> {
        let mut pods: BTreeMap<Key, Pod> = BTreeMap::new();
        for s in self
            .slots
            .iter()
            .filter(|s| s.target.resource == Resource::Pods)
        {
            for item in s.store.values() {
                if let Item::Pod(p) = item {
                    pods.insert((p.namespace.clone(), p.name.clone()), p.clone());
                }
            }
        }
        pods.into_values().collect()
    }

    fn slot_items<'a>(
        &'a self,
        resource: Resource,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a Item> + 'a {
        self.slots
            .iter()
            .filter(move |s| s.target.resource == resource && s.target.namespace == ns)
            .flat_map(|s| s.store.values())
    }

    /// The ScaledObjects of one namespace, joined with that namespace's HPAs.
    fn joined_in(&self, ns: &str) -> BTreeMap<Key, ScaledObject> {
        let hpas: BTreeMap<String, HpaRaw> = self
            .slot_items(Resource::Hpas, ns)
            .filter_map(|i| match i {
                Item::Hpa(h) => Some((h.name.clone(), h.clone())),
                _ => None,
            })
            .collect();
        let readable = self
            .slots
            .iter()
            .any(|s| s.target.resource == Resource::Hpas && s.target.namespace == ns && s.ever_ok);
        self.slot_items(Resource::ScaledObjects, ns)
            .filter_map(|i| match i {
                Item::So(so) => Some(so),
                _ => None,
            })
            .map(|so| {
                let path = self.plan.so_path(&so.namespace, &so.name);
                (
                    (so.namespace.clone(), so.name.clone()),
                    join(so, hpa_for(so, &hpas), readable, path),
                )
            })
            .collect()
    }

    fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.target.resource != Resource::Pods)
            .map(|s| s.target.namespace.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn replace(&mut self) -> Update {
        let mut sos = BTreeMap::new();
        for ns in self.namespaces() {
            sos.extend(self.joined_in(&ns));
        }
        let scaled_objects = sos.values().cloned().collect();
        self.sent_sos = sos;
        Update::Fleet(FleetUpdate::Replace {
            pods: self.all_pods(),
            scaled_objects,
        })
    }

    /// Re-join one namespace and send only what changed.
    fn rejoin(&mut self, ns: &str, out: &mut Vec<Update>) {
        let now = self.joined_in(ns);
        let gone: Vec<Key> = self
            .sent_sos
            .keys()
            .filter(|k| k.0 == ns && !now.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            self.sent_sos.remove(&k);
            out.push(Update::Fleet(FleetUpdate::ScaledObjectDelete {
                namespace: k.0,
                name: k.1,
            }));
        }
        for (k, so) in now {
            if self.sent_sos.get(&k) != Some(&so) {
                self.sent_sos.insert(k, so.clone());
                out.push(Update::Fleet(FleetUpdate::ScaledObjectUpsert {
                    scaled_object: so,
                }));
            }
        }
    }

    /// A pod left one watch: gone, unless another path's watch still sees it.
    fn pod_gone(&self, ns: &str, name: String) -> Update {
        let still = self
            .slot_items(Resource::Pods, ns)
            .filter_map(|i| match i {
                Item::Pod(p) if p.name == name => Some(p.clone()),
                _ => None,
            })
            .last();
        match still {
            Some(pod) => Update::Fleet(FleetUpdate::PodUpsert { pod }),
            None => Update::Fleet(FleetUpdate::PodDelete {
                namespace: ns.to_string(),
                name,
            }),
        }
    }

    fn problems(&self) -> Vec<FleetProblem> {
        self.slots
            .iter()
            .filter_map(|s| {
                let (f, since) = s.failure.as_ref()?;
                // No Karpenter is a cluster without NodeClaims, not a problem to show.
                if s.target.resource == Resource::NodeClaims
                    && f.class == FailureClass::NotInstalled
                {
                    return None;
                }
                let kind = match f.class {
                    FailureClass::Forbidden => ProblemKind::Forbidden,
                    FailureClass::NotInstalled => ProblemKind::NotInstalled,
                    FailureClass::Other => ProblemKind::Error,
                    // Source-level: reported as the source's error, not per resource.
                    FailureClass::Unreachable => return None,
                };
                let paths = match &s.target.path {
                    Some(p) => vec![p.clone()],
                    None => self
                        .plan
                        .so_paths
                        .iter()
                        .filter(|((ns, _), _)| *ns == s.target.namespace)
                        .map(|(_, p)| p.clone())
                        .collect(),
                };
                Some(FleetProblem {
                    resource: s.target.resource.rbac_name().to_string(),
                    namespace: s.target.namespace.clone(),
                    kind,
                    message: f.message.clone(),
                    since: *since,
                    paths,
                })
            })
            .fold(Vec::new(), |mut v: Vec<FleetProblem>, p| {
                // Two paths' pod watches in one namespace fail alike: name it once, for both.
                match v
                    .iter_mut()
                    .find(|q| q.message == p.message && q.namespace == p.namespace)
                {
                    Some(q) => {
                        for id in p.paths {
                            if !q.paths.contains(&id) {
                                q.paths.push(id);
                            }
                        }
                    }
                    None => v.push(p),
                }
                v
            })
    }

    fn problems_update(&mut self) -> Option<Update> {
        let now = self.problems();
        if self.sent_problems.as_ref() == Some(&now) {
            return None;
        }
        if self.sent_problems.is_none() && now.is_empty() {
            // Nothing was ever wrong: nothing to say.
            self.sent_problems = Some(now);
            return None;
        }
        self.sent_problems = Some(now.clone());
        Some(Update::Fleet(FleetUpdate::Problems { problems: now }))
    }

    pub fn state(&self) -> (SourceState, Option<String>) {
        let unreachable = self.slots.iter().find_map(|s| match &s.failure {
            Some((f, _)) if f.class == FailureClass::Unreachable => Some(f.message.clone()),
            _ => None,
        });
        if let Some(m) = unreachable {
            return (SourceState::Error, Some(m));
        }
        if !self.synced {
            return (SourceState::Connecting, None);
        }
        // Nothing readable: every watch has never worked or is failing now (a 5xx or 429
        // storm, unreadable answers) — the data shown is not being kept current.
        if !self.slots.is_empty() && self.slots.iter().all(|s| !s.ever_ok || s.failure.is_some()) {
            let first = self
                .slots
                .iter()
                .find_map(|s| s.failure.as_ref().map(|(f, _)| f.message.clone()))
                .unwrap_or_else(|| "no answer yet".into());
            return (
                SourceState::Error,
                Some(format!("no watched resource can be read: {first}")),
            );
        }
        (SourceState::Ok, None)
    }

    fn health_update(&mut self, heartbeat: bool) -> Option<Update> {
        let (state, error) = self.state();
        let changed = self.sent_health.as_ref() != Some(&(state, error.clone()));
        let fresher = heartbeat && self.last_success > self.sent_success;
        if !changed && !fresher {
            return None;
        }
        self.sent_health = Some((state, error.clone()));
        self.sent_success = self.last_success;
        Some(Update::Health(SourceHealth {
            source: SourceName::Kubernetes,
            state,
            last_success: self.last_success,
            error,
            permanent: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::path::PathId;
    use crate::sources::kubernetes::keda::tests as kt;
    use chrono::TimeZone;
    use kube::api::DynamicObject;
    use serde_json::json;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    fn pod(name: &str, path: &str) -> Item {
        Item::Pod(Pod {
            namespace: "agents".into(),
            name: name.into(),
            phase: "Running".into(),
            ready: true,
            ready_containers: 1,
            total_containers: 1,
            restarts: 0,
            node: None,
            created_at: t(0),
            reason: None,
            path: Some(PathId::from(path)),
            message: None,
        })
    }

    fn so() -> Item {
        let o: DynamicObject = serde_json::from_value(kt::healthy_so()).unwrap();
        Item::So(crate::sources::kubernetes::keda::so_from(&o).unwrap())
    }

    fn hpa(desired: u32) -> Item {
        let mut v = kt::hpa();
        v["status"]["desiredReplicas"] = json!(desired);
        let o: DynamicObject = serde_json::from_value(v).unwrap();
        Item::Hpa(crate::sources::kubernetes::keda::hpa_from(&o).unwrap())
    }

    fn agg() -> Aggregator {
        let cfg = crate::config::Config::from_toml(
            r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
[[paths]]
id = "eks-canary"
kind = "eks"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3,track=canary"
[kubernetes]
namespaces = ["agents"]
"#,
            "t.toml",
        )
        .unwrap();
        let plan = Plan::from_config(&cfg).unwrap();
        let targets = plan.targets("default");
        Aggregator::new(plan, targets)
    }

    fn health(u: &[Update]) -> Option<(SourceState, Option<String>)> {
        u.iter().rev().find_map(|u| match u {
            Update::Health(h) => Some((h.state, h.error.clone())),
            _ => None,
        })
    }

    fn fleet(u: &[Update]) -> Vec<&FleetUpdate> {
        u.iter()
            .filter_map(|u| match u {
                Update::Fleet(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    // Slots: 0 pods eks-qwen3, 1 pods eks-canary, 2 scaledobjects agents, 3 hpas agents.

    /// Events listed before the pods are held until the first sync, then attributed.
    #[test]
    fn events_before_the_first_sync_are_held_and_attributed() {
        let mut a = agg();
        let ev = KubeEvent {
            kind_of: "Warning".into(),
            reason: "FailedScheduling".into(),
            kind: "Pod".into(),
            namespace: "agents".into(),
            name: "p1".into(),
            message: "0/3 nodes are available".into(),
            count: 2,
            first_seen: t(0),
            last_seen: t(1),
            object: "p1.1".into(),
            path: None,
        };
        let events_slot = 4;
        let u = a.on(
            events_slot,
            Signal::Listed(vec![Item::Event(Box::new(ev))]),
            t(1),
        );
        assert!(fleet(&u).is_empty(), "{u:?}");
        a.on(0, Signal::Listed(vec![pod("p1", "eks-qwen3")]), t(1));
        a.on(1, Signal::Listed(vec![]), t(1));
        a.on(2, Signal::Listed(vec![so()]), t(1));
        let u = a.on(3, Signal::Listed(vec![hpa(4)]), t(2));
        let held = fleet(&u)
            .into_iter()
            .find_map(|f| match f {
                FleetUpdate::Events { events } => Some(events.clone()),
                _ => None,
            })
            .expect("the held events, after the replace");
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].path, Some(PathId::from("eks-qwen3")));
    }

    #[test]
    fn first_replace_waits_for_every_watch_then_increments() {
        let mut a = agg();
        let u = a.on(0, Signal::Listed(vec![pod("p1", "eks-qwen3")]), t(1));
        assert!(fleet(&u).is_empty());
        assert_eq!(health(&u), Some((SourceState::Connecting, None)));
        a.on(1, Signal::Listed(vec![]), t(1));
        a.on(2, Signal::Listed(vec![so()]), t(1));
        assert!(!a.is_synced());
        let u = a.on(3, Signal::Listed(vec![hpa(4)]), t(2));
        assert!(a.is_synced());
        match fleet(&u).as_slice() {
            [FleetUpdate::Replace {
                pods,
                scaled_objects,
            }] => {
                assert_eq!(pods.len(), 1);
                assert_eq!(scaled_objects.len(), 1);
                assert_eq!(scaled_objects[0].desired_replicas, 4);
                assert_eq!(scaled_objects[0].path, Some(PathId::from("eks-qwen3")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(health(&u), Some((SourceState::Ok, None)));
        // A pod event is an upsert; an HPA change re-joins its ScaledObject.
        let u = a.on(0, Signal::Applied(pod("p2", "eks-qwen3")), t(3));
        assert!(
            matches!(fleet(&u).as_slice(), [FleetUpdate::PodUpsert { pod }] if pod.name == "p2")
        );
        let u = a.on(3, Signal::Applied(hpa(6)), t(4));
        assert!(matches!(fleet(&u).as_slice(),
            [FleetUpdate::ScaledObjectUpsert { scaled_object }] if scaled_object.desired_replicas == 6));
        // The same HPA again changes nothing: nothing is sent.
        let u = a.on(3, Signal::Applied(hpa(6)), t(5));
        assert!(fleet(&u).is_empty());
        // HPA deleted: the ScaledObject loses its numbers.
        let u = a.on(3, Signal::Deleted("keda-hpa-vllm-qwen3".into()), t(6));
        assert!(matches!(fleet(&u).as_slice(),
            [FleetUpdate::ScaledObjectUpsert { scaled_object }] if scaled_object.hpa_name.is_none()));
        let u = a.on(2, Signal::Deleted("vllm-qwen3".into()), t(7));
        assert!(matches!(fleet(&u).as_slice(),
            [FleetUpdate::ScaledObjectDelete { name, .. }] if name == "vllm-qwen3"));
        // A relist is a full Replace (it may hide deletions).
        let u = a.on(0, Signal::Listed(vec![pod("p3", "eks-qwen3")]), t(8));
        assert!(
            matches!(fleet(&u).as_slice(), [FleetUpdate::Replace { pods, .. }] if pods.len() == 1 && pods[0].name == "p3")
        );
    }

    #[test]
    fn overlapping_selectors_keep_a_pod_another_watch_still_sees() {
        let mut a = agg();
        a.on(0, Signal::Listed(vec![pod("c1", "eks-qwen3")]), t(1));
        a.on(1, Signal::Listed(vec![pod("c1", "eks-canary")]), t(1));
        a.on(2, Signal::Listed(vec![]), t(1));
        a.on(3, Signal::Listed(vec![]), t(1));
        let u = a.on(1, Signal::Deleted("c1".into()), t(2));
        assert!(matches!(fleet(&u).as_slice(),
            [FleetUpdate::PodUpsert { pod }] if pod.path == Some(PathId::from("eks-qwen3"))));
        let u = a.on(0, Signal::Deleted("c1".into()), t(3));
        assert!(
            matches!(fleet(&u).as_slice(), [FleetUpdate::PodDelete { name, .. }] if name == "c1")
        );
    }

    #[test]
    fn problems_are_per_resource_and_unreachable_is_source_level() {
        let mut a = agg();
        let forbidden = Failure {
            class: FailureClass::Forbidden,
            message: "forbidden: needs list and watch on scaledobjects.keda.sh in agents".into(),
        };
        a.on(0, Signal::Listed(vec![pod("p1", "eks-qwen3")]), t(1));
        a.on(1, Signal::Listed(vec![]), t(1));
        a.on(3, Signal::Listed(vec![]), t(1));
        let u = a.on(2, Signal::Failed(forbidden.clone()), t(2));
        // Synced without the ScaledObjects; the source is ok, the problem is named.
        assert!(matches!(fleet(&u)[0], FleetUpdate::Replace { .. }));
        match fleet(&u)[1] {
            FleetUpdate::Problems { problems } => {
                assert_eq!(problems.len(), 1);
                assert_eq!(problems[0].kind, ProblemKind::Forbidden);
                assert_eq!(problems[0].resource, "scaledobjects.keda.sh");
                assert_eq!(problems[0].since, t(2));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(health(&u), Some((SourceState::Ok, None)));
        // The same failure again: nothing new to say, and `since` keeps the first time.
        let u = a.on(2, Signal::Failed(forbidden), t(9));
        assert!(fleet(&u).is_empty());
        assert_eq!(a.problems()[0].since, t(2));
        // Unreachable: source error naming the URL, not a per-resource problem.
        let down = Failure {
            class: FailureClass::Unreachable,
            message: "Kubernetes API unreachable at http://127.0.0.1:1: connection refused".into(),
        };
        let u = a.on(0, Signal::Failed(down), t(10));
        let (st, err) = health(&u).unwrap();
        assert_eq!(st, SourceState::Error);
        assert!(err.unwrap().contains("http://127.0.0.1:1"));
        assert_eq!(a.problems().len(), 1);
        // Back: a started watch clears it; a relist clears the 403.
        let u = a.on(0, Signal::Alive, t(11));
        assert_eq!(health(&u), Some((SourceState::Ok, None)));
        let u = a.on(2, Signal::Listed(vec![so()]), t(12));
        assert!(fleet(&u)
            .iter()
            .any(|f| matches!(f, FleetUpdate::Problems { problems } if problems.is_empty())));
    }

    #[test]
    fn every_watch_failing_after_working_is_an_error_until_one_recovers() {
        let mut a = agg();
        for id in 0..4 {
            a.on(id, Signal::Listed(vec![]), t(1));
        }
        assert_eq!(a.state().0, SourceState::Ok);
        let storm = Failure {
            class: FailureClass::Other,
            message: "the Kubernetes API at http://k answered 503 ServiceUnavailable".into(),
        };
        for id in 0..3 {
            a.on(id, Signal::Failed(storm.clone()), t(2));
            assert_eq!(a.state().0, SourceState::Ok, "one watch still reads");
        }
        let u = a.on(3, Signal::Failed(storm), t(2));
        let (st, err) = health(&u).unwrap();
        assert_eq!(st, SourceState::Error);
        assert!(err.unwrap().contains("answered 503"));
        let u = a.on(1, Signal::Alive, t(3));
        assert_eq!(health(&u), Some((SourceState::Ok, None)));
    }

    #[test]
    fn nothing_readable_is_an_error_and_heartbeat_carries_last_success() {
        let mut a = agg();
        let f = Failure {
            class: FailureClass::Forbidden,
            message: "forbidden: needs list and watch on pods in agents".into(),
        };
        a.on(0, Signal::Failed(f.clone()), t(1));
        a.on(1, Signal::Failed(f.clone()), t(1));
        for (id, res) in [
            (2, "scaledobjects.keda.sh"),
            (3, "horizontalpodautoscalers.autoscaling"),
        ] {
            let f = Failure {
                class: FailureClass::Forbidden,
                message: format!("forbidden: needs list and watch on {res} in agents"),
            };
            a.on(id, Signal::Failed(f), t(1));
        }
        let (st, err) = a.state();
        assert_eq!(st, SourceState::Error);
        assert!(err
            .unwrap()
            .starts_with("no watched resource can be read: forbidden"));
        // Two pod watches failing alike in one namespace are named once, for both paths.
        let pods: Vec<_> = a
            .problems()
            .into_iter()
            .filter(|p| p.resource == "pods")
            .collect();
        assert_eq!(pods.len(), 1);
        assert_eq!(
            pods[0].paths,
            [PathId::from("eks-qwen3"), PathId::from("eks-canary")]
        );
        // A namespace's ScaledObject problem hides the paths whose ScaledObject lives there.
        let so = a
            .problems()
            .into_iter()
            .find(|p| p.resource == "scaledobjects.keda.sh")
            .unwrap();
        assert_eq!(so.paths, [PathId::from("eks-qwen3")]);
        let mut a = agg();
        for id in 0..4 {
            a.on(id, Signal::Listed(vec![]), t(1));
        }
        assert!(a.heartbeat().is_none());
        a.on(0, Signal::Alive, t(5));
        match a.heartbeat() {
            Some(Update::Health(h)) => assert_eq!(h.last_success, Some(t(5))),
            other => panic!("{other:?}"),
        }
        assert!(a.heartbeat().is_none());
    }
}
