//! Shared meanings: state → (symbol, word, style), so every view says the same thing the same way
//! and nothing is told by colour alone.
use super::glyphs::Glyphs;
use super::paint::Ctx;
use super::state::Thresholds;
use super::theme::Styles;
use crate::domain::path::Side;
use crate::model::snapshot::Severity;
use crate::model::update::{Level, ScaledObject, SourceState};
use ratatui::style::Style;

/// Latency level against the warn/crit thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level3 {
    Ok,
    Warn,
    Crit,
}

pub fn latency_level(v: Option<f64>, t: &Thresholds) -> Option<Level3> {
    let v = v.filter(|x| x.is_finite())?;
    Some(if v > t.crit_ms {
        Level3::Crit
    } else if v > t.warn_ms {
        Level3::Warn
    } else {
        Level3::Ok
    })
}

impl Level3 {
    pub fn style(self, st: &Styles) -> Style {
        match self {
            Level3::Ok => st.ok,
            Level3::Warn => st.warn,
            Level3::Crit => st.crit,
        }
    }
    /// Mark after a number: nothing for ok.
    pub fn mark(self, g: &Glyphs) -> &'static str {
        match self {
            Level3::Ok => " ",
            Level3::Warn => g.warn,
            Level3::Crit => g.crit,
        }
    }
    pub fn symbol(self, g: &Glyphs) -> &'static str {
        match self {
            Level3::Ok => g.ok,
            Level3::Warn => g.warn,
            Level3::Crit => g.crit,
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Level3::Ok => "ok",
            Level3::Warn => "WARN",
            Level3::Crit => "CRIT",
        }
    }
}

pub fn source_mark(s: SourceState, g: &Glyphs, st: &Styles) -> (&'static str, Style) {
    match s {
        SourceState::Ok => (g.ok, st.ok),
        SourceState::Stale => (g.stale, st.warn),
        SourceState::Error => (g.crit, st.crit),
        SourceState::Connecting => (g.connecting, st.info),
        SourceState::Disabled => (g.disabled, st.dim),
    }
}

pub fn severity_mark(s: Severity, g: &Glyphs, st: &Styles) -> (&'static str, &'static str, Style) {
    match s {
        Severity::Crit => (g.crit, "CRIT", st.crit),
        Severity::Warn => (g.warn, "WARN", st.warn),
        Severity::Info => (g.dot, "info", st.info),
    }
}

pub fn side_letter(s: Option<Side>) -> &'static str {
    match s {
        Some(Side::Agentcore) => "A",
        Some(Side::Eks) => "E",
        None => "?",
    }
}

pub fn side_style(s: Option<Side>, st: &Styles) -> Style {
    match s {
        Some(Side::Agentcore) => st.side_agentcore,
        Some(Side::Eks) => st.side_eks,
        None => st.dim,
    }
}

pub fn side_fill(s: Option<Side>, g: &Glyphs) -> &'static str {
    match s {
        Some(Side::Agentcore) => g.fill_agentcore,
        Some(Side::Eks) => g.fill_eks,
        None => g.bar_track,
    }
}

/// `A+E`, `A`, `E` (compact) or `agentcore+eks` (wide).
pub fn sides_text(sides: &[Side], long: bool) -> &'static str {
    let a = sides.contains(&Side::Agentcore);
    let e = sides.contains(&Side::Eks);
    match (a, e, long) {
        (true, true, false) => "A+E",
        (true, false, false) => "A",
        (false, true, false) => "E",
        (true, true, true) => "agentcore+eks",
        (true, false, true) => "agentcore",
        (false, true, true) => "eks",
        (false, false, _) => "",
    }
}

pub fn level_word(l: Level) -> &'static str {
    match l {
        Level::Debug => "DEBUG",
        Level::Default => "DEFAULT",
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
    }
}

