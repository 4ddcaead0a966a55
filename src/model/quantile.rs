//! Latency sketches: a thin wrapper over DDSketch (relative-error quantiles, mergeable), plus the
//! request-weighted mean used for pre-computed percentiles (CloudWatch extended statistics).
use sketches_ddsketch::{Config, DDSketch};

/// Relative accuracy. Slightly under 1 % so floating-point rounding at bin edges can never push an
/// estimate past the promised ≤ 1 % (see `tests::accuracy_*`).
pub const RELATIVE_ACCURACY: f64 = 0.0099;
/// Bins per sketch. With α≈1 % one bin spans ×1.02, so 2048 bins cover a ×10¹⁷ range before the
/// lowest bins collapse; it also caps a sketch's memory at 16 KiB (typical latencies use ~400).
pub const MAX_BINS: u32 = 2048;
/// Latencies at or below this are counted as zero.
const MIN_VALUE: f64 = 1e-6;

fn config() -> Config {
    Config::new(RELATIVE_ACCURACY, MAX_BINS, MIN_VALUE)
}

/// A mergeable latency sketch (milliseconds).
#[derive(Clone)]
pub struct Sketch {
    inner: DDSketch,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new()
    }
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketch")
            .field("count", &self.count())
            .finish()
    }
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            inner: DDSketch::new(config()),
        }
    }

    /// Add one sample; non-finite and negative values are ignored (a latency cannot be either).
    #[inline]
    pub fn add(&mut self, ms: f64) {
        if ms.is_finite() && ms >= 0.0 {
            self.inner.add(ms);
        }
    }

    pub fn count(&self) -> u64 {
        self.inner.count() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.inner.count() == 0
    }

    pub fn merge(&mut self, other: &Sketch) {
        if other.is_empty() {
            return;
        }
        // Every sketch here shares one config, so merge cannot fail; ignore rather than panic.
        let _ = self.inner.merge(&other.inner);
    }

    /// The q-quantile (0 ≤ q ≤ 1), `None` when empty. Uses the lower-rank definition
    /// (`rank = ⌊q·(n−1)⌋`), the same as `exact_quantile`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        self.inner
            .quantile(q)
            .ok()
            .flatten()
            .filter(|v| v.is_finite())
    }

    /// Number of allocated bins (memory bound check).
    pub fn bins(&self) -> usize {
        self.inner.length()
    }
}

/// Exact lower-rank quantile of sorted data (for tests and documentation of the definition).
pub fn exact_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * (sorted.len() as f64 - 1.0)) as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// Running request-weighted sums of pre-computed percentiles.
///
/// CloudWatch gives p50/p95/p99 per minute, not samples, and percentiles of different minutes
/// cannot be merged exactly. The request-weighted mean is the best estimate available without the
/// underlying distribution: it equals the true value when the minutes share a distribution, it
/// lets busy minutes dominate quiet ones (as they do in the true window percentile), and it is
/// cheap and order-independent. It can understate a tail that lives in one busy minute, which is
/// why sampled sources (simulator, traces) go through the sketch instead.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WeightedQuantiles {
    pub weight: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl WeightedQuantiles {
    pub fn add(&mut self, weight: f64, p50: f64, p95: f64, p99: f64) {
        if !(weight.is_finite() && weight > 0.0) {
            return;
        }
        if ![p50, p95, p99].iter().all(|v| v.is_finite() && *v >= 0.0) {
            return;
        }
        self.weight += weight;
        self.p50 += weight * p50;
        self.p95 += weight * p95;
        self.p99 += weight * p99;
    }

    pub fn merge(&mut self, o: &WeightedQuantiles) {
        self.weight += o.weight;
        self.p50 += o.p50;
        self.p95 += o.p95;
        self.p99 += o.p99;
    }

    pub fn is_empty(&self) -> bool {
        self.weight <= 0.0
    }

    pub fn mean(&self) -> Option<[f64; 3]> {
        if self.is_empty() {
            return None;
        }
        Some([
            self.p50 / self.weight,
            self.p95 / self.weight,
            self.p99 / self.weight,
        ])
    }
}

