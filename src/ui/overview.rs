//! Overview: routing split, latency, cost, fleet summary, sources, alerts, recent sessions.
use super::paint::{
    panel, put, put_head_tail, put_right, repeat, split_h, take_top, Bare, Ctx, Cursor, Focus, Tier,
};
use super::parts;
use super::table::layout::Layout;
use super::table::paths::{self, PathRow};
use super::table::{sessions, Column};
use super::text::{self, width};
use crate::action::Action;
use crate::domain::path::Side;
use crate::model::snapshot::AdvisorMode;
use crate::model::snapshot::PathView;
use crate::model::update::ProblemKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let n = cx.snap.paths.len().max(1) as u16;
    let eks_paths = cx
        .snap
        .paths
        .iter()
        .filter(|p| p.kind == Side::Eks)
        .count()
        .max(1) as u16;
    // Rows per EKS path in the Fleet panel: pods, engine (when Prometheus reports), KEDA, state.
    let per_eks = 3 + u16::from(cx.snap.paths.iter().any(|p| p.engine.is_some()));
    // The advisor's relief or hold takes a row of the Alerts panel of its own.
    let advice = matches!(
        cx.snap.advisor.mode,
        AdvisorMode::Relief | AdvisorMode::Hold
    );
    let advice = u16::from(advice);
    // Firing CloudWatch alarms lead the Alerts panel (at most ALARM_ROWS of them).
    let alarms = cx.snap.alarms.len().min(ALARM_ROWS) as u16;
    let alerts = cx.snap.alerts.len() as u16 + advice + alarms;
    let advice = advice + alarms;
    let tools_h = super::tools::height(cx);
    let mut rest = body;
    if cx.tier == Tier::Compact {
        // Bare panels: the first row of each is its heading (title in the first column).
        let band1 = take_top(&mut rest, 1 + n);
        let (left, right) = split_h(band1, band1.width / 2);
        routing(buf, left, cx);
        separator(buf, left, band1, cx);
        latency(buf, right, cx);
        let band2 = take_top(&mut rest, (3 + n).max(1 + per_eks * eks_paths));
        let (left, right) = split_h(band2, band2.width / 2);
        cost(buf, left, cx);
        separator(buf, left, band2, cx);
        fleet(buf, right, cx);
        let src = take_top(&mut rest, 2);
        sources(buf, src, cx);
        if tools_h > 0 {
            let t = take_top(&mut rest, tools_h);
            super::tools::draw(buf, t, cx);
        }
        let al = take_top(&mut rest, alerts.min(2 + advice));
        alerts_panel(buf, al, cx);
        sessions(buf, rest, cx);
    } else {
        // Boxed panels, two across; wide adds columns and longer sparklines.
        let band1 = take_top(&mut rest, 3 + n);
        let (left, right) = split_h(band1, band1.width / 2);
        routing(buf, left, cx);
        latency(buf, right, cx);
        let band2 = take_top(&mut rest, (5 + n).max(2 + per_eks * eks_paths));
        let (left, right) = split_h(band2, band2.width / 2);
        cost(buf, left, cx);
        fleet(buf, right, cx);
        let src = take_top(&mut rest, sources_rows(body.width, cx));
        sources(buf, src, cx);
        if tools_h > 0 {
            let t = take_top(&mut rest, tools_h);
            super::tools::draw(buf, t, cx);
        }
        if alerts > 0 {
            let al = take_top(&mut rest, alerts.min(4 + advice) + 2);
            alerts_panel(buf, al, cx);
        }
        sessions(buf, rest, cx);
    }
}

/// Alarms shown at the top of the Alerts panel.
const ALARM_ROWS: usize = 3;

/// Compact tier: a vertical rule between side-by-side bare panels.
fn separator(buf: &mut Buffer, left: Rect, band: Rect, cx: &Ctx) {
    for y in band.y..band.bottom() {
        repeat(buf, left.right(), y, 1, cx.g.sep, cx.st.border);
    }
}

/// A per-path table in a panel whose compact title is the heading row's first cell.
fn path_table<T>(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    cols: &[Column<T>],
    rows: &[T],
    cx: &Ctx,
) -> Option<(Rect, u16)> {
    let p = panel(buf, area, title, Focus::None, Bare::InHeading, cx);
    let inner = p.inner;
    if inner.height == 0 || inner.width == 0 {
        return None;
    }
    let table = Layout::new(cols, inner, false, cx, rows);
    table.head(buf, inner.y, cx, None, p.corner);
    let mut y = inner.y + 1;
    for r in rows {
        if y >= inner.bottom() {
            return None;
        }
        table.row(buf, y, r, false, cx);
        y += 1;
    }
    Some((inner, y))
}

