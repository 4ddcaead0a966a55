//! Traces: the session list (newest first, filterable) and, for the open session, a waterfall
//! of its spans across both sides with a detail pane for the selected span.
use super::paint::{
    highlight, panel, put, repeat, split_h, take_top, Bare, Ctx, Cursor, Focus, Tier,
};
use super::parts;
use super::state::UiState;
use super::table::layout::Layout;
use super::table::rows::{scroll_note, scroll_offset, window, Rows, Window};
use super::table::sessions::{self, session_flags};
use super::table::spans::{self, SpanRow};
use super::text::{self, contains_ci, width};
use crate::action::Action;
use crate::model::snapshot::{SessionDetail, SessionRow, Snapshot, SpanView};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    match &cx.ui.traces.open {
        Some(id) => match cx
            .snap
            .sessions
            .detail
            .as_ref()
            .filter(|d| &d.session_id == id)
        {
            Some(d) => waterfall(buf, body, d, cx),
            None => {
                let inner = panel(buf, body, "Session", Focus::None, Bare::TitleRow, cx).inner;
                let msg = format!("loading session {id}{}", cx.g.ellipsis);
                put(buf, inner.x, inner.y, inner.width, &msg, cx.st.dim, cx.g);
            }
        },
        None => list(buf, body, cx),
    }
    if let Some(url) = &cx.ui.traces.url {
        url_popup(buf, body, url, cx);
    }
}

/// The trace's Langfuse URL over the bottom of the pane, whole (wrapped by display width, never
/// truncated) so it can be selected and copied.
fn url_popup(buf: &mut Buffer, body: Rect, url: &str, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let inner_w = body.width.saturating_sub(4).max(1) as usize;
    let mut lines: Vec<&str> = Vec::new();
    let mut rest = url;
    while !rest.is_empty() && lines.len() < 8 {
        let (head, tail) = text::split_at_width(rest, inner_w);
        if head.is_empty() {
            break;
        }
        lines.push(head);
        rest = tail;
    }
    let h = (lines.len() as u16 + 3).min(body.height);
    let area = Rect::new(body.x, body.bottom().saturating_sub(h), body.width, h);
    super::paint::clear_overlay(buf, area, st.text);
    let title = "Langfuse trace URL";
    let inner = panel(buf, area, title, Focus::Always, Bare::Boxed, cx).inner;
    for (i, l) in lines.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.bottom() {
            return;
        }
        put(
            buf,
            inner.x + 1,
            y,
            inner.width.saturating_sub(1),
            l,
            st.accent,
            g,
        );
    }
    let hint = format!(
        "select to copy {} {} or {} closes",
        g.dot,
        cx.ui.keymap.label(Action::Back),
        cx.ui.keymap.label(Action::TraceUrl)
    );
    let y = inner.y + lines.len() as u16;
    if y < inner.bottom() {
        put(
            buf,
            inner.x + 1,
            y,
            inner.width.saturating_sub(1),
            &hint,
            st.dim,
            g,
        );
    }
}

/// Substring match over the session id, its paths and the words `escalated` / `orphan` /
/// `error` / `hybrid` when they apply. `needle` is lower-case.
pub fn session_matches(s: &SessionRow, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    contains_ci(&s.session_id, needle)
        || s.paths.iter().any(|p| contains_ci(p.as_str(), needle))
        || (s.escalated && "escalated".contains(needle))
        || (s.orphan_spans > 0 && "orphan".contains(needle))
        || (s.errors > 0 && "error".contains(needle))
        || (s.hybrid && "hybrid".contains(needle))
}

/// The Traces list's visible sessions and where they are on screen: two rows into the body
/// (title or border, then the heading) in every tier. Drawing and mouse clicks both use it.
pub fn list_window(body: Rect, boxed: bool, snap: &Snapshot, ui: &UiState) -> (Window, Rows) {
    let needle = ui.traces.filter.trim().to_lowercase();
    let chrome = if boxed { 3 } else { 2 };
    let rows = body.height.saturating_sub(chrome) as usize;
    let all = &snap.sessions.all;
    let win = window(
        all,
        |s| session_matches(s, &needle),
        rows,
        ui.traces.selected,
    );
    let at = Rows::new(body.y + 2, rows, &win);
    (win, at)
}

