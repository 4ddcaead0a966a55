//! Traffic windows: per path a ring of fixed-length time buckets (10 s) holding counts, tokens,
//! AgentCore usage and a latency sketch. The ring covers the configured window plus the sparkline
//! history, so its size — and the memory — depend on configuration only, never on uptime.
use crate::model::quantile::{Sketch, WeightedQuantiles};
use crate::model::update::{Latency, TrafficBatch};
use std::time::Duration;

/// Nominal bucket length.
pub const BUCKET_SECS: u64 = 10;
/// Sparkline points kept per path.
pub const HISTORY_POINTS: usize = 120;
/// Buckets accepted ahead of `now` (a source whose clock runs slightly ahead of the app's).
const LOOKAHEAD: i64 = 6;
/// Never more buckets than this, whatever the window (bucket length grows instead).
const MAX_WINDOW_BUCKETS: u64 = 360;

/// The shared time axis: bucket geometry, `now`, and when data started.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub bucket_ms: i64,
    /// Buckets in the window (the newest one is partial, up to `now`).
    pub window_buckets: i64,
    /// Buckets in the ring: max(window, history) + lookahead.
    pub ring_len: i64,
    pub now_ms: i64,
    /// Start of the earliest traffic seen (for start-up rates).
    pub first_data_ms: Option<i64>,
}

impl Timeline {
    pub fn new(window: Duration) -> Timeline {
        let window_secs = window.as_secs().max(1);
        // 10 s buckets; a very long window (> 1 h) gets longer buckets so the ring stays ≤ 360.
        let bucket_secs = BUCKET_SECS.max(window_secs.div_ceil(MAX_WINDOW_BUCKETS));
        let window_buckets = window_secs.div_ceil(bucket_secs).max(1) as i64;
        let ring_len = window_buckets.max(HISTORY_POINTS as i64) + LOOKAHEAD;
        Timeline {
            bucket_ms: (bucket_secs * 1000) as i64,
            window_buckets,
            ring_len,
            now_ms: 0,
            first_data_ms: None,
        }
    }

    #[inline]
    pub fn idx(&self, t_ms: i64) -> i64 {
        t_ms.div_euclid(self.bucket_ms)
    }

    pub fn now_idx(&self) -> i64 {
        self.idx(self.now_ms)
    }

    /// Whether a bucket index can be stored without displacing a bucket still in use.
    #[inline]
    pub fn accepts(&self, idx: i64) -> bool {
        let n = self.now_idx();
        idx <= n + LOOKAHEAD && idx > n + LOOKAHEAD - self.ring_len
    }

    /// First bucket of the window.
    pub fn window_first_idx(&self) -> i64 {
        self.now_idx() - self.window_buckets + 1
    }

    /// Oldest bucket the ring can still hold at `now`.
    pub fn ring_first_idx(&self) -> i64 {
        self.now_idx() + LOOKAHEAD - self.ring_len + 1
    }

    /// How far back the ring reaches: what a source must backfill for full sparklines.
    pub fn history_span_ms(&self) -> i64 {
        (self.ring_len - LOOKAHEAD) * self.bucket_ms
    }

    /// The window of a path fed by delayed metrics (CloudWatch) that has reported
    /// `[from_ms, through_ms)`: the window's worth of buckets ending at `through_ms` rather than at
    /// `now`, and the seconds they cover (from `from_ms` if later — start-up). `None` when the
    /// coverage has fallen out of the ring (the source stopped long ago: no figures rather than
    /// old ones passed off as current).
    pub fn covered_window(&self, from_ms: i64, through_ms: i64) -> Option<(i64, i64, f64)> {
        let last = self.idx(through_ms - 1);
        if last < self.ring_first_idx() || through_ms <= from_ms {
            return None;
        }
        let first = last - self.window_buckets + 1;
        let start = (first * self.bucket_ms).max(from_ms);
        let span = (through_ms - start).max(1000);
        Some((first, last, span as f64 / 1000.0))
    }

