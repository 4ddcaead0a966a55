//! OTLP ingest (issue 19): a protobuf `ExportTraceServiceRequest` of 60,000 spans (10,000
//! sessions: a root and five children each) decoded, mapped to observations and joined by the
//! correlation engine — the receiver's whole path short of the socket. Target: ≥ 50,000 spans/s
//! on one core.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_macros)]
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hybridtop::config::Config;
use hybridtop::model::correlation::Correlator;
use hybridtop::sources::otlp::decode::{decode, Encoding, Rules};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const SESSIONS: u64 = 10_000;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn body() -> Vec<u8> {
    let t0: u64 = 1_764_061_200_000_000_000;
    let mut spans = Vec::new();
    for s in 0..SESSIONS {
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&s.to_be_bytes());
        trace[8] = 1;
        let session = any_value::Value::StringValue(format!("hybrid-s-{s}"));
        for i in 0..6u64 {
            let mut id = [0u8; 8];
            id[..6].copy_from_slice(&s.to_be_bytes()[2..]);
            id[7] = i as u8 + 1;
            let mut parent = id;
            parent[7] = 1;
            let start = t0 + s * 30_000_000 + i * 1_000_000;
            spans.push(Span {
                trace_id: trace.to_vec(),
                span_id: id.to_vec(),
                parent_span_id: if i == 0 { vec![] } else { parent.to_vec() },
                name: if i == 0 {
                    "agent.turn"
                } else {
                    "vllm.generate"
                }
                .into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 250_000_000,
                attributes: vec![
                    kv("session.id", session.clone()),
                    kv(
                        "gen_ai.request.model",
                        any_value::Value::StringValue("qwen3-4b".into()),
                    ),
                    kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(400)),
                    kv(
                        "gen_ai.usage.output_tokens",
                        any_value::Value::IntValue(120),
                    ),
                ],
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("kagent-qwen3".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn bench(c: &mut Criterion) {
    let mut cfg = Config::demo();
    cfg.paths[0].otlp = Some(hybridtop::config::OtlpPath {
        services: vec!["kagent-qwen3".into()],
        models: vec![],
    });
    let rules = Rules::from_config(&cfg);
    let corr_rules = cfg.correlation_rules().unwrap();
    let body = body();
    println!("{} spans in {} bytes", SESSIONS * 6, body.len());
    let mut g = c.benchmark_group("otlp");
    g.throughput(Throughput::Elements(SESSIONS * 6));
    g.sample_size(10);
    g.bench_function("decode_map", |b| {
        b.iter(|| decode(&body, Encoding::Protobuf, &rules).unwrap())
    });
    g.bench_function("decode_map_correlate", |b| {
        b.iter_batched(
            || Correlator::new(&corr_rules, &cfg.paths),
            |mut corr| {
                let d = decode(&body, Encoding::Protobuf, &rules).unwrap();
                for o in &d.observations {
                    corr.ingest(o);
                }
                corr.enforce_bounds();
                corr
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
