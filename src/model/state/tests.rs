// Test-only: the parent declares this module under #[cfg(test)].
use super::*;
use crate::model::correlation::tests::{ac, eks};
use crate::model::fleet::tests::{pod, so};
use crate::model::update::{
    ApiSpend, CostClass, Coverage, DailyCost, FleetUpdate, Latency, Level, Observation,
    SourceHealth, SourceName, SourceState, TrafficBatch, UsageBatch,
};
use chrono::TimeZone;
use proptest::prelude::*;

const T0: i64 = 1_800_000_000;

fn at(secs: f64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(T0 * 1000 + (secs * 1000.0) as i64)
        .single()
        .unwrap()
}

fn clock(secs: f64) -> Update {
    Update::Clock { now: at(secs) }
}

fn traffic(path: &str, s: f64, e: f64, req: u64, err: u64, latency: Latency) -> Update {
    Update::Traffic(TrafficBatch {
        path: PathId::from(path),
        start: at(s),
        end: at(e),
        requests: req,
        errors: err,
        throttles: 0,
        input_tokens: 0,
        output_tokens: 0,
        latency,
    })
}

fn demo() -> State {
    State::new(&Config::demo(), Mode::Demo)
}

fn opts() -> DeriveOptions {
    DeriveOptions::default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn empty_state_snapshot_is_well_formed() {
    let s = demo();
    let snap = s.snapshot(&opts());
    assert_eq!(snap.schema, "hybridtop.snapshot.v1");
    assert_eq!(snap.window_seconds, 300);
    assert_eq!(snap.paths.len(), 3);
    for p in &snap.paths {
        assert_eq!(p.weight, None);
        assert_eq!(p.requests_per_minute, 0.0);
        assert_eq!(p.observed_share, 0.0);
        assert_eq!(p.error_rate, None);
        assert_eq!(p.latency_ms, Quantiles::default());
        assert_eq!(p.cost.usd_per_hour, None, "unknown, not zero");
    }
    assert_eq!(snap.router.backend, "simulator");
    assert_eq!(snap.cost.estimated_usd_per_hour, None);
    assert_eq!(snap.cost.billed_month_to_date_usd, None);
    assert_eq!(snap.phase.current, 1);
    assert_eq!(snap.sources.len(), 5);
    assert!(snap.sources.iter().all(|s| s.simulated));
    let json = serde_json::to_string(&snap).unwrap();
    assert!(json.contains("\"schema\":\"hybridtop.snapshot.v1\""));
}

#[test]
fn now_is_the_newest_clock_or_data_time() {
    let mut s = demo();
    s.apply(traffic("eks-qwen3", 0.0, 1.0, 1, 0, Latency::None));
    assert_eq!(s.now(), at(1.0), "data time before any clock");
    s.apply(clock(5.0));
    s.apply(clock(3.0));
    assert_eq!(s.now(), at(5.0), "clocks never go back");
    s.apply(traffic("eks-qwen3", 9.0, 10.0, 1, 0, Latency::None));
    assert_eq!(s.now(), at(5.0), "data does not move a clocked state");
}

#[test]
fn rates_shares_and_startup() {
    let mut s = demo();
    // 60 s of traffic at 70/20/10 requests per second.
    for sec in 0..60 {
        let (a, b) = (sec as f64, sec as f64 + 1.0);
        s.apply(traffic(
            "eks-qwen3",
            a,
            b,
            7,
            0,
            Latency::Samples { ms: vec![20.0; 7] },
        ));
        s.apply(traffic("agentcore-haiku", a, b, 2, 1, Latency::None));
        s.apply(traffic("agentcore-sonnet", a, b, 1, 0, Latency::None));
        s.apply(clock(b));
    }
    let snap = s.snapshot(&opts());
    let rpm: Vec<f64> = snap.paths.iter().map(|p| p.requests_per_minute).collect();
    // Start-up: 60 s covered, so 7/s is 420/min — not 84/min over a nominal 300 s.
    assert!(close(rpm[0], 420.0), "{rpm:?}");
    assert!(close(rpm[1], 120.0));
    assert!(close(rpm[2], 60.0));
    let shares: Vec<f64> = snap.paths.iter().map(|p| p.observed_share).collect();
    assert!(close(shares[0], 0.7) && close(shares[1], 0.2) && close(shares[2], 0.1));
    assert!(close(shares.iter().sum::<f64>(), 1.0));
    assert!(close(snap.paths[1].error_rate.unwrap(), 0.5));
    assert_eq!(snap.paths[2].error_rate, Some(0.0));
    let l = &snap.paths[0].latency_ms;
    assert!((l.p50.unwrap() - 20.0).abs() <= 0.2 && l.p99 >= l.p95 && l.p95 >= l.p50);
    assert_eq!(snap.paths[1].latency_ms.p95, None);
    assert_eq!(snap.phase.current, 2, "EKS has traffic");
    // History: one point per 10 s bucket since the data began; the bucket that has just begun
    // (empty, at t = 60 s) is not plotted.
    let h = &snap.paths[0].history;
    assert_eq!(h.requests_per_minute.len(), 6);
    assert!(close(h.requests_per_minute[0], 420.0));
    assert!(close(h.observed_share[0], 0.7));
    assert!((h.p95_ms[0] - 20.0).abs() <= 0.2);
    // Ten minutes later with no traffic the window is empty again.
    s.apply(clock(660.0));
    let snap = s.snapshot(&opts());
    assert!(snap
        .paths
        .iter()
        .all(|p| p.requests_per_minute == 0.0 && p.observed_share == 0.0));
    assert_eq!(snap.paths[0].history.requests_per_minute.len(), 66);
}

#[test]
fn steady_rate_over_a_full_window() {
    let mut s = demo();
    for sec in 0..2000 {
        s.apply(traffic(
            "eks-qwen3",
            sec as f64,
            sec as f64 + 1.0,
            3,
            0,
            Latency::None,
        ));
        s.apply(clock(sec as f64 + 1.0));
    }
    let snap = s.snapshot(&opts());
    assert!(
        close(snap.paths[0].requests_per_minute, 180.0),
        "{}",
        snap.paths[0].requests_per_minute
    );
    assert_eq!(
        snap.paths[0].history.requests_per_minute.len(),
        HISTORY_POINTS
    );
}

#[test]
fn cloudwatch_quantiles_are_request_weighted() {
    let mut s = demo();
    // CloudWatch data arrives after the fact: the clock is already past it.
    s.apply(clock(120.0));
    let q = |p50, p95, p99| Latency::Quantiles { p50, p95, p99 };
    s.apply(traffic(
        "agentcore-haiku",
        0.0,
        60.0,
        100,
        0,
        q(10.0, 100.0, 200.0),
    ));
    s.apply(traffic(
        "agentcore-haiku",
        60.0,
        120.0,
        300,
        0,
        q(20.0, 140.0, 180.0),
    ));
    s.apply(clock(120.0));
    let l = s.snapshot(&opts()).paths[1].latency_ms.clone();
    assert!(close(l.p50.unwrap(), 17.5));
    assert!(close(l.p95.unwrap(), 130.0));
    assert!(close(l.p99.unwrap(), 185.0));
}

#[test]
fn cost_formulas_through_the_state() {
    let mut s = demo();
    s.apply(clock(300.0));
    // Sonnet: 300 s, 600k input and 120k output tokens → $43.20/h (see cost.rs).
    s.apply(Update::Traffic(TrafficBatch {
        path: PathId::from("agentcore-sonnet"),
        start: at(0.0),
        end: at(300.0),
        requests: 3000,
        errors: 0,
        throttles: 0,
        input_tokens: 600_000,
        output_tokens: 120_000,
        latency: Latency::None,
    }));
    // Runtime usage: 2 vCPU-h + 4 GB-h over 60 s → $13.008/h.
    s.apply(Update::Usage(UsageBatch {
        path: PathId::from("agentcore-sonnet"),
        start: at(240.0),
        end: at(300.0),
        vcpu_hours: 2.0,
        gb_hours: 4.0,
    }));
    // Usage for an EKS path or an unknown path is ignored.
    s.apply(Update::Usage(UsageBatch {
        path: PathId::from("eks-qwen3"),
        start: at(0.0),
        end: at(300.0),
        vcpu_hours: 1e9,
        gb_hours: 0.0,
    }));
    // EKS: three Running pods on two nodes (+ one unscheduled) → 2 × $1.006.
    s.apply(Update::Fleet(FleetUpdate::Replace {
        pods: vec![
            pod("q-1", Some("ip-10-0-1-1"), "Running", true, "eks-qwen3"),
            pod("q-2", Some("ip-10-0-1-1"), "Running", true, "eks-qwen3"),
            pod("q-3", Some("ip-10-0-1-2"), "Running", false, "eks-qwen3"),
            pod("q-4", None, "Pending", false, "eks-qwen3"),
        ],
        scaled_objects: vec![so("vllm-qwen3", 4, None)],
    }));
    s.apply(traffic("eks-qwen3", 0.0, 300.0, 1500, 0, Latency::None));
    s.apply(clock(300.0));
    let snap = s.snapshot(&opts());
    let sonnet = &snap.paths[2];
    assert!(close(sonnet.requests_per_minute, 600.0));
    let usd = 43.2 + 13.008;
    assert!(
        close(sonnet.cost.usd_per_hour.unwrap(), usd),
        "{:?}",
        sonnet.cost
    );
    assert!(close(
        sonnet.cost.usd_per_1k_requests.unwrap(),
        usd / 36_000.0 * 1000.0
    ));
    assert!(close(
        sonnet.cost.projected_usd_per_month.unwrap(),
        usd * 730.0
    ));
    let q = &snap.paths[0];
    assert!(close(q.cost.usd_per_hour.unwrap(), 2.012));
    assert!(close(
        q.cost.usd_per_1k_requests.unwrap(),
        2.012 / (300.0 * 60.0) * 1000.0
    ));
    assert_eq!((q.ready_pods, q.desired_pods), (Some(2), Some(4)));
    // Without an HPA behind the ScaledObject the desired count is unknown, not 0.
    let mut orphan = so("vllm-qwen3", 4, None);
    orphan.hpa_name = None;
    orphan.desired_replicas = 0;
    let mut s2 = State::new(&Config::demo(), Mode::Live);
    s2.apply(Update::Fleet(FleetUpdate::Replace {
        pods: vec![pod(
            "q-1",
            Some("ip-10-0-1-1"),
            "Running",
            true,
            "eks-qwen3",
        )],
        scaled_objects: vec![orphan],
    }));
    let q2 = &s2.snapshot(&opts()).paths[0];
    assert_eq!((q2.ready_pods, q2.desired_pods), (Some(1), None));
    assert_eq!(snap.paths[1].cost.usd_per_hour, None, "haiku: no data yet");
    assert_eq!(snap.paths[1].cost.usd_per_1k_requests, None);
    let est = snap.cost.estimated_usd_per_hour.unwrap();
    assert!(close(est, usd + 2.012));
    assert!(close(
        snap.cost.projected_usd_per_month.unwrap(),
        est * 730.0
    ));
    assert_eq!(snap.cost.dashboard_api_usd_per_hour, None);
    // Phase triggers: rpm 900 → 39.42M/month; cost over $3,000/month; p95 unknown.
    let t = &snap.phase.triggers;
    assert!(close(t[0].value.unwrap(), 900.0 * 60.0 * 730.0) && t[0].met);
    assert!(close(t[1].value.unwrap(), est * 730.0) && t[4].met);
    assert_eq!(t[2].value, None);
    assert!(!t[2].met);
    // The $/h sparkline of the EKS path carries the node count.
    assert!(close(*q.history.usd_per_hour.last().unwrap(), 2.012));
}

#[test]
fn billed_cost() {
    let mut s = demo();
    let billed = |as_of: f64, ac: f64| {
        Update::Billed(BilledCost {
            as_of: at(as_of),
            month_to_date: [
                (CostClass::Agentcore, ac),
                (CostClass::Eks, 455.1),
                (CostClass::Other, f64::NAN),
            ]
            .into_iter()
            .collect(),
            daily: vec![DailyCost {
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                class: CostClass::Eks,
                usd: 20.0,
            }],
        })
    };
    s.apply(billed(100.0, 812.3));
    s.apply(billed(50.0, 1.0)); // older: ignored
    let c = s.snapshot(&opts()).cost;
    let m = c.billed_month_to_date_usd.unwrap();
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["agentcore", "eks", "other", "total"]
    );
    assert!(close(m["total"], 812.3 + 455.1));
    assert_eq!(m["other"], 0.0);
    assert_eq!(c.billed_as_of, Some(at(100.0)));
    assert_eq!(c.daily.len(), 1);
}

