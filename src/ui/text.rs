//! Text fitting (by display width) and number formatting with fixed widths.
use std::borrow::Cow;
use std::fmt::Write as _;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width of `s` in terminal cells.
pub fn width(s: &str) -> usize {
    s.width()
}

/// Fit `s` into `max` cells: unchanged when it fits, else cut at a character boundary (never
/// inside a wide character or before its combining marks) and ended with `ellipsis`.
/// Only scans as far as it needs to, so long inputs cost O(max).
pub fn truncate<'a>(s: &'a str, max: usize, ellipsis: &str) -> Cow<'a, str> {
    let ew = ellipsis.width();
    let budget = max.saturating_sub(ew);
    let mut used = 0usize;
    // Byte end of the prefix that fits into `budget` (with the ellipsis).
    let mut cut_end = 0usize;
    let mut cut_done = false;
    let mut overflow = false;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if !cut_done {
            if used + cw > budget {
                cut_done = true;
            } else {
                cut_end = i + c.len_utf8();
            }
        }
        used += cw;
        if used > max {
            overflow = true;
            break;
        }
    }
    // The whole string was scanned already, so measuring it as a terminal draws it costs no
    // more: see `str_wider`.
    if !overflow && !str_wider(s, max) {
        return Cow::Borrowed(s);
    }
    // Does not fit: prefix + ellipsis (or as much of the ellipsis as fits).
    if ew > max {
        return Cow::Owned(truncate(ellipsis, max, "").into_owned());
    }
    let cut_end = fit_prefix(s, cut_end, budget);
    let mut out = String::with_capacity(cut_end + ellipsis.len());
    out.push_str(&s[..cut_end]);
    out.push_str(ellipsis);
    Cow::Owned(out)
}

/// Whether `s` is wider than `max` cells as a whole. Summing per-character widths undercounts
/// some sequences — an emoji followed by the presentation selector U+FE0F draws two cells but
/// its characters count one — so text fitted by character widths alone could overflow its
/// column (found by the `sanitize` fuzz target). ASCII needs no second look.
fn str_wider(s: &str, max: usize) -> bool {
    !s.is_ascii() && s.width() > max
}

/// The longest `end <= prefix_end` whose `s[..end]` fits `budget` cells as a whole, dropping a
/// character together with the zero-width characters after it (selectors, combining marks).
fn fit_prefix(s: &str, prefix_end: usize, budget: usize) -> usize {
    let mut end = prefix_end;
    while end > 0 && str_wider(&s[..end], budget) {
        let mut cut = 0;
        for (i, c) in s[..end].char_indices().rev() {
            cut = i;
            if c.width().unwrap_or(0) > 0 {
                break;
            }
        }
        end = cut;
    }
    end
}

/// Split `s` after at most `w` cells (never inside a character; combining marks stay with their
/// base). Returns `(head, tail)`.
pub fn split_at_width(s: &str, w: usize) -> (&str, &str) {
    let mut used = 0usize;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            end = i;
            break;
        }
        used += cw;
    }
    s.split_at(fit_prefix(s, end, w))
}

/// Replace every non-ASCII character: zero-width marks are dropped, others become `?`.
pub fn to_ascii(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if c.width().unwrap_or(0) > 0 {
            out.push('?');
        }
    }
    Cow::Owned(out)
}

/// Case-insensitive substring test; `needle` must already be lower-case. No allocation.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let h = hay.as_bytes();
        let n = needle.as_bytes();
        if n.len() > h.len() {
            return false;
        }
        let (lo, up) = (n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase());
        let last = h.len() - n.len();
        let mut i = 0;
        while i <= last {
            // Jump to the next byte that can start a match, then compare the rest.
            match h[i..=last].iter().position(|&c| c == lo || c == up) {
                Some(p) => i += p,
                None => return false,
            }
            if h[i + 1..i + n.len()]
                .iter()
                .zip(&n[1..])
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
            {
                return true;
            }
            i += 1;
        }
        return false;
    }
    hay.to_lowercase().contains(needle)
}

