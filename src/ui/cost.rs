//! Cost: estimated cost per path (live), billed month-to-date (Cost Explorer) with its age, daily
//! billed bars, the dashboard's own API cost, and the phase advisor's cost/volume triggers.
//! Estimates and billed figures are always labelled and never mixed.
use super::overview::billed_line;
use super::paint::{
    bar, draw_box, flex, l, put, r, repeat, split_h, take_top, Col, Ctx, Cursor, Tier,
};
use super::parts;
use super::text;
use crate::model::path::Side;
use crate::model::update::CostClass;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn frame(buf: &mut Buffer, area: Rect, title: &str, cx: &Ctx) -> Rect {
    let (st, g) = (cx.st, cx.g);
    if cx.boxed() {
        draw_box(buf, area, title, st.border, st.title, g)
    } else {
        let mut a = area;
        let t = take_top(&mut a, 1);
        put(buf, t.x, t.y, t.width, title, st.title, g);
        a
    }
}

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let n = cx.snap.paths.len() as u16;
    let mut rest = body;
    let extra = if cx.boxed() { 2 } else { 0 };
    let table = take_top(&mut rest, 1 + 1 + n + 1 + extra);
    paths_table(buf, table, cx);
    let billed_h = if cx.boxed() { 2 + 3 } else { 3 };
    let billed = take_top(&mut rest, billed_h);
    billed_panel(buf, billed, cx);
    match cx.tier {
        Tier::Compact => {
            daily(buf, rest, cx);
        }
        _ => {
            let (left, right) = split_h(rest, rest.width * 3 / 5);
            daily(buf, left, cx);
            phase(buf, right, cx);
        }
    }
}

fn paths_table(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = frame(buf, area, "Estimated cost per path (live metrics)", cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let wide = cx.tier == Tier::Wide;
    let mut fixed: Vec<Col> = vec![l(9), r(7), r(8), r(8), r(9), r(6)];
    if wide {
        fixed.push(r(8));
    }
    let lw = (inner.width / 4).clamp(12, 20);
    fixed.insert(0, l(lw));
    let bar_w = flex(inner.width, &fixed, 0).saturating_sub(1).min(50);
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(lw), "path", th, g);
    c.cell(buf, l(9), "side", th, g);
    c.cell(buf, r(7), "req/m", th, g);
    c.cell(buf, r(8), "$/h", th, g);
    c.cell(buf, r(8), "$/1k req", th, g);
    c.cell(buf, r(9), "$/month", th, g);
    c.cell(buf, r(6), "share", th, g);
    if wide {
        c.cell(buf, r(8), "$/req", th, g);
    }
    if bar_w >= 17 {
        c.cell(buf, l(bar_w), "share of est. $/h", th, g);
    }
    let total = snap.cost.estimated_usd_per_hour;
    let mut y = inner.y + 1;
    for p in &snap.paths {
        if y >= inner.bottom() {
            return;
        }
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), &p.label, st.text, g);
        let side_style = parts::side_style(Some(p.kind), st);
        let side = match p.kind {
            Side::Eks => "eks",
            Side::Agentcore => "agentcore",
        };
        c.cell(buf, l(9), side, side_style, g);
        c.cell(
            buf,
            r(7),
            &format!("{:.0}", p.requests_per_minute),
            st.text,
            g,
        );
        c.cell(
            buf,
            r(8),
            &text::usd(p.cost.usd_per_hour, 2, g.none),
            st.text,
            g,
        );
        c.cell(
            buf,
            r(8),
            &text::usd(p.cost.usd_per_1k_requests, 3, g.none),
            st.text,
            g,
        );
        c.cell(
            buf,
            r(9),
            &text::usd(p.cost.projected_usd_per_month, 0, g.none),
            st.text,
            g,
        );
        let share = match (p.cost.usd_per_hour, total) {
            (Some(a), Some(t)) if t > 0.0 => Some(a / t),
            _ => None,
        };
        let share_s = share.map(text::share).unwrap_or_else(|| g.none.into());
        c.cell(buf, r(6), &share_s, st.text, g);
        if wide {
            let per_req = p.cost.usd_per_1k_requests.map(|v| v / 1000.0);
            c.cell(buf, r(8), &text::usd(per_req, 5, g.none), st.dim, g);
        }
        if bar_w > 0 {
            let (bx, bw) = c.take(bar_w);
            bar(
                buf,
                (bx, y, bw),
                share.unwrap_or(0.0),
                side_style,
                st.bar_track,
                g,
            );
        }
        y += 1;
    }
    if y < inner.bottom() {
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), "total (est.)", st.title, g);
        c.cell(buf, l(9), "", st.text, g);
        let rpm: f64 = snap.paths.iter().map(|p| p.requests_per_minute).sum();
        c.cell(buf, r(7), &format!("{rpm:.0}"), st.title, g);
        c.cell(buf, r(8), &text::usd(total, 2, g.none), st.title, g);
        let per_1k = total
            .filter(|_| rpm > 0.0)
            .map(|t| t / (rpm * 60.0) * 1000.0);
        c.cell(buf, r(8), &text::usd(per_1k, 3, g.none), st.title, g);
        let month = snap
            .cost
            .projected_usd_per_month
            .or(total.map(|t| t * 730.0));
        c.cell(buf, r(9), &text::usd(month, 0, g.none), st.title, g);
    }
}