#[test]
fn weights_health_and_fleet_views() {
    let mut s = demo();
    s.apply(Update::Weights(WeightsReport {
        backend: "simulator".into(),
        target: None,
        weights: Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]),
        version: Some("7".into()),
        invalid: None,
    }));
    s.apply(Update::Health(SourceHealth {
        source: SourceName::Kubernetes,
        state: SourceState::Ok,
        last_success: Some(at(10.0)),
        error: None,
        permanent: false,
    }));
    s.apply(Update::Fleet(FleetUpdate::PodUpsert {
        pod: pod("q-1", Some("n"), "Running", true, "eks-qwen3"),
    }));
    s.apply(clock(12.5));
    let snap = s.snapshot(&opts());
    assert_eq!(
        snap.paths.iter().map(|p| p.weight).collect::<Vec<_>>(),
        [Some(70), Some(20), Some(10)]
    );
    assert_eq!(snap.router.version.as_deref(), Some("7"));
    let k = &snap.sources[2];
    assert_eq!(
        (k.name, k.state, k.age_seconds),
        (SourceName::Kubernetes, SourceState::Ok, Some(2.5))
    );
    assert_eq!(snap.sources[0].state, SourceState::Connecting);
    assert_eq!(snap.sources[0].age_seconds, None);
    assert_eq!(snap.fleet.pods.len(), 1);
    assert_eq!(snap.fleet.pods[0].age_seconds, 12.5);
    assert_eq!(snap.paths[0].ready_pods, Some(1));
    assert_eq!(snap.paths[0].desired_pods, None);
    assert_eq!(
        snap.paths[1].ready_pods, None,
        "AgentCore paths have no pods"
    );
}

