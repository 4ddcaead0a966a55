//! `hybridtop weights get|set` as an operator runs it: the real binary, a config file, and a
//! Kubernetes API (the local test server) reached through KUBECONFIG.
use crate::support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::kube_api::{KubeApiServer, KubeconfigFile, ResourceType};

const NS: &str = "agents";
const NAME: &str = "hybrid-router";

fn write_config(dir: &Path, backend: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[general]
environment = "test"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[[paths]]
id = "agentcore-sonnet"
kind = "agentcore"
[kubernetes]
namespaces = ["agents"]
[router]
backend = "{backend}"
namespace = "{NS}"
name = "{NAME}"
[router.httproute]
rule = 0
backend_refs = {{ "eks-qwen3" = "kagent-qwen3", "agentcore-haiku" = "agentcore-haiku-proxy", "agentcore-sonnet" = "agentcore-sonnet-proxy" }}
[router.configmap]
key = "weights.json"
[router.guard]
step = 5
max_shift_per_apply = 25
min = {{ "agentcore-sonnet" = 5 }}
"#
    );
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

struct Env {
    server: KubeApiServer,
    kc: KubeconfigFile,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

fn setup(backend: &str) -> Env {
    let server = KubeApiServer::start();
    if backend == "configmap" {
        server.create(
            &ResourceType::configmaps(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": NAME, "namespace": NS},
                   "data": {"weights.json": r#"{"eks-qwen3": 70, "agentcore-haiku": 20, "agentcore-sonnet": 10}"#}}),
        );
    } else {
        server.create(
            &ResourceType::httproutes(),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                   "metadata": {"name": NAME, "namespace": NS},
                   "spec": {"rules": [
                       {"backendRefs": [
                           {"name": "kagent-qwen3", "port": 8080, "weight": 70},
                           {"name": "agentcore-haiku-proxy", "port": 8443, "weight": 20},
                           {"name": "mirror", "port": 9000, "weight": 0},
                           {"name": "agentcore-sonnet-proxy", "port": 8443, "weight": 10}]},
                       {"backendRefs": [{"name": "health", "port": 80}]}]}}),
        );
    }
    let kc = server.kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), backend);
    server.clear_requests();
    Env {
        server,
        kc,
        dir,
        config,
    }
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hybridtop"))
            .arg("-c")
            .arg(&self.config)
            .arg("--audit-log")
            .arg(self.audit_path())
            .args(args)
            .env("KUBECONFIG", &self.kc.path)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("USER", "alice")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
    fn audit_path(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.jsonl")
    }
    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    fn configmap_weights(&self) -> Value {
        let o = self
            .server
            .get(&ResourceType::configmaps(), NS, NAME)
            .unwrap();
        serde_json::from_str(o["data"]["weights.json"].as_str().unwrap()).unwrap()
    }
    fn route(&self) -> Value {
        self.server
            .get(&ResourceType::httproutes(), NS, NAME)
            .unwrap()
    }
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SET: [&str; 5] = [
    "weights",
    "set",
    "eks-qwen3=80",
    "agentcore-haiku=15",
    "agentcore-sonnet=5",
];

