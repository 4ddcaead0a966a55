//! The audit trail: JSON lines, one or two per attempted weight change. An attempt that reaches
//! the router is recorded (`result: "pending"`) and flushed before anything is sent, and
//! completed by a second line with the same `id` and the result; one refused before anything
//! is sent gets one line with the refusal. Text fields are sanitised: a reason or a server's
//! message must not carry escapes into whoever reads the log with `cat`.
use crate::domain::weights::Weights;
use crate::model::sanitize::clean_owned;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    /// One attempt's lines share it.
    pub id: String,
    pub time: String,
    /// The operating system's account (see `Actor`).
    pub user: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sudo_user: Option<String>,
    /// What `$USER` claimed, when it differs from `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_user: Option<String>,
    /// `live` | `demo` | `attach` (a team-mode viewer) | `cli`
    pub mode: String,
    pub backend: String,
    pub target: Option<String>,
    /// The weights the change was computed against (null: refused before they were read).
    pub from: Option<Weights>,
    /// The weights asked for (null: the request did not parse; see `request`).
    pub to: Option<Weights>,
    /// The request as typed, when it could not be parsed into weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    pub reason: Option<String>,
    /// `pending` (about to be sent), then `applied`, `dry-run`, or the error's text.
    pub result: String,
}

impl AuditEntry {
    pub fn time_now(now: DateTime<Utc>) -> String {
        now.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// A new attempt by `actor`, stamped now, with a fresh id.
    pub fn attempt(actor: &crate::router::Actor, mode: &str, backend: &str) -> AuditEntry {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let now = Utc::now();
        AuditEntry {
            id: format!(
                "{}-{}-{}",
                now.timestamp_millis(),
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ),
            time: Self::time_now(now),
            user: actor.user.clone(),
            host: actor.host.clone(),
            uid: actor.uid,
            sudo_user: actor.sudo_user.clone(),
            claimed_user: actor.claimed_user.clone(),
            mode: mode.to_string(),
            backend: backend.to_string(),
            target: None,
            from: None,
            to: None,
            request: None,
            reason: None,
            result: String::new(),
        }
    }

    /// The same attempt, completed now with `result`.
    pub fn completed(&self, result: String) -> AuditEntry {
        AuditEntry {
            time: Self::time_now(Utc::now()),
            result,
            ..self.clone()
        }
    }

    fn sanitised(&self) -> AuditEntry {
        let o = |v: &Option<String>| v.as_deref().map(clean_owned);
        AuditEntry {
            id: clean_owned(&self.id),
            time: clean_owned(&self.time),
            user: clean_owned(&self.user),
            host: clean_owned(&self.host),
            uid: self.uid,
            sudo_user: o(&self.sudo_user),
            claimed_user: o(&self.claimed_user),
            mode: clean_owned(&self.mode),
            backend: clean_owned(&self.backend),
            target: o(&self.target),
            from: self.from.clone(),
            to: self.to.clone(),
            request: o(&self.request),
            reason: o(&self.reason),
            result: clean_owned(&self.result),
        }
    }
}

pub fn default_path() -> PathBuf {
    crate::config::state_dir().join("audit.jsonl")
}

/// Append one line and flush it to disk; the directory is created if needed (0700, the file
/// 0600: who changed what is nobody else's business). An audit failure is an error the caller
/// shows: a change that cannot be audited is not made, or is reported, never silently dropped.
pub fn append(path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    let mut line = serde_json::to_string(&entry.sanitised()).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = crate::config::private::append(path)?;
    // One write per line so concurrent writers never interleave within a line.
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_sanitised_json_lines_with_the_contract_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/audit.jsonl");
        let actor = crate::router::Actor {
            user: "oncall".into(),
            host: "bastion".into(),
            uid: Some(1000),
            sudo_user: None,
            claimed_user: Some("root\u{202E}".into()),
        };
        let mut e = AuditEntry::attempt(&actor, "cli", "configmap");
        e.from = Some(Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 30),
        ]));
        e.to = Some(Weights::from_pairs([
            ("eks-qwen3", 60),
            ("agentcore-haiku", 40),
        ]));
        e.reason = Some("drill\x1b]52;c;cHduZWQ=\x07 \u{9b}2J".into());
        append(&path, &e.completed("pending".into())).unwrap();
        append(&path, &e.completed("denied by webhook\x1b[2J".into())).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        for k in [
            "id",
            "time",
            "user",
            "host",
            "uid",
            "claimed_user",
            "mode",
            "backend",
            "target",
            "from",
            "to",
            "reason",
            "result",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["from"]["eks-qwen3"], 70);
        assert_eq!(v["to"]["agentcore-haiku"], 40);
        assert_eq!(v["result"], "pending");
        assert_eq!(v["reason"], "drill ");
        assert_eq!(v["claimed_user"], "root");
        let w: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(w["id"], v["id"]);
        assert_eq!(w["result"], "denied by webhook");
        // Nothing that could drive a terminal is in the file, escaped or not.
        for bad in ["\\u001b", "\\u009b", "\u{202E}", "\u{9b}", "\x1b"] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
    }
}