#[test]
fn alerts_from_the_state() {
    let mut s = demo();
    s.apply(clock(0.0));
    s.apply(traffic(
        "eks-qwen3",
        0.0,
        60.0,
        100,
        10,
        Latency::Samples {
            ms: vec![250.0; 100],
        },
    ));
    s.apply(Update::Health(SourceHealth {
        source: SourceName::Langfuse,
        state: SourceState::Stale,
        last_success: Some(at(-300.0)),
        error: None,
        permanent: false,
    }));
    s.apply(clock(60.0));
    let a = s.snapshot(&opts()).alerts;
    let codes: Vec<(Severity, &str)> = a.iter().map(|a| (a.severity, a.code.as_str())).collect();
    use crate::model::snapshot::Severity;
    assert_eq!(
        codes,
        [
            (Severity::Crit, "p95_over_threshold"),
            (Severity::Crit, "error_rate"),
            (Severity::Warn, "source_stale"),
        ]
    );
    assert!(
        a[0].message.starts_with("eks-qwen3 p95 2"),
        "{}",
        a[0].message
    );
    // Stale for longer than 3 of its 10 s polling intervals.
    assert_eq!(a[2].message, "langfuse stale: data 360 s old (> 3 × 10s)");
    // `since`: the data arrived after the judgement at 0 s, so that is when the alerts began;
    // it is kept while they last, however often the state is derived.
    assert!(a.iter().all(|x| x.since == Some(at(0.0))), "{a:?}");
    s.apply(clock(90.0));
    let b = s.snapshot(&opts()).alerts;
    assert_eq!(b.len(), 3);
    assert!(b.iter().all(|x| x.since == Some(at(0.0))), "{b:?}");
}

