//! The Prometheus source end to end: the real binary against a real Prometheus server (Debian's
//! `prometheus`, started by `support::prometheus`) scraping a vLLM-format exporter
//! (`support::vllm_exporter`) every second, and the fake Kubernetes API for the pods. The
//! figures in `snapshot --format json` are compared with what the exporter served; failures
//! (Prometheus down, an error JSON, a selector without series) show in the source's state while
//! the rest of the snapshot carries on; `check` prints the names chosen.
use crate::support;

use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;
use support::kube_api::{KubeApiServer, KubeconfigFile};
use support::live;
use support::prometheus::Prometheus;
use support::vllm_exporter::{self as exp, VllmExporter};

const SELECTOR: &str = r#"{namespace="agents",app="vllm-qwen3"}"#;

struct World {
    _kube: KubeApiServer,
    _kc: KubeconfigFile,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn world(prometheus_url: &str, selector: &str) -> World {
    let kube = KubeApiServer::start();
    live::seed_fleet(
        &kube,
        &[
            ("vllm-qwen3-a", "ip-10-0-1-23"),
            ("vllm-qwen3-b", "ip-10-0-2-41"),
            ("vllm-qwen3-c", "ip-10-0-3-7"),
        ],
    );
    let kc = kube.kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[general]
environment = "prom-test"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
[paths.prometheus]
selector = '{selector}'
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[kubernetes]
namespaces = ["agents"]
[prometheus]
url = "{prometheus_url}"
interval = "2s"
rate_window = "5s"
timeout = "3s"
max_requests_per_minute = 600
"#
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let none = "http://127.0.0.1:1".to_string();
    let env = live::env(
        dir.path(),
        live::Endpoints {
            kubeconfig: &kc.path,
            cloudwatch: none.clone(),
            cost_explorer: none.clone(),
            langfuse: none,
        },
        "unused-secret",
    );
    World {
        _kube: kube,
        _kc: kc,
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
        cmd.output().unwrap()
    }

    fn snapshot(&self, wait: &str) -> (Value, Option<i32>, String) {
        let o = self.run(&["snapshot", "--format", "json", "--wait", wait]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
        (v, o.status.code(), err)
    }
}

fn source<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name}: {}", v["sources"]))
}

fn eks(v: &Value) -> &Value {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "eks-qwen3")
        .unwrap()
}

fn pod<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["fleet"]["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no pod {name}: {}", v["fleet"]))
}

/// An exporter and a Prometheus that has scraped it long enough for rates over 5 s: `rate()`
/// extrapolates only half an interval past the first sample, so a window not yet full of
/// samples would read low.
fn scraped(old_names: bool) -> (VllmExporter, Prometheus) {
    let e = VllmExporter::start(exp::default_pods(), old_names);
    let p = Prometheus::start(&[e.target()], &[]);
    let within = Duration::from_secs(20);
    p.wait_for_series(
        &format!("min(count_over_time(vllm:generation_tokens_total{SELECTOR}[5s])) >= 5"),
        1,
        within,
    );
    p.wait_for_series(
        &format!(
            "histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{SELECTOR}[5s])))"
        ),
        1,
        within,
    );
    (e, p)
}

