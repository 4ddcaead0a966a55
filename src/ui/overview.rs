//! Overview: routing split, latency, cost, fleet summary, sources, alerts, recent sessions.
use super::paint::{
    bar, flex, l, panel, put, put_head_tail, put_right, r, repeat, spark, split_h, take_top, Bare,
    Col, Ctx, Cursor, Focus, Tier,
};
use super::parts::{self, latency_level, Level3};
use super::text::{self, width};
use crate::domain::path::Side;
use crate::model::snapshot::PathView;
use crate::model::update::ProblemKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx) {
    let n = cx.snap.paths.len().max(1) as u16;
    let eks_paths = cx
        .snap
        .paths
        .iter()
        .filter(|p| p.kind == Side::Eks)
        .count()
        .max(1) as u16;
    let alerts = cx.snap.alerts.len() as u16;
    let mut rest = body;
    if cx.tier == Tier::Compact {
        // Bare panels: the first row of each is its heading (title in the first column).
        let band1 = take_top(&mut rest, 1 + n);
        let (left, right) = split_h(band1, band1.width / 2);
        routing(buf, left, cx);
        separator(buf, left, band1, cx);
        latency(buf, right, cx);
        let band2 = take_top(&mut rest, (3 + n).max(1 + 3 * eks_paths));
        let (left, right) = split_h(band2, band2.width / 2);
        cost(buf, left, cx);
        separator(buf, left, band2, cx);
        fleet(buf, right, cx);
        let src = take_top(&mut rest, 2);
        sources(buf, src, cx);
        let al = take_top(&mut rest, alerts.min(2));
        alerts_panel(buf, al, cx);
        sessions(buf, rest, cx);
    } else {
        // Boxed panels, two across; wide adds columns and longer sparklines.
        let band1 = take_top(&mut rest, 3 + n);
        let (left, right) = split_h(band1, band1.width / 2);
        routing(buf, left, cx);
        latency(buf, right, cx);
        let band2 = take_top(&mut rest, (5 + n).max(2 + 3 * eks_paths));
        let (left, right) = split_h(band2, band2.width / 2);
        cost(buf, left, cx);
        fleet(buf, right, cx);
        let src = take_top(&mut rest, 1);
        sources(buf, src, cx);
        if alerts > 0 {
            let al = take_top(&mut rest, alerts.min(4) + 2);
            alerts_panel(buf, al, cx);
        }
        sessions(buf, rest, cx);
    }
}

/// Compact tier: a vertical rule between side-by-side bare panels.
fn separator(buf: &mut Buffer, left: Rect, band: Rect, cx: &Ctx) {
    for y in band.y..band.bottom() {
        repeat(buf, left.right(), y, 1, cx.g.sep, cx.st.border);
    }
}

/// A panel whose compact title is the first cell of its heading row: that cell's text and
/// style (`first` when boxed).
fn path_panel<'a>(
    buf: &mut Buffer,
    area: Rect,
    title: &'a str,
    first: &'a str,
    cx: &Ctx,
) -> (Rect, &'a str, Style) {
    let p = panel(buf, area, title, Focus::None, Bare::InHeading, cx);
    let (first, style) = p.corner.unwrap_or((first, cx.st.table_header));
    (p.inner, first, style)
}

fn label_width(w: u16) -> u16 {
    (w / 3).clamp(10, 18)
}

