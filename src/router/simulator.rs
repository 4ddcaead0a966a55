//! The demo's weight store: the simulator routes by whatever is written here, from its next
//! request on.
use super::{StoreError, WeightsRead, WriteRequest};
use crate::domain::weights::Weights;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

pub struct SimulatorStore {
    tx: watch::Sender<Weights>,
    version: AtomicU64,
}

impl SimulatorStore {
    /// The store and the receiver the simulator source reads weights from.
    pub fn new(initial: Weights) -> (SimulatorStore, watch::Receiver<Weights>) {
        let (tx, rx) = watch::channel(initial);
        (
            SimulatorStore {
                tx,
                version: AtomicU64::new(0),
            },
            rx,
        )
    }

    pub fn read(&self) -> WeightsRead {
        WeightsRead {
            backend: "simulator",
            target: None,
            weights: self.tx.borrow().clone(),
            version: Some(self.version.load(Ordering::SeqCst).to_string()),
            invalid: None,
        }
    }

    pub fn write(&self, req: &WriteRequest) -> Result<WeightsRead, StoreError> {
        let current = self.read();
        if req.expected_version.is_some() && req.expected_version != current.version {
            return Err(StoreError::Conflict {
                current: Box::new(current),
            });
        }
        if req.to.sum() == 0 {
            return Err(StoreError::Invalid(
                "refusing to write all-zero weights".into(),
            ));
        }
        if req.dry_run {
            return Ok(WeightsRead {
                weights: req.to.clone(),
                ..current
            });
        }
        self.version.fetch_add(1, Ordering::SeqCst);
        self.tx.send_replace(req.to.clone());
        Ok(self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Actor;

    fn req(to: Weights, v: Option<&str>) -> WriteRequest {
        WriteRequest {
            from: Weights::default(),
            to,
            expected_version: v.map(String::from),
            dry_run: false,
            reason: None,
            actor: Actor {
                user: "u".into(),
                host: "h".into(),
                ..Actor::default()
            },
        }
    }

    #[test]
    fn writes_reach_the_simulator_and_stale_versions_conflict() {
        let w0 = Weights::from_pairs([("a", 70), ("b", 30)]);
        let w1 = Weights::from_pairs([("a", 60), ("b", 40)]);
        let (store, rx) = SimulatorStore::new(w0);
        let r = store.write(&req(w1.clone(), Some("0"))).unwrap();
        assert_eq!(r.version.as_deref(), Some("1"));
        assert_eq!(*rx.borrow(), w1);
        assert!(matches!(
            store.write(&req(w1.clone(), Some("0"))),
            Err(StoreError::Conflict { .. })
        ));
    }
}
