//! The Overview's AgentCore pane: Gateway tool targets (slowest and most failing first, in-VPC
//! PrivateLink targets marked), the verdict that names where a slowdown comes from, Identity
//! token fetches and Memory beside the context-loss rate. Drawn only when there is AgentCore
//! data beyond the runtimes.
use super::paint::{panel, put, Bare, Ctx, Cursor, Focus};
use super::table::layout::Layout;
use super::table::tools::TOOLS;
use super::text;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Target rows shown.
const ROWS: usize = 3;

/// Rows the pane needs (0 without AgentCore data).
pub fn height(cx: &Ctx) -> u16 {
    let a = &cx.snap.agentcore;
    if a.is_empty() {
        return 0;
    }
    let verdict = u16::from(a.verdict.is_some());
    if !cx.boxed() {
        // Compact: only when a target explains a slowdown — the verdict and that target.
        return 3 * verdict;
    }
    let rows = a.tools.len().min(ROWS) as u16;
    2 + 1 + rows + verdict + 1
}

pub fn draw(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let a = &snap.agentcore;
    let title = match &a.namespace {
        Some(ns) => format!("AgentCore tools · identity · memory ({ns})"),
        None => "AgentCore tools · identity · memory".to_string(),
    };
    let p = panel(buf, area, &title, Focus::None, Bare::InHeading, cx);
    let inner = p.inner;
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let mut y = inner.y;
    if let Some(v) = &a.verdict {
        put(
            buf,
            inner.x,
            y,
            inner.width,
            &format!("{} {v}", g.crit),
            st.crit,
            g,
        );
        y += 1;
    }
    let n = if cx.boxed() { ROWS } else { 1 };
    let rows: Vec<_> = a.tools.iter().take(n).cloned().collect();
    if y < inner.bottom() {
        let body = Rect::new(inner.x, y, inner.width, inner.bottom() - y);
        let table = Layout::new(&TOOLS, body, false, cx, &rows);
        table.head(buf, y, cx, None, if y == inner.y { p.corner } else { None });
        y += 1;
        for r in &rows {
            if y >= inner.bottom() {
                return;
            }
            table.row(buf, y, r, false, cx);
            y += 1;
        }
    }
    if y >= inner.bottom() {
        return;
    }
    let mut c = Cursor::new(inner, y);
    match &a.identity {
        Some(i) => {
            let style = if i.failure_rate.is_some_and(|r| r > 0.05) {
                st.crit
            } else {
                st.text
            };
            let s = format!(
                "Identity {} ok {} {} failed ({})",
                text::count(i.successes),
                g.dot,
                text::count(i.failures),
                text::opt_pct(i.failure_rate, g.none)
            );
            c.text(buf, &s, style, g);
        }
        None => c.text(buf, "Identity —", st.dim, g),
    }
    for m in &a.memory {
        let short = m.resource.rsplit('/').next().unwrap_or(&m.resource);
        let s = format!(
            "   Memory {short} (context loss {}): {} calls p99 {} ms err {} thr {}",
            text::opt_pct(snap.sessions.context_loss_rate, g.none),
            text::count(m.invocations),
            m.latency_ms
                .p99
                .map_or_else(|| g.none.to_string(), |v| format!("{v:.0}")),
            m.errors,
            m.throttles
        );
        let style = if m.errors + m.throttles > 0 {
            st.warn
        } else {
            st.text
        };
        c.text(buf, &s, style, g);
    }
    if a.memory.is_empty() {
        let loss = format!(
            "   context loss {}",
            text::opt_pct(snap.sessions.context_loss_rate, g.none)
        );
        c.text(buf, &loss, st.dim, g);
    }
}