fn routing(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let (inner, first, first_style) = path_panel(buf, area, "Routing", "path", cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let compact = cx.tier == Tier::Compact;
    let lw = if compact {
        16
    } else {
        label_width(inner.width)
    };
    let rpm = !compact && inner.width >= 60;
    let health = !compact && inner.width >= 84;
    let mut fixed: Vec<Col> = vec![l(lw), r(4), r(6), r(6)];
    if rpm {
        fixed.push(r(6));
    }
    if health {
        fixed.extend([r(6), r(5)]);
    }
    let avail = flex(inner.width, &fixed, 0);
    let (bar_w, spark_w) = if compact {
        (avail, 0)
    } else {
        let b = (avail / 2).clamp(6, 30);
        (b, avail.saturating_sub(b + 1))
    };
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(lw), first, first_style, g);
    c.cell(buf, r(4), "wt", th, g);
    c.cell(buf, r(6), "obs", th, g);
    c.cell(buf, r(6), "1m", th, g);
    if rpm {
        c.cell(buf, r(6), "req/m", th, g);
    }
    if health {
        c.cell(buf, r(6), "err", th, g);
        c.cell(buf, r(5), "thr/m", th, g);
    }
    let bar_head = if bar_w >= 18 {
        format!("observed {} weight", g.weight_tick)
    } else {
        format!("obs {} wt", g.weight_tick)
    };
    c.cell(buf, l(bar_w), &bar_head, th, g);
    if spark_w > 0 {
        let head = if spark_w >= 20 {
            "observed share trend"
        } else {
            "share trend"
        };
        c.cell(buf, l(spark_w), head, th, g);
    }
    for (i, p) in cx.snap.paths.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), &p.label, st.text, g);
        c.cell(buf, r(4), &text::weight(p.weight, g.none), st.text, g);
        let obs = text::share(p.observed_share);
        // Flag a split more than 5 points off its weight.
        let off = p
            .weight
            .map(|w| (p.observed_share * 100.0 - f64::from(w)).abs() > 5.0)
            .unwrap_or(false);
        c.cell(buf, r(6), &obs, if off { st.warn } else { st.text }, g);
        c.cell(buf, r(6), &text::share(p.observed_share_1m), st.dim, g);
        if rpm {
            c.cell(
                buf,
                r(6),
                &format!("{:.0}", p.requests_per_minute),
                st.text,
                g,
            );
        }
        if health {
            let es = match p.error_rate {
                Some(e) if e >= 0.01 => st.warn,
                _ => st.text,
            };
            c.cell(buf, r(6), &text::opt_pct(p.error_rate, g.none), es, g);
            let ts = if p.throttles_per_minute > 0.0 {
                st.warn
            } else {
                st.text
            };
            c.cell(buf, r(5), &format!("{:.1}", p.throttles_per_minute), ts, g);
        }
        let (bx, bw) = c.take(bar_w);
        bar(
            buf,
            (bx, y, bw),
            p.observed_share,
            st.bar_observed,
            st.bar_track,
            g,
        );
        if let Some(w) = p.weight {
            if bw > 0 {
                let tx = bx + ((f64::from(w) / 100.0 * f64::from(bw)).round() as u16).min(bw - 1);
                repeat(buf, tx, y, 1, g.weight_tick, st.bar_weight);
            }
        }
        if spark_w > 0 {
            let (sx, sw) = c.take(spark_w);
            spark(
                buf,
                (sx, y, sw),
                &p.history.observed_share,
                false,
                st.sparkline,
                g,
            );
        }
    }
}

/// A latency value right-aligned in 5 cells plus its mark.
fn lat_cell(buf: &mut Buffer, c: &mut Cursor, v: Option<f64>, cx: &Ctx) {
    let (x, w) = c.take(6);
    let s = text::ms(v, cx.g.none);
    match latency_level(v, &cx.ui.thresholds) {
        Some(level) => {
            let style = level.style(cx.st);
            put_right(buf, x, c.y, w.min(5), &s, style, cx.g);
            if w == 6 {
                put(buf, x + 5, c.y, 1, level.mark(cx.g), style, cx.g);
            }
        }
        None => put_right(buf, x, c.y, w.min(5), &s, cx.st.dim, cx.g),
    }
}

fn latency(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    let (inner, first, first_style) = path_panel(buf, area, "Latency (ms)", "path", cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let compact = cx.tier == Tier::Compact;
    let t = cx.ui.thresholds;
    let status_w = if compact { 0 } else { 6 };
    let mut fixed: Vec<Col> = vec![r(6), r(6), r(6)];
    if status_w > 0 {
        fixed.push(l(status_w));
    }
    let lw = if compact {
        flex(inner.width, &fixed, 8)
    } else {
        label_width(inner.width)
    };
    fixed.insert(0, l(lw));
    let spark_w = if compact {
        0
    } else {
        flex(inner.width, &fixed, 0).saturating_sub(1)
    };
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(lw), first, first_style, g);
    // Headings sit over the numbers, not the marks.
    c.cell(buf, r(5), "p50", th, g);
    c.cell(buf, r(5), "p95", th, g);
    c.cell(buf, r(5), "p99", th, g);
    if status_w > 0 {
        c.cell(buf, l(status_w), "state", th, g);
    }
    if spark_w > 0 {
        let head = if spark_w >= 32 {
            format!("p95 trend (warn {:.0}, crit {:.0})", t.warn_ms, t.crit_ms)
        } else {
            "p95 trend".to_string()
        };
        c.cell(buf, l(spark_w), &head, th, g);
    }
    for (i, p) in cx.snap.paths.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let q = &p.latency_ms;
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), &p.label, st.text, g);
        lat_cell(buf, &mut c, q.p50, cx);
        lat_cell(buf, &mut c, q.p95, cx);
        lat_cell(buf, &mut c, q.p99, cx);
        let level = latency_level(q.p95, &t);
        if status_w > 0 {
            match level {
                Some(level) => {
                    let s = format!("{} {}", level.symbol(g), level.word());
                    c.cell(buf, l(status_w), &s, level.style(st), g);
                }
                None => c.cell(buf, l(status_w), g.none, st.dim, g),
            }
        }
        if spark_w > 0 {
            let (sx, sw) = c.take(spark_w);
            let style = match level {
                Some(Level3::Ok) | None => st.sparkline,
                Some(l) => l.style(st),
            };
            spark(buf, (sx, y, sw), &p.history.p95_ms, false, style, g);
        }
    }
}

