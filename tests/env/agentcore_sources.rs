//! AgentCore Gateway tools, Identity, Memory and the CloudWatch alarms, live: the real SDK and
//! the CloudWatch source against the CBOR server in `tests/support/cloudwatch.rs`
//! (ListMetrics under the three namespace spellings, GetMetricData, DescribeAlarms), the model
//! fed what the source sent, the snapshot JSON compared with figures computed from the server's
//! own data function.
use crate::aws_sources::{env, fast_aws};
use crate::support;

use chrono::{DateTime, Utc};
use hybridtop::config::Config;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::model::update::{SourceName, SourceState, Update};
use hybridtop::sources::cloudwatch::{CloudWatchSource, CloudWatchTuning};
use hybridtop::sources::Source;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::cloudwatch::{FakeAlarm, FakeCloudWatch, Fault, ListedMetric, MetricQuery};
use tokio::sync::mpsc;

const AC: &str = "AWS/Bedrock-AgentCore";
const AC2: &str = "Bedrock-AgentCore";
const ARN: &str = "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123";
const GW: &str = "arn:aws:bedrock-agentcore:us-east-2:123456789012:gateway/ops-gw-1";
const MEM: &str = "arn:aws:bedrock-agentcore:us-east-2:123456789012:memory/mem-1";
const TOOLS: [&str; 3] = [
    "crm-lookup___find",
    "crm-lookup___update",
    "web-search___query",
];
const MEM_OPS: [&str; 2] = ["RetrieveMemoryRecords", "CreateEvent"];

fn config(extra_memory: Option<&str>) -> Config {
    let mems = match extra_memory {
        Some(m) => format!("[\"{MEM}\", \"{m}\"]"),
        None => format!("[\"{MEM}\"]"),
    };
    Config::from_toml(
        &format!(
            r#"[general]
window = "5m"
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[paths.agentcore]
runtime_arn = "{ARN}"
[aws]
region = "us-east-2"
alarm_prefixes = ["hybrid-"]
[agentcore]
gateway_arns = ["{GW}"]
memory_arns = {mems}
identity = true
in_vpc_targets = ["crm-lookup"]
"#
        ),
        "agentcore.toml",
    )
    .unwrap()
}

/// The minute's phase, 0..5.
fn m(t: i64) -> f64 {
    (t / 60).rem_euclid(5) as f64
}

/// What the server serves: a function of namespace, metric, dimensions, stat and minute.
fn value(q: &MetricQuery, t: i64) -> Option<f64> {
    let m = m(t);
    let tool = q.dim("Name");
    let v = match (
        q.namespace.as_str(),
        q.metric.as_str(),
        q.stat.as_str(),
        tool,
    ) {
        (AC, "Invocations", "Sum", None) => 60.0,
        (AC, "Latency", "p95", None) => 120.0,
        // Gateway, under the second spelling.
        (AC2, "Invocations", "Sum", Some(n)) => match n {
            "crm-lookup___find" => 10.0 + m,
            "crm-lookup___update" => 20.0,
            _ => 30.0,
        },
        (AC2, "SystemErrors", "Sum", Some(n)) if n.starts_with("crm") => 1.0,
        (AC2, "UserErrors", "Sum", Some(n)) if n.starts_with("web") => 2.0,
        (AC2, "Throttles", "Sum", Some(n)) if n.starts_with("web") && m == 2.0 => 1.0,
        (AC2, metric @ ("Latency" | "Duration" | "TargetExecutionTime"), stat, Some(n)) => {
            let base = match (n.starts_with("crm"), stat) {
                (true, "p50") => 300.0 + 10.0 * m,
                (true, "p90") => 800.0 + 20.0 * m,
                (true, _) => 1200.0,
                (false, "p50") => 50.0,
                (false, "p90") => 90.0,
                (false, _) => 150.0,
            };
            base + match metric {
                "Latency" => 15.0,
                "Duration" => 30.0,
                _ => 0.0,
            }
        }
        // Memory, per operation.
        (AC2, "Invocations", "Sum", None) if q.dim("Resource") == Some(MEM) => 40.0,
        (AC2, "SystemErrors", "Sum", None)
            if q.dim("Operation") == Some("CreateEvent") && m >= 3.0 =>
        {
            1.0
        }
        (AC2, "Latency", "p50", None) if q.dim("Resource") == Some(MEM) => 20.0,
        (AC2, "Latency", "p99", None) if q.dim("Resource") == Some(MEM) => {
            if q.dim("Operation") == Some("CreateEvent") {
                80.0 + m
            } else {
                60.0
            }
        }
        // Identity, under the first spelling.
        (AC, "WorkloadAccessTokenFetchSuccess", "Sum", None) => 100.0,
        (AC, "WorkloadAccessTokenFetchFailures", "Sum", None) => match q.dim("ExceptionType") {
            Some("ValidationException") => 3.0,
            Some("AccessDeniedException") if m >= 3.0 => 2.0,
            _ => return None,
        },
        _ => return None,
    };
    Some(v)
}

