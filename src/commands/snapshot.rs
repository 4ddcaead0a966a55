//! `hybridtop snapshot`: one frame of the dashboard as JSON, text, SVG or HTML, then exit —
//! from the config's sources, the demo simulator (`--demo`) or a recording (`--replay`).
use super::out;
use super::{
    config_path, optional_user_config, resolve_theme, CliError, CliResult, EXIT_OK, EXIT_UNHEALTHY,
};
use crate::cli::{At, GlobalArgs, SnapshotArgs, SnapshotFormat, ViewName};
use crate::config::Config;
use crate::model::editor::WeightsEditor;
use crate::model::snapshot::{Mode, Snapshot};
use crate::model::state::{DeriveOptions, State};
use crate::model::update::SourceState;
use crate::record::{DemoInfo, Recorder, Target};
use crate::sources::simulator::{Scenario, SimConfig, Simulator};
use crate::ui::state::ReplayUi;
use crate::ui::state::{UiState, View, WeightsUi};
use chrono::{DateTime, TimeZone, Utc};

/// `snapshot --demo` starts its simulated clock here so the same flags give the same bytes.
pub fn demo_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Run the simulator for `seconds` simulated seconds as fast as it can, applying (and, with a
/// recorder, recording) every update.
pub fn demo_state(
    seed: u64,
    scenario: Scenario,
    seconds: u64,
    mut recorder: Option<&mut Recorder>,
) -> State {
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
            match recorder.as_deref_mut() {
                Some(rec) => {
                    let copy = u.clone();
                    state.apply(u);
                    rec.record_applied(&state, copy);
                }
                None => state.apply(u),
            }
        }
    }
    state
}

/// Run the simulator for `seconds` simulated seconds as fast as it can and derive the snapshot.
pub fn demo_snapshot(
    seed: u64,
    scenario: Scenario,
    seconds: u64,
    opts: &DeriveOptions,
) -> Snapshot {
    demo_state(seed, scenario, seconds, None).snapshot(opts)
}

/// What was snapshotted, beyond the snapshot itself.
struct Taken {
    snap: Snapshot,
    /// The config the data was shaped by (for the weights preview).
    config: Config,
    /// The user's config, for the theme.
    user_cfg: Option<Config>,
    replay: Option<ReplayUi>,
}

pub fn run(global: &GlobalArgs, args: &SnapshotArgs) -> CliResult {
    if args.replay.is_some() && global.record.is_some() {
        return Err(CliError::invalid(
            "--record cannot be used with --replay: the recording already exists",
        ));
    }
    let taken = if let Some(url) = args.replay.as_deref().and_then(super::history::stream_url) {
        let window = optional_user_config(global)?
            .map(|c| c.general.window)
            .unwrap_or(std::time::Duration::from_secs(300));
        let rec = super::history::snapshot_source(global, url, args.at, window)?;
        let at_end = SnapshotArgs {
            at: None,
            ..args.clone()
        };
        from_replay(global, &at_end, &rec.file)?
    } else if let Some(file) = &args.replay {
        from_replay(global, args, file)?
    } else if let Some(url) = &args.attach {
        let (state, config) = super::attach::snapshot_state(global, url)?;
        let derive = DeriveOptions {
            selected_session: args.session.clone(),
            redact: global.redact,
            read_only: true,
        };
        Taken {
            snap: state.snapshot(&derive),
            config,
            user_cfg: optional_user_config(global)?,
            replay: None,
        }
    } else {
        let user_cfg = if args.demo {
            optional_user_config(global)?
        } else {
            Some(Config::load(&config_path(global))?)
        };
        let read_only = global.read_only || user_cfg.as_ref().is_some_and(|c| c.general.read_only);
        let derive = DeriveOptions {
            selected_session: args.session.clone(),
            redact: global.redact,
            read_only,
        };
        if args.demo {
            let scenario: Scenario = args.scenario.parse().map_err(CliError::invalid)?;
            let config = Config::demo();
            let mut recorder = super::replay::start_recorder(
                global,
                &config,
                Mode::Demo,
                Some(DemoInfo {
                    seed: args.seed,
                    scenario: scenario.to_string(),
                    speed: None,
                }),
                None,
            )?;
            let state = demo_state(args.seed, scenario, args.sim_seconds, recorder.as_mut());
            if let Some(rec) = recorder {
                rec.finish().map_err(|e| {
                    CliError::runtime(format!("--record: cannot finish the recording: {e}"))
                })?;
            }
            Taken {
                snap: state.snapshot(&derive),
                config,
                user_cfg,
                replay: None,
            }
        } else {
            let cfg = user_cfg
                .clone()
                .ok_or_else(|| CliError::runtime("no config"))?;
            let mut recorder = super::replay::start_recorder(
                global,
                &cfg,
                Mode::Live,
                None,
                Some(config_path(global)),
            )?;
            let rt = super::tokio_runtime()?;
            let state = rt.block_on(live_state(
                &cfg,
                args.wait,
                recorder.as_mut(),
                args.session.as_deref(),
            ));
            drop(recorder);
            let snap = state.snapshot(&derive);
            // The wait was spent before a trace source read its whole window: say how far it got.
            for s in &snap.sources {
                if let Some(c) = &s.catching_up {
                    out::err(format!(
                        "hybridtop: note: {} was still catching up after --wait {}: {} observations read{}; its figures are partial",
                        s.name.as_str(),
                        humantime::format_duration(args.wait),
                        c.read,
                        c.expected.map(|e| format!(" of about {e}")).unwrap_or_default()
                    ));
                }
            }
            Taken {
                snap,
                config: cfg,
                user_cfg,
                replay: None,
            }
        }
    };
    print(global, args, &taken)?;
    let unhealthy = taken.snap.sources.iter().any(|s| {
        matches!(
            s.state,
            SourceState::Error | SourceState::Stale | SourceState::Connecting
        )
    });
    Ok(if unhealthy { EXIT_UNHEALTHY } else { EXIT_OK })
}

