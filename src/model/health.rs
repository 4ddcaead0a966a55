//! Per-source health: a fixed list in a fixed order, states as the sources report them, ages
//! relative to the model's `now`.
use crate::config::Config;
use crate::model::redact::opt_text;
use crate::model::snapshot::{Mode, SourceStatus};
use crate::model::update::{SourceHealth, SourceName, SourceState};
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Entry {
    name: SourceName,
    state: SourceState,
    last_success: Option<DateTime<Utc>>,
    error: Option<String>,
    simulated: bool,
    /// The last error will not fix itself.
    permanent: bool,
    /// Live mode only: an `ok` source whose data is older than this shows `stale` (a source task
    /// that hung cannot report its own staleness).
    stale_after: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct Sources {
    entries: Vec<Entry>,
}

/// Longest error text kept per source.
const MAX_ERROR_LEN: usize = 500;

/// How often a listening OTLP receiver re-confirms itself (`sources::otlp::HEARTBEAT`).
pub const OTLP_HEARTBEAT: Duration = Duration::from_secs(5);

/// Team mode's interval: a viewer calls the collector stale after two of them without a word.
pub const COLLECTOR_INTERVAL: Duration = Duration::from_secs(5);
/// How often a collector says it is alive: often enough that a standby's takeover (within
/// `LEASE_TTL` + `LEASE_TICK`, 6 s) never shows as stale.
pub const COLLECTOR_HEARTBEAT: Duration = Duration::from_secs(2);

fn stale_after(interval: Duration) -> Duration {
    interval.saturating_mul(3) + Duration::from_secs(60)
}

impl Sources {
    pub fn new(config: &Config, mode: Mode) -> Sources {
        let aws = config.aws.clone().unwrap_or_default();
        let langfuse = config.langfuse.clone().unwrap_or_default();
        let prometheus = config.prometheus.clone().unwrap_or_default();
        let mut entries: Vec<Entry> = SourceName::LIVE
            .iter()
            .map(|&name| {
                let (enabled, interval) = match name {
                    SourceName::Cloudwatch => (config.aws.is_some(), Some(aws.cloudwatch_interval)),
                    SourceName::CostExplorer => {
                        (config.aws.is_some(), Some(aws.cost_explorer_interval))
                    }
                    // Watches have no poll interval, but a healthy source confirms itself at
                    // least once a minute (bookmarks, and every watch is renewed after 55 s).
                    SourceName::Kubernetes => {
                        (config.kubernetes.is_some(), Some(Duration::from_secs(60)))
                    }
                    SourceName::Langfuse => (config.langfuse.is_some(), Some(langfuse.interval)),
                    SourceName::Prometheus => {
                        (config.prometheus.is_some(), Some(prometheus.interval))
                    }
                    SourceName::Otlp | SourceName::Replay | SourceName::Collector => (false, None),
                };
                let (state, simulated, stale) = match mode {
                    Mode::Demo => (SourceState::Connecting, true, None),
                    Mode::Live if enabled => {
                        (SourceState::Connecting, false, interval.map(stale_after))
                    }
                    // Replay shows what the recording says; a source the recording never
                    // mentions stays disabled.
                    // So does an attached viewer: the collector's word for each source.
                    Mode::Live | Mode::Replay | Mode::Attach => {
                        (SourceState::Disabled, false, None)
                    }
                };
                Entry {
                    name,
                    state,
                    last_success: None,
                    error: None,
                    simulated,
                    permanent: false,
                    stale_after: stale,
                }
            })
            .collect();
        if mode == Mode::Live && config.otlp.is_some() {
            entries.push(Entry {
                name: SourceName::Otlp,
                state: SourceState::Connecting,
                last_success: None,
                error: None,
                simulated: false,
                permanent: false,
                stale_after: Some(stale_after(OTLP_HEARTBEAT)),
            });
        }
        if mode == Mode::Attach {
            // Silent for two intervals: stale, whatever the sources it relays said last.
            entries.push(Entry {
                name: SourceName::Collector,
                state: SourceState::Connecting,
                last_success: None,
                error: None,
                simulated: false,
                permanent: false,
                stale_after: Some(COLLECTOR_INTERVAL.saturating_mul(2)),
            });
        }
        if mode == Mode::Replay {
            entries.push(Entry {
                name: SourceName::Replay,
                state: SourceState::Connecting,
                last_success: None,
                error: None,
                simulated: false,
                permanent: false,
                stale_after: None,
            });
        }
        Sources { entries }
    }

    pub fn apply(&mut self, h: SourceHealth) {
        let pos = match self.entries.iter().position(|e| e.name == h.source) {
            Some(p) => p,
            None => {
                // A source outside the fixed list (e.g. replay in live mode): slot it in order.
                let at = self
                    .entries
                    .iter()
                    .position(|e| e.name > h.source)
                    .unwrap_or(self.entries.len());
                self.entries.insert(
                    at,
                    Entry {
                        name: h.source,
                        state: SourceState::Connecting,
                        last_success: None,
                        error: None,
                        simulated: false,
                        permanent: false,
                        stale_after: None,
                    },
                );
                at
            }
        };
        let e = &mut self.entries[pos];
        e.state = h.state;
        e.permanent = h.permanent && h.state == SourceState::Error;
        if h.last_success.is_some() {
            e.last_success = match (e.last_success, h.last_success) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => b.or(a),
            };
        }
        e.error = h.error.map(|mut s| {
            if s.len() > MAX_ERROR_LEN {
                let mut cut = MAX_ERROR_LEN;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
            }
            s
        });
    }

    pub fn view(&self, now: DateTime<Utc>, redact: bool) -> Vec<SourceStatus> {
        self.entries
            .iter()
            .map(|e| {
                let age = e
                    .last_success
                    .map(|t| ((now - t).num_milliseconds().max(0)) as f64 / 1000.0);
                let mut state = e.state;
                if let (SourceState::Ok, Some(limit), Some(age)) = (state, e.stale_after, age) {
                    if age > limit.as_secs_f64() {
                        state = SourceState::Stale;
                    }
                }
                SourceStatus {
                    name: e.name,
                    state,
                    last_success: e.last_success,
                    age_seconds: age,
                    error: opt_text(e.error.as_deref(), redact),
                    simulated: e.simulated,
                    permanent: e.permanent,
                    lag_seconds: None,
                    interval_seconds: None,
                    catching_up: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fleet::tests::at;

    fn names(v: &[SourceStatus]) -> Vec<(&'static str, &'static str)> {
        v.iter()
            .map(|s| (s.name.as_str(), s.state.as_str()))
            .collect()
    }

    #[test]
    fn live_enabled_by_sections() {
        let mut cfg = Config::demo();
        cfg.aws = None;
        cfg.kubernetes = Some(Default::default());
        cfg.langfuse = None;
        let s = Sources::new(&cfg, Mode::Live);
        assert_eq!(
            names(&s.view(at(0), false)),
            [
                ("cloudwatch", "disabled"),
                ("cost_explorer", "disabled"),
                ("kubernetes", "connecting"),
                ("langfuse", "disabled"),
                ("prometheus", "disabled")
            ]
        );
        cfg.aws = Some(Default::default());
        let s = Sources::new(&cfg, Mode::Live);
        assert_eq!(
            names(&s.view(at(0), false))[1],
            ("cost_explorer", "connecting")
        );
    }

    #[test]
    fn demo_and_replay_lists() {
        let cfg = Config::demo();
        let v = Sources::new(&cfg, Mode::Demo).view(at(0), false);
        assert!(v
            .iter()
            .all(|s| s.simulated && s.state == SourceState::Connecting));
        assert_eq!(v.len(), 5);
        let v = Sources::new(&cfg, Mode::Replay).view(at(0), false);
        assert_eq!(v.len(), 6);
        assert_eq!(v[5].name, SourceName::Replay);
    }

    #[test]
    fn ages_errors_and_staleness() {
        let mut cfg = Config::demo();
        cfg.langfuse = Some(Default::default()); // interval 10 s → stale after 90 s
        let mut s = Sources::new(&cfg, Mode::Live);
        assert_eq!(s.view(at(0), false)[3].age_seconds, None);
        s.apply(SourceHealth {
            source: SourceName::Langfuse,
            state: SourceState::Ok,
            last_success: Some(at(10)),
            error: None,
            permanent: false,
        });
        let v = s.view(at(12), false);
        assert_eq!(v[3].age_seconds, Some(2.0));
        assert_eq!(v[3].state, SourceState::Ok);
        assert_eq!(s.view(at(5), false)[3].age_seconds, Some(0.0));
        assert_eq!(s.view(at(200), false)[3].state, SourceState::Stale);
        s.apply(SourceHealth {
            source: SourceName::Langfuse,
            state: SourceState::Error,
            last_success: None,
            error: Some("connect 10.0.0.9 failed\x1b]0;pwn\x07".into()),
            permanent: false,
        });
        let v = s.view(at(20), true);
        assert_eq!(v[3].state, SourceState::Error);
        assert_eq!(
            v[3].last_success,
            Some(at(10)),
            "kept from the last success"
        );
        assert_eq!(v[3].error.as_deref(), Some("connect x.x.x.x failed"));
        // Replay health in live mode is slotted in at the end.
        s.apply(SourceHealth {
            source: SourceName::Replay,
            state: SourceState::Ok,
            last_success: Some(at(0)),
            error: None,
            permanent: false,
        });
        assert_eq!(s.view(at(20), false).len(), 6);
    }

    #[test]
    fn a_silent_kubernetes_source_turns_stale() {
        let mut cfg = Config::demo();
        cfg.kubernetes = Some(Default::default());
        let mut s = Sources::new(&cfg, Mode::Live);
        s.apply(SourceHealth {
            source: SourceName::Kubernetes,
            state: SourceState::Ok,
            last_success: Some(at(0)),
            error: None,
            permanent: false,
        });
        assert_eq!(s.view(at(200), false)[2].state, SourceState::Ok);
        assert_eq!(s.view(at(241), false)[2].state, SourceState::Stale);
    }
}