fn cost(buf: &mut Buffer, area: Rect, cx: &Ctx) {
    let (st, g, snap) = (cx.st, cx.g, cx.snap);
    let (inner, first, first_style) = path_panel(buf, area, "Cost (est.)", "path", cx);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let compact = cx.tier == Tier::Compact;
    let share_col = !compact && inner.width >= 60;
    let mut fixed: Vec<Col> = vec![r(7), r(7), r(7)];
    if share_col {
        fixed.push(r(6));
    }
    let lw = if compact {
        flex(inner.width, &fixed, 8)
    } else {
        label_width(inner.width)
    };
    fixed.insert(0, l(lw));
    let spark_w = if compact {
        0
    } else {
        flex(inner.width, &fixed, 0).saturating_sub(1)
    };
    let th = st.table_header;
    let mut c = Cursor::new(inner, inner.y);
    c.cell(buf, l(lw), first, first_style, g);
    c.cell(buf, r(7), "$/h", th, g);
    c.cell(buf, r(7), "$/1k", th, g);
    c.cell(buf, r(7), "$/month", th, g);
    if share_col {
        c.cell(buf, r(6), "share", th, g);
    }
    if spark_w > 0 {
        c.cell(buf, l(spark_w), "$/h trend", th, g);
    }
    let total_h = snap.cost.estimated_usd_per_hour;
    let mut y = inner.y + 1;
    for p in &snap.paths {
        if y >= inner.bottom() {
            return;
        }
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), &p.label, st.text, g);
        path_cost_cells(buf, &mut c, p, cx);
        if share_col {
            let share = match (p.cost.usd_per_hour, total_h) {
                (Some(a), Some(t)) if t > 0.0 => text::share(a / t),
                _ => g.none.to_string(),
            };
            c.cell(buf, r(6), &share, st.text, g);
        }
        if spark_w > 0 {
            let (sx, sw) = c.take(spark_w);
            spark(
                buf,
                (sx, y, sw),
                &p.history.usd_per_hour,
                false,
                st.sparkline,
                g,
            );
        }
        y += 1;
    }
    if y < inner.bottom() {
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(lw), "total (est.)", st.title, g);
        c.cell(buf, r(7), &text::usd(total_h, 2, g.none), st.title, g);
        c.cell(buf, r(7), "", st.text, g);
        let month = snap
            .cost
            .projected_usd_per_month
            .or(total_h.map(|h| h * 730.0));
        c.cell(buf, r(7), &text::usd(month, 0, g.none), st.title, g);
        y += 1;
    }
    if y < inner.bottom() {
        billed_line(
            buf,
            Rect::new(inner.x, y, inner.width, 1),
            cx.tier == Tier::Wide,
            cx,
        );
    }
}

