//! The Cost view's tables: the estimate per path, billed against estimated per side, and the
//! phase triggers and success metrics. Estimated and billed figures never share a column.
use super::paths::{path_or_total, usd_per_hour, PathRow};
use super::{Column, Width};
use crate::domain::path::Side;
use crate::model::cost::HOURS_PER_MONTH;
use crate::model::snapshot::{PathView, PhaseTrigger, SuccessMetric, TrafficSource};
use crate::model::update::CostClass;
use crate::ui::paint::{bar, Ctx, Tier};
use crate::ui::{parts, text};
use ratatui::style::Style;

type Row<'a> = Column<PathRow<'a>>;
type Billed = Column<BilledRow>;
type Trigger = Column<PhaseTrigger>;
type Success = Column<SuccessMetric>;

fn side_word(p: &PathView) -> &'static str {
    match p.kind {
        Side::Eks => "eks",
        Side::Agentcore => "agentcore",
    }
}

/// A path's share of the estimated $/h.
fn cost_share(p: &PathView, cx: &Ctx) -> Option<f64> {
    match (p.cost.usd_per_hour, cx.snap.cost.estimated_usd_per_hour) {
        (Some(a), Some(t)) if t > 0.0 => Some(a / t),
        _ => None,
    }
}

fn total_rpm(cx: &Ctx) -> f64 {
    cx.snap.paths.iter().map(|p| p.requests_per_minute).sum()
}

/// The estimate per path: rows are the paths, then `PathRow::Total`.
pub const fn paths<'a>() -> [Column<PathRow<'a>>; 9] {
    [
        Row::text("path", Width::Of(|w| (w / 4).clamp(12, 20)), |r, cx| {
            path_or_total(
                r,
                cx,
                |p| (p.label.as_str().into(), cx.st.text),
                || Some("total (est.)".into()),
            )
        }),
        Row::text("side", Width::Fixed(9), |r, cx| {
            path_or_total(
                r,
                cx,
                |p| (side_word(p).into(), parts::side_style(Some(p.kind), cx.st)),
                || None,
            )
        })
        .only(Tier::Standard),
        Row::text("req/m", Width::Fixed(7), |r, cx| {
            path_or_total(
                r,
                cx,
                |p| (format!("{:.0}", p.requests_per_minute).into(), cx.st.text),
                || Some(format!("{:.0}", total_rpm(cx))),
            )
        })
        .right(),
        Row::text("est. $/h", Width::Fixed(8), usd_per_hour).right(),
        Row::text("$/1k req", Width::Fixed(9), |r, cx| {
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
                || {
                    let rpm = total_rpm(cx);
                    let per_1k = cx
                        .snap
                        .cost
                        .estimated_usd_per_hour
                        .filter(|_| rpm > 0.0)
                        .map(|t| t / (rpm * 60.0) * 1000.0);
                    Some(text::usd(per_1k, 3, none))
                },
            )
        })
        .right(),
        Row::text("$/month", Width::Fixed(9), |r, cx| {
            let none = cx.g.none;
            path_or_total(
                r,
                cx,
                |p| {
                    (
                        text::usd(p.cost.projected_usd_per_month, 0, none).into(),
                        cx.st.text,
                    )
                },
                || Some(text::usd(cx.snap.cost.projected_usd_per_month, 0, none)),
            )
        })
        .right(),
        Row::text("share", Width::Fixed(6), |r, cx| {
            path_or_total(
                r,
                cx,
                |p| {
                    let s = cost_share(p, cx).map_or_else(|| cx.g.none.to_string(), text::share);
                    (s.into(), cx.st.text)
                },
                || None,
            )
        })
        .right(),
        Row::text("$/req", Width::Fixed(8), |r, cx| {
            path_or_total(
                r,
                cx,
                |p| {
                    let per_req = p.cost.usd_per_1k_requests.map(|v| v / 1000.0);
                    (text::usd(per_req, 5, cx.g.none).into(), cx.st.dim)
                },
                || None,
            )
        })
        .right()
        .only(Tier::Wide),
        Row::draw(
            "bar",
            Width::Flex {
                min: 0,
                max: 50,
                share: 1,
            },
            |buf, at, r, cx| {
                if let PathRow::Path(p) = r {
                    let style = parts::side_style(Some(p.kind), cx.st);
                    let share = cost_share(p, cx).unwrap_or(0.0);
                    bar(buf, at, share, style, cx.st.bar_track, cx.g);
                }
            },
        )
        .gap_at_end()
        .head(|_, w| {
            if w >= 17 {
                "share of est. $/h".into()
            } else {
                "".into()
            }
        }),
    ]
}

