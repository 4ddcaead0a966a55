//! `hybridtop collect --publish URL`: team mode's collector. Runs every configured source (or the
//! simulator with `--demo`) headless and appends each update to a Redis stream, with a heartbeat
//! of its own (`collector` health) and, live, the wall clock; ends cleanly on SIGTERM/SIGINT.
//! With `--redact`, lines are redacted before they leave the process.
use super::{config_path, out, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{CollectArgs, GlobalArgs};
use crate::config::Config;
use crate::model::health::COLLECTOR_HEARTBEAT;
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::record::stream::{parse_url, Publisher};
use crate::record::Header;
use crate::sources::simulator::{Scenario, SimConfig, Simulator, SimulatorSource};
use crate::sources::Source;
use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

pub fn run(global: &GlobalArgs, args: &CollectArgs) -> CliResult {
    let env_pw = std::env::var("HYBRIDTOP_REDIS_PASSWORD").ok();
    let url = parse_url(&args.publish, env_pw.as_deref()).map_err(CliError::invalid)?;
    let (config, mode) = if args.demo {
        (Config::demo(), Mode::Demo)
    } else {
        (Config::load(&config_path(global))?, Mode::Live)
    };
    let scenario: Scenario = args.scenario.parse().map_err(CliError::invalid)?;
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let mut publisher = Publisher::connect(&url, args.maxlen, args.retention, global.redact)
            .await
            .map_err(CliError::runtime)?;
        let header = Header::new(&config, mode, global.redact, true);
        publisher
            .set_header(&header)
            .await
            .map_err(CliError::runtime)?;
        tracing::info!(stream = %url.shown, key = %url.key, demo = args.demo, "collector publishing");
        out::err(format!(
            "collecting{} into {} (stream {}); SIGTERM or Ctrl-C ends it",
            if args.demo { " the demo" } else { "" },
            url.shown,
            url.key
        ));
        let (tx, mut rx) = mpsc::channel::<Update>(4096);
        let handles = if args.demo {
            let weights = config.default_weights();
            let (_wtx, wrx) = tokio::sync::watch::channel(weights.clone());
            let now = Utc::now();
            let window = chrono::Duration::from_std(config.general.window)
                .unwrap_or(chrono::Duration::minutes(5));
            let sim = Simulator::new(
                SimConfig {
                    seed: args.seed,
                    scenario,
                    start: now - window,
                    config: config.clone(),
                },
                weights,
            );
            let warmup = config.general.window.as_secs();
            vec![Box::new(SimulatorSource::new(sim, args.speed, warmup, wrx)).spawn(tx.clone())]
        } else {
            crate::sources::start_live(&config, &tx)
        };
        drop(tx);
        let mut state = State::new(&config, mode);
        let mut beat = tokio::time::interval(COLLECTOR_HEARTBEAT);
        let mut clock = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut term = signal(SignalKind::terminate()).map_err(|e| CliError::runtime(e.to_string()))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| CliError::runtime(e.to_string()))?;
        let result = loop {
            let u = tokio::select! {
                u = rx.recv() => match u {
                    Some(u) => u,
                    None => break Ok(()),
                },
                // Stamped in the model's time (the simulator's, with --demo), which the viewers
                // measure its age against.
                _ = beat.tick() => Update::Health(SourceHealth {
                    source: SourceName::Collector,
                    state: SourceState::Ok,
                    last_success: Some(if state.now().timestamp() > 0 { state.now() } else { Utc::now() }),
                    error: None,
                    permanent: false,
                }),
                // Live, the viewers' model time is the collector's wall clock.
                _ = clock.tick(), if !args.demo => Update::Clock { now: Utc::now() },
                _ = term.recv() => break Ok(()),
                _ = int.recv() => break Ok(()),
            };
            state.apply(u.clone());
            if let Err(e) = publisher.publish(state.now().timestamp_millis(), &u).await {
                break Err(e);
            }
        };
        for h in handles {
            h.abort();
        }
        tracing::info!(published = publisher.published, "collector stopped");
        match result {
            Ok(()) => {
                out::err(format!("published {} updates", publisher.published));
                Ok(EXIT_OK)
            }
            Err(e) => Err(CliError::runtime(e)),
        }
    })
}
