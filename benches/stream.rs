//! Team mode's per-entry cost: encoding an update as a stream entry (plain and redacted) and
//! decoding it back, over the demo simulator's own mix of updates (traffic, observations,
//! fleet relists, health, engine, cost).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hybridtop::config::Config;
use hybridtop::model::update::Update;
use hybridtop::record::{decode_record, encode_line, Redactor};
use hybridtop::sources::simulator::{Scenario, SimConfig, Simulator};
use std::hint::black_box;

/// Ten simulated minutes of the demo's updates.
fn updates() -> Vec<Update> {
    let config = Config::demo();
    let mut sim = Simulator::new(
        SimConfig {
            seed: 7,
            scenario: Scenario::EksNodeLoss,
            start: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
            config: config.clone(),
        },
        config.default_weights(),
    );
    (0..600).flat_map(|_| sim.step()).collect()
}

fn bench(c: &mut Criterion) {
    let ups = updates();
    let lines: Vec<Vec<u8>> = ups
        .iter()
        .map(|u| encode_line(1, u, None).unwrap())
        .collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "{} entries, {:.0} bytes per entry on average",
        ups.len(),
        bytes as f64 / ups.len() as f64
    );
    let mut g = c.benchmark_group("stream_entry");
    g.throughput(Throughput::Elements(ups.len() as u64));
    g.bench_function("encode", |b| {
        b.iter(|| {
            for u in &ups {
                black_box(encode_line(1, u, None).unwrap());
            }
        })
    });
    let redactor = Redactor::new();
    g.bench_function("encode_redacted", |b| {
        b.iter(|| {
            for u in &ups {
                black_box(encode_line(1, u, Some(&redactor)).unwrap());
            }
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(decode_record(l).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