/// A row of the billed table: a class, or the total (`None`).
pub struct BilledRow {
    pub class: Option<CostClass>,
    pub key: &'static str,
}

pub const BILLED_ROWS: [BilledRow; 4] = [
    BilledRow {
        class: Some(CostClass::Agentcore),
        key: "agentcore",
    },
    BilledRow {
        class: Some(CostClass::Eks),
        key: "eks",
    },
    BilledRow {
        class: Some(CostClass::Other),
        key: "other",
    },
    BilledRow {
        class: None,
        key: "total",
    },
];

/// The total in the title style.
fn billed_style(r: &BilledRow, cx: &Ctx) -> Style {
    if r.class.is_none() {
        cx.st.title
    } else {
        cx.st.text
    }
}

fn est_of(r: &BilledRow, cx: &Ctx) -> Option<f64> {
    match r.class {
        Some(cl) => est_side(cx, cl),
        None => cx.snap.cost.estimated_usd_per_hour,
    }
}

/// Billed (Cost Explorer) against estimated, per side.
pub const BILLED: [Column<BilledRow>; 5] = [
    Billed::text("side", Width::Fixed(10), |r, cx| {
        let style = match r.class {
            Some(CostClass::Agentcore) => parts::side_style(Some(Side::Agentcore), cx.st),
            Some(CostClass::Eks) => parts::side_style(Some(Side::Eks), cx.st),
            _ => billed_style(r, cx),
        };
        (r.key.into(), style)
    }),
    Billed::text("billed MTD", Width::Fixed(11), |r, cx| {
        let (mtd, _) = billed_of(cx, r.key);
        (text::usd(mtd, 0, cx.g.none).into(), billed_style(r, cx))
    })
    .right(),
    Billed::text("billed→month", Width::Fixed(13), |r, cx| {
        let (_, pace) = billed_of(cx, r.key);
        (text::usd(pace, 0, cx.g.none).into(), billed_style(r, cx))
    })
    .right(),
    Billed::text("est.→month", Width::Fixed(12), |r, cx| {
        let m = est_of(r, cx).map(|h| h * HOURS_PER_MONTH);
        (text::usd(m, 0, cx.g.none).into(), billed_style(r, cx))
    })
    .right(),
    Billed::text("est. $/h", Width::Fixed(9), |r, cx| {
        (
            text::usd(est_of(r, cx), 2, cx.g.none).into(),
            billed_style(r, cx),
        )
    })
    .right(),
];

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

pub fn billed_of(cx: &Ctx, key: &str) -> (Option<f64>, Option<f64>) {
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

fn team_name(level: f64) -> &'static str {
    match level.round() as i64 {
        i64::MIN..=0 => "none",
        1 => "beginner",
        2 => "intermediate",
        _ => "advanced",
    }
}

/// Which data a platform-wide p95 comes from: the paths' CloudWatch metrics, their Langfuse
/// traces, or both.
fn p95_basis(cx: &Ctx) -> &'static str {
    let src = |t: TrafficSource| cx.snap.paths.iter().any(|p| p.traffic_source == Some(t));
    match (src(TrafficSource::Metrics), src(TrafficSource::Traces)) {
        (true, true) => "p95 (metrics+traces)",
        (false, true) => "p95 (traces)",
        _ => "p95 (metrics)",
    }
}

