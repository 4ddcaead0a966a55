//! The app's side of record and replay: the recorder tap on applied updates, the replay keys,
//! and the replay player's events. Kept apart from `app.rs` so the event loop stays readable.
use super::App;
use crate::action::Action;
use crate::model::update::Update;
use crate::record::player::{Control, Event, ReplayLink, Status, SEEK_LARGE_MS, SEEK_SMALL_MS};
use crate::record::{Header, Recorder};
use crate::ui::state::ReplayUi;
use crate::ui::state::ToastLevel;
use std::path::Path;
use tokio::sync::mpsc;

pub(super) struct Link {
    control: std::sync::mpsc::Sender<Control>,
    events: Option<mpsc::Receiver<Event>>,
}

impl App {
    /// Record every update applied from now on. The state's current clock (live mode starts
    /// with one) is written first, so the recording starts where the screen does.
    pub fn attach_recorder(&mut self, mut rec: Recorder) {
        let now = self.state.now();
        if now.timestamp_millis() > 0 {
            rec.record(Some(now), Update::Clock { now });
        }
        self.recorder = Some(rec);
    }

    pub(super) fn record(&mut self, u: Update) {
        let Some(rec) = self.recorder.as_mut() else {
            return;
        };
        rec.record_applied(&self.state, u);
        if let Some(e) = rec.take_error() {
            tracing::error!("{e}");
            self.recorder = None;
            self.toast(ToastLevel::Error, e);
        }
    }

    /// Drive this app from a replay player (see `sources::replay`).
    pub fn attach_replay(&mut self, link: ReplayLink, file: &Path, header: &Header) {
        self.replay = Some(Link {
            control: link.control,
            events: Some(link.events),
        });
        self.ui.replay = Some(ReplayUi {
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            recorded: format!("recorded {}", header.mode.as_str()),
            speed: 1.0,
            ..ReplayUi::default()
        });
    }

    /// The player's events: `run_tui` takes them; tests drive the loop themselves.
    pub fn take_replay_events(&mut self) -> Option<mpsc::Receiver<Event>> {
        self.replay.as_mut()?.events.take()
    }

    /// Ask the player for something (the replay keys do this).
    pub fn replay_control(&mut self, c: Control) {
        if let Some(l) = &self.replay {
            if l.control.send(c).is_err() {
                self.toast(ToastLevel::Error, "the replay has stopped");
            }
        }
    }

    /// Replay keys, before the keymap: space, ←/→ (Shift: ×10), +/-, g/G.
    /// A replay key (`action::KeyMode::Replay`, looked up before the normal keymap).
    pub(super) fn replay_action(&mut self, action: Option<Action>) {
        let c = match action {
            Some(Action::ReplayPause) => Control::TogglePause,
            Some(Action::ReplayBackFar) => Control::Seek(-SEEK_LARGE_MS),
            Some(Action::ReplayForwardFar) => Control::Seek(SEEK_LARGE_MS),
            Some(Action::ReplayBack) => Control::Seek(-SEEK_SMALL_MS),
            Some(Action::ReplayForward) => Control::Seek(SEEK_SMALL_MS),
            Some(Action::ReplayFaster) => Control::Faster,
            Some(Action::ReplaySlower) => Control::Slower,
            Some(Action::ReplayStart) => Control::Start,
            Some(Action::ReplayEnd) => Control::End,
            _ => return,
        };
        self.replay_control(c);
    }

    fn replay_status(&mut self, s: Status) {
        if let Some(r) = self.ui.replay.as_mut() {
            r.position_ms = s.position_ms;
            r.start_ms = s.start_ms;
            r.speed = s.speed;
            r.paused = s.paused;
            r.at_end = s.at_end;
            if !r.indexed {
                r.end_ms = Some(r.end_ms.map_or(s.position_ms, |e| e.max(s.position_ms)));
            }
        }
    }

    pub fn on_replay_event(&mut self, ev: Event) {
        match ev {
            Event::Advance { updates, status } => {
                for u in updates {
                    self.apply(u);
                }
                self.replay_status(status);
            }
            Event::Reset { state, status } => {
                self.state = *state;
                self.stale = true;
                self.replay_status(status);
            }
            Event::Index(ix) => {
                if let Some(d) = &ix.damage {
                    self.toast(
                        ToastLevel::Error,
                        format!("recording damaged at {d}; replay stops there"),
                    );
                }
                if let Some(r) = self.ui.replay.as_mut() {
                    r.start_ms = ix.start_ms.or(r.start_ms);
                    r.end_ms = ix.end_ms;
                    r.markers = ix.markers.iter().map(|m| m.t).collect();
                    r.damage_line = ix.damage.as_ref().map(|d| d.line);
                    r.indexed = true;
                }
            }
            Event::Damage(d) => {
                tracing::warn!("replay: {d}");
                self.toast(ToastLevel::Error, format!("replay stopped at damaged {d}"));
            }
            Event::Failed(e) => {
                tracing::error!("replay: {e}");
                self.toast(ToastLevel::Error, e);
            }
        }
    }
}
