//! The state a late viewer cannot rebuild from the window alone. Most updates are windowed
//! (traffic, observations), but some land once and hold: a Kubernetes relist followed only by
//! deltas, billed cost every six hours, the router's weights on change, a source's last health.
//! A collector keeps the latest of each here and re-publishes them with its header, so a viewer
//! (or an export) that starts at any header gets a complete state. Every update here replaces
//! or is idempotent when applied twice, so re-publishing them is harmless. Bounded: pods and
//! ScaledObjects by the fleet's own bound, events by `MAX_EVENTS`.
use crate::domain::path::PathId;
use crate::model::agentcore::AlarmsReport;
use crate::model::engine::EngineReport;
use crate::model::update::{
    ApiSpend, BilledCost, FleetProblem, FleetUpdate, GpuNode, KubeEvent, Pod, ScaledObject,
    SourceHealth, SourceName, Update, WeightsReport,
};
use indexmap::IndexMap;
use std::collections::BTreeMap;

/// Kubernetes events kept for a keyframe (the most recently first seen; up to a quarter more
/// between evictions).
const MAX_EVENTS: usize = 1_000;
/// Pods and ScaledObjects kept (a relist larger than this is cut, as the fleet model cuts it).
const MAX_OBJECTS: usize = 10_000;

#[derive(Default)]
pub struct Keyframe {
    fleet_known: bool,
    pods: BTreeMap<(String, String), Pod>,
    scaled_objects: BTreeMap<(String, String), ScaledObject>,
    problems: Option<Vec<FleetProblem>>,
    nodes: Option<Vec<GpuNode>>,
    events: IndexMap<String, KubeEvent>,
    health: BTreeMap<SourceName, SourceHealth>,
    spend: BTreeMap<SourceName, ApiSpend>,
    engine: BTreeMap<PathId, EngineReport>,
    weights: Option<WeightsReport>,
    billed: Option<BilledCost>,
    alarms: Option<AlarmsReport>,
}

impl Keyframe {
    /// Take note of one update the collector applied.
    pub fn observe(&mut self, u: &Update) {
        match u {
            Update::Fleet(f) => self.fleet(f),
            Update::Health(h) => {
                self.health.insert(h.source, h.clone());
            }
            Update::ApiSpend(s) => {
                self.spend.insert(s.source, s.clone());
            }
            Update::Engine(e) => {
                self.engine.insert(e.path.clone(), e.clone());
            }
            Update::Weights(w) => self.weights = Some(w.clone()),
            Update::Billed(b) => self.billed = Some(b.clone()),
            Update::Alarms(a) => self.alarms = Some(a.clone()),
            Update::Clock { .. }
            | Update::Traffic(_)
            | Update::Usage(_)
            | Update::Observations { .. }
            | Update::Coverage(_)
            | Update::TracesCovered { .. }
            | Update::TraceProgress(_)
            | Update::Waterfalls(_)
            | Update::Agentcore(_) => {}
        }
    }

