//! `theme::parse` on arbitrary text must return `Err`, never panic; colours it accepts must
//! write back to a name that parses to the same colour (style snapshots rely on it).
#![no_main]
use hybridtop::config::colour_from_str;
use hybridtop::ui::theme::{colour_name, modifier_names, parse};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // No user directory: `extends` can still reach the built-in themes.
    let dir = Path::new("/nonexistent/hybridtop-fuzz-themes");
    let Ok(theme) = parse(text, "fuzz.toml", "fuzz", dir, 0) else {
        return;
    };
    for (_, style) in theme.styles.iter() {
        for c in [style.fg, style.bg, style.underline_color]
            .into_iter()
            .flatten()
        {
            let mut name = String::new();
            colour_name(c, &mut name);
            // Indexed colours are written as bare numbers and parsed from TOML integers.
            if let Ok(i) = name.parse::<u8>() {
                assert_eq!(format!("{c:?}"), format!("Indexed({i})"));
            } else {
                assert_eq!(colour_from_str(&name), Some(c), "{name}");
            }
        }
        let mut m = String::new();
        modifier_names(style.add_modifier, &mut m);
    }
});
