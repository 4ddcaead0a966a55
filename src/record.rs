//! Recordings: the `Update` stream the app loop applied, with timestamps, as versioned JSON lines
//! (zstd-compressed when the file name ends in `.zst`).
//!
//! ```text
//! {"format":"hybridtop.recording","version":1,"hybridtop":"0.1.0","created_at":"…","environment":"demo","mode":"demo","redacted":false,…,"config":{…}}
//! {"t":1764061201000,"u":{"kind":"clock","now":"2026-11-25T09:00:01Z"}}
//! {"t":1764061201000,"u":{"kind":"traffic","path":"eks-qwen3",…}}
//! ```
//!
//! Line 1 is the [`Header`]: format and version, the hybridtop version, environment, mode, the
//! config file and demo settings it ran with, whether redaction was on, and the config sections
//! `State::new` needs to rebuild the same state on replay (general, paths, correlation, alerts,
//! router) — never a secret: credentials live in the environment and are never read here.
//! Every other line is one applied update: `t` is the model's clock (milliseconds since the Unix
//! epoch) just after the update was applied — virtual time in the demo, wall time live — and `u`
//! the update itself. Replay applies every update with `t <= position`, so the state at a
//! position is exactly the state the recording run had at that model time.
//!
//! Writing happens on a thread of its own (the app loop only clones the update into a bounded
//! channel) and is flushed at least every [`FLUSH_EVERY`], so a crash loses at most that much.
//! Reading streams line by line: a damaged line ends the replay there and is reported with its
//! number; nothing is ever loaded whole.
use crate::config::{AlertsConfig, Config, CorrelationConfig, General, PathConfig, RouterConfig};
use crate::model::redact::redact_with;
use crate::model::sanitize;
use crate::model::snapshot::Mode;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::model::weights::Weights;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The `format` field of every recording header.
pub const FORMAT: &str = "hybridtop.recording";
/// The newest recording format this build writes and reads. Readers refuse anything newer.
pub const VERSION: u32 = 1;
/// The writer flushes to the OS at least this often while there is unflushed data.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// A line longer than this is damage, not data (a corrupted file without newlines must not eat
/// memory).
const MAX_LINE: usize = 64 << 20;
/// Updates queued for the writer before the app loop waits for it (backpressure, never loss).
const QUEUE: usize = 65_536;
/// zstd level: the stream is small and repetitive; level 6 compresses it well at low CPU.
const ZSTD_LEVEL: i32 = 6;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

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

/// Masks identifiers in everything written to a redacted recording. Each identifier becomes the
/// usual mask plus a pseudonym keyed by a random per-recording secret that is never written:
/// `ip-10-0-1-23` → `ip-x-x-x-x~qhzkmvbtra`. The pseudonym keeps distinct values distinct on
/// replay (two nodes stay two nodes, so EKS cost is right) without being reversible.
struct Redactor {
    key: std::collections::hash_map::RandomState,
}

