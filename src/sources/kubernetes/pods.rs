//! A Pod as the API serves it → the model's `Pod`: phase, ready containers, restarts, node, and
//! why it is not ready (as `kubectl get pods` would say it, plus the detail kubectl hides).
//!
//! Read from untyped JSON on purpose: a field of an unexpected type degrades that one field
//! instead of losing the whole event, and nothing here can panic on remote data.
use super::json::{arr, boolean, clip, int, obj, string, MAX_MESSAGE, MAX_REASON};
use crate::domain::path::PathId;
use crate::model::update::Pod;
use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde_json::Value;

/// Map one Pod; `None` when it has no name (nothing to key it by). `now` stands in for a missing
/// creation time so its age reads 0, not 56 years.
pub fn pod_from(o: &DynamicObject, path: Option<&PathId>, now: DateTime<Utc>) -> Option<Pod> {
    let name = o.metadata.name.clone().filter(|n| !n.is_empty())?;
    let namespace = o.metadata.namespace.clone().unwrap_or_default();
    let status = o.data.get("status").unwrap_or(&Value::Null);
    let spec = o.data.get("spec").unwrap_or(&Value::Null);
    let phase = string(status, "phase").unwrap_or_else(|| "Unknown".to_string());
    let statuses = arr(status, "containerStatuses");
    let total = arr(spec, "containers").len().max(statuses.len());
    let ready_containers = statuses
        .iter()
        .filter(|c| boolean(c, "ready") == Some(true))
        .count();
    let restarts = statuses
        .iter()
        .filter_map(|c| int(c, "restartCount"))
        .fold(0u32, |a, n| {
            a.saturating_add(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
        });
    let ready = is_ready(status);
    let terminating = o.metadata.deletion_timestamp.is_some();
    let (reason, message) = why_not_ready(status, &phase, ready, terminating);
    Some(Pod {
        namespace,
        name,
        phase: clip(&phase, MAX_REASON),
        ready: ready && !terminating,
        ready_containers: u32::try_from(ready_containers).unwrap_or(u32::MAX),
        total_containers: u32::try_from(total).unwrap_or(u32::MAX),
        restarts,
        node: string(spec, "nodeName").filter(|n| !n.is_empty()),
        created_at: o
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| {
                let ts = t.0;
                let nanos = u32::try_from(ts.subsec_nanosecond()).unwrap_or(0);
                DateTime::from_timestamp(ts.as_second(), nanos)
            })
            .unwrap_or(now),
        reason: reason.map(|r| clip(&r, MAX_REASON)),
        path: path.cloned(),
        message: message.map(|m| clip(&m, MAX_MESSAGE)),
    })
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    arr(status, "conditions")
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// The pod's `Ready` condition is what Services and the autoscaler go by.
fn is_ready(status: &Value) -> bool {
    condition(status, "Ready")
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

/// `(reason, message)` for a pod that is not ready (or is going away), most telling first:
/// terminating, evicted/node lost, unschedulable, init containers, containers (CrashLoopBackOff,
/// ImagePullBackOff, OOMKilled from the last state), then the Ready condition itself.
fn why_not_ready(
    status: &Value,
    phase: &str,
    ready: bool,
    terminating: bool,
) -> (Option<String>, Option<String>) {
    if terminating {
        return (Some("Terminating".into()), None);
    }
    if let Some(r) = string(status, "reason").filter(|r| !r.is_empty()) {
        // Evicted, NodeLost, Shutdown, UnexpectedAdmissionError: the pod-level verdict.
        return (Some(r), string(status, "message").filter(|m| !m.is_empty()));
    }
    if ready {
        return (None, None);
    }
    if let Some(c) = condition(status, "PodScheduled") {
        if c.get("status").and_then(Value::as_str) == Some("False") {
            let reason = string(c, "reason").unwrap_or_else(|| "Unschedulable".into());
            return (Some(reason), string(c, "message").filter(|m| !m.is_empty()));
        }
    }
    let inits = arr(status, "initContainerStatuses");
    for c in inits {
        if let Some((r, m)) = container_problem(c) {
            if r != "PodInitializing" {
                return (Some(format!("Init:{r}")), m);
            }
        }
    }
    for c in arr(status, "containerStatuses") {
        if let Some((r, m)) = container_problem(c) {
            return (Some(r), m);
        }
    }
    if let Some(c) = condition(status, "Ready") {
        if let Some(r) = string(c, "reason").filter(|r| !r.is_empty()) {
            return (Some(r), string(c, "message").filter(|m| !m.is_empty()));
        }
    }
    match phase {
        "Running" => (Some("NotReady".into()), None),
        other => (Some(other.to_string()), None),
    }
}

/// What is wrong with one container, if anything: its waiting or terminated reason, with an
/// OOM kill in its last state named (`CrashLoopBackOff (OOMKilled)`, or `OOMKilled` for a
/// container that is back up but not ready yet).
fn container_problem(c: &Value) -> Option<(String, Option<String>)> {
    let state = obj(c, "state");
    let last_oom = obj(obj(c, "lastState"), "terminated")
        .get("reason")
        .and_then(Value::as_str)
        == Some("OOMKilled");
    let exit = |t: &Value| int(t, "exitCode").map(|e| format!("exit code {e}"));
    if let Some(w) = state.get("waiting") {
        let reason = string(w, "reason").unwrap_or_else(|| "Waiting".into());
        let message = string(w, "message").filter(|m| !m.is_empty());
        if last_oom {
            return Some((format!("{reason} (OOMKilled)"), message));
        }
        return Some((reason, message));
    }
    if let Some(t) = state.get("terminated") {
        let reason = string(t, "reason").unwrap_or_else(|| "Terminated".into());
        if reason == "Completed" && int(t, "exitCode") == Some(0) {
            return None;
        }
        let message = string(t, "message")
            .filter(|m| !m.is_empty())
            .or_else(|| exit(t));
        return Some((reason, message));
    }
    if state.get("running").is_some() && boolean(c, "ready") != Some(true) {
        if last_oom {
            let t = obj(obj(c, "lastState"), "terminated");
            return Some((
                "OOMKilled".into(),
                exit(t).map(|e| format!("last restart: {e}")),
            ));
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "vllm-qwen3-7d9f-abcde", "namespace": "agents",
                         "creationTimestamp": "2026-11-25T07:00:00Z"},
            "spec": {"nodeName": "ip-10-0-1-23", "containers": [{"name": "vllm"}, {"name": "sidecar"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T08:00:00Z".parse().unwrap()
    }

    fn map(status: Value) -> Pod {
        pod_from(&pod(status), Some(&PathId::from("eks-qwen3")), now()).unwrap()
    }

    fn running(ready: bool) -> Value {
        json!({"running": {"startedAt": "2026-11-25T07:01:00Z"}, "ready": ready})
    }

    #[test]
    fn ready_pod() {
        let p = map(json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [
                {"name": "vllm", "ready": true, "restartCount": 2, "state": {"running": {}}},
                {"name": "sidecar", "ready": true, "restartCount": 1, "state": {"running": {}}},
            ],
        }));
        assert!(p.ready);
        assert_eq!((p.ready_containers, p.total_containers), (2, 2));
        assert_eq!(p.restarts, 3);
        assert_eq!(p.node.as_deref(), Some("ip-10-0-1-23"));
        assert_eq!(p.reason, None);
        assert_eq!(p.path, Some(PathId::from("eks-qwen3")));
        assert_eq!(
            p.created_at,
            "2026-11-25T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn crash_loop_with_oom_last_state() {
        let p = map(json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [{
                "name": "vllm", "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=vllm"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
            }],
        }));
        assert!(!p.ready);
        assert_eq!(p.reason.as_deref(), Some("CrashLoopBackOff (OOMKilled)"));
        assert_eq!(
            p.message.as_deref(),
            Some("back-off 5m0s restarting failed container=vllm")
        );
        assert_eq!(p.restarts, 7);
    }

    #[test]
    fn oom_killed_and_back_but_not_ready() {
        let mut c = running(false);
        c["name"] = json!("vllm");
        c["restartCount"] = json!(1);
        c["state"] = json!({"running": {}});
        c["lastState"] = json!({"terminated": {"reason": "OOMKilled", "exitCode": 137}});
        let p = map(json!({"phase": "Running", "containerStatuses": [c]}));
        assert_eq!(p.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(p.message.as_deref(), Some("last restart: exit code 137"));
    }

    #[test]
    fn image_pull_backoff() {
        let p = map(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "vllm", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"vllm/vllm-openai:v0.99\""}}}],
        }));
        assert_eq!(p.reason.as_deref(), Some("ImagePullBackOff"));
        assert!(p.message.unwrap().contains("vllm-openai"));
    }

    #[test]
    fn unschedulable_from_the_pod_scheduled_condition() {
        let mut o = pod(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."}],
        }));
        o.data["spec"]["nodeName"] = Value::Null;
        let p = pod_from(&o, None, now()).unwrap();
        assert_eq!(p.phase, "Pending");
        assert_eq!(p.reason.as_deref(), Some("Unschedulable"));
        assert_eq!(
            p.message.as_deref(),
            Some("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.")
        );
        assert_eq!(p.node, None);
        assert_eq!((p.ready_containers, p.total_containers), (0, 2));
    }

    #[test]
    fn init_terminating_evicted_and_readiness() {
        let p = map(json!({
            "phase": "Pending",
            "initContainerStatuses": [{"name": "fetch-weights", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        }));
        assert_eq!(p.reason.as_deref(), Some("Init:CrashLoopBackOff"));

        let p = map(json!({"phase": "Failed", "reason": "Evicted",
                           "message": "The node was low on resource: ephemeral-storage."}));
        assert_eq!(p.reason.as_deref(), Some("Evicted"));
        assert!(p.message.unwrap().contains("ephemeral-storage"));

        let mut o = pod(json!({"phase": "Running",
                               "conditions": [{"type": "Ready", "status": "True"}]}));
        o.metadata.deletion_timestamp = o.metadata.creation_timestamp.clone();
        let p = pod_from(&o, None, now()).unwrap();
        assert!(!p.ready);
        assert_eq!(p.reason.as_deref(), Some("Terminating"));

        // Running, containers up, readiness probe failing: the Ready condition says why.
        let mut c = running(false);
        c["name"] = json!("vllm");
        let p = map(json!({"phase": "Running", "containerStatuses": [c],
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": "containers with unready status: [vllm]"}]}));
        assert_eq!(p.reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(
            p.message.as_deref(),
            Some("containers with unready status: [vllm]")
        );
        // A crashed container's exit code when there is no message.
        let p = map(
            json!({"phase": "Running", "containerStatuses": [{"name": "vllm", "ready": false,
            "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}),
        );
        assert_eq!(p.reason.as_deref(), Some("Error"));
        assert_eq!(p.message.as_deref(), Some("exit code 1"));
    }

    #[test]
    fn odd_data_degrades_per_field() {
        let o: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "odd", "namespace": "agents"},
            "spec": {"containers": "not-a-list", "nodeName": 7},
            "status": {"phase": 12, "containerStatuses": [{"restartCount": "many"}, {"restartCount": -4},
                       {"restartCount": 99999999999u64}], "conditions": {"type": "Ready"}},
        }))
        .unwrap();
        let p = pod_from(&o, None, now()).unwrap();
        assert_eq!(p.phase, "Unknown");
        assert_eq!(p.restarts, u32::MAX);
        assert_eq!(p.node, None);
        assert_eq!(p.created_at, now());
        assert!(!p.ready);
        let nameless: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "agents"}}))
        .unwrap();
        assert!(pod_from(&nameless, None, now()).is_none());
    }
}
