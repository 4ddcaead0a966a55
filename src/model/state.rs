//! `State`: everything the app loop knows, owned by the app loop alone. Fed `Update`s, it derives
//! the `Snapshot` views read.
use crate::config::Config;
use crate::model::snapshot::{Mode, Snapshot};
use crate::model::update::Update;

/// What a derive needs beyond the data: the UI's open session, redaction and read-only flags.
#[derive(Clone, Debug, Default)]
pub struct DeriveOptions {
    pub selected_session: Option<String>,
    pub redact: bool,
    pub read_only: bool,
}

pub struct State {
    // Filled in by the model work: windows, sketches, series, fleet, correlation, cost, health.
}

impl State {
    pub fn new(_config: &Config, _mode: Mode) -> State {
        todo!("model: State::new")
    }

    /// Ingest one update. Never panics on odd data: unknown paths and out-of-order times are
    /// tolerated.
    pub fn apply(&mut self, _update: Update) {
        todo!("model: State::apply")
    }

    pub fn snapshot(&self, _opts: &DeriveOptions) -> Snapshot {
        todo!("model: State::snapshot")
    }
}
