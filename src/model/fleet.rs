//! Pods, KEDA ScaledObjects and Kubernetes events as the Kubernetes source (or the simulator)
//! reports them, and each ScaledObject's scaling verdict (`model::scaling`).
use crate::domain::path::PathId;
use crate::model::events::EventStore;
use crate::model::redact::{opt_text, text};
use crate::model::scaling;
use crate::model::snapshot::{EventView, FleetView, PodView, ScaledObjectView};
use crate::model::update::{Condition, FleetProblem, FleetUpdate, GpuNode, Pod, ScaledObject};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The event rows as the views want them, kept until an event arrives (a copy starts empty).
/// (store generation, redacted, rows).
type EventRows = (u64, bool, Arc<Vec<EventView>>);

#[derive(Debug, Default)]
struct EventsCache(Mutex<Option<EventRows>>);

impl Clone for EventsCache {
    fn clone(&self) -> Self {
        EventsCache::default()
    }
}

type Key = (String, String);

#[derive(Clone, Debug)]
pub struct Fleet {
    /// Keyed (namespace, name): iteration is the sorted order the views want.
    pods: BTreeMap<Key, Pod>,
    scaled_objects: BTreeMap<Key, ScaledObject>,
    /// Resources the source cannot read right now, as last reported.
    problems: Vec<FleetProblem>,
    /// False until the first fleet update: unknown, not "zero pods".
    known: bool,
    events: EventStore,
    events_view: EventsCache,
    nodes: Vec<GpuNode>,
    /// Since when (model time) each ScaledObject has wanted more replicas than it has.
    desired_above_since: BTreeMap<Key, DateTime<Utc>>,
    /// Desired above current for longer than this is a contradiction.
    stuck_after: Duration,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet::new(2000, Duration::from_secs(300))
    }
}

/// Upper bound on objects kept (a misbehaving source cannot grow memory without limit).
const MAX_OBJECTS: usize = 20_000;
/// Upper bounds on what one object or report may carry into the model.
const MAX_PROBLEMS: usize = 64;
const MAX_LIST: usize = 32;

impl Fleet {
    pub fn new(max_events: usize, stuck_after: Duration) -> Self {
        Fleet {
            pods: BTreeMap::new(),
            scaled_objects: BTreeMap::new(),
            problems: Vec::new(),
            known: false,
            events: EventStore::new(max_events),
            events_view: EventsCache::default(),
            nodes: Vec::new(),
            desired_above_since: BTreeMap::new(),
            stuck_after,
        }
    }

    pub fn events(&self) -> &EventStore {
        &self.events
    }

    pub fn is_known(&self) -> bool {
        self.known
    }

    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    pub fn scaled_objects(&self) -> impl Iterator<Item = &ScaledObject> {
        self.scaled_objects.values()
    }

    pub fn problems(&self) -> &[FleetProblem] {
        &self.problems
    }

    /// Apply one update at model time `now`.
    pub fn apply(&mut self, u: FleetUpdate, now: DateTime<Utc>) {
        if let FleetUpdate::Problems { mut problems } = u {
            // Problems alone do not make the fleet known: "pods forbidden" is not "zero pods".
            problems.truncate(MAX_PROBLEMS);
            self.problems = problems;
            return;
        }
        if let FleetUpdate::Nodes { mut nodes } = u {
            nodes.truncate(MAX_OBJECTS);
            self.nodes = nodes;
            return;
        }
        if let FleetUpdate::Events { events } = u {
            // Events alone do not make the fleet known either.
            for e in &events {
                self.events.ingest(e);
            }
            return;
        }
        self.known = true;
        match u {
            FleetUpdate::Replace {
                pods,
                scaled_objects,
            } => {
                self.pods.clear();
                self.scaled_objects.clear();
                for p in pods {
                    self.upsert_pod(p);
                }
                for s in scaled_objects {
                    self.upsert_so(s);
                }
            }
            FleetUpdate::PodUpsert { pod } => self.upsert_pod(pod),
            FleetUpdate::PodDelete { namespace, name } => {
                self.pods.remove(&(namespace, name));
            }
            FleetUpdate::ScaledObjectUpsert { scaled_object } => self.upsert_so(scaled_object),
            FleetUpdate::ScaledObjectDelete { namespace, name } => {
                self.scaled_objects.remove(&(namespace, name));
            }
            FleetUpdate::Problems { .. }
            | FleetUpdate::Events { .. }
            | FleetUpdate::Nodes { .. } => {}
        }
        self.note_scaling(now);
    }

