//! Checks shared by the targets: what "safe to put on a terminal" means, written independently
//! of `sanitize` so the oracle is not the code under test.
#![allow(dead_code)]

/// A character that must never reach the screen from a remote string: C0 controls (ESC
/// included), DEL, C1 controls (CSI, OSC, DCS… as single code points), bidi overrides and
/// isolates, and Unicode line/paragraph separators.
pub fn forbidden(c: char) -> bool {
    matches!(c,
        '\u{00}'..='\u{1F}'
        | '\u{7F}'..='\u{9F}'
        | '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}'
        | '\u{2029}')
}

#[track_caller]
pub fn assert_clean(what: &str, s: &str) {
    if let Some(c) = s.chars().find(|c| forbidden(*c)) {
        panic!("{what}: {c:?} survived in {s:?}");
    }
}