fn listed() -> Vec<ListedMetric> {
    let mut v = Vec::new();
    for metric in ["Invocations", "Latency"] {
        v.push(ListedMetric::new(AC, metric, &[("Resource", ARN)]));
    }
    for t in TOOLS {
        for metric in [
            "Invocations",
            "Throttles",
            "SystemErrors",
            "UserErrors",
            "Latency",
            "Duration",
            "TargetExecutionTime",
        ] {
            v.push(ListedMetric::new(
                AC2,
                metric,
                &[
                    ("Method", "tools/call"),
                    ("Name", t),
                    ("Operation", "InvokeGateway"),
                    ("Protocol", "MCP"),
                    ("Resource", GW),
                ],
            ));
        }
    }
    // The gateway-wide aggregate: not per tool, not queried.
    v.push(ListedMetric::new(AC2, "Invocations", &[("Resource", GW)]));
    for op in MEM_OPS {
        for metric in [
            "Invocations",
            "Throttles",
            "SystemErrors",
            "UserErrors",
            "Latency",
        ] {
            v.push(ListedMetric::new(
                AC2,
                metric,
                &[("Operation", op), ("Resource", MEM)],
            ));
        }
    }
    let id = [
        ("Operation", "GetWorkloadAccessToken"),
        ("WorkloadIdentity", "agent-1"),
        ("WorkloadIdentityDirectory", "default"),
    ];
    v.push(ListedMetric::new(
        AC,
        "WorkloadAccessTokenFetchSuccess",
        &id,
    ));
    for ex in ["ValidationException", "AccessDeniedException"] {
        let mut d = id.to_vec();
        d.push(("ExceptionType", ex));
        v.push(ListedMetric::new(
            AC,
            "WorkloadAccessTokenFetchFailures",
            &d,
        ));
    }
    v
}

fn alarms(now: i64) -> Vec<FakeAlarm> {
    vec![
        FakeAlarm::new(
            "hybrid-haiku-p95\u{1b}[2J\u{202e}",
            "ALARM",
            "Threshold Crossed: 3 datapoints \u{9b}31m[812.4] > 200.0\u{7}",
            now - 300,
            AC,
            "Latency",
            &[("Resource", ARN)],
        ),
        FakeAlarm::new(
            "hybrid-gw-crm-target-time",
            "INSUFFICIENT_DATA",
            "Insufficient Data: 1 datapoint was unknown",
            now - 120,
            AC2,
            "TargetExecutionTime",
            &[("Name", "crm-lookup___find"), ("Resource", GW)],
        ),
        FakeAlarm::new("hybrid-ok", "OK", "fine", now - 60, AC, "Invocations", &[]),
        FakeAlarm::new(
            "other-team",
            "ALARM",
            "not ours",
            now - 60,
            AC,
            "Invocations",
            &[],
        ),
    ]
}

fn server() -> FakeCloudWatch {
    let cw = FakeCloudWatch::start(Arc::new(value));
    cw.set_listed(listed());
    cw.set_alarms(alarms(Utc::now().timestamp()));
    cw
}

fn tuning(cfg: &Config) -> CloudWatchTuning {
    CloudWatchTuning {
        aws: fast_aws(),
        ..CloudWatchTuning::from_config(cfg)
    }
}

/// The CloudWatch source as the live dashboard runs it, until its first refresh is in; the
/// snapshot JSON the model derives from what it sent.
async fn live(cfg: &Config) -> (Value, Vec<Update>) {
    let mut state = State::new(cfg, Mode::Live);
    state.apply(Update::Clock { now: Utc::now() });
    let (tx, mut rx) = mpsc::channel(100_000);
    let src = CloudWatchSource::from_config(cfg)
        .unwrap()
        .with_tuning(tuning(cfg));
    let task = Box::new(src).spawn(tx);
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let u = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the source answered in time")
            .expect("channel open");
        let done = matches!(&u, Update::ApiSpend(a) if a.source == SourceName::Cloudwatch);
        got.push(u);
        if done {
            break;
        }
    }
    for u in got.iter().cloned() {
        state.apply(u);
    }
    state.apply(Update::Clock { now: Utc::now() });
    let snap = state.snapshot(&DeriveOptions::default());
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    (serde_json::to_value(&snap).unwrap(), got)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn q(ns: &str, metric: &str, stat: &str, dims: &[(&str, &str)]) -> MetricQuery {
    let mut d: Vec<(String, String)> = dims
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    d.sort();
    MetricQuery {
        id: "x".into(),
        namespace: ns.into(),
        metric: metric.into(),
        dims: d,
        stat: stat.into(),
        period: 60,
    }
}

