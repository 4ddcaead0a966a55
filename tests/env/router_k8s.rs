//! Router weights on Kubernetes (ConfigMap and HTTPRoute backends) against the local fake API
//! server in `tests/support/`, over real HTTP through a kubeconfig file.
use crate::support;

use hybridtop::config::Config;
use hybridtop::domain::weights::Weights;
use hybridtop::kube_client::{self, KubeClient, KubeError};
use hybridtop::model::update::Update;
use hybridtop::router::kube_object::LAST_CHANGE_ANNOTATION;
use hybridtop::router::{Actor, KubeRouter, StoreError, WeightsRead, WriteRequest};
use serde_json::{json, Value};
use std::time::Duration;
use support::kube_api::{KubeApiServer, KubeconfigFile, ResourceType};

const NS: &str = "agents";
const NAME: &str = "hybrid-router";

fn config(backend: &str) -> Config {
    let text = format!(
        r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[[paths]]
id = "agentcore-sonnet"
kind = "agentcore"

[router]
backend = "{backend}"
namespace = "{NS}"
name = "{NAME}"
[router.httproute]
rule = 0
backend_refs = {{ "eks-qwen3" = "kagent-qwen3", "agentcore-haiku" = "agentcore-haiku-proxy", "agentcore-sonnet" = "agentcore-sonnet-proxy" }}
[router.configmap]
key = "weights.json"
"#
    );
    Config::from_toml(&text, "test.toml").expect("config")
}

fn w(eks: u32, haiku: u32, sonnet: u32) -> Weights {
    Weights::from_pairs([
        ("eks-qwen3", eks),
        ("agentcore-haiku", haiku),
        ("agentcore-sonnet", sonnet),
    ])
}

fn actor() -> Actor {
    Actor {
        user: "alice".into(),
        host: "bastion-1".into(),
        ..Actor::default()
    }
}

fn req(from: &WeightsRead, to: Weights, dry_run: bool) -> WriteRequest {
    WriteRequest {
        from: from.weights.clone(),
        to,
        expected_version: from.version.clone(),
        dry_run,
        reason: Some("incident 42: haiku throttling".into()),
        actor: actor(),
    }
}

fn cm() -> ResourceType {
    ResourceType::configmaps()
}

fn hr() -> ResourceType {
    ResourceType::httproutes()
}

fn seed_configmap(server: &KubeApiServer) -> Value {
    server.create(
        &cm(),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": NS, "labels": {"app": "hybrid-router"}},
            "data": {
                "weights.json": r#"{"eks-qwen3": 70, "agentcore-haiku": 20, "agentcore-sonnet": 10}"#,
                "router.yaml": "mode: weighted\n",
            },
        }),
    )
}

/// Rule 0 holds the paths plus a non-path mirror backend; rule 1 is unrelated.
fn seed_httproute(server: &KubeApiServer) -> Value {
    server.create(
        &hr(),
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {
                "parentRefs": [{"name": "agents-gw", "sectionName": "https"}],
                "hostnames": ["agents.example.com"],
                "x-vendor-extension": {"keep": [1, 2.5, "three"]},
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/v1/agent"}}],
                        "backendRefs": [
                            {"group": "", "kind": "Service", "name": "kagent-qwen3", "port": 8080, "weight": 70},
                            {"name": "agentcore-haiku-proxy", "port": 8443, "weight": 20,
                             "filters": [{"type": "RequestHeaderModifier",
                                          "requestHeaderModifier": {"add": [{"name": "x-path", "value": "haiku"}]}}]},
                            {"name": "shadow-mirror", "namespace": "observability", "port": 9000, "weight": 0,
                             "x-unknown": {"nested": true}},
                            {"name": "agentcore-sonnet-proxy", "port": 8443, "weight": 10},
                        ],
                        "timeouts": {"request": "30s"},
                    },
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/healthz"}}],
                        "backendRefs": [{"name": "kagent-qwen3", "port": 8080, "weight": 3},
                                        {"name": "health-sink", "port": 80}],
                        "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/"}}}],
                    }
                ],
            },
        }),
    )
}

