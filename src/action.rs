//! What a key means. One table, [`Action::ALL`], gives every action of every mode its config
//! name, its default keys, its help text and its footer hint; the keymap (defaults + `[keys]` in
//! the config), the Help view and the footers are all built from it. The app loop acts on
//! `Action`s only, so the TUI flow is testable without a terminal.
//!
//! A key is looked up in the mode the app is in ([`KeyMode`]): the weights editor, its review
//! dialog, the reason and filter prompts, the replay controls and the popup each have their own
//! actions, so one key can mean different things in different modes, but never two things in
//! one mode. Keys bound to `quit` that are not plain characters (`ctrl-c`) quit from every mode.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use thiserror::Error;

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
    pub const ALL: [Binding; 48] = [
        b(A::Quit, M::Normal, "quit", &["q", "ctrl-c"], "quit", "quit"),
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

/// A key as written in config: `q`, `ctrl-c`, `shift-tab`, `shift-left`, `enter`, `f1`, `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
    /// Shift on a key that is not a character (`shift-left`); a shifted character is its own
    /// character (`G`), and `shift-tab` is `BackTab`.
    pub shift: bool,
}

impl Key {
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "tab" if shift => KeyCode::BackTab,
            "backtab" => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().map_err(|_| format!("'{s}' is not a key"))?;
                if !(1..=12).contains(&n) {
                    return Err(format!("'{s}' is not a key (f1..f12)"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if shift { c.to_ascii_uppercase() } else { c };
                        let c = if ctrl { c.to_ascii_lowercase() } else { c };
                        KeyCode::Char(c)
                    }
                    _ => {
                        return Err(format!(
                            "'{s}' is not a key (try q, ctrl-c, shift-tab, enter, f1)"
                        ))
                    }
                }
            }
        };
        Ok(Key {
            code,
            ctrl,
            alt,
            shift: shift && Key::shift_counts(code),
        })
    }

    /// Shift is part of a character (`G`) and of `BackTab`; on every other key it is a modifier.
    fn shift_counts(code: KeyCode) -> bool {
        !matches!(code, KeyCode::Char(_) | KeyCode::BackTab)
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        let shift = ev.modifiers.contains(KeyModifiers::SHIFT) && Key::shift_counts(code);
        Key {
            code,
            ctrl,
            alt,
            shift,
        }
    }

    /// A plain character: text in a prompt, never a command there.
    pub fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(c) if !c.is_control()) && !self.ctrl && !self.alt
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::F(n) => write!(f, "f{n}"),
            _ => f.write_str("?"),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("[keys]: unknown action '{0}' (known: {1})")]
    UnknownAction(String, String),
    #[error("[keys].{action}: {message}")]
    BadKey { action: String, message: String },
    #[error("[keys]: key '{key}' is bound to both '{first}' and '{second}'")]
    Conflict {
        key: String,
        first: String,
        second: String,
    },
}

/// Effective bindings: defaults overridden per action by `[keys]`.
#[derive(Clone, Debug)]
pub struct Keymap {
    by_key: HashMap<(KeyMode, Key), Action>,
    /// For the help view: action → keys, in `Action::ALL` order.
    pub bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        // The defaults are fixed and conflict-free (tested), so an empty override cannot fail.
        Keymap::new(&BTreeMap::new()).unwrap_or(Keymap {
            by_key: HashMap::new(),
            bindings: Vec::new(),
        })
    }
}

impl Keymap {
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        for name in overrides.keys() {
            if Action::from_name(name).is_none() {
                let known: Vec<&str> = Action::ALL.iter().map(|b| b.name).collect();
                return Err(KeymapError::UnknownAction(name.clone(), known.join(", ")));
            }
        }
        let mut by_key = HashMap::new();
        let mut bindings = Vec::new();
        for row in Action::ALL {
            let keys: Vec<Key> = match overrides.get(row.name) {
                Some(list) => list
                    .iter()
                    .map(|k| {
                        Key::parse(k).map_err(|message| KeymapError::BadKey {
                            action: row.name.to_string(),
                            message,
                        })
                    })
                    .collect::<Result<_, _>>()?,
                None => row.keys.iter().filter_map(|k| Key::parse(k).ok()).collect(),
            };
            for k in &keys {
                if let Some(prev) = by_key.insert((row.mode, *k), row.action) {
                    if prev != row.action {
                        return Err(KeymapError::Conflict {
                            key: k.to_string(),
                            first: prev.name().to_string(),
                            second: row.name.to_string(),
                        });
                    }
                }
            }
            bindings.push((row.action, keys));
        }
        Ok(Keymap { by_key, bindings })
    }

    /// The normal-mode action of a key.
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        self.action_in(KeyMode::Normal, ev)
    }

    /// The action of a key in `mode`. A shifted key with no binding of its own means what the
    /// unshifted key means (`shift-up` moves up, unless something is bound to it).
    pub fn action_in(&self, mode: KeyMode, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev);
        self.by_key.get(&(mode, key)).copied().or_else(|| {
            key.shift
                .then(|| {
                    self.by_key
                        .get(&(
                            mode,
                            Key {
                                shift: false,
                                ..key
                            },
                        ))
                        .copied()
                })
                .flatten()
        })
    }

    /// Whether the key quits from any mode: a `quit` key that is not text (`ctrl-c`).
    pub fn quits_anywhere(&self, ev: &KeyEvent) -> bool {
        let key = Key::from_event(ev);
        !key.is_text() && self.keys_for(Action::Quit).contains(&key)
    }

    pub fn keys_for(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// `q` or `ctrl-c`, for footers and messages.
    pub fn label(&self, action: Action) -> String {
        self.keys_for(action)
            .first()
            .map(|k| k.to_string())
            .unwrap_or_else(|| "(unbound)".into())
    }

    /// Every key of the action, space-separated, for the Help view.
    pub fn labels(&self, action: Action) -> String {
        let keys = self.keys_for(action);
        if keys.is_empty() {
            return "(unbound)".into();
        }
        keys.iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
