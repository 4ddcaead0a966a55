//! The replay source: reads a recording back on a virtual clock.
//!
//! It runs on a thread of its own (blocking file reads, zstd, and the CPU-heavy rebuild on a
//! backwards seek must never stall the UI) and talks to the app loop over two channels: the app
//! sends [`Control`]s (the replay keys), the player sends [`Event`]s — updates to apply, in
//! order, each batch with the position it brings the replay to.
//!
//! Seeking forwards sends the records in between at once. Seeking backwards cannot undo
//! updates, so the player builds a fresh `State` itself, re-applying the recording from the
//! start (no pacing, no channel, no derive), and hands the finished state over in one
//! [`Event::Reset`]: the app swaps it in, so no half-built state is ever drawn. An app-level
//! reset rather than an `Update::Reset` keeps `Update` what it is — data from sources — and the
//! model free of replay concerns.
//!
//! A second thread indexes the file in the background (span, weight-change markers, damage) for
//! the timeline; playback never waits for it.
use crate::model::state::State;
use crate::model::update::Update;
use crate::record::{self, Damage, Header, Index, OpenError, Reader, Record, Target};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One minute and ten minutes of recorded time, for `←`/`→` and `Shift-←`/`Shift-→`.
pub const SEEK_SMALL_MS: i64 = 60_000;
pub const SEEK_LARGE_MS: i64 = 600_000;
/// `+`/`-` stop here (the same ceiling as `--speed`).
pub const MAX_SPEED: f64 = 10_000.0;
pub const MIN_SPEED: f64 = 1.0 / 64.0;
/// Updates per event: big enough to move fast on a seek, small enough to interleave with keys.
const BATCH: usize = 2_000;
/// Wake at most this often while playing (fast playback delivers in batches).
const MIN_WAKE: Duration = Duration::from_millis(50);
const MAX_WAKE: Duration = Duration::from_millis(1_000);

/// What the operator asks of the replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Control {
    TogglePause,
    /// Move by this many milliseconds of recorded time (negative: back).
    Seek(i64),
    Start,
    End,
    Faster,
    Slower,
}

/// Where the replay is, for the timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    /// The virtual clock, ms since the Unix epoch.
    pub position_ms: i64,
    /// The first record's time (`None`: the recording has no records).
    pub start_ms: Option<i64>,
    pub speed: f64,
    pub paused: bool,
    /// Every record has been applied (or the rest is damaged).
    pub at_end: bool,
}

pub enum Event {
    /// Apply these in order; the replay is then at `status`.
    Advance {
        updates: Vec<Update>,
        status: Status,
    },
    /// Replace the state (a backwards seek rebuilt it); the replay is then at `status`.
    Reset { state: Box<State>, status: Status },
    /// The background index is done.
    Index(Index),
    /// Playback reached a damaged line and stops there.
    Damage(Damage),
    /// Something went wrong reading the file again (removed while replaying…).
    Failed(String),
}

/// The app's end of a running replay.
pub struct ReplayLink {
    pub control: std_mpsc::Sender<Control>,
    pub events: mpsc::Receiver<Event>,
}

/// Open `path` (header checks happen here, before any UI), then start the player and the
/// indexer. `speed` is recorded seconds per real second; `paused` starts with the clock stopped
/// at the first record.
pub fn spawn(path: &Path, speed: f64, paused: bool) -> Result<(Header, ReplayLink), OpenError> {
    let reader = Reader::open(path)?;
    let header = reader.header.clone();
    let (ctl_tx, ctl_rx) = std_mpsc::channel();
    let (ev_tx, ev_rx) = mpsc::channel(64);
    let ix_tx = ev_tx.clone();
    let ix_path = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("replay-index".into())
        .spawn(move || {
            let ev = match record::index(&ix_path) {
                Ok(ix) => Event::Index(ix),
                Err(e) => Event::Failed(e.to_string()),
            };
            let _ = ix_tx.blocking_send(ev);
        });
    if let Err(e) = spawned {
        tracing::warn!("replay: cannot start the indexer: {e}");
    }
    let mut player = Player::new(path.to_path_buf(), reader, speed, ev_tx);
    player.paused = paused;
    std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || player.run(ctl_rx))
        .map_err(|error| OpenError::Io {
            path: path.to_path_buf(),
            error,
        })?;
    Ok((
        header,
        ReplayLink {
            control: ctl_tx,
            events: ev_rx,
        },
    ))
}