fn path_cost_cells(buf: &mut Buffer, c: &mut Cursor, p: &PathView, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    c.cell(
        buf,
        r(7),
        &text::usd(p.cost.usd_per_hour, 2, g.none),
        st.text,
        g,
    );
    c.cell(
        buf,
        r(7),
        &text::usd(p.cost.usd_per_1k_requests, 3, g.none),
        st.text,
        g,
    );
    c.cell(
        buf,
        r(7),
        &text::usd(p.cost.projected_usd_per_month, 0, g.none),
        st.text,
        g,
    );
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
        // Line 3: how many pods are not ready; then one line per such pod while rows remain
        // (keeping 3 rows for each EKS path still to come).
        let not_ready = || {
            snap.fleet
                .pods
                .iter()
                .filter(|pv| pv.pod.path.as_ref() == Some(&p.id) && !pv.pod.ready)
        };
        let count = not_ready().count();
        let mut c = Cursor::new(inner, y);
        c.skip(2);
        if count == 0 {
            c.text(buf, &format!("{} all pods ready", g.ok), st.ok, g);
            y += 1;
            continue;
        }
        c.text(buf, &format!("{} {count} not ready", g.warn), st.warn, g);
        y += 1;
        let reserve = 3 * (eks.len() - k - 1) as u16;
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
        let need = (width(sym) + 1 + width(&item)) as u16;
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
    let title = format!("Alerts ({})", snap.alerts.len());
    let inner = panel(buf, area, &title, Focus::None, Bare::Untitled, cx).inner;
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
    let summary = format!(
        "{} sessions {d} {} hybrid {d} {} escalated {d} {} hand-offs {d} context loss {}",
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
    let (inner, first, first_style) = path_panel(buf, area, title, "session", cx);
    if cx.boxed() {
        // Summary in the top border, right-aligned.
        let sw = (width(&summary) as u16).min(area.width.saturating_sub(width(title) as u16 + 10));
        if sw > 0 {
            let sx = area.right().saturating_sub(sw + 3);
            repeat(buf, sx - 1, area.y, sw + 2, " ", st.border);
            put_right(buf, sx, area.y, sw, &summary, loss_style, g);
        }
    }
    if inner.height == 0 {
        return;
    }
    let long = cx.tier == Tier::Wide;
    let sides_w = if long { 13 } else { 4 };
    let mut fixed: Vec<Col> = vec![l(16), l(sides_w), r(5), r(7)];
    if cx.tier != Tier::Compact {
        fixed.push(r(8));
    }
    if long {
        fixed.push(r(8));
        fixed.push(r(3));
        fixed.push(r(3));
    }
    fixed.push(l(12));
    let paths_w = flex(inner.width, &fixed, 8);
    let th = st.table_header;
    let y = inner.y;
    let mut c = Cursor::new(inner, y);
    c.cell(buf, l(16), first, first_style, g);
    c.cell(buf, l(sides_w), "side", th, g);
    c.cell(buf, l(paths_w), "paths", th, g);
    c.cell(buf, r(5), "spans", th, g);
    c.cell(buf, r(7), "dur", th, g);
    if cx.tier != Tier::Compact {
        c.cell(buf, r(8), "cost", th, g);
    }
    if long {
        c.cell(buf, r(8), "started", th, g);
        c.cell(buf, r(3), "ho", th, g);
        c.cell(buf, r(3), "err", th, g);
    }
    c.cell(buf, l(12), "flags", th, g);
    let mut y = inner.y + 1;
    let mut paths_buf = String::with_capacity(64);
    for s in sv.all.iter().filter(|s| s.hybrid) {
        if y >= inner.bottom() {
            break;
        }
        let mut c = Cursor::new(inner, y);
        c.cell(buf, l(16), &s.session_id, st.text, g);
        c.cell(
            buf,
            l(sides_w),
            parts::sides_text(&s.sides, long),
            st.text,
            g,
        );
        paths_buf.clear();
        for (i, p) in s.paths.iter().enumerate() {
            if i > 0 {
                paths_buf.push(',');
            }
            paths_buf.push_str(p.as_str());
        }
        c.cell(buf, l(paths_w), &paths_buf, st.dim, g);
        c.cell(buf, r(5), &s.spans.to_string(), st.text, g);
        c.cell(buf, r(7), &text::duration_ms(s.duration_ms), st.text, g);
        if cx.tier != Tier::Compact {
            c.cell(buf, r(8), &text::usd(s.cost_usd, 4, g.none), st.text, g);
        }
        if long {
            let t = s.started_at.format("%H:%M:%S").to_string();
            c.cell(buf, r(8), &t, st.dim, g);
            c.cell(buf, r(3), &s.handoffs.to_string(), st.text, g);
            let es = if s.errors > 0 { st.crit } else { st.text };
            c.cell(buf, r(3), &s.errors.to_string(), es, g);
        }
        session_flags(buf, &mut c, s.escalated, s.orphan_spans, cx);
        y += 1;
    }
    if !cx.boxed() && y < inner.bottom() {
        put(buf, inner.x, y, inner.width, &summary, loss_style, g);
    }
}

/// `↑esc ?1orph` — escalation and orphans, each with a symbol and a word.
pub fn session_flags(buf: &mut Buffer, c: &mut Cursor, escalated: bool, orphans: u32, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    if escalated {
        c.text(buf, g.escalation, st.warn, g);
        c.text(buf, "esc", st.warn, g);
        c.skip(1);
    }
    if orphans > 0 {
        c.text(buf, g.orphan, st.crit, g);
        c.text(buf, &format!("{orphans}orph"), st.crit, g);
    }
}
