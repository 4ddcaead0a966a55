//! `hybridtop weights get|set`: the router's weights from the command line, through the same
//! guard, write path and audit log as the TUI editor.
use super::connect::{connect, store_error};
use super::{config_path, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{GlobalArgs, WeightsCommand, WeightsFormat};
use crate::config::Config;
use crate::domain::weights::{parse_assignments, Weights};
use crate::model::preview;
use crate::model::snapshot::Snapshot;
use crate::model::state::DeriveOptions;
use crate::router::store::{apply, ApplyError, Change};
use crate::router::{audit, Actor, StoreError, WeightsRead};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

pub fn run(global: &GlobalArgs, cmd: &WeightsCommand) -> CliResult {
    let cfg = Config::load(&config_path(global))?;
    match cmd {
        WeightsCommand::Get { format } => {
            let rt = tokio_runtime()?;
            rt.block_on(async {
                let router = connect(&cfg).await?;
                let read = router.read().await.map_err(store_error)?;
                print_read(&read, *format);
                Ok(EXIT_OK)
            })
        }
        WeightsCommand::Set {
            assignments,
            dry_run,
            yes,
            reason,
            force,
            snapshot,
            wait,
        } => {
            let paths = cfg.path_ids();
            let to = parse_assignments(assignments, &paths)
                .map_err(|e| CliError::invalid(format!("{e}; nothing was sent")))?;
            if global.read_only || cfg.general.read_only {
                return Err(CliError::invalid(
                    "read-only mode: weights cannot be changed (--read-only or general.read_only); nothing was sent",
                ));
            }
            let guard = cfg.guard();
            // Everything that can be judged without the server is judged before any request.
            guard
                .check(&paths, None, &to, true)
                .map_err(|e| CliError::invalid(format!("refused: {e}; nothing was sent")))?;
            let interactive = std::io::stdin().is_terminal();
            if !*yes && !interactive {
                return Err(CliError::invalid(
                    "no terminal to confirm on: pass --yes to apply without asking; nothing was sent",
                ));
            }
            // A bad --snapshot file is refused before the router is asked anything.
            let mut saved = snapshot.as_deref().map(read_snapshot).transpose()?;
            let audit_path = global.audit_log.clone().unwrap_or_else(audit::default_path);
            let rt = tokio_runtime()?;
            rt.block_on(async {
                let router = connect(&cfg).await?;
                let from = router.read().await.map_err(store_error)?;
                eprintln!(
                    "{} {}: {} → {} ({} points)",
                    router.backend(),
                    router.target().unwrap_or_default(),
                    from.weights.to_text(),
                    to.to_text(),
                    to.shift_from(&from.weights)
                );
                if !*yes && !confirm("apply this change?")? {
                    return Err(CliError::invalid("not confirmed; nothing was sent"));
                }
                let change = Change {
                    from,
                    to: to.clone(),
                    force: *force,
                    dry_run: *dry_run,
                    reason: reason.clone(),
                    actor: Actor::current(),
                    mode: "cli",
                };
                let from_weights = change.from.weights.clone();
                match apply(&router, &guard, &paths, &change, &audit_path).await {
                    Ok(read) => {
                        let what = if *dry_run { "dry run ok (nothing stored)" } else { "applied" };
                        eprintln!("{what}: {}", read.weights.to_text());
                        if *dry_run {
                            let snap = match saved.take() {
                                Some(s) => s,
                                None => super::snapshot::live_state(&cfg, *wait, None)
                                    .await
                                    .snapshot(&DeriveOptions::default()),
                            };
                            for line in preview::preview(&snap, &cfg, &from_weights, &to).lines()
                            {
                                eprintln!("{line}");
                            }
                        }
                        Ok(EXIT_OK)
                    }
                    Err(ApplyError::Store(StoreError::Conflict { current })) => {
                        eprintln!(
                            "conflict: the router's weights changed since they were read; nothing was written"
                        );
                        print_read(&current, WeightsFormat::Text);
                        Err(CliError {
                            code: super::EXIT_CONFLICT,
                            message: format!("now {}", current.weights.to_text()),
                        })
                    }
                    Err(e) => Err(CliError {
                        code: e.exit_code(),
                        message: e.to_string(),
                    }),
                }
            })
        }
    }
}

/// A snapshot saved by `hybridtop snapshot --format json`.
fn read_snapshot(file: &Path) -> Result<Snapshot, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CliError::invalid(format!("--snapshot {}: cannot read: {e}", file.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::invalid(format!(
            "--snapshot {}: not a hybridtop snapshot (JSON from `hybridtop snapshot --format json`): {e}",
            file.display()
        ))
    })
}

fn print_read(r: &WeightsRead, format: WeightsFormat) {
    match format {
        WeightsFormat::Json => {
            let v = serde_json::json!({
                "backend": r.backend,
                "target": r.target,
                "version": r.version,
                "weights": r.weights,
            });
            println!("{v}");
        }
        WeightsFormat::Text => {
            println!(
                "{} {} (version {})",
                r.backend,
                r.target.as_deref().unwrap_or("-"),
                r.version.as_deref().unwrap_or("-")
            );
            print_weights(&r.weights);
        }
    }
}

fn print_weights(w: &Weights) {
    for (id, pct) in w.iter() {
        println!("  {id:<24} {pct:>3}%");
    }
}

fn confirm(question: &str) -> Result<bool, CliError> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::runtime(format!("cannot read the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
