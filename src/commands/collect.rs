//! `hybridtop collect --publish URL`: team mode's collector. Runs every configured source (or the
//! simulator with `--demo`) headless and, while it holds the stream's lease, appends each update
//! to a Redis stream, with a heartbeat of its own (`collector` health), live the wall clock, and
//! every 30 s its header and keyframe. A second collector on the same stream is a hot standby:
//! it runs the same sources and takes over when the lease lapses. Ends cleanly on
//! SIGTERM/SIGINT (giving the lease up). With `--redact`, lines are redacted before they leave
//! the process. Logs are JSON lines on stderr (`HYBRIDTOP_LOG` sets the level).
use super::{config_path, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{CollectArgs, GlobalArgs};
use crate::config::Config;
use crate::model::health::COLLECTOR_HEARTBEAT;
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::record::keyframe::Keyframe;
use crate::record::stream::{LeaseChange, Publisher, LEASE_TICK};
use crate::record::Header;
use crate::sources::simulator::{Scenario, SimConfig, Simulator, SimulatorSource};
use crate::sources::Source;
use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

pub fn run(global: &GlobalArgs, args: &CollectArgs) -> CliResult {
    let url = super::stream_url(global, &args.publish)?;
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
            .map_err(super::stream_connect_error)?;
        let header = Header::new(&config, mode, global.redact, true);
        publisher.set_header(&header).map_err(CliError::runtime)?;
        tracing::info!(
            stream = %url.shown,
            key = %url.key,
            demo = args.demo,
            me = publisher.me(),
            "collector started; SIGTERM or Ctrl-C ends it"
        );
        let (tx, mut rx) = mpsc::channel::<Update>(4096);
        // Pushed spans (OTLP) are taken only while this collector leads.
        let leading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
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
            let wiring = crate::sources::Wiring {
                otlp_gate: Some(leading.clone()),
                demands: None,
            };
            let mut handles = crate::sources::start_live_with(&config, &tx, wiring);
            // The router's weights are published too, read with the collector's own (read-only)
            // credentials: a viewer without router access still sees the live split.
            if config
                .router
                .as_ref()
                .is_some_and(|r| r.backend != crate::config::RouterBackend::None)
            {
                match super::connect::connect(&config).await {
                    Ok(crate::router::store::Router::Kube(k)) => handles.push(k.watch(tx.clone())),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the router's weights cannot be read"),
                }
            }
            handles
        };
        drop(tx);
        let mut state = State::new(&config, mode);
        let mut keyframe = Keyframe::default();
        let mut beat = tokio::time::interval(COLLECTOR_HEARTBEAT);
        let mut clock = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut lease = tokio::time::interval(LEASE_TICK);
        let mut term = signal(SignalKind::terminate()).map_err(|e| CliError::runtime(e.to_string()))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| CliError::runtime(e.to_string()))?;
        let mut said_standby = false;
        let result = loop {
            let u = tokio::select! {
                u = rx.recv() => match u {
                    Some(u) => u,
                    None => break Ok(()),
                },
                // Stamped in the model's time (the simulator's, with --demo), which the viewers
                // measure its age against.
                _ = beat.tick() => heartbeat(&state),
                // Live, the viewers' model time is the collector's wall clock.
                _ = clock.tick(), if !args.demo => Update::Clock { now: Utc::now() },
                _ = lease.tick() => {
                    match publisher.contend().await {
                        Ok(LeaseChange::Elected(token)) => {
                            leading.store(true, std::sync::atomic::Ordering::Release);
                            tracing::info!(fence = token, "leading: publishing");
                            said_standby = false;
                            // Viewers get the whole state at once, then a heartbeat.
                            let t = model_ms(&state);
                            let mut frame = keyframe_of(&state, &keyframe);
                            frame.push(heartbeat(&state));
                            if let Err(e) = publisher.publish_keyframe(t, &frame).await {
                                break Err(e);
                            }
                        }
                        Ok(LeaseChange::Deposed) => {
                            leading.store(false, std::sync::atomic::Ordering::Release);
                            tracing::warn!("another collector took the lease: standing by");
                        }
                        Ok(LeaseChange::Unchanged) => {
                            if publisher.leading().is_none() && !said_standby {
                                said_standby = true;
                                let holder = publisher.holder().await.unwrap_or_default();
                                tracing::info!(holder = %holder, "standing by: taking over when the lease lapses");
                            }
                        }
                        // A passing Redis failure: the lease lapses by itself if it lasts.
                        Err(e) => tracing::warn!(error = %e, "lease round failed"),
                    }
                    continue;
                }
                _ = term.recv() => break Ok(()),
                _ = int.recv() => break Ok(()),
            };
            keyframe.observe(&u);
            state.apply(u.clone());
            let t = model_ms(&state);
            if let Err(e) = publisher.publish(t, &u).await {
                break Err(e);
            }
            if publisher.leading().is_some() && publisher.keyframe_due() {
                if let Err(e) = publisher.publish_keyframe(t, &keyframe_of(&state, &keyframe)).await {
                    break Err(e);
                }
            }
        };
        publisher.release().await;
        for h in handles {
            h.abort();
        }
        tracing::info!(published = publisher.published, "collector stopped");
        match result {
            Ok(()) => Ok(EXIT_OK),
            Err(e) => Err(CliError::runtime(e)),
        }
    })
}

/// The model's time in ms, or the wall clock's before the model has one (a leader elected before
/// the first update must not stamp its keyframe 1970).
fn model_ms(state: &State) -> i64 {
    if state.now().timestamp() > 0 {
        state.now().timestamp_millis()
    } else {
        Utc::now().timestamp_millis()
    }
}

/// The keyframe, led by the model's time: a reader starting at a header has a clock before any
/// data (spans pushed before the next clock tick would otherwise land nowhere).
fn keyframe_of(state: &State, keyframe: &Keyframe) -> Vec<Update> {
    let mut out = Vec::new();
    if state.now().timestamp() > 0 {
        out.push(Update::Clock { now: state.now() });
    }
    out.extend(keyframe.updates());
    out
}

/// The collector's own health, re-confirmed.
fn heartbeat(state: &State) -> Update {
    Update::Health(SourceHealth {
        source: SourceName::Collector,
        state: SourceState::Ok,
        last_success: chrono::DateTime::from_timestamp_millis(model_ms(state)),
        error: None,
        permanent: false,
    })
}
