//! The command line's formatter (`commands::out` prints every line through
//! `sanitize::clean_text`) on arbitrary text: no control character but the line break survives,
//! the line breaks are kept (a message stays as many lines as it was written), the result is a
//! fixed point and never grows.
#![no_main]
#[path = "common.rs"]
mod common;

use common::assert_clean;
use hybridtop::model::sanitize::clean_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let out = clean_text(&s);
    for line in out.split('\n') {
        assert_clean("clean_text", line);
    }
    assert_eq!(
        out.matches('\n').count(),
        s.matches('\n').count(),
        "clean_text changed the number of lines"
    );
    assert_eq!(clean_text(&out), out, "clean_text is not idempotent");
    assert!(out.len() <= s.len(), "clean_text grew the string");
});
