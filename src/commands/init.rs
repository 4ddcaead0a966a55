//! `hybridtop init`: write a commented example config (every section of the schema).
use super::out;
use super::{config_path, CliError, CliResult, EXIT_OK};
use crate::cli::GlobalArgs;

pub const EXAMPLE: &str = include_str!("../config/example_config.toml");

pub fn run(global: &GlobalArgs, force: bool) -> CliResult {
    let path = config_path(global);
    if path.exists() && !force {
        return Err(CliError::invalid(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    // 0600 in a 0700 directory: a config names accounts, clusters and endpoints.
    crate::config::private::create(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, EXAMPLE.as_bytes()))
        .map_err(|e| CliError::runtime(format!("cannot write {}: {e}", path.display())))?;
    out::line(format!("wrote {}", path.display()));
    out::line("edit it, then run `hybridtop check`, or try `hybridtop demo` first");
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_example_parses_with_no_unknown_keys() {
        let cfg = Config::from_toml(super::EXAMPLE, "example.toml").unwrap();
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        assert_eq!(cfg.paths.len(), 3);
        assert!(cfg.aws.is_some() && cfg.kubernetes.is_some() && cfg.langfuse.is_some());
    }
}
