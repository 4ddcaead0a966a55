//! KEDA ScaledObjects (`keda.sh/v1alpha1`) and their HPAs (`autoscaling/v2`), read from untyped
//! JSON, and the join that turns the pair into the model's `ScaledObject`.
//!
//! KEDA owns the decision (conditions, trigger health, pause); the HPA it creates carries the
//! numbers (current/desired replicas, metric value against target, last scale time) and its own
//! conditions. The HPA is found by `status.hpaName`, else by the `scaledobject.keda.sh/name`
//! label KEDA puts on each external metric's selector (and on the HPA itself), else by KEDA's
//! default name `keda-hpa-<name>`.
use super::json::{arr, clip, count, obj, string, MAX_ITEMS, MAX_MESSAGE, MAX_REASON};
use super::quantity::parse_quantity;
use crate::domain::path::PathId;
use crate::model::update::{Condition, ScaledObject};
use chrono::{DateTime, Utc};
use kube::api::DynamicObject;
use serde_json::Value;
use std::collections::BTreeMap;

/// The label KEDA sets on external metric selectors and on the HPA it manages.
pub const SO_LABEL: &str = "scaledobject.keda.sh/name";
const PAUSED: &str = "autoscaling.keda.sh/paused";
const PAUSED_REPLICAS: &str = "autoscaling.keda.sh/paused-replicas";

/// A ScaledObject as served, reduced to what the join and the views need.
#[derive(Clone, Debug, PartialEq)]
pub struct SoRaw {
    pub namespace: String,
    pub name: String,
    /// `Kind/name` of `spec.scaleTargetRef`.
    pub target: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub triggers: Vec<String>,
    pub conditions: Vec<Condition>,
    /// Paused by annotation (`paused: "true"` or `paused-replicas`), whatever the conditions say.
    pub paused_annotation: bool,
    pub paused_replicas: Option<u32>,
    /// Metric names whose `status.health[].status` is `Failing`, sorted.
    pub failing: Vec<String>,
    pub hpa_name: Option<String>,
}

/// One HPA metric: current value against its target (Quantities parsed).
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// The ScaledObject named by the metric selector's `scaledobject.keda.sh/name` label.
    pub so: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HpaRaw {
    pub namespace: String,
    pub name: String,
    /// The HPA's own `scaledobject.keda.sh/name` label.
    pub so_label: Option<String>,
    pub current_replicas: Option<u32>,
    pub desired_replicas: Option<u32>,
    pub last_scale: Option<DateTime<Utc>>,
    pub conditions: Vec<Condition>,
    pub metrics: Vec<Metric>,
}

impl HpaRaw {
    /// Does this HPA belong to the ScaledObject `so`?
    fn names(&self, so: &str) -> bool {
        self.so_label.as_deref() == Some(so)
            || self.metrics.iter().any(|m| m.so.as_deref() == Some(so))
    }
}

fn conditions(v: &Value) -> Vec<Condition> {
    arr(v, "conditions")
        .iter()
        .filter_map(|c| {
            Some(Condition {
                kind: clip(&string(c, "type")?, MAX_REASON),
                status: clip(
                    &string(c, "status").unwrap_or_else(|| "Unknown".into()),
                    MAX_REASON,
                ),
                reason: string(c, "reason")
                    .filter(|s| !s.is_empty())
                    .map(|s| clip(&s, MAX_REASON)),
                message: string(c, "message")
                    .filter(|s| !s.is_empty())
                    .map(|s| clip(&s, MAX_MESSAGE)),
                since: string(c, "lastTransitionTime").and_then(|t| t.parse().ok()),
            })
        })
        .take(MAX_ITEMS)
        .collect()
}

fn find<'a>(cs: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    cs.iter().find(|c| c.kind == kind)
}

fn is_true(cs: &[Condition], kind: &str) -> bool {
    find(cs, kind).is_some_and(Condition::is_true)
}

