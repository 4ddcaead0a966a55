//! Pure views: `(Snapshot, UiState, Theme) -> widgets`.
//!
//! `draw` paints straight onto the frame's buffer through the primitives in `paint`, fitting
//! every string by display width; glyphs come from `glyphs` (Unicode or ASCII), styles from the
//! theme. Layout tiers: compact (80×24 up), standard (120×36 up), wide (200×40 up); below 80×24
//! a "terminal too small" message.
pub mod buffer;
pub mod colors;
mod cost;
#[cfg(test)]
pub mod fixture;
mod fleet;
pub mod glyphs;
mod help;
mod overview;
pub mod paint;
pub mod parts;
pub mod state;
pub mod table;
pub mod text;
pub mod theme;
pub mod timeline;
mod tools;
mod traces;
mod weights;

#[cfg(test)]
mod tests;

pub use buffer::{buffer_text, buffer_to_styled_text};
/// The views' filters, for the app to count matches and clamp selections the same way.
pub use fleet::{pod_matches, so_matches};
pub use traces::session_matches;

use crate::action::{Action, Keymap};
use crate::model::snapshot::{Mode, Snapshot};
use glyphs::Glyphs;
use paint::{put, put_center, put_right, Ctx, Tier};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Frame;
use state::{ToastLevel, UiState, View};
use text::width;
use theme::Theme;

/// The smallest terminal the dashboard draws into.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draw the whole screen for the current view.
pub fn draw(frame: &mut Frame, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let area = frame.area();
    render(frame.buffer_mut(), area, snap, ui, theme);
}

/// Draw into any buffer (exports use this without a terminal).
pub fn render(buf: &mut Buffer, area: Rect, snap: &Snapshot, ui: &UiState, theme: &Theme) {
    let area = area.intersection(buf.area);
    if area.width == 0 || area.height == 0 {
        return;
    }
    let st = &theme.styles;
    let g = Glyphs::get(ui.ascii);
    buf.set_style(area, st.text);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(buf, area, theme, g);
        return;
    }
    let cx = Ctx {
        snap,
        ui,
        st,
        g,
        tier: Tier::for_area(area),
    };
    header(buf, area, &cx);
    // Replay gives up the body's last row to the timeline.
    let replay = ui.replay.as_ref().filter(|_| snap.mode == Mode::Replay);
    let body = Rect::new(
        area.x,
        area.y + 2,
        area.width,
        area.height - 3 - u16::from(replay.is_some()),
    );
    match ui.view {
        View::Overview => overview::draw(buf, body, &cx),
        View::Traces => traces::draw(buf, body, &cx),
        View::Fleet => fleet::draw(buf, body, &cx),
        View::Cost => cost::draw(buf, body, &cx),
        View::Help => help::draw(buf, body, &cx),
    }
    if let Some(w) = &ui.weights {
        weights::draw(buf, body, &cx, w);
    }
    if let Some(r) = replay {
        let row = Rect::new(area.x, area.bottom() - 2, area.width, 1);
        timeline::draw(buf, row, &cx, r);
    }
    footer(
        buf,
        Rect::new(area.x, area.bottom() - 1, area.width, 1),
        &cx,
    );
}

fn too_small(buf: &mut Buffer, area: Rect, theme: &Theme, g: &Glyphs) {
    let st = &theme.styles;
    let (dash, times) = if g.ascii { ("-", "x") } else { ("—", "×") };
    let need = format!("terminal too small {dash} need {MIN_WIDTH}{times}{MIN_HEIGHT}");
    let now = format!("(now {}{times}{})", area.width, area.height);
    let one = format!("{need} {now}");
    let mid = area.y + area.height / 2;
    if width(&one) <= area.width as usize {
        put_center(buf, area.x, mid, area.width, &one, st.warn, g);
    } else if area.height >= 2 {
        let top = mid.saturating_sub(1).max(area.y);
        put_center(buf, area.x, top, area.width, &need, st.warn, g);
        put_center(buf, area.x, top + 1, area.width, &now, st.warn, g);
    } else {
        put_center(buf, area.x, mid, area.width, &one, st.warn, g);
    }
}

