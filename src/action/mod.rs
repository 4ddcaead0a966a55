//! What a key means. One table, [`Action::ALL`], gives every action of every mode its config
//! name, its default keys, its help text and its footer hint; the keymap (defaults + `[keys]` in
//! the config), the Help view and the footers are all built from it. The app loop acts on
//! `Action`s only, so the TUI flow is testable without a terminal.
//!
//! A key is looked up in the mode the app is in ([`KeyMode`]): the weights editor, its review
//! dialog, the reason and filter prompts, the replay controls and the popup each have their own
//! actions, so one key can mean different things in different modes, but never two things in
//! one mode. Keys bound to `quit` that are not plain characters (`ctrl-c`) quit from every mode.
mod key;
mod keymap;

pub use key::Key;
pub use keymap::{Keymap, KeymapError};

/// Where the app takes keys from. Text prompts take printable characters as text before the
/// keymap is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyMode {
    /// The views.
    Normal,
    /// The weights editor (`w`, `u`).
    Editor,
    /// The editor's review dialog, including the second `y` a large move needs.
    Review,
    /// Typing the reason for a change.
    Reason,
    /// Typing a Traces or Fleet filter (`/`).
    Filter,
    /// `hybridtop replay`: these come before the normal keys.
    Replay,
    /// A popup over a view (the trace URL): any other key closes it and then acts.
    Popup,
}

impl KeyMode {
    /// Help order.
    pub const ALL: [KeyMode; 7] = [
        KeyMode::Normal,
        KeyMode::Replay,
        KeyMode::Editor,
        KeyMode::Review,
        KeyMode::Reason,
        KeyMode::Filter,
        KeyMode::Popup,
    ];

    /// The Help view's heading for the mode's keys.
    pub fn title(self) -> &'static str {
        match self {
            KeyMode::Normal => "Keys",
            KeyMode::Editor => "Weights editor (w)",
            KeyMode::Review => "Weights review",
            KeyMode::Reason => "Reason prompt",
            KeyMode::Filter => "Filter prompt (/)",
            KeyMode::Replay => "Replay",
            KeyMode::Popup => "Popup",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Suspend,
    Help,
    NextView,
    PrevView,
    ViewOverview,
    ViewTraces,
    ViewFleet,
    ViewCost,
    ViewHelp,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Filter,
    Theme,
    Pause,
    Weights,
    Undo,
    Sort,
    TraceUrl,
    // The weights editor.
    EditorDown,
    EditorUp,
    EditorMore,
    EditorLess,
    EditorReview,
    EditorCancel,
    // Its review dialog.
    ReviewApply,
    ReviewReason,
    ReviewBack,
    // The reason prompt.
    ReasonDone,
    ReasonDelete,
    // The filter prompt.
    FilterAccept,
    FilterClear,
    FilterDelete,
    // Replay.
    ReplayPause,
    ReplayBack,
    ReplayForward,
    ReplayBackFar,
    ReplayForwardFar,
    ReplayFaster,
    ReplaySlower,
    ReplayStart,
    ReplayEnd,
    // Popups.
    PopupClose,
}

/// One row of the action table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub action: Action,
    pub mode: KeyMode,
    /// The name in `[keys]`.
    pub name: &'static str,
    pub keys: &'static [&'static str],
    /// The Help view's text (`->` is drawn as an arrow where the glyphs allow).
    pub help: &'static str,
    /// The footer's short text, where a footer shows the action.
    pub hint: &'static str,
}

const fn b(
    action: Action,
    mode: KeyMode,
    name: &'static str,
    keys: &'static [&'static str],
    help: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        action,
        mode,
        name,
        keys,
        help,
        hint,
    }
}

use Action as A;
use KeyMode as M;