async fn connect(kc: &KubeconfigFile) -> KubeClient {
    kube_client::connect_with_file(&kc.path, None)
        .await
        .expect("client")
}

async fn setup(backend: &str) -> (KubeApiServer, KubeconfigFile, KubeRouter) {
    let server = KubeApiServer::start();
    match backend {
        "configmap" => seed_configmap(&server),
        _ => seed_httproute(&server),
    };
    let kc = server.kubeconfig();
    let client = connect(&kc).await;
    let router = KubeRouter::from_config(&config(backend), &client).expect("router");
    server.clear_requests();
    (server, kc, router)
}

fn stored_cm_weights(server: &KubeApiServer) -> Value {
    let o = server.get(&cm(), NS, NAME).expect("configmap");
    serde_json::from_str(o["data"]["weights.json"].as_str().expect("key")).expect("json")
}

fn route_ref<'a>(route: &'a Value, rule: usize, name: &str) -> &'a Value {
    route["spec"]["rules"][rule]["backendRefs"]
        .as_array()
        .expect("backendRefs")
        .iter()
        .find(|r| r["name"] == name)
        .expect("backendRef")
}

fn annotation(obj: &Value) -> Value {
    let a = obj["metadata"]["annotations"][LAST_CHANGE_ANNOTATION]
        .as_str()
        .expect("last-change annotation");
    serde_json::from_str(a).expect("annotation is JSON")
}

fn check_annotation(obj: &Value, from: Weights, to: Weights) {
    let a = annotation(obj);
    assert_eq!(a["who"], "alice");
    assert_eq!(a["host"], "bastion-1");
    assert_eq!(a["reason"], "incident 42: haiku throttling");
    assert_eq!(a["from"], serde_json::to_value(&from).unwrap());
    assert_eq!(a["to"], serde_json::to_value(&to).unwrap());
    let when = a["when"].as_str().expect("when");
    chrono::DateTime::parse_from_rfc3339(when).expect("when is RFC 3339");
}

fn patches(server: &KubeApiServer) -> Vec<support::kube_api::LoggedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect()
}

// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn configmap_round_trip() {
    let (server, _kc, router) = setup("configmap").await;
    assert_eq!(router.backend(), "configmap");
    assert_eq!(router.target(), "agents/hybrid-router");

    let before = router.read().await.expect("read");
    assert_eq!(before.backend, "configmap");
    assert_eq!(before.target.as_deref(), Some("agents/hybrid-router"));
    assert_eq!(before.weights, w(70, 20, 10));
    let v1 = before.version.clone().expect("version");

    let after = router
        .write(&req(&before, w(80, 15, 5), false))
        .await
        .expect("write");
    assert_eq!(after.weights, w(80, 15, 5));
    assert_ne!(
        after.version.as_deref(),
        Some(v1.as_str()),
        "version must change"
    );

    let again = router.read().await.expect("read back");
    assert_eq!(again, after);
    assert_eq!(
        stored_cm_weights(&server),
        json!({"eks-qwen3": 80, "agentcore-haiku": 15, "agentcore-sonnet": 5})
    );
    let obj = server.get(&cm(), NS, NAME).unwrap();
    assert_eq!(
        obj["data"]["router.yaml"], "mode: weighted\n",
        "other keys kept"
    );
    check_annotation(&obj, w(70, 20, 10), w(80, 15, 5));

    // The write was one merge patch carrying the version it was read at.
    let p = patches(&server);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].path,
        "/api/v1/namespaces/agents/configmaps/hybrid-router"
    );
    assert_eq!(
        p[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(p[0].json()["metadata"]["resourceVersion"], json!(v1));
    assert_eq!(p[0].param("dryRun"), None);
    assert_eq!(p[0].status, 200);
}

#[tokio::test]
async fn httproute_round_trip() {
    let (server, _kc, router) = setup("httproute").await;
    assert_eq!(router.backend(), "httproute");
    let before = router.read().await.expect("read");
    assert_eq!(before.backend, "httproute");
    assert_eq!(before.weights, w(70, 20, 10));

    let after = router
        .write(&req(&before, w(60, 27, 13), false))
        .await
        .expect("write");
    assert_eq!(after.weights, w(60, 27, 13));
    assert_ne!(after.version, before.version);
    assert_eq!(router.read().await.expect("read back"), after);

    let route = server.get(&hr(), NS, NAME).unwrap();
    assert_eq!(route_ref(&route, 0, "kagent-qwen3")["weight"], 60);
    assert_eq!(route_ref(&route, 0, "agentcore-haiku-proxy")["weight"], 27);
    assert_eq!(route_ref(&route, 0, "agentcore-sonnet-proxy")["weight"], 13);
    check_annotation(&route, w(70, 20, 10), w(60, 27, 13));

    let p = patches(&server);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].path,
        "/apis/gateway.networking.k8s.io/v1/namespaces/agents/httproutes/hybrid-router"
    );
    assert_eq!(
        p[0].json()["metadata"]["resourceVersion"],
        json!(before.version.unwrap())
    );
}

