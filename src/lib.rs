//! hybridtop: a terminal dashboard for a hybrid AgentCore + EKS LLM-agent platform.
pub mod action;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod export;
pub mod model;
pub mod record;
pub mod router;
pub mod sources;
pub mod terminal;
pub mod ui;

use clap::Parser;

/// Entry point for the binary; returns the process exit code.
pub fn run() -> i32 {
    // kube (rustls) and the AWS SDK share one rustls crypto provider; install it before any
    // client is built so neither can find none (or two) and panic.
    router::kube_client::install_crypto_provider();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                commands::EXIT_INVALID
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hybridtop: error: {e}");
            e.code
        }
    }
}