/// A latency ratio as a person says it: "31× slower", "2.4× faster", "same".
pub fn speed_ratio(baseline: Option<f64>, actual: Option<f64>, ascii: bool) -> Option<String> {
    let (b, a) = (baseline?, actual?);
    if !(b.is_finite() && a.is_finite() && b > 0.0 && a > 0.0) {
        return None;
    }
    let (r, word) = if a > b {
        (a / b, "slower")
    } else {
        (b / a, "faster")
    };
    let x = if ascii { "x" } else { "×" };
    Some(if r < 1.05 {
        "same".to_string()
    } else if r >= 10.0 {
        format!("{r:.0}{x} {word}")
    } else {
        format!("{r:.1}{x} {word}")
    })
}

/// (name, value, threshold) as people read them.
pub fn trigger_text(t: &PhaseTrigger, cx: &Ctx) -> (&'static str, String, String) {
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
            p95_basis(cx),
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
pub fn success_text(s: &SuccessMetric, cx: &Ctx) -> (&'static str, String, String) {
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
            p95_basis(cx),
            speed_ratio(s.baseline, s.actual, g.ascii).unwrap_or_else(|| pct(s.value, 1)),
            format!("{ge}{}% faster", (s.target * 100.0).round()),
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

/// Whether a trigger's value is known: a measured one needs traffic seen on some path (before the
/// first answer a volume of 0 is not a fact), and every one needs a value.
pub fn trigger_known(t: &PhaseTrigger, cx: &Ctx) -> bool {
    let measured = matches!(
        t.metric.as_str(),
        "monthly_requests" | "monthly_cost_usd" | "p95_ms" | "context_loss_rate"
    );
    let seen = cx
        .snap
        .paths
        .iter()
        .any(|p| p.traffic_source.is_some() || p.requests_per_minute > 0.0);
    t.value.is_some() && (!measured || seen)
}

fn met_mark(met: bool, cx: &Ctx) -> (String, Style) {
    if met {
        (format!("{} met", cx.g.warn), cx.st.warn)
    } else {
        (format!("{} not met", cx.g.ok), cx.st.ok)
    }
}

pub fn target_mark(met: bool, cx: &Ctx) -> (&'static str, Style) {
    if met {
        (cx.g.ok, cx.st.ok)
    } else {
        (cx.g.crit, cx.st.warn)
    }
}

/// The name column of the phase tables: as wide as the panel allows, 12..22.
const PHASE_NAME: Width = Width::Flex {
    min: 12,
    max: 22,
    share: 1,
};

/// The triggers toward the next phase, with whether each is met.
pub const TRIGGERS: [Column<PhaseTrigger>; 4] = [
    Trigger::text("trigger", PHASE_NAME, |t, cx| {
        (trigger_text(t, cx).0.into(), cx.st.text)
    }),
    Trigger::text("value", Width::Fixed(10), |t, cx| {
        if !trigger_known(t, cx) {
            return (cx.g.none.into(), cx.st.dim);
        }
        (trigger_text(t, cx).1.into(), cx.st.text)
    })
    .right(),
    Trigger::text("threshold", Width::Fixed(14), |t, cx| {
        (trigger_text(t, cx).2.into(), cx.st.dim)
    })
    .right(),
    Trigger::text("met", Width::Fixed(9), |t, cx| {
        if !trigger_known(t, cx) {
            return (format!("{} unknown", cx.g.none).into(), cx.st.dim);
        }
        let (mark, style) = met_mark(t.met, cx);
        (mark.into(), style)
    })
    .head(|_, _| "".into()),
];

/// The success metrics against AgentCore only, laid out as `TRIGGERS`.
pub const SUCCESS: [Column<SuccessMetric>; 4] = [
    Success::text("vs AgentCore only", PHASE_NAME, |s, cx| {
        (success_text(s, cx).0.into(), cx.st.text)
    }),
    Success::text("now", Width::Fixed(10), |s, cx| {
        (success_text(s, cx).1.into(), cx.st.text)
    })
    .right(),
    Success::text("target", Width::Fixed(14), |s, cx| {
        (success_text(s, cx).2.into(), cx.st.dim)
    })
    .right(),
    Success::text("met", Width::Fixed(9), |s, cx| {
        let (mark, style) = target_mark(s.met, cx);
        (mark.into(), style)
    })
    .head(|_, _| "".into()),
];