fn tool_q(name: &str, metric: &str, stat: &str) -> MetricQuery {
    q(
        AC2,
        metric,
        stat,
        &[
            ("Method", "tools/call"),
            ("Name", name),
            ("Operation", "InvokeGateway"),
            ("Protocol", "MCP"),
            ("Resource", GW),
        ],
    )
}

#[tokio::test]
async fn tools_identity_memory_and_alarms_match_what_the_server_served() {
    let cw = server();
    let _env = env(Some(&cw.url()), None);
    let cfg = config(None);
    let (snap, _) = live(&cfg).await;
    let ac = &snap["agentcore"];
    assert_eq!(
        ac["namespace"], AC2,
        "the spelling that held the gateway's data"
    );
    let through: DateTime<Utc> = serde_json::from_value(ac["data_through"].clone()).unwrap();
    let through = through.timestamp();
    let minutes: Vec<i64> = (0..5).map(|i| through - 300 + 60 * i).collect();
    let val = |q: &MetricQuery, t: i64| value(q, t).unwrap_or(0.0);

    // Per target: counts summed over its tools and the window; percentiles weighted by the
    // invocations of the same tool series and minute.
    for (target, tools, in_vpc) in [
        ("crm-lookup", &TOOLS[..2], true),
        ("web-search", &TOOLS[2..], false),
    ] {
        let row = ac["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == target)
            .unwrap_or_else(|| panic!("{target} in {ac:#}"));
        assert_eq!(row["gateway"], GW);
        assert_eq!(row["in_vpc"], in_vpc);
        let sum = |metric: &str| -> f64 {
            minutes
                .iter()
                .flat_map(|t| tools.iter().map(move |n| (t, n)))
                .map(|(t, n)| val(&tool_q(n, metric, "Sum"), *t))
                .sum()
        };
        assert_eq!(row["invocations"].as_f64().unwrap(), sum("Invocations"));
        assert_eq!(
            row["errors"].as_f64().unwrap(),
            sum("SystemErrors") + sum("UserErrors")
        );
        assert_eq!(row["throttles"].as_f64().unwrap(), sum("Throttles"));
        for (field, metric) in [
            ("latency_ms", "Latency"),
            ("duration_ms", "Duration"),
            ("target_execution_ms", "TargetExecutionTime"),
        ] {
            for stat in ["p50", "p90", "p99"] {
                let (mut num, mut den) = (0.0, 0.0);
                for t in &minutes {
                    for n in tools {
                        let w = val(&tool_q(n, "Invocations", "Sum"), *t);
                        num += w * val(&tool_q(n, metric, stat), *t);
                        den += w;
                    }
                }
                let got = row[field][stat].as_f64().unwrap();
                assert!(
                    close(got, num / den),
                    "{target} {field}.{stat} {got} vs {}",
                    num / den
                );
            }
        }
    }
    assert_eq!(
        ac["tools"][0]["target"], "crm-lookup",
        "slowest first: {ac:#}"
    );

    // Identity: successes and failures by exception type as published.
    let id = &ac["identity"];
    let succ: f64 = minutes.iter().map(|_| 100.0).sum();
    let fails = |ex: &str| -> f64 {
        minutes
            .iter()
            .map(|t| {
                val(
                    &q(
                        AC,
                        "WorkloadAccessTokenFetchFailures",
                        "Sum",
                        &[
                            ("ExceptionType", ex),
                            ("Operation", "GetWorkloadAccessToken"),
                            ("WorkloadIdentity", "agent-1"),
                            ("WorkloadIdentityDirectory", "default"),
                        ],
                    ),
                    *t,
                )
            })
            .sum()
    };
    let f = fails("ValidationException") + fails("AccessDeniedException");
    assert_eq!(id["successes"].as_f64().unwrap(), succ);
    assert_eq!(id["failures"].as_f64().unwrap(), f);
    assert_eq!(
        id["failures_by_type"]["AccessDeniedException"]
            .as_f64()
            .unwrap(),
        fails("AccessDeniedException")
    );
    assert!(close(id["failure_rate"].as_f64().unwrap(), f / (succ + f)));

    // Memory: both operations' series summed; p99 weighted by their invocations.
    let mem = &ac["memory"][0];
    assert_eq!(mem["resource"], MEM);
    let mq = |metric: &str, stat: &str, op: &str| {
        q(AC2, metric, stat, &[("Operation", op), ("Resource", MEM)])
    };
    let (mut inv, mut err, mut p99n) = (0.0, 0.0, 0.0);
    for t in &minutes {
        for op in MEM_OPS {
            let w = val(&mq("Invocations", "Sum", op), *t);
            inv += w;
            err += val(&mq("SystemErrors", "Sum", op), *t) + val(&mq("UserErrors", "Sum", op), *t);
            p99n += w * val(&mq("Latency", "p99", op), *t);
        }
    }
    assert_eq!(mem["invocations"].as_f64().unwrap(), inv);
    assert_eq!(mem["errors"].as_f64().unwrap(), err);
    assert!(close(
        mem["latency_ms"]["p99"].as_f64().unwrap(),
        p99n / inv
    ));

    // Alarms: ALARM and INSUFFICIENT_DATA under the prefix, cleaned, linked to the path.
    let alarms = snap["alarms"].as_array().unwrap();
    assert_eq!(alarms.len(), 2, "{alarms:#?}");
    let a = &alarms[0];
    assert_eq!(a["state"], "ALARM");
    let name = a["name"].as_str().unwrap();
    let reason = a["reason"].as_str().unwrap();
    assert!(name.starts_with("hybrid-haiku-p95"), "{name:?}");
    for s in [name, reason] {
        assert!(
            !s.chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "control characters left in {s:?}"
        );
    }
    assert_eq!(a["path"], "agentcore-haiku");
    assert!(a["since"].is_string());
    assert_eq!(alarms[1]["state"], "INSUFFICIENT_DATA");
    assert_eq!(
        alarms[1]["path"],
        Value::Null,
        "a gateway alarm watches no path"
    );
    assert_eq!(snap["alarm_scan"]["total"], 2);
    // The requests carried the prefix and the states.
    let da = cw.calls("DescribeAlarms");
    let states: Vec<String> = da
        .iter()
        .filter_map(|l| {
            l.fields
                .iter()
                .find(|(k, _)| k == "StateValue")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(states, ["ALARM", "INSUFFICIENT_DATA"]);
    assert!(da.iter().all(|l| l
        .fields
        .contains(&("AlarmNamePrefix".into(), "hybrid-".into()))));
    // The slow in-VPC target is named in words.
    assert!(snap["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "tool_slow"
            && x["message"]
                .as_str()
                .unwrap()
                .contains("in-VPC MCP target crm-lookup")));
    // Spend: ListMetrics and DescribeAlarms per request, GetMetricData per metric; the steady
    // rate at the default interval stays within the budget.
    let api = snap["cost"]["dashboard_api_usd_per_hour"].as_f64().unwrap();
    // 8 runtime pairs a minute and 2 usage pairs every 5; 3 tools × 13 + 4 memory counts × 2
    // ops + 2 × 2 memory latency + 3 identity pairs every 3 minutes; 2 DescribeAlarms requests
    // a minute.
    let gmd = cw.calls("GetMetricData");
    let ac_pairs = gmd
        .iter()
        .map(|l| l.queries.iter().filter(|q| q.id.starts_with('a')).count())
        .sum::<usize>();
    assert_eq!(ac_pairs, 3 * 13 + 4 * 2 + 2 * 2 + 3, "{ac_pairs}");
    let want = (8.0 * 60.0 + 2.0 * 12.0 + ac_pairs as f64 * 20.0 + 2.0 * 60.0) * 0.00001;
    assert!(close(api, want), "{api} vs {want}");
    assert!(api <= 0.05);
}

#[tokio::test]
async fn alarms_denied_is_one_line_and_the_rest_goes_on() {
    let cw = server();
    let _env = env(Some(&cw.url()), None);
    cw.set_always_on("DescribeAlarms", Some(Fault::AccessDenied));
    let cfg = config(None);
    let (snap, got) = live(&cfg).await;
    let err = snap["alarm_scan"]["error"].as_str().unwrap();
    assert!(err.contains("cloudwatch:DescribeAlarms"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(snap["alarms"].as_array().unwrap().is_empty());
    // The rest: tools, identity, the runtime's traffic and an ok source.
    assert!(!snap["agentcore"]["tools"].as_array().unwrap().is_empty());
    assert!(snap["agentcore"]["identity"]["successes"].as_f64().unwrap() > 0.0);
    assert!(got.iter().any(|u| matches!(u, Update::Health(h)
        if h.source == SourceName::Cloudwatch && h.state == SourceState::Ok)));
    let cwsrc = snap["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cloudwatch")
        .unwrap();
    assert_eq!(cwsrc["state"], "ok");
    // On screen: the one line in the Alerts panel.
    let text = screen(&snap);
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("cloudwatch:DescribeAlarms"))
            .count(),
        1,
        "{text}"
    );
}

fn screen(snap: &Value) -> String {
    let snap: hybridtop::model::snapshot::Snapshot = serde_json::from_value(snap.clone()).unwrap();
    let theme = hybridtop::ui::theme::Theme::builtin("default").unwrap();
    let ui = hybridtop::ui::state::UiState::default();
    let buf = hybridtop::export::render(&snap, &ui, &theme, 160, 45);
    hybridtop::ui::buffer::buffer_text(&buf)
}

#[tokio::test]
async fn thousands_of_alarms_are_paged_bounded_and_counted() {
    let cw = server();
    let _env = env(Some(&cw.url()), None);
    let now = Utc::now().timestamp();
    let many: Vec<FakeAlarm> = (0..2500)
        .map(|i| {
            FakeAlarm::new(
                &format!("hybrid-{i:05}"),
                "ALARM",
                "Threshold Crossed",
                now - i,
                AC,
                "Latency",
                &[("Resource", ARN)],
            )
        })
        .collect();
    cw.set_alarms(many);
    let cfg = config(None);
    let (snap, _) = live(&cfg).await;
    let da = cw.calls("DescribeAlarms");
    assert_eq!(da.len(), 10, "bounded: ten pages a refresh");
    let scan = &snap["alarm_scan"];
    assert_eq!(scan["total"], 1000);
    assert_eq!(scan["truncated"], true);
    assert_eq!(scan["shown"], 200);
    assert_eq!(snap["alarms"].as_array().unwrap().len(), 200);
    let text = screen(&snap);
    assert!(text.contains("alarms 200 of 1,000+ read"), "{text}");
}

#[tokio::test]
async fn check_names_the_namespace_spelling_per_resource_type() {
    let cw = server();
    let _env = env(Some(&cw.url()), None);
    let missing = "arn:aws:bedrock-agentcore:us-east-2:123456789012:memory/gone-9";
    let cfg = config(Some(missing));
    let lines = hybridtop::sources::aws_check::check_with(&cfg, &fast_aws()).await;
    let show: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {} {} — {}", l.source, l.ok, l.check, l.detail))
        .collect();
    let find = |check: &str, needle: &str| {
        lines
            .iter()
            .find(|l| l.check == check && l.detail.contains(needle))
            .unwrap_or_else(|| panic!("{check} / {needle}: {show:#?}"))
    };
    let g = find("AgentCore gateway namespace", GW);
    assert!(
        g.ok && g.detail.ends_with("in Bedrock-AgentCore"),
        "{}",
        g.detail
    );
    let m = find("AgentCore memory namespace", MEM);
    assert!(m.ok && m.detail.contains("Bedrock-AgentCore"));
    let i = find("AgentCore identity namespace", "identity");
    assert!(
        i.ok && i.detail.ends_with("in AWS/Bedrock-AgentCore"),
        "{}",
        i.detail
    );
    let gone = find("AgentCore memory namespace", missing);
    assert!(!gone.ok);
    for ns in [
        "AWS/Bedrock-AgentCore",
        "Bedrock-AgentCore",
        "bedrock-agentcore",
    ] {
        assert!(gone.detail.contains(ns), "{}", gone.detail);
    }
    let a = lines
        .iter()
        .find(|l| l.check == "DescribeAlarms permitted")
        .unwrap();
    assert!(a.ok && a.detail.starts_with("2 alarms"), "{}", a.detail);
    // And the live source says the same as a warning beside its ok state.
    let (snap, _) = live(&cfg).await;
    let cwsrc = snap["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cloudwatch")
        .unwrap();
    let err = cwsrc["error"].as_str().unwrap_or("");
    assert!(
        err.contains("gone-9") && err.contains("no metrics under any of"),
        "{cwsrc}"
    );
}
