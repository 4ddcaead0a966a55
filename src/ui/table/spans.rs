//! The Traces waterfall: one row per span, its bar on the session's time axis.
use super::{Column, Width};
use crate::model::snapshot::SpanView;
use crate::model::update::Level;
use crate::ui::paint::{put, repeat, Ctx, Cursor};
use crate::ui::parts;
use crate::ui::text::{self, width};
use ratatui::buffer::Buffer;

type Span<'a> = Column<SpanRow<'a>>;

pub struct SpanRow<'a> {
    pub span: &'a SpanView,
    /// Depth in the session's tree, for the indent.
    pub depth: u16,
    /// The axis' length: the session's duration in ms.
    pub total: f64,
}

/// The waterfall's columns; the view draws the time axis over the `timeline` heading.
pub const fn columns<'a>() -> [Column<SpanRow<'a>>; 5] {
    [
        Span::text("side", Width::Fixed(1), |r, cx| {
            let side = r.span.side;
            (
                parts::side_letter(side).into(),
                parts::side_style(side, cx.st),
            )
        })
        .head(|_, _| "".into()),
        Span::draw("marks", Width::Fixed(9), marks),
        Span::draw("span", Width::Of(|w| (w / 4).clamp(22, 44)), name),
        Span::draw("timeline", Width::fill(10), timeline).head(|_, _| "".into()),
        Span::text("dur", Width::Fixed(7), |r, cx| {
            let d = r.span.duration_ms;
            (
                d.map_or_else(|| cx.g.none.to_string(), text::duration_ms)
                    .into(),
                cx.st.text,
            )
        })
        .right(),
    ]
}

/// Escalation (else hand-off), orphan, error: a symbol and a word each.
fn marks(buf: &mut Buffer, (x, y, w): (u16, u16, u16), r: &SpanRow, cx: &Ctx) {
    let (st, g, s) = (cx.st, cx.g, r.span);
    let mut m = Cursor { x, y, end: x + w };
    if s.escalation {
        m.text(buf, g.escalation, st.warn, g);
        m.text(buf, "esc", st.warn, g);
    } else if s.handoff {
        m.text(buf, g.handoff, st.info, g);
        m.text(buf, "ho", st.info, g);
    }
    if s.orphan_parent.is_some() {
        if m.x > x {
            m.skip(1);
        }
        m.text(buf, g.orphan, st.crit, g);
        m.text(buf, "orph", st.crit, g);
    } else if s.level == Level::Error {
        if m.x > x {
            m.skip(1);
        }
        m.text(buf, g.crit, st.crit, g);
        m.text(buf, "err", st.crit, g);
    }
}

/// The name, indented by depth.
fn name(buf: &mut Buffer, (x, y, w): (u16, u16, u16), r: &SpanRow, cx: &Ctx) {
    let s = r.span;
    let indent = r.depth.min(w / 4);
    let style = if s.level == Level::Default {
        cx.st.text
    } else {
        parts::level_style(s.level, cx.st)
    };
    put(buf, x + indent, y, w - indent, &s.name, style, cx.g);
}

/// The span's bar where it falls on the axis (a tick without a duration); an orphan's missing
/// parent right after the bar when it fits, else before it (a late span ends at the axis' end).
fn timeline(buf: &mut Buffer, (bx, y, bw): (u16, u16, u16), r: &SpanRow, cx: &Ctx) {
    let (st, g, s, total) = (cx.st, cx.g, r.span, r.total);
    if bw == 0 {
        return;
    }
    let side_style = parts::side_style(s.side, st);
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
        let fill = parts::side_fill(s.side, g);
        repeat(buf, bx + x0, y, len, fill, side_style);
    }
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
