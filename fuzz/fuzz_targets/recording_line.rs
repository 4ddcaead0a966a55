//! Recording lines as a replay reads them: line 1 through the header check, every line through
//! the record decoder, and each decoded update applied to the state (a recording is a file
//! someone sent: nothing in it may panic the replay), then one derive.
#![no_main]
use hybridtop::config::Config;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::record::{decode_record, parse_header};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

/// Records applied per input at most (keeps one input fast).
const MAX_RECORDS: usize = 64;

fn demo() -> &'static Config {
    static DEMO: OnceLock<Config> = OnceLock::new();
    DEMO.get_or_init(Config::demo)
}

fn ignorable(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut state = match parse_header(Path::new("fuzz.jsonl"), first) {
        Ok(h) => h.new_state("fuzz.jsonl"),
        Err(_) => {
            // Not a header: still decode it as a record, against the demo's shape.
            let mut s = State::new(demo(), Mode::Replay);
            if let Ok(r) = decode_record(first) {
                s.apply(r.update);
            }
            s
        }
    };
    for line in lines.filter(|l| !ignorable(l)).take(MAX_RECORDS) {
        match decode_record(line) {
            Ok(r) => state.apply(r.update),
            // The reader stops at the first damaged line.
            Err(_) => break,
        }
    }
    let _ = state.snapshot(&DeriveOptions::default());
});
