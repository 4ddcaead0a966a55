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

mod format;
pub mod keyframe;
pub mod player;
mod reader;
pub mod stream;
mod writer;

pub use format::*;
pub use reader::*;
pub use writer::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::snapshot::Mode;
    use crate::model::update::Update;
    use crate::model::update::{Level, Observation};
    use chrono::{DateTime, Utc};

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
