//! The session store: where an observation goes (dedupe, moves between sessions), the bounds
//! on sessions, spans and payload bytes, and the sweep of idle sessions.
use super::*;

#[derive(Clone, Debug)]
pub(super) struct Session {
    pub(super) key: Box<str>,
    /// Sorted by (start, id).
    pub(super) spans: Vec<Span>,
    pub(super) last_activity_ms: i64,
    pub(super) first_ac_ms: Option<i64>,
    /// Spans whose side the rules could not tell (they inherit it from their trace).
    pub(super) unsided: u32,
}

/// Side and path of each trace in a session, from its first span (by start, id) that has them.
/// Over OpenTelemetry only the generation carries a model, so the root and tool spans of a
/// trace often match no path; a trace runs on one side, so they take their trace's.
pub(super) type TraceSides<'a> = HashMap<&'a str, (Option<Side>, Option<u16>)>;

impl Session {
    pub(super) fn first_start_ms(&self) -> i64 {
        self.spans
            .first()
            .map_or(self.last_activity_ms, |s| s.start_ms)
    }

    /// `None` when every span has its own side (the common case: nothing to inherit).
    pub(super) fn trace_sides(&self) -> Option<TraceSides<'_>> {
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
    pub(super) fn effective(ts: Option<&TraceSides<'_>>, s: &Span) -> (Option<Side>, Option<u16>) {
        match ts.and_then(|m| m.get(s.texts.str(F_TRACE))) {
            Some(&(side, path)) => (s.side.or(side), s.path.or(path)),
            None => (s.side, s.path),
        }
    }

    pub(super) fn recompute(&mut self) {
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

pub(super) struct Placement {
    pub(super) slot: u32,
    pub(super) id_hash: u64,
    pub(super) replace: bool,
}

impl Correlator {
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

    pub(super) fn slot_of_key(&self, h: u64, key: &str) -> Option<u32> {
        let slot = *self.keys.get(&h)?;
        let sess = self.slots.get(slot as usize)?.as_ref()?;
        (&*sess.key == key).then_some(slot)
    }

    /// The slot holding observation `id`, if it is really there.
    pub(super) fn slot_of_id(&self, h: u64, id: &str) -> Option<u32> {
        let slot = *self.by_id.get(&h)?;
        let sess = self.slots.get(slot as usize)?.as_ref()?;
        sess.spans.iter().any(|s| s.id() == id).then_some(slot)
    }

    /// Where an observation goes: handles dedupe, unsessioned observations and moves between
    /// sessions. `None` when there is nothing to place.
    pub(super) fn resolve(&mut self, obs: &Observation, c: &Classified) -> Option<Placement> {
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

    pub(super) fn new_session(&mut self, key_hash: u64, key: &str) -> u32 {
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

    pub(super) fn free_session(&mut self, slot: u32) {
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

    pub(super) fn remove_span(&mut self, slot: u32, id_hash: u64, id: &str) {
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

    pub(super) fn place(&mut self, p: Placement, mut span: Span) -> bool {
        let max_spans = self.max_spans;
        let Some(sess) = self.slots.get_mut(p.slot as usize).and_then(|s| s.as_mut()) else {
            return false;
        };
        let mut evicted: Option<Span> = None;
        if p.replace {
            if let Some(pos) = sess.spans.iter().position(|s| s.id() == span.id()) {
                let old = &sess.spans[pos].texts;
                // Polls leave input/output out (they come on demand): a re-read keeps them.
                if span.texts.get(F_INPUT).is_none()
                    && span.texts.get(F_OUTPUT).is_none()
                    && (old.get(F_INPUT).is_some() || old.get(F_OUTPUT).is_some())
                {
                    span.texts = span.texts.with_io_of(old);
                }
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
    pub(super) fn evict_to(&mut self, n: usize) {
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
        for &(last, _, slot) in order.iter().take(k) {
            self.free_session(slot);
            self.stats.evicted_sessions += 1;
            self.capped_activity_ms = Some(self.capped_activity_ms.map_or(last, |c| c.max(last)));
        }
    }

    /// `max_sessions` when it pushed out a session active since `from_ms`: the session
    /// figures of that window are a floor, not a count.
    pub fn capped_since(&self, from_ms: i64) -> Option<usize> {
        self.capped_activity_ms
            .filter(|&c| c >= from_ms)
            .map(|_| self.max_sessions)
    }

    pub(super) fn bound_loose(&mut self) {
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

    /// The distinct raw trace ids of one session (found by the id the UI shows), in span order.
    pub fn trace_ids(&self, session: &str, redact: bool) -> Vec<String> {
        let Some(sess) = self.find(session, redact) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for s in &sess.spans {
            let t = s.texts.str(F_TRACE);
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
        out
    }

    /// Sessions active since `from_ms`, and how many of them have every trace read whole.
    pub fn whole_sessions(&self, from_ms: i64, whole: impl Fn(&str) -> bool) -> (u64, u64) {
        let (mut n, mut total) = (0, 0);
        for sess in self.slots.iter().flatten() {
            if sess.last_activity_ms < from_ms {
                continue;
            }
            total += 1;
            if sess.spans.iter().all(|s| whole(s.texts.str(F_TRACE))) {
                n += 1;
            }
        }
        (n, total)
    }
}
