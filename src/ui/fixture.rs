//! A hand-made, fully populated `Snapshot` for view tests and the render bench: three paths,
//! five pods (one crash-looping, one loading), one ScaledObject, 40 sessions (one escalated with
//! an orphan, one orphaned), an open session with eight spans across both sides, billed cost,
//! two alerts, 60-point histories and a stale source with an error.
//!
//! Strings are as the sanitiser leaves them (no control characters) but include wide characters
//! and combining marks, which the views must fit by display width.
//!
//! Built only for tests (`#[cfg(test)]` in `ui/mod.rs`) and by `benches/render.rs` through
//! `#[path]`, never into the release binary; it names the crate `hybridtop::` so both can build it.
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use hybridtop::domain::path::{PathId, Side};
use hybridtop::domain::weights::Weights;
use hybridtop::model::snapshot::{
    Alert, CostView, EventView, FleetView, Mode, PathCost, PathHistory, PathView, PhaseTrigger,
    PhaseView, PodView, Quantiles, RouterView, ScaledObjectView, SessionDetail, SessionRow,
    SessionsView, Severity, Snapshot, SourceStatus, SpanView, SCHEMA,
};
use hybridtop::model::update::{
    Condition, CostClass, DailyCost, FleetProblem, Level, Pod, ProblemKind, ScaledObject,
    SourceName, SourceState,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The session opened in the fixture's waterfall.
pub const OPEN_SESSION: &str = "s-7f3a21";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A smooth, deterministic wiggle for histories: no RNG, stable across platforms.
fn wave(i: usize, base: f64, amp: f64, period: f64, phase: f64) -> f64 {
    let x = i as f64;
    base + amp * ((x / period + phase).sin() + 0.35 * (x / (period * 0.37) + phase * 2.0).sin())
}

fn history(
    base_rpm: f64,
    share: f64,
    p95: f64,
    usd_h: f64,
    phase: f64,
    spike: bool,
) -> PathHistory {
    let n = 60;
    let mut h = PathHistory {
        requests_per_minute: Vec::with_capacity(n),
        observed_share: Vec::with_capacity(n),
        p95_ms: Vec::with_capacity(n),
        usd_per_hour: Vec::with_capacity(n),
    };
    for i in 0..n {
        h.requests_per_minute
            .push(wave(i, base_rpm, base_rpm * 0.06, 6.0, phase).max(0.0));
        h.observed_share
            .push(wave(i, share, 0.012, 7.0, phase).clamp(0.0, 1.0));
        // The EKS path's p95 climbs over the last quarter (scaling behind the traffic).
        let ramp = if spike && i > 44 {
            (i - 44) as f64 * 4.0
        } else {
            0.0
        };
        h.p95_ms
            .push((wave(i, p95 * 0.85, p95 * 0.06, 5.0, phase) + ramp).max(1.0));
        h.usd_per_hour
            .push(wave(i, usd_h, usd_h * 0.03, 9.0, phase).max(0.0));
    }
    h
}

#[allow(clippy::too_many_arguments)]
fn path(
    id: &str,
    kind: Side,
    label: &str,
    weight: u32,
    rpm: f64,
    share: f64,
    lat: [Option<f64>; 3],
    usd_h: f64,
) -> PathView {
    let per_1k = usd_h / (rpm * 60.0) * 1000.0;
    PathView {
        id: PathId::new(id),
        kind,
        label: label.to_string(),
        weight: Some(weight),
        requests_per_minute: rpm,
        observed_share: share,
        observed_share_1m: share,
        error_rate: Some(0.002),
        throttles_per_minute: 0.0,
        latency_ms: Quantiles {
            p50: lat[0],
            p95: lat[1],
            p99: lat[2],
        },
        cost: PathCost {
            usd_per_hour: Some(usd_h),
            usd_per_1k_requests: Some(per_1k),
            projected_usd_per_month: Some(usd_h * 730.0),
        },
        traffic_source: None,
        ready_pods: None,
        desired_pods: None,
        sessions_per_minute: None,
        data_through: None,
        engine: None,
        history: PathHistory::default(),
    }
}

fn pod(
    suffix: &str,
    phase: &str,
    ready: bool,
    restarts: u32,
    node: Option<&str>,
    age_s: i64,
    reason: Option<&str>,
) -> PodView {
    let now = t0();
    PodView {
        pod: Pod {
            namespace: "agents".into(),
            name: format!("vllm-qwen3-7d9f8c6b5-{suffix}"),
            phase: phase.into(),
            ready,
            ready_containers: u32::from(ready),
            total_containers: 1,
            restarts,
            node: node.map(str::to_string),
            created_at: now - Duration::seconds(age_s),
            reason: reason.map(str::to_string),
            path: Some(PathId::new("eks-qwen3")),
            message: None,
        },
        age_seconds: age_s as f64,
        engine: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn span(
    id: &str,
    parent: Option<&str>,
    name: &str,
    side: Side,
    path: &str,
    start_ms: f64,
    dur: Option<f64>,
    model: Option<&str>,
    level: Level,
) -> SpanView {
    let trace_id = match side {
        Side::Agentcore => format!("ac-{OPEN_SESSION}-1764057552000"),
        Side::Eks => "eks-vllm-qwen3-7d9f8c6b5-abcde-4f1c9a2b".to_string(),
    };
    SpanView {
        id: id.into(),
        trace_id,
        parent_observation_id: parent.map(str::to_string),
        name: name.into(),
        side: Some(side),
        path: Some(PathId::new(path)),
        start_ms,
        duration_ms: dur,
        model: model.map(str::to_string),
        level,
        status_message: None,
        input_tokens: None,
        output_tokens: None,
        cost_usd: None,
        handoff: false,
        escalation: false,
        orphan_parent: None,
        input: None,
        output: None,
        html_path: None,
        user_id: None,
    }
}

fn detail() -> SessionDetail {
    let mut spans = Vec::with_capacity(8);
    let mut s = span(
        "obs-01",
        None,
        "router.classify",
        Side::Agentcore,
        "agentcore-haiku",
        0.0,
        Some(38.0),
        Some("us.anthropic.claude-haiku-4-5"),
        Level::Default,
    );
    s.input_tokens = Some(412);
    s.output_tokens = Some(18);
    s.cost_usd = Some(0.00050);
    s.input = Some("Customer asks: why was my invoice for November charged twice?".into());
    s.output = Some("{\"route\":\"eks-qwen3\",\"confidence\":0.82}".into());
    spans.push(s);

    let mut s = span(
        "obs-02",
        Some("obs-01"),
        "eks.agent.plan",
        Side::Eks,
        "eks-qwen3",
        45.0,
        Some(180.0),
        Some("qwen3-4b"),
        Level::Default,
    );
    s.handoff = true;
    s.input_tokens = Some(1_204);
    s.output_tokens = Some(296);
    s.cost_usd = Some(0.00012);
    spans.push(s);

    let mut s = span(
        "obs-03",
        Some("obs-02"),
        "tool.search_kb",
        Side::Eks,
        "eks-qwen3",
        72.0,
        Some(61.0),
        None,
        Level::Default,
    );
    s.input = Some("billing duplicate charge november".into());
    spans.push(s);

    let mut s = span(
        "obs-04",
        Some("obs-02"),
        "eks.agent.answer",
        Side::Eks,
        "eks-qwen3",
        232.0,
        Some(214.0),
        Some("qwen3-4b"),
        Level::Warning,
    );
    s.status_message = Some("low confidence 0.41 < 0.60: escalate".into());
    s.input_tokens = Some(2_310);
    s.output_tokens = Some(188);
    s.cost_usd = Some(0.00019);
    spans.push(s);

    // Hostile but sanitised: wide characters and combining marks, a declared parent that never
    // appeared, an error level.
    let mut s = span(
        "obs-05",
        Some("obs-04"),
        "ツール呼び出し: 日本語の要約 (cafe\u{301} re\u{301}sume\u{301})",
        Side::Eks,
        "eks-qwen3",
        300.0,
        Some(41.0),
        None,
        Level::Error,
    );
    s.status_message = Some("tool timeout after 40 ms (upstream 504)".into());
    s.orphan_parent = Some(format!("ac-{OPEN_SESSION}"));
    s.input = Some("要約してください: 請求書が二重に請求されました。 Ünïcödé ok? ".repeat(8));
    spans.push(s);

    let mut s = span(
        "obs-06",
        Some("obs-04"),
        "escalate.sonnet",
        Side::Agentcore,
        "agentcore-sonnet",
        462.0,
        Some(306.0),
        Some("us.anthropic.claude-sonnet-4-5"),
        Level::Default,
    );
    s.handoff = true;
    s.escalation = true;
    s.input_tokens = Some(2_406);
    s.output_tokens = Some(652);
    s.cost_usd = Some(0.01700);
    s.output = Some(
        "I can see two charges of $49.00 on 2026-11-03. The second is a pre-authorisation \
         that will drop off within 3 business days; no refund is needed."
            .into(),
    );
    spans.push(s);

    let mut s = span(
        "obs-07",
        Some("obs-06"),
        "memory.dual_write",
        Side::Agentcore,
        "agentcore-sonnet",
        770.0,
        Some(24.0),
        None,
        Level::Default,
    );
    s.status_message = Some("wrote 2 records (agentcore memory + eks redis)".into());
    spans.push(s);

    let mut s = span(
        "obs-08",
        Some("obs-06"),
        "response.stream",
        Side::Agentcore,
        "agentcore-sonnet",
        788.0,
        None,
        None,
        Level::Debug,
    );
    s.status_message = Some("client disconnected before end event".into());
    spans.push(s);

    SessionDetail {
        session_id: OPEN_SESSION.into(),
        started_at: t0() - Duration::milliseconds(48_000),
        spans,
        roots_only: false,
    }
}

fn sessions() -> SessionsView {
    let now = t0();
    let mut all = Vec::with_capacity(40);
    for i in 0..40u32 {
        let id = if i == 2 {
            OPEN_SESSION.to_string()
        } else if i == 5 {
            "s-7f39c4".to_string()
        } else {
            format!("s-{:06x}", 0x7f3a40 - i * 7)
        };
        let kind = i % 5;
        let (sides, paths): (Vec<Side>, Vec<&str>) = match kind {
            0 => (vec![Side::Eks], vec!["eks-qwen3"]),
            1 => (
                vec![Side::Agentcore, Side::Eks],
                vec!["agentcore-haiku", "eks-qwen3"],
            ),
            2 => (
                vec![Side::Agentcore, Side::Eks],
                vec!["agentcore-haiku", "eks-qwen3", "agentcore-sonnet"],
            ),
            3 => (vec![Side::Agentcore], vec!["agentcore-haiku"]),
            _ => (
                vec![Side::Agentcore, Side::Eks],
                vec!["eks-qwen3", "agentcore-haiku"],
            ),
        };
        let hybrid = sides.len() == 2;
        let escalated = i == 2;
        let orphans = if i == 2 || i == 5 { 1 } else { 0 };
        let spans = 2 + (i * 7 % 9);
        let duration = if i == 2 {
            812.0
        } else {
            120.0 + f64::from((i * 137) % 900)
        };
        all.push(SessionRow {
            session_id: id,
            sides,
            paths: paths.into_iter().map(PathId::new).collect(),
            spans: if i == 2 { 8 } else { spans },
            started_at: now - Duration::seconds(i64::from(i) * 11 + 48),
            duration_ms: duration,
            cost_usd: if i == 7 {
                None
            } else {
                Some(0.0004 + f64::from(i % 6) * 0.0031)
            },
            escalated,
            handoffs: if hybrid { 1 + u32::from(escalated) } else { 0 },
            orphan_spans: orphans,
            errors: if i == 2 || i == 11 { 1 } else { 0 },
            hybrid,
        });
    }
    if let Some(r) = all.get_mut(2) {
        r.cost_usd = Some(0.01781);
    }
    let recent = all.iter().take(10).cloned().collect();
    SessionsView {
        total: 1_204,
        hybrid: 342,
        escalated: 51,
        handoffs: 398,
        orphaned: 4,
        unsessioned: 0,
        context_loss_rate: Some(4.0 / 342.0),
        waterfalls: None,
        capped_at: None,
        recent,
        all: Arc::new(all),
        detail: Some(detail()),
    }
}

fn daily() -> Vec<DailyCost> {
    let mut out = Vec::with_capacity(42);
    let start = NaiveDate::from_ymd_opt(2026, 11, 11).unwrap_or_default();
    for d in 0..14u32 {
        let date = start + chrono::Days::new(u64::from(d));
        let wk = f64::from((d + 2) % 7 < 2);
        out.push(DailyCost {
            date,
            class: CostClass::Agentcore,
            usd: 52.0 + f64::from(d) * 1.1 - wk * 14.0,
        });
        out.push(DailyCost {
            date,
            class: CostClass::Eks,
            usd: 24.1 + f64::from(d % 3) * 0.8,
        });
        out.push(DailyCost {
            date,
            class: CostClass::Other,
            usd: 0.8,
        });
    }
    out
}

/// The fully populated fixture.
pub fn sample_snapshot() -> Snapshot {
    let now = t0();
    let mut eks = path(
        "eks-qwen3",
        Side::Eks,
        "EKS Qwen3-4B",
        70,
        300.0,
        0.6897,
        [Some(41.3), Some(118.4), Some(212.9)],
        3.018,
    );
    eks.ready_pods = Some(3);
    eks.desired_pods = Some(5);
    eks.history = history(300.0, 0.69, 118.4, 3.018, 0.0, true);
    // The engine (Prometheus): the queue building and one pod's KV cache past the critical mark.
    eks.engine = Some(hybridtop::model::engine::EngineView {
        figures: hybridtop::model::engine::EngineFigures {
            requests_waiting: Some(8.0),
            requests_running: Some(34.0),
            kv_cache_usage: Some(0.93),
            ttft_p95_ms: Some(182.0),
            e2e_p95_ms: Some(2410.0),
            generation_tokens_per_s: Some(1840.0),
        },
        metric_names: hybridtop::model::engine::MetricNames {
            kv_cache: Some("vllm:kv_cache_usage_perc".into()),
        },
        at: Some(now - Duration::seconds(6)),
        notes: Vec::new(),
        kv_level: 2,
    });
    let mut haiku = path(
        "agentcore-haiku",
        Side::Agentcore,
        "AgentCore Haiku",
        20,
        88.0,
        0.2023,
        [Some(62.0), Some(95.2), Some(141.7)],
        1.84,
    );
    haiku.error_rate = Some(0.0);
    haiku.history = history(88.0, 0.2, 95.2, 1.84, 1.3, false);
    let mut sonnet = path(
        "agentcore-sonnet",
        Side::Agentcore,
        "AgentCore Sonnet",
        10,
        47.0,
        0.1080,
        [Some(182.0), Some(309.6), None],
        4.10,
    );
    sonnet.throttles_per_minute = 2.5;
    sonnet.error_rate = Some(0.0106);
    sonnet.history = history(47.0, 0.108, 309.6, 4.10, 2.1, false);
    let paths = vec![eks, haiku, sonnet];
    let est: f64 = paths.iter().filter_map(|p| p.cost.usd_per_hour).sum();

    let sources = vec![
        SourceStatus {
            name: SourceName::Cloudwatch,
            state: SourceState::Ok,
            last_success: Some(now - Duration::seconds(4)),
            age_seconds: Some(4.2),
            error: None,
            simulated: true,
            permanent: false,
            lag_seconds: None,
            interval_seconds: None,
            catching_up: None,
        },
        SourceStatus {
            name: SourceName::CostExplorer,
            state: SourceState::Ok,
            last_success: Some(now - Duration::seconds(7_200)),
            age_seconds: Some(7_200.0),
            error: None,
            simulated: true,
            permanent: false,
            lag_seconds: None,
            interval_seconds: None,
            catching_up: None,
        },
        SourceStatus {
            name: SourceName::Kubernetes,
            state: SourceState::Ok,
            last_success: Some(now - Duration::seconds(1)),
            age_seconds: Some(0.8),
            error: None,
            simulated: true,
            permanent: false,
            lag_seconds: None,
            interval_seconds: None,
            catching_up: None,
        },
        SourceStatus {
            name: SourceName::Langfuse,
            state: SourceState::Stale,
            last_success: Some(now - Duration::seconds(190)),
            age_seconds: Some(190.0),
            error: Some("GET /api/public/v2/observations: 503 Service Unavailable".into()),
            simulated: true,
            permanent: false,
            lag_seconds: None,
            interval_seconds: None,
            catching_up: None,
        },
    ];

    let pods = vec![
        pod(
            "abcde",
            "Running",
            true,
            0,
            Some("ip-10-0-1-23"),
            15_400,
            None,
        ),
        pod(
            "fghij",
            "Running",
            true,
            0,
            Some("ip-10-0-2-41"),
            15_380,
            None,
        ),
        pod(
            "klmno",
            "Running",
            true,
            1,
            Some("ip-10-0-3-17"),
            3_620,
            None,
        ),
        pod(
            "pqrst",
            "Pending",
            false,
            0,
            Some("ip-10-0-3-88"),
            95,
            Some("ContainersNotReady: loading model Qwen3-4B (41%)"),
        ),
        pod(
            "uvwxy",
            "Running",
            false,
            7,
            Some("ip-10-0-2-41"),
            1_840,
            Some("CrashLoopBackOff: CUDA error: out of memory (ノード gpu-2)"),
        ),
    ];
    // Engine figures of the ready pods (matched by the `pod` label); none for the others.
    let mut pods = pods;
    for (pv, (w, r, kv, level)) in pods.iter_mut().zip([
        (3.0, 12.0, 0.62, 0u8),
        (5.0, 14.0, 0.93, 2),
        (0.0, 8.0, 0.84, 1),
    ]) {
        pv.engine = Some(hybridtop::model::engine::PodEngineView {
            requests_waiting: Some(w),
            requests_running: Some(r),
            kv_cache_usage: Some(kv),
            kv_level: level,
        });
    }
    let so = ScaledObjectView {
        verdict: "steady at 5".into(),
        contradictions: Vec::new(),
        scaled_object: ScaledObject {
            namespace: "agents".into(),
            name: "vllm-qwen3".into(),
            target: "Deployment/vllm-qwen3".into(),
            min_replicas: 1,
            max_replicas: 8,
            current_replicas: 5,
            desired_replicas: 5,
            ready: true,
            active: true,
            paused: false,
            fallback: false,
            triggers: vec!["prometheus".into(), "aws-sqs-queue".into()],
            failing_triggers: 0,
            metric_value: Some(14.2),
            metric_target: Some(10.0),
            last_scale: Some(now - Duration::seconds(100)),
            message: None,
            path: Some(PathId::new("eks-qwen3")),
            conditions: Vec::new(),
            hpa_name: Some("keda-hpa-vllm-qwen3".into()),
            hpa_conditions: Vec::new(),
            failing_trigger_names: Vec::new(),
            metric_name: None,
            paused_annotation: false,
        },
    };

    let mut billed = BTreeMap::new();
    billed.insert("agentcore".to_string(), 812.3);
    billed.insert("eks".to_string(), 455.1);
    billed.insert("other".to_string(), 12.0);
    billed.insert("total".to_string(), 1_279.4);

    let mut snap = Snapshot {
        schema: SCHEMA.to_string(),
        generated_at: now,
        mode: Mode::Demo,
        environment: "demo-us-east-2".into(),
        window_seconds: 300,
        read_only: true,
        redacted: false,
        sources,
        router: RouterView {
            backend: "simulator".into(),
            target: None,
            weights: Weights::from_pairs([
                ("eks-qwen3", 70),
                ("agentcore-haiku", 20),
                ("agentcore-sonnet", 10),
            ]),
            version: None,
            invalid: None,
        },
        paths,
        fleet: FleetView {
            pods,
            scaled_objects: vec![so],
            problems: Vec::new(),
            events: std::sync::Arc::new(vec![
                EventView {
                    kind_of: "Warning".into(),
                    reason: "Unhealthy".into(),
                    kind: "Pod".into(),
                    namespace: "agents".into(),
                    name: "vllm-qwen3-7d9f8b6c5-x2k4p".into(),
                    message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
                        .into(),
                    count: 12,
                    first_seen: now - Duration::seconds(600),
                    last_seen: now - Duration::seconds(20),
                    path: Some(PathId::new("eks-qwen3")),
                },
                EventView {
                    kind_of: "Normal".into(),
                    reason: "SuccessfulRescale".into(),
                    kind: "HorizontalPodAutoscaler".into(),
                    namespace: "agents".into(),
                    name: "keda-hpa-vllm-qwen3".into(),
                    message: "New size: 5; reason: external metric s0-prometheus above target"
                        .into(),
                    count: 1,
                    first_seen: now - Duration::seconds(100),
                    last_seen: now - Duration::seconds(100),
                    path: Some(PathId::new("eks-qwen3")),
                },
            ]),
            nodes: Vec::new(),
        },
        sessions: sessions(),
        cost: CostView {
            billed_month_to_date_usd: Some(billed.clone()),
            billed_as_of: Some(now - Duration::seconds(7_200)),
            estimated_usd_per_hour: Some(est),
            projected_usd_per_month: Some(est * 730.0),
            dashboard_api_usd_per_hour: Some(0.021),
            dashboard_api_usd_total: Some(0.05),
            // MTD over the 24 days 6 hours to `billed_as_of` (11-25 06:00), at 730 h a month.
            billed_projected_usd_per_month: Some(
                billed
                    .iter()
                    .map(|(k, v)| (k.clone(), v / (24.0 * 24.0 + 6.0) * 730.0))
                    .collect(),
            ),
            daily: daily(),
        },
        alerts: vec![
            Alert {
                severity: Severity::Warn,
                code: "p95_over_threshold".into(),
                path: Some(PathId::new("eks-qwen3")),
                message: "p95 118 ms > 100 ms: EKS is scaling behind traffic (3/5 pods ready)"
                    .into(),
                since: Some(now - Duration::seconds(240)),
                source: None,
            },
            Alert {
                severity: Severity::Crit,
                code: "p95_over_threshold".into(),
                path: Some(PathId::new("agentcore-sonnet")),
                message: "p95 310 ms > 200 ms; 2.5 throttles/min".into(),
                since: Some(now - Duration::seconds(95)),
                source: None,
            },
        ],
        phase: PhaseView {
            current: 2,
            triggers: vec![
                PhaseTrigger {
                    metric: "monthly_requests".into(),
                    value: Some(435.0 * 60.0 * 730.0),
                    threshold: 1_500_000.0,
                    met: true,
                    toward_phase: 3,
                },
                PhaseTrigger {
                    metric: "monthly_cost_usd".into(),
                    value: Some(est * 730.0),
                    threshold: 3_000.0,
                    met: true,
                    toward_phase: 3,
                },
                PhaseTrigger {
                    metric: "p95_ms".into(),
                    value: Some(118.4),
                    threshold: 200.0,
                    met: false,
                    toward_phase: 3,
                },
                PhaseTrigger {
                    metric: "context_loss_rate".into(),
                    value: Some(4.0 / 342.0),
                    threshold: 0.05,
                    met: false,
                    toward_phase: 3,
                },
            ],
            configured: false,
            next: Some(3),
            success_metrics: Vec::new(),
        },
        advisor: Default::default(),
        agentcore: Default::default(),
        alarms: Vec::new(),
        alarm_scan: None,
    };
    // The advisor of this snapshot, as the state would derive it with the demo's config.
    snap.advisor = hybridtop::model::advisor::evaluate(
        &snap,
        &hybridtop::model::advisor::AdvisorParams::from_config(&hybridtop::config::Config::demo()),
    );
    snap
}

/// The fixture with `n` pods (for the fleet at scale), cycling through the five base pods.
pub fn snapshot_with_pods(n: usize) -> Snapshot {
    let mut snap = sample_snapshot();
    let base = snap.fleet.pods.clone();
    let mut pods = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(b) = base.get(i % base.len().max(1)) {
            let mut p = b.clone();
            p.pod.name = format!(
                "vllm-qwen3-{:05}-{}",
                i,
                &b.pod.name[b.pod.name.len() - 5..]
            );
            pods.push(p);
        }
    }
    snap.fleet.pods = pods;
    snap
}

/// The sample, as the live Kubernetes source reports trouble: the API unreachable for 2
/// minutes, pods forbidden in a second namespace, KEDA's and the HPA's conditions (fallback,
/// scaling limited), a pod with the scheduler's message.
pub fn live_fleet_trouble() -> Snapshot {
    let mut snap = sample_snapshot();
    snap.mode = Mode::Live;
    let now = snap.generated_at;
    for s in snap.sources.iter_mut() {
        s.simulated = false;
        if s.name == SourceName::Kubernetes {
            s.state = SourceState::Error;
            s.last_success = Some(now - Duration::seconds(120));
            s.age_seconds = Some(120.0);
            s.error = Some(
                "Kubernetes API unreachable at https://ABCDEF.gr7.us-east-2.eks.amazonaws.com: tcp connect error: Connection refused (os error 111)"
                    .into(),
            );
        }
    }
    let cond = |kind: &str, status: &str, reason: &str| Condition {
        kind: kind.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: None,
        since: None,
    };
    if let Some(so) = snap.fleet.scaled_objects.first_mut() {
        let so = &mut so.scaled_object;
        so.fallback = true;
        so.failing_triggers = 1;
        so.failing_trigger_names = vec!["s1-aws-sqs-queue".into()];
        so.message = Some("failing: s1-aws-sqs-queue".into());
        so.conditions = vec![
            cond("Ready", "True", "ScaledObjectReady"),
            cond("Active", "True", "ScalerActive"),
            cond("Fallback", "True", "FallbackExists"),
            cond("Paused", "False", "ScaledObjectUnpaused"),
        ];
        so.hpa_conditions = vec![
            cond("AbleToScale", "True", "ReadyForNewScale"),
            cond("ScalingActive", "True", "ValidMetricFound"),
            cond("ScalingLimited", "True", "TooManyReplicas"),
        ];
        so.metric_name = Some("s0-prometheus".into());
    }
    if let Some(p) = snap
        .fleet
        .pods
        .iter_mut()
        .find(|p| p.pod.phase == "Pending")
    {
        p.pod.reason = Some("Unschedulable".into());
        p.pod.message = Some("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.".into());
        p.pod.node = None;
    }
    snap.fleet.problems = vec![FleetProblem {
        resource: "pods".into(),
        namespace: "agents-canary".into(),
        kind: ProblemKind::Forbidden,
        message: "forbidden: needs list and watch on pods in agents-canary".into(),
        since: now - Duration::seconds(300),
        paths: Vec::new(),
    }];
    snap
}
