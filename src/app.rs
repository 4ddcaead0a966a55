//! The event loop. It alone owns `State` and `UiState`: updates come in over a channel, keys come
//! in as `Action`s, and a frame is drawn only when something changed.
mod replay;

use crate::action::Key;
use crate::action::{Action, KeyMode, Keymap};
use crate::config::Config;
use crate::domain::path::PathId;
use crate::domain::weights::{Guard, Weights};
use crate::model::editor::{Stage, WeightsEditor};
use crate::model::snapshot::{Mode, Snapshot};
use crate::model::state::{DeriveOptions, State};
use crate::model::update::Update;
use crate::router::store::Change;
use crate::router::task::{RouterEvent, RouterLink};
use crate::router::{Actor, WeightsRead};
use crate::sources::UpdateRx;
use crate::terminal::{self, RestoreGuard};
use crate::ui::state::WeightsUi;
use crate::ui::state::{FleetPane, Toast, ToastLevel, UiState, View};
use crate::ui::theme::Theme;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind};
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
    /// Colour depth and environment accent, applied to every theme cycled to.
    pub theme_ctx: crate::ui::colors::ThemeContext,
    pub theme_dir: PathBuf,
    pub keymap: Keymap,
    pub ascii: bool,
    /// Clock/age refresh period (live mode), and the slowest redraw.
    pub refresh: Duration,
    /// The fastest redraw for data updates (keys always draw at once).
    pub min_frame: Duration,
    /// Mouse capture: click to select, wheel to scroll.
    pub mouse: bool,
}

