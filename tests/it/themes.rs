//! Every shipped theme parses and draws every view; their styles are pinned by snapshots.
use hybridtop::commands::snapshot::demo_snapshot;
use hybridtop::model::state::DeriveOptions;
use hybridtop::sources::simulator::Scenario;
use hybridtop::ui::state::{UiState, View};
use hybridtop::ui::theme::Theme;

#[test]
fn every_theme_renders_every_view() {
    let snap = demo_snapshot(7, Scenario::EksNodeLoss, 480, &DeriveOptions::default());
    assert!(Theme::builtin_names().len() >= 6);
    for name in Theme::builtin_names() {
        let theme = Theme::builtin(name).unwrap_or_else(|| panic!("{name} does not parse"));
        for view in View::ALL {
            let ui = UiState {
                view,
                ..UiState::default()
            };
            let buf = hybridtop::export::render(&snap, &ui, &theme, 80, 24);
            let text = hybridtop::ui::buffer_to_styled_text(&buf);
            assert!(text.contains("DEMO"), "{name}/{view:?}");
            insta::assert_snapshot!(
                format!("{name}_{}_80x24", view.title().to_lowercase()),
                text
            );
        }
    }
}
