//! The event loop. It alone owns `State` and `UiState`: updates come in over a channel, keys come
//! in as `Action`s, and a frame is drawn only when something changed.
mod replay;

use crate::action::{Action, Keymap};
use crate::config::Config;
use crate::model::path::PathId;
use crate::model::snapshot::{Mode, Snapshot};
use crate::model::state::{DeriveOptions, State};
use crate::model::update::Update;
use crate::model::weights::{Guard, Weights};
use crate::router::editor::{Stage, WeightsEditor};
use crate::router::store::Change;
use crate::router::task::{RouterEvent, RouterLink};
use crate::router::{Actor, WeightsRead};
use crate::sources::UpdateRx;
use crate::terminal::{self, RestoreGuard};
use crate::ui::state::WeightsUi;
use crate::ui::state::{FleetPane, Toast, ToastLevel, UiState, View};
use crate::ui::theme::Theme;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// How long a toast message stays on screen.
const TOAST_TTL: Duration = Duration::from_secs(5);

pub struct AppOptions {
    pub mode: Mode,
    pub config: Config,
    pub read_only: bool,
    pub redact: bool,
    pub theme: Theme,
    pub theme_dir: PathBuf,
    pub keymap: Keymap,
    pub ascii: bool,
    /// Clock/age refresh period (live mode), and the slowest redraw.
    pub refresh: Duration,
    /// The fastest redraw for data updates (keys always draw at once).
    pub min_frame: Duration,
}

pub struct App {
    pub state: State,
    pub ui: UiState,
    pub theme: Theme,
    pub snapshot: Snapshot,
    pub quit: bool,
    mode: Mode,
    redact: bool,
    read_only: bool,
    theme_dir: PathBuf,
    /// State changed since the snapshot was derived.
    stale: bool,
    /// The help view toggled from this view.
    help_return: Option<View>,
    toast_at: Option<Instant>,
    config: Config,
    guard: Guard,
    /// Where weight changes go; None when no router is configured.
    router_tx: Option<mpsc::Sender<Change>>,
    router_backend: String,
    router_target: Option<String>,
    /// The last change applied from this process, for `u`: (from, to).
    last_change: Option<(Weights, Weights)>,
    /// `--record`: every applied update goes here too.
    recorder: Option<crate::record::Recorder>,
    /// Replay mode: the player's control and event channels.
    replay: Option<replay::Link>,
}

impl App {
    pub fn new(opts: &AppOptions) -> App {
        let mut state = State::new(&opts.config, opts.mode);
        if opts.mode == Mode::Live {
            state.apply(Update::Clock {
                now: chrono::Utc::now(),
            });
        }
        let ui = UiState {
            keymap: opts.keymap.clone(),
            ascii: opts.ascii,
            theme_name: opts.theme.name.clone(),
            thresholds: crate::ui::state::Thresholds {
                warn_ms: opts.config.alerts.p95_ms_warn,
                crit_ms: opts.config.alerts.p95_ms_crit,
            },
            ..UiState::default()
        };
        let read_only =
            opts.read_only || opts.config.general.read_only || opts.mode == Mode::Replay;
        let derive = DeriveOptions {
            selected_session: None,
            redact: opts.redact,
            read_only,
        };
        let snapshot = state.snapshot(&derive);
        App {
            state,
            ui,
            theme: opts.theme.clone(),
            snapshot,
            quit: false,
            mode: opts.mode,
            redact: opts.redact,
            read_only,
            theme_dir: opts.theme_dir.clone(),
            stale: false,
            help_return: None,
            toast_at: None,
            config: opts.config.clone(),
            guard: opts.config.guard(),
            router_tx: None,
            router_backend: String::new(),
            router_target: None,
            last_change: None,
            recorder: None,
            replay: None,
        }
    }

