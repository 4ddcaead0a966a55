//! Snapshot rendering for exports: the exact screen, off-terminal.
use crate::model::snapshot::Snapshot;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Draw the view `ui` selects into a `width`×`height` buffer.
pub fn render(snap: &Snapshot, ui: &UiState, theme: &Theme, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    crate::ui::render(&mut buf, area, snap, ui, theme);
    buf
}
