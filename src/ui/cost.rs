//! Cost: the live estimate per path, billed (Cost Explorer) next to the estimate per side with
//! month-to-date and projected month, daily billed bars, the dashboard's own API spend, and the
//! advisor — break-even modes, the recommended split, the phase triggers and success metrics.
//! Estimated and billed figures are always labelled and never mixed: a row or a column says
//! which it is.
use super::paint::{
    bar, l, panel, put, r, repeat, split_h, take_top, Bare, Ctx, Cursor, Focus, Tier,
};
use super::parts;
use super::table::cost::{
    self as tables, billed_of, success_text, target_mark, trigger_text, BILLED, BILLED_ROWS,
    SUCCESS, TRIGGERS,
};
use super::table::layout::Layout;
use super::table::paths::PathRow;
use super::text::{self, width};
use crate::model::cost::HOURS_PER_MONTH;
use crate::model::snapshot::{class_key, AdvisorMode, PhaseTrigger};
use crate::model::update::CostClass;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// A panel titled in its border, or on a row of its own at 80 columns.
fn frame(buf: &mut Buffer, area: Rect, title: &str, cx: &Ctx) -> Rect {
    panel(buf, area, title, Focus::None, Bare::TitleRow, cx).inner
}

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let n = cx.snap.paths.len() as u16;
    let mut rest = body;
    // Title (or top border), header, the paths, total; a bottom border when boxed.
    let table = take_top(&mut rest, 3 + n + u16::from(cx.boxed()));
    paths_table(buf, table, cx);
    if cx.tier == Tier::Compact {
        compact(buf, rest, cx);
        return;
    }
    let left_w = if cx.tier == Tier::Wide {
        rest.width / 2
    } else {
        rest.width * 11 / 20
    };
    let (mut left, mut right) = split_h(rest, left_w);
    let billed = take_top(&mut left, 2 + 7);
    billed_panel(buf, billed, cx);
    daily(buf, left, cx);
    let adv_h = advisor_height(cx, right.width.saturating_sub(2)).min(right.height / 2 + 2);
    let adv = take_top(&mut right, adv_h);
    advisor_panel(buf, adv, cx);
    phase_panel(buf, right, cx);
}

// ---- per path (estimate) ------------------------------------------------------------------

fn paths_table(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let title = "Estimated cost per path (live metrics, not billed)";
    let inner = frame(buf, area, title, cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let mut rows: Vec<PathRow> = cx.snap.paths.iter().map(PathRow::Path).collect();
    rows.push(PathRow::Total);
    let cols = tables::paths();
    let table = Layout::new(&cols, inner, false, cx, &rows);
    table.head(buf, inner.y, cx, None, None);
    for (y, r) in (inner.y + 1..inner.bottom()).zip(&rows) {
        table.row(buf, y, r, false, cx);
    }
}

// ---- billed vs estimated, per side --------------------------------------------------------

fn billed_age(cx: &Ctx) -> String {
    let age = text::age(parts::age_of(cx, cx.snap.cost.billed_as_of), cx.g.none);
    match cx.snap.cost.billed_as_of {
        Some(t) => format!("as of {} ({age} old)", t.format("%m-%d %H:%M UTC")),
        None => "no Cost Explorer data yet".into(),
    }
}

fn api_text(cx: &Ctx) -> Option<String> {
    let api = cx.snap.cost.dashboard_api_usd_per_hour?;
    Some(format!(
        "dashboard API {}/h ({}/month)",
        text::usd(Some(api), 3, cx.g.none),
        text::usd(Some(api * HOURS_PER_MONTH), 2, cx.g.none)
    ))
}

fn billed_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let inner = frame(
        buf,
        area,
        "Billed (Cost Explorer) vs estimated, per side",
        cx,
    );
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let table = Layout::new(&BILLED, inner, false, cx, &BILLED_ROWS);
    table.head(buf, inner.y, cx, None, None);
    let mut y = inner.y + 1;
    for r in &BILLED_ROWS {
        if y >= inner.bottom() {
            return;
        }
        table.row(buf, y, r, false, cx);
        y += 1;
    }
    if y < inner.bottom() {
        let s = format!("billed {} {} month = 730 h", billed_age(cx), g.dot);
        put(buf, inner.x, y, inner.width, &s, st.dim, g);
        y += 1;
    }
    if y < inner.bottom() {
        if let Some(api) = api_text(cx) {
            put(buf, inner.x, y, inner.width, &api, st.dim, g);
        }
    }
}

fn class_fill(class: CostClass, cx: &Ctx) -> (&'static str, Style) {
    match class {
        CostClass::Eks => (cx.g.fill_eks, cx.st.side_eks),
        CostClass::Agentcore => (cx.g.fill_agentcore, cx.st.side_agentcore),
        CostClass::Other => (cx.g.bar_track, cx.st.dim),
    }
}

