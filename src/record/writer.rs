//! Writing a recording: a thread of its own behind a bounded queue (backpressure, never loss),
//! flushed at least every `FLUSH_EVERY`, redacting before anything is written when asked.
use super::*;
use crate::model::redact::redact_with;
use crate::model::sanitize;
use crate::model::state::State;
use crate::model::update::Update;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Masks identifiers in everything written to a redacted recording. Each identifier becomes the
/// usual mask plus a pseudonym keyed by a random per-recording secret that is never written:
/// `ip-10-0-1-23` → `ip-x-x-x-x~qhzkmvbtra`. The pseudonym keeps distinct values distinct on
/// replay (two nodes stay two nodes, so EKS cost is right) without being reversible.
pub struct Redactor {
    key: std::collections::hash_map::RandomState,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    pub(super) fn pseudonym(&self, original: &str) -> String {
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
    pub(super) fn string(&self, s: &str) -> String {
        let clean = sanitize::clean(s);
        redact_with(&clean, |kind, orig| {
            format!("{}~{}", kind.mask(), self.pseudonym(orig))
        })
        .into_owned()
    }

    pub(super) fn value(&self, v: &mut Value) {
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
pub(super) fn redact_header(r: &Redactor, h: &Header) -> io::Result<Header> {
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

/// One record line (without its newline), redacted when a redactor is given: what a recording
/// holds per update, and what a collector publishes.
pub fn encode_line(t: i64, u: &Update, redactor: Option<&Redactor>) -> io::Result<Vec<u8>> {
    let mut w = Vec::with_capacity(256);
    match redactor {
        None => serde_json::to_writer(&mut w, &LineOut { t, u })?,
        Some(r) => {
            let mut v = serde_json::to_value(u)?;
            r.value(&mut v);
            serde_json::to_writer(&mut w, &LineOut { t, u: &v })?
        }
    }
    Ok(w)
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
        // 0600: a recording holds user ids and span text unless --redact.
        let file = crate::config::private::create_new(path)?;
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