fn billed_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = if cx.boxed() {
        draw_box(
            buf,
            area,
            "Billed (Cost Explorer) vs estimated",
            st.border,
            st.title,
            g,
        )
    } else {
        area
    };
    if inner.height == 0 {
        return;
    }
    billed_line(buf, Rect::new(inner.x, inner.y, inner.width, 1), false, cx);
    if let Some(asof) = snap.cost.billed_as_of {
        let s = format!(" {} as of {}", g.dot, asof.format("%Y-%m-%d %H:%M UTC"));
        let x = inner.x + line_width(buf, inner.x, inner.y, inner.width);
        put(
            buf,
            x,
            inner.y,
            inner.right().saturating_sub(x),
            &s,
            st.dim,
            g,
        );
    }
    if inner.height < 2 {
        return;
    }
    let mut c = Cursor::new(inner, inner.y + 1);
    c.skip(2);
    match &snap.cost.billed_month_to_date_usd {
        Some(m) => {
            let mut first = true;
            for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "total") {
                if !first {
                    c.text(buf, &format!(" {} ", g.dot), st.dim, g);
                }
                first = false;
                c.text(buf, k, st.dim, g);
                c.skip(1);
                c.text(buf, &text::usd(Some(*v), 2, g.none), st.text, g);
            }
        }
        None => c.text(buf, "no billed figures yet", st.dim, g),
    }
    if inner.height < 3 {
        return;
    }
    let mut c = Cursor::new(inner, inner.y + 2);
    c.text(buf, "est. ", st.title, g);
    c.text(
        buf,
        &format!(
            "{}/h {} {}/month projected",
            text::usd(snap.cost.estimated_usd_per_hour, 2, g.none),
            g.arrow,
            text::usd(
                snap.cost
                    .projected_usd_per_month
                    .or(snap.cost.estimated_usd_per_hour.map(|h| h * 730.0)),
                0,
                g.none
            )
        ),
        st.text,
        g,
    );
    if let Some(api) = snap.cost.dashboard_api_usd_per_hour {
        c.text(buf, &format!("  {} dashboard API ", g.dot), st.dim, g);
        let s = format!(
            "{}/h ({}/month)",
            text::usd(Some(api), 3, g.none),
            text::usd(Some(api * 730.0), 2, g.none)
        );
        c.text(buf, &s, st.text, g);
    }
}

/// Cells already written on a row from x (up to the last non-space).
fn line_width(buf: &Buffer, x: u16, y: u16, w: u16) -> u16 {
    let mut last = 0;
    for i in 0..w {
        if let Some(c) = buf.cell((x + i, y)) {
            if c.symbol() != " " {
                last = i + 1;
            }
        }
    }
    last
}

fn class_fill(class: CostClass, cx: &Ctx) -> (&'static str, ratatui::style::Style) {
    match class {
        CostClass::Eks => (cx.g.fill_eks, cx.st.side_eks),
        CostClass::Agentcore => (cx.g.fill_agentcore, cx.st.side_agentcore),
        CostClass::Other => (cx.g.bar_track, cx.st.dim),
    }
}