pub fn so_from(o: &DynamicObject) -> Option<SoRaw> {
    let name = o.metadata.name.clone().filter(|n| !n.is_empty())?;
    let namespace = o.metadata.namespace.clone().unwrap_or_default();
    let spec = obj(&o.data, "spec");
    let status = obj(&o.data, "status");
    let target_ref = obj(spec, "scaleTargetRef");
    let target = format!(
        "{}/{}",
        string(target_ref, "kind").unwrap_or_else(|| "Deployment".into()),
        string(target_ref, "name").unwrap_or_default()
    );
    let mut triggers: Vec<String> = arr(spec, "triggers")
        .iter()
        .filter_map(|t| string(t, "type"))
        .take(MAX_ITEMS)
        .map(|t| clip(&t, MAX_REASON))
        .collect();
    if triggers.is_empty() {
        // Older KEDA status carries the types comma-joined.
        triggers = string(status, "triggersTypes")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .take(MAX_ITEMS)
            .map(|t| clip(t, MAX_REASON))
            .collect();
    }
    let mut failing: Vec<String> = status
        .get("health")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter(|(_, v)| v.get("status").and_then(Value::as_str) == Some("Failing"))
                .map(|(k, _)| clip(k, MAX_REASON))
                .take(MAX_ITEMS)
                .collect()
        })
        .unwrap_or_default();
    failing.sort();
    let annotations = o.metadata.annotations.as_ref();
    let ann = |k: &str| annotations.and_then(|a| a.get(k)).map(String::as_str);
    let paused_replicas = ann(PAUSED_REPLICAS)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .or_else(|| count(status, "pausedReplicaCount"));
    let paused_annotation = ann(PAUSED).is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || ann(PAUSED_REPLICAS).is_some();
    Some(SoRaw {
        namespace,
        name,
        target: clip(&target, MAX_MESSAGE),
        min_replicas: count(spec, "minReplicaCount").unwrap_or(0),
        max_replicas: count(spec, "maxReplicaCount").unwrap_or(100),
        triggers,
        conditions: conditions(status),
        paused_annotation,
        paused_replicas,
        failing,
        hpa_name: string(status, "hpaName").filter(|n| !n.is_empty()),
    })
}

/// `averageValue`, `value` or `averageUtilization` of a metric target/current block.
fn amount(v: &Value) -> Option<f64> {
    for k in ["averageValue", "value"] {
        if let Some(x) = v.get(k) {
            if let Some(s) = x.as_str() {
                return parse_quantity(s);
            }
            if let Some(n) = x.as_f64() {
                return n.is_finite().then_some(n);
            }
        }
    }
    v.get("averageUtilization")
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
}

/// The metric block inside an HPA metric entry (`external`, `resource`, `pods`, `object`,
/// `containerResource`), its name and the ScaledObject its selector names.
fn metric_block(m: &Value) -> Option<(&Value, String, Option<String>)> {
    let kind = string(m, "type")?;
    let key = {
        let mut c = kind.chars();
        let first = c.next()?.to_ascii_lowercase();
        format!("{first}{}", c.as_str())
    };
    let block = m.get(&key)?;
    let metric = obj(block, "metric");
    let name = string(metric, "name").or_else(|| string(block, "name"))?;
    let so = obj(obj(metric, "selector"), "matchLabels")
        .get(SO_LABEL)
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((block, name, so))
}

pub fn hpa_from(o: &DynamicObject) -> Option<HpaRaw> {
    let name = o.metadata.name.clone().filter(|n| !n.is_empty())?;
    let namespace = o.metadata.namespace.clone().unwrap_or_default();
    let spec = obj(&o.data, "spec");
    let status = obj(&o.data, "status");
    let mut metrics: Vec<Metric> = Vec::new();
    for m in arr(spec, "metrics").iter().take(MAX_ITEMS) {
        if let Some((block, name, so)) = metric_block(m) {
            metrics.push(Metric {
                name: clip(&name, MAX_REASON),
                value: None,
                target: amount(obj(block, "target")),
                so,
            });
        }
    }
    for m in arr(status, "currentMetrics").iter().take(MAX_ITEMS) {
        let Some((block, name, so)) = metric_block(m) else {
            continue;
        };
        let name = clip(&name, MAX_REASON);
        let value = amount(obj(block, "current"));
        if let Some(x) = metrics.iter_mut().find(|x| x.name == name) {
            x.value = value;
            x.so = x.so.take().or(so);
        } else if metrics.len() < MAX_ITEMS {
            metrics.push(Metric {
                name,
                value,
                target: None,
                so,
            });
        }
    }
    Some(HpaRaw {
        namespace,
        name,
        so_label: o
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SO_LABEL))
            .cloned(),
        current_replicas: count(status, "currentReplicas"),
        desired_replicas: count(status, "desiredReplicas"),
        last_scale: string(status, "lastScaleTime").and_then(|t| t.parse().ok()),
        conditions: conditions(status),
        metrics,
    })
}

