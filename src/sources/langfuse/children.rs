//! Roots first, children later: the v2 `filter` that reads whole traces, and the sample of
//! sessions whose children are read after each poll so the Traces list keeps some waterfalls.
//! Pure: the poller does the I/O.
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// Trace ids per request: keeps the query string near 2–3 kB, well inside URL limits.
pub const IDS_PER_REQUEST: usize = 50;
/// Sampled traces fetched per poll at most (one request).
pub const SAMPLE_PER_POLL: usize = IDS_PER_REQUEST;
/// Sampled traces waiting for spare budget, newest kept.
const MAX_QUEUED: usize = 4 * SAMPLE_PER_POLL;
/// The sample never thins beyond 1 in this many sessions.
const MAX_ONE_IN: u64 = 1 << 20;

/// The v2 `filter` for every observation of these traces.
pub fn whole_traces_filter(trace_ids: &[String]) -> String {
    serde_json::json!([
        {"type": "stringOptions", "column": "traceId", "operator": "any of", "value": trace_ids},
    ])
    .to_string()
}

fn key_hash(key: &str) -> u64 {
    // SipHash with fixed keys: the same session is in or out of the sample on every run.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// Which sessions' children are read. A session is in the sample when its key's hash is a
/// multiple of `one_in`, a power of two: all traces of a session (both sides of a hybrid one)
/// are in or out together, and when the sample thins the sessions kept were already in it.
#[derive(Debug)]
pub struct Sampler {
    one_in: u64,
    /// (session key hash, trace id), oldest first.
    queue: VecDeque<(u64, String)>,
    /// New roots seen by the poll in progress (sets the next `one_in`).
    seen: usize,
}

impl Default for Sampler {
    fn default() -> Sampler {
        Sampler {
            one_in: 1,
            queue: VecDeque::new(),
            seen: 0,
        }
    }
}

impl Sampler {
    /// A root seen for the first time: its trace joins the queue when its session is sampled.
    pub fn offer(&mut self, session: Option<&str>, trace_id: &str) {
        self.seen += 1;
        let h = key_hash(session.unwrap_or(trace_id));
        if self.queue.len() >= MAX_QUEUED {
            // More than the budget will read soon: thin the sample rather than lose its
            // oldest, so it stays 1 in N whole sessions.
            self.thin_to((self.one_in * 2).min(MAX_ONE_IN));
        }
        // Offered once per trace: a root is new to the poller only once.
        if !h.is_multiple_of(self.one_in) || self.queue.len() >= MAX_QUEUED {
            return;
        }
        self.queue.push_back((h, trace_id.to_string()));
    }

    fn thin_to(&mut self, one_in: u64) {
        self.one_in = one_in;
        self.queue.retain(|(h, _)| h.is_multiple_of(one_in));
    }

    /// A poll ended: thin or widen the sample so the next poll's new roots give about one
    /// request's worth of traces.
    pub fn end_poll(&mut self) {
        let want = (self.seen.div_ceil(SAMPLE_PER_POLL).max(1) as u64)
            .next_power_of_two()
            .min(MAX_ONE_IN);
        self.seen = 0;
        if want > self.one_in {
            // Queued traces of sessions the thinner sample leaves out go too.
            self.thin_to(want);
        } else {
            self.one_in = want;
        }
    }

    /// The next traces to read, newest first.
    pub fn take(&mut self, n: usize) -> Vec<String> {
        let k = n.min(self.queue.len());
        self.queue
            .drain(self.queue.len() - k..)
            .rev()
            .map(|(_, t)| t)
            .collect()
    }

    pub fn one_in(&self) -> u64 {
        self.one_in
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_names_every_trace() {
        let f = whole_traces_filter(&["t-1".into(), "t\"2".into()]);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v[0]["column"], "traceId");
        assert_eq!(v[0]["operator"], "any of");
        assert_eq!(v[0]["value"][1], "t\"2", "quoted, not spliced");
    }

    #[test]
    fn the_sample_thins_to_about_one_request_a_poll() {
        let mut s = Sampler::default();
        assert_eq!(s.one_in(), 1);
        for i in 0..40 {
            s.offer(Some(&format!("s{i}")), &format!("t{i}"));
        }
        assert_eq!(s.queued(), 40, "1 in 1 while little arrives");
        s.end_poll();
        assert_eq!(s.one_in(), 1);
        let mut s = Sampler::default();
        for i in 0..3_000 {
            s.offer(Some(&format!("s{i}")), &format!("t{i}"));
        }
        s.end_poll();
        assert_eq!(s.one_in(), 64, "3,000 new roots a poll: 1 in 64 gives ~47");
        let first = s.take(usize::MAX).len();
        assert!((20..=80).contains(&first), "about 3000/64 sampled: {first}");
        for i in 3_000..6_000 {
            s.offer(Some(&format!("s{i}")), &format!("t{i}"));
        }
        let q = s.queued();
        assert!((20..=80).contains(&q), "about 3000/64 sampled: {q}");
        assert!(q <= MAX_QUEUED);
        let got = s.take(SAMPLE_PER_POLL);
        assert_eq!(got.len(), q.min(SAMPLE_PER_POLL));
    }

    #[test]
    fn both_traces_of_a_session_are_in_or_out_together() {
        let mut s = Sampler::default();
        for i in 0..3_000 {
            s.offer(Some(&format!("x{i}")), &format!("y{i}"));
        }
        s.end_poll();
        s.take(usize::MAX);
        for i in 0..500 {
            s.offer(Some(&format!("hybrid-{i}")), &format!("ac-{i}"));
            s.offer(Some(&format!("hybrid-{i}")), &format!("eks-{i}"));
        }
        let got = s.take(usize::MAX);
        assert!(!got.is_empty());
        for t in &got {
            let n = t.split('-').nth(1).unwrap();
            assert!(got.contains(&format!("ac-{n}")) && got.contains(&format!("eks-{n}")));
        }
    }

    #[test]
    fn a_full_queue_thins_the_sample_instead_of_dropping_sessions() {
        let mut s = Sampler::default();
        for i in 0..10_000 {
            s.offer(None, &format!("t{i}"));
        }
        assert!(s.queued() <= MAX_QUEUED);
        assert!(s.one_in() >= 32, "10,000 into 200: {}", s.one_in());
        let one_in = s.one_in();
        let got = s.take(usize::MAX);
        assert!(got.len() > MAX_QUEUED / 4, "{}", got.len());
        assert!(
            got.iter().all(|t| key_hash(t).is_multiple_of(one_in)),
            "a 1-in-N sample"
        );
        assert!(
            got.windows(2)
                .all(|w| w[0][1..].parse::<u32>().unwrap() > w[1][1..].parse::<u32>().unwrap()),
            "newest first"
        );
    }
}
