//! Fleet: pods and KEDA ScaledObjects. Only visible rows are formatted, so it stays fast with
//! thousands of pods; the filter is matched without allocating.
//!
//! What cannot be read is said where that data would be: an unreachable API (with the age of
//! the data still shown) above everything, a forbidden or missing resource inside its pane.
use super::paint::{
    flex, highlight, l, panel, put, put_head_tail, r, scroll_offset, take_top, window, Bare, Col,
    Ctx, Cursor, Focus, Tier, Window,
};
use super::parts;
use super::state::{FleetPane, PodSort};
use super::text::{self, contains_ci, width};
use crate::model::snapshot::{PodView, ScaledObjectView};
use crate::model::update::{Condition, FleetProblem, ProblemKind, SourceName, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::cmp::Ordering;

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
    let extra =
        (pane_problems(cx, false).len() + detail_for(cx, &needle).map_or(0, |d| d.len())) as u16;
    // ScaledObjects get what they need up to a third of the body; pods the rest.
    let overhead = 2u16; // title/border + heading (compact) or borders (boxed)
    let so_h = (n_sos.max(1) as u16 + overhead + 1 + extra).min((rest.height / 3).max(4 + extra));
    let pods_h = rest.height.saturating_sub(so_h);
    let pods_area = take_top(&mut rest, pods_h);
    pods_table(buf, pods_area, pods, &needle, cx);
    so_table(buf, rest, n_sos, &needle, cx);
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

/// Where the pods come from in rank order for `sort`; ties keep namespace/name order.
fn compare(sort: PodSort, a: &PodView, b: &PodView) -> Ordering {
    fn phase_rank(p: &str) -> u8 {
        match p {
            "Failed" => 0,
            "Unknown" => 1,
            "Pending" => 2,
            "Running" => 3,
            "Succeeded" => 4,
            _ => 5,
        }
    }
    let (pa, pb) = (&a.pod, &b.pod);
    match sort {
        PodSort::Name => Ordering::Equal,
        PodSort::Phase => phase_rank(&pa.phase).cmp(&phase_rank(&pb.phase)),
        PodSort::Ready => pa.ready.cmp(&pb.ready),
        PodSort::Restarts => pb.restarts.cmp(&pa.restarts),
        PodSort::Age => a.age_seconds.total_cmp(&b.age_seconds),
        PodSort::Node => match (&pa.node, &pb.node) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        PodSort::Reason => match (&pa.reason, &pb.reason) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
    }
}

/// The visible window of the filtered pods in the chosen order. Name order is the snapshot's
/// own (one pass, no allocation beyond the window); other orders sort the matching indices.
fn pods_window(pods: &[PodView], needle: &str, sort: PodSort, rows: usize, sel: usize) -> Window {
    if sort == PodSort::Name {
        return window(pods, |p| pod_matches(p, needle), rows, sel);
    }
    let mut idx: Vec<usize> = pods
        .iter()
        .enumerate()
        .filter(|(_, p)| pod_matches(p, needle))
        .map(|(i, _)| i)
        .collect();
    idx.sort_by(|&a, &b| compare(sort, &pods[a], &pods[b]));
    let w = window(&idx, |_| true, rows, sel);
    Window {
        rows: w.rows.iter().filter_map(|&r| idx.get(r).copied()).collect(),
        ..w
    }
}

fn title_for(what: &str, n: usize, total: usize, filter: &str) -> String {
    if filter.is_empty() {
        format!("{what} ({total})")
    } else {
        format!("{what} ({n} of {total})  filter: {filter}")
    }
}

fn phase_style(phase: &str, cx: &Ctx) -> Style {
    match phase {
        "Running" => cx.st.text,
        "Pending" | "Unknown" => cx.st.warn,
        "Failed" => cx.st.crit,
        _ => cx.st.dim,
    }
}

fn pods_table(buf: &mut Buffer, area: Rect, pods: &[PodView], needle: &str, cx: &Ctx) {
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
    let win = pods_window(pods, needle, sort, rows, sel);
    let n = win.n;
    let mut title = title_for("Pods", n, total, ui.fleet.filter.trim());
    if sort != PodSort::Name {
        title = format!("{title}  sorted: {}", sort.label());
    }
    let inner = panel(buf, area, &title, Focus::Pane(focus), Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let tier = cx.tier;
    let name_w = match tier {
        Tier::Compact => 26,
        Tier::Standard => 30,
        Tier::Wide => 34,
    };
    let mut fixed: Vec<Col> = vec![l(1), l(name_w)];
    if tier == Tier::Wide {
        fixed.extend([l(10), l(16)]);
    }
    fixed.extend([l(9), l(5), r(4), r(5)]);
    if tier != Tier::Compact {
        fixed.push(l(14));
    }
    let reason_w = flex(inner.width, &fixed, 6);
    let th = st.table_header;
    // The sorted column's heading carries the sort mark.
    let head = |name: &'static str| -> std::borrow::Cow<'static, str> {
        if sort != PodSort::Name && sort.column() == name {
            // `ready` is as wide as its column: shorten it to make room for the mark.
            let short = if name == "ready" { "rdy" } else { name };
            format!("{short}{}", g.down).into()
        } else {
            name.into()
        }
    };
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(name_w), "name", th, g);
    if tier == Tier::Wide {
        c.cell(buf, l(10), "namespace", th, g);
        c.cell(buf, l(16), "path", th, g);
    }
    c.cell(buf, l(9), &head("phase"), th, g);
    c.cell(buf, l(5), &head("ready"), th, g);
    c.cell(buf, r(4), &head("rst"), th, g);
    c.cell(buf, r(5), &head("age"), th, g);
    if tier != Tier::Compact {
        c.cell(buf, l(14), &head("node"), th, g);
    }
    c.cell(buf, l(reason_w), &head("reason"), th, g);
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
    let (selected, offset) = (win.selected, win.offset);
    let visible = win
        .rows
        .iter()
        .enumerate()
        .filter_map(|(row, &idx)| pods.get(idx).map(|p| (row, (offset + row, p))));
    for (row, (i, pv)) in visible {
        let p = &pv.pod;
        let y = top + row as u16;
        let sel = focus && i == selected;
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(1), if sel { g.select } else { " " }, st.text, g);
        c.cell(buf, l(name_w), &p.name, st.text, g);
        if tier == Tier::Wide {
            c.cell(buf, l(10), &p.namespace, st.dim, g);
            let path = p.path.as_ref().map(|x| x.as_str()).unwrap_or(g.none);
            c.cell(buf, l(16), path, st.dim, g);
        }
        c.cell(buf, l(9), &p.phase, phase_style(&p.phase, cx), g);
        let (mark, style) = if p.ready {
            (g.ok, st.ok)
        } else {
            (g.warn, st.warn)
        };
        let ready = format!("{mark}{}/{}", p.ready_containers, p.total_containers);
        c.cell(buf, l(5), &ready, style, g);
        let rs = if p.restarts >= 5 {
            st.crit
        } else if p.restarts > 0 {
            st.warn
        } else {
            st.text
        };
        c.cell(buf, r(4), &p.restarts.to_string(), rs, g);
        c.cell(
            buf,
            r(5),
            &text::age(Some(pv.age_seconds), g.none),
            st.text,
            g,
        );
        if tier != Tier::Compact {
            c.cell(buf, l(14), p.node.as_deref().unwrap_or(g.none), st.dim, g);
        }
        if let Some(reason) = &p.reason {
            let rs = if reason.contains("CrashLoop")
                || reason.contains("Error")
                || reason.contains("OOMKilled")
            {
                st.crit
            } else {
                st.warn
            };
            match &p.message {
                Some(m) => c.cell(buf, l(reason_w), &format!("{reason}: {m}"), rs, g),
                None => c.cell(buf, l(reason_w), reason, rs, g),
            }
        }
        if sel {
            highlight(buf, inner.x, y, inner.width, st.selection);
        }
    }
    if n > rows {
        let pos = format!(" {}-{} of {n} ", offset + 1, (offset + rows).min(n));
        let pw = width(&pos) as u16;
        if cx.boxed() {
            put(
                buf,
                area.right().saturating_sub(pw + 2),
                area.bottom() - 1,
                pw,
                &pos,
                st.dim,
                g,
            );
        } else {
            put(
                buf,
                area.right().saturating_sub(pw),
                area.y,
                pw,
                &pos,
                st.dim,
                g,
            );
        }
    }
}

