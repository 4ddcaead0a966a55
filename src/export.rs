//! Snapshot rendering for exports: the exact screen, off-terminal.
use crate::model::snapshot::Snapshot;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;

/// Draw the view `ui` selects into a `width`×`height` buffer.
pub fn render(snap: &Snapshot, ui: &UiState, theme: &Theme, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    match Terminal::new(TestBackend::new(width, height)) {
        Ok(mut t) => {
            if t.draw(|f| crate::ui::draw(f, snap, ui, theme)).is_ok() {
                return t.backend().buffer().clone();
            }
            Buffer::empty(area)
        }
        Err(_) => Buffer::empty(area),
    }
}
