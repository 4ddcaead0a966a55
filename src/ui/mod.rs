//! Pure views: `(Snapshot, UiState, Theme) -> widgets`.
pub mod state;
pub mod theme;

use crate::model::snapshot::Snapshot;
use ratatui::Frame;
use state::UiState;
use theme::Theme;

/// Draw the whole screen for the current view.
pub fn draw(_frame: &mut Frame, _snap: &Snapshot, _ui: &UiState, _theme: &Theme) {
    todo!("ui: draw")
}

use crate::model::snapshot::{PodView, SessionRow};

pub fn traces_rows<'a>(snap: &'a Snapshot, _ui: &UiState) -> Vec<&'a SessionRow> {
    snap.sessions.all.iter().collect()
}

pub fn fleet_pod_rows<'a>(snap: &'a Snapshot, _ui: &UiState) -> Vec<&'a PodView> {
    snap.fleet.pods.iter().collect()
}

pub fn buffer_text(_b: &ratatui::buffer::Buffer) -> String {
    String::new()
}
