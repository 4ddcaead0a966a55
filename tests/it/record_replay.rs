//! Record and replay, end to end: the demo recorded through the real `App` (weight change
//! included), replayed by the real player thread with the replay keys, and compared with what
//! the recording run showed at the same moments; damaged, empty and future-version files; the
//! flush deadline; redaction; and the SVG/HTML/text exports of the exact screen.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hybridtop::app::{App, AppOptions};
use hybridtop::commands::snapshot::{demo_snapshot, demo_start};
use hybridtop::config::Config;
use hybridtop::domain::weights::Weights;
use hybridtop::model::snapshot::{Mode, Snapshot};
use hybridtop::model::state::DeriveOptions;
use hybridtop::model::update::{Level, Observation, Update};
use hybridtop::record::player::{self as player, Event};
use hybridtop::record::{self, Header, OpenError, Reader, Recorder, Target};
use hybridtop::router::simulator::SimulatorStore;
use hybridtop::router::store::Router;
use hybridtop::router::task;
use hybridtop::sources::simulator::{Scenario, SimConfig, Simulator};
use hybridtop::ui::theme::Theme;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MINUTE: i64 = 60_000;

fn options(mode: Mode, config: Config, redact: bool, dir: &Path) -> AppOptions {
    AppOptions {
        redact,
        theme: Theme::builtin("default").unwrap(),
        theme_dir: dir.to_path_buf(),
        ..AppOptions::new(mode, config)
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn shift(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::SHIFT));
}

/// The same derive for both sides of a comparison (the app's: no session open, no redaction).
fn json(s: &Snapshot) -> Value {
    serde_json::to_value(s).unwrap()
}

/// Replay differs from the recorded run by its mode, and only there: the `mode` field, the
/// `simulated` tag the demo puts on its sources (replay shows what was recorded, not that it was
/// simulated), `read_only` (replay is always read-only), and the replay source's own health row
/// (with the alert it raises when it reports damage). Everything else — `generated_at`
/// included — must be equal.
fn mode_aside(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("mode");
    o.remove("read_only");
    let alerts = o.get_mut("alerts").unwrap().as_array_mut().unwrap();
    alerts.retain(|a| {
        !(a["code"] == "source_unhealthy" && a["message"].as_str().unwrap().starts_with("replay "))
    });
    // `since` included: it comes from data time, so live, replay and a seek agree.
    let sources = o.get_mut("sources").unwrap().as_array_mut().unwrap();
    sources.retain(|s| s["name"] != "replay");
    for s in sources {
        s.as_object_mut().unwrap().remove("simulated");
    }
    v
}

fn assert_same(live: &Value, replayed: &Value, what: &str) {
    let (a, b) = (mode_aside(live.clone()), mode_aside(replayed.clone()));
    if a != b {
        let (ta, tb) = (
            serde_json::to_string_pretty(&a).unwrap(),
            serde_json::to_string_pretty(&b).unwrap(),
        );
        let first = ta
            .lines()
            .zip(tb.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| format!("line {i}: live {x} / replay {y}"));
        panic!(
            "{what}: replay differs from the live run: {first:?}\n{}",
            &tb[..tb.len().min(1500)]
        );
    }
}

/// A recording of the demo made through the real app loop: the simulator's updates applied by
/// `App::apply` with a recorder attached, a weight change made with the editor keys at minute 4,
/// and the app's own snapshot at every whole minute since the first record.
struct Recorded {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// Model time (ms) → the live app's snapshot JSON.
    live: BTreeMap<i64, Value>,
    start_ms: i64,
    end_ms: i64,
}

