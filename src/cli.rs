//! Command-line contract (ARCHITECTURE.md "Contracts" → "CLI"). Flags may be added; these names
//! are fixed.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "hybridtop",
    version,
    about = "Terminal dashboard for a hybrid AgentCore + EKS LLM-agent platform",
    long_about = "Terminal dashboard for a hybrid AgentCore + EKS LLM-agent platform: routing split, \
cost and p95 per path, EKS health, correlated hybrid traces, and safe router-weight changes.",
    after_help = "Examples:\n  hybridtop demo                      the built-in simulated fleet, no credentials\n  hybridtop -c prod.toml --read-only  live, for a screen-shared review\n  hybridtop snapshot --demo --sim-seconds 600 --format json"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Config file [default: $HYBRIDTOP_CONFIG, else $XDG_CONFIG_HOME/hybridtop/config.toml]
    #[arg(short = 'c', long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Theme name (default, light, monochrome, …) or path to a theme TOML file
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Never change anything: the weights editor and `weights set` refuse
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Mask identifiers that can name a person or an account, on screen and in exports
    #[arg(long, global = true)]
    pub redact: bool,
    /// Record every update to this new file (JSON lines; zstd when it ends in .zst)
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Audit log for weight changes [default: $XDG_STATE_HOME/hybridtop/audit.jsonl]
    #[arg(long, global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Log file [default: $XDG_STATE_HOME/hybridtop/hybridtop.log]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// ASCII only: no box-drawing, braille or block glyphs
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Slow links: data redraws at most every 5 s (keys still answer at once)
    #[arg(long, global = true)]
    pub low_bandwidth: bool,
    /// Enable the mouse: click to select, wheel to scroll (off by default so text selection works)
    #[arg(long, global = true)]
    pub mouse: bool,
    /// Slowest screen refresh for the clock and ages, e.g. 1s, 5s
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub refresh: Option<std::time::Duration>,
    /// Team mode: view a collector's Redis stream instead of polling the sources
    /// (redis://[user[:password]@]host:port[/db][?stream=KEY])
    #[arg(long, value_name = "URL")]
    pub attach: Option<String>,
    /// Team mode over TLS (rediss://): trust the CA certificates in this PEM file instead of
    /// the system's roots
    #[arg(long, global = true, value_name = "PEM", env = "HYBRIDTOP_REDIS_CA")]
    pub redis_ca: Option<PathBuf>,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard on the built-in simulated hybrid fleet (no credentials needed)
    #[command(
        after_help = "Examples:\n  hybridtop demo\n  hybridtop demo --scenario eks-node-loss --speed 10\n  hybridtop --read-only demo --seed 7"
    )]
    Demo(DemoArgs),
    /// Replay a recording in the same UI, read-only
    #[command(
        after_help = "Keys (defaults; remappable as replay_* in [keys]): space pause/resume · left/right ±1 min (shift: ±10 min) · +/- speed ×2/÷2 · g/G start/end\n\nExample:\n  hybridtop --record incident.jsonl.zst demo\n  hybridtop replay incident.jsonl.zst --speed 4\n  hybridtop replay redis://cache:6379 --from 2h"
    )]
    Replay(ReplayArgs),
    /// Print one snapshot of the dashboard and exit
    #[command(
        after_help = "Examples:\n  hybridtop snapshot --demo --seed 7 --sim-seconds 600 --format json\n  hybridtop snapshot --demo --format text --width 120 --height 40"
    )]
    Snapshot(SnapshotArgs),
    /// Read or change the router's weights
    #[command(
        subcommand,
        after_help = "Examples:\n  hybridtop weights get\n  hybridtop weights set eks-qwen3=80 agentcore-haiku=15 agentcore-sonnet=5 --reason 'haiku throttling' --dry-run"
    )]
    Weights(WeightsCommand),
    /// Check the config and every source: credentials, reachability, permissions
    #[command(after_help = "Example:\n  hybridtop -c prod.toml check")]
    Check,
    /// Team mode: run the sources headless and publish every update to a Redis stream
    #[command(
        after_help = "Examples:\n  hybridtop -c prod.toml collect --publish redis://cache:6379\n  hybridtop collect --demo --scenario eks-node-loss --publish redis://127.0.0.1:6379?stream=drill"
    )]
    Collect(CollectArgs),
    /// Team mode: write part of a collector's stream as an ordinary recording file
    #[command(
        after_help = "Example:\n  hybridtop export redis://cache:6379 --from 2026-12-02T09:00:00Z --to 2026-12-02T10:30:00Z -o incident.jsonl.zst\n  hybridtop export redis://cache:6379 --from 2h -o last-two-hours.jsonl.zst"
    )]
    Export(ExportArgs),
    /// Write a commented example config
    #[command(
        after_help = "Example:\n  hybridtop init && $EDITOR ~/.config/hybridtop/config.toml"
    )]
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Print the paths hybridtop uses (config, themes, logs, audit)
    #[command(after_help = "Example:\n  hybridtop info")]
    Info,
    /// Print shell completions
    #[command(
        after_help = "Example:\n  hybridtop completions bash > ~/.local/share/bash-completion/completions/hybridtop"
    )]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Random seed: the same seed gives the same run
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// steady | eks-node-loss | agentcore-throttling | traffic-spike | langfuse-outage | context-loss
    #[arg(long, default_value = "steady")]
    pub scenario: String,
}

