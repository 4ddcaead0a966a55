//! Langfuse-style observations following the seed's trace correlation ID rules:
//! AgentCore `ac-{session}-{unix_ms}`, EKS `eks-{pod}-{16 hex}`, sessionId `hybrid-{session}`,
//! EKS spans that call AgentCore declare the parent `ac-{session}`.
use crate::config::PathConfig;
use crate::domain::path::Side;
use crate::model::update::{Level, Observation};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(super) const ROOT_SPAN: &str = "agent-turn";
pub(super) const EKS_GENERATION: &str = "vllm.generate";
pub(super) const AC_GENERATION: &str = "bedrock.invoke";
pub(super) const TOOL_SPAN: &str = "tool.search_docs";
pub(super) const DUAL_WRITE_SPAN: &str = "memory.dual_write";

/// Span names carrying terminal control sequences (context-loss scenario): OSC title change with
/// BEL, clear screen + colour, bare BELs, a bidi override, carriage return + erase line.
pub(super) const HOSTILE_NAMES: [&str; 5] = [
    "tool.search\x1b]0;pwned\x07",
    "\x1b[2J\x1b[31mred",
    "tool.fetch\x07\x07bell",
    "tool.\u{202E}txt.exe",
    "tool.lookup\r\x1b[Kspoofed",
];
pub(super) const HOSTILE_STATUS: &str =
    "\x1b[2J\x1b[31mcontext lost\x1b[0m\x07 (dual-write \u{202E}deliaf)";

/// Model family decides the latency and token profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    Qwen,
    Haiku,
    Sonnet,
    Opus,
    OtherAgentcore,
}

/// A display model name for a path: AgentCore from its Bedrock model id
/// (`us.anthropic.claude-haiku-4-5-20251001-v1:0` → `claude-haiku-4-5`), otherwise the first
/// Langfuse model of the path, otherwise `qwen3-4b` / the path id.
pub(super) fn model_name(p: &PathConfig) -> String {
    if let Some(mid) = p.agentcore.as_ref().and_then(|a| a.model_id.as_deref()) {
        let cleaned = clean_model_id(mid);
        if !cleaned.is_empty() {
            return cleaned;
        }
    }
    if let Some(m) = p.langfuse.as_ref().and_then(|l| l.models.first()) {
        return m.clone();
    }
    match p.kind {
        Side::Eks => "qwen3-4b".into(),
        Side::Agentcore => p.id.to_string(),
    }
}

fn clean_model_id(mid: &str) -> String {
    // Drop the region/provider prefixes and the `:0` revision, then a `-YYYYMMDD[-vN]` suffix.
    let last = mid.rsplit('.').next().unwrap_or(mid);
    let mut s = last.split(':').next().unwrap_or(last).to_string();
    let is_date = |t: &str| t.len() == 8 && t.chars().all(|c| c.is_ascii_digit());
    if let Some(i) = s.rfind("-v") {
        let ver = &s[i + 2..];
        let before = &s[..i];
        let dated = before.rfind('-').is_some_and(|j| is_date(&before[j + 1..]));
        if dated && !ver.is_empty() && ver.chars().all(|c| c.is_ascii_digit()) {
            s.truncate(i);
        }
    }
    if let Some(i) = s.rfind('-') {
        if is_date(&s[i + 1..]) {
            s.truncate(i);
        }
    }
    s
}

pub(super) fn family(side: Side, model: &str) -> Family {
    let m = model.to_ascii_lowercase();
    match side {
        Side::Eks => Family::Qwen,
        Side::Agentcore if m.contains("haiku") => Family::Haiku,
        Side::Agentcore if m.contains("sonnet") => Family::Sonnet,
        Side::Agentcore if m.contains("opus") => Family::Opus,
        Side::Agentcore => Family::OtherAgentcore,
    }
}

/// (median ms, p95 ms, input tokens, output tokens) by family.
pub(super) fn profile(f: Family) -> (f64, f64, f64, f64) {
    match f {
        Family::Qwen => (22.0, 45.0, 400.0, 150.0),
        Family::Haiku => (55.0, 90.0, 800.0, 300.0),
        Family::Sonnet => (110.0, 180.0, 2000.0, 600.0),
        Family::Opus => (200.0, 340.0, 2500.0, 800.0),
        Family::OtherAgentcore => (80.0, 140.0, 1000.0, 400.0),
    }
}

pub(super) fn hex16(rng: &mut ChaCha8Rng) -> String {
    format!("{:016x}", rng.random::<u64>())
}

/// Picks a hostile name with probability `p`.
pub(super) fn maybe_hostile(rng: &mut ChaCha8Rng, p: f64, normal: &str) -> String {
    if p > 0.0 && rng.random::<f64>() < p {
        HOSTILE_NAMES[rng.random_range(0..HOSTILE_NAMES.len())].to_string()
    } else {
        normal.to_string()
    }
}

/// Fields shared by every observation of one trace.
pub(super) struct TraceCtx<'a> {
    pub start: DateTime<Utc>,
    pub trace_id: &'a str,
    pub session: &'a str,
    pub tag: &'a str,
    pub side: Side,
}

/// One span of a trace.
pub(super) struct SpanSpec {
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub level: Level,
    pub status: Option<String>,
    pub parent_ref: Option<String>,
    /// (model, input tokens, output tokens, cost) for generations.
    pub generation: Option<(String, u64, u64, f64)>,
}

impl SpanSpec {
    pub fn span(
        id: String,
        parent: Option<String>,
        name: impl Into<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> SpanSpec {
        SpanSpec {
            id,
            parent,
            name: name.into(),
            start_ms,
            end_ms: end_ms.max(start_ms),
            level: Level::Default,
            status: None,
            parent_ref: None,
            generation: None,
        }
    }
}

impl TraceCtx<'_> {
    pub fn build(&self, s: SpanSpec) -> Observation {
        let at = |ms: i64| self.start + ChronoDuration::milliseconds(ms);
        let (model, input_tokens, output_tokens, cost_usd) = match s.generation {
            Some((m, i, o, c)) => (Some(m), Some(i), Some(o), Some(c)),
            None => (None, None, None, None),
        };
        Observation {
            id: s.id,
            trace_id: self.trace_id.to_string(),
            session_id: Some(format!("hybrid-{}", self.session)),
            parent_observation_id: s.parent,
            name: s.name,
            start: at(s.start_ms),
            end: Some(at(s.end_ms)),
            model,
            tags: vec![self.tag.to_string()],
            parent_ref: s.parent_ref,
            level: s.level,
            status_message: s.status,
            input_tokens,
            output_tokens,
            cost_usd,
            side: Some(self.side),
            input: None,
            output: None,
            html_path: None,
            user_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_cleaned() {
        assert_eq!(
            clean_model_id("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
            "claude-haiku-4-5"
        );
        assert_eq!(
            clean_model_id("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5"
        );
        assert_eq!(clean_model_id("qwen3-4b"), "qwen3-4b");
        assert_eq!(clean_model_id("anthropic.claude-v2:1"), "claude-v2");
    }
}
