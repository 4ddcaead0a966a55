//! Fleet: pods, KEDA ScaledObjects (with each one's scaling verdict and contradictions, its
//! conditions and the path's GPU nodes) and Kubernetes events. Only visible rows are formatted,
//! so it stays fast with thousands of pods and events; the filter is matched without
//! allocating.
//!
//! What cannot be read is said where that data would be: an unreachable API (with the age of
//! the data still shown) above everything, a forbidden or missing resource inside its pane.
use super::paint::{panel, put, put_head_tail, take_top, Bare, Ctx, Cursor, Focus};
use super::parts;
use super::state::{FleetPane, PodSort};
use super::table::fleet::{EVENTS, PODS, SCALED_OBJECTS};
use super::table::layout::Layout;
use super::table::rows::{scroll_note, sorted_window, window, Rows};
use super::table::{sort_of, Column};
use super::text::{self, contains_ci};
use crate::model::snapshot::{EventView, PodView, ScaledObjectView};
use crate::model::update::{Condition, FleetProblem, ProblemKind, SourceName, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

pub fn pod_matches(p: &PodView, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let pod = &p.pod;
    contains_ci(&pod.name, needle)
        || contains_ci(&pod.phase, needle)
        || pod.node.as_deref().is_some_and(|n| contains_ci(n, needle))
        || pod
            .reason
            .as_deref()
            .is_some_and(|n| contains_ci(n, needle))
        || pod
            .message
            .as_deref()
            .is_some_and(|n| contains_ci(n, needle))
        || pod
            .path
            .as_ref()
            .is_some_and(|n| contains_ci(n.as_str(), needle))
        || (!pod.ready && "notready".contains(needle))
}

pub fn so_matches(s: &ScaledObjectView, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let so = &s.scaled_object;
    contains_ci(&so.name, needle)
        || contains_ci(&so.target, needle)
        || so.triggers.iter().any(|t| contains_ci(t, needle))
        || so
            .path
            .as_ref()
            .is_some_and(|n| contains_ci(n.as_str(), needle))
}

pub fn event_matches(e: &EventView, needle: &str) -> bool {
    needle.is_empty()
        || contains_ci(&e.reason, needle)
        || contains_ci(&e.kind, needle)
        || contains_ci(&e.name, needle)
        || contains_ci(&e.message, needle)
        || contains_ci(&e.kind_of, needle)
        || e.path
            .as_ref()
            .is_some_and(|n| contains_ci(n.as_str(), needle))
}

/// Problems that belong to the pods pane (true) or the ScaledObjects pane (false).
fn pane_problems<'a>(cx: &Ctx<'a>, pods: bool) -> Vec<&'a FleetProblem> {
    cx.snap
        .fleet
        .problems
        .iter()
        .filter(|p| (p.resource == "pods") == pods)
        .collect()
}

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    draw_with(buf, body, &PODS, cx);
}

/// The view with these pod columns (a test adds one).
fn draw_with(buf: &mut Buffer, body: Rect, pod_cols: &[Column<PodView>], cx: &Ctx) {
    let ui = cx.ui;
    let needle = ui.fleet.filter.trim().to_lowercase();
    let pods = &cx.snap.fleet.pods[..];
    let sos = &cx.snap.fleet.scaled_objects;
    let mut rest = body;
    // An unreachable API qualifies everything below: say so first, with the data's age.
    if let Some((head, tail, style)) = parts::kube_trouble(cx.snap, cx.g, cx.st) {
        let top = take_top(&mut rest, 1);
        put_head_tail(buf, top.x, top.y, top.width, &head, &tail, style, cx.g);
    }
    let n_sos = sos.iter().filter(|s| so_matches(s, &needle)).count();
    let n_events = cx
        .snap
        .fleet
        .events
        .iter()
        .filter(|e| event_matches(e, &needle))
        .count();
    let extra =
        (pane_problems(cx, false).len() + detail_for(cx, &needle).map_or(0, |d| d.len())) as u16;
    // ScaledObjects get what they need up to a third of the body, events up to a quarter (more
    // when their pane has the focus), pods the rest.
    let overhead = 2u16; // title/border + heading (compact) or borders (boxed)
    let so_h = (n_sos.max(1) as u16 + overhead + 1 + extra).min((rest.height / 3).max(4 + extra));
    let ev_share = if cx.ui.fleet.pane == FleetPane::Events {
        2
    } else {
        4
    };
    let ev_h = (n_events.max(1) as u16 + overhead + 1).min((rest.height / ev_share).max(4));
    let pods_h = rest.height.saturating_sub(so_h + ev_h);
    let pods_area = take_top(&mut rest, pods_h);
    pods_table(buf, pods_area, pod_cols, pods, &needle, cx);
    let so_h = so_h.min(rest.height);
    let so_area = take_top(&mut rest, so_h);
    so_table(buf, so_area, n_sos, &needle, cx);
    events_table(buf, rest, n_events, &needle, cx);
}