impl Redactor {
    fn new() -> Self {
        Redactor {
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    fn pseudonym(&self, original: &str) -> String {
        // Letters only: a digit run could itself look like an account id to a later redaction.
        let mut h = self.key.hash_one(original);
        (0..10)
            .map(|_| {
                let c = (b'a' + (h % 26) as u8) as char;
                h /= 26;
                c
            })
            .collect()
    }

    /// Control characters go first (an escape sequence could split an address and hide it from
    /// the pattern), then identifiers are masked.
    fn string(&self, s: &str) -> String {
        let clean = sanitize::clean(s);
        redact_with(&clean, |kind, orig| {
            format!("{}~{}", kind.mask(), self.pseudonym(orig))
        })
        .into_owned()
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.string(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    match (k.as_str(), &val) {
                        // A user id names a person whatever it looks like: mask it whole.
                        ("user_id", Value::String(u)) => {
                            val = Value::String(format!(
                                "{}~{}",
                                crate::model::redact::USER_MASK,
                                self.pseudonym(u)
                            ));
                        }
                        // Span input/output never enter a redacted recording (as on screen).
                        ("input" | "output", Value::String(_)) => val = Value::Null,
                        _ => self.value(&mut val),
                    }
                    map.insert(self.string(&k), val);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The header as a redacted recording writes it: identifiers in the environment, file path and
/// config masked. Correlation rules are patterns, not data, and stay as they are (masking digits
/// in a regex would change what it matches on replay).
fn redact_header(r: &Redactor, h: &Header) -> io::Result<Header> {
    let mut out = h.clone();
    out.environment = r.string(&h.environment);
    out.config_file = h
        .config_file
        .as_ref()
        .map(|p| PathBuf::from(r.string(&p.to_string_lossy())));
    let mut cfg = serde_json::to_value(&h.config)?;
    if let Value::Object(map) = &mut cfg {
        for (k, v) in map.iter_mut() {
            if k != "correlation" {
                r.value(v);
            }
        }
    }
    out.config = serde_json::from_value(cfg)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Writing

#[derive(Serialize)]
struct LineOut<'a, U: Serialize> {
    t: i64,
    u: &'a U,
}

enum Sink {
    Plain(BufWriter<File>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            Sink::Zstd(w) => w,
        }
    }

    /// Push everything written so far to the OS. For zstd this ends the current block, so the
    /// file decodes up to here even if the process dies before `finish`.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Zstd(w) => w.finish()?.flush(),
        }
    }
}

/// True when recordings to `path` are compressed (`.zst`).
pub fn is_zstd_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zst"))
}

fn write_line(sink: &mut Sink, t: i64, u: &Update, redactor: Option<&Redactor>) -> io::Result<()> {
    let w = sink.writer();
    match redactor {
        None => serde_json::to_writer(&mut *w, &LineOut { t, u })?,
        Some(r) => {
            let mut v = serde_json::to_value(u)?;
            r.value(&mut v);
            serde_json::to_writer(&mut *w, &LineOut { t, u: &v })?
        }
    }
    w.write_all(b"\n")
}

/// What the writer thread reports when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordStats {
    pub records: u64,
}

/// Appends applied updates to a recording. Created by `--record FILE`; the app loop calls
/// [`Recorder::record`] after each update it applies.
pub struct Recorder {
    path: PathBuf,
    tx: Option<SyncSender<(i64, Update)>>,
    thread: Option<JoinHandle<io::Result<RecordStats>>>,
    /// Updates applied before the model had any time: stamped with the first time it gets.
    pending: Vec<Update>,
    last_t: i64,
    failed: Arc<Mutex<Option<String>>>,
    reported: bool,
}

