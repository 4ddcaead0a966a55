//! `hybridtop info`: where hybridtop reads and writes.
use super::{config_path, log_path, theme_dir, CliResult, EXIT_OK};
use crate::cli::GlobalArgs;
use crate::config;

pub fn run(global: &GlobalArgs) -> CliResult {
    let cfg = config_path(global);
    let exists = if cfg.exists() { "" } else { " (not found)" };
    println!("config      {}{exists}", cfg.display());
    println!("themes      {}", theme_dir().display());
    println!("log         {}", log_path(global).display());
    let audit = global
        .audit_log
        .clone()
        .unwrap_or_else(|| config::state_dir().join("audit.jsonl"));
    println!("audit log   {}", audit.display());
    println!("cache       {}", config::cache_dir().display());
    Ok(EXIT_OK)
}
