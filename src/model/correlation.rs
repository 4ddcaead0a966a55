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

// ---------------------------------------------------------------------------------------------
// Matchers: the regexes, with literal fast paths for the seed's shapes.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    /// `^PREFIX(?P<session>.+)$`
    PrefixRest,
    /// `^PREFIX(?P<session>.+)-(?P<ts>\d+)$`
    PrefixDashDigits,
    /// Anything else: the regex, after a literal prefix check.
    General,
}

/// A correlation rule. Recognises the seed's pattern shapes and answers them with string
/// operations (no regex run); anything else runs the regex, but only after a cheap check of the
/// pattern's literal prefix (an OpenTelemetry 32-hex trace id fails `ac-` at the first byte).
#[derive(Clone, Debug)]
pub struct Matcher {
    re: Option<Regex>,
    prefix: String,
    shape: Shape,
    has_session: bool,
}

/// The literal text a `^`-anchored pattern must start with ("" when unsure).
fn literal_prefix(pat: &str) -> String {
    let Some(rest) = pat.strip_prefix('^') else {
        return String::new();
    };
    if pat.contains('|') {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if "\\.+*?()|[]{}^$#".contains(c) || c.is_whitespace() {
            break;
        }
        out.push(c);
        chars.next();
    }
    // A quantifier after the run makes its last character optional.
    if matches!(chars.peek(), Some('?') | Some('*') | Some('{')) {
        out.pop();
    }
    out
}

impl Matcher {
    pub fn new(re: Regex) -> Matcher {
        let pat = re.as_str().to_string();
        // (`re` is moved into the matcher below.)
        let prefix = literal_prefix(&pat);
        let has_session = re.capture_names().any(|n| n == Some("session"));
        let rest_forms = [
            format!("^{prefix}(?P<session>.+)$"),
            format!("^{prefix}(?<session>.+)$"),
        ];
        let dash_forms = [
            format!("^{prefix}(?P<session>.+)-(?P<ts>\\d+)$"),
            format!("^{prefix}(?<session>.+)-(?<ts>\\d+)$"),
        ];
        let shape = if !prefix.is_empty() && rest_forms.contains(&pat) {
            Shape::PrefixRest
        } else if !prefix.is_empty() && dash_forms.contains(&pat) {
            Shape::PrefixDashDigits
        } else {
            Shape::General
        };
        Matcher {
            re: Some(re),
            prefix,
            shape,
            has_session,
        }
    }

    /// Matches nothing (rules that failed to compile).
    fn never() -> Matcher {
        Matcher {
            re: None,
            prefix: String::new(),
            shape: Shape::General,
            has_session: false,
        }
    }

