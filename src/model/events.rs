//! Kubernetes events, de-duplicated and bounded. An event is keyed by what it is about and why
//! (kind, namespace, name, reason): a pod's hundred FailedScheduling reports are one row with a
//! count and the last time. The store keeps at most `capacity` rows (the least recently seen go
//! first), so a burst of a hundred thousand events costs what `capacity` rows cost.
use crate::domain::path::PathId;
use crate::model::sanitize::clean_owned;
use crate::model::update::KubeEvent;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// What one row may carry into the model (a hostile message cannot grow memory).
const MAX_TEXT: usize = 512;

type Key = (String, String, String, String);

#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub warning: bool,
    pub reason: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub message: String,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub path: Option<PathId>,
    /// The Event object last counted into this row, and its count then (a re-report of the same
    /// object replaces its count instead of adding to it).
    object: String,
    object_count: u32,
}

#[derive(Clone, Debug)]
pub struct EventStore {
    capacity: usize,
    /// Moves with every ingested event (what a cached view was made from).
    generation: u64,
    rows: BTreeMap<Key, EventRow>,
    /// (last seen ms, key): the eviction order.
    by_time: BTreeSet<(i64, Key)>,
}

fn clip(s: &str) -> String {
    let s = clean_owned(s);
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl EventStore {
    pub fn new(capacity: usize) -> Self {
        EventStore {
            capacity: capacity.max(1),
            generation: 0,
            rows: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn ingest(&mut self, e: &KubeEvent) {
        self.generation += 1;
        let key: Key = (
            clip(&e.kind),
            clip(&e.namespace),
            clip(&e.name),
            clip(&e.reason),
        );
        let count = e.count.max(1);
        if let Some(row) = self.rows.get_mut(&key) {
            self.by_time
                .remove(&(row.last_seen.timestamp_millis(), key.clone()));
            if !e.object.is_empty() && e.object == row.object {
                row.count = row.count - u64::from(row.object_count)
                    + u64::from(count.max(row.object_count));
                row.object_count = count.max(row.object_count);
            } else {
                row.count += u64::from(count);
                row.object = clip(&e.object);
                row.object_count = count;
            }
            if e.last_seen >= row.last_seen {
                row.last_seen = e.last_seen;
                row.message = clip(&e.message);
                row.warning = e.kind_of == "Warning";
            }
            row.first_seen = row.first_seen.min(e.first_seen);
            if row.path.is_none() {
                row.path = e.path.clone();
            }
            self.by_time.insert((row.last_seen.timestamp_millis(), key));
            return;
        }
        while self.rows.len() >= self.capacity {
            let Some(oldest) = self.by_time.pop_first() else {
                break;
            };
            self.rows.remove(&oldest.1);
        }
        let row = EventRow {
            warning: e.kind_of == "Warning",
            reason: key.3.clone(),
            kind: key.0.clone(),
            namespace: key.1.clone(),
            name: key.2.clone(),
            message: clip(&e.message),
            count: u64::from(count),
            first_seen: e.first_seen.min(e.last_seen),
            last_seen: e.last_seen,
            path: e.path.clone(),
            object: clip(&e.object),
            object_count: count,
        };
        self.by_time
            .insert((row.last_seen.timestamp_millis(), key.clone()));
        self.rows.insert(key, row);
    }

    /// Every row, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &EventRow> {
        self.by_time
            .iter()
            .rev()
            .filter_map(|(_, k)| self.rows.get(k))
    }

    /// The newest warning about one of `path`'s objects.
    pub fn newest_warning(&self, path: &PathId) -> Option<&EventRow> {
        self.newest_first()
            .find(|r| r.warning && r.path.as_ref() == Some(path))
    }

    /// The newest row with this reason about one of `path`'s objects (one pass over the rows,
    /// no ordered walk: it runs at every derive).
    pub fn newest_with(&self, path: &PathId, reason: &str) -> Option<&EventRow> {
        self.rows
            .values()
            .filter(|r| r.reason == reason && r.path.as_ref() == Some(path))
            .max_by_key(|r| r.last_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    pub fn ev(name: &str, reason: &str, object: &str, count: u32, t: i64) -> KubeEvent {
        KubeEvent {
            kind_of: "Warning".into(),
            reason: reason.into(),
            kind: "Pod".into(),
            namespace: "agents".into(),
            name: name.into(),
            message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.".into(),
            count,
            first_seen: at(t),
            last_seen: at(t),
            object: object.into(),
            path: Some(PathId::from("eks-qwen3")),
        }
    }

    #[test]
    fn repeats_are_one_row_with_a_count_and_recounts_of_one_object_are_not_added() {
        let mut s = EventStore::new(10);
        s.ingest(&ev("p1", "FailedScheduling", "p1.a", 1, 0));
        s.ingest(&ev("p1", "FailedScheduling", "p1.a", 3, 30));
        s.ingest(&ev("p1", "FailedScheduling", "p1.b", 2, 60));
        assert_eq!(s.len(), 1);
        let r = s.newest_first().next().unwrap();
        assert_eq!(r.count, 5);
        assert_eq!((r.first_seen, r.last_seen), (at(0), at(60)));
        s.ingest(&ev("p2", "BackOff", "p2.a", 1, 10));
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.newest_warning(&PathId::from("eks-qwen3")).unwrap().name,
            "p1"
        );
    }

    #[test]
    fn a_burst_keeps_the_newest_within_capacity_and_messages_are_clean() {
        let mut s = EventStore::new(100);
        for i in 0..100_000 {
            let mut e = ev(&format!("pod-{i}"), "Unhealthy", "", 1, i);
            e.message = format!("probe failed \x1b]0;owned\x07 {}", "x".repeat(10_000));
            s.ingest(&e);
        }
        assert_eq!(s.len(), 100);
        let newest: Vec<&str> = s.newest_first().take(2).map(|r| r.name.as_str()).collect();
        assert_eq!(newest, ["pod-99999", "pod-99998"]);
        let r = s.newest_first().next().unwrap();
        assert!(!r.message.contains('\x1b') && r.message.len() <= MAX_TEXT + 4);
    }
}