fn clamp_speed(s: f64) -> f64 {
    if s.is_finite() && s > 0.0 {
        s.clamp(MIN_SPEED, MAX_SPEED)
    } else {
        1.0
    }
}

struct Player {
    path: PathBuf,
    reader: Reader,
    /// The next record, read but not yet sent.
    next: Option<Record>,
    eof: bool,
    start_ms: Option<i64>,
    /// The time of the last record sent: the app's state holds every record up to here.
    last_ms: Option<i64>,
    /// Virtual clock at `anchor`.
    anchor_pos: f64,
    anchor: Instant,
    speed: f64,
    paused: bool,
    events: mpsc::Sender<Event>,
    /// Updates waiting to be sent.
    batch: Vec<Update>,
    last_status: Option<(Status, Instant)>,
    /// The app is gone.
    closed: bool,
}

impl Player {
    fn new(path: PathBuf, reader: Reader, speed: f64, events: mpsc::Sender<Event>) -> Player {
        Player {
            path,
            reader,
            next: None,
            eof: false,
            start_ms: None,
            last_ms: None,
            anchor_pos: 0.0,
            anchor: Instant::now(),
            speed: clamp_speed(speed),
            paused: false,
            events,
            // The replay source reports itself healthy first, exactly as `replay_to` does, so
            // playback and a rebuilt state agree.
            batch: vec![record::replay_health(None)],
            last_status: None,
            closed: false,
        }
    }

    fn pos(&self) -> f64 {
        if self.paused {
            self.anchor_pos
        } else {
            self.anchor_pos + self.anchor.elapsed().as_secs_f64() * 1000.0 * self.speed
        }
    }

    fn set_pos(&mut self, pos: f64) {
        self.anchor_pos = pos;
        self.anchor = Instant::now();
    }