    /// The span the window's counts cover, in seconds: from the first window bucket's start (or
    /// the first data, if later — start-up) to `now`. Rates divide by this rather than by the
    /// nominal window so that (a) right after start-up a 30 s-old dashboard does not report a
    /// tenth of the true rate, and (b) the partially filled newest bucket is not counted as a
    /// full one. `None` before any traffic. Floored at one second so a burst stamped at `now`
    /// cannot divide by zero.
    pub fn covered_secs(&self) -> Option<f64> {
        let first = self.first_data_ms?;
        let start = (self.window_first_idx() * self.bucket_ms).max(first);
        let span = (self.now_ms - start).max(1000);
        Some(span as f64 / 1000.0)
    }

    /// Covered seconds of one bucket (for per-bucket history rates).
    pub fn bucket_covered_secs(&self, idx: i64) -> f64 {
        let start = idx * self.bucket_ms;
        let start = match self.first_data_ms {
            Some(f) => start.max(f),
            None => start,
        };
        let end = ((idx + 1) * self.bucket_ms).min(self.now_ms.max(start));
        ((end - start).max(1000)) as f64 / 1000.0
    }
}

#[derive(Clone, Debug)]
pub struct Bucket {
    /// Bucket number (`t / bucket_ms`); `i64::MIN` when never used.
    pub idx: i64,
    pub requests: f64,
    pub errors: f64,
    pub throttles: f64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub sketch: Option<Box<Sketch>>,
    pub quantiles: WeightedQuantiles,
    /// AgentCore runtime cost (vCPU + memory) attributed to this bucket, and how many seconds of
    /// it the usage intervals covered.
    pub usage_usd: f64,
    pub usage_secs: f64,
    /// EKS: GPU nodes in use during this bucket (max seen).
    pub gpu_nodes: Option<f64>,
    /// Sessions created in this bucket (CloudWatch `SessionCount`, spread like traffic).
    pub sessions: f64,
}

impl Bucket {
    fn empty() -> Bucket {
        Bucket {
            idx: i64::MIN,
            requests: 0.0,
            errors: 0.0,
            throttles: 0.0,
            input_tokens: 0.0,
            output_tokens: 0.0,
            sketch: None,
            quantiles: WeightedQuantiles::default(),
            usage_usd: 0.0,
            usage_secs: 0.0,
            gpu_nodes: None,
            sessions: 0.0,
        }
    }

    fn reset(&mut self, idx: i64) {
        // Keep the sketch allocation only if it was unused; a used one is dropped so its bins
        // do not carry over.
        *self = Bucket {
            idx,
            ..Bucket::empty()
        };
    }

    /// This bucket's p95: the sketch's, blended with pre-computed percentiles by request weight
    /// (`quantile::combine`, so the history and the headline figure agree).
    pub fn p95(&self) -> Option<f64> {
        super::quantile::combine(self.sketch.as_deref(), &self.quantiles).map(|q| q[1])
    }
}

/// Sums over the window.
#[derive(Clone, Debug, Default)]
pub struct WindowStats {
    pub requests: f64,
    pub errors: f64,
    pub throttles: f64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub sketch: Sketch,
    pub quantiles: WeightedQuantiles,
    pub usage_usd: f64,
    pub usage_secs: f64,
    /// Sessions created (CloudWatch `SessionCount`), for paths whose source reports them.
    pub sessions: f64,
}

/// One path's ring.
#[derive(Clone, Debug)]
pub struct PathWindow {
    buckets: Vec<Bucket>,
}

