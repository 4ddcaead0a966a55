//! A table's columns fitted to an area, drawn and hit-tested.
//!
//! Widths: fixed columns take theirs; flexible ones start at their minimum and grow towards
//! their need — the widest heading or cell among the visible rows, capped — sharing the spare
//! width out in proportion to what each still needs when it does not cover every need; what
//! is left then goes to the columns with a `share` of it, the odd cell to the first. So a long
//! node name is shown whole while an empty reason column waits, and a table with one filling
//! column fits the area exactly.
use super::{Cell, Column, Width};
use crate::ui::paint::{highlight, Col, Ctx, Cursor};
use crate::ui::text::width;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// The heading row's first cell when a bare panel's title goes there.
pub type Corner<'t> = Option<(&'t str, Style)>;

/// A table's columns fitted to an area: widths for this tier and these rows.
pub struct Layout<'c, T> {
    cols: &'c [Column<T>],
    area: Rect,
    /// A one-cell selection mark column first.
    marked: bool,
    /// One per column of `cols`.
    slots: Vec<Slot>,
}

/// A column's width as laid out.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// `None` where the tier or the table's width leaves the column out.
    w: Option<u16>,
    flex: Option<Flex>,
}

#[derive(Clone, Copy, Debug)]
struct Flex {
    min: u16,
    max: u16,
    share: u16,
    /// What its content needs, within `min..=max`.
    need: u16,
    /// Its fraction of a cell (over the sum of wants) when the needs are shared out.
    rem: usize,
}

impl Slot {
    fn want(&self) -> usize {
        match (self.w, self.flex) {
            (Some(w), Some(f)) => usize::from(f.need.saturating_sub(w)),
            _ => 0,
        }
    }
    fn width(&self) -> usize {
        usize::from(self.w.unwrap_or(0))
    }
    fn grow(&mut self, by: usize) {
        self.w = self
            .w
            .map(|w| (usize::from(w) + by).min(usize::from(u16::MAX)) as u16);
    }
}

