//! Traces: the session list (newest first, filterable) and, for the open session, a waterfall
//! of its spans across both sides with a detail pane for the selected span.
use super::overview::session_flags;
use super::paint::{
    flex, highlight, l, panel, put, r, repeat, scroll_offset, split_h, take_top, window, Bare, Col,
    Ctx, Cursor, Focus, Tier,
};
use super::parts;
use super::text::{self, contains_ci, width};
use crate::action::Action;
use crate::model::snapshot::{SessionDetail, SessionRow, SpanView};
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
    for y in area.top()..area.bottom() {
        repeat(buf, area.x, y, area.width, " ", st.text);
    }
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

fn list(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let (st, g, ui) = (cx.st, cx.g, cx.ui);
    let all = &cx.snap.sessions.all;
    let needle = ui.traces.filter.trim().to_lowercase();
    let chrome = if cx.boxed() { 3 } else { 2 };
    let rows = body.height.saturating_sub(chrome) as usize;
    let win = window(
        all,
        |s| session_matches(s, &needle),
        rows,
        ui.traces.selected,
    );
    let n = win.n;
    let mut title = format!("Sessions {n} of {} (newest first)", all.len());
    if !needle.is_empty() {
        title.push_str(&format!("  filter: {}", ui.traces.filter.trim()));
    }
    let inner = panel(buf, body, &title, Focus::Always, Bare::TitleRow, cx).inner;
    if !needle.is_empty() && !cx.boxed() {
        // Make the active filter stand out in the compact title row.
        let tw = width(&title) as u16;
        let fw = width(ui.traces.filter.trim()) as u16;
        highlight(buf, body.x + tw.saturating_sub(fw), body.y, fw, st.filter);
    }
    if inner.height < 2 || inner.width == 0 {
        return;
    }
    let long = cx.tier == Tier::Wide;
    let sides_w = if long { 13 } else { 4 };
    let mut fixed: Vec<Col> = vec![l(1), l(16), l(sides_w), r(5), r(7), r(8)];
    if long {
        fixed.extend([r(8), r(3), r(3)]);
    }
    fixed.push(l(12));
    let paths_w = flex(inner.width, &fixed, 8);
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(16), "session", th, g);
    c.cell(buf, l(sides_w), "side", th, g);
    c.cell(buf, l(paths_w), "paths", th, g);
    c.cell(buf, r(5), "spans", th, g);
    c.cell(buf, r(7), "dur", th, g);
    c.cell(buf, r(8), "cost", th, g);
    if long {
        c.cell(buf, r(8), "started", th, g);
        c.cell(buf, r(3), "ho", th, g);
        c.cell(buf, r(3), "err", th, g);
    }
    c.cell(buf, l(12), "flags", th, g);

    if n == 0 {
        let msg = if needle.is_empty() {
            "no sessions in the window yet".to_string()
        } else {
            format!("no session matches '{}'", ui.traces.filter.trim())
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
    let mut paths_buf = String::with_capacity(64);
    let visible = win
        .rows
        .iter()
        .enumerate()
        .filter_map(|(row, &idx)| all.get(idx).map(|s| (row, (offset + row, s))));
    for (row, (i, s)) in visible {
        let y = inner.y + 1 + row as u16;
        let mut c = Cursor::new(inner, y);
        let sel = i == selected;
        c.cell(buf, l(1), if sel { g.select } else { " " }, st.text, g);
        c.cell(buf, l(16), &s.session_id, st.text, g);
        c.cell(
            buf,
            l(sides_w),
            parts::sides_text(&s.sides, long),
            st.text,
            g,
        );
        paths_buf.clear();
        for (k, p) in s.paths.iter().enumerate() {
            if k > 0 {
                paths_buf.push(',');
            }
            paths_buf.push_str(p.as_str());
        }
        c.cell(buf, l(paths_w), &paths_buf, st.dim, g);
        c.cell(buf, r(5), &s.spans.to_string(), st.text, g);
        c.cell(buf, r(7), &text::duration_ms(s.duration_ms), st.text, g);
        c.cell(buf, r(8), &text::usd(s.cost_usd, 4, g.none), st.text, g);
        if long {
            let t = s.started_at.format("%H:%M:%S").to_string();
            c.cell(buf, r(8), &t, st.dim, g);
            c.cell(buf, r(3), &s.handoffs.to_string(), st.text, g);
            let es = if s.errors > 0 { st.crit } else { st.text };
            c.cell(buf, r(3), &s.errors.to_string(), es, g);
        }
        session_flags(buf, &mut c, s.escalated, s.orphan_spans, cx);
        if sel {
            highlight(buf, inner.x, y, inner.width, st.selection);
        }
    }
    // Scroll position when the list is longer than the pane.
    if n > rows && cx.boxed() {
        let pos = format!(" {}-{} of {n} ", offset + 1, (offset + rows).min(n));
        let pw = width(&pos) as u16;
        let x = body.right().saturating_sub(pw + 2);
        put(buf, x, body.bottom() - 1, pw, &pos, st.dim, g);
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
    let title = format!(
        "Session {} {d_} started {} {d_} {} {d_} {} spans {d_} {}",
        d.session_id,
        d.started_at.format("%H:%M:%S"),
        text::duration_ms(total),
        d.spans.len(),
        text::usd(Some(cost), 4, g.none),
        d_ = g.dot,
    );
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
    let name_w = (inner.width / 4).clamp(22, 44);
    let fixed = [l(1), l(1), l(9), l(name_w), r(7)];
    let tl_w = flex(inner.width, &fixed, 10);
    let th = st.table_header;
    // Heading with the time axis labels.
    let hy = inner.y;
    let mut c = Cursor::new(inner, hy);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(1), "", th, g);
    c.cell(buf, l(9), "marks", th, g);
    c.cell(buf, l(name_w), "span", th, g);
    let (tx, tw) = c.take(tl_w);
    c.cell(buf, r(7), "dur", th, g);
    axis(buf, tx, hy, tw, total, cx);

    let rows = (inner.height - 1) as usize;
    let n = d.spans.len();
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
    let selected = cx.ui.traces.span_selected.min(n - 1);
    let offset = scroll_offset(n, rows, selected);
    for (row, (i, s)) in d
        .spans
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + 1 + row as u16;
        let sel = i == selected;
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(1), if sel { g.select } else { " " }, st.text, g);
        let side_style = parts::side_style(s.side, st);
        c.cell(buf, l(1), parts::side_letter(s.side), side_style, g);
        // Marks: escalation (else hand-off), orphan, error/warning — symbol and word each.
        let (mx, mw) = c.take(9);
        let mut m = Cursor {
            x: mx,
            y,
            end: mx + mw,
        };
        if s.escalation {
            m.text(buf, g.escalation, st.warn, g);
            m.text(buf, "esc", st.warn, g);
        } else if s.handoff {
            m.text(buf, g.handoff, st.info, g);
            m.text(buf, "ho", st.info, g);
        }
        if s.orphan_parent.is_some() {
            if m.x > mx {
                m.skip(1);
            }
            m.text(buf, g.orphan, st.crit, g);
            m.text(buf, "orph", st.crit, g);
        } else if s.level == crate::model::update::Level::Error {
            if m.x > mx {
                m.skip(1);
            }
            m.text(buf, g.crit, st.crit, g);
            m.text(buf, "err", st.crit, g);
        }
        // Name, indented by depth.
        let (nx, nw) = c.take(name_w);
        let indent = (depth(d, s) as u16).min(nw / 4);
        let name_style = parts::level_style(s.level, st);
        let name_style = if s.level == crate::model::update::Level::Default {
            st.text
        } else {
            name_style
        };
        put(buf, nx + indent, y, nw - indent, &s.name, name_style, g);
        // Bar on the time axis.
        let (bx, bw) = c.take(tl_w);
        if bw > 0 {
            let x0 = ((s.start_ms / total) * f64::from(bw)).floor().max(0.0) as u16;
            let x0 = x0.min(bw - 1);
            let len = match s.duration_ms {
                Some(dur) => (((dur / total) * f64::from(bw)).round() as u16).max(1),
                None => 0,
            };
            let len = len.min(bw - x0);
            if len == 0 {
                repeat(buf, bx + x0, y, 1, g.tick, side_style);
            } else {
                repeat(
                    buf,
                    bx + x0,
                    y,
                    len,
                    parts::side_fill(s.side, g),
                    side_style,
                );
            }
            // The orphan's missing parent: right after the bar when it fits, else before it
            // (a late span's bar ends at the axis' end).
            if let Some(p) = &s.orphan_parent {
                let note = format!(" {} parent {p} missing", g.orphan);
                let nw = width(&note) as u16;
                let after = x0 + len.max(1);
                if bw >= after + nw || (bw > after + 8 && x0 < nw + 1) {
                    put(buf, bx + after, y, bw - after, &note, st.crit, g);
                } else if x0 > nw {
                    put(buf, bx + x0 - nw - 1, y, nw, &note, st.crit, g);
                } else if bw > after + 8 {
                    put(buf, bx + after, y, bw - after, &note, st.crit, g);
                }
            }
        }
        let dur = s
            .duration_ms
            .map(text::duration_ms)
            .unwrap_or_else(|| g.none.to_string());
        c.cell(buf, r(7), &dur, st.text, g);
        if sel {
            highlight(buf, inner.x, y, inner.width, st.selection);
        }
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