/// The HPA KEDA drives for `so`, among the HPAs of its namespace (keyed by name).
pub fn hpa_for<'a>(so: &SoRaw, hpas: &'a BTreeMap<String, HpaRaw>) -> Option<&'a HpaRaw> {
    so.hpa_name
        .as_ref()
        .and_then(|n| hpas.get(n))
        .or_else(|| hpas.values().find(|h| h.names(&so.name)))
        .or_else(|| hpas.get(&format!("keda-hpa-{}", so.name)))
}

/// The metric that drives scaling: the HPA acts on the largest value/target ratio, so show
/// that one; metrics without a target come last.
fn driving_metric(h: &HpaRaw) -> Option<&Metric> {
    let ratio = |m: &Metric| match (m.value, m.target) {
        (Some(v), Some(t)) if t > 0.0 => v / t,
        (Some(_), _) => f64::NEG_INFINITY,
        _ => f64::NAN,
    };
    h.metrics
        .iter()
        .filter(|m| m.value.is_some() || m.target.is_some())
        .max_by(|a, b| {
            let (ra, rb) = (ratio(a), ratio(b));
            // NaN (no value at all) sorts lowest.
            match (ra.is_nan(), rb.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                _ => ra.total_cmp(&rb),
            }
        })
}

fn said(c: &Condition) -> String {
    match (&c.reason, &c.message) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(r), None) => r.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => format!("{}={}", c.kind, c.status),
    }
}

/// The one line that explains a ScaledObject that is not simply fine, most urgent first.
fn headline(so: &SoRaw, hpa: Option<&HpaRaw>, hpas_readable: bool) -> Option<String> {
    if let Some(c) = find(&so.conditions, "Ready").filter(|c| !c.is_true()) {
        return Some(said(c));
    }
    if !so.failing.is_empty() {
        return Some(format!("failing: {}", so.failing.join(", ")));
    }
    if let Some(c) = find(&so.conditions, "Fallback").filter(|c| c.is_true()) {
        return Some(said(c));
    }
    if let Some(c) = find(&so.conditions, "Paused").filter(|c| c.is_true()) {
        return Some(said(c));
    }
    if so.paused_annotation {
        return Some(match so.paused_replicas {
            Some(n) => format!("paused at {n} replicas by annotation"),
            None => "paused by annotation".to_string(),
        });
    }
    let Some(h) = hpa else {
        if !hpas_readable {
            return Some(format!(
                "HPA unknown: HorizontalPodAutoscalers in {} cannot be read",
                so.namespace
            ));
        }
        return Some(format!(
            "no HPA found ({})",
            so.hpa_name
                .clone()
                .unwrap_or_else(|| format!("keda-hpa-{}", so.name))
        ));
    };
    for (kind, bad_when_true) in [
        ("AbleToScale", false),
        ("ScalingActive", false),
        ("ScalingLimited", true),
    ] {
        if let Some(c) = find(&h.conditions, kind) {
            if c.is_true() == bad_when_true && c.status != "Unknown" {
                return Some(format!("HPA {kind}={}: {}", c.status, said(c)));
            }
        }
    }
    None
}

