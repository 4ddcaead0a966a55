//! Themes: TOML files in `themes/` (embedded) and the user's themes directory.
//!
//! A theme file is a flat list of named styles; a new theme is just a new file:
//!
//! ```toml
//! name = "mytheme"                  # optional, defaults to the file name
//! description = "…"                 # optional
//! extends = "default"               # optional: start from another theme (built-in or user)
//! [styles]
//! warn = { fg = "yellow", bg = "reset", modifiers = ["bold"] }
//! crit = { fg = "#d70000" }         # "#rrggbb"
//! dim  = { fg = 244 }               # 0-255 palette index
//! ```
//!
//! Colours: the 16 ANSI names (`black`, `red`, `green`, `yellow`, `blue`, `magenta`, `cyan`,
//! `gray`, `darkgray`, `lightred`, `lightgreen`, `lightyellow`, `lightblue`, `lightmagenta`,
//! `lightcyan`, `white`) and `reset`, `"#rrggbb"`, or an integer 0-255. Modifiers: `bold`, `dim`,
//! `italic`, `underlined`, `slow_blink`, `rapid_blink`, `reversed`, `hidden`, `crossed_out`.
//! A style not named in the file is taken from `extends`, or left unstyled.
use crate::config::colour_from_str;
use ratatui::style::{Color, Modifier, Style};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use thiserror::Error;

macro_rules! styles {
    ($($name:ident : $doc:literal),* $(,)?) => {
        /// Every named style a view may use.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Styles {
            $(#[doc = $doc] pub $name: Style,)*
        }

        impl Styles {
            /// The style names as written in theme files, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            pub fn get(&self, name: &str) -> Option<&Style> {
                match name {
                    $(stringify!($name) => Some(&self.$name),)*
                    _ => None,
                }
            }

            pub fn get_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($name) => Some(&mut self.$name),)*
                    _ => None,
                }
            }

            /// `(name, style)` pairs in declaration order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Style)> {
                [$((stringify!($name), &self.$name)),*].into_iter()
            }
        }
    };
}

styles! {
    text: "Body text; also fills the screen background.",
    dim: "Secondary text: units, separators, empty bar tracks.",
    title: "Panel titles.",
    border: "Panel borders.",
    border_focus: "Border of the pane that has the selection.",
    header: "The header rows (environment, clock).",
    table_header: "Column headings.",
    tab: "Inactive view tab.",
    tab_active: "Active view tab.",
    badge_demo: "The DEMO badge: must be unmistakable on a screen share.",
    badge_replay: "The REPLAY badge.",
    badge_live: "The LIVE badge (calmer).",
    flag: "READ-ONLY / REDACTED / PAUSED / SIMULATED DATA flags.",
    ok: "Healthy values and states.",
    warn: "Values over the warning threshold, stale sources.",
    crit: "Values over the critical threshold, errors.",
    info: "Informational highlights.",
    selection: "The selected row (combined with the row's own style).",
    side_eks: "EKS side: waterfall bars, side letters.",
    side_agentcore: "AgentCore side: waterfall bars, side letters.",
    bar_weight: "Configured weight marker on routing bars.",
    bar_observed: "Observed share bars.",
    bar_track: "Empty part of a bar.",
    sparkline: "Sparklines.",
    accent: "Environment name and other accents.",
    key: "Key names in the footer and help.",
    toast_info: "Info toast.",
    toast_warn: "Warning toast.",
    toast_error: "Error toast.",
    filter: "Filter prompt and active filter text.",
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    pub description: String,
    pub styles: Styles,
}

impl Default for Theme {
    /// The built-in `default` theme.
    fn default() -> Self {
        Theme::builtin("default").unwrap_or_else(|| Theme {
            name: "default".into(),
            description: String::new(),
            styles: Styles::default(),
        })
    }
}

