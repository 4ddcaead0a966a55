//! The Fleet view's tables: pods, KEDA ScaledObjects and Kubernetes events. A pod column sorts
//! the table when `PodSort::column` names it.
use super::{Column, Text, Width};
use crate::model::snapshot::{EventView, PodView, ScaledObjectView};
use crate::ui::paint::{Ctx, Cursor, Tier};
use crate::ui::{parts, text};
use ratatui::buffer::Buffer;
use std::cmp::Ordering;

/// A pods table column (naming the row type, so the cells' closures need no annotations).
pub type Pod = Column<PodView>;
type So = Column<ScaledObjectView>;
type Ev = Column<EventView>;

/// Events, newest first (the model's order): when, what about, why, how often, what it said.
pub const EVENTS: [Column<EventView>; 6] = [
    Ev::text("last", Width::Fixed(5), |e, cx| {
        let ago = parts::age_of(cx, Some(e.last_seen));
        (text::age(ago, cx.g.none).into(), cx.st.dim)
    })
    .right(),
    Ev::text("type", Width::Fixed(4), |e, cx| {
        if e.kind_of == "Warning" {
            (cx.g.warn.into(), cx.st.warn)
        } else {
            (cx.g.dot.into(), cx.st.dim)
        }
    }),
    Ev::text("reason", Width::grow(16, 24), |e, cx| {
        let style = if e.kind_of == "Warning" {
            cx.st.warn
        } else {
            cx.st.text
        };
        (e.reason.as_str().into(), style)
    }),
    Ev::text("object", Width::grow(24, 56), |e, cx| {
        (format!("{}/{}", e.kind, e.name).into(), cx.st.text)
    }),
    Ev::text("count", Width::Fixed(6), |e, cx| {
        (format!("×{}", e.count).into(), cx.st.text)
    })
    .right(),
    Ev::text("message", Width::fill(10), |e, cx| {
        (e.message.as_str().into(), cx.st.dim)
    }),
];

pub const PODS: [Column<PodView>; 12] = [
    Pod::text("name", Width::grow(26, 63), |p, cx| {
        (p.pod.name.as_str().into(), cx.st.text)
    })
    .tier(Tier::Standard, Width::grow(30, 63))
    .tier(Tier::Wide, Width::grow(34, 63)),
    Pod::text("namespace", Width::grow(10, 32), |p, cx| {
        (p.pod.namespace.as_str().into(), cx.st.dim)
    })
    .only(Tier::Wide),
    Pod::text("path", Width::Fixed(16), |p, cx| {
        let path = p.pod.path.as_ref().map_or(cx.g.none, |x| x.as_str());
        (path.into(), cx.st.dim)
    })
    .only(Tier::Wide),
    Pod::text("phase", Width::Fixed(9), |p, cx| {
        (p.pod.phase.as_str().into(), phase_style(&p.pod.phase, cx))
    })
    .sort(|a, b| phase_rank(&a.pod.phase).cmp(&phase_rank(&b.pod.phase))),
    Pod::text("ready", Width::Fixed(5), ready)
        .short("rdy")
        .sort(|a, b| a.pod.ready.cmp(&b.pod.ready)),
    Pod::text("rst", Width::Fixed(4), restarts)
        .right()
        .sort(|a, b| b.pod.restarts.cmp(&a.pod.restarts)),
    Pod::text("age", Width::Fixed(5), |p, cx| {
        (text::age(Some(p.age_seconds), cx.g.none).into(), cx.st.text)
    })
    .right()
    .sort(|a, b| a.age_seconds.total_cmp(&b.age_seconds)),
    // vLLM engine figures from Prometheus: unknown reads as the none glyph, never 0.
    Pod::text("wait", Width::Fixed(4), |p, cx| {
        count(p.engine.as_ref().and_then(|e| e.requests_waiting), cx)
    })
    .right()
    .sort(|a, b| more_first(wait(a), wait(b))),
    Pod::text("run", Width::Fixed(4), |p, cx| {
        count(p.engine.as_ref().and_then(|e| e.requests_running), cx)
    })
    .right()
    .only(Tier::Standard)
    .sort(|a, b| more_first(run(a), run(b))),
    Pod::text("kv%", Width::Fixed(4), kv)
        .right()
        .sort(|a, b| more_first(kv_of(a), kv_of(b))),
    Pod::text("node", Width::grow(14, 48), |p, cx| {
        (p.pod.node.as_deref().unwrap_or(cx.g.none).into(), cx.st.dim)
    })
    .only(Tier::Standard)
    .sort(|a, b| some_first(&a.pod.node, &b.pod.node)),
    Pod::text("reason", Width::fill(6), reason)
        .sort(|a, b| some_first(&a.pod.reason, &b.pod.reason)),
];

fn wait(p: &PodView) -> Option<f64> {
    p.engine.as_ref().and_then(|e| e.requests_waiting)
}
fn run(p: &PodView) -> Option<f64> {
    p.engine.as_ref().and_then(|e| e.requests_running)
}
fn kv_of(p: &PodView) -> Option<f64> {
    p.engine.as_ref().and_then(|e| e.kv_cache_usage)
}

/// Known values first, the largest first.
fn more_first(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn count<'a>(v: Option<f64>, cx: &Ctx) -> Text<'a> {
    match v {
        Some(v) => (format!("{}", v.round() as i64).into(), cx.st.text),
        None => (cx.g.none.into(), cx.st.dim),
    }
}

fn kv<'a>(p: &'a PodView, cx: &Ctx) -> Text<'a> {
    let Some(e) = p.engine.as_ref() else {
        return (cx.g.none.into(), cx.st.dim);
    };
    match e.kv_cache_usage {
        Some(v) => (parts::pct0(v).into(), parts::kv_style(e.kv_level, cx.st)),
        None => (cx.g.none.into(), cx.st.dim),
    }
}

