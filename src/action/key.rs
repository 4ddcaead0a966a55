//! A key as written in the config (`q`, `ctrl-c`, `shift-left`, `f1`) and as crossterm reports
//! it, so that the two compare equal.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

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
