//! Subcommands. Each returns an exit code per ARCHITECTURE.md "Contracts" → "Exit codes": 0 ok,
//! 1 runtime failure, 2 invalid input or refused, 3 conflict, 4 snapshot printed with an unhealthy
//! source.
pub mod attach;
pub mod check;
pub mod collect;
pub mod connect;
pub mod demo;
pub mod history;
pub mod info;
pub mod init;
pub mod live;
pub mod out;
pub mod replay;
pub mod snapshot;
pub mod weights;

use crate::action::Keymap;
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, Config, ConfigError};
use crate::ui::colors::{ColorDepth, ThemeContext};
use crate::ui::theme::Theme;
use std::fmt;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_RUNTIME: i32 = 1;
pub const EXIT_INVALID: i32 = 2;
pub const EXIT_CONFLICT: i32 = 3;
pub const EXIT_UNHEALTHY: i32 = 4;

/// An error for the user: a message and the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_INVALID,
            message: message.into(),
        }
    }
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_RUNTIME,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::invalid(e.to_string())
    }
}

pub type CliResult = Result<i32, CliError>;

pub fn dispatch(cli: Cli) -> CliResult {
    let _log = match &cli.command {
        Some(Command::Collect(_)) if cli.global.log_file.is_none() => init_daemon_logging(),
        _ => init_logging(&cli.global),
    };
    match cli.command {
        None => match cli.global.attach.clone() {
            Some(url) => attach::run(&cli.global, &url),
            None => live::run(&cli.global),
        },
        Some(Command::Demo(args)) => demo::run(&cli.global, &args),
        Some(Command::Snapshot(args)) => snapshot::run(&cli.global, &args),
        Some(Command::Info) => info::run(&cli.global),
        Some(Command::Replay(args)) => replay::run(&cli.global, &args),
        Some(Command::Weights(cmd)) => weights::run(&cli.global, &cmd),
        Some(Command::Init { force }) => init::run(&cli.global, force),
        Some(Command::Completions { shell }) => {
            completions(shell);
            Ok(EXIT_OK)
        }
        Some(Command::Check) => check::run(&cli.global),
        Some(Command::Collect(args)) => collect::run(&cli.global, &args),
        Some(Command::Export(args)) => history::run(&cli.global, &args),
    }
}

/// Team mode: credentials the server refused are the user's input being wrong (exit 2); an unreachable
/// server is not (exit 1).
pub fn stream_connect_error(e: crate::record::stream::ConnectError) -> CliError {
    if e.refused_credentials {
        CliError::invalid(e.message)
    } else {
        CliError::runtime(e.message)
    }
}

/// A stream URL from the command line, with the password from the environment when the URL
/// has none and `--redis-ca` applied.
pub fn stream_url(
    global: &GlobalArgs,
    raw: &str,
) -> Result<crate::record::stream::StreamUrl, CliError> {
    let env_pw = std::env::var("HYBRIDTOP_REDIS_PASSWORD").ok();
    crate::record::stream::parse_url(raw, env_pw.as_deref())
        .and_then(|u| u.with_ca(global.redis_ca.clone()))
        .map_err(CliError::invalid)
}

/// The config file to use: `-c`, else `$HYBRIDTOP_CONFIG`, else the XDG default.
pub fn config_path(global: &GlobalArgs) -> PathBuf {
    global
        .config
        .clone()
        .unwrap_or_else(config::default_config_path)
}