/// `--replay FILE [--at SECONDS]`: replay from the start to that point (default: the end).
/// Damage before the point is reported on stderr; the snapshot shows the state just before it.
fn from_replay(
    global: &GlobalArgs,
    args: &SnapshotArgs,
    file: &std::path::Path,
) -> Result<Taken, CliError> {
    let user_cfg = optional_user_config(global)?;
    let target = match args.at {
        Some(At::Seconds(s)) => Target::FromStart((s * 1000.0).round() as i64),
        Some(At::Time(t)) => Target::At(t.timestamp_millis()),
        None => Target::At(i64::MAX),
    };
    let p = crate::record::replay_to(file, target).map_err(super::replay::open_error)?;
    let header = &p.reader.header;
    if let Some(d) = &p.damage {
        out::err(format!(
            "hybridtop: warning: {}: recording damaged at {d}; the snapshot shows the state just before it",
            file.display()
        ));
    }
    let start = p.start_ms;
    let want = |st: i64| match args.at {
        Some(At::Seconds(s)) => Some(st.saturating_add((s * 1000.0).round() as i64)),
        Some(At::Time(t)) => Some(t.timestamp_millis()),
        None => None,
    };
    let position = match (start.and_then(want), start, p.last_ms) {
        (Some(want), Some(st), Some(last)) => {
            if want > last && p.next.is_none() && p.damage.is_none() {
                out::err(format!(
                    "hybridtop: note: {} ends {:.0} s after its start; this is its end",
                    file.display(),
                    (last - st) as f64 / 1000.0
                ));
            }
            if p.next.is_none() {
                want.min(last)
            } else {
                want
            }
        }
        (_, _, Some(last)) => last,
        _ => p.state.now().timestamp_millis(),
    };
    let derive = DeriveOptions {
        selected_session: args.session.clone(),
        redact: global.redact || header.redacted,
        read_only: true,
    };
    let snap = p.state.snapshot(&derive);
    let config = header
        .config
        .to_config(&format!("recording {}", file.display()));
    // The screen exports show the timeline as the replay UI would, paused at this point.
    let replay = if args.format == crate::cli::SnapshotFormat::Json {
        None
    } else {
        let ix = crate::record::index(file).map_err(super::replay::open_error)?;
        Some(ReplayUi {
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            recorded: format!("recorded {}", header.mode.as_str()),
            position_ms: position,
            start_ms: ix.start_ms,
            end_ms: ix.end_ms,
            speed: 1.0,
            paused: true,
            at_end: p.next.is_none(),
            markers: ix.markers.iter().map(|m| m.t).collect(),
            damage_line: ix.damage.as_ref().map(|d| d.line),
            indexed: true,
        })
    };
    Ok(Taken {
        snap,
        config,
        user_cfg,
        replay,
    })
}