#[test]
fn sessions_in_the_snapshot() {
    let mut s = demo();
    s.apply(clock(0.0));
    let base = 0i64; // correlation test helpers are relative to the same epoch
    let items: Vec<Observation> = vec![
        eks("a", "s-1", base, true),
        ac("b", "s-1", base + 100),
        eks("c", "s-2", base + 200, true),
    ];
    s.apply(Update::Observations { items });
    s.apply(clock(10.0));
    let snap = s.snapshot(&opts());
    assert_eq!(snap.sessions.total, 2);
    assert_eq!(snap.sessions.hybrid, 2);
    assert_eq!(snap.sessions.escalated, 1);
    assert_eq!(
        snap.sessions.context_loss_rate,
        Some(0.0),
        "s-2's parent is still pending"
    );
    assert_eq!(snap.sessions.recent[0].session_id, "s-2");
    assert_eq!(snap.sessions.all.len(), 2);
    assert!(snap.sessions.detail.is_none());
    s.apply(clock(200.0));
    let snap = s.snapshot(&DeriveOptions {
        selected_session: Some("s-2".into()),
        ..opts()
    });
    assert_eq!(snap.sessions.context_loss_rate, Some(0.5));
    assert_eq!(snap.sessions.orphaned, 1);
    let d = snap.sessions.detail.unwrap();
    assert_eq!(d.spans[0].orphan_parent.as_deref(), Some("ac-s-2"));
    // Out of the window (5 min since the last activity): no longer counted, still listed.
    s.apply(clock(400.0));
    let snap = s.snapshot(&opts());
    assert_eq!(snap.sessions.total, 0);
    assert_eq!(snap.sessions.context_loss_rate, None);
    assert_eq!(snap.sessions.all.len(), 2);
}

#[test]
fn session_rows_are_cached_until_something_changes() {
    let mut s = demo();
    s.apply(Update::Observations {
        items: vec![eks("a", "s-1", 0, true)],
    });
    s.apply(clock(1.0));
    let a = s.snapshot(&opts()).sessions.all;
    let b = s.snapshot(&opts()).sessions.all;
    assert!(Arc::ptr_eq(&a, &b));
    // The pending orphan deadline (120 s) invalidates the rows.
    s.apply(clock(121.0));
    let c = s.snapshot(&opts()).sessions.all;
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c[0].orphan_spans, 1);
    let d = s
        .snapshot(&DeriveOptions {
            redact: true,
            ..opts()
        })
        .sessions
        .all;
    assert!(!Arc::ptr_eq(&c, &d));
}

const HOSTILE: &str = "evil\x1b]0;pwned\x07\x1b[2J\u{202E}name\x07 10.0.0.1 bob@corp.example";

#[test]
fn sanitised_and_redacted_everywhere() {
    let mut cfg = Config::demo();
    cfg.general.environment = format!("prod {HOSTILE}");
    let mut s = State::new(&cfg, Mode::Live);
    let mut p = pod(HOSTILE, Some("ip-10-0-1-23"), "Running", true, "eks-qwen3");
    p.reason = Some(HOSTILE.into());
    p.namespace = HOSTILE.into();
    let mut scaled = so(HOSTILE, 2, Some("eks-qwen3"));
    scaled.message = Some(HOSTILE.into());
    scaled.triggers = vec![HOSTILE.into()];
    s.apply(Update::Fleet(FleetUpdate::Replace {
        pods: vec![p],
        scaled_objects: vec![scaled],
    }));
    s.apply(Update::Health(SourceHealth {
        source: SourceName::Cloudwatch,
        state: SourceState::Error,
        last_success: None,
        error: Some(format!(
            "AccessDenied for arn:aws:iam::123456789012:user/ops {HOSTILE}"
        )),
        permanent: false,
    }));
    s.apply(Update::Weights(WeightsReport {
        backend: HOSTILE.into(),
        target: Some(HOSTILE.into()),
        weights: Weights::from_pairs([(HOSTILE, 100)]),
        version: Some(HOSTILE.into()),
        invalid: None,
    }));
    let mut o = eks(HOSTILE, "s-1", 0, true);
    o.session_id = Some(format!("hybrid-{HOSTILE}"));
    o.name = HOSTILE.into();
    o.model = Some(format!("qwen3-4b {HOSTILE}"));
    o.status_message = Some(HOSTILE.into());
    o.input = Some(format!("prompt by user-77 {HOSTILE}"));
    o.output = Some(HOSTILE.into());
    o.html_path = Some(HOSTILE.into());
    s.apply(Update::Observations { items: vec![o] });
    s.apply(clock(500.0));

    let sid = s.snapshot(&opts()).sessions.all[0].session_id.clone();
    for redact in [false, true] {
        let snap = s.snapshot(&DeriveOptions {
            redact,
            selected_session: Some(if redact {
                s.snapshot(&DeriveOptions { redact, ..opts() }).sessions.all[0]
                    .session_id
                    .clone()
            } else {
                sid.clone()
            }),
            ..opts()
        });
        let d = snap.sessions.detail.clone().expect("detail");
        assert_eq!(d.spans.len(), 1);
        // Everything the screen can show, including skipped-from-JSON detail.
        let json = serde_json::to_string(&(&snap, &d)).unwrap();
        for bad in ['\x1b', '\x07', '\u{202E}'] {
            assert!(!json.contains(bad), "redact={redact}: {bad:?} in {json}");
        }
        assert!(
            !json.contains("\\u001b") && !json.contains("\\u0007"),
            "{json}"
        );
        if redact {
            for secret in [
                "10.0.0.1",
                "bob@corp.example",
                "123456789012",
                "10-0-1-23",
                "user-77",
                "prompt by",
            ] {
                assert!(!json.contains(secret), "{secret} leaked: {json}");
            }
            assert!(json.contains("ip-x-x-x-x"));
            assert!(d.spans[0].input.is_none() && d.spans[0].output.is_none());
            assert!(snap.redacted);
        } else {
            assert!(json.contains("10.0.0.1") && json.contains("prompt by user-77"));
        }
    }
}

