//! Reading a recording back: streamed line by line (never loaded whole), damage reported by line
//! number, the background index of span and weight changes, and seeking to a position.
use super::*;
use crate::domain::weights::Weights;
use crate::model::state::State;
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

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
        permanent: false,
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
