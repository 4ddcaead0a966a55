//! The router behind the TUI: a task that owns the backend and performs writes off the UI loop,
//! answering each with an event.
use super::store::{apply, ApplyError, Change, Router};
use super::{StoreError, WeightsRead};
use crate::domain::path::PathId;
use crate::domain::weights::Guard;
use std::path::PathBuf;
use tokio::sync::mpsc;

#[derive(Debug)]
pub enum RouterEvent {
    Applied {
        change: Box<Change>,
        read: WeightsRead,
    },
    Failed {
        change: Box<Change>,
        error: String,
        /// The router's weights now, when the write lost a race.
        current: Option<Box<WeightsRead>>,
    },
}

pub struct RouterLink {
    pub tx: mpsc::Sender<Change>,
    pub rx: mpsc::Receiver<RouterEvent>,
    pub backend: &'static str,
    pub target: Option<String>,
}

pub fn spawn(router: Router, guard: Guard, paths: Vec<PathId>, audit: PathBuf) -> RouterLink {
    let (tx, mut cmd_rx) = mpsc::channel::<Change>(8);
    let (ev_tx, rx) = mpsc::channel(8);
    let backend = router.backend();
    let target = router.target();
    tokio::spawn(async move {
        while let Some(change) = cmd_rx.recv().await {
            let ev = match apply(&router, &guard, &paths, &change, &audit).await {
                Ok(read) => RouterEvent::Applied {
                    change: Box::new(change),
                    read,
                },
                Err(e) => {
                    let current = match &e {
                        ApplyError::Store(StoreError::Conflict { current }) => {
                            Some(current.clone())
                        }
                        _ => None,
                    };
                    RouterEvent::Failed {
                        change: Box::new(change),
                        error: e.to_string(),
                        current,
                    }
                }
            };
            if ev_tx.send(ev).await.is_err() {
                break;
            }
        }
    });
    RouterLink {
        tx,
        rx,
        backend,
        target,
    }
}