#[tokio::test]
async fn httproute_write_keeps_other_rules_and_non_path_refs_byte_identical() {
    let (server, _kc, router) = setup("httproute").await;
    let original = server.get(&hr(), NS, NAME).unwrap();
    let before = router.read().await.unwrap();
    router
        .write(&req(&before, w(50, 30, 20), false))
        .await
        .expect("write");
    let route = server.get(&hr(), NS, NAME).unwrap();

    let bytes = |v: &Value| serde_json::to_string(v).unwrap();
    // The second rule (which also names a path's service) is untouched.
    assert_eq!(
        bytes(&route["spec"]["rules"][1]),
        bytes(&original["spec"]["rules"][1])
    );
    // The non-path backendRef with unknown fields, and the rule's other fields.
    assert_eq!(
        bytes(route_ref(&route, 0, "shadow-mirror")),
        bytes(route_ref(&original, 0, "shadow-mirror"))
    );
    for f in ["matches", "timeouts"] {
        assert_eq!(
            bytes(&route["spec"]["rules"][0][f]),
            bytes(&original["spec"]["rules"][0][f])
        );
    }
    // Path refs: only the weight changed.
    let mut expected = route_ref(&original, 0, "agentcore-haiku-proxy").clone();
    expected["weight"] = json!(30);
    assert_eq!(
        bytes(route_ref(&route, 0, "agentcore-haiku-proxy")),
        bytes(&expected)
    );
    // Everything else in spec survives.
    for f in ["parentRefs", "hostnames", "x-vendor-extension"] {
        assert_eq!(bytes(&route["spec"][f]), bytes(&original["spec"][f]));
    }
    // The patch sent the whole (atomic) rules array.
    let p = patches(&server);
    assert_eq!(p[0].json()["spec"]["rules"].as_array().unwrap().len(), 2);
}

