//! Issue 16's acceptance for the Kubernetes side, tried as a new user would with the demo: the
//! Overview and Fleet say in words why EKS is not yet scaled (the pending pods, the
//! FailedScheduling event, the launching nodes), and `keda-stuck`'s contradiction is flagged —
//! in the JSON and on screen.
use serde_json::Value;
use std::process::Command;

fn hybridtop(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(4)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn demo(scenario: &str, seed: &str, secs: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "snapshot",
        "--demo",
        "--scenario",
        scenario,
        "--seed",
        seed,
        "--sim-seconds",
        secs,
    ];
    args.extend_from_slice(extra);
    hybridtop(&args)
}

#[test]
fn eks_node_loss_says_why_eks_is_not_yet_scaled() {
    let v: Value = serde_json::from_str(&demo("eks-node-loss", "11", "540", &[])).unwrap();
    let so = &v["fleet"]["scaled_objects"][0];
    let verdict = so["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("scaling up "), "{verdict}");
    assert!(verdict.contains("waiting for a GPU node"), "{verdict}");
    assert!(verdict.contains("(FailedScheduling)"), "{verdict}");
    assert!(verdict.contains("launching for"), "{verdict}");
    let events = v["fleet"]["events"].as_array().unwrap();
    let fs = events
        .iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .expect("a FailedScheduling event");
    for k in [
        "type",
        "reason",
        "kind",
        "name",
        "message",
        "count",
        "first_seen",
        "last_seen",
    ] {
        assert!(fs.get(k).is_some(), "event without {k}: {fs}");
    }
    assert_eq!(fs["type"], "Warning");
    assert!(fs["message"]
        .as_str()
        .unwrap()
        .contains("Insufficient nvidia.com/gpu"));
    assert!(fs["count"].as_u64().unwrap() >= 2);
    assert!(events
        .iter()
        .any(|e| e["kind"] == "NodeClaim" && e["reason"] == "Launched"));
    let nodes = v["fleet"]["nodes"].as_array().unwrap();
    assert!(nodes
        .iter()
        .any(|n| n["ready"] == false && n["launched_at"].is_string()));
    // On screen: the Overview's Fleet card and the Fleet view say it in words.
    let overview = demo(
        "eks-node-loss",
        "11",
        "540",
        &["--format", "text", "--width", "160"],
    );
    assert!(overview.contains("waiting for a GPU node"), "{overview}");
    assert!(overview.contains("FailedScheduling ×"), "{overview}");
    let fleet = demo(
        "eks-node-loss",
        "11",
        "540",
        &[
            "--format", "text", "--width", "160", "--height", "50", "--view", "fleet",
        ],
    );
    assert!(fleet.contains("launching (oldest"), "{fleet}");
    assert!(fleet.contains("Events ("), "{fleet}");
    assert!(fleet.contains("FailedScheduling"), "{fleet}");
    // Recovered: steady again, nothing contradicts.
    let v: Value = serde_json::from_str(&demo("eks-node-loss", "11", "1500", &[])).unwrap();
    let so = &v["fleet"]["scaled_objects"][0];
    assert!(
        so["verdict"].as_str().unwrap().starts_with("steady at "),
        "{so}"
    );
    assert_eq!(so["contradictions"], serde_json::json!([]));
}

#[test]
fn keda_stuck_flags_the_contradiction() {
    let v: Value = serde_json::from_str(&demo("keda-stuck", "7", "900", &[])).unwrap();
    let so = &v["fleet"]["scaled_objects"][0];
    assert_eq!(so["ready"], true);
    assert!(
        so["verdict"]
            .as_str()
            .unwrap()
            .starts_with("not scaling: HPA cannot read the metric (FailedGetExternalMetric)"),
        "{so}"
    );
    let c = so["contradictions"].as_array().unwrap();
    assert!(
        c.iter().any(|c| c
            .as_str()
            .unwrap()
            .starts_with("ScaledObject Ready=True but its HPA has ScalingActive=False")),
        "{so}"
    );
    let text = demo(
        "keda-stuck",
        "7",
        "900",
        &["--format", "text", "--width", "160"],
    );
    assert!(
        text.contains("contradiction: ScaledObject Ready=True"),
        "{text}"
    );
    // Before onset and after the metric is back, there is nothing to flag.
    for at in ["300", "1500"] {
        let v: Value = serde_json::from_str(&demo("keda-stuck", "7", at, &[])).unwrap();
        assert_eq!(
            v["fleet"]["scaled_objects"][0]["contradictions"],
            serde_json::json!([]),
            "at {at}"
        );
    }
}