    /// Remember since when each ScaledObject has wanted more replicas than it has.
    fn note_scaling(&mut self, now: DateTime<Utc>) {
        let above: BTreeSet<&Key> = self
            .scaled_objects
            .iter()
            .filter(|(_, s)| s.desired_replicas > s.current_replicas)
            .map(|(k, _)| k)
            .collect();
        self.desired_above_since.retain(|k, _| above.contains(k));
        for k in above {
            self.desired_above_since.entry(k.clone()).or_insert(now);
        }
    }

    /// The verdict and contradictions of one ScaledObject.
    pub fn verdict(&self, s: &ScaledObject, now: DateTime<Utc>) -> scaling::Verdict {
        let pods: Vec<&Pod> = match &s.path {
            Some(path) => self.path_pods(path).collect(),
            None => Vec::new(),
        };
        let failed = s
            .path
            .as_ref()
            .and_then(|p| self.events.newest_with(p, "FailedScheduling"));
        let launching: Vec<&GpuNode> = self
            .nodes
            .iter()
            .filter(|n| !n.ready && s.path.is_some() && n.path == s.path)
            .collect();
        let launching_nodes = launching
            .iter()
            .filter_map(|n| n.launched_at)
            .min()
            .map(|t| (launching.len() as u32, t));
        scaling::judge(
            s,
            &scaling::Inputs {
                pods: &pods,
                failed_scheduling: failed,
                launching_nodes,
                desired_above_since: self
                    .desired_above_since
                    .get(&(s.namespace.clone(), s.name.clone()))
                    .copied(),
                now,
                stuck_after: self.stuck_after,
            },
        )
    }

    fn upsert_pod(&mut self, p: Pod) {
        let key = (p.namespace.clone(), p.name.clone());
        if self.pods.len() >= MAX_OBJECTS && !self.pods.contains_key(&key) {
            return;
        }
        self.pods.insert(key, p);
    }

    fn upsert_so(&mut self, s: ScaledObject) {
        let key = (s.namespace.clone(), s.name.clone());
        if self.scaled_objects.len() >= MAX_OBJECTS && !self.scaled_objects.contains_key(&key) {
            return;
        }
        self.scaled_objects.insert(key, s);
    }