fn header(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let y = area.y;
    buf.set_style(Rect::new(area.x, y, area.width, 1), st.header);
    let (badge, note, badge_style) = match snap.mode {
        Mode::Demo => (" DEMO ", "SIMULATED DATA", st.badge_demo),
        Mode::Replay => (" REPLAY ", "RECORDED DATA", st.badge_replay),
        Mode::Live => (" LIVE ", "", st.badge_live),
        Mode::Attach => (" LIVE ", "VIA COLLECTOR", st.badge_live),
    };
    // Before the first clock or data the model's time is the epoch: show no time rather than a
    // made-up one.
    let known_time = snap.generated_at.timestamp() > 0;
    let clock = if known_time {
        snap.generated_at.format("%H:%M:%S UTC").to_string()
    } else {
        format!("{} UTC", cx.g.none)
    };
    let flags = [
        (snap.read_only, "READ-ONLY"),
        (snap.redacted, "REDACTED"),
        (cx.ui.paused, "PAUSED"),
    ];
    // Gaps shrink when the line is tight; the environment name gives way before any flag does.
    let fixed_for = |gap: usize| {
        width(badge)
            + if note.is_empty() { 0 } else { 1 + width(note) }
            + 2 * gap
            + width(&clock)
            + flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, w)| gap + width(w))
                .sum::<usize>()
    };
    let gap: u16 = if fixed_for(2) + width(&snap.environment) <= area.width as usize {
        2
    } else {
        1
    };
    let fixed = fixed_for(gap as usize);
    let env_w = (area.width as usize).saturating_sub(fixed).max(6) as u16;
    let mut c = paint::Cursor::new(area, y);
    c.text(buf, badge, badge_style, g);
    if !note.is_empty() {
        c.skip(1);
        c.text(buf, note, st.flag, g);
    }
    c.skip(gap);
    let used = put(
        buf,
        c.x,
        y,
        env_w.min(c.remaining()),
        &snap.environment,
        st.accent,
        g,
    );
    c.skip(used + gap);
    c.text(buf, &clock, st.header, g);
    for (on, word) in flags {
        if on {
            c.skip(gap);
            c.text(buf, word, st.flag, g);
        }
    }
    if cx.tier >= Tier::Standard && c.remaining() > 24 && known_time {
        let date = snap.generated_at.format("%Y-%m-%d").to_string();
        put_right(buf, area.x, y, area.width, &date, st.dim, g);
    }

    // Tabs with their keys, then the window and router on the right.
    let y = area.y + 1;
    let mut c = paint::Cursor::new(area, y);
    for (v, label) in tabs(&cx.ui.keymap) {
        let style = if v == cx.ui.view {
            st.tab_active
        } else {
            st.tab
        };
        c.text(buf, &label, style, g);
    }
    let right = format!(
        "window {} {} router {}",
        parts::window_text(snap.window_seconds),
        g.dot,
        snap.router.backend
    );
    let rw = width(&right) as u16;
    if c.remaining() > rw + 2 {
        put_right(buf, area.x, y, area.width, &right, st.dim, g);
    }
}

/// Footer key hints for the current view: the action and, where the view gives it a meaning of
/// its own, the words for it (otherwise the action table's hint).
fn hints(cx: &Ctx) -> &'static [(Action, Option<&'static str>)] {
    match cx.ui.view {
        View::Overview => &[
            (Action::Help, None),
            (Action::NextView, None),
            (Action::Weights, None),
            (Action::Pause, None),
            (Action::Theme, None),
            (Action::Quit, None),
        ],
        View::Traces if cx.ui.traces.open.is_some() => &[
            (Action::Down, Some("next span")),
            (Action::Up, Some("prev span")),
            (Action::Back, Some("close")),
            (Action::TraceUrl, None),
            (Action::Help, None),
            (Action::Quit, None),
        ],
        View::Traces => &[
            (Action::Down, None),
            (Action::Up, None),
            (Action::Open, Some("waterfall")),
            (Action::Filter, None),
            (Action::TraceUrl, None),
            (Action::Help, None),
            (Action::Quit, None),
        ],
        View::Fleet => &[
            (Action::Down, None),
            (Action::Up, None),
            (Action::Open, Some("switch pane")),
            (Action::Filter, None),
            (Action::Sort, None),
            (Action::Help, None),
            (Action::Quit, None),
        ],
        View::Cost => &[
            (Action::NextView, None),
            (Action::Weights, None),
            (Action::Help, None),
            (Action::Quit, None),
        ],
        View::Help => &[
            (Action::Back, None),
            (Action::NextView, None),
            (Action::Quit, None),
        ],
    }
}