impl Action {
    /// Every action with its mode, config name, default keys, help text and footer hint, in help
    /// order.
    pub const ALL: [Binding; 49] = [
        b(A::Quit, M::Normal, "quit", &["q", "ctrl-c"], "quit", "quit"),
        b(
            A::Suspend,
            M::Normal,
            "suspend",
            &["ctrl-z"],
            "suspend to the shell (fg resumes)",
            "",
        ),
        b(A::Help, M::Normal, "help", &["?"], "help", "help"),
        b(
            A::NextView,
            M::Normal,
            "next_view",
            &["tab"],
            "next view",
            "next view",
        ),
        b(
            A::PrevView,
            M::Normal,
            "prev_view",
            &["shift-tab"],
            "previous view",
            "prev view",
        ),
        b(
            A::ViewOverview,
            M::Normal,
            "view_overview",
            &["1"],
            "Overview",
            "overview",
        ),
        b(
            A::ViewTraces,
            M::Normal,
            "view_traces",
            &["2"],
            "Traces",
            "traces",
        ),
        b(
            A::ViewFleet,
            M::Normal,
            "view_fleet",
            &["3"],
            "Fleet",
            "fleet",
        ),
        b(A::ViewCost, M::Normal, "view_cost", &["4"], "Cost", "cost"),
        b(A::ViewHelp, M::Normal, "view_help", &["5"], "Help", "help"),
        b(A::Up, M::Normal, "up", &["k", "up"], "move up", "up"),
        b(
            A::Down,
            M::Normal,
            "down",
            &["j", "down"],
            "move down",
            "down",
        ),
        b(
            A::PageUp,
            M::Normal,
            "page_up",
            &["pageup", "ctrl-u"],
            "page up",
            "page up",
        ),
        b(
            A::PageDown,
            M::Normal,
            "page_down",
            &["pagedown", "ctrl-d"],
            "page down",
            "page down",
        ),
        b(A::Top, M::Normal, "top", &["g", "home"], "first row", "top"),
        b(
            A::Bottom,
            M::Normal,
            "bottom",
            &["G", "end"],
            "last row",
            "bottom",
        ),
        b(A::Open, M::Normal, "open", &["enter"], "open", "open"),
        b(A::Back, M::Normal, "back", &["esc"], "back", "back"),
        b(A::Filter, M::Normal, "filter", &["/"], "filter", "filter"),
        b(A::Theme, M::Normal, "theme", &["t"], "next theme", "theme"),
        b(
            A::Pause,
            M::Normal,
            "pause",
            &["p"],
            "pause / freeze the display",
            "pause",
        ),
        b(
            A::Weights,
            M::Normal,
            "weights",
            &["w"],
            "router weights editor",
            "weights",
        ),
        b(
            A::Undo,
            M::Normal,
            "undo",
            &["u"],
            "undo last weight change",
            "undo",
        ),
        b(A::Sort, M::Normal, "sort", &["s"], "sort pods", "sort"),
        b(
            A::TraceUrl,
            M::Normal,
            "trace_url",
            &["o"],
            "Langfuse trace URL",
            "link",
        ),
        b(
            A::ReplayPause,
            M::Replay,
            "replay_pause",
            &["space"],
            "play / pause",
            "pause",
        ),
        b(
            A::ReplayBack,
            M::Replay,
            "replay_back",
            &["left"],
            "back 1 min",
            "-1m",
        ),
        b(
            A::ReplayForward,
            M::Replay,
            "replay_forward",
            &["right"],
            "forward 1 min",
            "+1m",
        ),
        b(
            A::ReplayBackFar,
            M::Replay,
            "replay_back_far",
            &["shift-left"],
            "back 10 min",
            "-10m",
        ),
        b(
            A::ReplayForwardFar,
            M::Replay,
            "replay_forward_far",
            &["shift-right"],
            "forward 10 min",
            "+10m",
        ),
        b(
            A::ReplayFaster,
            M::Replay,
            "replay_faster",
            &["+", "="],
            "double speed",
            "faster",
        ),
        b(
            A::ReplaySlower,
            M::Replay,
            "replay_slower",
            &["-"],
            "halve speed",
            "slower",
        ),
        b(
            A::ReplayStart,
            M::Replay,
            "replay_start",
            &["g"],
            "start",
            "start",
        ),
        b(A::ReplayEnd, M::Replay, "replay_end", &["G"], "end", "end"),
        b(
            A::EditorDown,
            M::Editor,
            "editor_down",
            &["j", "down"],
            "next path",
            "select",
        ),
        b(
            A::EditorUp,
            M::Editor,
            "editor_up",
            &["k", "up"],
            "previous path",
            "select",
        ),
        b(
            A::EditorMore,
            M::Editor,
            "editor_more",
            &["+", "=", "l", "right"],
            "add step to path",
            "points",
        ),
        b(
            A::EditorLess,
            M::Editor,
            "editor_less",
            &["-", "h", "left"],
            "remove step from path",
            "points",
        ),
        b(
            A::EditorReview,
            M::Editor,
            "editor_review",
            &["enter"],
            "review from -> to",
            "review",
        ),
        b(
            A::EditorCancel,
            M::Editor,
            "editor_cancel",
            &["esc", "n"],
            "cancel",
            "cancel",
        ),
        b(
            A::ReviewApply,
            M::Review,
            "review_apply",
            &["y"],
            "apply (twice to force)",
            "apply",
        ),
        b(
            A::ReviewReason,
            M::Review,
            "review_reason",
            &["r"],
            "type a reason",
            "reason",
        ),
        b(
            A::ReviewBack,
            M::Review,
            "review_back",
            &["n", "esc"],
            "back to the editor",
            "back",
        ),
        b(
            A::ReasonDone,
            M::Reason,
            "reason_done",
            &["enter", "esc"],
            "reason done",
            "done",
        ),
        b(
            A::ReasonDelete,
            M::Reason,
            "reason_delete",
            &["backspace"],
            "delete a character",
            "delete",
        ),
        b(
            A::FilterAccept,
            M::Filter,
            "filter_accept",
            &["enter"],
            "keep the filter",
            "apply",
        ),
        b(
            A::FilterClear,
            M::Filter,
            "filter_clear",
            &["esc"],
            "clear the filter",
            "clear",
        ),
        b(
            A::FilterDelete,
            M::Filter,
            "filter_delete",
            &["backspace"],
            "delete a character",
            "delete",
        ),
        b(
            A::PopupClose,
            M::Popup,
            "popup_close",
            &["esc"],
            "close (any other key closes too)",
            "close",
        ),
    ];