impl<'c, T> Layout<'c, T> {
    /// Fit `cols` to `area` for the rows that will be visible (what flexible columns measure).
    pub fn new<'r>(
        cols: &'c [Column<T>],
        area: Rect,
        marked: bool,
        cx: &Ctx,
        visible: impl IntoIterator<Item = &'r T>,
    ) -> Self
    where
        T: 'r,
    {
        let total = area.width;
        let mut slots: Vec<Slot> = cols
            .iter()
            .map(|c| {
                let (w, flex) = match c.width_in(cx.tier) {
                    _ if c.from > total => (None, None),
                    Width::None => (None, None),
                    Width::Fixed(w) => (Some(w), None),
                    Width::Of(f) => (Some(f(total)), None),
                    Width::Flex { min, max, share } => {
                        let max = max.max(min);
                        let f = Flex {
                            min,
                            max,
                            share,
                            need: min,
                            rem: 0,
                        };
                        (Some(min), Some(f))
                    }
                };
                Slot { w, flex }
            })
            .collect();
        let shown = slots.iter().filter(|s| s.w.is_some()).count() + usize::from(marked);
        let gap_at_end = cols
            .iter()
            .zip(&slots)
            .rev()
            .find(|(_, s)| s.w.is_some())
            .is_some_and(|(c, _)| c.gap_at_end);
        let taken = slots.iter().map(Slot::width).sum::<usize>()
            + usize::from(marked)
            + shown.saturating_sub(1)
            + usize::from(gap_at_end);
        let left = usize::from(total).saturating_sub(taken);
        let mut flexible = slots.iter().filter_map(|s| s.w.and(s.flex));
        // A lone filling column ends up with all there is, whatever its content.
        let needs_matter = match (flexible.next(), flexible.next()) {
            (None, _) => false,
            (Some(f), None) => f.share == 0,
            _ => true,
        };
        if needs_matter {
            measure(cols, &mut slots, cx, visible);
        }
        let left = by_need(&mut slots, left);
        by_share(&mut slots, left);
        Layout {
            cols,
            area,
            marked,
            slots,
        }
    }

    /// The present columns with their widths, in order.
    fn shown(&self) -> impl Iterator<Item = (&'c Column<T>, u16)> + '_ {
        self.cols
            .iter()
            .zip(&self.slots)
            .filter_map(|(c, s)| s.w.map(|w| (c, w)))
    }

    /// The heading row at `y`; the `sorted` column carries the sort mark.
    pub fn head(&self, buf: &mut Buffer, y: u16, cx: &Ctx, sorted: Option<&str>, corner: Corner) {
        let th = cx.st.table_header;
        let mut c = Cursor::new(self.area, y);
        if self.marked {
            c.cell(buf, Col { w: 1, right: false }, "", th, cx.g);
        }
        for (k, (col, w)) in self.shown().enumerate() {
            let cw = Col {
                w: col.head_w.unwrap_or(w),
                right: col.right,
            };
            match corner.filter(|_| k == 0) {
                Some((t, style)) => c.cell(buf, cw, t, style, cx.g),
                None => {
                    let is_sorted = col.sort.is_some() && sorted == Some(col.name);
                    let h = col.heading(cx, w, is_sorted);
                    c.cell(buf, cw, &h, th, cx.g);
                }
            }
        }
    }

    /// One row at `y`: the selection mark and highlight when `selected`.
    pub fn row(&self, buf: &mut Buffer, y: u16, item: &T, selected: bool, cx: &Ctx) {
        let (st, g) = (cx.st, cx.g);
        let mut c = Cursor::new(self.area, y);
        if self.marked {
            let mark = if selected { g.select } else { " " };
            c.cell(buf, Col { w: 1, right: false }, mark, st.text, g);
        }
        for (col, w) in self.shown() {
            match col.cell {
                Cell::Text(f) => {
                    let (t, style) = f(item, cx);
                    c.cell(
                        buf,
                        Col {
                            w,
                            right: col.right,
                        },
                        &t,
                        style,
                        g,
                    );
                }
                Cell::Draw(f) => {
                    let (x, w) = c.take(w);
                    f(buf, (x, y, w), item, cx);
                }
            }
        }
        if selected {
            highlight(buf, self.area.x, y, self.area.width, st.selection);
        }
    }

    /// Each present column's name, x and width as drawn (clipped at the area's edge).
    fn spans(&self) -> impl Iterator<Item = (&'static str, u16, u16)> + '_ {
        let end = self.area.right();
        let mut x = self
            .area
            .x
            .saturating_add(u16::from(self.marked) * 2)
            .min(end);
        self.shown().map(move |(col, w)| {
            let at = x;
            let w = w.min(end - at);
            x = x.saturating_add(w).saturating_add(1).min(end);
            (col.name, at, w)
        })
    }

    /// Where column `name` is drawn: its x and width.
    pub fn span(&self, name: &str) -> Option<(u16, u16)> {
        self.spans().find(|s| s.0 == name).map(|(_, x, w)| (x, w))
    }

    /// The column at screen column `x` (none on a gap or the selection mark).
    pub fn col_at(&self, x: u16) -> Option<&'static str> {
        self.spans()
            .find(|&(_, at, w)| x >= at && x < at + w)
            .map(|(name, ..)| name)
    }

    /// The present columns' names and widths, in order.
    pub fn widths(&self) -> impl Iterator<Item = (&'static str, u16)> + '_ {
        self.shown().map(|(c, w)| (c.name, w))
    }
}

/// Each flexible text column's need: its name or its widest visible cell, within its bounds.
fn measure<'r, T: 'r>(
    cols: &[Column<T>],
    slots: &mut [Slot],
    cx: &Ctx,
    visible: impl IntoIterator<Item = &'r T>,
) {
    let measured = |c: &Column<T>, s: &Slot| {
        s.w.is_some() && s.flex.is_some() && matches!(c.cell, Cell::Text(_))
    };
    let clip = |w: usize| w.min(usize::from(u16::MAX)) as u16;
    for (c, s) in cols.iter().zip(slots.iter_mut()) {
        if let (true, Some(f)) = (measured(c, s), s.flex.as_mut()) {
            f.need = clip(width(c.name));
        }
    }
    for item in visible {
        for (c, s) in cols.iter().zip(slots.iter_mut()) {
            if let (true, Cell::Text(cell), Some(f)) = (measured(c, s), c.cell, s.flex.as_mut()) {
                f.need = f.need.max(clip(width(&cell(item, cx).0)));
            }
        }
    }
    for s in slots.iter_mut() {
        if let Some(f) = s.flex.as_mut() {
            f.need = f.need.clamp(f.min, f.max);
        }
    }
}

/// Grow the flexible columns towards their needs out of `left`; when it does not cover them
/// all, in proportion to what each still needs (the odd cells to the largest remainders, the
/// first on a tie). Returns what is left.
fn by_need(slots: &mut [Slot], left: usize) -> usize {
    let sum: usize = slots.iter().map(Slot::want).sum();
    if sum == 0 {
        return left;
    }
    if sum <= left {
        for s in slots.iter_mut() {
            let w = s.want();
            s.grow(w);
        }
        return left - sum;
    }
    let mut rest = left;
    for s in slots.iter_mut() {
        let want = s.want();
        if let Some(f) = s.flex.as_mut() {
            f.rem = want * left % sum;
        }
        s.grow(want * left / sum);
        rest -= want * left / sum;
    }
    while rest > 0 {
        let mut pick: Option<(usize, usize)> = None;
        for (i, s) in slots.iter().enumerate() {
            if let Some(f) = s.flex.filter(|f| f.rem > 0) {
                if pick.is_none_or(|(_, best)| f.rem > best) {
                    pick = Some((i, f.rem));
                }
            }
        }
        let Some((i, _)) = pick else { break };
        slots[i].grow(1);
        if let Some(f) = slots[i].flex.as_mut() {
            f.rem = 0;
        }
        rest -= 1;
    }
    0
}

/// Share `left` out, with the widths the sharing columns already have, by `share` and in
/// order, each within its bounds; an odd cell goes to the first.
fn by_share(slots: &mut [Slot], left: usize) {
    let sharing = |s: &Slot| s.w.is_some() && s.flex.is_some_and(|f| f.share > 0);
    let mut pool = left
        + slots
            .iter()
            .filter(|s| sharing(s))
            .map(Slot::width)
            .sum::<usize>();
    let mut shares: usize = slots
        .iter()
        .filter(|s| sharing(s))
        .filter_map(|s| s.flex.map(|f| usize::from(f.share)))
        .sum();
    for i in 0..slots.len() {
        let (Some(f), true) = (slots[i].flex, sharing(&slots[i])) else {
            continue;
        };
        let later: usize = slots[i + 1..]
            .iter()
            .filter(|s| sharing(s))
            .map(Slot::width)
            .sum();
        let held = slots[i].width();
        let target = (pool * usize::from(f.share)).div_ceil(shares.max(1));
        let w = target
            .max(held)
            .min(usize::from(f.max))
            .min(pool.saturating_sub(later).max(held));
        slots[i].w = Some(w.min(usize::from(u16::MAX)) as u16);
        pool = pool.saturating_sub(w);
        shares = shares.saturating_sub(usize::from(f.share));
    }
}