fn routing(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    path_table(buf, area, "Routing", &paths::ROUTING, &cx.snap.paths, cx);
}

fn latency(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    path_table(
        buf,
        area,
        "Latency (ms)",
        &paths::LATENCY,
        &cx.snap.paths,
        cx,
    );
}

fn cost(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let mut rows: Vec<PathRow> = cx.snap.paths.iter().map(PathRow::Path).collect();
    rows.push(PathRow::Total);
    if let Some((inner, y)) = path_table(buf, area, "Cost (est.)", &paths::cost(), &rows, cx) {
        if y < inner.bottom() {
            let line = Rect::new(inner.x, y, inner.width, 1);
            billed_line(buf, line, cx.tier == Tier::Wide, cx);
        }
    }
}

/// `billed MTD $1,279 (Cost Explorer, 2h old)` or `billed MTD — (no Cost Explorer data yet)`.
pub fn billed_line(buf: &mut Buffer, area: Rect, classes: bool, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let mut c = Cursor::new(area, area.y);
    c.text(buf, "billed MTD ", st.title, g);
    match snap.cost.billed_total() {
        Some(t) => {
            c.text(buf, &text::usd(Some(t), 2, g.none), st.title, g);
            let age = text::age(parts::age_of(cx, snap.cost.billed_as_of), g.none);
            let note = format!(" {} {} old", g.dot, age);
            c.text(buf, &note, st.dim, g);
            if classes {
                if let Some(m) = &snap.cost.billed_month_to_date_usd {
                    for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "total") {
                        let s = format!("  {k} {}", text::usd(Some(*v), 0, g.none));
                        c.text(buf, &s, st.text, g);
                    }
                }
            }
        }
        None => c.text(
            buf,
            &format!("{} (no Cost Explorer data yet)", g.none),
            st.dim,
            g,
        ),
    }
}