/// Failed, Unknown, Pending before Running: problems first.
fn phase_rank(p: &str) -> u8 {
    match p {
        "Failed" => 0,
        "Unknown" => 1,
        "Pending" => 2,
        "Running" => 3,
        "Succeeded" => 4,
        _ => 5,
    }
}

/// Pods with a value first, by value.
fn some_first(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn phase_style(phase: &str, cx: &Ctx) -> ratatui::style::Style {
    match phase {
        "Running" => cx.st.text,
        "Pending" | "Unknown" => cx.st.warn,
        "Failed" => cx.st.crit,
        _ => cx.st.dim,
    }
}

fn ready<'a>(p: &'a PodView, cx: &Ctx) -> Text<'a> {
    let (g, st, p) = (cx.g, cx.st, &p.pod);
    let (mark, style) = if p.ready {
        (g.ok, st.ok)
    } else {
        (g.warn, st.warn)
    };
    let t = format!("{mark}{}/{}", p.ready_containers, p.total_containers);
    (t.into(), style)
}

fn restarts<'a>(p: &'a PodView, cx: &Ctx) -> Text<'a> {
    let (st, n) = (cx.st, p.pod.restarts);
    let style = if n >= 5 {
        st.crit
    } else if n > 0 {
        st.warn
    } else {
        st.text
    };
    (n.to_string().into(), style)
}

fn reason<'a>(p: &'a PodView, cx: &Ctx) -> Text<'a> {
    let st = cx.st;
    let Some(reason) = &p.pod.reason else {
        return ("".into(), st.text);
    };
    let style = if ["CrashLoop", "Error", "OOMKilled"]
        .iter()
        .any(|w| reason.contains(w))
    {
        st.crit
    } else {
        st.warn
    };
    match &p.pod.message {
        Some(m) => (format!("{reason}: {m}").into(), style),
        None => (reason.as_str().into(), style),
    }
}

pub const SCALED_OBJECTS: [Column<ScaledObjectView>; 9] = [
    So::text("name", Width::grow(14, 40), |s, cx| {
        (s.scaled_object.name.as_str().into(), cx.st.text)
    })
    .tier(Tier::Standard, Width::grow(18, 40))
    .tier(Tier::Wide, Width::grow(18, 40)),
    So::text("target", Width::grow(24, 48), |s, cx| {
        (s.scaled_object.target.as_str().into(), cx.st.dim)
    })
    .only(Tier::Standard),
    So::text("min-max", Width::Fixed(7), |s, cx| {
        let so = &s.scaled_object;
        let t = format!("{}-{}", so.min_replicas, so.max_replicas);
        (t.into(), cx.st.text)
    })
    .right(),
    So::text("cur→des", Width::Fixed(7), replicas)
        .head(|cx, _| format!("cur{}des", cx.g.arrow).into())
        .right(),
    So::draw("state", Width::Fixed(21), keda_state),
    So::text("fail", Width::Fixed(4), |s, cx| {
        let (g, st, so) = (cx.g, cx.st, &s.scaled_object);
        if so.failing_triggers > 0 {
            (format!("{}{}", g.crit, so.failing_triggers).into(), st.crit)
        } else {
            ("0".into(), st.text)
        }
    })
    .right(),
    So::text("metric/tgt", Width::Fixed(11), metric).right(),
    So::text("scale", Width::Fixed(5), |s, cx| {
        let last = parts::age_of(cx, s.scaled_object.last_scale);
        (text::age(last, cx.g.none).into(), cx.st.text)
    })
    .right(),
    So::text("triggers", Width::fill(0), |s, cx| {
        let so = &s.scaled_object;
        let trig = so.triggers.join(",");
        let t = match &so.message {
            Some(m) => format!("{trig}  {m}"),
            None => trig,
        };
        (t.into(), cx.st.dim)
    })
    .only(Tier::Standard)
    .gap_at_end(),
];

fn replicas<'a>(s: &'a ScaledObjectView, cx: &Ctx) -> Text<'a> {
    let (g, st, so) = (cx.g, cx.st, &s.scaled_object);
    let t = if so.replicas_known() {
        format!("{}{}{}", so.current_replicas, g.arrow, so.desired_replicas)
    } else {
        format!("{}{}{}", g.none, g.arrow, g.none)
    };
    let style = if !so.replicas_known() || so.current_replicas == so.desired_replicas {
        st.text
    } else {
        st.warn
    };
    (t.into(), style)
}

fn keda_state(buf: &mut Buffer, (x, y, w): (u16, u16, u16), s: &ScaledObjectView, cx: &Ctx) {
    let mut c = Cursor { x, y, end: x + w };
    for (word, style) in parts::keda_states(&s.scaled_object, cx.st) {
        if !word.is_empty() {
            c.text(buf, word, style, cx.g);
            c.skip(1);
        }
    }
}

fn metric<'a>(s: &'a ScaledObjectView, cx: &Ctx) -> Text<'a> {
    let (g, st, so) = (cx.g, cx.st, &s.scaled_object);
    let num = |v: Option<f64>| v.map_or_else(|| g.none.to_string(), |v| format!("{v:.1}"));
    let t = format!("{}/{}", num(so.metric_value), num(so.metric_target));
    let style = match (so.metric_value, so.metric_target) {
        (Some(v), Some(t)) if v > t => st.warn,
        _ => st.text,
    };
    (t.into(), style)
}
