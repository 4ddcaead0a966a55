//! hybridtop: a terminal dashboard for the people on call for a hybrid AgentCore + EKS
//! LLM-agent platform. ARCHITECTURE.md holds the data flow, the layers and the contracts; this is
//! the map of the modules, top layer first. A module uses only modules below it
//! (`tests/it/layers.rs` fails on an upward edge or a cycle).
//!
//! | layer | module | role |
//! |---|---|---|
//! | 6 | [`commands`] | one file per subcommand: parse → build → run → exit code |
//! | 5 | [`app`] | the event loop: sole owner of `State` and `UiState`; keys → actions |
//! | 5 | [`export`] | a `Snapshot` as JSON, text, SVG or HTML |
//! | 5 | [`cli`] | the clap definitions (the CLI contract) |
//! | 4 | [`ui`] | pure views: `(Snapshot, UiState, Theme)` → buffer |
//! | 4 | [`router`] | the write path: guard → write → audit, per backend |
//! | 4 | [`sources`] | one task per data source, sending `Update`s |
//! | 4 | [`record`] | recordings: format, writer, reader, replay player |
//! | 4 | [`terminal`] | raw mode and alternate screen, restored on every exit |
//! | 3 | [`kube_client`] | the one Kubernetes client, shared by sources and router |
//! | 2 | [`model`] | pure domain logic: state, derive, correlation, cost, advisor, editor |
//! | 2 | [`action`] | the one table of actions and their keys, for every mode |
//! | 1 | [`config`] | the TOML schema, its defaults and validation |
//! | 0 | [`domain`] | the vocabulary: paths, sides, weights and the guard |
//!
//! Data flows one way: sources → `Update` (mpsc) → app → `State` → derive → `Snapshot` → views.
pub mod action;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod export;
pub mod kube_client;
pub mod model;
pub mod record;
pub mod router;
pub mod sources;
pub mod terminal;
pub mod ui;

// The test fixture names the crate `hybridtop::` so that benches can include it by path.
#[cfg(test)]
extern crate self as hybridtop;

use clap::Parser;

/// Entry point for the binary; returns the process exit code.
pub fn run() -> i32 {
    // kube (rustls) and the AWS SDK share one rustls crypto provider; install it before any
    // client is built so neither can find none (or two) and panic.
    kube_client::install_crypto_provider();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                commands::EXIT_INVALID
            } else {
                0
            };
            // Through the sanitiser: clap quotes the offending argument, which may be anything.
            let text = e.render().to_string();
            if e.use_stderr() {
                commands::out::err(text.trim_end());
            } else {
                commands::out::line(text.trim_end());
            }
            return code;
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            commands::out::err(format!("hybridtop: error: {e}"));
            e.code
        }
    }
}
