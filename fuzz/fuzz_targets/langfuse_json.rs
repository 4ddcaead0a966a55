//! Langfuse response bodies: the error-body snippet on any bytes, then the v2 cursor page and the
//! v1 page (traces and observations) decoders on whatever parses as JSON. Nothing may panic, and
//! every string that comes out must be clean, bounded and every number finite.
#![no_main]
#[path = "common.rs"]
mod common;

use common::assert_clean;
use hybridtop::model::update::Observation;
use hybridtop::sources::langfuse::api::snippet;
use hybridtop::sources::langfuse::wire::{observations, traces, TraceInfo, V1Page, V2Page};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::collections::HashMap;

/// wire.rs bounds: MAX_TEXT for names and ids, MAX_PAYLOAD for input/output.
const MAX_TEXT: usize = 1024;
const MAX_PAYLOAD: usize = 4096;

fn text(what: &str, s: &str, max: usize) {
    assert_clean(what, s);
    assert!(s.len() <= max, "{what}: {} bytes", s.len());
}

fn opt(what: &str, s: &Option<String>, max: usize) {
    if let Some(s) = s {
        text(what, s, max);
    }
}

fn check_trace(t: &TraceInfo) {
    opt("trace.session_id", &t.session_id, MAX_TEXT);
    opt("trace.user_id", &t.user_id, MAX_TEXT);
    opt("trace.html_path", &t.html_path, MAX_TEXT);
    t.tags.iter().for_each(|s| text("trace.tag", s, MAX_TEXT));
}

fn check_obs(o: &Observation) {
    text("id", &o.id, MAX_TEXT);
    text("trace_id", &o.trace_id, MAX_TEXT);
    text("name", &o.name, MAX_TEXT);
    opt("session_id", &o.session_id, MAX_TEXT);
    opt("parent_observation_id", &o.parent_observation_id, MAX_TEXT);
    opt("model", &o.model, MAX_TEXT);
    opt("parent_ref", &o.parent_ref, MAX_TEXT);
    opt("status_message", &o.status_message, MAX_TEXT);
    opt("html_path", &o.html_path, MAX_TEXT);
    opt("user_id", &o.user_id, MAX_TEXT);
    opt("input", &o.input, MAX_PAYLOAD);
    opt("output", &o.output, MAX_PAYLOAD);
    o.tags.iter().for_each(|s| text("tag", s, MAX_TEXT));
    if let Some(c) = o.cost_usd {
        assert!(c.is_finite() && c >= 0.0, "cost_usd {c}");
    }
}

fuzz_target!(|data: &[u8]| {
    let s = snippet(data);
    assert_clean("snippet", &s);
    // 200 characters plus the ellipsis.
    assert!(
        s.chars().count() <= 201,
        "snippet of {} chars",
        s.chars().count()
    );

    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(page) = serde_json::from_value::<V2Page>(v.clone()) {
        let (obs, _) = observations(&page.data, "parent", &HashMap::new());
        obs.iter().for_each(check_obs);
    }
    if let Ok(page) = serde_json::from_value::<V1Page>(v) {
        let (ts, _) = traces(&page.data);
        ts.iter().for_each(|(_, t)| check_trace(t));
        let by_id: HashMap<String, TraceInfo> = ts.into_iter().collect();
        let (obs, _) = observations(&page.data, "parent", &by_id);
        obs.iter().for_each(check_obs);
    }
});
