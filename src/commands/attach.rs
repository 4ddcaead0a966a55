//! `hybridtop --attach URL` and `snapshot --attach URL`: a viewer fed by a collector's Redis
//! stream. It holds no source credentials: it reads back the current window (XRANGE), then
//! follows (XREAD BLOCK). The collector is a source with state and age; sources keep their own
//! names and states as the collector saw them. This viewer is read-only.
use super::{optional_user_config, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::app::{run_tui, App};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::record::stream::{parse_url, Follower, StreamUrl};
use chrono::Utc;
use std::time::Duration;
use tokio::sync::mpsc;

fn url_of(raw: &str) -> Result<StreamUrl, CliError> {
    let env_pw = std::env::var("HYBRIDTOP_REDIS_PASSWORD").ok();
    parse_url(raw, env_pw.as_deref()).map_err(CliError::invalid)
}

/// Connect and read the window back; the collector's header in it (re-published every 30 s)
/// gives the config that shapes the state, else the user's config does.
async fn open(
    url: &StreamUrl,
    global: &GlobalArgs,
) -> Result<(Follower, Config, Vec<crate::record::Record>), CliError> {
    let mut f = Follower::connect(url).await.map_err(CliError::runtime)?;
    let user = optional_user_config(global)?;
    let window = user
        .as_ref()
        .map(|c| c.general.window)
        .unwrap_or(Duration::from_secs(300));
    let from = Utc::now().timestamp_millis() - i64::try_from(window.as_millis()).unwrap_or(300_000);
    let records = f.backfill(from).await.map_err(CliError::runtime)?;
    if f.skipped > 0 {
        tracing::warn!(
            skipped = f.skipped,
            "stream entries that were not valid lines"
        );
    }
    let config = match (&f.header, user) {
        (Some(h), _) => h.config.to_config(&url.shown),
        (None, Some(c)) => c,
        (None, None) => {
            return Err(CliError::runtime(format!(
                "{}: nothing from a collector in stream '{}' within the last {} (start `hybridtop collect --publish …`)",
                url.shown,
                url.key,
                humantime::format_duration(window)
            )))
        }
    };
    Ok((f, config, records))
}

/// The viewer's state after reading back the window, then `wait` for anything newer.
pub fn snapshot_state(global: &GlobalArgs, raw: &str) -> Result<(State, Config), CliError> {
    let url = url_of(raw)?;
    let rt = tokio_runtime()?;
    rt.block_on(async {
        let (_f, config, records) = open(&url, global).await?;
        let mut state = State::new(&config, Mode::Attach);
        for r in records {
            state.apply(r.update);
        }
        state.apply(Update::Clock { now: Utc::now() });
        Ok((state, config))
    })
}

/// The TUI on a collector's stream.
pub fn run(global: &GlobalArgs, raw: &str) -> CliResult {
    let url = url_of(raw)?;
    let user_cfg = optional_user_config(global)?;
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let (mut follower, config, records) = open(&url, global).await?;
        let mut viewer = global.clone();
        viewer.read_only = true;
        let opts = super::tui_options(
            &viewer,
            Mode::Attach,
            config.clone(),
            user_cfg.as_ref(),
            "the dashboard needs a terminal; for text or JSON use `hybridtop snapshot --attach`",
        )?;
        let (tx, rx) = mpsc::channel(4096);
        let feed = tokio::spawn(async move {
            // The window read back first, so the first frame is complete; then follow.
            for r in records {
                if tx.send(r.update).await.is_err() {
                    return;
                }
            }
            loop {
                match follower.follow(Duration::from_secs(1)).await {
                    Ok(records) => {
                        for r in records {
                            if tx.send(r.update).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let u = Update::Health(SourceHealth {
                            source: SourceName::Collector,
                            state: SourceState::Error,
                            last_success: None,
                            error: Some(e),
                            permanent: false,
                        });
                        if tx.send(u).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
        });
        let app = App::new(&opts);
        let res = run_tui(app, rx, None, &opts).await;
        feed.abort();
        res.map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
        Ok(EXIT_OK)
    })
}
