//! The Langfuse public API's JSON, and its mapping to `Observation`.
//!
//! Tolerant by design: unknown fields are ignored, every optional field may be missing or null,
//! numbers may come as strings, and one malformed item is skipped (and counted) rather than
//! failing its page. Every string is stripped of control characters here, before it enters the
//! model or a recording, and bounded in length.
use crate::model::sanitize;
use crate::model::update::{Level, Observation};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Longest input/output kept per observation (the model keeps less; this bounds the transfer
/// from the page to the model).
const MAX_PAYLOAD: usize = 4096;
/// Longest other string kept.
const MAX_TEXT: usize = 1024;

/// `{"data": [...], "meta": {"cursor": "..."}}` (v2).
#[derive(Debug, Default, Deserialize)]
pub struct V2Page {
    #[serde(default)]
    pub data: Vec<Value>,
    #[serde(default)]
    pub meta: V2Meta,
}

#[derive(Debug, Default, Deserialize)]
pub struct V2Meta {
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `{"data": [...], "meta": {"page", "limit", "totalItems", "totalPages"}}` (v1).
#[derive(Debug, Default, Deserialize)]
pub struct V1Page {
    #[serde(default)]
    pub data: Vec<Value>,
    #[serde(default)]
    pub meta: V1Meta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1Meta {
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub total_pages: Option<u64>,
    #[serde(default)]
    pub total_items: Option<u64>,
}

/// An observation as v2 (any field groups) or v1 sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObservation {
    id: String,
    #[serde(default)]
    trace_id: Option<String>,
    start_time: DateTime<Utc>,
    #[serde(default)]
    end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    parent_observation_id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    provided_model_name: Option<String>,
    #[serde(default)]
    usage_details: Option<Map<String, Value>>,
    /// v1's older usage object (`{"input", "output", "total", "unit"}`).
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    prompt_tokens: Option<Value>,
    #[serde(default)]
    completion_tokens: Option<Value>,
    #[serde(default)]
    cost_details: Option<Map<String, Value>>,
    #[serde(default)]
    total_cost: Option<Value>,
    #[serde(default)]
    calculated_total_cost: Option<Value>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
}

/// What v1 observations lack and their trace has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceInfo {
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub tags: Vec<String>,
    pub html_path: Option<String>,
    /// Trace timestamp (ms), for pruning the cache.
    pub at_ms: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrace {
    id: String,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Value>>,
    #[serde(default)]
    html_path: Option<String>,
}

fn clean(s: &str, max: usize) -> String {
    let c = sanitize::clean(s);
    if c.len() <= max {
        return c.into_owned();
    }
    let mut n = max;
    while !c.is_char_boundary(n) {
        n -= 1;
    }
    c[..n].to_string()
}

fn clean_opt(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clean(s, max)).filter(|s| !s.is_empty())
}

/// A number sent as a number or as a numeric string.
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn tokens(v: &Value) -> Option<u64> {
    num(v).filter(|f| *f >= 0.0).map(|f| f.round() as u64)
}

/// Raw strings stay as they are; other JSON is shown compactly.
fn payload(v: &Value) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(clean(&s, MAX_PAYLOAD))
}

fn strings(v: Option<&Vec<Value>>) -> Vec<String> {
    v.map(|v| {
        v.iter()
            .filter_map(|t| t.as_str())
            .map(|t| clean(t, MAX_TEXT))
            .collect()
    })
    .unwrap_or_default()
}

fn level(s: Option<&str>) -> Level {
    match s.map(str::to_ascii_uppercase).as_deref() {
        Some("ERROR") => Level::Error,
        Some("WARNING") => Level::Warning,
        Some("DEBUG") => Level::Debug,
        _ => Level::Default,
    }
}

/// `metadata[key]` as text. Metadata may be an object or a JSON-encoded object; v2 sends values
/// as strings that may themselves be JSON strings (`"\"ac-s-42\""`).
fn metadata_value(meta: Option<&Value>, key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let parsed;
    let obj = match meta? {
        Value::Object(m) => m,
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            parsed.as_object()?
        }
        _ => return None,
    };
    let v = obj.get(key)?;
    let s = match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => inner,
            _ => s.clone(),
        },
        Value::Null => return None,
        other => other.to_string(),
    };
    clean_opt(Some(&s), MAX_TEXT)
}

fn usage_key<'a>(m: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| m.get(*k))
}

