//! `hybridtop` with a config file: the live dashboard.
use super::{config_path, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::app::{run_tui, App};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::model::snapshot::Mode;
use tokio::sync::mpsc;

pub fn run(global: &GlobalArgs) -> CliResult {
    let path = config_path(global);
    let config = Config::load(&path)?;
    for k in &config.unknown_keys {
        tracing::warn!("{}: unknown key `{k}` ignored", path.display());
    }
    let opts = super::tui_options(
        global,
        Mode::Live,
        config.clone(),
        Some(&config),
        "the dashboard needs a terminal; for text or JSON use `hybridtop snapshot`",
    )?;
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
        let (demand_tx, demand_rx) = crate::sources::demand_channel();
        let wiring = crate::sources::Wiring {
            otlp_gate: None,
            demands: Some(demand_rx),
        };
        let sources = crate::sources::start_live_with(&config, &tx, wiring);
        let mut app = App::new(&opts);
        app.attach_demands(demand_tx);
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
            match super::connect::connect(&config).await {
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
        for s in sources {
            s.abort();
        }
        drop(tx);
        res
    })
    .map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
    Ok(EXIT_OK)
}
