//! `sanitize::clean` on arbitrary text: no control character survives, the result is a fixed
//! point, and what the UI does next with a cleaned string (redaction, fitting to a width) keeps
//! it clean and within the width.
#![no_main]
#[path = "common.rs"]
mod common;

use common::assert_clean;
use hybridtop::model::redact::redact;
use hybridtop::model::sanitize::{clean, clean_owned};
use hybridtop::ui::glyphs::{ASCII, UNICODE};
use hybridtop::ui::paint::fit;
use hybridtop::ui::text::{split_at_width, to_ascii, truncate, width};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a width for the fitting checks; the rest is the remote string.
    let (max, rest) = match data.split_first() {
        Some((m, r)) => (usize::from(*m), r),
        None => (0, data),
    };
    let s = String::from_utf8_lossy(rest);
    let out = clean(&s);
    assert_clean("clean", &out);
    assert_eq!(clean_owned(&s), *out);
    assert_eq!(clean(&out), out, "clean is not idempotent");
    assert!(out.len() <= s.len(), "clean grew the string");

    assert_clean("redact(clean)", &redact(&out));

    for ellipsis in ["…", "...", ""] {
        let t = truncate(&out, max, ellipsis);
        assert_clean("truncate", &t);
        assert!(width(&t) <= max, "truncate({max}) gave width {}", width(&t));
    }
    for g in [&UNICODE, &ASCII] {
        let f = fit(&out, max, g);
        assert_clean("fit", &f);
        assert!(width(&f) <= max, "fit({max}) gave width {}", width(&f));
        if g.ascii {
            assert!(f.is_ascii(), "fit in ASCII mode left {f:?}");
        }
    }
    let (head, tail) = split_at_width(&out, max);
    assert!(width(head) <= max);
    assert_eq!(format!("{head}{tail}"), *out);
    assert_clean("to_ascii", &to_ascii(&out));
});