impl AppOptions {
    /// Defaults for `mode` and `config`: the default theme at full colour, the default keys,
    /// one-second refresh, no mouse. Callers override fields with struct update syntax.
    pub fn new(mode: Mode, config: Config) -> AppOptions {
        AppOptions {
            mode,
            config,
            read_only: false,
            redact: false,
            theme: Theme::default(),
            theme_ctx: crate::ui::colors::ThemeContext::new(
                crate::ui::colors::ColorDepth::TrueColor,
                "",
                &[],
            ),
            theme_dir: PathBuf::new(),
            keymap: Keymap::default(),
            ascii: false,
            refresh: Duration::from_secs(1),
            min_frame: Duration::from_millis(100),
            mouse: false,
        }
    }
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
    theme_ctx: crate::ui::colors::ThemeContext,
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
    /// Langfuse web base URL for trace links (`o`); `None` without `[langfuse]`.
    langfuse_base: Option<String>,
    /// `--record`: every applied update goes here too.
    recorder: Option<crate::record::Recorder>,
    /// Replay mode: the player's control and event channels.
    replay: Option<replay::Link>,
    /// `[alerts] bell`: BEL once when a new critical alert appears.
    bell: crate::model::alerts::BellTracker,
    bell_due: bool,
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
            theme_ctx: opts.theme_ctx.clone(),
            stale: false,
            help_return: None,
            toast_at: None,
            config: opts.config.clone(),
            guard: opts.config.guard(),
            router_tx: None,
            router_backend: String::new(),
            router_target: None,
            last_change: None,
            langfuse_base: crate::sources::langfuse::web_base_url(&opts.config),
            recorder: None,
            replay: None,
            bell: Default::default(),
            bell_due: false,
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
        if self
            .bell
            .observe(self.config.alerts.bell, &self.snapshot.alerts)
        {
            self.bell_due = true;
        }
    }

    /// Whether the bell should ring now (once per new critical alert; never with the bell off).
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.bell_due)
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

    fn filter_key(&mut self, action: Option<Action>, ev: &KeyEvent) {
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
            w.preview = crate::model::preview::preview(
                &self.snapshot,
                &self.config,
                &w.editor.from,
                &w.editor.proposal,
            );
        }
    }

    fn editor_key(&mut self, action: Option<Action>, ev: &KeyEvent) {
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
    fn trace_url(&mut self) {
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

/// Run the TUI until quit, a signal, or the input closes.
pub async fn run_tui(
    mut app: App,
    mut rx: UpdateRx,
    mut router_rx: Option<mpsc::Receiver<RouterEvent>>,
    opts: &AppOptions,
) -> std::io::Result<()> {
    let mut term = terminal::enter(opts.mouse)?;
    let _guard = RestoreGuard;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigquit = signal(SignalKind::quit())?;
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
            if app.take_bell() {
                terminal::bell(&mut term)?;
            }
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
                Some(Ok(Event::Mouse(m))) => {
                    if let Ok(size) = term.size() {
                        if app.on_mouse(m, ratatui::layout::Rect::new(0, 0, size.width, size.height)) {
                            dirty = true;
                            urgent = true;
                        }
                    }
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
            _ = sigquit.recv() => break,
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

/// The character a key types into a prompt, if it is text (not a control or modified key).
fn text_char(ev: &KeyEvent) -> Option<char> {
    match ev.code {
        KeyCode::Char(c) if Key::from_event(ev).is_text() => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::update::{Level, Observation};
    use crate::ui::state::PodSort;
    use crossterm::event::KeyModifiers;

    fn options(mode: Mode, config: Config, read_only: bool) -> AppOptions {
        AppOptions {
            mode,
            config,
            read_only,
            redact: false,
            theme: Theme::default(),
            theme_ctx: crate::ui::colors::ThemeContext::new(
                crate::ui::colors::ColorDepth::TrueColor,
                "test",
                &[],
            ),
            theme_dir: PathBuf::from("/nonexistent"),
            keymap: Keymap::default(),
            ascii: false,
            refresh: Duration::from_secs(1),
            min_frame: Duration::from_millis(100),
            mouse: false,
        }
    }

    fn app() -> App {
        App::new(&options(Mode::Demo, Config::demo(), false))
    }

    fn live_app(config: Config) -> App {
        App::new(&options(Mode::Live, config, true))
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn s_cycles_the_pod_sort_in_the_fleet_view_only() {
        let mut a = app();
        a.on_key(key('s'));
        assert_eq!(a.ui.fleet.sort, PodSort::Name, "not in the Overview");
        a.on_key(key('3'));
        a.ui.fleet.selected = 3;
        a.on_key(key('s'));
        assert_eq!(a.ui.fleet.sort, PodSort::Phase);
        assert_eq!(a.ui.fleet.selected, 0, "a new order starts at the top");
        for _ in 0..PodSort::ALL.len() - 1 {
            a.on_key(key('s'));
        }
        assert_eq!(a.ui.fleet.sort, PodSort::Name, "wraps around");
        // In the filter prompt, `s` is text.
        a.on_key(key('/'));
        a.on_key(key('s'));
        assert_eq!(a.ui.fleet.filter, "s");
        assert_eq!(a.ui.fleet.sort, PodSort::Name);
        a.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        // The ScaledObjects pane keeps name order.
        a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        a.on_key(key('s'));
        assert_eq!(a.ui.fleet.sort, PodSort::Name);
    }

    fn span(id: &str, html: Option<&str>, start: chrono::DateTime<chrono::Utc>) -> Observation {
        Observation {
            id: id.into(),
            trace_id: "7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8".into(),
            session_id: Some("hybrid-s-1".into()),
            parent_observation_id: None,
            name: "agent-turn".into(),
            start,
            end: Some(start + chrono::Duration::milliseconds(20)),
            model: None,
            tags: vec!["path:eks-qwen3".into()],
            parent_ref: None,
            level: Level::Default,
            status_message: None,
            input_tokens: None,
            output_tokens: None,
            cost_usd: None,
            side: None,
            input: None,
            output: None,
            html_path: html.map(str::to_string),
            user_id: None,
        }
    }

    #[test]
    fn o_shows_the_trace_url_and_esc_closes_it() {
        let cfg = Config::from_toml(
            "[langfuse]\nbase_url = \"https://lf.example.com/\"\n",
            "t.toml",
        )
        .unwrap();
        let mut a = live_app(cfg);
        let now = a.state.now();
        a.apply(Update::Observations {
            items: vec![
                span("o1", None, now - chrono::Duration::seconds(5)),
                span(
                    "o2",
                    Some("/project/p1/traces/7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8\u{1b}]0;x\u{7}"),
                    now - chrono::Duration::seconds(4),
                ),
            ],
        });
        a.refresh_snapshot();
        // Outside the Traces view `o` does nothing.
        a.on_action(Action::TraceUrl);
        assert_eq!(a.ui.traces.url, None);
        a.on_action(Action::ViewTraces);
        // From the list: the session's first linked trace, cleaned of control sequences.
        a.on_action(Action::TraceUrl);
        let want = "https://lf.example.com/project/p1/traces/7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8";
        assert_eq!(a.ui.traces.url.as_deref(), Some(want));
        // `o` again hides it; Esc closes it without leaving the view.
        a.on_action(Action::TraceUrl);
        assert_eq!(a.ui.traces.url, None);
        a.on_action(Action::Open);
        assert!(a.ui.traces.open.is_some());
        a.on_action(Action::TraceUrl);
        assert_eq!(a.ui.traces.url.as_deref(), Some(want));
        a.on_action(Action::Back);
        assert_eq!(a.ui.traces.url, None);
        assert!(a.ui.traces.open.is_some(), "Esc closed only the popup");
        // A key that moves closes it too.
        a.on_action(Action::TraceUrl);
        a.on_action(Action::Down);
        assert_eq!(a.ui.traces.url, None);
    }

    #[test]
    fn o_without_langfuse_says_why() {
        let mut a = live_app(Config::demo());
        let now = a.state.now();
        a.apply(Update::Observations {
            items: vec![span("o1", Some("/project/p/traces/t"), now)],
        });
        a.refresh_snapshot();
        a.on_action(Action::ViewTraces);
        a.on_action(Action::TraceUrl);
        assert_eq!(a.ui.traces.url, None);
        let t =
            a.ui.toast
                .as_ref()
                .map(|t| t.message.clone())
                .unwrap_or_default();
        assert!(t.contains("[langfuse] is not configured"), "{t}");
    }
}
