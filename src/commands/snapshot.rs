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
        let mut state = State::new(cfg, Mode::Live);
        state.apply(crate::model::update::Update::Clock { now: Utc::now() });
        for u in super::live::unavailable_updates(cfg) {
            state.apply(u);
        }
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
    let unhealthy = snap
        .sources
        .iter()
        .any(|s| matches!(s.state, SourceState::Error | SourceState::Stale));
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