fn fleet(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let inner = panel(buf, area, "Fleet (EKS)", Focus::None, Bare::TitleRow, cx).inner;
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let compact = inner.width < 70;
    let mut y = inner.y;
    let eks: Vec<&PathView> = snap.paths.iter().filter(|p| p.kind == Side::Eks).collect();
    if eks.is_empty() && y < inner.bottom() {
        put(
            buf,
            inner.x,
            y,
            inner.width,
            "no EKS paths configured",
            st.dim,
            g,
        );
    }
    for (k, p) in eks.iter().enumerate() {
        if y >= inner.bottom() {
            return;
        }
        // Problems that hide this path's data are said in its place.
        let problem = |pods: bool| {
            snap.fleet
                .problems
                .iter()
                .find(|q| (q.resource == "pods") == pods && q.paths.contains(&p.id))
        };
        let problem_style = |q: &crate::model::update::FleetProblem| match q.kind {
            ProblemKind::NotInstalled => (g.warn, st.warn),
            _ => (g.crit, st.crit),
        };
        // Line 1: label, ready/desired pods.
        let mut c = Cursor::new(inner, y);
        c.text(buf, &p.label, st.text, g);
        c.skip(2);
        if let Some(q) = problem(true) {
            let (sym, style) = problem_style(q);
            c.text(buf, &format!("{sym} {}", q.message), style, g);
            y += 1;
        }
        let (ready, desired) = (p.ready_pods, p.desired_pods);
        let num = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_else(|| g.none.into());
        let pods = format!("pods {}/{} ready", num(ready), num(desired));
        let (sym, style) = match (ready, desired) {
            (Some(r), Some(d)) if r >= d => (g.ok, st.ok),
            (Some(0), _) => (g.crit, st.crit),
            (Some(_), Some(_)) => (g.warn, st.warn),
            _ => (g.none, st.dim),
        };
        if problem(true).is_none() {
            c.text(buf, sym, style, g);
            c.skip(1);
            c.text(buf, &pods, style, g);
            y += 1;
        }
        if y >= inner.bottom() {
            return;
        }
        // Line 2 (with Prometheus): the vLLM engine's queue and KV cache.
        if let Some(e) = &p.engine {
            let mut c = Cursor::new(inner, y);
            c.skip(2);
            for (t, style) in parts::engine_spans(e, inner.width.saturating_sub(2), g, st) {
                c.text(buf, &t, style, g);
            }
            y += 1;
            if y >= inner.bottom() {
                return;
            }
        }
        // Line 2: KEDA state words, replicas, last scale.
        let so = snap
            .fleet
            .scaled_objects
            .iter()
            .map(|s| &s.scaled_object)
            .find(|s| s.path.as_ref() == Some(&p.id));
        let mut c = Cursor::new(inner, y);
        c.skip(2);
        c.text(buf, "KEDA ", st.dim, g);
        match so {
            Some(so) => {
                for (word, style) in parts::keda_states(so, st) {
                    if !word.is_empty() {
                        c.text(buf, word, style, g);
                        c.skip(1);
                    }
                }
                let (cur, des) = if so.replicas_known() {
                    (
                        so.current_replicas.to_string(),
                        so.desired_replicas.to_string(),
                    )
                } else {
                    (g.none.to_string(), g.none.to_string())
                };
                let reps = if compact {
                    format!("{} {cur}{}{des}", g.dot, g.arrow)
                } else {
                    format!(
                        "{} replicas {cur}{}{des} (min {}, max {})",
                        g.dot, g.arrow, so.min_replicas, so.max_replicas
                    )
                };
                c.text(buf, &reps, st.text, g);
                let last = text::age(parts::age_of(cx, so.last_scale), g.none);
                let scaled = if compact {
                    format!(" {} {last} ago", g.dot)
                } else {
                    format!(" {} scaled {last} ago", g.dot)
                };
                c.text(buf, &scaled, st.dim, g);
                if so.failing_triggers > 0 {
                    let f = format!(" {} {} failing", g.crit, so.failing_triggers);
                    c.text(buf, &f, st.crit, g);
                }
            }
            None => match problem(false) {
                Some(q) => {
                    let (sym, style) = problem_style(q);
                    c.text(buf, &format!("{sym} {}", q.message), style, g);
                }
                None => c.text(buf, "no ScaledObject", st.dim, g),
            },
        }
        y += 1;
        if y >= inner.bottom() {
            return;
        }
        // Line 3, when the API is out of reach: the pods above are as of the last data.
        if let Some((head, tail, style)) = parts::kube_trouble(snap, g, st) {
            let w = inner.width.saturating_sub(2);
            put_head_tail(buf, inner.x + 2, y, w, &head, &tail, style, g);
            y += 1;
            continue;
        }
        // Line 3: the scaling verdict, in words, and what contradicts it; then the newest
        // warning event about the path's objects.
        let view = snap
            .fleet
            .scaled_objects
            .iter()
            .find(|s| s.scaled_object.path.as_ref() == Some(&p.id));
        if let Some(v) = view.filter(|v| !v.verdict.is_empty()) {
            let (sym, style) = if !v.contradictions.is_empty() {
                (g.crit, st.crit)
            } else if v.verdict.starts_with("steady") {
                (g.ok, st.ok)
            } else {
                (g.warn, st.warn)
            };
            // The verdict wraps at its own clause breaks rather than losing its end.
            let w = inner.width.saturating_sub(2);
            for (n, line) in wrap_clauses(&format!("{sym} {}", v.verdict), usize::from(w))
                .iter()
                .take(3)
                .enumerate()
            {
                if y >= inner.bottom() {
                    return;
                }
                let indent = if n == 0 { 2 } else { 4 };
                put(
                    buf,
                    inner.x + indent,
                    y,
                    inner.width.saturating_sub(indent),
                    line,
                    style,
                    g,
                );
                y += 1;
            }
            for c in v.contradictions.iter().take(1) {
                if y >= inner.bottom() {
                    return;
                }
                put(
                    buf,
                    inner.x + 4,
                    y,
                    inner.width.saturating_sub(4),
                    &format!("contradiction: {c}"),
                    st.crit,
                    g,
                );
                y += 1;
            }
        }
        if let Some(e) = telling_warning(&snap.fleet.events, &p.id) {
            if y >= inner.bottom() {
                return;
            }
            let ago = text::age(parts::age_of(cx, Some(e.last_seen)), g.none);
            let mut c = Cursor::new(inner, y);
            c.skip(2);
            c.text(
                buf,
                &format!("{} {} ×{}", g.warn, e.reason, e.count),
                st.warn,
                g,
            );
            let (mx, mw) = c.take(c.remaining());
            put(
                buf,
                mx,
                y,
                mw,
                &format!(" {ago} ago: {}", e.message),
                st.dim,
                g,
            );
            y += 1;
        }
        if y >= inner.bottom() {
            return;
        }
        // Line 4: how many pods are not ready; then one line per such pod while rows remain
        // (keeping 3 rows for each EKS path still to come).
        let not_ready = || {
            snap.fleet
                .pods
                .iter()
                .filter(|pv| pv.pod.path.as_ref() == Some(&p.id) && !pv.pod.ready)
        };
        let count = not_ready().count();
        let seen = snap
            .fleet
            .pods
            .iter()
            .any(|pv| pv.pod.path.as_ref() == Some(&p.id));
        let mut c = Cursor::new(inner, y);
        c.skip(2);
        if !seen {
            // No data yet must not read as good news.
            c.text(buf, "no pods seen yet", st.dim, g);
            y += 1;
            continue;
        }
        if count == 0 {
            c.text(buf, &format!("{} all pods ready", g.ok), st.ok, g);
            y += 1;
            continue;
        }
        c.text(buf, &format!("{} {count} not ready", g.warn), st.warn, g);
        y += 1;
        let reserve = (3 + u16::from(p.engine.is_some())) * (eks.len() - k - 1) as u16;
        for pv in not_ready() {
            if y + reserve >= inner.bottom() {
                break;
            }
            let mut c = Cursor::new(inner, y);
            c.skip(4);
            let short = pv.pod.name.rsplit('-').next().unwrap_or(&pv.pod.name);
            c.text(buf, short, st.text, g);
            c.skip(1);
            let why = pv.pod.reason.as_deref().unwrap_or(pv.pod.phase.as_str());
            let style = if why.contains("CrashLoop") {
                st.crit
            } else {
                st.warn
            };
            c.text(buf, why, style, g);
            y += 1;
        }
    }
}

