//! The CLI contract, tried as a new user would: snapshot JSON, determinism, scenarios, and clear
//! exit-2 errors for bad input.
use serde_json::Value;
use std::process::{Command, Output};

fn hybridtop(args: &[&str]) -> (Output, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    (out, home)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn snapshot_json(extra: &[&str]) -> (Value, Vec<u8>, i32) {
    let mut args = vec!["snapshot", "--demo", "--format", "json"];
    args.extend_from_slice(extra);
    let (o, _h) = hybridtop(&args);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(&o)
        )
    });
    (v, o.stdout, o.status.code().unwrap_or(-1))
}

fn all_numbers_finite(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::Array(a) => a.iter().all(all_numbers_finite),
        Value::Object(o) => o.values().all(all_numbers_finite),
        _ => true,
    }
}

fn path<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no path {id}"))
}

fn source<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

fn ready_pods(v: &Value, id: &str) -> u64 {
    path(v, id)["ready_pods"].as_u64().unwrap()
}

fn p95(v: &Value, id: &str) -> f64 {
    path(v, id)["latency_ms"]["p95"].as_f64().unwrap()
}

#[test]
fn steady_snapshot_is_schema_v1_deterministic_and_consistent() {
    let args = ["--seed", "7", "--sim-seconds", "600"];
    let (v, bytes, code) = snapshot_json(&args);
    let (_, again, _) = snapshot_json(&args);
    assert_eq!(code, 0);
    assert_eq!(bytes, again, "same flags must give byte-identical JSON");
    for key in [
        "schema",
        "generated_at",
        "mode",
        "window_seconds",
        "read_only",
        "sources",
        "router",
        "paths",
        "fleet",
        "sessions",
        "cost",
        "alerts",
        "phase",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["schema"], "hybridtop.snapshot.v1");
    assert_eq!(v["mode"], "demo");
    assert!(all_numbers_finite(&v));
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    let share_sum: f64 = paths
        .iter()
        .map(|p| p["observed_share"].as_f64().unwrap())
        .sum();
    assert!((share_sum - 1.0).abs() < 1e-9, "shares sum to {share_sum}");
    for p in paths {
        let w = p["weight"].as_f64().unwrap() / 100.0;
        let s = p["observed_share"].as_f64().unwrap();
        assert!(
            (s - w).abs() <= 0.05,
            "{}: share {s} vs weight {w}",
            p["id"]
        );
        let l = &p["latency_ms"];
        let (p50, p95, p99) = (
            l["p50"].as_f64().unwrap(),
            l["p95"].as_f64().unwrap(),
            l["p99"].as_f64().unwrap(),
        );
        assert!(p50 <= p95 && p95 <= p99, "{}: {p50} {p95} {p99}", p["id"]);
        assert!(p["requests_per_minute"].as_f64().unwrap() > 0.0);
    }
    assert!(!v["fleet"]["pods"].as_array().unwrap().is_empty());
    assert!(v["sessions"]["hybrid"].as_u64().unwrap() > 0);
    assert!(v["sessions"]["escalated"].as_u64().unwrap() > 0);
    // Different seeds give different runs.
    let (_, other, _) = snapshot_json(&["--seed", "8", "--sim-seconds", "600"]);
    assert_ne!(bytes, other);
}

#[test]
fn eks_node_loss_drops_ready_pods_raises_p95_then_recovers() {
    let before = snapshot_json(&["--scenario", "eks-node-loss", "--sim-seconds", "350"]).0;
    let peak = snapshot_json(&["--scenario", "eks-node-loss", "--sim-seconds", "480"]).0;
    let after = snapshot_json(&["--scenario", "eks-node-loss", "--sim-seconds", "1700"]).0;
    let id = "eks-qwen3";
    assert!(
        ready_pods(&peak, id) < ready_pods(&before, id),
        "ready pods did not drop"
    );
    assert!(
        p95(&peak, id) > 2.0 * p95(&before, id),
        "p95 {} vs {}",
        p95(&peak, id),
        p95(&before, id)
    );
    assert!(
        ready_pods(&after, id) >= ready_pods(&before, id),
        "KEDA did not recover"
    );
    assert!(
        p95(&after, id) < 100.0,
        "p95 still {} after recovery",
        p95(&after, id)
    );
}