/// `25`, `148`, `1.2s`, `—`: milliseconds in at most 5 cells.
pub fn ms(v: Option<f64>, none: &str) -> String {
    match v {
        Some(x) if x.is_finite() => {
            if x < 10.0 {
                format!("{x:.1}")
            } else if x < 10_000.0 {
                format!("{x:.0}")
            } else if x < 100_000.0 {
                format!("{:.1}s", x / 1000.0)
            } else {
                format!("{:.0}s", x / 1000.0)
            }
        }
        _ => none.to_string(),
    }
}

/// Durations: `812ms`, `1.24s`, `2m03s`, `1h04m`.
pub fn duration_ms(x: f64) -> String {
    if !x.is_finite() || x < 0.0 {
        return "?".into();
    }
    if x < 1000.0 {
        format!("{x:.0}ms")
    } else if x < 10_000.0 {
        format!("{:.2}s", x / 1000.0)
    } else if x < 60_000.0 {
        format!("{:.1}s", x / 1000.0)
    } else {
        let s = (x / 1000.0) as u64;
        if s < 3600 {
            format!("{}m{:02}s", s / 60, s % 60)
        } else {
            format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
        }
    }
}

/// Percent of a 0..1 share with one decimal: `69.0%`.
pub fn share(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "?".into()
    }
}

pub fn opt_pct(v: Option<f64>, none: &str) -> String {
    match v {
        Some(x) if x.is_finite() => {
            if x > 0.0 && x < 0.001 {
                format!("{:.2}%", x * 100.0)
            } else {
                format!("{:.1}%", x * 100.0)
            }
        }
        _ => none.to_string(),
    }
}

pub fn weight(v: Option<u32>, none: &str) -> String {
    match v {
        Some(w) => format!("{w}%"),
        None => none.to_string(),
    }
}

fn group_thousands(n: u64, out: &mut String) {
    let s = n.to_string();
    let len = s.len();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
}

/// Dollars with `decimals` places below $1,000; whole dollars with thousands separators up to
/// $100k; then `$123k`, `$1.2M` — never wider than 8 cells for any realistic value.
pub fn usd(v: Option<f64>, decimals: usize, none: &str) -> String {
    let Some(x) = v.filter(|x| x.is_finite()) else {
        return none.to_string();
    };
    let neg = x < 0.0;
    let a = x.abs();
    let mut out = String::with_capacity(12);
    if neg {
        out.push('-');
    }
    out.push('$');
    if a < 1000.0 {
        let _ = write!(out, "{a:.decimals$}");
    } else if a < 100_000.0 {
        group_thousands(a.round() as u64, &mut out);
    } else if a < 1_000_000.0 {
        let _ = write!(out, "{:.0}k", a / 1000.0);
    } else {
        let _ = write!(out, "{:.1}M", a / 1_000_000.0);
    }
    out
}

/// Integer counts: `1,200`, `340`, `1.7M`.
pub fn count(n: u64) -> String {
    let mut out = String::with_capacity(8);
    if n < 1_000_000 {
        group_thousands(n, &mut out);
    } else {
        let _ = write!(out, "{:.1}M", n as f64 / 1_000_000.0);
    }
    out
}

