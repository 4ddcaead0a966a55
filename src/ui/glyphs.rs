//! Every non-letter glyph the views draw, in one place: a Unicode set and an ASCII set
//! (`--ascii`, `LANG=C`, poor fonts). Views never write a box-drawing or block glyph directly.

#[derive(Debug)]
pub struct Glyphs {
    pub ascii: bool,
    /// Box corners and lines: top-left, top-right, bottom-left, bottom-right, horizontal, vertical.
    pub tl: &'static str,
    pub tr: &'static str,
    pub bl: &'static str,
    pub br: &'static str,
    pub h: &'static str,
    pub v: &'static str,
    /// Column separator between side-by-side panels without borders.
    pub sep: &'static str,
    pub ellipsis: &'static str,
    /// Shown for unknown values (`None`).
    pub none: &'static str,
    pub times: &'static str,
    pub dot: &'static str,
    /// Selection marker.
    pub select: &'static str,
    pub cursor: &'static str,
    /// Full bar cell and the 1/8…7/8 partials (ASCII: no partials).
    pub bar_full: &'static str,
    pub bar_partial: [&'static str; 7],
    pub bar_track: &'static str,
    /// Configured-weight tick on a routing bar.
    pub weight_tick: &'static str,
    /// Sparkline levels, lowest first.
    pub spark: [&'static str; 8],
    /// Waterfall fill per side, so the side reads without colour.
    pub fill_eks: &'static str,
    pub fill_agentcore: &'static str,
    /// A span with no duration.
    pub tick: &'static str,
    pub axis: &'static str,
    pub axis_tick: &'static str,
    /// State marks.
    pub ok: &'static str,
    pub warn: &'static str,
    pub crit: &'static str,
    pub stale: &'static str,
    pub connecting: &'static str,
    pub disabled: &'static str,
    pub handoff: &'static str,
    pub escalation: &'static str,
    pub orphan: &'static str,
    pub arrow: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

pub static UNICODE: Glyphs = Glyphs {
    ascii: false,
    tl: "┌",
    tr: "┐",
    bl: "└",
    br: "┘",
    h: "─",
    v: "│",
    sep: "│",
    ellipsis: "…",
    none: "—",
    times: "×",
    dot: "·",
    select: "▶",
    cursor: "█",
    bar_full: "█",
    bar_partial: ["▏", "▎", "▍", "▌", "▋", "▊", "▉"],
    bar_track: "·",
    weight_tick: "│",
    spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
    fill_eks: "█",
    fill_agentcore: "▒",
    tick: "│",
    axis: "─",
    axis_tick: "┬",
    ok: "✓",
    warn: "▲",
    crit: "✗",
    stale: "▲",
    connecting: "…",
    disabled: "·",
    handoff: "↔",
    escalation: "↑",
    orphan: "?",
    arrow: "→",
    up: "↑",
    down: "↓",
};

pub static ASCII: Glyphs = Glyphs {
    ascii: true,
    tl: "+",
    tr: "+",
    bl: "+",
    br: "+",
    h: "-",
    v: "|",
    sep: "|",
    ellipsis: "...",
    none: "-",
    times: "x",
    dot: ".",
    select: ">",
    cursor: "_",
    bar_full: "#",
    bar_partial: ["", "", "", "", "", "", ""],
    bar_track: ".",
    weight_tick: "|",
    spark: [" ", ".", ":", "-", "=", "+", "*", "#"],
    fill_eks: "#",
    fill_agentcore: "=",
    tick: "|",
    axis: "-",
    axis_tick: "+",
    ok: "+",
    warn: "^",
    crit: "!",
    stale: "~",
    connecting: ".",
    disabled: "-",
    handoff: "<>",
    escalation: "^",
    orphan: "?",
    arrow: "->",
    up: "^",
    down: "v",
};

impl Glyphs {
    pub fn get(ascii: bool) -> &'static Glyphs {
        if ascii {
            &ASCII
        } else {
            &UNICODE
        }
    }
}