#[test]
fn langfuse_outage_ages_then_errors_while_the_rest_keeps_updating() {
    let early = snapshot_json(&["--scenario", "langfuse-outage", "--sim-seconds", "420"]).0;
    let late = snapshot_json(&["--scenario", "langfuse-outage", "--sim-seconds", "600"]);
    let lf_early = source(&early, "langfuse");
    let lf_late = source(&late.0, "langfuse");
    assert!(lf_late["age_seconds"].as_f64().unwrap() > lf_early["age_seconds"].as_f64().unwrap());
    assert!(lf_late["age_seconds"].as_f64().unwrap() > 120.0);
    assert_eq!(lf_late["state"], "error");
    assert!(lf_late["error"].as_str().unwrap_or("").contains("503"));
    for other in ["cloudwatch", "kubernetes"] {
        assert_eq!(source(&late.0, other)["state"], "ok", "{other}");
        assert!(source(&late.0, other)["age_seconds"].as_f64().unwrap() <= 60.0);
    }
    assert!(
        path(&late.0, "eks-qwen3")["requests_per_minute"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(late.2, 4, "an unhealthy source must give exit code 4");
}

#[test]
fn text_export_is_the_overview_at_the_given_size() {
    let (o, _h) = hybridtop(&[
        "snapshot", "--demo", "--format", "text", "--width", "80", "--height", "24",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.lines().count() <= 24);
    assert!(text
        .lines()
        .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 80));
    assert!(text.contains("DEMO") && text.contains("EKS Qwen3-4B"));
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (&["demo", "--scenario", "meltdown"], "meltdown"),
        (
            &["snapshot", "--demo", "--scenario", "meltdown"],
            "meltdown",
        ),
        (&["demo", "--seed", "abc"], "abc"),
        (&["demo", "--speed", "fast"], "fast"),
        (&["demo", "--speed", "0"], "'0'"),
        (
            &[
                "snapshot",
                "--demo",
                "--theme",
                "nope-theme",
                "--format",
                "text",
            ],
            "nope-theme",
        ),
    ];
    for (args, needle) in cases {
        let (o, _h) = hybridtop(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?}: stderr does not name '{needle}': {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_theme_file_that_does_not_parse_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.toml");
    std::fs::write(&bad, "[styles.warn]\nfg = 'purplish'\n").unwrap();
    let (o, _h) = hybridtop(&[
        "snapshot",
        "--demo",
        "--format",
        "text",
        "--theme",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("broken.toml") && e.contains("purplish"), "{e}");
}

#[test]
fn no_config_names_the_path_and_suggests_the_demo() {
    let (o, home) = hybridtop(&[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    let expected = home.path().join("config/hybridtop/config.toml");
    assert!(e.contains(&expected.display().to_string()), "{e}");
    assert!(e.contains("hybridtop demo"), "{e}");
}

#[test]
fn demo_without_a_terminal_says_what_to_use_instead() {
    let (o, _h) = hybridtop(&["demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("snapshot --demo"));
}

#[test]
fn init_writes_a_config_that_loads_and_refuses_to_overwrite() {
    let (o, home) = hybridtop(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = home.path().join("config/hybridtop/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for section in [
        "[general]",
        "[[paths]]",
        "[aws]",
        "[kubernetes]",
        "[langfuse]",
        "[router]",
        "[router.guard]",
        "[correlation]",
        "[alerts]",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    // A second init does not clobber the operator's edits.
    let again = Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(["-c", path.to_str().unwrap(), "init"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"));
}

#[test]
fn info_and_completions() {
    let (o, home) = hybridtop(&["info"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            &home
                .path()
                .join("config/hybridtop/config.toml")
                .display()
                .to_string()
        ),
        "{out}"
    );
    assert!(
        out.contains("audit.jsonl") && out.contains("hybridtop.log"),
        "{out}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let (o, _h) = hybridtop(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("hybridtop"));
    }
}

#[test]
fn key_and_colour_config_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[keys]\nquitt = [\"x\"]\n", vec!["quitt"]),
        ("[keys]\nquit = [\"w\"]\n", vec!["'w'", "quit", "weights"]),
        ("[keys]\nquit = [\"ctrl-\"]\n", vec!["keys", "quit"]),
        (
            "[ui]\nenvironment_colors = { \"prod-*\" = \"purplish\" }\n",
            vec!["prod-*", "purplish"],
        ),
    ];
    for (i, (text, needles)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let (o, _h) = hybridtop(&["-c", p.to_str().unwrap(), "demo"]);
        assert_eq!(o.status.code(), Some(2), "{text}: {}", stderr(&o));
        for n in needles {
            assert!(
                stderr(&o).contains(n),
                "{text}: '{n}' not in {}",
                stderr(&o)
            );
        }
    }
}

/// `check` runs exactly the validation a run does: whatever `demo` (or the dashboard) refuses
/// in a config, `check` refuses too, with the same words.
#[test]
fn check_fails_where_a_run_fails() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, needle) in [
        (
            "twice.toml",
            "[keys]\nquit = [\"q\"]\nhelp = [\"q\"]\n",
            "q",
        ),
        ("action.toml", "[keys]\nteleport = [\"x\"]\n", "teleport"),
        (
            "key.toml",
            "[keys]\nquit = [\"hyper-banana\"]\n",
            "hyper-banana",
        ),
        (
            "theme.toml",
            "[ui]\ntheme = \"no-such-theme\"\n",
            "no-such-theme",
        ),
        (
            "capacity.toml",
            "[[paths]]\nid = \"e\"\nkind = \"eks\"\n[paths.eks]\npod_capacity_rpm = nan\n",
            "pod_capacity_rpm",
        ),
        (
            "window.toml",
            "[general]\nwindow = \"1ms\"\n",
            "general.window",
        ),
        (
            "sessions.toml",
            "[correlation]\nmax_sessions = 0\n",
            "max_sessions",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let cfg = p.to_str().unwrap();
        let (check, _h) = hybridtop(&["-c", cfg, "check"]);
        let (demo, _h) = hybridtop(&["-c", cfg, "demo"]);
        assert_eq!(
            check.status.code(),
            Some(2),
            "check {name}: {}",
            stderr(&check)
        );
        assert_eq!(
            demo.status.code(),
            Some(2),
            "demo {name}: {}",
            stderr(&demo)
        );
        for o in [&check, &demo] {
            assert!(stderr(o).contains(name), "{name}: {}", stderr(o));
            assert!(stderr(o).contains(needle), "{name}: {}", stderr(o));
        }
        // (The theme's message names each run's own theme directory.)
        if name != "theme.toml" {
            assert_eq!(stderr(&check), stderr(&demo), "{name}");
        }
    }
}