fn events_table(buf: &mut Buffer, area: Rect, n: usize, needle: &str, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let focus = ui.fleet.pane == FleetPane::Events;
    let events = &cx.snap.fleet.events;
    let title = title_for("Events", n, events.len(), ui.fleet.filter.trim());
    let inner = panel(buf, area, &title, Focus::Pane(focus), Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let rows = inner.height.saturating_sub(1) as usize;
    let sel = if focus { ui.fleet.selected } else { 0 };
    let win = window(events, |e| event_matches(e, needle), rows, sel);
    let visible = win.rows.iter().filter_map(|&i| events.get(i));
    let table = Layout::new(&EVENTS, inner, true, cx, visible.clone());
    table.head(buf, inner.y, cx, None, None);
    if n == 0 {
        let msg = if needle.is_empty() {
            "no events reported".to_string()
        } else {
            format!("no event matches '{}'", ui.fleet.filter.trim())
        };
        put(
            buf,
            inner.x + 2,
            inner.y + 1,
            inner.width.saturating_sub(2),
            &msg,
            st.dim,
            g,
        );
        return;
    }
    for (row, e) in visible.enumerate() {
        let sel = focus && win.offset + row == win.selected;
        table.row(buf, inner.y + 1 + row as u16, e, sel, cx);
    }
}

/// A problem line, naming the resource unless the message already does.
fn problem_text(p: &FleetProblem, cx: &Ctx) -> (String, Style) {
    let (sym, style) = match p.kind {
        ProblemKind::NotInstalled => (cx.g.warn, cx.st.warn),
        ProblemKind::Forbidden | ProblemKind::Error => (cx.g.crit, cx.st.crit),
    };
    let text = if p.message.contains(&p.resource) {
        format!("{sym} {}", p.message)
    } else {
        format!("{sym} {} in {}: {}", p.resource, p.namespace, p.message)
    };
    (text, style)
}

/// Draw the pane's problems from `y`; returns the rows used.
fn draw_problems(buf: &mut Buffer, inner: Rect, y: u16, ps: &[&FleetProblem], cx: &Ctx) -> u16 {
    let mut used = 0;
    for p in ps {
        if y + used >= inner.bottom() {
            break;
        }
        let (t, style) = problem_text(p, cx);
        put(
            buf,
            inner.x + 2,
            y + used,
            inner.width.saturating_sub(2),
            &t,
            style,
            cx.g,
        );
        used += 1;
    }
    used
}

fn title_for(what: &str, n: usize, total: usize, filter: &str) -> String {
    if filter.is_empty() {
        format!("{what} ({total})")
    } else {
        format!("{what} ({n} of {total})  filter: {filter}")
    }
}

fn pods_table(
    buf: &mut Buffer,
    area: Rect,
    cols: &[Column<PodView>],
    pods: &[PodView],
    needle: &str,
    cx: &Ctx,
) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let focus = ui.fleet.pane == FleetPane::Pods;
    let total = pods.len();
    let problems = pane_problems(cx, true);
    // Rows below the title/border, the heading and any problem lines.
    let chrome = if cx.boxed() { 3 } else { 2 };
    let rows = area
        .height
        .saturating_sub(chrome)
        .saturating_sub(problems.len() as u16) as usize;
    let sel = if focus { ui.fleet.selected } else { 0 };
    let sort = ui.fleet.sort;
    let by = sort_of(cols, sort.column());
    let win = sorted_window(pods, |p| pod_matches(p, needle), by, rows, sel);
    let n = win.n;
    let mut title = title_for("Pods", n, total, ui.fleet.filter.trim());
    if sort != PodSort::Name {
        title = format!("{title}  sorted: {}", sort.label());
    }
    let inner = panel(buf, area, &title, Focus::Pane(focus), Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let visible = win.rows.iter().filter_map(|&i| pods.get(i));
    let table = Layout::new(cols, inner, true, cx, visible.clone());
    table.head(buf, inner.y, cx, Some(sort.column()), None);
    let top = inner.y + 1 + draw_problems(buf, inner, inner.y + 1, &problems, cx);

    if n == 0 {
        let msg = if !needle.is_empty() {
            format!("no pod matches '{}'", ui.fleet.filter.trim())
        } else {
            match cx
                .snap
                .sources
                .iter()
                .find(|s| s.name == SourceName::Kubernetes)
                .map(|s| s.state)
            {
                Some(SourceState::Disabled) if !problems.is_empty() => String::new(),
                Some(SourceState::Disabled) => {
                    "Kubernetes source disabled (no [kubernetes] section in the config)".into()
                }
                Some(SourceState::Connecting) => "connecting to the Kubernetes API…".into(),
                _ if !problems.is_empty() => String::new(),
                _ => "no pods reported".into(),
            }
        };
        put(
            buf,
            inner.x + 2,
            top,
            inner.width.saturating_sub(2),
            &msg,
            st.dim,
            g,
        );
        return;
    }
    for (row, p) in visible.enumerate() {
        let sel = focus && win.offset + row == win.selected;
        table.row(buf, top + row as u16, p, sel, cx);
    }
    scroll_note(buf, area, &Rows::new(top, rows, &win), cx);
}

fn so_table(buf: &mut Buffer, area: Rect, n: usize, needle: &str, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let focus = ui.fleet.pane == FleetPane::ScaledObjects;
    let sos = &cx.snap.fleet.scaled_objects;
    let title = title_for("KEDA ScaledObjects", n, sos.len(), ui.fleet.filter.trim());
    let inner = panel(buf, area, &title, Focus::Pane(focus), Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let problems = pane_problems(cx, false);
    let top = inner.y + 1 + (problems.len() as u16).min(inner.bottom() - (inner.y + 1));
    // The selected (or first) ScaledObject's conditions take the pane's last rows.
    let detail = detail_for(cx, needle).unwrap_or_default();
    let avail = inner.bottom().saturating_sub(top);
    let detail_h = if avail > detail.len() as u16 {
        detail.len() as u16
    } else {
        0
    };
    let rows = avail.saturating_sub(detail_h) as usize;
    let sel = if focus { ui.fleet.selected } else { 0 };
    let win = window(sos, |s| so_matches(s, needle), rows, sel);
    let visible = win.rows.iter().filter_map(|&i| sos.get(i));
    let table = Layout::new(&SCALED_OBJECTS, inner, true, cx, visible.clone());
    table.head(buf, inner.y, cx, None, None);
    draw_problems(buf, inner, inner.y + 1, &problems, cx);
    if n == 0 {
        let msg = if !needle.is_empty() {
            format!("no ScaledObject matches '{}'", ui.fleet.filter.trim())
        } else if problems.is_empty() {
            "no ScaledObjects reported".to_string()
        } else {
            String::new()
        };
        put(
            buf,
            inner.x + 2,
            top,
            inner.width.saturating_sub(2),
            &msg,
            st.dim,
            g,
        );
        return;
    }
    let dy = inner.bottom() - detail_h;
    for (k, spans) in detail.iter().enumerate().take(detail_h as usize) {
        let mut c = Cursor::new(inner, dy + k as u16);
        c.skip(2);
        for (t, style) in spans {
            c.text(buf, t, *style, g);
        }
    }
    for (row, s) in visible.enumerate() {
        let sel = focus && win.offset + row == win.selected;
        table.row(buf, top + row as u16, s, sel, cx);
    }
}

/// A condition that needs attention (Ready=False, Fallback=True, ScalingLimited=True, …).
fn condition_style(c: &Condition, cx: &Ctx) -> Style {
    let bad = match (c.kind.as_str(), c.status.as_str()) {
        (_, "Unknown") => return cx.st.warn,
        ("Ready" | "AbleToScale" | "ScalingActive", "False") => true,
        ("Fallback", "True") => true,
        ("Paused" | "ScalingLimited", "True") => return cx.st.warn,
        _ => false,
    };
    if bad {
        cx.st.crit
    } else {
        cx.st.text
    }
}

fn condition_spans(cs: &[Condition], cx: &Ctx, out: &mut Vec<(String, Style)>) {
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            out.push((format!(" {} ", cx.g.dot), cx.st.dim));
        }
        out.push((format!("{}={}", c.kind, c.status), condition_style(c, cx)));
        if let Some(r) = &c.reason {
            out.push((format!(" {r}"), cx.st.dim));
        }
        // How long it has held, where that says something (not for the day-old defaults).
        if let Some(t) = c.since {
            let held = parts::age_of(cx, Some(t));
            if held.is_some_and(|s| s < 86_400.0) {
                out.push((format!(" {}", text::age(held, cx.g.none)), cx.st.dim));
            }
        }
    }
}