    /// The next record, reading it if needed. Damage is reported once and ends the input.
    fn peek(&mut self) -> Option<&Record> {
        if self.next.is_none() && !self.eof {
            match self.reader.next_record() {
                Some(Ok(r)) => {
                    self.start_ms.get_or_insert(r.t);
                    self.next = Some(r);
                }
                Some(Err(d)) => {
                    self.eof = true;
                    tracing::warn!("replay {}: {d}", self.path.display());
                    self.batch.push(record::replay_health(Some(&d)));
                    self.send(Event::Damage(d));
                }
                None => self.eof = true,
            }
        }
        self.next.as_ref()
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn status(&mut self) -> Status {
        let at_end = self.at_end();
        let mut pos = self.pos();
        if at_end {
            // Nothing more to play: the clock stops at the last record.
            if let Some(last) = self.last_ms {
                pos = pos.min(last as f64);
            }
        }
        Status {
            position_ms: pos as i64,
            start_ms: self.start_ms,
            speed: self.speed,
            paused: self.paused || at_end,
            at_end,
        }
    }

    fn send(&mut self, ev: Event) {
        if self.closed {
            return;
        }
        if self.events.blocking_send(ev).is_err() {
            self.closed = true;
        }
    }

    /// Send the pending updates (if any) with the current status.
    fn flush(&mut self, force_status: bool) {
        let status = self.status();
        if self.batch.is_empty() {
            let changed = match self.last_status {
                None => true,
                Some((s, at)) => {
                    // While playing, the clock on the timeline moves once per recorded second.
                    s.paused != status.paused
                        || s.speed != status.speed
                        || s.at_end != status.at_end
                        || (s.position_ms / 1000 != status.position_ms / 1000
                            && at.elapsed() >= Duration::from_millis(100))
                }
            };
            if !(force_status || changed) {
                return;
            }
        }
        let updates = std::mem::take(&mut self.batch);
        self.last_status = Some((status, Instant::now()));
        self.send(Event::Advance { updates, status });
    }

    /// Queue every record at or before `limit`, sending full batches as they fill. While
    /// `seeking`, the clock follows the records sent, so the timeline shows the seek's progress.
    fn deliver_until(&mut self, limit: i64, seeking: bool) {
        while self.peek().is_some_and(|r| r.t <= limit) {
            let Some(r) = self.next.take() else { break };
            self.last_ms = Some(r.t);
            self.batch.push(r.update);
            if self.batch.len() >= BATCH {
                if seeking {
                    self.set_pos(r.t as f64);
                }
                self.flush(true);
                if self.closed {
                    return;
                }
            }
        }
    }

    fn seek_to(&mut self, target: i64) {
        let start = self.start_ms.unwrap_or(target);
        let target = target.max(start);
        // The state holds everything up to `last_ms`; only going back past it needs a rebuild.
        if self.last_ms.is_some_and(|last| target < last) {
            match record::replay_to(&self.path, Target::At(target)) {
                Ok(p) => {
                    self.reader = p.reader;
                    self.next = p.next;
                    self.eof = p.damage.is_some() || self.next.is_none();
                    self.last_ms = p.last_ms;
                    self.start_ms = p.start_ms.or(self.start_ms);
                    self.batch.clear();
                    self.set_pos(target as f64);
                    let status = self.status();
                    self.last_status = Some((status, Instant::now()));
                    self.send(Event::Reset {
                        state: Box::new(p.state),
                        status,
                    });
                }
                Err(e) => self.send(Event::Failed(e.to_string())),
            }
            return;
        }
        self.deliver_until(target, true);
        let pos = match (self.at_end(), self.last_ms) {
            (true, Some(last)) => target.min(last),
            _ => target,
        };
        self.set_pos(pos as f64);
        self.flush(true);
    }

    fn control(&mut self, c: Control) {
        let pos = self.pos();
        match c {
            Control::TogglePause => {
                if self.at_end() && !self.paused {
                    // At the end, "play" starts over.
                    if let Some(s) = self.start_ms {
                        self.seek_to(s);
                    }
                    self.paused = false;
                    self.set_pos(self.anchor_pos);
                } else {
                    self.set_pos(pos);
                    self.paused = !self.paused;
                }
            }
            Control::Seek(delta) => self.seek_to((pos as i64).saturating_add(delta)),
            Control::Start => {
                if let Some(s) = self.start_ms {
                    self.seek_to(s);
                }
            }
            Control::End => self.seek_to(i64::MAX),
            Control::Faster | Control::Slower => {
                self.set_pos(pos);
                let f = if c == Control::Faster { 2.0 } else { 0.5 };
                self.speed = clamp_speed(self.speed * f);
            }
        }
        self.flush(true);
    }

    fn run(&mut self, controls: std_mpsc::Receiver<Control>) {
        // The clock starts at the first record.
        let first = self.peek().map(|r| r.t);
        self.set_pos(first.unwrap_or(0) as f64);
        // The first record's second is shown even when starting paused.
        if let Some(t) = first {
            self.deliver_until(t, false);
        }
        while !self.closed {
            if !self.paused {
                let pos = self.pos() as i64;
                self.deliver_until(pos, false);
            }
            self.flush(false);
            let wait = if self.paused || self.at_end() {
                Duration::from_secs(3600)
            } else {
                let pos = self.pos();
                let next_second = ((pos / 1000.0).floor() + 1.0) * 1000.0;
                let next_record = self.next.as_ref().map_or(f64::MAX, |r| r.t as f64);
                let ms = (next_second.min(next_record) - pos).max(0.0) / self.speed;
                Duration::from_secs_f64(ms / 1000.0).clamp(MIN_WAKE, MAX_WAKE)
            };
            match controls.recv_timeout(wait) {
                Ok(c) => self.control(c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}
