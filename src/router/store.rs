//! One router, whichever backend holds the weights, and the single path every change takes:
//! guard → write (with the version it was computed against) → audit.
use super::audit::{self, AuditEntry};
use super::simulator::SimulatorStore;
use super::{Actor, KubeRouter, StoreError, WeightsRead, WriteRequest};
use crate::domain::path::PathId;
use crate::domain::weights::{Guard, Weights, WeightsError};
use std::path::PathBuf;
use thiserror::Error;

pub enum Router {
    Simulator(SimulatorStore),
    Kube(Box<KubeRouter>),
}

impl Router {
    pub fn backend(&self) -> &'static str {
        match self {
            Router::Simulator(_) => "simulator",
            Router::Kube(k) => k.backend(),
        }
    }

    pub fn target(&self) -> Option<String> {
        match self {
            Router::Simulator(_) => None,
            Router::Kube(k) => Some(k.target()),
        }
    }

    pub async fn read(&self) -> Result<WeightsRead, StoreError> {
        match self {
            Router::Simulator(s) => Ok(s.read()),
            Router::Kube(k) => k.read().await,
        }
    }

    pub async fn write(&self, req: &WriteRequest) -> Result<WeightsRead, StoreError> {
        match self {
            Router::Simulator(s) => s.write(req),
            Router::Kube(k) => k.write(req).await,
        }
    }
}

/// A change someone asked for, against the weights they saw.
#[derive(Clone, Debug)]
pub struct Change {
    pub from: WeightsRead,
    pub to: Weights,
    pub force: bool,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub actor: Actor,
    /// `live` | `demo` | `cli` for the audit log.
    pub mode: &'static str,
}

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("refused: {0}")]
    Guard(#[from] WeightsError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the change was applied but the audit log {path} could not be written: {error}")]
    Audit { path: PathBuf, error: String },
}

impl ApplyError {
    /// ARCHITECTURE.md "Contracts" → "Exit codes": 2 refused/invalid, 3 conflict, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            ApplyError::Guard(_) => 2,
            ApplyError::Store(StoreError::Conflict { .. }) => 3,
            ApplyError::Store(StoreError::Invalid(_)) => 2,
            ApplyError::Store(_) | ApplyError::Audit { .. } => 1,
        }
    }
}

/// Check, write, and record one change. Every attempt that reaches this point is audited —
/// refused, failed, dry-run or applied.
pub async fn apply(
    router: &Router,
    guard: &Guard,
    paths: &[PathId],
    change: &Change,
    audit_path: &std::path::Path,
) -> Result<WeightsRead, ApplyError> {
    let outcome = match guard.check(paths, Some(&change.from.weights), &change.to, change.force) {
        Err(e) => Err(ApplyError::Guard(e)),
        Ok(()) => {
            let req = WriteRequest {
                from: change.from.weights.clone(),
                to: change.to.clone(),
                expected_version: change.from.version.clone(),
                dry_run: change.dry_run,
                reason: change.reason.clone(),
                actor: change.actor.clone(),
            };
            router.write(&req).await.map_err(ApplyError::Store)
        }
    };
    let result = match &outcome {
        Ok(_) if change.dry_run => "dry-run".to_string(),
        Ok(_) => "applied".to_string(),
        Err(e) => e.to_string(),
    };
    let entry = AuditEntry {
        time: AuditEntry::time_now(chrono::Utc::now()),
        user: change.actor.user.clone(),
        host: change.actor.host.clone(),
        mode: change.mode.to_string(),
        backend: router.backend().to_string(),
        target: router.target(),
        from: change.from.weights.clone(),
        to: change.to.clone(),
        reason: change.reason.clone(),
        result,
    };
    let audited = audit::append(audit_path, &entry);
    let read = outcome?;
    audited.map_err(|e| ApplyError::Audit {
        path: audit_path.to_path_buf(),
        error: e.to_string(),
    })?;
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Vec<PathId> {
        vec![
            "eks-qwen3".into(),
            "agentcore-haiku".into(),
            "agentcore-sonnet".into(),
        ]
    }

    #[tokio::test]
    async fn applies_audits_and_refuses_through_one_path() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let w0 = Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        let (store, rx) = SimulatorStore::new(w0.clone());
        let router = Router::Simulator(store);
        let guard = Guard::default();
        let from = router.read().await.unwrap();
        let to = Weights::from_pairs([
            ("eks-qwen3", 60),
            ("agentcore-haiku", 27),
            ("agentcore-sonnet", 13),
        ]);
        let change = Change {
            from,
            to: to.clone(),
            force: false,
            dry_run: false,
            reason: Some("drill".into()),
            actor: Actor {
                user: "u".into(),
                host: "h".into(),
            },
            mode: "demo",
        };
        apply(&router, &guard, &paths(), &change, &audit)
            .await
            .unwrap();
        assert_eq!(*rx.borrow(), to);
        // Same change again: the version moved on, so it conflicts and writes nothing.
        let err = apply(&router, &guard, &paths(), &change, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        // Too large a move without force is refused by the guard.
        let big = Change {
            from: router.read().await.unwrap(),
            to: Weights::from_pairs([
                ("eks-qwen3", 20),
                ("agentcore-haiku", 70),
                ("agentcore-sonnet", 10),
            ]),
            ..change.clone()
        };
        let err = apply(&router, &guard, &paths(), &big, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(*rx.borrow(), to);
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["result"], "applied");
        assert!(lines[1]["result"]
            .as_str()
            .unwrap()
            .contains("changed since"));
        assert!(lines[2]["result"]
            .as_str()
            .unwrap()
            .contains("max_shift_per_apply"));
        assert_eq!(lines[0]["backend"], "simulator");
        assert_eq!(lines[0]["reason"], "drill");
    }
}
