//! Scale bench for the live Kubernetes source (issue 4): 5,000 pods in the watched namespace
//! on the fake kube-apiserver (`tests/support/`), synced by the real `KubernetesSource` over
//! HTTP, then the cost of what a key press does on the dashboard:
//!
//! - `derive_5000`: `State::snapshot` (the fleet view model with 5,000 pods);
//! - `key_j_fleet_200x50` / `_80x24`: a key press with no new data (`j` in the Fleet view:
//!   `App::on_key` + a full `Terminal::draw`);
//! - `key_s_sorted_fleet_200x50`: the same with the pods sorted by restarts;
//! - `update_then_key_fleet_200x50`: a pod event arrived, then a key press (re-derive + draw),
//!   the worst case;
//! - `key_overview_200x50`: the Overview with the 5,000-pod fleet summarised.
//!
//! Budget: a key press redraws within 50 ms, memory stays under 100 MB. The fake API server runs
//! in a child process (this binary with `KUBE_FLEET_SERVE=1`), so the memory printed is the
//! dashboard's alone: RSS and high-water mark from /proc, and the live heap counted by a global
//! allocator (before the source starts, after it synced, and its peak while syncing).
// A bench (or test tool) may panic on a broken set-up: it is not the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches and tests report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]
// The support module's own unit tests are compiled here too, without a test harness.
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use chrono::Utc;
use criterion::{criterion_group, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hybridtop::app::{App, AppOptions};
use hybridtop::config::Config;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::DeriveOptions;
use hybridtop::model::update::{FleetUpdate, KubeEvent, Update};
use hybridtop::sources::kubernetes::{from_config, Tuning};
use hybridtop::sources::Source;
use hybridtop::ui::state::{PodSort, View};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::kube_api::{KubeApiServer, ResourceType};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{Counting, LIVE, PEAK};

#[global_allocator]
static ALLOC: Counting = Counting;

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

const PODS: usize = 5_000;

fn config() -> Config {
    Config::from_toml(
        r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
label = "EKS Qwen3-4B"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[kubernetes]
namespaces = ["agents"]
max_events = 10000
"#,
        "bench.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A realistic pod object (labels, owner, containers, conditions), in one of four states.
fn pod(i: usize) -> Value {
    let node = format!("ip-10-{}-{}-{}", i / 65_536, (i / 256) % 256, i % 256);
    let (phase, ready, waiting, node) = match i % 20 {
        0 => ("Pending", false, None, None),
        1 => ("Running", false, Some("CrashLoopBackOff"), Some(node)),
        2 => ("Pending", false, Some("ImagePullBackOff"), Some(node)),
        _ => ("Running", true, None, Some(node)),
    };
    let state = match waiting {
        Some(r) => {
            json!({"waiting": {"reason": r, "message": "back-off 5m0s restarting failed container"}})
        }
        None => json!({"running": {"startedAt": "2026-11-25T07:00:00Z"}}),
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("vllm-qwen3-7d9f8c6b5-{i:05}"), "namespace": "agents",
            "labels": {"app": "vllm-qwen3", "pod-template-hash": "7d9f8c6b5"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "vllm-qwen3-7d9f8c6b5", "uid": "x", "controller": true}],
        },
        "spec": {"nodeName": node, "containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.9",
                 "resources": {"limits": {"nvidia.com/gpu": "1", "memory": "24Gi"}}}]},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "PodScheduled", "status": if node_less(i) { "False" } else { "True" },
                 "reason": if node_less(i) { "Unschedulable" } else { "" },
                 "message": if node_less(i) { "0/40 nodes are available: 40 Insufficient nvidia.com/gpu." } else { "" }},
                {"type": "Ready", "status": if ready { "True" } else { "False" }},
            ],
            "containerStatuses": if node_less(i) { json!([]) } else { json!([{
                "name": "vllm", "ready": ready, "restartCount": i % 9, "state": state,
                "lastState": if i % 20 == 1 { json!({"terminated": {"reason": "OOMKilled", "exitCode": 137}}) } else { json!({}) },
            }]) },
        },
    })
}

fn node_less(i: usize) -> bool {
    i.is_multiple_of(20)
}

