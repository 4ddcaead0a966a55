//! Help: every section of the action table (`Action::ALL`) with the effective keys (after `[keys]`
//! overrides), and a legend of the symbols the views use. Flows into as many columns as the width
//! allows.
use super::paint::{panel, put, Bare, Ctx, Focus};
use super::text::width;
use crate::action::{Action, KeyMode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

enum Item {
    Heading(&'static str),
    Row(String, String),
}

/// The key sections in the order they are shown: in replay its keys come first (they take
/// precedence there) and the weights editor is left out (a replay is read-only).
fn modes(replay: bool) -> Vec<KeyMode> {
    let mut out = Vec::with_capacity(KeyMode::ALL.len());
    if replay {
        out.push(KeyMode::Replay);
    }
    for m in KeyMode::ALL {
        let skip = match m {
            KeyMode::Replay => true,
            KeyMode::Editor | KeyMode::Review | KeyMode::Reason => replay,
            _ => false,
        };
        if !skip {
            out.push(m);
        }
    }
    out
}

/// Every section of the action table (`Action::ALL`) with the effective keys, then the legend.
fn items(cx: &Ctx) -> Vec<Item> {
    let (g, km) = (cx.g, &cx.ui.keymap);
    let mut v = Vec::with_capacity(Action::ALL.len() + 20);
    for mode in modes(cx.ui.replay.is_some()) {
        v.push(Item::Heading(mode.title()));
        for row in Action::ALL.iter().filter(|b| b.mode == mode) {
            let d = if g.ascii {
                row.help.to_string()
            } else {
                row.help.replace("->", g.arrow)
            };
            v.push(Item::Row(km.labels(row.action), d));
        }
        if mode == KeyMode::Editor && cx.snap.read_only {
            v.push(Item::Row(
                String::new(),
                format!(
                    "read-only: {}, {} disabled",
                    km.label(Action::Weights),
                    km.label(Action::Undo)
                ),
            ));
        }
    }
    legend(cx, v)
}

fn legend(cx: &Ctx, mut v: Vec<Item>) -> Vec<Item> {
    let g = cx.g;
    v.push(Item::Heading("Legend"));
    let legend: [(String, &str); 9] = [
        (
            format!("{} {} {}", g.ok, g.warn, g.crit),
            "ok / warn / critical",
        ),
        (
            format!(
                "{:.0}{} {:.0}{}",
                cx.ui.thresholds.warn_ms, g.warn, cx.ui.thresholds.crit_ms, g.crit
            ),
            "latency warn / crit ms",
        ),
        ("A  E".into(), "AgentCore / EKS side"),
        (
            format!("{}  {}", g.fill_agentcore, g.fill_eks),
            "span bars A / E",
        ),
        (format!("{}ho", g.handoff), "hand-off"),
        (format!("{}esc", g.escalation), "escalation E to A"),
        (format!("{}orph", g.orphan), "orphan: parent missing"),
        (g.weight_tick.to_string(), "weight mark on a bar"),
        (g.none.to_string(), "unknown / no data"),
    ];
    for (k, d) in legend {
        v.push(Item::Row(k, d.to_string()));
    }
    v
}

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let inner = panel(buf, body, "Help", Focus::None, Bare::Untitled, cx).inner;
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let items = items(cx);
    let rows = inner.height as usize;
    // As many columns as the items need (none narrower than 30 cells); items that do not fit
    // are left out from the end, so the legend goes first.
    let max_cols = (inner.width / 30).max(1) as usize;
    let ncols = items.len().div_ceil(rows.max(1)).clamp(1, max_cols);
    // Each column is as wide as its content; spare width is shared out, a shortfall taken
    // from every column alike.
    let mut key_w = vec![0u16; ncols];
    let mut need = vec![0u16; ncols];
    for (i, item) in items.iter().enumerate().take(rows * ncols) {
        let col = i / rows.max(1);
        if let Item::Row(k, _) = item {
            key_w[col] = key_w[col].max(width(k).min(18) as u16);
        }
    }
    for (i, item) in items.iter().enumerate().take(rows * ncols) {
        let col = i / rows.max(1);
        let w = match item {
            Item::Heading(h) => width(h) as u16,
            Item::Row(_, d) => 1 + key_w[col] + 1 + width(d) as u16,
        };
        need[col] = need[col].max(w + 2);
    }
    let total: u16 = need.iter().sum();
    let mut widths = need.clone();
    if total > inner.width {
        let over = total - inner.width;
        let each = over.div_ceil(ncols as u16);
        for w in &mut widths {
            *w = w.saturating_sub(each).max(10);
        }
    } else if ncols > 1 {
        let spare = (inner.width - total) / ncols as u16;
        for w in &mut widths {
            *w += spare.min(8);
        }
    }
    let mut x = inner.x;
    for (col, cw) in widths.iter().enumerate() {
        if x >= inner.right() {
            break;
        }
        let w = (*cw).min(inner.right() - x).saturating_sub(1);
        for (i, item) in items.iter().enumerate().skip(col * rows).take(rows) {
            let y = inner.y + (i - col * rows) as u16;
            match item {
                Item::Heading(h) => {
                    put(buf, x, y, w, h, st.title, g);
                }
                Item::Row(k, d) => {
                    let kw = key_w[col].min(w.saturating_sub(1));
                    put(buf, x + 1, y, kw, k, st.key, g);
                    let dx = x + 2 + kw;
                    if dx < x + w {
                        put(buf, dx, y, x + w - dx, d, st.text, g);
                    }
                }
            }
        }
        x = x.saturating_add(*cw);
    }
}
