//! The live wiring end to end: the real binary, a config with every section, and all four
//! services on loopback — Kubernetes (fake API server), CloudWatch (CBOR server), Cost
//! Explorer (moto) and Langfuse (fake public API) — through KUBECONFIG, AWS_ENDPOINT_URL_* and
//! LANGFUSE_BASE_URL. `snapshot` waits for each source's first answer; `check` passes.
use crate::support;

use chrono::{Datelike, Duration as CDuration, Utc};
use serde_json::{json, Map, Value};
use std::process::{Command, Output};
use std::sync::Arc;
use support::cloudwatch::{FakeCloudWatch, ListedMetric, MetricQuery};
use support::kube_api::KubeApiServer;
use support::langfuse_api::{LangfuseApiServer, Obs, Trace, SECRET_KEY};
use support::live::{self, ARN, MODEL};
use support::moto::Moto;

const AC: &str = "AWS/Bedrock-AgentCore";
const BR: &str = "AWS/Bedrock";

fn cloudwatch() -> FakeCloudWatch {
    let cw = FakeCloudWatch::start(Arc::new(|q: &MetricQuery, _t: i64| {
        Some(
            match (q.namespace.as_str(), q.metric.as_str(), q.stat.as_str()) {
                (AC, "Invocations", "Sum") => 30.0,
                (AC, "Latency", "p50") => 50.0,
                (AC, "Latency", "p95") => 95.0,
                (AC, "Latency", "p99") => 140.0,
                (AC, "SessionCount", "Sum") => 5.0,
                (BR, "Invocations", "Sum") => 30.0,
                (BR, "InputTokenCount", "Sum") => 24_000.0,
                (BR, "OutputTokenCount", "Sum") => 9_000.0,
                _ => return None,
            },
        )
    }));
    let mut listed = Vec::new();
    for m in [
        "Invocations",
        "Throttles",
        "SystemErrors",
        "UserErrors",
        "SessionCount",
        "Latency",
    ] {
        listed.push(ListedMetric::new(AC, m, &[("Resource", ARN)]));
    }
    for m in [
        "Invocations",
        "InputTokenCount",
        "OutputTokenCount",
        "InvocationThrottles",
    ] {
        listed.push(ListedMetric::new(BR, m, &[("ModelId", MODEL)]));
    }
    cw.set_listed(listed);
    cw
}

fn kube() -> KubeApiServer {
    let s = KubeApiServer::start();
    live::seed_fleet(
        &s,
        &[
            ("vllm-qwen3-a", "ip-10-0-1-23"),
            ("vllm-qwen3-b", "ip-10-0-2-41"),
        ],
    );
    s
}