/// Condition lines for the ScaledObject in focus (the selection in its pane, else the first
/// listed): KEDA's conditions, its HPA's conditions, and the headline when something is wrong.
/// None when the source reports no conditions (the simulator).
fn detail_for(cx: &Ctx, needle: &str) -> Option<Vec<Vec<(String, Style)>>> {
    let mut matching = cx
        .snap
        .fleet
        .scaled_objects
        .iter()
        .filter(|s| so_matches(s, needle));
    let so = if cx.ui.fleet.pane == FleetPane::ScaledObjects {
        let n = cx
            .snap
            .fleet
            .scaled_objects
            .iter()
            .filter(|s| so_matches(s, needle))
            .count();
        matching.nth(cx.ui.fleet.selected.min(n.saturating_sub(1)))
    } else {
        matching.next()
    }?;
    let (view, so) = (so, &so.scaled_object);
    let (st, g) = (cx.st, cx.g);
    let mut head: Vec<Vec<(String, Style)>> = Vec::new();
    if !view.verdict.is_empty() {
        let style = if !view.contradictions.is_empty() {
            st.crit
        } else if view.verdict.starts_with("steady") {
            st.ok
        } else {
            st.warn
        };
        head.push(vec![(format!("{} {}", so.name, view.verdict), style)]);
    }
    for c in &view.contradictions {
        head.push(vec![(format!("{} contradiction: {c}", g.crit), st.crit)]);
    }
    let nodes: Vec<_> = cx
        .snap
        .fleet
        .nodes
        .iter()
        .filter(|n| so.path.is_some() && n.path == so.path)
        .collect();
    if !nodes.is_empty() {
        let ready: Vec<_> = nodes.iter().filter(|n| n.ready).collect();
        let alloc: u32 = ready.iter().map(|n| n.gpus_allocatable).sum();
        let used: u32 = ready.iter().map(|n| n.gpus_used).sum();
        let launching: Vec<_> = nodes.iter().filter(|n| !n.ready).collect();
        let mut line = format!(
            "{} GPU nodes: {} ready, {used}/{alloc} GPUs in use",
            g.arrow,
            ready.len()
        );
        let oldest = launching.iter().filter_map(|n| n.launched_at).min();
        if !launching.is_empty() {
            let age = text::age(parts::age_of(cx, oldest), g.none);
            line.push_str(&format!(", {} launching (oldest {age})", launching.len()));
        }
        let style = if launching.is_empty() {
            st.dim
        } else {
            st.warn
        };
        head.push(vec![(line, style)]);
    }
    if so.conditions.is_empty() && so.hpa_conditions.is_empty() {
        return (!head.is_empty()).then_some(head);
    }
    let mut keda = vec![(format!("{} KEDA: ", so.name), st.text)];
    if so.conditions.is_empty() {
        keda.push(("no conditions reported".into(), st.dim));
    }
    condition_spans(&so.conditions, cx, &mut keda);
    let mut hpa = Vec::new();
    match &so.hpa_name {
        Some(h) => {
            hpa.push((format!("{} HPA {h}: ", g.arrow), st.dim));
            condition_spans(&so.hpa_conditions, cx, &mut hpa);
        }
        None => hpa.push((format!("{} HPA: none found", g.arrow), st.warn)),
    }
    let mut lines = head;
    lines.push(keda);
    lines.push(hpa);
    if let Some(m) = &so.message {
        lines.push(vec![(format!("{} {m}", g.warn), st.warn)]);
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fixture::sample_snapshot;
    use crate::ui::glyphs::Glyphs;
    use crate::ui::paint::Tier;
    use crate::ui::state::UiState;
    use crate::ui::table::fleet::Pod;
    use crate::ui::table::Width;
    use crate::ui::theme::Theme;
    use crate::ui::{buffer_text, state::View};

    /// A column for the pods table: its declaration is all it takes.
    const STARTED: Pod = Pod::text("started", Width::Fixed(8), |p, cx| {
        (
            p.pod.created_at.format("%H:%M:%S").to_string().into(),
            cx.st.dim,
        )
    })
    .right()
    .sort(|a, b| a.pod.created_at.cmp(&b.pod.created_at));

    fn render(snap: &crate::model::snapshot::Snapshot, cols: &[Column<PodView>], w: u16) -> String {
        let ui = UiState {
            view: View::Fleet,
            ..UiState::default()
        };
        let theme = Theme::default();
        let area = Rect::new(0, 0, w, 37);
        let cx = Ctx {
            snap,
            ui: &ui,
            st: &theme.styles,
            g: Glyphs::get(false),
            tier: Tier::for_area(Rect::new(0, 0, w, 40)),
        };
        let mut buf = Buffer::empty(area);
        draw_with(&mut buf, area, cols, &cx);
        buffer_text(&buf)
    }

    #[test]
    fn node_names_take_the_width_the_reasons_leave() {
        let mut snap = sample_snapshot();
        let node = "ip-10-0-3-152.us-east-2.compute.internal";
        for p in &mut snap.fleet.pods {
            p.pod.node = Some(node.into());
            p.pod.reason = None;
        }
        let text = render(&snap, &PODS, 140);
        assert!(text.contains(node), "{text}");
        // A long reason shares the width with them by what each needs.
        snap.fleet.pods[0].pod.reason = Some("Unschedulable".into());
        snap.fleet.pods[0].pod.message =
            Some("0/6 nodes available: insufficient nvidia.com/gpu".into());
        let text = render(&snap, &PODS, 140);
        assert!(
            !text.contains(node) && text.contains("ip-10-0-3-152.us-east-2."),
            "{text}"
        );
        assert!(
            text.contains("Unschedulable: 0/6 nodes available"),
            "{text}"
        );
    }

    #[test]
    fn a_pod_column_is_one_declaration() {
        let snap = sample_snapshot();
        let ui = UiState {
            view: View::Fleet,
            ..UiState::default()
        };
        let theme = Theme::default();
        let cx = Ctx {
            snap: &snap,
            ui: &ui,
            st: &theme.styles,
            g: Glyphs::get(false),
            tier: Tier::Standard,
        };
        let mut cols = PODS.to_vec();
        let at = cols.iter().position(|c| c.name == "ready").unwrap_or(0);
        cols.insert(at, STARTED);
        let area = Rect::new(0, 0, 120, 37);
        let mut buf = Buffer::empty(area);
        draw_with(&mut buf, area, &cols, &cx);
        let text = buffer_text(&buf);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("phase      started ready"), "{text}");
        let first = &snap.fleet.pods[0].pod;
        let started = first.created_at.format("%H:%M:%S").to_string();
        let row = lines[2];
        assert!(
            row.contains(&first.name) && row.contains(&started),
            "{text}"
        );
        // It sorts and takes clicks like the others.
        assert!(crate::ui::table::sort_of(&cols, "started").is_some());
        let inner = Rect::new(1, 1, 118, 35);
        let table = Layout::new(&cols, inner, true, &cx, &snap.fleet.pods);
        let x = row.find(&started).unwrap_or(0) as u16;
        assert_eq!(table.col_at(x), Some("started"));
    }
}