/// One row per day: date, total, and a bar stacked by class (each class has its own glyph).
fn daily(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = frame(buf, area, "Billed per day (Cost Explorer)", cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let daily = &snap.cost.daily;
    if daily.is_empty() {
        put(
            buf,
            inner.x,
            inner.y,
            inner.width,
            "no daily figures yet",
            st.dim,
            g,
        );
        return;
    }
    // Legend on the first row.
    let mut c = Cursor::new(inner, inner.y);
    for class in [CostClass::Agentcore, CostClass::Eks, CostClass::Other] {
        let (fill, style) = class_fill(class, cx);
        c.text(buf, fill, style, g);
        c.skip(1);
        c.text(buf, crate::model::snapshot::class_key(class), st.dim, g);
        c.skip(2);
    }
    // Dates in order (the list is oldest first, grouped by date).
    let rows = inner.height.saturating_sub(1) as usize;
    let mut dates: Vec<chrono::NaiveDate> = Vec::with_capacity(16);
    for d in daily {
        if dates.last() != Some(&d.date) {
            dates.push(d.date);
        }
    }
    let day_total = |date: chrono::NaiveDate| -> f64 {
        daily.iter().filter(|d| d.date == date).map(|d| d.usd).sum()
    };
    let max = dates.iter().map(|d| day_total(*d)).fold(0.0f64, f64::max);
    let skip = dates.len().saturating_sub(rows);
    let bar_w = inner.width.saturating_sub(10 + 1 + 8 + 1);
    for (row, date) in dates.iter().skip(skip).enumerate() {
        let y = inner.y + 1 + row as u16;
        let mut c = Cursor::new(inner, y);
        let label = date.format("%m-%d %a").to_string();
        c.cell(buf, l(9), &label, st.dim, g);
        let tot = day_total(*date);
        c.cell(buf, r(8), &text::usd(Some(tot), 2, g.none), st.text, g);
        let (bx, bw) = c.take(bar_w);
        if max <= 0.0 || bw == 0 {
            continue;
        }
        let mut x = bx;
        let mut acc = 0.0;
        for class in [CostClass::Agentcore, CostClass::Eks, CostClass::Other] {
            let v: f64 = daily
                .iter()
                .filter(|d| d.date == *date && d.class == class)
                .map(|d| d.usd)
                .sum();
            acc += v;
            let end = bx + ((acc / max) * f64::from(bw)).round() as u16;
            let (fill, style) = class_fill(class, cx);
            if end > x {
                repeat(buf, x, y, end - x, fill, style);
                x = end;
            }
        }
    }
}

/// The seed's phase-transition triggers evaluated on projected month values.
fn phase(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let title = format!("Phase advisor (now phase {})", snap.phase.current);
    let inner = frame(buf, area, &title, cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let fixed = [l(3), r(9), r(9), l(8)];
    let mw = flex(inner.width, &fixed, 8).min(20);
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(mw), "metric", th, g);
    c.cell(buf, l(3), "to", th, g);
    c.cell(buf, r(9), "value", th, g);
    c.cell(buf, r(9), "threshold", th, g);
    c.cell(buf, l(8), "", th, g);
    for (i, t) in snap.phase.triggers.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let fmt = |v: f64| -> String {
            match t.metric.as_str() {
                "monthly_cost_usd" => text::usd(Some(v), 0, g.none),
                "context_loss_rate" => text::opt_pct(Some(v), g.none),
                "p95_ms" => format!("{} ms", text::ms(Some(v), g.none)),
                _ => text::count(v.max(0.0) as u64),
            }
        };
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(mw), &t.metric, st.text, g);
        c.cell(buf, l(3), &t.toward_phase.to_string(), st.dim, g);
        let v = t.value.map(fmt).unwrap_or_else(|| g.none.into());
        c.cell(buf, r(9), &v, st.text, g);
        c.cell(buf, r(9), &fmt(t.threshold), st.dim, g);
        if t.met {
            c.text(buf, &format!("{} met", g.warn), st.warn, g);
        } else {
            c.text(buf, &format!("{} not met", g.ok), st.ok, g);
        }
    }
}