/// Rows the Sources line needs at `width` (1, or 2 when every source does not fit on one).
fn sources_rows(cols: u16, cx: &Ctx) -> u16 {
    let (g, snap) = (cx.g, cx.snap);
    let label = if snap.sources.iter().any(|s| s.simulated) {
        "Sources (simulated):"
    } else {
        "Sources:"
    };
    let need: usize = width(label)
        + snap
            .sources
            .iter()
            .map(|s| {
                let (sym, _) = parts::source_mark(s.state, g, cx.st);
                let age = text::age(s.age_seconds, g.none);
                let lag = parts::trace_lag(s).map_or(0, |l| 1 + width(&l));
                2 + width(sym) + 1 + width(&format!("{} {} {age}", s.name, s.state.as_str())) + lag
            })
            .sum::<usize>();
    if need > usize::from(cols) {
        2
    } else {
        1
    }
}

/// Every source: symbol, name, state word and the age of its data; wraps over `area`'s rows,
/// then the errors of unhealthy sources.
fn sources(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    if area.height == 0 {
        return;
    }
    let mut y = area.y;
    let mut c = Cursor::new(area, y);
    let simulated = snap.sources.iter().any(|s| s.simulated);
    let label = if simulated {
        "Sources (simulated):"
    } else {
        "Sources:"
    };
    c.text(buf, label, st.title, g);
    let wrap = |c: &mut Cursor, need: u16, y: &mut u16| -> bool {
        if need + 2 > c.remaining() {
            if *y + 1 >= area.bottom() {
                return false;
            }
            *y += 1;
            *c = Cursor::new(area, *y);
        } else {
            c.skip(2);
        }
        true
    };
    for s in &snap.sources {
        let (sym, style) = parts::source_mark(s.state, g, st);
        let age = text::age(s.age_seconds, g.none);
        let item = format!("{} {} {}", s.name.as_str(), s.state.as_str(), age);
        let lag = parts::trace_lag(s);
        let need =
            (width(sym) + 1 + width(&item) + lag.as_ref().map_or(0, |l| 1 + width(l))) as u16;
        if !wrap(&mut c, need, &mut y) {
            return;
        }
        c.text(buf, sym, style, g);
        c.skip(1);
        c.text(buf, s.name.as_str(), st.text, g);
        c.skip(1);
        c.text(buf, s.state.as_str(), style, g);
        c.skip(1);
        c.text(buf, &age, st.dim, g);
        if let Some(l) = &lag {
            c.skip(1);
            c.text(buf, l, st.warn, g);
        }
    }
    for s in snap.sources.iter().filter(|s| s.error.is_some()) {
        let Some(err) = &s.error else { continue };
        let (_, style) = parts::source_mark(s.state, g, st);
        let item = format!("{}: {}", s.name.as_str(), err);
        // Errors take what is left, truncated, but at least 24 cells.
        if !wrap(&mut c, 24, &mut y) {
            return;
        }
        c.text(buf, &item, style, g);
    }
}

