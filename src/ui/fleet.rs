//! Fleet: pods and KEDA ScaledObjects. Only visible rows are formatted, so it stays fast with
//! thousands of pods; the filter is matched without allocating.
use super::paint::{
    draw_box, flex, highlight, l, put, r, scroll_offset, take_top, window, Col, Ctx, Cursor, Tier,
};
use super::parts;
use super::state::FleetPane;
use super::text::{self, contains_ci, width};
use crate::model::snapshot::{PodView, ScaledObjectView};
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

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let ui = cx.ui;
    let needle = ui.fleet.filter.trim().to_lowercase();
    let pods = &cx.snap.fleet.pods[..];
    let sos = &cx.snap.fleet.scaled_objects;
    let n_sos = sos.iter().filter(|s| so_matches(s, &needle)).count();
    // ScaledObjects get what they need up to a third of the body; pods the rest.
    let overhead = 2u16; // title/border + heading (compact) or borders (boxed)
    let so_h = (n_sos.max(1) as u16 + overhead + 1).min((body.height / 3).max(4));
    let mut rest = body;
    let pods_area = take_top(&mut rest, body.height.saturating_sub(so_h));
    pods_table(buf, pods_area, pods, &needle, cx);
    so_table(buf, rest, n_sos, &needle, cx);
}

fn pane_frame(buf: &mut Buffer, area: Rect, title: &str, focus: bool, cx: &Ctx) -> Rect {
    let (st, g) = (cx.st, cx.g);
    if cx.boxed() {
        let border = if focus { st.border_focus } else { st.border };
        let t = if focus {
            format!("{} {title}", g.select)
        } else {
            title.to_string()
        };
        draw_box(buf, area, &t, border, st.title, g)
    } else {
        let mut a = area;
        let t = take_top(&mut a, 1);
        let mut c = Cursor::new(t, t.y);
        if focus {
            c.text(buf, g.select, st.title, g);
            c.skip(1);
        }
        c.text(
            buf,
            title,
            if focus { st.title } else { st.table_header },
            g,
        );
        a
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
    // Rows below the title/border and the heading; one pass finds the count and the rows.
    let chrome = if cx.boxed() { 3 } else { 2 };
    let rows = area.height.saturating_sub(chrome) as usize;
    let sel = if focus { ui.fleet.selected } else { 0 };
    let win = window(pods, |p| pod_matches(p, needle), rows, sel);
    let n = win.n;
    let title = title_for("Pods", n, total, ui.fleet.filter.trim());
    let inner = pane_frame(buf, area, &title, focus, cx);
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
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(name_w), "name", th, g);
    if tier == Tier::Wide {
        c.cell(buf, l(10), "namespace", th, g);
        c.cell(buf, l(16), "path", th, g);
    }
    c.cell(buf, l(9), "phase", th, g);
    c.cell(buf, l(5), "ready", th, g);
    c.cell(buf, r(4), "rst", th, g);
    c.cell(buf, r(5), "age", th, g);
    if tier != Tier::Compact {
        c.cell(buf, l(14), "node", th, g);
    }
    c.cell(buf, l(reason_w), "reason", th, g);

    if n == 0 {
        let msg = if needle.is_empty() {
            "no pods reported".to_string()
        } else {
            format!("no pod matches '{}'", ui.fleet.filter.trim())
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
    let (selected, offset) = (win.selected, win.offset);
    let visible = win
        .rows
        .iter()
        .enumerate()
        .filter_map(|(row, &idx)| pods.get(idx).map(|p| (row, (offset + row, p))));
    for (row, (i, pv)) in visible {
        let p = &pv.pod;
        let y = inner.y + 1 + row as u16;
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
            let rs = if reason.contains("CrashLoop") || reason.contains("Error") {
                st.crit
            } else {
                st.warn
            };
            c.cell(buf, l(reason_w), reason, rs, g);
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
    let inner = pane_frame(buf, area, &title, focus, cx);
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
    if n == 0 {
        let msg = if needle.is_empty() {
            "no ScaledObjects reported".to_string()
        } else {
            format!("no ScaledObject matches '{}'", ui.fleet.filter.trim())
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
    let rows = (inner.height - 1) as usize;
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
        let y = inner.y + 1 + row as u16;
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
        let reps = format!("{}{}{}", so.current_replicas, g.arrow, so.desired_replicas);
        let rs = if so.current_replicas == so.desired_replicas {
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