    fn path_pods<'a>(&'a self, path: &'a PathId) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods
            .values()
            .filter(move |p| p.path.as_ref() == Some(path))
    }

    /// GPU nodes a path keeps busy: distinct nodes of its Running pods; Running pods without a
    /// node name are packed `pods_per_node` to a node.
    pub fn nodes_in_use(&self, path: &PathId, pods_per_node: u32) -> u32 {
        let mut nodes = BTreeSet::new();
        let mut unplaced = 0u32;
        for p in self.path_pods(path).filter(|p| p.phase == "Running") {
            match p.node.as_deref().filter(|n| !n.is_empty()) {
                Some(n) => {
                    nodes.insert(n);
                }
                None => unplaced += 1,
            }
        }
        nodes.len() as u32 + unplaced.div_ceil(pods_per_node.max(1))
    }

    pub fn ready_pods(&self, path: &PathId) -> u32 {
        self.path_pods(path)
            .filter(|p| p.ready && p.phase == "Running")
            .count() as u32
    }

    /// The ScaledObject for a path: one that names the path, else the configured
    /// `namespace/scaled_object`.
    pub fn scaled_object_for(
        &self,
        path: &PathId,
        configured: Option<(&str, &str)>,
    ) -> Option<&ScaledObject> {
        self.scaled_objects
            .values()
            .find(|s| s.path.as_ref() == Some(path))
            .or_else(|| {
                let (ns, name) = configured?;
                self.scaled_objects.get(&(ns.to_string(), name.to_string()))
            })
    }

    /// The event rows, newest first, from the cache while no event has arrived since.
    fn events_view(&self, redact: bool) -> Arc<Vec<EventView>> {
        let gen = self.events.generation();
        let mut cache = match self.events_view.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((g, r, v)) = cache.as_ref() {
            if *g == gen && *r == redact {
                return v.clone();
            }
        }
        let rows: Arc<Vec<EventView>> = Arc::new(
            self.events
                .newest_first()
                .map(|e| EventView {
                    kind_of: if e.warning { "Warning" } else { "Normal" }.into(),
                    reason: text(&e.reason, redact),
                    kind: text(&e.kind, redact),
                    namespace: text(&e.namespace, redact),
                    name: text(&e.name, redact),
                    message: text(&e.message, redact),
                    count: e.count,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    path: e.path.as_ref().map(|id| PathId(text(id.as_str(), redact))),
                })
                .collect(),
        );
        *cache = Some((gen, redact, rows.clone()));
        rows
    }

    pub fn view(&self, now_ms: i64, redact: bool) -> FleetView {
        let now = crate::model::correlation::ms_to_time(now_ms);
        let pods = self
            .pods
            .values()
            .map(|p| PodView {
                age_seconds: ((now_ms - p.created_at.timestamp_millis()).max(0)) as f64 / 1000.0,
                pod: Pod {
                    namespace: text(&p.namespace, redact),
                    name: text(&p.name, redact),
                    phase: text(&p.phase, redact),
                    ready: p.ready,
                    ready_containers: p.ready_containers,
                    total_containers: p.total_containers,
                    restarts: p.restarts,
                    node: opt_text(p.node.as_deref(), redact),
                    created_at: p.created_at,
                    reason: opt_text(p.reason.as_deref(), redact),
                    path: p.path.as_ref().map(|id| PathId(text(id.as_str(), redact))),
                    message: opt_text(p.message.as_deref(), redact),
                },
                engine: None,
            })
            .collect();
        let scaled_objects = self
            .scaled_objects
            .values()
            .map(|s| {
                let v = self.verdict(s, now);
                ScaledObjectView {
                    verdict: text(&v.verdict, redact),
                    contradictions: v.contradictions.iter().map(|c| text(c, redact)).collect(),
                    scaled_object: ScaledObject {
                        namespace: text(&s.namespace, redact),
                        name: text(&s.name, redact),
                        target: text(&s.target, redact),
                        min_replicas: s.min_replicas,
                        max_replicas: s.max_replicas,
                        current_replicas: s.current_replicas,
                        desired_replicas: s.desired_replicas,
                        ready: s.ready,
                        active: s.active,
                        paused: s.paused,
                        fallback: s.fallback,
                        triggers: s
                            .triggers
                            .iter()
                            .take(MAX_LIST)
                            .map(|t| text(t, redact))
                            .collect(),
                        failing_triggers: s.failing_triggers,
                        metric_value: s.metric_value.filter(|v| v.is_finite()),
                        metric_target: s.metric_target.filter(|v| v.is_finite()),
                        last_scale: s.last_scale,
                        message: opt_text(s.message.as_deref(), redact),
                        path: s.path.as_ref().map(|id| PathId(text(id.as_str(), redact))),
                        conditions: conditions(&s.conditions, redact),
                        hpa_name: opt_text(s.hpa_name.as_deref(), redact),
                        hpa_conditions: conditions(&s.hpa_conditions, redact),
                        failing_trigger_names: s
                            .failing_trigger_names
                            .iter()
                            .take(MAX_LIST)
                            .map(|t| text(t, redact))
                            .collect(),
                        metric_name: opt_text(s.metric_name.as_deref(), redact),
                        paused_annotation: s.paused_annotation,
                    },
                }
            })
            .collect();
        let problems = self
            .problems
            .iter()
            .map(|p| FleetProblem {
                resource: text(&p.resource, redact),
                namespace: text(&p.namespace, redact),
                kind: p.kind,
                message: text(&p.message, redact),
                since: p.since,
                paths: p
                    .paths
                    .iter()
                    .take(MAX_LIST)
                    .map(|id| PathId(text(id.as_str(), redact)))
                    .collect(),
            })
            .collect();
        let events = self.events_view(redact);
        let nodes = self
            .nodes
            .iter()
            .map(|n| GpuNode {
                name: text(&n.name, redact),
                ready: n.ready,
                gpus_allocatable: n.gpus_allocatable,
                gpus_used: n.gpus_used,
                launched_at: n.launched_at,
                claim: opt_text(n.claim.as_deref(), redact),
                path: n.path.as_ref().map(|id| PathId(text(id.as_str(), redact))),
            })
            .collect();
        FleetView {
            pods,
            scaled_objects,
            problems,
            events,
            nodes,
        }
    }
}

