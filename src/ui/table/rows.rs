//! Which rows of a list are visible (filtered, sorted, scrolled to the selection) and where
//! they are on screen.
use crate::ui::paint::{put, Ctx};
use crate::ui::text::width;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::cmp::Ordering;

/// Where a table's rows are on screen, for drawing and for mouse hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    /// Screen row of the first visible row.
    pub top: u16,
    /// Rows there is room for.
    pub height: u16,
    /// Match number of the first visible row.
    pub offset: usize,
    /// Matching rows in all.
    pub n: usize,
}

impl Rows {
    pub fn new(top: u16, height: usize, win: &Window) -> Rows {
        Rows {
            top,
            height: height.min(usize::from(u16::MAX)) as u16,
            offset: win.offset,
            n: win.n,
        }
    }

    /// The match number of the row at screen row `y`.
    pub fn at(&self, y: u16) -> Option<usize> {
        let r = y.checked_sub(self.top)?;
        if r >= self.height {
            return None;
        }
        let i = self.offset + usize::from(r);
        (i < self.n).then_some(i)
    }

    /// ` 21-40 of 1199 `, when the rows do not all fit.
    fn position(&self) -> Option<String> {
        let h = usize::from(self.height);
        (self.n > h).then(|| {
            format!(
                " {}-{} of {} ",
                self.offset + 1,
                (self.offset + h).min(self.n),
                self.n
            )
        })
    }
}

/// The scroll position of a long list: in the panel's bottom border when boxed, else at the
/// right of its title row.
pub fn scroll_note(buf: &mut Buffer, area: Rect, rows: &Rows, cx: &Ctx) {
    let Some(pos) = rows.position() else { return };
    let pw = width(&pos) as u16;
    let (x, y) = if cx.boxed() {
        (
            area.right().saturating_sub(pw + 2),
            area.bottom().saturating_sub(1),
        )
    } else {
        (area.right().saturating_sub(pw), area.y)
    };
    put(buf, x, y, pw, &pos, cx.st.dim, cx.g);
}

/// Rows for a list of `n` items in `h` rows where `selected` must be visible: the offset.
pub fn scroll_offset(n: usize, h: usize, selected: usize) -> usize {
    if h == 0 || n <= h {
        return 0;
    }
    let sel = selected.min(n - 1);
    sel.saturating_sub(h - 1).min(n - h)
}

/// The rows of a filtered list to draw, found in one pass over `items`.
pub struct Window {
    /// Items that match.
    pub n: usize,
    /// Selection clamped to the matches.
    pub selected: usize,
    /// Match number of the first visible row.
    pub offset: usize,
    /// Indices into `items` of the visible rows, top to bottom.
    pub rows: Vec<usize>,
}

/// Filter `items` with `pred` and pick the `rows` visible rows that keep `selected` (a match
/// number) in view — one pass, allocating only the visible indices.
pub fn window<T>(items: &[T], pred: impl Fn(&T) -> bool, rows: usize, selected: usize) -> Window {
    // With the selection inside the matches the offset does not depend on their count.
    let offset = if rows == 0 {
        0
    } else {
        selected.saturating_sub(rows - 1)
    };
    let mut visible = Vec::with_capacity(rows);
    // The last `rows` matches, in case the selection lies past the end.
    let mut tail = std::collections::VecDeque::with_capacity(rows);
    let mut n = 0usize;
    for (i, item) in items.iter().enumerate() {
        if !pred(item) {
            continue;
        }
        if n >= offset && visible.len() < rows {
            visible.push(i);
        }
        if rows > 0 {
            if tail.len() == rows {
                tail.pop_front();
            }
            tail.push_back(i);
        }
        n += 1;
    }
    if n == 0 {
        return Window {
            n,
            selected: 0,
            offset: 0,
            rows: Vec::new(),
        };
    }
    if selected < n {
        // A short list fits from the top.
        if n <= rows {
            return Window {
                n,
                selected,
                offset: 0,
                rows: tail.into_iter().collect(),
            };
        }
        return Window {
            n,
            selected,
            offset,
            rows: visible,
        };
    }
    let offset = if rows == 0 { 0 } else { n.saturating_sub(rows) };
    Window {
        n,
        selected: n - 1,
        offset,
        rows: tail.into_iter().collect(),
    }
}

/// `window` in the order of `by` (ties keep the items' order). Without an order it is one pass
/// with no allocation beyond the window; with one the matching indices are sorted.
pub fn sorted_window<T>(
    items: &[T],
    pred: impl Fn(&T) -> bool,
    by: Option<fn(&T, &T) -> Ordering>,
    rows: usize,
    selected: usize,
) -> Window {
    let Some(by) = by else {
        return window(items, pred, rows, selected);
    };
    let mut idx: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, x)| pred(x))
        .map(|(i, _)| i)
        .collect();
    idx.sort_by(|&a, &b| by(&items[a], &items[b]));
    let w = window(&idx, |_| true, rows, selected);
    Window {
        rows: w.rows.iter().filter_map(|&r| idx.get(r).copied()).collect(),
        ..w
    }
}
