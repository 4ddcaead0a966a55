//! A vLLM `/metrics` endpoint for tests: Prometheus text exposition (format 0.0.4) for a few
//! pods, the way vLLM's engine exports it, served over plain HTTP on loopback (std
//! `TcpListener`, one thread). Gauges are fixed per pod; counters and histogram buckets grow
//! linearly with the time since start, so a `rate()` over them is known exactly.
//!
//! Every series carries `pod`, `namespace` and `app` labels (a real scrape gets them from
//! Kubernetes service discovery; here the exporter sets them and Prometheus keeps them with
//! `honor_labels: true`), plus vLLM's own `model_name`.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One pod's figures.
#[derive(Clone, Debug)]
pub struct PodFigures {
    pub pod: &'static str,
    pub namespace: &'static str,
    pub app: &'static str,
    pub waiting: f64,
    pub running: f64,
    /// 0–1.
    pub kv_cache: f64,
    /// Generated tokens per second (the counter's slope).
    pub tokens_per_s: f64,
    /// Requests per second into each histogram.
    pub requests_per_s: f64,
}

/// The pods the tests use: three of `app=vllm-qwen3` in `agents`, and one of another app whose
/// series a correct selector must leave out.
pub fn default_pods() -> Vec<PodFigures> {
    let p = |pod, app, waiting, running, kv_cache, tokens_per_s| PodFigures {
        pod,
        namespace: "agents",
        app,
        waiting,
        running,
        kv_cache,
        tokens_per_s,
        requests_per_s: 10.0,
    };
    vec![
        p("vllm-qwen3-a", "vllm-qwen3", 3.0, 2.0, 0.42, 100.0),
        p("vllm-qwen3-b", "vllm-qwen3", 5.0, 4.0, 0.87, 50.0),
        p("vllm-qwen3-c", "vllm-qwen3", 0.0, 1.0, 0.15, 25.0),
        p("vllm-other-x", "vllm-other", 40.0, 9.0, 0.99, 1000.0),
    ]
}

/// TTFT histogram (seconds): upper bounds, and how each second's requests spread over them
/// (fractions per bucket, not cumulative). p95 falls in (0.25, 0.5].
pub const TTFT_LE: [f64; 6] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
pub const TTFT_SPREAD: [f64; 6] = [0.5, 0.3, 0.1, 0.1, 0.0, 0.0];
/// End-to-end latency: p95 falls in (2.5, 5].
pub const E2E_LE: [f64; 6] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
pub const E2E_SPREAD: [f64; 6] = [0.2, 0.5, 0.2, 0.1, 0.0, 0.0];

/// The p95 Prometheus's `histogram_quantile` gives for a spread (linear within the bucket).
pub fn p95_of(le: &[f64], spread: &[f64]) -> f64 {
    let mut cum = 0.0;
    let mut lower = 0.0;
    for (b, f) in le.iter().zip(spread) {
        if cum + f >= 0.95 - 1e-12 && *f > 0.0 {
            return lower + (b - lower) * (0.95 - cum) / f;
        }
        cum += f;
        lower = *b;
    }
    f64::NAN
}

pub struct VllmExporter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    scrapes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl VllmExporter {
    /// Serve `pods`; `old_names` exports `vllm:gpu_cache_usage_perc` instead of
    /// `vllm:kv_cache_usage_perc` (vLLM before the rename).
    pub fn start(pods: Vec<PodFigures>, old_names: bool) -> VllmExporter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind exporter");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = Arc::new(AtomicU64::new(0));
        let (st, sc) = (stop.clone(), scrapes.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let body = exposition(&pods, started.elapsed().as_secs_f64(), old_names);
                        if serve(s, &body) {
                            sc.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        VllmExporter {
            addr,
            stop,
            scrapes,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, as a scrape target.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::Relaxed)
    }
}

impl Drop for VllmExporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answer one request; true when it was a `GET /metrics`.
fn serve(mut s: TcpStream, body: &str) -> bool {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut req = Vec::new();
    let mut buf = [0u8; 2048];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let metrics = req.starts_with(b"GET /metrics");
    let (status, body) = if metrics {
        ("200 OK", body)
    } else {
        ("404 Not Found", "not found\n")
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body.as_bytes());
    metrics
}

fn labels(p: &PodFigures) -> String {
    format!(
        r#"pod="{}",namespace="{}",app="{}",model_name="Qwen/Qwen3-4B""#,
        p.pod, p.namespace, p.app
    )
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    pods: &[PodFigures],
    t: f64,
    le: &[f64],
    spread: &[f64],
) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
    for p in pods {
        let l = labels(p);
        let n = p.requests_per_s * t;
        let mut cum = 0.0;
        let mut sum = 0.0;
        for (b, f) in le.iter().zip(spread) {
            cum += f * n;
            sum += f * n * b * 0.75;
            out.push_str(&format!("{name}_bucket{{{l},le=\"{b}\"}} {cum}\n"));
        }
        out.push_str(&format!("{name}_bucket{{{l},le=\"+Inf\"}} {n}\n"));
        out.push_str(&format!(
            "{name}_sum{{{l}}} {sum}\n{name}_count{{{l}}} {n}\n"
        ));
    }
}

/// The exposition at `t` seconds after start.
pub fn exposition(pods: &[PodFigures], t: f64, old_names: bool) -> String {
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str, f: &dyn Fn(&PodFigures) -> f64| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for p in pods {
            out.push_str(&format!("{name}{{{}}} {}\n", labels(p), f(p)));
        }
    };
    gauge(
        &mut out,
        "vllm:num_requests_waiting",
        "Number of requests waiting to be processed.",
        &|p| p.waiting,
    );
    gauge(
        &mut out,
        "vllm:num_requests_running",
        "Number of requests in model execution batches.",
        &|p| p.running,
    );
    let kv = if old_names {
        "vllm:gpu_cache_usage_perc"
    } else {
        "vllm:kv_cache_usage_perc"
    };
    gauge(
        &mut out,
        kv,
        "KV-cache usage. 1 means 100 percent usage.",
        &|p| p.kv_cache,
    );
    for (name, help, f) in [
        (
            "vllm:generation_tokens_total",
            "Number of generation tokens processed.",
            &(|p: &PodFigures| p.tokens_per_s) as &dyn Fn(&PodFigures) -> f64,
        ),
        (
            "vllm:num_preemptions_total",
            "Cumulative number of preemption from the engine.",
            &|p: &PodFigures| p.kv_cache * 0.1,
        ),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for p in pods {
            out.push_str(&format!("{name}{{{}}} {}\n", labels(p), f(p) * t));
        }
    }
    histogram(
        &mut out,
        "vllm:time_to_first_token_seconds",
        "Histogram of time to first token in seconds.",
        pods,
        t,
        &TTFT_LE,
        &TTFT_SPREAD,
    );
    histogram(
        &mut out,
        "vllm:e2e_request_latency_seconds",
        "Histogram of end to end request latency in seconds.",
        pods,
        t,
        &E2E_LE,
        &E2E_SPREAD,
    );
    out
}
