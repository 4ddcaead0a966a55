//! The event loop. It alone owns `State` and `UiState`: updates come in over a channel, keys come
//! in as `Action`s, and a frame is drawn only when something changed.
mod event_loop;
mod keys;
mod replay;
mod weights;

pub use event_loop::run_tui;

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
    /// Ctrl-Z: the loop hands the terminal back and stops the process until `fg`.
    pub suspend: bool,
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
    /// Where waterfalls ask the trace source for children it polled roots only of.
    demands: Option<crate::sources::DemandTx>,
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
            suspend: false,
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
            demands: None,
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

    /// Let opened waterfalls ask the trace source for the children it polls roots only of.
    pub fn attach_demands(&mut self, tx: crate::sources::DemandTx) {
        self.demands = Some(tx);
    }

    /// The open waterfall shows roots only: ask the trace source for the rest, once per
    /// opening. A full queue drops the ask (the operator can reopen); the app never waits.
    pub(crate) fn ask_children(&mut self) {
        self.ui.traces.children_asked = false;
        let (Some(tx), Some(open)) = (&self.demands, &self.ui.traces.open) else {
            return;
        };
        let trace_ids = self.state.unread_traces(open, self.redact);
        if trace_ids.is_empty() {
            return;
        }
        self.ui.traces.children_asked = tx
            .try_send(crate::sources::TraceDemand { trace_ids })
            .is_ok();
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

    /// Roots first: opening a waterfall whose children were not read asks the trace source
    /// for them, by raw trace id; a whole one asks nothing; no channel, no ask.
    #[test]
    fn opening_a_roots_only_waterfall_asks_for_its_children() {
        use crate::model::update::{SourceName, WaterfallReport};
        let mut a = live_app(Config::demo());
        let (tx, mut rx) = crate::sources::demand_channel();
        let now = a.state.now();
        a.apply(Update::Observations {
            items: vec![span("o1", None, now - chrono::Duration::seconds(5))],
        });
        a.apply(Update::Waterfalls(WaterfallReport {
            source: SourceName::Langfuse,
            roots_only: true,
            whole: vec![],
        }));
        a.refresh_snapshot();
        a.on_action(Action::ViewTraces);
        a.on_action(Action::Open);
        assert!(!a.ui.traces.children_asked, "no channel: nothing to ask");
        a.on_action(Action::Back);
        a.attach_demands(tx);
        a.on_action(Action::Open);
        assert!(a.ui.traces.children_asked);
        let d = rx.try_recv().expect("an ask");
        assert_eq!(
            d.trace_ids,
            vec!["7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8".to_string()]
        );
        assert!(a.snapshot.sessions.detail.as_ref().unwrap().roots_only);
        // Once read whole, reopening asks nothing and the waterfall is whole.
        a.apply(Update::Waterfalls(WaterfallReport {
            source: SourceName::Langfuse,
            roots_only: true,
            whole: d.trace_ids,
        }));
        a.on_action(Action::Back);
        a.on_action(Action::Open);
        assert!(!a.ui.traces.children_asked);
        assert!(rx.try_recv().is_err());
        assert!(!a.snapshot.sessions.detail.as_ref().unwrap().roots_only);
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