#[derive(Debug, Clone, Args)]
pub struct CollectArgs {
    /// redis://[user[:password]@]host:port[/db][?stream=KEY] (or rediss://); the password may
    /// come from HYBRIDTOP_REDIS_PASSWORD
    #[arg(long, value_name = "URL")]
    pub publish: String,
    /// Publish the built-in simulator instead of the config's sources
    #[arg(long)]
    pub demo: bool,
    #[arg(long, default_value = "steady", requires = "demo")]
    pub scenario: String,
    #[arg(long, default_value_t = 1, requires = "demo")]
    pub seed: u64,
    /// Simulated seconds per real second (with --demo)
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, requires = "demo")]
    pub speed: f64,
    /// Entries older than this are trimmed from the stream
    #[arg(long, default_value = "24h", value_parser = parse_duration_arg)]
    pub retention: std::time::Duration,
    /// At most about this many entries are kept
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1000..=100_000_000))]
    pub maxlen: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub sim: SimArgs,
    /// Simulated seconds per real second
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
}

pub fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number (try 1, 10 or 0.5)"))?;
    if !v.is_finite() || v <= 0.0 || v > 10_000.0 {
        return Err(format!("'{s}' must be above 0 and at most 10000"));
    }
    Ok(v)
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A recording made with --record, or a collector's stream (redis://…): its last hour, or
    /// --from/--to
    #[arg(value_name = "FILE|URL")]
    pub file: PathBuf,
    /// Recorded seconds per real second
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// With a stream: start here (RFC 3339, or a duration ago such as 2h) [default: 1h]
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// With a stream: end here (RFC 3339, a duration ago, or now) [default: now]
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A collector's stream: redis://[user[:password]@]host:port[/db][?stream=KEY]
    #[arg(value_name = "URL")]
    pub url: String,
    /// Start (RFC 3339, or a duration ago such as 90m); the file starts at the collector's
    /// header just before it, so its state is complete
    #[arg(long, value_name = "T", value_parser = parse_when)]
    pub from: chrono::DateTime<chrono::Utc>,
    /// End (RFC 3339, a duration ago, or now)
    #[arg(long, value_name = "T", value_parser = parse_when, default_value = "now")]
    pub to: chrono::DateTime<chrono::Utc>,
    /// The new recording (zstd when it ends in .zst); never overwritten
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// A point in time: RFC 3339, `now`, or a duration ago (`90m`, `2h`).
pub fn parse_when(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(chrono::Utc::now());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let ago = crate::config::parse_duration(s).map_err(|_| {
        format!("'{s}' is not a time: use RFC 3339 (2026-12-02T10:00:00Z), now, or a duration ago (90m)")
    })?;
    let ago = chrono::Duration::from_std(ago).map_err(|e| format!("'{s}': {e}"))?;
    Ok(chrono::Utc::now() - ago)
}

