//! Issue 15's attacker: hostile strings from every place the binary reads — a Kubernetes
//! server's answers, a recording, a config file, the environment, the command line — and every
//! place it writes: stdout, stderr, the audit log. No raw escape, C1 control or bidi override
//! reaches any of them. Plus the files it creates are private (0600 in 0700 directories).
use crate::support;

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::kube_api::{KubeApiServer, ResourceType};

/// OSC 52 (clipboard), OSC 0 (title), clear screen, C1 CSI, RLO, an isolate, BEL, NEL.
const HOSTILE: &str =
    "\x1b]52;c;cHduZWQ=\x07\x1b]0;owned\x07\x1b[2J\u{9b}31m\u{202E}\u{2066}\x07\u{85}!";

/// Whatever the bytes, none may drive a terminal: no ESC, BEL or other C0 but tab and newline,
/// no C1, no bidi control.
fn assert_clean(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: {c:?} reached the output:\n{text}");
    }
}

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(args)
        .env_clear()
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("LANG", "C.UTF-8")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn check_both(o: &Output, what: &str) {
    assert_clean(&o.stdout, &format!("{what} (stdout)"));
    assert_clean(&o.stderr, &format!("{what} (stderr)"));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const CONFIG: &str = r#"
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
backend = "configmap"
namespace = "agents"
name = "hybrid-router"
[router.configmap]
key = "weights.json"
"#;

#[test]
fn the_router_side_server_and_environment_cannot_write_escapes() {
    let server = KubeApiServer::start();
    let kc = server.kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    // Stored weights that are hostile text, and one beyond u32 range.
    let stored = json!({"eks-qwen3": HOSTILE, "agentcore-haiku": 20, "agentcore-sonnet": 10});
    server.create(
        &ResourceType::configmaps(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "hybrid-router", "namespace": "agents"},
               "data": {"weights.json": stored.to_string()}}),
    );
    // An admission webhook whose denial carries the payload.
    server.set_validator(&ResourceType::configmaps(), |_| {
        Err(format!("denied by policy {HOSTILE}"))
    });
    let audit = dir.path().join("state/hybridtop/audit.jsonl");
    let kcp = kc.path.to_str().unwrap().to_string();
    let cfg = config.to_str().unwrap().to_string();
    let envs = [
        ("KUBECONFIG", kcp.as_str()),
        ("USER", HOSTILE),
        ("SUDO_USER", HOSTILE),
        ("HOSTNAME", HOSTILE),
    ];
    let reason = format!("drill {HOSTILE}");
    for (what, args) in [
        ("weights get", vec!["-c", &cfg, "weights", "get"]),
        (
            "weights get json",
            vec!["-c", &cfg, "weights", "get", "--format", "json"],
        ),
        (
            "weights set denied",
            vec![
                "-c",
                &cfg,
                "weights",
                "set",
                "eks-qwen3=70",
                "agentcore-haiku=20",
                "agentcore-sonnet=10",
                "--yes",
                "--force",
                "--reason",
                &reason,
            ],
        ),
        (
            "weights set syntax",
            vec![
                "-c", &cfg, "weights", "set", HOSTILE, "--yes", "--reason", &reason,
            ],
        ),
    ] {
        let o = run(dir.path(), &args, &envs);
        check_both(&o, what);
    }
    // The stored weights are flagged, naming what is wrong.
    let o = run(dir.path(), &["-c", &cfg, "weights", "get"], &envs);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("INVALID: 'eks-qwen3' = "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The audit log has the denied attempt (pending, then the denial) and the refused syntax,
    // all clean; the user is the operating system's, $USER only a claim beside it.
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_clean(text.as_bytes(), "audit log");
    for bad in ["\\u001b", "\\u009b", "\\u0007"] {
        assert!(!text.contains(bad), "{bad} in the audit log:\n{text}");
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["result"], "pending");
    assert!(lines[1]["result"]
        .as_str()
        .unwrap()
        .contains("denied by policy"));
    assert!(lines[2]["result"]
        .as_str()
        .unwrap()
        .starts_with("refused: "));
    assert!(lines[2]["to"].is_null() && lines[2]["request"].is_string());
    let uid = std::fs::metadata("/proc/self").unwrap();
    assert_eq!(lines[0]["uid"], std::os::unix::fs::MetadataExt::uid(&uid));
    assert_ne!(lines[0]["user"], lines[0]["claimed_user"]);
    // Private: the audit log 0600, the directories hybridtop made 0700.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&audit), 0o600);
    assert_eq!(mode(audit.parent().unwrap()), 0o700);
    assert_eq!(
        mode(&dir.path().join("state/hybridtop/hybridtop.log")),
        0o600
    );
}