fn live_figures(old_names: bool) {
    let (exporter, prom) = scraped(old_names);
    let w = world(&prom.url(), SELECTOR);
    let (v, code, err) = w.snapshot("20s");
    assert_eq!(
        source(&v, "prometheus")["state"],
        "ok",
        "{}",
        source(&v, "prometheus")
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(exporter.scrapes() >= 2);
    let served: Vec<_> = exp::default_pods()
        .into_iter()
        .filter(|p| p.app == "vllm-qwen3")
        .collect();
    let e = &eks(&v)["engine"];
    let num = |k: &str| {
        e[k].as_f64()
            .unwrap_or_else(|| panic!("{k} is not a number: {e}"))
    };
    // Sums over the path's pods; the other app's pod is left out by the selector.
    assert_eq!(
        num("requests_waiting"),
        served.iter().map(|p| p.waiting).sum::<f64>()
    );
    assert_eq!(
        num("requests_running"),
        served.iter().map(|p| p.running).sum::<f64>()
    );
    let highest = served.iter().map(|p| p.kv_cache).fold(0.0, f64::max);
    assert_eq!(num("kv_cache_usage"), highest);
    let tokens: f64 = served.iter().map(|p| p.tokens_per_s).sum();
    let got = num("generation_tokens_per_s");
    assert!(
        (got - tokens).abs() <= tokens * 0.1,
        "tokens/s {got} vs {tokens}"
    );
    // p95 from the summed buckets, in the bucket the exporter's spread puts it in.
    let ttft = num("ttft_p95_ms");
    assert!((250.0..=500.0).contains(&ttft), "ttft p95 {ttft}");
    let want = exp::p95_of(&exp::TTFT_LE, &exp::TTFT_SPREAD) * 1000.0;
    assert!(
        (ttft - want).abs() < want * 0.05,
        "ttft p95 {ttft} vs {want}"
    );
    let e2e = num("e2e_p95_ms");
    assert!((2500.0..=5000.0).contains(&e2e), "e2e p95 {e2e}");
    let kv_name = if old_names {
        "vllm:gpu_cache_usage_perc"
    } else {
        "vllm:kv_cache_usage_perc"
    };
    assert_eq!(e["metric_names"]["kv_cache"], kv_name, "{e}");
    assert!(e.get("notes").is_none(), "{e}");
    // Per pod, matched to the Kubernetes pods by the `pod` label.
    for p in &served {
        let pe = &pod(&v, p.pod)["engine"];
        assert_eq!(pe["requests_waiting"].as_f64(), Some(p.waiting), "{pe}");
        assert_eq!(pe["requests_running"].as_f64(), Some(p.running), "{pe}");
        assert_eq!(pe["kv_cache_usage"].as_f64(), Some(p.kv_cache), "{pe}");
    }
    // The AgentCore path has no engine.
    let ac = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "agentcore-haiku")
        .unwrap();
    assert!(ac.get("engine").is_none(), "{ac}");
    // KV 0.87 is over the 0.8 warning.
    let alerts = v["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["code"] == "kv_cache" && a["severity"] == "warn"),
        "{alerts:?}"
    );
}

#[test]
fn live_engine_figures_match_the_exporter() {
    live_figures(false);
}

#[test]
fn live_engine_figures_with_the_old_metric_names() {
    live_figures(true);
}

fn assert_rest_is_fine(v: &Value) {
    assert_eq!(source(v, "kubernetes")["state"], "ok", "{}", v["sources"]);
    assert_eq!(v["fleet"]["pods"].as_array().unwrap().len(), 3);
    assert_eq!(eks(v)["ready_pods"], 3);
}

fn assert_null_figures(e: &Value) {
    for k in [
        "requests_waiting",
        "requests_running",
        "kv_cache_usage",
        "ttft_p95_ms",
        "e2e_p95_ms",
        "generation_tokens_per_s",
    ] {
        assert!(e[k].is_null(), "{k} should be null: {e}");
    }
}

#[test]
fn prometheus_down_is_an_error_with_null_figures() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = world(&format!("http://127.0.0.1:{port}"), SELECTOR);
    let (v, code, _) = w.snapshot("4s");
    let s = source(&v, "prometheus");
    assert_eq!(s["state"], "error", "{s}");
    assert!(s["error"].as_str().unwrap().contains("cannot reach"), "{s}");
    assert!(
        s["last_success"].is_null() && s["age_seconds"].is_null(),
        "{s}"
    );
    assert_eq!(code, Some(4), "an enabled source in error: exit 4");
    assert_null_figures(&eks(&v)["engine"]);
    assert_rest_is_fine(&v);
}

