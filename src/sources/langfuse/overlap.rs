//! How far back each poll re-reads. Observations reach Langfuse after they start (ingestion
//! lag, and a span is often written when it ends), so a poll that read `[from, now)` can miss
//! some that start inside it. Re-reading a fixed 2 minutes costs pages on every poll; at a
//! hundred observations a second it is more than the budget can pay. Instead the lateness of
//! what arrives (`updatedAt`, else `createdAt`, minus `startTime`) is measured, and the next
//! poll re-reads the 99th percentile of it with a margin — never less than the floor, never
//! more than the configured `overlap`, which also holds until enough has been measured.
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::time::Duration;

/// Samples kept (the most recent).
const SAMPLES: usize = 4_096;
/// Samples needed before the measurement replaces the configured overlap.
const MIN_SAMPLES: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Times {
    start_time: DateTime<Utc>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

/// Milliseconds between each observation's start and its last write to Langfuse, for those
/// that carry the times (`fields=time`; v1 always does).
pub fn lateness_ms(data: &[Value]) -> Vec<i64> {
    data.iter()
        .filter_map(|v| Times::deserialize(v).ok())
        .filter_map(|t| {
            let written = t.updated_at.or(t.created_at)?;
            Some((written - t.start_time).num_milliseconds().max(0))
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct AdaptiveOverlap {
    samples: VecDeque<i64>,
    floor: Duration,
    ceiling: Duration,
    adaptive: bool,
}

impl AdaptiveOverlap {
    pub fn new(floor: Duration, ceiling: Duration, adaptive: bool) -> Self {
        AdaptiveOverlap {
            samples: VecDeque::with_capacity(SAMPLES),
            floor: floor.min(ceiling),
            ceiling,
            adaptive,
        }
    }

    pub fn observe(&mut self, lateness: impl IntoIterator<Item = i64>) {
        for ms in lateness {
            if self.samples.len() == SAMPLES {
                self.samples.pop_front();
            }
            self.samples.push_back(ms);
        }
    }

    /// The 99th percentile of the lateness measured, when there is enough of it.
    pub fn p99(&self) -> Option<Duration> {
        if self.samples.len() < MIN_SAMPLES {
            return None;
        }
        let mut v: Vec<i64> = self.samples.iter().copied().collect();
        let k = (v.len() - 1) * 99 / 100;
        let (_, p, _) = v.select_nth_unstable(k);
        Some(Duration::from_millis(u64::try_from(*p).unwrap_or(0)))
    }

    /// What the next poll re-reads.
    pub fn overlap(&self) -> Duration {
        if !self.adaptive {
            return self.ceiling;
        }
        match self.p99() {
            // A quarter more than the slowest percent seen, within [floor, ceiling].
            Some(p) => p.mul_f64(1.25).clamp(self.floor, self.ceiling),
            None => self.ceiling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lateness_from_updated_else_created() {
        let v = [
            json!({"startTime": "2026-11-25T08:00:00Z", "createdAt": "2026-11-25T08:00:03Z",
                   "updatedAt": "2026-11-25T08:00:07.500Z"}),
            json!({"startTime": "2026-11-25T08:00:00Z", "createdAt": "2026-11-25T08:00:02Z"}),
            json!({"startTime": "2026-11-25T08:00:00Z"}),
            json!({"startTime": "2026-11-25T08:00:09Z", "createdAt": "2026-11-25T08:00:01Z"}),
            json!({"startTime": "not a time"}),
        ];
        assert_eq!(lateness_ms(&v), vec![7_500, 2_000, 0]);
    }

    #[test]
    fn measured_lateness_sets_the_overlap_within_its_bounds() {
        let (floor, ceil) = (Duration::from_secs(15), Duration::from_secs(120));
        let mut o = AdaptiveOverlap::new(floor, ceil, true);
        // Until measured: the configured overlap.
        assert_eq!(o.overlap(), ceil);
        o.observe((0..1000).map(|i| if i % 50 == 0 { 30_000 } else { 2_000 }));
        // Two in a hundred take 30 s: p99 is 30 s, the overlap 37.5 s.
        assert_eq!(o.overlap(), Duration::from_millis(37_500));
        let mut fast = AdaptiveOverlap::new(floor, ceil, true);
        fast.observe(std::iter::repeat_n(500, 200));
        assert_eq!(fast.overlap(), floor);
        let mut slow = AdaptiveOverlap::new(floor, ceil, true);
        slow.observe(std::iter::repeat_n(600_000, 200));
        assert_eq!(slow.overlap(), ceil);
        let mut fixed = AdaptiveOverlap::new(floor, ceil, false);
        fixed.observe(std::iter::repeat_n(500, 200));
        assert_eq!(fixed.overlap(), ceil);
        // Bounded memory: only the most recent samples count.
        let mut o = AdaptiveOverlap::new(floor, ceil, true);
        o.observe(std::iter::repeat_n(100_000, SAMPLES));
        o.observe(std::iter::repeat_n(1_000, SAMPLES));
        assert_eq!(o.samples.len(), SAMPLES);
        assert_eq!(o.overlap(), floor);
    }
}
