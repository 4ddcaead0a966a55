//! Drawing primitives straight onto the `Buffer`: width-aware text, columns, boxes, bars and
//! sparklines. Every glyph comes from `Glyphs`; every string is fitted by display width.
use super::glyphs::Glyphs;
use super::state::UiState;
use super::text::{to_ascii, truncate, width};
use super::theme::Styles;
use crate::model::snapshot::Snapshot;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::borrow::Cow;

/// Layout tier, picked from the terminal size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// 80×24 up to the standard size: no borders, no sparklines, fewer columns.
    Compact,
    /// From 120×36: boxed panels, sparklines.
    Standard,
    /// From 200×40: three panels across, extra columns.
    Wide,
}

impl Tier {
    pub fn for_area(area: Rect) -> Tier {
        if area.width >= 200 && area.height >= 40 {
            Tier::Wide
        } else if area.width >= 120 && area.height >= 36 {
            Tier::Standard
        } else {
            Tier::Compact
        }
    }
}

/// Everything a view reads, bundled.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub ui: &'a UiState,
    pub st: &'a Styles,
    pub g: &'static Glyphs,
    pub tier: Tier,
}

impl Ctx<'_> {
    pub fn boxed(&self) -> bool {
        self.tier != Tier::Compact
    }
}

/// Fit `s` into `max` cells for drawing: ASCII-mapped in ASCII mode, then truncated.
pub fn fit<'s>(s: &'s str, max: usize, g: &Glyphs) -> Cow<'s, str> {
    if g.ascii {
        match to_ascii(s) {
            Cow::Borrowed(b) => truncate(b, max, g.ellipsis),
            Cow::Owned(o) => Cow::Owned(truncate(&o, max, g.ellipsis).into_owned()),
        }
    } else {
        truncate(s, max, g.ellipsis)
    }
}

fn in_bounds(buf: &Buffer, x: u16, y: u16) -> bool {
    let a = buf.area;
    y >= a.y && y < a.bottom() && x >= a.x && x < a.right()
}

/// Draw `s` at (x, y) in at most `max` cells; returns the cells used.
pub fn put(buf: &mut Buffer, x: u16, y: u16, max: u16, s: &str, style: Style, g: &Glyphs) -> u16 {
    if max == 0 || !in_bounds(buf, x, y) {
        return 0;
    }
    let max = max.min(buf.area.right() - x);
    let f = fit(s, max as usize, g);
    let (end, _) = buf.set_stringn(x, y, f.as_ref(), max as usize, style);
    end.saturating_sub(x)
}

/// `head` then `tail` in `w` cells, cutting `head` rather than `tail` when they do not both fit
/// (so "… — last data 2m ago" stays readable however long the error is).
#[allow(clippy::too_many_arguments)]
pub fn put_head_tail(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    w: u16,
    head: &str,
    tail: &str,
    style: Style,
    g: &Glyphs,
) {
    let tw = (width(tail) as u16).min(w);
    let used = put(buf, x, y, w - tw, head, style, g);
    put(buf, x + used, y, w - used, tail, style, g);
}

/// Right-align `s` in the `w` cells starting at x.
pub fn put_right(buf: &mut Buffer, x: u16, y: u16, w: u16, s: &str, style: Style, g: &Glyphs) {
    if w == 0 {
        return;
    }
    let f = fit(s, w as usize, g);
    let fw = width(&f) as u16;
    put(buf, x + w.saturating_sub(fw), y, w, &f, style, g);
}

/// Centre `s` in the `w` cells starting at x.
pub fn put_center(buf: &mut Buffer, x: u16, y: u16, w: u16, s: &str, style: Style, g: &Glyphs) {
    let f = fit(s, w as usize, g);
    let fw = width(&f) as u16;
    put(buf, x + w.saturating_sub(fw) / 2, y, w, &f, style, g);
}

/// Repeat a one-cell glyph over `w` cells.
pub fn repeat(buf: &mut Buffer, x: u16, y: u16, w: u16, sym: &str, style: Style) {
    if !in_bounds(buf, x, y) {
        return;
    }
    let end = x.saturating_add(w).min(buf.area.right());
    for cx in x..end {
        if let Some(c) = buf.cell_mut((cx, y)) {
            c.set_symbol(sym).set_style(style);
        }
    }
}

/// A column of a row: width and alignment.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub w: u16,
    pub right: bool,
}

pub const fn l(w: u16) -> Col {
    Col { w, right: false }
}
pub const fn r(w: u16) -> Col {
    Col { w, right: true }
}

/// Writes cells left to right with a one-cell gap, clipped at `end`.
pub struct Cursor {
    pub x: u16,
    pub y: u16,
    pub end: u16,
}