/// `--at`: seconds from the first record, or a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Seconds(f64),
    Time(chrono::DateTime<chrono::Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    Json,
    Text,
    Svg,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewName {
    Overview,
    Traces,
    Fleet,
    Cost,
    Help,
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Use the built-in simulator instead of the config's sources
    #[arg(long, conflicts_with = "replay")]
    pub demo: bool,
    #[arg(long, default_value_t = 1, requires = "demo")]
    pub seed: u64,
    #[arg(long, default_value = "steady", requires = "demo")]
    pub scenario: String,
    /// Simulated seconds to run before printing
    #[arg(long, default_value_t = 600, requires = "demo",
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub sim_seconds: u64,
    /// A recording to snapshot, or a collector's stream (redis://…)
    #[arg(long, value_name = "FILE|URL")]
    pub replay: Option<PathBuf>,
    /// Team mode: a collector's Redis stream to snapshot (redis://…)
    #[arg(long, value_name = "URL", conflicts_with_all = ["replay", "demo"])]
    pub attach: Option<String>,
    /// Seconds into the recording (from its first record; a stream: its oldest entry), or an
    /// RFC 3339 time [default: its end]
    #[arg(long, requires = "replay", value_parser = parse_at, value_name = "SECONDS|RFC3339")]
    pub at: Option<At>,
    /// Open this session's waterfall (with --view traces)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Show the weights review dialog for this proposal, e.g. "eks-qwen3=60 agentcore-haiku=27
    /// agentcore-sonnet=13" (documentation screenshots; nothing is written)
    #[arg(long, hide = true, value_name = "ID=PCT...")]
    pub weights_review: Option<String>,
    #[arg(long, value_enum, default_value_t = SnapshotFormat::Json)]
    pub format: SnapshotFormat,
    /// Columns, 20..=1000
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(20..=1000))]
    pub width: u16,
    /// Rows, 20..=1000
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(20..=1000))]
    pub height: u16,
    #[arg(long, value_enum, default_value_t = ViewName::Overview)]
    pub view: ViewName,
    /// Longest wait for each live source's data (rate limits and passing errors are waited out;
    /// a permanent failure such as rejected credentials ends the wait for that source)
    #[arg(long, default_value = "30s", value_parser = parse_duration_arg)]
    pub wait: std::time::Duration,
}

fn parse_at(s: &str) -> Result<At, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(At::Time(t.with_timezone(&chrono::Utc)));
    }
    let v: f64 = s.parse().map_err(|_| {
        format!("'{s}' is neither a number of seconds nor an RFC 3339 time (2026-12-02T10:00:00Z)")
    })?;
    // Ten years of recording is more than any file holds; beyond it the ms arithmetic ends.
    if !v.is_finite() || !(0.0..=315_360_000.0).contains(&v) {
        return Err(format!("'{s}' must be 0 to 315360000 seconds"));
    }
    Ok(At::Seconds(v))
}

#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Print the router's current weights
    #[command(after_help = "Example:\n  hybridtop weights get --format json")]
    Get {
        #[arg(long, value_enum, default_value_t = WeightsFormat::Text)]
        format: WeightsFormat,
    },
    /// Set the router's weights (every path, summing to 100)
    #[command(
        after_help = "Example:\n  hybridtop weights set eks-qwen3=80 agentcore-haiku=15 agentcore-sonnet=5 --reason 'haiku throttling' --yes"
    )]
    Set {
        #[arg(required = true, value_name = "ID=PCT")]
        assignments: Vec<String>,
        /// Ask the server to validate without storing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        reason: Option<String>,
        /// Allow moving more than max_shift_per_apply points
        #[arg(long)]
        force: bool,
        /// With --dry-run: model the change on this snapshot (`hybridtop snapshot --format
        /// json` output) instead of reading the live sources
        #[arg(long, value_name = "FILE", requires = "dry_run")]
        snapshot: Option<std::path::PathBuf>,
        /// With --dry-run and no --snapshot: longest wait for the live sources' data
        #[arg(long, value_parser = parse_duration_arg, default_value = "15s", requires = "dry_run")]
        wait: std::time::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightsFormat {
    Json,
    Text,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn times_and_positions() {
        let t = parse_when("2026-12-02T10:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-02T10:00:00+00:00");
        let ago = chrono::Utc::now() - parse_when("90m").unwrap();
        assert!((ago.num_seconds() - 5400).abs() <= 2, "{ago}");
        assert!((chrono::Utc::now() - parse_when("now").unwrap()).num_seconds() <= 1);
        let e = parse_when("yesterday-ish").unwrap_err();
        assert!(e.contains("RFC 3339") && e.contains("yesterday-ish"), "{e}");
        assert_eq!(parse_at("600").unwrap(), At::Seconds(600.0));
        assert_eq!(parse_at("2026-12-02T10:00:00Z").unwrap(), At::Time(t));
        assert!(parse_at("-1").is_err() && parse_at("soon").is_err());
    }

    /// Every command's `--help`, groups included, ends with an example (the README promises it).
    #[test]
    fn every_help_ends_with_an_example() {
        fn walk(cmd: &mut clap::Command, path: String, out: &mut Vec<String>) {
            let help = cmd.render_help().to_string();
            let tail: Vec<&str> = help.trim_end().lines().rev().take(4).collect();
            if !tail.iter().any(|l| l.trim_start().starts_with("hybridtop"))
                || !help.contains("Example")
            {
                out.push(path.clone());
            }
            for sub in cmd.get_subcommands_mut() {
                if sub.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sub.get_name());
                walk(sub, p, out);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&mut cmd, "hybridtop".into(), &mut missing);
        assert!(missing.is_empty(), "--help without an example: {missing:?}");
    }
}
