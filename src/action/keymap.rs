//! The effective keymap: the action table's defaults overridden per action by `[keys]`, checked
//! for unknown actions, bad keys and a key bound twice in one mode.
use super::{Action, Key, KeyMode};
use crossterm::event::KeyEvent;
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

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
