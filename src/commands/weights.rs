//! `hybridtop weights get|set`: the router's weights from the command line, through the same
//! guard, write path and audit log as the TUI editor.
use super::connect::{connect, store_error};
use super::out;
use super::{config_path, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{GlobalArgs, WeightsCommand, WeightsFormat};
use crate::config::{Config, RouterBackend};
use crate::domain::weights::{parse_assignments, Weights};
use crate::model::preview;
use crate::model::snapshot::Snapshot;
use crate::model::state::DeriveOptions;
use crate::router::audit::AuditEntry;
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
            let audit_path = global.audit_log.clone().unwrap_or_else(audit::default_path);
            let backend = match cfg.router.as_ref().map(|r| r.backend) {
                Some(RouterBackend::Configmap) => "configmap",
                Some(RouterBackend::Httproute) => "httproute",
                _ => "none",
            };
            // A refusal decided here, before anything is sent, is audited like any other.
            let refuse = |to: Option<&Weights>, from: Option<&WeightsRead>, msg: String| {
                let mut e = AuditEntry::attempt(&Actor::current(), "cli", backend);
                e.target = cfg
                    .router
                    .as_ref()
                    .and_then(|r| r.namespace.clone().zip(r.name.clone()))
                    .map(|(ns, n)| format!("{ns}/{n}"));
                e.from = from.map(|f| f.weights.clone());
                e.to = to.cloned();
                e.request = to.is_none().then(|| assignments.join(" "));
                e.reason = reason.clone();
                let e = e.completed(format!("refused: {msg}"));
                match audit::append(&audit_path, &e) {
                    Ok(()) => CliError::invalid(format!("{msg}; nothing was sent")),
                    Err(err) => CliError::invalid(format!(
                        "{msg}; nothing was sent (and the audit log {} cannot be written: {err})",
                        audit_path.display()
                    )),
                }
            };
            let to = parse_assignments(assignments, &paths)
                .map_err(|e| refuse(None, None, e.to_string()))?;
            if global.read_only || cfg.general.read_only {
                return Err(refuse(
                    Some(&to),
                    None,
                    "read-only mode: weights cannot be changed (--read-only or general.read_only)"
                        .into(),
                ));
            }
            let guard = cfg.guard();
            // Everything that can be judged without the server is judged before any request.
            guard
                .check(&paths, None, &to, true)
                .map_err(|e| refuse(Some(&to), None, format!("refused: {e}")))?;
            let interactive = std::io::stdin().is_terminal();
            if !*yes && !interactive {
                return Err(refuse(
                    Some(&to),
                    None,
                    "no terminal to confirm on: pass --yes to apply without asking".into(),
                ));
            }
            // A bad --snapshot file is refused before the router is asked anything.
            let mut saved = snapshot.as_deref().map(read_snapshot).transpose()?;
            let rt = tokio_runtime()?;
            rt.block_on(async {
                let router = connect(&cfg).await?;
                let from = router.read().await.map_err(store_error)?;
                let shift = match &from.invalid {
                    Some(why) => format!("replaces invalid stored weights: {why}"),
                    None => format!("{} points", to.shift_from(&from.weights)),
                };
                out::err(format!(
                    "{} {}: {} → {} ({shift})",
                    router.backend(),
                    router.target().unwrap_or_default(),
                    from.weights.to_text(),
                    to.to_text(),
                ));
                if !*yes && !confirm("apply this change?")? {
                    return Err(refuse(Some(&to), Some(&from), "not confirmed".into()));
                }
                let change = Change {
                    from,
                    to: to.clone(),
                    force: *force,
                    dry_run: *dry_run,
                    reason: reason.clone(),
                    actor: Actor::current(),
                    mode: "cli",
                    // The CLI refuses read-only itself, before anything is read.
                    read_only: false,
                };
                let from_weights = change.from.weights.clone();
                match apply(&router, &guard, &paths, &change, &audit_path).await {
                    Ok(read) => {
                        let what = if *dry_run { "dry run ok (nothing stored)" } else { "applied" };
                        out::err(format!("{what}: {}", read.weights.to_text()));
                        if *dry_run {
                            let snap = match saved.take() {
                                Some(s) => s,
                                None => super::snapshot::live_state(&cfg, *wait, None, None)
                                    .await
                                    .snapshot(&DeriveOptions::default()),
                            };
                            for line in preview::preview(&snap, &cfg, &from_weights, &to).lines()
                            {
                                out::err(&line);
                            }
                        }
                        Ok(EXIT_OK)
                    }
                    Err(ApplyError::Store(StoreError::Conflict { current })) => {
                        out::err("conflict: the router's weights changed since they were read; nothing was written");
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
                "invalid": r.invalid,
            });
            out::line(v.to_string());
        }
        WeightsFormat::Text => {
            out::line(format!(
                "{} {} (version {})",
                r.backend,
                r.target.as_deref().unwrap_or("-"),
                r.version.as_deref().unwrap_or("-")
            ));
            print_weights(&r.weights);
            if let Some(why) = &r.invalid {
                out::line(format!(
                    "  INVALID: {why} (a change away from these needs --force)"
                ));
            }
        }
    }
}

fn print_weights(w: &Weights) {
    for (id, pct) in w.iter() {
        out::line(format!("  {id:<24} {pct:>3}%"));
    }
}

fn confirm(question: &str) -> Result<bool, CliError> {
    out::prompt(format!("{question} [y/N] "));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::runtime(format!("cannot read the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