fn so_table(buf: &mut Buffer, area: Rect, n: usize, needle: &str, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let focus = ui.fleet.pane == FleetPane::ScaledObjects;
    let total = cx.snap.fleet.scaled_objects.len();
    let title = title_for("KEDA ScaledObjects", n, total, ui.fleet.filter.trim());
    let inner = panel(buf, area, &title, Focus::Pane(focus), Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let tier = cx.tier;
    let name_w = if tier == Tier::Compact { 14 } else { 18 };
    let mut fixed: Vec<Col> = vec![l(1), l(name_w)];
    if tier != Tier::Compact {
        fixed.push(l(24));
    }
    fixed.extend([r(7), r(7), l(21), r(4), r(11), r(5)]);
    let trig_w = if tier == Tier::Compact {
        0
    } else {
        flex(inner.width, &fixed, 0).saturating_sub(1)
    };
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(name_w), "name", th, g);
    if tier != Tier::Compact {
        c.cell(buf, l(24), "target", th, g);
    }
    c.cell(buf, r(7), "min-max", th, g);
    let cur_head = format!("cur{}des", g.arrow);
    c.cell(buf, r(7), &cur_head, th, g);
    c.cell(buf, l(21), "state", th, g);
    c.cell(buf, r(4), "fail", th, g);
    c.cell(buf, r(11), "metric/tgt", th, g);
    c.cell(buf, r(5), "scale", th, g);
    if trig_w > 0 {
        c.cell(buf, l(trig_w), "triggers", th, g);
    }
    let problems = pane_problems(cx, false);
    let top = inner.y + 1 + draw_problems(buf, inner, inner.y + 1, &problems, cx);
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
    // The selected (or first) ScaledObject's conditions take the pane's last rows.
    let detail = detail_for(cx, needle).unwrap_or_default();
    let avail = inner.bottom().saturating_sub(top);
    let detail_h = if avail > detail.len() as u16 {
        detail.len() as u16
    } else {
        0
    };
    let dy = inner.bottom() - detail_h;
    for (k, spans) in detail.iter().enumerate().take(detail_h as usize) {
        let mut c = Cursor::new(inner, dy + k as u16);
        c.skip(2);
        for (t, style) in spans {
            c.text(buf, t, *style, g);
        }
    }
    let rows = avail.saturating_sub(detail_h) as usize;
    if rows == 0 {
        return;
    }
    let selected = ui.fleet.selected.min(n - 1);
    let offset = if focus {
        scroll_offset(n, rows, selected)
    } else {
        0
    };
    let visible = cx
        .snap
        .fleet
        .scaled_objects
        .iter()
        .filter(|s| so_matches(s, needle))
        .enumerate()
        .skip(offset)
        .take(rows);
    for (row, (i, sv)) in visible.enumerate() {
        let so = &sv.scaled_object;
        let y = top + row as u16;
        let sel = focus && i == selected;
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(1), if sel { g.select } else { " " }, st.text, g);
        c.cell(buf, l(name_w), &so.name, st.text, g);
        if tier != Tier::Compact {
            c.cell(buf, l(24), &so.target, st.dim, g);
        }
        c.cell(
            buf,
            r(7),
            &format!("{}-{}", so.min_replicas, so.max_replicas),
            st.text,
            g,
        );
        let reps = if so.replicas_known() {
            format!("{}{}{}", so.current_replicas, g.arrow, so.desired_replicas)
        } else {
            format!("{}{}{}", g.none, g.arrow, g.none)
        };
        let rs = if !so.replicas_known() || so.current_replicas == so.desired_replicas {
            st.text
        } else {
            st.warn
        };
        c.cell(buf, r(7), &reps, rs, g);
        let (sx, sw) = c.take(21);
        let mut s = Cursor {
            x: sx,
            y,
            end: sx + sw,
        };
        for (word, style) in parts::keda_states(so, st) {
            if !word.is_empty() {
                s.text(buf, word, style, g);
                s.skip(1);
            }
        }
        let (fs, ftxt) = if so.failing_triggers > 0 {
            (st.crit, format!("{}{}", g.crit, so.failing_triggers))
        } else {
            (st.text, "0".to_string())
        };
        c.cell(buf, r(4), &ftxt, fs, g);
        let metric = format!(
            "{}/{}",
            so.metric_value
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| g.none.into()),
            so.metric_target
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| g.none.into()),
        );
        let ms = match (so.metric_value, so.metric_target) {
            (Some(v), Some(t)) if v > t => st.warn,
            _ => st.text,
        };
        c.cell(buf, r(11), &metric, ms, g);
        let last = text::age(parts::age_of(cx, so.last_scale), g.none);
        c.cell(buf, r(5), &last, st.text, g);
        if trig_w > 0 {
            let trig = so.triggers.join(",");
            let trig = match &so.message {
                Some(m) => format!("{trig}  {m}"),
                None => trig,
            };
            c.cell(buf, l(trig_w), &trig, st.dim, g);
        }
        if sel {
            highlight(buf, inner.x, y, inner.width, st.selection);
        }
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
    }
    .map(|s| &s.scaled_object)?;
    if so.conditions.is_empty() && so.hpa_conditions.is_empty() {
        return None;
    }
    let (st, g) = (cx.st, cx.g);
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
    let mut lines = vec![keda, hpa];
    if let Some(m) = &so.message {
        lines.push(vec![(format!("{} {m}", g.warn), st.warn)]);
    }
    Some(lines)
}
