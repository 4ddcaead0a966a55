//! Tables, declared once. A `Column` names its heading, its width in each `Tier` (or none),
//! its alignment, how a row's cell reads (text and style, or drawn: bars, sparklines, styled
//! words) and, optionally, how rows sort by it. That one declaration drives the widths for an
//! area, the heading row with its sort mark, the rows with the selection, and mouse hits
//! (`layout`); `rows` picks the visible rows, sorted or not, and places them on screen.
//!
//! The views' tables are declared in the child modules named after them (`fleet::PODS`); the
//! views supply the rows from the `Snapshot`.
pub mod cost;
pub mod fleet;
pub mod layout;
pub mod paths;
pub mod rows;
pub mod sessions;
pub mod spans;
pub mod tools;

use super::paint::{Ctx, Tier};
use super::text::width;
use ratatui::buffer::Buffer;
use ratatui::style::Style;
use std::borrow::Cow;
use std::cmp::Ordering;

/// A cell's text and style.
pub type Text<'a> = (Cow<'a, str>, Style);

/// How wide a column is in one tier.
#[derive(Clone, Copy, Debug)]
pub enum Width {
    /// Not shown in this tier.
    None,
    Fixed(u16),
    /// From the table's width (say a third of it, within 10..18).
    Of(fn(u16) -> u16),
    /// At least `min`; grows to its content's need (at most `max`); then takes `share` of the
    /// width left over.
    Flex {
        min: u16,
        max: u16,
        share: u16,
    },
}

impl Width {
    /// Grows from `min` to fit its content, up to `max`; never takes more.
    pub const fn grow(min: u16, max: u16) -> Width {
        Width::Flex { min, max, share: 0 }
    }
    /// Takes the width left over, at least `min`.
    pub const fn fill(min: u16) -> Width {
        Width::Flex {
            min,
            max: u16::MAX,
            share: 1,
        }
    }
}

/// What a row shows in a column.
pub enum Cell<T> {
    /// Text, fitted by display width; a flexible column's need is measured from it.
    Text(for<'a> fn(&'a T, &Ctx) -> Text<'a>),
    /// Drawn by the column into `(x, y, width)`.
    Draw(fn(&mut Buffer, (u16, u16, u16), &T, &Ctx)),
}

impl<T> Clone for Cell<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Cell<T> {}

/// A heading that depends on the glyphs, thresholds or the width it gets.
pub type Head = fn(&Ctx, u16) -> Cow<'static, str>;

/// One column of a table.
pub struct Column<T> {
    /// The heading, and the name sorting and mouse hits know the column by.
    pub name: &'static str,
    head: Option<Head>,
    /// The heading when the sort mark does not fit after `name`.
    short: Option<&'static str>,
    /// Cells the heading takes, where it is narrower than the column.
    head_w: Option<u16>,
    /// Per tier: compact, standard, wide.
    widths: [Width; 3],
    /// The table must be at least this wide for the column to show.
    from: u16,
    right: bool,
    /// Keeps its gap after it when last, leaving the table's last cell blank.
    gap_at_end: bool,
    cell: Cell<T>,
    sort: Option<fn(&T, &T) -> Ordering>,
}

impl<T> Clone for Column<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Column<T> {}

const fn tier_index(t: Tier) -> usize {
    match t {
        Tier::Compact => 0,
        Tier::Standard => 1,
        Tier::Wide => 2,
    }
}

impl<T> Column<T> {
    const fn new(name: &'static str, w: Width, cell: Cell<T>) -> Self {
        Column {
            name,
            head: None,
            short: None,
            head_w: None,
            widths: [w; 3],
            from: 0,
            right: false,
            gap_at_end: false,
            cell,
            sort: None,
        }
    }
    /// A column of text, `w` wide in every tier (see `tier`, `only`, `from`).
    pub const fn text(
        name: &'static str,
        w: Width,
        f: for<'a> fn(&'a T, &Ctx) -> Text<'a>,
    ) -> Self {
        Column::new(name, w, Cell::Text(f))
    }
    /// A column the cell draws itself.
    pub const fn draw(
        name: &'static str,
        w: Width,
        f: fn(&mut Buffer, (u16, u16, u16), &T, &Ctx),
    ) -> Self {
        Column::new(name, w, Cell::Draw(f))
    }
    pub const fn right(mut self) -> Self {
        self.right = true;
        self
    }
    /// Its width in `tier` (`Width::None` to leave it out there).
    pub const fn tier(mut self, tier: Tier, w: Width) -> Self {
        self.widths[tier_index(tier)] = w;
        self
    }
    /// Shown only from `tier` up.
    pub const fn only(mut self, tier: Tier) -> Self {
        let mut i = 0;
        while i < tier_index(tier) {
            self.widths[i] = Width::None;
            i += 1;
        }
        self
    }
    /// Shown only when the table is at least `w` cells wide.
    pub const fn from(mut self, w: u16) -> Self {
        self.from = w;
        self
    }
    pub const fn head(mut self, f: Head) -> Self {
        self.head = Some(f);
        self
    }
    pub const fn short(mut self, s: &'static str) -> Self {
        self.short = Some(s);
        self
    }
    pub const fn head_width(mut self, w: u16) -> Self {
        self.head_w = Some(w);
        self
    }
    pub const fn gap_at_end(mut self) -> Self {
        self.gap_at_end = true;
        self
    }
    pub const fn sort(mut self, f: fn(&T, &T) -> Ordering) -> Self {
        self.sort = Some(f);
        self
    }

    fn width_in(&self, tier: Tier) -> Width {
        self.widths[tier_index(tier)]
    }

    fn heading(&self, cx: &Ctx, w: u16, sorted: bool) -> Cow<'static, str> {
        let base = match self.head {
            Some(f) => f(cx, w),
            None => Cow::Borrowed(self.name),
        };
        if !sorted {
            return base;
        }
        let marked = format!("{base}{}", cx.g.down);
        match self.short {
            Some(s) if width(&marked) > usize::from(w) => format!("{s}{}", cx.g.down).into(),
            _ => marked.into(),
        }
    }
}

/// The index of column `name` in a const context (past the end if there is none, which
/// indexing then refuses at compile time).
pub const fn position<T>(cols: &[Column<T>], name: &str) -> usize {
    let mut i = 0;
    while i < cols.len() {
        let (a, b) = (cols[i].name.as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i;
            }
        }
        i += 1;
    }
    cols.len()
}

/// The order a column sorts by, looked up by its name.
pub fn sort_of<T>(cols: &[Column<T>], name: &str) -> Option<fn(&T, &T) -> Ordering> {
    cols.iter().find(|c| c.name == name).and_then(|c| c.sort)
}

#[cfg(test)]
mod tests;
