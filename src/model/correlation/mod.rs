//! The correlation engine: joins observations (Langfuse spans) from both sides of the platform
//! into sessions, following the seed's Trace Correlation ID Rules as configurable regexes.
//!
//! Definitions (ARCHITECTURE.md "Definitions" → "Correlation"):
//! - **Session key**: the `session` group of the `session_id` rule applied to the Langfuse
//!   sessionId (`hybrid-{session}`); else of the `agentcore_trace` rule applied to the trace id
//!   (`ac-{session}-{ts}`); else the metadata parent reference (`ac-{session}`, the AgentCore trace
//!   rule's literal prefix followed by the session). An observation without a key is counted as
//!   unsessioned and otherwise ignored.
//! - **Side**: `obs.side`, else the kind of the path it is attributed to, else the trace-id
//!   patterns (`ac-…` AgentCore, `eks-…` EKS), else unknown.
//! - **Path**: the first configured path with one of the observation's tags, else the first whose
//!   `models` entry is contained (ASCII case-insensitively) in the model name.
//! - **Declared parent**: an EKS-side observation whose parent reference names a session
//!   (`ac-{session}`; `ac-root` is the AgentCore root, not a parent). It declares a parent on the
//!   AgentCore side: any AgentCore observation of that session.
//! - **Hybrid session**: observations from both sides, or a declared parent.
//! - **Hand-off**: a change of side between consecutive observations (by start time, ties by id;
//!   observations of unknown side are skipped). **Escalation**: an EKS observation followed by
//!   an AgentCore one (equivalently, an EKS→AgentCore hand-off).
//! - **Orphan**: an observation with a declared parent where no AgentCore observation of the
//!   parent's session starts at or before `obs.start + context_grace`. Decided only once
//!   `now ≥ obs.start + context_grace`; pending (not an orphan) before. Being a function of data
//!   times and `now` only, the verdict does not depend on the order observations arrived in.
//!
//! Bounded: at most `max_sessions` sessions (the least recently active go first), at most
//! `max_spans_per_session` spans per session (the earliest by start time are kept), sessions idle
//! longer than `retention` are dropped by `sweep`, span payloads are truncated and budgeted.
use crate::config::{CorrelationRules, PathConfig};
use crate::domain::path::{PathId, Side};
use crate::model::redact::{opt_text, text};
use crate::model::snapshot::{SessionDetail, SessionRow, SpanView};
use crate::model::update::{Level, Observation};
use chrono::{DateTime, Utc};
use regex::Regex;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::time::Duration;

/// The tag a pushed span carries when the receiver attributed it to a path
/// (`hybridtop.path=eks-qwen3`; `sources::otlp::decode`).
pub const PATH_TAG: &str = "hybridtop.path=";

/// The AgentCore root marker in parent references (`ac-root`).
const ROOT_SESSION: &str = "root";
/// Longest stored name / trace id / model / status message, in bytes.
const MAX_FIELD: usize = 256;
const MAX_STATUS: usize = 512;
/// Longest stored input / output, in bytes; and the budget for all of them together.
const MAX_PAYLOAD: usize = 2048;
const PAYLOAD_BUDGET: usize = 64 << 20;
/// Longest observation id kept (longer ids are cut; identity is by the kept prefix).
const MAX_ID: usize = 512;

mod analysis;
mod classify;
mod matcher;
mod span;
mod store;

pub use analysis::{window_counts, Rows, SessionCounts};
use classify::*;
pub use matcher::Matcher;
use span::*;
use store::*;

/// Counters for what the engine refused or dropped (for logs and `check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorrelatorStats {
    pub ingested: u64,
    pub duplicates: u64,
    pub dropped_old: u64,
    pub dropped_spans: u64,
    pub evicted_sessions: u64,
}