impl Recorder {
    /// Create `path` (never overwriting an existing file), write the header and start the
    /// writer. `.zst` names are zstd-compressed.
    pub fn create(path: &Path, header: &Header) -> io::Result<Recorder> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        let buf = BufWriter::with_capacity(64 << 10, file);
        let mut sink = if is_zstd_name(path) {
            Sink::Zstd(zstd::stream::write::Encoder::new(buf, ZSTD_LEVEL)?)
        } else {
            Sink::Plain(buf)
        };
        let redactor = header.redacted.then(Redactor::new);
        let head = match &redactor {
            Some(r) => redact_header(r, header)?,
            None => header.clone(),
        };
        serde_json::to_writer(sink.writer(), &head)?;
        sink.writer().write_all(b"\n")?;
        sink.flush()?;
        let (tx, rx) = mpsc::sync_channel::<(i64, Update)>(QUEUE);
        let failed = Arc::new(Mutex::new(None));
        let failed_w = failed.clone();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                let res = writer_loop(rx, sink, redactor.as_ref());
                if let Err(e) = &res {
                    if let Ok(mut f) = failed_w.lock() {
                        *f = Some(e.to_string());
                    }
                }
                res
            })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            tx: Some(tx),
            thread: Some(thread),
            pending: Vec::new(),
            last_t: i64::MIN,
            failed,
            reported: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record an update the app just applied; `state` is the state after applying it (its
    /// clock stamps the line).
    pub fn record_applied(&mut self, state: &State, u: Update) {
        let now = state.now();
        let t = (now.timestamp_millis() > 0).then_some(now);
        self.record(t, u);
    }

    /// Record `u` at model time `t` (`None`: the model has no time yet; such updates wait for
    /// the first time). Times never go backwards in the file.
    pub fn record(&mut self, t: Option<DateTime<Utc>>, u: Update) {
        let Some(t) = t else {
            if self.pending.len() < QUEUE {
                self.pending.push(u);
            }
            return;
        };
        let t = t.timestamp_millis().max(self.last_t);
        self.last_t = t;
        let Some(tx) = &self.tx else {
            return;
        };
        let mut ok = true;
        for p in self.pending.drain(..) {
            ok &= tx.send((t, p)).is_ok();
        }
        ok &= tx.send((t, u)).is_ok();
        if !ok {
            // The writer ended (its error is in `failed`); stop queueing.
            self.tx = None;
        }
    }

    /// Once: why recording stopped, if the writer failed (disk full, file removed…).
    pub fn take_error(&mut self) -> Option<String> {
        if self.reported {
            return None;
        }
        let e = self.failed.lock().ok()?.clone()?;
        self.reported = true;
        Some(format!("recording to {} stopped: {e}", self.path.display()))
    }

    /// Flush and close the file; the number of updates written.
    pub fn finish(mut self) -> io::Result<RecordStats> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<RecordStats> {
        self.tx = None;
        match self.thread.take() {
            Some(h) => h
                .join()
                .map_err(|_| io::Error::other("the recording thread panicked"))?,
            None => Ok(RecordStats::default()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!("recording to {}: {e}", self.path.display());
        }
    }
}

fn writer_loop(
    rx: mpsc::Receiver<(i64, Update)>,
    mut sink: Sink,
    redactor: Option<&Redactor>,
) -> io::Result<RecordStats> {
    let mut stats = RecordStats::default();
    let mut dirty = false;
    let mut last_flush = Instant::now();
    loop {
        let wait = if dirty {
            FLUSH_EVERY.saturating_sub(last_flush.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        match rx.recv_timeout(wait) {
            Ok((t, u)) => {
                write_line(&mut sink, t, &u, redactor)?;
                stats.records += 1;
                dirty = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if dirty && last_flush.elapsed() >= FLUSH_EVERY {
            sink.flush()?;
            dirty = false;
            last_flush = Instant::now();
        }
    }
    sink.finish()?;
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Why a recording cannot be opened at all.
#[derive(Debug)]
pub enum OpenError {
    Io { path: PathBuf, error: io::Error },
    Empty { path: PathBuf },
    NotRecording { path: PathBuf, detail: String },
    FutureVersion { path: PathBuf, found: u64 },
    BadHeader { path: PathBuf, detail: String },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, error } => {
                write!(f, "cannot read recording {}: {error}", path.display())
            }
            OpenError::Empty { path } => write!(
                f,
                "{} is empty: not a recording (record one with `hybridtop --record FILE demo`)",
                path.display()
            ),
            OpenError::NotRecording { path, detail } => write!(
                f,
                "{} is not a hybridtop recording ({detail})",
                path.display()
            ),
            OpenError::FutureVersion { path, found } => write!(
                f,
                "{} is recording format version {found}, newer than this hybridtop {} reads \
                 (version {VERSION}); upgrade hybridtop to replay it",
                path.display(),
                env!("CARGO_PKG_VERSION")
            ),
            OpenError::BadHeader { path, detail } => write!(
                f,
                "{}: line 1: the recording header is damaged: {detail}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for OpenError {}

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
struct LineIn {
    t: i64,
    u: Update,
}

/// Streams a recording line by line.
pub struct Reader {
    input: Box<dyn BufRead + Send>,
    path: PathBuf,
    pub header: Header,
    /// Lines consumed so far (the header is line 1).
    line: u64,
    done: bool,
    buf: Vec<u8>,
}

fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>, OpenError> {
    let io_err = |error| OpenError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = BufReader::with_capacity(256 << 10, File::open(path).map_err(io_err)?);
    let head = file.fill_buf().map_err(io_err)?;
    if head.is_empty() {
        return Err(OpenError::Empty {
            path: path.to_path_buf(),
        });
    }
    // By content, not by name: a renamed .zst still opens.
    if head.starts_with(&ZSTD_MAGIC) {
        let dec = zstd::stream::read::Decoder::with_buffer(file).map_err(io_err)?;
        Ok(Box::new(BufReader::with_capacity(256 << 10, dec)))
    } else {
        Ok(Box::new(file))
    }
}

/// Read one line (without the newline) into `buf`. `Ok(false)` at a clean end of input; a line
/// over `MAX_LINE` is an error.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<(bool, bool)> {
    buf.clear();
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok((!buf.is_empty(), false));
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                buf.extend_from_slice(&chunk[..i]);
                input.consume(i + 1);
                return Ok((true, true));
            }
            None => {
                let n = chunk.len();
                buf.extend_from_slice(chunk);
                input.consume(n);
                if buf.len() > MAX_LINE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a line longer than {} MB", MAX_LINE >> 20),
                    ));
                }
            }
        }
    }
}

