//! Pods and KEDA ScaledObjects as the Kubernetes source (or the simulator) reports them.
use crate::domain::path::PathId;
use crate::model::redact::{opt_text, text};
use crate::model::snapshot::{FleetView, PodView, ScaledObjectView};
use crate::model::update::{Condition, FleetProblem, FleetUpdate, Pod, ScaledObject};
use std::collections::{BTreeMap, BTreeSet};

type Key = (String, String);

#[derive(Clone, Debug, Default)]
pub struct Fleet {
    /// Keyed (namespace, name): iteration is the sorted order the views want.
    pods: BTreeMap<Key, Pod>,
    scaled_objects: BTreeMap<Key, ScaledObject>,
    /// Resources the source cannot read right now, as last reported.
    problems: Vec<FleetProblem>,
    /// False until the first fleet update: unknown, not "zero pods".
    known: bool,
}

/// Upper bound on objects kept (a misbehaving source cannot grow memory without limit).
const MAX_OBJECTS: usize = 20_000;
/// Upper bounds on what one object or report may carry into the model.
const MAX_PROBLEMS: usize = 64;
const MAX_LIST: usize = 32;

impl Fleet {
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

    pub fn apply(&mut self, u: FleetUpdate) {
        if let FleetUpdate::Problems { mut problems } = u {
            // Problems alone do not make the fleet known: "pods forbidden" is not "zero pods".
            problems.truncate(MAX_PROBLEMS);
            self.problems = problems;
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
            FleetUpdate::Problems { .. } => {}
        }
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

    pub fn view(&self, now_ms: i64, redact: bool) -> FleetView {
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
            .map(|s| ScaledObjectView {
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
                },
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
        FleetView {
            pods,
            scaled_objects,
            problems,
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
        }
    }

    #[test]
    fn upsert_delete_replace() {
        let mut f = Fleet::default();
        assert!(!f.is_known());
        let q = PathId::from("eks-qwen3");
        f.apply(FleetUpdate::PodUpsert {
            pod: pod("b", Some("n1"), "Running", true, "eks-qwen3"),
        });
        f.apply(FleetUpdate::PodUpsert {
            pod: pod("a", Some("n1"), "Running", false, "eks-qwen3"),
        });
        f.apply(FleetUpdate::PodUpsert {
            pod: pod("c", None, "Running", true, "eks-qwen3"),
        });
        f.apply(FleetUpdate::PodUpsert {
            pod: pod("d", None, "Pending", false, "eks-qwen3"),
        });
        assert!(f.is_known());
        assert_eq!(f.ready_pods(&q), 2);
        // n1 (shared by a and b) + c unplaced → 2 nodes.
        assert_eq!(f.nodes_in_use(&q, 1), 2);
        // Same name again replaces, not duplicates.
        f.apply(FleetUpdate::PodUpsert {
            pod: pod("b", Some("n2"), "Running", true, "eks-qwen3"),
        });
        assert_eq!(f.pods().count(), 4);
        assert_eq!(f.nodes_in_use(&q, 1), 3);
        f.apply(FleetUpdate::PodDelete {
            namespace: "agents".into(),
            name: "b".into(),
        });
        assert_eq!(f.pods().count(), 3);
        let names: Vec<_> = f
            .view(0, false)
            .pods
            .into_iter()
            .map(|p| p.pod.name)
            .collect();
        assert_eq!(names, ["a", "c", "d"]);
        f.apply(FleetUpdate::ScaledObjectUpsert {
            scaled_object: so("vllm-qwen3", 4, None),
        });
        assert_eq!(
            f.scaled_object_for(&q, Some(("agents", "vllm-qwen3")))
                .map(|s| s.desired_replicas),
            Some(4)
        );
        assert!(f.scaled_object_for(&q, None).is_none());
        f.apply(FleetUpdate::Replace {
            pods: vec![pod("z", None, "Running", true, "eks-qwen3")],
            scaled_objects: vec![so("vllm-qwen3", 2, Some("eks-qwen3"))],
        });
        assert_eq!(f.pods().count(), 1);
        assert_eq!(
            f.scaled_object_for(&q, None).map(|s| s.desired_replicas),
            Some(2)
        );
        f.apply(FleetUpdate::ScaledObjectDelete {
            namespace: "agents".into(),
            name: "vllm-qwen3".into(),
        });
        assert!(f.scaled_object_for(&q, None).is_none());
        // Deleting something unknown is harmless.
        f.apply(FleetUpdate::PodDelete {
            namespace: "x".into(),
            name: "y".into(),
        });
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
        f.apply(FleetUpdate::Problems {
            problems: vec![problem("forbidden: needs list and watch\u{1b}[2J on it")],
        });
        // "Forbidden" is not "zero pods": the fleet is still unknown.
        assert!(!f.is_known());
        let v = f.view(0, false);
        assert_eq!(v.problems.len(), 1);
        assert_eq!(
            v.problems[0].message,
            "forbidden: needs list and watch on it"
        );
        // Bounded, and replaced wholesale.
        f.apply(FleetUpdate::Problems {
            problems: (0..500).map(|i| problem(&format!("p{i}"))).collect(),
        });
        assert_eq!(f.problems().len(), MAX_PROBLEMS);
        f.apply(FleetUpdate::Problems { problems: vec![] });
        assert!(f.view(0, false).problems.is_empty());

        // Every new remote string is sanitised (and redacted when asked).
        let mut s = so("vllm-qwen3", 2, Some("eks-qwen3"));
        s.conditions = vec![Condition {
            kind: "Ready".into(),
            status: "False".into(),
            reason: Some("Bad\u{1b}]0;title\u{7}".into()),
            message: Some("node ip-10-0-1-23 gone".into()),
        }];
        s.hpa_conditions = s.conditions.clone();
        s.failing_trigger_names = vec!["s0\u{9b}2Jx".into()];
        s.metric_name = Some("s0-\u{202e}q".into());
        let mut p = pod("a", Some("n1"), "Pending", false, "eks-qwen3");
        p.message = Some("0/4 nodes\u{1b}[31m available".into());
        f.apply(FleetUpdate::Replace {
            pods: vec![p],
            scaled_objects: vec![s],
        });
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
        f.apply(FleetUpdate::Replace {
            pods,
            scaled_objects: vec![],
        });
        assert_eq!(f.nodes_in_use(&q, 2), 3);
        assert_eq!(f.nodes_in_use(&q, 0), 5);
        let v = f.view(at(3600).timestamp_millis(), false);
        assert_eq!(v.pods[0].age_seconds, 3600.0);
        // A pod created "in the future" (clock skew) is 0 s old, not negative.
        let v = f.view(at(-10).timestamp_millis(), false);
        assert_eq!(v.pods[0].age_seconds, 0.0);
    }
}
