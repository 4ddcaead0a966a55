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
