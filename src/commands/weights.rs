//! `hybridtop weights get|set`: the router's weights from the command line, through the same
//! guard, write path and audit log as the TUI editor.
use super::{config_path, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{GlobalArgs, WeightsCommand, WeightsFormat};
use crate::config::{Config, RouterBackend};
use crate::domain::weights::{parse_assignments, Weights};
use crate::kube_client;
use crate::router::store::{apply, ApplyError, Change, Router};
use crate::router::{audit, Actor, KubeRouter, StoreError, WeightsRead};
use std::io::{BufRead, IsTerminal, Write};

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
                match apply(&router, &guard, &paths, &change, &audit_path).await {
                    Ok(read) => {
                        let what = if *dry_run { "dry run ok (nothing stored)" } else { "applied" };
                        eprintln!("{what}: {}", read.weights.to_text());
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

/// The router the config describes, connected.
pub async fn connect(cfg: &Config) -> Result<Router, CliError> {
    match cfg.router.as_ref().map(|r| r.backend) {
        None | Some(RouterBackend::None) => {
            return Err(CliError::invalid(format!(
                "{}: no router is configured ([router] backend = \"configmap\" or \"httproute\")",
                cfg.origin
            )))
        }
        Some(_) => {}
    }
    let kc = kube_client::connect(cfg.kubernetes.as_ref())
        .await
        .map_err(|e| store_error(e.into()))?;
    let k = KubeRouter::from_config(cfg, &kc).map_err(store_error)?;
    Ok(Router::Kube(Box::new(k)))
}

fn store_error(e: StoreError) -> CliError {
    let code = match e {
        StoreError::Invalid(_) => super::EXIT_INVALID,
        StoreError::Conflict { .. } => super::EXIT_CONFLICT,
        _ => super::EXIT_RUNTIME,
    };
    CliError {
        code,
        message: e.to_string(),
    }
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
