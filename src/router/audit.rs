//! The audit trail: one JSON line per attempted weight change — applied, dry-run or failed.
use crate::domain::weights::Weights;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub time: String,
    pub user: String,
    pub host: String,
    /// `live` | `demo` | `cli`
    pub mode: String,
    pub backend: String,
    pub target: Option<String>,
    pub from: Weights,
    pub to: Weights,
    pub reason: Option<String>,
    /// `applied`, `dry-run`, or the error's text.
    pub result: String,
}

impl AuditEntry {
    pub fn time_now(now: DateTime<Utc>) -> String {
        now.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

pub fn default_path() -> PathBuf {
    crate::config::state_dir().join("audit.jsonl")
}

/// Append one line; the directory is created if needed. An audit failure is an error the caller
/// shows: a change that cannot be audited is reported, never silently dropped.
pub fn append(path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line so concurrent writers never interleave within a line.
    f.write_all(line.as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_json_lines_with_design_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/audit.jsonl");
        let e = AuditEntry {
            time: "2026-11-25T08:00:00.000Z".into(),
            user: "oncall".into(),
            host: "bastion".into(),
            mode: "demo".into(),
            backend: "simulator".into(),
            target: None,
            from: Weights::from_pairs([("eks-qwen3", 70), ("agentcore-haiku", 30)]),
            to: Weights::from_pairs([("eks-qwen3", 60), ("agentcore-haiku", 40)]),
            reason: Some("test".into()),
            result: "applied".into(),
        };
        append(&path, &e).unwrap();
        append(&path, &e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        for k in [
            "time", "user", "host", "mode", "backend", "target", "from", "to", "reason", "result",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["from"]["eks-qwen3"], 70);
        assert_eq!(v["to"]["agentcore-haiku"], 40);
    }
}
