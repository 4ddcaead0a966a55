//! Sources own their I/O: client, interval, backoff and health. They know nothing of the UI and
//! talk to the app loop only by sending `Update`s.
pub mod aws;
pub mod aws_check;
pub mod budget;
pub mod cloudwatch;
pub mod cost_explorer;
pub mod kubernetes;
pub mod langfuse;
pub mod otlp;
pub mod prometheus;
pub mod simulator;

use crate::model::update::Update;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub type UpdateTx = mpsc::Sender<Update>;
pub type UpdateRx = mpsc::Receiver<Update>;

/// The one thing the app asks of a source: the whole of some traces (children, and input and
/// output), for a waterfall an operator opened while the trace source polls roots first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceDemand {
    /// Raw trace ids, as the source sent them.
    pub trace_ids: Vec<String>,
}

pub type DemandTx = mpsc::Sender<TraceDemand>;
pub type DemandRx = mpsc::Receiver<TraceDemand>;

/// Demands queue this deep; an operator opening waterfalls faster than they load loses the
/// oldest asks, never blocks the app.
pub const DEMAND_QUEUE: usize = 8;

pub fn demand_channel() -> (DemandTx, DemandRx) {
    mpsc::channel(DEMAND_QUEUE)
}

/// What a live start wires beyond the update channel.
#[derive(Default)]
pub struct Wiring {
    /// The OTLP receiver accepts spans only while this is true (a standby collector turns them
    /// away to the leader).
    pub otlp_gate: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Where the app's `TraceDemand`s reach the Langfuse source.
    pub demands: Option<DemandRx>,
}

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

/// Start every source the config enables; each sends on `tx` until it closes.
pub fn start_live(cfg: &crate::config::Config, tx: &UpdateTx) -> Vec<JoinHandle<()>> {
    start_live_with(cfg, tx, Wiring::default())
}

/// `start_live`, with the OTLP gate and the demand channel of `wiring`.
pub fn start_live_with(
    cfg: &crate::config::Config,
    tx: &UpdateTx,
    wiring: Wiring,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    if let Some(s) = cloudwatch::CloudWatchSource::from_config(cfg) {
        out.push(Box::new(s).spawn(tx.clone()));
    }
    if let Some(s) = cost_explorer::CostExplorerSource::from_config(cfg) {
        out.push(Box::new(s).spawn(tx.clone()));
    }
    if let Some(s) = kubernetes::from_config(cfg) {
        out.push(Box::new(s).spawn(tx.clone()));
    }
    if let Some(mut s) = langfuse::LangfuseSource::from_config(cfg) {
        if let Some(d) = wiring.demands {
            s = s.with_demands(d);
        }
        out.push(Box::new(s).spawn(tx.clone()));
    }
    if let Some(s) = prometheus::PrometheusSource::from_config(cfg) {
        out.push(Box::new(s).spawn(tx.clone()));
    }
    if let Some(mut s) = otlp::OtlpSource::from_config(cfg) {
        if let Some(g) = wiring.otlp_gate {
            s = s.with_gate(g);
        }
        out.push(Box::new(s).spawn(tx.clone()));
    }
    out
}

/// The sources the config enables, in display order.
pub fn enabled(cfg: &crate::config::Config) -> Vec<crate::model::update::SourceName> {
    use crate::model::update::SourceName;
    let mut out = Vec::new();
    if cfg.aws.is_some() {
        out.push(SourceName::Cloudwatch);
        out.push(SourceName::CostExplorer);
    }
    if cfg.kubernetes.is_some() {
        out.push(SourceName::Kubernetes);
    }
    if cfg.langfuse.is_some() {
        out.push(SourceName::Langfuse);
    }
    if cfg.prometheus.is_some() {
        out.push(SourceName::Prometheus);
    }
    if cfg.otlp.is_some() {
        out.push(SourceName::Otlp);
    }
    out
}
