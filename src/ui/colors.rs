//! Colour depth and colour arithmetic: what the terminal can show, the nearest colour it has for
//! a truecolor theme, WCAG contrast, and the per-environment header accent.
use super::theme::Theme;
use crate::config::colour_from_str;
use ratatui::style::Color;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
}

impl ColorDepth {
    /// From `COLORTERM` (truecolor/24bit) and `TERM` (`*-256color`).
    pub fn detect() -> ColorDepth {
        ColorDepth::from_env(
            std::env::var("COLORTERM").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        )
    }

    pub fn from_env(colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        let ct = colorterm.unwrap_or("").to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = term.unwrap_or("").to_ascii_lowercase();
        if term.contains("direct") {
            ColorDepth::TrueColor
        } else if term.contains("256") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

/// xterm's default palette for the 16 ANSI colours, in index order.
const ANSI16: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

const ANSI16_COLORS: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// The RGB a colour shows as on an xterm-like terminal (None for `Reset`: the terminal decides).
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    match c {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => Some(indexed_rgb(i)),
        other => ANSI16_COLORS
            .iter()
            .position(|a| *a == other)
            .map(|i| ANSI16[i]),
    }
}

fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn dist((a, b, c): (u8, u8, u8), (x, y, z): (u8, u8, u8)) -> u32 {
    let d = |p: u8, q: u8| (i32::from(p) - i32::from(q)).unsigned_abs();
    // Weighted toward green, as the eye is.
    2 * d(a, x).pow(2) + 4 * d(b, y).pow(2) + 3 * d(c, z).pow(2)
}

/// The nearest colour this depth can show.
pub fn nearest(c: Color, depth: ColorDepth) -> Color {
    let Some(target) = rgb(c) else {
        return c;
    };
    match (depth, c) {
        (ColorDepth::TrueColor, _) => c,
        (ColorDepth::Ansi256, Color::Rgb(..)) => {
            let best = (16u8..=255)
                .min_by_key(|i| dist(indexed_rgb(*i), target))
                .unwrap_or(16);
            Color::Indexed(best)
        }
        (ColorDepth::Ansi256, _) => c,
        (ColorDepth::Ansi16, Color::Rgb(..) | Color::Indexed(_)) => {
            let i = (0..16)
                .min_by_key(|i| dist(ANSI16[*i], target))
                .unwrap_or(7);
            ANSI16_COLORS[i]
        }
        (ColorDepth::Ansi16, _) => c,
    }
}

/// Rewrite every colour of a theme to the nearest one `depth` can show.
pub fn adapt(theme: &Theme, depth: ColorDepth) -> Theme {
    let mut t = theme.clone();
    for name in super::theme::Styles::NAMES {
        if let Some(s) = t.styles.get_mut(name) {
            s.fg = s.fg.map(|c| nearest(c, depth));
            s.bg = s.bg.map(|c| nearest(c, depth));
            s.underline_color = s.underline_color.map(|c| nearest(c, depth));
        }
    }
    t
}

/// WCAG 2 relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let f = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
}

/// WCAG 2 contrast ratio, 1.0 ..= 21.0.
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// `prod-*` style patterns: `*` matches any run of characters, everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Colour the header for environments matching a configured pattern (`prod-*` → red), so
/// production is unmistakable. A colourless theme stays colourless. Returns the colour applied.
pub fn environment_accent(
    theme: &mut Theme,
    environment: &str,
    patterns: &[(String, String)],
) -> Result<Option<Color>, String> {
    let Some((pattern, colour)) = patterns.iter().find(|(p, _)| glob_match(p, environment)) else {
        return Ok(None);
    };
    let c = colour_from_str(colour).ok_or_else(|| {
        format!("ui.environment_colors.\"{pattern}\": '{colour}' is not a colour")
    })?;
    if theme.is_colourless() {
        return Ok(None);
    }
    // Text on the accent: black or white, whichever reads better.
    let fg = match rgb(c) {
        Some(bg) if contrast(bg, (0, 0, 0)) >= contrast(bg, (255, 255, 255)) => Color::Black,
        _ => Color::White,
    };
    theme.styles.header = theme.styles.header.bg(c).fg(fg);
    theme.styles.accent = theme.styles.accent.bg(c).fg(fg);
    Ok(Some(c))
}

/// What turns a loaded theme into the one drawn: the terminal's colour depth and the
/// per-environment header accent. Applied at start and to every theme `t` cycles to.
#[derive(Clone, Debug)]
pub struct ThemeContext {
    pub depth: ColorDepth,
    pub environment: String,
    /// `pattern → colour`, most specific (longest) pattern first.
    pub patterns: Vec<(String, String)>,
}