/// Days in order (the list is oldest first, grouped by date) with their totals.
fn day_totals(cx: &Ctx) -> Vec<(chrono::NaiveDate, f64)> {
    let mut out: Vec<(chrono::NaiveDate, f64)> = Vec::with_capacity(16);
    for d in &cx.snap.cost.daily {
        match out.last_mut() {
            Some((date, sum)) if *date == d.date => *sum += d.usd,
            _ => out.push((d.date, d.usd)),
        }
    }
    out
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
        c.text(buf, class_key(class), st.dim, g);
        c.skip(2);
    }
    let rows = inner.height.saturating_sub(1) as usize;
    let dates = day_totals(cx);
    let max = dates.iter().map(|d| d.1).fold(0.0f64, f64::max);
    let skip = dates.len().saturating_sub(rows);
    let bar_w = inner.width.saturating_sub(10 + 1 + 8 + 1);
    for (row, (date, tot)) in dates.iter().skip(skip).enumerate() {
        let y = inner.y + 1 + row as u16;
        let mut c = Cursor::new(inner, y);
        let label = date.format("%m-%d %a").to_string();
        c.cell(buf, l(9), &label, st.dim, g);
        c.cell(buf, r(8), &text::usd(Some(*tot), 2, g.none), st.text, g);
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

// ---- advisor ------------------------------------------------------------------------------

/// Greedy word wrap by display width.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let cw = width(&cur);
        let ww = width(word);
        if cw > 0 && cw + 1 + ww > w {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn weights_text(w: &crate::domain::weights::Weights) -> String {
    w.iter()
        .map(|(_, v)| v.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The recommendation's lines (wrapped to `w`), or the advisor's first note.
fn advice_lines(cx: &Ctx, w: usize) -> Vec<(String, Style)> {
    let (st, g, adv) = (cx.st, cx.g, &cx.snap.advisor);
    let mut out = Vec::new();
    // Health before cost: say why the advisor is not optimising, above anything else.
    if adv.mode == AdvisorMode::Hold {
        if let Some(reason) = &adv.reason {
            for line in wrap(reason, w) {
                out.push((line, st.warn));
            }
        }
    }
    match &adv.recommendation {
        Some(rec) => {
            for (i, line) in wrap(&rec.text, w.saturating_sub(2)).into_iter().enumerate() {
                let lead = if i == 0 { g.select } else { " " };
                out.push((format!("{lead} {line}"), st.title));
            }
            if cx.tier != Tier::Compact {
                let cmd = format!(
                    "w to edit, or: hybridtop weights set {}",
                    rec.weights.to_text()
                );
                for line in wrap(&cmd, w.saturating_sub(2)) {
                    out.push((format!("  {line}"), st.dim));
                }
            }
        }
        None => {
            // Compact: the first note; boxed: all of them.
            let take = if cx.tier == Tier::Compact {
                1
            } else {
                usize::MAX
            };
            if adv.notes.is_empty() {
                out.push(("no recommendation".into(), st.dim));
            }
            for note in adv.notes.iter().take(take) {
                for line in wrap(note, w) {
                    out.push((line, st.dim));
                }
            }
        }
    }
    out
}

fn advisor_height(cx: &Ctx, inner_w: u16) -> u16 {
    // Border, 4 modes, the break-even line, then the advice.
    2 + 4 + 1 + advice_lines(cx, inner_w as usize).len() as u16
}

fn advisor_title(cx: &Ctx) -> String {
    let adv = &cx.snap.advisor;
    format!(
        "Break-even at {} req/month (est. $/month)",
        text::count(adv.monthly_requests.max(0.0) as u64)
    )
}

fn advisor_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, adv) = (cx.st, cx.g, &cx.snap.advisor);
    let inner = frame(buf, area, &advisor_title(cx), cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let m = &adv.modes;
    let max = [m.agentcore_only, m.eks_only, m.current, m.optimal]
        .into_iter()
        .flatten()
        .fold(0.0f64, f64::max);
    let current = weights_text(&adv.current_weights);
    let optimal = adv
        .optimal_weights
        .as_ref()
        .map(weights_text)
        .unwrap_or_default();
    let rows: [(&str, Option<f64>, String); 4] = [
        ("AgentCore only", m.agentcore_only, String::new()),
        ("EKS only", m.eks_only, String::new()),
        ("current split", m.current, current),
        ("optimal split", m.optimal, optimal),
    ];
    let mut y = inner.y;
    let note_w = 10u16;
    let bar_w = inner.width.saturating_sub(14 + 1 + 9 + 1 + note_w + 1);
    for (name, v, note) in rows {
        if y >= inner.bottom() {
            return;
        }
        let mut c = Cursor::new(inner, y);
        let style = if name == "optimal split" {
            st.ok
        } else {
            st.text
        };
        c.cell(buf, l(14), name, st.text, g);
        c.cell(buf, r(9), &text::usd(v, 0, g.none), style, g);
        if bar_w > 0 {
            let (bx, bw) = c.take(bar_w);
            let frac = match v {
                Some(v) if max > 0.0 => v / max,
                _ => 0.0,
            };
            bar(buf, (bx, y, bw), frac, style, st.bar_track, g);
        }
        c.cell(buf, l(note_w), &note, st.dim, g);
        y += 1;
    }
    if y < inner.bottom() {
        let be = match adv.break_even_monthly_requests {
            Some(v) => format!("EKS pays off above {} req/month", short_count(v)),
            None => "EKS does not pay off at these prices".into(),
        };
        let cap = adv
            .eks_capacity_rpm
            .map(|c| format!("{c:.0} req/m"))
            .unwrap_or_else(|| "unknown".into());
        let s = format!("{be} {} capacity {cap}", g.dot);
        put(buf, inner.x, y, inner.width, &s, st.dim, g);
        y += 1;
    }
    for (line, style) in advice_lines(cx, inner.width as usize) {
        if y >= inner.bottom() {
            return;
        }
        put(buf, inner.x, y, inner.width, &line, style, g);
        y += 1;
    }
}

/// `427K`, `1.5M`, `900`.
fn short_count(v: f64) -> String {
    let v = v.max(0.0);
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}K", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

// ---- phase --------------------------------------------------------------------------------

/// The triggers listed: those toward the next phase, or in phase 3 those that led there.
fn shown_triggers<'a>(cx: &Ctx<'a>) -> (u8, Vec<&'a PhaseTrigger>) {
    let ph = &cx.snap.phase;
    let toward = ph.next.unwrap_or(3);
    (
        toward,
        ph.triggers
            .iter()
            .filter(|t| t.toward_phase == toward)
            .collect(),
    )
}

fn phase_title(cx: &Ctx) -> String {
    let ph = &cx.snap.phase;
    let how = if ph.configured {
        "configured"
    } else {
        "inferred"
    };
    let (toward, ts) = shown_triggers(cx);
    let met = ts.iter().filter(|t| t.met).count();
    match ph.next {
        Some(_) => format!(
            "Phase {} ({how}) {} {toward}: {met} of {} triggers met",
            ph.current,
            cx.g.arrow,
            ts.len()
        ),
        None => format!("Phase {} ({how})", ph.current),
    }
}

fn phase_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let inner = frame(buf, area, &phase_title(cx), cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let (_, triggers) = shown_triggers(cx);
    let table = Layout::new(&TRIGGERS, inner, false, cx, triggers.iter().copied());
    table.head(buf, inner.y, cx, None, None);
    let mut y = inner.y + 1;
    for t in triggers {
        if y >= inner.bottom() {
            return;
        }
        table.row(buf, y, t, false, cx);
        y += 1;
    }
    let metrics = &cx.snap.phase.success_metrics;
    if metrics.is_empty() || y + 1 >= inner.bottom() {
        return;
    }
    let table = Layout::new(&SUCCESS, inner, false, cx, metrics);
    table.head(buf, y, cx, None, None);
    for (y, s) in (y + 1..inner.bottom()).zip(metrics) {
        table.row(buf, y, s, false, cx);
    }
}

// ---- compact (80×24): the same figures, unboxed and condensed -----------------------------

fn compact(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let mut y = area.y;
    let w = area.width;
    let bottom = area.bottom();
    let line = |buf: &mut Buffer, y: &mut u16, parts: &[(&str, Style)]| {
        if *y >= bottom {
            return;
        }
        let mut c = Cursor::new(area, *y);
        for (s, style) in parts {
            c.text(buf, s, *style, g);
        }
        *y += 1;
    };
    // Billed vs estimated.
    let (mtd, pace) = billed_of(cx, "total");
    line(
        buf,
        &mut y,
        &[
            ("Billed (Cost Explorer) ", st.title),
            (&billed_age(cx), st.dim),
        ],
    );
    let by_class: Vec<String> = ["agentcore", "eks", "other"]
        .iter()
        .filter_map(|k| {
            let (m, _) = billed_of(cx, k);
            m.map(|m| format!("{k} {}", text::usd(Some(m), 0, g.none)))
        })
        .collect();
    let mut billed = format!("  MTD {}", text::usd(mtd, 0, g.none));
    if !by_class.is_empty() {
        billed.push_str(&format!(" ({})", by_class.join(&format!(" {} ", g.dot))));
    }
    line(buf, &mut y, &[(&billed, st.text)]);
    let mut est = format!(
        "  {} {}/month at this pace {} est. {}/h {} {}/month",
        g.arrow,
        text::usd(pace, 0, g.none),
        g.dot,
        text::usd(snap.cost.estimated_usd_per_hour, 2, g.none),
        g.arrow,
        text::usd(snap.cost.projected_usd_per_month, 0, g.none)
    );
    if let Some(api) = snap.cost.dashboard_api_usd_per_hour {
        est.push_str(&format!(
            " {} API {}/h",
            g.dot,
            text::usd(Some(api), 3, g.none)
        ));
    }
    line(buf, &mut y, &[(&est, st.text)]);
    // Break-even and the advice.
    let m = &snap.advisor.modes;
    line(buf, &mut y, &[(&advisor_title(cx), st.title)]);
    let modes = format!(
        "  AgentCore only {} {} EKS only {} {} now {} {} optimal {}",
        text::usd(m.agentcore_only, 0, g.none),
        g.dot,
        text::usd(m.eks_only, 0, g.none),
        g.dot,
        text::usd(m.current, 0, g.none),
        g.dot,
        text::usd(m.optimal, 0, g.none),
    );
    line(buf, &mut y, &[(&modes, st.text)]);
    for (l, style) in advice_lines(cx, w as usize) {
        line(buf, &mut y, &[(&l, style)]);
    }
    // Phase: the next phase's triggers, two per row.
    line(buf, &mut y, &[(&phase_title(cx), st.title)]);
    let (_, triggers) = shown_triggers(cx);
    let half = w / 2;
    for pair in triggers.chunks(2) {
        if y >= bottom {
            return;
        }
        for (k, t) in pair.iter().enumerate() {
            let (name, v, thr) = trigger_text(t, cx);
            // The configured facts read as sentences; the numbers as `value > threshold`.
            let (name, thr) = match t.metric.as_str() {
                "custom_model_needed" => (name, String::new()),
                "team_k8s_capability" => ("team", format!("(needs {thr})")),
                _ => (name, thr),
            };
            let known = super::table::cost::trigger_known(t, cx);
            let v = if known { v } else { g.none.to_string() };
            let (mark, style) = if !known {
                (g.none, st.dim)
            } else if t.met {
                (g.warn, st.warn)
            } else {
                (g.ok, st.ok)
            };
            let x = area.x + k as u16 * half;
            let mut c = Cursor {
                x,
                y,
                end: (x + half).min(area.right()),
            };
            c.text(buf, &format!("  {mark} "), style, g);
            c.text(buf, &format!("{name} {v} "), st.text, g);
            c.text(buf, &thr, st.dim, g);
        }
        y += 1;
    }
    // Success metrics, two per row.
    let sm = &snap.phase.success_metrics;
    for (i, pair) in sm.chunks(2).enumerate() {
        if y >= bottom {
            return;
        }
        for (k, s) in pair.iter().enumerate() {
            let (name, v, target) = success_text(s, cx);
            let (mark, style) = target_mark(s.met, cx);
            let x = area.x + k as u16 * half;
            let mut c = Cursor {
                x,
                y,
                end: (x + half).min(area.right()),
            };
            let lead = if i == 0 && k == 0 { "Success " } else { "" };
            if !lead.is_empty() {
                c.text(buf, lead, st.title, g);
            } else if k == 0 {
                c.skip(8);
            }
            c.text(buf, &format!("{mark} "), style, g);
            c.text(buf, &format!("{name} {v} "), st.text, g);
            c.text(buf, &target, st.dim, g);
        }
        y += 1;
    }
    // Daily billed totals as one bar per day.
    if y < bottom {
        let days = day_totals(cx);
        let mut c = Cursor::new(area, y);
        c.text(buf, "Billed per day ", st.title, g);
        if days.is_empty() {
            c.text(buf, "no daily figures yet", st.dim, g);
            return;
        }
        let max = days.iter().map(|d| d.1).fold(0.0f64, f64::max);
        let min = days.iter().map(|d| d.1).fold(f64::INFINITY, f64::min);
        if let (Some(first), Some(last)) = (days.first(), days.last()) {
            c.text(
                buf,
                &format!(
                    "{}{}{} ",
                    first.0.format("%m-%d"),
                    g.arrow,
                    last.0.format("%m-%d")
                ),
                st.dim,
                g,
            );
        }
        for (_, v) in &days {
            let level = if max > 0.0 {
                ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize
            } else {
                0
            };
            c.text(buf, g.spark[level], st.side_agentcore, g);
        }
        c.text(
            buf,
            &format!(
                " {}{}{}",
                text::usd(Some(min), 0, g.none),
                g.arrow,
                text::usd(Some(max), 0, g.none)
            ),
            st.dim,
            g,
        );
    }
}