    /// A matcher for `^{prefix}(?P<session>.+)$`.
    fn prefix_rest(prefix: &str) -> Option<Matcher> {
        let re = Regex::new(&format!("^{}(?P<session>.+)$", regex::escape(prefix))).ok()?;
        Some(Matcher {
            re: Some(re),
            prefix: prefix.to_string(),
            shape: Shape::PrefixRest,
            has_session: true,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn regex_session<'a>(&self, s: &'a str) -> Option<&'a str> {
        if !self.has_session {
            return None;
        }
        self.re
            .as_ref()?
            .captures(s)
            .and_then(|c| c.name("session"))
            .map(|m| m.as_str())
            .filter(|m| !m.is_empty())
    }

    /// The `session` group, if `s` matches (an empty capture counts as no match).
    #[inline]
    pub fn session<'a>(&self, s: &'a str) -> Option<&'a str> {
        let rest = s.strip_prefix(self.prefix.as_str())?;
        // `.` skips newlines and `\d` is Unicode-aware: leave such input to the regex itself.
        let simple = rest.is_ascii() && !rest.contains('\n');
        match self.shape {
            Shape::PrefixRest if simple => (!rest.is_empty()).then_some(rest),
            Shape::PrefixDashDigits if simple => {
                let (sess, ts) = rest.rsplit_once('-')?;
                (!sess.is_empty() && !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()))
                    .then_some(sess)
            }
            _ => self.regex_session(s),
        }
    }

    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        if !s.starts_with(self.prefix.as_str()) {
            return false;
        }
        match self.shape {
            Shape::PrefixRest | Shape::PrefixDashDigits if self.has_session => {
                self.session(s).is_some()
            }
            _ => self.re.as_ref().is_some_and(|re| re.is_match(s)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Storage.

/// Text fields of a span, packed into one allocation (one `malloc` per span instead of ten).
const F_ID: usize = 0;
const F_TRACE: usize = 1;
const F_POBS: usize = 2;
const F_NAME: usize = 3;
const F_MODEL: usize = 4;
const F_STATUS: usize = 5;
const F_INPUT: usize = 6;
const F_OUTPUT: usize = 7;
const F_HTML: usize = 8;
const F_PARENT: usize = 9;
const F_USER: usize = 10;
const FIELDS: usize = 11;

#[derive(Clone, Debug, PartialEq)]
struct Texts {
    buf: Box<str>,
    /// End offset of each field in `buf` (fields are capped, so the sum fits in u16).
    ends: [u16; FIELDS],
    /// Bit i set: field i is present (`Some`).
    present: u16,
}

impl Texts {
    fn build(fields: [(Option<&str>, usize); FIELDS]) -> Texts {
        let total: usize = fields
            .iter()
            .map(|(s, max)| s.map_or(0, |s| cut(s, *max).len()))
            .sum();
        let mut buf = String::with_capacity(total);
        let mut ends = [0u16; FIELDS];
        let mut present = 0u16;
        for (i, (s, max)) in fields.iter().enumerate() {
            if let Some(s) = s {
                buf.push_str(cut(s, *max));
                present |= 1 << i;
            }
            ends[i] = u16::try_from(buf.len()).unwrap_or(u16::MAX);
        }
        Texts {
            buf: buf.into_boxed_str(),
            ends,
            present,
        }
    }

    #[inline]
    fn get(&self, f: usize) -> Option<&str> {
        if self.present & (1 << f) == 0 {
            return None;
        }
        let start = if f == 0 { 0 } else { self.ends[f - 1] as usize };
        self.buf.get(start..self.ends[f] as usize)
    }

    #[inline]
    fn str(&self, f: usize) -> &str {
        self.get(f).unwrap_or_default()
    }

    fn len_of(&self, f: usize) -> usize {
        self.get(f).map_or(0, str::len)
    }
}

/// How a span declared its AgentCore parent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Parent {
    None,
    /// The parent is this span's own session.
    Same,
    /// Another session: its key is this byte range of the stored parent reference.
    Other(u16, u16),
}

/// Retained spans dominate the correlator's memory, so the optional numbers are stored in
/// sentinel form (80 bytes a span instead of 128): `NONE_U32` / NaN mean absent. A duration
/// saturates at ~49 days and token counts at ~4.29 billion, far past anything a span carries.
#[derive(Clone, Debug)]
struct Span {
    texts: Texts,
    start_ms: i64,
    cost_usd: f64,
    duration_ms: u32,
    input_tokens: u32,
    output_tokens: u32,
    path: Option<u16>,
    parent: Parent,
    level: Level,
    side: Option<Side>,
}

/// Field by field, the cost by its bits: an absent cost (NaN) equals an absent cost, so a
/// re-delivered observation is recognised as unchanged.
impl PartialEq for Span {
    fn eq(&self, o: &Span) -> bool {
        self.texts == o.texts
            && self.start_ms == o.start_ms
            && self.cost_usd.to_bits() == o.cost_usd.to_bits()
            && self.duration_ms == o.duration_ms
            && self.input_tokens == o.input_tokens
            && self.output_tokens == o.output_tokens
            && self.path == o.path
            && self.parent == o.parent
            && self.level == o.level
            && self.side == o.side
    }
}

const NONE_U32: u32 = u32::MAX;

fn pack_u64(v: Option<u64>) -> u32 {
    v.map_or(NONE_U32, |v| u32::try_from(v).unwrap_or(NONE_U32 - 1))
}

fn unpack_u32(v: u32) -> Option<u64> {
    (v != NONE_U32).then_some(u64::from(v))
}

impl Span {
    fn id(&self) -> &str {
        self.texts.str(F_ID)
    }
    fn duration_ms(&self) -> Option<i64> {
        (self.duration_ms != NONE_U32).then_some(i64::from(self.duration_ms))
    }
    fn input_tokens(&self) -> Option<u64> {
        unpack_u32(self.input_tokens)
    }
    fn output_tokens(&self) -> Option<u64> {
        unpack_u32(self.output_tokens)
    }
    fn cost_usd(&self) -> Option<f64> {
        (!self.cost_usd.is_nan()).then_some(self.cost_usd)
    }
    fn last_ms(&self) -> i64 {
        self.start_ms + self.duration_ms().unwrap_or(0)
    }
    fn payload(&self) -> usize {
        self.texts.len_of(F_INPUT) + self.texts.len_of(F_OUTPUT)
    }
    fn order_key(&self) -> (i64, &str) {
        (self.start_ms, self.id())
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Keyed 64-bit string hash for the id and session maps (keyed per process, so ids cannot be
/// crafted to collide). Each 8-byte word goes through a bijection of the state, so two strings of
/// the same length never collide; different lengths start from different states. Lookups still
/// compare the stored string, so a collision could only cost a missed dedupe, never a wrong
/// session.
fn hash_str(seed: u64, s: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let b = s.as_bytes();
    let mut h = seed ^ (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    // murmur3 fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The maps are keyed by `hash_str` already: pass the u64 through.
#[derive(Clone, Copy, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

#[derive(Clone, Debug)]
struct Session {
    key: Box<str>,
    /// Sorted by (start, id).
    spans: Vec<Span>,
    last_activity_ms: i64,
    first_ac_ms: Option<i64>,
    /// Spans whose side the rules could not tell (they inherit it from their trace).
    unsided: u32,
}

/// Side and path of each trace in a session, from its first span (by start, id) that has them.
/// Over OpenTelemetry only the generation carries a model, so the root and tool spans of a
/// trace often match no path; a trace runs on one side, so they take their trace's.
type TraceSides<'a> = HashMap<&'a str, (Option<Side>, Option<u16>)>;

impl Session {
    fn first_start_ms(&self) -> i64 {
        self.spans
            .first()
            .map_or(self.last_activity_ms, |s| s.start_ms)
    }

    /// `None` when every span has its own side (the common case: nothing to inherit).
    fn trace_sides(&self) -> Option<TraceSides<'_>> {
        if self.unsided == 0 {
            return None;
        }
        let mut m: TraceSides<'_> = HashMap::new();
        for s in &self.spans {
            let e = m.entry(s.texts.str(F_TRACE)).or_insert((None, None));
            if e.0.is_none() {
                e.0 = s.side;
            }
            if e.1.is_none() {
                e.1 = s.path;
            }
        }
        Some(m)
    }

    /// A span's side and path: its own, else its trace's.
    fn effective(ts: Option<&TraceSides<'_>>, s: &Span) -> (Option<Side>, Option<u16>) {
        match ts.and_then(|m| m.get(s.texts.str(F_TRACE))) {
            Some(&(side, path)) => (s.side.or(side), s.path.or(path)),
            None => (s.side, s.path),
        }
    }

    fn recompute(&mut self) {
        self.last_activity_ms = self
            .spans
            .iter()
            .map(Span::last_ms)
            .max()
            .unwrap_or(self.last_activity_ms);
        self.unsided = self.spans.iter().filter(|s| s.side.is_none()).count() as u32;
        let ts = self.trace_sides();
        self.first_ac_ms = self
            .spans
            .iter()
            .filter(|s| Session::effective(ts.as_ref(), s).0 == Some(Side::Agentcore))
            .map(|s| s.start_ms)
            .min();
    }
}

#[derive(Clone, Debug)]
struct PathMatch {
    id: PathId,
    kind: Side,
    tags: Vec<String>,
    models: Vec<String>,
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return false;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[derive(Clone, Copy, Debug)]
enum KeySrc {
    SessionId,
    Trace,
    Parent,
}

#[derive(Clone, Copy, Debug)]
enum ParentInfo {
    None,
    Same,
    /// Byte range of the parent session inside `parent_ref`.
    Other(usize, usize),
}

/// What the rules say about one observation; plain data, no borrows.
#[derive(Clone, Copy, Debug)]
struct Classified {
    key: Option<(KeySrc, usize, usize)>,
    side: Option<Side>,
    path: Option<u16>,
    parent: ParentInfo,
    start_ms: i64,
    end_ms: Option<i64>,
}

impl Classified {
    fn key<'a>(&self, obs: &'a Observation) -> Option<&'a str> {
        let (src, a, b) = self.key?;
        let s = match src {
            KeySrc::SessionId => obs.session_id.as_deref()?,
            KeySrc::Trace => obs.trace_id.as_str(),
            KeySrc::Parent => obs.parent_ref.as_deref()?,
        };
        s.get(a..b)
    }
    fn last_ms(&self) -> i64 {
        self.end_ms.map_or(self.start_ms, |e| e.max(self.start_ms))
    }
}

fn range_in(outer: &str, inner: &str) -> (usize, usize) {
    let a = inner.as_ptr() as usize - outer.as_ptr() as usize;
    (a, a + inner.len())
}

/// Counters for what the engine refused or dropped (for logs and `check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorrelatorStats {
    pub ingested: u64,
    pub duplicates: u64,
    pub dropped_old: u64,
    pub dropped_spans: u64,
    pub evicted_sessions: u64,
}

/// Session totals over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SessionCounts {
    pub total: u64,
    pub hybrid: u64,
    pub escalated: u64,
    pub handoffs: u64,
    /// Sessions with at least one orphan span.
    pub orphaned: u64,
    /// `orphaned hybrid / hybrid`, `None` without hybrid sessions.
    pub context_loss_rate: Option<f64>,
}

/// Every retained session as a row, newest first, plus what the counts need.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub rows: Vec<SessionRow>,
    /// Last activity of each row's session (ms), parallel to `rows`.
    pub last_activity_ms: Vec<i64>,
    /// The rows stay exact until `now` reaches this (the next pending orphan deadline).
    pub valid_until_ms: i64,
}

impl Rows {
    /// Totals over sessions active at or after `from_ms`.
    pub fn counts(&self, from_ms: i64) -> SessionCounts {
        window_counts(&self.rows, &self.last_activity_ms, from_ms)
    }
}

/// Totals over the rows whose session was active at or after `from_ms`.
pub fn window_counts(rows: &[SessionRow], last_activity_ms: &[i64], from_ms: i64) -> SessionCounts {
    let mut c = SessionCounts::default();
    let mut orphaned_hybrid = 0u64;
    for (r, &last) in rows.iter().zip(last_activity_ms) {
        if last < from_ms {
            continue;
        }
        c.total += 1;
        c.hybrid += u64::from(r.hybrid);
        c.escalated += u64::from(r.escalated);
        c.handoffs += u64::from(r.handoffs);
        if r.orphan_spans > 0 {
            c.orphaned += 1;
            orphaned_hybrid += u64::from(r.hybrid);
        }
    }
    c.context_loss_rate = (c.hybrid > 0).then(|| orphaned_hybrid as f64 / c.hybrid as f64);
    c
}

/// Per-span verdicts for the detail view.
#[derive(Clone, Copy, Debug, Default)]
struct SpanFlags {
    handoff: bool,
    escalation: bool,
    orphan: bool,
    /// Side and path, inherited from the trace when the span has none of its own.
    side: Option<Side>,
    path: Option<u16>,
}

#[derive(Clone, Debug, Default)]
struct Analysis {
    sides: [bool; 2],
    paths: Vec<u16>,
    handoffs: u32,
    escalated: bool,
    orphans: u32,
    errors: u32,
    cost: Option<f64>,
    hybrid: bool,
    next_deadline: Option<i64>,
}

struct Placement {
    slot: u32,
    id_hash: u64,
    replace: bool,
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

    fn classify(&self, obs: &Observation) -> Classified {
        let path = self.attribute(obs);
        let side = obs
            .side
            .or_else(|| path.map(|i| self.paths[i].kind))
            .or_else(|| {
                if self.ac_trace.is_match(&obs.trace_id) {
                    Some(Side::Agentcore)
                } else if self.eks_trace.is_match(&obs.trace_id) {
                    Some(Side::Eks)
                } else {
                    None
                }
            });
        let parent_session = obs.parent_ref.as_deref().and_then(|p| {
            let s = self.parent_rule.as_ref()?.session(p)?;
            (s != ROOT_SESSION).then_some(s)
        });
        let key = if let Some(k) = obs
            .session_id
            .as_deref()
            .and_then(|sid| self.session_rule.session(sid).map(|k| (sid, k)))
        {
            let (a, b) = range_in(k.0, k.1);
            Some((KeySrc::SessionId, a, b))
        } else if let Some(k) = self.ac_trace.session(&obs.trace_id) {
            let (a, b) = range_in(&obs.trace_id, k);
            Some((KeySrc::Trace, a, b))
        } else if let (Some(p), Some(k)) = (obs.parent_ref.as_deref(), parent_session) {
            let (a, b) = range_in(p, k);
            Some((KeySrc::Parent, a, b))
        } else {
            None
        };
        let mut c = Classified {
            key,
            side,
            path: path.and_then(|i| u16::try_from(i).ok()),
            parent: ParentInfo::None,
            start_ms: obs.start.timestamp_millis(),
            end_ms: obs.end.map(|e| e.timestamp_millis()),
        };
        // Only an EKS-side observation declares a parent on the other (AgentCore) side. One of
        // unknown side may too (over OpenTelemetry the span that calls AgentCore often matches
        // no path); the analysis drops it if its trace turns out to be AgentCore's.
        if side != Some(Side::Agentcore) {
            if let (Some(p), Some(ps)) = (obs.parent_ref.as_deref(), parent_session) {
                c.parent = if Some(ps) == c.key(obs) {
                    ParentInfo::Same
                } else {
                    let (a, b) = range_in(p, ps);
                    ParentInfo::Other(a, b)
                };
            }
        }
        c
    }

    fn payload_room(&self) -> bool {
        self.payload_bytes < PAYLOAD_BUDGET
    }

    fn make_span(&self, obs: &Observation, c: &Classified) -> Span {
        let room = self.payload_room();
        let parent_raw = match c.parent {
            ParentInfo::None => None,
            _ => obs.parent_ref.as_deref(),
        };
        let texts = Texts::build([
            (Some(obs.id.as_str()), MAX_ID),
            (Some(obs.trace_id.as_str()), MAX_FIELD),
            (obs.parent_observation_id.as_deref(), MAX_FIELD),
            (Some(obs.name.as_str()), MAX_FIELD),
            (obs.model.as_deref(), MAX_FIELD),
            (obs.status_message.as_deref(), MAX_STATUS),
            (obs.input.as_deref().filter(|_| room), MAX_PAYLOAD),
            (obs.output.as_deref().filter(|_| room), MAX_PAYLOAD),
            (obs.html_path.as_deref(), MAX_FIELD),
            (parent_raw, MAX_FIELD),
            (obs.user_id.as_deref(), MAX_FIELD),
        ]);
        let parent = match c.parent {
            ParentInfo::None => Parent::None,
            ParentInfo::Same => Parent::Same,
            // A range cut off by the field cap cannot be resolved: treat as an unknown parent.
            ParentInfo::Other(a, b) if b <= MAX_FIELD => Parent::Other(a as u16, b as u16),
            ParentInfo::Other(..) => Parent::Other(0, 0),
        };
        Span {
            texts,
            start_ms: c.start_ms,
            duration_ms: c.end_ms.map_or(NONE_U32, |e| {
                u32::try_from(e.saturating_sub(c.start_ms).max(0)).unwrap_or(NONE_U32 - 1)
            }),
            level: obs.level,
            input_tokens: pack_u64(obs.input_tokens),
            output_tokens: pack_u64(obs.output_tokens),
            cost_usd: obs.cost_usd.filter(|v| v.is_finite()).unwrap_or(f64::NAN),
            side: c.side,
            path: c.path,
            parent,
        }
    }

    /// Ingest one observation. Returns whether anything changed.
    pub fn ingest(&mut self, obs: &Observation) -> bool {
        let c = self.classify(obs);
        let Some(p) = self.resolve(obs, &c) else {
            return false;
        };
        let span = self.make_span(obs, &c);
        self.place(p, span)
    }

    /// Ingest a batch, then enforce the session bound exactly.
    pub fn ingest_batch(&mut self, items: Vec<Observation>) {
        for o in &items {
            self.ingest(o);
        }
        self.enforce_bounds();
    }

    fn slot_of_key(&self, h: u64, key: &str) -> Option<u32> {
        let slot = *self.keys.get(&h)?;
        let sess = self.slots.get(slot as usize)?.as_ref()?;
        (&*sess.key == key).then_some(slot)
    }

    /// The slot holding observation `id`, if it is really there.
    fn slot_of_id(&self, h: u64, id: &str) -> Option<u32> {
        let slot = *self.by_id.get(&h)?;
        let sess = self.slots.get(slot as usize)?.as_ref()?;
        sess.spans.iter().any(|s| s.id() == id).then_some(slot)
    }

    /// Where an observation goes: handles dedupe, unsessioned observations and moves between
    /// sessions. `None` when there is nothing to place.
    fn resolve(&mut self, obs: &Observation, c: &Classified) -> Option<Placement> {
        self.stats.ingested += 1;
        if let Some(s) = self.swept_ms {
            if c.last_ms() < s.saturating_sub(self.retention_ms) {
                self.stats.dropped_old += 1;
                return None;
            }
        }
        let id = cut(&obs.id, MAX_ID);
        let id_hash = hash_str(self.seed, id);
        let existing = self.slot_of_id(id_hash, id);
        let Some(key) = c.key(obs) else {
            // Unsessioned: counted (once per id), otherwise ignored.
            if let Some(slot) = existing {
                self.remove_span(slot, id_hash, id);
            }
            if let std::collections::hash_map::Entry::Vacant(e) = self.loose.entry(id_hash) {
                e.insert(c.start_ms);
                self.generation += 1;
                self.bound_loose();
            } else {
                self.stats.duplicates += 1;
            }
            return None;
        };
        if !self.loose.is_empty() && self.loose.remove(&id_hash).is_some() {
            self.generation += 1;
        }
        let key_hash = hash_str(self.seed, key);
        if let Some(slot) = existing {
            let same = self
                .slots
                .get(slot as usize)
                .and_then(|s| s.as_ref())
                .is_some_and(|s| &*s.key == key);
            if same {
                return Some(Placement {
                    slot,
                    id_hash,
                    replace: true,
                });
            }
            self.remove_span(slot, id_hash, id);
        }
        let slot = match self.slot_of_key(key_hash, key) {
            Some(s) => s,
            None if self.keys.contains_key(&key_hash) => {
                // A 64-bit collision between two session keys: refuse rather than merge.
                self.stats.dropped_spans += 1;
                return None;
            }
            None => self.new_session(key_hash, key),
        };
        Some(Placement {
            slot,
            id_hash,
            replace: false,
        })
    }

    fn new_session(&mut self, key_hash: u64, key: &str) -> u32 {
        let sess = Session {
            key: Box::from(key),
            spans: Vec::with_capacity(8),
            last_activity_ms: i64::MIN,
            first_ac_ms: None,
            unsided: 0,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(sess);
                s
            }
            None => {
                self.slots.push(Some(sess));
                (self.slots.len() - 1) as u32
            }
        };
        self.keys.insert(key_hash, slot);
        self.live += 1;
        slot
    }

    fn free_session(&mut self, slot: u32) {
        if let Some(sess) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            for s in &sess.spans {
                let h = hash_str(self.seed, s.id());
                if self.by_id.get(&h) == Some(&slot) {
                    self.by_id.remove(&h);
                }
                self.payload_bytes = self.payload_bytes.saturating_sub(s.payload());
            }
            let kh = hash_str(self.seed, &sess.key);
            if self.keys.get(&kh) == Some(&slot) {
                self.keys.remove(&kh);
            }
            self.free.push(slot);
            self.live -= 1;
            self.generation += 1;
        }
    }

    fn remove_span(&mut self, slot: u32, id_hash: u64, id: &str) {
        if self.by_id.get(&id_hash) == Some(&slot) {
            self.by_id.remove(&id_hash);
        }
        let Some(sess) = self.slots.get_mut(slot as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        if let Some(pos) = sess.spans.iter().position(|s| s.id() == id) {
            let s = sess.spans.remove(pos);
            self.payload_bytes = self.payload_bytes.saturating_sub(s.payload());
            sess.recompute();
        }
        self.generation += 1;
        if sess.spans.is_empty() {
            self.free_session(slot);
        }
    }

    fn place(&mut self, p: Placement, span: Span) -> bool {
        let max_spans = self.max_spans;
        let Some(sess) = self.slots.get_mut(p.slot as usize).and_then(|s| s.as_mut()) else {
            return false;
        };
        let mut evicted: Option<Span> = None;
        if p.replace {
            if let Some(pos) = sess.spans.iter().position(|s| s.id() == span.id()) {
                if sess.spans[pos] == span {
                    self.stats.duplicates += 1;
                    return false;
                }
                let old = sess.spans.remove(pos);
                self.payload_bytes = self.payload_bytes.saturating_sub(old.payload());
            }
        } else if sess.spans.len() >= max_spans {
            // Keep the earliest spans: the newcomer displaces the latest one if it starts
            // before it, else it is dropped. Order-independent for a fixed set.
            let earlier = sess
                .spans
                .last()
                .is_some_and(|l| span.order_key() < l.order_key());
            self.stats.dropped_spans += 1;
            if !earlier {
                return false;
            }
            evicted = sess.spans.pop();
        }
        let pos = sess
            .spans
            .partition_point(|s| s.order_key() < span.order_key());
        let last = span.last_ms();
        let ac = (span.side == Some(Side::Agentcore)).then_some(span.start_ms);
        let unsided = span.side.is_none();
        self.payload_bytes += span.payload();
        sess.spans.insert(pos, span);
        if p.replace || evicted.is_some() || unsided || sess.unsided > 0 {
            // Side inheritance within a trace makes the AgentCore start depend on the other
            // spans: recount (only sessions with unsided spans pay this).
            sess.recompute();
        } else {
            sess.last_activity_ms = sess.last_activity_ms.max(last);
            if let Some(a) = ac {
                sess.first_ac_ms = Some(sess.first_ac_ms.map_or(a, |f| f.min(a)));
            }
        }
        if let Some(e) = evicted {
            self.payload_bytes = self.payload_bytes.saturating_sub(e.payload());
            let h = hash_str(self.seed, e.id());
            if self.by_id.get(&h) == Some(&p.slot) {
                self.by_id.remove(&h);
            }
        }
        if !p.replace {
            self.by_id.insert(p.id_hash, p.slot);
        }
        self.generation += 1;
        let slack = (self.max_sessions / 8).max(1);
        if self.live > self.max_sessions + slack {
            self.evict_to(self.max_sessions);
        }
        true
    }

    /// Drop the least recently active sessions until at most `n` remain.
    fn evict_to(&mut self, n: usize) {
        if self.live <= n {
            return;
        }
        let mut order: Vec<(i64, i64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .map(|s| (s.last_activity_ms, s.first_start_ms(), i as u32))
            })
            .collect();
        let k = self.live - n;
        let slots = &self.slots;
        let cmp = |a: &(i64, i64, u32), b: &(i64, i64, u32)| {
            let ka = slots[a.2 as usize].as_ref().map(|s| &*s.key);
            let kb = slots[b.2 as usize].as_ref().map(|s| &*s.key);
            (a.0, a.1, ka).cmp(&(b.0, b.1, kb))
        };
        if k < order.len() {
            order.select_nth_unstable_by(k, cmp);
        }
        for &(_, _, slot) in order.iter().take(k) {
            self.free_session(slot);
            self.stats.evicted_sessions += 1;
        }
    }

    fn bound_loose(&mut self) {
        let cap = self.max_sessions.max(1000).saturating_mul(4);
        if self.loose.len() <= cap {
            return;
        }
        let mut starts: Vec<i64> = self.loose.values().copied().collect();
        let mid = starts.len() / 2;
        let (_, &mut threshold, _) = starts.select_nth_unstable(mid);
        self.loose.retain(|_, s| *s > threshold);
        self.generation += 1;
    }

    /// Enforce `max_sessions` exactly (ingest alone lets it overshoot by a slack of 1/8 to keep
    /// eviction amortised).
    pub fn enforce_bounds(&mut self) {
        self.evict_to(self.max_sessions);
        self.bound_loose();
    }

    /// Drop sessions idle for longer than `retention`, then enforce the bounds.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let now_ms = now.timestamp_millis();
        let swept = self.swept_ms.map_or(now_ms, |s| s.max(now_ms));
        self.swept_ms = Some(swept);
        let cut = swept.saturating_sub(self.retention_ms);
        let old: Vec<u32> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|s| s.last_activity_ms < cut)
                    .map(|_| i as u32)
            })
            .collect();
        for slot in old {
            self.free_session(slot);
            self.stats.evicted_sessions += 1;
        }
        let before = self.loose.len();
        self.loose.retain(|_, s| *s >= cut);
        if self.loose.len() != before {
            self.generation += 1;
        }
        self.enforce_bounds();
    }

    /// Unsessioned observations that started at or after `from_ms`.
    pub fn unsessioned_since(&self, from_ms: i64) -> u64 {
        self.loose.values().filter(|&&s| s >= from_ms).count() as u64
    }

    fn first_ac_of(&self, key: &str) -> Option<i64> {
        let slot = self.slot_of_key(hash_str(self.seed, key), key)?;
        self.slots.get(slot as usize)?.as_ref()?.first_ac_ms
    }

    fn analyse(
        &self,
        sess: &Session,
        now_ms: i64,
        mut flags: Option<&mut Vec<SpanFlags>>,
    ) -> Analysis {
        let mut a = Analysis::default();
        let mut prev: Option<Side> = None;
        let mut declared = false;
        let ts = sess.trace_sides();
        for s in &sess.spans {
            let mut f = SpanFlags::default();
            let (side, path) = Session::effective(ts.as_ref(), s);
            f.side = side;
            f.path = path;
            if let Some(side) = side {
                a.sides[side_idx(side)] = true;
                if let Some(p) = prev {
                    if p != side {
                        a.handoffs += 1;
                        f.handoff = true;
                        if p == Side::Eks && side == Side::Agentcore {
                            a.escalated = true;
                            f.escalation = true;
                        }
                    }
                }
                prev = Some(side);
            }
            if let Some(pi) = path {
                if !a.paths.contains(&pi) {
                    a.paths.push(pi);
                }
            }
            if s.level == Level::Error {
                a.errors += 1;
            }
            if let Some(c) = s.cost_usd() {
                a.cost = Some(a.cost.unwrap_or(0.0) + c);
            }
            // A span of unknown side may declare at ingest; it counts unless its trace turned
            // out to be AgentCore's (the AgentCore side does not declare AgentCore parents).
            if s.parent != Parent::None && side != Some(Side::Agentcore) {
                declared = true;
                let deadline = s.start_ms.saturating_add(self.grace_ms);
                if now_ms < deadline {
                    a.next_deadline = Some(a.next_deadline.map_or(deadline, |d| d.min(deadline)));
                } else {
                    let ac = match s.parent {
                        Parent::Other(x, y) => s
                            .texts
                            .str(F_PARENT)
                            .get(x as usize..y as usize)
                            .filter(|k| !k.is_empty())
                            .and_then(|k| self.first_ac_of(k)),
                        _ => sess.first_ac_ms,
                    };
                    if ac.is_none_or(|t| t > deadline) {
                        a.orphans += 1;
                        f.orphan = true;
                    }
                }
            }
            if let Some(v) = flags.as_deref_mut() {
                v.push(f);
            }
        }
        a.hybrid = (a.sides[0] && a.sides[1]) || declared;
        a
    }

    fn row(&self, sess: &Session, a: &Analysis, redact: bool) -> SessionRow {
        let first = sess.first_start_ms();
        let mut sides = Vec::with_capacity(2);
        if a.sides[0] {
            sides.push(Side::Agentcore);
        }
        if a.sides[1] {
            sides.push(Side::Eks);
        }
        SessionRow {
            session_id: text(&sess.key, redact),
            sides,
            paths: a
                .paths
                .iter()
                .filter_map(|&i| self.paths.get(i as usize).map(|p| p.id.clone()))
                .collect(),
            spans: sess.spans.len() as u32,
            started_at: ms_to_time(first),
            duration_ms: (sess.last_activity_ms.saturating_sub(first)).max(0) as f64,
            cost_usd: a.cost.filter(|c| c.is_finite()),
            escalated: a.escalated,
            handoffs: a.handoffs,
            orphan_spans: a.orphans,
            errors: a.errors,
            hybrid: a.hybrid,
        }
    }

    /// Every retained session as a row, newest first (by start, ties by id).
    pub fn rows(&self, now: DateTime<Utc>, redact: bool) -> Rows {
        let now_ms = now.timestamp_millis();
        let mut order: Vec<(i64, &str, &Session)> = self
            .slots
            .iter()
            .flatten()
            .map(|s| (s.first_start_ms(), &*s.key, s))
            .collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut out = Rows {
            rows: Vec::with_capacity(order.len()),
            last_activity_ms: Vec::with_capacity(order.len()),
            valid_until_ms: i64::MAX,
        };
        for (_, _, sess) in order {
            let a = self.analyse(sess, now_ms, None);
            if let Some(d) = a.next_deadline {
                out.valid_until_ms = out.valid_until_ms.min(d);
            }
            out.rows.push(self.row(sess, &a, redact));
            out.last_activity_ms.push(sess.last_activity_ms);
        }
        out
    }

    /// Totals over sessions active within `window` of `now`.
    pub fn counts(&self, now: DateTime<Utc>, window: Duration) -> SessionCounts {
        let rows = self.rows(now, false);
        rows.counts(now.timestamp_millis().saturating_sub(ms(window)))
    }

    /// Summary row of one session (by bare id).
    pub fn summary(&self, session: &str, now: DateTime<Utc>) -> Option<SessionRow> {
        let sess = self.find(session, false)?;
        let a = self.analyse(sess, now.timestamp_millis(), None);
        Some(self.row(sess, &a, false))
    }

    fn find(&self, id: &str, redact: bool) -> Option<&Session> {
        if let Some(slot) = self.slot_of_key(hash_str(self.seed, id), id) {
            return self.slots.get(slot as usize)?.as_ref();
        }
        // The UI selects by the id it displays (cleaned, maybe masked).
        self.slots
            .iter()
            .flatten()
            .find(|s| text(&s.key, redact) == id)
    }

    /// The spans of one session for the waterfall, sorted by start.
    pub fn detail(&self, session: &str, now: DateTime<Utc>, redact: bool) -> Option<SessionDetail> {
        let sess = self.find(session, redact)?;
        let mut flags = Vec::with_capacity(sess.spans.len());
        self.analyse(sess, now.timestamp_millis(), Some(&mut flags));
        let first = sess.first_start_ms();
        let spans = sess
            .spans
            .iter()
            .zip(flags)
            .map(|(s, f)| SpanView {
                id: text(s.id(), redact),
                trace_id: text(s.texts.str(F_TRACE), redact),
                parent_observation_id: opt_text(s.texts.get(F_POBS), redact),
                name: text(s.texts.str(F_NAME), redact),
                side: f.side,
                path: f
                    .path
                    .and_then(|i| self.paths.get(i as usize))
                    .map(|p| p.id.clone()),
                start_ms: s.start_ms.saturating_sub(first) as f64,
                duration_ms: s.duration_ms().map(|d| d as f64),
                model: opt_text(s.texts.get(F_MODEL), redact),
                level: s.level,
                status_message: opt_text(s.texts.get(F_STATUS), redact),
                input_tokens: s.input_tokens(),
                output_tokens: s.output_tokens(),
                cost_usd: s.cost_usd(),
                handoff: f.handoff,
                escalation: f.escalation,
                orphan_parent: if f.orphan {
                    opt_text(s.texts.get(F_PARENT), redact)
                } else {
                    None
                },
                input: if redact {
                    None
                } else {
                    opt_text(s.texts.get(F_INPUT), false)
                },
                output: if redact {
                    None
                } else {
                    opt_text(s.texts.get(F_OUTPUT), false)
                },
                html_path: opt_text(s.texts.get(F_HTML), redact),
                user_id: s.texts.get(F_USER).map(|u| {
                    if redact {
                        // Any string can be a user id: mask it whole, not by pattern.
                        crate::model::redact::USER_MASK.to_string()
                    } else {
                        text(u, false)
                    }
                }),
            })
            .collect();
        Some(SessionDetail {
            session_id: text(&sess.key, redact),
            started_at: ms_to_time(first),
            spans,
        })
    }
}

pub fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
pub(crate) mod tests;
