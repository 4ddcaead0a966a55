//! The replay timeline: one row above the footer, drawn in replay mode only.
//!
//! ```text
//! ▶ 2×  09:05:12  ━━━━━━━━━━━●────◆─────────◆──────────  09:30:00  +05:12/30:00
//! ```
//! Play state and speed, the virtual clock, a bar from the first to the last record with the
//! position and a marker wherever the router's weights changed, then the end and the elapsed /
//! total time. Damage shows as a mark at the end of the bar.
use super::paint::{put, put_right, repeat, Ctx, Tier};
use super::state::ReplayUi;
use super::text::width;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// The timeline's glyphs, Unicode and ASCII, kept here so the row is self-contained.
struct Marks {
    play: &'static str,
    pause: &'static str,
    end: &'static str,
    done: &'static str,
    todo: &'static str,
    head: &'static str,
    marker: &'static str,
    damage: &'static str,
}

const UNICODE: Marks = Marks {
    play: "▶",
    pause: "‖",
    end: "■",
    done: "━",
    todo: "─",
    head: "●",
    marker: "◆",
    damage: "✗",
};

const ASCII: Marks = Marks {
    play: ">",
    pause: "||",
    end: "[]",
    done: "=",
    todo: "-",
    head: "O",
    marker: "*",
    damage: "!",
};

fn clock(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| "--:--:--".into())
}

/// `05:12`, or `1:05:12` from an hour on.
pub fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `2×`, `0.5×`, `1/64×`.
pub fn speed_text(speed: f64, times: &str) -> String {
    if speed >= 1.0 {
        if (speed - speed.round()).abs() < 1e-9 {
            format!("{}{times}", speed.round() as i64)
        } else {
            format!("{speed:.1}{times}")
        }
    } else if speed > 0.0 && (1.0 / speed - (1.0 / speed).round()).abs() < 1e-9 {
        format!("1/{}{times}", (1.0 / speed).round() as i64)
    } else {
        format!("{speed:.2}{times}")
    }
}

/// Column of `t` on a bar of `w` cells spanning `[start, end]`.
fn cell_of(t: i64, start: i64, end: i64, w: u16) -> u16 {
    if w == 0 {
        return 0;
    }
    if end <= start {
        return w - 1;
    }
    let f = ((t - start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
    ((f * f64::from(w - 1)).round() as u16).min(w - 1)
}

pub fn draw(buf: &mut Buffer, area: Rect, cx: &Ctx, r: &ReplayUi) {
    let (st, g) = (cx.st, cx.g);
    let m = if g.ascii { &ASCII } else { &UNICODE };
    let y = area.y;
    buf.set_style(area, st.text);
    let mut x = area.x;
    let right_edge = area.right();

    let (sym, sym_style) = if r.at_end {
        (m.end, st.dim)
    } else if r.paused {
        (m.pause, st.flag)
    } else {
        (m.play, st.ok)
    };
    x += put(buf, x, y, right_edge - x, sym, sym_style, g) + 1;
    let speed = speed_text(r.speed, g.times);
    x += put(
        buf,
        x,
        y,
        right_edge.saturating_sub(x),
        &speed,
        st.accent,
        g,
    ) + 2;
    x += put(
        buf,
        x,
        y,
        right_edge.saturating_sub(x),
        &clock(r.position_ms),
        st.header,
        g,
    ) + 2;

    // Right side: end clock and elapsed/total, when known.
    let start = r.start_ms.unwrap_or(r.position_ms);
    let end = r.end_ms.unwrap_or(r.position_ms).max(r.position_ms);
    let right = if r.indexed {
        let mut s = format!(
            "{}  +{}/{}",
            clock(end),
            span(r.position_ms - start),
            span(end - start)
        );
        if cx.tier >= Tier::Standard {
            s = format!("{s}  {}", r.recorded);
        }
        s
    } else {
        format!("+{}  indexing{}", span(r.position_ms - start), g.ellipsis)
    };
    let rw = width(&right) as u16;
    let bar_w = right_edge.saturating_sub(x).saturating_sub(rw + 2);
    if bar_w >= 8 {
        let pos_cell = cell_of(r.position_ms, start, end, bar_w);
        repeat(buf, x, y, pos_cell, m.done, st.bar_observed);
        repeat(buf, x + pos_cell, y, bar_w - pos_cell, m.todo, st.bar_track);
        if r.indexed {
            for &t in &r.markers {
                let c = cell_of(t, start, end, bar_w);
                put(buf, x + c, y, 1, m.marker, st.warn, g);
            }
            if r.damage_line.is_some() {
                put(buf, x + bar_w - 1, y, 1, m.damage, st.crit, g);
            }
        }
        put(buf, x + pos_cell, y, 1, m.head, st.accent, g);
        put_right(buf, x + bar_w, y, right_edge - x - bar_w, &right, st.dim, g);
    } else {
        put_right(buf, x, y, right_edge.saturating_sub(x), &right, st.dim, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(span(312_000), "05:12");
        assert_eq!(span(3_912_000), "1:05:12");
        assert_eq!(speed_text(2.0, "×"), "2×");
        assert_eq!(speed_text(0.5, "×"), "1/2×");
        assert_eq!(speed_text(1.0 / 64.0, "x"), "1/64x");
        assert_eq!(speed_text(1.5, "×"), "1.5×");
        assert_eq!(cell_of(0, 0, 100, 11), 0);
        assert_eq!(cell_of(50, 0, 100, 11), 5);
        assert_eq!(cell_of(100, 0, 100, 11), 10);
        assert_eq!(cell_of(5, 5, 5, 11), 10);
    }
}
