//! Snapshot rendering for exports: the exact screen, off-terminal, as text, SVG or HTML.
//!
//! SVG and HTML draw the `Buffer` cell by cell on a monospace grid, in the theme's colours:
//! per-cell foreground, background, bold, italic, underline, strike-through, dim and reverse;
//! a wide character takes two cells, as on the terminal. Colours a terminal would take from its
//! own palette are given fixed values so an export looks the same everywhere:
//!
//! - the 16 ANSI colours (`red`, `lightblue`, …) and indices 0–15: xterm's default palette;
//! - indices 16–231: the xterm 6×6×6 colour cube (levels 0, 95, 135, 175, 215, 255);
//! - indices 232–255: xterm's grey ramp (8, 18, …, 238);
//! - `reset`: the terminal's default foreground/background — light grey on near-black for dark
//!   themes, near-black on white for light ones (a theme is light when its name or description
//!   says "light", as the built-in `light` theme's does).
use crate::model::snapshot::Snapshot;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// Draw the view `ui` selects into a `width`×`height` buffer.
pub fn render(snap: &Snapshot, ui: &UiState, theme: &Theme, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    crate::ui::render(&mut buf, area, snap, ui, theme);
    buf
}

/// xterm's default 16 colours, in ANSI order (black, red, green, yellow, blue, magenta, cyan,
/// white, then the bright variants).
pub const XTERM_16: [(u8, u8, u8); 16] = [
    (0x00, 0x00, 0x00),
    (0xcd, 0x00, 0x00),
    (0x00, 0xcd, 0x00),
    (0xcd, 0xcd, 0x00),
    (0x00, 0x00, 0xee),
    (0xcd, 0x00, 0xcd),
    (0x00, 0xcd, 0xcd),
    (0xe5, 0xe5, 0xe5),
    (0x7f, 0x7f, 0x7f),
    (0xff, 0x00, 0x00),
    (0x00, 0xff, 0x00),
    (0xff, 0xff, 0x00),
    (0x5c, 0x5c, 0xff),
    (0xff, 0x00, 0xff),
    (0x00, 0xff, 0xff),
    (0xff, 0xff, 0xff),
];

/// Default foreground/background for `Color::Reset`.
const DARK_FG: (u8, u8, u8) = (0xd0, 0xd0, 0xd0);
const DARK_BG: (u8, u8, u8) = (0x12, 0x12, 0x12);
const LIGHT_FG: (u8, u8, u8) = (0x1c, 0x1c, 0x1c);
const LIGHT_BG: (u8, u8, u8) = (0xff, 0xff, 0xff);

/// Grid geometry in pixels (SVG) at a 14 px font. DejaVu Sans Mono advances 0.602 em and spans
/// 1.164 em top to bottom, so a 8.4 × 16.4 cell is its own: box-drawing lines and block
/// glyphs join across cells as they do in a terminal.
pub const FONT_PX: f64 = 14.0;
pub const CELL_W: f64 = 8.4;
pub const CELL_H: f64 = 16.4;
/// Baseline offset inside a cell (the font's ascent, 0.928 em).
const BASELINE: f64 = 13.0;
const FONT_FAMILY: &str = "'DejaVu Sans Mono', 'Menlo', 'Consolas', 'Liberation Mono', monospace";

/// The colours `reset` stands for under a theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub fg: (u8, u8, u8),
    pub bg: (u8, u8, u8),
}

impl Defaults {
    pub fn for_theme(theme: &Theme) -> Defaults {
        let light = theme.name.to_ascii_lowercase().contains("light")
            || theme.description.to_ascii_lowercase().contains("light");
        if light {
            Defaults {
                fg: LIGHT_FG,
                bg: LIGHT_BG,
            }
        } else {
            Defaults {
                fg: DARK_FG,
                bg: DARK_BG,
            }
        }
    }
}