impl PathWindow {
    pub fn new(tl: &Timeline) -> PathWindow {
        PathWindow {
            buckets: vec![Bucket::empty(); tl.ring_len as usize],
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Largest sketch (bins) in the ring — memory bound checks.
    pub fn max_sketch_bins(&self) -> usize {
        self.buckets
            .iter()
            .filter_map(|b| b.sketch.as_ref().map(|s| s.bins()))
            .max()
            .unwrap_or(0)
    }

    #[inline]
    fn slot_of(&self, idx: i64) -> usize {
        idx.rem_euclid(self.buckets.len() as i64) as usize
    }

    /// The bucket for `idx`, reset if its slot held an older bucket; `None` if `idx` is out of the
    /// accepted range or the slot already holds a newer bucket (data too old to keep).
    fn bucket_mut(&mut self, tl: &Timeline, idx: i64) -> Option<&mut Bucket> {
        if !tl.accepts(idx) || self.buckets.is_empty() {
            return None;
        }
        let slot = self.slot_of(idx);
        let b = &mut self.buckets[slot];
        if b.idx != idx {
            if b.idx > idx {
                return None;
            }
            b.reset(idx);
        }
        Some(b)
    }

    pub fn bucket(&self, idx: i64) -> Option<&Bucket> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = &self.buckets[self.slot_of(idx)];
        (b.idx == idx).then_some(b)
    }

    /// Visit each accepted bucket overlapping `[s, e)` with the fraction of the interval it
    /// covers and the overlap in ms. A zero-length (or inverted) interval is a point at `s`.
    fn spread(&mut self, tl: &Timeline, s: i64, e: i64, mut f: impl FnMut(&mut Bucket, f64, i64)) {
        if e <= s {
            if let Some(b) = self.bucket_mut(tl, tl.idx(s)) {
                f(b, 1.0, 0);
            }
            return;
        }
        let len = (e - s) as f64;
        let n = tl.now_idx();
        // Clip to the accepted range so a hostile interval spanning years costs ≤ ring_len steps.
        let lo = tl.idx(s).max(n + LOOKAHEAD - tl.ring_len + 1);
        let hi = tl.idx(e - 1).min(n + LOOKAHEAD);
        let mut idx = lo;
        while idx <= hi {
            let bs = idx * tl.bucket_ms;
            let be = bs + tl.bucket_ms;
            let overlap = e.min(be) - s.max(bs);
            if overlap > 0 {
                if let Some(b) = self.bucket_mut(tl, idx) {
                    f(b, overlap as f64 / len, overlap);
                }
            }
            idx += 1;
        }
    }

    /// Add one traffic batch, spread over the buckets its interval overlaps in proportion to the
    /// overlap (a CloudWatch minute lands evenly in six 10 s buckets).
    pub fn add_traffic(&mut self, tl: &Timeline, batch: &TrafficBatch) {
        let s = batch.start.timestamp_millis();
        let e = batch.end.timestamp_millis();
        let (req, err, thr) = (
            batch.requests as f64,
            batch.errors as f64,
            batch.throttles as f64,
        );
        let (itok, otok) = (batch.input_tokens as f64, batch.output_tokens as f64);
        let quantiles = match &batch.latency {
            Latency::Quantiles { p50, p95, p99 } => Some((*p50, *p95, *p99)),
            _ => None,
        };
        self.spread(tl, s, e, |b, frac, _| {
            b.requests += req * frac;
            b.errors += err * frac;
            b.throttles += thr * frac;
            b.input_tokens += itok * frac;
            b.output_tokens += otok * frac;
            if let Some((p50, p95, p99)) = quantiles {
                // A batch with percentiles but no request count still carries one unit of weight.
                b.quantiles.add(req.max(1.0) * frac, p50, p95, p99);
            }
        });
        if let Latency::Samples { ms } = &batch.latency {
            self.add_samples(tl, s, e, ms);
        }
    }

    /// Samples have no timestamps of their own: sample i of n is placed at the middle of the
    /// i-th n-th of the interval, so a batch straddling buckets splits its samples in proportion.
    fn add_samples(&mut self, tl: &Timeline, s: i64, e: i64, ms: &[f64]) {
        if ms.is_empty() {
            return;
        }
        let n = ms.len() as f64;
        let len = (e - s).max(0) as f64;
        let mut cur_idx = i64::MIN;
        let mut cur_slot: Option<usize> = None;
        for (i, &v) in ms.iter().enumerate() {
            let t = s + (len * (i as f64 + 0.5) / n) as i64;
            let idx = tl.idx(t);
            if idx != cur_idx {
                cur_idx = idx;
                cur_slot = self
                    .bucket_mut(tl, idx)
                    .is_some()
                    .then(|| self.slot_of(idx));
            }
            if let Some(slot) = cur_slot {
                self.buckets[slot]
                    .sketch
                    .get_or_insert_with(|| Box::new(Sketch::new()))
                    .add(v);
            }
        }
    }

    /// AgentCore runtime usage: cost spread like traffic, with the seconds it covers.
    pub fn add_usage(&mut self, tl: &Timeline, s: i64, e: i64, usd: f64) {
        if !usd.is_finite() || usd < 0.0 {
            return;
        }
        self.spread(tl, s, e, |b, frac, overlap_ms| {
            b.usage_usd += usd * frac;
            b.usage_secs += overlap_ms as f64 / 1000.0;
        });
    }

    /// Sessions created over `[s, e)`, spread like traffic.
    pub fn add_sessions(&mut self, tl: &Timeline, s: i64, e: i64, n: f64) {
        if !n.is_finite() || n < 0.0 {
            return;
        }
        self.spread(tl, s, e, |b, frac, _| b.sessions += n * frac);
    }

    /// Record GPU nodes in use at `t` (EKS paths).
    pub fn note_nodes(&mut self, tl: &Timeline, t: i64, nodes: f64) {
        if let Some(b) = self.bucket_mut(tl, tl.idx(t)) {
            b.gpu_nodes = Some(b.gpu_nodes.map_or(nodes, |n| n.max(nodes)));
        }
    }

    /// Requests in the newest buckets covering about `secs` seconds (the current, partial bucket
    /// included): the recent split, which follows a weight change within a minute.
    pub fn recent_requests(&self, tl: &Timeline, secs: i64) -> f64 {
        let k = (secs * 1000 / tl.bucket_ms).max(1);
        let now = tl.now_idx();
        (now - k + 1..=now)
            .filter_map(|i| self.bucket(i))
            .map(|b| b.requests)
            .sum()
    }

    /// One request at `t_ms` with its latency (a trace's root observation).
    pub fn add_request(&mut self, tl: &Timeline, t_ms: i64, latency_ms: Option<f64>, error: bool) {
        if let Some(b) = self.bucket_mut(tl, tl.idx(t_ms)) {
            b.requests += 1.0;
            if error {
                b.errors += 1.0;
            }
            if let Some(ms) = latency_ms.filter(|v| v.is_finite() && *v >= 0.0) {
                b.sketch
                    .get_or_insert_with(|| Box::new(Sketch::new()))
                    .add(ms);
            }
        }
    }

    /// Whether any bucket of the window holds a request.
    pub fn has_requests(&self, tl: &Timeline) -> bool {
        (tl.window_first_idx()..=tl.now_idx())
            .filter_map(|idx| self.bucket(idx))
            .any(|b| b.requests > 0.0)
    }

    /// Sum the window's buckets and merge their sketches.
    pub fn aggregate(&self, tl: &Timeline) -> WindowStats {
        self.aggregate_range(tl, tl.window_first_idx(), tl.now_idx())
    }

    /// Runtime usage in buckets `first..=last`: dollars and the seconds the usage intervals
    /// covered.
    pub fn usage_range(&self, tl: &Timeline, first: i64, last: i64) -> (f64, f64) {
        let bucket_secs = tl.bucket_ms as f64 / 1000.0;
        (first..=last)
            .filter_map(|idx| self.bucket(idx))
            .fold((0.0, 0.0), |(usd, secs), b| {
                (usd + b.usage_usd, secs + b.usage_secs.min(bucket_secs))
            })
    }

    /// Sum buckets `first..=last` (a metrics-fed path's window ends where its data ends).
    pub fn aggregate_range(&self, tl: &Timeline, first: i64, last: i64) -> WindowStats {
        let mut w = WindowStats::default();
        let bucket_secs = tl.bucket_ms as f64 / 1000.0;
        for idx in first..=last {
            let Some(b) = self.bucket(idx) else { continue };
            w.requests += b.requests;
            w.errors += b.errors;
            w.throttles += b.throttles;
            w.input_tokens += b.input_tokens;
            w.output_tokens += b.output_tokens;
            if let Some(sk) = &b.sketch {
                w.sketch.merge(sk);
            }
            w.quantiles.merge(&b.quantiles);
            w.usage_usd += b.usage_usd;
            w.sessions += b.sessions;
            // Overlapping usage intervals (several sessions) cover a bucket once.
            w.usage_secs += b.usage_secs.min(bucket_secs);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::path::PathId;
    use chrono::{DateTime, TimeZone, Utc};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn batch(s: i64, e: i64, req: u64, samples: Vec<f64>) -> TrafficBatch {
        TrafficBatch {
            path: PathId::from("p"),
            start: t(s),
            end: t(e),
            requests: req,
            errors: 0,
            throttles: 0,
            input_tokens: 0,
            output_tokens: 0,
            latency: Latency::Samples { ms: samples },
        }
    }

    #[test]
    fn geometry() {
        let tl = Timeline::new(Duration::from_secs(300));
        assert_eq!(tl.bucket_ms, 10_000);
        assert_eq!(tl.window_buckets, 30);
        assert_eq!(tl.ring_len, 126);
        let tl = Timeline::new(Duration::from_secs(24 * 3600));
        assert_eq!(tl.window_buckets, 360);
        assert_eq!(tl.bucket_ms, 240_000);
    }

    #[test]
    fn spreads_minute_batch_over_six_buckets() {
        let mut tl = Timeline::new(Duration::from_secs(300));
        tl.now_ms = t(60).timestamp_millis();
        tl.first_data_ms = Some(t(0).timestamp_millis());
        let mut w = PathWindow::new(&tl);
        w.add_traffic(&tl, &batch(0, 60, 600, vec![10.0; 60]));
        for k in 0..6 {
            let b = w.bucket(tl.idx(t(k * 10).timestamp_millis())).unwrap();
            assert!((b.requests - 100.0).abs() < 1e-9);
            assert_eq!(b.sketch.as_ref().unwrap().count(), 10);
        }
        let agg = w.aggregate(&tl);
        assert!((agg.requests - 600.0).abs() < 1e-9);
        assert_eq!(agg.sketch.count(), 60);
        // Start-up: covered span is 60 s, not 300 s.
        assert_eq!(tl.covered_secs(), Some(60.0));
    }

    #[test]
    fn rollover_drops_old_buckets_and_memory_is_fixed() {
        let mut tl = Timeline::new(Duration::from_secs(300));
        tl.first_data_ms = Some(t(0).timestamp_millis());
        let mut w = PathWindow::new(&tl);
        let ring = w.len();
        for sec in 0..10_000i64 {
            tl.now_ms = t(sec + 1).timestamp_millis();
            w.add_traffic(&tl, &batch(sec, sec + 1, 2, vec![5.0, 50.0]));
        }
        assert_eq!(w.len(), ring);
        let agg = w.aggregate(&tl);
        // `now` sits on a bucket boundary: 29 full buckets plus an empty newest one.
        let covered = tl.covered_secs().unwrap();
        assert!((covered - 290.0).abs() < 1e-9, "{covered}");
        assert!(
            (agg.requests - 2.0 * covered).abs() < 1e-6,
            "{}",
            agg.requests
        );
        assert!(w.max_sketch_bins() <= crate::model::quantile::MAX_BINS as usize);
        // Data older than the ring is refused; far-future data too.
        w.add_traffic(&tl, &batch(0, 1, 1_000, vec![]));
        w.add_traffic(&tl, &batch(90_000, 90_001, 1_000, vec![]));
        let again = w.aggregate(&tl);
        assert!((again.requests - agg.requests).abs() < 1e-9);
    }

    #[test]
    fn out_of_order_within_ring_is_kept() {
        let mut tl = Timeline::new(Duration::from_secs(300));
        tl.first_data_ms = Some(t(0).timestamp_millis());
        tl.now_ms = t(200).timestamp_millis();
        let mut w = PathWindow::new(&tl);
        w.add_traffic(&tl, &batch(190, 191, 5, vec![]));
        w.add_traffic(&tl, &batch(100, 101, 7, vec![]));
        assert!((w.aggregate(&tl).requests - 12.0).abs() < 1e-9);
    }

    #[test]
    fn hostile_interval_is_clipped() {
        let mut tl = Timeline::new(Duration::from_secs(300));
        tl.now_ms = t(0).timestamp_millis();
        tl.first_data_ms = Some(tl.now_ms);
        let mut w = PathWindow::new(&tl);
        let mut b = batch(-10_000_000, 10, 1_000_000, vec![1.0; 10]);
        b.start = DateTime::<Utc>::MIN_UTC;
        w.add_traffic(&tl, &b);
        let agg = w.aggregate(&tl);
        assert!(agg.requests.is_finite());
    }
}
