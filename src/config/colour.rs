//! Colour values as written in a config or theme file: a name (`red`, `light-blue`), `"#rrggbb"`
//! or a 256-colour index. Config validation and the theme loader share this one parser.
use ratatui::style::Color;

/// Parse a colour as written in a config or theme file.
pub fn colour_from_str(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    let mut norm = String::with_capacity(s.len());
    for c in s.chars() {
        if !matches!(c, ' ' | '_' | '-') {
            norm.push(c.to_ascii_lowercase());
        }
    }
    Some(match norm.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}