#[test]
fn files_configs_and_arguments_cannot_write_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A config whose broken line carries the payload, and one whose value does.
    let broken = d.join("broken.toml");
    std::fs::write(
        &broken,
        format!("[general]\nenvironment = 1\n{HOSTILE} = 2\n"),
    )
    .unwrap();
    let bad_value = d.join("value.toml");
    std::fs::write(
        &bad_value,
        format!("[general]\nwindow = \"{}\"\n", HOSTILE.escape_default()),
    )
    .unwrap();
    // A recording that is not one, and one whose record is hostile.
    let foreign = d.join("foreign.jsonl");
    std::fs::write(&foreign, HOSTILE).unwrap();
    let rec = d.join("rec.jsonl");
    let o = run(
        d,
        &[
            "--record",
            rec.to_str().unwrap(),
            "snapshot",
            "--demo",
            "--sim-seconds",
            "30",
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A recording is 0600: it holds user ids and span text unless --redact.
    assert_eq!(
        std::fs::metadata(&rec).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let damaged = d.join("damaged.jsonl");
    let text = std::fs::read_to_string(&rec).unwrap();
    let head = text.lines().next().unwrap();
    let hostile = serde_json::to_string(HOSTILE).unwrap();
    std::fs::write(
        &damaged,
        format!("{head}\n{{\"t\":1,\"u\":{{\"kind\":{hostile}}}}}\n"),
    )
    .unwrap();
    let name_with_escape = d.join(format!("cfg{HOSTILE}.toml"));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "broken config",
            vec!["-c".into(), broken.display().to_string(), "check".into()],
        ),
        (
            "bad value",
            vec!["-c".into(), bad_value.display().to_string(), "check".into()],
        ),
        (
            "missing config named with escapes",
            vec![
                "-c".into(),
                name_with_escape.display().to_string(),
                "check".into(),
            ],
        ),
        (
            "foreign recording",
            vec![
                "snapshot".into(),
                "--replay".into(),
                foreign.display().to_string(),
            ],
        ),
        (
            "damaged recording",
            vec![
                "snapshot".into(),
                "--replay".into(),
                damaged.display().to_string(),
            ],
        ),
        (
            "hostile scenario",
            vec![
                "snapshot".into(),
                "--demo".into(),
                "--scenario".into(),
                HOSTILE.into(),
            ],
        ),
        (
            "hostile flag value",
            vec!["snapshot".into(), "--width".into(), HOSTILE.into()],
        ),
        ("unknown subcommand", vec![HOSTILE.into()]),
    ];
    for (what, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(d, &args, &[("HYBRIDTOP_THEME", HOSTILE)]);
        check_both(&o, what);
        assert_ne!(o.status.code(), Some(0), "{what} passed");
    }
}

/// Sizes are bounded with a clear refusal (exit 2), never an abort.
#[test]
fn sizes_are_bounded_with_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "snapshot", "--demo", "--format", "text", "--width", "65535", "--height", "65535",
        ],
        vec!["snapshot", "--demo", "--width", "19"],
        vec!["snapshot", "--demo", "--height", "1001"],
        vec!["snapshot", "--demo", "--sim-seconds", "0"],
        vec!["snapshot", "--demo", "--sim-seconds", "99999999999"],
        vec!["demo", "--speed", "1e308"],
    ] {
        let o = run(dir.path(), &args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("invalid value"), "{args:?}: {err}");
    }
    let o = run(
        dir.path(),
        &[
            "snapshot",
            "--demo",
            "--sim-seconds",
            "30",
            "--format",
            "text",
            "--width",
            "1000",
            "--height",
            "1000",
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1000);
}