const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "solarized-dark",
        include_str!("../../themes/solarized-dark.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

const BUILTIN_NAMES: &[&str] = &[
    "default",
    "light",
    "high-contrast",
    "solarized-dark",
    "colorblind",
    "monochrome",
];

/// How deep `extends` chains may go (also stops cycles).
const MAX_EXTENDS: usize = 4;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ThemeError {
    #[error("{file}: cannot read theme: {message}")]
    Read { file: String, message: String },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {key}: {message}")]
    Value {
        file: String,
        key: String,
        message: String,
    },
    #[error("theme '{spec}' not found: not a built-in theme, not in {dir}, not a file (available: {available})")]
    NotFound {
        spec: String,
        dir: String,
        available: String,
    },
}

impl Theme {
    /// A theme shipped inside the binary.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        parse(text, &format!("themes/{name}.toml"), name, Path::new(""), 0).ok()
    }

    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// `spec` is a built-in name, a name found as `user_dir/<name>.toml`, or a path to a file.
    pub fn load(spec: &str, user_dir: &Path) -> Result<Theme, ThemeError> {
        load_depth(spec, user_dir, 0)
    }

    /// Built-in names then the user's themes (file stems), without duplicates: the `t` cycle.
    pub fn available(user_dir: &Path) -> Vec<String> {
        let mut out: Vec<String> = BUILTIN_NAMES.iter().map(|s| s.to_string()).collect();
        let mut user = Vec::new();
        if let Ok(rd) = std::fs::read_dir(user_dir) {
            for entry in rd.flatten() {
                let p = entry.path();
                if p.extension().and_then(|e| e.to_str()) == Some("toml") {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        if !out.iter().any(|n| n == stem) {
                            user.push(stem.to_string());
                        }
                    }
                }
            }
        }
        user.sort();
        user.dedup();
        out.extend(user);
        out
    }

    /// `monochrome` under `NO_COLOR`, otherwise `default`.
    pub fn for_environment(no_color: bool) -> Theme {
        if no_color {
            Theme::builtin("monochrome").unwrap_or_else(|| Theme {
                name: "monochrome".into(),
                description: String::new(),
                styles: Styles::default(),
            })
        } else {
            Theme::default()
        }
    }

    /// True when no style sets a foreground, background or underline colour.
    pub fn is_colourless(&self) -> bool {
        self.styles
            .iter()
            .all(|(_, s)| s.fg.is_none() && s.bg.is_none() && s.underline_color.is_none())
    }
}

fn load_depth(spec: &str, user_dir: &Path, depth: usize) -> Result<Theme, ThemeError> {
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == spec) {
        return parse(text, &format!("themes/{name}.toml"), name, user_dir, depth);
    }
    let in_dir = user_dir.join(format!("{spec}.toml"));
    let path: PathBuf = if !spec.is_empty() && !spec.contains('/') && in_dir.is_file() {
        in_dir
    } else if Path::new(spec).is_file() {
        PathBuf::from(spec)
    } else {
        return Err(ThemeError::NotFound {
            spec: spec.to_string(),
            dir: user_dir.display().to_string(),
            available: Theme::available(user_dir).join(", "),
        });
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(spec)
        .to_string();
    parse(&text, &file, &stem, user_dir, depth)
}

fn value_err(file: &str, key: impl Into<String>, message: impl Into<String>) -> ThemeError {
    ThemeError::Value {
        file: file.to_string(),
        key: key.into(),
        message: message.into(),
    }
}

/// Parse theme text. `file` names it in errors; `default_name` is used when `name` is absent.
pub fn parse(
    text: &str,
    file: &str,
    default_name: &str,
    user_dir: &Path,
    depth: usize,
) -> Result<Theme, ThemeError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ThemeError::Syntax {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
    let mut name = default_name.to_string();
    let mut description = String::new();
    let mut styles = Styles::default();
    if let Some(base) = table.get("extends") {
        let base = base
            .as_str()
            .ok_or_else(|| value_err(file, "extends", "expected a theme name (a string)"))?;
        if depth >= MAX_EXTENDS {
            return Err(value_err(
                file,
                "extends",
                format!("'{base}': themes extend each other too deeply (a cycle?)"),
            ));
        }
        let parent = load_depth(base, user_dir, depth + 1)
            .map_err(|e| value_err(file, "extends", format!("'{base}': {e}")))?;
        styles = parent.styles;
        description = parent.description;
    }
    for (key, value) in &table {
        match key.as_str() {
            "name" => {
                name = value
                    .as_str()
                    .ok_or_else(|| value_err(file, "name", "expected a string"))?
                    .to_string();
            }
            "description" => {
                description = value
                    .as_str()
                    .ok_or_else(|| value_err(file, "description", "expected a string"))?
                    .to_string();
            }
            "extends" => {}
            "styles" => {
                let t = value
                    .as_table()
                    .ok_or_else(|| value_err(file, "styles", "expected a table of named styles"))?;
                for (sname, sval) in t {
                    let key = format!("styles.{sname}");
                    let slot = styles.get_mut(sname).ok_or_else(|| {
                        value_err(
                            file,
                            key.clone(),
                            format!("unknown style (known: {})", Styles::NAMES.join(", ")),
                        )
                    })?;
                    *slot = parse_style(file, &key, sval)?;
                }
            }
            other => {
                return Err(value_err(
                    file,
                    other,
                    "unknown key (known: name, description, extends, styles)",
                ))
            }
        }
    }
    Ok(Theme {
        name,
        description,
        styles,
    })
}

