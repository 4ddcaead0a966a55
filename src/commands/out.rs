//! Everything the command line prints goes through here, and through the sanitiser on its way
//! (`model::sanitize::clean_text`): a server's message, a recording's values, a config file's
//! text and a path may all carry terminal escapes, and none of them reaches the terminal raw.
//! `println!` and friends are refused by clippy (`clippy.toml` `disallowed-macros`) so nothing
//! goes around it. Write errors (a closed pipe) are ignored: there is no one left to tell.
use crate::model::sanitize::clean_text;
use std::io::Write;

/// A line on stdout.
pub fn line(s: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", clean_text(s.as_ref()));
}

/// Text on stdout as it is (an export that carries its own line breaks).
pub fn text(s: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(clean_text(s.as_ref()).as_bytes());
    let _ = out.flush();
}

/// A line on stderr.
pub fn err(s: impl AsRef<str>) {
    let mut out = std::io::stderr().lock();
    let _ = writeln!(out, "{}", clean_text(s.as_ref()));
}

/// A question on stderr, without a line break, flushed before the answer is read.
pub fn prompt(s: impl AsRef<str>) {
    let mut out = std::io::stderr().lock();
    let _ = write!(out, "{}", clean_text(s.as_ref()));
    let _ = out.flush();
}