async fn stale_version_conflicts(backend: &str) {
    let (server, _kc, router) = setup(backend).await;
    let stale = router.read().await.unwrap();
    // Someone else changes the weights.
    match backend {
        "configmap" => {
            server.patch(
                &cm(),
                NS,
                NAME,
                json!({"data": {"weights.json": r#"{"eks-qwen3":50,"agentcore-haiku":30,"agentcore-sonnet":20}"#}}),
            );
        }
        _ => {
            let mut route = server.get(&hr(), NS, NAME).unwrap();
            route["spec"]["rules"][0]["backendRefs"][0]["weight"] = json!(50);
            route["spec"]["rules"][0]["backendRefs"][1]["weight"] = json!(30);
            route["spec"]["rules"][0]["backendRefs"][3]["weight"] = json!(20);
            server.update(&hr(), route);
        }
    }
    let rt = if backend == "configmap" { cm() } else { hr() };
    let snapshot = server.get(&rt, NS, NAME).unwrap();
    server.clear_requests();

    let err = router
        .write(&req(&stale, w(80, 15, 5), false))
        .await
        .expect_err("stale version must conflict");
    match &err {
        StoreError::Conflict { current } => {
            assert_eq!(current.weights, w(50, 30, 20));
            assert_eq!(
                current.version.as_deref(),
                snapshot["metadata"]["resourceVersion"].as_str()
            );
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("eks-qwen3=50"), "{err}");
    // The server refused the precondition and changed nothing.
    assert_eq!(server.get(&rt, NS, NAME).unwrap(), snapshot);
    let p = patches(&server);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].status, 409);
    assert_eq!(
        p[0].json()["metadata"]["resourceVersion"],
        json!(stale.version.unwrap())
    );
}

#[tokio::test]
async fn configmap_stale_version_is_a_conflict_and_nothing_changes() {
    stale_version_conflicts("configmap").await;
}

#[tokio::test]
async fn httproute_stale_version_is_a_conflict_and_nothing_changes() {
    stale_version_conflicts("httproute").await;
}

#[tokio::test]
async fn forbidden_patch_names_verb_resource_and_namespace() {
    for (backend, resource) in [
        ("httproute", "httproutes.gateway.networking.k8s.io"),
        ("configmap", "configmaps"),
    ] {
        let (server, _kc, router) = setup(backend).await;
        let rt = if backend == "configmap" { cm() } else { hr() };
        let before_obj = server.get(&rt, NS, NAME).unwrap();
        let before = router.read().await.unwrap();
        server.forbid("patch", resource);
        let err = router
            .write(&req(&before, w(80, 15, 5), false))
            .await
            .expect_err("forbidden");
        assert_eq!(
            err,
            StoreError::Forbidden(format!(
                "RBAC forbids patch on {resource} in namespace agents"
            ))
        );
        assert_eq!(server.get(&rt, NS, NAME).unwrap(), before_obj);
        assert_eq!(patches(&server).last().map(|p| p.status), Some(403));

        server.forbid("get", resource);
        assert_eq!(
            router.read().await.unwrap_err().to_string(),
            format!("RBAC forbids get on {resource} in namespace agents")
        );
    }
}

#[tokio::test]
async fn dry_run_stores_nothing_but_sends_dry_run_all() {
    for backend in ["configmap", "httproute"] {
        let (server, _kc, router) = setup(backend).await;
        let rt = if backend == "configmap" { cm() } else { hr() };
        let before_obj = server.get(&rt, NS, NAME).unwrap();
        let rv_before = server.resource_version();
        let before = router.read().await.unwrap();

        let answer = router
            .write(&req(&before, w(80, 15, 5), true))
            .await
            .expect("dry run");
        // What the server answered: the would-be weights, at the unchanged version.
        assert_eq!(answer.weights, w(80, 15, 5), "{backend}");
        assert_eq!(answer.version, before.version, "{backend}");

        assert_eq!(server.get(&rt, NS, NAME).unwrap(), before_obj, "{backend}");
        assert_eq!(server.resource_version(), rv_before, "{backend}");
        assert_eq!(router.read().await.unwrap().weights, w(70, 20, 10));
        let p = patches(&server);
        assert_eq!(p.len(), 1, "{backend}");
        assert_eq!(p[0].param("dryRun").as_deref(), Some("All"), "{backend}");
    }
}

#[tokio::test]
async fn all_zero_or_wrong_paths_are_refused_before_any_request() {
    for backend in ["configmap", "httproute"] {
        let (server, _kc, router) = setup(backend).await;
        let before = router.read().await.unwrap();
        server.clear_requests();

        let zero = router.write(&req(&before, w(0, 0, 0), false)).await;
        assert!(
            matches!(&zero, Err(StoreError::Invalid(m)) if m.contains("all-zero")),
            "{zero:?}"
        );
        let missing = Weights::from_pairs([("eks-qwen3", 80), ("agentcore-haiku", 20)]);
        let r = router.write(&req(&before, missing, false)).await;
        assert!(
            matches!(&r, Err(StoreError::Invalid(m)) if m.contains("missing agentcore-sonnet")),
            "{r:?}"
        );
        let mut unknown = w(70, 20, 0);
        unknown.0.insert("bedrock-opus".into(), 10);
        let r = router.write(&req(&before, unknown, false)).await;
        assert!(
            matches!(&r, Err(StoreError::Invalid(m)) if m.contains("unknown bedrock-opus")),
            "{r:?}"
        );
        let mut no_version = req(&before, w(80, 15, 5), false);
        no_version.expected_version = None;
        assert!(matches!(
            router.write(&no_version).await,
            Err(StoreError::Invalid(_))
        ));

        assert!(
            server.requests().is_empty(),
            "{backend}: no request may be sent: {:?}",
            server.requests()
        );
        assert!(server.writes().is_empty());
    }
}

#[tokio::test]
async fn missing_objects_keys_and_backend_refs_are_named() {
    let server = KubeApiServer::start();
    let kc = server.kubeconfig();
    let client = connect(&kc).await;
    let cm_router = KubeRouter::from_config(&config("configmap"), &client).unwrap();
    let hr_router = KubeRouter::from_config(&config("httproute"), &client).unwrap();
    assert_eq!(
        cm_router.read().await.unwrap_err(),
        StoreError::Invalid("ConfigMap agents/hybrid-router not found".into())
    );
    assert_eq!(
        hr_router.read().await.unwrap_err(),
        StoreError::Invalid("HTTPRoute agents/hybrid-router not found".into())
    );

    server.create(
        &cm(),
        json!({"metadata": {"name": NAME, "namespace": NS}, "data": {"other.json": "{}"}}),
    );
    assert_eq!(
        cm_router.read().await.unwrap_err().to_string(),
        "ConfigMap agents/hybrid-router has no key 'weights.json' in data"
    );

    seed_httproute(&server);
    let mut route = server.get(&hr(), NS, NAME).unwrap();
    route["spec"]["rules"][0]["backendRefs"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["name"] != "agentcore-sonnet-proxy");
    server.update(&hr(), route);
    let err = hr_router.read().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("'agentcore-sonnet-proxy' (path 'agentcore-sonnet')")),
        "{err:?}"
    );
    // A write against it is refused by the server-independent check, naming the path too.
    server.clear_requests();
    let from = WeightsRead {
        backend: "httproute",
        target: Some("agents/hybrid-router".into()),
        weights: w(70, 20, 10),
        version: Some(server.resource_version().to_string()),
        invalid: None,
    };
    let err = hr_router
        .write(&req(&from, w(80, 15, 5), false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("agentcore-sonnet"), "{err}");
    assert!(server.writes().is_empty());

    let mut none = config("configmap");
    none.router.as_mut().unwrap().backend = hybridtop::config::RouterBackend::None;
    assert!(matches!(
        KubeRouter::from_config(&none, &client),
        Err(StoreError::Invalid(_))
    ));
}

async fn next_weights(
    rx: &mut tokio::sync::mpsc::Receiver<Update>,
    within: Duration,
) -> (Weights, String) {
    match tokio::time::timeout(within, rx.recv()).await {
        Ok(Some(Update::Weights(r))) => {
            assert_eq!(r.target.as_deref(), Some("agents/hybrid-router"));
            (r.weights, r.version.expect("version"))
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(_) => panic!("no weights update within {within:?}"),
    }
}

fn set_cm_weights(server: &KubeApiServer, eks: u32, haiku: u32, sonnet: u32) -> String {
    let o = server.patch(
        &cm(),
        NS,
        NAME,
        json!({"data": {"weights.json": format!(r#"{{"eks-qwen3":{eks},"agentcore-haiku":{haiku},"agentcore-sonnet":{sonnet}}}"#)}}),
    );
    o["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

fn lists(server: &KubeApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/configmaps") && !r.is_watch())
        .count()
}

#[tokio::test]
async fn watch_delivers_outside_changes_and_survives_410() {
    let (server, _kc, router) = setup("configmap").await;
    // A decoy in the same namespace: the field selector must keep it out.
    server.create(
        &cm(),
        json!({"metadata": {"name": "unrelated", "namespace": NS}, "data": {"weights.json": "{}"}}),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let task = router.watch(tx);

    let (first, _) = next_weights(&mut rx, Duration::from_secs(5)).await;
    assert_eq!(first, w(70, 20, 10));

    let v = set_cm_weights(&server, 65, 25, 10);
    let (weights, version) = next_weights(&mut rx, Duration::from_secs(2)).await;
    assert_eq!((weights, version), (w(65, 25, 10), v));

    // Changes to another object are not reported.
    server.patch(&cm(), NS, "unrelated", json!({"data": {"x": "y"}}));

    // The watch cache expires: the watcher must relist and keep going.
    let lists_before = lists(&server);
    server.expire_watches();
    let v = set_cm_weights(&server, 60, 25, 15);
    let (weights, version) = next_weights(&mut rx, Duration::from_secs(5)).await;
    assert_eq!((weights, version), (w(60, 25, 15), v));
    assert!(lists(&server) > lists_before, "a 410 must cause a relist");

    // And changes after the relist still arrive within 2 s.
    let v = set_cm_weights(&server, 55, 30, 15);
    let (weights, version) = next_weights(&mut rx, Duration::from_secs(2)).await;
    assert_eq!((weights, version), (w(55, 30, 15), v));

    // Every list and watch named the object.
    for r in server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/configmaps"))
    {
        assert_eq!(
            r.param("fieldSelector").as_deref(),
            Some("metadata.name=hybrid-router")
        );
    }
    // Dropping the receiver ends the task.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("watch task ends when the receiver is gone")
        .unwrap();
}

#[tokio::test]
async fn httproute_watch_reconnects_after_server_restart() {
    let (server, _kc, router) = setup("httproute").await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let _task = router.watch(tx);
    let (first, _) = next_weights(&mut rx, Duration::from_secs(5)).await;
    assert_eq!(first, w(70, 20, 10));

    server.stop();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut route = server.get(&hr(), NS, NAME).unwrap();
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = json!(40);
    route["spec"]["rules"][0]["backendRefs"][1]["weight"] = json!(40);
    route["spec"]["rules"][0]["backendRefs"][3]["weight"] = json!(20);
    let updated = server.update(&hr(), route);
    server.restart();

    let (weights, version) = next_weights(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(weights, w(40, 40, 20));
    assert_eq!(
        Some(version.as_str()),
        updated["metadata"]["resourceVersion"].as_str()
    );
}

#[tokio::test]
async fn server_down_is_unreachable_naming_the_url() {
    let (server, _kc, router) = setup("configmap").await;
    let before = router.read().await.unwrap();
    let url = server.url();
    server.stop();
    let err = router.read().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreachable(m) if m.contains(&url)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("Kubernetes API unreachable at {url}")),
        "{err}"
    );
    let err = router
        .write(&req(&before, w(80, 15, 5), false))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreachable(m) if m.contains(&url)),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_token_is_reported_as_rejected_credentials() {
    let (server, _kc, _router) = setup("configmap").await;
    let yaml = server.kubeconfig_yaml("test", NS, "token: not-the-token");
    let kc = server.kubeconfig_file(&yaml);
    let client = connect(&kc).await;
    let router = KubeRouter::from_config(&config("configmap"), &client).unwrap();
    let err = router.read().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreachable(m) if m.contains("401") && m.contains(&server.url())),
        "{err:?}"
    );
}

#[tokio::test]
async fn exec_credential_plugin_runs_non_interactive() {
    use std::os::unix::fs::PermissionsExt;
    let server = KubeApiServer::start();
    seed_configmap(&server);
    server.set_token(Some("exec-token-123"));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fake-aws");
    let info = dir.path().join("exec-info.json");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$KUBERNETES_EXEC_INFO\" > '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"exec-token-123\"}}}}'\n",
            info.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The kubeconfig even asks for interactive mode: hybridtop must override it.
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n  command: {}\n  args: [\"eks\", \"get-token\", \"--cluster-name\", \"agents\"]\n  interactiveMode: Always",
        script.display()
    );
    let kc = server.kubeconfig_file(&server.kubeconfig_yaml("eks", NS, &user));
    let client = connect(&kc).await;
    let router = KubeRouter::from_config(&config("configmap"), &client).unwrap();
    let read = router.read().await.expect("read with exec credentials");
    assert_eq!(read.weights, w(70, 20, 10));
    let exec_info: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(
        exec_info["spec"]["interactive"],
        json!(false),
        "{exec_info}"
    );

    // A failing plugin: its stderr (captured, never on the terminal) is in the message.
    let failing = dir.path().join("failing-aws");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'Unable to locate credentials. You can configure credentials by running \"aws configure\".' >&2\nexit 255\n",
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n  command: {}\n  args: [\"eks\", \"get-token\"]",
        failing.display()
    );
    let kc = server.kubeconfig_file(&server.kubeconfig_yaml("eks", NS, &user));
    let err = kube_client::connect_with_file(&kc.path, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, KubeError::Unreachable(_)), "{err:?}");
    assert!(
        msg.starts_with(&format!(
            "cannot get credentials for the Kubernetes API at {} (context 'eks'): credential plugin `{} eks get-token` failed",
            server.url(),
            failing.display()
        )) && msg.ends_with("Unable to locate credentials. You can configure credentials by running \"aws configure\"."),
        "{msg}"
    );
    assert!(!msg.contains("KUBERNETES_EXEC_INFO"), "{msg}");
}

// The lock is held across awaits on purpose: `KUBECONFIG` must stay this test's while it runs, and
// the test's runtime is single-threaded, so nothing else waits on it there.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn kubeconfig_from_env_context_selection_and_missing_file() {
    let _env = crate::kubeconfig_lock();
    let server = KubeApiServer::start();
    seed_configmap(&server);
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: live\n  cluster:\n    server: {}\n- name: dead\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\n- name: live\n  context:\n    cluster: live\n    user: u\ncurrent-context: dead\nusers:\n- name: u\n  user:\n    token: {}\n",
        server.url(),
        support::kube_api::DEFAULT_TOKEN
    );
    let kc = server.kubeconfig_file(&yaml);
    let missing = kc.dir.path().join("does-not-exist");
    // Through KUBECONFIG, a list with a missing entry (skipped, as kubectl does).
    std::env::set_var(
        "KUBECONFIG",
        format!("{}:{}", missing.display(), kc.path.display()),
    );
    let live_cfg = hybridtop::config::KubernetesConfig {
        context: Some("live".into()),
        namespaces: vec![NS.into()],
        ..Default::default()
    };
    let live = kube_client::connect(Some(&live_cfg)).await.expect("live");
    let dead = kube_client::connect(None).await.expect("current context");
    let bad = kube_client::connect(Some(&hybridtop::config::KubernetesConfig {
        context: Some("prod".into()),
        ..Default::default()
    }))
    .await
    .unwrap_err();
    std::env::set_var("KUBECONFIG", &missing);
    let none = kube_client::connect(None).await.unwrap_err();
    std::env::remove_var("KUBECONFIG");

    assert_eq!(live.server, server.url());
    assert_eq!(live.context.as_deref(), Some("live"));
    let r = KubeRouter::from_config(&config("configmap"), &live).unwrap();
    assert_eq!(r.read().await.unwrap().weights, w(70, 20, 10));

    assert_eq!(dead.server, "http://127.0.0.1:9");
    let r = KubeRouter::from_config(&config("configmap"), &dead).unwrap();
    let err = r.read().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreachable(m) if m.contains("http://127.0.0.1:9")),
        "{err:?}"
    );

    assert!(
        bad.to_string()
            .starts_with("kubernetes context 'prod' not found in")
            && bad.to_string().ends_with("(contexts: dead, live)"),
        "{bad}"
    );
    assert_eq!(
        none.to_string(),
        format!(
            "no kubeconfig at {} (set KUBECONFIG, or run `aws eks update-kubeconfig`)",
            missing.display()
        )
    );
}

/// The test server itself, as the Kubernetes source (pods, ScaledObjects, HPAs) will use it:
/// discovery, list with label selectors and chunking, watch bookmarks, 410 on an old version.
#[tokio::test]
async fn test_server_discovery_lists_and_watches() {
    use futures_util::StreamExt;
    use kube::api::{
        Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, WatchEvent, WatchParams,
    };

    let server = KubeApiServer::start();
    for i in 0..5 {
        let tier = if i == 3 { "canary" } else { "main" };
        server.create(
            &ResourceType::pods(),
            json!({"metadata": {"name": format!("vllm-qwen3-{i}"), "namespace": NS,
                                "labels": {"app": "vllm-qwen3", "tier": tier}},
                   "spec": {"nodeName": "ip-10-0-1-23"}, "status": {"phase": "Running"}}),
        );
    }
    server.create(
        &ResourceType::pods(),
        json!({"metadata": {"name": "other", "namespace": NS, "labels": {"app": "other"}}}),
    );
    server.create(
        &ResourceType::scaled_objects(),
        json!({"metadata": {"name": "vllm-qwen3", "namespace": NS},
               "spec": {"scaleTargetRef": {"name": "vllm-qwen3"}, "minReplicaCount": 1, "maxReplicaCount": 8}}),
    );
    let kc = server.kubeconfig();
    let client = connect(&kc).await.client;

    // Discovery finds the CRD group and the HPA.
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    assert!(discovery.has_group("keda.sh"));
    assert!(discovery.has_group("gateway.networking.k8s.io"));
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
        ))
        .expect("hpa");
    assert_eq!(ar.plural, "horizontalpodautoscalers");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    // List: label selector with !=, chunked two at a time.
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Pod"), "pods"),
    );
    let lp = ListParams::default()
        .labels("app=vllm-qwen3,tier!=canary")
        .limit(2);
    let first = pods.list(&lp).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("continue");
    let list_rv = first.metadata.resource_version.clone().unwrap();
    // A change between pages doesn't show up in the continued list (consistent snapshot).
    server.delete(&ResourceType::pods(), NS, "vllm-qwen3-4");
    let second = pods.list(&lp.clone().continue_token(&token)).await.unwrap();
    let names: Vec<String> = first
        .items
        .iter()
        .chain(second.items.iter())
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "vllm-qwen3-0",
            "vllm-qwen3-1",
            "vllm-qwen3-2",
            "vllm-qwen3-4"
        ]
    );
    assert!(second
        .metadata
        .continue_
        .as_deref()
        .unwrap_or("")
        .is_empty());
    assert_eq!(
        second.metadata.resource_version.as_deref(),
        Some(list_rv.as_str())
    );

    // Watch from the list's version: the deletion, then a bookmark.
    server.set_bookmark_interval(Duration::from_millis(200));
    let wp = WatchParams::default().labels("app=vllm-qwen3").timeout(5);
    let mut stream = pods.watch(&wp, &list_rv).await.unwrap().boxed();
    let mut saw_delete = false;
    let mut saw_bookmark = false;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(3), stream.next()).await {
        match ev.unwrap() {
            WatchEvent::Deleted(p) => {
                assert_eq!(p.metadata.name.as_deref(), Some("vllm-qwen3-4"));
                saw_delete = true;
            }
            WatchEvent::Bookmark(_) => {
                saw_bookmark = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_delete && saw_bookmark);

    // After compaction an old version is 410 Expired, as a watch ERROR event.
    server.compact();
    server.touch(&ResourceType::pods(), NS, "vllm-qwen3-0");
    let mut stream = pods.watch(&wp, &list_rv).await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(3), stream.next()).await {
        Ok(Some(Ok(WatchEvent::Error(e)))) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    // …and continuing an old list is 410 too.
    match pods.list(&lp.continue_token(&token)).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }

    // An uninstalled CRD is a 404 on the resource.
    server.unregister("keda.sh", "scaledobjects");
    let so: Api<DynamicObject> = Api::namespaced_with(
        client,
        NS,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject"),
            "scaledobjects",
        ),
    );
    match so.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
        other => panic!("expected 404, got {other:?}"),
    }
}