fn alerts_panel(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    if area.height == 0 {
        return;
    }
    let title = match &snap.alarm_scan {
        Some(a) if a.truncated => format!(
            "Alerts ({}) · alarms {} of {}+ read",
            snap.alerts.len(),
            a.shown,
            text::count(a.total)
        ),
        Some(a) if a.total == 0 && a.error.is_none() => {
            format!("Alerts ({}) · no alarm firing", snap.alerts.len())
        }
        Some(a) => format!(
            "Alerts ({}) · alarms {} of {}",
            snap.alerts.len(),
            a.shown,
            text::count(a.total)
        ),
        None => format!("Alerts ({})", snap.alerts.len()),
    };
    let mut inner = panel(buf, area, &title, Focus::None, Bare::Untitled, cx).inner;
    // The alarms that paged you come first: name, the path it watches, reason, since when.
    if let Some(e) = snap.alarm_scan.as_ref().and_then(|a| a.error.as_deref()) {
        if inner.height > 0 && snap.alarms.is_empty() {
            put(
                buf,
                inner.x,
                inner.y,
                inner.width,
                &format!("{} alarms: {e}", g.warn),
                st.warn,
                g,
            );
            inner.y += 1;
            inner.height -= 1;
        }
    }
    for a in snap.alarms.iter().take(ALARM_ROWS) {
        if inner.height == 0 {
            return;
        }
        let style = if a.state == "ALARM" { st.crit } else { st.warn };
        let mut c = Cursor::new(inner, inner.y);
        c.text(buf, &format!("{} {}", g.crit, a.state), style, g);
        c.skip(1);
        c.text(buf, &a.name, st.title, g);
        if let Some(p) = &a.path {
            c.text(buf, &format!(" → {p}"), style, g);
        }
        c.skip(1);
        let since = a
            .since
            .map(|t| {
                format!(
                    " (since {} ago)",
                    text::age(parts::age_of(cx, Some(t)), g.none)
                )
            })
            .unwrap_or_default();
        let sw = width(&since) as u16;
        let (mx, mw) = c.take(c.remaining().saturating_sub(sw + 1));
        let used = put(buf, mx, inner.y, mw, &a.reason, st.text, g);
        put(buf, mx + used, inner.y, sw, &since, st.dim, g);
        inner.y += 1;
        inner.height -= 1;
    }
    // The advisor's relief or hold leads: this is where an incident is watched (health before
    // cost; the Cost view has the detail).
    let adv = &snap.advisor;
    let advice = match (adv.mode, &adv.recommendation, &adv.reason) {
        (AdvisorMode::Relief, Some(rec), _) => Some(format!(
            "{} {}  ({} to review)",
            g.select,
            rec.text,
            cx.ui.keymap.label(Action::Weights)
        )),
        (AdvisorMode::Hold, _, Some(reason)) => Some(format!("{} {reason}", g.select)),
        _ => None,
    };
    if let Some(line) = advice.filter(|_| inner.height > 0) {
        put(buf, inner.x, inner.y, inner.width, &line, st.accent, g);
        inner.y += 1;
        inner.height -= 1;
        if inner.height == 0 {
            return;
        }
    }
    if snap.alerts.is_empty() {
        let s = format!("{} no alerts", g.ok);
        put(buf, inner.x, inner.y, inner.width, &s, st.ok, g);
        return;
    }
    // Most severe first; within a severity the newest first (`since`), so what just broke is
    // on top. A stable sort keeps the model's order (path order) for equal times.
    let mut order: Vec<&crate::model::snapshot::Alert> = snap.alerts.iter().collect();
    order.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.since.cmp(&a.since)));
    for (y, a) in (inner.y..inner.bottom()).zip(order) {
        let (sym, word, style) = parts::severity_mark(a.severity, g, st);
        let mut c = Cursor::new(inner, y);
        c.text(buf, &format!("{sym} {word:<4}"), style, g);
        c.skip(1);
        // Messages usually lead with their path; don't say it twice.
        if let Some(p) = a
            .path
            .as_ref()
            .filter(|p| !a.message.starts_with(p.as_str()))
        {
            c.text(buf, p.as_str(), st.text, g);
            c.skip(1);
        }
        if cx.tier == Tier::Wide {
            c.text(buf, &a.code, st.dim, g);
            c.skip(1);
        }
        let since = a
            .since
            .map(|t| format!(" ({} ago)", text::age(parts::age_of(cx, Some(t)), g.none)));
        let sw = since.as_deref().map(width).unwrap_or(0) as u16;
        let (mx, mw) = c.take(c.remaining().saturating_sub(sw + 1));
        let used = put(buf, mx, y, mw, &a.message, st.text, g);
        if let Some(s) = since {
            put(buf, mx + used, y, sw, &s, st.dim, g);
        }
    }
}