fn langfuse() -> LangfuseApiServer {
    let s = LangfuseApiServer::start();
    let t0 = Utc::now() - CDuration::seconds(60);
    let mut meta = Map::new();
    meta.insert("parent".into(), Value::String("ac-s-live1".into()));
    for (i, (trace, tag, model, start, parent)) in [
        (
            "eks-vllm-qwen3-a-00ff",
            "path:eks-qwen3",
            "qwen3-4b",
            t0,
            Some(meta),
        ),
        (
            "ac-s-live1-1795594100000",
            "path:agentcore-haiku",
            "claude-haiku-4-5",
            t0 + CDuration::milliseconds(400),
            None,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        s.add_trace(Trace {
            id: trace.into(),
            timestamp: start,
            name: Some("agent-turn".into()),
            session_id: Some("hybrid-s-live1".into()),
            tags: vec![tag.into()],
            ..Trace::default()
        });
        s.add_obs(Obs {
            id: format!("obs-{i}"),
            trace_id: trace.into(),
            kind: "GENERATION".into(),
            start,
            end: Some(start + CDuration::milliseconds(120)),
            name: Some("generate".into()),
            model: Some(model.into()),
            metadata: parent,
            ..Obs::default()
        });
    }
    s
}

fn moto() -> Moto {
    let m = Moto::start();
    m.seed_cost_and_usage(vec![live::month_to_date(&[
        ("Amazon Bedrock AgentCore", 10.0),
        ("Amazon Elastic Compute Cloud - Compute", 4.0),
        ("AWS Key Management Service", 1.0),
    ])]);
    m
}

/// The source sections after `live::config_head`.
const SOURCES: &str = r#"[aws]
region = "us-east-2"
[kubernetes]
namespaces = ["agents"]
[langfuse]
interval = "10s"
[router]
backend = "configmap"
namespace = "agents"
name = "hybrid-router"
"#;

struct World {
    _cw: FakeCloudWatch,
    _moto: Moto,
    _kube: KubeApiServer,
    _lf: LangfuseApiServer,
    kc: support::kube_api::KubeconfigFile,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn world() -> World {
    let cw = cloudwatch();
    let moto = moto();
    let kube = kube();
    let lf = langfuse();
    let kc = kube.kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let config = live::config_head("prod-us-east-2") + SOURCES;
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let env = live::env(
        dir.path(),
        live::Endpoints {
            kubeconfig: &kc.path,
            cloudwatch: cw.url(),
            cost_explorer: moto.url(),
            langfuse: lf.url(),
        },
        "hybridtop-test-secret",
    );
    World {
        _cw: cw,
        _moto: moto,
        _kube: kube,
        _lf: lf,
        kc,
        dir,
        env,
    }
}

impl World {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hybridtop"));
        cmd.env_clear()
            .arg("-c")
            .arg(self.dir.path().join("config.toml"))
            .args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let _ = &self.kc;
        cmd.output().unwrap()
    }
}

fn source<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[test]
fn snapshot_waits_for_every_source_and_reports_them_all() {
    let w = world();
    let o = w.run(&["snapshot", "--format", "json", "--wait", "40s"]);
    let err = String::from_utf8_lossy(&o.stderr);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    for s in ["cloudwatch", "cost_explorer", "kubernetes", "langfuse"] {
        assert_eq!(source(&v, s)["state"], "ok", "{s}: {}", source(&v, s));
    }
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(v["mode"], "live");
    assert_eq!(v["environment"], "prod-us-east-2");
    // Kubernetes: the fleet as served, and the router's weights from the ConfigMap.
    assert_eq!(v["fleet"]["pods"].as_array().unwrap().len(), 2);
    assert_eq!(v["fleet"]["scaled_objects"][0]["name"], "vllm-qwen3");
    assert_eq!(v["router"]["backend"], "configmap");
    assert_eq!(
        v["router"]["weights"],
        json!({"eks-qwen3": 75, "agentcore-haiku": 25})
    );
    // CloudWatch: 30 invocations a minute on the AgentCore path, p95 95 ms.
    let haiku = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "agentcore-haiku")
        .unwrap();
    assert!(
        (haiku["requests_per_minute"].as_f64().unwrap() - 30.0).abs() < 1e-6,
        "{haiku}"
    );
    assert!(
        (haiku["latency_ms"]["p95"].as_f64().unwrap() - 95.0).abs() < 1e-6,
        "{haiku}"
    );
    assert!(haiku["cost"]["usd_per_hour"].as_f64().unwrap() > 0.0);
    // Cost Explorer: billed month to date by class.
    let billed = &v["cost"]["billed_month_to_date_usd"];
    let days = f64::from(Utc::now().day());
    assert!(
        (billed["agentcore"].as_f64().unwrap() - 10.0 * days).abs() < 1e-6,
        "{billed}"
    );
    assert!(
        (billed["eks"].as_f64().unwrap() - 4.0 * days).abs() < 1e-6,
        "{billed}"
    );
    assert!(v["cost"]["dashboard_api_usd_per_hour"].as_f64().unwrap() <= 0.05);
    // Langfuse: the hybrid session, with its hand-off to AgentCore.
    assert!(
        v["sessions"]["hybrid"].as_u64().unwrap() >= 1,
        "{}",
        v["sessions"]
    );
    assert_eq!(v["sessions"]["recent"][0]["session_id"], "s-live1");
}

