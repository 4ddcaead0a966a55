//! Events (`events.k8s.io/v1`), GPU nodes (`v1` Node) and Karpenter NodeClaims
//! (`karpenter.sh/v1`) as the API serves them → the model's `KubeEvent` and `GpuNode`. Read from
//! untyped JSON like the pods: a field of an unexpected type degrades that field, never the
//! object, and nothing here can panic on remote data. Paths are attributed by the aggregator,
//! which knows the pods.
use super::json::{arr, clip, int, obj, string, MAX_MESSAGE, MAX_REASON};
use crate::model::update::{GpuNode, KubeEvent};
use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde_json::Value;

/// `nvidia.com/gpu` in a resource list (`"1"`, `1`).
fn gpus(list: &Value) -> u32 {
    match list.get("nvidia.com/gpu") {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        None => 0,
    }
}

/// `metadata.creationTimestamp` as chrono time.
fn created(o: &DynamicObject) -> Option<DateTime<Utc>> {
    let ts = o.metadata.creation_timestamp.as_ref()?.0;
    let nanos = u32::try_from(ts.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(ts.as_second(), nanos)
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    string(v, key).and_then(|t| t.parse().ok())
}

/// One event; `None` without a reason or an object it is about.
pub fn event_from(o: &DynamicObject, now: DateTime<Utc>) -> Option<KubeEvent> {
    let d = &o.data;
    // events.k8s.io/v1 names the object `regarding`, core/v1 `involvedObject`.
    let about = match obj(d, "regarding") {
        Value::Null => obj(d, "involvedObject"),
        v => v,
    };
    let kind = string(about, "kind").filter(|k| !k.is_empty())?;
    let name = string(about, "name").filter(|n| !n.is_empty())?;
    let reason = string(d, "reason").filter(|r| !r.is_empty())?;
    let series = obj(d, "series");
    let count = int(series, "count")
        .or_else(|| int(d, "deprecatedCount"))
        .or_else(|| int(d, "count"))
        .and_then(|n| u32::try_from(n.max(1)).ok())
        .unwrap_or(1);
    let last = time(series, "lastObservedTime")
        .or_else(|| time(d, "eventTime"))
        .or_else(|| time(d, "deprecatedLastTimestamp"))
        .or_else(|| time(d, "lastTimestamp"))
        .or_else(|| created(o))
        .unwrap_or(now);
    let first = time(d, "deprecatedFirstTimestamp")
        .or_else(|| time(d, "firstTimestamp"))
        .or_else(|| time(d, "eventTime"))
        .unwrap_or(last)
        .min(last);
    Some(KubeEvent {
        kind_of: clip(
            &string(d, "type").unwrap_or_else(|| "Normal".into()),
            MAX_REASON,
        ),
        reason: clip(&reason, MAX_REASON),
        kind: clip(&kind, MAX_REASON),
        namespace: clip(
            &string(about, "namespace")
                .or_else(|| o.metadata.namespace.clone())
                .unwrap_or_default(),
            MAX_REASON,
        ),
        name: clip(&name, MAX_MESSAGE),
        message: clip(
            &string(d, "note")
                .or_else(|| string(d, "message"))
                .unwrap_or_default(),
            MAX_MESSAGE,
        ),
        count,
        first_seen: first,
        last_seen: last,
        object: clip(&o.metadata.name.clone().unwrap_or_default(), MAX_MESSAGE),
        path: None,
    })
}

/// One GPU node: Ready, allocatable GPUs, the NodeClaim that made it (Karpenter's label).
pub fn node_from(o: &DynamicObject) -> Option<GpuNode> {
    let name = o.metadata.name.clone().filter(|n| !n.is_empty())?;
    let status = obj(&o.data, "status");
    let ready = arr(status, "conditions").iter().any(|c| {
        string(c, "type").as_deref() == Some("Ready")
            && string(c, "status").as_deref() == Some("True")
    });
    let claim = o
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("karpenter.sh/nodeclaim").cloned())
        .or_else(|| {
            o.metadata.owner_references.as_ref().and_then(|r| {
                r.iter()
                    .find(|r| r.kind == "NodeClaim")
                    .map(|r| r.name.clone())
            })
        });
    Some(GpuNode {
        name: clip(&name, MAX_MESSAGE),
        ready,
        gpus_allocatable: gpus(obj(status, "allocatable")),
        gpus_used: 0,
        launched_at: created(o),
        claim: claim.map(|c| clip(&c, MAX_MESSAGE)),
        path: None,
    })
}

