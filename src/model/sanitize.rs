//! Remote strings (trace names, pod names, error messages) may carry terminal control sequences.
//! Everything from a source passes through `clean` before it is drawn or exported, and
//! everything the command line prints passes through `clean_text` (`commands::out`).
use std::borrow::Cow;

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode line and paragraph separators: a terminal may move to a new line on them.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Joiners and variation selectors: a terminal draws a ZWJ emoji sequence as one glyph or as
/// several depending on its font, so no width can be measured for it. Dropped, the parts are
/// drawn one by one, each as wide as it is measured.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}')
}

fn needs_cleaning(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_separator(c) || is_joiner(c)
}

/// Remove C0/C1 controls, whole ESC sequences (CSI, OSC, DCS, APC, PM, SOS, two-byte escapes) and
/// bidi overrides. Tabs and newlines become single spaces so a value stays on its row.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => skip_escape(&mut it),
            // C1 CSI / OSC / DCS etc. as single code points.
            '\u{9b}' => skip_csi(&mut it),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut it),
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if needs_cleaning(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `clean` for text of several lines (command-line output, error messages): each line is
/// cleaned, and the line breaks between them kept.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && needs_cleaning(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(clean).collect();
    Cow::Owned(lines.join("\n"))
}

/// Owned convenience for struct fields.
pub fn clean_owned(s: &str) -> String {
    clean(s).into_owned()
}

fn skip_escape<I: Iterator<Item = char>>(it: &mut std::iter::Peekable<I>) {
    match it.next() {
        Some('[') => skip_csi(it),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(it),
        // Two-byte escape (ESC c, ESC 7, …) or an intermediate sequence such as ESC ( B.
        Some(c) if ('\x20'..='\x2f').contains(&c) => {
            while let Some(&n) = it.peek() {
                it.next();
                if !('\x20'..='\x2f').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

fn skip_csi<I: Iterator<Item = char>>(it: &mut std::iter::Peekable<I>) {
    // Parameters and intermediates until a final byte 0x40..=0x7e.
    for c in it.by_ref() {
        if ('\x40'..='\x7e').contains(&c) {
            break;
        }
        if !('\x20'..='\x3f').contains(&c) {
            break;
        }
    }
}

fn skip_string<I: Iterator<Item = char>>(it: &mut std::iter::Peekable<I>) {
    // Until BEL, ST (ESC \) or C1 ST.
    while let Some(c) = it.next() {
        match c {
            '\x07' | '\u{9c}' => break,
            '\x1b' => {
                if it.peek() == Some(&'\\') {
                    it.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_sequences_whole() {
        assert_eq!(clean("plain"), "plain");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(clean("a\x1b[31mred\x1b[0m"), "ared");
        assert_eq!(clean("x\x1b]0;pwned title\x07y"), "xy");
        assert_eq!(clean("x\x1b]52;c;AAAA\x1b\\y"), "xy");
        assert_eq!(clean("bell\x07!"), "bell!");
        assert_eq!(clean("rtl\u{202E}gnp.exe"), "rtlgnp.exe");
        assert_eq!(clean("a\u{9b}31mb"), "ab");
        assert_eq!(clean("line1\nline2\tx"), "line1 line2 x");
        assert_eq!(clean("x\x1bPdcs stuff\x1b\\y"), "xy");
        assert_eq!(clean("wide 日本語 ok"), "wide 日本語 ok");
        assert_eq!(clean("trailing esc\x1b"), "trailing esc");
        assert_eq!(clean("para\u{2029}graph\u{2028}x"), "para graph x");
        assert_eq!(clean("del\x7f c1\u{85}nel"), "del c1nel");
        assert_eq!(clean("isolate\u{2067}x\u{2069}"), "isolatex");
        // A ZWJ family becomes its members, each measured as drawn.
        assert_eq!(
            clean("a\u{1F468}\u{200D}\u{1F469}b"),
            "a\u{1F468}\u{1F469}b"
        );
        assert_eq!(clean("\u{2764}\u{FE0F}"), "\u{2764}");
    }

    #[test]
    fn text_keeps_its_lines() {
        assert_eq!(clean_text("one\ntwo"), "one\ntwo");
        assert!(matches!(clean_text("one\ntwo"), Cow::Borrowed(_)));
        assert_eq!(
            clean_text("denied\x1b]52;c;cHduZWQ=\x07\nby \u{202E}webhook\r"),
            "denied\nby webhook "
        );
    }

    proptest! {
        #[test]
        fn no_control_survives(s in any::<String>()) {
            let out = clean(&s);
            prop_assert!(!out.chars().any(needs_cleaning), "{:?}", out);
        }

        #[test]
        fn no_control_survives_in_text(s in any::<String>()) {
            let out = clean_text(&s);
            prop_assert!(!out.chars().any(|c| c != '\n' && needs_cleaning(c)), "{:?}", out);
        }
    }
}
