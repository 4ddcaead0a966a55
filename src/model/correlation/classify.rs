//! Classifying an observation: its session key, side, path and declared parent, by the rules.
use super::*;

#[derive(Clone, Debug)]
pub(super) struct PathMatch {
    pub(super) id: PathId,
    pub(super) kind: Side,
    pub(super) tags: Vec<String>,
    pub(super) models: Vec<String>,
}

pub(super) fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return false;
    }
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[derive(Clone, Copy, Debug)]
pub(super) enum KeySrc {
    SessionId,
    Trace,
    Parent,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum ParentInfo {
    None,
    Same,
    /// Byte range of the parent session inside `parent_ref`.
    Other(usize, usize),
}

/// What the rules say about one observation; plain data, no borrows.
#[derive(Clone, Copy, Debug)]
pub(super) struct Classified {
    pub(super) key: Option<(KeySrc, usize, usize)>,
    pub(super) side: Option<Side>,
    pub(super) path: Option<u16>,
    pub(super) parent: ParentInfo,
    pub(super) start_ms: i64,
    pub(super) end_ms: Option<i64>,
}

impl Classified {
    pub(super) fn key<'a>(&self, obs: &'a Observation) -> Option<&'a str> {
        let (src, a, b) = self.key?;
        let s = match src {
            KeySrc::SessionId => obs.session_id.as_deref()?,
            KeySrc::Trace => obs.trace_id.as_str(),
            KeySrc::Parent => obs.parent_ref.as_deref()?,
        };
        s.get(a..b)
    }
    pub(super) fn last_ms(&self) -> i64 {
        self.end_ms.map_or(self.start_ms, |e| e.max(self.start_ms))
    }
}

pub(super) fn range_in(outer: &str, inner: &str) -> (usize, usize) {
    let a = inner.as_ptr() as usize - outer.as_ptr() as usize;
    (a, a + inner.len())
}

impl Correlator {
    pub(super) fn classify(&self, obs: &Observation) -> Classified {
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

    pub(super) fn payload_room(&self) -> bool {
        self.payload_bytes < PAYLOAD_BUDGET
    }

    pub(super) fn make_span(&self, obs: &Observation, c: &Classified) -> Span {
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
}