    /// Connect the weights editor to a router; returns the event receiver for the loop.
    pub fn attach_router(&mut self, link: RouterLink) -> mpsc::Receiver<RouterEvent> {
        self.router_tx = Some(link.tx);
        self.router_backend = link.backend.to_string();
        self.router_target = link.target;
        link.rx
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn apply(&mut self, u: Update) {
        if let (Update::Weights(r), Some(w)) = (&u, self.ui.weights.as_mut()) {
            if !w.applying {
                w.editor.observe_router(&r.weights, r.version.as_ref());
            }
        }
        let copy = self.recorder.as_ref().map(|_| u.clone());
        self.state.apply(u);
        self.stale = true;
        if let Some(copy) = copy {
            self.record(copy);
        }
    }

    /// Re-derive the snapshot if the data changed (not while paused). Returns whether it did.
    pub fn refresh_snapshot(&mut self) -> bool {
        if !self.stale || self.ui.paused {
            return false;
        }
        self.derive();
        true
    }

    fn derive(&mut self) {
        let opts = DeriveOptions {
            selected_session: self.ui.traces.open.clone(),
            redact: self.redact,
            read_only: self.read_only,
        };
        self.snapshot = self.state.snapshot(&opts);
        self.stale = false;
    }

    pub fn render(&self, f: &mut ratatui::Frame) {
        crate::ui::draw(f, &self.snapshot, &self.ui, &self.theme);
    }

    pub fn toast(&mut self, level: ToastLevel, message: impl Into<String>) {
        self.ui.toast = Some(Toast {
            level,
            message: message.into(),
        });
        self.toast_at = Some(Instant::now());
    }

    /// Expire an old toast; returns whether the screen changed.
    pub fn expire_toast(&mut self) -> bool {
        match self.toast_at {
            Some(at) if at.elapsed() >= TOAST_TTL => {
                self.ui.toast = None;
                self.toast_at = None;
                true
            }
            _ => false,
        }
    }

    /// A key press. Text entry (the `/` filter) takes keys before the keymap does.
    pub fn on_key(&mut self, ev: KeyEvent) {
        if self.ui.weights.is_some() {
            self.editor_key(ev);
            return;
        }
        if self.ui.filter_editing {
            let filter = match self.ui.view {
                View::Fleet => &mut self.ui.fleet.filter,
                _ => &mut self.ui.traces.filter,
            };
            match ev.code {
                KeyCode::Esc => {
                    filter.clear();
                    self.ui.filter_editing = false;
                }
                KeyCode::Enter => self.ui.filter_editing = false,
                KeyCode::Backspace => {
                    filter.pop();
                }
                KeyCode::Char('c') if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.quit = true;
                }
                KeyCode::Char(c) if !c.is_control() && filter.chars().count() < 64 => {
                    filter.push(c);
                }
                _ => {}
            }
            self.ui.traces.selected = 0;
            self.ui.fleet.selected = 0;
            return;
        }
        // Replay keys come before the keymap, in replay mode only.
        if self.replay_key(&ev) {
            return;
        }
        if let Some(a) = self.ui.keymap.action(&ev) {
            self.on_action(a);
        }
    }

    pub fn on_action(&mut self, a: Action) {
        match a {
            Action::Quit => self.quit = true,
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
            Action::Weights => self.open_editor(false),
            Action::Undo => self.open_editor(true),
        }
    }