fn conditions(cs: &[Condition], redact: bool) -> Vec<Condition> {
    cs.iter()
        .take(MAX_LIST)
        .map(|c| Condition {
            kind: text(&c.kind, redact),
            status: text(&c.status, redact),
            reason: opt_text(c.reason.as_deref(), redact),
            message: opt_text(c.message.as_deref(), redact),
            since: c.since,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    pub fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    pub fn pod(name: &str, node: Option<&str>, phase: &str, ready: bool, path: &str) -> Pod {
        Pod {
            namespace: "agents".into(),
            name: name.into(),
            phase: phase.into(),
            ready,
            ready_containers: u32::from(ready),
            total_containers: 1,
            restarts: 0,
            node: node.map(String::from),
            created_at: at(0),
            reason: None,
            path: Some(PathId::from(path)),
            message: None,
        }
    }

    pub fn so(name: &str, desired: u32, path: Option<&str>) -> ScaledObject {
        let hpa = format!("keda-hpa-{name}");
        ScaledObject {
            namespace: "agents".into(),
            name: name.into(),
            target: format!("Deployment/{name}"),
            min_replicas: 1,
            max_replicas: 8,
            current_replicas: desired,
            desired_replicas: desired,
            ready: true,
            active: true,
            paused: false,
            fallback: false,
            triggers: vec!["aws-sqs-queue".into()],
            failing_triggers: 0,
            metric_value: Some(f64::NAN),
            metric_target: None,
            last_scale: None,
            message: None,
            path: path.map(PathId::from),
            conditions: Vec::new(),
            hpa_name: Some(hpa),
            hpa_conditions: Vec::new(),
            failing_trigger_names: Vec::new(),
            metric_name: None,
            paused_annotation: false,
        }
    }

    #[test]
    fn upsert_delete_replace() {
        let mut f = Fleet::default();
        assert!(!f.is_known());
        let q = PathId::from("eks-qwen3");
        f.apply(
            FleetUpdate::PodUpsert {
                pod: pod("b", Some("n1"), "Running", true, "eks-qwen3"),
            },
            at(0),
        );
        f.apply(
            FleetUpdate::PodUpsert {
                pod: pod("a", Some("n1"), "Running", false, "eks-qwen3"),
            },
            at(0),
        );
        f.apply(
            FleetUpdate::PodUpsert {
                pod: pod("c", None, "Running", true, "eks-qwen3"),
            },
            at(0),
        );
        f.apply(
            FleetUpdate::PodUpsert {
                pod: pod("d", None, "Pending", false, "eks-qwen3"),
            },
            at(0),
        );
        assert!(f.is_known());
        assert_eq!(f.ready_pods(&q), 2);
        // n1 (shared by a and b) + c unplaced → 2 nodes.
        assert_eq!(f.nodes_in_use(&q, 1), 2);
        // Same name again replaces, not duplicates.
        f.apply(
            FleetUpdate::PodUpsert {
                pod: pod("b", Some("n2"), "Running", true, "eks-qwen3"),
            },
            at(0),
        );
        assert_eq!(f.pods().count(), 4);
        assert_eq!(f.nodes_in_use(&q, 1), 3);
        f.apply(
            FleetUpdate::PodDelete {
                namespace: "agents".into(),
                name: "b".into(),
            },
            at(0),
        );
        assert_eq!(f.pods().count(), 3);
        let names: Vec<_> = f
            .view(0, false)
            .pods
            .into_iter()
            .map(|p| p.pod.name)
            .collect();
        assert_eq!(names, ["a", "c", "d"]);
        f.apply(
            FleetUpdate::ScaledObjectUpsert {
                scaled_object: so("vllm-qwen3", 4, None),
            },
            at(0),
        );
        assert_eq!(
            f.scaled_object_for(&q, Some(("agents", "vllm-qwen3")))
                .map(|s| s.desired_replicas),
            Some(4)
        );
        assert!(f.scaled_object_for(&q, None).is_none());
        f.apply(
            FleetUpdate::Replace {
                pods: vec![pod("z", None, "Running", true, "eks-qwen3")],
                scaled_objects: vec![so("vllm-qwen3", 2, Some("eks-qwen3"))],
            },
            at(0),
        );
        assert_eq!(f.pods().count(), 1);
        assert_eq!(
            f.scaled_object_for(&q, None).map(|s| s.desired_replicas),
            Some(2)
        );
        f.apply(
            FleetUpdate::ScaledObjectDelete {
                namespace: "agents".into(),
                name: "vllm-qwen3".into(),
            },
            at(0),
        );
        assert!(f.scaled_object_for(&q, None).is_none());
        // Deleting something unknown is harmless.
        f.apply(
            FleetUpdate::PodDelete {
                namespace: "x".into(),
                name: "y".into(),
            },
            at(0),
        );
    }

    #[test]
    fn problems_replace_and_do_not_make_the_fleet_known() {
        use crate::model::update::{Condition, ProblemKind};
        let mut f = Fleet::default();
        let problem = |msg: &str| FleetProblem {
            resource: "scaledobjects.keda.sh".into(),
            namespace: "agents".into(),
            kind: ProblemKind::Forbidden,
            message: msg.into(),
            since: at(0),
            paths: vec![PathId::from("eks-qwen3")],
        };
        f.apply(
            FleetUpdate::Problems {
                problems: vec![problem("forbidden: needs list and watch\u{1b}[2J on it")],
            },
            at(0),
        );
        // "Forbidden" is not "zero pods": the fleet is still unknown.
        assert!(!f.is_known());
        let v = f.view(0, false);
        assert_eq!(v.problems.len(), 1);
        assert_eq!(
            v.problems[0].message,
            "forbidden: needs list and watch on it"
        );
        // Bounded, and replaced wholesale.
        f.apply(
            FleetUpdate::Problems {
                problems: (0..500).map(|i| problem(&format!("p{i}"))).collect(),
            },
            at(0),
        );
        assert_eq!(f.problems().len(), MAX_PROBLEMS);
        f.apply(FleetUpdate::Problems { problems: vec![] }, at(0));
        assert!(f.view(0, false).problems.is_empty());

        // Every new remote string is sanitised (and redacted when asked).
        let mut s = so("vllm-qwen3", 2, Some("eks-qwen3"));
        s.conditions = vec![Condition {
            kind: "Ready".into(),
            status: "False".into(),
            reason: Some("Bad\u{1b}]0;title\u{7}".into()),
            message: Some("node ip-10-0-1-23 gone".into()),
            since: None,
        }];
        s.hpa_conditions = s.conditions.clone();
        s.failing_trigger_names = vec!["s0\u{9b}2Jx".into()];
        s.metric_name = Some("s0-\u{202e}q".into());
        let mut p = pod("a", Some("n1"), "Pending", false, "eks-qwen3");
        p.message = Some("0/4 nodes\u{1b}[31m available".into());
        f.apply(
            FleetUpdate::Replace {
                pods: vec![p],
                scaled_objects: vec![s],
            },
            at(0),
        );
        let v = f.view(0, true);
        assert_eq!(
            v.pods[0].pod.message.as_deref(),
            Some("0/4 nodes available")
        );
        let o = &v.scaled_objects[0].scaled_object;
        assert_eq!(o.conditions[0].reason.as_deref(), Some("Bad"));
        assert_eq!(
            o.conditions[0].message.as_deref(),
            Some("node ip-x-x-x-x gone")
        );
        assert_eq!(o.hpa_conditions[0].reason.as_deref(), Some("Bad"));
        assert_eq!(o.failing_trigger_names, ["s0x"]);
        assert_eq!(o.metric_name.as_deref(), Some("s0-q"));
        assert_eq!(o.hpa_name.as_deref(), Some("keda-hpa-vllm-qwen3"));
    }

    #[test]
    fn pods_per_node_packing_and_ages() {
        let mut f = Fleet::default();
        let q = PathId::from("eks-qwen3");
        let pods = (0..5)
            .map(|i| pod(&format!("p{i}"), None, "Running", true, "eks-qwen3"))
            .collect();
        f.apply(
            FleetUpdate::Replace {
                pods,
                scaled_objects: vec![],
            },
            at(0),
        );
        assert_eq!(f.nodes_in_use(&q, 2), 3);
        assert_eq!(f.nodes_in_use(&q, 0), 5);
        let v = f.view(at(3600).timestamp_millis(), false);
        assert_eq!(v.pods[0].age_seconds, 3600.0);
        // A pod created "in the future" (clock skew) is 0 s old, not negative.
        let v = f.view(at(-10).timestamp_millis(), false);
        assert_eq!(v.pods[0].age_seconds, 0.0);
    }
}