pub fn level_style(l: Level, st: &Styles) -> Style {
    match l {
        Level::Debug => st.dim,
        Level::Default => st.text,
        Level::Warning => st.warn,
        Level::Error => st.crit,
    }
}

/// KEDA state words in display order with their styles: Ready/NotReady, Active/Idle, and
/// Fallback / Paused when set.
pub fn keda_states(so: &ScaledObject, st: &Styles) -> [(&'static str, Style); 4] {
    let none = ("", st.text);
    [
        if so.ready {
            ("Ready", st.ok)
        } else {
            ("NotReady", st.crit)
        },
        if so.active {
            ("Active", st.text)
        } else {
            ("Idle", st.dim)
        },
        if so.fallback {
            ("Fallback", st.warn)
        } else {
            none
        },
        if so.paused { ("Paused", st.warn) } else { none },
    ]
}

/// When the Kubernetes source is in error or stale: the problem and, to keep whole, the age
/// of the data still shown (`✗ Kubernetes API unreachable at URL`, ` — last data 2m ago`).
pub fn kube_trouble(
    snap: &crate::model::snapshot::Snapshot,
    g: &Glyphs,
    st: &Styles,
) -> Option<(String, String, Style)> {
    use crate::model::update::SourceName;
    let s = snap
        .sources
        .iter()
        .find(|s| s.name == SourceName::Kubernetes)?;
    let (sym, style) = match s.state {
        SourceState::Error => (g.crit, st.crit),
        SourceState::Stale => (g.stale, st.warn),
        _ => return None,
    };
    let what = s.error.as_deref().unwrap_or("Kubernetes data is stale");
    let age = match s.age_seconds {
        Some(a) => format!(
            " {} last data {} ago",
            g.none,
            super::text::age(Some(a), g.none)
        ),
        None => format!(" {} no data yet", g.none),
    };
    Some((format!("{sym} {what}"), age, style))
}

/// A trace source's position, when it matters: `catching up 12,000 of ~36,000` while it reads
/// its window, `40s behind` when its complete data lags the present by more than its interval.
pub fn trace_lag(s: &crate::model::snapshot::SourceStatus) -> Option<String> {
    if let Some(c) = &s.catching_up {
        return Some(match c.expected {
            Some(e) if e > c.read => format!(
                "catching up {} of ~{}",
                super::text::count(c.read),
                super::text::count(e)
            ),
            _ => format!("catching up {} read", super::text::count(c.read)),
        });
    }
    let (lag, iv) = (s.lag_seconds?, s.interval_seconds?);
    (lag > iv).then(|| format!("{} behind", super::text::age(Some(lag), "")))
}

/// `5m`, `90s`, `1h`.
pub fn window_text(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Seconds between the snapshot clock and `t`.
pub fn age_of(cx: &Ctx, t: Option<chrono::DateTime<chrono::Utc>>) -> Option<f64> {
    t.map(|t| (cx.snap.generated_at - t).num_milliseconds() as f64 / 1000.0)
}

/// A share as a whole percent: `0.873` → `87%`.
pub fn pct0(v: f64) -> String {
    format!("{}%", (v * 100.0).round() as i64)
}

/// The style of a KV-cache figure by its level (`model::engine::kv_level`).
pub fn kv_style(level: u8, st: &Styles) -> Style {
    match level {
        2 => st.crit,
        1 => st.warn,
        _ => st.text,
    }
}

/// The vLLM engine line of an EKS path (from Prometheus): queue and KV cache, each number
/// labelled; unknown as the none glyph. `None` when the path has no engine figures at all.
pub fn engine_spans(
    e: &crate::model::engine::EngineView,
    room: u16,
    g: &Glyphs,
    st: &Styles,
) -> Vec<(String, Style)> {
    // The longest form that fits: with TTFT and the source named, then with the queue words,
    // then the bare queue.
    let compact = room < 38;
    let full = room >= 60;
    let f = &e.figures;
    let nothing = f.requests_waiting.is_none()
        && f.requests_running.is_none()
        && f.kv_cache_usage.is_none()
        && f.ttft_p95_ms.is_none();
    if nothing {
        // Unknown is said, not drawn as zeros: what is missing, or that nothing came yet.
        let why = match e.notes.first() {
            Some(n) => n.clone(),
            None if e.at.is_none() => "no data yet".to_string(),
            None => "no current data".to_string(),
        };
        let head = if room >= 60 {
            "engine (prometheus) "
        } else {
            "engine "
        };
        return vec![
            (head.to_string(), st.dim),
            (format!("{} ", g.none), st.dim),
            (why, st.dim),
        ];
    }
    let n =
        |v: Option<f64>| v.map_or_else(|| g.none.to_string(), |v| format!("{}", v.round() as i64));
    let kv = f.kv_cache_usage.map_or_else(|| g.none.to_string(), pct0);
    let kv_style = if f.kv_cache_usage.is_some() {
        kv_style(e.kv_level, st)
    } else {
        st.dim
    };
    let mark = match e.kv_level {
        2 => g.crit,
        1 => g.warn,
        _ => "",
    };
    let mut out = vec![(
        if compact {
            "engine "
        } else {
            "engine (prometheus) "
        }
        .to_string(),
        st.dim,
    )];
    if compact {
        out.push(("q ".into(), st.dim));
        out.push((
            format!("{}/{}", n(f.requests_waiting), n(f.requests_running)),
            st.text,
        ));
    } else {
        out.push(("waiting ".into(), st.dim));
        out.push((n(f.requests_waiting), st.text));
        out.push((" running ".into(), st.dim));
        out.push((n(f.requests_running), st.text));
    }
    out.push((format!(" {} KV ", g.dot), st.dim));
    if !mark.is_empty() {
        out.push((format!("{mark} "), kv_style));
    }
    out.push((kv, kv_style));
    if full {
        if let Some(t) = f.ttft_p95_ms {
            out.push((format!(" {} TTFT p95 ", g.dot), st.dim));
            out.push((format!("{} ms", t.round() as i64), st.text));
        }
    }
    out
}

/// Roots-first polling's sample, as the Traces list says it: "waterfalls: 1 in 12 sessions".
pub fn waterfall_sample(w: &crate::model::snapshot::WaterfallCoverage) -> String {
    match w.one_in() {
        Some(1) => "waterfalls: every session".to_string(),
        Some(n) => format!("waterfalls: 1 in {n} sessions"),
        None => "waterfalls: roots only".to_string(),
    }
}

#[cfg(test)]
mod lag_tests {
    use super::trace_lag;
    use crate::model::snapshot::{CatchingUp, SourceStatus};
    use crate::model::update::{SourceName, SourceState};

    fn langfuse(lag: Option<f64>, catching: Option<(u64, Option<u64>)>) -> SourceStatus {
        SourceStatus {
            name: SourceName::Langfuse,
            state: SourceState::Ok,
            last_success: None,
            age_seconds: Some(1.0),
            error: None,
            simulated: false,
            permanent: false,
            lag_seconds: lag,
            interval_seconds: Some(10.0),
            catching_up: catching.map(|(read, expected)| CatchingUp { read, expected }),
        }
    }

    #[test]
    fn the_lag_is_worded_only_when_it_matters() {
        let t = |l, c| trace_lag(&langfuse(l, c));
        assert_eq!(
            t(None, Some((1_000, Some(3_000)))).as_deref(),
            Some("catching up 1,000 of ~3,000")
        );
        assert_eq!(
            t(None, Some((1_000, None))).as_deref(),
            Some("catching up 1,000 read")
        );
        assert_eq!(t(Some(40.0), None).as_deref(), Some("40s behind"));
        assert_eq!(t(Some(5.0), None), None);
        assert_eq!(t(None, None), None);
    }
}