    fn fleet(&mut self, f: &FleetUpdate) {
        match f {
            FleetUpdate::Replace {
                pods,
                scaled_objects,
            } => {
                self.fleet_known = true;
                self.pods.clear();
                self.scaled_objects.clear();
                for p in pods.iter().take(MAX_OBJECTS) {
                    self.pods
                        .insert((p.namespace.clone(), p.name.clone()), p.clone());
                }
                for s in scaled_objects.iter().take(MAX_OBJECTS) {
                    self.scaled_objects
                        .insert((s.namespace.clone(), s.name.clone()), s.clone());
                }
            }
            FleetUpdate::PodUpsert { pod } => {
                self.fleet_known = true;
                let key = (pod.namespace.clone(), pod.name.clone());
                if self.pods.len() < MAX_OBJECTS || self.pods.contains_key(&key) {
                    self.pods.insert(key, pod.clone());
                }
            }
            FleetUpdate::PodDelete { namespace, name } => {
                self.pods.remove(&(namespace.clone(), name.clone()));
            }
            FleetUpdate::ScaledObjectUpsert { scaled_object: s } => {
                self.fleet_known = true;
                let key = (s.namespace.clone(), s.name.clone());
                if self.scaled_objects.len() < MAX_OBJECTS || self.scaled_objects.contains_key(&key)
                {
                    self.scaled_objects.insert(key, s.clone());
                }
            }
            FleetUpdate::ScaledObjectDelete { namespace, name } => {
                self.scaled_objects
                    .remove(&(namespace.clone(), name.clone()));
            }
            FleetUpdate::Problems { problems } => self.problems = Some(problems.clone()),
            FleetUpdate::Nodes { nodes } => self.nodes = Some(nodes.clone()),
            FleetUpdate::Events { events } => {
                for e in events {
                    // An Event object's re-reports carry its own cumulative count: its latest
                    // report stands for all of them. Reports without an object name add up in
                    // the model, so the keyframe keeps their sum.
                    let (key, merged) = if e.object.is_empty() {
                        let key = format!("{}/{}/{}/{}", e.kind, e.namespace, e.name, e.reason);
                        let merged = match self.events.get(&key) {
                            Some(old) => KubeEvent {
                                count: old.count.saturating_add(e.count.max(1)),
                                first_seen: old.first_seen.min(e.first_seen),
                                ..if e.last_seen >= old.last_seen {
                                    e.clone()
                                } else {
                                    KubeEvent {
                                        count: 0,
                                        ..old.clone()
                                    }
                                }
                            },
                            None => e.clone(),
                        };
                        (key, merged)
                    } else {
                        let key = format!("{}/{}", e.namespace, e.object);
                        let merged = match self.events.get(&key) {
                            // As the model merges re-reports: the highest count, the earliest
                            // first sighting.
                            Some(old) => KubeEvent {
                                count: old.count.max(e.count),
                                first_seen: old.first_seen.min(e.first_seen),
                                ..e.clone()
                            },
                            None => e.clone(),
                        };
                        (key, merged)
                    };
                    // Updated in place (O(1) per event, a flood included); beyond the bound the
                    // oldest quarter goes at once, so eviction stays O(1) per event too.
                    self.events.insert(key, merged);
                    if self.events.len() > MAX_EVENTS + MAX_EVENTS / 4 {
                        let excess = self.events.len() - MAX_EVENTS;
                        self.events.drain(..excess);
                    }
                }
            }
        }
    }

