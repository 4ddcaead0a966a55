//! The fake kube-apiserver of the integration tests, run on its own so that `hybridtop` and
//! `kubectl` can be measured against the same cluster (scripts/perf.sh). It serves an `agents`
//! namespace with a vLLM deployment's pods, its KEDA ScaledObject, the HPA KEDA made, and the
//! router ConfigMap; every few seconds one pod changes, like a live fleet.
//!
//!   cargo run --release --example kube_test_server -- KUBECONFIG_OUT [PODS] [CHURN_SECS]
// A bench (or test tool) may panic on a broken set-up: it is not the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_macros)] // a test tool: it prints where its kubeconfig is
#[path = "../tests/support/kube_api.rs"]
#[allow(dead_code)]
mod kube_api;

use kube_api::{KubeApiServer, ResourceType};
use serde_json::json;
use std::time::Duration;

fn pod(i: usize, restarts: u64, ready: bool) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("vllm-qwen3-7d9f8-{i:05x}"), "namespace": "agents",
                     "labels": {"app": "vllm-qwen3"},
                     "creationTimestamp": "2026-11-25T08:00:00Z"},
        "spec": {"nodeName": format!("ip-10-0-{}-{}", i % 4, 10 + i),
                 "containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                   "containerStatuses": [{"name": "vllm", "ready": ready, "restartCount": restarts,
                                          "state": {"running": {"startedAt": "2026-11-25T08:01:00Z"}}}]}})
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: kube_test_server KUBECONFIG_OUT [PODS] [CHURN_SECS]")?;
    let pods: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8);
    let churn: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);

    let s = KubeApiServer::start();
    for i in 0..pods {
        s.create(&ResourceType::pods(), pod(i, 0, true));
    }
    s.create(
        &ResourceType::scaled_objects(),
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
               "metadata": {"name": "vllm-qwen3", "namespace": "agents"},
               "spec": {"scaleTargetRef": {"name": "vllm-qwen3"}, "minReplicaCount": 1,
                        "maxReplicaCount": 16,
                        "triggers": [{"type": "prometheus", "metadata": {"threshold": "45"}}]},
               "status": {"hpaName": "keda-hpa-vllm-qwen3", "conditions": [
                   {"type": "Ready", "status": "True", "reason": "ScaledObjectReady"},
                   {"type": "Active", "status": "True", "reason": "ScalerActive"}]}}),
    );
    s.create(
        &ResourceType::hpas(),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "keda-hpa-vllm-qwen3", "namespace": "agents"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm-qwen3"},
                        "minReplicas": 1, "maxReplicas": 16},
               "status": {"currentReplicas": pods, "desiredReplicas": pods}}),
    );
    s.create(
        &ResourceType::configmaps(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "hybrid-router", "namespace": "agents"},
               "data": {"weights.json": r#"{"eks-qwen3": 70, "agentcore-haiku": 25, "agentcore-sonnet": 5}"#}}),
    );
    // kubectl sends no bearer token over plain http, so this cluster asks for none.
    s.set_token(None);
    let kc = s.kubeconfig_yaml("test", "agents", "{}");
    std::fs::write(&out, kc)?;
    println!("{}", s.url());

    let mut tick = 0u64;
    loop {
        std::thread::sleep(Duration::from_secs(churn.max(1)));
        tick += 1;
        if pods > 0 {
            let i = (tick as usize) % pods;
            s.update(
                &ResourceType::pods(),
                pod(i, tick / pods as u64 + 1, !tick.is_multiple_of(3)),
            );
        }
    }
}
