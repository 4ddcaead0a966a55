//! Cost: the live estimate per path, billed (Cost Explorer) next to the estimate per side with
//! month-to-date and projected month, daily billed bars, the dashboard's own API spend, and the
//! advisor — break-even modes, the recommended split, the phase triggers and success metrics.
//! Estimated and billed figures are always labelled and never mixed: a row or a column says
//! which it is.
use super::paint::{
    bar, flex, l, panel, put, r, repeat, split_h, take_top, Bare, Col, Ctx, Cursor, Focus, Tier,
};
use super::parts;
use super::text::{self, width};
use crate::domain::path::Side;
use crate::model::cost::HOURS_PER_MONTH;
use crate::model::snapshot::{class_key, PhaseTrigger, SuccessMetric};
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
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = frame(
        buf,
        area,
        "Estimated cost per path (live metrics, not billed)",
        cx,
    );
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let wide = cx.tier == Tier::Wide;
    let compact = cx.tier == Tier::Compact;
    let mut fixed: Vec<Col> = vec![r(7), r(8), r(9), r(9), r(6)];
    if !compact {
        fixed.insert(0, l(9));
    }
    if wide {
        fixed.push(r(8));
    }
    let lw = (inner.width / 4).clamp(12, 20);
    fixed.insert(0, l(lw));
    let bar_w = flex(inner.width, &fixed, 0).saturating_sub(1).min(50);
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(lw), "path", th, g);
    if !compact {
        c.cell(buf, l(9), "side", th, g);
    }
    c.cell(buf, r(7), "req/m", th, g);
    c.cell(buf, r(8), "est. $/h", th, g);
    c.cell(buf, r(9), "$/1k req", th, g);
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
        let side_style = parts::side_style(Some(p.kind), st);
        c.cell(buf, l(lw), &p.label, st.text, g);
        if !compact {
            let side = match p.kind {
                Side::Eks => "eks",
                Side::Agentcore => "agentcore",
            };
            c.cell(buf, l(9), side, side_style, g);
        }
        let rpm = format!("{:.0}", p.requests_per_minute);
        c.cell(buf, r(7), &rpm, st.text, g);
        let usd_h = text::usd(p.cost.usd_per_hour, 2, g.none);
        c.cell(buf, r(8), &usd_h, st.text, g);
        let per_1k = text::usd(p.cost.usd_per_1k_requests, 3, g.none);
        c.cell(buf, r(9), &per_1k, st.text, g);
        let month = text::usd(p.cost.projected_usd_per_month, 0, g.none);
        c.cell(buf, r(9), &month, st.text, g);
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
        if !compact {
            c.cell(buf, l(9), "", st.text, g);
        }
        let rpm: f64 = snap.paths.iter().map(|p| p.requests_per_minute).sum();
        c.cell(buf, r(7), &format!("{rpm:.0}"), st.title, g);
        c.cell(buf, r(8), &text::usd(total, 2, g.none), st.title, g);
        let per_1k = total
            .filter(|_| rpm > 0.0)
            .map(|t| t / (rpm * 60.0) * 1000.0);
        c.cell(buf, r(9), &text::usd(per_1k, 3, g.none), st.title, g);
        let month = snap.cost.projected_usd_per_month;
        c.cell(buf, r(9), &text::usd(month, 0, g.none), st.title, g);
    }
}

// ---- billed vs estimated, per side --------------------------------------------------------

/// Estimated $/h of the paths on one side (unknown if any of them is).
fn est_side(cx: &Ctx, class: CostClass) -> Option<f64> {
    let side = match class {
        CostClass::Agentcore => Side::Agentcore,
        CostClass::Eks => Side::Eks,
        CostClass::Other => return None,
    };
    let mut sum = 0.0;
    let mut any = false;
    for p in cx.snap.paths.iter().filter(|p| p.kind == side) {
        sum += p.cost.usd_per_hour?;
        any = true;
    }
    any.then_some(sum)
}

fn billed_of(cx: &Ctx, key: &str) -> (Option<f64>, Option<f64>) {
    let c = &cx.snap.cost;
    (
        c.billed_month_to_date_usd
            .as_ref()
            .and_then(|m| m.get(key).copied()),
        c.billed_projected_usd_per_month
            .as_ref()
            .and_then(|m| m.get(key).copied()),
    )
}

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
    let cols = [l(10), r(11), r(13), r(12), r(9)];
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, cols[0], "side", th, g);
    c.cell(buf, cols[1], "billed MTD", th, g);
    c.cell(buf, cols[2], "billed→month", th, g);
    c.cell(buf, cols[3], "est.→month", th, g);
    c.cell(buf, cols[4], "est. $/h", th, g);
    let mut y = inner.y + 1;
    let classes = [
        (Some(CostClass::Agentcore), "agentcore"),
        (Some(CostClass::Eks), "eks"),
        (Some(CostClass::Other), "other"),
        (None, "total"),
    ];
    for (class, key) in classes {
        if y >= inner.bottom() {
            return;
        }
        let (mtd, pace) = billed_of(cx, key);
        let est = match class {
            Some(cl) => est_side(cx, cl),
            None => cx.snap.cost.estimated_usd_per_hour,
        };
        let style = if class.is_none() { st.title } else { st.text };
        let side_style = match class {
            Some(CostClass::Agentcore) => parts::side_style(Some(Side::Agentcore), st),
            Some(CostClass::Eks) => parts::side_style(Some(Side::Eks), st),
            _ => style,
        };
        let mut c = Cursor::new(inner, y);
        c.cell(buf, cols[0], key, side_style, g);
        c.cell(buf, cols[1], &text::usd(mtd, 0, g.none), style, g);
        c.cell(buf, cols[2], &text::usd(pace, 0, g.none), style, g);
        let est_m = est.map(|h| h * HOURS_PER_MONTH);
        c.cell(buf, cols[3], &text::usd(est_m, 0, g.none), style, g);
        c.cell(buf, cols[4], &text::usd(est, 2, g.none), style, g);
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

fn team_name(level: f64) -> &'static str {
    match level.round() as i64 {
        i64::MIN..=0 => "none",
        1 => "beginner",
        2 => "intermediate",
        _ => "advanced",
    }
}

