//! `hybridtop --attach URL` and `snapshot --attach URL`: a viewer fed by a collector's Redis
//! stream. It holds no source credentials: it reads back the current window (XRANGE), then
//! follows (XREAD BLOCK). The collector is a source with state and age; sources keep their own
//! names and states as the collector saw them. Weight changes go through the router with the
//! viewer's own Kubernetes credentials (the audit log names the viewer); without them the viewer
//! is read-only and says so.
use super::{optional_user_config, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::app::{run_tui, App};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::record::stream::{Follower, StreamUrl};
use chrono::Utc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Connect and read the window back, from the collector's header (and keyframe) before it: the
/// header gives the config that shapes the state (else the user's config does), the keyframe
/// the fleet, weights and bill that the window alone would miss.
async fn open(
    url: &StreamUrl,
    global: &GlobalArgs,
) -> Result<(Follower, Config, Vec<crate::record::Record>), CliError> {
    let mut f = Follower::connect(url)
        .await
        .map_err(super::stream_connect_error)?;
    let user = optional_user_config(global)?;
    let window = user
        .as_ref()
        .map(|c| c.general.window)
        .unwrap_or(Duration::from_secs(300));
    let from = Utc::now().timestamp_millis() - i64::try_from(window.as_millis()).unwrap_or(300_000);
    let records = f.backfill(from).await.map_err(CliError::runtime)?;
    if f.skipped > 0 || f.deposed > 0 {
        tracing::warn!(
            skipped = f.skipped,
            deposed = f.deposed,
            "stream entries that were not valid lines, or from a deposed leader"
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
    let url = super::stream_url(global, raw)?;
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

/// The router a viewer may change weights through, with its own credentials: the user's
/// `[router]` if the config names one, else the collector's. `Err` says why the viewer is
/// read-only.
async fn viewer_router(
    global: &GlobalArgs,
    config: &mut Config,
    user: Option<&Config>,
) -> Result<crate::router::store::Router, String> {
    if let Some(r) = user.and_then(|u| u.router.clone()) {
        config.router = Some(r);
    }
    if global.read_only || user.is_some_and(|u| u.general.read_only) {
        return Err("read-only (--read-only)".into());
    }
    if config
        .router
        .as_ref()
        .is_none_or(|r| r.backend == crate::config::RouterBackend::None)
    {
        return Err("read-only: no router is configured".into());
    }
    super::connect::connect(config).await.map_err(|e| {
        format!("read-only: the router cannot be reached with your Kubernetes credentials ({e})")
    })
}

/// The TUI on a collector's stream.
pub fn run(global: &GlobalArgs, raw: &str) -> CliResult {
    let url = super::stream_url(global, raw)?;
    let user_cfg = optional_user_config(global)?;
    let audit_path = global
        .audit_log
        .clone()
        .unwrap_or_else(crate::router::audit::default_path);
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let (mut follower, mut config, records) = open(&url, global).await?;
        // Before raw mode: an exec credential plugin must not write over the UI.
        let router = viewer_router(global, &mut config, user_cfg.as_ref()).await;
        let mut viewer = global.clone();
        viewer.read_only = router.is_err();
        let opts = super::tui_options(
            &viewer,
            Mode::Attach,
            config.clone(),
            user_cfg.as_ref(),
            "the dashboard needs a terminal; for text or JSON use `hybridtop snapshot --attach`",
        )?;
        let (tx, rx) = mpsc::channel(4096);
        let mut app = App::new(&opts);
        let mut router_rx = None;
        match router {
            // No watch of its own: the collector publishes the weights, so a viewer asks the
            // router nothing until it changes them (twenty viewers cost the API server nothing).
            Ok(router) => {
                let link = crate::router::task::spawn(
                    router,
                    config.guard(),
                    config.path_ids(),
                    audit_path,
                );
                router_rx = Some(app.attach_router(link));
            }
            Err(why) => app.toast(crate::ui::state::ToastLevel::Info, why),
        }
        // Waterfalls the collector polled roots only of are read with the viewer's own
        // Langfuse keys (its `[langfuse]`, else the collector's), when it has them.
        let mut lf_cfg = config.clone();
        if let Some(l) = user_cfg.as_ref().and_then(|u| u.langfuse.clone()) {
            lf_cfg.langfuse = Some(l);
        }
        if let Some(src) = crate::sources::langfuse::LangfuseSource::from_config(&lf_cfg)
            .filter(|s| s.has_access())
        {
            let (dtx, drx) = crate::sources::demand_channel();
            if src
                .with_demands(drx)
                .spawn_demand_only(tx.clone())
                .is_some()
            {
                app.attach_demands(dtx);
            }
        }
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
                        // The connection may be gone for good (a restart, a failover): a new
                        // one resumes after the last entry read.
                        if let Err(e) = follower.reconnect().await {
                            tracing::warn!(error = %e, "reconnecting to the collector's stream");
                        }
                    }
                }
            }
        });
        let res = run_tui(app, rx, router_rx, &opts).await;
        feed.abort();
        res.map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
        Ok(EXIT_OK)
    })
}