impl Reader {
    /// Open and check the header; refuse empty files, other files, and newer versions.
    pub fn open(path: &Path) -> Result<Reader, OpenError> {
        let mut input = open_input(path)?;
        let mut buf = Vec::new();
        let (got, _) =
            read_line(input.as_mut(), &mut buf).map_err(|e| OpenError::NotRecording {
                path: path.to_path_buf(),
                detail: format!("line 1: {e}"),
            })?;
        if !got || buf.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(OpenError::Empty {
                path: path.to_path_buf(),
            });
        }
        let header = parse_header(path, &buf)?;
        Ok(Reader {
            input,
            path: path.to_path_buf(),
            header,
            line: 1,
            done: false,
            buf,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines consumed so far, the header included.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next record; `Err(Damage)` once at a line that cannot be read, then `None`.
    pub fn next_record(&mut self) -> Option<Result<Record, Damage>> {
        if self.done {
            return None;
        }
        loop {
            let line_no = self.line + 1;
            let (got, terminated) = match read_line(self.input.as_mut(), &mut self.buf) {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Damage {
                        line: line_no,
                        message: format!("cannot read: {e} (the file is cut short or corrupted)"),
                    }));
                }
            };
            if !got {
                self.done = true;
                return None;
            }
            self.line = line_no;
            if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return match decode_record(&self.buf) {
                Ok(r) => Some(Ok(r)),
                Err(e) => {
                    self.done = true;
                    let message = if !terminated && e.is_eof() {
                        "the line is incomplete: the recording was cut short".to_string()
                    } else {
                        format!("not a valid record: {e}")
                    };
                    Some(Err(Damage {
                        line: line_no,
                        message,
                    }))
                }
            };
        }
    }
}

/// Decode one record line (not the header). Public so the fuzz target drives the exact decoder
/// a replay uses.
pub fn decode_record(line: &[u8]) -> Result<Record, serde_json::Error> {
    serde_json::from_slice::<LineIn>(line).map(|l| Record {
        t: l.t,
        update: l.u,
    })
}

/// Check and decode a header line; `path` only names the file in errors. Public for the fuzz
/// target, like [`decode_record`].
pub fn parse_header(path: &Path, line: &[u8]) -> Result<Header, OpenError> {
    let not = |detail: String| OpenError::NotRecording {
        path: path.to_path_buf(),
        detail,
    };
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| not(format!("line 1 is not a recording header: {e}")))?;
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(not(format!("line 1 has no \"format\": \"{FORMAT}\"")));
    }
    let version = v
        .get("version")
        .and_then(Value::as_u64)
        .ok_or_else(|| OpenError::BadHeader {
            path: path.to_path_buf(),
            detail: "no format version".into(),
        })?;
    if version > u64::from(VERSION) {
        return Err(OpenError::FutureVersion {
            path: path.to_path_buf(),
            found: version,
        });
    }
    serde_json::from_value(v).map_err(|e| OpenError::BadHeader {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Index and positioning

/// A weight change seen in a recording (timeline marker).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub t: i64,
    pub weights: Weights,
}

/// What a full pass over a recording tells: its span, weight changes and damage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub records: u64,
    pub markers: Vec<Marker>,
    pub damage: Option<Damage>,
}

/// Markers beyond this many are dropped (the timeline has at most a few hundred cells).
const MAX_MARKERS: usize = 10_000;

/// Only what the index needs: the line is still fully checked as JSON, but no update is built.
#[derive(Deserialize)]
struct LightLine {
    t: i64,
    u: LightUpdate,
}

#[derive(Deserialize)]
struct LightUpdate {
    kind: String,
    #[serde(default)]
    weights: Option<Weights>,
}

