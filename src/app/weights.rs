//! The weights editor's flow in the app: opening it (refused read-only), the live preview,
//! its keys, submitting a change to the router task and what comes back.
use super::keys::text_char;
use super::*;

impl App {
    /// `w` opens the editor on the router's current weights; `u` proposes undoing the last
    /// change made from here. Both refuse in read-only mode and say why.
    pub(super) fn open_editor(&mut self, undo: bool) {
        if self.read_only {
            let why = if self.mode == Mode::Replay {
                "replay is read-only: router weights cannot be changed"
            } else {
                "read-only: router weights cannot be changed in this session (--read-only)"
            };
            self.toast(ToastLevel::Warn, why);
            // A live or demo session audits the refusal through the router's one path (a replay
            // has no router: nothing could have been changed).
            if let Some(tx) = self.router_tx.as_ref() {
                let weights = self.snapshot.router.weights.clone();
                let _ = tx.try_send(Change {
                    from: WeightsRead {
                        backend: "",
                        target: self.router_target.clone(),
                        weights: weights.clone(),
                        version: self.snapshot.router.version.clone(),
                        invalid: None,
                    },
                    to: weights,
                    force: false,
                    dry_run: false,
                    reason: Some(if undo { "undo (u)" } else { "editor (w)" }.into()),
                    actor: Actor::current(),
                    mode: self.mode.as_str(),
                    read_only: true,
                });
            }
            return;
        }
        if self.router_tx.is_none() {
            self.toast(
                ToastLevel::Warn,
                "no router is configured ([router] backend = \"configmap\" or \"httproute\")",
            );
            return;
        }
        let router = &self.snapshot.router;
        if router.weights.is_empty() {
            self.toast(ToastLevel::Warn, "the router's weights are not known yet");
            return;
        }
        let paths: Vec<PathId> = self.config.path_ids();
        let current = router.weights.clone();
        let version = router.version.clone();
        let editor = if undo {
            let Some((from, _)) = self.last_change.clone() else {
                self.toast(
                    ToastLevel::Info,
                    "nothing to undo: no weight change was made from here",
                );
                return;
            };
            WeightsEditor::undo(paths, current, version, from)
        } else {
            WeightsEditor::open(paths, current, version)
        };
        self.ui.weights = Some(WeightsUi {
            preview: Default::default(),
            editor,
            backend: self.router_backend.clone(),
            target: self.router_target.clone(),
            step: self.guard.step,
            applying: false,
        });
        self.refresh_preview();
    }

    pub(super) fn refresh_preview(&mut self) {
        if let Some(w) = self.ui.weights.as_mut() {
            w.preview = crate::model::preview::preview(
                &self.snapshot,
                &self.config,
                &w.editor.from,
                &w.editor.proposal,
            );
        }
    }

    pub(super) fn editor_key(&mut self, action: Option<Action>, ev: &KeyEvent) {
        let Some(w) = self.ui.weights.as_mut() else {
            return;
        };
        if w.applying {
            return;
        }
        let ed = &mut w.editor;
        if ed.reason_editing {
            match (action, text_char(ev)) {
                (_, Some(c)) if ed.reason.chars().count() < 200 => ed.reason.push(c),
                (_, Some(_)) => {}
                (Some(Action::ReasonDone), None) => ed.reason_editing = false,
                (Some(Action::ReasonDelete), None) => {
                    ed.reason.pop();
                }
                _ => {}
            }
            return;
        }
        let guard = &self.guard;
        match action {
            Some(Action::EditorCancel | Action::ReviewBack) => {
                if ed.cancel() {
                    self.ui.weights = None;
                }
                return;
            }
            Some(Action::EditorDown) => ed.select(1),
            Some(Action::EditorUp) => ed.select(-1),
            Some(Action::EditorMore) => ed.step(guard, 1),
            Some(Action::EditorLess) => ed.step(guard, -1),
            Some(Action::EditorReview) => {
                let _ = ed.review(guard);
            }
            Some(Action::ReviewReason) => ed.reason_editing = true,
            Some(Action::ReviewApply) => {
                if let Some(force) = ed.confirm(guard) {
                    self.submit(force);
                }
            }
            _ => {}
        }
        self.refresh_preview();
    }

    pub(super) fn submit(&mut self, force: bool) {
        let (Some(tx), Some(w)) = (self.router_tx.as_ref(), self.ui.weights.as_mut()) else {
            return;
        };
        let ed = &w.editor;
        let reason = Some(ed.reason.trim().to_string()).filter(|r| !r.is_empty());
        let change = Change {
            from: WeightsRead {
                backend: "",
                target: self.router_target.clone(),
                weights: ed.from.clone(),
                version: ed.version.clone(),
                invalid: self.snapshot.router.invalid.clone(),
            },
            to: ed.proposal.clone(),
            force,
            dry_run: false,
            reason,
            actor: Actor::current(),
            mode: self.mode.as_str(),
            read_only: false,
        };
        match tx.try_send(change) {
            Ok(()) => w.applying = true,
            Err(_) => {
                w.editor.message = Some("the router is busy; try again".into());
            }
        }
    }

    /// A write finished.
    pub fn on_router_event(&mut self, ev: RouterEvent) {
        match ev {
            RouterEvent::Applied { change, read } => {
                self.ui.weights = None;
                self.last_change = Some((change.from.weights.clone(), change.to.clone()));
                self.toast(
                    ToastLevel::Info,
                    format!("applied: {} (audit logged)", read.weights.to_text()),
                );
            }
            RouterEvent::Failed {
                change: _,
                error,
                current,
            } => {
                if self.ui.weights.is_none() && error.contains("audit log") {
                    // A refusal that could not be recorded: say so, nothing else will.
                    self.toast(ToastLevel::Warn, error.clone());
                }
                if let Some(w) = self.ui.weights.as_mut() {
                    w.applying = false;
                    w.editor.stage = Stage::Review;
                    w.editor.message = Some(error);
                    if let Some(cur) = current {
                        // Rebase on what the router holds now: the review shows the new "from".
                        w.editor.changed_underneath = Some(cur.weights.clone());
                        w.editor.from = cur.weights.clone();
                        w.editor.version = cur.version.clone();
                    }
                }
                self.refresh_preview();
            }
        }
    }
}