/// For demo and replay: the user's config only when one was named explicitly (for `[keys]` and
/// theme settings); the paths and sources stay the built-in ones.
pub fn optional_user_config(global: &GlobalArgs) -> Result<Option<Config>, CliError> {
    let explicit = global.config.clone().or_else(|| {
        std::env::var_os("HYBRIDTOP_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match explicit {
        Some(p) => Ok(Some(Config::load(&p)?)),
        None => Ok(None),
    }
}

pub fn theme_dir() -> PathBuf {
    config::config_dir().join("themes")
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `--theme` wins; else monochrome under NO_COLOR; else the config's theme; else `default`.
/// The result is fitted to the terminal's colour depth and the environment's header accent;
/// the context is kept so themes cycled to with `t` get the same treatment.
pub fn resolve_theme(
    global: &GlobalArgs,
    cfg: Option<&Config>,
    environment: &str,
    depth: ColorDepth,
) -> Result<(Theme, ThemeContext), CliError> {
    let dir = theme_dir();
    let patterns: Vec<(String, String)> = cfg
        .map(|c| {
            c.ui.environment_colors
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let ctx = ThemeContext::new(depth, environment, &patterns);
    let theme = if let Some(spec) = &global.theme {
        Theme::load(spec, &dir).map_err(|e| CliError::invalid(e.to_string()))?
    } else if no_color() {
        Theme::for_environment(true)
    } else if let Some((c, spec)) = cfg.and_then(|c| c.ui.theme.as_ref().map(|s| (c, s))) {
        Theme::load(spec, &dir)
            .map_err(|e| CliError::invalid(format!("{}: ui.theme: {e}", c.origin)))?
    } else {
        Theme::for_environment(false)
    };
    let theme = ctx.apply(theme).map_err(CliError::invalid)?;
    Ok((theme, ctx))
}

/// The TUI's options from the flags and the config: theme (fitted to the terminal), keys,
/// ASCII, pacing, mouse. `ui_cfg` is the config whose `[ui]` and `[keys]` apply — the user's
/// for demo and replay, whose data config is built in or recorded. Config errors come before
/// the terminal check, so a bad file is reported even without a terminal.
pub fn tui_options(
    global: &GlobalArgs,
    mode: crate::model::snapshot::Mode,
    config: Config,
    ui_cfg: Option<&Config>,
    no_terminal: &str,
) -> Result<crate::app::AppOptions, CliError> {
    use std::io::IsTerminal;
    let (theme, theme_ctx) = resolve_theme(
        global,
        ui_cfg,
        &config.general.environment,
        ColorDepth::detect(),
    )?;
    let keymap = resolve_keymap(ui_cfg)?;
    let ascii = resolve_ascii(global, ui_cfg);
    if !std::io::stdout().is_terminal() {
        return Err(CliError::invalid(no_terminal));
    }
    let (refresh, min_frame) = pacing(global, &config);
    Ok(crate::app::AppOptions {
        mode,
        read_only: global.read_only,
        redact: global.redact,
        theme,
        theme_ctx,
        theme_dir: theme_dir(),
        keymap,
        ascii,
        refresh,
        min_frame,
        mouse: global.mouse || config.ui.mouse.unwrap_or(false),
        config,
    })
}

/// Redraw pacing: (clock/age refresh, fastest redraw for data).
pub fn pacing(global: &GlobalArgs, cfg: &Config) -> (std::time::Duration, std::time::Duration) {
    use std::time::Duration;
    let low = global.low_bandwidth || cfg.ui.low_bandwidth.unwrap_or(false);
    let refresh = global.refresh.or(cfg.ui.refresh).unwrap_or(if low {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    });
    let min_frame = if low {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(100)
    };
    (refresh, min_frame)
}

/// What a run checks of a config beyond `Config::load`: its theme and its keys. `check` calls
/// this too, so it fails wherever a run would.
pub fn validate_for_run(global: &GlobalArgs, cfg: &Config) -> Result<(), CliError> {
    resolve_theme(
        global,
        Some(cfg),
        &cfg.general.environment,
        ColorDepth::detect(),
    )?;
    resolve_keymap(Some(cfg))?;
    Ok(())
}

pub fn resolve_keymap(cfg: Option<&Config>) -> Result<Keymap, CliError> {
    match cfg {
        Some(c) => {
            Keymap::new(&c.keys).map_err(|e| CliError::invalid(format!("{}: {e}", c.origin)))
        }
        None => Ok(Keymap::default()),
    }
}

/// ASCII-only output: `--ascii`, the config, or a locale that is not UTF-8.
pub fn resolve_ascii(global: &GlobalArgs, cfg: Option<&Config>) -> bool {
    if global.ascii {
        return true;
    }
    if let Some(a) = cfg.and_then(|c| c.ui.ascii) {
        return a;
    }
    !locale_is_utf8()
}

fn locale_is_utf8() -> bool {
    for var in ["LC_ALL", "LC_CTYPE", "LANG"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let v = v.to_string_lossy().to_ascii_lowercase();
            return v.contains("utf-8") || v.contains("utf8");
        }
    }
    false
}

pub fn log_path(global: &GlobalArgs) -> PathBuf {
    global
        .log_file
        .clone()
        .unwrap_or_else(|| config::state_dir().join("hybridtop.log"))
}

/// The headless collector logs to stderr: JSON lines for a log pipeline (`kubectl logs`,
/// CloudWatch Logs), plain lines when a person watches it in a terminal.
fn init_daemon_logging() -> Option<()> {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(log_filter());
    if std::io::stderr().is_terminal() {
        builder.try_init().ok()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
            .ok()
    }
}

/// `HYBRIDTOP_LOG` (e.g. `debug`, `hybridtop=trace`), else `info`.
fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("HYBRIDTOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Logs go to a file, never to the terminal. If the file can't be opened, logging is off.
fn init_logging(global: &GlobalArgs) -> Option<()> {
    let path = log_path(global);
    let file = config::private::append(&path).ok()?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(log_filter())
        .try_init()
        .ok()
}

pub fn tokio_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))
}

fn completions(shell: crate::cli::Shell) {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let sh = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
        crate::cli::Shell::Elvish => S::Elvish,
        crate::cli::Shell::Powershell => S::PowerShell,
    };
    let mut cmd = Cli::command();
    clap_complete::generate(sh, &mut cmd, "hybridtop", &mut std::io::stdout());
}