/// Walk a JSON value: every number finite (serde_json writes NaN as null, so also check that
/// fields which are numbers by contract are numbers).
fn assert_numbers(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Number(n) => assert!(n.as_f64().is_some_and(f64::is_finite), "{path}"),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_numbers(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => {
            for k in [
                "requests_per_minute",
                "observed_share",
                "throttles_per_minute",
                "age_seconds",
                "window_seconds",
                "threshold",
            ] {
                if let Some(x) = o.get(k) {
                    if k != "age_seconds" {
                        assert!(x.is_number(), "{path}.{k} = {x}");
                    }
                }
            }
            o.iter()
                .for_each(|(k, x)| assert_numbers(x, &format!("{path}.{k}")))
        }
        _ => {}
    }
}

#[test]
fn odd_data_never_panics_and_numbers_stay_finite() {
    let mut s = demo();
    s.apply(traffic("nope", 0.0, 1.0, 5, 0, Latency::None));
    assert_eq!(s.dropped_updates(), 1);
    s.apply(clock(100.0));
    s.apply(traffic(
        "eks-qwen3",
        50.0,
        40.0,
        u64::MAX,
        u64::MAX,
        Latency::Samples {
            ms: vec![f64::NAN, f64::INFINITY, -1.0, 1e300],
        },
    ));
    s.apply(traffic(
        "agentcore-haiku",
        99.0,
        99.0,
        0,
        5,
        Latency::Quantiles {
            p50: f64::NAN,
            p95: 1.0,
            p99: 0.5,
        },
    ));
    s.apply(Update::Traffic(TrafficBatch {
        path: PathId::from("agentcore-sonnet"),
        start: DateTime::<Utc>::MIN_UTC,
        end: DateTime::<Utc>::MAX_UTC,
        requests: 10,
        errors: 0,
        throttles: 1,
        input_tokens: u64::MAX,
        output_tokens: 1,
        latency: Latency::Quantiles {
            p50: 1.0,
            p95: 2.0,
            p99: 3.0,
        },
    }));
    s.apply(Update::Usage(UsageBatch {
        path: PathId::from("agentcore-haiku"),
        start: at(10.0),
        end: at(5.0),
        vcpu_hours: f64::NAN,
        gb_hours: f64::INFINITY,
    }));
    let mut o = ac("x", "s", 0);
    o.cost_usd = Some(f64::NAN);
    o.end = Some(DateTime::<Utc>::MIN_UTC);
    s.apply(Update::Observations {
        items: vec![o.clone(), o],
    });
    s.apply(Update::Fleet(FleetUpdate::PodDelete {
        namespace: "a".into(),
        name: "b".into(),
    }));
    let snap = s.snapshot(&opts());
    let v = serde_json::to_value(&snap).unwrap();
    assert_numbers(&v, "$");
    for p in &snap.paths {
        let l = &p.latency_ms;
        if let (Some(a), Some(b), Some(c)) = (l.p50, l.p95, l.p99) {
            assert!(a <= b && b <= c);
        }
        assert!(p.error_rate.is_none_or(|e| (0.0..=1.0).contains(&e)));
    }
}

fn feed(s: &mut State, seed: u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let paths = ["eks-qwen3", "agentcore-haiku", "agentcore-sonnet"];
    for sec in 0..400 {
        let t = sec as f64;
        for p in paths {
            let n = rng.random_range(0..20);
            let ms = (0..n).map(|_| rng.random_range(5.0..500.0)).collect();
            s.apply(Update::Traffic(TrafficBatch {
                path: PathId::from(p),
                start: at(t),
                end: at(t + 1.0),
                requests: n,
                errors: rng.random_range(0..2),
                throttles: rng.random_range(0..2),
                input_tokens: n * 900,
                output_tokens: n * 200,
                latency: Latency::Samples { ms },
            }));
        }
        if sec % 5 == 0 {
            let sid = format!("s-{}", sec / 5);
            s.apply(Update::Observations {
                items: vec![
                    eks(&format!("{sid}-a"), &sid, sec * 1000, true),
                    ac(
                        &format!("{sid}-b"),
                        &sid,
                        sec * 1000 + rng.random_range(0..200_000),
                    ),
                ],
            });
        }
        s.apply(clock(t + 1.0));
    }
}

#[test]
fn deterministic_json() {
    let mut a = demo();
    let mut b = demo();
    feed(&mut a, 3);
    feed(&mut b, 3);
    let o = DeriveOptions {
        selected_session: Some("s-3".into()),
        ..opts()
    };
    let ja = serde_json::to_string(&a.snapshot(&o)).unwrap();
    let jb = serde_json::to_string(&b.snapshot(&o)).unwrap();
    assert_eq!(ja, jb);
    // Deriving twice (cached rows) gives the same bytes too.
    assert_eq!(ja, serde_json::to_string(&a.snapshot(&o)).unwrap());
    let v: serde_json::Value = serde_json::from_str(&ja).unwrap();
    assert_numbers(&v, "$");
    assert_eq!(
        v["sessions"]["recent"].as_array().unwrap().len(),
        RECENT_SESSIONS
    );
}

