//! `mcp-privatelink-degraded`, through the real binary: at the peak the Overview says in words
//! that the AgentCore slowdown comes from the in-VPC MCP tool target and shows the alarm that
//! fired, linked to the path it watches; the JSON carries the same.
use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn snapshot(scenario: &str, secs: u64, format: &str) -> String {
    let secs = secs.to_string();
    run(&[
        "snapshot",
        "--demo",
        "--scenario",
        scenario,
        "--sim-seconds",
        &secs,
        "--format",
        format,
    ])
}

fn json(scenario: &str, secs: u64) -> Value {
    serde_json::from_str(&snapshot(scenario, secs, "json")).unwrap()
}

fn p95(v: &Value, path: &str) -> f64 {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == path)
        .unwrap()["latency_ms"]["p95"]
        .as_f64()
        .unwrap()
}

/// 13 minutes: inside the peak (9–15 min).
const PEAK: u64 = 780;

#[test]
fn overview_names_the_in_vpc_target_and_the_alarm_at_the_peak() {
    let text = snapshot("mcp-privatelink-degraded", PEAK, "text");
    assert!(
        text.contains("AgentCore slowdown comes from in-VPC MCP target crm-lookup"),
        "{text}"
    );
    assert!(
        text.contains("in-VPC/PL"),
        "the target is marked in the Tools pane: {text}"
    );
    let alarm = text
        .lines()
        .find(|l| l.contains("ALARM hybrid-agentcore-p95-high"))
        .unwrap_or_else(|| panic!("the alarm that fired is shown: {text}"));
    assert!(alarm.contains("→ agentcore-haiku"), "{alarm}");
    assert!(
        alarm.contains("Threshold Crossed") && alarm.contains("ago)"),
        "{alarm}"
    );
    // At the top of the Alerts panel: before any computed alert.
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    assert!(
        at("ALARM hybrid-agentcore-p95-high") < at("CRIT agentcore-haiku p95"),
        "{text}"
    );
}

#[test]
fn json_at_the_peak_carries_tools_identity_memory_and_the_alarm() {
    let v = json("mcp-privatelink-degraded", PEAK);
    let ac = &v["agentcore"];
    let top = &ac["tools"][0];
    assert_eq!(top["target"], "crm-lookup", "{ac:#}");
    assert_eq!(top["in_vpc"], true);
    assert!(top["target_execution_ms"]["p90"].as_f64().unwrap() > 500.0);
    for k in ["p50", "p90", "p99"] {
        assert!(top["latency_ms"][k].is_number(), "{k}");
    }
    assert!(top["invocations"].as_u64().unwrap() > 0);
    assert!(ac["identity"]["successes"].as_u64().unwrap() > 0);
    assert!(ac["identity"]["failure_rate"].is_number());
    let mem = &ac["memory"][0];
    assert!(mem["latency_ms"]["p99"].is_number() && mem["resource"].is_string());
    assert_eq!(ac["namespace"], "AWS/Bedrock-AgentCore");
    assert!(ac["verdict"]
        .as_str()
        .unwrap()
        .starts_with("AgentCore slowdown comes from in-VPC MCP target crm-lookup"));
    let fired: Vec<&Value> = v["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "ALARM")
        .collect();
    let rt = fired
        .iter()
        .find(|a| a["name"] == "hybrid-agentcore-p95-high")
        .unwrap();
    assert_eq!(rt["path"], "agentcore-haiku");
    assert!(rt["since"].is_string() && rt["reason"].is_string());
    assert!(v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["code"] == "tool_slow"));
    // AgentCore p95 follows the tool: well above the same run without the incident.
    let steady = json("steady", PEAK);
    assert!(p95(&v, "agentcore-haiku") > 2.0 * p95(&steady, "agentcore-haiku"));
    // The steady demo has the gateway too, healthy: no verdict, no firing alarm.
    assert!(steady["agentcore"]["verdict"].is_null());
    assert!(!steady["agentcore"]["tools"].as_array().unwrap().is_empty());
    assert!(steady["alarms"].as_array().unwrap().is_empty());
}

#[test]
fn before_the_onset_nothing_is_wrong_and_after_recovery_it_clears() {
    for secs in [300, 1500] {
        let v = json("mcp-privatelink-degraded", secs);
        assert!(
            v["agentcore"]["verdict"].is_null(),
            "{secs}: {:#}",
            v["agentcore"]
        );
        assert!(v["alarms"].as_array().unwrap().is_empty(), "{secs}");
    }
}

#[test]
fn a_recording_replays_the_tools_and_the_alarms() {
    use hybridtop::commands::snapshot::demo_state;
    use hybridtop::config::Config;
    use hybridtop::model::snapshot::Mode;
    use hybridtop::model::state::DeriveOptions;
    use hybridtop::record::{self, Header, Recorder, Target};
    use hybridtop::sources::simulator::Scenario;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mcp.jsonl");
    let mut rec = Recorder::create(
        &path,
        &Header::new(&Config::demo(), Mode::Demo, false, false),
    )
    .unwrap();
    let live = demo_state(1, Scenario::McpPrivatelinkDegraded, PEAK, Some(&mut rec))
        .snapshot(&DeriveOptions::default());
    rec.finish().unwrap();
    let replayed = record::replay_to(&path, Target::At(i64::MAX))
        .unwrap()
        .state
        .snapshot(&DeriveOptions::default());
    let (a, b) = (
        serde_json::to_value(&live).unwrap(),
        serde_json::to_value(&replayed).unwrap(),
    );
    assert!(!a["agentcore"]["tools"].as_array().unwrap().is_empty());
    for k in ["agentcore", "alarms", "alarm_scan"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""kind":"agentcore""#) && text.contains(r#""kind":"alarms""#));
}

#[test]
fn the_degraded_overview_at_120x40_and_80x24() {
    // Characters and styles: the verdict, the in-VPC target row, the alarms atop the Alerts
    // panel and the paged path's label in the alarm colour.
    use hybridtop::commands::snapshot::demo_snapshot;
    use hybridtop::model::state::DeriveOptions;
    use hybridtop::sources::simulator::Scenario;
    use hybridtop::ui::state::UiState;
    use hybridtop::ui::theme::Theme;
    let s = demo_snapshot(
        7,
        Scenario::McpPrivatelinkDegraded,
        PEAK,
        &DeriveOptions::default(),
    );
    let theme = Theme::builtin("default").unwrap();
    for (w, h) in [(120, 40), (80, 24)] {
        let buf = hybridtop::export::render(&s, &UiState::default(), &theme, w, h);
        insta::assert_snapshot!(
            format!("overview_mcp_privatelink_degraded_{w}x{h}"),
            hybridtop::ui::buffer_to_styled_text(&buf)
        );
    }
}