    /// The updates that rebuild the held state, in an order a fresh state accepts.
    pub fn updates(&self) -> Vec<Update> {
        let mut out = Vec::new();
        if let Some(w) = &self.weights {
            out.push(Update::Weights(w.clone()));
        }
        if let Some(b) = &self.billed {
            out.push(Update::Billed(b.clone()));
        }
        if let Some(a) = &self.alarms {
            out.push(Update::Alarms(a.clone()));
        }
        if self.fleet_known {
            out.push(Update::Fleet(FleetUpdate::Replace {
                pods: self.pods.values().cloned().collect(),
                scaled_objects: self.scaled_objects.values().cloned().collect(),
            }));
        }
        if let Some(n) = &self.nodes {
            out.push(Update::Fleet(FleetUpdate::Nodes { nodes: n.clone() }));
        }
        if let Some(p) = &self.problems {
            out.push(Update::Fleet(FleetUpdate::Problems {
                problems: p.clone(),
            }));
        }
        if !self.events.is_empty() {
            out.push(Update::Fleet(FleetUpdate::Events {
                events: self.events.values().cloned().collect(),
            }));
        }
        out.extend(self.engine.values().cloned().map(Update::Engine));
        out.extend(self.spend.values().cloned().map(Update::ApiSpend));
        // Health last: a source's state as of now, after the data it describes.
        out.extend(self.health.values().cloned().map(Update::Health));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::snapshot::Mode;
    use crate::model::state::State;
    use crate::sources::simulator::{Scenario, SimConfig, Simulator};
    use chrono::{TimeZone, Utc};

    /// A viewer that starts after the relist, with only the keyframe and what followed it,
    /// sees the same fleet, weights and bill as one that watched from the start.
    #[test]
    fn a_keyframe_rebuilds_what_the_window_cannot() {
        let config = Config::demo();
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let mut sim = Simulator::new(
            SimConfig {
                seed: 3,
                scenario: Scenario::EksNodeLoss,
                start,
                config: config.clone(),
            },
            config.default_weights(),
        );
        let mut whole = State::new(&config, Mode::Demo);
        let mut kf = Keyframe::default();
        let mut late = None::<State>;
        for step in 0..900 {
            let ups = sim.step();
            if step == 600 {
                let mut s = State::new(&config, Mode::Demo);
                for u in kf.updates() {
                    s.apply(u);
                }
                late = Some(s);
            }
            for u in ups {
                kf.observe(&u);
                whole.apply(u.clone());
                if let Some(s) = late.as_mut() {
                    s.apply(u);
                }
            }
        }
        let late = late.unwrap();
        let opts = crate::model::state::DeriveOptions::default();
        let (a, b) = (whole.snapshot(&opts), late.snapshot(&opts));
        assert!(!a.fleet.pods.is_empty());
        let (fa, fb) = (
            serde_json::to_value(&a.fleet).unwrap(),
            serde_json::to_value(&b.fleet).unwrap(),
        );
        assert_eq!(fb, fa);
        assert_eq!(
            serde_json::to_value(&b.router).unwrap(),
            serde_json::to_value(&a.router).unwrap()
        );
    }

    fn pod(name: &str, phase: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "namespace": "agents", "name": name, "phase": phase, "ready": phase == "Running",
            "ready_containers": 1, "total_containers": 1, "restarts": 0, "node": null,
            "created_at": "2026-11-25T09:00:00Z", "reason": null, "path": "eks-qwen3"
        }))
        .unwrap()
    }

    /// The Kubernetes source sends one relist and then deltas: the keyframe folds them.
    #[test]
    fn deltas_fold_into_one_replace() {
        let mut kf = Keyframe::default();
        kf.observe(&Update::Fleet(FleetUpdate::Replace {
            pods: vec![pod("a", "Running"), pod("b", "Running")],
            scaled_objects: vec![],
        }));
        kf.observe(&Update::Fleet(FleetUpdate::PodUpsert {
            pod: pod("c", "Pending"),
        }));
        kf.observe(&Update::Fleet(FleetUpdate::PodUpsert {
            pod: pod("a", "Failed"),
        }));
        kf.observe(&Update::Fleet(FleetUpdate::PodDelete {
            namespace: "agents".into(),
            name: "b".into(),
        }));
        let ups = kf.updates();
        let Some(Update::Fleet(FleetUpdate::Replace { pods, .. })) = ups.first() else {
            panic!("{ups:?}");
        };
        let got: Vec<(&str, &str)> = pods
            .iter()
            .map(|p| (p.name.as_str(), p.phase.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "Failed"), ("c", "Pending")]);
        assert!(Keyframe::default().updates().is_empty());
    }

    #[test]
    fn events_are_bounded_and_keep_the_newest() {
        let mut kf = Keyframe::default();
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        for i in 0..(3 * MAX_EVENTS) {
            kf.observe(&Update::Fleet(FleetUpdate::Events {
                events: vec![KubeEvent {
                    kind_of: "Warning".into(),
                    reason: "FailedScheduling".into(),
                    kind: "Pod".into(),
                    namespace: "agents".into(),
                    name: format!("p{i}"),
                    message: "0/3 nodes".into(),
                    count: 1,
                    first_seen: t,
                    last_seen: t,
                    object: format!("e{i}"),
                    path: None,
                }],
            }));
        }
        let ups = kf.updates();
        let Some(Update::Fleet(FleetUpdate::Events { events })) = ups.last() else {
            panic!("no events in {ups:?}");
        };
        assert!(
            events.len() <= MAX_EVENTS + MAX_EVENTS / 4,
            "{}",
            events.len()
        );
        assert!(events.len() >= MAX_EVENTS);
        // The newest stay, the oldest went.
        assert_eq!(
            events.last().unwrap().name,
            format!("p{}", 3 * MAX_EVENTS - 1)
        );
        assert!(events.iter().all(|e| e.name != "p0"));
    }
}
