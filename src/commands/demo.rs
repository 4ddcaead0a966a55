//! `hybridtop demo`: the whole dashboard on the built-in simulator, no credentials.
use super::{optional_user_config, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::app::{run_tui, App};
use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;
use crate::model::snapshot::Mode;
use crate::router::simulator::SimulatorStore;
use crate::router::store::Router;
use crate::sources::simulator::{Scenario, SimConfig, Simulator, SimulatorSource};
use crate::sources::Source;
use chrono::{DurationRound, TimeDelta, Utc};
use tokio::sync::mpsc;

pub fn run(global: &GlobalArgs, args: &DemoArgs) -> CliResult {
    let scenario: Scenario = args.sim.scenario.parse().map_err(CliError::invalid)?;
    let user_cfg = optional_user_config(global)?;
    let mut config = Config::demo();
    if let Some(u) = &user_cfg {
        config.keys = u.keys.clone();
        config.ui = u.ui.clone();
        config.general.read_only = u.general.read_only;
    }
    let opts = super::tui_options(
        global,
        Mode::Demo,
        config.clone(),
        user_cfg.as_ref(),
        "demo draws a full-screen dashboard and needs a terminal; for text or JSON use `hybridtop snapshot --demo`",
    )?;
    let recorder = super::replay::start_recorder(
        global,
        &config,
        Mode::Demo,
        Some(crate::record::DemoInfo {
            seed: args.sim.seed,
            scenario: scenario.to_string(),
            speed: Some(args.speed),
        }),
        None,
    )?;
    let audit_path = global
        .audit_log
        .clone()
        .unwrap_or_else(crate::router::audit::default_path);
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let weights = config.default_weights();
        let (store, weights_rx) = SimulatorStore::new(weights.clone());
        let link = crate::router::task::spawn(
            Router::Simulator(store),
            config.guard(),
            config.path_ids(),
            audit_path,
        );
        let window = config.general.window;
        // Start one window in the past and fast-forward through it, so the first frame is full
        // and the simulated clock then runs alongside the wall clock.
        let now = Utc::now()
            .duration_trunc(TimeDelta::seconds(1))
            .unwrap_or_else(|_| Utc::now());
        let start = now - TimeDelta::from_std(window).unwrap_or(TimeDelta::minutes(5));
        let sim = Simulator::new(
            SimConfig {
                seed: args.sim.seed,
                scenario,
                start,
                config: config.clone(),
            },
            weights,
        );
        let source = SimulatorSource::new(sim, args.speed, window.as_secs(), weights_rx);
        let (tx, rx) = mpsc::channel(4096);
        let handle = Box::new(source).spawn(tx);
        let mut app = App::new(&opts);
        if let Some(rec) = recorder {
            app.attach_recorder(rec);
        }
        let router_rx = app.attach_router(link);
        let res = run_tui(app, rx, Some(router_rx), &opts).await;
        handle.abort();
        res
    })
    .map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
    Ok(EXIT_OK)
}
