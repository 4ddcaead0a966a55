//! Model benchmarks: correlation ingest throughput and the heap that 1M retained observations
//! take, sketch insert/merge, snapshot JSON serialisation alone and a full derive + JSON on a
//! populated state.
// A bench (or test tool) may panic on a broken set-up: it is not the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches and tests report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]
use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hybridtop::config::Config;
use hybridtop::domain::path::{PathId, Side};
use hybridtop::model::correlation::Correlator;
use hybridtop::model::quantile::Sketch;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::model::update::{
    FleetUpdate, Latency, Level, Observation, Pod, TrafficBatch, Update,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::hint::black_box;
use std::sync::atomic::Ordering;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{Counting, LIVE};

#[global_allocator]
static ALLOC: Counting = Counting;

const T0_MS: i64 = 1_800_000_000_000;

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(T0_MS + ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Observations shaped like the seed's hybrid traffic: sessions of 3–9 spans, an EKS root, some
/// escalating to AgentCore Sonnet, some with a declared `ac-{session}` parent, one in ten
/// re-delivered (Langfuse polling overlap).
fn observations(n: usize, seed: u64, max_gap_ms: i64) -> Vec<Observation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut session = 0u64;
    let mut t = 0i64;
    while out.len() < n {
        session += 1;
        t += rng.random_range(0..max_gap_ms);
        let sid = format!("s-{session}");
        let spans = rng.random_range(3..10);
        let escalate = rng.random_bool(0.2);
        let mut st = t;
        for k in 0..spans {
            if out.len() >= n {
                break;
            }
            st += rng.random_range(5..400);
            let eks_side = !(escalate && k >= spans / 2);
            let (trace, model, tag, parent) = if eks_side {
                (
                    format!("eks-vllm-qwen3-7d9f-abcde-{:x}", session * 16 + k),
                    "Qwen/Qwen3-4B",
                    "path:eks-qwen3",
                    (k == 0).then(|| format!("ac-{sid}")),
                )
            } else {
                (
                    format!("ac-{sid}-{}", 1_732_521_600_000i64 + st),
                    "us.anthropic.claude-sonnet-4-5",
                    "path:agentcore-sonnet",
                    None,
                )
            };
            let o = Observation {
                id: format!("{session:x}-{k}"),
                trace_id: trace,
                session_id: Some(format!("hybrid-{sid}")),
                parent_observation_id: (k > 0).then(|| format!("{session:x}-0")),
                name: if k == 0 {
                    "agent".into()
                } else {
                    "llm-call".into()
                },
                start: at_ms(st),
                end: Some(at_ms(st + rng.random_range(10..900))),
                model: Some(model.into()),
                tags: vec![tag.into()],
                parent_ref: parent,
                level: if rng.random_bool(0.02) {
                    Level::Error
                } else {
                    Level::Default
                },
                status_message: None,
                input_tokens: Some(rng.random_range(100..2000)),
                output_tokens: Some(rng.random_range(20..500)),
                cost_usd: Some(0.0004),
                side: None,
                input: None,
                output: None,
                html_path: None,
                user_id: None,
            };
            if rng.random_bool(0.1) {
                out.push(o.clone());
            }
            out.push(o);
        }
    }
    out.truncate(n);
    out
}

fn config() -> Config {
    Config::demo()
}

fn bench_correlation(c: &mut Criterion) {
    let cfg = config();
    let rules = match cfg.correlation_rules() {
        Ok(r) => r,
        Err(e) => panic!("demo rules: {e}"),
    };
    retained_heap(&rules, &cfg);
    let n = 1_000_000;
    let obs = observations(n, 1, 40);
    let mut g = c.benchmark_group("correlation");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("ingest_1M_borrowed", |b| {
        b.iter_batched(
            || Correlator::new(&rules, &cfg.paths),
            |mut corr| {
                for o in &obs {
                    corr.ingest(o);
                }
                corr.enforce_bounds();
                corr
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ingest_1M_owned", |b| {
        b.iter_batched(
            || (Correlator::new(&rules, &cfg.paths), obs.clone()),
            |(mut corr, items)| {
                corr.ingest_batch(items);
                corr
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Heap held by a correlator that keeps at least 1M distinct observations (bounds raised so that
/// nothing is evicted), measured by the counting allocator. Target: ≤ 300 MB.
fn retained_heap(rules: &hybridtop::config::CorrelationRules, cfg: &Config) {
    let mut rules = rules.clone();
    rules.max_sessions = 1_000_000;
    rules.max_spans_per_session = 10_000;
    rules.retention = std::time::Duration::from_secs(30 * 86_400);
    // One in ten generated observations is a re-delivery, so generate enough for 1M distinct.
    let obs = observations(1_112_000, 7, 40);
    let before = LIVE.load(Ordering::Relaxed);
    let mut corr = Correlator::new(&rules, &cfg.paths);
    for o in &obs {
        corr.ingest(o);
    }
    corr.enforce_bounds();
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let spans = corr.span_count();
    eprintln!(
        "correlation/retained: {spans} spans in {} sessions hold {:.1} MB of heap ({:.0} B a span)",
        corr.session_count(),
        held as f64 / 1e6,
        held as f64 / spans.max(1) as f64
    );
    assert!(spans >= 1_000_000, "only {spans} spans retained");
    drop(corr);
}

fn bench_sketch(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let ln = LogNormal::new(3.5, 0.8).unwrap_or_else(|e| panic!("{e}"));
    let samples: Vec<f64> = (0..10_000).map(|_| ln.sample(&mut rng)).collect();
    let mut g = c.benchmark_group("sketch");
    g.throughput(Throughput::Elements(samples.len() as u64));
    g.bench_function("insert_10k", |b| {
        b.iter(|| {
            let mut s = Sketch::new();
            for &v in &samples {
                s.add(v);
            }
            black_box(s)
        })
    });
    // A 5-minute window: 30 bucket sketches of 500 samples, merged, three quantiles read.
    let buckets: Vec<Sketch> = samples
        .chunks(samples.len() / 30)
        .take(30)
        .map(|ch| {
            let mut s = Sketch::new();
            ch.iter().for_each(|&v| s.add(v));
            s
        })
        .collect();
    g.throughput(Throughput::Elements(30));
    g.bench_function("merge_30_buckets_and_quantiles", |b| {
        b.iter(|| {
            let mut m = Sketch::new();
            for s in &buckets {
                m.merge(s);
            }
            black_box((m.quantile(0.5), m.quantile(0.95), m.quantile(0.99)))
        })
    });
    g.finish();
}

/// 30 minutes of demo-like traffic, a fleet, and ~5000 sessions.
fn populated_state() -> State {
    let mut s = State::new(&config(), Mode::Demo);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let ln = LogNormal::new(3.2, 0.6).unwrap_or_else(|e| panic!("{e}"));
    let paths = [
        ("eks-qwen3", 7u64),
        ("agentcore-haiku", 2),
        ("agentcore-sonnet", 1),
    ];
    let pods: Vec<Pod> = (0..8)
        .map(|i| Pod {
            namespace: "agents".into(),
            name: format!("vllm-qwen3-7d9f-{i:05}"),
            phase: "Running".into(),
            ready: i < 7,
            ready_containers: 1,
            total_containers: 1,
            restarts: 0,
            node: Some(format!("ip-10-0-1-{i}")),
            created_at: at_ms(0),
            reason: None,
            path: Some(PathId::from("eks-qwen3")),
            message: None,
        })
        .collect();
    s.apply(Update::Fleet(FleetUpdate::Replace {
        pods,
        scaled_objects: vec![],
    }));
    let obs = observations(35_000, 4, 620);
    let per_sec = obs.len() / 1800 + 1;
    let mut chunks = obs.chunks(per_sec);
    for sec in 0..1800i64 {
        for (p, rate) in paths {
            let n = rate * 5;
            s.apply(Update::Traffic(TrafficBatch {
                path: PathId::from(p),
                start: at_ms(sec * 1000),
                end: at_ms(sec * 1000 + 1000),
                requests: n,
                errors: u64::from(rng.random_bool(0.05)),
                throttles: 0,
                input_tokens: n * 900,
                output_tokens: n * 200,
                latency: Latency::Samples {
                    ms: (0..n).map(|_| ln.sample(&mut rng)).collect(),
                },
            }));
        }
        if let Some(ch) = chunks.next() {
            s.apply(Update::Observations { items: ch.to_vec() });
        }
        s.apply(Update::Clock {
            now: at_ms(sec * 1000 + 1000),
        });
    }
    s
}

fn bench_snapshot(c: &mut Criterion) {
    let mut state = populated_state();
    let opts = DeriveOptions {
        selected_session: Some("s-4000".into()),
        ..DeriveOptions::default()
    };
    let snap = state.snapshot(&opts);
    eprintln!(
        "populated state: {} sessions, {} spans, json {} bytes, {} EKS-side sessions",
        snap.sessions.all.len(),
        state.correlator().span_count(),
        serde_json::to_string(&snap).map(|j| j.len()).unwrap_or(0),
        snap.sessions
            .all
            .iter()
            .filter(|r| r.sides.contains(&Side::Eks))
            .count()
    );
    let mut g = c.benchmark_group("snapshot");
    g.bench_function("json_only", |b| {
        b.iter(|| {
            black_box(
                serde_json::to_vec(black_box(&snap))
                    .map(|j| j.len())
                    .unwrap_or(0),
            )
        })
    });
    g.bench_function("derive_and_json_cached_sessions", |b| {
        b.iter(|| {
            let snap = state.snapshot(&opts);
            black_box(serde_json::to_string(&snap).map(|j| j.len()).unwrap_or(0))
        })
    });
    let extra = observations(2_000, 99, 40);
    let mut i = 0usize;
    g.bench_function("derive_and_json_after_new_observation", |b| {
        b.iter(|| {
            let mut o = extra[i % extra.len()].clone();
            o.id = format!("x{i}");
            i += 1;
            state.apply(Update::Observations { items: vec![o] });
            let snap = state.snapshot(&opts);
            black_box(serde_json::to_string(&snap).map(|j| j.len()).unwrap_or(0))
        })
    });
    g.finish();
}

/// Kubernetes events into the bounded, de-duplicated store: 10,000 distinct events per
/// iteration (one core), the store capped at 2,000 rows, so most of them also evict.
fn bench_events(c: &mut Criterion) {
    use hybridtop::model::events::EventStore;
    use hybridtop::model::update::KubeEvent;
    let t0 = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap();
    let events: Vec<KubeEvent> = (0..10_000)
        .map(|i| KubeEvent {
            kind_of: if i % 3 == 0 { "Normal" } else { "Warning" }.into(),
            reason: ["FailedScheduling", "Unhealthy", "BackOff", "Pulled"][i % 4].into(),
            kind: "Pod".into(),
            namespace: "agents".into(),
            name: format!("vllm-qwen3-{}", i % 5_000),
            message: "0/12 nodes are available: 12 Insufficient nvidia.com/gpu.".into(),
            count: 1 + (i % 7) as u32,
            first_seen: t0,
            last_seen: t0 + chrono::Duration::milliseconds(i as i64),
            object: format!("vllm-qwen3-{i}.e"),
            path: Some(PathId::from("eks-qwen3")),
        })
        .collect();
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("ingest_10k_into_2000", |b| {
        b.iter_batched(
            || EventStore::new(2_000),
            |mut s| {
                for e in &events {
                    s.ingest(e);
                }
                black_box(s.len())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_correlation,
    bench_sketch,
    bench_snapshot,
    bench_events
);
criterion_main!(benches);
