//! `hybridtop check`: the config, then every enabled source — credentials, reachability,
//! permissions — one line per check, so a failure says what to fix.
use super::out;
use super::{config_path, tokio_runtime, CliResult, EXIT_OK, EXIT_RUNTIME};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::sources::CheckLine;

pub fn run(global: &GlobalArgs) -> CliResult {
    let path = config_path(global);
    let cfg = Config::load(&path)?;
    // Exactly what a run refuses: the theme and the keys, beyond the file itself.
    super::validate_for_run(global, &cfg)?;
    let ascii = super::resolve_ascii(global, Some(&cfg));
    let (ok_mark, bad_mark) = if ascii {
        ("ok  ", "FAIL")
    } else {
        ("✓", "✗")
    };
    out::line(format!("{ok_mark} config {}", path.display()));
    for k in &cfg.unknown_keys {
        out::line(format!("  warning: unknown key `{k}` ignored"));
    }
    let rt = tokio_runtime()?;
    let lines = rt.block_on(run_checks(&cfg));
    if lines.is_empty() {
        out::line("  no sources are configured ([aws], [kubernetes], [langfuse], [prometheus], [otlp] are all absent)");
    }
    let mut failed = 0;
    for l in &lines {
        let mark = if l.ok { ok_mark } else { bad_mark };
        if !l.ok {
            failed += 1;
        }
        let detail = crate::model::sanitize::clean(&l.detail);
        out::line(format!("{mark} {:<13} {}: {detail}", l.source, l.check));
    }
    if failed > 0 {
        out::line(format!("{failed} check(s) failed"));
        return Ok(EXIT_RUNTIME);
    }
    Ok(EXIT_OK)
}

/// Every configured source's checks, in display order.
pub async fn run_checks(cfg: &Config) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if cfg.aws.is_some() {
        lines.extend(crate::sources::aws_check::check(cfg).await);
    }
    if cfg.kubernetes.is_some() {
        lines.extend(crate::sources::kubernetes::check(cfg).await);
    }
    if cfg.langfuse.is_some() {
        lines.extend(crate::sources::langfuse::check(cfg).await);
    }
    if cfg.prometheus.is_some() {
        lines.extend(crate::sources::prometheus::check(cfg).await);
    }
    if cfg.otlp.is_some() {
        lines.extend(crate::sources::otlp::check(cfg).await);
    }
    lines
}
