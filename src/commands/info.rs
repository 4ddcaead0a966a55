//! `hybridtop info`: where hybridtop reads and writes.
use super::out;
use super::{config_path, log_path, theme_dir, CliResult, EXIT_OK};
use crate::cli::GlobalArgs;
use crate::config;

pub fn run(global: &GlobalArgs) -> CliResult {
    let cfg = config_path(global);
    let exists = if cfg.exists() { "" } else { " (not found)" };
    out::line(format!("config      {}{exists}", cfg.display()));
    out::line(format!("themes      {}", theme_dir().display()));
    out::line(format!("log         {}", log_path(global).display()));
    let audit = global
        .audit_log
        .clone()
        .unwrap_or_else(|| config::state_dir().join("audit.jsonl"));
    out::line(format!("audit log   {}", audit.display()));
    out::line(format!("cache       {}", config::cache_dir().display()));
    Ok(EXIT_OK)
}
