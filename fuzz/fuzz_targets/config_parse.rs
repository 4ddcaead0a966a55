//! `Config::from_toml` on arbitrary text must return `Err`, never panic; a config it accepts
//! must then build a state and derive a snapshot (what every command does next) without panic,
//! and a recording made with it must open again (its header carries the config's sections).
#![no_main]
use hybridtop::config::Config;
use hybridtop::model::snapshot::Mode;
use hybridtop::model::state::{DeriveOptions, State};
use hybridtop::record::{parse_header, Header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = Config::from_toml(text, "fuzz.toml") else {
        return;
    };
    // validate() compiled the rules once already; they must compile again.
    assert!(
        cfg.correlation_rules().is_ok(),
        "validated config's rules do not compile"
    );
    let _ = cfg.default_weights();
    let _ = cfg.guard();
    let _ = cfg.path_ids();
    let state = State::new(&cfg, Mode::Live);
    let _ = state.snapshot(&DeriveOptions::default());

    let header = Header::new(&cfg, Mode::Live, false, false);
    let line = serde_json::to_vec(&header).expect("a header always serialises");
    if let Err(e) = parse_header(std::path::Path::new("fuzz.jsonl"), &line) {
        panic!("a recording of a valid config does not open: {e}");
    }
});
