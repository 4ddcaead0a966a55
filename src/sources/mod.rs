//! Sources own their I/O: client, interval, backoff and health. They know nothing of the UI and
//! talk to the app loop only by sending `Update`s.
pub mod replay;
pub mod simulator;

use crate::model::update::Update;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub type UpdateTx = mpsc::Sender<Update>;
pub type UpdateRx = mpsc::Receiver<Update>;

pub trait Source: Send + 'static {
    fn name(&self) -> &'static str;
    /// Run until the channel closes.
    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()>;
}

/// One line of `hybridtop check`: what was checked, whether it passed, and what to do if not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    /// `kubernetes`, `cloudwatch`, `langfuse`, …
    pub source: &'static str,
    /// What was checked, e.g. `list pods in agents`.
    pub check: String,
    pub ok: bool,
    /// The evidence or the fix, e.g. `RBAC forbids list on pods in namespace agents`.
    pub detail: String,
}