/// Map one observation. `trace` fills in what v1 observations lack.
fn map(raw: RawObservation, parent_key: &str, trace: Option<&TraceInfo>) -> Observation {
    let (input_tokens, output_tokens) = match &raw.usage_details {
        Some(m) if !m.is_empty() => (
            usage_key(m, &["input", "input_tokens", "prompt_tokens"]).and_then(tokens),
            usage_key(m, &["output", "output_tokens", "completion_tokens"]).and_then(tokens),
        ),
        _ => {
            let legacy = raw.usage.as_ref().and_then(Value::as_object);
            (
                legacy
                    .and_then(|u| u.get("input"))
                    .and_then(tokens)
                    .or_else(|| raw.prompt_tokens.as_ref().and_then(tokens)),
                legacy
                    .and_then(|u| u.get("output"))
                    .and_then(tokens)
                    .or_else(|| raw.completion_tokens.as_ref().and_then(tokens)),
            )
        }
    };
    let cost_usd = raw
        .total_cost
        .as_ref()
        .and_then(num)
        .or_else(|| raw.calculated_total_cost.as_ref().and_then(num))
        .or_else(|| {
            let m = raw.cost_details.as_ref()?;
            m.get("total").and_then(num).or_else(|| {
                let parts: Vec<f64> = m.values().filter_map(num).collect();
                (!parts.is_empty()).then(|| parts.iter().sum())
            })
        })
        // Each part is finite, their sum need not be (found by the `langfuse_json` fuzz
        // target): an infinite cost would poison every total it is added to.
        .filter(|c: &f64| c.is_finite() && *c >= 0.0);
    let trace_id = clean(raw.trace_id.as_deref().unwrap_or(""), MAX_TEXT);
    // v2 has no trace object: the trace's page in the Langfuse UI is derived from the project.
    let html_path = trace.and_then(|t| t.html_path.clone()).or_else(|| {
        let p = raw.project_id.as_deref().filter(|p| !p.is_empty())?;
        (!trace_id.is_empty()).then(|| format!("/project/{p}/traces/{trace_id}"))
    });
    let mut tags = strings(raw.tags.as_ref());
    if tags.is_empty() {
        if let Some(t) = trace {
            tags = t.tags.clone();
        }
    }
    let name = clean_opt(raw.name.as_deref(), MAX_TEXT)
        .or_else(|| clean_opt(raw.kind.as_deref(), MAX_TEXT))
        .unwrap_or_else(|| "(unnamed)".to_string());
    Observation {
        id: clean(&raw.id, MAX_TEXT),
        session_id: clean_opt(raw.session_id.as_deref(), MAX_TEXT)
            .or_else(|| trace.and_then(|t| t.session_id.clone())),
        parent_observation_id: clean_opt(raw.parent_observation_id.as_deref(), MAX_TEXT),
        name,
        start: raw.start_time,
        end: raw.end_time,
        model: clean_opt(
            raw.model.as_deref().or(raw.provided_model_name.as_deref()),
            MAX_TEXT,
        ),
        tags,
        parent_ref: metadata_value(raw.metadata.as_ref(), parent_key),
        level: level(raw.level.as_deref()),
        status_message: clean_opt(raw.status_message.as_deref(), MAX_TEXT),
        input_tokens,
        output_tokens,
        cost_usd,
        side: None,
        input: raw.input.as_ref().and_then(payload),
        output: raw.output.as_ref().and_then(payload),
        html_path: html_path.map(|h| clean(&h, MAX_TEXT)),
        user_id: clean_opt(raw.user_id.as_deref(), MAX_TEXT)
            .or_else(|| trace.and_then(|t| t.user_id.clone())),
        trace_id,
    }
}