    /// `w` opens the editor on the router's current weights; `u` proposes undoing the last
    /// change made from here. Both refuse in read-only mode and say why.
    fn open_editor(&mut self, undo: bool) {
        if self.read_only {
            let why = if self.mode == Mode::Replay {
                "replay is read-only: router weights cannot be changed"
            } else {
                "read-only: router weights cannot be changed in this session (--read-only)"
            };
            self.toast(ToastLevel::Warn, why);
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

    fn refresh_preview(&mut self) {
        if let Some(w) = self.ui.weights.as_mut() {
            w.preview = crate::router::preview::preview(
                &self.snapshot,
                &self.config,
                &w.editor.from,
                &w.editor.proposal,
            );
        }
    }

    fn editor_key(&mut self, ev: KeyEvent) {
        let Some(w) = self.ui.weights.as_mut() else {
            return;
        };
        if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if w.applying {
            return;
        }
        let ed = &mut w.editor;
        if ed.reason_editing {
            match ev.code {
                KeyCode::Enter | KeyCode::Esc => ed.reason_editing = false,
                KeyCode::Backspace => {
                    ed.reason.pop();
                }
                KeyCode::Char(c) if !c.is_control() && ed.reason.chars().count() < 200 => {
                    ed.reason.push(c)
                }
                _ => {}
            }
            return;
        }
        let guard = &self.guard;
        match (&ed.stage, ev.code) {
            (_, KeyCode::Esc) | (_, KeyCode::Char('n')) => {
                if ed.cancel() {
                    self.ui.weights = None;
                }
                return;
            }
            (Stage::Editing, KeyCode::Char('j') | KeyCode::Down) => ed.select(1),
            (Stage::Editing, KeyCode::Char('k') | KeyCode::Up) => ed.select(-1),
            (Stage::Editing, KeyCode::Char('+' | '=' | 'l') | KeyCode::Right) => ed.step(guard, 1),
            (Stage::Editing, KeyCode::Char('-' | 'h') | KeyCode::Left) => ed.step(guard, -1),
            (Stage::Editing, KeyCode::Enter) => {
                let _ = ed.review(guard);
            }
            (Stage::Review | Stage::ConfirmForce { .. }, KeyCode::Char('r')) => {
                ed.reason_editing = true
            }
            (Stage::Review | Stage::ConfirmForce { .. }, KeyCode::Char('y')) => {
                if let Some(force) = ed.confirm(guard) {
                    self.submit(force);
                }
            }
            _ => {}
        }
        self.refresh_preview();
    }

    fn submit(&mut self, force: bool) {
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
            },
            to: ed.proposal.clone(),
            force,
            dry_run: false,
            reason,
            actor: Actor::current(),
            mode: if self.mode == Mode::Demo {
                "demo"
            } else {
                "live"
            },
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

    fn list_len(&self) -> usize {
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

    fn move_selection(&mut self, delta: i64) {
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

    fn open(&mut self) {
        match self.ui.view {
            View::Traces if self.ui.traces.open.is_none() => {
                let id = crate::ui::traces_rows(&self.snapshot, &self.ui)
                    .nth(self.ui.traces.selected)
                    .map(|r| r.session_id.clone());
                if let Some(id) = id {
                    self.ui.traces.open = Some(id);
                    self.ui.traces.span_selected = 0;
                    self.derive();
                }
            }
            View::Fleet => {
                self.ui.fleet.pane = match self.ui.fleet.pane {
                    FleetPane::Pods => FleetPane::ScaledObjects,
                    FleetPane::ScaledObjects => FleetPane::Pods,
                };
                self.ui.fleet.selected = 0;
            }
            _ => {}
        }
    }

    fn back(&mut self) {
        if self.ui.view == View::Help {
            self.ui.view = self.help_return.take().unwrap_or(View::Overview);
        } else if self.ui.view == View::Traces && self.ui.traces.open.is_some() {
            self.ui.traces.open = None;
            self.derive();
        } else if self.ui.toast.is_some() {
            self.ui.toast = None;
        }
    }

    fn next_theme(&mut self) {
        let names = Theme::available(&self.theme_dir);
        if names.is_empty() {
            return;
        }
        let pos = names.iter().position(|n| *n == self.theme.name);
        let next = &names[pos.map(|p| (p + 1) % names.len()).unwrap_or(0)];
        match Theme::load(next, &self.theme_dir) {
            Ok(t) => {
                self.ui.theme_name = t.name.clone();
                self.theme = t;
                self.toast(ToastLevel::Info, format!("theme: {next}"));
            }
            Err(e) => self.toast(ToastLevel::Error, e.to_string()),
        }
    }
}

/// Run the TUI until quit, a signal, or the input closes.
pub async fn run_tui(
    mut app: App,
    mut rx: UpdateRx,
    mut router_rx: Option<mpsc::Receiver<RouterEvent>>,
    opts: &AppOptions,
) -> std::io::Result<()> {
    let mut term = terminal::enter()?;
    let _guard = RestoreGuard;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(opts.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let live = app.mode() == Mode::Live;
    let mut replay_rx = app.take_replay_events();
    let mut updates_open = true;
    let mut dirty = true;
    let mut urgent = true;
    let mut last_draw = Instant::now();
    loop {
        if dirty && (urgent || last_draw.elapsed() >= opts.min_frame) {
            app.refresh_snapshot();
            terminal::draw_frame(&mut term, |f| app.render(f))?;
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        let frame_due = tokio::time::Instant::from_std(last_draw + opts.min_frame);
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    app.on_key(k);
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(Event::Resize(_, _))) => {
                    let _ = term.autoresize();
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(_)) => {}
                // Input gone (terminal closed): nothing more can be asked of us.
                Some(Err(_)) | None => break,
            },
            u = rx.recv(), if updates_open => match u {
                Some(u) => {
                    app.apply(u);
                    // Coalesce a burst into one frame.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(u) => app.apply(u),
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                None => updates_open = false,
            },
            ev = async { router_rx.as_mut()?.recv().await }, if router_rx.is_some() => match ev {
                Some(ev) => {
                    app.on_router_event(ev);
                    dirty = true;
                    urgent = true;
                }
                None => router_rx = None,
            },
            ev = async { replay_rx.as_mut()?.recv().await }, if replay_rx.is_some() => match ev {
                Some(ev) => {
                    app.on_replay_event(ev);
                    dirty = true;
                }
                None => replay_rx = None,
            },
            _ = tick.tick() => {
                if live {
                    app.apply(Update::Clock { now: chrono::Utc::now() });
                    dirty = true;
                }
                if app.expire_toast() {
                    dirty = true;
                }
            },
            _ = tokio::time::sleep_until(frame_due), if dirty => {},
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            _ = sigint.recv() => break,
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}
