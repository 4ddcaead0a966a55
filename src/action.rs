//! What a key means. Keys map to `Action`s through a keymap (defaults + `[keys]` in the config);
//! the app loop acts on `Action`s only, so the TUI flow is testable without a terminal.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use thiserror::Error;

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
}

impl Action {
    /// Every action with its config name, default keys and help text, in help order.
    pub const ALL: [(Action, &'static str, &'static [&'static str], &'static str); 24] = [
        (Action::Quit, "quit", &["q", "ctrl-c"], "quit"),
        (Action::Help, "help", &["?"], "help"),
        (Action::NextView, "next_view", &["tab"], "next view"),
        (
            Action::PrevView,
            "prev_view",
            &["shift-tab"],
            "previous view",
        ),
        (Action::ViewOverview, "view_overview", &["1"], "Overview"),
        (Action::ViewTraces, "view_traces", &["2"], "Traces"),
        (Action::ViewFleet, "view_fleet", &["3"], "Fleet"),
        (Action::ViewCost, "view_cost", &["4"], "Cost"),
        (Action::ViewHelp, "view_help", &["5"], "Help"),
        (Action::Up, "up", &["k", "up"], "move up"),
        (Action::Down, "down", &["j", "down"], "move down"),
        (Action::PageUp, "page_up", &["pageup", "ctrl-u"], "page up"),
        (
            Action::PageDown,
            "page_down",
            &["pagedown", "ctrl-d"],
            "page down",
        ),
        (Action::Top, "top", &["g", "home"], "first row"),
        (Action::Bottom, "bottom", &["G", "end"], "last row"),
        (Action::Open, "open", &["enter"], "open"),
        (Action::Back, "back", &["esc"], "back"),
        (Action::Filter, "filter", &["/"], "filter"),
        (Action::Theme, "theme", &["t"], "next theme"),
        (Action::Pause, "pause", &["p"], "pause / freeze the display"),
        (Action::Weights, "weights", &["w"], "router weights editor"),
        (Action::Undo, "undo", &["u"], "undo last weight change"),
        (Action::Sort, "sort", &["s"], "sort pods"),
        (Action::TraceUrl, "trace_url", &["o"], "Langfuse trace URL"),
    ];

    pub fn name(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(a, ..)| *a == self)
            .map(|(_, n, ..)| *n)
            .unwrap_or("?")
    }

    pub fn description(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(a, ..)| *a == self)
            .map(|(.., d)| *d)
            .unwrap_or("")
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .find(|(_, n, ..)| *n == name)
            .map(|(a, ..)| *a)
    }
}

/// A key as written in config: `q`, `ctrl-c`, `shift-tab`, `enter`, `f1`, `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
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
        Ok(Key { code, ctrl, alt })
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        Key { code, ctrl, alt }
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
    by_key: HashMap<Key, Action>,
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
                let known: Vec<&str> = Action::ALL.iter().map(|(_, n, ..)| *n).collect();
                return Err(KeymapError::UnknownAction(name.clone(), known.join(", ")));
            }
        }
        let mut by_key = HashMap::new();
        let mut bindings = Vec::new();
        for (action, name, defaults, _) in Action::ALL {
            let keys: Vec<Key> = match overrides.get(name) {
                Some(list) => list
                    .iter()
                    .map(|k| {
                        Key::parse(k).map_err(|message| KeymapError::BadKey {
                            action: name.to_string(),
                            message,
                        })
                    })
                    .collect::<Result<_, _>>()?,
                None => defaults.iter().filter_map(|k| Key::parse(k).ok()).collect(),
            };
            for k in &keys {
                if let Some(prev) = by_key.insert(*k, action) {
                    if prev != action {
                        return Err(KeymapError::Conflict {
                            key: k.to_string(),
                            first: prev.name().to_string(),
                            second: name.to_string(),
                        });
                    }
                }
            }
            bindings.push((action, keys));
        }
        Ok(Keymap { by_key, bindings })
    }

    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::from_event(ev)).copied()
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
}
