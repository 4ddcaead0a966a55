//! `hybridtop` with a config file: the live dashboard.
use super::{
    config_path, resolve_ascii, resolve_keymap, resolve_theme, theme_dir, tokio_runtime, CliError,
    CliResult, EXIT_OK,
};
use crate::app::{run_tui, App, AppOptions};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::model::snapshot::Mode;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use std::io::IsTerminal;
use std::time::Duration;
use tokio::sync::mpsc;

/// Sources the config enables, in display order.
pub fn enabled_sources(cfg: &Config) -> Vec<SourceName> {
    let mut out = Vec::new();
    if cfg.aws.is_some() {
        out.push(SourceName::Cloudwatch);
        out.push(SourceName::CostExplorer);
    }
    if cfg.kubernetes.is_some() {
        out.push(SourceName::Kubernetes);
    }
    if cfg.langfuse.is_some() {
        out.push(SourceName::Langfuse);
    }
    out
}

/// Until each live source lands, an enabled one reports plainly that it is not in this build.
pub fn unavailable_updates(cfg: &Config) -> Vec<Update> {
    enabled_sources(cfg)
        .into_iter()
        .map(|s| {
            Update::Health(SourceHealth {
                source: s,
                state: SourceState::Error,
                last_success: None,
                error: Some(format!("the {s} source is not available in this build yet")),
            })
        })
        .collect()
}

pub fn run(global: &GlobalArgs) -> CliResult {
    let path = config_path(global);
    let config = Config::load(&path)?;
    for k in &config.unknown_keys {
        tracing::warn!("{}: unknown key `{k}` ignored", path.display());
    }
    let theme = resolve_theme(global, Some(&config))?;
    let keymap = resolve_keymap(Some(&config))?;
    let ascii = resolve_ascii(global, Some(&config));
    if !std::io::stdout().is_terminal() {
        return Err(CliError::invalid(
            "the dashboard needs a terminal; for text or JSON use `hybridtop snapshot`",
        ));
    }
    let refresh = global
        .refresh
        .or(config.ui.refresh)
        .unwrap_or(Duration::from_secs(1));
    let opts = AppOptions {
        mode: Mode::Live,
        config: config.clone(),
        read_only: global.read_only,
        redact: global.redact,
        theme,
        theme_dir: theme_dir(),
        keymap,
        ascii,
        refresh,
        min_frame: Duration::from_millis(100),
    };
    // The header names the config file absolutely: a recording outlives the shell it ran in.
    let config_file = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let recorder =
        super::replay::start_recorder(global, &config, Mode::Live, None, Some(config_file))?;
    let audit_path = global
        .audit_log
        .clone()
        .unwrap_or_else(crate::router::audit::default_path);
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let (tx, rx) = mpsc::channel(4096);
        for u in unavailable_updates(&config) {
            let _ = tx.send(u).await;
        }
        let mut app = App::new(&opts);
        if let Some(rec) = recorder {
            app.attach_recorder(rec);
        }
        let mut router_rx = None;
        if config
            .router
            .as_ref()
            .is_some_and(|r| r.backend != crate::config::RouterBackend::None)
        {
            // Connect before raw mode: an exec credential plugin must not write over the UI.
            match super::weights::connect(&config).await {
                Ok(router) => {
                    if let crate::router::store::Router::Kube(k) = &router {
                        let _watch = k.watch(tx.clone());
                    }
                    let link = crate::router::task::spawn(
                        router,
                        config.guard(),
                        config.path_ids(),
                        audit_path.clone(),
                    );
                    router_rx = Some(app.attach_router(link));
                }
                Err(e) => app.toast(
                    crate::ui::state::ToastLevel::Error,
                    format!("router unavailable: {e}"),
                ),
            }
        }
        let res = run_tui(app, rx, router_rx, &opts).await;
        drop(tx);
        res
    })
    .map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
    Ok(EXIT_OK)
}