    fn binding(self) -> Option<&'static Binding> {
        Action::ALL.iter().find(|b| b.action == self)
    }

    pub fn name(self) -> &'static str {
        self.binding().map_or("?", |b| b.name)
    }

    pub fn description(self) -> &'static str {
        self.binding().map_or("", |b| b.help)
    }

    /// The footer's short text.
    pub fn hint(self) -> &'static str {
        self.binding().map_or("", |b| b.hint)
    }

    pub fn mode(self) -> KeyMode {
        self.binding().map_or(KeyMode::Normal, |b| b.mode)
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::collections::BTreeMap;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn defaults_are_conflict_free() {
        let km = Keymap::new(&BTreeMap::new()).unwrap();
        assert_eq!(
            km.action(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevView)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('3'), KeyModifiers::NONE)),
            Some(Action::ViewFleet)
        );
    }

    #[test]
    fn overrides_and_errors() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["x".to_string()]);
        let km = Keymap::new(&o).unwrap();
        assert_eq!(
            km.action(&ev(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(km.action(&ev(KeyCode::Char('q'), KeyModifiers::NONE)), None);

        let mut o = BTreeMap::new();
        o.insert("quitt".to_string(), vec!["x".to_string()]);
        assert!(matches!(Keymap::new(&o), Err(KeymapError::UnknownAction(a, _)) if a == "quitt"));

        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["w".to_string()]);
        let e = Keymap::new(&o).unwrap_err().to_string();
        assert!(
            e.contains("'w'") && e.contains("quit") && e.contains("weights"),
            "{e}"
        );

        let mut o = BTreeMap::new();
        o.insert(
            "quit".to_string(),
            vec!["ctrl-".to_string(), "nope-key".to_string()],
        );
        assert!(matches!(Keymap::new(&o), Err(KeymapError::BadKey { .. })));
    }

    #[test]
    fn every_name_is_unique_and_every_default_parses() {
        let mut names = std::collections::BTreeSet::new();
        for row in Action::ALL {
            assert!(names.insert(row.name), "{} twice", row.name);
            assert!(!row.keys.is_empty(), "{} has no default key", row.name);
            for k in row.keys {
                assert!(Key::parse(k).is_ok(), "{}: '{k}'", row.name);
            }
            assert_eq!(row.action.mode(), row.mode);
        }
    }

    #[test]
    fn modes_have_their_own_keys() {
        let km = Keymap::default();
        let plain = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
        // `g` is "first row" in the views and "start" in replay; `j` moves a path in the editor.
        assert_eq!(
            km.action_in(KeyMode::Normal, &plain('g')),
            Some(Action::Top)
        );
        assert_eq!(
            km.action_in(KeyMode::Replay, &plain('g')),
            Some(Action::ReplayStart)
        );
        assert_eq!(
            km.action_in(KeyMode::Editor, &plain('j')),
            Some(Action::EditorDown)
        );
        assert_eq!(
            km.action_in(KeyMode::Review, &plain('y')),
            Some(Action::ReviewApply)
        );
        assert_eq!(
            km.action_in(KeyMode::Review, &plain('r')),
            Some(Action::ReviewReason)
        );
        assert_eq!(km.action_in(KeyMode::Editor, &plain('y')), None);
        // Shift on a non-character key is its own key, and falls back to the plain one.
        let shift = |c| ev(c, KeyModifiers::SHIFT);
        assert_eq!(
            km.action_in(KeyMode::Replay, &shift(KeyCode::Left)),
            Some(Action::ReplayBackFar)
        );
        assert_eq!(
            km.action_in(KeyMode::Replay, &ev(KeyCode::Left, KeyModifiers::NONE)),
            Some(Action::ReplayBack)
        );
        assert_eq!(
            km.action_in(KeyMode::Normal, &shift(KeyCode::Up)),
            Some(Action::Up)
        );
        // ctrl-c quits from every mode; a plain `q` is text in a prompt.
        assert!(km.quits_anywhere(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(!km.quits_anywhere(&plain('q')));
        assert_eq!(km.label(Action::ReplayBackFar), "shift-left");
    }

    #[test]
    fn mode_keys_are_remappable_and_conflicts_are_per_mode() {
        let mut o = BTreeMap::new();
        o.insert("editor_more".to_string(), vec!["f2".to_string()]);
        o.insert("review_apply".to_string(), vec!["ctrl-y".to_string()]);
        let km = Keymap::new(&o).unwrap();
        assert_eq!(
            km.action_in(KeyMode::Editor, &ev(KeyCode::F(2), KeyModifiers::NONE)),
            Some(Action::EditorMore)
        );
        assert_eq!(
            km.action_in(KeyMode::Editor, &ev(KeyCode::Char('+'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.action_in(
                KeyMode::Review,
                &ev(KeyCode::Char('y'), KeyModifiers::CONTROL)
            ),
            Some(Action::ReviewApply)
        );
        // The same key in two modes is fine; twice in one mode is an error naming both.
        let mut o = BTreeMap::new();
        o.insert("editor_review".to_string(), vec!["j".to_string()]);
        let e = Keymap::new(&o).unwrap_err().to_string();
        assert!(
            e.contains("editor_down") && e.contains("editor_review"),
            "{e}"
        );
    }
}
