//! Buffer → text, for `snapshot --format text` and for style-aware snapshot tests.
use super::theme::{colour_name, modifier_names};
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// Visit each row as `(cells that start a glyph)`: cells hidden behind a wide glyph are skipped.
fn rows(buf: &Buffer) -> impl Iterator<Item = Vec<(u16, &Cell)>> + '_ {
    let a = buf.area;
    (a.y..a.bottom()).map(move |y| {
        let mut out = Vec::with_capacity(a.width as usize);
        let mut skip = 0usize;
        for x in a.x..a.right() {
            let Some(cell) = buf.cell((x, y)) else {
                continue;
            };
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let w = cell.symbol().width();
            skip = w.saturating_sub(1);
            out.push((x, cell));
        }
        out
    })
}

/// The characters only, line by line, trailing spaces trimmed.
pub fn buffer_text(buf: &Buffer) -> String {
    let mut out = String::with_capacity((buf.area.width as usize + 1) * buf.area.height as usize);
    for row in rows(buf) {
        let start = out.len();
        for (_, cell) in row {
            out.push_str(cell.symbol());
        }
        let trimmed = out[start..].trim_end_matches(' ').len();
        out.truncate(start + trimmed);
        out.push('\n');
    }
    out
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct Look {
    fg: Color,
    bg: Color,
    ul: Color,
    m: Modifier,
}

fn look(c: &Cell) -> Look {
    Look {
        fg: c.fg,
        bg: c.bg,
        ul: c.underline_color,
        m: c.modifier,
    }
}

fn describe(l: Look, out: &mut String) {
    let mut any = false;
    let mut sep = |out: &mut String| {
        if any {
            out.push(' ');
        }
        any = true;
    };
    if l.fg != Color::Reset {
        sep(out);
        out.push_str("fg=");
        colour_name(l.fg, out);
    }
    if l.bg != Color::Reset {
        sep(out);
        out.push_str("bg=");
        colour_name(l.bg, out);
    }
    if l.ul != Color::Reset {
        sep(out);
        out.push_str("ul=");
        colour_name(l.ul, out);
    }
    if !l.m.is_empty() {
        sep(out);
        out.push_str("mod=");
        modifier_names(l.m, out);
    }
    if !any {
        out.push('-');
    }
}

/// The characters (as `buffer_text`, but untrimmed inside a `|…|` frame), then for each line
/// the run-length style spans: `y: x..x+n fg=… bg=… mod=…`. Lines whose cells are all unstyled
/// are left out of the style section. Stable and diff-friendly.
pub fn buffer_to_styled_text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::with_capacity((a.width as usize + 4) * a.height as usize * 3);
    let mut styles = String::new();
    for (i, row) in rows(buf).enumerate() {
        out.push('|');
        for (_, cell) in &row {
            out.push_str(cell.symbol());
        }
        out.push_str("|\n");

        let plain = Look {
            fg: Color::Reset,
            bg: Color::Reset,
            ul: Color::Reset,
            m: Modifier::empty(),
        };
        let mut runs: Vec<(u16, u16, Look)> = Vec::new();
        for (x, cell) in &row {
            let l = look(cell);
            let w = cell.symbol().width().max(1) as u16;
            match runs.last_mut() {
                Some((_, n, prev)) if *prev == l => *n += w,
                _ => runs.push((*x - a.x, w, l)),
            }
        }
        if runs.iter().all(|(_, _, l)| *l == plain) {
            continue;
        }
        let _ = write!(styles, "{i:>3}:");
        for (x, n, l) in runs {
            if l == plain {
                continue;
            }
            let _ = write!(styles, " [{x}+{n} ");
            describe(l, &mut styles);
            styles.push(']');
        }
        styles.push('\n');
    }
    out.push_str("--- styles (row: [col+len style]) ---\n");
    out.push_str(&styles);
    out
}