fn sessions(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    if area.height == 0 || area.width == 0 {
        return;
    }
    let sv = &snap.sessions;
    // Over `max_sessions` the counts are floors: "≥20,000".
    let floor = if sv.capped_at.is_some() { "≥" } else { "" };
    let summary = format!(
        "{floor}{} sessions {d} {} hybrid {d} {} escalated {d} {} hand-offs {d} context loss {}",
        text::count(sv.total),
        text::count(sv.hybrid),
        text::count(sv.escalated),
        text::count(sv.handoffs),
        text::opt_pct(sv.context_loss_rate, g.none),
        d = g.dot,
    );
    let loss_style = match sv.context_loss_rate {
        Some(x) if x > 0.05 => st.crit,
        _ => st.dim,
    };
    let title = if cx.boxed() {
        "Recent hybrid sessions"
    } else {
        "Hybrid sessions"
    };
    let p = panel(buf, area, title, Focus::None, Bare::InHeading, cx);
    if cx.boxed() {
        // Summary in the top border, right-aligned.
        let sw = (width(&summary) as u16).min(area.width.saturating_sub(width(title) as u16 + 10));
        if sw > 0 {
            let sx = area.right().saturating_sub(sw + 3);
            repeat(buf, sx - 1, area.y, sw + 2, " ", st.border);
            put_right(buf, sx, area.y, sw, &summary, loss_style, g);
        }
    }
    let inner = p.inner;
    if inner.height == 0 {
        return;
    }
    let room = usize::from(inner.height - 1);
    let hybrid = sv.all.iter().filter(|s| s.hybrid).take(room);
    let table = Layout::new(&sessions::RECENT, inner, false, cx, hybrid.clone());
    table.head(buf, inner.y, cx, None, p.corner);
    let mut y = inner.y + 1;
    for s in hybrid {
        table.row(buf, y, s, false, cx);
        y += 1;
    }
    if !cx.boxed() && y < inner.bottom() {
        put(buf, inner.x, y, inner.width, &summary, loss_style, g);
    }
}

/// The warnings that say most about why a path is slow or not scaling, most telling first.
const TELLING: [&str; 7] = [
    "FailedScheduling",
    "FailedGetExternalMetric",
    "KEDAScalerFailed",
    "OOMKilling",
    "BackOff",
    "NodeNotReady",
    "Unhealthy",
];

/// The path's warning to show: the most telling reason, the newest of it.
fn telling_warning<'a>(
    events: &'a [crate::model::snapshot::EventView],
    path: &crate::domain::path::PathId,
) -> Option<&'a crate::model::snapshot::EventView> {
    let mine = || {
        events
            .iter()
            .filter(move |e| e.kind_of == "Warning" && e.path.as_ref() == Some(path))
    };
    TELLING
        .iter()
        .find_map(|r| mine().find(|e| e.reason == *r))
        .or_else(|| mine().next())
}

/// Pack `s` into lines of at most `w` columns, breaking after "; " or ": " where it can.
fn wrap_clauses(s: &str, w: usize) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        cur.push(c);
        if (c == ';' || c == ':') && it.peek() == Some(&' ') {
            it.next();
            parts.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    let mut lines: Vec<String> = Vec::new();
    for p in parts {
        match lines.last_mut() {
            Some(l) if text::width(l) + 1 + text::width(&p) <= w => {
                l.push(' ');
                l.push_str(&p);
            }
            _ => lines.push(p),
        }
    }
    lines
}