#[test]
fn memory_is_bounded_by_configuration() {
    let mut s = demo();
    let ring = s.paths[0].window.len();
    for sec in 0..20_000 {
        let t = sec as f64;
        s.apply(traffic(
            "eks-qwen3",
            t,
            t + 1.0,
            2,
            0,
            Latency::Samples {
                ms: vec![10.0, 1e6 * (sec % 7) as f64 + 1.0],
            },
        ));
        if sec % 2 == 0 {
            let sid = format!("s-{sec}");
            s.apply(Update::Observations {
                items: vec![ac(&sid, &sid, sec * 1000)],
            });
        }
        s.apply(clock(t + 1.0));
    }
    assert_eq!(s.paths[0].window.len(), ring);
    assert!(s.paths[0].window.max_sketch_bins() <= crate::model::quantile::MAX_BINS as usize);
    // Retention 30 min at one session per 2 s → 900 sessions, under max_sessions (5000).
    let n = s.correlator().session_count();
    assert!((899..=901).contains(&n), "{n}");
    let snap = s.snapshot(&opts());
    assert_eq!(snap.paths[0].history.p95_ms.len(), HISTORY_POINTS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Shares sum to 1 (or are all 0), rates are non-negative, quantiles are monotonic.
    #[test]
    fn shares_sum_to_one(batches in proptest::collection::vec((0usize..4, 0u32..600, 1u32..120, 0u64..1000), 0..40),
                         now in 0u32..1200) {
        let mut s = demo();
        let names = ["eks-qwen3", "agentcore-haiku", "agentcore-sonnet", "unknown"];
        s.apply(clock(now as f64));
        for (p, start, len, req) in batches {
            s.apply(traffic(names[p], start as f64, (start + len) as f64, req, req / 10, Latency::Samples { ms: vec![req as f64 + 0.5; (req % 50) as usize] }));
        }
        let snap = s.snapshot(&opts());
        let sum: f64 = snap.paths.iter().map(|p| p.observed_share).sum();
        let any = snap.paths.iter().any(|p| p.requests_per_minute > 0.0);
        if any {
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
        } else {
            prop_assert_eq!(sum, 0.0);
        }
        for p in &snap.paths {
            prop_assert!(p.requests_per_minute >= 0.0 && p.requests_per_minute.is_finite());
            prop_assert!((0.0..=1.0).contains(&p.observed_share));
            let l = &p.latency_ms;
            if let (Some(a), Some(b), Some(c)) = (l.p50, l.p95, l.p99) {
                prop_assert!(a <= b && b <= c);
            }
        }
    }
}

/// CloudWatch minutes land 2–3 minutes late: a metrics-fed path's rates are over the window
/// ending where its data ends (not diluted by minutes not yet reported), its backfill does not
/// dilute the other paths' start-up rates, and its figures expire rather than go stale unseen.
#[test]
fn metrics_fed_path_rates_cover_what_cloudwatch_reported() {
    let cfg = Config::demo();
    let mut s = State::new(&cfg, Mode::Live);
    let haiku = PathId::from("agentcore-haiku");
    let prices = cfg
        .path(&haiku)
        .unwrap()
        .agentcore
        .clone()
        .unwrap_or_default();
    s.apply(clock(3600.0));
    let through = 3420.0; // now - 3 minutes
    let mut m = 3600.0 - 1200.0;
    while m < through {
        s.apply(Update::Coverage(Coverage {
            path: haiku.clone(),
            source: SourceName::Cloudwatch,
            start: at(m),
            end: at(m + 60.0),
            sessions: Some(6),
        }));
        s.apply(Update::Traffic(TrafficBatch {
            path: haiku.clone(),
            start: at(m),
            end: at(m + 60.0),
            requests: 60,
            errors: 3,
            throttles: 1,
            input_tokens: 6000,
            output_tokens: 1200,
            latency: Latency::Quantiles {
                p50: 40.0,
                p95: 100.0,
                p99: 150.0,
            },
        }));
        m += 60.0;
    }
    // A fresh EKS source (Langfuse) that started 10 s ago.
    s.apply(traffic("eks-qwen3", 3590.0, 3600.0, 100, 0, Latency::None));
    let snap = s.snapshot(&opts());
    let h = snap.paths.iter().find(|p| p.id == haiku).unwrap();
    assert!(
        close(h.requests_per_minute, 60.0),
        "{}",
        h.requests_per_minute
    );
    assert!(close(h.error_rate.unwrap(), 0.05));
    assert!(close(h.throttles_per_minute, 1.0));
    assert!(close(h.latency_ms.p95.unwrap(), 100.0));
    assert!(close(h.sessions_per_minute.unwrap(), 6.0));
    assert_eq!(h.data_through, Some(at(through)));
    let want = (6000.0 * 5.0 / 1000.0 * prices.usd_per_1k_input_tokens
        + 1200.0 * 5.0 / 1000.0 * prices.usd_per_1k_output_tokens)
        * 12.0;
    assert!(close(h.cost.usd_per_hour.unwrap(), want), "{:?}", h.cost);
    let e = snap
        .paths
        .iter()
        .find(|p| p.id.as_str() == "eks-qwen3")
        .unwrap();
    assert!(
        close(e.requests_per_minute, 600.0),
        "{}",
        e.requests_per_minute
    );
    assert_eq!(e.data_through, None);
    // Shares by rate: 60 vs 600 per minute.
    assert!(close(h.observed_share, 60.0 / 660.0));
    // Sparklines: a gap (NaN) after the data ends, the figures before.
    let rpm = &h.history.requests_per_minute;
    assert!(rpm.last().unwrap().is_nan());
    assert!(rpm.len() >= 100, "{}", rpm.len());
    assert!(
        close(rpm[rpm.len() - 30], 60.0),
        "{:?}",
        &rpm[rpm.len() - 30..]
    );
    assert!(e.history.requests_per_minute.last().unwrap().is_finite());
    // CloudWatch went quiet for half an hour: no figures rather than old ones as current.
    s.apply(clock(3600.0 + 1800.0));
    let snap = s.snapshot(&opts());
    let h = snap.paths.iter().find(|p| p.id == haiku).unwrap();
    assert_eq!(h.requests_per_minute, 0.0);
    assert_eq!(h.cost.usd_per_hour, None);
    assert_eq!(h.latency_ms.p95, None);
    assert_eq!(h.data_through, Some(at(through)), "and when the data ended");
}

/// Runtime usage (vCPU-/GB-hours) lands late in 5-minute periods: a metrics-fed path prices it
/// over everything the ring holds.
#[test]
fn metrics_fed_usage_is_priced_over_the_reported_periods() {
    let cfg = Config::demo();
    let mut s = State::new(&cfg, Mode::Live);
    let sonnet = PathId::from("agentcore-sonnet");
    let prices = cfg
        .path(&sonnet)
        .unwrap()
        .agentcore
        .clone()
        .unwrap_or_default();
    s.apply(clock(3600.0));
    s.apply(Update::Coverage(Coverage {
        path: sonnet.clone(),
        source: SourceName::Cloudwatch,
        start: at(3360.0),
        end: at(3420.0),
        sessions: None,
    }));
    // Ten minutes of usage ending 10 minutes ago, outside the traffic window.
    for k in 0..2 {
        let st = 2400.0 + 300.0 * f64::from(k);
        s.apply(Update::Usage(UsageBatch {
            path: sonnet.clone(),
            start: at(st),
            end: at(st + 300.0),
            vcpu_hours: 0.1,
            gb_hours: 0.4,
        }));
    }
    let snap = s.snapshot(&opts());
    let p = snap.paths.iter().find(|p| p.id == sonnet).unwrap();
    let per_period = 0.1 * prices.usd_per_vcpu_hour + 0.4 * prices.usd_per_gb_hour;
    assert!(
        close(p.cost.usd_per_hour.unwrap(), per_period * 12.0),
        "{:?}",
        p.cost
    );
    assert_eq!(
        p.requests_per_minute, 0.0,
        "a covered minute without traffic is a zero"
    );
    assert_eq!(p.sessions_per_minute, None, "not reported");
}

#[test]
fn dashboard_api_spend_sums_sources() {
    let mut s = demo();
    assert_eq!(s.snapshot(&opts()).cost.dashboard_api_usd_per_hour, None);
    for (src, h, t) in [
        (SourceName::Cloudwatch, 0.0149, 0.02),
        (SourceName::CostExplorer, 0.01 / 6.0, 0.01),
        (SourceName::Cloudwatch, 0.0150, 0.03), // replaces the earlier figure
    ] {
        s.apply(Update::ApiSpend(ApiSpend {
            source: src,
            usd_per_hour: h,
            usd_total: t,
            metrics_requested: 0,
            requests: 0,
        }));
    }
    let c = s.snapshot(&opts()).cost;
    assert!(close(
        c.dashboard_api_usd_per_hour.unwrap(),
        0.0150 + 0.01 / 6.0
    ));
    assert!(close(c.dashboard_api_usd_total.unwrap(), 0.04));
}

/// A root observation (one request) of a trace at `s` seconds lasting `ms`, tagged for `path`
/// (or untagged), and a generation of the same trace carrying the model.
fn trace_obs(n: u32, s: f64, ms: i64, tag: Option<&str>, level: Level) -> Vec<Observation> {
    let trace = format!("{n:032x}");
    let mut root = crate::model::correlation::tests::obs(&format!("r{n}"), &trace, 0);
    root.start = at(s);
    root.end = Some(at(s) + chrono::Duration::milliseconds(ms));
    root.session_id = Some(format!("hybrid-s{n}"));
    root.tags = tag.map(|t| vec![t.to_string()]).unwrap_or_default();
    root.level = level;
    let mut gen = root.clone();
    gen.id = format!("g{n}");
    gen.parent_observation_id = Some(root.id.clone());
    gen.model = Some("Qwen/Qwen3-4B".into());
    gen.level = Level::Default;
    vec![root, gen]
}

#[test]
fn eks_rate_and_latency_from_root_observations() {
    let mut s = State::new(&Config::demo(), Mode::Live);
    s.apply(clock(0.0));
    // 60 EKS requests over the first 60 s, latencies 10..=600 ms, 6 errors; roots untagged (the
    // path comes from the trace's generation). One AgentCore request.
    let mut items = Vec::new();
    for n in 0..60u32 {
        let level = if n % 10 == 0 {
            Level::Error
        } else {
            Level::Default
        };
        items.extend(trace_obs(
            n,
            f64::from(n),
            i64::from(n + 1) * 10,
            None,
            level,
        ));
    }
    let mut acroot = crate::model::correlation::tests::ac("ac-r", "s-ac", 0);
    acroot.start = at(5.0);
    acroot.end = Some(at(5.5));
    items.push(acroot);
    s.apply(clock(60.0));
    // Delivered twice (overlapping polls): still 60 requests.
    s.apply(Update::Observations {
        items: items.clone(),
    });
    s.apply(Update::Observations { items });
    let snap = s.snapshot(&opts());
    let eks = &snap.paths[0];
    assert_eq!(eks.id.as_str(), "eks-qwen3");
    assert_eq!(eks.traffic_source, Some(TrafficSource::Traces));
    assert!(
        close(eks.requests_per_minute, 60.0),
        "{}",
        eks.requests_per_minute
    );
    assert!(close(eks.error_rate.unwrap(), 0.1));
    let q = &eks.latency_ms;
    let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() <= want * 0.03);
    assert!(
        near(q.p50, 300.0) && near(q.p95, 570.0) && near(q.p99, 600.0),
        "{q:?}"
    );
    // The AgentCore request counts on its path; its cost stays unknown (no metric source).
    let sonnet = &snap.paths[2];
    assert_eq!(sonnet.traffic_source, Some(TrafficSource::Traces));
    assert!(close(sonnet.requests_per_minute, 1.0));
    assert_eq!(sonnet.cost.usd_per_hour, None);
    assert_eq!(snap.paths[1].traffic_source, None);
    assert!(close(eks.observed_share, 60.0 / 61.0));

    // Once a metric source reports the path, its figures win and the traces add nothing.
    s.apply(traffic(
        "eks-qwen3",
        55.0,
        60.0,
        5,
        0,
        Latency::Samples { ms: vec![20.0; 5] },
    ));
    let snap = s.snapshot(&opts());
    let eks = &snap.paths[0];
    assert_eq!(eks.traffic_source, Some(TrafficSource::Metrics));
    assert!(
        close(eks.requests_per_minute, 5.0),
        "{}",
        eks.requests_per_minute
    );
    // When it goes quiet for a whole window, the traces take over again.
    let mut later = Vec::new();
    for n in 100..130u32 {
        later.extend(trace_obs(
            n,
            400.0 + f64::from(n - 100),
            50,
            Some("path:eks-qwen3"),
            Level::Default,
        ));
    }
    s.apply(clock(430.0));
    s.apply(Update::Observations { items: later });
    let snap = s.snapshot(&opts());
    assert_eq!(snap.paths[0].traffic_source, Some(TrafficSource::Traces));
    // The window covers 140..430 s (10 s buckets): 30 requests in 290 s.
    let rpm = snap.paths[0].requests_per_minute;
    assert!(close(rpm, 30.0 / 290.0 * 60.0), "{rpm}");
}