/// Combine a sketch and weighted pre-computed percentiles into p50/p95/p99, each weighted by how
/// many requests it stands for, then forced monotonic (p50 ≤ p95 ≤ p99).
pub fn combine(sketch: Option<&Sketch>, wq: &WeightedQuantiles) -> Option<[f64; 3]> {
    let sketch = sketch.filter(|s| !s.is_empty());
    let from_sketch = match sketch {
        None => None,
        Some(sketch) => match (
            sketch.quantile(0.50),
            sketch.quantile(0.95),
            sketch.quantile(0.99),
        ) {
            (Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        },
    };
    let q = match (from_sketch, wq.mean()) {
        (None, None) => return None,
        (Some(s), None) => s,
        (None, Some(m)) => m,
        (Some(s), Some(m)) => {
            let ns = sketch.map_or(0.0, |s| s.count() as f64);
            let nq = wq.weight;
            let t = ns + nq;
            [
                (s[0] * ns + m[0] * nq) / t,
                (s[1] * ns + m[1] * nq) / t,
                (s[2] * ns + m[2] * nq) / t,
            ]
        }
    };
    Some(monotonic(q))
}

/// Enforce p50 ≤ p95 ≤ p99 and finiteness.
pub fn monotonic(q: [f64; 3]) -> [f64; 3] {
    let f = |v: f64| if v.is_finite() && v >= 0.0 { v } else { 0.0 };
    let p50 = f(q[0]);
    let p95 = f(q[1]).max(p50);
    let p99 = f(q[2]).max(p95);
    [p50, p95, p99]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Exp, LogNormal, Pareto, Uniform};

    const QS: [f64; 9] = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

    fn check(data: &mut [f64], label: &str) {
        let mut sk = Sketch::new();
        for &v in data.iter() {
            sk.add(v);
        }
        data.sort_by(|a, b| a.total_cmp(b));
        for q in QS.iter().copied().chain([0.999, 1.0]) {
            let exact = exact_quantile(data, q).unwrap();
            let est = sk.quantile(q).unwrap();
            let rel = if exact == 0.0 {
                est.abs()
            } else {
                (est - exact).abs() / exact
            };
            assert!(
                rel <= 0.01,
                "{label}: q={q} exact={exact} est={est} rel={rel}"
            );
        }
    }

    #[test]
    fn accuracy_across_distributions() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 50_000;
        let lognormal = LogNormal::new(3.5, 0.8).unwrap();
        let mut d: Vec<f64> = (0..n).map(|_| lognormal.sample(&mut rng)).collect();
        check(&mut d, "lognormal");
        let exp = Exp::new(1.0 / 40.0).unwrap();
        let mut d: Vec<f64> = (0..n).map(|_| exp.sample(&mut rng)).collect();
        check(&mut d, "exponential");
        let pareto = Pareto::new(5.0, 1.2).unwrap();
        let mut d: Vec<f64> = (0..n).map(|_| pareto.sample(&mut rng)).collect();
        check(&mut d, "pareto");
        let uni = Uniform::new(0.5, 5000.0).unwrap();
        let mut d: Vec<f64> = (0..n).map(|_| uni.sample(&mut rng)).collect();
        check(&mut d, "uniform");
        // Bimodal: fast EKS answers plus slow escalations.
        let mut d: Vec<f64> = (0..n)
            .map(|_| {
                if rng.random_bool(0.9) {
                    20.0 + rng.random::<f64>() * 10.0
                } else {
                    800.0 + rng.random::<f64>() * 400.0
                }
            })
            .collect();
        check(&mut d, "bimodal");
        let mut d = vec![42.0; 1000];
        check(&mut d, "constant");
    }

    #[test]
    fn merged_buckets_equal_accuracy() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let ln = LogNormal::new(4.0, 1.0).unwrap();
        let mut all = Vec::new();
        let mut merged = Sketch::new();
        for _ in 0..30 {
            let mut b = Sketch::new();
            for _ in 0..500 {
                let v = ln.sample(&mut rng);
                all.push(v);
                b.add(v);
            }
            merged.merge(&b);
        }
        all.sort_by(|a, b| a.total_cmp(b));
        for q in QS {
            let exact = exact_quantile(&all, q).unwrap();
            let est = merged.quantile(q).unwrap();
            assert!((est - exact).abs() / exact <= 0.01, "q={q}");
        }
        assert_eq!(merged.count(), 15_000);
    }

    #[test]
    fn odd_values_are_ignored() {
        let mut s = Sketch::new();
        s.add(f64::NAN);
        s.add(f64::INFINITY);
        s.add(-5.0);
        assert!(s.is_empty());
        assert_eq!(s.quantile(0.5), None);
        s.add(10.0);
        assert_eq!(s.count(), 1);
        assert_eq!(s.quantile(2.0), None);
    }

    #[test]
    fn combine_weights_and_monotonic() {
        let mut wq = WeightedQuantiles::default();
        wq.add(100.0, 10.0, 50.0, 40.0); // p99 < p95 from a bad source
        wq.add(300.0, 20.0, 60.0, 90.0);
        let q = combine(Some(&Sketch::new()), &wq).unwrap();
        assert!((q[0] - 17.5).abs() < 1e-9);
        assert!((q[1] - 57.5).abs() < 1e-9);
        assert!((q[2] - 77.5).abs() < 1e-9);
        assert_eq!(monotonic([5.0, 3.0, 1.0]), [5.0, 5.0, 5.0]);
        assert_eq!(monotonic([f64::NAN, 3.0, 1.0]), [0.0, 3.0, 3.0]);
        wq.add(f64::NAN, 1.0, 1.0, 1.0);
        wq.add(1.0, f64::INFINITY, 1.0, 1.0);
        assert_eq!(wq.weight, 400.0);
        assert_eq!(combine(None, &WeightedQuantiles::default()), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn accuracy_random(data in proptest::collection::vec(0.001f64..1.0e6, 1..2000),
                           q in 0.0f64..=1.0) {
            let mut sk = Sketch::new();
            for &v in &data { sk.add(v); }
            let mut sorted = data.clone();
            sorted.sort_by(|a, b| a.total_cmp(b));
            let exact = exact_quantile(&sorted, q).unwrap();
            let est = sk.quantile(q).unwrap();
            prop_assert!((est - exact).abs() / exact <= 0.01, "exact={} est={}", exact, est);
        }
    }
}