/// The model's ScaledObject: KEDA's view joined with its HPA's numbers. `hpas_readable` is
/// false when the namespace's HPAs could never be listed: a missing HPA is then unknown, not
/// absent.
pub fn join(
    so: &SoRaw,
    hpa: Option<&HpaRaw>,
    hpas_readable: bool,
    path: Option<&PathId>,
) -> ScaledObject {
    let paused = is_true(&so.conditions, "Paused") || so.paused_annotation;
    let metric = hpa.and_then(driving_metric);
    let (current, desired) = match hpa {
        Some(h) => (
            h.current_replicas.unwrap_or(0),
            h.desired_replicas.unwrap_or(0),
        ),
        None => (0, so.paused_replicas.unwrap_or(0)),
    };
    ScaledObject {
        namespace: so.namespace.clone(),
        name: so.name.clone(),
        target: so.target.clone(),
        min_replicas: so.min_replicas,
        max_replicas: so.max_replicas,
        current_replicas: current,
        desired_replicas: desired,
        ready: is_true(&so.conditions, "Ready"),
        active: is_true(&so.conditions, "Active"),
        paused,
        fallback: is_true(&so.conditions, "Fallback"),
        triggers: so.triggers.clone(),
        failing_triggers: u32::try_from(so.failing.len()).unwrap_or(u32::MAX),
        metric_value: metric.and_then(|m| m.value),
        metric_target: metric.and_then(|m| m.target),
        last_scale: hpa.and_then(|h| h.last_scale),
        message: headline(so, hpa, hpas_readable).map(|m| clip(&m, MAX_MESSAGE)),
        path: path.cloned(),
        conditions: so.conditions.clone(),
        hpa_name: hpa.map(|h| h.name.clone()),
        hpa_conditions: hpa.map(|h| h.conditions.clone()).unwrap_or_default(),
        failing_trigger_names: so.failing.clone(),
        metric_name: metric.map(|m| m.name.clone()),
        paused_annotation: so.paused_annotation,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn dynobj(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    pub fn healthy_so() -> Value {
        json!({
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "vllm-qwen3", "namespace": "agents"},
            "spec": {
                "scaleTargetRef": {"name": "vllm-qwen3"},
                "minReplicaCount": 1, "maxReplicaCount": 8,
                "triggers": [
                    {"type": "aws-sqs-queue", "metadata": {"queueLength": "5"}},
                    {"type": "prometheus", "metadata": {"threshold": "10"}},
                ],
            },
            "status": {
                "hpaName": "keda-hpa-vllm-qwen3",
                "externalMetricNames": ["s0-aws-sqs-queue", "s1-prometheus"],
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "ScaledObjectReady", "message": "ScaledObject is defined correctly and is ready for scaling"},
                    {"type": "Active", "status": "True", "reason": "ScalerActive", "message": "Scaling is performed because triggers are active"},
                    {"type": "Fallback", "status": "False", "reason": "NoFallbackFound", "message": "No fallbacks are active on this scaled object"},
                    {"type": "Paused", "status": "False"},
                ],
            },
        })
    }

    pub fn hpa() -> Value {
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "keda-hpa-vllm-qwen3", "namespace": "agents",
                         "labels": {"scaledobject.keda.sh/name": "vllm-qwen3"}},
            "spec": {
                "minReplicas": 1, "maxReplicas": 8,
                "metrics": [
                    {"type": "External", "external": {
                        "metric": {"name": "s0-aws-sqs-queue", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "vllm-qwen3"}}},
                        "target": {"type": "AverageValue", "averageValue": "5"}}},
                    {"type": "External", "external": {
                        "metric": {"name": "s1-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "vllm-qwen3"}}},
                        "target": {"type": "AverageValue", "averageValue": "10"}}},
                ],
            },
            "status": {
                "currentReplicas": 3, "desiredReplicas": 4,
                "lastScaleTime": "2026-11-25T07:58:00Z",
                "currentMetrics": [
                    {"type": "External", "external": {"metric": {"name": "s0-aws-sqs-queue"}, "current": {"averageValue": "6500m"}}},
                    {"type": "External", "external": {"metric": {"name": "s1-prometheus"}, "current": {"averageValue": "553300m"}}},
                ],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                    {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from external metric s1-prometheus"},
                    {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range"},
                ],
            },
        })
    }

    fn hpas(list: Vec<Value>) -> BTreeMap<String, HpaRaw> {
        list.into_iter()
            .map(|v| {
                let h = hpa_from(&dynobj(v)).unwrap();
                (h.name.clone(), h)
            })
            .collect()
    }

    #[test]
    fn healthy_scaled_object_joined_with_its_hpa() {
        let so = so_from(&dynobj(healthy_so())).unwrap();
        let hs = hpas(vec![hpa()]);
        let h = hpa_for(&so, &hs);
        assert_eq!(h.map(|h| h.name.as_str()), Some("keda-hpa-vllm-qwen3"));
        let j = join(&so, h, true, Some(&PathId::from("eks-qwen3")));
        assert_eq!(j.target, "Deployment/vllm-qwen3");
        assert_eq!((j.min_replicas, j.max_replicas), (1, 8));
        assert_eq!((j.current_replicas, j.desired_replicas), (3, 4));
        assert!(j.ready && j.active && !j.fallback && !j.paused);
        assert_eq!(j.triggers, ["aws-sqs-queue", "prometheus"]);
        // 553.3 / 10 beats 6.5 / 5: the prometheus metric drives the scale.
        assert_eq!(j.metric_name.as_deref(), Some("s1-prometheus"));
        assert_eq!(j.metric_value, Some(553.3));
        assert_eq!(j.metric_target, Some(10.0));
        assert_eq!(
            j.last_scale,
            Some("2026-11-25T07:58:00Z".parse::<DateTime<Utc>>().unwrap())
        );
        assert_eq!(j.message, None);
        assert_eq!(j.hpa_conditions.len(), 3);
        assert_eq!(j.conditions[0].reason.as_deref(), Some("ScaledObjectReady"));
        assert_eq!(j.path, Some(PathId::from("eks-qwen3")));
    }

    #[test]
    fn join_by_selector_label_then_default_name() {
        let mut so_v = healthy_so();
        so_v["status"]["hpaName"] = Value::Null;
        let so = so_from(&dynobj(so_v)).unwrap();
        // An HPA with an unrelated name but KEDA's selector label on its metrics.
        let mut h = hpa();
        h["metadata"]["name"] = json!("custom-hpa");
        h["metadata"]["labels"] = json!({});
        let other = {
            let mut o = hpa();
            o["metadata"]["name"] = json!("unrelated");
            o["metadata"]["labels"] = json!({});
            o["spec"]["metrics"] = json!([]);
            o["status"]["currentMetrics"] = json!([]);
            o
        };
        let hs = hpas(vec![h, other]);
        assert_eq!(
            hpa_for(&so, &hs).map(|h| h.name.as_str()),
            Some("custom-hpa")
        );
        // Nothing names it: KEDA's default name.
        let mut d = hpa();
        d["metadata"]["labels"] = json!({});
        d["spec"]["metrics"] = json!([]);
        d["status"]["currentMetrics"] = json!([]);
        let hs = hpas(vec![d]);
        assert_eq!(
            hpa_for(&so, &hs).map(|h| h.name.as_str()),
            Some("keda-hpa-vllm-qwen3")
        );
        assert!(hpa_for(&so, &BTreeMap::new()).is_none());
        let j = join(&so, None, true, None);
        assert_eq!(
            j.message.as_deref(),
            Some("no HPA found (keda-hpa-vllm-qwen3)")
        );
        assert_eq!((j.current_replicas, j.desired_replicas), (0, 0));
        assert_eq!(j.hpa_name, None);
        // HPAs that cannot be read: unknown, not missing.
        let j = join(&so, None, false, None);
        assert_eq!(
            j.message.as_deref(),
            Some("HPA unknown: HorizontalPodAutoscalers in agents cannot be read")
        );
    }

    #[test]
    fn keda_condition_mapping() {
        // Not ready: the Ready condition's reason and message are the headline.
        let mut v = healthy_so();
        v["status"]["conditions"][0] = json!({"type": "Ready", "status": "False",
            "reason": "ScaledObjectCheckFailed", "message": "ScaledObject doesn't have correct scaleTargetRef specification"});
        let so = so_from(&dynobj(v)).unwrap();
        let j = join(&so, None, true, None);
        assert!(!j.ready);
        assert_eq!(
            j.message.as_deref(),
            Some("ScaledObjectCheckFailed: ScaledObject doesn't have correct scaleTargetRef specification")
        );

        // Fallback with failing triggers from status.health.
        let mut v = healthy_so();
        v["status"]["conditions"][2] = json!({"type": "Fallback", "status": "True",
            "reason": "FallbackExists", "message": "At least one trigger is falling back on this scaled object"});
        v["status"]["health"] = json!({
            "s1-prometheus": {"numberOfFailures": 4, "status": "Failing"},
            "s0-aws-sqs-queue": {"numberOfFailures": 0, "status": "Happy"},
        });
        let so = so_from(&dynobj(v)).unwrap();
        let j = join(&so, None, true, None);
        assert!(j.fallback);
        assert_eq!(j.failing_triggers, 1);
        assert_eq!(j.failing_trigger_names, ["s1-prometheus"]);
        assert_eq!(j.message.as_deref(), Some("failing: s1-prometheus"));

        // Inactive (scaled to zero / cooldown).
        let mut v = healthy_so();
        v["status"]["conditions"][1] =
            json!({"type": "Active", "status": "False", "reason": "ScalerNotActive"});
        let j = join(&so_from(&dynobj(v)).unwrap(), None, true, None);
        assert!(!j.active && j.ready);

        // Paused by condition, by annotation, and by paused-replicas (which sets the count).
        let mut v = healthy_so();
        v["status"]["conditions"][3] = json!({"type": "Paused", "status": "True",
            "reason": "ScaledObjectPaused", "message": "ScaledObject is paused"});
        let j = join(&so_from(&dynobj(v)).unwrap(), None, true, None);
        assert!(j.paused);
        assert_eq!(
            j.message.as_deref(),
            Some("ScaledObjectPaused: ScaledObject is paused")
        );
        let mut v = healthy_so();
        v["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused": "true"});
        let j = join(&so_from(&dynobj(v)).unwrap(), None, true, None);
        assert!(j.paused);
        assert_eq!(j.message.as_deref(), Some("paused by annotation"));
        let mut v = healthy_so();
        v["metadata"]["annotations"] = json!({"autoscaling.keda.sh/paused-replicas": "2"});
        let j = join(&so_from(&dynobj(v)).unwrap(), None, true, None);
        assert!(j.paused);
        assert_eq!(j.desired_replicas, 2);
        assert_eq!(
            j.message.as_deref(),
            Some("paused at 2 replicas by annotation")
        );

        // Defaults: min 0, max 100, Deployment; trigger types from status when spec has none.
        let j = join(
            &so_from(&dynobj(json!({
                "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                "metadata": {"name": "bare", "namespace": "agents"},
                "spec": {"scaleTargetRef": {"name": "web", "kind": "StatefulSet"}},
                "status": {"triggersTypes": "cpu, cron"},
            })))
            .unwrap(),
            None,
            true,
            None,
        );
        assert_eq!((j.min_replicas, j.max_replicas), (0, 100));
        assert_eq!(j.target, "StatefulSet/web");
        assert_eq!(j.triggers, ["cpu", "cron"]);
        assert!(!j.ready && !j.active);
        assert_eq!(j.message.as_deref(), Some("no HPA found (keda-hpa-bare)"));
    }

    #[test]
    fn hpa_conditions_explain_a_stuck_autoscaler() {
        let so = so_from(&dynobj(healthy_so())).unwrap();
        let mut h = hpa();
        h["status"]["conditions"][2] = json!({"type": "ScalingLimited", "status": "True",
            "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count"});
        let hs = hpas(vec![h]);
        let j = join(&so, hpa_for(&so, &hs), true, None);
        assert_eq!(
            j.message.as_deref(),
            Some("HPA ScalingLimited=True: TooManyReplicas: the desired replica count is more than the maximum replica count")
        );
        let mut h = hpa();
        h["status"]["conditions"][1] = json!({"type": "ScalingActive", "status": "False",
            "reason": "FailedGetExternalMetric", "message": "unable to get external metric agents/s0-aws-sqs-queue"});
        let hs = hpas(vec![h]);
        let j = join(&so, hpa_for(&so, &hs), true, None);
        assert!(j
            .message
            .unwrap()
            .starts_with("HPA ScalingActive=False: FailedGetExternalMetric"));
    }

    #[test]
    fn resource_metrics_and_plain_values() {
        let h = hpa_from(&dynobj(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "keda-hpa-cpu", "namespace": "agents"},
            "spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60}}}]},
            "status": {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": 75, "averageValue": "1200m"}}},
                {"type": "External", "external": {"metric": {"name": "s1-cron"}, "current": {"value": "1.5k"}}},
                {"type": "Bogus"}]},
        })))
        .unwrap();
        assert_eq!(h.metrics.len(), 2);
        // averageValue wins over averageUtilization when both are present.
        assert_eq!(h.metrics[0].value, Some(1.2));
        assert_eq!(h.metrics[0].target, Some(60.0));
        assert_eq!(h.metrics[1].value, Some(1500.0));
        assert_eq!(h.metrics[1].target, None);
        assert_eq!(driving_metric(&h).map(|m| m.name.as_str()), Some("cpu"));
    }
}