fn footer(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let y = area.y;
    let mut c = paint::Cursor::new(area, y);
    if ui.filter_editing {
        let text = match ui.view {
            View::Fleet => ui.fleet.filter.as_str(),
            _ => ui.traces.filter.as_str(),
        };
        c.text(buf, "/", st.filter, g);
        c.text(buf, text, st.filter, g);
        c.text(buf, g.cursor, st.filter, g);
        let help = format!(
            "{} {}  {} {}",
            ui.keymap.label(Action::FilterAccept),
            Action::FilterAccept.hint(),
            ui.keymap.label(Action::FilterClear),
            Action::FilterClear.hint()
        );
        let hw = width(&help) as u16;
        if c.remaining() > hw + 2 {
            put_right(buf, area.x, y, area.width, &help, st.dim, g);
        }
        return;
    }
    if let Some(t) = &ui.toast {
        let (sym, style) = match t.level {
            ToastLevel::Info => (g.ok, st.toast_info),
            ToastLevel::Warn => (g.warn, st.toast_warn),
            ToastLevel::Error => (g.crit, st.toast_error),
        };
        c.text(buf, sym, style, g);
        c.skip(1);
        // Leave room for at least the help hint.
        let max = c.remaining().saturating_sub(10).max(10);
        let used = put(buf, c.x, y, max, &t.message, style, g);
        c.skip(used + 3);
    }
    for (action, words) in hints(cx) {
        let desc = words.unwrap_or(action.hint());
        let key = ui.keymap.label(*action);
        let need = (width(&key) + 1 + width(desc)) as u16;
        if need > c.remaining() {
            break;
        }
        c.text(buf, &key, st.key, g);
        c.skip(1);
        c.text(buf, desc, st.dim, g);
        c.skip(2);
    }
}

/// The sessions the Traces list shows under the current filter, in order.
pub fn traces_rows<'a>(
    snap: &'a Snapshot,
    ui: &'a state::UiState,
) -> impl Iterator<Item = &'a crate::model::snapshot::SessionRow> + 'a {
    let needle = ui.traces.filter.trim().to_lowercase();
    snap.sessions
        .all
        .iter()
        .filter(move |s| session_matches(s, &needle))
}

/// How many rows the Fleet view's active pane lists under the current filter.
pub fn fleet_rows(snap: &Snapshot, ui: &state::UiState) -> usize {
    let needle = ui.fleet.filter.trim().to_lowercase();
    match ui.fleet.pane {
        state::FleetPane::Pods => snap
            .fleet
            .pods
            .iter()
            .filter(|p| pod_matches(p, &needle))
            .count(),
        state::FleetPane::ScaledObjects => snap
            .fleet
            .scaled_objects
            .iter()
            .filter(|s| so_matches(s, &needle))
            .count(),
        state::FleetPane::Events => snap
            .fleet
            .events
            .iter()
            .filter(|e| fleet::event_matches(e, &needle))
            .count(),
    }
}

/// The header's tabs, each view with its label (` key Title `, the key as bound in `[keys]`):
/// drawn by `header` and hit by `tab_at`, so a click lands on what is drawn.
fn tabs(km: &Keymap) -> impl Iterator<Item = (View, String)> + '_ {
    View::ALL
        .into_iter()
        .map(|v| (v, format!(" {} {} ", km.label(v.action()), v.title())))
}

/// The view whose tab is at `(x, y)` (the second header row), for mouse clicks.
pub fn tab_at(area: Rect, km: &Keymap, x: u16, y: u16) -> Option<View> {
    if y != area.y + 1 || area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let mut left = area.x;
    for (v, label) in tabs(km) {
        let w = width(&label) as u16;
        if x >= left && x < left.saturating_add(w) {
            return Some(v);
        }
        left = left.saturating_add(w);
    }
    None
}

/// The Traces list row at screen row `y`, for mouse clicks: hit where the list draws it.
pub fn row_at(area: Rect, snap: &Snapshot, ui: &UiState, y: u16) -> Option<usize> {
    if ui.view != View::Traces || ui.traces.open.is_some() {
        return None;
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let body = Rect::new(area.x, area.y + 2, area.width, area.height - 3);
    let boxed = Tier::for_area(area) != Tier::Compact;
    traces::list_window(body, boxed, snap, ui).1.at(y)
}