/// Items of a page mapped to observations; malformed ones are skipped and counted.
pub fn observations(
    data: &[Value],
    parent_key: &str,
    traces: &HashMap<String, TraceInfo>,
) -> (Vec<Observation>, u64) {
    let mut out = Vec::with_capacity(data.len());
    let mut skipped = 0;
    for v in data {
        match RawObservation::deserialize(v) {
            Ok(raw) => {
                let trace = raw.trace_id.as_deref().and_then(|t| traces.get(t));
                out.push(map(raw, parent_key, trace));
            }
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

/// v1 traces of a page: id → what their observations need.
pub fn traces(data: &[Value]) -> (Vec<(String, TraceInfo)>, u64) {
    let mut out = Vec::with_capacity(data.len());
    let mut skipped = 0;
    for v in data {
        match RawTrace::deserialize(v) {
            Ok(t) => out.push((
                t.id,
                TraceInfo {
                    session_id: clean_opt(t.session_id.as_deref(), MAX_TEXT),
                    user_id: clean_opt(t.user_id.as_deref(), MAX_TEXT),
                    tags: strings(t.tags.as_ref()),
                    html_path: clean_opt(t.html_path.as_deref(), MAX_TEXT),
                    at_ms: t.timestamp.map_or(0, |t| t.timestamp_millis()),
                },
            )),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_with_every_group_maps_fully() {
        let v = json!({
            "id": "a1b2c3d4e5f60718", "traceId": "7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8",
            "startTime": "2026-11-25T08:00:00.000Z", "endTime": "2026-11-25T08:00:00.250Z",
            "projectId": "clproj123", "parentObservationId": null, "type": "GENERATION",
            "name": "vllm.generate\u{1b}]0;pwned\u{7}", "level": "ERROR",
            "statusMessage": "boom\u{202e}", "userId": "user-123", "sessionId": "hybrid-s-42",
            "input": {"q": "hi"}, "output": "raw text",
            "metadata": {"parent": "\"ac-s-42\"", "other": "x"},
            "model": "qwen3-4b", "usageDetails": {"input": 400, "output": 150, "total": 550},
            "costDetails": {"input": 0.001, "output": 0.002}, "totalCost": 0.003,
            "tags": ["path:eks-qwen3", 7], "traceName": "turn", "somethingNew": {"x": 1}
        });
        let (obs, skipped) = observations(&[v], "parent", &HashMap::new());
        assert_eq!(skipped, 0);
        let o = &obs[0];
        assert_eq!(o.name, "vllm.generate");
        assert_eq!(o.status_message.as_deref(), Some("boom"));
        assert_eq!(o.level, Level::Error);
        assert_eq!(o.parent_ref.as_deref(), Some("ac-s-42"));
        assert_eq!((o.input_tokens, o.output_tokens), (Some(400), Some(150)));
        assert_eq!(o.cost_usd, Some(0.003));
        assert_eq!(o.tags, vec!["path:eks-qwen3".to_string()]);
        assert_eq!(o.input.as_deref(), Some("{\"q\":\"hi\"}"));
        assert_eq!(o.output.as_deref(), Some("raw text"));
        assert_eq!(
            o.html_path.as_deref(),
            Some("/project/clproj123/traces/7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8")
        );
        assert_eq!(o.user_id.as_deref(), Some("user-123"));
        assert_eq!(o.session_id.as_deref(), Some("hybrid-s-42"));
        assert_eq!(o.parent_observation_id, None);
    }

    #[test]
    fn core_only_and_malformed_items() {
        let core = json!({"id": "x", "traceId": "t", "startTime": "2026-11-25T08:00:00Z",
                          "endTime": null, "projectId": "p", "parentObservationId": "r",
                          "type": "SPAN"});
        let bad = json!({"id": "y", "startTime": "yesterday"});
        let (obs, skipped) = observations(&[core, bad, json!(42)], "parent", &HashMap::new());
        assert_eq!(skipped, 2);
        assert_eq!(obs.len(), 1);
        let o = &obs[0];
        assert_eq!(o.name, "SPAN");
        assert_eq!(o.end, None);
        assert_eq!(o.level, Level::Default);
        assert_eq!(
            (o.model.as_ref(), o.cost_usd, o.input_tokens),
            (None, None, None)
        );
        assert!(o.tags.is_empty() && o.parent_ref.is_none() && o.session_id.is_none());
    }

    #[test]
    fn v1_takes_session_tags_and_link_from_its_trace() {
        let (tr, skipped) = traces(&[json!({
            "id": "t1", "timestamp": "2026-11-25T08:00:00Z", "sessionId": "hybrid-s-1",
            "userId": "alice@example.com", "tags": ["path:agentcore-haiku"],
            "htmlPath": "/project/p/traces/t1", "latency": -1, "totalCost": -1,
            "externalId": null, "bookmarked": false
        })]);
        assert_eq!(skipped, 0);
        let map: HashMap<String, TraceInfo> = tr.into_iter().collect();
        let v = json!({"id": "o1", "traceId": "t1", "type": "GENERATION", "name": "bedrock.invoke",
            "startTime": "2026-11-25T08:00:01Z", "endTime": "2026-11-25T08:00:02Z",
            "model": "claude-haiku-4-5", "usage": {"input": 10, "output": "20", "unit": "TOKENS"},
            "calculatedTotalCost": "0.0005", "level": "DEFAULT",
            "metadata": "{\"parent\": \"ac-root\"}"});
        let (obs, _) = observations(&[v], "parent", &map);
        let o = &obs[0];
        assert_eq!(o.session_id.as_deref(), Some("hybrid-s-1"));
        assert_eq!(o.tags, vec!["path:agentcore-haiku".to_string()]);
        assert_eq!(o.html_path.as_deref(), Some("/project/p/traces/t1"));
        assert_eq!(o.user_id.as_deref(), Some("alice@example.com"));
        assert_eq!((o.input_tokens, o.output_tokens), (Some(10), Some(20)));
        assert_eq!(o.cost_usd, Some(0.0005));
        assert_eq!(o.parent_ref.as_deref(), Some("ac-root"));
    }

    #[test]
    fn cost_parts_that_overflow_are_no_cost() {
        // Found by the `langfuse_json` fuzz target: two finite parts summing to infinity.
        let v = json!({
            "id": "o", "startTime": "2026-11-25T09:00:00Z",
            "costDetails": {"input": 1e308, "output": 1e308}
        });
        let (obs, skipped) = observations(&[v], "parent", &HashMap::new());
        assert_eq!(skipped, 0);
        assert_eq!(obs[0].cost_usd, None);
    }
}
