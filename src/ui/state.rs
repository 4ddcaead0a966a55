//! `UiState`: what the operator is looking at (view, selection, filter, open session). Owned by
//! the app loop, read by the pure views.
use crate::action::{Action, Keymap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Overview,
    Traces,
    Fleet,
    Cost,
    Help,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Overview,
        View::Traces,
        View::Fleet,
        View::Cost,
        View::Help,
    ];
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Traces => "Traces",
            View::Fleet => "Fleet",
            View::Cost => "Cost",
            View::Help => "Help",
        }
    }
    /// The action that shows the view (its tab's key).
    pub fn action(self) -> Action {
        match self {
            View::Overview => Action::ViewOverview,
            View::Traces => Action::ViewTraces,
            View::Fleet => Action::ViewFleet,
            View::Cost => Action::ViewCost,
            View::Help => Action::ViewHelp,
        }
    }

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }
    pub fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

#[derive(Clone, Debug, Default)]
pub struct TracesUi {
    /// Index into the filtered session list.
    pub selected: usize,
    pub filter: String,
    /// The session whose waterfall is open.
    pub open: Option<String>,
    /// Selected span in the waterfall.
    pub span_selected: usize,
    /// The Langfuse URL shown for copying (`o`), already sanitised.
    pub url: Option<String>,
    /// The open waterfall's children were asked of the trace source (roots-first polling);
    /// false where this process cannot ask (a team-mode viewer, a replay).
    pub children_asked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FleetPane {
    #[default]
    Pods,
    ScaledObjects,
    Events,
}

/// The pods table's sort column. Each sorts the way an incident wants it: problems first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PodSort {
    /// namespace/name, as listed (the default).
    #[default]
    Name,
    /// Failed, Unknown, Pending before Running.
    Phase,
    /// Not ready first.
    Ready,
    /// Most restarts first.
    Restarts,
    /// Youngest first.
    Age,
    /// By node; unscheduled last.
    Node,
    /// Pods with a reason first, by reason.
    Reason,
}

impl PodSort {
    pub const ALL: [PodSort; 7] = [
        PodSort::Name,
        PodSort::Phase,
        PodSort::Ready,
        PodSort::Restarts,
        PodSort::Age,
        PodSort::Node,
        PodSort::Reason,
    ];
    pub fn next(self) -> PodSort {
        let i = PodSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        PodSort::ALL[(i + 1) % PodSort::ALL.len()]
    }
    /// The column heading it sorts by.
    pub fn column(self) -> &'static str {
        match self {
            PodSort::Name => "name",
            PodSort::Phase => "phase",
            PodSort::Ready => "ready",
            PodSort::Restarts => "rst",
            PodSort::Age => "age",
            PodSort::Node => "node",
            PodSort::Reason => "reason",
        }
    }
    /// How the title says it.
    pub fn label(self) -> &'static str {
        match self {
            PodSort::Name => "name",
            PodSort::Phase => "phase (problems first)",
            PodSort::Ready => "not ready first",
            PodSort::Restarts => "most restarts",
            PodSort::Age => "youngest",
            PodSort::Node => "node",
            PodSort::Reason => "reason",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct FleetUi {
    pub pane: FleetPane,
    pub selected: usize,
    pub filter: String,
    pub sort: PodSort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug)]
pub struct Toast {
    pub level: ToastLevel,
    pub message: String,
}

/// Latency thresholds the views colour and mark against (`[alerts]` in the config).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub warn_ms: f64,
    pub crit_ms: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn_ms: 100.0,
            crit_ms: 200.0,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct UiState {
    pub view: View,
    /// The display is frozen (`p`); data keeps arriving.
    pub paused: bool,
    /// `/` was pressed: keys go to the filter of the current view.
    pub filter_editing: bool,
    pub traces: TracesUi,
    pub fleet: FleetUi,
    pub toast: Option<Toast>,
    pub keymap: Keymap,
    /// Draw with ASCII only (no box-drawing, braille or block glyphs).
    pub ascii: bool,
    pub theme_name: String,
    /// p50/p95/p99 warn and crit thresholds (default 100 / 200 ms, from the seed).
    pub thresholds: Thresholds,
    /// The weights editor / review dialog, when open.
    pub weights: Option<WeightsUi>,
    /// Replay mode: what the timeline shows.
    pub replay: Option<ReplayUi>,
}

/// The weights dialog: the editor's state plus what the view needs to show its effect.
#[derive(Clone, Debug)]
pub struct WeightsUi {
    pub editor: crate::model::editor::WeightsEditor,
    pub preview: crate::model::preview::Preview,
    /// `simulator` | `configmap` | `httproute`, and the object, for the title.
    pub backend: String,
    pub target: Option<String>,
    pub step: u32,
    /// The write is in flight.
    pub applying: bool,
}

/// What the timeline shows; the app keeps it from the replay's status and index events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayUi {
    /// The recording's file name.
    pub file: String,
    /// The mode that was recorded (`demo`, `live`).
    pub recorded: String,
    /// Virtual clock, first and last record (ms since the epoch).
    pub position_ms: i64,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub speed: f64,
    pub paused: bool,
    pub at_end: bool,
    /// Times the router's weights changed.
    pub markers: Vec<i64>,
    /// A damaged line: replay stops before it.
    pub damage_line: Option<u64>,
    /// The background index is done (end and markers are known).
    pub indexed: bool,
}
