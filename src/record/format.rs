//! The recording format, version 1 (ARCHITECTURE.md "Contracts" → "Recording format"): the
//! header, one record per line, and the limits every reader and writer keeps.
use crate::config::{AlertsConfig, Config, CorrelationConfig, General, PathConfig, RouterConfig};
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::Update;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `format` field of every recording header.
pub const FORMAT: &str = "hybridtop.recording";
/// The newest recording format this build writes and reads. Readers refuse anything newer.
pub const VERSION: u32 = 1;
/// The writer flushes to the OS at least this often while there is unflushed data.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// A line longer than this is damage, not data (a corrupted file without newlines must not eat
/// memory).
pub(super) const MAX_LINE: usize = 64 << 20;
/// Updates queued for the writer before the app loop waits for it (backpressure, never loss).
pub(super) const QUEUE: usize = 65_536;
/// zstd level: the stream is small and repetitive; level 6 compresses it well at low CPU.
pub(super) const ZSTD_LEVEL: i32 = 6;
pub(super) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The first line of a recording.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The hybridtop version that wrote it.
    pub hybridtop: String,
    /// Wall-clock time the recording started.
    pub created_at: DateTime<Utc>,
    pub environment: String,
    /// The mode that was recorded: `live` or `demo`.
    pub mode: Mode,
    /// Redaction was on: identifiers in the updates were masked before they were written.
    pub redacted: bool,
    pub read_only: bool,
    /// The config file the run used (live), if any.
    pub config_file: Option<PathBuf>,
    /// The demo's seed, scenario and speed, when the demo was recorded.
    pub demo: Option<DemoInfo>,
    /// What `State::new` needs to rebuild the recorded run's state.
    pub config: RecordedConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DemoInfo {
    pub seed: u64,
    pub scenario: String,
    /// Simulated seconds per real second; `None`: as fast as possible (`snapshot --demo`).
    pub speed: Option<f64>,
}

/// The config sections that shape `State` (no source credentials or endpoints: none are needed
/// to replay, and none may leak into a file that gets attached to incident documents).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedConfig {
    pub general: General,
    pub paths: Vec<PathConfig>,
    pub correlation: CorrelationConfig,
    pub alerts: AlertsConfig,
    pub router: Option<RouterConfig>,
    /// The cost advisor's model (escalations, KEDA target): replay must advise as the run did.
    #[serde(default)]
    pub advisor: crate::config::AdvisorConfig,
}

impl RecordedConfig {
    pub fn from_config(c: &Config) -> Self {
        RecordedConfig {
            general: c.general.clone(),
            paths: c.paths.clone(),
            correlation: c.correlation.clone(),
            alerts: c.alerts.clone(),
            router: c.router.clone(),
            advisor: c.advisor.clone(),
        }
    }

    /// The config a replay runs with: these sections, defaults for the rest.
    pub fn to_config(&self, origin: &str) -> Config {
        Config {
            general: self.general.clone(),
            paths: self.paths.clone(),
            correlation: self.correlation.clone(),
            alerts: self.alerts.clone(),
            router: self.router.clone(),
            advisor: self.advisor.clone(),
            origin: origin.to_string(),
            ..Config::default()
        }
    }
}

impl Header {
    pub fn new(config: &Config, mode: Mode, redacted: bool, read_only: bool) -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            hybridtop: env!("CARGO_PKG_VERSION").into(),
            created_at: Utc::now(),
            environment: config.general.environment.clone(),
            mode,
            redacted,
            read_only,
            config_file: None,
            demo: None,
            config: RecordedConfig::from_config(config),
        }
    }

    /// A fresh state shaped like the recorded run's, in replay mode.
    pub fn new_state(&self, origin: &str) -> State {
        State::new(&self.config.to_config(origin), Mode::Replay)
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction

/// True when recordings to `path` are compressed (`.zst`).
pub fn is_zstd_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zst"))
}

/// A line that could not be read: replay stops before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// 1-based line number in the (decompressed) file; the header is line 1.
    pub line: u64,
    pub message: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One update and the model time it was applied at.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub t: i64,
    pub update: Update,
}

#[derive(Deserialize)]
pub(super) struct LineIn {
    t: i64,
    u: Update,
}

/// Decode one record line (not the header). Public so the fuzz target drives the exact decoder
/// a replay uses.
pub fn decode_record(line: &[u8]) -> Result<Record, serde_json::Error> {
    serde_json::from_slice::<LineIn>(line).map(|l| Record {
        t: l.t,
        update: l.u,
    })
}