fn list(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let all = &cx.snap.sessions.all;
    let filter = ui.traces.filter.trim();
    let (win, at) = list_window(body, cx.boxed(), cx.snap, ui);
    let n = win.n;
    let mut title = format!("Sessions {n} of {} (newest first)", all.len());
    if let Some(cap) = cx.snap.sessions.capped_at {
        // The cap pushed out sessions still in the window: counts are floors.
        title.push_str(&format!(
            " {} capped at {cap}: counts are at least",
            cx.g.dot
        ));
    }
    if let Some(w) = &cx.snap.sessions.waterfalls {
        // Figures come from every root; whole waterfalls from a sample (roots first).
        title.push_str(&format!(" {} {}", cx.g.dot, parts::waterfall_sample(w)));
    }
    if !filter.is_empty() {
        title.push_str(&format!("  filter: {filter}"));
    }
    let inner = panel(buf, body, &title, Focus::Always, Bare::TitleRow, cx).inner;
    if !filter.is_empty() && !cx.boxed() {
        // Make the active filter stand out in the compact title row.
        let tw = width(&title) as u16;
        let fw = width(filter) as u16;
        highlight(buf, body.x + tw.saturating_sub(fw), body.y, fw, st.filter);
    }
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let visible = win.rows.iter().filter_map(|&i| all.get(i));
    let table = Layout::new(&sessions::LIST, inner, true, cx, visible.clone());
    table.head(buf, inner.y, cx, None, None);
    if n == 0 {
        let msg = if filter.is_empty() {
            "no sessions in the window yet".to_string()
        } else {
            format!("no session matches '{filter}'")
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
    for (row, s) in visible.enumerate() {
        let sel = win.offset + row == win.selected;
        table.row(buf, at.top + row as u16, s, sel, cx);
    }
    if cx.boxed() {
        scroll_note(buf, body, &at, cx);
    }
}

/// Depth of a span in its session's tree (capped), by walking parent ids.
fn depth(d: &SessionDetail, s: &SpanView) -> usize {
    let mut depth = 0;
    let mut parent = s.parent_observation_id.as_deref();
    while let Some(p) = parent {
        if depth >= 4 {
            break;
        }
        match d.spans.iter().find(|x| x.id == p) {
            Some(ps) => {
                depth += 1;
                parent = ps.parent_observation_id.as_deref();
            }
            None => break,
        }
    }
    depth
}

fn waterfall(buf: &mut Buffer, body: Rect, d: &SessionDetail, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let n = d.spans.len() as u16;
    let (top, detail_area) = match cx.tier {
        Tier::Wide => split_h(body, body.width.saturating_sub(72)),
        _ => {
            // The waterfall takes what its spans need; the detail pane keeps at least 7 rows.
            let chrome = if cx.boxed() { 3 } else { 2 };
            let top_h = (n + chrome)
                .min(body.height.saturating_sub(7))
                .max(chrome + 1);
            let mut rest = body;
            let top = take_top(&mut rest, top_h);
            (top, rest)
        }
    };
    // Session summary in the title; the row's duration when the list has it.
    let row = cx
        .snap
        .sessions
        .all
        .iter()
        .find(|r| r.session_id == d.session_id);
    let span_end = d
        .spans
        .iter()
        .map(|s| s.start_ms + s.duration_ms.unwrap_or(0.0))
        .fold(0.0f64, f64::max);
    let total = row
        .map(|r| r.duration_ms)
        .unwrap_or(0.0)
        .max(span_end)
        .max(1.0);
    let esc = d.spans.iter().any(|s| s.escalation);
    let orphans = d.spans.iter().filter(|s| s.orphan_parent.is_some()).count();
    let cost: f64 = d.spans.iter().filter_map(|s| s.cost_usd).sum();
    let mut title = format!(
        "Session {} {d_} started {} {d_} {} {d_} {} spans {d_} {}",
        d.session_id,
        d.started_at.format("%H:%M:%S"),
        text::duration_ms(total),
        d.spans.len(),
        text::usd(Some(cost), 4, g.none),
        d_ = g.dot,
    );
    if d.roots_only {
        // Polled roots first: say the children are missing, and whether they are coming.
        title.push_str(&if cx.ui.traces.children_asked {
            format!(" {} roots only, reading children{}", g.dot, g.ellipsis)
        } else {
            format!(" {} roots only (children not sampled)", g.dot)
        });
    }
    let inner = panel(buf, top, &title, Focus::Always, Bare::TitleRow, cx).inner;
    if inner.height < 2 || inner.width < 20 {
        return;
    }
    // Flags after the title, on a blanked stretch of the title row.
    if esc || orphans > 0 {
        let tx = top.x + width(&title) as u16 + if cx.boxed() { 3 } else { 0 };
        let end = top.right().saturating_sub(if cx.boxed() { 2 } else { 0 });
        if tx + 12 < end {
            repeat(buf, tx, top.y, 13, " ", st.border);
            let mut c = Cursor {
                x: tx + 1,
                y: top.y,
                end,
            };
            session_flags(buf, &mut c, esc, orphans as u32, cx);
        }
    }
    let rows = (inner.height - 1) as usize;
    let n = d.spans.len();
    let selected = cx.ui.traces.span_selected.min(n.saturating_sub(1));
    let offset = scroll_offset(n, rows, selected);
    let visible: Vec<SpanRow> = d
        .spans
        .iter()
        .skip(offset)
        .take(rows)
        .map(|s| SpanRow {
            span: s,
            depth: depth(d, s) as u16,
            total,
        })
        .collect();
    let cols = spans::columns();
    let table = Layout::new(&cols, inner, true, cx, &visible);
    table.head(buf, inner.y, cx, None, None);
    if let Some((x, w)) = table.span("timeline") {
        axis(buf, x, inner.y, w, total, cx);
    }
    if n == 0 {
        put(
            buf,
            inner.x + 2,
            inner.y + 1,
            inner.width,
            "no spans",
            st.dim,
            g,
        );
        return;
    }
    for (row, r) in visible.iter().enumerate() {
        let y = inner.y + 1 + row as u16;
        table.row(buf, y, r, offset + row == selected, cx);
    }
    let sel = d.spans.get(selected);
    if let Some(s) = sel {
        span_detail(buf, detail_area, s, cx);
    }
}

/// Tick labels at 0, ¼, ½, ¾ and the end of the time axis.
fn axis(buf: &mut Buffer, x: u16, y: u16, w: u16, total: f64, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    if w < 8 {
        return;
    }
    repeat(buf, x, y, w, g.axis, st.dim);
    let labels = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut last_end = 0u16;
    for (k, f) in labels.iter().enumerate() {
        let s = if k == 0 {
            "0".to_string()
        } else {
            text::duration_ms(total * f)
        };
        let sw = width(&s) as u16;
        let pos = ((f * f64::from(w - 1)).round() as u16).min(w - 1);
        // Left-align the first label, right-align the last, centre the rest.
        let lx = if k == 0 {
            0
        } else if k == labels.len() - 1 {
            w.saturating_sub(sw)
        } else {
            pos.saturating_sub(sw / 2)
        };
        if k > 0 && lx < last_end + 1 {
            continue;
        }
        if k < labels.len() - 1 && k > 0 && lx + sw + 1 > w.saturating_sub(6) {
            continue;
        }
        if k > 0 && k < labels.len() - 1 {
            repeat(buf, x + pos, y, 1, g.axis_tick, st.dim);
        }
        put(buf, x + lx, y, sw, &s, st.table_header, g);
        last_end = lx + sw;
    }
}

fn span_detail(buf: &mut Buffer, area: Rect, s: &SpanView, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let inner = panel(buf, area, "Span", Focus::None, Bare::TitleRow, cx).inner;
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let mut y = inner.y;
    let line = |y: &mut u16| -> Option<Cursor> {
        if *y >= inner.bottom() {
            return None;
        }
        let c = Cursor::new(inner, *y);
        *y += 1;
        Some(c)
    };
    // Compact: the span name goes on the title row after "Span".
    if let Some(mut c) = if cx.boxed() {
        line(&mut y)
    } else {
        Some(Cursor {
            x: area.x + 5,
            y: area.y,
            end: area.right(),
        })
    } {
        let side = s.side.map(|x| x.as_str()).unwrap_or("?");
        c.text(
            buf,
            parts::side_letter(s.side),
            parts::side_style(s.side, st),
            g,
        );
        c.skip(1);
        c.text(buf, &s.name, st.title, g);
        let path = s.path.as_ref().map(|p| p.as_str()).unwrap_or(g.none);
        c.text(
            buf,
            &format!("  {side} {} {path} {} {}", g.dot, g.dot, s.id),
            st.dim,
            g,
        );
        if let Some(u) = &s.user_id {
            c.text(buf, &format!(" {} user {u}", g.dot), st.dim, g);
        }
    }
    if let Some(mut c) = line(&mut y) {
        let field = |c: &mut Cursor, buf: &mut Buffer, k: &str, v: &str| {
            c.text(buf, k, st.dim, g);
            c.skip(1);
            c.text(buf, v, st.text, g);
            c.skip(2);
        };
        field(&mut c, buf, "model", s.model.as_deref().unwrap_or(g.none));
        let toks = format!(
            "{}{}{}",
            s.input_tokens
                .map(|v| v.to_string())
                .unwrap_or_else(|| g.none.into()),
            g.arrow,
            s.output_tokens
                .map(|v| v.to_string())
                .unwrap_or_else(|| g.none.into())
        );
        field(&mut c, buf, "tokens", &toks);
        field(&mut c, buf, "cost", &text::usd(s.cost_usd, 5, g.none));
        let lat = s
            .duration_ms
            .map(text::duration_ms)
            .unwrap_or_else(|| g.none.into());
        field(&mut c, buf, "latency", &lat);
        c.text(buf, "level", st.dim, g);
        c.skip(1);
        c.text(
            buf,
            parts::level_word(s.level),
            parts::level_style(s.level, st),
            g,
        );
    }
    if s.escalation || s.handoff {
        if let Some(mut c) = line(&mut y) {
            if s.escalation {
                let t = format!(
                    "{} escalation: EKS {} AgentCore hand-off",
                    g.escalation, g.arrow
                );
                c.text(buf, &t, st.warn, g);
            } else {
                c.text(
                    buf,
                    &format!("{} hand-off: side changed", g.handoff),
                    st.info,
                    g,
                );
            }
        }
    }
    if let Some(p) = &s.orphan_parent {
        if let Some(mut c) = line(&mut y) {
            let t = format!(
                "{} orphan: declares parent {p}, which never appeared",
                g.orphan
            );
            c.text(buf, &t, st.crit, g);
        }
    }
    if let Some(m) = &s.status_message {
        if let Some(mut c) = line(&mut y) {
            c.text(buf, "status ", st.dim, g);
            c.text(buf, m, parts::level_style(s.level, st), g);
        }
    }
    // Input and output share the rows left (keeping one for the trace line), wrapped.
    let payloads = [
        ("input  ", s.input.as_deref()),
        ("output ", s.output.as_deref()),
    ];
    let present = payloads.iter().filter(|(_, v)| v.is_some()).count() as u16;
    let left = inner.bottom().saturating_sub(y).saturating_sub(1);
    if let Some(per) = left.checked_div(present) {
        let per = per.max(1);
        for (k, v) in payloads {
            let Some(v) = v else { continue };
            let kw = width(k) as u16;
            let mut rest = v;
            for i in 0..per {
                let Some(mut c) = line(&mut y) else { break };
                c.text(buf, if i == 0 { k } else { "" }, st.dim, g);
                c.skip(if i == 0 { 0 } else { kw });
                let w = c.remaining() as usize;
                let (head, tail) = if i + 1 == per {
                    (rest, "")
                } else {
                    text::split_at_width(rest, w)
                };
                c.text(buf, head, st.text, g);
                rest = tail.trim_start();
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    if let Some(mut c) = line(&mut y) {
        c.text(buf, "trace ", st.dim, g);
        c.text(buf, &s.trace_id, st.dim, g);
        if let Some(p) = &s.parent_observation_id {
            c.text(buf, &format!("  parent {p}"), st.dim, g);
        }
    }
}