/// (name, value, threshold) as people read them.
fn trigger_text(t: &PhaseTrigger, cx: &Ctx) -> (&'static str, String, String) {
    let g = cx.g;
    let gt = "> ";
    match t.metric.as_str() {
        "monthly_requests" => (
            "volume/month",
            t.value
                .map(|v| text::count(v.max(0.0) as u64))
                .unwrap_or_else(|| g.none.into()),
            format!("{gt}{}", text::count(t.threshold as u64)),
        ),
        "monthly_cost_usd" => (
            "cost/month",
            text::usd(t.value, 0, g.none),
            format!("{gt}{}", text::usd(Some(t.threshold), 0, g.none)),
        ),
        "p95_ms" => (
            "p95",
            t.value
                .map(|v| format!("{} ms", text::ms(Some(v), g.none)))
                .unwrap_or_else(|| g.none.into()),
            format!("{gt}{} ms", text::ms(Some(t.threshold), g.none)),
        ),
        "context_loss_rate" => (
            "context loss",
            text::opt_pct(t.value, g.none),
            format!("{gt}{}", text::opt_pct(Some(t.threshold), g.none)),
        ),
        "custom_model_needed" => (
            "custom model",
            match t.value {
                Some(v) if v > 0.0 => "needed".into(),
                Some(_) => "not needed".into(),
                None => g.none.into(),
            },
            "needed".into(),
        ),
        "team_k8s_capability" => (
            "team K8s",
            t.value
                .map(|v| team_name(v).to_string())
                .unwrap_or_else(|| g.none.into()),
            format!("{}+", team_name(t.threshold + 1.0)),
        ),
        _ => (
            "other",
            t.value
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| g.none.into()),
            format!("{gt}{:.2}", t.threshold),
        ),
    }
}

/// (name, value, target) of a success metric.
fn success_text(s: &SuccessMetric, cx: &Ctx) -> (&'static str, String, String) {
    let g = cx.g;
    let ge = if g.ascii { ">=" } else { "≥" };
    let pct = |v: Option<f64>, d: usize| match v {
        Some(x) if x.is_finite() => format!("{:.d$}%", x * 100.0),
        _ => g.none.to_string(),
    };
    match s.metric.as_str() {
        "cost_reduction" => (
            "cost saving",
            pct(s.value, 1),
            format!(
                "{}-{}%",
                (s.target * 100.0).round(),
                (s.target_max.unwrap_or(s.target) * 100.0).round()
            ),
        ),
        "p95_improvement" => (
            "p95 faster",
            pct(s.value, 1),
            format!("{ge}{}%", (s.target * 100.0).round()),
        ),
        "context_consistency" => (
            "context kept",
            pct(s.value, 1),
            format!("{ge}{}%", (s.target * 100.0).round()),
        ),
        "availability" => (
            "availability",
            pct(s.value, 2),
            format!("{ge}{}%", s.target * 100.0),
        ),
        _ => ("other", pct(s.value, 1), pct(Some(s.target), 1)),
    }
}

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

fn met_mark(met: bool, cx: &Ctx) -> (String, Style) {
    if met {
        (format!("{} met", cx.g.warn), cx.st.warn)
    } else {
        (format!("{} not met", cx.g.ok), cx.st.ok)
    }
}

fn target_mark(met: bool, cx: &Ctx) -> (&'static str, Style) {
    if met {
        (cx.g.ok, cx.st.ok)
    } else {
        (cx.g.crit, cx.st.warn)
    }
}

fn phase_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = frame(buf, area, &phase_title(cx), cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let th = st.table_header;
    let (_, triggers) = shown_triggers(cx);
    let mw = flex(inner.width, &[r(10), r(14), l(9)], 12).min(22);
    let mut y = inner.y;
    let mut c = Cursor::new(inner, y);
    c.cell(buf, l(mw), "trigger", th, g);
    c.cell(buf, r(10), "value", th, g);
    c.cell(buf, r(14), "threshold", th, g);
    y += 1;
    for t in triggers {
        if y >= inner.bottom() {
            return;
        }
        let (name, v, thr) = trigger_text(t, cx);
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(mw), name, st.text, g);
        c.cell(buf, r(10), &v, st.text, g);
        c.cell(buf, r(14), &thr, st.dim, g);
        let (mark, style) = met_mark(t.met, cx);
        c.text(buf, &mark, style, g);
        y += 1;
    }
    if snap.phase.success_metrics.is_empty() || y + 1 >= inner.bottom() {
        return;
    }
    let mut c = Cursor::new(inner, y);
    c.cell(buf, l(mw), "vs AgentCore only", th, g);
    c.cell(buf, r(10), "now", th, g);
    c.cell(buf, r(14), "target", th, g);
    y += 1;
    for s in &snap.phase.success_metrics {
        if y >= inner.bottom() {
            return;
        }
        let (name, v, target) = success_text(s, cx);
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(mw), name, st.text, g);
        c.cell(buf, r(10), &v, st.text, g);
        c.cell(buf, r(14), &target, st.dim, g);
        let (mark, style) = target_mark(s.met, cx);
        c.text(buf, mark, style, g);
        y += 1;
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
            let (mark, style) = if t.met {
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