#[test]
fn an_error_json_is_shown_with_its_type() {
    // A real Prometheus that refuses every query loading more than one sample (HTTP 422,
    // `"status":"error","errorType":"execution"`).
    let e = VllmExporter::start(exp::default_pods(), false);
    let p = Prometheus::start(&[e.target()], &["--query.max-samples=1"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while p.query("vllm:num_requests_waiting")["errorType"] != "execution" {
        assert!(
            std::time::Instant::now() < deadline,
            "no samples scraped: {}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let w = world(&p.url(), SELECTOR);
    let (v, code, _) = w.snapshot("4s");
    let s = source(&v, "prometheus");
    assert_eq!(s["state"], "error", "{s}");
    let msg = s["error"].as_str().unwrap();
    assert!(msg.contains("execution") && msg.contains("422"), "{msg}");
    assert_eq!(code, Some(4));
    assert_null_figures(&eks(&v)["engine"]);
    assert_rest_is_fine(&v);
}

#[test]
fn a_selector_without_series_says_no_data_and_stays_null() {
    let (_e, p) = scraped(false);
    let sel = r#"{namespace="agents",app="nope"}"#;
    let w = world(&p.url(), sel);
    let (v, code, err) = w.snapshot("20s");
    assert_eq!(source(&v, "prometheus")["state"], "ok", "{}", v["sources"]);
    assert_eq!(code, Some(0), "{err}");
    let e = &eks(&v)["engine"];
    assert_null_figures(e);
    assert!(e["metric_names"]["kv_cache"].is_null(), "{e}");
    let notes: Vec<&str> = e["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| *n == format!("no data for vllm:num_requests_waiting with {sel}")),
        "{notes:?}"
    );
    assert!(pod(&v, "vllm-qwen3-a").get("engine").is_none());
    assert_rest_is_fine(&v);
}

#[test]
fn check_prints_the_names_chosen() {
    for old in [false, true] {
        let e = VllmExporter::start(exp::default_pods(), old);
        let p = Prometheus::start(&[e.target()], &[]);
        p.wait_for_series(
            &format!("vllm:num_requests_waiting{SELECTOR}"),
            3,
            Duration::from_secs(20),
        );
        let w = world(&p.url(), SELECTOR);
        let o = w.run(&["check"]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let kv = if old {
            "vllm:gpu_cache_usage_perc"
        } else {
            "vllm:kv_cache_usage_perc"
        };
        let line = out
            .lines()
            .find(|l| l.contains("prometheus") && l.contains("names eks-qwen3"))
            .unwrap_or_else(|| panic!("no names line:\n{out}"));
        assert!(line.contains(&format!("kv_cache={kv}")), "{line}");
        assert!(line.contains("vllm:num_requests_waiting"), "{line}");
        assert!(out.contains("reachable") && out.contains("auth"), "{out}");
    }
    // Down: the reachable line fails and check exits 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = world(&format!("http://127.0.0.1:{port}"), SELECTOR);
    let o = w.run(&["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.lines().any(|l| l.contains("prometheus")
            && l.contains("reachable")
            && l.contains("cannot reach")),
        "{out}"
    );
}

#[test]
fn a_slow_prometheus_times_out_and_says_so() {
    // Accepts connections and never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        let until = std::time::Instant::now() + Duration::from_secs(15);
        while std::time::Instant::now() < until {
            if let Ok(c) = l.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let w = world(&format!("http://127.0.0.1:{port}"), SELECTOR);
    let (v, code, _) = w.snapshot("5s");
    let s = source(&v, "prometheus");
    assert_eq!(s["state"], "error", "{s}");
    assert!(s["error"].as_str().unwrap().contains("timed out"), "{s}");
    assert_eq!(code, Some(4));
    assert_null_figures(&eks(&v)["engine"]);
    assert_rest_is_fine(&v);
    held.join().unwrap();
}