/// Read the whole recording once (the replay UI does this in the background).
pub fn index(path: &Path) -> Result<Index, OpenError> {
    let mut r = Reader::open(path)?;
    let mut ix = Index::default();
    let mut last_weights: Option<Weights> = None;
    loop {
        let line_no = r.line + 1;
        let (got, terminated) = match read_line(r.input.as_mut(), &mut r.buf) {
            Ok(x) => x,
            Err(e) => {
                ix.damage = Some(Damage {
                    line: line_no,
                    message: format!("cannot read: {e} (the file is cut short or corrupted)"),
                });
                break;
            }
        };
        if !got {
            break;
        }
        r.line = line_no;
        if r.buf.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let l: LightLine = match serde_json::from_slice(&r.buf) {
            Ok(l) => l,
            Err(e) => {
                let message = if !terminated && e.is_eof() {
                    "the line is incomplete: the recording was cut short".to_string()
                } else {
                    format!("not a valid record: {e}")
                };
                ix.damage = Some(Damage {
                    line: line_no,
                    message,
                });
                break;
            }
        };
        ix.records += 1;
        ix.start_ms.get_or_insert(l.t);
        ix.end_ms = Some(ix.end_ms.map_or(l.t, |e| e.max(l.t)));
        if l.u.kind == "weights" {
            if let Some(w) = l.u.weights {
                if last_weights.as_ref().is_some_and(|p| *p != w) && ix.markers.len() < MAX_MARKERS
                {
                    ix.markers.push(Marker {
                        t: l.t,
                        weights: w.clone(),
                    });
                }
                last_weights = Some(w);
            }
        }
    }
    Ok(ix)
}

/// The replay source's own health line: the recording is being read.
pub fn replay_health(damage: Option<&Damage>) -> Update {
    Update::Health(SourceHealth {
        source: SourceName::Replay,
        state: if damage.is_some() {
            SourceState::Error
        } else {
            SourceState::Ok
        },
        last_success: None,
        error: damage.map(|d| format!("recording damaged at {d}; replay stops there")),
    })
}

/// A state replayed from the start of a recording up to a position, and the reader left just
/// after it (the first record past the position is in `next`).
pub struct Positioned {
    pub state: State,
    pub reader: Reader,
    pub next: Option<Record>,
    /// The first record's time, if there was any record.
    pub start_ms: Option<i64>,
    /// The time of the last record applied.
    pub last_ms: Option<i64>,
    /// Damage met before the position (replay cannot go past it).
    pub damage: Option<Damage>,
    /// Records applied.
    pub applied: u64,
}

/// Where to stop: an absolute model time or an offset from the first record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    At(i64),
    FromStart(i64),
}

/// Replay a recording from its start into a fresh state, applying every record with
/// `t <= target`. Fast: no pacing, no channel, no derive.
pub fn replay_to(path: &Path, target: Target) -> Result<Positioned, OpenError> {
    let reader = Reader::open(path)?;
    let origin = format!("recording {}", path.display());
    let mut state = reader.header.new_state(&origin);
    state.apply(replay_health(None));
    let mut p = Positioned {
        state,
        reader,
        next: None,
        start_ms: None,
        last_ms: None,
        damage: None,
        applied: 0,
    };
    advance(&mut p, target);
    Ok(p)
}

