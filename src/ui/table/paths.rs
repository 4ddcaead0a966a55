//! The Overview's per-path tables: routing, latency and cost, one row per path.
use super::{Column, Text, Width};
use crate::model::snapshot::PathView;
use crate::ui::paint::{bar, put, put_right, repeat, spark, Ctx, Tier};
use crate::ui::parts::{latency_level, Level3};
use crate::ui::text;
use ratatui::buffer::Buffer;

type Path = Column<PathView>;
type Row<'a> = Column<PathRow<'a>>;

/// A table of paths with a total under them.
pub enum PathRow<'a> {
    Path(&'a PathView),
    Total,
}

/// A third of the panel, within 10..18.
fn label_width(w: u16) -> u16 {
    (w / 3).clamp(10, 18)
}

/// A path a firing CloudWatch alarm watches is the row that paged you: highlighted.
fn label<'a>(p: &'a PathView, cx: &Ctx) -> Text<'a> {
    let paged = cx
        .snap
        .alarms
        .iter()
        .any(|a| a.state == "ALARM" && a.path.as_ref() == Some(&p.id));
    let style = if paged { cx.st.crit } else { cx.st.text };
    (p.label.as_str().into(), style)
}

pub const ROUTING: [Column<PathView>; 9] = [
    Path::text("path", Width::Fixed(16), label)
        .tier(Tier::Standard, Width::Of(label_width))
        .tier(Tier::Wide, Width::Of(label_width)),
    Path::text("wt", Width::Fixed(4), |p, cx| {
        (text::weight(p.weight, cx.g.none).into(), cx.st.text)
    })
    .right(),
    Path::text("obs", Width::Fixed(6), |p, cx| {
        // Flag a split more than 5 points off its weight.
        let off = p
            .weight
            .is_some_and(|w| (p.observed_share * 100.0 - f64::from(w)).abs() > 5.0);
        let style = if off { cx.st.warn } else { cx.st.text };
        (text::share(p.observed_share).into(), style)
    })
    .right(),
    Path::text("1m", Width::Fixed(6), |p, cx| {
        (text::share(p.observed_share_1m).into(), cx.st.dim)
    })
    .right(),
    Path::text("req/m", Width::Fixed(6), |p, cx| {
        (format!("{:.0}", p.requests_per_minute).into(), cx.st.text)
    })
    .right()
    .only(Tier::Standard)
    .from(60),
    Path::text("err", Width::Fixed(6), |p, cx| {
        let style = match p.error_rate {
            Some(e) if e >= 0.01 => cx.st.warn,
            _ => cx.st.text,
        };
        (text::opt_pct(p.error_rate, cx.g.none).into(), style)
    })
    .right()
    .only(Tier::Standard)
    .from(84),
    Path::text("thr/m", Width::Fixed(5), |p, cx| {
        let style = if p.throttles_per_minute > 0.0 {
            cx.st.warn
        } else {
            cx.st.text
        };
        (format!("{:.1}", p.throttles_per_minute).into(), style)
    })
    .right()
    .only(Tier::Standard)
    .from(84),
    Path::draw("split", Width::fill(0), split_bar)
        .tier(
            Tier::Standard,
            Width::Flex {
                min: 6,
                max: 30,
                share: 1,
            },
        )
        .tier(
            Tier::Wide,
            Width::Flex {
                min: 6,
                max: 30,
                share: 1,
            },
        )
        .head(|cx, w| {
            let t = cx.g.weight_tick;
            if w >= 18 {
                format!("observed {t} weight").into()
            } else {
                format!("obs {t} wt").into()
            }
        }),
    Path::draw("trend", Width::fill(0), |buf, at, p, cx| {
        spark(
            buf,
            at,
            &p.history.observed_share,
            false,
            cx.st.sparkline,
            cx.g,
        );
    })
    .only(Tier::Standard)
    .head(|_, w| {
        if w >= 20 {
            "observed share trend".into()
        } else {
            "share trend".into()
        }
    }),
];

/// The observed share as a bar, the configured weight a tick on it.
fn split_bar(buf: &mut Buffer, (x, y, w): (u16, u16, u16), p: &PathView, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    bar(
        buf,
        (x, y, w),
        p.observed_share,
        st.bar_observed,
        st.bar_track,
        g,
    );
    if let Some(wt) = p.weight {
        if w > 0 {
            let tx = x + ((f64::from(wt) / 100.0 * f64::from(w)).round() as u16).min(w - 1);
            repeat(buf, tx, y, 1, g.weight_tick, st.bar_weight);
        }
    }
}

/// A latency right-aligned in 5 cells and its mark in the sixth.
fn latency(buf: &mut Buffer, (x, y, w): (u16, u16, u16), v: Option<f64>, cx: &Ctx) {
    let s = text::ms(v, cx.g.none);
    match latency_level(v, &cx.ui.thresholds) {
        Some(level) => {
            let style = level.style(cx.st);
            put_right(buf, x, y, w.min(5), &s, style, cx.g);
            if w == 6 {
                put(buf, x + 5, y, 1, level.mark(cx.g), style, cx.g);
            }
        }
        None => put_right(buf, x, y, w.min(5), &s, cx.st.dim, cx.g),
    }
}