/// The demo simulator reports EKS traffic itself and emits traces too: the traces must not add
/// to its numbers (the paths are the same with and without the observations).
#[test]
fn demo_traces_do_not_double_count() {
    use crate::sources::simulator::{Scenario, SimConfig, Simulator};
    let config = Config::demo();
    let mk = || {
        Simulator::new(
            SimConfig {
                seed: 3,
                scenario: Scenario::Steady,
                start: at(0.0),
                config: config.clone(),
            },
            config.default_weights(),
        )
    };
    let (mut a, mut b) = (mk(), mk());
    let mut with = State::new(&config, Mode::Demo);
    let mut without = State::new(&config, Mode::Demo);
    let mut roots = 0;
    for _ in 0..400 {
        for u in a.step() {
            if let Update::Observations { items } = &u {
                roots += items
                    .iter()
                    .filter(|o| o.parent_observation_id.is_none())
                    .count();
            }
            with.apply(u);
        }
        for u in b.step() {
            if !matches!(u, Update::Observations { .. }) {
                without.apply(u);
            }
        }
    }
    assert!(
        roots > 100,
        "the simulator emitted root observations: {roots}"
    );
    let (sw, so) = (with.snapshot(&opts()), without.snapshot(&opts()));
    assert_eq!(
        serde_json::to_value(&sw.paths).unwrap(),
        serde_json::to_value(&so.paths).unwrap()
    );
    assert!(sw
        .paths
        .iter()
        .all(|p| p.traffic_source == Some(TrafficSource::Metrics)));
}