/// Age of data: `4s`, `3m`, `2h`, `5d`; `none` when never.
pub fn age(secs: Option<f64>, none: &str) -> String {
    match secs {
        Some(s) if s.is_finite() => {
            let s = s.max(0.0);
            if s < 60.0 {
                format!("{}s", s as u64)
            } else if s < 3600.0 {
                format!("{}m", (s / 60.0) as u64)
            } else if s < 86_400.0 {
                format!("{}h", (s / 3600.0) as u64)
            } else {
                format!("{}d", (s / 86_400.0) as u64)
            }
        }
        _ => none.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_emoji_presentation_sequences() {
        // Found by the `sanitize` fuzz target: U+2764 is one cell, U+FE0F zero, but together
        // they draw two; fitting by character widths alone returned them for one cell.
        let heart = "\u{2764}\u{FE0F}";
        assert_eq!(width(heart), 2);
        assert_eq!(truncate(heart, 1, ""), "");
        assert_eq!(truncate(heart, 1, "…"), "…");
        assert_eq!(truncate(heart, 2, "…"), heart);
        let s = format!("ab{heart}cd");
        for max in 0..8 {
            assert!(width(&truncate(&s, max, "…")) <= max, "{max}");
            let (head, tail) = split_at_width(&s, max);
            assert!(width(head) <= max, "{max}");
            assert_eq!(format!("{head}{tail}"), s);
        }
        assert_eq!(split_at_width(&s, 3), ("ab", &s[2..]));
        assert_eq!(split_at_width(&s, 4), (&s[..8], "cd"));
    }

    #[test]
    fn truncate_by_width() {
        assert_eq!(truncate("hello", 5, "…"), "hello");
        assert_eq!(truncate("hello!", 5, "…"), "hell…");
        assert_eq!(truncate("hello!", 5, "..."), "he...");
        assert_eq!(truncate("hello", 0, "…"), "");
        assert_eq!(truncate("hello", 1, "..."), ".");
        // Wide chars: never split, the result never exceeds the width.
        assert_eq!(truncate("日本語テキスト", 7, "…"), "日本語…");
        assert_eq!(truncate("日本語テキスト", 6, "…"), "日本…");
        assert!(width(&truncate("日本語テキスト", 6, "…")) <= 6);
        // Combining marks stay with their base character.
        let s = "cafe\u{301} au lait";
        assert_eq!(truncate(s, 5, "…"), "cafe\u{301}…");
        assert_eq!(truncate(s, 4, "…"), "caf…");
        assert_eq!(width(s), 12);
        assert_eq!(truncate(s, 12, "…"), s);
    }

    #[test]
    fn split_by_width() {
        assert_eq!(split_at_width("日本語abc", 5), ("日本", "語abc"));
        assert_eq!(split_at_width("abc", 5), ("abc", ""));
        assert_eq!(split_at_width("e\u{301}x", 1), ("e\u{301}", "x"));
    }

    #[test]
    fn ascii_mapping() {
        assert_eq!(to_ascii("abc"), "abc");
        assert_eq!(to_ascii("日本 cafe\u{301}"), "?? cafe");
    }

    #[test]
    fn numbers() {
        assert_eq!(ms(Some(25.4), "—"), "25");
        assert_eq!(ms(Some(4.25), "—"), "4.2");
        assert_eq!(ms(Some(12_345.0), "—"), "12.3s");
        assert_eq!(ms(None, "—"), "—");
        assert_eq!(usd(Some(1.2), 2, "—"), "$1.20");
        assert_eq!(usd(Some(1279.4), 2, "—"), "$1,279");
        assert_eq!(usd(Some(123_456.0), 2, "—"), "$123k");
        assert_eq!(usd(Some(2_500_000.0), 2, "—"), "$2.5M");
        assert_eq!(usd(None, 2, "-"), "-");
        assert_eq!(age(Some(4.2), "—"), "4s");
        assert_eq!(age(Some(190.0), "—"), "3m");
        assert_eq!(age(Some(7200.0), "—"), "2h");
        assert_eq!(age(None, "—"), "—");
        assert_eq!(duration_ms(812.0), "812ms");
        assert_eq!(duration_ms(1240.0), "1.24s");
        assert_eq!(duration_ms(123_000.0), "2m03s");
        assert_eq!(count(1_234_567), "1.2M");
        assert_eq!(count(1200), "1,200");
        assert!(contains_ci("EKS-Qwen3", "qwen"));
        assert!(!contains_ci("abc", "abcd"));
        assert!(contains_ci("CrashLoopBackOff", "loopb"));
        assert!(contains_ci("aab", "ab"));
        assert!(!contains_ci("aaa", "ab"));
        assert!(contains_ci("x", ""));
        assert!(contains_ci("日本語", "本"));
    }
}
