//! The weights editor driven through keys on the real `App`, with the demo simulator and its
//! weight store: edit, review, apply, audit, follow, undo — and read-only refusing.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hybridtop::app::{App, AppOptions};
use hybridtop::commands::snapshot::demo_start;
use hybridtop::config::Config;
use hybridtop::domain::weights::Weights;
use hybridtop::model::editor::Stage;
use hybridtop::model::snapshot::Mode;
use hybridtop::router::simulator::SimulatorStore;
use hybridtop::router::store::Router;
use hybridtop::router::task;
use hybridtop::sources::simulator::{Scenario, SimConfig, Simulator};
use hybridtop::ui::theme::Theme;
use std::time::Duration;
use tokio::sync::watch;

fn options(read_only: bool, dir: &std::path::Path) -> AppOptions {
    AppOptions {
        read_only,
        theme: Theme::builtin("default").unwrap(),
        theme_dir: dir.to_path_buf(),
        ..AppOptions::new(Mode::Demo, Config::demo())
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Run the simulator like `SimulatorSource` does: weight changes reach it before each step.
fn run(sim: &mut Simulator, app: &mut App, rx: &mut watch::Receiver<Weights>, seconds: u64) {
    for _ in 0..seconds {
        if rx.has_changed().unwrap_or(false) {
            sim.set_weights(rx.borrow_and_update().clone());
        }
        for u in sim.step() {
            app.apply(u);
        }
    }
    app.refresh_snapshot();
}

fn screen(app: &App) -> String {
    let buf = hybridtop::export::render(&app.snapshot, &app.ui, &app.theme, 120, 40);
    hybridtop::ui::buffer_to_styled_text(&buf)
}

struct Demo {
    app: App,
    router_rx: tokio::sync::mpsc::Receiver<hybridtop::router::task::RouterEvent>,
    wrx: watch::Receiver<Weights>,
    sim: Simulator,
    dir: tempfile::TempDir,
}

/// The demo's app, simulator and simulator weight store, wired as `hybridtop demo` wires them,
/// after `seconds` of simulated traffic.
fn demo(read_only: bool, seconds: u64) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::demo();
    let mut app = App::new(&options(read_only, dir.path()));
    let (store, mut wrx) = SimulatorStore::new(cfg.default_weights());
    let router_rx = app.attach_router(task::spawn(
        Router::Simulator(store),
        cfg.guard(),
        cfg.path_ids(),
        dir.path().join("audit.jsonl"),
    ));
    let mut sim = Simulator::new(
        SimConfig {
            seed: 7,
            scenario: Scenario::Steady,
            start: demo_start(),
            config: cfg.clone(),
        },
        cfg.default_weights(),
    );
    run(&mut sim, &mut app, &mut wrx, seconds);
    Demo {
        app,
        router_rx,
        wrx,
        sim,
        dir,
    }
}

async fn next_event(d: &mut Demo) {
    let ev = tokio::time::timeout(Duration::from_secs(5), d.router_rx.recv())
        .await
        .expect("router answered in time")
        .expect("router task alive");
    d.app.on_router_event(ev);
}

fn w(e: u32, h: u32, s: u32) -> Weights {
    Weights::from_pairs([
        ("eks-qwen3", e),
        ("agentcore-haiku", h),
        ("agentcore-sonnet", s),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_review_apply_follow_and_undo() {
    let mut d = demo(false, 600);
    let app = &mut d.app;
    key(app, KeyCode::Char('w'));
    key(app, KeyCode::Char('-'));
    key(app, KeyCode::Char('-'));
    let ed = &app.ui.weights.as_ref().expect("editor open").editor;
    assert_eq!(ed.proposal, w(60, 27, 13));
    insta::assert_snapshot!("editor_120x40", screen(app));

    key(app, KeyCode::Enter);
    assert_eq!(app.ui.weights.as_ref().unwrap().editor.stage, Stage::Review);
    key(app, KeyCode::Char('r'));
    for c in "drill".chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter);
    insta::assert_snapshot!("review_120x40", screen(app));

    key(app, KeyCode::Char('y'));
    next_event(&mut d).await;
    assert!(d.app.ui.weights.is_none(), "editor closes once applied");
    assert_eq!(*d.wrx.borrow(), w(60, 27, 13));

    // Within a simulated minute the observed split follows.
    run(&mut d.sim, &mut d.app, &mut d.wrx, 60);
    let eks = &d.app.snapshot.paths[0];
    assert_eq!(eks.weight, Some(60));
    assert!(
        (eks.observed_share_1m - 0.60).abs() < 0.06,
        "1m share {}",
        eks.observed_share_1m
    );

    // `u`, `y` restores 70/20/10.
    key(&mut d.app, KeyCode::Char('u'));
    let ed = &d.app.ui.weights.as_ref().expect("undo proposal").editor;
    assert_eq!(ed.stage, Stage::Review);
    assert_eq!(ed.proposal, w(70, 20, 10));
    key(&mut d.app, KeyCode::Char('y'));
    next_event(&mut d).await;
    assert_eq!(*d.wrx.borrow(), w(70, 20, 10));

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(d.dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each change: its pending record before the write, then its result.
    assert_eq!(lines.len(), 4);
    let results: Vec<&str> = lines
        .iter()
        .map(|l| l["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["pending", "applied", "pending", "applied"]);
    assert_eq!(lines[1]["mode"], "demo");
    assert_eq!(lines[1]["backend"], "simulator");
    assert_eq!(lines[1]["reason"], "drill");
    assert_eq!(lines[1]["to"]["eks-qwen3"], 60);
    assert_eq!(lines[3]["to"]["eks-qwen3"], 70);
    assert_eq!(lines[3]["reason"], "undo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_shift_limit_needs_a_second_yes() {
    let mut d = demo(false, 300);
    key(&mut d.app, KeyCode::Char('w'));
    for _ in 0..6 {
        key(&mut d.app, KeyCode::Char('-'));
    }
    key(&mut d.app, KeyCode::Enter);
    key(&mut d.app, KeyCode::Char('y'));
    let ed = &d.app.ui.weights.as_ref().unwrap().editor;
    assert!(
        matches!(ed.stage, Stage::ConfirmForce { shift: 30, max: 25 }),
        "{:?}",
        ed.stage
    );
    insta::assert_snapshot!("confirm_force_120x40", screen(&d.app));
    assert_eq!(
        *d.wrx.borrow(),
        w(70, 20, 10),
        "nothing written before the second yes"
    );
    key(&mut d.app, KeyCode::Char('y'));
    next_event(&mut d).await;
    assert_eq!(d.wrx.borrow().get(&"eks-qwen3".into()), Some(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_and_says_why() {
    let mut d = demo(true, 120);
    for k in ['w', 'u'] {
        key(&mut d.app, KeyCode::Char(k));
        assert!(d.app.ui.weights.is_none());
        let toast = d.app.ui.toast.as_ref().expect("a message").message.clone();
        assert!(toast.contains("read-only"), "{toast}");
    }
    // Nothing was sent to the router; each refusal is audited through its one path.
    next_event(&mut d).await;
    next_event(&mut d).await;
    let text = std::fs::read_to_string(d.dir.path().join("audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines.iter().all(|l| l["result"]
        .as_str()
        .unwrap()
        .starts_with("refused: read-only")));
    assert_eq!(lines[0]["from"], lines[0]["to"]);
    assert_eq!(d.wrx.borrow().get(&"eks-qwen3".into()), Some(70));
    assert!(d.app.snapshot.read_only);
}