impl Cursor {
    pub fn new(area: Rect, y: u16) -> Cursor {
        Cursor {
            x: area.x,
            y,
            end: area.right(),
        }
    }

    pub fn remaining(&self) -> u16 {
        self.end.saturating_sub(self.x)
    }

    /// One cell in a column of width `c.w` (clipped), then the gap.
    pub fn cell(&mut self, buf: &mut Buffer, c: Col, s: &str, style: Style, g: &Glyphs) {
        let w = c.w.min(self.remaining());
        if c.right {
            put_right(buf, self.x, self.y, w, s, style, g);
        } else {
            put(buf, self.x, self.y, w, s, style, g);
        }
        self.x = self.x.saturating_add(c.w.saturating_add(1)).min(self.end);
    }

    /// Text at its natural width (clipped), no gap.
    pub fn text(&mut self, buf: &mut Buffer, s: &str, style: Style, g: &Glyphs) {
        let used = put(buf, self.x, self.y, self.remaining(), s, style, g);
        self.x = self.x.saturating_add(used).min(self.end);
    }

    pub fn skip(&mut self, n: u16) {
        self.x = self.x.saturating_add(n).min(self.end);
    }

    /// Reserve `w` cells (clipped) and return their x and width, then the gap.
    pub fn take(&mut self, w: u16) -> (u16, u16) {
        let x = self.x;
        let w = w.min(self.remaining());
        self.x = self.x.saturating_add(w.saturating_add(1)).min(self.end);
        (x, w)
    }
}

/// How a panel shows that it has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Never has them.
    None,
    /// The view's one pane: the focus border.
    Always,
    /// One of several panes (Fleet): with the keys, the focus border and the select mark before
    /// the title; without, a bare title reads as a heading rather than a title.
    Pane(bool),
}

/// What a panel is in the compact tier, where panels have no border.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bare {
    /// The title on a row of its own.
    TitleRow,
    /// The title in the first cell of the table's heading row: `Panel::corner`.
    InHeading,
    /// No title.
    Untitled,
    /// A dialog: boxed at every size.
    Boxed,
}

pub struct Panel<'t> {
    /// The area inside the border or below the title row.
    pub inner: Rect,
    /// The title and its style for the heading row's first cell (`Bare::InHeading`).
    pub corner: Option<(&'t str, Style)>,
}

/// Clear an area for an overlay (a dialog or popup): every cell reset, then the base style.
/// Only resetting clears what the view drew underneath, modifiers included; a bold heading
/// below would otherwise show through the overlay's text.
pub fn clear_overlay(buf: &mut Buffer, area: Rect, style: Style) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(c) = buf.cell_mut((x, y)) {
                c.reset();
                c.set_style(style);
            }
        }
    }
}

/// Every view's panel: a box with the title in its top border from the standard tier up (and
/// for dialogs), else the bare area the way `bare` says.
pub fn panel<'t>(
    buf: &mut Buffer,
    area: Rect,
    title: &'t str,
    focus: Focus,
    bare: Bare,
    cx: &Ctx,
) -> Panel<'t> {
    let (st, g) = (cx.st, cx.g);
    if cx.boxed() || bare == Bare::Boxed {
        let border = match focus {
            Focus::Always | Focus::Pane(true) => st.border_focus,
            _ => st.border,
        };
        let inner = if focus == Focus::Pane(true) {
            let t = format!("{} {title}", g.select);
            draw_box(buf, area, &t, border, st.title, g)
        } else {
            draw_box(buf, area, title, border, st.title, g)
        };
        return Panel {
            inner,
            corner: None,
        };
    }
    match bare {
        Bare::TitleRow if area.height > 0 => {
            let mut inner = area;
            let t = take_top(&mut inner, 1);
            let mut c = Cursor::new(t, t.y);
            if focus == Focus::Pane(true) {
                c.text(buf, g.select, st.title, g);
                c.skip(1);
            }
            let style = if focus == Focus::Pane(false) {
                st.table_header
            } else {
                st.title
            };
            c.text(buf, title, style, g);
            Panel {
                inner,
                corner: None,
            }
        }
        Bare::InHeading => Panel {
            inner: area,
            corner: Some((title, st.title)),
        },
        Bare::TitleRow | Bare::Untitled | Bare::Boxed => Panel {
            inner: area,
            corner: None,
        },
    }
}