fn print(global: &GlobalArgs, args: &SnapshotArgs, t: &Taken) -> Result<(), CliError> {
    if args.format == SnapshotFormat::Json {
        let text = serde_json::to_string_pretty(&t.snap)
            .map_err(|e| CliError::runtime(format!("cannot serialise the snapshot: {e}")))?;
        out::line(&text);
        return Ok(());
    }
    // Exports are not a terminal: keep the theme's own colours.
    let (theme, _) = resolve_theme(
        global,
        t.user_cfg.as_ref(),
        &t.snap.environment,
        crate::ui::colors::ColorDepth::TrueColor,
    )?;
    let mut ui = UiState {
        view: view_of(args.view),
        ascii: global.ascii,
        theme_name: theme.name.clone(),
        replay: t.replay.clone(),
        ..UiState::default()
    };
    if let Some(cfg) = &t.user_cfg {
        ui.thresholds = crate::ui::state::Thresholds {
            warn_ms: cfg.alerts.p95_ms_warn,
            crit_ms: cfg.alerts.p95_ms_crit,
        };
    }
    if let Some(id) = &args.session {
        if t.snap.sessions.detail.is_none() {
            return Err(CliError::invalid(format!(
                "--session {id}: no such session in this snapshot (see sessions.recent in the JSON)"
            )));
        }
        ui.traces.open = Some(id.clone());
    }
    if let Some(spec) = &args.weights_review {
        ui.weights = Some(review(&t.snap, &t.config, spec)?);
    }
    let buf = crate::export::render(&t.snap, &ui, &theme, args.width, args.height);
    let title = format!(
        "hybridtop {} — {} {} at {}",
        ui.view.title(),
        t.snap.mode.as_str(),
        t.snap.environment,
        t.snap.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    match args.format {
        SnapshotFormat::Svg => out::text(crate::export::to_svg(&buf, &theme, &title)),
        SnapshotFormat::Html => out::text(crate::export::to_html(&buf, &theme, &title)),
        _ => out::text(crate::ui::buffer_text(&buf)),
    }
    Ok(())
}

/// The weights review dialog for a proposal, as `w`, the steps and `Enter` would leave it.
fn review(snap: &Snapshot, config: &Config, spec: &str) -> Result<WeightsUi, CliError> {
    let args: Vec<String> = spec
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let to = crate::domain::weights::parse_assignments(&args, &config.path_ids())
        .map_err(|e| CliError::invalid(format!("--weights-review: {e}")))?;
    let guard = config.guard();
    let mut editor = WeightsEditor::open(
        config.path_ids(),
        snap.router.weights.clone(),
        snap.router.version.clone(),
    );
    editor.proposal = to;
    editor
        .review(&guard)
        .map_err(|e| CliError::invalid(format!("--weights-review: {e}")))?;
    let preview = crate::model::preview::preview(snap, config, &editor.from, &editor.proposal);
    Ok(WeightsUi {
        editor,
        preview,
        backend: snap.router.backend.clone(),
        target: snap.router.target.clone(),
        step: guard.step,
        applying: false,
    })
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
/// answered with data or failed for good (`SourceHealth::permanent`), or `wait` runs out, then
/// stop them. The snapshot's source states say which: `ok`, `error` with `permanent`, or still
/// `connecting`/`stale`/`error` when the wait ran out. With `session`, a waterfall polled
/// roots only is then read whole (children, input and output) within what is left of the wait.
pub async fn live_state(
    cfg: &Config,
    wait: std::time::Duration,
    mut recorder: Option<&mut Recorder>,
    session: Option<&str>,
) -> State {
    use crate::model::update::{SourceState, Update, WeightsReport};
    use std::collections::BTreeSet;
    let mut state = State::new(cfg, Mode::Live);
    let mut apply = |state: &mut State, u: Update| match recorder.as_deref_mut() {
        Some(rec) => {
            let copy = u.clone();
            state.apply(u);
            rec.record_applied(state, copy);
        }
        None => state.apply(u),
    };
    apply(&mut state, Update::Clock { now: Utc::now() });
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let (demand_tx, demand_rx) = crate::sources::demand_channel();
    let wiring = crate::sources::Wiring {
        otlp_gate: None,
        demands: Some(demand_rx),
    };
    let handles = crate::sources::start_live_with(cfg, &tx, wiring);
    let mut pending: BTreeSet<_> = crate::sources::enabled(cfg).into_iter().collect();
    let router_wanted = cfg
        .router
        .as_ref()
        .is_some_and(|r| r.backend != crate::config::RouterBackend::None);
    if router_wanted {
        let cfg = cfg.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let read = match super::connect::connect(&cfg).await {
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
                        invalid: r.invalid,
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
                    // Done with a source once it has answered with data or failed for good; a
                    // rate limit or a passing error is waited out (the source retries, honouring
                    // Retry-After) while the wait lasts.
                    Update::Health(h) if h.state == SourceState::Ok || h.permanent => {
                        pending.remove(&h.source);
                    }
                    Update::Weights(_) => router_pending = false,
                    _ => {}
                }
                apply(&mut state, u);
            }
            // Every sender is gone, or the wait is over.
            Ok(None) | Err(_) => break,
        }
    }
    // Whatever arrived with the last answers belongs to this snapshot too; but a source that has
    // answered keeps the state it answered with (its next poll may already be waiting out a
    // rate limit, which says nothing about the data in hand).
    let settle = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
    while let Ok(Some(u)) = tokio::time::timeout_at(settle, rx.recv()).await {
        if matches!(&u, Update::Health(h) if !pending.contains(&h.source)) {
            continue;
        }
        apply(&mut state, u);
    }
    let unread = session.map_or_else(Vec::new, |id| state.unread_traces(id, false));
    if !unread.is_empty() {
        let mut waiting: BTreeSet<String> = unread.iter().cloned().collect();
        if demand_tx
            .send(crate::sources::TraceDemand { trace_ids: unread })
            .await
            .is_ok()
        {
            while !waiting.is_empty() {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(u)) => {
                        if let Update::Waterfalls(w) = &u {
                            for t in &w.whole {
                                waiting.remove(t);
                            }
                        }
                        apply(&mut state, u);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
    for h in handles {
        h.abort();
    }
    apply(&mut state, Update::Clock { now: Utc::now() });
    state
}