impl ThemeContext {
    pub fn new(depth: ColorDepth, environment: &str, patterns: &[(String, String)]) -> Self {
        let mut patterns = patterns.to_vec();
        patterns.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        ThemeContext {
            depth,
            environment: environment.to_string(),
            patterns,
        }
    }

    pub fn apply(&self, theme: Theme) -> Result<Theme, String> {
        let mut t = theme;
        environment_accent(&mut t, &self.environment, &self.patterns)?;
        let t = adapt(&t, self.depth);
        // A colourless theme must send no colour codes at all, not even resets to the default
        // colours; any other theme sends its colours even under NO_COLOR, since it was asked for.
        crossterm::style::Colored::set_ansi_color_disabled(t.is_colourless());
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_detection() {
        assert_eq!(
            ColorDepth::from_env(Some("truecolor"), Some("xterm")),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::from_env(None, Some("xterm-256color")),
            ColorDepth::Ansi256
        );
        assert_eq!(
            ColorDepth::from_env(None, Some("screen")),
            ColorDepth::Ansi16
        );
        assert_eq!(ColorDepth::from_env(None, None), ColorDepth::Ansi16);
    }

    #[test]
    fn nearest_colours() {
        assert_eq!(
            nearest(Color::Rgb(255, 0, 0), ColorDepth::Ansi16),
            Color::LightRed
        );
        assert_eq!(
            nearest(Color::Rgb(0, 0, 0), ColorDepth::Ansi256),
            Color::Indexed(16)
        );
        assert_eq!(
            nearest(Color::Rgb(0x80, 0x80, 0x80), ColorDepth::Ansi256),
            Color::Indexed(244)
        );
        assert_eq!(
            nearest(Color::Indexed(196), ColorDepth::Ansi16),
            Color::LightRed
        );
        assert_eq!(nearest(Color::Red, ColorDepth::Ansi16), Color::Red);
        assert_eq!(nearest(Color::Reset, ColorDepth::Ansi16), Color::Reset);
    }

    #[test]
    fn every_builtin_adapts_to_16_colours() {
        for name in Theme::builtin_names() {
            let t = adapt(&Theme::builtin(name).unwrap(), ColorDepth::Ansi16);
            for (_, s) in t.styles.iter() {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(
                        !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                        "{name}: {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn wcag_contrast() {
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
        assert!((contrast((1, 2, 3), (1, 2, 3)) - 1.0).abs() < 1e-9);
    }

    /// Every text style of a truecolor theme against the background it is drawn on:
    /// high-contrast ≥ 7:1, the others ≥ 4.5:1. Borders and bar tracks are decoration.
    #[test]
    fn truecolor_themes_meet_wcag() {
        for name in Theme::builtin_names() {
            let t = Theme::builtin(name).unwrap();
            let (Some(Color::Rgb(..)), Some(Color::Rgb(..))) = (t.styles.text.fg, t.styles.text.bg)
            else {
                continue;
            };
            let min = if *name == "high-contrast" { 7.0 } else { 4.5 };
            let base_fg = rgb(t.styles.text.fg.unwrap()).unwrap();
            let base_bg = rgb(t.styles.text.bg.unwrap()).unwrap();
            let mut checked = 0;
            for (sname, s) in t.styles.iter() {
                if sname.starts_with("border") || sname == "bar_track" {
                    continue;
                }
                let fg = s.fg.and_then(rgb).unwrap_or(base_fg);
                let bg = s.bg.and_then(rgb).unwrap_or(base_bg);
                let c = contrast(fg, bg);
                assert!(
                    c >= min,
                    "{name}: styles.{sname} is {c:.2}:1, needs {min}:1"
                );
                checked += 1;
            }
            assert!(checked > 20, "{name}");
        }
    }

    #[test]
    fn environment_patterns() {
        assert!(glob_match("prod-*", "prod-us-east-2"));
        assert!(!glob_match("prod-*", "staging-prod"));
        assert!(glob_match("*-prod", "eu-prod"));
        assert!(glob_match("*prod*", "eu-prod-1"));
        assert!(glob_match("demo", "demo"));
        let mut t = Theme::builtin("default").unwrap();
        let pats = vec![
            ("staging-*".to_string(), "yellow".to_string()),
            ("prod-*".to_string(), "red".to_string()),
        ];
        assert_eq!(
            environment_accent(&mut t, "prod-us-east-2", &pats),
            Ok(Some(Color::Red))
        );
        assert_eq!(t.styles.header.bg, Some(Color::Red));
        let mut m = Theme::builtin("monochrome").unwrap();
        assert_eq!(environment_accent(&mut m, "prod-x", &pats), Ok(None));
        assert!(m.is_colourless());
        let bad = vec![("prod-*".to_string(), "purplish".to_string())];
        let e = environment_accent(&mut t, "prod-x", &bad).unwrap_err();
        assert!(e.contains("purplish") && e.contains("prod-*"), "{e}");
    }
}