/// Issue 19: a trace source's pass in progress and its lag are figures of its source row
/// (`ui::parts::trace_lag` words them).
#[test]
fn trace_lag_and_catching_up() {
    use crate::model::update::TraceProgress;
    let mut s = demo();
    s.apply(clock(0.0));
    let langfuse = |s: &State| {
        s.snapshot(&opts())
            .sources
            .into_iter()
            .find(|x| x.name == SourceName::Langfuse)
            .unwrap()
    };
    assert_eq!(langfuse(&s).lag_seconds, None);
    s.apply(Update::TraceProgress(TraceProgress {
        source: SourceName::Langfuse,
        read: 1_000,
        expected: Some(3_000),
        from: at(-300.0),
    }));
    let l = langfuse(&s);
    assert_eq!(
        l.catching_up.as_ref().map(|c| (c.read, c.expected)),
        Some((1_000, Some(3_000)))
    );
    // The pass completes through t = 0; 40 s later its data is 40 s behind.
    s.apply(Update::TracesCovered {
        from: at(-300.0),
        through: at(0.0),
    });
    s.apply(clock(40.0));
    let l = langfuse(&s);
    assert_eq!((l.catching_up.clone(), l.lag_seconds), (None, Some(40.0)));
    assert_eq!(l.interval_seconds, Some(10.0));
    s.apply(Update::TracesCovered {
        from: at(0.0),
        through: at(35.0),
    });
    assert_eq!(langfuse(&s).lag_seconds, Some(5.0));
}
