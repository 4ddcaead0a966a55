//! Keys and the mouse: the mode a key is looked up in (`action::KeyMode`), the prompts, and
//! what each normal-mode action does to the UI state.
use super::*;

impl App {
    /// Which part of the keymap a key is looked up in now.
    pub fn key_mode(&self) -> KeyMode {
        if let Some(w) = &self.ui.weights {
            return if w.editor.reason_editing {
                KeyMode::Reason
            } else if w.editor.stage == Stage::Editing {
                KeyMode::Editor
            } else {
                KeyMode::Review
            };
        }
        if self.ui.filter_editing {
            KeyMode::Filter
        } else if self.ui.traces.url.is_some() {
            KeyMode::Popup
        } else if self.mode == Mode::Replay && self.replay.is_some() {
            KeyMode::Replay
        } else {
            KeyMode::Normal
        }
    }

    /// A key press, looked up in the keymap of the mode the app is in (`action::KeyMode`).
    /// Prompts take printable characters as text.
    pub fn on_key(&mut self, ev: KeyEvent) {
        let mode = self.key_mode();
        let km = &self.ui.keymap;
        if !matches!(mode, KeyMode::Normal | KeyMode::Replay) && km.quits_anywhere(&ev) {
            self.quit = true;
            return;
        }
        let action = km.action_in(mode, &ev);
        match mode {
            KeyMode::Editor | KeyMode::Review | KeyMode::Reason => self.editor_key(action, &ev),
            KeyMode::Filter => self.filter_key(action, &ev),
            KeyMode::Popup if action == Some(Action::PopupClose) => self.ui.traces.url = None,
            KeyMode::Replay if action.is_some() => self.replay_action(action),
            _ => {
                if let Some(a) = self.ui.keymap.action(&ev) {
                    self.on_action(a);
                }
            }
        }
    }

    pub(super) fn filter_key(&mut self, action: Option<Action>, ev: &KeyEvent) {
        let filter = match self.ui.view {
            View::Fleet => &mut self.ui.fleet.filter,
            _ => &mut self.ui.traces.filter,
        };
        match (action, text_char(ev)) {
            (_, Some(c)) if filter.chars().count() < 64 => filter.push(c),
            (_, Some(_)) => {}
            (Some(Action::FilterClear), None) => {
                filter.clear();
                self.ui.filter_editing = false;
            }
            (Some(Action::FilterAccept), None) => self.ui.filter_editing = false,
            (Some(Action::FilterDelete), None) => {
                filter.pop();
            }
            _ => {}
        }
        self.ui.traces.selected = 0;
        self.ui.fleet.selected = 0;
    }