fn record_demo(name: &str, seconds: u64, redact: bool) -> Recorded {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cfg = Config::demo();
    let mut app = App::new(&options(Mode::Demo, cfg.clone(), redact, dir.path()));
    let header = Header::new(&cfg, Mode::Demo, redact, false);
    app.attach_recorder(Recorder::create(&path, &header).unwrap());
    let (store, mut wrx) = SimulatorStore::new(cfg.default_weights());
    let mut router_rx = {
        let _g = rt.enter();
        app.attach_router(task::spawn(
            Router::Simulator(store),
            cfg.guard(),
            cfg.path_ids(),
            dir.path().join("audit.jsonl"),
        ))
    };
    let mut sim = Simulator::new(
        SimConfig {
            seed: 11,
            scenario: Scenario::TrafficSpike,
            start: demo_start(),
            config: cfg.clone(),
        },
        cfg.default_weights(),
    );
    let mut live = BTreeMap::new();
    let start_ms = (demo_start() + chrono::Duration::seconds(1)).timestamp_millis();
    for s in 1..=seconds {
        // As `SimulatorSource` does: weight changes reach the simulator before the next step.
        if wrx.has_changed().unwrap_or(false) {
            sim.set_weights(wrx.borrow_and_update().clone());
        }
        for u in sim.step() {
            app.apply(u);
        }
        if s == 240 {
            app.refresh_snapshot();
            // w, -, -, Enter, y: 70/20/10 → 60/27/13, applied through the router task.
            for k in ['w', '-', '-'] {
                key(&mut app, KeyCode::Char(k));
            }
            key(&mut app, KeyCode::Enter);
            key(&mut app, KeyCode::Char('y'));
            let ev = rt
                .block_on(async {
                    tokio::time::timeout(Duration::from_secs(5), router_rx.recv()).await
                })
                .unwrap()
                .unwrap();
            app.on_router_event(ev);
        }
        // Derive every second, as the live UI does; keep the whole minutes.
        app.refresh_snapshot();
        let now = app.state.now().timestamp_millis();
        if (now - start_ms) % MINUTE == 0 {
            live.insert(now, json(&app.snapshot));
        }
    }
    let end_ms = app.state.now().timestamp_millis();
    drop(app); // closes the recording
    drop(rt);
    Recorded {
        _dir: dir,
        path,
        live,
        start_ms,
        end_ms,
    }
}

fn replayed_at(path: &Path, t: i64) -> Value {
    let p = record::replay_to(path, Target::At(t)).unwrap();
    assert!(p.damage.is_none());
    json(&p.state.snapshot(&DeriveOptions::default()))
}

#[test]
fn replay_equals_the_recorded_run_at_every_minute() {
    for name in ["demo.jsonl", "demo.jsonl.zst"] {
        let r = record_demo(name, 600, false);
        assert_eq!(r.live.len(), 10);
        // The comparison covers alerts that have lasted: some alert began minutes before the
        // snapshot that shows it (the live run derived every second, the replay only once).
        let time = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        };
        let lasting = r.live.values().any(|v| {
            let at = time(&v["generated_at"]);
            v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["since"].is_string() && at - time(&a["since"]) >= MINUTE)
        });
        assert!(lasting, "no lasting alert in the recorded run");
        for (t, live) in &r.live {
            assert_same(live, &replayed_at(&r.path, *t), &format!("{name} at {t}"));
        }
        // Offsets count from the first record, as `snapshot --replay --at` does.
        let p = record::replay_to(&r.path, Target::FromStart(5 * MINUTE)).unwrap();
        assert_same(
            &r.live[&(r.start_ms + 5 * MINUTE)],
            &json(&p.state.snapshot(&DeriveOptions::default())),
            "FromStart(5 min)",
        );
        // The index sees the span and the weight change made with the editor at minute 4.
        let ix = record::index(&r.path).unwrap();
        assert_eq!(ix.start_ms, Some(r.start_ms));
        assert_eq!(ix.end_ms, Some(r.end_ms));
        assert!(ix.damage.is_none());
        assert_eq!(ix.markers.len(), 1, "{:?}", ix.markers);
        assert_eq!(
            ix.markers[0].weights,
            Weights::from_pairs([
                ("eks-qwen3", 60),
                ("agentcore-haiku", 27),
                ("agentcore-sonnet", 13)
            ])
        );
        assert!(ix.markers[0].t > r.start_ms + 4 * MINUTE - 2_000);
    }
}

/// A replay app driven by the real player thread, as `hybridtop replay` wires it.
struct Replay {
    app: App,
    events: tokio::sync::mpsc::Receiver<Event>,
    _dir: tempfile::TempDir,
}