/// (VmRSS, VmHWM) in MiB from /proc/self/status.
fn rss_mib() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// Child-process mode: serve 5,000 pods, print the kubeconfig path, run until stdin closes.
fn serve() {
    let server = KubeApiServer::start();
    for i in 0..PODS {
        server.create(&ResourceType::pods(), pod(i));
    }
    server.create(
        &ResourceType::scaled_objects(),
        json!({"metadata": {"name": "vllm-qwen3", "namespace": "agents"},
               "spec": {"scaleTargetRef": {"name": "vllm-qwen3"}, "minReplicaCount": 1, "maxReplicaCount": 5000,
                        "triggers": [{"type": "prometheus"}]},
               "status": {"hpaName": "keda-hpa-vllm-qwen3", "conditions": [
                   {"type": "Ready", "status": "True", "reason": "ScaledObjectReady"},
                   {"type": "Active", "status": "True", "reason": "ScalerActive"}]}}),
    );
    server.create(
        &ResourceType::hpas(),
        json!({"metadata": {"name": "keda-hpa-vllm-qwen3", "namespace": "agents"},
               "status": {"currentReplicas": 5000, "desiredReplicas": 5000}}),
    );
    let kc = server.kubeconfig();
    println!("{}", kc.path.display());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

fn fleet(c: &mut Criterion) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(exe)
        .env("KUBE_FLEET_SERVE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the API server process: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let kubeconfig = PathBuf::from(line.trim());
    assert!(kubeconfig.is_file(), "server process gave {line:?}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = AppOptions::new(Mode::Live, config());
    let mut app = App::new(&opts);
    let (rss_before, _) = rss_mib();
    let heap_before = LIVE.load(Ordering::Relaxed);
    PEAK.store(heap_before, Ordering::Relaxed);

    // Sync: the real source over HTTP, its updates applied as the app loop would.
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let src = from_config(&config())
        .unwrap_or_else(|| panic!("[kubernetes] configured"))
        .with_kubeconfig(vec![kubeconfig.clone()])
        .with_tuning(Tuning::default());
    let _task = {
        let _in_runtime = rt.enter();
        Box::new(src).spawn(tx)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while app
        .state
        .snapshot(&DeriveOptions::default())
        .fleet
        .pods
        .len()
        < PODS
    {
        assert!(Instant::now() < deadline, "source did not sync 5,000 pods");
        if let Some(u) = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(200), rx.recv())
                .await
                .ok()
                .flatten()
        }) {
            app.apply(u);
            while let Ok(u) = rx.try_recv() {
                app.apply(u);
            }
        }
    }
    let sync = started.elapsed();
    app.apply(Update::Clock { now: Utc::now() });
    app.refresh_snapshot();
    let (rss_after, hwm) = rss_mib();
    let (heap_after, heap_peak) = (LIVE.load(Ordering::Relaxed), PEAK.load(Ordering::Relaxed));
    eprintln!(
        "kube_fleet: {PODS} pods synced in {:.0} ms (pages of 500)\n  RSS {rss_before:.1} MiB before the source, {rss_after:.1} MiB after sync, high-water {hwm:.1} MiB\n  live heap {:.1} MiB before, {:.1} MiB after sync (source store + State + Snapshot), peak {:.1} MiB while syncing",
        sync.as_secs_f64() * 1000.0,
        mib(heap_before),
        mib(heap_after),
        mib(heap_peak),
    );

    c.bench_function("derive_5000", |b| {
        b.iter(|| black_box(app.state.snapshot(&DeriveOptions::default())))
    });
    for (w, h) in [(200u16, 50u16), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
        app.ui.view = View::Fleet;
        app.ui.fleet.sort = PodSort::Name;
        c.bench_function(&format!("key_j_fleet_{w}x{h}"), |b| {
            b.iter(|| {
                app.on_key(key(KeyCode::Char('j')));
                app.refresh_snapshot();
                let _ = term.draw(|f| app.render(f));
            })
        });
    }
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|e| panic!("{e}"));
    app.ui.fleet.sort = PodSort::Restarts;
    c.bench_function("key_s_sorted_fleet_200x50", |b| {
        b.iter(|| {
            app.on_key(key(KeyCode::Char('j')));
            app.refresh_snapshot();
            let _ = term.draw(|f| app.render(f));
        })
    });
    app.ui.fleet.sort = PodSort::Name;
    let one = app
        .snapshot
        .fleet
        .pods
        .first()
        .map(|p| p.pod.clone())
        .unwrap_or_else(|| panic!("pods"));
    c.bench_function("update_then_key_fleet_200x50", |b| {
        b.iter(|| {
            app.apply(Update::Fleet(FleetUpdate::PodUpsert { pod: one.clone() }));
            app.on_key(key(KeyCode::Char('j')));
            app.refresh_snapshot();
            let _ = term.draw(|f| app.render(f));
        })
    });
    app.ui.view = View::Overview;
    c.bench_function("update_then_key_overview_200x50", |b| {
        b.iter(|| {
            app.apply(Update::Fleet(FleetUpdate::PodUpsert { pod: one.clone() }));
            app.on_key(key(KeyCode::Char('j')));
            app.refresh_snapshot();
            let _ = term.draw(|f| app.render(f));
        })
    });
    // 10,000 retained events beside the 5,000 pods: the Fleet view with its Events pane in
    // focus, drawn from the derived snapshot (budget ≤ 2 ms at 200×50).
    let t0 = Utc::now();
    let events: Vec<KubeEvent> = (0..10_000)
        .map(|i| KubeEvent {
            kind_of: "Warning".into(),
            reason: ["FailedScheduling", "Unhealthy", "BackOff"][i % 3].into(),
            kind: "Pod".into(),
            namespace: "agents".into(),
            name: format!("vllm-qwen3-{i:05}"),
            message: "0/12 nodes are available: 12 Insufficient nvidia.com/gpu.".into(),
            count: 1 + (i % 7) as u32,
            first_seen: t0,
            last_seen: t0 + chrono::Duration::milliseconds(i as i64),
            object: format!("vllm-qwen3-{i:05}.e"),
            path: None,
        })
        .collect();
    app.apply(Update::Fleet(FleetUpdate::Events { events }));
    app.ui.view = View::Fleet;
    app.ui.fleet.pane = hybridtop::ui::state::FleetPane::Events;
    app.refresh_snapshot();
    assert_eq!(app.snapshot.fleet.events.len(), 10_000);
    c.bench_function("draw_fleet_5000_pods_10000_events_200x50", |b| {
        b.iter(|| {
            let _ = term.draw(|f| app.render(f));
        })
    });
    c.bench_function("derive_5000_pods_10000_events", |b| {
        b.iter(|| black_box(app.state.snapshot(&DeriveOptions::default())))
    });
    let (rss_end, hwm_end) = rss_mib();
    eprintln!(
        "kube_fleet: after the benches RSS {rss_end:.1} MiB, high-water {hwm_end:.1} MiB, live heap {:.1} MiB, heap peak {:.1} MiB",
        mib(LIVE.load(Ordering::Relaxed)),
        mib(PEAK.load(Ordering::Relaxed))
    );
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

fn configured() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = configured();
    targets = fleet
}

fn main() {
    if std::env::var_os("KUBE_FLEET_SERVE").is_some() {
        serve();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