    pub fn on_action(&mut self, a: Action) {
        // The URL popup closes on any other key; `Esc` only closes it.
        if a != Action::TraceUrl && self.ui.traces.url.take().is_some() && a == Action::Back {
            return;
        }
        match a {
            Action::Quit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Help | Action::ViewHelp => {
                if self.ui.view == View::Help {
                    self.ui.view = self.help_return.take().unwrap_or(View::Overview);
                } else {
                    self.help_return = Some(self.ui.view);
                    self.ui.view = View::Help;
                }
            }
            Action::NextView => self.ui.view = self.ui.view.next(),
            Action::PrevView => self.ui.view = self.ui.view.prev(),
            Action::ViewOverview => self.ui.view = View::Overview,
            Action::ViewTraces => self.ui.view = View::Traces,
            Action::ViewFleet => self.ui.view = View::Fleet,
            Action::ViewCost => self.ui.view = View::Cost,
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-10),
            Action::PageDown => self.move_selection(10),
            Action::Top => self.move_selection(i64::MIN / 2),
            Action::Bottom => self.move_selection(i64::MAX / 2),
            Action::Open => self.open(),
            Action::Back => self.back(),
            Action::Filter => {
                if matches!(self.ui.view, View::Traces | View::Fleet) {
                    self.ui.filter_editing = true;
                }
            }
            Action::Theme => self.next_theme(),
            Action::Pause => {
                self.ui.paused = !self.ui.paused;
                if !self.ui.paused {
                    self.derive();
                }
            }
            // Pods only: the ScaledObjects list is short and already in name order.
            Action::Sort
                if self.ui.view == View::Fleet && self.ui.fleet.pane == FleetPane::Pods =>
            {
                self.ui.fleet.sort = self.ui.fleet.sort.next();
                self.ui.fleet.selected = 0;
            }
            Action::TraceUrl => self.trace_url(),
            Action::Weights => self.open_editor(false),
            Action::Undo => self.open_editor(true),
            // The other modes' actions arrive through `on_key` in their mode; outside it they
            // mean nothing.
            _ => {}
        }
    }

    /// Wheel scrolls the selection; a click on a tab opens that view, a click on a Traces or
    /// Fleet row selects it. Returns whether anything changed.
    pub fn on_mouse(
        &mut self,
        m: crossterm::event::MouseEvent,
        area: ratatui::layout::Rect,
    ) -> bool {
        use crossterm::event::{MouseButton, MouseEventKind};
        if self.ui.weights.is_some() {
            return false;
        }
        match m.kind {
            MouseEventKind::ScrollDown => self.on_action(Action::Down),
            MouseEventKind::ScrollUp => self.on_action(Action::Up),
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(v) = crate::ui::tab_at(area, &self.ui.keymap, m.column, m.row) {
                    self.ui.view = v;
                } else if let Some(i) = crate::ui::row_at(area, &self.snapshot, &self.ui, m.row) {
                    match self.ui.view {
                        View::Traces => self.ui.traces.selected = i,
                        View::Fleet => self.ui.fleet.selected = i,
                        _ => return false,
                    }
                } else {
                    return false;
                }
            }
            _ => return false,
        }
        true
    }

    /// `o` in the Traces view: show the Langfuse URL of the selected span's trace (waterfall) or
    /// of the selected session's first linked trace (list), ready to copy; `o` again hides it.
    pub(super) fn trace_url(&mut self) {
        if self.ui.view != View::Traces {
            return;
        }
        if self.ui.traces.url.take().is_some() {
            return;
        }
        let detail = match &self.ui.traces.open {
            Some(_) => self.snapshot.sessions.detail.clone(),
            None => crate::ui::traces_rows(&self.snapshot, &self.ui)
                .nth(self.ui.traces.selected)
                .map(|r| r.session_id.clone())
                .and_then(|id| {
                    self.state
                        .correlator()
                        .detail(&id, self.state.now(), self.redact)
                }),
        };
        let Some(d) = detail else {
            self.toast(ToastLevel::Info, "no session selected");
            return;
        };
        let selected = self
            .ui
            .traces
            .open
            .as_ref()
            .and_then(|_| d.spans.get(self.ui.traces.span_selected));
        let path = selected
            .and_then(|s| s.html_path.clone())
            .or_else(|| d.spans.iter().find_map(|s| s.html_path.clone()));
        match (&self.langfuse_base, path) {
            (None, _) => self.toast(
                ToastLevel::Warn,
                "no Langfuse link: [langfuse] is not configured",
            ),
            (Some(_), None) => self.toast(
                ToastLevel::Warn,
                "no Langfuse link for this trace (the API gave no project id or htmlPath)",
            ),
            (Some(base), Some(p)) => {
                let sep = if p.starts_with('/') { "" } else { "/" };
                let url = format!("{base}{sep}{p}");
                self.ui.traces.url = Some(crate::model::sanitize::clean_owned(&url));
            }
        }
    }

    pub(super) fn list_len(&self) -> usize {
        match self.ui.view {
            View::Traces if self.ui.traces.open.is_some() => self
                .snapshot
                .sessions
                .detail
                .as_ref()
                .map(|d| d.spans.len())
                .unwrap_or(0),
            View::Traces => crate::ui::traces_rows(&self.snapshot, &self.ui).count(),
            View::Fleet => crate::ui::fleet_rows(&self.snapshot, &self.ui),
            _ => 0,
        }
    }

    pub(super) fn move_selection(&mut self, delta: i64) {
        let len = self.list_len() as i64;
        let sel = match self.ui.view {
            View::Traces if self.ui.traces.open.is_some() => &mut self.ui.traces.span_selected,
            View::Traces => &mut self.ui.traces.selected,
            View::Fleet => &mut self.ui.fleet.selected,
            _ => return,
        };
        let next = (*sel as i64)
            .saturating_add(delta)
            .clamp(0, (len - 1).max(0));
        *sel = next as usize;
    }

    pub(super) fn open(&mut self) {
        match self.ui.view {
            View::Traces if self.ui.traces.open.is_none() => {
                let id = crate::ui::traces_rows(&self.snapshot, &self.ui)
                    .nth(self.ui.traces.selected)
                    .map(|r| r.session_id.clone());
                if let Some(id) = id {
                    self.ui.traces.open = Some(id);
                    self.ui.traces.span_selected = 0;
                    self.ask_children();
                    self.derive();
                }
            }
            View::Fleet => {
                self.ui.fleet.pane = match self.ui.fleet.pane {
                    FleetPane::Pods => FleetPane::ScaledObjects,
                    FleetPane::ScaledObjects => FleetPane::Events,
                    FleetPane::Events => FleetPane::Pods,
                };
                self.ui.fleet.selected = 0;
            }
            _ => {}
        }
    }

    pub(super) fn back(&mut self) {
        if self.ui.view == View::Help {
            self.ui.view = self.help_return.take().unwrap_or(View::Overview);
        } else if self.ui.view == View::Traces && self.ui.traces.open.is_some() {
            self.ui.traces.open = None;
            self.derive();
        } else if self.ui.toast.is_some() {
            self.ui.toast = None;
        }
    }

    pub(super) fn next_theme(&mut self) {
        let names = Theme::available(&self.theme_dir);
        if names.is_empty() {
            return;
        }
        let pos = names.iter().position(|n| *n == self.theme.name);
        let next = &names[pos.map(|p| (p + 1) % names.len()).unwrap_or(0)];
        match Theme::load(next, &self.theme_dir)
            .map_err(|e| e.to_string())
            .and_then(|t| self.theme_ctx.apply(t))
        {
            Ok(t) => {
                self.ui.theme_name = t.name.clone();
                self.theme = t;
                self.toast(ToastLevel::Info, format!("theme: {next}"));
            }
            Err(e) => self.toast(ToastLevel::Error, e),
        }
    }
}

/// The character a key types into a prompt, if it is text (not a control or modified key).
pub(super) fn text_char(ev: &KeyEvent) -> Option<char> {
    match ev.code {
        KeyCode::Char(c) if Key::from_event(ev).is_text() => Some(c),
        _ => None,
    }
}
