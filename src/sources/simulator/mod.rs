//! The demo's simulated hybrid fleet: a model, not a random-number painter.
//! (Placeholder signatures; the model lands with the simulator work.)
use crate::config::Config;
use crate::model::update::Update;
use crate::model::weights::Weights;
use chrono::{DateTime, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Steady,
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "steady" => Ok(Scenario::Steady),
            _ => Err(format!("unknown scenario '{s}'")),
        }
    }
}

pub struct SimConfig {
    pub seed: u64,
    pub scenario: Scenario,
    pub start: DateTime<Utc>,
    pub config: Config,
}

pub struct Simulator;

impl Simulator {
    pub fn new(_cfg: SimConfig, _weights: Weights) -> Simulator {
        Simulator
    }
    pub fn step(&mut self) -> Vec<Update> {
        Vec::new()
    }
}

pub struct SimulatorSource;

impl SimulatorSource {
    pub fn new(
        _sim: Simulator,
        _speed: f64,
        _warmup: u64,
        _rx: tokio::sync::watch::Receiver<Weights>,
    ) -> Self {
        SimulatorSource
    }
}

impl crate::sources::Source for SimulatorSource {
    fn name(&self) -> &'static str {
        "simulator"
    }
    fn spawn(self: Box<Self>, _tx: crate::sources::UpdateTx) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async {})
    }
}
