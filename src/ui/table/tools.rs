//! The Overview's AgentCore Tools pane: one row per Gateway target, slowest first.
use super::{Column, Width};
use crate::model::agentcore::{ToolView, TOOL_SLOW_MS};
use crate::ui::text;

type Tool = Column<ToolView>;

fn ms(v: Option<f64>, none: &str) -> String {
    v.map_or_else(|| none.to_string(), |v| format!("{v:.0}"))
}

pub const TOOLS: [Column<ToolView>; 8] = [
    Tool::text("target", Width::grow(12, 32), |t, cx| {
        let style = if t.target_execution_ms.p90.is_some_and(|p| p > TOOL_SLOW_MS) {
            cx.st.crit
        } else {
            cx.st.text
        };
        (t.target.as_str().into(), style)
    }),
    Tool::text("where", Width::Fixed(10), |t, cx| {
        if t.in_vpc {
            ("in-VPC/PL".into(), cx.st.accent)
        } else {
            ("gateway".into(), cx.st.dim)
        }
    }),
    Tool::text("calls", Width::Fixed(6), |t, cx| {
        (text::count(t.invocations).into(), cx.st.text)
    })
    .right(),
    Tool::text("err", Width::Fixed(5), |t, cx| {
        let style = if t.errors > 0 { cx.st.warn } else { cx.st.dim };
        (t.errors.to_string().into(), style)
    })
    .right(),
    Tool::text("thr", Width::Fixed(5), |t, cx| {
        let style = if t.throttles > 0 {
            cx.st.warn
        } else {
            cx.st.dim
        };
        (t.throttles.to_string().into(), style)
    })
    .right(),
    Tool::text("target p90", Width::Fixed(10), |t, cx| {
        let p = t.target_execution_ms.p90;
        let style = if p.is_some_and(|p| p > TOOL_SLOW_MS) {
            cx.st.crit
        } else {
            cx.st.text
        };
        (ms(p, cx.g.none).into(), style)
    })
    .right(),
    Tool::text("lat p90", Width::Fixed(8), |t, cx| {
        (ms(t.latency_ms.p90, cx.g.none).into(), cx.st.text)
    })
    .right(),
    Tool::text("p99", Width::Fixed(6), |t, cx| {
        (ms(t.latency_ms.p99, cx.g.none).into(), cx.st.dim)
    })
    .right()
    .from(70),
];