/// A box with a title in the top border; returns the inner area. Views draw panels with
/// `panel`.
fn draw_box(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    border: Style,
    title_style: Style,
    g: &Glyphs,
) -> Rect {
    if area.width < 2 || area.height < 2 {
        return Rect::new(area.x, area.y, 0, 0);
    }
    let (x0, y0, x1, y1) = (area.x, area.y, area.right() - 1, area.bottom() - 1);
    repeat(buf, x0 + 1, y0, area.width - 2, g.h, border);
    repeat(buf, x0 + 1, y1, area.width - 2, g.h, border);
    for y in y0 + 1..y1 {
        repeat(buf, x0, y, 1, g.v, border);
        repeat(buf, x1, y, 1, g.v, border);
    }
    repeat(buf, x0, y0, 1, g.tl, border);
    repeat(buf, x1, y0, 1, g.tr, border);
    repeat(buf, x0, y1, 1, g.bl, border);
    repeat(buf, x1, y1, 1, g.br, border);
    if !title.is_empty() && area.width > 4 {
        let max = area.width - 4;
        let used = put(buf, x0 + 2, y0, max, title, title_style, g);
        // Pad the title with a space each side so it stands off the line.
        if used > 0 {
            repeat(buf, x0 + 1, y0, 1, " ", border);
            if x0 + 2 + used < x1 {
                repeat(buf, x0 + 2 + used, y0, 1, " ", border);
            }
        }
    }
    Rect::new(x0 + 1, y0 + 1, area.width - 2, area.height - 2)
}

/// A horizontal bar for a 0..1 fraction at `(x, y, width)`, with a track for the empty part.
pub fn bar(
    buf: &mut Buffer,
    (x, y, w): (u16, u16, u16),
    frac: f64,
    fill: Style,
    track: Style,
    g: &Glyphs,
) {
    if w == 0 {
        return;
    }
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (frac * f64::from(w) * 8.0).round() as u32;
    let full = ((eighths / 8) as u16).min(w);
    repeat(buf, x, y, full, g.bar_full, fill);
    let mut used = full;
    let rem = (eighths % 8) as usize;
    if full < w && rem > 0 {
        let p = g.bar_partial[rem - 1];
        if !p.is_empty() {
            repeat(buf, x + full, y, 1, p, fill);
            used += 1;
        } else if rem >= 4 {
            repeat(buf, x + full, y, 1, g.bar_full, fill);
            used += 1;
        }
    }
    // The track only under the empty part, so the fill never inherits its modifiers.
    repeat(buf, x + used, y, w - used, g.bar_track, track);
}

/// A sparkline of the last `width` points at `(x, y, width)`. With `zero_based` the scale starts at 0 (latency,
/// cost); otherwise it spans min..max so small changes in a share stay visible.
pub fn spark(
    buf: &mut Buffer,
    (x, y, w): (u16, u16, u16),
    data: &[f64],
    zero_based: bool,
    style: Style,
    g: &Glyphs,
) {
    if w == 0 || data.is_empty() {
        return;
    }
    let n = data.len().min(w as usize);
    let pts = &data[data.len() - n..];
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in pts.iter().copied().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return;
    }
    if zero_based {
        lo = lo.min(0.0);
    }
    let span = hi - lo;
    let flat = span <= hi.abs() * 1e-3 || span <= f64::EPSILON;
    // Right-align so the newest point is always at the right edge.
    let x0 = x + (w - n as u16);
    for (i, v) in pts.iter().enumerate() {
        let level = if !v.is_finite() {
            continue;
        } else if flat {
            if zero_based && hi <= 0.0 {
                0
            } else {
                3
            }
        } else {
            (((v - lo) / span) * 7.0).round().clamp(0.0, 7.0) as usize
        };
        repeat(buf, x0 + i as u16, y, 1, g.spark[level], style);
    }
}

/// Patch `style` over a row segment (selection, focus) keeping symbols.
pub fn highlight(buf: &mut Buffer, x: u16, y: u16, w: u16, style: Style) {
    let area = buf.area;
    if y < area.y || y >= area.bottom() || x >= area.right() {
        return;
    }
    let w = w.min(area.right() - x);
    buf.set_style(Rect::new(x, y, w, 1), style);
}

/// Split `area` into a left and right column with a one-cell gap.
pub fn split_h(area: Rect, left: u16) -> (Rect, Rect) {
    let left = left.min(area.width);
    let right_x = area.x.saturating_add(left).saturating_add(1);
    let right_w = area.right().saturating_sub(right_x);
    (
        Rect::new(area.x, area.y, left, area.height),
        Rect::new(right_x.min(area.right()), area.y, right_w, area.height),
    )
}

/// Take `h` rows off the top of `area`.
pub fn take_top(area: &mut Rect, h: u16) -> Rect {
    let h = h.min(area.height);
    let top = Rect::new(area.x, area.y, area.width, h);
    area.y += h;
    area.height -= h;
    top
}
