//! The Kubernetes source as the binary wires it: `from_config` alone, the kubeconfig found
//! through `KUBECONFIG`. It sets `KUBECONFIG` for the process, so it lives in the
//! environment-changing binary and holds `kubeconfig_lock`.
use crate::support;

use hybridtop::config::Config;
use hybridtop::model::update::{FleetUpdate, SourceState, Update};
use hybridtop::sources::kubernetes::{check, from_config};
use hybridtop::sources::Source;
use serde_json::json;
use std::time::Duration;
use support::kube_api::{KubeApiServer, ResourceType};

fn config() -> Config {
    Config::from_toml(
        r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
[kubernetes]
namespaces = ["agents"]
"#,
        "test.toml",
    )
    .expect("config")
}

#[test]
fn kubeconfig_from_the_environment_and_from_config_alone() {
    let _env = crate::kubeconfig_lock();
    let server = KubeApiServer::start();
    for name in ["vllm-qwen3-a", "vllm-qwen3-b"] {
        server.create(
            &ResourceType::pods(),
            json!({"metadata": {"name": name, "namespace": "agents", "labels": {"app": "vllm-qwen3"}},
                   "spec": {"containers": [{"name": "vllm"}]},
                   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
        );
    }
    server.create(
        &ResourceType::scaled_objects(),
        json!({"metadata": {"name": "vllm-qwen3", "namespace": "agents"},
               "spec": {"scaleTargetRef": {"name": "vllm-qwen3"}}}),
    );
    let kc = server.kubeconfig();
    // Before any runtime thread of this test exists.
    std::env::set_var("KUBECONFIG", &kc.path);
    assert!(
        from_config(&Config::default()).is_none(),
        "no [kubernetes]: disabled"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let src = from_config(&config()).expect("source");
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let task = Box::new(src).spawn(tx);
        let mut seen = Vec::new();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(u) = rx.recv().await {
                let ok = matches!(&u, Update::Health(h) if h.state == SourceState::Ok);
                seen.push(u);
                if ok {
                    return;
                }
            }
        })
        .await;
        assert!(got.is_ok(), "no ok within 10 s: {seen:#?}");
        // "connecting" first; the whole fleet before the first "ok", so a `snapshot` that
        // waits for the source's first answer prints the pods.
        assert!(matches!(&seen[0], Update::Health(h) if h.state == SourceState::Connecting));
        let pods = seen.iter().find_map(|u| match u {
            Update::Fleet(FleetUpdate::Replace { pods, .. }) => Some(pods.len()),
            _ => None,
        });
        assert_eq!(pods, Some(2));
        task.abort();
        let lines = check(&config()).await;
        assert!(lines.iter().all(|l| l.ok), "{lines:#?}");
        assert_eq!(
            lines[0].detail,
            format!("context 'test' → {}", server.url())
        );
    });
}
