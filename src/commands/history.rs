//! Team mode's history without pressing record: `hybridtop export URL --from T --to T -o FILE`
//! writes part of a collector's stream as an ordinary recording, and `replay URL` and `snapshot
//! --replay URL --at …` export the part they need into a private temporary file and then use
//! the file player, seek and exports unchanged.
use super::{out, tokio_runtime, CliError, CliResult, EXIT_OK};
use crate::cli::{At, ExportArgs, GlobalArgs};
use crate::record::stream::{ExportStats, Follower, StreamUrl};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// `replay` and `snapshot --replay` read a stream from this far back by default.
pub const REPLAY_DEFAULT: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The URL, when `--replay`/`replay` was given a stream instead of a file.
pub fn stream_url(p: &Path) -> Option<&str> {
    p.to_str()
        .filter(|s| s.starts_with("redis://") || s.starts_with("rediss://"))
}

/// A recording exported from a stream into a private temporary directory, removed on drop.
pub struct StreamRecording {
    dir: PathBuf,
    pub file: PathBuf,
    pub stats: ExportStats,
}

impl Drop for StreamRecording {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

async fn export_into(
    url: &StreamUrl,
    from_ms: i64,
    to_ms: i64,
    path: &Path,
) -> Result<ExportStats, CliError> {
    let mut f = Follower::connect(url)
        .await
        .map_err(super::stream_connect_error)?;
    f.export(from_ms, to_ms, path)
        .await
        .map_err(CliError::runtime)
}

/// Export `[from, to]` of the stream at `raw` into a private temporary recording.
pub fn to_temp(
    global: &GlobalArgs,
    raw: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<StreamRecording, CliError> {
    let url = super::stream_url(global, raw)?;
    if from > to {
        return Err(CliError::invalid(format!(
            "--from {} is after --to {}",
            from.to_rfc3339(),
            to.to_rfc3339()
        )));
    }
    let dir = std::env::temp_dir().join(format!("hybridtop-stream-{}", std::process::id()));
    crate::config::private::create_dir(&dir)
        .map_err(|e| CliError::runtime(format!("{}: {e}", dir.display())))?;
    let file = dir.join(format!(
        "{}-{}.jsonl",
        url.key
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
        from.format("%Y%m%dT%H%M%SZ")
    ));
    // From here on the directory is removed whatever happens.
    let mut rec = StreamRecording {
        dir,
        file,
        stats: ExportStats::default(),
    };
    let rt = tokio_runtime()?;
    rec.stats = rt.block_on(export_into(&url, ms(from), ms(to), &rec.file))?;
    Ok(rec)
}

/// `snapshot --replay URL [--at …]`: the stream's state at that moment (default now), from the
/// collector's header before the window that ends there.
pub fn snapshot_source(
    global: &GlobalArgs,
    raw: &str,
    at: Option<At>,
    window: std::time::Duration,
) -> Result<StreamRecording, CliError> {
    let url = super::stream_url(global, raw)?;
    let rt = tokio_runtime()?;
    let end = match at {
        None => Utc::now(),
        Some(At::Time(t)) => t,
        Some(At::Seconds(s)) => {
            let first = rt
                .block_on(async {
                    let mut f = Follower::connect(&url)
                        .await
                        .map_err(super::stream_connect_error)?;
                    f.first_ms().await.map_err(CliError::runtime)
                })?
                .ok_or_else(|| {
                    CliError::runtime(format!("{}: stream '{}' is empty", url.shown, url.key))
                })?;
            DateTime::from_timestamp_millis(first.saturating_add((s * 1000.0).round() as i64))
                .unwrap_or_else(Utc::now)
        }
    };
    let window = chrono::Duration::from_std(window).unwrap_or(REPLAY_DEFAULT);
    drop(rt);
    to_temp(global, raw, end - window, end)
}

/// `hybridtop export URL --from T --to T -o FILE`.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> CliResult {
    let url = super::stream_url(global, &args.url)?;
    if args.from > args.to {
        return Err(CliError::invalid(format!(
            "--from {} is after --to {}",
            args.from.to_rfc3339(),
            args.to.to_rfc3339()
        )));
    }
    if args.output.exists() {
        return Err(CliError::invalid(format!(
            "-o {}: the file exists; recordings are never overwritten (pick a new name)",
            args.output.display()
        )));
    }
    let rt = tokio_runtime()?;
    let stats = rt.block_on(export_into(&url, ms(args.from), ms(args.to), &args.output))?;
    out::err(format!(
        "wrote {} updates to {} ({} entries skipped as invalid, {} from a deposed collector{})",
        stats.records,
        args.output.display(),
        stats.skipped,
        stats.deposed,
        if stats.before_header > 0 {
            format!(
                ", {} before the first collector header left out",
                stats.before_header
            )
        } else {
            String::new()
        }
    ));
    Ok(EXIT_OK)
}