pub const LATENCY: [Column<PathView>; 6] = [
    Path::text("path", Width::fill(8), label)
        .tier(Tier::Standard, Width::Of(label_width))
        .tier(Tier::Wide, Width::Of(label_width)),
    // The headings sit over the numbers, not the marks (so they advance a cell less).
    Path::draw("p50", Width::Fixed(6), |buf, at, p, cx| {
        latency(buf, at, p.latency_ms.p50, cx);
    })
    .right()
    .head_width(5),
    Path::draw("p95", Width::Fixed(6), |buf, at, p, cx| {
        latency(buf, at, p.latency_ms.p95, cx);
    })
    .right()
    .head_width(5),
    Path::draw("p99", Width::Fixed(6), |buf, at, p, cx| {
        latency(buf, at, p.latency_ms.p99, cx);
    })
    .right()
    .head_width(5),
    Path::text("state", Width::Fixed(6), |p, cx| {
        match latency_level(p.latency_ms.p95, &cx.ui.thresholds) {
            Some(l) => (
                format!("{} {}", l.symbol(cx.g), l.word()).into(),
                l.style(cx.st),
            ),
            None => (cx.g.none.into(), cx.st.dim),
        }
    })
    .only(Tier::Standard),
    Path::draw("trend", Width::fill(0), |buf, at, p, cx| {
        let style = match latency_level(p.latency_ms.p95, &cx.ui.thresholds) {
            Some(Level3::Ok) | None => cx.st.sparkline,
            Some(l) => l.style(cx.st),
        };
        spark(buf, at, &p.history.p95_ms, false, style, cx.g);
    })
    .only(Tier::Standard)
    .gap_at_end()
    .head(|cx, w| {
        let t = cx.ui.thresholds;
        if w >= 32 {
            format!("p95 trend (warn {:.0}, crit {:.0})", t.warn_ms, t.crit_ms).into()
        } else {
            "p95 trend".into()
        }
    }),
];

/// A path's cell, or the total's in the title style (nothing where the total has none).
pub fn path_or_total<'r>(
    r: &'r PathRow,
    cx: &Ctx,
    path: impl FnOnce(&'r PathView) -> Text<'r>,
    total: impl FnOnce() -> Option<String>,
) -> Text<'r> {
    match r {
        PathRow::Path(p) => path(p),
        PathRow::Total => match total() {
            Some(t) => (t.into(), cx.st.title),
            None => ("".into(), cx.st.text),
        },
    }
}

/// A path's estimated $/h, or the total's: the same cell in the Overview and Cost tables.
pub fn usd_per_hour<'r>(r: &'r PathRow, cx: &Ctx) -> Text<'r> {
    let none = cx.g.none;
    path_or_total(
        r,
        cx,
        |p| (text::usd(p.cost.usd_per_hour, 2, none).into(), cx.st.text),
        || Some(text::usd(cx.snap.cost.estimated_usd_per_hour, 2, none)),
    )
}

/// Rows are the paths, then `PathRow::Total`.
pub const fn cost<'a>() -> [Column<PathRow<'a>>; 6] {
    [
        Row::text("path", Width::fill(8), |r, cx| {
            path_or_total(r, cx, |p| label(p, cx), || Some("total (est.)".into()))
        })
        .tier(Tier::Standard, Width::Of(label_width))
        .tier(Tier::Wide, Width::Of(label_width)),
        Row::text("$/h", Width::Fixed(7), usd_per_hour).right(),
        Row::text("$/1k", Width::Fixed(7), |r, cx| {
            let none = cx.g.none;
            path_or_total(
                r,
                cx,
                |p| {
                    (
                        text::usd(p.cost.usd_per_1k_requests, 3, none).into(),
                        cx.st.text,
                    )
                },
                || None,
            )
        })
        .right(),
        Row::text("$/month", Width::Fixed(7), |r, cx| {
            let (none, c) = (cx.g.none, &cx.snap.cost);
            path_or_total(
                r,
                cx,
                |p| {
                    (
                        text::usd(p.cost.projected_usd_per_month, 0, none).into(),
                        cx.st.text,
                    )
                },
                || {
                    let month = c
                        .projected_usd_per_month
                        .or(c.estimated_usd_per_hour.map(|h| h * 730.0));
                    Some(text::usd(month, 0, none))
                },
            )
        })
        .right(),
        Row::text("share", Width::Fixed(6), |r, cx| {
            let total = cx.snap.cost.estimated_usd_per_hour;
            path_or_total(
                r,
                cx,
                |p| {
                    let share = match (p.cost.usd_per_hour, total) {
                        (Some(a), Some(t)) if t > 0.0 => text::share(a / t),
                        _ => cx.g.none.to_string(),
                    };
                    (share.into(), cx.st.text)
                },
                || None,
            )
        })
        .right()
        .only(Tier::Standard)
        .from(60),
        Row::draw("trend", Width::fill(0), |buf, at, r, cx| {
            if let PathRow::Path(p) = r {
                spark(
                    buf,
                    at,
                    &p.history.usd_per_hour,
                    false,
                    cx.st.sparkline,
                    cx.g,
                );
            }
        })
        .only(Tier::Standard)
        .gap_at_end()
        .head(|_, _| "$/h trend".into()),
    ]
}