impl Replay {
    fn open(path: &Path) -> Replay {
        let dir = tempfile::tempdir().unwrap();
        let (header, link) = player::spawn(path, 1.0, true).unwrap();
        let cfg = header.config.to_config("test");
        let mut app = App::new(&options(Mode::Replay, cfg, false, dir.path()));
        app.attach_replay(link, path, &header);
        let events = app.take_replay_events().unwrap();
        Replay {
            app,
            events,
            _dir: dir,
        }
    }

    /// Apply the player's events until `done` holds for the app (at most 20 s).
    fn pump_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            match self.events.try_recv() {
                Ok(ev) => self.app.on_replay_event(ev),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        self.app.refresh_snapshot();
    }

    fn position(&self) -> i64 {
        self.app.ui.replay.as_ref().unwrap().position_ms
    }

    fn at(&mut self, t: i64) -> Value {
        self.pump_until(&format!("position {t}"), |a| {
            a.ui.replay.as_ref().unwrap().position_ms == t
        });
        json(&self.app.snapshot)
    }
}

#[test]
fn seeking_with_the_replay_keys_matches_straight_playback() {
    let r = record_demo("seek.jsonl", 720, false);
    let mut p = Replay::open(&r.path);
    let s0 = r.start_ms;
    // Paused at the first record.
    assert_eq!(p.at(s0)["generated_at"], r.live[&s0]["generated_at"]);

    // Shift-→: +10 min (forwards: the records in between are applied).
    shift(&mut p.app, KeyCode::Right);
    let v = p.at(s0 + 10 * MINUTE);
    assert_same(&r.live[&(s0 + 10 * MINUTE)], &v, "after +10 min");
    // ← ←: back 2 min (a rebuilt state), then → forwards again.
    key(&mut p.app, KeyCode::Left);
    key(&mut p.app, KeyCode::Left);
    let v = p.at(s0 + 8 * MINUTE);
    assert_same(&r.live[&(s0 + 8 * MINUTE)], &v, "after -2 min");
    key(&mut p.app, KeyCode::Right);
    let v = p.at(s0 + 9 * MINUTE);
    assert_same(&r.live[&(s0 + 9 * MINUTE)], &v, "after +1 min");
    // Shift-←: back 10 min clamps at the start; g is the start too.
    shift(&mut p.app, KeyCode::Left);
    let v = p.at(s0);
    assert_same(&r.live[&s0], &v, "clamped at the start");
    // G: the end; the timeline says so.
    key(&mut p.app, KeyCode::Char('G'));
    p.pump_until("the end", |a| a.ui.replay.as_ref().unwrap().at_end);
    assert_eq!(p.position(), r.end_ms);
    assert_same(
        &replayed_at(&r.path, r.end_ms),
        &json(&p.app.snapshot),
        "at the end",
    );
    key(&mut p.app, KeyCode::Char('g'));
    assert_same(&r.live[&s0], &p.at(s0), "g");

    // +/-: speed doubles and halves; space plays and pauses.
    key(&mut p.app, KeyCode::Char('+'));
    key(&mut p.app, KeyCode::Char('+'));
    p.pump_until("speed 4", |a| a.ui.replay.as_ref().unwrap().speed == 4.0);
    key(&mut p.app, KeyCode::Char('-'));
    p.pump_until("speed 2", |a| a.ui.replay.as_ref().unwrap().speed == 2.0);
    assert!(p.app.ui.replay.as_ref().unwrap().paused);
    key(&mut p.app, KeyCode::Char(' '));
    p.pump_until("playing", |a| !a.ui.replay.as_ref().unwrap().paused);
    // At 2× the virtual clock passes two recorded seconds within about a real second.
    p.pump_until("two seconds played", |a| {
        a.ui.replay.as_ref().unwrap().position_ms >= s0 + 2_000
    });
    key(&mut p.app, KeyCode::Char(' '));
    p.pump_until("paused", |a| a.ui.replay.as_ref().unwrap().paused);
    // Whatever second it paused in, the state is the recording's at that second.
    let pos = p.position();
    let shown = json(&p.app.snapshot);
    let t = chrono::DateTime::parse_from_rfc3339(shown["generated_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert!(t <= pos && pos - t < 1_000, "clock {t} vs position {pos}");
    assert_same(&replayed_at(&r.path, t), &shown, "paused while playing");

    // The index reached the timeline: the end and the weight change.
    p.pump_until("the index", |a| a.ui.replay.as_ref().unwrap().indexed);
    let ui = p.app.ui.replay.clone().unwrap();
    assert_eq!(ui.end_ms, Some(r.end_ms));
    assert_eq!(ui.markers.len(), 1);
    // g/G move the replay, not a list selection (outside replay they keep their meaning).
    key(&mut p.app, KeyCode::Char('2'));
    key(&mut p.app, KeyCode::Char('G'));
    p.pump_until("the end again", |a| a.ui.replay.as_ref().unwrap().at_end);
    assert!(p.app.snapshot.sessions.all.len() > 1);
    assert_eq!(p.app.ui.traces.selected, 0);
    key(&mut p.app, KeyCode::Char('1'));
    // Replay is read-only: the weights editor refuses and says why.
    key(&mut p.app, KeyCode::Char('w'));
    assert!(p.app.ui.weights.is_none());
    assert!(p.app.ui.toast.as_ref().unwrap().message.contains("replay"));

    // The timeline is on screen, with the marker.
    let buf = hybridtop::export::render(&p.app.snapshot, &p.app.ui, &p.app.theme, 120, 40);
    let text = hybridtop::ui::buffer_text(&buf);
    let row = text.lines().nth(38).unwrap();
    assert!(
        row.contains('◆') && row.contains('●') && row.contains("recorded demo"),
        "{row}"
    );
    assert!(text.contains(" REPLAY "));
}

/// The file's lines, the header first.
fn lines(path: &Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap();
    std::io::BufReader::new(f)
        .lines()
        .map(|l| l.unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut f = std::fs::File::create(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

#[test]
fn damaged_recordings_replay_up_to_the_damage_and_name_the_line() {
    let r = record_demo("whole.jsonl", 180, false);
    let all = lines(&r.path);
    let dir = tempfile::tempdir().unwrap();
    let t_of = |l: &str| {
        serde_json::from_str::<Value>(l).unwrap()["t"]
            .as_i64()
            .unwrap()
    };
    // The first line of a new second past the middle (0-based index → line number + 1), so
    // "everything before it" is a whole second of the recording.
    let bad_line = (all.len() / 2..all.len())
        .find(|&i| t_of(&all[i]) != t_of(&all[i - 1]))
        .unwrap();
    let t_before = t_of(&all[bad_line - 1]);

    // Corrupted: one line of garbage in the middle.
    let mut corrupt = all.clone();
    corrupt[bad_line] = "{\"t\":17,\"u\":{\"kind\":\"traffic\",\"pa\u{fffd}".into();
    let cpath = dir.path().join("corrupt.jsonl");
    write_lines(&cpath, &corrupt);
    // Truncated: cut in the middle of that same line, as a crash or a copy cut short would.
    let tpath = dir.path().join("truncated.jsonl");
    let mut bytes: Vec<u8> = all[..bad_line].join("\n").into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&all[bad_line].as_bytes()[..all[bad_line].len() / 2]);
    std::fs::write(&tpath, &bytes).unwrap();

    for (path, what) in [(&cpath, "not a valid record"), (&tpath, "incomplete")] {
        let p = record::replay_to(path, Target::At(i64::MAX)).unwrap();
        let d = p.damage.clone().expect("damage reported");
        assert_eq!(d.line, bad_line as u64 + 1, "{d}");
        assert!(d.message.contains(what), "{d}");
        assert_eq!(p.applied, bad_line as u64 - 1);
        assert_eq!(p.last_ms, Some(t_before));
        // Up to the damage, the state is exactly the recording's; the replay source says why
        // it stopped.
        let shown = json(&p.state.snapshot(&DeriveOptions::default()));
        assert_same(&replayed_at(&r.path, t_before), &shown, "before the damage");
        let replay_row = shown["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "replay")
            .unwrap()
            .clone();
        assert_eq!(replay_row["state"], "error");
        assert!(replay_row["error"]
            .as_str()
            .unwrap()
            .contains(&format!("line {}", bad_line + 1)));
        let ix = record::index(path).unwrap();
        assert_eq!(ix.damage.as_ref().unwrap().line, d.line);
        assert_eq!(ix.end_ms, Some(t_before));

        // The player stops there too and the app toasts the line.
        let mut p = Replay::open(path);
        key(&mut p.app, KeyCode::Char('G'));
        p.pump_until("the damage", |a| {
            a.ui.toast
                .as_ref()
                .is_some_and(|t| t.message.contains("replay stopped at damaged line"))
        });
        p.pump_until("the end", |a| a.ui.replay.as_ref().unwrap().at_end);
        assert_eq!(p.position(), t_before);

        // `snapshot --replay` prints the snapshot and names the line on stderr.
        let (o, _h) = hybridtop(&["snapshot", "--replay", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("line {}", bad_line + 1)),
            "stderr: {err}"
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["generated_at"], shown["generated_at"]);
        assert_eq!(o.status.code(), Some(4), "the replay source is unhealthy");
    }
}

#[test]
fn a_truncated_zstd_recording_replays_what_was_flushed() {
    let r = record_demo("cut.jsonl.zst", 180, false);
    let bytes = std::fs::read(&r.path).unwrap();
    let path = r.path.with_file_name("cut2.jsonl.zst");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let p = record::replay_to(&path, Target::At(i64::MAX)).unwrap();
    let d = p.damage.expect("damage reported");
    assert!(p.applied > 100, "{} records before {d}", p.applied);
    assert_eq!(d.line, p.applied + 2, "{d}");
}

#[test]
fn empty_foreign_and_future_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, b"").unwrap();
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, b"hello\nworld\n").unwrap();
    let future = dir.path().join("future.jsonl");
    let mut h =
        serde_json::to_value(Header::new(&Config::demo(), Mode::Demo, false, false)).unwrap();
    h["version"] = 99.into();
    std::fs::write(
        &future,
        format!("{h}\n{{\"t\":1,\"u\":{{\"kind\":\"hologram\"}}}}\n"),
    )
    .unwrap();
    let header_only = dir.path().join("header.jsonl");
    h["version"] = 1.into();
    std::fs::write(&header_only, format!("{h}\n")).unwrap();

    assert!(matches!(Reader::open(&empty), Err(OpenError::Empty { .. })));
    assert!(matches!(
        Reader::open(&foreign),
        Err(OpenError::NotRecording { .. })
    ));
    assert!(matches!(
        Reader::open(&future),
        Err(OpenError::FutureVersion { found: 99, .. })
    ));
    assert!(matches!(
        Reader::open(&dir.path().join("missing.jsonl")),
        Err(OpenError::Io { .. })
    ));
    // A header and no records: a valid, empty replay.
    let p = record::replay_to(&header_only, Target::At(i64::MAX)).unwrap();
    assert_eq!((p.applied, p.damage), (0, None));

    for (file, needles) in [
        (&empty, vec!["empty"]),
        (&foreign, vec!["not a hybridtop recording"]),
        (&future, vec!["version 99", "version 1", "upgrade"]),
    ] {
        for args in [
            vec!["snapshot", "--replay", file.to_str().unwrap()],
            vec!["replay", file.to_str().unwrap()],
        ] {
            let (o, _h) = hybridtop(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            for n in &needles {
                assert!(err.contains(n), "{args:?}: {err}");
            }
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn the_recorder_flushes_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["live.jsonl", "live.jsonl.zst"] {
        let path = dir.path().join(name);
        let mut rec = Recorder::create(
            &path,
            &Header::new(&Config::demo(), Mode::Live, false, false),
        )
        .unwrap();
        let now = chrono::Utc::now();
        rec.record(Some(now), Update::Clock { now });
        let written = Instant::now();
        // The recorder stays open (no finish, no drop): only the periodic flush can put the
        // record on disk.
        loop {
            let mut r = Reader::open(&path).unwrap();
            if let Some(Ok(got)) = r.next_record() {
                assert_eq!(got.update, Update::Clock { now });
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "{name}: nothing on disk a second after the update"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(rec);
    }
}

fn observation(text: &str) -> Observation {
    Observation {
        id: "o-1".into(),
        trace_id: "ac-s-1-1795597201000".into(),
        session_id: Some("hybrid-s-1".into()),
        parent_observation_id: None,
        name: format!("lookup for {text}"),
        start: demo_start(),
        end: None,
        model: None,
        tags: vec![],
        parent_ref: None,
        level: Level::Error,
        status_message: Some(format!("AccessDenied for {text}")),
        input_tokens: None,
        output_tokens: None,
        cost_usd: None,
        side: None,
        input: Some(text.into()),
        output: None,
        html_path: None,
        user_id: Some(format!("uid {text}")),
    }
}

#[test]
fn a_redacted_recording_holds_no_personal_or_account_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redacted.jsonl");
    let cfg = Config::demo();
    let mut app = App::new(&options(Mode::Demo, cfg.clone(), true, dir.path()));
    app.attach_recorder(
        Recorder::create(&path, &Header::new(&cfg, Mode::Demo, true, false)).unwrap(),
    );
    let mut sim = Simulator::new(
        SimConfig {
            seed: 5,
            scenario: Scenario::Steady,
            start: demo_start(),
            config: cfg.clone(),
        },
        cfg.default_weights(),
    );
    let secret = "erin.oncall@example.com arn:aws:iam::210987654321:role/ops";
    for s in 0..120 {
        for u in sim.step() {
            app.apply(u);
        }
        if s == 30 {
            app.apply(Update::Observations {
                items: vec![observation(secret)],
            });
        }
    }
    app.refresh_snapshot();
    let live = json(&app.snapshot);
    // The nodes as they really are (the screen shows them all as ip-x-x-x-x).
    let raw = json(&app.state.snapshot(&DeriveOptions::default()));
    drop(app);
    let text = std::fs::read_to_string(&path).unwrap();
    for leak in [
        "erin.oncall@example.com",
        "210987654321",
        "123456789012", // the demo config's runtime ARNs, in the header
        "ip-10-",       // EKS node names carry the node's IP
    ] {
        assert!(!text.contains(leak), "{leak} is in the redacted recording");
    }
    assert!(text.contains("***@***~"));
    // Replayed, it still adds up: pseudonyms keep distinct nodes distinct, so the EKS cost and
    // everything else match the redacted live screen.
    let p = record::replay_to(&path, Target::At(i64::MAX)).unwrap();
    assert!(p.reader.header.redacted);
    let replayed = json(&p.state.snapshot(&DeriveOptions {
        redact: true,
        ..DeriveOptions::default()
    }));
    assert_eq!(replayed["redacted"], true);
    assert_eq!(replayed["paths"][0]["cost"], live["paths"][0]["cost"]);
    assert_eq!(replayed["paths"], live["paths"]);
    let distinct = |v: &Value| {
        let mut n: Vec<String> = v["fleet"]["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["node"].to_string())
            .collect();
        n.sort();
        n.dedup();
        n.len()
    };
    assert!(distinct(&raw) > 1);
    assert_eq!(distinct(&live), 1);
    assert_eq!(distinct(&replayed), distinct(&raw));
}

// ---------------------------------------------------------------------------------------------
// The binary

fn hybridtop(args: &[&str]) -> (Output, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hybridtop"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    (out, home)
}

#[test]
fn cli_record_then_snapshot_at_a_point_equals_the_live_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("run.jsonl.zst");
    let rec_s = rec.to_str().unwrap();
    let base = ["--seed", "4", "--scenario", "eks-node-loss"];
    let mut args = vec![
        "--record",
        rec_s,
        "snapshot",
        "--demo",
        "--sim-seconds",
        "900",
    ];
    args.extend(base);
    let (o, _h) = hybridtop(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Recording again to the same name is refused: recordings are never overwritten.
    let (o, _h) = hybridtop(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"));

    // The first record is the simulator's first second, so `--at 420` is second 421.
    let mut live_args = vec!["snapshot", "--demo", "--sim-seconds", "421"];
    live_args.extend(base);
    let (live, _h) = hybridtop(&live_args);
    let (replayed, _h) = hybridtop(&["snapshot", "--replay", rec_s, "--at", "420"]);
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let live: Value = serde_json::from_slice(&live.stdout).unwrap();
    let replayed: Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(replayed["mode"], "replay");
    assert_eq!(replayed["read_only"], true);
    assert_same(&live, &replayed, "snapshot --replay --at 420");

    // Past the end: the end, with a note.
    let (o, _h) = hybridtop(&["snapshot", "--replay", rec_s, "--at", "99999"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ends 899 s after its start"));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["generated_at"], "2026-11-25T09:15:00Z");

    // Every screen format, at that point.
    for format in ["text", "svg", "html"] {
        let (o, _h) = hybridtop(&[
            "snapshot", "--replay", rec_s, "--at", "420", "--format", format, "--view", "fleet",
        ]);
        assert!(o.status.success(), "{format}");
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains("REPLAY"), "{format}");
        assert!(out.contains("09:07:01"), "{format}: the position");
    }
}

/// Rebuild the character grid an SVG export draws: every `<text>` gives each character its own
/// x, so the cell is x / cell width.
fn svg_grid(svg: &str, width: usize, height: usize) -> String {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let mut grid = vec![vec![String::from(" "); width]; height];
    for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let xs: Vec<f64> = t
            .attribute("x")
            .unwrap()
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect();
        let y: f64 = t.attribute("y").unwrap().parse().unwrap();
        let row = (y / hybridtop::export::CELL_H) as usize;
        let chars: Vec<char> = t.text().unwrap_or("").chars().collect();
        if xs.len() == chars.len() {
            for (x, c) in xs.iter().zip(chars) {
                let col = (x / hybridtop::export::CELL_W).round() as usize;
                grid[row][col] = c.to_string();
            }
        } else {
            // A multi-character cell (a grapheme cluster) is one element of its own.
            grid[row][(xs[0] / hybridtop::export::CELL_W).round() as usize] =
                chars.iter().collect();
        }
    }
    let mut out = String::new();
    for row in grid {
        // A wide glyph covers the next cell: drop the blank there, as `buffer_text` does.
        let mut line = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = unicode_width::UnicodeWidthStr::width(cell.as_str()).saturating_sub(1);
            line.push_str(&cell);
        }
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

fn html_text(html: &str) -> String {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(html, opts).expect("well-formed HTML");
    assert_eq!(doc.root_element().tag_name().name(), "html");
    let pre = doc.descendants().find(|n| n.has_tag_name("pre")).unwrap();
    let text: String = pre
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap_or(""))
        .collect();
    text.split('\n')
        .map(|l| format!("{}\n", l.trim_end_matches(' ')))
        .collect()
}

#[test]
fn exports_draw_the_exact_screen() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    // The same demo moment drawn by the app's renderer on a TestBackend, and exported by the
    // binary as text, SVG and HTML.
    let snap = demo_snapshot(3, Scenario::ContextLoss, 900, &DeriveOptions::default());
    for (view, ui_view, theme) in [
        ("overview", hybridtop::ui::state::View::Overview, "default"),
        ("traces", hybridtop::ui::state::View::Traces, "light"),
        ("fleet", hybridtop::ui::state::View::Fleet, "monochrome"),
    ] {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let ui = hybridtop::ui::state::UiState {
            view: ui_view,
            theme_name: theme.into(),
            ..Default::default()
        };
        let th = Theme::builtin(theme).unwrap();
        term.draw(|f| hybridtop::ui::draw(f, &snap, &ui, &th))
            .unwrap();
        let screen = hybridtop::ui::buffer_text(term.backend().buffer());
        let args = |format: &'static str| {
            vec![
                "--theme",
                theme,
                "snapshot",
                "--demo",
                "--seed",
                "3",
                "--scenario",
                "context-loss",
                "--sim-seconds",
                "900",
                "--view",
                view,
                "--format",
                format,
            ]
        };
        let (text, _h) = hybridtop(&args("text"));
        let text = String::from_utf8(text.stdout).unwrap();
        assert_eq!(
            text, screen,
            "{view}: text export is the TestBackend's content"
        );
        let (svg, _h) = hybridtop(&args("svg"));
        let svg = String::from_utf8(svg.stdout).unwrap();
        assert_eq!(
            svg_grid(&svg, 120, 40),
            screen,
            "{view}: SVG draws the screen"
        );
        let (html, _h) = hybridtop(&args("html"));
        let html = String::from_utf8(html.stdout).unwrap();
        assert_eq!(html_text(&html), screen, "{view}: HTML draws the screen");
        // The context-loss scenario's hostile span names never reach an export raw.
        for doc in [&svg, &html, &text] {
            assert!(!doc.contains('\u{1b}') && !doc.contains('\u{7}'));
        }
    }
    // The theme's colours: the light theme's 256-palette blue (25) and its white page.
    let (o, _h) = hybridtop(&["--theme", "light", "snapshot", "--demo", "--format", "svg"]);
    let svg = String::from_utf8(o.stdout).unwrap();
    assert!(svg.contains("fill=\"#ffffff\"") && svg.contains("#005faf"));
    // Default theme: xterm's palette, the DEMO badge black on yellow (#cdcd00).
    let (o, _h) = hybridtop(&["snapshot", "--demo", "--format", "svg"]);
    let svg = String::from_utf8(o.stdout).unwrap();
    assert!(svg.contains("fill=\"#cdcd00\"") && svg.contains("fill=\"#121212\""));
}

#[test]
fn the_waterfall_and_review_dialog_export() {
    let (o, _h) = hybridtop(&["snapshot", "--demo", "--sim-seconds", "600", "--seed", "7"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = v["sessions"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["escalated"] == true)
        .unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (o, _h) = hybridtop(&[
        "snapshot",
        "--demo",
        "--sim-seconds",
        "600",
        "--seed",
        "7",
        "--view",
        "traces",
        "--session",
        &id,
        "--format",
        "text",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains(&id) && text.contains("agent-turn"), "{text}");
    let (o, _h) = hybridtop(&[
        "snapshot",
        "--demo",
        "--view",
        "traces",
        "--session",
        "nope",
        "--format",
        "text",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let (o, _h) = hybridtop(&[
        "snapshot",
        "--demo",
        "--format",
        "text",
        "--weights-review",
        "eks-qwen3=60 agentcore-haiku=27 agentcore-sonnet=13",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("60") && text.contains("y apply"), "{text}");
}

#[test]
fn eight_hours_fit_the_budget() {
    // One simulated hour, recorded compressed as `--record x.zst` would, extrapolated to eight:
    // well under 100 MB (the README has the measured 8-hour figures, raw and zstd).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hour.jsonl.zst");
    let mut rec = Recorder::create(
        &path,
        &Header::new(&Config::demo(), Mode::Demo, false, false),
    )
    .unwrap();
    hybridtop::commands::snapshot::demo_state(1, Scenario::Steady, 3600, Some(&mut rec));
    rec.finish().unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert!(bytes * 8 < 50 << 20, "{bytes} bytes per simulated hour");
}

#[test]
fn replay_keys_are_replay_only() {
    // Outside replay, g/G and the arrows keep their list meaning and space does nothing.
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(&options(Mode::Demo, Config::demo(), false, dir.path()));
    let mut sim = Simulator::new(
        SimConfig {
            seed: 2,
            scenario: Scenario::Steady,
            start: demo_start(),
            config: Config::demo(),
        },
        Config::demo().default_weights(),
    );
    for _ in 0..300 {
        for u in sim.step() {
            app.apply(u);
        }
    }
    app.refresh_snapshot();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('G'));
    let n = hybridtop::ui::traces_rows(&app.snapshot, &app.ui).count();
    assert!(n > 1);
    assert_eq!(app.ui.traces.selected, n - 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.ui.traces.selected, 0);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char(' '));
    shift(&mut app, KeyCode::Right);
    assert_eq!(app.ui.traces.selected, 1);
    assert!(app.ui.replay.is_none());
}