#[test]
fn check_passes_against_every_service() {
    let w = world();
    let o = w.run(&["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for s in ["kubernetes", "langfuse", "cloudwatch"] {
        assert!(out.contains(s), "no {s} line:\n{out}");
    }
    assert!(
        !out.contains(SECRET_KEY),
        "the secret key leaked into check output"
    );
}

#[test]
fn check_names_what_is_wrong() {
    let w = world();
    w._kube.forbid("list", "pods");
    let o = w.run(&["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("pods") && out.contains("✗"), "{out}");
}

/// Requests each service has answered so far: CloudWatch, Kubernetes reads (get/list),
/// Kubernetes watches, Langfuse. Watches are counted apart: the collector re-opens each one when
/// the server ends it (`timeoutSeconds`, about every 5 min), whoever else is attached.
fn served(w: &World) -> [usize; 4] {
    let kube = w._kube.requests();
    let watches = kube.iter().filter(|r| r.is_watch()).count();
    [
        w._cw.requests().len(),
        kube.len() - watches,
        watches,
        w._lf.request_count(),
    ]
}

/// Team mode's promise, measured: a live collector polls the services; twenty dashboards attach
/// to its stream (real `hybridtop --attach` processes on ptys, with the same credentials and
/// endpoints in their environment), and the services answer as many requests in a period with
/// the viewers as in the same period without them. `HYBRIDTOP_TEAM_PERIOD` (seconds, default
/// 12) sets the period; the README's figures are a 300 s run.
#[test]
fn twenty_attached_viewers_cost_the_services_nothing() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let period = Duration::from_secs(
        std::env::var("HYBRIDTOP_TEAM_PERIOD")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(12),
    );
    let w = world();
    let redis = support::redis::RedisServer::start();
    let url = redis.url("hybridtop");
    let mut collector = Command::new(env!("CARGO_BIN_EXE_hybridtop"));
    collector
        .env_clear()
        .arg("-c")
        .arg(w.dir.path().join("config.toml"))
        .args(["collect", "--publish", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in &w.env {
        collector.env(k, v);
    }
    let mut collector = collector.spawn().unwrap();
    // Settled: every source has answered once and the start-up discovery is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = w.run(&["snapshot", "--attach", &url, "--format", "json"]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let ok = |n: &str| {
            v["sources"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == n && s["state"] == "ok"))
        };
        if ["cloudwatch", "kubernetes", "langfuse", "collector"]
            .iter()
            .all(|n| ok(n))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sources not ready: {}",
            v["sources"]
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(5));
    let a0 = served(&w);
    std::thread::sleep(period);
    let a1 = served(&w);
    let pty = native_pty_system();
    let mut viewers = Vec::new();
    for _ in 0..20 {
        let pair = pty
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_hybridtop"));
        cmd.env_clear();
        for (k, v) in &w.env {
            cmd.env(k, v);
        }
        cmd.arg("-c");
        cmd.arg(w.dir.path().join("config.toml"));
        cmd.args(["--attach", &url]);
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while matches!(std::io::Read::read(&mut reader, &mut buf), Ok(n) if n > 0) {}
        });
        viewers.push((child, pair.master));
    }
    let b0 = served(&w);
    std::thread::sleep(period);
    let b1 = served(&w);
    for (child, _) in viewers.iter_mut() {
        assert!(child.try_wait().unwrap().is_none(), "a viewer exited");
        let _ = child.kill();
    }
    let _ = collector.kill();
    let _ = collector.wait();
    let alone: Vec<usize> = a0.iter().zip(a1).map(|(x, y)| y - x).collect();
    let with: Vec<usize> = b0.iter().zip(b1).map(|(x, y)| y - x).collect();
    eprintln!(
        "requests in {} s (CloudWatch, Kubernetes reads, Kubernetes watches, Langfuse): collector alone {alone:?}, with 20 viewers {with:?}",
        period.as_secs()
    );
    // Periodic polls land on either side of a period's edge: one poll's worth either way
    // (CloudWatch: one GetMetricData round per minute; Langfuse one page per 10 s).
    for (i, (a, b)) in alone.iter().zip(&with).enumerate() {
        assert!(
            a.abs_diff(*b) <= 2,
            "source {i}: alone {a}, with viewers {b}"
        );
    }
}