/// One NodeClaim: launched when, and whether its node is Ready yet; the node it became, if any.
pub fn claim_from(o: &DynamicObject) -> Option<(GpuNode, Option<String>)> {
    let name = o.metadata.name.clone().filter(|n| !n.is_empty())?;
    let status = obj(&o.data, "status");
    let ready = arr(status, "conditions").iter().any(|c| {
        string(c, "type").as_deref() == Some("Ready")
            && string(c, "status").as_deref() == Some("True")
    });
    let requested = gpus(obj(obj(obj(&o.data, "spec"), "resources"), "requests"));
    let node = string(status, "nodeName").filter(|n| !n.is_empty());
    Some((
        GpuNode {
            name: clip(&node.clone().unwrap_or_else(|| name.clone()), MAX_MESSAGE),
            ready,
            gpus_allocatable: gpus(obj(status, "allocatable")).max(requested),
            gpus_used: 0,
            launched_at: created(o),
            claim: Some(clip(&name, MAX_MESSAGE)),
            path: None,
        },
        node,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dyn_obj(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn events_from_both_apis_with_counts_and_times() {
        let now: DateTime<Utc> = "2026-11-25T09:00:00Z".parse().unwrap();
        let e = event_from(
            &dyn_obj(json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "vllm-1.17f", "namespace": "agents"},
                "type": "Warning", "reason": "FailedScheduling",
                "note": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                "regarding": {"kind": "Pod", "name": "vllm-1", "namespace": "agents"},
                "eventTime": "2026-11-25T08:50:00.000000Z",
                "series": {"count": 7, "lastObservedTime": "2026-11-25T08:58:00.000000Z"}
            })),
            now,
        )
        .unwrap();
        assert_eq!(
            (e.kind.as_str(), e.name.as_str(), e.count),
            ("Pod", "vllm-1", 7)
        );
        assert_eq!(
            e.last_seen,
            "2026-11-25T08:58:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            e.first_seen,
            "2026-11-25T08:50:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(e.object, "vllm-1.17f");
        let e = event_from(
            &dyn_obj(json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "x.1", "namespace": "agents"},
                "type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
                "involvedObject": {"kind": "Pod", "name": "vllm-2"},
                "count": 3, "lastTimestamp": "2026-11-25T08:59:00Z"
            })),
            now,
        )
        .unwrap();
        assert_eq!((e.count, e.namespace.as_str()), (3, "agents"));
        // No reason, or nothing it is about: not an event we can show.
        assert!(event_from(
            &dyn_obj(json!({"metadata": {"name": "y"}, "reason": "X"})),
            now
        )
        .is_none());
    }

    #[test]
    fn nodes_and_claims() {
        let n = node_from(&dyn_obj(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "ip-10-0-1-2", "labels": {"karpenter.sh/nodeclaim": "gpu-abc"},
                         "creationTimestamp": "2026-11-25T08:00:00Z"},
            "status": {"allocatable": {"nvidia.com/gpu": "4"},
                       "conditions": [{"type": "Ready", "status": "True"}]}
        })))
        .unwrap();
        assert!(n.ready);
        assert_eq!(
            (n.gpus_allocatable, n.claim.as_deref()),
            (4, Some("gpu-abc"))
        );
        let (c, node) = claim_from(&dyn_obj(json!({
            "apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
            "metadata": {"name": "gpu-def", "creationTimestamp": "2026-11-25T08:58:00Z"},
            "spec": {"resources": {"requests": {"nvidia.com/gpu": 1}}},
            "status": {"conditions": [{"type": "Launched", "status": "True"}, {"type": "Ready", "status": "Unknown"}]}
        })))
        .unwrap();
        assert!(!c.ready && node.is_none());
        assert_eq!((c.name.as_str(), c.gpus_allocatable), ("gpu-def", 1));
    }
}