/// Apply records from `p.next`/the reader while they are at or before `target`.
pub fn advance(p: &mut Positioned, target: Target) {
    loop {
        let rec = match p.next.take() {
            Some(r) => r,
            None => match p.reader.next_record() {
                None => return,
                Some(Ok(r)) => r,
                Some(Err(d)) => {
                    p.state.apply(replay_health(Some(&d)));
                    p.damage = Some(d);
                    return;
                }
            },
        };
        let start = *p.start_ms.get_or_insert(rec.t);
        let limit = match target {
            Target::At(t) => t,
            Target::FromStart(off) => start.saturating_add(off),
        };
        if rec.t > limit {
            p.next = Some(rec);
            return;
        }
        p.last_ms = Some(rec.t);
        p.applied += 1;
        p.state.apply(rec.update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::update::{Level, Observation};

    fn header(redacted: bool) -> Header {
        Header::new(&Config::demo(), Mode::Demo, redacted, false)
    }

    fn t(s: i64) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::from_timestamp(1_764_061_200 + s, 0)
    }

    fn clock(s: i64) -> Update {
        Update::Clock {
            now: t(s).unwrap_or_default(),
        }
    }

    #[test]
    fn header_round_trips_and_rebuilds_the_config() {
        let h = header(false);
        let text = serde_json::to_string(&h).unwrap();
        let back: Header = serde_json::from_str(&text).unwrap();
        let cfg = back.config.to_config("x");
        let demo = Config::demo();
        assert_eq!(cfg.path_ids(), demo.path_ids());
        assert_eq!(cfg.general.window, demo.general.window);
        assert_eq!(cfg.general.environment, "demo");
        assert_eq!(
            cfg.correlation.context_grace,
            demo.correlation.context_grace
        );
        assert!(cfg.correlation_rules().is_ok());
        assert_eq!(
            cfg.paths[1]
                .agentcore
                .as_ref()
                .unwrap()
                .usd_per_1k_input_tokens,
            0.001
        );
        assert!(text.contains("\"window\":\"5m\""), "{text}");
    }

    #[test]
    fn write_then_read_plain_and_zstd() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["r.jsonl", "r.jsonl.zst"] {
            let path = dir.path().join(name);
            let mut rec = Recorder::create(&path, &header(false)).unwrap();
            // Before the model has time: held, then stamped with the first time.
            rec.record(None, replay_health(None));
            for s in 0..5 {
                rec.record(t(s), clock(s));
            }
            assert_eq!(rec.finish().unwrap().records, 6);
            let raw = std::fs::read(&path).unwrap();
            assert_eq!(raw.starts_with(&ZSTD_MAGIC), name.ends_with(".zst"));
            let mut r = Reader::open(&path).unwrap();
            assert_eq!(r.header.mode, Mode::Demo);
            let recs: Vec<Record> = std::iter::from_fn(|| r.next_record())
                .map(|x| x.unwrap())
                .collect();
            assert_eq!(recs.len(), 6);
            assert_eq!(recs[0].t, recs[1].t);
            assert_eq!(recs[5].update, clock(4));
            // Never overwrites.
            assert!(Recorder::create(&path, &header(false)).is_err());
        }
    }

    #[test]
    fn redaction_masks_with_stable_pseudonyms() {
        let r = Redactor::new();
        let a = r.string("node ip-10-0-1-23 and ip-10-0-1-24");
        let b = r.string("ip-10-0-1-23");
        assert!(!a.contains("10-0-1"), "{a}");
        assert!(a.contains(&b), "same value, same pseudonym: {a} / {b}");
        let parts: Vec<&str> = a.split(' ').collect();
        assert_ne!(parts[1], parts[3], "different values stay different");
        assert_eq!(
            r.string("mail bob@example.com\x1b[0m"),
            format!("mail ***@***~{}", r.pseudonym("bob@example.com"))
        );
        // A masked value is left alone by the display-time redaction.
        assert_eq!(crate::model::redact::redact(&b), b);
        let mut v = serde_json::json!({"kind": "observations", "arn": "arn:aws:x:us-east-2:123456789012:y", "n": 5});
        r.value(&mut v);
        assert_eq!(v["kind"], "observations");
        assert!(!v.to_string().contains("123456789012"));
        assert_eq!(v["n"], 5);
    }

    #[test]
    fn redacted_header_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut rec = Recorder::create(&path, &header(true)).unwrap();
        let obs = Observation {
            id: "o1".into(),
            trace_id: "tr".into(),
            session_id: Some("hybrid-s1".into()),
            parent_observation_id: None,
            name: "call for carol@example.org".into(),
            start: t(0).unwrap(),
            end: None,
            model: None,
            tags: vec![],
            parent_ref: None,
            level: Level::Default,
            status_message: Some("AccessDenied arn:aws:iam::210987654321:role/x".into()),
            input_tokens: None,
            output_tokens: None,
            cost_usd: None,
            side: None,
            input: Some("from dave@example.net".into()),
            output: None,
            html_path: None,
            user_id: Some("erin.smith".into()),
        };
        rec.record(t(0), Update::Observations { items: vec![obs] });
        rec.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [
            "123456789012",
            "210987654321",
            "carol@example.org",
            "dave@example.net",
            "erin.smith",
        ] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        assert!(text.contains("\"redacted\":true"));
        // Still a valid recording whose config rebuilds.
        let mut r = Reader::open(&path).unwrap();
        assert!(r.header.redacted);
        assert!(r.header.config.to_config("x").correlation_rules().is_ok());
        assert!(matches!(r.next_record(), Some(Ok(_))));
    }
}
