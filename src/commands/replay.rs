//! `hybridtop replay FILE [--speed X]`, and the `--record FILE` set-up shared by the modes that
//! can record.
use super::{optional_user_config, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::app::{run_tui, App, AppOptions};
use crate::cli::{GlobalArgs, ReplayArgs};
use crate::config::Config;
use crate::model::snapshot::Mode;
use crate::record::{DemoInfo, Header, OpenError, Recorder};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Every way a recording cannot be opened is the user's input being wrong: exit 2.
pub fn open_error(e: OpenError) -> CliError {
    CliError::invalid(e.to_string())
}

/// `--record FILE`: create the recording (never over an existing file) with its header.
pub fn start_recorder(
    global: &GlobalArgs,
    config: &Config,
    mode: Mode,
    demo: Option<DemoInfo>,
    config_file: Option<PathBuf>,
) -> Result<Option<Recorder>, CliError> {
    let Some(path) = &global.record else {
        return Ok(None);
    };
    let read_only = global.read_only || config.general.read_only;
    let mut header = Header::new(config, mode, global.redact, read_only);
    header.demo = demo;
    header.config_file = config_file;
    Recorder::create(path, &header).map(Some).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::invalid(format!(
                "--record {}: the file exists; recordings are never overwritten (pick a new name)",
                path.display()
            ))
        } else {
            CliError::runtime(format!("--record {}: {e}", path.display()))
        }
    })
}

pub fn run(global: &GlobalArgs, args: &ReplayArgs) -> CliResult {
    if global.record.is_some() {
        return Err(CliError::invalid(
            "--record cannot be used with replay: the recording already exists (copy the file)",
        ));
    }
    // A collector's stream: its last hour (or --from/--to) as a private temporary recording,
    // then the same player.
    let stream = match super::history::stream_url(&args.file) {
        Some(url) => {
            let to = args.to.unwrap_or_else(chrono::Utc::now);
            let from = args.from.unwrap_or(to - super::history::REPLAY_DEFAULT);
            Some(super::history::to_temp(global, url, from, to)?)
        }
        None if args.from.is_some() || args.to.is_some() => {
            return Err(CliError::invalid(
                "--from and --to are for a stream (redis://…); a file replays whole",
            ))
        }
        None => None,
    };
    let file = stream.as_ref().map(|s| s.file.clone());
    let args = &ReplayArgs {
        file: file.unwrap_or_else(|| args.file.clone()),
        ..args.clone()
    };
    // Header checks (empty, not a recording, newer version) first: they say more than "no
    // terminal" would.
    crate::record::Reader::open(&args.file).map_err(open_error)?;
    let user_cfg = optional_user_config(global)?;
    let (header, link) =
        crate::record::player::spawn(&args.file, args.speed, false).map_err(open_error)?;
    let mut config = header
        .config
        .to_config(&format!("recording {}", args.file.display()));
    if let Some(u) = &user_cfg {
        config.keys = u.keys.clone();
        config.ui = u.ui.clone();
    }
    let opts = AppOptions {
        read_only: true,
        // A redacted recording holds masked data; say so on screen.
        redact: global.redact || header.redacted,
        ..super::tui_options(
            global,
            Mode::Replay,
            config,
            user_cfg.as_ref(),
            "replay draws a full-screen dashboard and needs a terminal; for text or JSON use \
             `hybridtop snapshot --replay FILE --at SECONDS`",
        )?
    };
    let rt = tokio_runtime()?;
    rt.block_on(async move {
        let mut app = App::new(&opts);
        app.attach_replay(link, &args.file, &header);
        // The player feeds the app through its own channel; no live source runs.
        let (_none, rx) = mpsc::channel(1);
        run_tui(app, rx, None, &opts).await
    })
    .map_err(|e| CliError::runtime(format!("terminal error: {e}")))?;
    drop(stream);
    Ok(EXIT_OK)
}