/// A 256-colour index in xterm's palette.
pub fn indexed(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => XTERM_16[i as usize],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

/// A ratatui colour as RGB; `reset` is `default`.
pub fn rgb(c: Color, default: (u8, u8, u8)) -> (u8, u8, u8) {
    match c {
        Color::Reset => default,
        Color::Black => XTERM_16[0],
        Color::Red => XTERM_16[1],
        Color::Green => XTERM_16[2],
        Color::Yellow => XTERM_16[3],
        Color::Blue => XTERM_16[4],
        Color::Magenta => XTERM_16[5],
        Color::Cyan => XTERM_16[6],
        Color::Gray => XTERM_16[7],
        Color::DarkGray => XTERM_16[8],
        Color::LightRed => XTERM_16[9],
        Color::LightGreen => XTERM_16[10],
        Color::LightYellow => XTERM_16[11],
        Color::LightBlue => XTERM_16[12],
        Color::LightMagenta => XTERM_16[13],
        Color::LightCyan => XTERM_16[14],
        Color::White => XTERM_16[15],
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed(i),
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Halfway to the background: how terminals show `dim`.
fn blend(a: (u8, u8, u8), b: (u8, u8, u8)) -> (u8, u8, u8) {
    let m = |x: u8, y: u8| ((u16::from(x) * 3 + u16::from(y) * 2) / 5) as u8;
    (m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// How one cell looks once the theme's colours and `reversed` are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Look {
    fg: (u8, u8, u8),
    bg: (u8, u8, u8),
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    hidden: bool,
}

fn look(cell: &Cell, d: Defaults) -> Look {
    let m = cell.modifier;
    let mut fg = rgb(cell.fg, d.fg);
    let mut bg = rgb(cell.bg, d.bg);
    if m.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    if m.contains(Modifier::DIM) {
        fg = blend(fg, bg);
    }
    Look {
        fg,
        bg,
        bold: m.contains(Modifier::BOLD),
        italic: m.contains(Modifier::ITALIC),
        underline: m.contains(Modifier::UNDERLINED),
        strike: m.contains(Modifier::CROSSED_OUT),
        hidden: m.contains(Modifier::HIDDEN),
    }
}

/// One drawn cell: its column, width in cells, symbol and look. Cells hidden behind a wide
/// glyph are left out, as the terminal shows them.
struct Drawn<'a> {
    x: u16,
    w: u16,
    sym: &'a str,
    look: Look,
}

fn rows(buf: &Buffer, d: Defaults) -> Vec<Vec<Drawn<'_>>> {
    let a = buf.area;
    let mut out = Vec::with_capacity(a.height as usize);
    for y in a.y..a.bottom() {
        let mut row = Vec::with_capacity(a.width as usize);
        let mut x = a.x;
        while x < a.right() {
            let Some(cell) = buf.cell((x, y)) else {
                break;
            };
            let sym = cell.symbol();
            let w = (sym.width() as u16).clamp(1, a.right() - x);
            row.push(Drawn {
                x: x - a.x,
                w,
                sym,
                look: look(cell, d),
            });
            x += w;
        }
        out.push(row);
    }
    out
}

/// Characters XML 1.0 allows; anything else (stray controls) becomes U+FFFD so the document
/// stays well-formed whatever reached the buffer.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escape text for XML/HTML content and attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn fmt_px(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The screen as a standalone SVG document.
pub fn to_svg(buf: &Buffer, theme: &Theme, title: &str) -> String {
    let d = Defaults::for_theme(theme);
    let a = buf.area;
    let (w, h) = (f64::from(a.width) * CELL_W, f64::from(a.height) * CELL_H);
    let mut out = String::with_capacity(a.area() as usize * 40);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"{}\" font-size=\"{}\">\n<title>",
        fmt_px(w),
        fmt_px(h),
        fmt_px(w),
        fmt_px(h),
        FONT_FAMILY,
        fmt_px(FONT_PX)
    );
    escape(title, &mut out);
    let _ = writeln!(
        out,
        "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>",
        hex(d.bg)
    );
    let rows = rows(buf, d);

    // Backgrounds: runs of one colour per row, only where it differs from the page.
    out.push_str("<g shape-rendering=\"crispEdges\">\n");
    for (y, row) in rows.iter().enumerate() {
        let mut i = 0;
        while i < row.len() {
            let bg = row[i].look.bg;
            let x0 = row[i].x;
            let mut x1 = x0 + row[i].w;
            let mut j = i + 1;
            while j < row.len() && row[j].look.bg == bg {
                x1 = row[j].x + row[j].w;
                j += 1;
            }
            if bg != d.bg {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                    fmt_px(f64::from(x0) * CELL_W),
                    fmt_px(y as f64 * CELL_H),
                    fmt_px(f64::from(x1 - x0) * CELL_W),
                    fmt_px(CELL_H),
                    hex(bg)
                );
            }
            i = j;
        }
    }
    out.push_str("</g>\n<g>\n");

    // Text: runs of visible single-character cells with one look. Every character gets its own
    // x, so the grid holds whatever the font's advance (box drawing, braille, fallback fonts).
    for (y, row) in rows.iter().enumerate() {
        let base = y as f64 * CELL_H + BASELINE;
        let mut i = 0;
        while i < row.len() {
            let c = &row[i];
            if c.sym.trim().is_empty() || c.look.hidden {
                i += 1;
                continue;
            }
            let single = c.sym.chars().count() == 1;
            let mut j = i + 1;
            if single {
                while j < row.len()
                    && row[j].look == c.look
                    && row[j].sym.chars().count() == 1
                    && !row[j].sym.trim().is_empty()
                {
                    j += 1;
                }
            }
            let xs: Vec<String> = row[i..j]
                .iter()
                .map(|r| fmt_px(f64::from(r.x) * CELL_W))
                .collect();
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{}\"",
                xs.join(" "),
                fmt_px(base),
                hex(c.look.fg)
            );
            if c.look.bold {
                out.push_str(" font-weight=\"bold\"");
            }
            if c.look.italic {
                out.push_str(" font-style=\"italic\"");
            }
            out.push('>');
            for r in &row[i..j] {
                escape(r.sym, &mut out);
            }
            out.push_str("</text>\n");
            i = j;
        }
    }
    out.push_str("</g>\n<g shape-rendering=\"crispEdges\">\n");
    // Underline and strike-through as lines under whole cells (spaces included), as terminals
    // draw them.
    for (y, row) in rows.iter().enumerate() {
        for c in row.iter().filter(|c| !c.look.hidden) {
            for (on, dy) in [
                (c.look.underline, BASELINE + 1.5),
                (c.look.strike, BASELINE - 4.5),
            ] {
                if on {
                    let _ = writeln!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"1\" fill=\"{}\"/>",
                        fmt_px(f64::from(c.x) * CELL_W),
                        fmt_px(y as f64 * CELL_H + dy),
                        fmt_px(f64::from(c.w) * CELL_W),
                        hex(c.look.fg)
                    );
                }
            }
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// The screen as a standalone HTML page (well-formed XHTML, so it also parses as XML).
pub fn to_html(buf: &Buffer, theme: &Theme, title: &str) -> String {
    let d = Defaults::for_theme(theme);
    let a = buf.area;
    let mut out = String::with_capacity(a.area() as usize * 60);
    out.push_str(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<title>",
    );
    escape(title, &mut out);
    let _ = write!(
        out,
        "</title>\n<style>\n\
         body {{ margin: 0; padding: 12px; background: {bg}; }}\n\
         pre.screen {{ margin: 0; color: {fg}; background: {bg}; font-family: {FONT_FAMILY}; \
         font-size: {FONT_PX}px; line-height: {CELL_H}px; white-space: pre; }}\n\
         pre.screen span {{ display: inline-block; height: {CELL_H}px; overflow: hidden; \
         vertical-align: top; }}\n\
         </style>\n</head>\n<body>\n<pre class=\"screen\">",
        bg = hex(d.bg),
        fg = hex(d.fg),
    );
    for (y, row) in rows(buf, d).iter().enumerate() {
        if y > 0 {
            out.push('\n');
        }
        // One span per run of cells with one look; its width in `ch` keeps the grid even when
        // a glyph's own advance differs.
        let mut i = 0;
        while i < row.len() {
            let l = row[i].look;
            let mut j = i + 1;
            while j < row.len() && row[j].look == l {
                j += 1;
            }
            let cells: u16 = row[i..j].iter().map(|c| c.w).sum();
            let _ = write!(out, "<span style=\"width:{cells}ch");
            if l.fg != d.fg {
                let _ = write!(out, ";color:{}", hex(l.fg));
            }
            if l.bg != d.bg {
                let _ = write!(out, ";background:{}", hex(l.bg));
            }
            if l.bold {
                out.push_str(";font-weight:bold");
            }
            if l.italic {
                out.push_str(";font-style:italic");
            }
            match (l.underline, l.strike) {
                (true, true) => out.push_str(";text-decoration:underline line-through"),
                (true, false) => out.push_str(";text-decoration:underline"),
                (false, true) => out.push_str(";text-decoration:line-through"),
                (false, false) => {}
            }
            if l.hidden {
                out.push_str(";visibility:hidden");
            }
            out.push_str("\">");
            for c in &row[i..j] {
                escape(c.sym, &mut out);
            }
            out.push_str("</span>");
            i = j;
        }
    }
    out.push_str("</pre>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    /// HTML starts with `<!DOCTYPE html>`, which an XML parser must be told to accept.
    pub(crate) fn parse_html(s: &str) -> roxmltree::Document<'_> {
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        roxmltree::Document::parse_with_options(s, opts).unwrap()
    }

    #[test]
    fn palette() {
        assert_eq!(indexed(1), (0xcd, 0, 0));
        assert_eq!(indexed(16), (0, 0, 0));
        assert_eq!(indexed(25), (0, 95, 175));
        assert_eq!(indexed(231), (255, 255, 255));
        assert_eq!(indexed(232), (8, 8, 8));
        assert_eq!(indexed(255), (238, 238, 238));
        assert_eq!(rgb(Color::LightBlue, DARK_FG), (0x5c, 0x5c, 0xff));
        assert_eq!(rgb(Color::Reset, DARK_FG), DARK_FG);
        let light = Theme::builtin("light").unwrap();
        assert_eq!(Defaults::for_theme(&light).bg, LIGHT_BG);
        assert_eq!(Defaults::for_theme(&Theme::default()).bg, DARK_BG);
    }

    #[test]
    fn cells_wide_chars_escaping_and_reverse() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 2));
        buf.set_string(0, 0, "a<&>日b", Style::default().fg(Color::Red));
        buf.set_string(
            0,
            1,
            "rev",
            Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
        );
        let theme = Theme::default();
        let svg = to_svg(&buf, &theme, "t & \"q\"");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<(String, String)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                (
                    n.attribute("x").unwrap().to_string(),
                    n.text().unwrap_or("").to_string(),
                )
            })
            .collect();
        // 日 is two cells wide: `b` lands on column 6.
        assert_eq!(
            texts[0],
            ("0 8.4 16.8 25.2 33.6 50.4".into(), "a<&>日b".into())
        );
        assert!(svg.contains("&lt;&amp;&gt;"));
        // Reversed: the default background becomes the text colour's cell fill.
        assert!(svg.contains(&format!("fill=\"{}\"", hex(DARK_FG))));
        let html = to_html(&buf, &theme, "t");
        let doc = parse_html(&html);
        let pre = doc.descendants().find(|n| n.has_tag_name("pre")).unwrap();
        let text: String = pre
            .descendants()
            .filter(|n| n.is_text())
            .map(|n| n.text().unwrap_or(""))
            .collect();
        let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
        assert_eq!(lines, vec!["a<&>日b", "rev"]);
        assert!(html.contains("text-decoration:underline"));
        // Stray control characters cannot break the document.
        let mut bad = Buffer::empty(Rect::new(0, 0, 3, 1));
        bad.set_string(0, 0, "x", Style::default());
        if let Some(c) = bad.cell_mut((1, 0)) {
            c.set_symbol("\u{7}");
        }
        assert!(roxmltree::Document::parse(&to_svg(&bad, &theme, "t")).is_ok());
        parse_html(&to_html(&bad, &theme, "t"));
    }
}
