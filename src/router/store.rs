//! One router, whichever backend holds the weights, and the single path every change takes:
//! guard → audit the attempt → write (with the version it was computed against) → audit the
//! result. The record comes first: a change that cannot be recorded is not made.
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
    /// The session is read-only: the attempt is refused, and the refusal audited.
    pub read_only: bool,
}

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("refused: {0}")]
    Guard(#[from] WeightsError),
    #[error("refused: read-only: router weights cannot be changed in this session (--read-only)")]
    ReadOnly,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the audit log {path} cannot be written ({error}); nothing was changed")]
    Audit { path: PathBuf, error: String },
    #[error("the change was made, but its result could not be added to the audit log {path} ({error}); the attempt is recorded there as pending")]
    AuditResult { path: PathBuf, error: String },
}

impl ApplyError {
    /// ARCHITECTURE.md "Contracts" → "Exit codes": 2 refused/invalid, 3 conflict, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            ApplyError::Guard(_) | ApplyError::ReadOnly => 2,
            ApplyError::Store(StoreError::Conflict { .. }) => 3,
            ApplyError::Store(StoreError::Invalid(_)) => 2,
            ApplyError::Store(_) | ApplyError::Audit { .. } | ApplyError::AuditResult { .. } => 1,
        }
    }
}

/// Check, record, write, and record the result of one change. Every attempt that reaches this
/// point is audited — refused, failed, dry-run or applied — and nothing is sent to the router
/// before its record is on disk.
pub async fn apply(
    router: &Router,
    guard: &Guard,
    paths: &[PathId],
    change: &Change,
    audit_path: &std::path::Path,
) -> Result<WeightsRead, ApplyError> {
    let mut entry = AuditEntry::attempt(&change.actor, change.mode, router.backend());
    entry.target = router.target();
    entry.from = Some(change.from.weights.clone());
    entry.to = Some(change.to.clone());
    entry.reason = change.reason.clone();
    let audit_err = |e: std::io::Error| ApplyError::Audit {
        path: audit_path.to_path_buf(),
        error: e.to_string(),
    };
    if change.read_only {
        let e = ApplyError::ReadOnly;
        audit::append(audit_path, &entry.completed(e.to_string())).map_err(audit_err)?;
        return Err(e);
    }
    // Replacing stored weights that are not a valid split counts as the largest shift (the
    // guard sees to it); the read's own words for what is wrong are the clearer ones.
    let checked = guard
        .check(paths, Some(&change.from.weights), &change.to, change.force)
        .map_err(|e| match (e, &change.from.invalid) {
            (WeightsError::InvalidStored(_), Some(why)) => WeightsError::InvalidStored(why.clone()),
            (e, _) => e,
        });
    if let Err(e) = checked {
        let e = ApplyError::Guard(e);
        audit::append(audit_path, &entry.completed(e.to_string())).map_err(audit_err)?;
        return Err(e);
    }
    audit::append(audit_path, &entry.completed("pending".into())).map_err(audit_err)?;
    let req = WriteRequest {
        from: change.from.weights.clone(),
        to: change.to.clone(),
        expected_version: change.from.version.clone(),
        dry_run: change.dry_run,
        reason: change.reason.clone(),
        actor: change.actor.clone(),
    };
    let outcome = router.write(&req).await.map_err(ApplyError::Store);
    let result = match &outcome {
        Ok(_) if change.dry_run => "dry-run".to_string(),
        Ok(_) => "applied".to_string(),
        Err(e) => e.to_string(),
    };
    let audited = audit::append(audit_path, &entry.completed(result));
    let read = outcome?;
    audited.map_err(|e| ApplyError::AuditResult {
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
                ..Actor::default()
            },
            mode: "demo",
            read_only: false,
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
        // Each attempt that reaches the router: "pending" first, then its result, one id.
        let results: Vec<&str> = lines
            .iter()
            .map(|l| l["result"].as_str().unwrap())
            .collect();
        assert_eq!(results.len(), 5, "{results:?}");
        assert_eq!(results[..3], ["pending", "applied", "pending"]);
        assert!(results[3].contains("changed since"));
        // The guard's refusal: one line, nothing pending.
        assert!(results[4].contains("max_shift_per_apply"));
        assert_eq!(lines[0]["id"], lines[1]["id"]);
        assert_ne!(lines[1]["id"], lines[2]["id"]);
        assert_eq!(lines[0]["backend"], "simulator");
        assert_eq!(lines[0]["reason"], "drill");
    }

    /// The record comes first: with the audit log unwritable nothing is sent.
    #[tokio::test]
    async fn an_unwritable_audit_log_stops_the_write() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: no one can append to it, root included.
        let audit = dir.path().join("audit.jsonl");
        std::fs::create_dir(&audit).unwrap();
        let w0 = Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        let (store, rx) = SimulatorStore::new(w0.clone());
        let router = Router::Simulator(store);
        let change = Change {
            from: router.read().await.unwrap(),
            to: Weights::from_pairs([
                ("eks-qwen3", 60),
                ("agentcore-haiku", 30),
                ("agentcore-sonnet", 10),
            ]),
            force: false,
            dry_run: false,
            reason: None,
            actor: Actor::default(),
            mode: "cli",
            read_only: false,
        };
        let err = apply(&router, &Guard::default(), &paths(), &change, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert_eq!(*rx.borrow(), w0);
        assert_eq!(router.read().await.unwrap().version, change.from.version);
    }

    /// Stored weights of 2³¹ are flagged and replacing them needs force: the shift cannot wrap
    /// to "0 points".
    #[test]
    fn invalid_stored_weights_need_force() {
        let paths = paths();
        let stored = Weights::from_pairs([
            ("eks-qwen3", 2_147_483_648),
            ("agentcore-haiku", 2_147_483_648),
            ("agentcore-sonnet", 10),
        ]);
        let why = stored.stored_problem(&paths).unwrap();
        assert!(
            why.contains("'eks-qwen3' = 2147483648 is beyond 100 %"),
            "{why}"
        );
        let to = Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        assert!(to.shift_from(&stored) > 100);
        let g = Guard::default();
        assert!(matches!(
            g.check(&paths, Some(&stored), &to, false),
            Err(WeightsError::InvalidStored(_))
        ));
        assert_eq!(g.check(&paths, Some(&stored), &to, true), Ok(()));
        // A sum other than 100, a missing path and an unknown one are invalid too.
        for bad in [
            Weights::from_pairs([
                ("eks-qwen3", 1),
                ("agentcore-haiku", 1),
                ("agentcore-sonnet", 1),
            ]),
            Weights::from_pairs([("eks-qwen3", 90), ("agentcore-haiku", 10)]),
            Weights::from_pairs([
                ("eks-qwen3", 70),
                ("agentcore-haiku", 20),
                ("agentcore-sonnet", 10),
                ("other", 0),
            ]),
        ] {
            assert!(bad.stored_problem(&paths).is_some(), "{bad:?}");
            assert!(g.check(&paths, Some(&bad), &to, false).is_err());
        }
    }
}
