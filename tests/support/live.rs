//! What the end-to-end tests of the live dashboard share: the two paths of the config (one EKS,
//! one AgentCore), the fleet the fake kube-apiserver serves, a month-to-date Cost Explorer answer,
//! and the environment that points the binary at the local services and nothing else.
use super::kube_api::{KubeApiServer, ResourceType};
use super::langfuse_api::{PUBLIC_KEY, SECRET_KEY};
use chrono::{Datelike, Utc};
use serde_json::{json, Value};
use std::path::Path;

pub const ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123";
pub const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

/// `[general]` with `environment` and the two paths; callers append their source sections.
pub fn config_head(environment: &str) -> String {
    format!(
        r#"[general]
environment = "{environment}"
[[paths]]
id = "eks-qwen3"
kind = "eks"
label = "EKS Qwen3-4B"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
gpu_node_usd_per_hour = 1.006
[paths.langfuse]
tags = ["path:eks-qwen3"]
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
label = "AgentCore Haiku"
[paths.agentcore]
runtime_arn = "{ARN}"
model_id = "{MODEL}"
[paths.langfuse]
tags = ["path:agentcore-haiku"]
"#
    )
}

/// Ready vLLM pods `(name, node)` in `agents`, their KEDA ScaledObject and the router ConfigMap
/// (`{"eks-qwen3": 75, "agentcore-haiku": 25}`).
pub fn seed_fleet(s: &KubeApiServer, pods: &[(&str, &str)]) {
    for (name, node) in pods {
        s.create(
            &ResourceType::pods(),
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": "agents", "labels": {"app": "vllm-qwen3"}},
                   "spec": {"nodeName": node, "containers": [{"name": "vllm", "image": "vllm"}]},
                   "status": {"phase": "Running",
                              "conditions": [{"type": "Ready", "status": "True"}],
                              "containerStatuses": [{"name": "vllm", "ready": true, "restartCount": 0,
                                                     "state": {"running": {}}}]}}),
        );
    }
    s.create(
        &ResourceType::scaled_objects(),
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
               "metadata": {"name": "vllm-qwen3", "namespace": "agents"},
               "spec": {"scaleTargetRef": {"name": "vllm-qwen3"}, "minReplicaCount": 1, "maxReplicaCount": 8,
                        "triggers": [{"type": "prometheus", "metadata": {"threshold": "45"}}]},
               "status": {"hpaName": "keda-hpa-vllm-qwen3", "conditions": [
                   {"type": "Ready", "status": "True", "reason": "ScaledObjectReady"},
                   {"type": "Active", "status": "True", "reason": "ScalerActive"}]}}),
    );
    s.create(
        &ResourceType::configmaps(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "hybrid-router", "namespace": "agents"},
               "data": {"weights.json": r#"{"eks-qwen3": 75, "agentcore-haiku": 25}"#}}),
    );
}

/// A `GetCostAndUsage` answer grouped by SERVICE: each `(service, usd)` every day of this month
/// so far, today estimated.
pub fn month_to_date(services: &[(&str, f64)]) -> Value {
    let today = Utc::now().date_naive();
    let mut d = today.with_day(1).unwrap_or(today);
    let mut days = Vec::new();
    while d <= today {
        let next = d.succ_opt().expect("date");
        let groups: Vec<Value> = services
            .iter()
            .map(|(s, usd)| json!({"Keys": [s], "Metrics": {"UnblendedCost": {"Amount": format!("{usd:.1}"), "Unit": "USD"}}}))
            .collect();
        days.push(
            json!({"TimePeriod": {"Start": d.to_string(), "End": next.to_string()},
                         "Total": {}, "Estimated": d == today, "Groups": groups}),
        );
        d = next;
    }
    json!({"ResultsByTime": days, "DimensionValueAttributes": [],
           "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

/// Where the binary finds each service.
pub struct Endpoints<'a> {
    pub kubeconfig: &'a Path,
    pub cloudwatch: String,
    pub cost_explorer: String,
    pub langfuse: String,
}

/// The binary's whole environment (use with `env_clear`): its own home and XDG dirs under
/// `dir`, an empty AWS config, static test credentials with `aws_secret`, and the endpoints.
pub fn env(dir: &Path, e: Endpoints<'_>, aws_secret: &str) -> Vec<(String, String)> {
    std::fs::write(dir.join("aws-config"), "").expect("aws config");
    std::fs::create_dir_all(dir.join("home")).expect("home");
    let p = |x: &str| dir.join(x).display().to_string();
    [
        ("HOME", p("home")),
        ("XDG_CONFIG_HOME", p("config")),
        ("XDG_STATE_HOME", p("state")),
        ("XDG_CACHE_HOME", p("cache")),
        ("LANG", "C.UTF-8".into()),
        ("TERM", "xterm-256color".into()),
        ("KUBECONFIG", e.kubeconfig.display().to_string()),
        ("AWS_CONFIG_FILE", p("aws-config")),
        ("AWS_SHARED_CREDENTIALS_FILE", p("aws-config")),
        ("AWS_ACCESS_KEY_ID", "AKIDHYBRIDTOPTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", aws_secret.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", e.cloudwatch),
        ("AWS_ENDPOINT_URL_COST_EXPLORER", e.cost_explorer),
        ("LANGFUSE_BASE_URL", e.langfuse),
        ("LANGFUSE_PUBLIC_KEY", PUBLIC_KEY.into()),
        ("LANGFUSE_SECRET_KEY", SECRET_KEY.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