fn parse_style(file: &str, key: &str, v: &toml::Value) -> Result<Style, ThemeError> {
    let t = v.as_table().ok_or_else(|| {
        value_err(
            file,
            key,
            "expected a table like { fg = \"red\", bg = \"reset\", modifiers = [\"bold\"] }",
        )
    })?;
    let mut style = Style::new();
    for (k, val) in t {
        let sub = format!("{key}.{k}");
        match k.as_str() {
            "fg" => style.fg = Some(parse_colour(file, &sub, val)?),
            "bg" => style.bg = Some(parse_colour(file, &sub, val)?),
            "underline" | "underline_color" => {
                style.underline_color = Some(parse_colour(file, &sub, val)?)
            }
            "modifiers" => {
                let arr = val.as_array().ok_or_else(|| {
                    value_err(
                        file,
                        &sub,
                        "expected a list such as [\"bold\", \"reversed\"]",
                    )
                })?;
                for (i, m) in arr.iter().enumerate() {
                    let s = m.as_str().ok_or_else(|| {
                        value_err(file, format!("{sub}[{i}]"), "expected a modifier name")
                    })?;
                    let modifier = parse_modifier(s).ok_or_else(|| {
                        value_err(
                            file,
                            format!("{sub}[{i}]"),
                            format!(
                                "'{s}' is not a modifier (bold, dim, italic, underlined, \
                                 slow_blink, rapid_blink, reversed, hidden, crossed_out)"
                            ),
                        )
                    })?;
                    style = style.add_modifier(modifier);
                }
            }
            _ => {
                return Err(value_err(
                    file,
                    sub,
                    "unknown key (known: fg, bg, underline_color, modifiers)",
                ))
            }
        }
    }
    Ok(style)
}

const COLOUR_HINT: &str =
    "use one of the 16 ANSI names (black, red, green, yellow, blue, magenta, \
cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, \
white), reset, \"#rrggbb\" or 0-255";

fn parse_colour(file: &str, key: &str, v: &toml::Value) -> Result<Color, ThemeError> {
    match v {
        toml::Value::Integer(i) => u8::try_from(*i)
            .map(Color::Indexed)
            .map_err(|_| value_err(file, key, format!("{i} is not a colour ({COLOUR_HINT})"))),
        toml::Value::String(s) => colour_from_str(s)
            .ok_or_else(|| value_err(file, key, format!("'{s}' is not a colour ({COLOUR_HINT})"))),
        other => Err(value_err(
            file,
            key,
            format!("{other} is not a colour ({COLOUR_HINT})"),
        )),
    }
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(match s.to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "slow_blink" => Modifier::SLOW_BLINK,
        "rapid_blink" => Modifier::RAPID_BLINK,
        "reversed" | "reverse" => Modifier::REVERSED,
        "hidden" => Modifier::HIDDEN,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

/// A colour as theme files and style snapshots write it.
pub fn colour_name(c: Color, out: &mut String) {
    let s = match c {
        Color::Reset => "reset",
        Color::Black => "black",
        Color::Red => "red",
        Color::Green => "green",
        Color::Yellow => "yellow",
        Color::Blue => "blue",
        Color::Magenta => "magenta",
        Color::Cyan => "cyan",
        Color::Gray => "gray",
        Color::DarkGray => "darkgray",
        Color::LightRed => "lightred",
        Color::LightGreen => "lightgreen",
        Color::LightYellow => "lightyellow",
        Color::LightBlue => "lightblue",
        Color::LightMagenta => "lightmagenta",
        Color::LightCyan => "lightcyan",
        Color::White => "white",
        Color::Rgb(r, g, b) => {
            let _ = write!(out, "#{r:02x}{g:02x}{b:02x}");
            return;
        }
        Color::Indexed(i) => {
            let _ = write!(out, "{i}");
            return;
        }
    };
    out.push_str(s);
}

/// Modifier names, `+`-joined (`bold+reversed`), as style snapshots write them.
pub fn modifier_names(m: Modifier, out: &mut String) {
    const NAMES: [(Modifier, &str); 9] = [
        (Modifier::BOLD, "bold"),
        (Modifier::DIM, "dim"),
        (Modifier::ITALIC, "italic"),
        (Modifier::UNDERLINED, "underlined"),
        (Modifier::SLOW_BLINK, "slow_blink"),
        (Modifier::RAPID_BLINK, "rapid_blink"),
        (Modifier::REVERSED, "reversed"),
        (Modifier::HIDDEN, "hidden"),
        (Modifier::CROSSED_OUT, "crossed_out"),
    ];
    let mut first = true;
    for (flag, name) in NAMES {
        if m.contains(flag) {
            if !first {
                out.push('+');
            }
            out.push_str(name);
            first = false;
        }
    }
}