pub struct Correlator {
    session_rule: Matcher,
    ac_trace: Matcher,
    eks_trace: Matcher,
    parent_rule: Option<Matcher>,
    grace_ms: i64,
    retention_ms: i64,
    max_sessions: usize,
    max_spans: usize,
    paths: Vec<PathMatch>,
    /// Per-process key of `hash_str`.
    seed: u64,
    /// hash(session key) → slot.
    keys: HashKeyed<u32>,
    slots: Vec<Option<Session>>,
    free: Vec<u32>,
    /// hash(observation id) → slot of the session holding it.
    by_id: HashKeyed<u32>,
    /// hash(unsessioned observation id) → start (dedupe, bounded like the sessions).
    loose: HashKeyed<i64>,
    live: usize,
    generation: u64,
    swept_ms: Option<i64>,
    /// The latest activity of a session `max_sessions` pushed out (not retention): while it
    /// is inside the window, the window's session figures are short of it.
    capped_activity_ms: Option<i64>,
    payload_bytes: usize,
    stats: CorrelatorStats,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn side_idx(s: Side) -> usize {
    match s {
        Side::Agentcore => 0,
        Side::Eks => 1,
    }
}

impl Correlator {
    pub fn new(rules: &CorrelationRules, paths: &[PathConfig]) -> Correlator {
        let ac_trace = Matcher::new(rules.agentcore_trace.clone());
        // The parent reference is `ac-{session}`: the AgentCore trace rule's literal prefix.
        let parent_prefix = if ac_trace.prefix().is_empty() {
            "ac-"
        } else {
            ac_trace.prefix()
        };
        let parent_rule = Matcher::prefix_rest(parent_prefix);
        Correlator::build(
            [
                Matcher::new(rules.session_id.clone()),
                ac_trace,
                Matcher::new(rules.eks_trace.clone()),
            ],
            parent_rule,
            (
                rules.context_grace,
                rules.retention,
                rules.max_sessions,
                rules.max_spans_per_session,
            ),
            paths,
        )
    }

    fn build(
        [session_rule, ac_trace, eks_trace]: [Matcher; 3],
        parent_rule: Option<Matcher>,
        (grace, retention, max_sessions, max_spans): (Duration, Duration, usize, usize),
        paths: &[PathConfig],
    ) -> Correlator {
        Correlator {
            session_rule,
            eks_trace,
            ac_trace,
            parent_rule,
            grace_ms: ms(grace),
            retention_ms: ms(retention),
            max_sessions: max_sessions.max(1),
            max_spans: max_spans.max(1),
            capped_activity_ms: None,
            paths: paths
                .iter()
                .map(|p| {
                    let lf = p.langfuse.clone().unwrap_or_default();
                    PathMatch {
                        id: p.id.clone(),
                        kind: p.kind,
                        tags: lf.tags,
                        models: lf.models.into_iter().filter(|m| !m.is_empty()).collect(),
                    }
                })
                .collect(),
            seed: RandomState::new().hash_one(0x6879_6272_6964_u64),
            keys: HashKeyed::default(),
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashKeyed::default(),
            loose: HashKeyed::default(),
            live: 0,
            generation: 0,
            swept_ms: None,
            payload_bytes: 0,
            stats: CorrelatorStats::default(),
        }
    }

    /// An engine whose rules match nothing: every observation is unsessioned. Only for a config
    /// whose rules do not compile (validation normally prevents that).
    pub fn inert(paths: &[PathConfig]) -> Correlator {
        let d = crate::config::CorrelationConfig::default();
        Correlator::build(
            [Matcher::never(), Matcher::never(), Matcher::never()],
            None,
            (
                d.context_grace,
                d.retention,
                d.max_sessions,
                d.max_spans_per_session,
            ),
            paths,
        )
    }

    /// Bumped on every change that can alter a summary.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    pub fn session_count(&self) -> usize {
        self.live
    }
    pub fn span_count(&self) -> usize {
        self.by_id.len()
    }
    pub fn max_spans_in_a_session(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .map(|s| s.spans.len())
            .max()
            .unwrap_or(0)
    }
    pub fn stats(&self) -> CorrelatorStats {
        self.stats
    }
    pub fn path_ids(&self) -> impl Iterator<Item = &PathId> {
        self.paths.iter().map(|p| &p.id)
    }

    /// The configured path an observation belongs to (index in config order).
    pub fn attribute(&self, obs: &Observation) -> Option<usize> {
        if !obs.tags.is_empty() {
            // Pushed spans (OTLP) name their path directly.
            if let Some(id) = obs.tags.iter().find_map(|t| t.strip_prefix(PATH_TAG)) {
                if let Some(i) = self.paths.iter().position(|p| p.id.as_str() == id) {
                    return Some(i);
                }
            }
            if let Some(i) = self
                .paths
                .iter()
                .position(|p| p.tags.iter().any(|t| obs.tags.iter().any(|o| o == t)))
            {
                return Some(i);
            }
        }
        let model = obs.model.as_deref()?;
        self.paths.iter().position(|p| {
            p.models
                .iter()
                .any(|m| contains_ignore_ascii_case(model, m))
        })
    }

    /// The session key the rules give an observation (bare, e.g. `s-42`).
    pub fn session_key<'a>(&self, obs: &'a Observation) -> Option<&'a str> {
        let c = self.classify(obs);
        c.key(obs)
    }

    /// Side by the rules: declared, else the path's kind, else the trace-id patterns.
    pub fn side_of(&self, obs: &Observation) -> Option<Side> {
        self.classify(obs).side
    }
}

pub fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
pub(crate) mod tests;