#[test]
fn configmap_set_writes_exactly_with_precondition_annotation_and_audit() {
    let env = setup("configmap");
    let o = env.run(&[&SET[..], &["--yes", "--reason", "haiku throttling"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        env.configmap_weights(),
        json!({"eks-qwen3": 80, "agentcore-haiku": 15, "agentcore-sonnet": 5})
    );
    let writes = env.server.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let patch = writes[0].json();
    assert!(
        patch["metadata"]["resourceVersion"].is_string(),
        "no precondition: {patch}"
    );
    let obj = env
        .server
        .get(&ResourceType::configmaps(), NS, NAME)
        .unwrap();
    let ann = obj["metadata"]["annotations"]["hybridtop.io/last-change"]
        .as_str()
        .unwrap();
    // "Who" is the operating system's account; $USER (alice here) is only a claim.
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let me = me.trim();
    assert!(
        ann.contains("haiku throttling") && ann.contains(&format!("\"who\":\"{me}\"")),
        "{ann}"
    );
    // The attempt is recorded before the write, then completed with its result.
    let audit = env.audit();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["result"], "pending");
    assert_eq!(audit[1]["result"], "applied");
    assert_eq!(audit[0]["id"], audit[1]["id"]);
    assert_eq!(audit[1]["backend"], "configmap");
    assert_eq!(audit[1]["target"], "agents/hybrid-router");
    assert_eq!(audit[1]["from"]["eks-qwen3"], 70);
    assert_eq!(audit[1]["to"]["eks-qwen3"], 80);
    assert_eq!(audit[1]["user"], me);
    assert_eq!(
        audit[1]["claimed_user"],
        if me == "alice" {
            Value::Null
        } else {
            "alice".into()
        }
    );
    assert!(audit[1]["uid"].is_u64());
    assert_eq!(audit[1]["mode"], "cli");
    // And `get` reads it back.
    let o = env.run(&["weights", "get", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "configmap");
    assert_eq!(v["target"], "agents/hybrid-router");
    assert_eq!(
        v["weights"],
        json!({"eks-qwen3": 80, "agentcore-haiku": 15, "agentcore-sonnet": 5})
    );
    assert!(v["version"].is_string());
}

#[test]
fn httproute_set_changes_only_path_weights() {
    let env = setup("httproute");
    let before = env.route();
    let o = env.run(&[&SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let after = env.route();
    let refs = after["spec"]["rules"][0]["backendRefs"].as_array().unwrap();
    let weight = |n: &str| refs.iter().find(|r| r["name"] == n).unwrap()["weight"].clone();
    assert_eq!(weight("kagent-qwen3"), 80);
    assert_eq!(weight("agentcore-haiku-proxy"), 15);
    assert_eq!(weight("agentcore-sonnet-proxy"), 5);
    assert_eq!(weight("mirror"), 0);
    assert_eq!(after["spec"]["rules"][1], before["spec"]["rules"][1]);
}

#[test]
fn invalid_weights_exit_2_without_any_request() {
    let env = setup("configmap");
    for args in [
        vec![
            "weights",
            "set",
            "eks-qwen3=80",
            "agentcore-haiku=15",
            "--yes",
        ],
        vec![
            "weights",
            "set",
            "eks-qwen3=80",
            "agentcore-haiku=15",
            "nope=5",
            "--yes",
        ],
        vec![
            "weights",
            "set",
            "eks-qwen3=95",
            "agentcore-haiku=5",
            "agentcore-sonnet=0",
            "--yes",
        ],
        vec![
            "weights",
            "set",
            "eks-qwen3=0",
            "agentcore-haiku=0",
            "agentcore-sonnet=0",
            "--yes",
        ],
        vec!["weights", "set", "eks-qwen3=eighty", "--yes"],
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(
            err(&o).contains("nothing was sent"),
            "{args:?}: {}",
            err(&o)
        );
    }
    assert!(
        env.server.requests().is_empty(),
        "requests were sent: {:?}",
        env.server.requests()
    );
    assert_eq!(env.configmap_weights()["eks-qwen3"], 70);
}

#[test]
fn read_only_and_unconfirmed_changes_send_nothing() {
    let env = setup("configmap");
    let o = env.run(&[&["--read-only"][..], &SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("read-only"), "{}", err(&o));
    // No terminal and no --yes: refuse rather than guess.
    let o = env.run(&SET);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--yes"), "{}", err(&o));
    assert!(env.server.requests().is_empty());
    // Both refusals are audited, though nothing was sent.
    let audit = env.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(audit[0]["result"].as_str().unwrap().contains("read-only"));
    assert!(audit[1]["result"].as_str().unwrap().contains("no terminal"));
    assert!(audit
        .iter()
        .all(|a| a["from"].is_null() && a["to"]["eks-qwen3"] == 80));
}

/// The record comes first: an unwritable audit log stops the write, and says so.
#[test]
fn an_unwritable_audit_log_stops_the_write() {
    let env = setup("configmap");
    std::fs::create_dir_all(env.audit_path()).unwrap();
    let o = env.run(&[&SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("nothing was changed"), "{}", err(&o));
    assert!(env.server.writes().is_empty());
    assert_eq!(env.configmap_weights()["eks-qwen3"], 70);
}

/// Stored weights of 2³¹ are flagged by `get` and replacing them needs --force (the shift
/// cannot wrap to "0 points").
#[test]
fn stored_weights_of_two_to_the_31_are_flagged_and_need_force() {
    let env = setup("configmap");
    let mut cm = env
        .server
        .get(&ResourceType::configmaps(), NS, NAME)
        .unwrap();
    cm["data"]["weights.json"] =
        json!(r#"{"eks-qwen3": 2147483648, "agentcore-haiku": 2147483648, "agentcore-sonnet": 0}"#);
    env.server.update(&ResourceType::configmaps(), cm);
    let o = env.run(&["weights", "get"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("INVALID: 'eks-qwen3' = 2147483648 is beyond 100 %"),
        "{out}"
    );
    let o = env.run(&["weights", "get", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["invalid"].as_str().unwrap().contains("2147483648"));
    env.server.clear_requests();
    let o = env.run(&[&SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("stored weights are invalid"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("--force"), "{}", err(&o));
    assert!(env.server.writes().is_empty());
    let o = env.run(&[&SET[..], &["--yes", "--force"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(env.configmap_weights()["eks-qwen3"], 80);
}

#[test]
fn too_large_a_shift_needs_force() {
    let env = setup("configmap");
    let big = [
        "weights",
        "set",
        "eks-qwen3=40",
        "agentcore-haiku=50",
        "agentcore-sonnet=10",
        "--yes",
    ];
    let o = env.run(&big);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("max_shift_per_apply"), "{}", err(&o));
    assert!(env.server.writes().is_empty());
    let o = env.run(&[&big[..], &["--force"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(env.configmap_weights()["eks-qwen3"], 40);
}

#[test]
fn dry_run_stores_nothing() {
    let env = setup("configmap");
    let o = env.run(&[&SET[..], &["--yes", "--dry-run"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(env.configmap_weights()["eks-qwen3"], 70);
    assert_eq!(
        env.server.writes()[0].param("dryRun").as_deref(),
        Some("All")
    );
    assert_eq!(env.audit()[1]["result"], "dry-run");
}

#[test]
fn conflict_exits_3_and_prints_current_weights() {
    let env = setup("configmap");
    env.server.inject(
        "patch",
        "configmaps",
        Some(NS),
        409,
        "Conflict",
        Some("the object has been modified"),
        Some(1),
    );
    let o = env.run(&[&SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("eks-qwen3") && out.contains("70%"), "{out}");
    assert_eq!(env.configmap_weights()["eks-qwen3"], 70);
    assert!(env.audit()[1]["result"]
        .as_str()
        .unwrap()
        .contains("changed since"));
}

#[test]
fn forbidden_exits_1_naming_the_permission() {
    let env = setup("httproute");
    env.server
        .forbid("patch", "httproutes.gateway.networking.k8s.io");
    let o = env.run(&[&SET[..], &["--yes"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains(
            "RBAC forbids patch on httproutes.gateway.networking.k8s.io in namespace agents"
        ),
        "{}",
        err(&o)
    );
}

#[test]
fn unreachable_api_exits_1_naming_the_server() {
    let env = setup("configmap");
    let url = env.server.url();
    env.server.stop();
    let o = env.run(&["weights", "get"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains(&url), "{}", err(&o));
}

/// The Cost view's recommendation, the weights editor and `weights set --dry-run` state the
/// same modelled delta for the same change on the same snapshot: the demo app's own snapshot,
/// saved as the JSON `hybridtop snapshot` writes and handed to the CLI with `--snapshot`.
#[test]
fn dry_run_states_the_same_delta_as_the_editor_and_the_recommendation() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hybridtop::app::{App, AppOptions};
    use hybridtop::commands::snapshot::demo_start;
    use hybridtop::config::{Config, DEMO_CONFIG};
    use hybridtop::model::advisor::signed_usd0;
    use hybridtop::model::snapshot::Mode;
    use hybridtop::router::simulator::SimulatorStore;
    use hybridtop::router::store::Router;
    use hybridtop::router::task;
    use hybridtop::sources::simulator::{Scenario, SimConfig, Simulator};

    let env = setup("configmap");
    let cfg = Config::demo();
    let mut app = App::new(&AppOptions {
        theme_dir: env.dir.path().to_path_buf(),
        ..AppOptions::new(Mode::Demo, cfg.clone())
    });
    // The demo's router (the simulator's store), as `hybridtop demo` wires it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (store, _wrx) = SimulatorStore::new(cfg.default_weights());
    let _router_rx = {
        let _g = rt.enter();
        app.attach_router(task::spawn(
            Router::Simulator(store),
            cfg.guard(),
            cfg.path_ids(),
            env.dir.path().join("demo-audit.jsonl"),
        ))
    };
    let mut sim = Simulator::new(
        SimConfig {
            seed: 7,
            scenario: Scenario::Steady,
            start: demo_start(),
            config: cfg.clone(),
        },
        cfg.default_weights(),
    );
    for _ in 0..600 {
        for u in sim.step() {
            app.apply(u);
        }
    }
    app.refresh_snapshot();
    let rec = app
        .snapshot
        .advisor
        .recommendation
        .clone()
        .expect("a recommendation");
    assert_eq!(
        rec.weights.to_text(),
        "eks-qwen3=95 agentcore-haiku=0 agentcore-sonnet=5"
    );

    // The editor: w, then + five times on eks-qwen3 (70 → 95).
    let key =
        |app: &mut App, c: char| app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    key(&mut app, 'w');
    for _ in 0..5 {
        key(&mut app, '+');
    }
    let w = app.ui.weights.as_ref().unwrap();
    assert_eq!(w.editor.proposal, rec.weights);
    let editor_delta = w.preview.delta_usd_per_month().unwrap();

    // The CLI, on the same snapshot, against a router holding the same current weights.
    let snap_file = env.dir.path().join("snapshot.json");
    std::fs::write(&snap_file, serde_json::to_string(&app.snapshot).unwrap()).unwrap();
    let config = DEMO_CONFIG.replace(
        "backend = \"none\"",
        &format!("backend = \"configmap\"\nnamespace = \"{NS}\"\nname = \"{NAME}\""),
    );
    std::fs::write(&env.config, config).unwrap();
    let mut args: Vec<String> = ["weights", "set"].map(String::from).to_vec();
    args.extend(rec.weights.iter().map(|(id, pct)| format!("{id}={pct}")));
    args.extend(["--yes", "--dry-run", "--snapshot"].map(String::from));
    args.push(snap_file.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = env.run(&argv);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = err(&o);
    let modelled = text
        .lines()
        .find(|l| l.starts_with("modelled at current volumes:"))
        .unwrap_or_else(|| panic!("no modelled line in:\n{text}"));

    let stated = signed_usd0(rec.usd_per_month_delta);
    assert!(rec.usd_per_month_delta < -1.0, "{rec:?}");
    assert_eq!(signed_usd0(editor_delta), stated);
    assert!(
        modelled.ends_with(&format!("({stated}/month)")),
        "CLI says {modelled:?}, the recommendation {stated}"
    );
    assert!(rec.text.contains(&stated.replace('+', "")), "{}", rec.text);
    // Nothing was stored, and the observed figure is labelled as such.
    assert_eq!(env.configmap_weights()["eks-qwen3"], 70);
    assert!(text.contains("observed now $"), "{text}");
}

#[test]
fn a_bad_snapshot_file_is_refused_before_the_router_is_asked() {
    let env = setup("configmap");
    let bad = env.dir.path().join("snap.json");
    std::fs::write(&bad, "{\"not\": \"a snapshot\"}").unwrap();
    let o = env.run(
        &[
            &SET[..],
            &["--yes", "--dry-run", "--snapshot", bad.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("snap.json: not a hybridtop snapshot"),
        "{}",
        err(&o)
    );
    assert!(env.server.requests().is_empty());
    assert!(env.audit().is_empty());
    // --snapshot means nothing without --dry-run.
    let o = env.run(&[&SET[..], &["--yes", "--snapshot", bad.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}
