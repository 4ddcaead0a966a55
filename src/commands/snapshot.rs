//! `hybridtop snapshot`: one frame of the dashboard as JSON or text, then exit.
use super::{
    config_path, optional_user_config, resolve_theme, CliError, CliResult, EXIT_OK, EXIT_UNHEALTHY,
};
use crate::cli::{GlobalArgs, SnapshotArgs, SnapshotFormat, ViewName};
use crate::config::Config;
use crate::model::snapshot::{Mode, Snapshot};
use crate::model::state::{DeriveOptions, State};
use crate::model::update::SourceState;
use crate::sources::simulator::{Scenario, SimConfig, Simulator};
use crate::ui::state::{UiState, View};
use chrono::{DateTime, TimeZone, Utc};

/// `snapshot --demo` starts its simulated clock here so the same flags give the same bytes.
pub fn demo_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Run the simulator for `seconds` simulated seconds as fast as it can and derive the snapshot.
pub fn demo_snapshot(
    seed: u64,
    scenario: Scenario,
    seconds: u64,
    opts: &DeriveOptions,
) -> Snapshot {
    let config = Config::demo();
    let mut sim = Simulator::new(
        SimConfig {
            seed,
            scenario,
            start: demo_start(),
            config: config.clone(),
        },
        config.default_weights(),
    );
    let mut state = State::new(&config, Mode::Demo);
    for _ in 0..seconds {
        for u in sim.step() {
            state.apply(u);
        }
    }
    state.snapshot(opts)
}

pub fn run(global: &GlobalArgs, args: &SnapshotArgs) -> CliResult {
    if args.replay.is_some() {
        return Err(CliError::invalid(
            "snapshot --replay is not available in this build yet",
        ));
    }
    if matches!(args.format, SnapshotFormat::Svg | SnapshotFormat::Html) {
        return Err(CliError::invalid(
            "--format svg and html are not available in this build yet (use json or text)",
        ));
    }
    let user_cfg = if args.demo {
        optional_user_config(global)?
    } else {
        Some(Config::load(&config_path(global))?)
    };
    let read_only = global.read_only || user_cfg.as_ref().is_some_and(|c| c.general.read_only);
    let derive = DeriveOptions {
        selected_session: None,
        redact: global.redact,
        read_only,
    };
    let snap = if args.demo {
        let scenario: Scenario = args.scenario.parse().map_err(CliError::invalid)?;
        demo_snapshot(args.seed, scenario, args.sim_seconds, &derive)
    } else {
        let cfg = user_cfg
            .as_ref()
            .ok_or_else(|| CliError::runtime("no config"))?;
        let rt = super::tokio_runtime()?;
        let state = rt.block_on(live_state(cfg, args.wait));
        state.snapshot(&derive)
    };
    match args.format {
        SnapshotFormat::Json => {
            let text = serde_json::to_string_pretty(&snap)
                .map_err(|e| CliError::runtime(format!("cannot serialise the snapshot: {e}")))?;
            println!("{text}");
        }
        _ => {
            let env_name = snap.environment.clone();
            // Exports are not a terminal: keep the theme's own colours.
            let (theme, _) = resolve_theme(
                global,
                user_cfg.as_ref(),
                &env_name,
                crate::ui::colors::ColorDepth::TrueColor,
            )?;
            let ui = UiState {
                view: view_of(args.view),
                ascii: global.ascii,
                ..UiState::default()
            };
            let buf = crate::export::render(&snap, &ui, &theme, args.width, args.height);
            print!("{}", crate::ui::buffer_text(&buf));
        }
    }
    let unhealthy = snap.sources.iter().any(|s| {
        matches!(
            s.state,
            SourceState::Error | SourceState::Stale | SourceState::Connecting
        )
    });
    Ok(if unhealthy { EXIT_UNHEALTHY } else { EXIT_OK })
}

fn view_of(v: ViewName) -> View {
    match v {
        ViewName::Overview => View::Overview,
        ViewName::Traces => View::Traces,
        ViewName::Fleet => View::Fleet,
        ViewName::Cost => View::Cost,
        ViewName::Help => View::Help,
    }
}

/// Start every enabled source (and read the router), apply what they send until each has
/// answered — data or an error — or `wait` runs out, then stop them.
pub async fn live_state(cfg: &Config, wait: std::time::Duration) -> State {
    use crate::model::update::{SourceState, Update, WeightsReport};
    use std::collections::BTreeSet;
    let mut state = State::new(cfg, Mode::Live);
    state.apply(Update::Clock { now: Utc::now() });
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let handles = crate::sources::start_live(cfg, &tx);
    let mut pending: BTreeSet<_> = crate::sources::enabled(cfg).into_iter().collect();
    let router_wanted = cfg
        .router
        .as_ref()
        .is_some_and(|r| r.backend != crate::config::RouterBackend::None);
    if router_wanted {
        let cfg = cfg.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let read = match super::weights::connect(&cfg).await {
                Ok(router) => router.read().await.ok(),
                Err(e) => {
                    tracing::warn!("snapshot: router unavailable: {e}");
                    None
                }
            };
            if let Some(r) = read {
                let _ = tx
                    .send(Update::Weights(WeightsReport {
                        backend: r.backend.to_string(),
                        target: r.target,
                        weights: r.weights,
                        version: r.version,
                    }))
                    .await;
            }
        });
    }
    drop(tx);
    let deadline = tokio::time::Instant::now() + wait;
    let mut router_pending = router_wanted;
    while !pending.is_empty() || router_pending {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => {
                match &u {
                    Update::Health(h) if h.state != SourceState::Connecting => {
                        pending.remove(&h.source);
                    }
                    Update::Weights(_) => router_pending = false,
                    _ => {}
                }
                state.apply(u);
            }
            // Every sender is gone, or the wait is over.
            Ok(None) | Err(_) => break,
        }
    }
    // Whatever arrived with the last answers belongs to this snapshot too.
    let settle = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
    while let Ok(Some(u)) = tokio::time::timeout_at(settle, rx.recv()).await {
        state.apply(u);
    }
    for h in handles {
        h.abort();
    }
    state.apply(Update::Clock { now: Utc::now() });
    state
}
